"""What the partnership team does to cases and messages (issue 12): the services.

Each action is one function that the review pages (and a command line) call with the
person doing it.  Each is a compare-and-set on what the person saw (the assignee, the
status, the answer), so that when two people act on the same page only the first
succeeds and the second is told (`Changed`); each writes its `AuditEvent` (who, what,
from what to what; ids, codes and dates only) in the same transaction; nothing is
deleted.  The rules of which status may follow which are `TRANSITIONS`, here only.

Errors: `CaseworkError` (the action is not allowed, or the input cannot be used:
its text says what to do) and its subclass `Changed` (someone got there first).
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

import structlog
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone

from intake import audit, questions
from intake.errors import IntakeError
from intake.models import (
    AnswerCorrection,
    CaseNote,
    CaseStep,
    InboundMessage,
    MessageReview,
    OutboundEmail,
    Referral,
    Submission,
)
from intake.vocabulary import Decision, ReplyKind

if TYPE_CHECKING:
    from intake.config import IntakeConfig

log = structlog.get_logger(__name__)

Status = Referral.Status

# Which status may follow which: the team's rules, in one place.  "Decided" is not a
# status: it is an accepted case with a recorded outcome (`CaseStep`).
TRANSITIONS: dict[str, frozenset[str]] = {
    Status.NEEDS_REVIEW: frozenset({Status.ACCEPTED, Status.AWAITING_RESUBMISSION, Status.CLOSED}),
    Status.ACCEPTED: frozenset({Status.NEEDS_REVIEW, Status.CLOSED}),
    Status.AWAITING_RESUBMISSION: frozenset({Status.ACCEPTED, Status.NEEDS_REVIEW, Status.CLOSED}),
    Status.CLOSED: frozenset({Status.NEEDS_REVIEW}),  # reopened: a person looks again
}
NOTE_MAX_CHARS = 5000


class CaseworkError(IntakeError):
    """The action cannot be done as asked; the text says why, for the person."""

    reason = "casework_refused"
    retryable = False


class Changed(CaseworkError):
    """Someone else changed the record since the page was shown."""

    def __init__(self, what: str = "case") -> None:
        super().__init__(
            f"Someone else changed this {what} while you were looking. Check and try again."
        )


def allowed_statuses(current: str) -> list[str]:
    """The statuses a case in ``current`` may be moved to, in the model's order."""
    following = TRANSITIONS.get(current, frozenset())
    return [s for s in Status.values if s in following]


def _one(referral_id: int, **expected: Any) -> int:
    """The compare-and-set's guard and bump: 1 when the row still holds ``expected``."""
    return Referral.objects.filter(pk=referral_id, **expected).update(updated=timezone.now())


# --- a case --------------------------------------------------------------------------------


def assign(referral: Referral, expected: int | None, to: User | None, by: User) -> None:
    """Assign the case to ``to`` (anyone with a role; None unassigns), only if it is still
    assigned to ``expected``."""
    new = to.pk if to is not None else None
    if new == expected:
        return
    with transaction.atomic():
        changed = Referral.objects.filter(pk=referral.pk, assignee_id=expected).update(
            assignee_id=new, updated=timezone.now()
        )
        if not changed:
            raise Changed()
        verb = audit.Verb.ASSIGNED if new else audit.Verb.UNASSIGNED
        audit.record(by, verb, audit.REFERRAL, referral.pk, previous=expected, to=new)


def change_status(referral: Referral, expected: str, new: str, by: User) -> None:
    """Move the case from ``expected`` to ``new`` if `TRANSITIONS` allows it."""
    if new not in TRANSITIONS.get(expected, frozenset()):
        raise CaseworkError(
            f"A case that is {expected.replace('_', ' ')} cannot be moved to "
            f"{new.replace('_', ' ')}."
        )
    with transaction.atomic():
        changed = Referral.objects.filter(pk=referral.pk, status=expected).update(
            status=new, updated=timezone.now()
        )
        if not changed:
            raise Changed()
        verb = audit.Verb.CLOSED if new == Status.CLOSED else audit.Verb.STATUS_CHANGED
        audit.record(by, verb, audit.REFERRAL, referral.pk, old=expected, new=new)


def close(referral: Referral, expected: str, by: User) -> None:
    change_status(referral, expected, Status.CLOSED, by)


def add_note(referral: Referral, text: str, by: User) -> CaseNote:
    """A decision note; its text stays in the note, never in the audit."""
    text = text.strip()
    if not text or len(text) > NOTE_MAX_CHARS:
        raise CaseworkError("Write a note first (at most 5,000 characters).")
    with transaction.atomic():
        note = CaseNote.objects.create(referral=referral, author=by, text=text)
        audit.record(by, audit.Verb.NOTE_ADDED, audit.REFERRAL, referral.pk, note=note.pk)
    return note


def correct_answer(
    referral: Referral,
    key: str,
    expected: Any,
    given: list[str],
    reason: str,
    by: User,
) -> AnswerCorrection:
    """Put the answer to question ``key`` right, keeping what it was.

    ``expected`` is the answer the page showed (stored shape); ``given`` what the person
    typed or chose.  The case's missing and not-valid answers, its late-notification flag
    and its Rapid Review date are worked out again from the corrected answers.
    """
    schema = questions.schemas().get(referral.form_type)
    if schema is None or key not in {f.key for f in schema.fields}:
        raise CaseworkError("Choose one of the form's questions.")
    value = questions.answer_from_input(schema.field(key), given)
    if len(reason) > NOTE_MAX_CHARS:
        raise CaseworkError("The reason is too long (at most 5,000 characters).")
    with transaction.atomic():
        current = Referral.objects.select_for_update().get(pk=referral.pk)
        if current.fields.get(key) != expected:
            raise Changed("answer")
        if value == expected:
            raise CaseworkError("The answer is unchanged.")
        fields = dict(current.fields)
        if value is None:
            fields.pop(key, None)
        else:
            fields[key] = value
        _apply_answers(current, fields, schema)
        correction = AnswerCorrection.objects.create(
            referral=current,
            field_key=key,
            original=expected,
            value=value,
            reason=reason.strip(),
            corrected_by=by,
        )
        audit.record(
            by,
            audit.Verb.ANSWER_CORRECTED,
            audit.REFERRAL,
            referral.pk,
            field=key,
            correction=correction.pk,
        )
    return correction


def _apply_answers(referral: Referral, fields: dict[str, Any], schema: Any) -> None:
    received = referral.received_on or timezone.localdate(referral.created)
    checked = questions.recheck(schema, fields, received)
    flags = [f for f in referral.flags or [] if f != "late_notification"]
    if checked.late_notification:
        flags.append("late_notification")
    Referral.objects.filter(pk=referral.pk).update(
        fields=fields,
        missing=checked.missing,
        invalid=checked.invalid,
        flags=flags,
        rapid_review_due=checked.rapid_review_due or referral.rapid_review_due,
        updated=timezone.now(),
    )


def record_step(referral: Referral, kind: str, on: date, by: User, outcome: str = "") -> CaseStep:
    """Record one of the partnership's steps on the day it happened (not in the future).

    An outcome needs its Rapid Review held first, and one of `CaseStep.Outcome`; a closed
    case takes no steps.
    """
    if kind not in CaseStep.Kind.values:
        raise CaseworkError("Choose which step to record.")
    if on > timezone.localdate():
        raise CaseworkError("The date cannot be in the future.")
    if kind == CaseStep.Kind.OUTCOME and outcome not in CaseStep.Outcome.values:
        raise CaseworkError("Choose the Rapid Review's outcome.")
    with transaction.atomic():
        current = Referral.objects.select_for_update().get(pk=referral.pk)
        if current.status == Status.CLOSED:
            raise CaseworkError("The case is closed: reopen it first.")
        held = latest_steps(current).get(CaseStep.Kind.RAPID_REVIEW_HELD)
        if kind == CaseStep.Kind.OUTCOME and held is None:
            raise CaseworkError("Record the day the Rapid Review was held first.")
        step = CaseStep.objects.create(
            referral=current,
            kind=kind,
            on=on,
            outcome=outcome if kind == CaseStep.Kind.OUTCOME else "",
            recorded_by=by,
        )
        _one(current.pk)
        detail: dict[str, Any] = {"step": kind, "on": on.isoformat()}
        if step.outcome:
            detail["outcome"] = step.outcome
        audit.record(by, audit.Verb.STEP_RECORDED, audit.REFERRAL, current.pk, **detail)
    return step


def latest_steps(referral: Referral) -> dict[str, CaseStep]:
    """The case's current step of each kind (the newest recorded)."""
    steps: dict[str, CaseStep] = {}
    for step in CaseStep.objects.filter(referral=referral).order_by("recorded_at", "pk"):
        steps[step.kind] = step
    return steps


# --- a message without a case ------------------------------------------------------------


def _waiting(message: InboundMessage) -> None:
    """Refuse a message that is in a case, or that someone has dealt with already."""
    if Submission.objects.filter(message=message).exists():
        raise CaseworkError("This message is already part of a case.")
    if MessageReview.objects.filter(message=message).exists():
        raise Changed("message")


def mark_reviewed(
    message: InboundMessage,
    by: User,
    note: str = "",
    outcome: str = MessageReview.Outcome.REVIEWED,
) -> MessageReview:
    """Take a message off the queue with what was decided about it.  Once only."""
    if len(note) > NOTE_MAX_CHARS:
        raise CaseworkError("The note is too long (at most 5,000 characters).")
    try:
        with transaction.atomic():
            if MessageReview.objects.filter(message=message).exists():
                raise Changed("message")
            review = MessageReview.objects.create(
                message=message, reviewed_by=by, note=note.strip(), outcome=outcome
            )
            verb = (
                audit.Verb.MARKED_NOT_A_REFERRAL
                if outcome == "not_a_referral"
                else audit.Verb.MESSAGE_REVIEWED
            )
            audit.record(by, verb, audit.MESSAGE, message.pk, review=review.pk, outcome=outcome)
    except IntegrityError:  # the one-to-one: someone else, at the same instant
        raise Changed("message") from None
    return review


def mark_not_a_referral(message: InboundMessage, by: User, note: str = "") -> MessageReview:
    if Submission.objects.filter(message=message).exists():
        raise CaseworkError("This message is already part of a case.")
    return mark_reviewed(message, by, note, MessageReview.Outcome.NOT_A_REFERRAL)


def make_case(message: InboundMessage, form_type: str, by: User) -> Referral:
    """Make a case of a message the service could not (no form read, or held): the
    chosen form type, the answers the reader found when they were for that form, the
    referrer its sender, the day it reached our mailbox, and the Rapid Review date
    that follows.  Missing answers are then put right on the case page."""
    from intake.matching import allocate_reference, child_key

    schema = questions.schemas().get(form_type)
    if schema is None:
        raise CaseworkError("Choose one of the forms.")
    assessment = message.assessment or {}
    same_form = assessment.get("form_type") == form_type
    fields = dict(assessment.get("fields") or {}) if same_form else {}
    received = received_day(message)
    checked = questions.recheck(schema, fields, received)
    with transaction.atomic():
        _waiting(message)
        reference, sequence = allocate_reference(_prefix(), received.year)
        referral = Referral.objects.create(
            reference=reference,
            year=received.year,
            sequence=sequence,
            form_type=form_type,
            status=Status.ACCEPTED,
            fields=fields,
            sources=dict(assessment.get("sources") or {}) if same_form else {},
            missing=checked.missing,
            invalid=checked.invalid,
            flags=["late_notification"] if checked.late_notification else [],
            referrer_email=(message.sender or "").strip().lower(),
            child_key=child_key(fields),
            received_on=received,
            rapid_review_due=checked.rapid_review_due,
            assignee=by,
        )
        Submission.objects.create(
            referral=referral,
            message=message,
            kind=Submission.Kind.FIRST,
            decision=message.decision,
            matched_by="made_by_team",
            form_type=form_type,
            fields=fields,
        )
        MessageReview.objects.create(
            message=message, reviewed_by=by, outcome=MessageReview.Outcome.CASE_MADE
        )
        audit.record(
            by,
            audit.Verb.CASE_MADE,
            audit.REFERRAL,
            referral.pk,
            message=message.pk,
            form_type=form_type,
        )
    return referral


def _prefix() -> str:
    from django.conf import settings

    return str(settings.INTAKE.service.reference_prefix)


def received_day(message: InboundMessage) -> date:
    """The one received date (issue 12): the day, in UK time, the message reached our
    mailbox, as the deadlines count it (its newest ``Received`` header, else its
    ``Date``, kept in its assessment), else the day it was fetched."""
    stored = (message.assessment or {}).get("received_on")
    if isinstance(stored, str):
        try:
            return date.fromisoformat(stored)
        except ValueError:
            pass
    when = message.received_at or message.created or timezone.now()
    return timezone.localdate(when)


# Why a message was decided as it was (`InboundMessage.reason_code`), in the team's words.
REASON_WORDS = {
    "unauthenticated": "our mail server did not authenticate the sender",
    "no_form": "no referral form was found in it",
    "unreadable_attachment": "an attachment could not be read",
    "parse": "it could not be read within its limits",
    "match": "the form took too long to read",
    "automatic": "automatic mail (an out-of-office reply, a bounce or a list)",
    "rule:hold": "a mailbox rule holds it for a person",
    "rule:ignore": "a mailbox rule ignores it (kept, never answered)",
    "form:accepted": "a complete referral form",
    "form:incomplete": "a referral form with answers missing or not valid",
    "form:needs_review": "the reader was not sure enough of the form to write back",
}


def reason_words(code: str) -> str:
    """``unauthenticated:no_verdict`` -> "our mail server did not authenticate the sender"."""
    if not code:
        return "not recorded"
    return REASON_WORDS.get(code) or REASON_WORDS.get(code.split(":", 1)[0], code)


# --- a return written by a person ----------------------------------------------------------


@dataclass(frozen=True)
class Draft:
    recipient: str
    subject: str
    text: str
    authenticated: bool  # our mail server's verdict on the sender


def draft_return(message: InboundMessage, config: IntakeConfig) -> Draft:
    """The incomplete return the service would write for ``message``, for a person to
    edit: the questions it found missing or not valid, or a general request for the
    form when it read none."""
    from intake.assess import assessment_from_dict
    from intake.replies import render_reply
    from intake.reply_queue import reply_context
    from intake.senders import sender_of

    assessment = assessment_from_dict(
        dict(message.assessment or {"decision": Decision.NEEDS_REVIEW})
    )
    sender = sender_of(message, config)
    context = reply_context(assessment, None, config, original_subject=message.subject or "")
    rendered = render_reply(ReplyKind.INCOMPLETE_RETURN, context, config)
    return Draft(sender.address, rendered.subject, rendered.text, sender.authenticated)


def send_return(
    message: InboundMessage, subject: str, text: str, by: User, config: IntakeConfig
) -> OutboundEmail:
    """Queue the return a person wrote (sent by the outbox, once) to the message's sender,
    in its thread, and take the message off the queue.  No attachment goes with it."""
    from intake.replies import RenderedReply, build_reply_message, child_names
    from intake.senders import sender_of

    subject, text = subject.strip(), text.strip()
    if not subject or not text or len(text) > 20000 or len(subject) > 300:
        raise CaseworkError("Write a subject and the text of the return.")
    sender = sender_of(message, config)
    if not sender.address:
        raise CaseworkError("The message has no sender address to send a return to.")
    body_html = "".join(f"<p>{html.escape(p)}</p>" for p in text.split("\n\n"))
    rendered = RenderedReply(
        subject=subject, text=text + "\n", html=body_html.replace("\n", "<br>")
    )
    built = build_reply_message(
        sender.mail.header_message(),
        rendered,
        config,
        to=sender.address,
        reference=None,
        names=child_names((message.assessment or {}).get("fields") or {}),
        attachment=None,
    )
    del built["Auto-Submitted"]  # a person wrote this one (RFC 3834 §5)
    with transaction.atomic():
        _waiting(message)
        if OutboundEmail.objects.filter(message=message, kind=ReplyKind.INCOMPLETE_RETURN).exists():
            raise CaseworkError("A return has been sent for this message already.")
        row = OutboundEmail.objects.create(
            message=message,
            kind=OutboundEmail.Kind.INCOMPLETE_RETURN,
            recipient=sender.address,
            subject=str(built["Subject"]),
            body_text=text + "\n",
            body_html=body_html,
            raw=built.as_bytes(),
            rfc_message_id=str(built["Message-ID"]),
            in_reply_to=str(built.get("In-Reply-To") or ""),
            next_attempt_at=timezone.now(),
        )
        MessageReview.objects.create(
            message=message, reviewed_by=by, outcome=MessageReview.Outcome.RETURNED
        )
        audit.record(by, audit.Verb.RETURN_WRITTEN, audit.MESSAGE, message.pk, reply=row.pk)
        audit.record(
            by, audit.Verb.REPLY_QUEUED, audit.REPLY, row.pk, kind=row.kind, message=message.pk
        )
    return row


# --- a parked message ------------------------------------------------------------------------


def resume(message: InboundMessage, by: User | None, via: str = "page") -> None:
    """Put a parked message back where it was parked, to be tried again at the next
    poll: its attempts start again; why it was parked stays in the history.

    ``by`` is the person (None from the command line).  Raises `CaseworkError`
    when the message is not parked (any more).
    """
    parked = InboundMessage.State.PARKED
    with transaction.atomic():
        current = (
            InboundMessage.objects.filter(pk=message.pk, state=parked)
            .values("parked_from", "parked_reason")
            .first()
        )
        if current is None:
            raise CaseworkError("This message is not waiting for a person: nothing to resume.")
        back_to = current["parked_from"] or InboundMessage.State.RECEIVED
        changed = InboundMessage.objects.filter(pk=message.pk, state=parked).update(
            state=back_to, attempts=0, next_attempt_at=timezone.now(), updated=timezone.now(),
        )  # fmt: skip
        if changed != 1:
            raise Changed("message")
        audit.record(
            by, audit.Verb.MESSAGE_RESUMED, audit.MESSAGE, message.pk,
            parked_reason=current["parked_reason"], state=back_to, via=via,
        )  # fmt: skip
