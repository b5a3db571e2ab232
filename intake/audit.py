"""The audit trail: who did what to which record, when (`intake.models.AuditEvent`).

Every look, download and action on the review pages, and every change made by a
service (`intake.casework`, `intake.users`), appends one event.  The detail holds
ids, codes, dates and field keys, never what a person typed about a child: that
stays in its own record (a note, a correction), which the detail names by id.

Two exceptions, kept in the event where administrators read them and never written
to the log (`NOT_LOGGED`): the account name typed at a failed or locked-out sign-in
(``account``), which may be no user's, asked for by a security review (issue 12);
and the old and new text of a rules or configuration file (``old_text``,
``new_text``), which names senders and addresses (issue 11).
"""

from __future__ import annotations

from typing import Any

import structlog
from django.db.models import TextChoices

from intake.models import AuditEvent

log = structlog.get_logger(__name__)

REFERRAL = "referral"
MESSAGE = "inbound_message"
REPLY = "outbound_email"
USER = "user"
QUEUE = "queue"
DASHBOARD = "dashboard"
EXPORT = "export"
AUDIT = "audit"
PEOPLE = "people"

# Kept in the event, never in a log line: a mailbox account; a file's text (rules name
# senders and addresses).
NOT_LOGGED = frozenset({"account", "old_text", "new_text"})


class Verb(TextChoices):
    """Every action the audit trail records, with the words the team reads (issue 10)."""

    SIGNED_IN = "signed_in", "Signed in"
    SIGNED_OUT = "signed_out", "Signed out"
    PASSWORD_ACCEPTED = "password_accepted", "Password accepted"
    SIGN_IN_FAILED = "sign_in_failed", "Sign-in failed"
    ACCOUNT_LOCKED_OUT = "account_locked_out", "Account locked out"
    SECOND_FACTOR_FAILED = "second_factor_failed", "Wrong second-factor code"
    SECOND_FACTOR_ENROLLED = "second_factor_enrolled", "Authenticator app set up"
    SECOND_FACTOR_RESET = "second_factor_reset", "Second factor reset"
    RECOVERY_CODES_RENEWED = "recovery_codes_renewed", "New recovery codes"
    PASSWORD_RESET = "password_reset", "Password reset"
    PASSWORD_CHANGED = "password_changed", "Password changed"
    ROLE_CHANGED = "role_changed", "Role changed"
    USER_CREATED = "user_created", "Account created"
    USER_ACTIVATED = "user_activated", "Account activated"
    USER_DEACTIVATED = "user_deactivated", "Account deactivated"
    ACCOUNT_UNLOCKED = "account_unlocked", "Account unlocked"
    ADMIN_REFUSED = "admin_refused", "Refused the admin"
    VIEWED = "viewed", "Viewed"
    SEARCHED = "searched", "Searched"
    EXPORTED = "exported", "Exported"
    DOWNLOADED = "downloaded", "Downloaded"
    ASSIGNED = "assigned", "Assigned"
    UNASSIGNED = "unassigned", "Unassigned"
    STATUS_CHANGED = "status_changed", "Status changed"
    CLOSED = "closed", "Closed"
    NOTE_ADDED = "note_added", "Note added"
    ANSWER_CORRECTED = "answer_corrected", "Answer corrected"
    STEP_RECORDED = "step_recorded", "Step recorded"
    CASE_MADE = "case_made", "Case made from a message"
    MESSAGE_REVIEWED = "message_reviewed", "Marked reviewed"
    MARKED_NOT_A_REFERRAL = "marked_not_a_referral", "Marked not a referral"
    RETURN_WRITTEN = "return_written", "Return written by a person"
    MESSAGE_DECIDED = "message_decided", "Decided"
    REFERRAL_OPENED = "referral_opened", "Case opened"
    REFERRAL_JOINED = "referral_joined", "Message joined the case"
    REPLY_QUEUED = "reply_queued", "Reply queued"
    REPLY_SENT = "reply_sent", "Reply sent"
    REPLY_SUPPRESSED = "reply_suppressed", "Reply held back (sender limit)"
    REPLY_FAILED = "reply_failed", "Reply failed"
    REPLY_UNCERTAIN = "reply_uncertain", "Reply may have been delivered"
    TEAM_NOTIFIED = "team_notified", "Team emailed"
    READ_AGAIN_REQUESTED = "read_again_requested", "Asked to read again"
    WORDING_PROPOSED = "wording_proposed", "Wording proposed"
    WORDING_CONFIRMED = "wording_confirmed", "Wording confirmed"
    WORDING_REJECTED = "wording_rejected", "Wording rejected"
    WORDING_RETIRED = "wording_retired", "Wording retired"
    RULES_CHANGED = "rules_changed", "Mailbox rules changed"
    CONFIG_CHANGED = "config_changed", "Configuration changed"
    RULES_DRY_RUN = "rules_dry_run", "Proposed rules tried"
    READ_AGAIN_DONE = "read_again_done", "Read again"
    MESSAGE_RESUMED = "message_resumed", "Tried again after parking"
    REPLY_PENDING = "reply_pending", "Reply to be tried again"


def record(actor: Any, verb: Verb, object_type: str, object_id: Any, **detail: Any) -> AuditEvent:
    """Append ``verb`` by ``actor`` (a user, or None for the service or an unknown person)
    on (``object_type``, ``object_id``); ids and codes in ``detail``."""
    user = actor if actor is not None and getattr(actor, "is_authenticated", False) else None
    event = AuditEvent.objects.create(
        actor=user, verb=verb, object_type=object_type, object_id=str(object_id), detail=detail
    )
    logged = {k: v for k, v in detail.items() if k not in NOT_LOGGED}
    log.info(
        verb,
        user_id=user.pk if user else None,
        object_type=object_type,
        object_id=object_id,
        **logged,
    )
    return event
