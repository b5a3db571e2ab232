"""Every look and every action on the review pages is an `AuditEvent` (and a log line).

The detail holds ids and codes only; anything a person typed stays in its
own record (`intake.models.review`), which the detail points to by id.
"""

from __future__ import annotations

from typing import Any

import structlog

from intake.models import AuditEvent

log = structlog.get_logger(__name__)

REFERRAL = "referral"
MESSAGE = "inbound_message"


def record(user: Any, verb: str, object_type: str, object_id: int, **detail: Any) -> AuditEvent:
    """Append ``verb`` by ``user`` on (``object_type``, ``object_id``); ids/codes in ``detail``."""
    event = AuditEvent.objects.create(
        actor=user, verb=verb, object_type=object_type, object_id=str(object_id), detail=detail
    )
    log.info(verb, user_id=user.pk, object_type=object_type, object_id=object_id, **detail)
    return event
