"""apply_assessment: one transaction for the decision, the case and the reply row."""

from __future__ import annotations

import email
import email.policy
import hashlib
import itertools
import json
import threading
from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
from django.db import connection, transaction
from django.utils import timezone

from intake.assess import Assessment, Reply
from intake.decisions import apply_assessment
from intake.logging import configure_logging
from intake.matching import allocate_reference, child_key
from intake.models import (
    Attachment,
    AuditEvent,
    InboundMessage,
    OutboundEmail,
    Referral,
    Submission,
)
from tests.builders.authentication import with_verdict

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT.parent / "shared" / "forms" / "examples"
REFERRER = "jo.bloggs@agency.example"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
_uids = itertools.count(1)

pytestmark = pytest.mark.django_db


def service_config(make_config: Any, sections: dict[str, Any] | None = None, **replies: Any) -> Any:
    """The test configuration: our service and reply settings, plus any ``sections``."""
    return make_config(
        service={
            "name": "Westshire Safeguarding Partnership",
            "reference_prefix": "WSP",
            "our_addresses": ["referrals@westshire-sp.example"],
            "message_id_domain": "westshire-sp.example",
        },
        replies={
            "from_address": "referrals@westshire-sp.example",
            "from_name": "Westshire Safeguarding Partnership",
            "outbox_dir": replies.pop("outbox_dir", "/tmp/unused-outbox"),
            **replies,
        },
        **(sections or {}),
    )


@pytest.fixture
def config(make_config, tmp_path):
    return service_config(make_config, outbox_dir=str(tmp_path / "outbox"))


def example_fields(name: str = "referral-accepted") -> dict[str, Any]:
    return dict(json.loads((EXAMPLES / f"{name}.json").read_text())["fields"])


def make_message(
    *,
    sender: str = REFERRER,
    subject: str = "CSPR referral",
    in_reply_to: str | None = None,
    form: bytes | None = b"PK\x03\x04 the form as sent",
    mailbox: str = "referrals",
    verdict: str | None = "pass",
) -> InboundMessage:
    """A stored inbound message (fictional), with its form stored as an attachment.

    ``verdict`` is our mail server's DMARC result on it (None: no verdict at all).
    """
    uid = next(_uids)
    msg = EmailMessage()
    msg["From"] = f"Jo Bloggs <{sender}>"
    msg["To"] = "referrals@westshire-sp.example"
    msg["Subject"] = subject
    msg["Date"] = format_datetime(timezone.now())
    msg["Message-ID"] = f"<msg{uid}@mail.agency.example>"
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
        msg["References"] = in_reply_to
    msg.set_content("Please find the referral form attached.")
    if form is not None:
        msg.add_attachment(
            form, maintype="application", subtype="octet-stream", filename="referral.docx"
        )
    raw = msg.as_bytes() if verdict is None else with_verdict(msg.as_bytes(), verdict)
    message = InboundMessage.objects.create(
        mailbox=mailbox,
        folder="INBOX",
        uidvalidity=1,
        uid=uid,
        message_id=f"msg{uid}@mail.agency.example",
        sha256=hashlib.sha256(raw).hexdigest(),
        raw=raw,
        size=len(raw),
        sender=sender,
        subject=subject,
        received_at=timezone.now(),
        state=InboundMessage.State.PARSED,
    )
    if form is not None:
        Attachment.objects.create(
            message=message, path="referral.docx", filename="referral.docx",
            media_type=DOCX, size=len(form), sha256=hashlib.sha256(form).hexdigest(), data=form,
        )  # fmt: skip
    return message


def accepted(fields: dict[str, Any] | None = None, to: str = REFERRER) -> Assessment:
    return Assessment(
        decision="accepted",
        form_type="cspr_referral",
        fields=fields or example_fields(),
        deadlines={"rapid_review_due": "2026-02-20"},
        reply=Reply(kind="acknowledgement", to=to),
        received_on="2026-01-30",
        form_attachment="referral.docx",
    )


def incomplete(fields: dict[str, Any] | None = None, to: str = REFERRER) -> Assessment:
    values = fields or example_fields()
    values.pop("referrer_job_title", None)
    values.pop("police_investigation", None)
    return Assessment(
        decision="incomplete",
        form_type="cspr_referral",
        fields=values,
        missing=["referrer_job_title", "police_investigation"],
        deadlines={"rapid_review_due": "2026-02-20"},
        reply=Reply(kind="incomplete_return", to=to),
        received_on="2026-01-30",
        form_attachment="referral.docx",
    )


def test_it_opens_a_case_for_an_accepted_form(config):
    message = make_message()
    apply_assessment(message, accepted(), config)
    referral = Referral.objects.get()
    assert referral.reference == "WSP-2026-0001"
    assert referral.status == Referral.Status.ACCEPTED
    assert referral.rapid_review_due.isoformat() == "2026-02-20"
    assert referral.referrer_email == REFERRER
    assert referral.fields == example_fields()
    message.refresh_from_db()
    assert message.decision == "accepted"
    assert message.assessment["decision"] == "accepted"


def test_it_queues_one_acknowledgement_with_the_reference(config):
    apply_assessment(make_message(), accepted(), config)
    reply = OutboundEmail.objects.get()
    assert (reply.kind, reply.state, reply.recipient) == ("acknowledgement", "pending", REFERRER)
    assert reply.subject == "Re: CSPR referral [WSP-2026-0001]"
    assert b"WSP-2026-0001" in bytes(reply.raw)
    assert "Friday 20 February 2026" in reply.body_text


def test_it_does_nothing_new_when_applied_twice(config):
    message = make_message()
    apply_assessment(message, accepted(), config)
    counts = [m.objects.count() for m in (Referral, Submission, OutboundEmail, AuditEvent)]
    apply_assessment(message, accepted(), config)
    apply_assessment(InboundMessage.objects.get(pk=message.pk), incomplete(), config)
    assert [m.objects.count() for m in (Referral, Submission, OutboundEmail, AuditEvent)] == counts


def test_it_returns_an_incomplete_form_with_the_form_attached(config):
    apply_assessment(make_message(), incomplete(), config)
    referral = Referral.objects.get()
    assert referral.status == Referral.Status.AWAITING_RESUBMISSION
    assert referral.missing == ["referrer_job_title", "police_investigation"]
    reply = OutboundEmail.objects.get()
    assert reply.kind == "incomplete_return"
    assert "Job title / role" in reply.body_text
    sent = email.message_from_bytes(bytes(reply.raw), policy=email.policy.default)
    [attached] = list(sent.iter_attachments())
    assert attached.get_filename() == "referral.docx"
    assert attached.get_content() == b"PK\x03\x04 the form as sent"


def test_it_does_not_attach_the_form_when_configured_not_to(make_config, tmp_path):
    config = service_config(make_config, attach_form_to_return=False)
    apply_assessment(make_message(), incomplete(), config)
    assert b"referral.docx" not in bytes(OutboundEmail.objects.get().raw)


def test_it_joins_a_reply_to_our_return_to_the_same_case(config):
    apply_assessment(make_message(), incomplete(), config)
    our_return = OutboundEmail.objects.get()
    second = make_message(subject="RE: CSPR referral", in_reply_to=our_return.rfc_message_id)
    apply_assessment(second, accepted(), config)
    referral = Referral.objects.get()
    assert referral.status == Referral.Status.ACCEPTED
    assert [s.kind for s in referral.submissions.all()] == ["first", "resubmission"]
    assert referral.submissions.last().matched_by == "thread"
    assert referral.missing == []


def test_it_joins_a_reply_in_the_thread_of_the_first_message(config):
    first = make_message()
    apply_assessment(first, incomplete(), config)
    second = make_message(in_reply_to=f"<{first.message_id}>")
    apply_assessment(second, accepted(), config)
    assert Referral.objects.count() == 1
    assert Submission.objects.filter(message=second).get().matched_by == "thread"


COLLEAGUE = "sam.colleague@agency.example"


def test_it_opens_a_new_case_for_a_colleagues_other_child_in_the_thread(config):
    first = make_message()
    apply_assessment(first, accepted(), config)
    case = Referral.objects.get()
    ack = OutboundEmail.objects.get()
    other = example_fields("resubmission")
    reply = make_message(
        sender=COLLEAGUE, subject="RE: CSPR referral", in_reply_to=ack.rfc_message_id
    )
    apply_assessment(reply, accepted(other, to=COLLEAGUE), config)
    case.refresh_from_db()
    assert case.fields == example_fields() and case.child_key == child_key(example_fields())
    assert list(case.submissions.values_list("message", flat=True)) == [first.pk]
    theirs = Referral.objects.exclude(pk=case.pk).get()
    assert theirs.referrer_email == COLLEAGUE and theirs.fields == other
    their_ack = OutboundEmail.objects.get(message=reply)
    assert their_ack.recipient == COLLEAGUE
    assert theirs.reference in their_ack.subject and case.reference not in their_ack.subject


def test_it_holds_a_colleagues_form_for_the_same_child_in_the_thread_for_a_person(config):
    # Issue 8: only the case's referrer changes a case; a colleague's form joins it
    # as a submission of its own, and a person compares the two.
    apply_assessment(make_message(), incomplete(), config)
    our_return = OutboundEmail.objects.get()
    reply = make_message(sender=COLLEAGUE, in_reply_to=our_return.rfc_message_id)
    apply_assessment(reply, accepted(to=COLLEAGUE), config)
    referral = Referral.objects.get()
    assert referral.status == Referral.Status.NEEDS_REVIEW
    held = Submission.objects.get(message=reply)
    assert (held.matched_by, held.held) == ("thread", "not_the_referrer")
    assert held.fields == example_fields() and referral.missing == incomplete().missing


def test_it_joins_the_same_childs_form_from_the_same_referrer(config):
    apply_assessment(make_message(), incomplete(), config)
    apply_assessment(make_message(subject="Referral again"), accepted(), config)
    assert Referral.objects.count() == 1
    assert Submission.objects.last().matched_by == "referrer_and_child"


def test_it_opens_a_new_case_for_another_child(config):
    apply_assessment(make_message(), accepted(), config)
    other = example_fields("resubmission")
    apply_assessment(make_message(), accepted(other), config)
    assert sorted(Referral.objects.values_list("reference", flat=True)) == [
        "WSP-2026-0001",
        "WSP-2026-0002",
    ]


def test_it_opens_a_new_case_after_the_resubmission_window(config):
    apply_assessment(make_message(), incomplete(), config)
    Referral.objects.update(created=timezone.now() - timedelta(days=31))
    apply_assessment(make_message(), accepted(), config)
    assert Referral.objects.count() == 2


def test_it_never_joins_or_answers_an_out_of_office_in_the_thread(config):
    apply_assessment(make_message(), incomplete(), config)
    our_return = OutboundEmail.objects.get()
    ooo = make_message(
        subject="Automatic reply: CSPR", in_reply_to=our_return.rfc_message_id, form=None
    )
    apply_assessment(ooo, Assessment(decision="ignored", automatic=True), config)
    assert Submission.objects.count() == 1
    assert OutboundEmail.objects.count() == 1


def test_it_keeps_a_dmarc_failure_for_review_without_a_reply(config):
    assessment = accepted()
    assessment.decision, assessment.reply = "needs_review", None
    apply_assessment(make_message(), assessment, config)
    assert Referral.objects.get().status == Referral.Status.NEEDS_REVIEW
    assert OutboundEmail.objects.count() == 0


def test_it_opens_no_case_without_a_form(config):
    assessment = Assessment(
        decision="needs_review",
        reply=Reply(kind="unreadable_attachment", to=REFERRER),
        attachment_errors=[{"filename": "form.pdf", "reason": "encrypted", "document": "yes"}],
    )
    apply_assessment(make_message(form=None), assessment, config)
    assert Referral.objects.count() == 0
    reply = OutboundEmail.objects.get()
    assert reply.referral is None
    assert "form.pdf: it is protected by a password" in reply.body_text


def test_it_suppresses_replies_over_the_per_sender_limit(config):
    other = example_fields("resubmission")
    for i in range(5):
        fields = other | {"child_surname": f"Child{i}"}
        apply_assessment(make_message(), incomplete(fields), config)
    states = list(OutboundEmail.objects.order_by("pk").values_list("state", flat=True))
    assert states == ["pending"] * 3 + ["suppressed"] * 2
    assert "per-sender limit" in OutboundEmail.objects.last().last_error


def test_it_counts_the_limit_per_address(config):
    for i in range(4):
        apply_assessment(
            make_message(sender=f"person{i}@agency.example"),
            incomplete(to=f"person{i}@agency.example"),
            config,
        )
    assert not OutboundEmail.objects.filter(state="suppressed").exists()


def test_it_never_names_the_child_in_the_subject(config):
    fields = example_fields()
    subject = f"Referral re {fields['child_forenames']} {fields['child_surname']}"
    apply_assessment(make_message(subject=subject), accepted(fields), config)
    reply = OutboundEmail.objects.get()
    assert fields["child_surname"] not in reply.subject
    assert reply.subject == "Your referral has been received [WSP-2026-0001]"


def test_it_keeps_the_decision_when_a_template_is_broken(make_config, tmp_path):
    folder = tmp_path / "replies"
    folder.mkdir()
    config = service_config(make_config, templates_dir=str(folder))
    apply_assessment(make_message(), accepted(), config)
    assert Referral.objects.count() == 1
    reply = OutboundEmail.objects.get()
    assert reply.state == "failed" and reply.last_error.startswith("template")


def test_it_logs_a_broken_template_without_the_exceptions_text(config, monkeypatch, capsys):
    leak = "Referral for Jamie Testchild"  # text that must not reach the logs

    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError(leak)  # the traceback shows this line, not the text

    monkeypatch.setattr("intake.reply_queue.render_reply", broken)
    configure_logging(force=True, json=True)
    try:
        apply_assessment(make_message(), accepted(), config)
        out = capsys.readouterr().out
    finally:
        configure_logging(force=True)
    [line] = [json.loads(t) for t in out.splitlines() if '"reply_not_rendered"' in t]
    assert line["error"] == "RuntimeError" and "broken" in line["traceback"]
    assert "Testchild" not in out
    assert OutboundEmail.objects.get().state == "failed"


def test_it_numbers_references_per_year():
    with transaction.atomic():
        assert allocate_reference("WSP", 2026) == ("WSP-2026-0001", 1)
        assert allocate_reference("WSP", 2026) == ("WSP-2026-0002", 2)
        assert allocate_reference("WSP", 2027) == ("WSP-2027-0001", 1)


@pytest.mark.django_db(transaction=True)
def test_it_never_gives_two_workers_the_same_reference():
    if connection.vendor == "sqlite" and connection.settings_dict["NAME"] == ":memory:":
        pytest.skip("threads need a file database")
    results: list[str] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            for _ in range(5):
                with transaction.atomic():
                    results.append(allocate_reference("WSP", 2026)[0])
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(results) == [f"WSP-2026-{n:04d}" for n in range(1, 31)]


def test_it_hashes_the_child_without_case_or_accents():
    a = {"child_forenames": "Renée", "child_surname": "O'Brien", "child_dob": "2015-04-03"}
    b = {"child_forenames": "renee ", "child_surname": "OBRIEN", "child_dob": "2015-04-03"}
    assert child_key(a) == child_key(b) != ""
    assert "renee" not in child_key(a)
    assert child_key({"child_surname": "x"}) == ""


def test_it_links_a_reply_without_a_form_to_its_case_without_changing_it(config):
    apply_assessment(make_message(), incomplete(), config)
    our_return = OutboundEmail.objects.get()
    question = make_message(in_reply_to=our_return.rfc_message_id, form=None)
    apply_assessment(question, Assessment(decision="needs_review"), config)
    referral = Referral.objects.get()
    assert referral.status == Referral.Status.AWAITING_RESUBMISSION
    assert list(referral.submissions.values_list("kind", flat=True)) == ["first", "follow_up"]


def test_it_does_not_let_a_worse_form_undo_an_accepted_case(config):
    apply_assessment(make_message(), accepted(), config)
    apply_assessment(make_message(), incomplete(), config)
    referral = Referral.objects.get()
    assert referral.status == Referral.Status.ACCEPTED and referral.missing == []
    assert referral.submissions.count() == 2


def test_it_keeps_the_earlier_rapid_review_date_when_a_case_is_resubmitted(config):
    apply_assessment(make_message(), incomplete(), config)
    later = accepted()
    later.deadlines = {"rapid_review_due": "2026-03-06"}
    apply_assessment(make_message(), later, config)
    assert Referral.objects.get().rapid_review_due.isoformat() == "2026-02-20"


def test_it_writes_an_audit_trail_of_ids_and_codes_only(config):
    message = make_message()
    apply_assessment(message, accepted(), config)
    events = list(AuditEvent.objects.order_by("pk").values_list("verb", "detail"))
    assert [verb for verb, _ in events] == ["message_decided", "referral_opened", "reply_queued"]
    text = json.dumps([detail for _, detail in events])
    assert REFERRER not in text and "child" not in text


def test_it_never_deletes_a_case_its_submissions_or_its_replies(config):
    apply_assessment(make_message(), accepted(), config)
    for record in (Referral.objects.get(), Submission.objects.get(), OutboundEmail.objects.get()):
        with pytest.raises(ValueError):
            record.delete()
    assert (Referral.objects.count(), Submission.objects.count()) == (1, 1)


def test_it_stores_answers_holding_nul_and_control_characters_on_any_database(config):
    # Issue 8: a NUL in a PDF field value made PostgreSQL refuse the row for ever.
    fields = example_fields() | {"child_surname": "Wil\x00liams\x07", "incident_summary": "a\x00b"}
    assessment = accepted(fields)
    assessment.sources = {"child_surname": "form.pdf\x00, field 3"}
    assessment.invalid = [{"field": "child_dob", "reason": "not a date: 3\x00/4"}]
    message = make_message()
    apply_assessment(message, assessment, config)
    case = Referral.objects.get()
    assert case.fields["child_surname"] == "Williams"
    assert case.sources["child_surname"] == "form.pdf, field 3"
    assert Submission.objects.get().fields["incident_summary"] == "ab"
    message.refresh_from_db()
    assert "\x00" not in json.dumps(message.assessment, ensure_ascii=False)


def test_it_queues_a_reply_to_an_unproven_sender_at_its_own_address_only(config):
    apply_assessment(make_message(verdict=None), accepted(), config)
    assert list(OutboundEmail.objects.values_list("recipient", flat=True)) == [REFERRER]
    assert InboundMessage.objects.get().reason_code == "unauthenticated:no_verdict"


def test_it_never_queues_a_reply_from_an_unproven_sender_to_anyone_else(config):
    apply_assessment(make_message(verdict=None), accepted(to="colleague@agency.example"), config)
    assert OutboundEmail.objects.count() == 0


def test_it_never_queues_a_reply_to_a_sender_our_server_says_failed(config):
    apply_assessment(make_message(verdict="fail"), accepted(), config)
    assert OutboundEmail.objects.count() == 0
    assert InboundMessage.objects.get().reason_code == "unauthenticated:dmarc_fail"
