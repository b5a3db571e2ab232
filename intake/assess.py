"""One message, start to finish, with no side effects: what should happen to it.

`assess_message` is what ``intake check MESSAGE.eml`` prints and what the
pipeline stores before it acts on a message.  It touches no database,
mailbox or network: it reads the bytes, applies the mailbox rules, reads the
attachments (in the parser sandbox), finds the form, checks it and says what
the decision and the reply would be.  The printed shape is the outcome JSON
of ``../shared/forms/README.md``.

Order of the rules, and why:

1. Automatic mail (RFC 3834 and its relatives) is ``ignored`` before anything
   else: answering a robot is the worst mistake this service can make.
2. The form is read next, so the team sees what it says even when...
3. ... our own mail server did not authenticate the sender
   (`intake.authentication`: no verdict is no pass): ``needs_review``, no
   reply, because a forged sender must not be mailed nor change a case
   (issue 8).
4. A recognised form is ``accepted`` when complete and valid, else
   ``incomplete`` (returned to the referrer with what is missing).
5. No form: an attachment that looked like a document but could not be read
   gets the ``unreadable_attachment`` reply; anything else waits for a person.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from intake.vocabulary import Decision, ReplyKind
from parsers.document import Document
from parsers.errors import Reason
from parsers.forms import FormMatch
from parsers.mail import AttachmentPart, MailResult
from parsers.schema import FormSchema, load_schemas

if TYPE_CHECKING:
    from intake.authentication import Verdict
    from intake.config import IntakeConfig

ACCEPTED = Decision.ACCEPTED
INCOMPLETE = Decision.INCOMPLETE
NEEDS_REVIEW = Decision.NEEDS_REVIEW
IGNORED = Decision.IGNORED

# Attachments that a referrer meant as a document (a form, a letter); a photo
# or a signature image that cannot be read is no reason to write back.
DOCUMENT_TYPES = {
    "application/pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/msword",
    "application/vnd.ms-word",
    "application/rtf",
    "text/rtf",
    "application/vnd.oasis.opendocument.text",
    "application/x-ooxml-encrypted",
    "application/encrypted",
}
DOCUMENT_SUFFIXES = (".pdf", ".docx", ".doc", ".docm", ".dotx", ".rtf", ".odt", ".pages")


@dataclass
class Reply:
    kind: str  # incomplete_return | acknowledgement | unreadable_attachment
    to: str


@dataclass
class Assessment:
    decision: str  # accepted | incomplete | needs_review | ignored
    form_type: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    invalid: list[dict[str, str]] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    deadlines: dict[str, str] = field(default_factory=dict)
    reply: Reply | None = None
    reasons: list[str] = field(default_factory=list)
    # Not part of the printed outcome: what the pipeline and the team need.
    automatic: bool = False
    sources: dict[str, str] = field(default_factory=dict)  # field key -> where it was read
    form_attachment: str | None = None  # filename of the attachment holding the form
    attachment_errors: list[dict[str, str]] = field(default_factory=list)  # filename, reason
    received_on: str | None = None  # ISO date the deadlines count from
    # What the form decision rests on (intake.safety.Evidence): questions found
    # blank or not found, questions that could not be placed, doubts.
    evidence: dict[str, Any] = field(default_factory=dict)
    # The mailbox rule that decided it and what it said (intake.rules.Ruling.as_dict).
    rule: dict[str, Any] = field(default_factory=dict)

    def as_outcome(self) -> dict[str, Any]:
        """The JSON shape of ``../shared/forms/README.md``."""
        return {
            "decision": self.decision,
            "form_type": self.form_type,
            "fields": self.fields,
            "missing": self.missing,
            "invalid": self.invalid,
            "flags": self.flags,
            "deadlines": self.deadlines,
            "reply": asdict(self.reply) if self.reply else None,
            "reasons": self.reasons,
            "evidence": self.evidence,
            "rule": self.rule,
        }


def assessment_from_dict(data: dict[str, Any]) -> Assessment:
    """Rebuild an `Assessment` stored as JSON (``dataclasses.asdict`` form)."""
    values = dict(data)
    reply = values.pop("reply", None)
    known = set(Assessment.__dataclass_fields__)
    return Assessment(
        reply=Reply(**reply) if reply else None,
        **{k: v for k, v in values.items() if k in known},
    )


@lru_cache(maxsize=8)
def schemas_in(folder: str) -> dict[str, FormSchema]:
    """The form schemas of ``folder``, read once per process."""
    return load_schemas(Path(folder))


def taught_schemas(config: IntakeConfig) -> dict[str, FormSchema]:
    """The configured schemas with the wordings the team taught (`intake.learning`):
    what the worker and ``intake check`` read forms with.  Reads the database."""
    from intake.learning import with_learning

    return with_learning(schemas_in(str(config.forms_dir)))


def assess_message(
    raw: bytes,
    config: IntakeConfig,
    arrived: datetime | None = None,
    schemas: Mapping[str, FormSchema] | None = None,
) -> Assessment:
    """Run ``raw`` through rules, parsing and completeness; no side effects.

    The message is parsed once, in the parser sandbox within its budget
    (`parsers.sandbox.parse_mail`), then assessed by `assess_mail`: the
    worker does the same two steps, keeping the parse in between.
    ``arrived`` is when the mailbox received the message (IMAP INTERNALDATE,
    the store time), used only when the message carries neither a
    ``Received`` nor a ``Date`` header; without it, today.  Never raises for
    anything in the message itself.  ``schemas``: the form schemas to read
    with (`taught_schemas` in the service); the configured folder's when None.
    """
    from parsers.sandbox import parse_mail

    return assess_mail(parse_mail(raw, config.limits), config, arrived, schemas=schemas)


# Why a parse gave up: the message is held for a person, nothing of it is read.
UNREAD_FAILURES = ("timeout", "memory", "corrupt", "too_deep")


def assess_mail(
    mail: MailResult,
    config: IntakeConfig,
    arrived: datetime | None = None,
    sent_forms: frozenset[str] = frozenset(),
    schemas: Mapping[str, FormSchema] | None = None,
) -> Assessment:
    """`assess_message` on a message parsed already (`parsers.mail.MailResult`).

    ``sent_forms`` holds the sha256 of files we sent back in our replies: the
    same bytes coming in again (a robot echoing our reply) are never read as
    a referral.  The documents share what is left of the message's budget.
    """
    if mail.failure in UNREAD_FAILURES:
        return Assessment(
            decision=NEEDS_REVIEW,
            reasons=[f"the message could not be read within its limits ({mail.failure})"],
        )
    message = mail.header_message()
    automatic = _automatic_reason(message, config)
    verdict = sender_verdict(mail, config)
    ruling = _rule_on(mail, config, verdict, automatic is not None, arrived)
    if automatic is not None or ruling.action == "ignore":
        return _not_read(automatic, ruling)
    deadline = time.monotonic() + max(0.0, config.limits.max_message_seconds - mail.seconds)
    parts, left_out = _parts_to_read(mail, config, sent_forms)
    documents, errors = _read_attachments(parts, config, deadline)
    accepted = accepted_schemas(config, schemas, ruling.form_type)
    match, over = _match_form(documents, accepted, config, deadline)
    received_on = _received_on(message, config, arrived)
    sender = _reply_recipient(mail, verdict, config)
    if match is not None:
        result = _assess_form(match, accepted[match.form_type], received_on, sender)
    elif over:
        result = Assessment(decision=NEEDS_REVIEW, reasons=[f"{MATCH_OVER_BUDGET} ({over})"])
    else:
        result = _assess_no_form(errors, sender)
    result.attachment_errors = errors
    result.received_on = received_on.isoformat()
    result.reasons.extend(left_out)
    if held_for_its_sender(verdict, config):
        _hold_unauthenticated(result, verdict)
    elif not verdict.authenticated:
        result.reasons.insert(
            0,
            f"the sender was not proven by our mail server ({verdict.reason}): any reply goes "
            "to the From address only, without the form, and the message changes no case",
        )
    if result.reply is not None and sender is None:
        result.reply = None
        result.reasons.append("no address to reply to")
    _follow_rule(result, ruling)
    return result


def _rule_on(
    mail: MailResult,
    config: IntakeConfig,
    verdict: Verdict,
    automatic: bool,
    arrived: datetime | None,
) -> Any:
    """`intake.rules.evaluate` with the configured rules (issue 11): a `Ruling`."""
    from intake.rules import authentication_of, default_rules, evaluate, facts_of

    rules = getattr(config, "mail_rules", None)
    if rules is None:
        if getattr(config.rules, "file", ""):  # named but refused: never decide without it
            raise RuntimeError(f"the mailbox rules were not loaded: {config.rules_error}")
        rules = default_rules()
    facts = facts_of(
        mail, authentication=authentication_of(verdict), automatic=automatic, arrived=arrived
    )
    return evaluate(rules, facts)


def _not_read(automatic: str | None, ruling: Any) -> Assessment:
    """Automatic mail, or mail a rule ignores: kept, nothing read, never answered.

    RFC 3834: automatic mail is never answered whatever a rule says; a rule may
    hold it for a person (issue 11), never make it a referral.
    """
    if automatic is not None and ruling.action == "hold":
        result = Assessment(decision=NEEDS_REVIEW, automatic=True)
        result.reasons = [f"automatic mail ({automatic})"]
        _follow_rule(result, ruling)
        return result
    if automatic is not None:
        reasons = [f"automatic mail ({automatic})"]
    else:
        reasons = [f"rule {ruling.rule!r}: ignore (kept, never answered)"]
    return Assessment(
        decision=IGNORED, automatic=automatic is not None, reasons=reasons, rule=ruling.as_dict()
    )


def _follow_rule(result: Assessment, ruling: Any) -> None:
    """What the deciding rule adds: held for a person with its reason, or no reply."""
    result.rule = ruling.as_dict()
    if ruling.form_type:
        result.reasons.append(f"rule {ruling.rule!r}: read as {ruling.form_type} only")
    if ruling.action == "hold":
        if result.decision in (ACCEPTED, INCOMPLETE):
            result.decision = NEEDS_REVIEW
        result.reply = None
        result.reasons.insert(0, f"held by rule {ruling.rule!r}: {ruling.reason}")
    elif ruling.effects.never_reply and result.reply is not None:
        result.reply = None
        named = ", ".join(repr(n) for n in ruling.matched) or repr(ruling.rule)
        result.reasons.append(f"never auto-reply to this sender (mailbox rules: {named})")


MATCH_OVER_BUDGET = "the form could not be matched within the message's limits"
MATCH_JOB = "parsers.forms:extract_form"


def _match_form(
    documents: Sequence[Document],
    schemas: Mapping[str, FormSchema],
    config: IntakeConfig,
    deadline: float,
) -> tuple[FormMatch | None, str]:
    """`parsers.forms.extract_form` in the sandbox, within what is left of the budget.

    The matcher is pure code over bounded documents, but its cost grows with
    what a sender put in them: like the parse and the readers, it must not be
    able to hold the worker past the message's budget (issue 8).  Returns
    (the match or None, ""), or (None, the reason it gave up: ``timeout``,
    ``memory``, ``corrupt``).
    """
    if not documents or not schemas:
        return None, ""
    from parsers.sandbox import get_pool

    seconds = deadline - time.monotonic()
    if seconds <= 0:
        return None, Reason.TIMEOUT.value
    outcome = get_pool().run_job(
        MATCH_JOB, (list(documents), dict(schemas)), seconds, config.limits.max_message_memory_mb
    )
    if outcome.reason is not None:
        return None, outcome.reason.value
    found: FormMatch | None = outcome.value
    return found, ""


def held_for_its_sender(verdict: Verdict, config: IntakeConfig) -> bool:
    """Whether the sender's verdict alone holds the message for a person, unanswered.

    A sender our server says failed authentication: always (``rules.check_dmarc``).
    A sender it neither proved nor failed (no verdict, ``dmarc=none``): only when
    ``rules.answer_unproven_senders`` is off.  Otherwise such a sender is answered
    at its From address, without the form, and changes no case (issue 8; the
    published examples answer senders with ``dmarc=none`` and with no verdict).
    """
    if verdict.authenticated:
        return False
    if verdict.failed:
        return bool(config.rules.check_dmarc)
    return not config.rules.answer_unproven_senders


def _hold_unauthenticated(result: Assessment, verdict: Verdict) -> None:
    """A sender held by its verdict gets no reply; a person looks (issue 8)."""
    if result.decision in (ACCEPTED, INCOMPLETE):
        result.decision = NEEDS_REVIEW
    result.reply = None
    why = "failed authentication" if verdict.failed else "was not authenticated"
    result.reasons.insert(
        0, f"the sender {why} at our mail server ({verdict.reason}): check who sent it"
    )


def sender_verdict(mail: MailResult, config: IntakeConfig) -> Any:
    """`intake.authentication.authenticate` on a parsed message."""
    from intake.authentication import authenticate

    return authenticate(mail.headers, mail.from_addresses, config.rules)


def _parts_to_read(
    mail: MailResult, config: IntakeConfig, sent_forms: frozenset[str]
) -> tuple[list[AttachmentPart], list[str]]:
    """The attachments that may hold a referral, and reasons for those left out.

    Left out: everything inside an attached message that is our own reply
    (`intake.automatic.echoed_prefixes`), and files we sent out ourselves.
    """
    from intake.automatic import echoed_prefixes

    service = config.service
    echoed = echoed_prefixes(mail.inner_messages, service.our_addresses, service.message_id_domain)
    ours = [p for p in mail.attachments if any(p.path.startswith(e) for e in echoed)]
    ours += [p for p in mail.attachments if p.sha256 in sent_forms and p not in ours]
    reasons = []
    if echoed:
        reasons.append("it carries our own reply sent back to us: nothing in that was read")
    if len(ours) > len([p for p in ours if any(p.path.startswith(e) for e in echoed)]):
        reasons.append("an attachment is a file we sent out ourselves: it was not read again")
    return [p for p in mail.attachments if p not in ours], reasons


def _assess_form(
    match: FormMatch, schema: FormSchema, received_on: date, sender: str | None
) -> Assessment:
    from intake.completeness import check_completeness
    from intake.safety import weigh_evidence

    values = match.values
    completeness = check_completeness(schema, values, received_on)
    missing = sorted(completeness.missing)
    invalid = [{"field": p.field, "reason": p.reason} for p in completeness.invalid]
    invalid.sort(key=lambda p: p["field"])
    complete = not missing and not invalid
    evidence = weigh_evidence(match, schema, missing, [p["field"] for p in invalid])
    result = Assessment(
        decision=ACCEPTED if complete else INCOMPLETE,
        form_type=match.form_type,
        fields=values,
        missing=missing,
        invalid=invalid,
        flags=_flags(values),
        deadlines=_deadlines(values, received_on),
        sources={key: f"{match.filename}, {a.source}" for key, a in match.answers.items()},
        form_attachment=match.filename,
        reasons=[match.why],
        evidence=evidence.as_dict(),
    )
    if not complete:
        result.reasons.append(
            f"{len(missing)} answer(s) missing, {len(invalid)} answer(s) not valid"
        )
    if not evidence.sure:
        # Issue 7: a return goes out only when the service is sure; otherwise a person looks.
        result.decision = NEEDS_REVIEW
        result.reasons.append("not returned to the referrer: a person must check the form, as")
        result.reasons.extend(f"  {doubt}" for doubt in evidence.doubts)
        return result
    if sender is not None:
        kind = ReplyKind.ACKNOWLEDGEMENT if complete else ReplyKind.INCOMPLETE_RETURN
        result.reply = Reply(kind=kind, to=sender)
    return result


def _assess_no_form(errors: Sequence[dict[str, str]], sender: str | None) -> Assessment:
    unreadable = [e for e in errors if e.get("document") == "yes"]
    if unreadable:
        result = Assessment(
            decision=NEEDS_REVIEW,
            reasons=[
                f"attachment {e['filename']!r} could not be read: {e['reason']}" for e in unreadable
            ],
        )
        if sender is not None:
            result.reply = Reply(kind=ReplyKind.UNREADABLE_ATTACHMENT, to=sender)
        return result
    return Assessment(
        decision=NEEDS_REVIEW, reasons=["no referral form found: a person must read it"]
    )


def _flags(values: dict[str, Any]) -> list[str]:
    from intake.deadlines import is_late_notification

    aware, notified = _iso(values.get("date_became_aware")), _iso(values.get("date_notified"))
    if aware and notified and is_late_notification(aware, notified):
        return ["late_notification"]
    return []


def _deadlines(values: dict[str, Any], received_on: date) -> dict[str, str]:
    from intake.deadlines import rapid_review_due

    notified = _iso(values.get("date_notified"))
    if notified is None and values.get("sin_submitted") == "yes":
        notified = _iso(values.get("sin_date"))
    return {"rapid_review_due": rapid_review_due(notified, received_on).isoformat()}


def _iso(value: Any) -> date | None:
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _read_attachments(
    attachments: Sequence[AttachmentPart], config: IntakeConfig, deadline: float | None = None
) -> tuple[list[Document], list[dict[str, str]]]:
    """Documents read from the message's leaf attachments, and what failed.

    ``deadline`` (``time.monotonic()``) ends the message's budget for all of them.
    """
    from parsers.sandbox import read_documents

    leaves = [a for a in attachments if a.is_leaf and a.error is None]
    errors = [_error(a, a.error) for a in attachments if a.error is not None]
    readable = [a for a in leaves if _is_document(a) or a.media_type.startswith("application/")]
    documents: list[Document] = []
    for result in read_documents(readable, config.limits, deadline):
        if result.document is not None:
            documents.append(result.document)
        elif result.reason is not None and result.reason != Reason.NO_FORM:
            errors.append(_error(readable[result.index], result.reason))
    return documents, errors


def _error(part: Any, reason: Any) -> dict[str, str]:
    return {
        "filename": part.filename,
        "path": part.path,
        "reason": str(getattr(reason, "value", reason)),
        "document": "yes" if _is_document(part) else "no",
    }


def _is_document(part: Any) -> bool:
    name = (part.filename or "").lower()
    return part.media_type in DOCUMENT_TYPES or name.endswith(DOCUMENT_SUFFIXES)


def accepted_schemas(
    config: IntakeConfig, schemas: Mapping[str, FormSchema] | None = None, forced: str | None = None
) -> dict[str, FormSchema]:
    """The schemas a form may be read as; only ``forced`` when a rule names one (issue 11)."""
    if schemas is None:
        schemas = schemas_in(str(config.forms_dir))
    accept = set(getattr(config.rules, "accept_forms", None) or schemas)
    if forced:
        accept &= {forced}
    return {k: v for k, v in schemas.items() if k in accept}


def _automatic_reason(message: Any, config: IntakeConfig) -> str | None:
    if not config.rules.ignore_automatic:
        return None
    from intake.automatic import automatic_reason

    return automatic_reason(message, config.service.our_addresses, config.service.message_id_domain)


def _reply_recipient(mail: MailResult, verdict: Verdict, config: IntakeConfig) -> str | None:
    from intake.replies import reply_recipient

    return reply_recipient(mail, verdict, config)


def _received_on(message: Any, config: IntakeConfig, arrived: datetime | None) -> date:
    """The day, in UK time, the referral arrived (README: newest Received, else Date)."""
    from intake.deadlines import received_date

    zone = ZoneInfo(config.service.timezone)
    try:
        return received_date(message, config.service.timezone)
    except ValueError:
        when = arrived or datetime.now(tz=zone)
        return when.astimezone(zone).date() if when.tzinfo else when.date()
