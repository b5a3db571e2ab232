"""The audit trail: who did what to which record, when (`intake.models.AuditEvent`).

Every look, download and action on the review pages, and every change made by a
service (`intake.casework`, `intake.users`), appends one event.  The detail holds
ids, codes, dates and field keys, never what a person typed about a child: that
stays in its own record (a note, a correction), which the detail names by id.

One exception, asked for by a security review (issue 12): the account name typed at
a failed or locked-out sign-in (``account``), which may be no user's.  It is kept in
the event, where administrators read it, and never written to the log.
"""

from __future__ import annotations

from typing import Any

import structlog

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

NOT_LOGGED = frozenset({"account"})  # kept in the event, never in a log line


def record(actor: Any, verb: str, object_type: str, object_id: Any, **detail: Any) -> AuditEvent:
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
