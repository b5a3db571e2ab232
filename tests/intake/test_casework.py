"""The case services (issue 12): each a compare-and-set with its audit; nothing deleted."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone

from intake import casework, notifications
from intake.casework import CaseworkError, Changed
from intake.models import (
    AnswerCorrection,
    AuditEvent,
    CaseStep,
    InboundMessage,
    MessageReview,
    OutboundEmail,
    Referral,
)
from tests.intake import factories

pytestmark = pytest.mark.django_db
Status = Referral.Status


@pytest.fixture
def person():
    return factories.user("team")


def audited(verb: str, object_id: int) -> list[dict]:
    return list(
        AuditEvent.objects.filter(verb=verb, object_id=str(object_id)).values_list(
            "detail", flat=True
        )
    )


def test_it_assigns_a_case_to_anyone_and_records_from_whom_to_whom(person):
    case = factories.referral()
    colleague = factories.user("team")
    casework.assign(case, None, colleague, person)
    case.refresh_from_db()
    assert case.assignee == colleague
    assert audited("assigned", case.pk) == [{"previous": None, "to": colleague.pk}]


def test_it_refuses_an_assignment_when_someone_else_assigned_it_meanwhile(person):
    case = factories.referral(assignee=factories.user("team"))
    with pytest.raises(Changed):
        casework.assign(case, None, person, person)


def test_it_moves_a_case_only_along_the_allowed_transitions(person):
    case = factories.referral(status=Status.AWAITING_RESUBMISSION)
    with pytest.raises(CaseworkError, match="cannot be moved"):
        casework.change_status(case, Status.CLOSED, Status.ACCEPTED, person)
    casework.change_status(case, Status.AWAITING_RESUBMISSION, Status.ACCEPTED, person)
    case.refresh_from_db()
    assert case.status == Status.ACCEPTED
    assert audited("status_changed", case.pk) == [
        {"old": "awaiting_resubmission", "new": "accepted"}
    ]


def test_it_closes_a_case_once(person):
    case = factories.referral()
    casework.close(case, Status.ACCEPTED, person)
    with pytest.raises(Changed):
        casework.close(case, Status.ACCEPTED, person)
    assert audited("closed", case.pk) == [{"old": "accepted", "new": "closed"}]


def test_it_corrects_an_answer_keeping_the_original_and_checks_the_case_again(person):
    case = factories.referral(missing=["referrer_phone"])
    casework.correct_answer(case, "referrer_phone", None, ["020 7946 0123"], "phoned", person)
    case.refresh_from_db()
    assert case.fields["referrer_phone"] == "020 7946 0123"
    assert "referrer_phone" not in case.missing
    [correction] = AnswerCorrection.objects.filter(referral=case)
    assert (correction.original, correction.value, correction.reason) == (
        None,
        "020 7946 0123",
        "phoned",
    )
    assert audited("answer_corrected", case.pk) == [
        {"field": "referrer_phone", "correction": correction.pk}
    ]


def test_it_stores_a_corrected_date_as_the_form_would(person):
    case = factories.referral()
    casework.correct_answer(case, "child_dob", "2015-04-03", ["4/5/2015"], "", person)
    case.refresh_from_db()
    assert case.fields["child_dob"] == "2015-05-04"


def test_it_refuses_a_correction_of_an_answer_that_changed_meanwhile(person):
    case = factories.referral()
    with pytest.raises(Changed):
        casework.correct_answer(case, "child_dob", "2000-01-01", ["4/5/2015"], "", person)


def test_it_records_the_rapid_review_and_its_outcome_in_order(person):
    case = factories.referral()
    today = timezone.localdate()
    with pytest.raises(CaseworkError, match="held first"):
        casework.record_step(case, CaseStep.Kind.OUTCOME, today, person, "local_cspr")
    casework.record_step(case, CaseStep.Kind.RAPID_REVIEW_HELD, today, person)
    casework.record_step(case, CaseStep.Kind.OUTCOME, today, person, "local_cspr")
    steps = casework.latest_steps(case)
    assert steps["outcome"].outcome == "local_cspr"
    assert {"step": "outcome", "on": today.isoformat(), "outcome": "local_cspr"} in audited(
        "step_recorded", case.pk
    )


def test_it_refuses_a_step_in_the_future(person):
    case = factories.referral()
    with pytest.raises(CaseworkError, match="future"):
        casework.record_step(
            case, CaseStep.Kind.PANEL_INFORMED, timezone.localdate() + timedelta(days=1), person
        )


def needs_review_message(**fields):
    values = {
        "decision": "needs_review",
        "reason_code": "no_form",
        "assessment": {
            "decision": "needs_review",
            "reasons": ["no referral form found: a person must read it"],
            "received_on": "2026-03-02",
        },
    }
    values.update(fields)
    return factories.message(**values)


def test_it_makes_a_case_of_a_needs_review_message_with_the_chosen_form(person):
    message = needs_review_message()
    case = casework.make_case(message, "cspr_referral", person)
    assert case.status == Status.ACCEPTED and case.form_type == "cspr_referral"
    assert case.received_on == date(2026, 3, 2)
    assert case.rapid_review_due is not None
    assert "child_surname" in case.missing
    assert case.submissions.get().message == message
    assert message.review.outcome == MessageReview.Outcome.CASE_MADE
    assert audited("case_made", case.pk) == [{"message": message.pk, "form_type": "cspr_referral"}]
    with pytest.raises(CaseworkError):
        casework.make_case(message, "cspr_referral", person)


def test_it_marks_a_message_not_a_referral_once(person):
    message = needs_review_message()
    casework.mark_not_a_referral(message, person, "a newsletter")
    assert message.review.outcome == "not_a_referral"
    with pytest.raises(Changed):
        casework.mark_not_a_referral(message, person)


def test_it_sends_a_return_a_person_edited_once_in_the_thread(person, settings, make_config):
    settings.INTAKE = make_config(
        replies={"from_address": "referrals@westshire-sp.example", "outbox_dir": "/tmp/x"}
    )
    message = needs_review_message(sender="referrer@agency.example")
    draft = casework.draft_return(message, settings.INTAKE)
    assert draft.recipient == "referrer@agency.example"
    row = casework.send_return(
        message, draft.subject, "Please send the form itself.", person, settings.INTAKE
    )
    assert row.state == OutboundEmail.State.PENDING and row.kind == "incomplete_return"
    assert b"Please send the form itself." in bytes(row.raw)
    assert b"Auto-Submitted" not in bytes(row.raw)
    assert message.review.outcome == "returned"
    with pytest.raises(CaseworkError):
        casework.send_return(message, "x", "y", person, settings.INTAKE)


def test_it_names_a_reason_code_in_words():
    assert casework.reason_words("unauthenticated:no_verdict") == (
        "our mail server did not authenticate the sender"
    )
    assert casework.reason_words("automatic:auto_response_suppress").startswith("automatic mail")


# --- the team's emails --------------------------------------------------------------------


@pytest.fixture
def team_config(settings, make_config):
    config = make_config(
        replies={"from_address": "referrals@westshire-sp.example", "outbox_dir": "/tmp/x"},
        notifications={"to": ["team@westshire-sp.example"], "digest_at": "08:00"},
        web={"base_url": "https://intake.example"},
    )
    settings.INTAKE = config
    return config


def test_it_tells_the_team_of_a_new_accepted_referral_once_without_the_childs_name(team_config):
    case = factories.referral()
    message = case.submissions.get().message
    notifications.on_decision(message, case, team_config)
    notifications.on_decision(message, case, team_config)
    [row] = OutboundEmail.objects.filter(kind="team_new_referral")
    text = bytes(row.raw).decode()
    assert case.reference in text and f"https://intake.example/cases/{case.reference}/" in text
    assert "Testchild" not in text and "Alex" not in text
    assert row.recipient == "team@westshire-sp.example"


def test_it_tells_the_team_of_a_message_needing_a_person(team_config):
    message = needs_review_message(subject="Referral for Alex Testchild")
    notifications.on_decision(message, None, team_config)
    [row] = OutboundEmail.objects.filter(kind="team_needs_person", message=message)
    text = bytes(row.raw).decode()
    assert f"/messages/{message.pk}/" in text and "no referral form" in text
    assert "Testchild" not in text


def test_it_sends_nothing_to_the_team_without_an_address(settings, make_config):
    config = make_config()
    case = factories.referral()
    notifications.on_decision(case.submissions.get().message, case, config)
    assert not OutboundEmail.objects.exists()


def test_it_queues_one_digest_a_day_at_the_configured_time(team_config):
    overdue = factories.referral(rapid_review_due=date(2026, 3, 1))
    before = timezone.make_aware(timezone.datetime(2026, 3, 3, 7, 59))
    after = timezone.make_aware(timezone.datetime(2026, 3, 3, 8, 1))
    assert notifications.queue_digest(team_config, before) is None
    row = notifications.queue_digest(team_config, after)
    assert row is not None and row.message is None
    assert overdue.reference in row.body_text and "overdue" in row.subject
    assert notifications.queue_digest(team_config, after) is None
    assert OutboundEmail.objects.filter(kind="team_digest").count() == 1


def test_it_sends_a_digest_through_the_outbox_without_a_sent_copy(team_config, tmp_path):
    from intake.outbox import send_due

    team_config.replies.__dict__["outbox_dir"] = str(tmp_path)
    row = notifications.queue_digest(
        team_config, timezone.make_aware(timezone.datetime(2026, 3, 3, 9, 0))
    )
    report = send_due(team_config)
    assert report.sent == [row.pk]
    row.refresh_from_db()
    assert row.state == "sent" and row.sent_copy == "not_wanted"


def test_the_decision_writer_tells_the_team(team_config):
    from intake.assess import Assessment
    from intake.decisions import apply_assessment

    message = factories.message(decision="", state=InboundMessage.State.PARSED)
    apply_assessment(message, Assessment(decision="needs_review", reasons=["x"]), team_config)
    assert OutboundEmail.objects.filter(kind="team_needs_person", message=message).exists()
