"""Fixtures of the service's tests: the test database, a private Dovecot, configurations.

Database: SQLite in a file of its own per run (so threads and subprocesses
share it), or PostgreSQL when ``DATABASE_URL`` names one (see
``tests/servers/postgres.py``).
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from intake import pipeline
from intake.assess import Assessment
from intake.config import IntakeConfig, parse_config
from intake.models import InboundMessage
from tests.builders.authentication import OUR_MX
from tests.builders.mime_builder import build_email
from tests.servers import server_missing
from tests.servers.dovecot import DovecotServer, ImapAccount, start_dovecot
from tests.servers.m365 import identity, m365, oauth_dovecot  # noqa: F401 (fixtures)
from tests.servers.postgres import unreachable_reason

if not os.environ.get("DJANGO_SECRET_KEY"):
    settings.SECRET_KEY = secrets.token_urlsafe(50)  # tests only; never a real key


@pytest.fixture(scope="session")
def django_db_modify_db_settings(
    django_db_modify_db_settings_parallel_suffix: None,
) -> Iterator[None]:
    """A test database of this run's own, so parallel runs never share one."""
    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        folder = tempfile.mkdtemp(prefix="intake-test-db-")
        db.setdefault("TEST", {})["NAME"] = str(Path(folder) / "test.sqlite3")
        yield
        shutil.rmtree(folder, ignore_errors=True)
        return
    reason = unreachable_reason(db)
    if reason:
        server_missing(reason)
    db.setdefault("TEST", {})["NAME"] = f"test_intake_{os.getpid()}"
    yield


@pytest.fixture(scope="session")
def dovecot() -> Iterator[DovecotServer]:
    server = start_dovecot()
    if isinstance(server, str):
        server_missing(server)
    yield server
    server.stop()
    shutil.rmtree(server.root, ignore_errors=True)


@pytest.fixture
def imap_account(dovecot: DovecotServer, monkeypatch: pytest.MonkeyPatch) -> ImapAccount:
    """A fresh account (empty Maildir) with its password in $INTAKE_TEST_IMAP_PASSWORD."""
    account = dovecot.new_account()
    monkeypatch.setenv("INTAKE_TEST_IMAP_PASSWORD", account.password)
    return account


def imap_mailbox_table(account: ImapAccount, **overrides: Any) -> dict[str, Any]:
    table = {
        "name": "referrals",
        "kind": "imap",
        "host": "127.0.0.1",
        "port": account.server.port,
        "security": "none",
        "username": account.username,
        "password_env": "INTAKE_TEST_IMAP_PASSWORD",
        "timeout_seconds": 5,
    }
    return table | overrides


@pytest.fixture
def make_config(tmp_path: Path) -> Callable[..., IntakeConfig]:
    """Build a validated configuration: ``make_config(mailboxes=[...], retry={...})``."""

    def build(**sections: Any) -> IntakeConfig:
        data: dict[str, Any] = {
            "mailboxes": [
                {"name": "referrals", "kind": "maildir", "path": str(tmp_path / "Maildir")}
            ],
            "replies": {"outbox_dir": str(tmp_path / "outbox")},
            "retry": {"max_attempts": 3, "backoff_seconds": 60},
            # Our MX's verdicts are the only ones trusted (issue 8): tests/builders/authentication
            "rules": {"authserv_ids": [OUR_MX]},
        }
        data.update(sections)
        return parse_config(data, "test.toml")

    return build


def maildir_config(tmp_path: Path, extra: str = "") -> Path:
    """Write ``tmp_path/intake.toml`` for a subprocess (``INTAKE_CONFIG``) and return it.

    One Maildir mailbox ``referrals`` at ``tmp_path/Maildir`` and the outbox at
    ``tmp_path/outbox`` (as `make_config`); ``extra`` is TOML appended at the end,
    inside the ``[replies]`` table unless it opens a table of its own.
    """
    path = tmp_path / "intake.toml"
    path.write_text(
        f"""
[[mailboxes]]
name = "referrals"
kind = "maildir"
path = "{tmp_path / "Maildir"}"

[replies]
outbox_dir = "{tmp_path / "outbox"}"
{extra}
"""
    )
    return path


@pytest.fixture
def imap_config(
    make_config: Callable[..., IntakeConfig], imap_account: ImapAccount
) -> IntakeConfig:
    return make_config(mailboxes=[imap_mailbox_table(imap_account)])


@pytest.fixture
def email_factory() -> Callable[..., bytes]:
    return build_email


class FakeSteps:
    """Stands in for the lead's `assess_message` and the decisions helper's
    `apply_assessment`/`send_due` (pipeline tests are about delivery, not
    decisions); counts the calls, and fails on demand."""

    @property
    def steps(self) -> pipeline.Steps:
        """The pipeline's steps with these stand-ins for assess, decide and send."""
        return pipeline.Steps(
            assess=self.assess, apply_assessment=self.apply, send_due=self.send_due
        )

    def __init__(self) -> None:
        self.assessed: list[bytes] = []
        self.applied: list[int] = []
        self.sends = 0
        self.fail_assess: Callable[[bytes], BaseException | None] = lambda raw: None
        self.fail_apply: Callable[[InboundMessage], BaseException | None] = lambda message: None

    def assess(self, mail: Any, config: IntakeConfig, arrived: object = None) -> Assessment:
        # The pipeline hands over the stored parse (issue 8); the fakes still look at bytes.
        raw = mail if isinstance(mail, bytes) else _stored_raw(mail.sha256)
        self.assessed.append(raw)
        error = self.fail_assess(raw)
        if error is not None:
            raise error
        return Assessment(decision="accepted", form_type="cspr_referral")

    def apply(self, message: InboundMessage, assessment: Assessment, config: IntakeConfig) -> None:
        error = self.fail_apply(message)
        if error is not None:
            raise error
        self.applied.append(message.pk)

    def send_due(self, config: IntakeConfig) -> None:
        self.sends += 1


def _stored_raw(sha256: str) -> bytes:
    stored = InboundMessage.objects.filter(sha256=sha256).values_list("raw", flat=True).first()
    return bytes(stored or b"")


@pytest.fixture
def fake_steps() -> FakeSteps:
    """Stand-ins for the pipeline's assess/decide/send steps: pass ``fake_steps.steps``
    to `pipeline.poll_mailbox` (or the worker); nothing of the pipeline is patched."""
    return FakeSteps()
