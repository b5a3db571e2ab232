"""The administrators' Rules page (issue 11): the rules in force, read-only; a proposed
file's dry run over the stored messages; the rule that decided each message."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from intake.models import AuditEvent, InboundMessage, RulesVersion
from intake.reload import put_in_force
from tests.intake import factories

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]

PROPOSAL = """
[[rules]]
name = "ofsted"
when.sender = "*@ofsted.gov.uk"
action = "process"
form_type = "serious_incident_notification"

[[rules]]
name = "coroner"
when.subject_contains = "inquest"
action = "hold"
reason = "the coroner's letters go to a person"
"""


@pytest.fixture(autouse=True)
def quick_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def admin(client: Client) -> Client:
    return factories.sign_in(client, factories.user("admin", username="ada"))


@pytest.fixture
def in_force():
    return put_in_force(settings.INTAKE, str(ROOT / "config" / "intake.toml"), {})


def test_it_shows_the_rules_in_force_read_only(admin, in_force):
    page = admin.get(reverse("rules")).content.decode()
    assert "1. no-reply-senders" in page
    assert "sender is $no_reply_senders" in page
    assert "never auto-reply; then the next rules" in page
    assert "<strong>Default:</strong> process as a referral." in page
    assert f"version {in_force.pk}" in page
    assert 'name="text"' in page  # the only form is the dry run's
    assert AuditEvent.objects.filter(verb="viewed", object_type="rules").exists()


def test_a_team_member_is_refused_the_rules_page(client):
    team = factories.sign_in(client, factories.user("team", username="casey"))
    assert team.get(reverse("rules")).status_code == 403
    assert team.post(reverse("rules_dry_run"), {"text": PROPOSAL}).status_code == 403


def test_it_dry_runs_a_pasted_proposal_over_the_stored_messages(admin, in_force):
    ofsted = factories.message(sender="notify@ofsted.gov.uk", subject="Notification")
    coroner = factories.message(subject="Inquest: chronology")
    plain = factories.message(subject="CSPR referral")
    before = list(InboundMessage.objects.values_list("pk", "state", "decision", "rule"))
    response = admin.post(reverse("rules_dry_run"), {"text": PROPOSAL})
    page = response.content.decode()
    assert response.status_code == 200
    assert "<strong>2 would change</strong> (coroner: 1, ofsted: 1)" in page
    assert "ofsted: process as serious_incident_notification" in page
    assert "coroner: hold" in page
    assert page.count("Changed</strong>") == 2
    for message in (ofsted, coroner, plain):
        assert reverse("message", args=[message.pk]) in page
    assert list(InboundMessage.objects.values_list("pk", "state", "decision", "rule")) == before
    event = AuditEvent.objects.get(verb="rules_dry_run")
    assert event.detail["changed"] == 2
    assert "inquest" not in str(event.detail)


def test_it_takes_an_uploaded_file(admin, in_force):
    factories.message(subject="Inquest")
    upload = SimpleUploadedFile("new.toml", PROPOSAL.encode(), content_type="text/plain")
    page = admin.post(reverse("rules_dry_run"), {"upload": upload}).content.decode()
    assert "<strong>1 would change</strong> (coroner: 1)" in page


def test_a_broken_proposal_is_one_line_naming_the_rule_and_nothing_runs(admin, in_force):
    broken = PROPOSAL.replace('"inquest"', "[]")
    response = admin.post(reverse("rules_dry_run"), {"text": broken})
    assert response.status_code == 400
    page = response.content.decode()
    assert (
        "proposed rules: rule &#x27;coroner&#x27;: when.subject_contains: must not be empty" in page
    )
    assert not AuditEvent.objects.filter(verb="rules_dry_run").exists()


def test_a_proposal_filing_into_a_folder_the_mailbox_lacks_is_refused(admin):
    put_in_force(settings.INTAKE, "", {"referrals": ["INBOX", "Processed"]})
    proposal = PROPOSAL + 'file_into = "Coroner"\n'
    page = admin.post(reverse("rules_dry_run"), {"text": proposal}).content.decode()
    assert "folder &#x27;Coroner&#x27; does not exist in mailbox &#x27;referrals&#x27;" in page


def test_it_shows_a_refused_file_and_keeps_the_rules_in_force(admin, in_force):
    RulesVersion.objects.create(
        state=RulesVersion.State.REFUSED,
        source="config/rules.toml",
        sha256="0" * 64,
        error="config/rules.toml: rule 'x': when.sender: must not be empty",
    )
    page = admin.get(reverse("rules")).content.decode()
    assert "A changed rules file was refused" in page
    assert "rule &#x27;x&#x27;: when.sender: must not be empty" in page
    assert "1. no-reply-senders" in page


def test_the_message_page_names_the_rule_that_decided_it(admin):
    message = factories.message(
        rule="coroner",
        assessment={
            "decision": "needs_review",
            "reasons": [],
            "rule": {"name": "coroner", "does": "hold for a person (the coroner's letters)"},
        },
    )
    page = admin.get(reverse("message", args=[message.pk])).content.decode()
    assert "Mailbox rule" in page
    assert "coroner: hold for a person (the coroner&#x27;s letters)" in page
