"""A failed sign-in is an alarm, not a log line.

Three things happen while a mailbox cannot sign in (`MailboxAlarm`, one row
per mailbox and kind, raised and cleared by compare-and-set):

- ``/healthz`` fails and names the mailbox and since when (`intake.health`);
- every page of the review site shows a banner (`intake.health.alarm_banner`);
- the administrators in ``[alerts] to`` get an alert email, at most once in
  ``alerts.repeat_hours`` while it lasts, and one more when it is over.

Alerts go through ``[alerts.smtp]`` when it is configured: a route that does
not depend on the sign-in that failed (a council relay, say), since the
broken sign-in may be the very one replies are sent with.  Without it they go
the way replies go (SMTP, or ``.eml`` files in the outbox folder).  Each
alert is a row sent at most once, as replies are (`intake.outbox`):
``pending`` -> ``sending`` (committed before DATA) -> ``sent``; a crash in
between leaves it ``uncertain``, never resent.

A client secret (or certificate) that expires within
``alerts.expiry_warning_days`` of ``client_secret_expires`` is an alarm of
its own (``secret_expiring``): banner and a weekly alert, the health page
still 200.  The certificate's own expiry date counts when none is configured.

Nothing personal is stored or sent: mailbox names, reason codes, and the
server's or Microsoft's words about what to fix.
"""

from __future__ import annotations

import contextlib
import os
import smtplib
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid
from pathlib import Path
from typing import Any

import structlog
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from intake.config import IntakeConfig, MailboxConfig
from intake.errors import IntakeError
from intake.mailbox.base import SIGN_IN_FAULTS, Fault
from intake.models import AlertEmail, MailboxAlarm

log = structlog.get_logger(__name__)
Kind = MailboxAlarm.Kind
REPLIES_ROUTE = "smtp"  # the alarm name of the replies' SMTP sign-in
EXPIRY_REASON = "secret_expires"
EXPIRY_REPEAT = timedelta(days=7)
ALERT_LEASE = timedelta(minutes=5)
MAX_ALERT_ATTEMPTS = 5


# -- raising and clearing ----------------------------------------------------------
def raise_alarm(mailbox: str, kind: str, reason: str, detail: str = "") -> MailboxAlarm:
    """Raise (or keep up) the alarm; ``since`` stays the start of this spell."""
    now = timezone.now()
    alarm = _row(mailbox, kind, reason, detail, now)
    started = MailboxAlarm.objects.filter(pk=alarm.pk, cleared_at__isnull=False).update(
        since=now, cleared_at=None, alerted_at=None, reason=reason, detail=detail[:300]
    )
    if started:
        log.warning("alarm_raised", mailbox=mailbox, kind=kind, error_code=reason)
    else:
        MailboxAlarm.objects.filter(pk=alarm.pk).update(
            last_seen_at=now, reason=reason, detail=detail[:300]
        )
    alarm.refresh_from_db()
    return alarm


def _row(mailbox: str, kind: str, reason: str, detail: str, now: datetime) -> MailboxAlarm:
    """The alarm's row, created active on first use (a race: the other's row stands)."""
    try:
        with transaction.atomic():
            alarm, created = MailboxAlarm.objects.get_or_create(
                mailbox=mailbox,
                kind=kind,
                defaults={"reason": reason, "detail": detail[:300], "since": now,
                          "last_seen_at": now},
            )  # fmt: skip
    except IntegrityError:
        return MailboxAlarm.objects.get(mailbox=mailbox, kind=kind)
    if created:
        log.warning("alarm_raised", mailbox=mailbox, kind=kind, error_code=reason)
    return alarm


def clear_alarm(mailbox: str, kind: str) -> bool:
    """End the alarm if it is up; True when this call ended it.  An administrator
    who was alerted hears that it is over."""
    now = timezone.now()
    alarm = MailboxAlarm.objects.filter(mailbox=mailbox, kind=kind, cleared_at__isnull=True).first()
    if alarm is None:
        return False
    ended = MailboxAlarm.objects.filter(pk=alarm.pk, cleared_at__isnull=True).update(cleared_at=now)
    if ended:
        log.info("alarm_cleared", mailbox=mailbox, kind=kind)
        if alarm.alerted_at is not None:
            alarm.cleared_at = now
            _queue_alert(alarm, AlertEmail.Kind.CLEARED)
    return bool(ended)


def sign_in_failed(mailbox: str, reason: str, detail: str = "") -> MailboxAlarm:
    return raise_alarm(mailbox, Kind.SIGN_IN_FAILED, reason, detail)


def sign_in_ok(mailbox: str) -> bool:
    return clear_alarm(mailbox, Kind.SIGN_IN_FAILED)


def note_poll(mailbox: str, error: str, detail: str = "") -> bool:
    """After a poll (or an IDLE connection): raise the sign-in alarm for a sign-in
    fault, clear it after a success.  Other faults (the server unreachable) say
    nothing about the sign-in and leave it as it is.  True when the alarm changed."""
    if error in SIGN_IN_FAULTS:
        before = MailboxAlarm.objects.filter(
            mailbox=mailbox, kind=Kind.SIGN_IN_FAILED, cleared_at__isnull=True
        ).exists()
        sign_in_failed(mailbox, error, detail)
        return not before
    if not error:
        return sign_in_ok(mailbox)
    return False


def active_alarms() -> list[MailboxAlarm]:
    return list(MailboxAlarm.objects.filter(cleared_at__isnull=True).order_by("since", "pk"))


# -- secrets about to expire ---------------------------------------------------------
def secret_expires(mailbox: MailboxConfig) -> date | None:
    """The configured expiry date, or the client certificate's own."""
    if mailbox.client_secret_expires is not None:
        return mailbox.client_secret_expires
    if mailbox.auth == "oauth2" and mailbox.client_certificate:
        from intake.mailbox.oauth import certificate_expires

        return certificate_expires(mailbox)
    return None


def check_secret_expiry(config: IntakeConfig, today: date | None = None) -> None:
    """Raise or clear each OAuth2 mailbox's ``secret_expiring`` alarm."""
    today = today or timezone.localdate()
    warn = timedelta(days=config.alerts.expiry_warning_days)
    for mailbox in config.mailboxes:
        expires = secret_expires(mailbox) if mailbox.auth == "oauth2" else None
        if expires is not None and today >= expires - warn:
            days = (expires - today).days
            when = f"in {days} days" if days > 0 else "today" if days == 0 else "already"
            detail = f"the app's client secret expires on {expires.isoformat()} ({when})"
            raise_alarm(mailbox.name, Kind.SECRET_EXPIRING, EXPIRY_REASON, detail)
        else:
            clear_alarm(mailbox.name, Kind.SECRET_EXPIRING)


def clear_unconfigured(config: IntakeConfig) -> None:
    """End the alarms of mailboxes no longer configured: no banner for a mailbox gone."""
    known = {m.name for m in config.mailboxes}
    if config.replies.transport == "smtp":
        known.add(REPLIES_ROUTE)
    gone = MailboxAlarm.objects.filter(cleared_at__isnull=True).exclude(mailbox__in=known)
    gone.update(cleared_at=timezone.now())


# -- alert emails ---------------------------------------------------------------------
@dataclass
class AlertReport:
    queued: list[int] = field(default_factory=list)
    sent: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)


def tend(config: IntakeConfig, today: date | None = None) -> AlertReport:
    """The housekeeping the worker does every few seconds: expiry alarms, then an
    alert for each alarm that is due one, then the sending of pending alerts."""
    check_secret_expiry(config, today)
    clear_unconfigured(config)
    report = AlertReport(queued=queue_alerts(config))
    send_alerts(config, report)
    return report


def queue_alerts(config: IntakeConfig) -> list[int]:
    """An alert row for each active alarm not alerted within its repeat interval."""
    if not config.alerts.to:
        return []
    now = timezone.now()
    queued = []
    for alarm in active_alarms():
        every = (
            EXPIRY_REPEAT
            if alarm.kind == Kind.SECRET_EXPIRING
            else timedelta(hours=config.alerts.repeat_hours)
        )
        due = Q(alerted_at__isnull=True) | Q(alerted_at__lte=now - every)
        with transaction.atomic():
            # Compare-and-set: of two workers, one queues the alert.
            if (
                MailboxAlarm.objects.filter(pk=alarm.pk, cleared_at__isnull=True)
                .filter(due)
                .update(alerted_at=now)
            ):
                queued.append(_queue_alert(alarm, AlertEmail.Kind.RAISED, config).pk)
    return queued


def _queue_alert(alarm: MailboxAlarm, kind: str, config: IntakeConfig | None = None) -> AlertEmail:
    from django.conf import settings

    config = config or settings.INTAKE
    message = alert_message(alarm, kind, config)
    row = AlertEmail.objects.create(
        alarm=alarm,
        kind=kind,
        recipients=list(config.alerts.to),
        raw=message.as_bytes(),
        rfc_message_id=str(message["Message-ID"]),
    )
    log.info("alert_queued", alert_id=row.pk, alarm_id=alarm.pk, kind=kind)
    return row


def alert_message(alarm: MailboxAlarm, kind: str, config: IntakeConfig) -> EmailMessage:
    """The alert: which mailbox, what is wrong since when, and what to do."""
    message = EmailMessage()
    message["From"] = formataddr((f"{config.service.name} (alerts)", config.alerts.from_address))
    message["To"] = ", ".join(config.alerts.to)
    message["Subject"] = _subject(alarm, kind, config)
    message["Date"] = format_datetime(timezone.now())
    message["Message-ID"] = make_msgid("alert", domain=config.service.message_id_domain)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: never answered automatically
    message.set_content(_body(alarm, kind, config))
    return message


def _subject(alarm: MailboxAlarm, kind: str, config: IntakeConfig) -> str:
    name = f"[{config.service.name}]"
    if kind == AlertEmail.Kind.CLEARED:
        return f"{name} Resolved: mailbox {alarm.mailbox} {alarm.get_kind_display()}"
    if alarm.kind == Kind.SECRET_EXPIRING:
        return f"{name} Mailbox {alarm.mailbox}: client secret expires soon"
    return f"{name} Mailbox {alarm.mailbox} cannot sign in ({alarm.reason})"


def _body(alarm: MailboxAlarm, kind: str, config: IntakeConfig) -> str:
    since = timezone.localtime(alarm.since).strftime("%Y-%m-%d %H:%M %Z")
    if kind == AlertEmail.Kind.CLEARED:
        until = timezone.localtime(alarm.cleared_at or timezone.now()).strftime("%H:%M %Z")
        return (
            f"Mailbox {alarm.mailbox} is working again ({alarm.get_kind_display()} "
            f"from {since} until {until}).\n"
        )
    if alarm.kind == Kind.SECRET_EXPIRING:
        return (
            f"Mailbox {alarm.mailbox}: {alarm.detail}.\n\n"
            "Make a new client secret for the app registration (Microsoft Entra admin "
            "center > App registrations > Certificates & secrets), put it in the "
            "environment variable the configuration names, update client_secret_expires "
            "in the configuration, and restart the worker.\n"
        )
    explained = _explain(alarm.reason)
    lines = [
        f"Since {since} the referral service cannot sign in to mailbox {alarm.mailbox}.",
        "New referrals in it are not being picked up or answered until this is fixed.",
        "",
        f"Reason: {alarm.reason} ({explained})",
    ]
    if alarm.detail:
        lines.append(f"The server said: {alarm.detail}")
    lines += [
        "",
        "Check the fix with: intake check-config --connect",
        f"This alert repeats at most every {config.alerts.repeat_hours} hour(s) while it lasts.",
    ]
    return "\n".join(lines) + "\n"


def _explain(reason: str) -> str:
    with contextlib.suppress(ValueError):
        return Fault(reason).label
    return reason


def send_alerts(config: IntakeConfig, report: AlertReport | None = None) -> AlertReport:
    """Send each pending alert once; an alert interrupted during DATA is never resent."""
    report = report or AlertReport()
    now = timezone.now()
    AlertEmail.objects.filter(state=AlertEmail.State.SENDING, claimed_until__lt=now).update(
        state=AlertEmail.State.UNCERTAIN
    )
    due = AlertEmail.objects.filter(state=AlertEmail.State.PENDING).filter(
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    )
    free = due.filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
    for pk in list(free.order_by("pk").values_list("pk", flat=True)[:20]):
        _send_one(pk, config, report)
    return report


def _send_one(pk: int, config: IntakeConfig, report: AlertReport) -> None:
    """Claim (a lease on the ``pending`` row), deliver, then ``sent``; as the outbox does."""
    now = timezone.now()
    claimed = (
        AlertEmail.objects.filter(pk=pk, state=AlertEmail.State.PENDING)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .update(claimed_until=now + ALERT_LEASE)
    )
    if not claimed:
        return  # another worker has it
    row = AlertEmail.objects.get(pk=pk)

    def before_data() -> None:
        AlertEmail.objects.filter(pk=pk, state=AlertEmail.State.PENDING).update(
            state=AlertEmail.State.SENDING, claimed_until=timezone.now() + ALERT_LEASE
        )

    try:
        deliver(row, config, before_data)
    except AlertNotSent as exc:
        _not_sent(row, exc, report)
        return
    AlertEmail.objects.filter(pk=pk, state=AlertEmail.State.SENDING).update(
        state=AlertEmail.State.SENT, sent_at=timezone.now(), last_error=""
    )
    report.sent.append(pk)
    log.info("alert_sent", alert_id=pk, alarm_id=row.alarm_id)


class AlertNotSent(IntakeError):
    """An alert email could not be sent this time."""

    def __init__(self, reason: str, *, after_data: bool = False) -> None:
        super().__init__(reason, reason=reason[:100])
        self.after_data = after_data


def _not_sent(row: AlertEmail, exc: AlertNotSent, report: AlertReport) -> None:
    attempts = row.attempts + 1
    if exc.after_data:
        state = AlertEmail.State.UNCERTAIN
    elif attempts >= MAX_ALERT_ATTEMPTS:
        state = AlertEmail.State.FAILED
    else:
        state = AlertEmail.State.PENDING
    AlertEmail.objects.filter(
        pk=row.pk, state__in=(AlertEmail.State.PENDING, AlertEmail.State.SENDING)
    ).update(
        state=state,
        attempts=attempts,
        last_error=exc.reason,
        claimed_until=None,
        next_attempt_at=timezone.now() + timedelta(minutes=2**attempts),
    )
    report.failed.append(row.pk)
    log.warning("alert_not_sent", alert_id=row.pk, state=state, error_code=exc.reason)


def deliver(row: AlertEmail, config: IntakeConfig, before_data: Callable[[], None]) -> None:
    """Through ``[alerts.smtp]``, else the replies' route; raises `AlertNotSent`."""
    smtp = config.alerts.smtp
    if smtp is None and config.replies.transport == "smtp":
        smtp = config.smtp
    if smtp is None:
        before_data()
        _write_file(row, Path(config.replies.outbox_dir))
        return
    client = _connect(smtp, config)
    try:
        _envelope(client, config.alerts.from_address, list(row.recipients))
        before_data()
        _data(client, bytes(row.raw))
    finally:
        with contextlib.suppress(smtplib.SMTPException, OSError):
            client.quit()


def _connect(smtp: Any, config: IntakeConfig) -> smtplib.SMTP:
    from intake.errors import MailboxError
    from intake.smtp import connect

    try:
        return connect(smtp, config)
    except smtplib.SMTPResponseException as exc:
        raise AlertNotSent(f"connect: {exc.smtp_code}") from exc
    except (smtplib.SMTPException, OSError, MailboxError) as exc:
        raise AlertNotSent(f"connect: {type(exc).__name__}") from exc


def _envelope(client: smtplib.SMTP, sender: str, recipients: list[str]) -> None:
    try:
        code, _ = client.mail(sender)
        if code != 250:
            raise AlertNotSent(f"MAIL FROM: {code}")
        accepted = sum(client.rcpt(address)[0] in (250, 251) for address in recipients)
    except (smtplib.SMTPException, OSError) as exc:
        raise AlertNotSent(f"envelope: {type(exc).__name__}") from exc
    if not accepted:
        raise AlertNotSent("RCPT TO: every recipient refused")


def _data(client: smtplib.SMTP, raw: bytes) -> None:
    try:
        code, _ = client.data(raw)
    except smtplib.SMTPDataError as exc:
        raise AlertNotSent(f"DATA: {exc.smtp_code}") from exc
    except (smtplib.SMTPException, OSError) as exc:
        raise AlertNotSent(f"DATA interrupted: {type(exc).__name__}", after_data=True) from exc
    if code != 250:
        raise AlertNotSent(f"DATA: {code}")


def _write_file(row: AlertEmail, folder: Path) -> None:
    """``alert-<id>.eml`` in the outbox folder, written atomically."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-alert-")
        with os.fdopen(fd, "wb") as handle:
            handle.write(bytes(row.raw))
        os.replace(tmp, folder / f"alert-{row.pk:08d}.eml")
    except OSError as exc:
        raise AlertNotSent(f"outbox: {type(exc).__name__}") from exc
