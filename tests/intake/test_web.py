"""The review pages: who gets in, what each page shows, what each action records."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from intake.deadlines import add_working_days
from intake.models import AuditEvent, CaseNote, InboundMessage, MessageReview, Referral
from tests.intake import factories

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def quick_passwords(settings):
    """A deliberately slow password hash costs a second a user; these tests are not about it."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def team_user():
    return factories.user("team")


@pytest.fixture
def team(client: Client, team_user) -> Client:
    factories.sign_in(client, team_user)
    return client


def events(verb: str, object_type: str, object_id: int) -> list[AuditEvent]:
    return list(
        AuditEvent.objects.filter(verb=verb, object_type=object_type, object_id=str(object_id))
    )


# --- who gets in ---------------------------------------------------------------


@pytest.mark.parametrize("name", ["queue", "case", "message", "attachment", "message_original"])
def test_it_sends_anyone_not_signed_in_to_the_login_page(client, name):
    case = factories.referral()
    message = case.submissions.get().message
    found = factories.attachment(message)
    args = {
        "queue": [],
        "case": [case.reference],
        "message": [message.pk],
        "attachment": [message.pk, found.pk],
        "message_original": [message.pk],
    }[name]
    url = reverse(name, args=args)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={url}"


@pytest.mark.parametrize("name", ["queue", "case", "message", "message_original"])
def test_it_refuses_a_signed_in_user_without_a_role(client, name):
    case = factories.referral()
    message = case.submissions.get().message
    factories.sign_in(client, factories.user(role=None))
    args = {"queue": [], "case": [case.reference], "message": [message.pk]}.get(name, [message.pk])
    response = client.get(reverse(name, args=args))
    assert response.status_code == 403
    assert b"Testchild" not in response.content
    assert not AuditEvent.objects.filter(verb__in=["viewed", "downloaded"]).exists()


def test_it_refuses_actions_from_a_user_without_a_role(client):
    case = factories.referral()
    factories.sign_in(client, factories.user(role=None))
    response = client.post(reverse("case_assign", args=[case.reference]), {"action": "assign_me"})
    assert response.status_code == 403
    case.refresh_from_db()
    assert case.assignee is None


def test_it_lets_a_team_member_in(team):
    assert team.get(reverse("queue")).status_code == 200


def test_it_lets_an_administrator_in_without_the_team_group(client):
    admin = factories.user(role=None, is_superuser=True)
    factories.sign_in(client, admin)
    assert client.get(reverse("queue")).status_code == 200


def test_it_signs_out_only_by_post(team):
    assert team.get(reverse("logout")).status_code == 405
    response = team.post(reverse("logout"))
    assert response.status_code == 302
    assert team.get(reverse("queue")).status_code == 302
    assert AuditEvent.objects.filter(verb="signed_out", object_type="user").count() == 1


@pytest.mark.parametrize("page", ["queue", "case", "message"])
def test_it_forbids_caching_every_page_of_case_data(team, page):
    case = factories.referral()
    message = case.submissions.get().message
    args = {"queue": [], "case": [case.reference], "message": [message.pk]}[page]
    response = team.get(reverse(page, args=args))
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert "private" in response["Cache-Control"]


def test_it_tells_the_browser_to_run_no_inline_script_on_a_case_page_and_has_none(team):
    case = factories.referral()
    response = team.get(reverse("case", args=[case.reference]))
    directives = {d.strip() for d in response["Content-Security-Policy"].split(";")}
    assert "default-src 'none'" in directives
    assert "script-src 'self'" in directives and "unsafe" not in str(directives)
    assert b"<script" not in response.content


def test_it_forbids_caching_the_refusal_page_too(client):
    factories.sign_in(client, factories.user(role=None))
    response = client.get(reverse("queue"))
    assert "no-store" in response["Cache-Control"]


# --- the queue -------------------------------------------------------------------


def test_it_lists_what_needs_review_cases_waiting_messages_and_parked_ones(team):
    case = factories.referral(status=Referral.Status.NEEDS_REVIEW)
    waiting = factories.message(
        decision="needs_review",
        assessment={"decision": "needs_review", "reasons": ["no form found in the attachments"]},
    )
    parked = factories.message(
        state=InboundMessage.State.PARKED, decision="", parked_reason="attachment_timeout"
    )
    accepted = factories.referral()
    response = team.get(reverse("queue"))
    html = response.content.decode()
    assert case.reference in html
    assert reverse("message", args=[waiting.pk]) in html
    assert "no form found in the attachments" in html
    assert reverse("message", args=[parked.pk]) in html
    assert "attachment_timeout" in html
    assert accepted.reference not in html
    assert [c for t, c, _ in response.context["tabs"] if t.key == "needs_review"] == [3]


def test_it_keeps_a_needs_review_message_of_a_case_off_the_list_as_a_message(team):
    case = factories.referral(
        received=factories.message(decision="needs_review"), status=Referral.Status.NEEDS_REVIEW
    )
    message = case.submissions.get().message
    html = team.get(reverse("queue")).content.decode()
    assert case.reference in html
    assert reverse("message", args=[message.pk]) not in html


def test_it_takes_a_reviewed_message_off_the_queue(team, team_user):
    reviewed = factories.message(decision="needs_review")
    MessageReview.objects.create(message=reviewed, reviewed_by=team_user)
    html = team.get(reverse("queue")).content.decode()
    assert reverse("message", args=[reviewed.pk]) not in html


def test_it_keeps_child_names_off_the_list_but_shows_initials(team):
    factories.referral(status=Referral.Status.NEEDS_REVIEW)
    html = team.get(reverse("queue") + "?tab=all").content.decode()
    assert "Testchild" not in html
    assert "Alex" not in html
    assert "A. T." in html


def test_it_keeps_attachment_names_in_reasons_off_the_list(team):
    factories.message(
        decision="needs_review",
        assessment={
            "decision": "needs_review",
            "reasons": ["attachment 'Alex Testchild.pdf' could not be read: encrypted"],
        },
    )
    html = team.get(reverse("queue")).content.decode()
    assert "Testchild" not in html
    assert "attachment … could not be read: encrypted" in html


def test_it_sorts_accepted_cases_by_due_date_and_highlights_the_urgent_ones(team):
    today = timezone.localdate()
    later = factories.referral(rapid_review_due=today + timedelta(days=60))
    overdue = factories.referral(rapid_review_due=today - timedelta(days=1))
    soon = factories.referral(rapid_review_due=add_working_days(today, 2))
    closed = factories.referral(status=Referral.Status.CLOSED, rapid_review_due=today)
    response = team.get(reverse("queue") + "?tab=accepted")
    rows = list(response.context["page"].object_list)
    assert [r.label for r in rows] == [overdue.reference, soon.reference, later.reference]
    assert [r.urgency for r in rows] == ["overdue", "soon", ""]
    html = response.content.decode()
    assert "row--overdue" in html and "Overdue" in html
    assert "row--soon" in html and "Due soon" in html
    assert closed.reference not in html


def test_it_does_not_call_a_date_four_working_days_away_due_soon(team):
    today = timezone.localdate()
    factories.referral(rapid_review_due=add_working_days(today, 4))
    rows = team.get(reverse("queue") + "?tab=accepted").context["page"].object_list
    assert [r.urgency for r in rows] == [""]


def test_it_lists_returned_referrals_under_incomplete(team):
    returned = factories.referral(status=Referral.Status.AWAITING_RESUBMISSION)
    accepted = factories.referral()
    html = team.get(reverse("queue") + "?tab=incomplete").content.decode()
    assert returned.reference in html
    assert accepted.reference not in html


def test_it_lists_automatic_mail_under_ignored_so_nothing_is_invisible(team):
    ignored = factories.message(
        decision="ignored",
        assessment={"decision": "ignored", "reasons": ["automatic mail (auto-submitted)"]},
    )
    html = team.get(reverse("queue") + "?tab=ignored").content.decode()
    assert reverse("message", args=[ignored.pk]) in html
    assert "automatic mail (auto-submitted)" in html


def test_it_pages_a_long_tab_fifty_rows_at_a_time(team):
    for _ in range(52):
        factories.message(decision="ignored", assessment={"decision": "ignored", "reasons": []})
    first = team.get(reverse("queue") + "?tab=ignored")
    assert len(first.context["page"].object_list) == 50
    assert 'href="?tab=ignored&amp;page=2"' in first.content.decode()
    second = team.get(reverse("queue") + "?tab=ignored&page=2")
    assert len(second.context["page"].object_list) == 2
    assert team.get(reverse("queue") + "?tab=ignored&page=x").status_code == 200


def test_it_lists_every_case_under_all_cases_with_counts_per_tab(team):
    factories.referral()
    factories.referral(status=Referral.Status.CLOSED)
    factories.referral(status=Referral.Status.AWAITING_RESUBMISSION, flags=["late_notification"])
    response = team.get(reverse("queue") + "?tab=all")
    counts = {t.key: n for t, n, _ in response.context["tabs"]}
    assert counts == {
        "needs_review": 0,
        "incomplete": 1,
        "accepted": 1,
        "decided": 0,
        "closed": 1,
        "ignored": 0,
        "all": 3,
    }
    assert len(response.context["page"].object_list) == 3
    assert "Late notification" in response.content.decode()


def test_it_shows_the_needs_review_tab_for_an_unknown_tab(team):
    response = team.get(reverse("queue") + "?tab=<script>")
    assert response.context["tab"].key == "needs_review"
    assert b"<script>" not in response.content


# --- the case page -------------------------------------------------------------------


def test_it_shows_the_answers_by_section_with_the_questions_as_printed(team):
    case = factories.referral()
    html = team.get(reverse("case", args=[case.reference])).content.decode()
    assert "4. The child" in html
    assert "Forename(s)" in html and "Alex" in html and "Testchild" in html
    assert "Rapid Review (serious child safeguarding incident)" in html  # the option's wording
    assert "3 April 2015" in html  # the date written out
    assert "Child in need" in html and "Early help" in html
    assert "referral.docx, table 4 row 2" in html  # where the surname was read


def test_it_highlights_missing_and_invalid_answers(team):
    case = factories.referral(
        status=Referral.Status.AWAITING_RESUBMISSION,
        missing=["referrer_phone"],
        invalid=[{"field": "referrer_email", "reason": "not a valid email address"}],
        fields={**factories.CSPR_FIELDS, "referrer_email": "sam.example@"},
    )
    response = team.get(reverse("case", args=[case.reference]))
    html = response.content.decode()
    assert html.count("answer--missing") == 1
    assert html.count("answer--invalid") == 1
    assert "not a valid email address" in html
    assert "sam.example@" in html


def test_it_shows_every_submission_reply_and_the_audit_trail(team):
    case = factories.referral(flags=["late_notification"])
    first = case.submissions.get().message
    document = factories.attachment(first, filename="CSPR form.docx")
    factories.reply(first, case, body_text="We have your referral <b>thanks</b>.")
    html = team.get(reverse("case", args=[case.reference])).content.decode()
    assert reverse("message_original", args=[first.pk]) in html
    assert reverse("attachment", args=[first.pk, document.pk]) in html
    assert first.subject in html and first.sender in html
    assert "We have your referral &lt;b&gt;thanks&lt;/b&gt;." in html
    assert "Late notification" in html
    assert '<td class="govuk-table__cell">Viewed</td>' in html  # this very look is in the trail


def test_it_records_who_viewed_a_case(team, team_user):
    case = factories.referral()
    team.get(reverse("case", args=[case.reference]))
    [event] = events("viewed", "referral", case.pk)
    assert event.actor == team_user
    assert event.detail == {}


def test_it_answers_404_for_an_unknown_case(team):
    assert team.get(reverse("case", args=["WSP-2099-9999"])).status_code == 404


# --- actions on a case -------------------------------------------------------------


def test_it_assigns_a_case_to_the_signed_in_user_and_records_it(team, team_user):
    case = factories.referral()
    response = team.post(
        reverse("case_assign", args=[case.reference]),
        {"action": "assign_me", "expected_assignee": ""},
    )
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.assignee == team_user
    [event] = events("assigned", "referral", case.pk)
    assert (event.actor, event.detail) == (team_user, {"previous": None, "to": team_user.pk})


def test_it_names_who_a_case_was_assigned_to_in_its_history(team, team_user):
    case = factories.referral()
    team.post(reverse("case_assign", args=[case.reference]), {"action": "assign_me"})
    html = team.get(reverse("case", args=[case.reference])).content.decode()
    assert f"from: nobody; to: {team_user.username}" in html


def test_it_unassigns_a_case(team, team_user):
    case = factories.referral(assignee=team_user)
    team.post(
        reverse("case_assign", args=[case.reference]),
        {"action": "unassign", "expected_assignee": str(team_user.pk)},
    )
    case.refresh_from_db()
    assert case.assignee is None
    assert len(events("unassigned", "referral", case.pk)) == 1


def test_it_does_not_take_a_case_someone_else_took_meanwhile(team):
    other = factories.user("team")
    case = factories.referral(assignee=other)
    response = team.post(
        reverse("case_assign", args=[case.reference]),
        {"action": "assign_me", "expected_assignee": ""},
        follow=True,
    )
    case.refresh_from_db()
    assert case.assignee == other
    assert "Someone else changed this case" in response.content.decode()
    assert events("assigned", "referral", case.pk) == []


def test_it_changes_a_cases_status_and_records_from_what_to_what(team, team_user):
    case = factories.referral()
    team.post(
        reverse("case_status", args=[case.reference]),
        {"status": "needs_review", "current": "accepted"},
    )
    case.refresh_from_db()
    assert case.status == "needs_review"
    [event] = events("status_changed", "referral", case.pk)
    assert event.detail == {"old": "accepted", "new": "needs_review"}


def test_it_does_not_change_a_status_that_changed_meanwhile(team):
    case = factories.referral(status=Referral.Status.NEEDS_REVIEW)
    team.post(
        reverse("case_status", args=[case.reference]), {"status": "closed", "current": "accepted"}
    )
    case.refresh_from_db()
    assert case.status == "needs_review"


def test_it_refuses_a_status_that_does_not_exist(team):
    case = factories.referral()
    team.post(
        reverse("case_status", args=[case.reference]), {"status": "deleted", "current": "accepted"}
    )
    case.refresh_from_db()
    assert case.status == "accepted"


def test_it_adds_a_decision_note_and_keeps_its_text_out_of_the_audit(team, team_user):
    case = factories.referral()
    team.post(reverse("case_note", args=[case.reference]), {"text": "Spoke to Alex's school."})
    [note] = CaseNote.objects.filter(referral=case)
    assert (note.author, note.text) == (team_user, "Spoke to Alex's school.")
    [event] = events("note_added", "referral", case.pk)
    assert event.detail == {"note": note.pk}
    html = team.get(reverse("case", args=[case.reference])).content.decode()
    assert "Spoke to Alex&#x27;s school." in html


def test_it_refuses_an_empty_note(team):
    case = factories.referral()
    team.post(reverse("case_note", args=[case.reference]), {"text": "   "})
    assert not CaseNote.objects.exists()


@pytest.mark.parametrize("name", ["case_assign", "case_status", "case_note"])
def test_it_refuses_case_actions_without_a_csrf_token(team_user, name):
    case = factories.referral()
    client = Client(enforce_csrf_checks=True)
    factories.sign_in(client, team_user)
    data = {"action": "assign_me", "status": "closed", "current": "accepted", "text": "x"}
    response = client.post(reverse(name, args=[case.reference]), data)
    assert response.status_code == 403
    case.refresh_from_db()
    assert (case.assignee, case.status) == (None, "accepted")
    assert not CaseNote.objects.exists()


def test_it_accepts_an_action_with_the_pages_csrf_token(team_user):
    case = factories.referral()
    client = Client(enforce_csrf_checks=True)
    factories.sign_in(client, team_user)
    page = client.get(reverse("case", args=[case.reference]))
    token = page.context["csrf_token"]
    response = client.post(
        reverse("case_assign", args=[case.reference]),
        {"action": "assign_me", "expected_assignee": "", "csrfmiddlewaretoken": str(token)},
    )
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.assignee == team_user


def test_it_refuses_actions_by_get(team):
    case = factories.referral()
    assert team.get(reverse("case_assign", args=[case.reference])).status_code == 405


# --- the message page ----------------------------------------------------------------


def test_it_shows_a_messages_envelope_reasons_and_text_escaped(team, team_user):
    message = factories.message(
        decision="needs_review",
        sender="someone@school.example",
        subject="Referral for review",
        body="Hello <script>alert(1)</script> team",
        assessment={"decision": "needs_review", "reasons": ["no form found in the attachments"]},
    )
    html = team.get(reverse("message", args=[message.pk])).content.decode()
    assert "someone@school.example" in html
    assert "Referral for review" in html
    assert "no form found in the attachments" in html
    assert "Hello &lt;script&gt;alert(1)&lt;/script&gt; team" in html
    assert "<script>" not in html
    [event] = events("viewed", "inbound_message", message.pk)
    assert event.actor == team_user


def test_it_shows_each_attachment_with_whether_it_could_be_read(team):
    message = factories.message(decision="needs_review")
    factories.attachment(message, filename="form.pdf", parse_status="failed", reason="encrypted")
    html = team.get(reverse("message", args=[message.pk])).content.decode()
    assert "Could not be read" in html and "encrypted" in html
    assert "form.pdf" in html


def test_it_shows_why_a_parked_message_is_parked(team):
    message = factories.message(
        state=InboundMessage.State.PARKED,
        decision="",
        parked_reason="attachment_timeout",
        parked_from="parsed",
    )
    html = team.get(reverse("message", args=[message.pk])).content.decode()
    assert "attachment_timeout" in html


def test_it_marks_a_message_reviewed_with_a_note_once(team, team_user):
    message = factories.message(decision="needs_review")
    url = reverse("message_review", args=[message.pk])
    assert team.post(url, {"note": "A newsletter; nothing to do."}).status_code == 302
    team.post(url, {"note": "again"})
    review = MessageReview.objects.get(message=message)
    assert (review.reviewed_by, review.note) == (team_user, "A newsletter; nothing to do.")
    [event] = events("message_reviewed", "inbound_message", message.pk)
    assert event.detail == {"review": review.pk, "outcome": "reviewed"}
    html = team.get(reverse("message", args=[message.pk])).content.decode()
    assert f"Reviewed by {team_user.username}" in html


def test_it_refuses_to_mark_a_message_reviewed_without_a_csrf_token(team_user):
    message = factories.message(decision="needs_review")
    client = Client(enforce_csrf_checks=True)
    factories.sign_in(client, team_user)
    response = client.post(reverse("message_review", args=[message.pk]), {"note": ""})
    assert response.status_code == 403
    assert not MessageReview.objects.exists()


# --- downloads -------------------------------------------------------------------------


def test_it_serves_an_attachment_to_save_never_to_render(team, team_user):
    message = factories.message()
    found = factories.attachment(
        message, filename='../../evil"\r\nname.html', media_type="text/html", data=b"<b>hi</b>"
    )
    response = team.get(reverse("attachment", args=[message.pk, found.pk]))
    assert response.status_code == 200
    assert response.content == b"<b>hi</b>"
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"] == 'attachment; filename="evil_name.html"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in response["Cache-Control"]
    assert response["Content-Security-Policy"].startswith("sandbox")
    [event] = events("downloaded", "inbound_message", message.pk)
    assert (event.actor, event.detail) == (team_user, {"attachment": found.pk})


def test_it_offers_a_non_ascii_filename_in_plain_ascii(team):
    message = factories.message()
    found = factories.attachment(message, filename="Référral form ü.docx")
    response = team.get(reverse("attachment", args=[message.pk, found.pk]))
    assert response["Content-Disposition"] == 'attachment; filename="Referral form u.docx"'


def test_it_serves_the_original_message_as_an_eml_file(team):
    message = factories.message()
    response = team.get(reverse("message_original", args=[message.pk]))
    assert response.content == bytes(message.raw)
    assert response["Content-Disposition"] == f'attachment; filename="message-{message.pk}.eml"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert len(events("downloaded", "inbound_message", message.pk)) == 1


def test_it_does_not_serve_an_attachment_under_another_message(team):
    one, other = factories.message(), factories.message()
    found = factories.attachment(one)
    response = team.get(reverse("attachment", args=[other.pk, found.pk]))
    assert response.status_code == 404


def test_it_uses_only_ids_and_references_in_urls(team):
    case = factories.referral(status=Referral.Status.NEEDS_REVIEW)
    factories.attachment(case.submissions.get().message, filename="Testchild form.pdf")
    html = team.get(reverse("case", args=[case.reference])).content.decode()
    hrefs = [part.split('"', 1)[0] for part in html.split('href="')[1:]]
    assert hrefs
    assert not [h for h in hrefs if "Testchild" in h or "@" in h or "form.pdf" in h]


def test_it_logs_ids_and_never_personal_data(team):
    from structlog.testing import capture_logs

    case = factories.referral()
    message = case.submissions.get().message
    with capture_logs() as logs:
        team.get(reverse("case", args=[case.reference]))
        team.post(reverse("case_note", args=[case.reference]), {"text": "Alex Testchild note"})
        team.get(reverse("message_original", args=[message.pk]))
    assert {e["event"] for e in logs} >= {"viewed", "note_added", "downloaded"}
    text = repr(logs)
    for personal in ("Alex", "Testchild", "referrer@agency.example", message.subject):
        assert personal not in text


def test_it_shows_a_date_readably_in_the_summary(team):
    case = factories.referral(rapid_review_due=date(2030, 5, 1))
    html = team.get(reverse("case", args=[case.reference])).content.decode()
    assert "Wednesday 1 May 2030" in html
