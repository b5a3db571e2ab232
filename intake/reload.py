"""The worker's configuration and mailbox rules, changed without a restart (issue 11).

`ConfigWatch` notices that ``config/intake.toml`` or the rules file it names changed
(their size or modification time, or a SIGHUP), reads and validates them
(`intake.config.load_config`, then each rule's folder against the mailbox's own
folders), and hands the worker the new configuration, which each mailbox's loop takes
at its next poll: a switch happens between polls, never inside one.  A file with a
mistake is refused: the one-line fault is recorded (`RulesVersion`, shown by
``/healthz`` and the Rules page) and the configuration in force stays.

`put_in_force` records the rules a worker runs with, at start and at each switch:
a text that differs from the last in force is a new `RulesVersion` and an
`AuditEvent` holding the old and the new text (of the rules file, and of
``intake.toml`` when that changed).  The log gets ids, hashes and rule names only:
a rules file holds addresses.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog
from django.db import transaction

from intake import audit
from intake.audit import Verb
from intake.config import ConfigError, IntakeConfig, load_config
from intake.models import RulesVersion

log = structlog.get_logger(__name__)
Folders = Mapping[str, list[str]]
RULES = "rules"  # AuditEvent.object_type


def mailbox_folders(config: IntakeConfig) -> dict[str, list[str]]:
    """Each mailbox's folders, for checking the rules' folders; a mailbox that cannot be
    reached now is left out (its folders are checked at the next change)."""
    from intake.errors import MailboxError
    from intake.mailbox import open_mailbox

    found: dict[str, list[str]] = {}
    for mailbox in config.mailboxes:
        try:
            with open_mailbox(mailbox) as box:
                found[mailbox.name] = sorted(box.list_folders())
        except MailboxError as exc:
            log.warning("rules_folders_unchecked", mailbox=mailbox.name, error_code=exc.reason)
    return found


def check_rule_folders(config: IntakeConfig, folders: Folders) -> None:
    """`intake.rules.check_folders` for every mailbox whose folders are known; the
    processed folders count, as filing creates them."""
    from intake.rules import check_folders

    for mailbox in config.mailboxes:
        if mailbox.name in folders:
            known = [*folders[mailbox.name], mailbox.processed_folder]
            check_folders(config.mail_rules, mailbox.name, known)


def _text(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8") if path else ""
    except (OSError, UnicodeDecodeError):
        return ""


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def latest_in_force() -> RulesVersion | None:
    return RulesVersion.objects.filter(state=RulesVersion.State.IN_FORCE).order_by("-pk").first()


def latest_refusal() -> RulesVersion | None:
    """The last refused file, when it is newer than the rules in force (else None)."""
    refused = RulesVersion.objects.filter(state=RulesVersion.State.REFUSED).order_by("-pk").first()
    in_force = latest_in_force()
    if refused is None or (in_force is not None and in_force.pk > refused.pk):
        return None
    return refused


def put_in_force(
    config: IntakeConfig, config_path: str, folders: Folders | Callable[[], Folders]
) -> RulesVersion | None:
    """Record ``config``'s rules as in force; a new row and audit event only when its text
    (or intake.toml's) differs from the last in force.  Returns the new row or None.
    ``folders`` (each mailbox's, kept for the Rules page's checks) may be a function,
    called only when a row is written."""
    rules = config.mail_rules
    config_text = _text(config_path)
    before = latest_in_force()
    if before is not None and before.sha256 == rules.sha256 and before.config_text == config_text:
        return None
    if callable(folders):
        folders = folders()
    with transaction.atomic():
        before = latest_in_force()
        row = RulesVersion.objects.create(
            state=RulesVersion.State.IN_FORCE,
            source=rules.source or "(built-in rules)",
            sha256=rules.sha256,
            text=rules.text,
            config_text=config_text,
            folders=dict(folders),
        )
        _audit_change(before, row)
    log.info(
        "rules_in_force",
        rules_version=row.pk,
        sha256=row.sha256[:12],
        rules=[r.name for r in rules.rules],
    )
    return row


def _audit_change(before: RulesVersion | None, row: RulesVersion) -> None:
    """The audit events of a switch: the old and new text of what changed."""
    old_rules = before.text if before is not None else ""
    old_config = before.config_text if before is not None else ""
    common = {"rules_version": row.pk, "source": row.source}
    if before is None or before.sha256 != row.sha256:
        audit.record(
            None,
            Verb.RULES_CHANGED,
            RULES,
            row.pk,
            **common,
            old_sha256=before.sha256 if before is not None else "",
            new_sha256=row.sha256,
            old_text=old_rules,
            new_text=row.text,
        )
    if old_config != row.config_text:
        audit.record(
            None,
            Verb.CONFIG_CHANGED,
            RULES,
            row.pk,
            **common,
            old_text=old_config,
            new_text=row.config_text,
        )


def refuse(error: ConfigError, rules_text: str) -> RulesVersion:
    """Record a refused file: its one-line fault and its text (the rules in force stay);
    the same fault again (a second SIGHUP) is not recorded twice."""
    last = latest_refusal()
    if last is not None and last.error == str(error)[:1000] and last.sha256 == _sha(rules_text):
        return last
    row = RulesVersion.objects.create(
        state=RulesVersion.State.REFUSED,
        source=error.file[:1000],
        sha256=_sha(rules_text),
        text=rules_text,
        error=str(error)[:1000],
    )
    # The file and the key name the fault; the message may quote an address: not logged.
    log.warning("rules_refused", rules_version=row.pk, file=error.file, key=error.key)
    return row


@dataclass(frozen=True)
class Stamp:
    """What tells a file changed: its size and modification time (None: no such file)."""

    files: tuple[tuple[str, int, int] | None, ...]


def stamp(*paths: str) -> Stamp:
    found: list[tuple[str, int, int] | None] = []
    for path in paths:
        try:
            info = os.stat(path)
        except OSError:
            found.append(None)
            continue
        found.append((path, info.st_size, info.st_mtime_ns))
    return Stamp(tuple(found))


class ConfigWatch:
    """Watches the configuration file and the rules file it names (see the module docstring)."""

    def __init__(
        self,
        config_path: str,
        config: IntakeConfig,
        folders: Callable[[IntakeConfig], Folders] = mailbox_folders,
    ) -> None:
        self.config_path = config_path
        self.config = config
        self.folders = folders
        self.seen = self._stamp(config)

    def _stamp(self, config: IntakeConfig) -> Stamp:
        return stamp(self.config_path, config.rules.file)

    def changed(self) -> bool:
        """True when either file changed since it was last read (valid or not)."""
        return self._stamp(self.config) != self.seen

    def start(self) -> None:
        """Record the rules the worker starts with (an audit event if they changed)."""
        put_in_force(self.config, self.config_path, self.folders(self.config))

    def reload(self) -> IntakeConfig | None:
        """The new configuration when the files are valid (recorded in force), else None
        (the refusal recorded; the configuration in force stays)."""
        self.seen = self._stamp(self.config)
        try:
            new = load_config(self.config_path)
            folders = self.folders(new)
            check_rule_folders(new, folders)
        except ConfigError as exc:
            refuse(exc, _text(self._rules_file_named()))
            return None
        self.config = new
        self.seen = self._stamp(new)
        put_in_force(new, self.config_path, folders)
        log.info("config_reloaded", rules=[r.name for r in new.mail_rules.rules])
        return new

    def _rules_file_named(self) -> str:
        """The rules file the (perhaps broken) configuration names, else the one in force."""
        import tomllib

        try:
            data = tomllib.loads(Path(self.config_path).read_text(encoding="utf-8"))
            named = str(data.get("rules", {}).get("file") or "")
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, AttributeError):
            return str(self.config.rules.file)
        if not named:
            return ""
        from intake.config import project_root

        return str(project_root() / named) if not os.path.isabs(named) else named


def describe_refusal(row: RulesVersion) -> dict[str, Any]:
    """A refusal for ``/healthz``'s warnings: when, which file, and its one-line fault."""
    return {
        "rules": "refused",
        "since": row.created.isoformat(),
        "file": row.source,
        "error": row.error,
    }
