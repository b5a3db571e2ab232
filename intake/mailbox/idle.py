"""New mail noticed within moments: IMAP IDLE (RFC 2177) on one watched folder.

`FolderWatcher.run` keeps one connection of its own in IDLE on the folder
(EXAMINE: read-only, nothing marked) and calls ``on_new_mail`` whenever the
server reports a message arriving (``EXISTS``/``RECENT``), and once after
every (re)connection, since mail may have come while it was away.  It only
tells: the poll that follows (its own connection, the mailbox lease) does
the work, so a message seen twice is still stored once.

Keeping the connection honest:

- IDLE is renewed (``DONE``, then ``IDLE`` again) every
  ``idle_renew_seconds``, well before the 30 minutes after which a server may
  end it (§3), and a NAT box forget it.  The server must answer the ``DONE``
  within ``timeout_seconds``: a connection that does not is dead.
- A wake-up with nothing to read, a ``BYE``, an end of file or a socket error
  mean the connection is gone: the watcher reconnects at once, then with a
  doubling wait (to five minutes) while it keeps failing.
- TCP keepalive (`intake.mailbox.imap.keep_alive`) finds a peer that vanished
  without a word within about two minutes, even between renewals.

A server without IDLE makes `run` return `Outcome.UNSUPPORTED` (the caller
polls instead).  Connection faults go to ``on_error`` (a sign-in alarm, a
log line) and never end the watcher: only ``stop`` does.
"""

from __future__ import annotations

import imaplib
import threading
import time
from collections.abc import Callable
from enum import StrEnum
from typing import Any

import structlog
from imapclient import IMAPClient

from intake.config import MailboxConfig
from intake.errors import IntakeError, MailboxError
from intake.mailbox.imap import NETWORK_ERRORS, ImapMailbox

log = structlog.get_logger(__name__)
NEW_MAIL = frozenset({b"EXISTS", b"RECENT"})
FIRST_RETRY_SECONDS = 2.0
MAX_RETRY_SECONDS = 300.0


class Outcome(StrEnum):
    STOPPED = "stopped"
    UNSUPPORTED = "unsupported"  # the server offers no IDLE: poll instead


class ConnectionGone(IntakeError):
    """The IDLE connection ended (BYE, end of file, no answer to DONE)."""

    reason = "idle_connection_gone"


class FolderWatcher:
    """IDLE on ``cfg.folder`` until ``stop`` is set; see the module docstring."""

    def __init__(
        self,
        cfg: MailboxConfig,
        on_new_mail: Callable[[], None],
        stop: threading.Event,
        *,
        on_connected: Callable[[], None] = lambda: None,
        on_error: Callable[[MailboxError], None] = lambda exc: None,
        check_seconds: float = 1.0,
    ) -> None:
        self.cfg = cfg
        self.on_new_mail = on_new_mail
        self.on_connected = on_connected
        self.on_error = on_error
        self.stop = stop
        self.check_seconds = check_seconds  # how often the stop switch is looked at
        self.connections = 0
        self.renewals = 0

    def run(self) -> Outcome:
        wait = FIRST_RETRY_SECONDS
        while not self.stop.is_set():
            try:
                if self._session() is Outcome.UNSUPPORTED:
                    return Outcome.UNSUPPORTED
                wait = FIRST_RETRY_SECONDS  # it worked for a while: the next reconnect is prompt
                continue
            except MailboxError as exc:
                log.warning("idle_connect_failed", error_code=exc.reason)
                self.on_error(exc)
            except (ConnectionGone, *NETWORK_ERRORS) as exc:
                log.info("idle_connection_lost", error=type(exc).__name__)
            self.stop.wait(wait)
            wait = min(wait * 2, MAX_RETRY_SECONDS)
        return Outcome.STOPPED

    def _session(self) -> Outcome | None:
        """One connection's life: connect, EXAMINE, IDLE until stopped or gone."""
        with ImapMailbox(self.cfg, retries=0) as box:
            client = box.connected()
            if not client.has_capability("IDLE"):
                log.info("idle_unsupported")
                return Outcome.UNSUPPORTED
            box.select_readonly(self.cfg.folder)
            self.connections += 1
            log.info("idle_watching", connections=self.connections)
            self.on_connected()
            self._watch(client)
        return None

    def _watch(self, client: IMAPClient) -> None:
        client.idle()
        started = time.monotonic()
        while not self.stop.is_set():
            left = self.cfg.idle_renew_seconds - (time.monotonic() - started)
            if left <= 0:
                self._renew(client)
                started = time.monotonic()
                continue
            wait = min(self.check_seconds, left)
            asked = time.monotonic()
            responses = client.idle_check(timeout=wait)
            if self._read(responses):
                continue
            if time.monotonic() - asked < wait / 2:
                # Woken with nothing to read: usually the server closed the connection
                # (imapclient swallows the end of file).  DONE's answer proves it either way.
                self._renew(client)
                started = time.monotonic()
        self._leave(client)

    def _read(self, responses: list[Any]) -> bool:
        """Act on what the server said; True when it said anything."""
        for response in responses:
            if response and response[0] == b"BYE":
                raise ConnectionGone("BYE")
            if len(response) > 1 and response[1] in NEW_MAIL:
                log.info("idle_new_mail")
                self.on_new_mail()
                break
        return bool(responses)

    def _renew(self, client: IMAPClient) -> None:
        try:
            _text, responses = client.idle_done()
            client.idle()
        except imaplib.IMAP4.error as exc:
            raise ConnectionGone(type(exc).__name__) from exc
        self.renewals += 1
        self._read(responses)

    def _leave(self, client: IMAPClient) -> None:
        try:
            client.idle_done()
        except (*NETWORK_ERRORS, imaplib.IMAP4.error):
            pass  # closing anyway
