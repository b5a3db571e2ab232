"""The pipeline's logs: ids and codes on every line, never a name, address or subject."""

from __future__ import annotations

import json

import pytest

from intake import pipeline
from intake.logging import REDACTED, configure_logging, redact_personal_data
from intake.mailbox import open_mailbox
from tests.builders.mime_builder import build_email

pytestmark = pytest.mark.django_db


@pytest.fixture
def json_logs(capsys):
    configure_logging(force=True, json=True)
    yield lambda: [
        json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")
    ]
    configure_logging(force=True)


def test_it_logs_ids_mailbox_and_step_but_no_personal_data(make_config, fake_steps, json_logs):
    config = make_config()
    raw = build_email(1, subject="Referral for Jamie Testchild")
    with open_mailbox(config.mailboxes[0]) as box:
        box.append("INBOX", raw, flags=())
    fake_steps.fail_apply = lambda message: RuntimeError(
        "Jamie Testchild"
    )  # text that must not leak
    pipeline.poll_mailbox(config.mailboxes[0], config, steps=fake_steps.steps)
    lines = json_logs()
    assert lines
    assert all({"message_id", "mailbox", "step"} <= set(line) for line in lines)
    failed = next(line for line in lines if line["event"] == "step_failed")
    assert (failed["step"], failed["mailbox"], failed["error_code"]) == (
        "decide",
        "referrals",
        "internal_error",
    )
    text = "\n".join(json.dumps(line) for line in lines)
    assert "Testchild" not in text
    assert "referrer1@agency.example" not in text


def test_it_redacts_personal_keys_whatever_the_caller_passed():
    event = redact_personal_data(
        None, "info", {"event": "x", "sender": "a@b.example", "Subject": "s", "uid": 3}
    )
    assert event == {"event": "x", "sender": REDACTED, "Subject": REDACTED, "uid": 3}
