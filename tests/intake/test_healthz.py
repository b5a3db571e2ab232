"""/healthz: 200 only while every mailbox has been polled successfully of late."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from intake.models import MailboxState

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_mailboxes(settings, make_config, tmp_path):
    settings.INTAKE = make_config(
        mailboxes=[
            {"name": "referrals", "kind": "maildir", "path": str(tmp_path / "a")},
            {"name": "notifications", "kind": "maildir", "path": str(tmp_path / "b")},
        ],
        schedule={"poll_seconds": 60},
    )
    return settings.INTAKE


def polled(name: str, ago: timedelta, error: str = "") -> None:
    MailboxState.objects.create(
        mailbox=name, folder="INBOX", last_poll_ok_at=timezone.now() - ago, last_error=error
    )


def test_it_is_healthy_when_every_mailbox_was_polled_within_three_intervals(client, two_mailboxes):
    polled("referrals", timedelta(seconds=30))
    polled("notifications", timedelta(seconds=170))
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["mailboxes"]) == {"referrals", "notifications"}
    assert body["mailboxes"]["referrals"]["last_poll_ok_at"] is not None


def test_it_is_unhealthy_when_a_mailbox_has_not_been_polled_lately(client, two_mailboxes):
    polled("referrals", timedelta(seconds=30))
    polled("notifications", timedelta(minutes=10), error="mailbox_auth_failed")
    response = client.get("/healthz")
    assert response.status_code == 503
    notifications = response.json()["mailboxes"]["notifications"]
    assert (notifications["ok"], notifications["last_error"]) == (False, "mailbox_auth_failed")
    assert response.json()["mailboxes"]["referrals"]["ok"]


def test_it_is_unhealthy_before_the_first_poll(client, two_mailboxes):
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["mailboxes"]["referrals"]["last_poll_ok_at"] is None
