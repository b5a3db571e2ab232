"""The review pages in a real browser (Chromium, JavaScript off): a team member's day.

Screenshots go to /tmp/intake-browser-*.png for a person to look at.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from intake.deadlines import add_working_days
from intake.models import AuditEvent, CaseNote, Referral
from tests.intake import factories
from tests.intake.test_web_pipeline import processed  # noqa: F401  (the fixture)
from tests.servers import browser

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def page(monkeypatch: pytest.MonkeyPatch, settings: Any) -> Iterator[Any]:
    yield from browser.open_page(monkeypatch, settings)


@pytest.fixture(autouse=True)
def quick_passwords(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def sign_in(page: Any, base: str, username: str) -> None:
    browser.sign_in(page, base, username, factories.PASSWORD)


def test_it_lets_a_team_member_work_a_case_from_the_queue(page, live_server):
    from playwright.sync_api import expect

    base = live_server.url
    member = factories.user("team", username="casey")
    today = timezone.localdate()
    overdue = factories.referral(rapid_review_due=today - timedelta(days=2))
    soon = factories.referral(
        rapid_review_due=add_working_days(today, 2), flags=["late_notification"]
    )
    factories.referral(rapid_review_due=today + timedelta(days=40))
    factories.referral(status=Referral.Status.AWAITING_RESUBMISSION)
    factories.message(
        decision="needs_review",
        assessment={"decision": "needs_review", "reasons": ["no form found in the attachments"]},
    )

    sign_in(page, base, "casey")
    expect(page.get_by_role("heading", name="Referrals", level=1)).to_be_visible()
    page.keyboard.press("Tab")  # a keyboard user's first stop: the skip link, shown on focus
    skip = page.get_by_role("link", name="Skip to main content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    skip.press("Enter")  # on to the main content (the skip link hides again)
    expect(page.locator("#main-content")).to_be_focused()
    page.get_by_role("link", name=re.compile(r"^Accepted")).click()
    overdue_row = page.locator("tr.row--overdue")
    expect(overdue_row).to_contain_text(overdue.reference)
    expect(overdue_row).to_contain_text("Overdue")
    expect(page.locator("tr.row--soon")).to_contain_text(soon.reference)
    assert "Testchild" not in page.content()
    page.screenshot(path="/tmp/intake-browser-queue.png", full_page=True)

    page.get_by_role("link", name=overdue.reference).click()
    expect(page.get_by_role("heading", name=f"Case {overdue.reference}")).to_be_visible()
    expect(page.get_by_role("cell", name="Testchild")).to_be_visible()
    page.get_by_label("Assign to").select_option(label="casey (you)")
    page.get_by_role("button", name="Assign", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("Assigned to you.")
    page.get_by_role("textbox", name="Decision note").fill("Rapid Review meeting booked.")
    page.get_by_role("button", name="Add note").click()
    expect(page.get_by_role("status")).to_contain_text("Note added.")
    expect(page.locator(".notes")).to_contain_text("Rapid Review meeting booked.")
    page.screenshot(path="/tmp/intake-browser-case.png", full_page=True)

    overdue.refresh_from_db()
    assert overdue.assignee == member
    assert CaseNote.objects.get(referral=overdue).text == "Rapid Review meeting booked."
    verbs = set(
        AuditEvent.objects.filter(
            actor=member, object_type="referral", object_id=str(overdue.pk)
        ).values_list("verb", flat=True)
    )
    assert verbs == {"viewed", "assigned", "note_added"}

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.goto(base + "/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/$"))


def test_it_shows_a_message_waiting_for_review_and_takes_it_off_the_queue(page, live_server):
    from playwright.sync_api import expect

    base = live_server.url
    factories.user("team", username="robin")
    waiting = factories.message(
        decision="needs_review",
        body="Please see the attached letter.\n<b>not bold</b>",
        assessment={"decision": "needs_review", "reasons": ["no form found in the attachments"]},
    )
    factories.attachment(waiting, filename="letter.pdf", parse_status="failed", reason="encrypted")

    sign_in(page, base, "robin")
    page.get_by_role("link", name=f"Message {waiting.pk}").click()
    expect(page.get_by_role("heading", name=f"Message {waiting.pk}")).to_be_visible()
    expect(page.locator("pre.mail-text")).to_contain_text("<b>not bold</b>")
    expect(page.get_by_role("cell", name="Could not be read encrypted")).to_be_visible()
    page.screenshot(path="/tmp/intake-browser-message.png", full_page=True)
    page.get_by_label("Note (optional)").fill("A covering letter; the form follows.")
    page.get_by_role("button", name="Mark reviewed").click()
    expect(page.get_by_role("status")).to_contain_text("marked reviewed")
    page.get_by_role("link", name="Back to the referrals").click()
    expect(page.get_by_role("link", name=f"Message {waiting.pk}")).to_have_count(0)


def test_it_serves_the_stylesheet(page, live_server):
    response = page.request.get(live_server.url + "/static/intake/review.css")
    assert response.status == 200
    assert ".row--overdue" in response.text()
    govuk = page.request.get(live_server.url + "/static/govuk/intake.css")
    assert govuk.status == 200 and ".govuk-table" in govuk.text()
    assert "GDS Transport" not in govuk.text()  # licensed for GOV.UK domains only


@pytest.mark.slow
def test_it_shows_a_real_incomplete_referral_readably(page, live_server, processed):  # noqa: F811
    from playwright.sync_api import expect

    factories.user("team", username="jo")
    case = Referral.objects.get(submissions__message=processed["referral-incomplete"])
    sign_in(page, live_server.url, "jo")
    page.get_by_role("link", name=re.compile(r"^Incomplete")).click()
    page.get_by_role("link", name=case.reference).click()
    expect(page.locator("tr.answer--missing").first).to_be_visible()
    expect(page.get_by_role("cell", name="Incomplete return", exact=True)).to_be_visible()
    page.get_by_text("Read the email").first.click()  # <details> open without JavaScript
    expect(page.locator("pre.mail-text").first).to_be_visible()
    page.screenshot(path="/tmp/intake-browser-real-case.png", full_page=True)
