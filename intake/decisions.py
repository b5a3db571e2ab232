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

The parts live beside it: `intake.senders` (who sent it),
`intake.matching` (which case, and references), `intake.reply_queue` (the
reply row).  Sending happens later, in `intake.outbox.send_due`: a crash between the
decision and the send loses nothing, because the row is already committed.
Everything about the message is read from its stored parse
(`intake.store.load_mail`), never from its raw bytes.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import TYPE_CHECKING

import structlog
from django.db import transaction
from django.utils import timezone

from intake import audit, notifications
from intake.assess import MATCH_OVER_BUDGET, Assessment
from intake.audit import Verb
from intake.automatic import automatic_reason
from intake.models import (
    InboundMessage,
    Referral,
    Submission,
)
from intake.store import as_stored, safe_for_db
from intake.vocabulary import CASE_DECISIONS, Decision, ReplyKind

if TYPE_CHECKING:
    from intake.config import IntakeConfig

from intake.matching import allocate_reference, child_key, find_case
from intake.reply_queue import due_date, queue_reply
from intake.senders import UNTRUSTED, Sender, sender_of

log = structlog.get_logger(__name__)


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
        referral, held = _file_case(message, assessment, config, sender)
        outbound = queue_reply(message, assessment, referral, config, sender, held)
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
    now = timezone.now()
    updated = InboundMessage.objects.filter(pk=message.pk, decision="").update(
        decision=assessment.decision, reason_code=code[:64], assessment=stored, updated=now
    )
    if updated != 1:
        return False
    # The row in memory as the database now holds it (JSON gives lists back).
    message.decision, message.reason_code, message.updated = assessment.decision, code[:64], now
    message.assessment = as_stored(stored)
    audit.record(
        None, Verb.MESSAGE_DECIDED, audit.MESSAGE, message.pk, decision=assessment.decision
    )
    return True


def _file_case(
    message: InboundMessage, assessment: Assessment, config: IntakeConfig, sender: Sender
) -> tuple[Referral | None, str]:
    """The message's case, if any, and why its submission is held ("" when it is not,
    or when there is no case)."""
    if assessment.decision not in CASE_DECISIONS:
        return None, ""  # ignored: never joins a case (an out-of-office threads to our reply)
    found, matched_by = find_case(message, assessment, config, sender)
    if found is not None:
        return found, _join_case(found, message, assessment, matched_by, sender)
    if not assessment.form_type:
        return None, ""  # no form and no case: the message itself waits for a person
    return _open_case(message, assessment, config, sender)


STATUS_FOR: dict[str, str] = {
    Decision.ACCEPTED: Referral.Status.ACCEPTED,
    Decision.INCOMPLETE: Referral.Status.AWAITING_RESUBMISSION,
    Decision.NEEDS_REVIEW: Referral.Status.NEEDS_REVIEW,
}


def _open_case(
    message: InboundMessage, assessment: Assessment, config: IntakeConfig, sender: Sender
) -> tuple[Referral, str]:
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
        rapid_review_due=due_date(assessment),
    )
    held = _add_submission(referral, message, assessment, Submission.Kind.FIRST, "", sender, "")
    audit.record(None, Verb.REFERRAL_OPENED, audit.REFERRAL, referral.pk, status=referral.status)
    return referral, held


def _received_on(message: InboundMessage, assessment: Assessment) -> date:
    if assessment.received_on:
        return date.fromisoformat(assessment.received_on)
    if message.received_at is not None:
        return timezone.localdate(message.received_at)
    return timezone.localdate()


def _join_case(
    referral: Referral,
    message: InboundMessage,
    assessment: Assessment,
    matched_by: str,
    sender: Sender,
) -> str:
    """Add ``message`` to ``referral``; only a trusted, usable form updates the case.

    Every submission keeps its own answers; the case's answers are those of
    its latest submission allowed to change it.  A message from a sender our
    mail server did not authenticate, from anyone but the case's referrer, or
    whose display name holds another address never changes the case: it is
    held (`Submission.Held`) for a person to compare, and the case goes to
    needs review (issue 8).  An accepted case is not put back to "awaiting"
    by a later, worse form; a closed case stays closed; the Rapid Review
    date never moves later.  Returns why the stored submission is held ("" when it is not).
    """
    has_form = bool(assessment.form_type)
    kind = Submission.Kind.RESUBMISSION if has_form else Submission.Kind.FOLLOW_UP
    held = held_reason(referral, assessment, sender)
    stored = _add_submission(referral, message, assessment, kind, matched_by, sender, held)
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
    return stored


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
        due = due_date(assessment)
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
) -> str:
    """Store the message's submission to ``referral`` (once); returns why the stored
    one is held ("" when it is not)."""
    submission, _ = Submission.objects.get_or_create(
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
    return submission.held
