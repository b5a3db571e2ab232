"""Issue 7 in a real browser: the team teaches the reader a partnership's wording.

A neighbouring partnership's form asks for the referrer's role in words the
reader does not know.  The worker holds it for a person; a team member places
the question on the page; an administrator confirms the wording; the next such
form is read without help, and the first one, read again, shows the difference.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from intake import learning, pipeline
from intake.assess import schemas_in
from intake.mailbox import open_mailbox
from intake.models import InboundMessage, LearnedWording, Referral
from tests.builders import docx_builder
from tests.builders.accuracy import sent_after, wrap
from tests.builders.authentication import with_verdict
from tests.intake import factories
from tests.intake.test_browser import sign_in
from tests.servers import browser

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
UNKNOWN = "Capacity in which you are making this referral"


@pytest.fixture
def page(monkeypatch: pytest.MonkeyPatch, settings: Any) -> Iterator[Any]:
    yield from browser.open_page(monkeypatch, settings)


@pytest.fixture(autouse=True)
def quick_passwords(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def neighbours_form(seed: int) -> bytes:
    """A complete CSPR referral, as a neighbouring partnership prints it: the
    referrer's role asked as `UNKNOWN`, a wording the reader was never told."""
    schema = schemas_in(str(ROOT / "config" / "forms"))["cspr_referral"]
    fields = tuple(
        dataclasses.replace(f, question=UNKNOWN, aliases=()) if f.key == "referrer_job_title" else f
        for f in schema.fields
    )
    printed = dataclasses.replace(schema, fields=fields, _by_key={f.key: f for f in fields})
    answers = docx_builder.random_answers(schema, seed)
    answers["referrer_job_title"] = "School nurse"
    form = docx_builder.filled_docx(printed, answers, "typed", seed=seed, banner="Mersey Vale SP")
    return with_verdict(wrap([("Referral form.docx", form)], "outlook", sent_after(answers)))


def deliver(config: Any, raw: bytes) -> InboundMessage:
    with open_mailbox(config.mailboxes[0]) as box:
        box.append("INBOX", raw, flags=())
    pipeline.poll_mailbox(config.mailboxes[0], config)
    return InboundMessage.objects.order_by("-pk").first()


def test_a_person_teaches_a_wording_and_the_next_form_is_read_without_help(
    page: Any, live_server: Any, make_config: Any, settings: Any, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    config = make_config(replies={"outbox_dir": str(tmp_path / "outbox")})
    settings.INTAKE = config
    factories.user("team", username="casey")
    factories.user("admin", username="ada")

    first = deliver(config, neighbours_form(11))
    assert first.decision == "needs_review"
    assert "referrer_job_title" not in first.assessment["fields"]

    base = live_server.url
    sign_in(page, base, "casey")
    page.goto(f"{base}/messages/{first.pk}/")
    expect(page.get_by_role("heading", name="What the reader found on the form")).to_be_visible()
    row = page.get_by_role("row").filter(has_text=UNKNOWN)
    expect(row).to_contain_text("School nurse")
    row.get_by_label("This question is").select_option(label="Referrer: Job title / role")
    row.get_by_role("button", name="Remember this wording").click()
    expect(page.get_by_role("status")).to_contain_text("an administrator will be asked")
    page.get_by_role("button", name="Sign out").click()

    sign_in(page, base, "ada")
    page.goto(f"{base}/wordings/")
    waiting = page.get_by_role("row").filter(has_text=UNKNOWN)
    expect(waiting).to_contain_text("Referrer: Job title / role")
    waiting.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("status")).to_contain_text("in use")
    wording = LearnedWording.objects.get()
    assert (wording.status, wording.version) == (LearnedWording.Status.CONFIRMED, 1)

    second = deliver(config, neighbours_form(12))
    assert second.decision == "accepted", (
        second.assessment["missing"],
        second.assessment["invalid"],
    )
    assert second.assessment["fields"]["referrer_job_title"] == "School nurse"
    case = Referral.objects.get(submissions__message=second)
    page.goto(f"{base}/cases/{case.reference}/")
    expect(page.get_by_role("cell", name="School nurse")).to_be_visible()

    page.goto(f"{base}/messages/{first.pk}/")
    page.get_by_role("button", name="Read the form again").click()
    assert learning.read_again_waiting(config) == 1  # what the worker does next
    page.reload()
    again = page.get_by_role("region", name="Read the form again")
    expect(again).to_contain_text("Questions placed now")
    expect(again).to_contain_text(UNKNOWN)
    expect(again).to_contain_text("Accepted")
    page.screenshot(path="/tmp/intake-browser-learning.png", full_page=True)
    first.refresh_from_db()
    assert first.decision == "needs_review"  # reading again changes no decision
