"""What rules would do, before they take effect (issue 11): ``intake rules test``.

`rule_message` explains the rules on one message (a file: ``intake rules test
MESSAGE.eml``).  `mailbox_dry_run` runs the rules in force, and a proposed rules
file beside them, over the last messages of a live mailbox and changes nothing
there: the folder is examined (IMAP ``EXAMINE``, read-only) and each message
fetched with ``BODY.PEEK[]``, so no flag, UID or folder moves; no database row is
written.  Each message is parsed in the parser sandbox within its budget, as the
worker does; forms are not read (the rules do not need them), which keeps a run
over 100 messages to seconds.

`format_table` is the table the command prints; `DryRunRow.changed` says where
the proposal differs from the rules in force.
"""

from __future__ import annotations

import dataclasses
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from intake.config import IntakeConfig, MailboxConfig
from intake.rules import MailFacts, RuleSet, Ruling, authentication_of, evaluate, facts_of


def mail_facts(mail: Any, config: IntakeConfig, arrived: datetime | None = None) -> MailFacts:
    """`MailFacts` of a parsed message, with our server's verdict and the automatic check
    exactly as `intake.assess.assess_mail` makes them."""
    from intake.assess import _automatic_reason, sender_verdict

    automatic = _automatic_reason(mail.header_message(), config) is not None
    verdict = sender_verdict(mail, config)
    return facts_of(
        mail, authentication=authentication_of(verdict), automatic=automatic, arrived=arrived
    )


def rule_message(raw: bytes, config: IntakeConfig, rules: RuleSet) -> tuple[MailFacts, Ruling]:
    """Parse ``raw`` in the sandbox and evaluate ``rules`` on it; no side effects."""
    from parsers.sandbox import parse_mail

    mail = parse_mail(raw, config.limits)
    facts = mail_facts(mail, config)
    return facts, evaluate(rules, facts)


@dataclass(frozen=True)
class DryRunRow:
    """One message of a dry run: where it is, who sent it, and what each rule set does."""

    key: str  # the UID in the mailbox (or the stored message's id)
    received: datetime | None
    sender: str
    in_force: Ruling
    proposed: Ruling | None = None
    failure: str = ""  # the parse gave up (timeout, memory...): the worker holds it
    automatic: bool = False  # never answered; ignored unless a rule holds it

    @property
    def changed(self) -> bool:
        return self.proposed is not None and outcome(self.proposed) != outcome(self.in_force)


@dataclass(frozen=True)
class DryRun:
    where: str  # "mailbox referrals, folder INBOX"
    total: int  # messages in the folder
    rows: tuple[DryRunRow, ...]
    seconds: float
    in_force: RuleSet
    proposed: RuleSet | None = None


def outcome(ruling: Ruling) -> tuple[Any, ...]:
    """What a message gets, whichever rule gives it (a renamed rule changes nothing)."""
    effects = ruling.effects
    return (ruling.action, ruling.form_type, ruling.reason, effects)


def short(ruling: Ruling) -> str:
    """``coroner: hold, notify, flag, leave`` for a table cell."""
    head = ruling.action.value
    if ruling.form_type:
        head += f" as {ruling.form_type}"
    effects = ruling.effects
    extra = [
        word
        for word, wanted in (
            ("no reply", effects.never_reply),
            ("notify", bool(effects.notify)),
            (f"into {effects.file_into}", bool(effects.file_into)),
            ("leave", effects.leave_in_place),
            ("flag", effects.flag),
            ("read", effects.mark_read),
        )
        if wanted
    ]
    return f"{ruling.rule}: {', '.join([head, *extra])}"


def mailbox_dry_run(
    config: IntakeConfig, mailbox: MailboxConfig, last: int, proposed: RuleSet | None = None
) -> DryRun:
    """The rules over the last ``last`` messages of ``mailbox``'s folder, read-only.

    Raises `intake.errors.MailboxError` when the mailbox cannot be used, and
    `intake.rules.RulesError` when the proposal files into a folder the mailbox lacks.
    """
    from intake.mailbox import open_mailbox
    from intake.rules import check_folders
    from intake.store import HARD_LIMIT_FACTOR
    from parsers.sandbox import parse_mail

    started = time.monotonic()
    rows = []
    with open_mailbox(mailbox) as box:
        if proposed is not None:
            check_folders(proposed, mailbox.name, box.list_folders())
        uids = box.uids(mailbox.folder)
        limit = config.limits.max_message_bytes * HARD_LIMIT_FACTOR
        for fetched in box.fetch(
            mailbox.folder, uids=uids[-last:] if last else [], max_bytes=limit
        ):
            mail = parse_mail(fetched.raw, config.limits)
            facts = mail_facts(mail, config, fetched.internaldate)
            rows.append(_row(str(fetched.uid), fetched.internaldate, facts, config, proposed))
            rows[-1] = _with_failure(rows[-1], mail.failure)
    return DryRun(
        where=f"mailbox {mailbox.name}, folder {mailbox.folder}",
        total=len(uids),
        rows=tuple(rows),
        seconds=time.monotonic() - started,
        in_force=config.mail_rules,
        proposed=proposed,
    )


def _row(
    key: str,
    received: datetime | None,
    facts: MailFacts,
    config: IntakeConfig,
    proposed: RuleSet | None,
) -> DryRunRow:
    now = datetime.now(tz=UTC)
    return DryRunRow(
        key=key,
        received=received,
        sender=facts.sender,
        in_force=evaluate(config.mail_rules, facts, now),
        proposed=evaluate(proposed, facts, now) if proposed is not None else None,
        automatic=facts.automatic,
    )


def _with_failure(row: DryRunRow, failure: str) -> DryRunRow:
    if not failure:
        return row
    return dataclasses.replace(row, failure=failure)


def changes(rows: Iterable[DryRunRow]) -> Counter[str]:
    """How many messages each proposed rule would change."""
    return Counter(r.proposed.rule for r in rows if r.changed and r.proposed is not None)


def format_table(run: DryRun, headers: Sequence[str] = ("UID",)) -> str:
    """The dry run as the table ``intake rules test --mailbox`` prints."""
    lines = [
        f"Dry run over {run.where}: the last {len(run.rows)} of {run.total} messages "
        "(read-only: nothing is changed)",
        f"In force: {run.in_force.describe()}",
    ]
    if run.proposed is not None:
        lines.append(f"Proposed: {run.proposed.describe()}")
    cells = [_cells(row, run.proposed is not None) for row in run.rows]
    titles = [headers[0], "Received", "From", "In force"]
    if run.proposed is not None:
        titles += ["Proposed", "Change"]
    widths = [max([len(t), *(len(c[i]) for c in cells)]) for i, t in enumerate(titles)]
    lines += ["", _line(titles, widths), _line(["-" * w for w in widths], widths)]
    lines += [_line(c, widths) for c in cells]
    lines += ["", _summary(run)]
    return "\n".join(lines)


def _cells(row: DryRunRow, proposing: bool) -> list[str]:
    received = row.received.astimezone(UTC).strftime("%Y-%m-%d %H:%M") if row.received else "-"
    sender = row.sender or "-"
    if len(sender) > 40:
        sender = sender[:39] + "…"
    cells = [row.key, received, sender, _cell(row.in_force, row)]
    if proposing and row.proposed is not None:
        cells += [_cell(row.proposed, row), "CHANGED" if row.changed else ""]
    return cells


def _cell(ruling: Ruling, row: DryRunRow) -> str:
    """What the message gets: its rule's words, and what no rule can change."""
    if row.failure:
        return f"{short(ruling)} (unreadable: {row.failure}; held)"
    if row.automatic and ruling.action != "hold":
        return f"{short(ruling)} (automatic: ignored)"
    return short(ruling)


def _line(cells: Sequence[str], widths: Sequence[int]) -> str:
    return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()


def _summary(run: DryRun) -> str:
    said = f"{len(run.rows)} messages in {run.seconds:.1f} s"
    if run.proposed is None:
        decided = Counter(r.in_force.rule for r in run.rows)
        return f"{said}; decided by: " + ", ".join(f"{n}: {c}" for n, c in decided.most_common())
    changed = changes(run.rows)
    if not changed:
        return f"{said}: the proposed rules change nothing"
    by_rule = ", ".join(f"{name}: {count}" for name, count in changed.most_common())
    return f"{said}: {sum(changed.values())} would change ({by_rule})"
