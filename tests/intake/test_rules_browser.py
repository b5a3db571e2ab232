"""The Rules page in a real browser (Debian's Chromium), as an administrator uses it
(issue 11): the rules in force, a proposal pasted and run over the stored messages.
axe-core checks each page: no serious or critical violation."""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django_otp.plugins.otp_totp.models import TOTPDevice

from intake.reload import put_in_force
from tests.intake import factories
from tests.servers import browser

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
SHOTS = Path(os.environ.get("INTAKE_SCREENSHOTS") or "/tmp")
PROPOSAL = """[[rules]]
name = "coroner"
when.subject_contains = "inquest"
action = "hold"
reason = "the coroner's letters go to a person"
"""


@pytest.fixture
def page(monkeypatch: pytest.MonkeyPatch, settings: Any) -> Iterator[Any]:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    yield from browser.open_page(monkeypatch, settings, javascript=True)


def test_an_administrator_tries_a_proposal_on_the_rules_page(page, live_server):
    from playwright.sync_api import expect

    put_in_force(django_settings.INTAKE, "", {})
    factories.message(subject="Inquest: chronology")
    factories.message(subject="CSPR referral")
    person = factories.user("admin", username="ada")
    device = TOTPDevice.objects.create(user=person, name="app", confirmed=True)
    secret = base64.b32encode(device.bin_key).decode()
    page.goto(live_server.url + "/login/")
    page.get_by_label("Username").fill("ada")
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    browser.give_code(page, secret, steps_ahead=0)
    page.get_by_role("link", name="Rules").click()
    expect(page.get_by_role("heading", name="Rules in force")).to_be_visible()
    assert browser.check_accessibility(page) == []
    page.get_by_label("Proposed rules file (TOML)").fill(PROPOSAL)
    page.get_by_role("button", name="Run it over the stored messages").click()
    expect(page.get_by_role("heading", name="What the proposed rules would do")).to_be_visible()
    expect(page.get_by_text("1 would change")).to_be_visible()
    assert browser.check_accessibility(page) == []
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "rules.png"), full_page=True)
