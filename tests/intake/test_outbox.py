"""send_due: every reply sent at most once, retried when that is safe, parked when not."""

from __future__ import annotations

import email
import email.policy
import mailbox
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from intake import outbox
from intake.decisions import apply_assessment
from intake.models import AuditEvent, OutboundEmail
from intake.outbox import claim, send_due
from tests.intake.test_decisions import accepted, incomplete, make_message, service_config
from tests.servers.smtp import smtp_server, start_smtp_server  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db


def smtp_config(make_config: Any, port: int, **replies: Any) -> Any:
    smtp = {"host": "127.0.0.1", "port": port, "security": "none", "timeout_seconds": 5}
    return service_config(make_config, {"smtp": smtp}, transport="smtp", **replies)


@pytest.fixture
def smtp(make_config, smtp_server):  # noqa: F811 (the fixture above)
    return smtp_config(make_config, smtp_server.port)


def queue(config: Any, assessment: Any = None) -> OutboundEmail:
    apply_assessment(make_message(), assessment or accepted(), config)
    return OutboundEmail.objects.latest("pk")


def later(minutes: int) -> Any:
    return timezone.now() + timedelta(minutes=minutes)


def test_it_writes_a_reply_into_the_outbox_folder(make_config, tmp_path):
    config = service_config(make_config, outbox_dir=str(tmp_path / "outbox"))
    row = queue(config)
    report = send_due(config)
    assert report.sent == [row.pk]
    [written] = list((tmp_path / "outbox").glob("*.eml"))
    assert written.read_bytes() == bytes(row.raw)
    row.refresh_from_db()
    assert row.state == "sent" and row.sent_at is not None


def test_it_sends_each_reply_once(make_config, tmp_path):
    config = service_config(make_config, outbox_dir=str(tmp_path / "outbox"))
    queue(config)
    send_due(config)
    assert send_due(config, now=later(120)).sent == []
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 1


def test_it_sends_the_stored_bytes_by_smtp(smtp, smtp_server):  # noqa: F811
    row = queue(smtp)
    assert send_due(smtp).sent == [row.pk]
    [captured] = smtp_server.messages
    assert captured.rcpt_tos == ["jo.bloggs@agency.example"]
    assert captured.mail_from == "referrals@westshire-sp.example"
    sent = email.message_from_bytes(captured.content, policy=email.policy.default)
    assert sent["Message-ID"] == row.rfc_message_id
    assert sent["Auto-Submitted"] == "auto-replied"


def test_it_puts_bcc_copies_on_the_envelope_only(make_config, smtp_server):  # noqa: F811
    config = smtp_config(make_config, smtp_server.port, bcc=["archive@westshire-sp.example"])
    queue(config)
    send_due(config)
    [captured] = smtp_server.messages
    assert captured.rcpt_tos == ["jo.bloggs@agency.example", "archive@westshire-sp.example"]
    assert b"archive@" not in captured.content


def test_it_retries_when_the_smtp_server_is_down_and_sends_once_when_it_is_back(
    smtp,
    smtp_server,  # noqa: F811
):
    row = queue(smtp)
    smtp_server.stop()
    report = send_due(smtp)
    assert report.retrying == [row.pk]
    row.refresh_from_db()
    assert (row.state, row.attempts) == ("pending", 1)
    assert row.next_attempt_at > timezone.now() + timedelta(seconds=50)
    smtp_server.start()
    assert send_due(smtp).sent == []  # not due yet: backoff
    assert send_due(smtp, now=later(2)).sent == [row.pk]
    assert send_due(smtp, now=later(200)).sent == []
    assert len(smtp_server.messages) == 1


def test_it_backs_off_exponentially(smtp, smtp_server):  # noqa: F811
    row = queue(smtp)
    smtp_server.stop()
    send_due(smtp)
    row.refresh_from_db()
    first = row.next_attempt_at
    send_due(smtp, now=first + timedelta(seconds=1))
    row.refresh_from_db()
    assert row.attempts == 2
    assert row.next_attempt_at - timezone.now() > timedelta(seconds=110)


def test_it_gives_up_after_the_maximum_attempts(smtp, smtp_server):  # noqa: F811
    row = queue(smtp)
    smtp_server.stop()
    for step in range(3):  # max_attempts = 3 in the test configuration
        send_due(smtp, now=later(120 * step))
    row.refresh_from_db()
    assert (row.state, row.attempts) == ("failed", 3)


def test_it_retries_a_temporary_refusal(smtp, smtp_server):  # noqa: F811
    row = queue(smtp)
    smtp_server.rcpt_reply = "451 4.3.0 try again later"
    assert send_due(smtp).retrying == [row.pk]
    smtp_server.rcpt_reply = None
    assert send_due(smtp, now=later(2)).sent == [row.pk]


def test_it_parks_a_permanent_refusal_for_a_person(smtp, smtp_server):  # noqa: F811
    row = queue(smtp)
    smtp_server.rcpt_reply = "550 5.1.1 no such user"
    assert send_due(smtp).failed == [row.pk]
    row.refresh_from_db()
    assert row.state == "failed" and row.last_error == "RCPT TO: 550"
    smtp_server.rcpt_reply = None
    assert send_due(smtp, now=later(600)).sent == []


def test_it_parks_a_refused_data_and_retries_a_deferred_one(smtp, smtp_server):  # noqa: F811
    first = queue(smtp)
    smtp_server.data_reply = "452 4.3.1 insufficient storage"
    assert send_due(smtp).retrying == [first.pk]
    smtp_server.data_reply = "554 5.7.1 rejected"
    assert send_due(smtp, now=later(2)).failed == [first.pk]
    assert smtp_server.messages == []


def test_it_marks_a_reply_uncertain_when_the_worker_died_after_the_server_took_it(
    smtp,
    smtp_server,  # noqa: F811
    monkeypatch,
):
    row = queue(smtp)

    def die(*args: Any) -> None:
        raise KeyboardInterrupt  # the process is gone before it can commit "sent"

    monkeypatch.setattr(outbox, "_mark_sent", die)
    with pytest.raises(KeyboardInterrupt):
        send_due(smtp)
    monkeypatch.undo()
    row.refresh_from_db()
    assert row.state == "sending"
    soon = timezone.now() + timedelta(seconds=10)
    assert send_due(smtp, now=soon).uncertain == []  # the lease has not run out yet
    report = send_due(smtp, now=later(30))
    assert report.uncertain == [row.pk] and report.sent == []
    row.refresh_from_db()
    assert row.state == "uncertain"
    assert send_due(smtp, now=later(600)).sent == []
    assert len(smtp_server.messages) == 1


def test_it_lets_only_one_worker_claim_a_row(make_config, tmp_path):
    config = service_config(make_config, outbox_dir=str(tmp_path / "o"))
    row = queue(config)
    now = timezone.now()
    assert claim(row.pk, "worker-a", now, timedelta(minutes=5))
    assert not claim(row.pk, "worker-b", now, timedelta(minutes=5))
    assert claim(row.pk, "worker-b", now + timedelta(minutes=6), timedelta(minutes=5))


def test_it_never_sends_a_suppressed_reply(make_config, tmp_path):
    config = service_config(make_config, outbox_dir=str(tmp_path / "outbox"))
    for _ in range(4):
        queue(config, incomplete())
    report = send_due(config)
    assert len(report.sent) == 3
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 3
    assert OutboundEmail.objects.filter(state="suppressed").count() == 1


def maildir_config(make_config: Any, tmp_path: Path, **box: Any) -> Any:
    table = {"name": "referrals", "kind": "maildir", "path": str(tmp_path / "Maildir")} | box
    return service_config(make_config, {"mailboxes": [table]}, outbox_dir=str(tmp_path / "outbox"))


def test_it_files_a_copy_in_the_sent_folder(make_config, tmp_path):
    config = maildir_config(make_config, tmp_path, sent_folder="Sent")
    row = queue(config)
    report = send_due(config)
    assert report.filed == [row.pk]
    sent = mailbox.Maildir(tmp_path / "Maildir", factory=None).get_folder("Sent")
    [copy] = [bytes(m.as_bytes()) for m in sent]
    assert email.message_from_bytes(copy)["Message-ID"] == row.rfc_message_id
    row.refresh_from_db()
    assert row.sent_copy == "filed"


def test_it_retries_the_sent_copy_without_resending(make_config, tmp_path, monkeypatch):
    config = maildir_config(make_config, tmp_path, sent_folder="Sent")
    row = queue(config)

    def broken(*args: Any, **kwargs: Any) -> None:
        raise OSError("mailbox unavailable")

    monkeypatch.setattr("intake.mailbox.maildir.MaildirMailbox.append", broken)
    report = send_due(config)
    assert report.sent == [row.pk] and report.filed == []
    row.refresh_from_db()
    assert (row.state, row.sent_copy) == ("sent", "pending")
    monkeypatch.undo()
    report = send_due(config, now=later(5))
    assert report.sent == [] and report.filed == [row.pk]
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 1


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")  # implicit TLS
@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_it_sends_over_tls_with_the_password_from_the_environment(
    make_config, monkeypatch, security
):
    server = start_smtp_server(security, credentials=("intake", "s3cret-from-env"))
    try:
        monkeypatch.setenv("SSL_CERT_FILE", server.ca_file)  # trust the test certificate
        monkeypatch.setenv("INTAKE_TEST_SMTP_PASSWORD", "s3cret-from-env")
        smtp = {
            "host": "127.0.0.1", "port": server.port, "security": security,
            "username": "intake", "password_env": "INTAKE_TEST_SMTP_PASSWORD",
            "timeout_seconds": 5,
        }  # fmt: skip
        config = service_config(make_config, {"smtp": smtp}, transport="smtp")
        row = queue(config)
        assert send_due(config).sent == [row.pk]
        assert server.logins == ["intake"] and len(server.messages) == 1
    finally:
        server.stop()


def test_it_refuses_a_server_whose_certificate_it_cannot_verify(make_config, monkeypatch):
    server = start_smtp_server("starttls")
    try:
        smtp = {"host": "127.0.0.1", "port": server.port, "security": "starttls"}
        config = service_config(
            make_config, {"smtp": smtp | {"timeout_seconds": 5}}, transport="smtp"
        )
        row = queue(config)
        assert send_due(config).retrying == [row.pk]
        assert server.messages == []
    finally:
        server.stop()


def test_it_does_not_send_when_the_password_is_wrong(make_config, monkeypatch):
    server = start_smtp_server("starttls", credentials=("intake", "right"))
    try:
        monkeypatch.setenv("SSL_CERT_FILE", server.ca_file)
        monkeypatch.setenv("INTAKE_TEST_SMTP_PASSWORD", "wrong")
        smtp = {
            "host": "127.0.0.1", "port": server.port, "security": "starttls",
            "username": "intake", "password_env": "INTAKE_TEST_SMTP_PASSWORD",
            "timeout_seconds": 5,
        }  # fmt: skip
        config = service_config(make_config, {"smtp": smtp}, transport="smtp")
        row = queue(config)
        report = send_due(config)
        assert report.sent == [] and server.messages == []
        row.refresh_from_db()
        assert row.last_error.startswith("connect")
    finally:
        server.stop()


def test_it_retries_an_unexpected_error_before_data_without_blocking_other_replies(
    smtp,
    smtp_server,  # noqa: F811
    monkeypatch,
):
    first, second = queue(smtp), queue(smtp, accepted(to="other@agency.example"))
    real = outbox._envelope

    def odd(client: Any, sender: str, recipients: list[str]) -> None:
        if recipients[0] == first.recipient:
            raise ValueError("a library surprise")
        real(client, sender, recipients)

    monkeypatch.setattr(outbox, "_envelope", odd)
    report = send_due(smtp)
    assert report.retrying == [first.pk] and report.sent == [second.pk]
    first.refresh_from_db()
    assert first.state == "pending" and first.last_error == "unexpected: ValueError"


def test_it_logs_an_unexpected_error_by_its_type_and_frames_but_not_its_message(
    smtp,
    smtp_server,  # noqa: F811
    monkeypatch,
    capsys,
):
    row = queue(smtp)
    child = "Jamie " + "Testchild"  # built here so that the traceback's source line lacks it

    def odd(*args: Any) -> None:
        raise ValueError(f"Referral for {child}")

    monkeypatch.setattr(outbox, "_envelope", odd)
    capsys.readouterr()
    assert send_due(smtp).retrying == [row.pk]
    out = capsys.readouterr().out
    assert "reply_send_error" in out and "ValueError" in out and "in odd" in out
    assert child not in out


def audit_verbs(row: OutboundEmail) -> list[str]:
    events = AuditEvent.objects.filter(object_type="outbound_email", object_id=str(row.pk))
    return list(events.order_by("pk").values_list("verb", flat=True))


def test_a_worker_whose_lease_ran_out_cannot_put_back_a_reply_another_has_sent(
    smtp,
    smtp_server,  # noqa: F811
    monkeypatch,
):
    row = queue(smtp)
    real = outbox._envelope
    envelopes: list[str] = []

    def slow_then_deferred(client: Any, sender: str, recipients: list[str]) -> None:
        envelopes.append(sender)
        if len(envelopes) == 1:
            # Worker A is connected but so slow that its lease runs out: worker B
            # claims the row and sends it, then the server defers A's RCPT.
            assert send_due(smtp, now=later(5), worker="worker-b").sent == [row.pk]
            smtp_server.rcpt_reply = "451 4.3.0 try again later"
        real(client, sender, recipients)

    monkeypatch.setattr(outbox, "_envelope", slow_then_deferred)
    report = send_due(smtp, worker="worker-a")
    smtp_server.rcpt_reply = None
    assert report.retrying == [] and report.skipped == [row.pk]
    row.refresh_from_db()
    assert row.state == "sent"
    assert send_due(smtp, now=later(120)).sent == []
    assert len(envelopes) == 2 and len(smtp_server.messages) == 1
    assert audit_verbs(row).count("reply_sent") == 1 and "reply_pending" not in audit_verbs(row)


def test_each_claim_in_a_slow_batch_gets_a_full_lease(smtp, smtp_server, monkeypatch):  # noqa: F811
    queue(smtp)
    queue(smtp, accepted(to="other@agency.example"))
    clock = [timezone.now()]
    monkeypatch.setattr(timezone, "now", lambda: clock[0])
    lease = outbox._lease(smtp)
    real = outbox._envelope
    left: list[timedelta] = []

    def slow(client: Any, sender: str, recipients: list[str]) -> None:
        row = OutboundEmail.objects.get(recipient=recipients[0])
        left.append(row.claimed_until - timezone.now())
        clock[0] += lease + timedelta(seconds=1)  # this send outlasts a whole lease
        real(client, sender, recipients)

    monkeypatch.setattr(outbox, "_envelope", slow)
    assert len(send_due(smtp).sent) == 2
    assert left == [lease, lease]


def test_a_reply_parked_by_another_worker_during_data_is_not_also_recorded_as_sent(
    smtp,
    smtp_server,  # noqa: F811
    monkeypatch,
):
    row = queue(smtp)
    real = outbox._data

    def data_outlasting_its_lease(client: Any, raw: bytes) -> None:
        assert outbox.park_interrupted(later(60)) == [row.pk]  # another worker, much later
        real(client, raw)

    monkeypatch.setattr(outbox, "_data", data_outlasting_its_lease)
    report = send_due(smtp)
    assert report.sent == [] and report.skipped == [row.pk]
    row.refresh_from_db()
    assert row.state == "uncertain"
    assert "reply_uncertain" in audit_verbs(row) and "reply_sent" not in audit_verbs(row)
    assert len(smtp_server.messages) == 1


def test_a_reply_still_in_data_is_not_parked_by_another_worker(
    smtp,
    smtp_server,  # noqa: F811
    monkeypatch,
):
    row = queue(smtp)
    clock = [timezone.now()]
    monkeypatch.setattr(timezone, "now", lambda: clock[0])
    lease = outbox._lease(smtp)
    real_envelope, real_data = outbox._envelope, outbox._data
    parked: list[int] = []

    def slow_envelope(client: Any, sender: str, recipients: list[str]) -> None:
        clock[0] += lease - timedelta(seconds=1)  # a slow server uses up nearly all the claim
        real_envelope(client, sender, recipients)

    def data_seen_by_another_worker(client: Any, raw: bytes) -> None:
        clock[0] += timedelta(seconds=2)  # the claim's lease is over, DATA is under way
        parked.extend(outbox.park_interrupted(timezone.now()))
        real_data(client, raw)

    monkeypatch.setattr(outbox, "_envelope", slow_envelope)
    monkeypatch.setattr(outbox, "_data", data_seen_by_another_worker)
    assert send_due(smtp).sent == [row.pk]
    assert parked == []
    row.refresh_from_db()
    assert row.state == "sent"
    assert audit_verbs(row).count("reply_sent") == 1 and "reply_uncertain" not in audit_verbs(row)


def test_a_reply_queued_while_a_run_sends_is_sent_in_that_run(make_config, tmp_path, monkeypatch):
    """Each run sends everything that is due: a reply another mailbox's worker
    queues while this run is sending a short batch goes out in this run, not the
    next (a review of issue 10's fewer queries: a short batch was taken as the last)."""
    config = service_config(make_config, outbox_dir=str(tmp_path / "outbox"))
    first = queue(config)
    real, made = outbox._send_one, []

    def send_one(row_id: int, *args: Any, **kwargs: Any) -> None:
        real(row_id, *args, **kwargs)
        if not made:
            made.append(queue(config, accepted(to="other@agency.example")))

    monkeypatch.setattr(outbox, "_send_one", send_one)
    assert send_due(config).sent == [first.pk, made[0].pk]


def test_a_reply_whose_backoff_ends_during_a_run_is_sent_in_it(make_config, tmp_path, monkeypatch):
    """A reply waiting 30 s for its retry, behind one whose SMTP exchange takes a
    minute, is due by the time that one is sent: the same run sends it."""
    config = service_config(make_config, outbox_dir=str(tmp_path / "outbox"))
    first = queue(config)
    second = queue(config, accepted(to="other@agency.example"))
    clock = [timezone.now()]
    OutboundEmail.objects.filter(pk=second.pk).update(
        next_attempt_at=clock[0] + timedelta(seconds=30)
    )
    monkeypatch.setattr(timezone, "now", lambda: clock[0])
    real = outbox._send_one

    def slow(row_id: int, *args: Any, **kwargs: Any) -> None:
        real(row_id, *args, **kwargs)
        clock[0] += timedelta(seconds=60)

    monkeypatch.setattr(outbox, "_send_one", slow)
    assert send_due(config).sent == [first.pk, second.pk]
