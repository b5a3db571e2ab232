"""Why a step failed, and whether it is worth trying again.

Every failure the pipeline records is classified here, in one place
(`classify`), into a short stable ``reason`` code stored on the row and a
``retryable`` flag that decides between "try again later with backoff" and
"park for a person".  The idea follows healthchecks' ``TransportError``:
whether an error is worth retrying rides on the error itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import DatabaseError, OperationalError

from parsers.errors import ParseError


class IntakeError(Exception):
    """Base of the service's own errors; subclasses set ``reason``/``retryable``."""

    reason = "internal_error"
    retryable = True

    def __init__(self, message: str = "", *, reason: str | None = None) -> None:
        super().__init__(message or (reason or self.reason))
        if reason is not None:
            self.reason = reason


def doubling_backoff(base: float, attempt: int, cap: float) -> float:
    """Seconds to wait before the next try: ``base`` doubled for each ``attempt``
    already made (0 for the first retry), never more than ``cap``.  The one
    backoff of the service: the pipeline's steps, the outbox, the mailboxes."""
    return float(min(base * 2 ** max(attempt, 0), cap))


class MailboxError(IntakeError):
    """The mailbox could not be reached or refused an operation (worth retrying).

    ``reason`` is one of `intake.mailbox.base.Fault`; ``detail`` is what an
    administrator needs to fix it (the server's or Microsoft's own words, the
    folders that do exist), never a secret and never mail content.
    """

    reason = "mailbox_unavailable"

    def __init__(
        self,
        message: str = "",
        *,
        reason: str | None = None,
        detail: str = "",
        retryable: bool | None = None,
    ) -> None:
        super().__init__(message, reason=reason)
        self.detail = detail[:300]
        if retryable is not None:
            self.retryable = retryable


class MailboxAuthError(MailboxError):
    """The mailbox refused our credentials, or we have none to offer: a person must
    fix the configuration or the app registration (a sign-in alarm, `intake.alarms`)."""

    reason = "mailbox_auth_failed"
    retryable = False


class UidValidityChanged(MailboxError):
    """The folder's UIDVALIDITY changed under us (RFC 3501 §2.3.1.1): rescan."""

    reason = "uidvalidity_changed"


class LeaseLost(IntakeError):
    """Another worker took this mailbox's lease: stop touching the mailbox."""

    reason = "lease_lost"


class StepConflict(IntakeError):
    """The row was not in the state this step expected: another worker moved it."""

    reason = "state_conflict"


@dataclass(frozen=True)
class Failure:
    """What is recorded about one failed step."""

    reason: str
    retryable: bool
    summary: str  # short, for the row: the exception type and its reason code


def classify(exc: BaseException) -> Failure:
    """Sort any exception raised by a step into a reason code and retryability.

    Unknown exceptions are our bug, not the sender's: retryable (the fix may be
    deployed before the attempts run out), then parked.
    """
    name = type(exc).__name__
    if isinstance(exc, IntakeError):
        return Failure(exc.reason, exc.retryable, f"{name}: {exc.reason}")
    if isinstance(exc, ParseError):
        return Failure(exc.reason.value, False, f"{name}: {exc.reason.value}")
    if isinstance(exc, OperationalError):
        return Failure("database_unavailable", True, name)
    if isinstance(exc, DatabaseError):
        return Failure("database_error", True, name)
    if isinstance(exc, NotImplementedError):
        return Failure("not_implemented", True, name)
    if isinstance(exc, (OSError, TimeoutError)):
        return Failure("io_error", True, name)
    return Failure("internal_error", True, name)
