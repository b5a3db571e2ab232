"""Send the replies that `intake.reply_queue` queued: at most once, retried safely.

`send_due` takes each `OutboundEmail` row that is ``pending`` and due, and
delivers its stored bytes, unchanged, either by SMTP (``config.replies.
transport == "smtp"``: STARTTLS or implicit TLS, authentication with the
password in the environment variable ``config.smtp.password_env``) or into
``config.replies.outbox_dir`` as an ``.eml`` file (the embedded default).

At most once, and the one window
--------------------------------
1. A worker *claims* a row by compare-and-set: ``pending`` with no live
   lease -> a lease (``claimed_by``/``claimed_until``).  Two workers never
   hold the same row.
2. It connects, says EHLO (and STARTTLS, AUTH), MAIL FROM and RCPT TO.  Any
   failure up to here is safe to retry: the server has not got the message.
3. It commits ``state = sending`` (compare-and-set against its own lease),
   with a fresh lease for DATA, and only then sends DATA.
4. On the server's 250 it commits ``state = sent``.

Every update after the claim is a compare-and-set on ``claimed_by`` and the
expected state: a worker whose lease ran out (a slow server) may have lost
the row to another, which may have sent it; the slow one then changes nothing.

The window is between the end of DATA on the wire and the commit of step 4
(one round trip plus one small UPDATE).  A crash (power, kill -9) there
leaves the row ``sending``.  The next run finds it with its lease expired and
marks it ``uncertain``: parked for a person, never resent automatically,
because the referrer may already have it.  A timeout or dropped connection
*during* DATA is treated the same way (the server may have accepted it).

A 4xx reply, a timeout or a refused connection before DATA retries the same
row (same bytes, same Message-ID) with exponential backoff
(``config.retry``); after ``max_attempts`` it is ``failed``.  A 5xx reply to
MAIL, RCPT or DATA parks it as ``failed`` at once; a refusal while
connecting (TLS, AUTH) is the service's problem, not the reply's, and is
retried like a 4xx.  Writing to the outbox folder has no window:
the file is named after the row and replaced atomically, so a rerun after a
crash rewrites the same file.

Draining and the sending rate
-----------------------------
A run sends every row that is due, in batches of `BATCH_SIZE` ids, not a
fixed number per poll: a first sync of a thousand messages does not leave
hundreds of replies for later polls.  What limits it is the SMTP server's
sending rate, ``smtp.max_per_minute`` (Exchange Online accepts 30 messages a
minute from one mailbox, and answers more with 4.4.2 and a growing delay;
0 is no limit; the outbox folder has none): before each row the run counts
what the service sent in the last minute (`sent_in_last_minute`, from the
database, so every worker's sends count) and, with the minute's share used
up, leaves the rest ``pending`` for the next run, which the worker makes
every poll.  The count is read just before each claim, so two workers
sending at the same moment may go over by one message each; the server's
4xx for that is retried like any other.

After a send, a copy is appended to the mailbox's Sent folder when the
mailbox has ``sent_folder``; a failed append is retried on later runs and
never causes a resend.
"""

from __future__ import annotations

import contextlib
import os
import smtplib
import socket
import tempfile
import traceback
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from intake import audit
from intake.audit import Verb
from intake.errors import IntakeError, doubling_backoff
from intake.models import OutboundEmail

if TYPE_CHECKING:
    from intake.config import IntakeConfig

log = structlog.get_logger(__name__)

MAX_BACKOFF_SECONDS = 3600
BATCH_SIZE = 50  # row ids read at a time; a run goes on to the next batch
RATE_WINDOW = timedelta(minutes=1)


class SendError(IntakeError):
    """One attempt to send failed; ``retryable`` says whether to try again."""

    def __init__(self, reason: str, *, retryable: bool, after_data: bool = False) -> None:
        super().__init__(reason, reason=reason[:300])
        self.retryable = retryable
        self.after_data = after_data  # the server may have the message: never resend


@dataclass
class SendReport:
    """What one `send_due` run did, by row id."""

    sent: list[int] = field(default_factory=list)
    retrying: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    uncertain: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)  # claimed by another worker meanwhile
    filed: list[int] = field(default_factory=list)  # copies appended to a Sent folder
    held: int = 0  # due rows left for a later run: the minute's sending rate was used up


Clock = Callable[[], datetime]


def send_due(
    config: IntakeConfig, now: datetime | None = None, worker: str | None = None
) -> SendReport:
    """Send every due ``pending`` row once, within the sending rate; park stale
    ``sending`` rows as ``uncertain``.  Rows the rate holds back stay ``pending``
    (counted in ``report.held``) for a later run."""
    clock = _clock(now)
    worker = worker or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    report = SendReport()
    report.uncertain.extend(park_interrupted(clock()))
    limit = rate_limit(config)
    for row_id in _due_rows(clock):
        if limit and sent_in_last_minute(clock()) >= limit:
            report.held = _due_count(clock(), after=row_id - 1)
            log.info("replies_held_by_rate", held=report.held, per_minute=limit)
            break
        _send_one(row_id, config, clock, worker, report)
    report.filed.extend(file_sent_copies(config))
    return report


def rate_limit(config: IntakeConfig) -> int:
    """Messages a minute the SMTP server accepts from us; 0 for no limit (the outbox folder)."""
    if config.replies.transport != "smtp":
        return 0
    return max(0, int(getattr(config.smtp, "max_per_minute", 0) or 0))


def sent_in_last_minute(now: datetime) -> int:
    """Replies the server took, or is taking, in the `RATE_WINDOW` before ``now`` (all workers)."""
    since = now - RATE_WINDOW
    return OutboundEmail.objects.filter(
        Q(state=OutboundEmail.State.SENDING)
        | Q(state=OutboundEmail.State.SENT, sent_at__gte=since, sent_at__lte=now)
    ).count()


def _clock(now: datetime | None) -> Clock:
    """The time as this run sees it: ``now`` (a test's or a catch-up's) plus real time since.

    Read afresh for every claim: one ``now`` for the whole batch would give the
    rows after a slow send a lease that has already run out.
    """
    if now is None:
        return lambda: timezone.now()
    start = timezone.now()
    return lambda: now + (timezone.now() - start)


def _lease(config: IntakeConfig) -> timedelta:
    # Long enough for connect + EHLO + STARTTLS + AUTH + MAIL + RCPT + DATA, each timed out.
    return timedelta(seconds=max(60, 8 * int(config.smtp.timeout_seconds)))


def park_interrupted(now: datetime) -> list[int]:
    """Rows left ``sending`` by a worker that died during DATA -> ``uncertain``.

    Only once the lease `_mark_sending` gave for DATA has run out: a worker
    still inside DATA holds a live lease, and its row is left alone.
    """
    stale = OutboundEmail.objects.filter(
        state=OutboundEmail.State.SENDING, claimed_until__lt=now
    ).values_list("pk", flat=True)
    parked = []
    for pk in list(stale):
        updated = OutboundEmail.objects.filter(
            pk=pk, state=OutboundEmail.State.SENDING, claimed_until__lt=now
        ).update(
            state=OutboundEmail.State.UNCERTAIN,
            last_error="interrupted during SMTP DATA: may have been delivered; not resent",
        )
        if updated == 1:
            parked.append(pk)
            _audit(Verb.REPLY_UNCERTAIN, pk)
            log.warning("reply_uncertain", outbound_id=pk)
    return parked


def _due_rows(clock: Clock) -> Iterator[int]:
    """Ids of the rows due now, oldest first, a batch at a time until none is left.

    Each batch starts after the last id of the one before, so a row that
    failed and waits for its backoff is not met again in the same run.  After a
    short batch it asks once more: a row whose backoff ended, or that another
    worker queued, while the batch was being sent is sent in this run too.
    """
    after = 0
    while batch := _due_ids(clock(), after):
        yield from batch
        after = batch[-1]


def _due(now: datetime, after: int) -> QuerySet[OutboundEmail]:
    due = OutboundEmail.objects.filter(state=OutboundEmail.State.PENDING, pk__gt=after).filter(
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    )
    return due.filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))


def _due_ids(now: datetime, after: int = 0) -> list[int]:
    return list(_due(now, after).order_by("pk").values_list("pk", flat=True)[:BATCH_SIZE])


def _due_count(now: datetime, after: int) -> int:
    return _due(now, after).count()


def claim(row_id: int, worker: str, now: datetime, lease: timedelta) -> bool:
    """Take the row for ``worker`` (compare-and-set); False when someone else has it."""
    updated = (
        OutboundEmail.objects.filter(pk=row_id, state=OutboundEmail.State.PENDING)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .update(
            claimed_by=worker,
            claimed_until=now + lease,
            attempts=F("attempts") + 1,
            updated=now,
        )
    )
    return updated == 1


def _ours(row_id: int, worker: str, *states: str) -> QuerySet[OutboundEmail]:
    """The row, only while ``worker`` still holds it in one of ``states``.

    Every update after the claim goes through this compare-and-set: a worker
    whose lease ran out may since have lost the row to another, which may
    already have sent it, and must then change nothing.
    """
    return OutboundEmail.objects.filter(pk=row_id, claimed_by=worker, state__in=states)


def _mark_sending(row_id: int, worker: str, until: datetime) -> bool:
    """Commit ``sending`` just before DATA; False when our lease was lost.

    ``until`` is a fresh lease for DATA alone, so a slow connect cannot have
    used it up and another worker's `park_interrupted` leaves the row alone.
    """
    updated = _ours(row_id, worker, OutboundEmail.State.PENDING).update(
        state=OutboundEmail.State.SENDING, claimed_until=until, updated=timezone.now()
    )
    return updated == 1


def _send_one(
    row_id: int, config: IntakeConfig, clock: Clock, worker: str, report: SendReport
) -> None:
    if not claim(row_id, worker, clock(), _lease(config)):
        report.skipped.append(row_id)
        return
    # The message it answers comes along for its mailbox's Sent folder, without
    # its bytes (issue 10).
    row = OutboundEmail.objects.select_related("message").defer("message__raw").get(pk=row_id)

    def mark_sending() -> bool:
        return _mark_sending(row_id, worker, clock() + _lease(config))

    def mark_sent() -> bool:
        return _mark_sent(row, worker, config)

    try:
        if config.replies.transport == "smtp":
            sent = smtp_send(row, config, mark_sending, mark_sent)
        else:
            sent = mark_sending() and write_outbox_file(row, config) and mark_sent()
    except SendError as exc:
        _record_failure(row, worker, exc, config, report)
        return
    except Exception as exc:  # a bug or an odd library error: never block the other rows
        # The type and the frames only: the message may quote the reply's content.
        log.error(
            "reply_send_error",
            outbound_id=row_id,
            error=type(exc).__name__,
            traceback="".join(traceback.format_tb(exc.__traceback__)),
        )
        _record_failure(row, worker, _unexpected(row_id, exc), config, report)
        return
    (report.sent if sent else report.skipped).append(row_id)


def _unexpected(row_id: int, exc: Exception) -> SendError:
    """Classify an error no handler expected: unknown outcome once DATA may have begun."""
    state = OutboundEmail.objects.filter(pk=row_id).values_list("state", flat=True).first()
    during_data = state == OutboundEmail.State.SENDING
    return SendError(
        f"unexpected: {type(exc).__name__}", retryable=not during_data, after_data=during_data
    )


def _mark_sent(row: OutboundEmail, worker: str, config: IntakeConfig) -> bool:
    """Commit ``sent``; False (and no success audit) when the row is no longer ours."""
    copy = (
        OutboundEmail.SentCopy.PENDING
        if _sent_folder(row, config)
        else OutboundEmail.SentCopy.NOT_WANTED
    )
    updated = _ours(row.pk, worker, OutboundEmail.State.SENDING).update(
        state=OutboundEmail.State.SENT,
        sent_at=timezone.now(),
        last_error="",
        claimed_until=None,
        sent_copy=copy,
    )
    if updated != 1:
        # Another worker parked it meanwhile (``uncertain``): a person decides; we
        # must not also record it as sent.
        log.warning("reply_sent_but_row_lost", outbound_id=row.pk)
        return False
    _audit(Verb.REPLY_SENT, row.pk)
    log.info("reply_sent", outbound_id=row.pk, kind=row.kind, attempts=row.attempts)
    return True


def _record_failure(
    row: OutboundEmail, worker: str, exc: SendError, config: IntakeConfig, report: SendReport
) -> None:
    attempts = row.attempts  # already counted by the claim
    if exc.after_data:
        state, bucket = OutboundEmail.State.UNCERTAIN, report.uncertain
    elif exc.retryable and attempts < config.retry.max_attempts:
        state, bucket = OutboundEmail.State.PENDING, report.retrying
    else:
        state, bucket = OutboundEmail.State.FAILED, report.failed
    delay = doubling_backoff(config.retry.backoff_seconds, attempts - 1, MAX_BACKOFF_SECONDS)
    # Before DATA the row is still ``pending``; a refusal of DATA itself leaves it ``sending``.
    expected = (
        (OutboundEmail.State.SENDING,)
        if exc.after_data
        else (OutboundEmail.State.PENDING, OutboundEmail.State.SENDING)
    )
    updated = _ours(row.pk, worker, *expected).update(
        state=state,
        last_error=exc.reason,
        next_attempt_at=timezone.now() + timedelta(seconds=delay),
        claimed_by="",
        claimed_until=None,
    )
    if updated != 1:
        # Our lease ran out and another worker took the row (and may have sent it):
        # putting it back to ``pending`` would send it twice.
        log.warning("reply_failure_after_lease_lost", outbound_id=row.pk)
        report.skipped.append(row.pk)
        return
    bucket.append(row.pk)
    _audit(Verb(f"reply_{state}"), row.pk, reason=exc.reason[:100])
    log.warning("reply_not_sent", outbound_id=row.pk, state=state, reason=exc.reason[:100])


def _audit(verb: Verb, row_id: int, **detail: Any) -> None:
    audit.record(None, verb, audit.REPLY, row_id, **detail)


# --- SMTP --------------------------------------------------------------------


def smtp_send(
    row: OutboundEmail,
    config: IntakeConfig,
    before_data: Callable[[], bool],
    after_data: Callable[[], bool],
) -> bool:
    """Deliver ``row.raw`` by SMTP; True when it was sent and recorded as ``sent``.

    ``before_data()`` commits ``sending`` (False: the lease was lost, nothing
    is sent); ``after_data()`` commits ``sent`` the moment the server says
    250, before QUIT, to keep the window small (False: another worker parked
    the row meanwhile).  Raises `SendError`:
    retryable for 4xx replies and network errors before DATA,
    ``after_data`` when the outcome of DATA is unknown.
    """
    recipients = [row.recipient, *row.bcc]
    client = _connect(config)
    try:
        _envelope(client, config.replies.from_address, recipients)
        if not before_data():
            return False
        _data(client, bytes(row.raw))
        return after_data()
    finally:
        with contextlib.suppress(smtplib.SMTPException, OSError):
            client.quit()


def _connect(config: IntakeConfig) -> smtplib.SMTP:
    from intake.alarms import REPLIES_ROUTE
    from intake.errors import MailboxError
    from intake.smtp import connect

    try:
        # TLS, then the password or XOAUTH2 sign-in; a refused sign-in is an alarm.
        return connect(config.smtp, config, alarm_as=REPLIES_ROUTE)
    except smtplib.SMTPResponseException as exc:
        # Refused before any message was named (greeting, TLS, AUTH): our side's
        # problem, not this reply's, so it is retried until an administrator fixes it.
        raise SendError(f"connect: {exc.smtp_code}", retryable=True) from exc
    except (smtplib.SMTPException, OSError) as exc:
        raise SendError(f"connect: {type(exc).__name__}", retryable=True) from exc
    except MailboxError as exc:  # no XOAUTH2 token: Microsoft refused, or is out of reach
        raise SendError(f"connect: {exc.reason}", retryable=True) from exc


def _envelope(client: smtplib.SMTP, sender: str, recipients: list[str]) -> None:
    try:
        code, _ = client.mail(sender)
        if code != 250:
            raise _response_error("MAIL FROM", code)
        code, _ = client.rcpt(recipients[0])
        if code not in (250, 251):
            raise _response_error("RCPT TO", code)
        for bcc in recipients[1:]:  # a refused copy is no reason to hold the reply back
            client.rcpt(bcc)
    except (smtplib.SMTPServerDisconnected, OSError) as exc:
        raise SendError(f"envelope: {type(exc).__name__}", retryable=True) from exc


def _data(client: smtplib.SMTP, raw: bytes) -> None:
    try:
        code, _ = client.data(raw)
    except smtplib.SMTPDataError as exc:
        # A definite refusal: the server did not take the message.
        raise _response_error("DATA", exc.smtp_code) from exc
    except (smtplib.SMTPException, OSError) as exc:
        raise SendError(
            f"DATA interrupted: {type(exc).__name__}", retryable=False, after_data=True
        ) from exc
    if code != 250:
        raise _response_error("DATA", code)


def _response_error(step: str, code: int) -> SendError:
    # RFC 5321 §4.2.1: 4yz is transient (try again), 5yz is permanent.
    return SendError(f"{step}: {code}", retryable=400 <= code < 500)


# --- the outbox folder -------------------------------------------------------


def outbox_path(row: OutboundEmail, config: IntakeConfig) -> Path:
    return Path(config.replies.outbox_dir) / f"{row.pk:08d}-{row.kind}.eml"


def write_outbox_file(row: OutboundEmail, config: IntakeConfig) -> bool:
    """Write ``row.raw`` as ``<outbox_dir>/<id>-<kind>.eml``, atomically (temp file + rename)."""
    target = outbox_path(row, config)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=".eml")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(bytes(row.raw))
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
    except OSError as exc:
        raise SendError(f"outbox: {type(exc).__name__}", retryable=True) from exc
    return True


# --- copies in the Sent folder ------------------------------------------------


def _sent_folder(row: OutboundEmail, config: IntakeConfig) -> str:
    if row.message is None or row.kind.startswith("team_"):
        return ""  # the team's own emails (issue 12) are not replies: no copy in Sent
    try:
        return str(config.mailbox(row.message.mailbox).sent_folder or "")
    except KeyError:
        return ""


def file_sent_copies(config: IntakeConfig) -> list[int]:
    """APPEND each sent reply still waiting for its Sent-folder copy; never resends."""
    if not any(m.sent_folder for m in config.mailboxes):
        return []  # no mailbox keeps copies: `_file_copy` would file none (issue 10)
    filed = []
    waiting = (
        OutboundEmail.objects.filter(
            state=OutboundEmail.State.SENT, sent_copy=OutboundEmail.SentCopy.PENDING
        )
        .select_related("message")
        .defer("message__raw")
    )  # its mailbox only, not its bytes
    for row in waiting.order_by("pk")[:BATCH_SIZE]:
        if _file_copy(row, config):
            filed.append(row.pk)
    return filed


def _file_copy(row: OutboundEmail, config: IntakeConfig) -> bool:
    from intake.mailbox import open_mailbox

    folder = _sent_folder(row, config)
    if not folder or row.message is None:
        return False
    try:
        with open_mailbox(config.mailbox(row.message.mailbox)) as box:
            box.append(folder, bytes(row.raw))
    except Exception as exc:  # any mailbox failure: keep the row pending, try next run
        log.warning("sent_copy_failed", outbound_id=row.pk, error=type(exc).__name__)
        OutboundEmail.objects.filter(pk=row.pk).update(sent_copy_error=type(exc).__name__)
        return False
    OutboundEmail.objects.filter(pk=row.pk).update(
        sent_copy=OutboundEmail.SentCopy.FILED, sent_copy_error=""
    )
    return True
