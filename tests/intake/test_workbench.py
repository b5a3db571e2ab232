"""The team's workbench pages (issue 12): every page and who reaches it; finding,
deciding and reporting through the pages; the screens telling the truth."""

from __future__ import annotations

import ast
import csv
import io
from datetime import timedelta
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from intake.models import (
    AnswerCorrection,
    AuditEvent,
    CaseStep,
    MessageReview,
    OutboundEmail,
    Referral,
)
from tests.intake import factories

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def quick_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def member():
    return factories.user("team", username="casey")


@pytest.fixture
def team(client: Client, member) -> Client:
    return factories.sign_in(client, member)


@pytest.fixture
def admin(client: Client) -> Client:
    return factories.sign_in(client, factories.user("admin", username="ada"))


def page_urls() -> dict[str, str]:
    case = factories.referral()
    message = case.submissions.get().message
    waiting = factories.message(decision="needs_review", reason_code="no_form")
    person = factories.user("team")
    return {
        "queue": reverse("queue"),
        "queue_closed": reverse("queue") + "?tab=closed",
        "case": reverse("case", args=[case.reference]),
        "correct": reverse("case_correct", args=[case.reference, "referrer_phone"]),
        "message": reverse("message", args=[message.pk]),
        "return": reverse("message_return", args=[waiting.pk]),
        "dashboard": reverse("dashboard"),
        "export": reverse("export"),
        "account": reverse("account"),
        "people": reverse("people"),
        "person": reverse("person", args=[person.pk]),
        "audit": reverse("audit_trail"),
        "wordings": reverse("wordings"),
    }


ADMIN_ONLY = {"people", "person", "audit", "wordings"}


def test_every_page_opens_for_an_administrator(admin):
    for name, url in page_urls().items():
        response = admin.get(url)
        assert response.status_code == 200, name
        assert "no-store" in response["Cache-Control"], name


def test_a_team_member_opens_the_team_pages_and_is_refused_the_admin_pages(team):
    for name, url in page_urls().items():
        response = team.get(url)
        assert response.status_code == (403 if name in ADMIN_ONLY else 200), name


def test_nobody_signed_in_reaches_a_page(client):
    for name, url in page_urls().items():
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/login/"), name


def test_a_password_alone_reaches_no_page(client, member):
    client.force_login(member)
    for name, url in page_urls().items():
        response = client.get(url)
        assert response.status_code == 302, name
        assert response["Location"].startswith("/login/"), name


def test_someone_without_a_role_is_refused_every_page(client):
    factories.sign_in(client, factories.user(role=None))
    for name, url in page_urls().items():
        assert client.get(url).status_code == 403, name


def test_the_menu_shows_the_admin_pages_to_administrators_only(team, client):
    html = team.get(reverse("queue")).content.decode()
    assert 'href="/dashboard/"' in html and 'href="/people/"' not in html
    factories.sign_in(client, factories.user("admin"))
    assert 'href="/people/"' in client.get(reverse("queue")).content.decode()


def test_the_web_never_imports_the_parsers_or_the_mailboxes():
    for path in (ROOT / "intake" / "web").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert not name.startswith(("parsers", "intake.mailbox")), (path.name, name)


# --- finding ------------------------------------------------------------------------------


def test_it_searches_by_a_childs_name_without_putting_it_in_the_url_or_the_audit(team):
    wanted = factories.referral(fields={**factories.CSPR_FIELDS, "child_surname": "Zebedee"})
    other = factories.referral()
    response = team.post(reverse("queue_search"), {"text": "zebedee", "tab": "all"})
    assert response.status_code == 302
    assert "zebedee" not in response["Location"].lower() and "find=" in response["Location"]
    page = team.get(response["Location"])
    html = page.content.decode()
    assert wanted.reference in html and other.reference not in html
    assert 'value="zebedee"' in html  # the words searched for, shown back to the searcher only
    details = list(
        AuditEvent.objects.filter(verb="viewed", object_type="queue").values_list(
            "detail", flat=True
        )
    )
    assert "zebedee" not in str(details).lower() and details[-1]["words"] == "yes"


def test_it_finds_by_reference_referrer_and_agency(team):
    case = factories.referral(
        fields={**factories.CSPR_FIELDS, "referrer_agency": "Westshire Police"}
    )
    for words in (case.reference, "agency.example", "westshire police"):
        location = team.post(reverse("queue_search"), {"text": words, "tab": "all"})["Location"]
        assert case.reference in team.get(location).content.decode(), words


def test_it_filters_by_status_form_assignee_flag_and_received_dates(team, member):
    today = timezone.localdate()
    mine = factories.referral(assignee=member, flags=["late_notification"])
    old = factories.referral(received_on=today - timedelta(days=90))
    sin = factories.referral(form_type="serious_incident_notification")

    def rows(query: str) -> list[str]:
        return [
            r.label
            for r in team.get(reverse("queue") + "?tab=all&" + query).context["page"].object_list
        ]

    assert rows(f"assignee={member.pk}") == [mine.reference]
    assert rows("flag=late_notification") == [mine.reference]
    assert rows("form=serious_incident_notification") == [sin.reference]
    assert old.reference not in rows(f"from={(today - timedelta(days=10)).isoformat()}")
    assert rows(f"to={(today - timedelta(days=60)).isoformat()}") == [old.reference]
    assert sorted(rows("assignee=none")) == sorted([old.reference, sin.reference])


def test_it_filters_by_due_within_working_days_and_overdue(team):
    from intake.deadlines import add_working_days

    today = timezone.localdate()
    soon = factories.referral(rapid_review_due=add_working_days(today, 2))
    late = factories.referral(rapid_review_due=today - timedelta(days=3))
    factories.referral(rapid_review_due=today + timedelta(days=60))
    waiting = factories.referral(
        status=Referral.Status.AWAITING_RESUBMISSION, rapid_review_due=today - timedelta(days=5)
    )

    def rows(query: str) -> list[str]:
        return [
            r.label
            for r in team.get(reverse("queue") + "?tab=all&" + query).context["page"].object_list
        ]

    assert rows("due_within=3") == [soon.reference]
    assert rows("overdue=1") == [late.reference]
    assert waiting.reference not in rows("overdue=1")


def test_it_sorts_all_cases_by_the_date_shown(team):
    today = timezone.localdate()
    newer = factories.referral(received_on=today - timedelta(days=1))
    older = factories.referral(received_on=today - timedelta(days=30))
    newest_first = [
        r.label for r in team.get(reverse("queue") + "?tab=all").context["page"].object_list
    ]
    assert newest_first == [newer.reference, older.reference]
    oldest_first = [
        r.label
        for r in team.get(reverse("queue") + "?tab=all&sort=received").context["page"].object_list
    ]
    assert oldest_first == [older.reference, newer.reference]


def test_it_lists_decided_and_closed_cases_in_tabs_of_their_own(team, member):
    decided = factories.referral()
    today = timezone.localdate()
    CaseStep.objects.create(
        referral=decided, kind="rapid_review_held", on=today, recorded_by=member
    )
    CaseStep.objects.create(
        referral=decided, kind="outcome", on=today, outcome="local_cspr", recorded_by=member
    )
    closed = factories.referral(status=Referral.Status.CLOSED)
    html = team.get(reverse("queue") + "?tab=decided").content.decode()
    assert decided.reference in html and "Local child safeguarding practice review" in html
    assert closed.reference in team.get(reverse("queue") + "?tab=closed").content.decode()
    accepted = team.get(reverse("queue") + "?tab=accepted").content.decode()
    assert decided.reference not in accepted


# --- the screens tell the truth -----------------------------------------------------------


def test_a_case_waiting_for_its_referrer_is_never_overdue_and_says_how_long_it_waits(team):
    today = timezone.localdate()
    case = factories.referral(
        status=Referral.Status.AWAITING_RESUBMISSION,
        rapid_review_due=today - timedelta(days=3),
        received_on=today - timedelta(days=6),
    )
    html = team.get(reverse("queue") + "?tab=incomplete").content.decode()
    assert case.reference in html and "Waiting 6 days" in html and "govuk-tag--red" not in html
    case_html = team.get(reverse("case", args=[case.reference])).content.decode()
    assert ">Overdue<" not in case_html


def test_a_question_is_required_only_when_the_rules_require_it_for_this_case(team):
    case = factories.referral()  # seriously harmed: no date of death needed; a dob given
    html = team.get(reverse("case", args=[case.reference])).content.decode()
    row = html[html.index('id="answer-date_of_death"') :][:600]
    assert "(required)" not in row
    row = html[html.index('id="answer-child_age"') :][:600]
    assert "(required)" not in row
    row = html[html.index('id="answer-child_surname"') :][:600]
    assert "(required)" in row


def test_the_case_and_its_message_give_the_same_received_date(team):
    from datetime import date

    message = factories.message(
        received_at=timezone.make_aware(timezone.datetime(2026, 12, 2, 9)),
        assessment={
            "decision": "accepted",
            "form_type": "cspr_referral",
            "received_on": "2026-01-30",
        },
    )
    case = factories.referral(received=message, received_on=date(2026, 1, 30))
    case_html = team.get(reverse("case", args=[case.reference])).content.decode()
    message_html = team.get(reverse("message", args=[message.pk])).content.decode()
    assert "30 January 2026" in case_html and "30 January 2026" in message_html
    assert "2 December 2026" not in case_html and "Friday 30 January 2026" in message_html


def test_it_says_why_in_words_not_internal_keys(team):
    message = factories.message(
        decision="ignored",
        reason_code="automatic:auto_response_suppress",
        assessment={
            "decision": "ignored",
            "reasons": ["field child_nhs_number: not valid"],
            "form_type": "cspr_referral",
        },
    )
    html = team.get(reverse("message", args=[message.pk])).content.decode()
    assert "automatic mail" in html
    assert "“The child: NHS number”" in html and "field child_nhs_number" not in html
    listing = team.get(reverse("queue") + "?tab=ignored").content.decode()
    assert "auto_response_suppress" not in listing


def test_a_needs_review_row_shows_sender_subject_and_attachment_but_no_childs_name(team):
    message = factories.message(
        decision="needs_review",
        reason_code="unauthenticated:no_verdict",
        sender="someone@agency.example",
        subject="Referral for Alex Testchild",
        assessment={
            "decision": "needs_review",
            "form_type": "cspr_referral",
            "fields": {"child_forenames": "Alex", "child_surname": "Testchild"},
        },
    )
    factories.attachment(message, filename="Testchild referral.docx")
    html = team.get(reverse("queue")).content.decode()
    assert "someone@agency.example" in html
    assert "Referral for A. T." in html and "T. referral.docx" in html
    assert "Testchild" not in html
    assert "did not authenticate the sender" in html


def test_the_history_names_a_case_by_its_reference(team):
    case = factories.referral()
    html = team.get(reverse("case", args=[case.reference])).content.decode()
    assert f"Case {case.reference}" in html
    assert f"case {case.pk}<" not in html


# --- deciding through the pages -------------------------------------------------------------


def test_it_assigns_a_case_to_a_colleague(team):
    colleague = factories.user("team", username="robin")
    case = factories.referral()
    response = team.post(
        reverse("case_assign", args=[case.reference]), {"to": colleague.pk, "expected_assignee": ""}
    )
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.assignee == colleague


def test_it_corrects_an_answer_and_shows_the_original(team):
    case = factories.referral()
    url = reverse("case_correct_save", args=[case.reference, "child_surname"])
    team.post(url, {"expected": '"Testchild"', "value": "Testchilde", "reason": "typo on the form"})
    case.refresh_from_db()
    assert case.fields["child_surname"] == "Testchilde"
    assert AnswerCorrection.objects.get(referral=case).original == "Testchild"
    html = team.get(reverse("case", args=[case.reference])).content.decode()
    assert "was “Testchild”" in html and "typo on the form" in html


def test_it_records_a_rapid_review_outcome_with_its_date(team):
    case = factories.referral()
    today = timezone.localdate()
    date_fields = {"on-day": today.day, "on-month": today.month, "on-year": today.year}
    url = reverse("case_step", args=[case.reference])
    team.post(url, {"kind": "rapid_review_held", **date_fields})
    team.post(url, {"kind": "outcome", "outcome": "national_review_recommended", **date_fields})
    [outcome] = CaseStep.objects.filter(referral=case, kind="outcome")
    assert outcome.outcome == "national_review_recommended" and outcome.on == today
    html = team.get(reverse("case", args=[case.reference])).content.decode()
    assert "National review recommended" in html and "Decided" in html


def test_it_refuses_a_date_that_is_not_a_date(team):
    case = factories.referral()
    team.post(
        reverse("case_step", args=[case.reference]),
        {"kind": "letter_sent", "on-day": "31", "on-month": "2", "on-year": "2026"},
    )
    assert not CaseStep.objects.exists()


def test_it_closes_a_case(team):
    case = factories.referral()
    team.post(reverse("case_close", args=[case.reference]), {"current": "accepted"})
    case.refresh_from_db()
    assert case.status == "closed"


def test_it_makes_a_case_from_a_needs_review_message(team, member):
    message = factories.message(decision="needs_review", reason_code="no_form")
    response = team.post(
        reverse("message_make_case", args=[message.pk]), {"form_type": "cspr_referral"}
    )
    case = Referral.objects.get(submissions__message=message)
    assert response["Location"] == reverse("case", args=[case.reference])
    assert case.assignee == member
    assert reverse("message", args=[message.pk]) not in team.get(reverse("queue")).content.decode()


def test_it_marks_a_message_not_a_referral(team):
    message = factories.message(decision="needs_review", reason_code="no_form")
    team.post(reverse("message_not_referral", args=[message.pk]), {"note": "a newsletter"})
    assert MessageReview.objects.get(message=message).outcome == "not_a_referral"
    assert reverse("message", args=[message.pk]) not in team.get(reverse("queue")).content.decode()


def test_it_sends_a_return_after_a_person_edits_it(team):
    message = factories.message(decision="needs_review", reason_code="no_form")
    page = team.get(reverse("message_return", args=[message.pk])).content.decode()
    assert "Thank you for your referral" in page
    team.post(
        reverse("message_return_send", args=[message.pk]),
        {"subject": "Your referral", "text": "Please attach the form."},
    )
    row = OutboundEmail.objects.get(message=message)
    assert row.body_text.startswith("Please attach the form.") and row.state == "pending"


# --- reporting -------------------------------------------------------------------------------


def test_the_dashboard_draws_each_chart_with_a_text_alternative_and_a_table(team):
    factories.referral(fields={**factories.CSPR_FIELDS, "referrer_agency": "Westshire Police"})
    html = team.get(reverse("dashboard")).content.decode()
    assert html.count("<svg") == 8 and html.count("<desc") == 8 and html.count("<title") >= 8
    assert "Westshire Police" in html and "Rapid Reviews held on time and late" in html
    assert html.count('class="govuk-table figure__table"') == 8


def test_it_exports_the_filtered_view_with_chosen_columns_audited(team):
    case = factories.referral(fields={**factories.CSPR_FIELDS, "referrer_agency": "=HYPERLINK(1)"})
    factories.referral(status=Referral.Status.CLOSED)
    page = team.get(reverse("export") + "?tab=accepted")
    assert "1 case" in page.content.decode()
    response = team.post(
        reverse("export_csv"),
        {"query": "tab=accepted", "columns": ["reference", "agency", "status"]},
    )
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment;" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows == [
        ["Reference", "Status", "Referring agency"],  # in the catalogue's order
        [case.reference, "Accepted", "'=HYPERLINK(1)"],
    ]
    [event] = AuditEvent.objects.filter(verb="exported")
    assert event.detail["rows"] == 1
    assert event.detail["columns"] == ["reference", "status", "agency"]


def test_the_export_leaves_names_out_unless_chosen(team):
    factories.referral()
    page = team.get(reverse("export")).content.decode()
    assert 'value="child_name">' in page and 'value="child_name" checked' not in page
    response = team.post(
        reverse("export_csv"), {"query": "tab=all", "columns": ["reference", "status", "agency"]}
    )
    assert "Testchild" not in response.content.decode()


def test_the_export_is_posted_only(team):
    assert team.get(reverse("export_csv")).status_code == 405


# --- people ----------------------------------------------------------------------------------


def test_an_administrator_adds_someone_with_a_temporary_password_shown_once(admin):
    response = admin.post(reverse("people_add"), {"username": "newcomer", "role": "team"})
    page = admin.get(response["Location"]).content.decode()
    assert 'id="one-time-password"' in page
    assert 'id="one-time-password"' not in admin.get(response["Location"]).content.decode()
    assert AuditEvent.objects.filter(verb="user_created").exists()


def test_an_administrator_changes_a_role_and_resets_a_second_factor(admin):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from intake.users import role_of

    person = factories.user("team")
    TOTPDevice.objects.create(user=person, name="app", confirmed=True)
    url = reverse("person_change", args=[person.pk])
    admin.post(url, {"action": "role", "role": "admin"})
    person.refresh_from_db()
    assert role_of(person) == "admin"
    admin.post(url, {"action": "reset_second_factor"})
    assert not TOTPDevice.objects.filter(user=person).exists()
    admin.post(url, {"action": "deactivate"})
    person.refresh_from_db()
    assert not person.is_active


def test_a_team_member_cannot_change_people(team):
    person = factories.user("team")
    response = team.post(
        reverse("person_change", args=[person.pk]), {"action": "role", "role": "admin"}
    )
    assert response.status_code == 403
    person.refresh_from_db()
    assert not person.is_staff


def test_the_audit_trail_page_filters_by_what(admin):
    case = factories.referral()
    admin.get(reverse("case", args=[case.reference]))
    html = admin.get(reverse("audit_trail") + "?what=viewed&record=referral").content.decode()
    assert f"Case {case.reference}" in html
