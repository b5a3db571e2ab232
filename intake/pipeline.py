"""Every message from the mailbox into the store, then step by step to "filed".

A poll of one mailbox (`poll_mailbox`):

1. takes the mailbox's lease (`intake.lease`), so no other worker polls it;
2. syncs: fetches every UID above the highest one stored (all of them again
   after a UIDVALIDITY change) and commits each raw message (`intake.store`)
   before anything reads it;
3. advances every unfinished message of the mailbox, new or left over from
   an earlier poll, through the states in the database::

       received --parse--> parsed --decide--> decided --reply--> replied --file--> filed

Each step changes the state by compare-and-set, so a step whose work was
done but whose state change was lost (a crash) is simply done again: steps
are idempotent.  A step that fails is classified (`intake.errors.classify`),
recorded on the row with a reason code, retried on later polls with a
doubling backoff, and parked for a person after ``retry.max_attempts``; the
poll goes on with the other messages.  A stop request (SIGTERM) is honoured
between messages: the message in hand is finished first.

The mailbox is changed last and only by filing: a message stays where it is
until it has been handled, whatever happens in between.
"""

from __future__ import annotations

import dataclasses
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import structlog
from django.db import transaction
from django.db.models import BinaryField, Case, F, Q, When
from django.utils import timezone

from intake import learning, lease
from intake.config import IntakeConfig, MailboxConfig
from intake.errors import (
    LeaseLost,
    MailboxError,
    StepConflict,
    UidValidityChanged,
    classify,
    doubling_backoff,
)
from intake.logging import bind_message
from intake.mailbox import Mailbox, open_mailbox
from intake.models import Attachment, InboundMessage, MailboxState, MessageContent
from intake.store import (
    HARD_LIMIT_FACTOR,
    as_stored,
    load_mail,
    safe_for_db,
    store_mail,
    store_message,
)
from intake.vocabulary import ReplyKind
from parsers.mail import MailResult

if TYPE_CHECKING:
    from intake.assess import Assessment

log = structlog.get_logger(__name__)
State = InboundMessage.State
MAX_BACKOFF_SECONDS = 3600
UNFINISHED = (State.RECEIVED, State.PARSED, State.DECIDED, State.REPLIED)


@dataclass
class PollResult:
    """What one poll of one mailbox did (counts of messages)."""

    mailbox: str
    fetched: int = 0
    stored: int = 0
    duplicates: int = 0
    decided: int = 0
    filed: int = 0
    errors: int = 0
    parked: int = 0
    skipped: bool = False  # another worker held the lease
    error: str = ""  # reason code when the poll itself failed (mailbox unreachable, ...)
    error_detail: str = ""  # what to fix, for a sign-in alarm (MailboxError.detail)


@dataclass
class Run:
    """What the steps of one poll share."""

    config: IntakeConfig
    mailbox: MailboxConfig
    box: Mailbox
    state: MailboxState
    owner: str
    result: PollResult
    stop: threading.Event
    steps: Steps
    uidvalidity: int | None = None
    replies_sent: bool = False
    read_ahead: set[int] = field(default_factory=set)  # message ids handed to the sandbox early
    renewed_at: float = field(default_factory=time.monotonic)

    @property
    def lease_seconds(self) -> int:
        return lease_seconds(self.config)

    def keep_lease(self) -> None:
        """Renew the lease once a third of it has passed (raises `LeaseLost`)."""
        if time.monotonic() - self.renewed_at > self.lease_seconds / 3:
            lease.renew(self.state, self.owner, self.lease_seconds)
            self.renewed_at = time.monotonic()


def lease_seconds(config: IntakeConfig) -> int:
    return max(120, 3 * config.schedule.poll_seconds)


# -- the hooks into the rest of the service (imported late: they import models) --
def parse(raw: bytes, config: IntakeConfig) -> MailResult:
    """`parsers.sandbox.parse_mail`: the one parse of a message, within its budget."""
    from parsers.sandbox import parse_mail

    return parse_mail(raw, config.limits)


def assess(mail: MailResult, config: IntakeConfig, arrived: datetime | None = None) -> Any:
    """`intake.assess.assess_mail`: what should happen to this message."""
    from intake.assess import assess_mail, taught_schemas

    return assess_mail(mail, config, arrived, sent_forms(mail), schemas=taught_schemas(config))


def apply_assessment(message: InboundMessage, assessment: Assessment, config: IntakeConfig) -> None:
    """`intake.decisions.apply_assessment`: decision, case and reply rows."""
    from intake.decisions import apply_assessment as apply

    apply(message, assessment, config)


def send_due(config: IntakeConfig) -> None:
    """`intake.outbox.send_due`: send replies waiting in the outbox."""
    from intake.outbox import send_due as send

    send(config)


def read_again(config: IntakeConfig) -> None:
    """`intake.learning.read_again_waiting`: held messages a person asked to be read
    again with the wordings the team has taught since (no decision changes)."""
    from intake.learning import read_again_waiting

    read_again_waiting(config)


@dataclass(frozen=True)
class Steps:
    """The work a poll hands to the rest of the service.  Injected (issue 10): a test
    stands in for any of them by passing its own `Steps` to `poll_mailbox`,
    `poll_all`, `process_pending` or the worker, never by patching this module."""

    parse: Callable[[bytes, IntakeConfig], MailResult] = parse
    assess: Callable[[MailResult, IntakeConfig, datetime | None], Any] = assess
    apply_assessment: Callable[[InboundMessage, Assessment, IntakeConfig], None] = apply_assessment
    send_due: Callable[[IntakeConfig], None] = send_due
    read_again: Callable[[IntakeConfig], None] = read_again
    # The mailbox adapter for a configured mailbox, not yet open: a test stands in for
    # the mail server here (one that dies in the middle of a move, say).
    mailbox: Callable[[MailboxConfig], Mailbox] = open_mailbox


SERVICE = Steps()  # the real steps


def sent_forms(mail: MailResult) -> frozenset[str]:
    """The sha256 of this message's files that we returned to someone else.

    A form we sent back to its referrer, arriving from another address, is
    our reply echoed by a robot (a helpdesk, a forwarding rule): it must not
    be read as a new referral (issue 8).  The referrer sending the same file
    again is a resubmission, and is read.
    """
    hashes = {p.sha256 for p in mail.attachments}
    if not hashes:
        return frozenset()
    sender = (mail.from_addr or "").strip().lower()
    returned = Attachment.objects.filter(
        sha256__in=hashes,
        parse_status="read",
        message__replies__kind=ReplyKind.INCOMPLETE_RETURN,
    ).values_list("sha256", "message__replies__recipient")
    return frozenset(digest for digest, recipient in returned if recipient != sender)


# -- polling -----------------------------------------------------------------
def poll_mailbox(
    mailbox_cfg: MailboxConfig,
    config: IntakeConfig,
    *,
    stop: threading.Event | None = None,
    sync: bool = True,
    steps: Steps = SERVICE,
) -> PollResult:
    """Poll one mailbox: sync new mail (unless ``sync`` is False), then advance
    every unfinished message with ``steps``.  Returns counts; a mailbox that
    cannot be reached gives ``result.error`` rather than an exception."""
    result = PollResult(mailbox=mailbox_cfg.name)
    owner = lease.new_owner()
    state = lease.acquire(mailbox_cfg.name, mailbox_cfg.folder, owner, lease_seconds(config))
    if state is None:
        log.info("poll_skipped_lease_held", mailbox=mailbox_cfg.name)
        result.skipped = True
        return result
    try:
        run_stop = stop or threading.Event()
        _poll_with_lease(mailbox_cfg, config, state, owner, result, run_stop, sync, steps)
    finally:
        lease.release(state, owner)
    return result


def process_pending(
    config: IntakeConfig, *, stop: threading.Event | None = None, steps: Steps = SERVICE
) -> list[PollResult]:
    """Advance the unfinished messages of every mailbox, fetching nothing new."""
    return [poll_mailbox(m, config, stop=stop, sync=False, steps=steps) for m in config.mailboxes]


def poll_all(
    config: IntakeConfig, *, stop: threading.Event | None = None, steps: Steps = SERVICE
) -> list[PollResult]:
    """One poll of every configured mailbox, in order (what `intake poll` runs)."""
    results = []
    for mailbox_cfg in config.mailboxes:
        if stop is not None and stop.is_set():
            break
        results.append(poll_mailbox(mailbox_cfg, config, stop=stop, steps=steps))
    # The outbox owns its retries: a reply waiting for its backoff goes out on
    # the next cycle whether or not new mail came in.
    steps.send_due(config)
    steps.read_again(config)
    return results


def _poll_with_lease(
    mailbox_cfg: MailboxConfig,
    config: IntakeConfig,
    state: MailboxState,
    owner: str,
    result: PollResult,
    stop: threading.Event,
    sync: bool,
    steps: Steps,
) -> None:
    started = timezone.now()
    with bind_message(mailbox=mailbox_cfg.name):
        try:
            with steps.mailbox(mailbox_cfg) as box:
                run = Run(config, mailbox_cfg, box, state, owner, result, stop, steps)
                run.uidvalidity = (
                    sync_folder(run) if sync else box.folder_state(mailbox_cfg.folder).uidvalidity
                )
                advance_unfinished(run)
        except (MailboxError, LeaseLost) as exc:
            failure = classify(exc)
            result.error, result.errors = failure.reason, result.errors + 1
            result.error_detail = getattr(exc, "detail", "")
            MailboxState.objects.filter(pk=state.pk).update(
                last_poll_at=started, last_error=failure.reason
            )
            log.warning("poll_failed", error_code=failure.reason, error=type(exc).__name__)
            return
        MailboxState.objects.filter(pk=state.pk).update(
            last_poll_at=started, last_poll_ok_at=timezone.now(), last_error=""
        )
        log.info(
            "poll_finished",
            **{k: v for k, v in dataclasses.asdict(result).items() if k != "mailbox"},
        )


# -- sync: new mail into the store ----------------------------------------------
def sync_folder(run: Run) -> int:
    """Store every message above the highest UID stored; returns the UIDVALIDITY.

    After a UIDVALIDITY change the whole folder is read again: the store's
    content key (Message-ID + sha256) keeps that from duplicating anything.
    """
    folder = run.mailbox.folder
    current = run.box.folder_state(folder)
    after_uid = run.state.last_uid
    if run.state.uidvalidity != current.uidvalidity:
        if run.state.uidvalidity is not None:
            log.warning("uidvalidity_changed", old=run.state.uidvalidity, new=current.uidvalidity)
        after_uid = 0
        _save_sync_point(run, current.uidvalidity, 0)
    # UIDNEXT is not trusted to skip the search: RFC 3501 §2.3.1.1 calls it a
    # prediction, and a server that reports it late would hide new mail.
    hard_limit = run.config.limits.max_message_bytes * HARD_LIMIT_FACTOR
    fetched = run.box.fetch(
        folder, after_uid=after_uid, batch_size=run.config.schedule.batch_size, max_bytes=hard_limit
    )
    last_uid = after_uid
    for count, message in enumerate(fetched, start=1):
        stored = store_message(
            run.mailbox.name, folder, current.uidvalidity, message, run.config.limits
        )
        _count_stored(run.result, stored.created, stored.message)
        last_uid = message.uid
        if count % run.config.schedule.batch_size == 0:
            # Once a batch: a crash re-fetches at most one batch, which the store's
            # location key turns into duplicates, not new rows.
            _save_sync_point(run, current.uidvalidity, last_uid)
            run.keep_lease()
        if run.stop.is_set():
            break
    _save_sync_point(run, current.uidvalidity, last_uid)
    return current.uidvalidity


def _count_stored(result: PollResult, created: bool, message: InboundMessage) -> None:
    result.fetched += 1
    if not created:
        result.duplicates += 1
        return
    result.stored += 1
    if message.state == State.PARKED:
        result.parked += 1
        log.warning("message_parked", message_id=message.pk, reason=message.parked_reason)


def _save_sync_point(run: Run, uidvalidity: int, last_uid: int) -> None:
    """Remember how far the folder is stored, only while we hold the lease."""
    saved = MailboxState.objects.filter(pk=run.state.pk, lease_owner=run.owner).update(
        uidvalidity=uidvalidity, last_uid=last_uid
    )
    if saved != 1:
        lease.renew(run.state, run.owner, run.lease_seconds)  # raises LeaseLost
    run.state.uidvalidity, run.state.last_uid = uidvalidity, last_uid


# -- advancing messages through the states ---------------------------------------
def due_messages(mailbox: str) -> list[int]:
    """Ids of this mailbox's unfinished messages whose retry time has come, oldest first."""
    now = timezone.now()
    return list(
        InboundMessage.objects.filter(mailbox=mailbox, state__in=UNFINISHED)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .order_by("pk")
        .values_list("pk", flat=True)
    )


READ_AHEAD = 4  # messages handed to the sandbox ahead of the one being decided (issue 10)


def advance_unfinished(run: Run) -> None:
    """Take each due message as far as it will go; stop between messages if asked.

    While one message is assessed, decided, answered and filed here, the
    sandbox parses the next `READ_AHEAD`, reads their documents and matches
    them to the forms (`read_ahead`): the two cores work side by side (issue 10).
    """
    due = due_messages(run.mailbox.name)
    try:
        for index, pk in enumerate(due):
            if run.stop.is_set():
                log.info("poll_stopping")
                return
            with learning.version_read_once():  # a wording taught now counts from the next
                read_ahead(run, due[index + 1 : index + 1 + READ_AHEAD])
                message = unfinished_message(pk)
                if message is not None:
                    advance(message, run)
            run.keep_lease()
    finally:
        forget_read_ahead()


def unfinished_message(pk: int) -> InboundMessage | None:
    """The message, if still unfinished, with its stored parse if it has one: every
    step of the run reads that from the row in memory (issue 10).  Its raw bytes
    come with it only when the parse step will read them (it has no parse yet);
    otherwise they are deferred, loaded on first use."""
    to_parse = When(Q(state=State.RECEIVED, content__isnull=True), then=F("raw"))
    message = (
        InboundMessage.objects.filter(pk=pk, state__in=UNFINISHED)
        .defer("raw")
        .select_related("content")
        .annotate(raw_to_parse=Case(to_parse, output_field=BinaryField()))
        .first()
    )
    raw = getattr(message, "raw_to_parse", None)
    if message is not None and raw is not None:
        message.raw = raw
    return message


def read_ahead(run: Run, pks: list[int]) -> None:
    """Hand the sandbox these messages' bytes to parse, read and match against
    the forms in the background (`parsers.sandbox.read_ahead`): only those not
    parsed yet, each once a poll.  The assessment takes the results; a message
    whose assessment asks for anything else (a rule naming one form, a file we
    sent out left unread) gets it done then."""
    from intake.assess import MATCH_JOB, accepted_schemas, taught_schemas
    from parsers.sandbox import READ_AHEAD_MAX_BYTES
    from parsers.sandbox import read_ahead as sandbox_read_ahead

    wanted = [pk for pk in pks if pk not in run.read_ahead]
    if not wanted:
        return
    run.read_ahead.update(wanted)
    raws = [
        bytes(raw)
        for raw in InboundMessage.objects.filter(
            pk__in=wanted,
            state=State.RECEIVED,
            content__isnull=True,
            size__lte=READ_AHEAD_MAX_BYTES,
        )
        .order_by("pk")
        .values_list("raw", flat=True)
    ]
    if not raws:
        return
    schemas = accepted_schemas(run.config, taught_schemas(run.config))
    sandbox_read_ahead(raws, run.config.limits, then=(MATCH_JOB, schemas))


def forget_read_ahead() -> None:
    from parsers.sandbox import forget_read_ahead as forget

    forget()


def advance(message: InboundMessage, run: Run) -> None:
    """Run the steps of one message until it is filed, parked, or a step fails."""
    while message.state in STEPS:
        step_name, step = STEPS[message.state]
        with bind_message(message_id=message.pk, step=step_name):
            try:
                step(message, run)
            except StepConflict:
                log.info("step_conflict")  # another worker moved it on: theirs stands
                return
            except MailboxError as exc:
                if isinstance(exc, UidValidityChanged):
                    record_failure(message, exc, run)
                    return
                raise  # the mailbox, not the message: end this poll, count nothing
            except Exception as exc:
                record_failure(message, exc, run)
                return


def _transition(message: InboundMessage, old: str, new: str, **changes: Any) -> None:
    """Compare-and-set the state; a clean slate for the next step's attempts.

    The row in memory takes the same values, as the database gives them back:
    the next step reads it without reloading it (issue 10)."""
    values = {
        "state": new,
        "attempts": 0,
        "error_code": "",
        "last_error": "",
        "next_attempt_at": None,
        "updated": timezone.now(),
        **changes,
    }
    moved = InboundMessage.objects.filter(pk=message.pk, state=old).update(**values)
    if moved != 1:
        raise StepConflict(f"message {message.pk} was not {old}")
    for name, value in values.items():
        setattr(message, name, as_stored(value))
    log.info("message_" + new)


def step_parse(message: InboundMessage, run: Run) -> None:
    """Parse the message once (kept), then assess it (no side effects beyond its rows).

    The parse runs in the sandbox within the message's budget and is
    committed before the assessment, so a message that then fails (and is
    retried) is never parsed again; one over its budget is recorded with the
    reason (``timeout``, ``memory``) and assessed as needing a person.
    """
    mail = load_mail(message) or _parse_and_keep(message, run)
    started = time.perf_counter()
    assessment = run.steps.assess(mail, run.config, message.received_at)
    seconds = time.perf_counter() - started
    with transaction.atomic():
        _mark_attachments(message, assessment)
        MessageContent.objects.filter(message=message).update(assess_seconds=seconds)
        _transition(
            message,
            State.RECEIVED,
            State.PARSED,
            assessment=safe_for_db(dataclasses.asdict(assessment)),
            rule=str((getattr(assessment, "rule", None) or {}).get("name") or "")[:64],
        )


def _parse_and_keep(message: InboundMessage, run: Run) -> MailResult:
    mail = run.steps.parse(bytes(message.raw), run.config)
    with transaction.atomic():
        store_mail(message, mail)
    log.info(
        "message_parsed",
        parser=mail.parser,
        failure=mail.failure,
        seconds=round(mail.seconds, 3),
        attachments=len(mail.attachments),
    )
    return mail


def _mark_attachments(message: InboundMessage, assessment: Assessment) -> None:
    """Which attachment held the form, and which could not be read (by path)."""
    for error in getattr(assessment, "attachment_errors", []):
        rows = message.attachments.filter(path=error.get("path") or "")
        if not error.get("path"):
            rows = message.attachments.filter(filename=error.get("filename") or "")
        rows.update(parse_status="failed", reason=str(error.get("reason", ""))[:64])
    form = getattr(assessment, "form_attachment", None)
    if form:
        unread = message.attachments.filter(filename=form, parse_status="").order_by("index")
        message.attachments.filter(pk__in=unread.values("pk")[:1]).update(parse_status="read")


def step_decide(message: InboundMessage, run: Run) -> None:
    """Write the decision, the case and any reply, in one transaction with the state."""
    from intake.assess import assessment_from_dict

    assessment = assessment_from_dict(message.assessment or {})
    with transaction.atomic():
        run.steps.apply_assessment(message, assessment, run.config)
        _transition(message, State.PARSED, State.DECIDED, decision=assessment.decision)
    run.result.decided += 1


def step_reply(message: InboundMessage, run: Run) -> None:
    """Give the outbox its chance to send: at once when this message has a reply
    waiting (the referrer hears back seconds after it landed, not after the rest of
    the poll: issue 9), else once per poll.  Its rows own their retries."""
    from intake.models import OutboundEmail

    waiting = message.replies.filter(state=OutboundEmail.State.PENDING).exists()
    if waiting or not run.replies_sent:
        run.steps.send_due(run.config)
        run.replies_sent = True
    _transition(message, State.DECIDED, State.REPLIED)


def step_file(message: InboundMessage, run: Run) -> None:
    """Flag it and move it as its rule says (issue 11: by default, into the processed
    folder), then call it filed.  Both are idempotent: a retry repeats them harmlessly."""
    from intake.rules import after_handling

    if message.uidvalidity != run.uidvalidity:
        # Its UID belongs to an older numbering and may now name another message;
        # the next sync finds it again and relocates the row (intake.store._relocate).
        raise UidValidityChanged(f"message {message.pk} has a stale UID")
    folder, flags = after_handling(message.assessment, run.mailbox.processed_folder)
    if flags:
        run.box.add_flags(message.folder, message.uid, flags)
    if folder:
        run.box.file(message.folder, message.uid, folder)
    _transition(message, State.REPLIED, State.FILED)
    run.result.filed += 1


STEPS: dict[str, tuple[str, Callable[[InboundMessage, Run], None]]] = {
    State.RECEIVED: ("parse", step_parse),
    State.PARSED: ("decide", step_decide),
    State.DECIDED: ("reply", step_reply),
    State.REPLIED: ("file", step_file),
}


def backoff_seconds(config: IntakeConfig, attempts: int) -> int:
    """Seconds before attempt ``attempts + 1``: doubling from retry.backoff_seconds, to 1 hour."""
    return int(doubling_backoff(config.retry.backoff_seconds, attempts - 1, MAX_BACKOFF_SECONDS))


def record_failure(message: InboundMessage, exc: BaseException, run: Run) -> None:
    """Store why the step failed, when to try again, or park the message for a person."""
    failure = classify(exc)
    attempts = message.attempts + 1
    park = not failure.retryable or attempts >= run.config.retry.max_attempts
    changes: dict[str, Any] = {
        "attempts": attempts,
        "error_code": failure.reason,
        "last_error": failure.summary[:300],
        "next_attempt_at": None
        if park
        else timezone.now() + timedelta(seconds=backoff_seconds(run.config, attempts)),
    }
    if park:
        changes |= {
            "state": State.PARKED,
            "parked_reason": failure.reason,
            "parked_from": message.state,
        }
    InboundMessage.objects.filter(pk=message.pk, state=message.state).update(**changes)
    run.result.errors += 1
    run.result.parked += int(park)
    # The traceback's frames, not its message: exception text may quote the mail.
    log.warning(
        "step_failed",
        error_code=failure.reason,
        error=type(exc).__name__,
        retryable=failure.retryable,
        attempts=attempts,
        parked=park,
        traceback="".join(traceback.format_tb(exc.__traceback__)),
    )
