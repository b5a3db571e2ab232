"""The pipeline on a local Maildir: states, retries, parking, idempotency.

The lead's `assess_message` and the decisions helper's `apply_assessment`
are replaced by small fakes here (fixture `fake_steps`): these tests are about
getting every message through exactly once, whatever the steps answer.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.utils import timezone

from intake import pipeline
from intake.config import IntakeConfig
from intake.mailbox import open_mailbox
from intake.models import InboundMessage, MailboxState
from parsers.errors import ParseError, Reason

State = InboundMessage.State
pytestmark = pytest.mark.django_db


@pytest.fixture
def config(make_config: Callable[..., IntakeConfig]) -> IntakeConfig:
    return make_config()


def deliver(config: IntakeConfig, *raws: bytes, folder: str = "INBOX") -> None:
    with open_mailbox(config.mailboxes[0]) as box:
        for raw in raws:
            box.append(folder, raw, flags=())


def folder_count(config: IntakeConfig, folder: str) -> int:
    with open_mailbox(config.mailboxes[0]) as box:
        return len(list(box.fetch(folder)))


def poll(config: IntakeConfig, steps: pipeline.Steps = pipeline.SERVICE) -> pipeline.PollResult:
    return pipeline.poll_mailbox(config.mailboxes[0], config, steps=steps)


def test_it_takes_a_new_message_from_the_mailbox_to_filed(config, fake_steps, email_factory):
    deliver(config, email_factory(1))
    result = poll(config, fake_steps.steps)
    message = InboundMessage.objects.get()
    assert (result.stored, result.decided, result.filed, result.errors) == (1, 1, 1, 0)
    assert message.state == State.FILED
    assert message.decision == "accepted"
    assert message.assessment["form_type"] == "cspr_referral"
    assert message.sender == "referrer1@agency.example"
    assert (folder_count(config, "INBOX"), folder_count(config, "Processed")) == (0, 1)


def test_it_fetches_only_new_mail_on_the_next_poll(config, fake_steps, email_factory):
    deliver(config, email_factory(1), email_factory(2))
    poll(config, fake_steps.steps)
    deliver(config, email_factory(3))
    result = poll(config, fake_steps.steps)
    assert (result.fetched, result.stored) == (1, 1)
    assert len(fake_steps.assessed) == 3
    assert MailboxState.objects.get().last_uid == 3


def test_it_stores_nothing_new_when_the_same_message_arrives_twice(
    config, fake_steps, email_factory
):
    raw = email_factory(1)
    deliver(config, raw, raw)
    result = poll(config, fake_steps.steps)
    assert (result.stored, result.duplicates) == (1, 1)
    assert InboundMessage.objects.count() == 1


def test_it_uses_the_content_hash_alone_when_message_id_is_missing(
    config, fake_steps, email_factory
):
    raw = email_factory(1, message_id=None)
    deliver(config, raw, raw, email_factory(2, message_id=None))
    poll(config, fake_steps.steps)
    assert InboundMessage.objects.count() == 2
    assert set(InboundMessage.objects.values_list("message_id", flat=True)) == {""}


def test_it_records_a_failed_step_and_retries_it_after_the_backoff(
    config, fake_steps, email_factory
):
    deliver(config, email_factory(1))
    fake_steps.fail_assess = lambda raw: RuntimeError("boom")
    result = poll(config, fake_steps.steps)
    message = InboundMessage.objects.get()
    assert (result.errors, message.state, message.attempts) == (1, State.RECEIVED, 1)
    assert message.error_code == "internal_error"
    assert message.next_attempt_at > timezone.now() + timedelta(seconds=50)

    fake_steps.fail_assess = lambda raw: None
    poll(config, fake_steps.steps)
    assert InboundMessage.objects.get().state == State.RECEIVED  # not due yet
    InboundMessage.objects.update(next_attempt_at=timezone.now())
    poll(config, fake_steps.steps)
    message.refresh_from_db()
    assert (message.state, message.attempts, message.error_code) == (State.FILED, 0, "")


def test_it_parks_a_message_after_the_last_attempt(config, fake_steps, email_factory):
    deliver(config, email_factory(1))
    fake_steps.fail_assess = lambda raw: RuntimeError("boom")
    for _ in range(config.retry.max_attempts):
        InboundMessage.objects.update(next_attempt_at=None)
        poll(config, fake_steps.steps)
    message = InboundMessage.objects.get()
    assert (message.state, message.parked_reason, message.parked_from) == (
        State.PARKED,
        "internal_error",
        State.RECEIVED,
    )
    assert folder_count(config, "INBOX") == 1  # parked mail stays where a person finds it


def test_it_parks_a_malformed_message_at_once_and_processes_the_rest(
    config, fake_steps, email_factory
):
    junk = b"\x00\xff not an email at all \x80\n"
    deliver(config, email_factory(1), junk, email_factory(2))
    fake_steps.fail_assess = lambda raw: ParseError(Reason.CORRUPT) if raw == junk else None
    result = poll(config, fake_steps.steps)
    states = sorted(InboundMessage.objects.values_list("state", flat=True))
    assert states == [State.FILED, State.FILED, State.PARKED]
    assert (result.filed, result.parked) == (2, 1)
    assert InboundMessage.objects.get(state=State.PARKED).parked_reason == "corrupt"


def test_it_parks_a_message_over_the_size_limit_without_dropping_it(
    make_config, fake_steps, email_factory
):
    config = make_config(limits={"max_message_bytes": 2000})
    deliver(config, email_factory(1, attachment=b"x" * 3000), email_factory(2))
    result = poll(config, fake_steps.steps)
    big = InboundMessage.objects.get(state=State.PARKED)
    assert (big.parked_reason, big.headers_only) == ("too_large", False)
    assert len(bytes(big.raw)) == big.size > 2000  # kept whole, for a person to look at
    assert (result.stored, result.filed, result.parked) == (2, 1, 1)


def test_it_keeps_only_the_header_of_a_message_over_the_hard_limit(
    make_config, fake_steps, email_factory
):
    config = make_config(limits={"max_message_bytes": 1000})
    deliver(config, email_factory(1, attachment=b"x" * 10_000))
    poll(config, fake_steps.steps)
    big = InboundMessage.objects.get()
    assert big.headers_only and big.state == State.PARKED
    assert b"Subject: CSPR referral 1" in bytes(big.raw)
    assert len(bytes(big.raw)) < 1000 < big.size


def test_it_finishes_a_message_stored_before_a_crash_and_files_it_once(
    config, fake_steps, email_factory, monkeypatch
):
    class Killed(BaseException):
        """Stands for the process dying: nothing catches it."""

    deliver(config, email_factory(1))
    dying = dataclasses.replace(fake_steps.steps, parse=_raiser(Killed()))
    with pytest.raises(Killed):
        poll(config, dying)
    assert InboundMessage.objects.get().state == State.RECEIVED  # stored, committed
    MailboxState.objects.update(lease_owner="", lease_until=None)  # a dead worker's lease expires
    result = poll(config, fake_steps.steps)
    assert (result.fetched, result.filed) == (0, 1)
    assert InboundMessage.objects.get().state == State.FILED
    assert (folder_count(config, "INBOX"), folder_count(config, "Processed")) == (0, 1)


def test_it_files_once_when_the_crash_came_after_the_move(config, fake_steps, email_factory):
    from intake.mailbox.maildir import MaildirMailbox

    class MovesThenDies(MaildirMailbox):
        """The worker dies after the MOVE, before it records the message as filed."""

        def file(self, folder: str, uid: int, target_folder: str) -> None:
            super().file(folder, uid, target_folder)
            raise KeyboardInterrupt

    deliver(config, email_factory(1))
    dying = dataclasses.replace(fake_steps.steps, mailbox=MovesThenDies)
    with pytest.raises(KeyboardInterrupt):
        poll(config, dying)
    assert InboundMessage.objects.get().state == State.REPLIED
    assert (folder_count(config, "INBOX"), folder_count(config, "Processed")) == (0, 1)
    MailboxState.objects.update(lease_owner="", lease_until=None)  # a dead worker's lease expires
    poll(config, fake_steps.steps)
    assert InboundMessage.objects.get().state == State.FILED
    assert (folder_count(config, "INBOX"), folder_count(config, "Processed")) == (0, 1)


def test_it_skips_a_mailbox_whose_lease_another_worker_holds(config, fake_steps, email_factory):
    deliver(config, email_factory(1))
    MailboxState.objects.create(
        mailbox="referrals",
        folder="INBOX",
        lease_owner="other",
        lease_until=timezone.now() + timedelta(minutes=5),
    )
    result = poll(config, fake_steps.steps)
    assert result.skipped
    assert InboundMessage.objects.count() == 0


def test_it_takes_over_a_lease_that_has_expired(config, fake_steps, email_factory):
    deliver(config, email_factory(1))
    MailboxState.objects.create(
        mailbox="referrals",
        folder="INBOX",
        lease_owner="dead",
        lease_until=timezone.now() - timedelta(seconds=1),
    )
    assert poll(config, fake_steps.steps).stored == 1
    assert MailboxState.objects.get().lease_owner == ""


def test_it_finishes_the_message_in_hand_when_asked_to_stop(
    config, fake_steps, email_factory, monkeypatch
):
    deliver(config, email_factory(1), email_factory(2))
    stop = threading.Event()
    original = fake_steps.assess

    def assess_then_stop(raw, cfg, arrived=None):
        stop.set()  # SIGTERM arrives while the first message is being read
        return original(raw, cfg)

    steps = dataclasses.replace(fake_steps.steps, assess=assess_then_stop)
    result = pipeline.poll_mailbox(config.mailboxes[0], config, stop=stop, steps=steps)
    assert result.filed == 1
    assert sorted(InboundMessage.objects.values_list("state", flat=True)) == [
        State.FILED,
        State.RECEIVED,
    ]


def test_it_calls_the_outbox_once_per_poll(config, fake_steps, email_factory):
    deliver(config, *(email_factory(n) for n in range(3)))
    poll(config, fake_steps.steps)
    assert fake_steps.sends == 1


def test_it_reports_an_unreachable_mailbox_without_raising(make_config, fake_steps, tmp_path):
    blocker = tmp_path / "file-not-dir"
    blocker.write_text("")
    config = make_config(
        mailboxes=[{"name": "referrals", "kind": "maildir", "path": str(blocker / "x")}]
    )
    result = poll(config, fake_steps.steps)
    assert result.error == "mailbox_unavailable"
    assert MailboxState.objects.get().last_error == "mailbox_unavailable"


def test_it_treats_a_missing_assess_implementation_as_a_retryable_error(
    config, email_factory, monkeypatch
):
    deliver(config, email_factory(1))
    poll(config, pipeline.Steps(assess=_raiser(NotImplementedError())))
    message = InboundMessage.objects.get()
    assert (message.state, message.error_code) == (State.RECEIVED, "not_implemented")


def _raiser(exc: BaseException) -> Callable[..., None]:
    def raise_it(*args: object, **kwargs: object) -> None:
        raise exc

    return raise_it


def test_a_wording_confirmed_during_a_poll_is_read_from_the_next_message_on(
    config, fake_steps, email_factory, monkeypatch
):
    """Issue 10: the version of what the team taught is read once a message, not once
    a poll (`intake.learning`, step 3)."""
    from intake import learning
    from intake.assess import taught_schemas
    from tests.intake import factories

    monkeypatch.setattr(learning, "_CACHE", {})  # each test's database starts at version 0
    schemas = taught_schemas(config)
    field = schemas["cspr_referral"].fields[0]
    wording = learning.propose(
        factories.user(), None, "A wording never printed", "cspr_referral", field.key, schemas
    )
    admin = factories.user("admin")
    taught: list[tuple[str, ...]] = []

    def assess_while_an_administrator_confirms(mail, config, arrived=None):
        taught.append(taught_schemas(config)["cspr_referral"].field(field.key).wordings)
        if len(taught) == 1:
            learning.confirm(admin, wording.pk)
        return fake_steps.assess(mail, config, arrived)

    steps = dataclasses.replace(fake_steps.steps, assess=assess_while_an_administrator_confirms)
    deliver(config, email_factory(1), email_factory(2))
    poll(config, steps)
    assert "A wording never printed" not in taught[0]
    assert "A wording never printed" in taught[1]


def test_it_reads_the_version_of_what_the_team_taught_once_a_message(
    config, fake_steps, email_factory
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from intake.assess import taught_schemas

    def assess_with_the_schemas(mail, config, arrived=None):
        taught_schemas(config)  # as the service's assessment does
        return fake_steps.assess(mail, config, arrived)

    steps = dataclasses.replace(fake_steps.steps, assess=assess_with_the_schemas)
    deliver(config, *(email_factory(n) for n in range(1, 4)))
    with CaptureQueriesContext(connection) as queries:
        poll(config, steps)  # the read-ahead asks for the schemas too
    versions = [q for q in queries if '"intake_learnedwording"."version"' in q["sql"]]
    assert len(versions) == 3
