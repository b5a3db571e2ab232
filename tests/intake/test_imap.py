"""The IMAP adapter against a real, private Dovecot (tests/servers/dovecot.py)."""

from __future__ import annotations

import pytest

from intake.config import parse_config
from intake.errors import MailboxAuthError, MailboxError
from intake.mailbox import open_mailbox
from intake.mailbox.imap import ImapMailbox
from tests.builders.mime_builder import build_email
from tests.intake.conftest import imap_mailbox_table

pytestmark = pytest.mark.integration


def mailbox_cfg(account, **overrides):
    return parse_config({"mailboxes": [imap_mailbox_table(account, **overrides)]}).mailboxes[0]


def test_it_fetches_without_marking_anything_read(imap_account):
    imap_account.append(build_email(1))
    with open_mailbox(mailbox_cfg(imap_account)) as box:
        fetched = list(box.fetch("INBOX"))
    assert [m.uid for m in fetched] == [1]
    assert b"CSPR referral 1" in fetched[0].raw
    assert imap_account.flags("INBOX") == {1: ()}


def test_it_fetches_only_uids_above_the_one_given(imap_account):
    for n in range(3):
        imap_account.append(build_email(n))
    with open_mailbox(mailbox_cfg(imap_account)) as box:
        assert [m.uid for m in box.fetch("INBOX", after_uid=2)] == [3]
        assert list(box.fetch("INBOX", after_uid=3)) == []  # "4:*" still matches UID 3


def test_it_fetches_only_the_header_of_a_message_over_the_limit(imap_account):
    imap_account.append(build_email(1, attachment=b"x" * 5000))
    with open_mailbox(mailbox_cfg(imap_account)) as box:
        (message,) = box.fetch("INBOX", max_bytes=1000)
    assert message.headers_only
    assert message.size > 5000 > len(message.raw)
    assert message.raw.endswith(b"\r\n\r\n")


def test_it_moves_a_message_and_creates_the_missing_folder(imap_account):
    imap_account.append(build_email(1))
    with open_mailbox(mailbox_cfg(imap_account)) as box:
        assert "Processed" not in box.list_folders()
        box.file("INBOX", 1, "Processed")
        box.file("INBOX", 1, "Processed")  # again, as after a crash: nothing more happens
    assert (imap_account.uids("INBOX"), imap_account.uids("Processed")) == ([], [1])


def test_it_copies_and_expunges_only_that_uid_on_a_server_without_move(imap_account, monkeypatch):
    for n in range(2):
        imap_account.append(build_email(n))
    client = imap_account.client()
    client.select_folder("INBOX")
    client.add_flags([2], ["\\Deleted"])  # a person deleted this one; it must survive us
    client.logout()
    with open_mailbox(mailbox_cfg(imap_account)) as box:
        real = box.client.has_capability
        monkeypatch.setattr(
            box.client, "has_capability", lambda name: name != "MOVE" and real(name)
        )
        box.file("INBOX", 1, "Processed")
    assert imap_account.uids("INBOX") == [2]
    assert imap_account.uids("Processed") == [1]


def test_it_appends_a_copy_marked_read(imap_account):
    with open_mailbox(mailbox_cfg(imap_account)) as box:
        box.append("Sent", build_email(1))
    assert list(imap_account.flags("Sent").values()) == [(b"\\Seen",)]


def test_it_reconnects_when_the_connection_drops_mid_fetch(imap_account):
    for n in range(6):
        imap_account.append(build_email(n))
    box = ImapMailbox(mailbox_cfg(imap_account), sleep=lambda s: None)
    with box:
        uids = []
        for message in box.fetch("INBOX", batch_size=2):
            uids.append(message.uid)
            if message.uid == 2:
                imap_account.kick()  # the server drops us between batches
    assert uids == [1, 2, 3, 4, 5, 6]


def test_it_gives_up_with_a_mailbox_error_when_the_server_stays_away(imap_account, dovecot):
    box = ImapMailbox(mailbox_cfg(imap_account, port=1), retries=1, sleep=lambda s: None)
    with pytest.raises(MailboxError) as raised:
        box.open()
    assert raised.value.reason == "connection_refused"
    assert raised.value.detail == "127.0.0.1:1 refused the connection"


def test_it_refuses_a_wrong_password_without_retrying(imap_account, monkeypatch):
    monkeypatch.setenv("INTAKE_TEST_IMAP_PASSWORD", "wrong")
    with pytest.raises(MailboxAuthError):
        open_mailbox(mailbox_cfg(imap_account)).open()


def test_it_speaks_implicit_tls_with_a_named_ca_file(imap_account):
    cfg = mailbox_cfg(
        imap_account,
        host="localhost",
        port=imap_account.server.tls_port,
        security="tls",
        ca_file=str(imap_account.server.ca_file),
    )
    with open_mailbox(cfg) as box:
        assert "INBOX" in box.list_folders()


def test_it_speaks_starttls(imap_account):
    cfg = mailbox_cfg(
        imap_account,
        host="localhost",
        security="starttls",
        ca_file=str(imap_account.server.ca_file),
    )
    with open_mailbox(cfg) as box:
        assert "INBOX" in box.list_folders()


def test_it_rejects_a_certificate_it_cannot_verify(imap_account):
    cfg = mailbox_cfg(
        imap_account, host="localhost", port=imap_account.server.tls_port, security="tls"
    )
    with pytest.raises(MailboxError) as raised:
        open_mailbox(cfg).open()
    assert raised.value.reason == "tls_certificate_rejected"
