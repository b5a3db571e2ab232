"""The one small interface every mailbox adapter (IMAP, Maildir) speaks.

A UID is meaningful only together with its folder's UIDVALIDITY (RFC 3501
§2.3.1.1).  Adapters never delete a message and never mark one read while
fetching; the only change they make to a watched folder is `Mailbox.file`,
which moves one message to another folder once it has been handled.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from types import TracebackType
from typing import Protocol, Self


class Fault(StrEnum):
    """Why a mailbox could not be used: the ``reason`` of every `MailboxError`.

    Stored on `MailboxState.last_error` and on sign-in alarms, shown by
    ``intake check-config --connect`` with the error's ``detail``.
    """

    HOST_NOT_FOUND = "host_not_found"
    CONNECTION_REFUSED = "connection_refused"
    CONNECTION_TIMEOUT = "connection_timeout"
    CONNECTION_LOST = "connection_lost"
    TLS_CERTIFICATE_REJECTED = "tls_certificate_rejected"
    TLS_FAILED = "tls_failed"
    PASSWORD_MISSING = "password_missing"
    CLIENT_SECRET_MISSING = "client_secret_missing"
    CLIENT_CERTIFICATE_UNREADABLE = "client_certificate_unreadable"
    TOKEN_REFUSED = "token_refused"
    TOKEN_ENDPOINT_UNREACHABLE = "token_endpoint_unreachable"
    SIGN_IN_REQUIRED = "sign_in_required"
    LOGIN_REFUSED = "mailbox_auth_failed"
    FOLDER_MISSING = "folder_missing"
    COMMAND_FAILED = "imap_command_failed"
    FETCH_INCOMPLETE = "imap_fetch_incomplete"
    UIDVALIDITY_CHANGED = "uidvalidity_changed"
    UNAVAILABLE = "mailbox_unavailable"

    @property
    def label(self) -> str:
        """What it means, in a few words, for a person."""
        return FAULT_LABELS[self]


FAULT_LABELS = {
    Fault.HOST_NOT_FOUND: "the server's name does not resolve",
    Fault.CONNECTION_REFUSED: "the server refused the connection on that port",
    Fault.CONNECTION_TIMEOUT: "the server did not answer in time",
    Fault.CONNECTION_LOST: "the connection dropped",
    Fault.TLS_CERTIFICATE_REJECTED: "the server's TLS certificate was rejected",
    Fault.TLS_FAILED: "the TLS handshake failed",
    Fault.PASSWORD_MISSING: "the password's environment variable is not set",
    Fault.CLIENT_SECRET_MISSING: "the client secret's environment variable is not set",
    Fault.CLIENT_CERTIFICATE_UNREADABLE: "the client certificate cannot be read",
    Fault.TOKEN_REFUSED: "Microsoft refused to issue a token",
    Fault.TOKEN_ENDPOINT_UNREACHABLE: "the token endpoint could not be reached",
    Fault.SIGN_IN_REQUIRED: "nobody has signed in (intake signin)",
    Fault.LOGIN_REFUSED: "the mailbox refused the sign-in",
    Fault.FOLDER_MISSING: "the folder does not exist",
    Fault.COMMAND_FAILED: "the server refused a command",
    Fault.FETCH_INCOMPLETE: "the server left messages out of a fetch",
    Fault.UIDVALIDITY_CHANGED: "the folder was renumbered (UIDVALIDITY)",
    Fault.UNAVAILABLE: "the mailbox is not usable",
}
# Faults a person must fix (credentials, consent, the app registration): each one is
# a sign-in alarm (intake.alarms), never just a log line.
SIGN_IN_FAULTS = frozenset(
    {
        Fault.PASSWORD_MISSING,
        Fault.CLIENT_SECRET_MISSING,
        Fault.CLIENT_CERTIFICATE_UNREADABLE,
        Fault.TOKEN_REFUSED,
        Fault.SIGN_IN_REQUIRED,
        Fault.LOGIN_REFUSED,
    }
)


@dataclass(frozen=True)
class FolderState:
    uidvalidity: int
    uidnext: int  # the UID the next message will get (an upper bound on UIDs seen)


@dataclass(frozen=True)
class FetchedMessage:
    uid: int
    raw: bytes  # the whole message, or its header only when ``headers_only``
    internaldate: datetime | None
    size: int  # of the whole message on the server
    headers_only: bool = False


class Mailbox(Protocol):
    """A mailbox account; use as a context manager (``with open_mailbox(cfg) as box``)."""

    def open(self) -> None:
        """Connect and log in; raises `intake.errors.MailboxError`."""

    def close(self) -> None:
        """Log out; never raises."""

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def folder_state(self, folder: str) -> FolderState:
        """UIDVALIDITY and UIDNEXT of ``folder``."""

    def fetch(
        self,
        folder: str,
        *,
        uids: Iterable[int] | None = None,
        after_uid: int = 0,
        batch_size: int = 50,
        max_bytes: int | None = None,
    ) -> Iterator[FetchedMessage]:
        """Messages of ``folder`` (the given ``uids``, or every UID above ``after_uid``), in
        UID order, fetched in batches without setting ``\\Seen``.  A message larger than
        ``max_bytes`` comes back with its header only (``headers_only=True``)."""

    def file(self, folder: str, uid: int, target_folder: str) -> None:
        """Move message ``uid`` from ``folder`` to ``target_folder`` (created if missing).
        A UID no longer in ``folder`` is not an error: it was filed already."""

    def add_flags(self, folder: str, uid: int, flags: Iterable[str]) -> None:
        """Set ``flags`` (``\\Flagged``, ``\\Seen``) on message ``uid`` of ``folder``, as a
        mailbox rule says (issue 11).  A UID no longer in ``folder`` is not an error."""

    def uids(self, folder: str) -> list[int]:
        """Every UID of ``folder``, in order, without changing anything (IMAP EXAMINE)."""

    def append(self, folder: str, raw: bytes, flags: Iterable[str] = ("\\Seen",)) -> None:
        """Add ``raw`` to ``folder`` (created if missing), e.g. a copy of a reply we sent."""

    def list_folders(self) -> list[str]:
        """Every folder's name."""


class OpenCloseContext:
    """The context-manager half of `Mailbox`, shared by the adapters.

    ``with box:`` calls ``open()`` on entry and ``close()`` on exit, whether or not
    the block raised; exceptions are never swallowed.  Subclasses provide ``open``
    and ``close`` with the contracts `Mailbox` states.
    """

    def open(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        self.open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def header_block(raw: bytes) -> bytes:
    """The header section of a message: up to and including the first empty line."""
    for separator in (b"\r\n\r\n", b"\n\n"):
        end = raw.find(separator)
        if end != -1:
            return raw[: end + len(separator)]
    return raw
