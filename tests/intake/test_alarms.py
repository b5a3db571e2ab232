"""A failed sign-in is an alarm: stored with since when and why, /healthz fails, every
review page shows a banner, administrators get an alert email at most once an hour
by another route; a client secret about to expire warns ahead.  SMTP signs in with
XOAUTH2 too, and its refusal is an alarm of its own."""

from __future__ import annotations

import email
import email.policy
from datetime import timedelta

import pytest
from django.utils import timezone

from intake import alarms, outbox
from intake.alarms import REPLIES_ROUTE
from intake.mailbox.base import Fault
from intake.models import AlertEmail, MailboxAlarm, MailboxState, OutboundEmail
from intake.pipeline import SERVICE, poll_mailbox
from tests.intake import factories
from tests.servers.smtp import start_smtp_server

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
ADMIN = "it-support@westshire.example"


@pytest.fixture
def relay():
    """The council's relay: the alerts' own route, with no Microsoft sign-in in it."""
    server = start_smtp_server()
    yield server
    server.stop()


@pytest.fixture
def world(m365, make_config, relay, settings, fake_steps):
    config = make_config(
        mailboxes=[m365.mailbox_table()],
        replies={"from_address": "referrals@westshire-sp.example"},
        alerts={"to": [ADMIN], "smtp": {"host": "127.0.0.1", "port": relay.port,
                                        "security": "none", "timeout_seconds": 5}},
    )  # fmt: skip
    settings.INTAKE = config
    return m365, config


def poll(config, steps=SERVICE):
    mailbox = config.mailboxes[0]
    result = poll_mailbox(mailbox, config, steps=steps)
    alarms.note_poll(mailbox.name, result.error, result.error_detail)
    return result


def break_secret(m365):
    m365.identity.revoke(m365.app.client_id)
    m365.identity.refuse(
        m365.app.client_id,
        "invalid_client",
        "AADSTS7000215: Invalid client secret provided.",
        7000215,
    )


def alerts_received(relay):
    return [
        email.message_from_bytes(m.content, policy=email.policy.default) for m in relay.messages
    ]


def test_it_raises_an_alarm_with_microsofts_words_when_the_sign_in_fails(world):
    m365, config = world
    assert poll(config).error == ""
    break_secret(m365)
    assert poll(config).error == Fault.TOKEN_REFUSED
    alarm = MailboxAlarm.objects.get()
    assert (alarm.mailbox, alarm.kind, alarm.active) == ("referrals", "sign_in_failed", True)
    assert alarm.detail == "AADSTS7000215: Invalid client secret provided."
    since = alarm.since
    poll(config)
    alarm.refresh_from_db()
    assert alarm.since == since  # the spell began at the first failure


def test_it_fails_the_health_check_naming_the_mailbox_and_since_when(world, client):
    m365, config = world
    poll(config)
    break_secret(m365)
    poll(config)
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "sign_in_failed"
    referrals = body["mailboxes"]["referrals"]
    assert referrals["sign_in_error"] == "token_refused"
    assert referrals["sign_in_failing_since"] == MailboxAlarm.objects.get().since.isoformat()
    assert "AADSTS" not in response.content.decode()  # Microsoft's words stay behind the sign-in


def test_it_shows_a_banner_on_every_page_to_every_signed_in_person(world, client):
    m365, config = world
    break_secret(m365)
    poll(config)
    factories.sign_in(client, factories.user("team"))
    page = client.get("/").content.decode()
    assert "Mailbox referrals cannot sign in" in page
    assert "AADSTS7000215: Invalid client secret provided." in page
    client.logout()
    assert "cannot sign in" not in client.get("/login/").content.decode()


def test_it_clears_the_alarm_and_the_health_check_once_the_sign_in_works_again(world, client):
    m365, config = world
    break_secret(m365)
    poll(config)
    m365.identity.allow(m365.app.client_id)
    assert poll(config).error == ""
    assert alarms.active_alarms() == []
    assert MailboxAlarm.objects.get().cleared_at is not None
    assert client.get("/healthz").status_code == 200


def test_it_alerts_the_administrators_by_the_other_route_at_most_once_an_hour(world, relay):
    m365, config = world
    break_secret(m365)
    poll(config)
    alarms.tend(config)
    poll(config)
    alarms.tend(config)
    (alert,) = alerts_received(relay)
    assert relay.messages[0].rcpt_tos == [ADMIN]
    assert alert["Subject"] == "[Referral intake] Mailbox referrals cannot sign in (token_refused)"
    assert alert["Auto-Submitted"] == "auto-generated"
    assert "AADSTS7000215" in alert.get_content()
    MailboxAlarm.objects.update(alerted_at=timezone.now() - timedelta(hours=1, minutes=1))
    alarms.tend(config)
    assert len(relay.messages) == 2
    assert AlertEmail.objects.filter(state="sent").count() == 2


def test_it_tells_the_administrators_when_it_is_over(world, relay):
    m365, config = world
    break_secret(m365)
    poll(config)
    alarms.tend(config)
    m365.identity.allow(m365.app.client_id)
    poll(config)
    alarms.tend(config)
    subjects = [a["Subject"] for a in alerts_received(relay)]
    assert subjects[-1] == "[Referral intake] Resolved: mailbox referrals cannot sign in"


def test_it_keeps_an_alert_it_could_not_send_and_sends_it_once_the_route_is_back(world, relay):
    m365, config = world
    break_secret(m365)
    poll(config)
    relay.stop()
    report = alarms.tend(config)
    assert report.failed and not report.sent
    relay.start()
    AlertEmail.objects.update(next_attempt_at=None)
    assert alarms.send_alerts(config).sent == report.failed
    assert len(relay.messages) == 1


def test_it_writes_alerts_to_the_outbox_folder_without_smtp(
    m365, make_config, tmp_path, fake_steps
):
    config = make_config(
        mailboxes=[m365.mailbox_table()],
        replies={"outbox_dir": str(tmp_path / "outbox"), "from_address": "r@westshire.example"},
        alerts={"to": [ADMIN]},
    )
    alarms.sign_in_failed("referrals", Fault.LOGIN_REFUSED, "AUTHENTICATE failed.")
    alarms.tend(config)
    (written,) = (tmp_path / "outbox").glob("alert-*.eml")
    assert b"cannot sign in" in written.read_bytes()


def test_it_warns_of_a_client_secret_about_to_expire_without_failing_health(world, client):
    m365, config = world
    today = timezone.localdate()
    expiring = m365.mailbox_table(client_secret_expires=(today + timedelta(days=12)).isoformat())
    from intake.config import parse_config

    config = parse_config(
        {"mailboxes": [expiring], "alerts": {"to": [ADMIN]},
         "replies": {"from_address": "r@westshire.example"}}
    )  # fmt: skip
    MailboxState.objects.create(mailbox="referrals", folder="INBOX", last_poll_ok_at=timezone.now())
    alarms.check_secret_expiry(config, today)
    alarm = MailboxAlarm.objects.get(kind="secret_expiring")
    assert alarm.detail.endswith("(in 12 days)")
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["warnings"][0]["mailbox"] == "referrals"
    alarms.check_secret_expiry(config, today - timedelta(days=30))  # before the window
    assert alarms.active_alarms() == []


def test_it_sends_replies_over_smtp_with_xoauth2(m365, make_config, fake_steps):
    identity = m365.identity

    def accepted(user, token):
        answer = identity.introspect(token)
        return answer["active"] and answer["username"] == user

    server = start_smtp_server(xoauth2=accepted)
    try:
        config = make_config(
            mailboxes=[m365.mailbox_table()],
            replies={"transport": "smtp", "from_address": m365.account.username + "@example"},
            smtp={"host": "127.0.0.1", "port": server.port, "security": "none",
                  "auth": "oauth2", "username": m365.account.username,
                  "oauth_mailbox": "referrals", "timeout_seconds": 5},
        )  # fmt: skip
        row = factories.reply(
            factories.message(), state=OutboundEmail.State.PENDING, sent_at=None,
            raw=b"Subject: Referral received\r\n\r\nThank you.\r\n",
        )  # fmt: skip
        assert outbox.send_due(config).sent == [row.pk]
        assert server.logins == [m365.account.username]
        break_secret(m365)
        second = factories.reply(
            factories.message(), state=OutboundEmail.State.PENDING, sent_at=None, raw=b"x\r\n"
        )
        assert outbox.send_due(config).retrying == [second.pk]
        alarm = MailboxAlarm.objects.get(mailbox=REPLIES_ROUTE)
        assert alarm.reason == Fault.TOKEN_REFUSED
    finally:
        server.stop()
