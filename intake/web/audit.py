"""Every look and every action on the review pages is an `AuditEvent` (and a log line).

The writing is `intake.audit`'s (services outside the web use it too); this module
keeps the names the views have always used.
"""

from __future__ import annotations

from intake.audit import (
    AUDIT,
    DASHBOARD,
    EXPORT,
    MESSAGE,
    PEOPLE,
    QUEUE,
    REFERRAL,
    REPLY,
    USER,
    record,
)

__all__ = [
    "AUDIT",
    "DASHBOARD",
    "EXPORT",
    "MESSAGE",
    "PEOPLE",
    "QUEUE",
    "REFERRAL",
    "REPLY",
    "USER",
    "record",
]
