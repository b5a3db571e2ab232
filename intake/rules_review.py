"""The administrators' Rules page's services (issue 11): the rules in force, and what a
proposed rules file would do to the messages already stored.

Nothing here opens a mailbox or parses mail: the rules in force are the worker's
record (`intake.models.RulesVersion`), and a dry run evaluates a proposal on each
message's stored parse (`intake.models.MessageContent`: headers, text, the
attachments' names and types), exactly as the worker's rules would see it.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from intake import audit
from intake.config import ConfigError
from intake.dryrun import DryRun, DryRunRow
from intake.models import InboundMessage, MessageContent, RulesVersion
from intake.reload import latest_in_force, latest_refusal
from intake.rules import (
    MailFacts,
    RuleSet,
    authentication_of,
    check_folders,
    evaluate,
    facts_of,
    parse_rules,
    rule_context,
)

MAX_PROPOSAL_CHARS = 200_000
DRY_RUN_MESSAGES = 100


@dataclass(frozen=True)
class RulesInForce:
    rules: RuleSet | None  # None: the recorded text no longer validates (the forms changed)
    version: RulesVersion | None  # None: no worker has recorded its rules yet
    refused: RulesVersion | None  # a newer file the worker refused
    error: str = ""


def rules_in_force(config: Any) -> RulesInForce:
    """What the worker runs with: its last record, else this process's own reading."""
    version = latest_in_force()
    refused = latest_refusal()
    if version is None:
        return RulesInForce(config.mail_rules, None, refused, config.rules_error)
    try:
        rules = parse_rules(version.text, _context(config), version.source)
    except ConfigError as exc:
        return RulesInForce(None, version, refused, str(exc))
    return RulesInForce(rules, version, refused)


def _context(config: Any) -> Any:
    return rule_context(config.rules, config.service, config.mailboxes, config.replies)


def read_proposal(text: str, config: Any) -> RuleSet:
    """Validate a pasted or uploaded rules file; `ConfigError` (one line) when it is wrong,
    including a folder that the mailboxes, as the worker last saw them, do not have."""
    if len(text) > MAX_PROPOSAL_CHARS:
        raise ConfigError("proposed rules", "(file)", f"at most {MAX_PROPOSAL_CHARS} characters")
    proposal = parse_rules(text, _context(config), "proposed rules")
    version = latest_in_force()
    for mailbox in config.mailboxes:
        known = (version.folders or {}).get(mailbox.name) if version is not None else None
        if known is not None:
            check_folders(proposal, mailbox.name, [*known, mailbox.processed_folder])
    return proposal


def stored_facts(message: InboundMessage, config: Any) -> MailFacts | None:
    """What the rules see of a stored message, from its stored parse (None before it)."""
    from intake.authentication import authenticate
    from intake.automatic import automatic_reason
    from parsers.mail import MailResult, part_from_summary

    content = MessageContent.objects.filter(message=message).first()
    if content is None:
        return None
    parsed = dict(content.parsed or {})
    parsed["text_body"] = content.text_body
    summaries = parsed.get("attachments") or []
    parts = tuple(
        dataclasses.replace(part_from_summary(s, b""), size=int(s.get("size") or 0))
        for s in summaries
    )
    mail = MailResult.from_json(parsed, parts)
    verdict = authenticate(mail.headers, mail.from_addresses, config.rules)
    service = config.service
    automatic = automatic_reason(
        mail.header_message(), service.our_addresses, service.message_id_domain
    )
    return facts_of(
        mail,
        authentication=authentication_of(verdict),
        automatic=automatic is not None,
        arrived=message.received_at,
    )


def stored_dry_run(
    in_force: RuleSet, proposal: RuleSet, config: Any, user: Any, count: int = DRY_RUN_MESSAGES
) -> DryRun:
    """``proposal`` beside the rules in force over the newest ``count`` stored messages."""
    started = time.monotonic()
    now = datetime.now(tz=UTC)
    messages = InboundMessage.objects.defer("raw").order_by("-pk")[:count]
    rows = []
    for message in messages:
        facts = stored_facts(message, config)
        if facts is None:
            continue
        rows.append(
            DryRunRow(
                key=str(message.pk),
                received=message.received_at,
                sender=facts.sender,
                in_force=evaluate(in_force, facts, now),
                proposed=evaluate(proposal, facts, now),
                automatic=facts.automatic,
            )
        )
    run = DryRun(
        where="the stored messages",
        total=InboundMessage.objects.count(),
        rows=tuple(rows),
        seconds=time.monotonic() - started,
        in_force=in_force,
        proposed=proposal,
    )
    changed = sum(1 for r in rows if r.changed)
    audit.record(
        user,
        audit.Verb.RULES_DRY_RUN,
        "rules",
        0,
        sha256=proposal.sha256,
        messages=len(rows),
        changed=changed,
    )
    return run
