"""An IMAP mailbox through imapclient.

- Implicit TLS (port 993) or STARTTLS (port 143), certificates verified
  against the system store or ``ca_file``; plain text only on loopback (the
  configuration refuses it elsewhere).
- Password login with the password read from the environment variable the
  configuration names, or XOAUTH2 with a token from `intake.mailbox.oauth`
  (Microsoft 365).  A cached token the server refuses (revoked, ended early)
  is dropped and a fresh one tried once before the sign-in counts as refused.
- Every fault is a `MailboxError` whose ``reason`` is a `Fault` and whose
  ``detail`` names what is wrong (the name that does not resolve, the port
  that refused, the certificate's fault, the server's or Microsoft's words,
  the folders that do exist): ``check-config --connect`` prints it.
- Fetching selects the folder read-only (EXAMINE) and asks for ``BODY.PEEK[]``
  (RFC 3501 §6.4.5), so nothing is marked ``\\Seen``.
- Network errors and timeouts drop the connection, wait (doubling from
  ``backoff`` seconds) and reconnect, up to ``retries`` times per operation;
  a refused sign-in or a rejected certificate is never retried.
- `FolderWatcher` (``intake.mailbox.idle``) keeps one connection in IDLE per
  watched folder; sockets have TCP keepalive, so a silently dead peer is found.
  A UIDVALIDITY change seen on reconnect stops the fetch
  (`UidValidityChanged`): the caller re-scans rather than trusting stale UIDs.
"""

from __future__ import annotations

import contextlib
import imaplib
import itertools
import os
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import partial
from typing import Any, TypeVar

import structlog
from imapclient import DELETED, IMAPClient
from imapclient.exceptions import LoginError

from intake.config import MailboxConfig
from intake.errors import MailboxAuthError, MailboxError, UidValidityChanged, doubling_backoff
from intake.mailbox.base import Fault, FetchedMessage, FolderState, OpenCloseContext

log = structlog.get_logger(__name__)
T = TypeVar("T")
NETWORK_ERRORS = (imaplib.IMAP4.abort, OSError)  # OSError covers timeouts and resets
MAX_BACKOFF_SECONDS = 30.0
# Set by the worker when it is told to stop: a reconnect waiting out its backoff
# gives up at once instead of holding the shutdown for half a minute.
STOPPING = threading.Event()


def pause(seconds: float) -> None:
    """Wait out a reconnect's backoff, in short naps, cut short by `STOPPING`."""
    for _ in range(max(1, int(seconds / 0.25))):
        if STOPPING.is_set():
            return
        time.sleep(min(0.25, seconds))


MAX_FOLDERS_NAMED = 30  # in a "folder missing" detail
# Exchange Online answers a refused XOAUTH2 with a bare "AUTHENTICATE failed."
OAUTH_REFUSED_HINT = (
    "is the app's service principal given FullAccess to this mailbox "
    "(Add-MailboxPermission), and IMAP enabled for it?"
)


class ImapMailbox(OpenCloseContext):
    """`intake.mailbox.base.Mailbox` over IMAP4rev1."""

    def __init__(
        self,
        cfg: MailboxConfig,
        *,
        retries: int = 3,
        backoff: float = 1.0,
        sleep: Callable[[float], object] = pause,
    ) -> None:
        self.cfg = cfg
        self.retries = retries
        self.backoff = backoff
        self._sleep = sleep
        self.client: IMAPClient | None = None
        self._selected: tuple[str, bool] | None = None
        self._folders: set[str] = set()  # folders seen to exist on this connection
        self._uidvalidity: dict[str, int] = {}

    # -- connection -------------------------------------------------------
    def open(self) -> None:
        self._call(lambda client: None)

    def close(self) -> None:
        client, self.client, self._selected = self.client, None, None
        if client is None:
            return
        try:
            client.logout()
        except Exception:  # closing must never raise: drop the socket instead
            with contextlib.suppress(Exception):
                client.shutdown()

    def _ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.cfg.ca_file or None)

    def _connect(self) -> IMAPClient:
        client = self._open_connection()
        try:
            self._authenticate(client)
        except BaseException:
            with contextlib.suppress(Exception):
                client.shutdown()
            raise
        return client

    def _open_connection(self) -> IMAPClient:
        """A connected client (TLS as configured), not yet signed in."""
        implicit = self.cfg.security == "tls"
        context = self._ssl_context() if self.cfg.security != "none" else None
        try:
            client = IMAPClient(
                self.cfg.host,
                port=self.cfg.port,
                ssl=implicit,
                ssl_context=context if implicit else None,
                timeout=self.cfg.timeout_seconds,
            )
            if self.cfg.security == "starttls":
                client.starttls(context)
        except (OSError, imaplib.IMAP4.error) as exc:
            raise connect_fault(exc, self.cfg) from exc
        client.normalise_times = False  # keep INTERNALDATE's zone: aware datetimes
        keep_alive(client.socket())
        return client

    def _authenticate(self, client: IMAPClient) -> None:
        """Sign in with a password or, for ``auth = "oauth2"``, XOAUTH2."""
        if self.cfg.auth == "oauth2":
            self._oauth2_login(client)
            return
        password = os.environ.get(self.cfg.password_env)
        if not password:  # unset, or empty (compose passes unset variables as "")
            raise MailboxAuthError(
                "password missing",
                reason=Fault.PASSWORD_MISSING,
                detail=f"${self.cfg.password_env} is not set",
            )
        try:
            client.login(self.cfg.username, password)
        except LoginError as exc:
            raise MailboxAuthError(
                "login refused", reason=Fault.LOGIN_REFUSED, detail=server_words(exc)
            ) from exc

    def _oauth2_login(self, client: IMAPClient) -> None:
        from intake.mailbox.oauth import token_source

        if not client.has_capability("AUTH=XOAUTH2"):
            raise MailboxAuthError(
                "no XOAUTH2",
                reason=Fault.LOGIN_REFUSED,
                detail=f"{self.cfg.host} does not offer AUTH=XOAUTH2",
            )
        source = token_source(self.cfg)
        token = source.token()
        try:
            client.oauth2_login(self.cfg.username, token.value)
            return
        except LoginError as exc:
            if not token.from_cache:
                raise self._token_refused(exc) from exc
            # msal still trusted it, the server does not (revoked, or ended early)
            source.discard(token)
            log.info("imap_cached_token_refused")
        try:
            client.oauth2_login(self.cfg.username, source.token().value)
        except LoginError as exc:
            raise self._token_refused(exc) from exc

    def _token_refused(self, exc: LoginError) -> MailboxAuthError:
        return MailboxAuthError(
            "token refused",
            reason=Fault.LOGIN_REFUSED,
            detail=f"{server_words(exc)} ({OAUTH_REFUSED_HINT})",
        )

    def _client(self) -> IMAPClient:
        if self.client is None:
            self.client = self._connect()
            self._selected = None
            self._folders = set()
        return self.client

    def connected(self) -> IMAPClient:
        """The signed-in client (connecting first if need be); raises `MailboxError`."""
        return self._call(lambda client: client)

    def _drop(self) -> None:
        client, self.client, self._selected = self.client, None, None
        if client is not None:
            with contextlib.suppress(Exception):  # the connection is already broken
                client.shutdown()

    def _call(self, operation: Callable[[IMAPClient], T]) -> T:
        """Run ``operation`` with a live client, reconnecting after network errors.

        A connection that cannot be made is retried only when its fault may pass
        (a refused port, a timeout); a refused sign-in or certificate is raised at once.
        """
        for attempt in itertools.count():
            try:
                client = self._client()
            except MailboxError as exc:
                if not exc.retryable or attempt >= self.retries or STOPPING.is_set():
                    raise
                self._wait(attempt, exc.reason)
                continue
            try:
                return operation(client)
            except NETWORK_ERRORS as exc:
                self._drop()
                if attempt >= self.retries or STOPPING.is_set():
                    raise MailboxError(
                        type(exc).__name__,
                        reason=Fault.CONNECTION_LOST,
                        detail=f"{self.cfg.host}:{self.cfg.port}: {type(exc).__name__}",
                    ) from exc
                self._wait(attempt, Fault.CONNECTION_LOST)
            except imaplib.IMAP4.error as exc:
                raise MailboxError(
                    type(exc).__name__, reason=Fault.COMMAND_FAILED, detail=server_words(exc)
                ) from exc
        raise AssertionError("unreachable")

    def _wait(self, attempt: int, reason: str) -> None:
        delay = doubling_backoff(self.backoff, attempt, MAX_BACKOFF_SECONDS)
        log.warning("imap_reconnecting", attempt=attempt + 1, error_code=reason, delay=delay)
        self._sleep(delay)

    def _select(self, client: IMAPClient, folder: str, *, readonly: bool) -> int:
        """Select ``folder``; returns its UIDVALIDITY and remembers it per folder."""
        if self._selected != (folder, readonly):
            info = self._on_folder(client, folder, lambda: client.select_folder(folder, readonly))
            self._selected = (folder, readonly)
            uidvalidity = int(info[b"UIDVALIDITY"])
            known = self._uidvalidity.setdefault(folder, uidvalidity)
            if known != uidvalidity:
                self._uidvalidity[folder] = uidvalidity
                raise UidValidityChanged(f"{folder}: {known} -> {uidvalidity}")
        return self._uidvalidity[folder]

    # -- the Mailbox interface -------------------------------------------
    def _on_folder(self, client: IMAPClient, folder: str, command: Callable[[], T]) -> T:
        """``command()`` on ``folder``; a refusal because it does not exist is
        `Fault.FOLDER_MISSING`, naming the folders that do."""
        try:
            return command()
        except imaplib.IMAP4.abort:
            raise
        except imaplib.IMAP4.error:
            if client.folder_exists(folder):
                raise
            names = sorted(name for _flags, _delimiter, name in client.list_folders())
            more = ", ..." if len(names) > MAX_FOLDERS_NAMED else ""
            shown = ", ".join(names[:MAX_FOLDERS_NAMED]) + more
            raise MailboxError(
                "folder missing",
                reason=Fault.FOLDER_MISSING,
                detail=f"{folder!r} does not exist; the folders are: {shown}",
                retryable=False,
            ) from None

    def select_readonly(self, folder: str) -> int:
        """EXAMINE ``folder`` (for IDLE); returns its UIDVALIDITY."""
        return self._call(lambda c: self._select(c, folder, readonly=True))

    def folder_state(self, folder: str) -> FolderState:
        status = self._call(
            lambda c: self._on_folder(
                c, folder, lambda: c.folder_status(folder, [b"UIDVALIDITY", b"UIDNEXT"])
            )
        )
        uidvalidity = int(status[b"UIDVALIDITY"])
        self._uidvalidity[folder] = uidvalidity
        self._selected = None  # re-select so a later SELECT compares with this value
        return FolderState(uidvalidity, int(status[b"UIDNEXT"]))

    def fetch(
        self,
        folder: str,
        *,
        uids: Iterable[int] | None = None,
        after_uid: int = 0,
        batch_size: int = 50,
        max_bytes: int | None = None,
    ) -> Iterator[FetchedMessage]:
        if uids is None:
            wanted = self._call(lambda c: self._uids_after(c, folder, after_uid))
        else:
            wanted = sorted(set(uids))
        for start in range(0, len(wanted), batch_size):
            chunk = wanted[start : start + batch_size]
            yield from self._call(
                partial(self._fetch_chunk, folder=folder, chunk=chunk, max_bytes=max_bytes)
            )

    def _uids_after(self, client: IMAPClient, folder: str, after_uid: int) -> list[int]:
        self._select(client, folder, readonly=True)
        # "N:*" always includes the highest UID, even one below N (RFC 3501 §6.4.8),
        # so filter: otherwise the last message would be fetched on every poll.
        found = client.search(["UID", f"{after_uid + 1}:*"])
        return sorted(uid for uid in found if uid > after_uid)

    def _fetch_chunk(
        self, client: IMAPClient, folder: str, chunk: Sequence[int], max_bytes: int | None
    ) -> list[FetchedMessage]:
        self._select(client, folder, readonly=True)
        sizes = _complete(
            client.fetch(chunk, ["RFC822.SIZE", "INTERNALDATE"]), chunk, b"RFC822.SIZE"
        )
        whole = [
            u for u in chunk if max_bytes is None or int(sizes[u][b"RFC822.SIZE"]) <= max_bytes
        ]
        heads = [u for u in chunk if u not in whole]
        bodies = _complete(client.fetch(whole, ["BODY.PEEK[]"]), whole, b"BODY[]") if whole else {}
        headers = (
            _complete(client.fetch(heads, ["BODY.PEEK[HEADER]"]), heads, b"BODY[HEADER]")
            if heads
            else {}
        )
        found = [_fetched(u, sizes[u], bodies[u], b"BODY[]", False) for u in whole]
        found += [_fetched(u, sizes[u], headers[u], b"BODY[HEADER]", True) for u in heads]
        return sorted(found, key=lambda m: m.uid)

    def file(self, folder: str, uid: int, target_folder: str) -> None:
        self._call(lambda c: self._file(c, folder, uid, target_folder))

    def _file(self, client: IMAPClient, folder: str, uid: int, target: str) -> None:
        self._ensure_folder(client, target)
        self._select(client, folder, readonly=False)
        if client.has_capability("MOVE"):
            client.move([uid], target)  # RFC 6851: atomic, one UID only
            return
        client.copy([uid], target)
        client.add_flags([uid], [DELETED], silent=True)
        if client.has_capability("UIDPLUS"):
            client.uid_expunge([uid])  # RFC 4315 §2.1: expunges this UID and no other
        else:
            # A plain EXPUNGE would also remove whatever a person marked \Deleted;
            # leave ours flagged instead and let the server's own cleanup take it.
            log.warning("imap_expunge_skipped", reason="no_uidplus")

    def add_flags(self, folder: str, uid: int, flags: Iterable[str]) -> None:
        wanted = [f.encode() for f in flags]
        if not wanted:
            return

        def operation(client: IMAPClient) -> None:
            self._select(client, folder, readonly=False)
            client.add_flags([uid], wanted, silent=True)  # a UID gone already: nothing to do

        self._call(operation)

    def uids(self, folder: str) -> list[int]:
        return self._call(lambda c: self._uids_after(c, folder, 0))

    def _ensure_folder(self, client: IMAPClient, folder: str) -> None:
        # Asked once a connection, not once a message (issue 10): a folder deleted
        # meanwhile fails the MOVE, which ends the poll; the next one connects
        # afresh and creates it.
        if folder in self._folders:
            return
        if client.folder_exists(folder):
            self._folders.add(folder)
            return
        try:
            client.create_folder(folder)
        except imaplib.IMAP4.error:
            if not client.folder_exists(folder):  # created meanwhile by someone else: fine
                raise
        self._folders.add(folder)
        log.info("imap_folder_created")

    def append(self, folder: str, raw: bytes, flags: Iterable[str] = ("\\Seen",)) -> None:
        def operation(client: IMAPClient) -> None:
            self._ensure_folder(client, folder)
            client.append(folder, raw, flags=tuple(flags))

        self._call(operation)

    def list_folders(self) -> list[str]:
        return [name for _flags, _delimiter, name in self._call(lambda c: c.list_folders())]


def connect_fault(exc: BaseException, cfg: MailboxConfig) -> MailboxError:
    """What went wrong while connecting, as a `MailboxError` that says so."""
    where = f"{cfg.host}:{cfg.port}"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return MailboxError(
            "certificate rejected",
            reason=Fault.TLS_CERTIFICATE_REJECTED,
            detail=f"{where}: {exc.verify_message or exc.reason}",
            retryable=False,
        )
    if isinstance(exc, ssl.SSLError):
        return MailboxError(
            "TLS failed", reason=Fault.TLS_FAILED, detail=f"{where}: {exc.reason or exc}"
        )
    if isinstance(exc, socket.gaierror):
        return MailboxError(
            "name not resolved",
            reason=Fault.HOST_NOT_FOUND,
            detail=f"the name {cfg.host!r} does not resolve ({exc.strerror})",
        )
    if isinstance(exc, ConnectionRefusedError):
        return MailboxError(
            "refused", reason=Fault.CONNECTION_REFUSED, detail=f"{where} refused the connection"
        )
    if isinstance(exc, TimeoutError):
        return MailboxError(
            "timeout",
            reason=Fault.CONNECTION_TIMEOUT,
            detail=f"{where} did not answer within {cfg.timeout_seconds} s",
        )
    if isinstance(exc, imaplib.IMAP4.error) and not isinstance(exc, imaplib.IMAP4.abort):
        # STARTTLS refused: the server offers no TLS on this port
        return MailboxError(
            "STARTTLS refused", reason=Fault.TLS_FAILED, detail=f"{where}: {server_words(exc)}"
        )
    text = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
    return MailboxError(
        "connection failed", reason=Fault.CONNECTION_LOST, detail=f"{where}: {text}"
    )


def server_words(exc: BaseException) -> str:
    """The server's own text of a refusal, e.g. ``[AUTHENTICATIONFAILED] Authentication failed.``"""
    text = str(exc)
    if text.startswith(("b'", 'b"')) and text.endswith(("'", '"')):
        text = text[2:-1]
    return " ".join(text.split())[:200]


def keep_alive(sock: socket.socket) -> None:
    """TCP keepalive: a peer gone without a word (a NAT dropping the connection, a
    server's power cut) is noticed within about two minutes, even in IDLE."""
    with contextlib.suppress(OSError, AttributeError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, 60)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, 15)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, 4)


def _complete(
    response: dict[int, dict[bytes, Any]], wanted: Sequence[int], item: bytes
) -> dict[int, dict[bytes, Any]]:
    """``response``, if it holds ``item`` for every wanted UID; otherwise a retryable error.

    Skipping a UID the server left out (expunged since the SEARCH, or a server
    fault) would let the caller's sync point move past it and that message
    would never be stored.  Failing the poll instead makes the next one search
    again: an expunged UID is then gone from the search, anything else is retried.
    """
    missing = [u for u in wanted if response.get(u, {}).get(item) is None]
    if missing:
        # Counts only: which messages is not needed to retry, and UIDs say little anyway.
        log.warning(
            "imap_fetch_incomplete", item=item.decode(), missing=len(missing), wanted=len(wanted)
        )
        raise MailboxError(
            f"{len(missing)} of {len(wanted)} UIDs came back without {item.decode()}",
            reason="imap_fetch_incomplete",
        )
    return response


def _fetched(
    uid: int, meta: dict[bytes, Any], data: dict[bytes, Any], key: bytes, headers_only: bool
) -> FetchedMessage:
    return FetchedMessage(
        uid=uid,
        raw=bytes(data[key]),
        internaldate=meta.get(b"INTERNALDATE"),
        size=int(meta[b"RFC822.SIZE"]),
        headers_only=headers_only,
    )
