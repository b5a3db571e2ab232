"""The partnership team's own emails (issue 12), through the outbox so each goes once.

* one per new accepted referral: its reference, form, received and Rapid Review dates,
  and a link to the case;
* one per message that needs a person: the message's number, why, and a link;
* a digest every day at ``[notifications] digest_at``: what is overdue, due within
  three working days, waiting for a person or for a referrer.

Never a child's name, nor anything the referrer wrote (a subject may hold a name):
references, form names, dates, counts and links.  Each is an `OutboundEmail` row
(kinds ``team_*``) written in the transaction of what caused it, sent by
`intake.outbox.send_due` at most once.  The database keeps them single: one per
(message, kind), and one digest a day by its Message-ID.  Nothing is sent when
``[notifications] to`` is empty.
"""

from __future__ import annotations

import email.policy
import email.utils
from collections.abc import Sequence
from datetime import date, datetime, time
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import structlog
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from intake import audit, questions
from intake.deadlines import add_working_days
from intake.models import CaseStep, InboundMessage, OutboundEmail, Referral, Submission

if TYPE_CHECKING:
    from intake.config import IntakeConfig

log = structlog.get_logger(__name__)

Kind = OutboundEmail.Kind
DUE_SOON_WORKING_DAYS = 3


def on_decision(message: InboundMessage, referral: Referral | None, config: IntakeConfig) -> None:
    """Called by `intake.decisions.apply_assessment` inside its transaction."""
    if not config.notifications.to:
        return
    if referral is not None and referral.status == Referral.Status.ACCEPTED:
        new_referral(message, referral, config)
    if message.decision == InboundMessage.Decision.NEEDS_REVIEW:
        needs_person(message, referral, config)


def new_referral(
    message: InboundMessage, referral: Referral, config: IntakeConfig
) -> OutboundEmail | None:
    """Tell the team of an accepted referral, once per case."""
    told = OutboundEmail.objects.filter(
        kind=Kind.TEAM_NEW_REFERRAL,
        message_id__in=Submission.objects.filter(referral=referral).values("message_id"),
    )
    if told.exists():
        return None
    form = questions.short_form_name(referral.form_type)
    due = _long(referral.rapid_review_due) if referral.rapid_review_due else "not known"
    subject = f"New referral {referral.reference}: {form}, Rapid Review due {due}"
    lines = [
        f"A new referral has been accepted: {referral.reference}.",
        "",
        f"Form: {form}",
        f"Received: {_long(referral.received_on) if referral.received_on else 'not known'}",
        f"Rapid Review due: {due}",
        "",
        f"Open the case: {_link(config, f'/cases/{referral.reference}/')}",
    ]
    return _queue(Kind.TEAM_NEW_REFERRAL, message, subject, lines, config)


def needs_person(
    message: InboundMessage, referral: Referral | None, config: IntakeConfig
) -> OutboundEmail | None:
    """Tell the team a message needs a person, once per message."""
    if OutboundEmail.objects.filter(kind=Kind.TEAM_NEEDS_PERSON, message=message).exists():
        return None
    where = f"case {referral.reference}" if referral is not None else f"message {message.pk}"
    lines = [
        f"A message needs a person: message {message.pk}"
        + (f", in case {referral.reference}." if referral is not None else "."),
        "",
        f"Why: {_why(message)}",
        "",
        f"Open it: {_link(config, f'/messages/{message.pk}/')}",
    ]
    subject = f"Needs a person: {where}"
    return _queue(Kind.TEAM_NEEDS_PERSON, message, subject, lines, config)


def on_rule(message: InboundMessage, rule: Any, config: IntakeConfig) -> OutboundEmail | None:
    """A mailbox rule's ``notify`` (issue 11): one email per message to the addresses it
    names (the partnership's own domains: `intake.rules` refuses any other), once.

    The rule's name, what it did and a link: never the sender, the subject or a name.
    """
    stored = rule or {}
    to = [str(a) for a in stored.get("notify") or []]
    if not to or OutboundEmail.objects.filter(kind=Kind.TEAM_RULE_NOTICE, message=message):
        return None
    name = str(stored.get("name") or "")
    subject = f"Mailbox rule {name}: message {message.pk}"
    lines = [
        f"Message {message.pk} matched the mailbox rule {name!r}: {stored.get('does') or ''}.",
        "",
        f"Open it: {_link(config, f'/messages/{message.pk}/')}",
    ]
    built = _email(subject, lines, config)
    del built["To"]
    built["To"] = to[0]
    row = OutboundEmail.objects.create(
        message=message,
        kind=Kind.TEAM_RULE_NOTICE,
        recipient=to[0].lower(),
        bcc=[a.lower() for a in to[1:]],
        subject=subject,
        body_text=built.get_content(),
        raw=built.as_bytes(),
        rfc_message_id=str(built["Message-ID"]),
        next_attempt_at=timezone.now(),
    )
    audit.record(None, audit.Verb.TEAM_NOTIFIED, audit.REPLY, row.pk, kind=Kind.TEAM_RULE_NOTICE)
    return row


def _why(message: InboundMessage) -> str:
    from intake.casework import reason_words

    return reason_words(message.reason_code)


def _queue(
    kind: str, message: InboundMessage | None, subject: str, lines: list[str], config: IntakeConfig
) -> OutboundEmail:
    built = _email(subject, lines, config)
    to = list(config.notifications.to)
    row = OutboundEmail.objects.create(
        message=message,
        kind=kind,
        recipient=to[0].lower(),
        bcc=[a.lower() for a in to[1:]],
        subject=subject,
        body_text=built.get_content(),
        raw=built.as_bytes(),
        rfc_message_id=str(built["Message-ID"]),
        next_attempt_at=timezone.now(),
    )
    audit.record(None, audit.Verb.TEAM_NOTIFIED, audit.REPLY, row.pk, kind=kind)
    return row


def _email(
    subject: str, lines: list[str], config: IntakeConfig, message_id: str | None = None
) -> EmailMessage:
    from intake.replies import new_message_id

    msg = EmailMessage(policy=email.policy.SMTP)
    msg["From"] = email.utils.formataddr((config.replies.from_name, config.replies.from_address))
    msg["To"] = ", ".join(config.notifications.to[:1])
    msg["Subject"] = subject
    msg["Date"] = email.utils.format_datetime(timezone.now())
    msg["Message-ID"] = message_id or new_message_id(
        config.service.message_id_domain, config.service.reference_prefix
    )
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834 §5: not a reply to anyone
    msg["X-Auto-Response-Suppress"] = "All"
    msg.set_content("\n".join(lines) + "\n")
    return msg


def _link(config: IntakeConfig, path: str) -> str:
    return str(config.web.base_url).rstrip("/") + path


def _long(day: date) -> str:
    return f"{day:%A} {day.day} {day:%B %Y}"


# --- the daily digest ------------------------------------------------------------------------


def digest_due(config: IntakeConfig, now: datetime) -> date | None:
    """The day whose digest is due at ``now`` (local time), or None (none configured,
    or not yet the time)."""
    if not config.notifications.to or not config.notifications.digest_at:
        return None
    local = now.astimezone(ZoneInfo(config.service.timezone))
    hour, minute = (int(p) for p in config.notifications.digest_at.split(":"))
    return local.date() if local.time() >= time(hour, minute) else None


def queue_digest(config: IntakeConfig, now: datetime | None = None) -> OutboundEmail | None:
    """Today's digest once it is time, at most once a day whatever the number of workers:
    its Message-ID is the day's, and Message-IDs are unique."""
    now = now or timezone.now()
    day = digest_due(config, now)
    if day is None:
        return None
    message_id = f"<digest-{day.isoformat()}@{config.service.message_id_domain}>"
    if OutboundEmail.objects.filter(rfc_message_id=message_id).exists():
        return None
    subject, lines = digest_text(day, config)
    built = _email(subject, lines, config, message_id=message_id)
    to = list(config.notifications.to)
    try:
        with transaction.atomic():
            row = OutboundEmail.objects.create(
                message=None,
                kind=Kind.TEAM_DIGEST,
                recipient=to[0].lower(),
                bcc=[a.lower() for a in to[1:]],
                subject=subject,
                body_text=built.get_content(),
                raw=built.as_bytes(),
                rfc_message_id=message_id,
                next_attempt_at=timezone.now(),
            )
            audit.record(None, audit.Verb.TEAM_NOTIFIED, audit.REPLY, row.pk, kind=Kind.TEAM_DIGEST)
    except IntegrityError:  # another worker queued today's at the same moment
        return None
    return row


def digest_text(day: date, config: IntakeConfig) -> tuple[str, list[str]]:
    """The digest of ``day``: references and dates only."""
    held = CaseStep.objects.filter(referral=OuterRef("pk"), kind=CaseStep.Kind.RAPID_REVIEW_HELD)
    open_cases = (
        Referral.objects.filter(status=Referral.Status.ACCEPTED, rapid_review_due__isnull=False)
        .annotate(held=Exists(held))
        .filter(held=False)
        .order_by("rapid_review_due", "reference")
    )
    soon_by = add_working_days(day, DUE_SOON_WORKING_DAYS)
    overdue = [r for r in open_cases if r.rapid_review_due and r.rapid_review_due < day]
    soon = [r for r in open_cases if r.rapid_review_due and day <= r.rapid_review_due <= soon_by]
    needs_review = Referral.objects.filter(status=Referral.Status.NEEDS_REVIEW).count()
    waiting = Referral.objects.filter(status=Referral.Status.AWAITING_RESUBMISSION).count()
    lines = [f"Referrals on {_long(day)}.", ""]
    lines += _section("Rapid Review overdue", overdue)
    lines += _section("Rapid Review due within 3 working days", soon)
    lines += [
        f"Cases needing a person: {needs_review}",
        f"Returned and waiting for the referrer: {waiting}",
        "",
        f"Open the referrals: {_link(config, '/')}",
    ]
    subject = f"Referrals digest {day:%d %b %Y}: {len(overdue)} overdue, {len(soon)} due soon"
    return subject, lines


def _section(title: str, cases: Sequence[Referral]) -> list[str]:
    if not cases:
        return [f"{title}: none", ""]
    rows = [
        f"  {r.reference}: due {_long(r.rapid_review_due)}" for r in cases if r.rapid_review_due
    ]
    return [f"{title} ({len(cases)}):", *rows, ""]


def tend(config: IntakeConfig) -> None:
    """The worker's half-minute round: queue today's digest when it is time, and send."""
    if queue_digest(config) is not None:
        from intake.outbox import send_due

        send_due(config)
