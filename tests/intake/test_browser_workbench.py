"""The workbench in a real browser (Debian's Chromium), as the team uses it (issue 12):
sign in with a second factor, find a referral by search, correct an answer, make a case
from a needs-review message, record a Rapid Review outcome, export CSV, check the audit
trail.  axe-core checks every page visited: no serious or critical violation.

Screenshots go to $INTAKE_SCREENSHOTS (``docs/screenshots`` for the README's), else /tmp.
"""

from __future__ import annotations

import base64
import csv
import io
import os
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from intake.deadlines import add_working_days
from intake.models import AuditEvent, CaseStep, Referral
from tests.intake import factories
from tests.servers import browser

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
SHOTS = Path(os.environ.get("INTAKE_SCREENSHOTS") or "/tmp")


@pytest.fixture
def page(monkeypatch: pytest.MonkeyPatch, settings: Any) -> Iterator[Any]:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    yield from browser.open_page(monkeypatch, settings, javascript=True)


def accessible(page: Any) -> None:
    assert browser.check_accessibility(page) == [], page.url


def shot(page: Any, name: str, height: int | None = None) -> None:
    """A screenshot of the whole page, or of its top ``height`` pixels."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    clip = {"x": 0, "y": 0, "width": 1280, "height": height} if height else None
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True, clip=clip)


def enrolled(username: str, role: str = "team") -> str:
    """A person with an authenticator app set up; the app's secret (base32)."""
    person = factories.user(role, username=username)
    device = TOTPDevice.objects.create(user=person, name="app", confirmed=True)
    return base64.b32encode(device.bin_key).decode()


def sign_in(page: Any, base: str, username: str, secret: str) -> None:
    page.goto(base + "/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    browser.give_code(page, secret, steps_ahead=0)


def test_a_newcomer_signs_in_with_a_second_factor_set_up_on_the_way(page, live_server):
    from playwright.sync_api import expect

    factories.user("team", username="newcomer")
    page.goto(live_server.url + "/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    accessible(page)
    shot(page, "sign-in")
    page.get_by_label("Username").fill("newcomer")
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Set up your authenticator app")).to_be_visible()
    expect(page.get_by_role("img", name="QR code to scan with the app")).to_be_visible()
    accessible(page)
    shot(page, "sign-in-set-up")
    page.get_by_text("I cannot scan the QR code").click()
    secret = (page.locator("#totp-secret").text_content() or "").strip()
    page.get_by_label("Enter the 6-digit code the app now shows").fill(browser.totp_now(secret))
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("list", name="Recovery codes").get_by_role("listitem")).to_have_count(
        10
    )
    accessible(page)
    page.get_by_role("link", name=re.compile("I have kept my recovery codes")).click()
    expect(page.get_by_role("heading", name="Referrals", level=1)).to_be_visible()

    page.get_by_role("button", name="Sign out").click()
    page.get_by_label("Username").fill("newcomer")
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(
        page.get_by_role("heading", name="Enter the code from your authenticator app")
    ).to_be_visible()
    accessible(page)
    browser.give_code(page, secret, steps_ahead=1)
    expect(page.get_by_role("heading", name="Referrals", level=1)).to_be_visible()
    verbs = list(AuditEvent.objects.filter(verb="signed_in").values_list("detail", flat=True))
    assert verbs == [{"factor": "authenticator"}, {"factor": "authenticator"}]


def queue_of_the_day() -> Referral:
    today = timezone.localdate()
    factories.referral(rapid_review_due=today - timedelta(days=2))
    factories.referral(rapid_review_due=add_working_days(today, 2), flags=["late_notification"])
    factories.referral(
        status=Referral.Status.AWAITING_RESUBMISSION, received_on=today - timedelta(days=4)
    )
    factories.message(
        decision="needs_review",
        reason_code="unauthenticated:no_verdict",
        sender="duty.manager@agency.example",
        subject="Serious incident: referral form attached",
    )
    return factories.referral(
        fields={
            **factories.CSPR_FIELDS,
            "child_surname": "Zebedee",
            "referrer_agency": "Westshire Police",
        },
        missing=["referrer_phone"],
        rapid_review_due=add_working_days(today, 10),
    )


def test_a_team_member_finds_a_referral_corrects_an_answer_and_records_the_outcome(
    page, live_server
):
    from playwright.sync_api import expect

    secret = enrolled("casey")
    factories.user("team", username="robin")
    wanted = queue_of_the_day()
    sign_in(page, live_server.url, "casey", secret)
    expect(page.get_by_role("heading", name="Referrals", level=1)).to_be_visible()
    accessible(page)
    page.get_by_role("link", name=re.compile(r"^Accepted")).click()
    expect(page.locator("tr.row--overdue")).to_contain_text("Overdue")
    shot(page, "queue")
    assert "Testchild" not in page.content() and "Zebedee" not in page.content()

    page.get_by_role("link", name=re.compile(r"^All cases")).click()
    page.get_by_label("Reference, child's name, referrer or agency").fill("zebedee")
    page.get_by_role("button", name="Find").click()
    expect(page.locator("table.queue tbody tr")).to_have_count(1)
    assert "zebedee" not in page.url.lower()
    page.get_by_role("link", name=wanted.reference).click()
    expect(page.get_by_role("heading", name=f"Case {wanted.reference}")).to_be_visible()
    accessible(page)

    page.get_by_role("link", name="Correct Telephone number").first.click()
    accessible(page)
    page.get_by_label("The right answer").fill("020 7946 0123")
    page.get_by_label("Why (optional)").fill("Given on the phone by the referrer")
    page.get_by_role("button", name="Save the correction").click()
    expect(page.get_by_role("status")).to_contain_text("Answer corrected")
    expect(page.locator("#answer-referrer_phone")).to_contain_text("was “Not answered”")

    page.get_by_label("Assign to").select_option(label="robin")
    page.get_by_role("button", name="Assign", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("Assigned to robin")

    page.get_by_role("radio", name="Rapid Review held").check()
    page.get_by_role("button", name="Record the step").click()
    expect(page.get_by_role("status")).to_contain_text("Rapid Review held recorded")
    page.get_by_role("radio", name="Rapid Review outcome").check()
    page.get_by_label("The outcome").select_option(label="Local child safeguarding practice review")
    page.get_by_role("button", name="Record the step").click()
    expect(page.get_by_role("status")).to_contain_text("Local child safeguarding practice review")
    expect(page.locator(".case-summary")).to_contain_text("Decided")
    shot(page, "case", height=1500)
    outcome = CaseStep.objects.get(referral=wanted, kind="outcome")
    assert outcome.outcome == "local_cspr" and outcome.on == timezone.localdate()


def test_a_team_member_makes_a_case_from_a_needs_review_message(page, live_server):
    from playwright.sync_api import expect

    secret = enrolled("jo")
    message = factories.message(
        decision="needs_review",
        reason_code="no_form",
        subject="Referral",
        assessment={
            "decision": "needs_review",
            "reasons": ["no referral form found: a person must read it"],
        },
    )
    factories.attachment(message, filename="letter.pdf", parse_status="failed", reason="encrypted")
    sign_in(page, live_server.url, "jo", secret)
    page.get_by_role("link", name=f"Message {message.pk}").click()
    expect(page.get_by_role("heading", name=f"Message {message.pk}")).to_be_visible()
    accessible(page)
    page.get_by_role("link", name="Write a return").click()
    expect(page.get_by_label("The return's text")).to_contain_text("Thank you for your referral")
    accessible(page)
    page.get_by_role("link", name=f"Back to message {message.pk}").click()
    page.get_by_label("Make a case of it, as").select_option(label="CSPR referral")
    page.get_by_role("button", name="Make a case").click()
    case = Referral.objects.get(submissions__message=message)
    expect(page.get_by_role("heading", name=f"Case {case.reference}")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text(f"made from message {message.pk}")


def test_a_team_member_exports_the_months_referrals_as_csv(page, live_server):
    from playwright.sync_api import expect

    secret = enrolled("sam")
    this_month = factories.referral(
        fields={**factories.CSPR_FIELDS, "referrer_agency": "Westshire Police"}
    )
    older = factories.referral(received_on=timezone.localdate() - timedelta(days=70))
    sign_in(page, live_server.url, "sam", secret)
    page.get_by_role("link", name=re.compile(r"^All cases")).click()
    page.get_by_text("Filter by status, form, person, flag and dates").click()
    page.get_by_label("Received from").fill(timezone.localdate().replace(day=1).isoformat())
    page.get_by_role("button", name="Find").click()
    page.get_by_role("link", name="Export these as CSV").click()
    expect(page.get_by_role("heading", name="Export referrals as CSV")).to_be_visible()
    accessible(page)
    page.get_by_label("Child's initials").check()
    with page.expect_download() as done:
        page.get_by_role("button", name="Download the CSV").click()
    content = Path(done.value.path()).read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(content)))
    assert [r["Reference"] for r in rows] == [this_month.reference]
    assert (
        rows[0]["Referring agency"] == "Westshire Police" and rows[0]["Child's initials"] == "A. T."
    )
    assert older.reference not in content and "Testchild" not in content
    assert AuditEvent.objects.filter(verb="exported", detail__rows=1).exists()


def test_an_administrator_checks_the_audit_trail_and_every_admin_page_is_accessible(
    page, live_server
):
    from playwright.sync_api import expect

    secret = enrolled("ada", role="admin")
    case = queue_of_the_day()
    member = factories.user("team", username="casey")
    AuditEvent.objects.create(
        actor=member, verb="viewed", object_type="referral", object_id=str(case.pk)
    )
    sign_in(page, live_server.url, "ada", secret)
    page.get_by_role("link", name="Dashboard").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    expect(page.get_by_role("img", name="Referrals received per month")).to_be_visible()
    accessible(page)
    shot(page, "dashboard")
    page.get_by_role("link", name="Audit trail").click()
    page.get_by_label("Who").select_option(label="casey")
    page.get_by_role("button", name="Show").click()
    row = page.locator("table.trail tbody tr").first
    expect(row).to_contain_text("casey")
    expect(row).to_contain_text(f"Case {case.reference}")
    accessible(page)
    page.get_by_role("link", name="People").click()
    accessible(page)
    page.get_by_role("link", name="casey").click()
    page.get_by_role("button", name="Reset the password").click()
    expect(page.locator("#one-time-password")).to_be_visible()
    accessible(page)
    for name in ("Wordings", "Your account", "Referrals"):
        page.get_by_role("link", name=name, exact=True).click()
        accessible(page)
    page.goto(live_server.url + "/admin/")
    expect(page.get_by_role("heading", name="Site administration")).to_be_visible()


def test_a_team_member_is_refused_the_admin_pages_accessibly(page, live_server):
    from playwright.sync_api import expect

    secret = enrolled("casey")
    sign_in(page, live_server.url, "casey", secret)
    expect(page.get_by_role("link", name="People")).to_have_count(0)
    for path in ("/people/", "/admin/"):
        page.goto(live_server.url + path)
        expect(
            page.get_by_role("heading", name="You do not have access to this page")
        ).to_be_visible()
        accessible(page)
