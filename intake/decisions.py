"""Record what happens to a message: its decision, its case, its reply, in one transaction.

`apply_assessment` is the only writer of decisions.  It takes the pure
`Assessment` of a message (``intake.assess``) and, atomically:

* records the decision on the message (a compare-and-set on its empty
  decision: a second call for the same message does nothing; the message's
  state is moved to ``decided`` by the pipeline, in the same transaction);
* opens a case (`Referral`) for a recognised form, or joins the case it
  belongs to: a resubmission is a message in the thread of the case (its
  ``In-Reply-To``/``References`` name one of our replies or one of the
  case's messages) from the case's referrer or about the same child, a
  message whose subject carries the case's reference
  from the same referrer, or the same referrer sending the same child's form
  within ``config.cases.resubmission_window_days``.  Only the case's referrer,
  authenticated by our mail server (`intake.authentication`), changes a case:
  anything else joins it as a held submission, keeping its own answers, and
  the case goes to needs review for a person to compare (issue 8);
* writes the reply as an `OutboundEmail` row, exactly as it will be sent,
  or as ``suppressed`` when the referrer has already had
  ``config.replies.max_per_sender_per_hour`` replies in the last hour;
* appends `AuditEvent` rows (ids and codes only).

Sending happens later, in `intake.outbox.send_due`: a crash between the
decision and the send loses nothing, because the row is already committed.
Everything about the message is read from its stored parse
(`intake.store.load_mail`), never from its raw bytes.
"""

from __future__ import annotations

import email.message
import hashlib
import re
import traceback
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import structlog
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from intake import audit, notifications
from intake.assess import MATCH_OVER_BUDGET, Assessment
from intake.audit import Verb
from intake.authentication import authenticate
from intake.automatic import address_in_name, automatic_reason
from intake.mailbox.base import header_block
from intake.models import (
    Attachment,
    InboundMessage,
    OutboundEmail,
    Referral,
    Submission,
)
from intake.models.cases import ReferenceCounter
from intake.replies import (
    FormAttachment,
    ReplyContext,
    UnreadableAttachment,
    build_reply_message,
    child_names,
    fold_accents,
    problems_by_section,
    render_reply,
    unreadable_reason,
)
from intake.store import load_mail, safe_for_db
from intake.vocabulary import CASE_DECISIONS, Decision, ReplyKind
from parsers.limits import Limits
from parsers.mail import MailResult, read_mail

if TYPE_CHECKING:
    from intake.config import IntakeConfig

log = structlog.get_logger(__name__)

_MSGID = re.compile(r"<[^<>\s]+>")


def apply_assessment(message: InboundMessage, assessment: Assessment, config: IntakeConfig) -> None:
    """Record ``assessment`` for ``message``: decision, case, reply row, audit.

    Idempotent: when the message has already been decided, nothing is
    written.  Raises only database errors (the transaction then rolls back
    and nothing of it is kept); a reply template that fails to render is
    stored as a ``failed`` row for a person, not raised.
    """
    with transaction.atomic():
        sender = sender_of(message, config)
        if not _mark_decided(message, assessment, reason_code(assessment, sender, config)):
            log.info("decision_already_recorded", message_id=message.pk)
            return
        referral = _file_case(message, assessment, config, sender)
        outbound = _queue_reply(message, assessment, referral, config, sender)
        notifications.on_decision(message, referral, config)  # the team's emails (issue 12)
        notifications.on_rule(message, assessment.rule, config)  # a rule's notify (issue 11)
    log.info(
        "message_decided",
        message_id=message.pk,
        decision=assessment.decision,
        referral_id=referral.pk if referral else None,
        outbound_id=outbound.pk if outbound else None,
    )


def reason_code(assessment: Assessment, sender: Sender, config: IntakeConfig) -> str:
    """Why the message was decided so, as a short stable code (stored on the message).

    ``parse:<failure>`` (over its budget...), ``rule:hold``, ``rule:ignore`` (a mailbox
    rule, issue 11), ``automatic:<reason>``,
    ``unauthenticated:<verdict>``, ``unreadable_attachment``, ``no_form``,
    ``form:<decision>``.
    """
    mail = sender.mail
    if mail.failure:
        return f"parse:{mail.failure}"
    if (assessment.rule or {}).get("action") == "hold":
        return "rule:hold"  # a mailbox rule held it for a person (issue 11)
    if assessment.decision == Decision.IGNORED:
        service = config.service
        found = automatic_reason(
            mail.header_message(), service.our_addresses, service.message_id_domain
        )
        return f"automatic:{found}" if found else "rule:ignore"
    over = [r for r in assessment.reasons if str(r).startswith(MATCH_OVER_BUDGET)]
    if over:
        return f"match:{str(over[0]).rsplit('(', 1)[-1].rstrip(')')}"
    if not sender.authenticated:
        return f"unauthenticated:{sender.reason}"
    if assessment.form_type:
        return f"form:{assessment.decision}"
    if any(e.get("document") == "yes" for e in assessment.attachment_errors):
        return ReplyKind.UNREADABLE_ATTACHMENT
    return "no_form"


def _mark_decided(message: InboundMessage, assessment: Assessment, code: str) -> bool:
    """Record the decision on the message (compare-and-set on an empty decision).

    The message's *state* is the pipeline's to change (``intake.pipeline.
    step_decide`` moves it to ``decided`` in this same transaction); the
    decision column is the guard that makes a second call a no-op.
    """
    stored = safe_for_db(asdict(assessment))
    updated = InboundMessage.objects.filter(pk=message.pk, decision="").update(
        decision=assessment.decision,
        reason_code=code[:64],
        assessment=stored,
        updated=timezone.now(),
    )
    if updated != 1:
        return False
    message.decision = assessment.decision
    message.assessment = stored
    audit.record(
        None, Verb.MESSAGE_DECIDED, audit.MESSAGE, message.pk, decision=assessment.decision
    )
    return True


# --- who sent it ---------------------------------------------------------------


@dataclass(frozen=True)
class Sender:
    """What decisions may trust about a message's sender (issue 8).

    ``address`` is the From address, lower case ("" when none);
    ``authenticated`` is our mail server's verdict on it
    (`intake.authentication`); ``name_trick`` is a display name holding
    another address (``"ceo@council.gov.uk" <x@elsewhere>``).
    """

    address: str
    authenticated: bool
    name_trick: bool
    reason: str
    mail: MailResult
    failed: bool = False  # our server said the sender failed (a forgery is likely)


def sender_of(message: InboundMessage, config: IntakeConfig) -> Sender:
    """The sender of ``message`` as its stored parse shows it."""
    mail = stored_mail(message)
    verdict = authenticate(mail.headers, mail.from_addresses, config.rules)
    address = (mail.from_addr or "").strip().lower()
    trick = bool(address) and address_in_name(mail.from_name, address)
    return Sender(address, verdict.authenticated, trick, verdict.reason, mail, verdict.failed)


def stored_mail(message: InboundMessage) -> MailResult:
    """The message's stored parse; for a row stored before there was one, its header
    block read here (bounded: the values are cut short before any parser sees them)."""
    mail = load_mail(message, with_data=False)
    if mail is not None:
        return mail
    head = header_block(bytes(message.raw or b"")[: 256 * 1024])
    return read_mail(head, Limits())


# --- cases -------------------------------------------------------------------


def child_key(fields: Mapping[str, Any]) -> str:
    """A hash of the child's normalised forenames, surname and date of birth ("" if unknown).

    Matching resubmissions needs "the same child" without keeping an index
    of children's names; case, accents, spaces and punctuation are ignored.
    """
    parts = [fields.get("child_forenames"), fields.get("child_surname"), fields.get("child_dob")]
    if not all(isinstance(p, str) and p.strip() for p in parts):
        return ""
    normal = "|".join(_fold(str(p)) for p in parts)
    return hashlib.sha256(f"intake-child-v1|{normal}".encode()).hexdigest()


def _fold(text: str) -> str:
    # The replies' folding, so "the same name" means the same in both places;
    # spaces and punctuation go too, as a hash has no words to break.
    return "".join(c for c in fold_accents(text) if c.isalnum())


def _file_case(
    message: InboundMessage, assessment: Assessment, config: IntakeConfig, sender: Sender
) -> Referral | None:
    if assessment.decision not in CASE_DECISIONS:
        return None  # ignored: never joins a case (an out-of-office threads to our reply)
    found, matched_by = find_case(message, assessment, config, sender)
    if found is not None:
        _join_case(found, message, assessment, matched_by, sender)
        return found
    if not assessment.form_type:
        return None  # no form and no case: the message itself waits for a person
    return _open_case(message, assessment, config, sender)


def find_case(
    message: InboundMessage,
    assessment: Assessment,
    config: IntakeConfig,
    sender_check: Sender | None = None,
) -> tuple[Referral | None, str]:
    """The case ``message`` belongs to, and how it was matched ("" when none)."""
    check = sender_check or sender_of(message, config)
    mail = check.mail
    thread_ids = _MSGID.findall(" ".join([mail.in_reply_to or "", *mail.references]))
    sender = check.address
    key = child_key(assessment.fields)
    by_thread = _case_by_thread(thread_ids)
    if by_thread is not None and _may_join_thread(by_thread, sender, key):
        return by_thread, "thread"
    by_reference = _case_by_reference(message.subject or "", sender, config)
    if by_reference is not None:
        return by_reference, "reference"
    if sender and key:
        since = timezone.now() - timedelta(days=config.cases.resubmission_window_days)
        found = (
            Referral.objects.filter(referrer_email=sender, child_key=key, created__gte=since)
            .exclude(status=Referral.Status.CLOSED)
            .order_by("-created")
            .first()
        )
        if found is not None:
            return found, "referrer_and_child"
    return None, ""


def _case_by_thread(thread_ids: list[str]) -> Referral | None:
    if not thread_ids:
        return None
    reply = (
        OutboundEmail.objects.filter(rfc_message_id__in=thread_ids, referral__isnull=False)
        .select_related("referral")
        .order_by("-created")
        .first()
    )
    if reply is not None:
        found: Referral | None = reply.referral
        return found
    bare = [t.strip("<>") for t in thread_ids]
    submission = (
        Submission.objects.filter(message__message_id__in=bare)
        .select_related("referral")
        .order_by("-created")
        .first()
    )
    return submission.referral if submission is not None else None


def _may_join_thread(referral: Referral, sender: str, key: str) -> bool:
    """True when a message in ``referral``'s thread may join it.

    Everyone copied on a thread can reply in it: only the case's referrer, or
    a form for the same child, joins the case.  A colleague's form for another
    child must not replace this case's answers, nor be acknowledged with this
    case's reference; it is a case of its own.
    """
    if sender and sender == referral.referrer_email:
        return True
    return bool(key) and key == referral.child_key


def _case_by_reference(subject: str, sender: str, config: IntakeConfig) -> Referral | None:
    prefix = re.escape(config.service.reference_prefix)
    match = re.search(rf"\b({prefix}-\d{{4}}-\d{{4,}})\b", subject, re.IGNORECASE)
    if match is None or not sender:
        return None
    return Referral.objects.filter(reference=match.group(1).upper(), referrer_email=sender).first()


def allocate_reference(prefix: str, year: int) -> tuple[str, int]:
    """The next reference of ``year`` (``WSP-2026-0007``), inside the caller's transaction.

    The counter row is incremented with ``UPDATE ... SET last = last + 1``,
    which holds the row lock until commit (PostgreSQL) or runs under the
    database write lock (SQLite, IMMEDIATE transactions), so two workers never
    get the same number; `Referral.reference` is unique as well.
    """
    ReferenceCounter.objects.get_or_create(prefix=prefix, year=year)
    ReferenceCounter.objects.filter(prefix=prefix, year=year).update(last=F("last") + 1)
    sequence = ReferenceCounter.objects.get(prefix=prefix, year=year).last
    return f"{prefix}-{year}-{sequence:04d}", sequence


STATUS_FOR: dict[str, str] = {
    Decision.ACCEPTED: Referral.Status.ACCEPTED,
    Decision.INCOMPLETE: Referral.Status.AWAITING_RESUBMISSION,
    Decision.NEEDS_REVIEW: Referral.Status.NEEDS_REVIEW,
}


def _open_case(
    message: InboundMessage, assessment: Assessment, config: IntakeConfig, sender: Sender
) -> Referral:
    received = _received_on(message, assessment)
    reference, sequence = allocate_reference(config.service.reference_prefix, received.year)
    referral = Referral.objects.create(
        reference=reference,
        year=received.year,
        sequence=sequence,
        form_type=assessment.form_type or "",
        status=STATUS_FOR[assessment.decision],
        fields=safe_for_db(assessment.fields),
        sources=safe_for_db(assessment.sources),
        missing=assessment.missing,
        invalid=safe_for_db(assessment.invalid),
        flags=assessment.flags,
        referrer_email=sender.address,
        child_key=child_key(assessment.fields),
        received_on=received,
        rapid_review_due=_due(assessment),
    )
    _add_submission(referral, message, assessment, Submission.Kind.FIRST, "", sender, "")
    audit.record(None, Verb.REFERRAL_OPENED, audit.REFERRAL, referral.pk, status=referral.status)
    return referral


def _received_on(message: InboundMessage, assessment: Assessment) -> date:
    if assessment.received_on:
        return date.fromisoformat(assessment.received_on)
    if message.received_at is not None:
        return timezone.localdate(message.received_at)
    return timezone.localdate()


def _due(assessment: Assessment) -> date | None:
    value = assessment.deadlines.get("rapid_review_due")
    return date.fromisoformat(value) if value else None


def _join_case(
    referral: Referral,
    message: InboundMessage,
    assessment: Assessment,
    matched_by: str,
    sender: Sender,
) -> None:
    """Add ``message`` to ``referral``; only a trusted, usable form updates the case.

    Every submission keeps its own answers; the case's answers are those of
    its latest submission allowed to change it.  A message from a sender our
    mail server did not authenticate, from anyone but the case's referrer, or
    whose display name holds another address never changes the case: it is
    held (`Submission.Held`) for a person to compare, and the case goes to
    needs review (issue 8).  An accepted case is not put back to "awaiting"
    by a later, worse form; a closed case stays closed; the Rapid Review
    date never moves later.
    """
    has_form = bool(assessment.form_type)
    kind = Submission.Kind.RESUBMISSION if has_form else Submission.Kind.FOLLOW_UP
    held = held_reason(referral, assessment, sender)
    _add_submission(referral, message, assessment, kind, matched_by, sender, held)
    if held in UNTRUSTED:
        Referral.objects.filter(pk=referral.pk).exclude(status=Referral.Status.CLOSED).update(
            status=Referral.Status.NEEDS_REVIEW, updated=timezone.now()
        )
        referral.refresh_from_db()
        log.warning("submission_held", referral_id=referral.pk, held=held)
    elif not held and has_form:
        _update_case(referral, assessment)
    audit.record(
        None, Verb.REFERRAL_JOINED, audit.REFERRAL, referral.pk,
        matched_by=matched_by, kind=kind, held=held,
    )  # fmt: skip


UNTRUSTED = {
    Submission.Held.UNAUTHENTICATED,
    Submission.Held.NOT_THE_REFERRER,
    Submission.Held.ADDRESS_IN_NAME,
}


def held_reason(referral: Referral, assessment: Assessment, sender: Sender) -> str:
    """Why this message may not change ``referral`` ("" when it may)."""
    if referral.status == Referral.Status.CLOSED:
        return Submission.Held.CLOSED
    if not sender.authenticated:
        return Submission.Held.UNAUTHENTICATED
    if sender.name_trick:
        return Submission.Held.ADDRESS_IN_NAME
    if not sender.address or sender.address != referral.referrer_email:
        return Submission.Held.NOT_THE_REFERRER
    if referral.status == Referral.Status.ACCEPTED and assessment.decision == Decision.INCOMPLETE:
        return Submission.Held.WORSE
    return Submission.Held.NO


def _update_case(referral: Referral, assessment: Assessment) -> None:
    if assessment.decision == Decision.NEEDS_REVIEW:
        referral.status = Referral.Status.NEEDS_REVIEW
    else:
        referral.status = STATUS_FOR[assessment.decision]
        referral.form_type = assessment.form_type or referral.form_type
        referral.fields = safe_for_db(assessment.fields)
        referral.sources = safe_for_db(assessment.sources)
        referral.missing = assessment.missing
        referral.invalid = safe_for_db(assessment.invalid)
        referral.flags = assessment.flags
        referral.child_key = child_key(assessment.fields) or referral.child_key
        due = _due(assessment)
        if due is not None and (
            referral.rapid_review_due is None or due < referral.rapid_review_due
        ):
            referral.rapid_review_due = due
    referral.save()


def _add_submission(
    referral: Referral,
    message: InboundMessage,
    assessment: Assessment,
    kind: str,
    matched_by: str,
    sender: Sender,
    held: str,
) -> None:
    Submission.objects.get_or_create(
        message=message,
        defaults={
            "referral": referral,
            "kind": kind,
            "decision": assessment.decision,
            "matched_by": matched_by,
            "missing": assessment.missing,
            "invalid": safe_for_db(assessment.invalid),
            "form_type": assessment.form_type or "",
            "fields": safe_for_db(assessment.fields),
            "sources": safe_for_db(assessment.sources),
            "authenticated": sender.authenticated,
            "held": held,
        },
    )


# --- replies -----------------------------------------------------------------


def _queue_reply(
    message: InboundMessage,
    assessment: Assessment,
    referral: Referral | None,
    config: IntakeConfig,
    sender: Sender,
) -> OutboundEmail | None:
    if assessment.reply is None:
        return None
    if Submission.objects.filter(message=message, held__in=UNTRUSTED).exists():
        # It changed nothing of the case it joined: a person compares it first, and
        # no automatic reply speaks of a case it did not change (issue 8).
        log.info("reply_held_with_submission", message_id=message.pk)
        return None
    recipient = assessment.reply.to.strip().lower()
    if not sender.authenticated and (sender.failed or recipient != sender.address):
        # A failed sender gets nothing, an unproven one nothing but a reply to its
        # own From address, whatever the assessment says (issue 8).
        log.warning("reply_refused_unauthenticated", message_id=message.pk)
        return None
    existing = OutboundEmail.objects.filter(message=message, kind=assessment.reply.kind).first()
    if existing is not None:
        return existing
    suppressed = over_sender_limit(recipient, config)
    return _store_reply(message, referral, assessment, config, sender, suppressed=suppressed)


def over_sender_limit(recipient: str, config: IntakeConfig, now: Any = None) -> bool:
    """True when ``recipient`` has had the hourly maximum of replies already.

    Every reply row in the last hour counts (pending, sent, failed...), except
    suppressed ones: a sender who keeps writing stays suppressed only until
    the hour has passed since the replies that really went out.  On SQLite
    decisions are serialised by the write lock, so the limit is exact; on
    PostgreSQL two workers deciding for one sender in the same instant could
    each see one reply fewer (at most one reply per extra worker over).
    """
    since = (now or timezone.now()) - timedelta(hours=1)
    recent = (
        OutboundEmail.objects.filter(recipient=recipient, created__gte=since)
        .exclude(state=OutboundEmail.State.SUPPRESSED)
        .count()
    )
    return bool(recent >= config.replies.max_per_sender_per_hour)


def _store_reply(
    message: InboundMessage,
    referral: Referral | None,
    assessment: Assessment,
    config: IntakeConfig,
    sender: Sender,
    *,
    suppressed: bool,
) -> OutboundEmail:
    assert assessment.reply is not None
    kind = assessment.reply.kind
    original = sender.mail.header_message()  # the stored parse's headers: never the raw bytes
    try:
        built = _build(message, original, assessment, referral, config, sender)
    except Exception as exc:  # a broken template must not lose the decision
        # The traceback's frames, not its message: exception text may quote the mail.
        log.error(
            "reply_not_rendered",
            message_id=message.pk,
            kind=kind,
            error=type(exc).__name__,
            traceback="".join(traceback.format_tb(exc.__traceback__)),
        )
        return _reply_row(message, referral, assessment, None, f"template: {type(exc).__name__}")
    outbound = _reply_row(message, referral, assessment, built, "", list(config.replies.bcc))
    if suppressed:
        OutboundEmail.objects.filter(pk=outbound.pk).update(
            state=OutboundEmail.State.SUPPRESSED,
            last_error=f"per-sender limit: {config.replies.max_per_sender_per_hour} an hour",
        )
        outbound.refresh_from_db()
    verb = Verb.REPLY_SUPPRESSED if suppressed else Verb.REPLY_QUEUED
    audit.record(None, verb, audit.REPLY, outbound.pk, kind=kind, message=message.pk)
    return outbound


def _reply_row(
    message: InboundMessage,
    referral: Referral | None,
    assessment: Assessment,
    built: email.message.EmailMessage | None,
    error: str,
    bcc: list[str] | None = None,
) -> OutboundEmail:
    assert assessment.reply is not None
    if built is None:
        from intake.replies import new_message_id

        return OutboundEmail.objects.create(
            message=message,
            referral=referral,
            kind=assessment.reply.kind,
            recipient=assessment.reply.to.strip().lower(),
            subject="",
            raw=b"",
            rfc_message_id=new_message_id("unsent.invalid"),
            state=OutboundEmail.State.FAILED,
            last_error=error,
        )
    text_part = built.get_body(preferencelist=("plain",))
    html_part = built.get_body(preferencelist=("html",))
    return OutboundEmail.objects.create(
        message=message,
        referral=referral,
        kind=assessment.reply.kind,
        recipient=assessment.reply.to.strip().lower(),
        subject=str(built["Subject"]),
        body_text=text_part.get_content() if text_part is not None else "",
        body_html=html_part.get_content() if html_part is not None else "",
        raw=built.as_bytes(),
        bcc=list(bcc or []),
        rfc_message_id=str(built["Message-ID"]),
        in_reply_to=str(built.get("In-Reply-To") or ""),
        next_attempt_at=timezone.now(),
    )


def _build(
    message: InboundMessage,
    original: email.message.Message,
    assessment: Assessment,
    referral: Referral | None,
    config: IntakeConfig,
    sender: Sender,
) -> email.message.EmailMessage:
    assert assessment.reply is not None
    kind = assessment.reply.kind
    # The form goes back only to the authenticated person who sent it (issue 8):
    # a colleague named in Reply-To gets the list of questions, not the file.
    to_sender = sender.authenticated and assessment.reply.to.strip().lower() == sender.address
    attachment = (
        _form_attachment(message, assessment, config)
        if kind == ReplyKind.INCOMPLETE_RETURN and to_sender
        else None
    )
    context = reply_context(assessment, referral, config, original_subject=message.subject or "")
    context.attached_form = attachment.filename if attachment else None
    rendered = render_reply(kind, context, config)
    return build_reply_message(
        original,
        rendered,
        config,
        to=assessment.reply.to,
        reference=referral.reference if referral else None,
        names=child_names(assessment.fields),
        attachment=attachment,
    )


def reply_context(
    assessment: Assessment,
    referral: Referral | None,
    config: IntakeConfig,
    *,
    original_subject: str = "",
) -> ReplyContext:
    """What the reply templates see, from an assessment and its case."""
    schema = _schema(assessment.form_type, config)
    due = referral.rapid_review_due if referral is not None else _due(assessment)
    return ReplyContext(
        service_name=config.replies.from_name or config.service.name,
        original_subject=original_subject,
        reference=referral.reference if referral else None,
        form_title=schema.title if schema else None,
        sections=problems_by_section(
            schema,
            assessment.missing,
            assessment.invalid,
            (assessment.evidence or {}).get("asked_as"),
        )
        if schema
        else [],
        rapid_review_due=due,
        unreadable=[
            UnreadableAttachment(e.get("filename") or "attachment", unreadable_reason(e["reason"]))
            for e in assessment.attachment_errors
            if e.get("document", "yes") == "yes"
        ],
    )


def _schema(form_type: str | None, config: IntakeConfig) -> Any:
    if not form_type:
        return None
    from intake.assess import schemas_in

    return schemas_in(str(config.forms_dir)).get(form_type)


def _form_attachment(
    message: InboundMessage, assessment: Assessment, config: IntakeConfig
) -> FormAttachment | None:
    if not config.replies.attach_form_to_return or not assessment.form_attachment:
        return None
    name = assessment.form_attachment
    mine = Attachment.objects.filter(message=message).order_by("index", "pk")
    stored = (
        mine.filter(filename=name, parse_status="read").first()
        or mine.filter(filename=name).first()
        or mine.filter(path__endswith=name).first()
    )
    if stored is None:
        log.warning("form_attachment_not_stored", message_id=message.pk)
        return None
    return FormAttachment(
        filename=stored.filename or name,
        content_type=stored.media_type or "application/octet-stream",
        data=bytes(stored.data),
    )
