"""The review pages over what the real pipeline made of the example emails.

Factories build the records the pages expect; this checks that the pages
also read the records the service really writes (answers, sources, invalid
answers, reasons, replies), so the two cannot drift apart unnoticed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse
from django.utils.html import escape

from intake import pipeline
from intake.mailbox import open_mailbox
from intake.models import InboundMessage, Referral
from tests.builders.authentication import with_verdict
from tests.intake import factories

EXAMPLES = Path(__file__).resolve().parents[3] / "shared" / "forms" / "examples"
NAMES = ("referral-accepted", "referral-incomplete", "general-enquiry", "out-of-office-exchange")

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


@pytest.fixture
def processed(make_config: Any, settings: Any, tmp_path: Path) -> dict[str, InboundMessage]:
    """The examples delivered to a Maildir and polled once, by example name."""
    missing = [n for n in NAMES if not (EXAMPLES / f"{n}.eml").exists()]
    if missing:
        pytest.skip(f"example emails not found in {EXAMPLES}: {missing}")
    config = make_config(
        service={"name": "Westshire Safeguarding Partnership", "reference_prefix": "WSP"},
        replies={"from_address": "referrals@westshire-sp.example", "outbox_dir": str(tmp_path)},
    )
    settings.INTAKE = config
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    with open_mailbox(config.mailboxes[0]) as box:
        for name in NAMES:
            # Our MX authenticated each sender: only then is anyone answered (issue 8).
            raw = with_verdict((EXAMPLES / f"{name}.eml").read_bytes())
            box.append("INBOX", raw, flags=())
    pipeline.poll_mailbox(config.mailboxes[0], config)
    by_uid = {m.uid: m for m in InboundMessage.objects.defer("raw").order_by("uid")}
    return dict(zip(NAMES, by_uid.values(), strict=True))


@pytest.fixture
def team(client: Any) -> Any:
    factories.sign_in(client, factories.user("team"))
    return client


def case_of(message: InboundMessage) -> Referral:
    return Referral.objects.get(submissions__message=message)


def test_it_shows_an_accepted_example_with_its_answers_sources_and_acknowledgement(processed, team):
    case = case_of(processed["referral-accepted"])
    response = team.get(reverse("case", args=[case.reference]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Date of birth" in html and "Brief summary of the incident" in html
    assert escape(case.sources["child_surname"]) in html  # where the answer was read
    assert "Acknowledgement" in html
    assert 'class="answer--missing"' not in html


def test_it_highlights_what_the_incomplete_example_lacks(processed, team):
    case = case_of(processed["referral-incomplete"])
    html = team.get(reverse("case", args=[case.reference])).content.decode()
    problems = len(case.missing) + len(case.invalid)
    assert problems > 0
    highlighted = html.count("answer--missing") + html.count("answer--invalid")
    assert highlighted >= len(case.missing)
    assert "Incomplete return" in html


def test_it_lists_each_example_in_its_tab(processed, team):
    def labels(tab: str) -> set[str]:
        page = team.get(reverse("queue") + f"?tab={tab}").context["page"]
        return {row.label for row in page.object_list}

    assert case_of(processed["referral-accepted"]).reference in labels("accepted")
    assert case_of(processed["referral-incomplete"]).reference in labels("incomplete")
    assert f"Message {processed['general-enquiry'].pk}" in labels("needs_review")
    assert f"Message {processed['out-of-office-exchange'].pk}" in labels("ignored")


def test_it_shows_the_text_and_reasons_of_a_message_without_a_case(processed, team):
    message = processed["general-enquiry"]
    response = team.get(reverse("message", args=[message.pk]))
    assert response.status_code == 200
    assert response.context["reasons"] == message.assessment["reasons"]
    assert response.context["body"].strip()
