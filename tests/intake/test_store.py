"""The store and the lease: the database enforces "exactly once".

Runs on SQLite by default and on PostgreSQL with ``DATABASE_URL`` set
(``make test`` and ``.ci/run`` do both; see tests/servers/postgres.py).
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from intake import lease, pipeline
from intake.errors import LeaseLost
from intake.mailbox.base import FetchedMessage
from intake.models import AuditEvent, InboundMessage, MailboxState
from intake.store import load_mail, read_envelope, store_mail, store_message
from parsers.limits import Limits
from parsers.mail import read_mail
from tests.builders.mime_builder import build_email

pytestmark = pytest.mark.django_db
LIMITS = Limits()
WHEN = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def fetched(uid: int, raw: bytes, **kwargs) -> FetchedMessage:
    return FetchedMessage(uid=uid, raw=raw, internaldate=WHEN, size=len(raw), **kwargs)


def test_it_commits_the_raw_bytes_and_envelope():
    raw = build_email(
        1, subject="=?utf-8?q?R=C3=A9f=C3=A9rral?=", message_id="<abc@agency.example>"
    )
    stored = store_message("referrals", "INBOX", 7, fetched(3, raw), LIMITS)
    row = InboundMessage.objects.get()
    assert stored.created
    assert bytes(row.raw) == raw
    assert (row.message_id, row.sender, row.subject) == (
        "abc@agency.example",
        "referrer1@agency.example",
        "Référral",
    )
    assert (row.uidvalidity, row.uid, row.received_at, row.state) == (7, 3, WHEN, "received")


def test_the_steps_after_the_parse_read_it_from_the_row_in_memory():
    """Issue 10: the parse kept is not read back from the database by the steps
    that follow in the same run, and what they read is what the database holds."""
    raw = build_email(1, subject="Referral")
    stored = store_message("referrals", "INBOX", 7, fetched(3, raw), LIMITS)
    message = pipeline.unfinished_message(stored.message.pk)
    assert message is not None and load_mail(message) is None  # read with the row: no parse yet
    with transaction.atomic():
        store_mail(message, read_mail(raw, LIMITS))
    with CaptureQueriesContext(connection) as queries:
        kept = load_mail(message, with_data=False)
    assert len(queries) == 0
    assert kept == load_mail(InboundMessage.objects.get(pk=message.pk), with_data=False)


def test_it_replaces_the_attachments_of_a_parse_kept_before():
    raw = build_email(1, attachment=b"%PDF-1.4 fictional\n")
    stored = store_message("referrals", "INBOX", 7, fetched(3, raw), LIMITS)
    mail = read_mail(raw, LIMITS)
    assert mail.attachments
    for _parse in range(2):  # a retried parse, on the row as the next poll reads it
        with transaction.atomic():
            store_mail(pipeline.unfinished_message(stored.message.pk), mail)
    assert stored.message.attachments.count() == len(mail.attachments)


def test_it_creates_nothing_for_the_same_place_seen_again():
    raw = build_email(1)
    store_message("referrals", "INBOX", 7, fetched(3, raw), LIMITS)
    again = store_message("referrals", "INBOX", 7, fetched(3, raw), LIMITS)
    assert not again.created
    assert InboundMessage.objects.count() == 1


def test_it_creates_nothing_for_the_same_message_at_a_new_uid_and_follows_it():
    raw = build_email(1)
    first = store_message("referrals", "INBOX", 7, fetched(3, raw), LIMITS).message
    again = store_message("referrals", "INBOX", 8, fetched(1, raw), LIMITS)  # UIDVALIDITY reset
    first.refresh_from_db()
    assert not again.created
    assert (first.uidvalidity, first.uid) == (8, 1)


def test_it_does_not_move_a_filed_message_to_a_new_uid():
    raw = build_email(1)
    first = store_message("referrals", "INBOX", 7, fetched(3, raw), LIMITS).message
    InboundMessage.objects.filter(pk=first.pk).update(state="filed")
    store_message("referrals", "INBOX", 8, fetched(1, raw), LIMITS)
    first.refresh_from_db()
    assert (first.uidvalidity, first.uid) == (7, 3)


def test_it_keeps_two_different_messages_that_share_a_message_id():
    store_message(
        "referrals", "INBOX", 7, fetched(1, build_email(1, message_id="<same@x>")), LIMITS
    )
    store_message(
        "referrals", "INBOX", 7, fetched(2, build_email(2, message_id="<same@x>")), LIMITS
    )
    assert InboundMessage.objects.count() == 2


def test_it_enforces_uniqueness_in_the_database_itself():
    store_message("referrals", "INBOX", 7, fetched(1, build_email(1)), LIMITS)
    row = InboundMessage.objects.get()
    with pytest.raises(IntegrityError), transaction.atomic():
        InboundMessage.objects.create(
            mailbox="referrals",
            folder="INBOX",
            uidvalidity=7,
            uid=1,
            sha256="other",
            raw=b"",
            size=0,
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        InboundMessage.objects.create(
            mailbox="referrals",
            folder="INBOX",
            uidvalidity=7,
            uid=2,
            message_id=row.message_id,
            sha256=row.sha256,
            raw=b"",
            size=0,
        )


def test_it_parks_a_message_over_the_limit_on_arrival():
    raw = build_email(1, attachment=b"x" * 3000)
    row = store_message(
        "referrals", "INBOX", 7, fetched(1, raw), Limits(max_message_bytes=1000)
    ).message
    assert (row.state, row.parked_reason, row.headers_only) == ("parked", "too_large", False)


def test_it_reads_an_envelope_from_bytes_that_are_not_an_email():
    envelope = read_envelope(b"\x00\xff\xfe garbage")
    assert (envelope.message_id, envelope.sender, envelope.date) == ("", "", None)


HOSTILE_HEADERS = {
    # A Date offset too large for a timedelta: parsedate_to_datetime raises OverflowError.
    "date_overflow": b"Date: Mon, 1 Jan 2020 00:00:00 +99999999999999999999\r\nSubject: x\r\n",
    # An encoded word naming a non-ASCII charset: make_header raises CharsetError.
    "subject_charset": b"Subject: =?\xff?q?x?=\r\n",
    # PostgreSQL text refuses NUL; SQLite would keep it.
    "nul_bytes": b"Subject: a\x00b\r\nMessage-ID: <m\x00id@x.example>\r\n",
    "nul_encoded_word": b"Subject: =?utf-8?q?a=00b?=\r\n",
}


@pytest.mark.parametrize("header", HOSTILE_HEADERS.values(), ids=HOSTILE_HEADERS.keys())
def test_it_stores_a_message_with_a_hostile_header_and_the_next_one_too(header):
    bad = b"From: Someone <someone@agency.example>\r\n" + header + b"\r\nHello.\r\n"
    first = store_message("referrals", "INBOX", 7, fetched(1, bad), LIMITS)
    second = store_message("referrals", "INBOX", 7, fetched(2, build_email(2)), LIMITS)
    assert first.created and second.created
    row = InboundMessage.objects.get(uid=1)
    assert (bytes(row.raw), row.state, row.sender) == (bad, "received", "someone@agency.example")
    assert "\x00" not in row.subject + row.message_id
    assert InboundMessage.objects.get(uid=2).subject == "CSPR referral 2"


def test_it_keeps_the_other_fields_when_one_header_is_unreadable():
    envelope = read_envelope(
        b"Date: Mon, 1 Jan 2020 00:00:00 +99999999999999999999\r\n"
        b"Subject: =?\xff?q?x?=\r\nMessage-ID: <a@x.example>\r\n\r\n"
    )
    assert (envelope.message_id, envelope.date) == ("a@x.example", None)
    assert envelope.subject.endswith("?q?x?=")  # as written: its charset is unusable


def test_it_drops_a_sender_with_a_nul_rather_than_stripping_it():
    # Stripped, "victim\x00@x" would become another person's address, the one
    # that cases are matched on.
    envelope = read_envelope(b"From: <victim\x00@agency.example>\r\n\r\n")
    assert envelope.sender == ""


def test_it_stores_a_bare_row_when_the_envelope_cannot_be_read_at_all(monkeypatch):
    def broken(raw: bytes):
        raise RuntimeError("unforeseen")

    monkeypatch.setattr("intake.store.read_envelope", broken)
    raw = build_email(1)
    stored = store_message("referrals", "INBOX", 7, fetched(1, raw), LIMITS)
    row = InboundMessage.objects.get()
    assert stored.created
    assert (bytes(row.raw), row.message_id, row.sender, row.subject) == (raw, "", "", "")
    assert (row.received_at, row.state) == (WHEN, "received")


def test_it_gives_the_lease_to_one_worker_at_a_time():
    first = lease.acquire("referrals", "INBOX", "worker-a", 60)
    assert first is not None
    assert lease.acquire("referrals", "INBOX", "worker-b", 60) is None
    lease.release(first, "worker-a")
    assert lease.acquire("referrals", "INBOX", "worker-b", 60) is not None


def test_it_lets_a_worker_take_an_expired_lease_and_the_old_one_notice():
    state = lease.acquire("referrals", "INBOX", "worker-a", 60)
    MailboxState.objects.update(lease_until=timezone.now() - timedelta(seconds=1))
    assert lease.acquire("referrals", "INBOX", "worker-b", 60) is not None
    with pytest.raises(LeaseLost):
        lease.renew(state, "worker-a", 60)


@pytest.mark.django_db(transaction=True)
def test_it_gives_the_lease_to_exactly_one_of_many_racing_threads():
    lease.mailbox_state("referrals", "INBOX")
    barrier = threading.Barrier(6)
    winners = []

    def race(n: int) -> None:
        try:
            barrier.wait()
            if lease.acquire("referrals", "INBOX", f"worker-{n}", 60) is not None:
                winners.append(n)
        finally:
            connection.close()

    threads = [threading.Thread(target=race, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(winners) == 1


def test_it_keeps_audit_events_append_only():
    event = AuditEvent.objects.create(
        verb="message_stored", object_type="inbound_message", object_id="1"
    )
    with pytest.raises(ValueError):
        event.save()
    with pytest.raises(ValueError):
        event.delete()
