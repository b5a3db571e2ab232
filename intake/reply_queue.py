"""The reply to a message, written as an `OutboundEmail` row exactly as it will be sent.

`queue_reply` runs inside `intake.decisions.apply_assessment`'s transaction:
the row is committed with the decision, or not at all, and `intake.outbox`
sends it later, at most once.  Only to the sender of the message (issue 8),
never more than ``replies.max_per_sender_per_hour`` an hour to one address.
"""

from __future__ import annotations

import email.message
import traceback
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import structlog
from django.utils import timezone

from intake import audit
from intake.assess import Assessment
from intake.audit import Verb
from intake.models import (
    Attachment,
    InboundMessage,
    OutboundEmail,
    Referral,
)
from intake.replies import (
    FormAttachment,
    ReplyContext,
    UnreadableAttachment,
    build_reply_message,
    child_names,
    problems_by_section,
    render_reply,
    unreadable_reason,
)
from intake.senders import UNTRUSTED, Sender
from intake.vocabulary import ReplyKind

if TYPE_CHECKING:
    from intake.config import IntakeConfig

log = structlog.get_logger(__name__)


def queue_reply(
    message: InboundMessage,
    assessment: Assessment,
    referral: Referral | None,
    config: IntakeConfig,
    sender: Sender,
    held: str,
) -> OutboundEmail | None:
    """Write the reply to ``message`` (once), or None when none is sent.

    ``held`` is why the submission the message made to its case, in the same
    transaction, is held ("" when it is not, or when it joined no case).
    """
    if assessment.reply is None:
        return None
    if held in UNTRUSTED:
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
    due = referral.rapid_review_due if referral is not None else due_date(assessment)
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


def due_date(assessment: Assessment) -> date | None:
    """The Rapid Review's due date the assessment worked out, if any."""
    value = assessment.deadlines.get("rapid_review_due")
    return date.fromisoformat(value) if value else None
