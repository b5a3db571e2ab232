"""IMAP IDLE against a real Dovecot: new mail noticed within moments, the IDLE renewed,
a dead connection found and replaced, and polling for a server without IDLE."""

from __future__ import annotations

import dataclasses
import threading
import time

import pytest
from imapclient import IMAPClient

from intake.config import parse_config
from intake.errors import MailboxAuthError
from intake.mailbox.idle import FolderWatcher, Outcome
from tests.builders.mime_builder import build_email
from tests.intake.conftest import imap_mailbox_table
from tests.servers.tcp import start_relay

pytestmark = pytest.mark.integration


class Watching:
    """A watcher in a thread of its own, counting what it tells."""

    def __init__(self, cfg, **options):
        self.new_mail = threading.Event()
        self.connected = threading.Event()
        self.errors: list[Exception] = []
        self.stop = threading.Event()
        self.watcher = FolderWatcher(
            cfg,
            on_new_mail=self.new_mail.set,
            stop=self.stop,
            on_connected=self.connected.set,
            on_error=self.errors.append,
            check_seconds=0.2,
            **options,
        )
        self.outcome: Outcome | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        self.outcome = self.watcher.run()

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(timeout=15)
        assert not self.thread.is_alive()

    def wait_for_mail(self, seconds: float = 5) -> float:
        started = time.monotonic()
        assert self.new_mail.wait(seconds), "the watcher never said new mail had come"
        self.new_mail.clear()
        return time.monotonic() - started


def mailbox_cfg(account, **overrides):
    cfg = parse_config({"mailboxes": [imap_mailbox_table(account)]}).mailboxes[0]
    return dataclasses.replace(cfg, **overrides)


def test_it_notices_new_mail_within_a_second(imap_account):
    with Watching(mailbox_cfg(imap_account)) as watching:
        assert watching.connected.wait(5)
        imap_account.append(build_email(1))
        assert watching.wait_for_mail() < 1.0


def test_it_renews_the_idle_and_still_hears_new_mail(imap_account):
    with Watching(mailbox_cfg(imap_account, idle_renew_seconds=1)) as watching:
        assert watching.connected.wait(5)
        time.sleep(2.5)
        assert watching.watcher.renewals >= 2
        imap_account.append(build_email(1))
        watching.wait_for_mail()
        assert watching.watcher.connections == 1  # renewed, not reconnected


def test_it_reconnects_when_the_server_drops_the_connection(imap_account):
    with Watching(mailbox_cfg(imap_account)) as watching:
        assert watching.connected.wait(5)
        watching.connected.clear()
        imap_account.kick()
        assert watching.connected.wait(10), "no new connection after the server hung up"
        imap_account.append(build_email(1))
        watching.wait_for_mail()
        assert watching.watcher.connections == 2


def test_it_replaces_a_connection_that_went_silent(imap_account):
    relay = start_relay(imap_account.server.port)
    try:
        cfg = mailbox_cfg(imap_account, port=relay.port, idle_renew_seconds=1, timeout_seconds=2)
        with Watching(cfg) as watching:
            assert watching.connected.wait(5)
            watching.connected.clear()
            relay.freeze()  # a NAT box forgets the connection: no close, no answers
            assert watching.connected.wait(10), "a silent connection was never replaced"
            imap_account.append(build_email(1))
            watching.wait_for_mail()
    finally:
        relay.stop()


def test_it_tells_the_caller_to_poll_when_the_server_has_no_idle(imap_account, monkeypatch):
    real = IMAPClient.has_capability
    monkeypatch.setattr(
        IMAPClient, "has_capability", lambda self, name: name != "IDLE" and real(self, name)
    )
    with Watching(mailbox_cfg(imap_account)) as watching:
        watching.thread.join(timeout=10)
    assert watching.outcome is Outcome.UNSUPPORTED


def test_it_reports_a_refused_sign_in_and_keeps_trying(imap_account, monkeypatch):
    monkeypatch.setenv("INTAKE_TEST_IMAP_PASSWORD", "wrong")
    with Watching(mailbox_cfg(imap_account)) as watching:
        deadline = time.monotonic() + 5
        while not watching.errors and time.monotonic() < deadline:
            time.sleep(0.05)
        assert isinstance(watching.errors[0], MailboxAuthError)
        monkeypatch.setenv("INTAKE_TEST_IMAP_PASSWORD", imap_account.password)
        assert watching.connected.wait(10), "it gave up after a refused sign-in"
