"""The team teaches the form reader another partnership's wording (issue 7).

A question the reader could not place is placed by a team member, confirmed by
an administrator, and from then on read without help; a held message can be
read again and the page shows what changed.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from django.urls import reverse

from intake import learning
from intake.assess import schemas_in
from intake.learning import with_learning
from intake.models import AuditEvent, LearnedWording, ReadAgain
from parsers.document import Document, Entry, Line
from parsers.forms import extract_form
from tests.intake import factories

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]
UNKNOWN = "Capacity in which you are making this referral"


@pytest.fixture(autouse=True)
def quick_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def schemas():
    return schemas_in(str(ROOT / "config" / "forms"))


def held_message(**fields):
    """A needs-review message whose form had one question the reader could not place."""
    assessment = {
        "decision": "needs_review",
        "form_type": "cspr_referral",
        "fields": {"referrer_name": "Leo Rushton"},
        "reasons": ["not returned to the referrer: a person must check the form, as"],
        "evidence": {
            "confidence": 0.93,
            "sure": False,
            "doubts": ["'Job title / role' (Referrer) was not found on this form"],
            "located_blank": [],
            "not_located": ["referrer_job_title"],
            "unclear": [],
            "unplaced": [
                {
                    "question": UNKNOWN,
                    "section": "Referrer",
                    "answer": "School nurse",
                    "source": "t1",
                }
            ],
        },
    }
    return factories.message(decision="needs_review", assessment=assessment, **fields)


def referrer_form(question: str) -> Document:
    """A referral form whose referrer's role is asked as ``question``."""
    entries = [
        Entry("Name", "Referrer", (Line("Leo Rushton"),), "row 1"),
        Entry(question, "Referrer", (Line("School nurse"),), "row 2"),
        Entry("Agency / organisation", "Referrer", (Line("Orford Park School"),), "row 3"),
        Entry("Email address", "Referrer", (Line("leo@school.example"),), "row 4"),
        Entry("Forename(s)", "The child", (Line("Arthur"),), "row 5"),
        Entry("Surname", "The child", (Line("Ormerod"),), "row 6"),
        Entry("Date of birth", "The child", (Line("24/02/2018"),), "row 7"),
        Entry("Date of incident", "The incident", (Line("12/08/2026"),), "row 8"),
        Entry("Brief summary of the incident", "The incident", (Line("A summary."),), "row 9"),
    ]
    return Document("docx", "form.docx", ["CSPR Referral Form"], entries)


# --- the service ------------------------------------------------------------------------------


def test_it_does_not_read_an_unknown_wording_before_it_is_taught(schemas):
    match = extract_form([referrer_form(UNKNOWN)], with_learning(schemas))
    assert "referrer_job_title" not in match.values
    assert UNKNOWN in [u.question for u in match.unplaced]


def test_it_reads_a_wording_from_the_next_form_on_once_an_administrator_confirms_it(schemas):
    wording = learning.propose(
        factories.user(), held_message(), UNKNOWN, "cspr_referral", "referrer_job_title", schemas
    )
    before = extract_form([referrer_form(UNKNOWN)], with_learning(schemas))
    learning.confirm(factories.user("admin"), wording.pk)
    after = extract_form([referrer_form(UNKNOWN)], with_learning(schemas))
    assert "referrer_job_title" not in before.values
    assert after.values["referrer_job_title"] == "School nurse"


def test_the_worker_reads_the_version_once_a_message_and_again_for_the_next(
    schemas, django_assert_num_queries
):
    """Issue 10: one query a message, however often the schemas are asked for; a
    wording confirmed while a message is handled is read from the next message on."""
    wording = learning.propose(
        factories.user(), held_message(), UNKNOWN, "cspr_referral", "referrer_job_title", schemas
    )
    with learning.version_read_once():
        with django_assert_num_queries(1):
            with_learning(schemas)
            with_learning(schemas)
        learning.confirm(factories.user("admin"), wording.pk)
        during = extract_form([referrer_form(UNKNOWN)], with_learning(schemas))
    with learning.version_read_once():
        after = extract_form([referrer_form(UNKNOWN)], with_learning(schemas))
    assert "referrer_job_title" not in during.values
    assert after.values["referrer_job_title"] == "School nurse"


def test_it_gives_each_confirmation_and_retirement_the_next_version(schemas):
    admin = factories.user("admin")
    first = learning.propose(
        factories.user(), None, UNKNOWN, "cspr_referral", "referrer_job_title", schemas
    )
    second = learning.propose(
        factories.user(), None, "Post you hold", "cspr_referral", "dsl_role", schemas
    )
    assert learning.confirm(admin, first.pk).version == 1
    assert learning.confirm(admin, second.pk).version == 2
    assert learning.retire(admin, first.pk).version == 3
    assert learning.current_version() == 3
    assert learning.learned() == {"cspr_referral": {"dsl_role": ["Post you hold"]}}


def test_it_stops_reading_a_retired_wording(schemas):
    admin = factories.user("admin")
    wording = learning.propose(
        factories.user(), None, UNKNOWN, "cspr_referral", "referrer_job_title", schemas
    )
    learning.confirm(admin, wording.pk)
    learning.retire(admin, wording.pk)
    match = extract_form([referrer_form(UNKNOWN)], with_learning(schemas))
    assert "referrer_job_title" not in match.values


def test_it_never_uses_a_proposed_or_rejected_wording(schemas):
    wording = learning.propose(
        factories.user(), None, UNKNOWN, "cspr_referral", "referrer_job_title", schemas
    )
    assert (
        "referrer_job_title"
        not in extract_form([referrer_form(UNKNOWN)], with_learning(schemas)).values
    )
    learning.reject(factories.user("admin"), wording.pk)
    assert (
        "referrer_job_title"
        not in extract_form([referrer_form(UNKNOWN)], with_learning(schemas)).values
    )


def test_it_lets_only_an_administrator_decide(schemas):
    wording = learning.propose(
        factories.user(), None, UNKNOWN, "cspr_referral", "referrer_job_title", schemas
    )
    with pytest.raises(learning.LearningError):
        learning.confirm(factories.user("team"), wording.pk)
    wording.refresh_from_db()
    assert wording.status == LearnedWording.Status.PROPOSED


def test_it_refuses_a_wording_for_a_question_the_form_does_not_have(schemas):
    with pytest.raises(learning.LearningError):
        learning.propose(factories.user(), None, UNKNOWN, "cspr_referral", "no_such_field", schemas)


def test_it_refuses_the_same_wording_twice_for_one_form(schemas):
    learning.propose(
        factories.user(), None, UNKNOWN, "cspr_referral", "referrer_job_title", schemas
    )
    with pytest.raises(learning.LearningError):
        learning.propose(
            factories.user(), None, UNKNOWN.upper(), "cspr_referral", "dsl_role", schemas
        )


def test_it_refuses_a_wording_the_reader_already_knows(schemas):
    with pytest.raises(learning.LearningError):
        learning.propose(
            factories.user(), None, "Job title", "cspr_referral", "referrer_job_title", schemas
        )


def test_it_audits_each_step_without_the_wording_itself(schemas):
    wording = learning.propose(
        factories.user(), None, UNKNOWN, "cspr_referral", "referrer_job_title", schemas
    )
    learning.confirm(factories.user("admin"), wording.pk)
    verbs = list(
        AuditEvent.objects.filter(object_type="learned_wording", object_id=str(wording.pk))
        .order_by("pk")
        .values_list("verb", "detail")
    )
    assert [v for v, _d in verbs] == ["wording_proposed", "wording_confirmed"]
    assert verbs[1][1]["version"] == 1 and verbs[1][1]["field"] == "referrer_job_title"
    assert all(UNKNOWN not in str(d) for _v, d in verbs)


def test_it_tells_what_reading_again_changed():
    before = {
        "decision": "needs_review",
        "form_type": "cspr_referral",
        "fields": {"a": "1"},
        "evidence": {"unplaced": [{"question": UNKNOWN}]},
    }
    after = {
        "decision": "accepted",
        "form_type": "cspr_referral",
        "fields": {"a": "1", "referrer_job_title": "School nurse"},
        "evidence": {"unplaced": []},
    }
    diff = learning.difference(before, after)
    assert diff.decision == ("needs_review", "accepted")
    assert diff.gained == ["referrer_job_title"]
    assert diff.placed == [UNKNOWN]
    assert diff.any


def test_it_reads_a_held_message_again_without_changing_its_decision(settings):
    message = held_message(body="Please call me about a child.")  # no form this time
    request = learning.request_read_again(factories.user(), message)
    assert learning.read_again_waiting(settings.INTAKE) == 1
    request.refresh_from_db()
    message.refresh_from_db()
    assert request.state == ReadAgain.State.DONE
    assert request.outcome["decision"] == "needs_review"
    assert request.outcome["form_type"] is None  # read again, from its stored parse
    assert message.assessment["form_type"] == "cspr_referral"  # the decision is untouched
    assert learning.read_again_waiting(settings.INTAKE) == 0  # each request is read once


# --- the pages --------------------------------------------------------------------------------


def test_the_message_page_shows_what_the_reader_found_and_lets_a_person_place_a_question(client):
    message = held_message()
    factories.sign_in(client, factories.user())
    page = client.get(reverse("message", args=[message.pk])).content.decode()
    assert "What the reader found on the form" in page
    assert UNKNOWN in page and "School nurse" in page
    assert "Referrer: Job title / role" in page  # not found, in words, not a key
    response = client.post(
        reverse("message_place", args=[message.pk]),
        {"question": UNKNOWN, "field_key": "referrer_job_title"},
    )
    assert response.status_code == 302
    wording = LearnedWording.objects.get()
    assert (wording.wording, wording.field_key, wording.status) == (
        UNKNOWN, "referrer_job_title", LearnedWording.Status.PROPOSED,
    )  # fmt: skip


def test_a_person_can_only_place_a_question_the_reader_listed(client):
    message = held_message()
    factories.sign_in(client, factories.user())
    client.post(
        reverse("message_place", args=[message.pk]),
        {"question": "Anything I like", "field_key": "referrer_job_title"},
    )
    assert not LearnedWording.objects.exists()


def test_only_administrators_reach_the_wordings_page(client):
    factories.sign_in(client, factories.user("team"))
    assert client.get(reverse("wordings")).status_code == 403
    factories.sign_in(client, factories.user("admin"))
    assert client.get(reverse("wordings")).status_code == 200


def test_a_team_member_cannot_confirm_a_wording(client, schemas):
    wording = learning.propose(
        factories.user(), None, UNKNOWN, "cspr_referral", "referrer_job_title", schemas
    )
    factories.sign_in(client, factories.user("team"))
    response = client.post(reverse("wording_decide", args=[wording.pk]), {"action": "confirm"})
    assert response.status_code == 403
    wording.refresh_from_db()
    assert wording.status == LearnedWording.Status.PROPOSED


def test_an_administrator_confirms_a_wording_on_the_page(client, schemas):
    wording = learning.propose(
        factories.user(), None, UNKNOWN, "cspr_referral", "referrer_job_title", schemas
    )
    factories.sign_in(client, factories.user("admin"))
    page = client.get(reverse("wordings")).content.decode()
    assert UNKNOWN in page and "Referrer: Job title / role" in page
    client.post(reverse("wording_decide", args=[wording.pk]), {"action": "confirm"})
    wording.refresh_from_db()
    assert wording.status == LearnedWording.Status.CONFIRMED and wording.version == 1


def test_the_message_page_shows_what_reading_again_changed(client):
    message = held_message()
    ReadAgain.objects.create(
        message=message,
        requested_by=factories.user(),
        state=ReadAgain.State.DONE,
        wordings_version=1,
        outcome={
            "decision": "accepted",
            "form_type": "cspr_referral",
            "fields": {"referrer_name": "Leo Rushton", "referrer_job_title": "School nurse"},
            "evidence": {"confidence": 1.0, "sure": True, "unplaced": []},
        },
    )
    factories.sign_in(client, factories.user())
    page = client.get(reverse("message", args=[message.pk])).content.decode()
    assert "Questions placed now" in page and UNKNOWN in page
    assert "Referrer: Job title / role" in page  # an answer read now, named as printed
    assert "→ <strong>Accepted" in page


def test_the_worker_reads_waiting_messages_again_after_its_poll(make_config, settings, tmp_path):
    from intake import pipeline

    config = make_config()
    settings.INTAKE = config
    message = held_message()
    request = learning.request_read_again(factories.user(), message)
    pipeline.poll_all(config)
    request.refresh_from_db()
    assert request.state == ReadAgain.State.DONE
    assert request.outcome["decision"] in ("needs_review", "ignored")  # a form-less test email
