"""Real polls against a private Dovecot: every message stored and filed exactly once.

Each test gets its own Dovecot account; mail goes in with IMAP APPEND.
`fake_steps` stands in for assess/decide/send (see tests/intake/conftest.py).
"""

from __future__ import annotations

import dataclasses
import threading

import pytest
from django.db import connection

from intake import pipeline
from intake.models import InboundMessage, MailboxState
from parsers.errors import ParseError, Reason
from tests.builders.mime_builder import build_email

State = InboundMessage.State
pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def poll(config, steps=pipeline.SERVICE):
    return pipeline.poll_mailbox(config.mailboxes[0], config, steps=steps)


def assert_each_filed_once(account, count):
    assert account.uids("INBOX") == []
    assert len(account.uids("Processed")) == count
    assert InboundMessage.objects.filter(state=State.FILED).count() == count
    assert InboundMessage.objects.count() == count


def test_it_stores_and_files_every_message_on_the_first_sync(imap_account, make_config, fake_steps):
    imap_account.append_many([build_email(n) for n in range(120)])
    config = make_config(mailboxes=[_table(imap_account)], schedule={"batch_size": 25})
    result = poll(config, fake_steps.steps)
    assert (result.fetched, result.stored, result.filed, result.errors) == (120, 120, 120, 0)
    assert_each_filed_once(imap_account, 120)
    assert MailboxState.objects.get().last_uid == 120


def test_it_picks_up_new_mail_between_polls_and_fetches_nothing_twice(
    imap_config, imap_account, fake_steps
):
    imap_account.append(build_email(1))
    poll(imap_config, fake_steps.steps)
    imap_account.append(build_email(2))
    imap_account.append(build_email(3))
    result = poll(imap_config, fake_steps.steps)
    assert (result.fetched, result.stored) == (2, 2)
    assert len(fake_steps.assessed) == 3
    assert poll(imap_config, fake_steps.steps).fetched == 0
    assert_each_filed_once(imap_account, 3)


def test_it_processes_a_message_a_person_already_read_once(imap_config, imap_account, fake_steps):
    imap_account.append(build_email(1), flags=("\\Seen",))
    imap_account.append(build_email(2))
    poll(imap_config, fake_steps.steps)
    assert_each_filed_once(imap_account, 2)
    assert len(fake_steps.assessed) == 2


def test_it_files_a_message_read_by_a_person_while_it_waited_for_a_retry(
    imap_config, imap_account, fake_steps
):
    imap_account.append(build_email(1))
    fake_steps.fail_assess = lambda raw: RuntimeError("not today")
    poll(imap_config, fake_steps.steps)
    assert imap_account.flags("INBOX") == {1: ()}  # we did not mark it read
    client = imap_account.client()
    client.select_folder("INBOX")
    client.add_flags([1], ["\\Seen"])  # a person opens it in Outlook
    client.logout()
    fake_steps.fail_assess = lambda raw: None
    InboundMessage.objects.update(next_attempt_at=None)
    poll(imap_config, fake_steps.steps)
    assert_each_filed_once(imap_account, 1)


def test_it_files_exactly_once_after_a_crash_between_storing_and_filing(
    imap_config, imap_account, fake_steps
):
    from intake.mailbox.imap import ImapMailbox

    class Killed(BaseException):
        pass

    class DiesBeforeTheMove(ImapMailbox):
        def file(self, folder: str, uid: int, target_folder: str) -> None:
            raise Killed

    for n in range(3):
        imap_account.append(build_email(n))

    dying = dataclasses.replace(fake_steps.steps, mailbox=DiesBeforeTheMove)
    with pytest.raises(Killed):
        poll(imap_config, dying)
    assert InboundMessage.objects.filter(state=State.REPLIED).count() == 1  # stored, decided
    assert InboundMessage.objects.filter(state=State.RECEIVED).count() == 2
    MailboxState.objects.update(lease_owner="", lease_until=None)  # the dead worker's lease expires
    result = poll(imap_config, fake_steps.steps)
    assert result.fetched == 0
    assert_each_filed_once(imap_account, 3)


def test_it_loses_nothing_when_the_connection_drops_mid_fetch(
    imap_account, make_config, fake_steps, monkeypatch
):
    imap_account.append_many([build_email(n) for n in range(10)])
    config = make_config(mailboxes=[_table(imap_account)], schedule={"batch_size": 3})
    real_store = pipeline.store_message
    stored = []

    def store_then_drop(*args, **kwargs):
        outcome = real_store(*args, **kwargs)
        stored.append(outcome.message.uid)
        if len(stored) == 4:
            imap_account.kick()  # the server goes away in the middle of the sync
        return outcome

    monkeypatch.setattr(pipeline, "store_message", store_then_drop)
    monkeypatch.setattr("intake.mailbox.imap.time.sleep", lambda s: None)
    result = poll(config, fake_steps.steps)
    assert result.error == ""
    assert sorted(stored) == list(range(1, 11))
    assert_each_filed_once(imap_account, 10)


def test_it_neither_loses_nor_duplicates_anything_when_uidvalidity_is_reset(
    imap_config, imap_account, dovecot, fake_steps
):
    for n in range(4):
        imap_account.append(build_email(n))
    fake_steps.fail_apply = lambda message: RuntimeError("decisions down")
    poll(imap_config, fake_steps.steps)  # all four stored, none decided: still in the INBOX
    old = MailboxState.objects.get().uidvalidity
    dovecot.reset_uidvalidity(imap_account)
    imap_account.append(build_email(99))
    fake_steps.fail_apply = lambda message: None
    InboundMessage.objects.update(next_attempt_at=None)
    result = poll(imap_config, fake_steps.steps)
    assert MailboxState.objects.get().uidvalidity != old
    assert (result.stored, result.duplicates) == (1, 4)
    assert_each_filed_once(imap_account, 5)


def test_it_polls_each_message_once_when_two_pollers_start_together(
    imap_account, make_config, fake_steps, transactional_db
):
    imap_account.append_many([build_email(n) for n in range(30)])
    config = make_config(mailboxes=[_table(imap_account)], schedule={"batch_size": 5})
    barrier = threading.Barrier(2)
    results = []

    def poller():
        try:
            barrier.wait()
            results.append(poll(config, fake_steps.steps))
        finally:
            connection.close()

    threads = [threading.Thread(target=poller) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sum(r.stored for r in results) == 30
    assert sorted(r.skipped for r in results) in ([False, True], [False, False])
    assert len(fake_steps.assessed) == 30
    assert_each_filed_once(imap_account, 30)


def test_it_creates_the_processed_folder_when_it_is_missing(imap_config, imap_account, fake_steps):
    imap_account.append(build_email(1))
    client = imap_account.client()
    assert not client.folder_exists("Processed")
    client.logout()
    poll(imap_config, fake_steps.steps)
    assert_each_filed_once(imap_account, 1)


def test_it_records_a_malformed_message_and_processes_the_rest(
    imap_config, imap_account, fake_steps
):
    junk = b"this is not\r\n an email\x00\xff\r\n"
    imap_account.append(build_email(1))
    imap_account.append(junk)
    imap_account.append(build_email(2))
    fake_steps.fail_assess = lambda raw: ParseError(Reason.CORRUPT) if b"an email" in raw else None
    result = poll(imap_config, fake_steps.steps)
    assert (result.filed, result.parked) == (2, 1)
    parked = InboundMessage.objects.get(state=State.PARKED)
    assert parked.parked_reason == "corrupt"
    assert imap_account.uids("INBOX") == [parked.uid]


def test_it_parks_a_message_over_the_size_limit(imap_account, make_config, fake_steps):
    imap_account.append(build_email(1, attachment=b"x" * 4000))
    imap_account.append(build_email(2))
    config = make_config(mailboxes=[_table(imap_account)], limits={"max_message_bytes": 3000})
    result = poll(config, fake_steps.steps)
    assert (result.stored, result.parked, result.filed) == (2, 1, 1)
    assert InboundMessage.objects.get(state=State.PARKED).parked_reason == "too_large"


def _table(account):
    from tests.intake.conftest import imap_mailbox_table

    return imap_mailbox_table(account)


@pytest.mark.parametrize(
    ("items", "damage"),
    [
        ("BODY.PEEK[]", "drop"),
        ("BODY.PEEK[]", "empty"),  # the UID answered, but without BODY[]
        ("RFC822.SIZE", "drop"),
    ],
)
def test_it_does_not_move_past_a_uid_the_server_left_out_of_a_fetch(
    imap_account, make_config, fake_steps, monkeypatch, items, damage
):
    from imapclient import IMAPClient

    imap_account.append_many([build_email(n) for n in range(4)])
    config = make_config(mailboxes=[_table(imap_account)], schedule={"batch_size": 2})
    real_fetch = IMAPClient.fetch

    def fetch_leaving_out_uid_3(self, messages, data, *args, **kwargs):
        response = real_fetch(self, messages, data, *args, **kwargs)
        if items in data and 3 in response:
            if damage == "drop":
                del response[3]
            else:
                response[3] = {b"SEQ": 3}
        return response

    monkeypatch.setattr(IMAPClient, "fetch", fetch_leaving_out_uid_3)
    result = poll(config, fake_steps.steps)
    assert result.error == "imap_fetch_incomplete"
    assert sorted(InboundMessage.objects.values_list("uid", flat=True)) == [1, 2]
    assert MailboxState.objects.get().last_uid == 2  # not past the UID left out
    monkeypatch.setattr(IMAPClient, "fetch", real_fetch)
    poll(config, fake_steps.steps)
    assert_each_filed_once(imap_account, 4)
