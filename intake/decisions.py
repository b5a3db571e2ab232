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
  within ``config.cases.resubmission_window_days``;
* writes the reply as an `OutboundEmail` row, exactly as it will be sent,
  or as ``suppressed`` when the referrer has already had
  ``config.replies.max_per_sender_per_hour`` replies in the last hour;
* appends `AuditEvent` rows (ids and codes only).

Sending happens later, in `intake.outbox.send_due`: a crash between the
decision and the send loses nothing, because the row is already committed.
"""

from __future__ import annotations

import email
import email.message
import email.policy
import hashlib
import re
import traceback
from collections.abc import Mapping
from dataclasses import asdict
from datetime import date, timedelta
from typing import Any

import structlog
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from intake.assess import Assessment
from intake.models import (
    Attachment,
    AuditEvent,
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

log = structlog.get_logger(__name__)

CASE_DECISIONS = {"accepted", "incomplete", "needs_review"}
_MSGID = re.compile(r"<[^<>\s]+>")


def apply_assessment(message: InboundMessage, assessment: Assessment, config: Any) -> None:
    """Record ``assessment`` for ``message``: decision, case, reply row, audit.

    Idempotent: when the message has already been decided, nothing is
    written.  Raises only database errors (the transaction then rolls back
    and nothing of it is kept); a reply template that fails to render is
    stored as a ``failed`` row for a person, not raised.
    """
    with transaction.atomic():
        if not _mark_decided(message, assessment):
            log.info("decision_already_recorded", message_id=message.pk)
            return
        referral = _file_case(message, assessment, config)
        outbound = _queue_reply(message, assessment, referral, config)
    log.info(
        "message_decided",
        message_id=message.pk,
        decision=assessment.decision,
        referral_id=referral.pk if referral else None,
        outbound_id=outbound.pk if outbound else None,
    )


def _mark_decided(message: InboundMessage, assessment: Assessment) -> bool:
    """Record the decision on the message (compare-and-set on an empty decision).

    The message's *state* is the pipeline's to change (``intake.pipeline.
    step_decide`` moves it to ``decided`` in this same transaction); the
    decision column is the guard that makes a second call a no-op.
    """
    updated = InboundMessage.objects.filter(pk=message.pk, decision="").update(
        decision=assessment.decision,
        assessment=asdict(assessment),
        updated=timezone.now(),
    )
    if updated != 1:
        return False
    message.decision = assessment.decision
    message.assessment = asdict(assessment)
    _audit("message_decided", "inbound_message", message.pk, decision=assessment.decision)
    return True


def _audit(verb: str, object_type: str, object_id: Any, **detail: Any) -> None:
    AuditEvent.objects.create(
        verb=verb, object_type=object_type, object_id=str(object_id), detail=detail
    )


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


def _file_case(message: InboundMessage, assessment: Assessment, config: Any) -> Referral | None:
    if assessment.decision not in CASE_DECISIONS:
        return None  # ignored: never joins a case (an out-of-office threads to our reply)
    found, matched_by = find_case(message, assessment, config)
    if found is not None:
        _join_case(found, message, assessment, matched_by)
        return found
    if not assessment.form_type:
        return None  # no form and no case: the message itself waits for a person
    return _open_case(message, assessment, config)


def find_case(
    message: InboundMessage, assessment: Assessment, config: Any
) -> tuple[Referral | None, str]:
    """The case ``message`` belongs to, and how it was matched ("" when none)."""
    headers = _headers(message)
    thread_ids = _MSGID.findall(f"{headers.get('In-Reply-To', '')} {headers.get('References', '')}")
    sender = (message.sender or "").strip().lower()
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


def _headers(message: InboundMessage) -> email.message.Message:
    raw = bytes(message.raw or b"")
    return email.message_from_bytes(raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0])


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


def _case_by_reference(subject: str, sender: str, config: Any) -> Referral | None:
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


STATUS_FOR = {
    "accepted": Referral.Status.ACCEPTED,
    "incomplete": Referral.Status.AWAITING_RESUBMISSION,
    "needs_review": Referral.Status.NEEDS_REVIEW,
}


def _open_case(message: InboundMessage, assessment: Assessment, config: Any) -> Referral:
    received = _received_on(message, assessment)
    reference, sequence = allocate_reference(config.service.reference_prefix, received.year)
    referral = Referral.objects.create(
        reference=reference,
        year=received.year,
        sequence=sequence,
        form_type=assessment.form_type or "",
        status=STATUS_FOR[assessment.decision],
        fields=assessment.fields,
        sources=assessment.sources,
        missing=assessment.missing,
        invalid=assessment.invalid,
        flags=assessment.flags,
        referrer_email=(message.sender or "").strip().lower(),
        child_key=child_key(assessment.fields),
        received_on=received,
        rapid_review_due=_due(assessment),
    )
    _add_submission(referral, message, assessment, Submission.Kind.FIRST, "")
    _audit("referral_opened", "referral", referral.pk, status=referral.status)
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
    referral: Referral, message: InboundMessage, assessment: Assessment, matched_by: str
) -> None:
    """Add ``message`` to ``referral``; a usable form updates the case's answers.

    A form replaces the case's answers only when it is at least as good: an
    accepted case is not put back to "awaiting" by a later, worse form, a
    sender who failed DMARC never rewrites a case, and a closed case stays
    closed.  The Rapid Review date never moves later.
    """
    has_form = bool(assessment.form_type)
    kind = Submission.Kind.RESUBMISSION if has_form else Submission.Kind.FOLLOW_UP
    _add_submission(referral, message, assessment, kind, matched_by)
    if referral.status != Referral.Status.CLOSED and has_form:
        _update_case(referral, assessment)
    _audit("referral_joined", "referral", referral.pk, matched_by=matched_by, kind=kind)


def _update_case(referral: Referral, assessment: Assessment) -> None:
    if assessment.decision == "needs_review":
        referral.status = Referral.Status.NEEDS_REVIEW
    elif not (referral.status == Referral.Status.ACCEPTED and assessment.decision == "incomplete"):
        referral.status = STATUS_FOR[assessment.decision]
        referral.form_type = assessment.form_type or referral.form_type
        referral.fields = assessment.fields
        referral.sources = assessment.sources
        referral.missing = assessment.missing
        referral.invalid = assessment.invalid
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
) -> None:
    Submission.objects.get_or_create(
        message=message,
        defaults={
            "referral": referral,
            "kind": kind,
            "decision": assessment.decision,
            "matched_by": matched_by,
            "missing": assessment.missing,
            "invalid": assessment.invalid,
        },
    )


# --- replies -----------------------------------------------------------------


def _queue_reply(
    message: InboundMessage,
    assessment: Assessment,
    referral: Referral | None,
    config: Any,
) -> OutboundEmail | None:
    if assessment.reply is None:
        return None
    recipient = assessment.reply.to.strip().lower()
    existing = OutboundEmail.objects.filter(message=message, kind=assessment.reply.kind).first()
    if existing is not None:
        return existing
    if over_sender_limit(recipient, config):
        return _store_reply(message, referral, assessment, config, suppressed=True)
    return _store_reply(message, referral, assessment, config, suppressed=False)


def over_sender_limit(recipient: str, config: Any, now: Any = None) -> bool:
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
    config: Any,
    *,
    suppressed: bool,
) -> OutboundEmail:
    assert assessment.reply is not None
    kind = assessment.reply.kind
    original = email.message_from_bytes(bytes(message.raw or b""), policy=email.policy.compat32)
    try:
        built = _build(message, original, assessment, referral, config)
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
    verb = "reply_suppressed" if suppressed else "reply_queued"
    _audit(verb, "outbound_email", outbound.pk, kind=kind, message=message.pk)
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
    config: Any,
) -> email.message.EmailMessage:
    assert assessment.reply is not None
    kind = assessment.reply.kind
    attachment = (
        _form_attachment(message, assessment, config) if kind == "incomplete_return" else None
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
    assessment: Assessment, referral: Referral | None, config: Any, *, original_subject: str = ""
) -> ReplyContext:
    """What the reply templates see, from an assessment and its case."""
    schema = _schema(assessment.form_type, config)
    due = referral.rapid_review_due if referral is not None else _due(assessment)
    return ReplyContext(
        service_name=config.replies.from_name or config.service.name,
        original_subject=original_subject,
        reference=referral.reference if referral else None,
        form_title=schema.title if schema else None,
        sections=problems_by_section(schema, assessment.missing, assessment.invalid)
        if schema
        else [],
        rapid_review_due=due,
        unreadable=[
            UnreadableAttachment(e.get("filename") or "attachment", unreadable_reason(e["reason"]))
            for e in assessment.attachment_errors
            if e.get("document", "yes") == "yes"
        ],
    )


def _schema(form_type: str | None, config: Any) -> Any:
    if not form_type:
        return None
    from intake.assess import schemas_in

    return schemas_in(str(config.forms_dir)).get(form_type)


def _form_attachment(
    message: InboundMessage, assessment: Assessment, config: Any
) -> FormAttachment | None:
    if not config.replies.attach_form_to_return or not assessment.form_attachment:
        return None
    name = assessment.form_attachment
    stored = (
        Attachment.objects.filter(message=message, filename=name).order_by("pk").first()
        or Attachment.objects.filter(message=message, path__endswith=name).order_by("pk").first()
    )
    if stored is None:
        log.warning("form_attachment_not_stored", message_id=message.pk)
        return None
    return FormAttachment(
        filename=stored.filename or name,
        content_type=stored.media_type or "application/octet-stream",
        data=bytes(stored.data),
    )
