"""The Microsoft 365, pick-up and alert keys of config/intake.toml: one line per mistake."""

from __future__ import annotations

from datetime import date

import pytest

from intake.config import ConfigError, parse_config


def oauth(**overrides) -> dict:
    return {
        "name": "referrals",
        "kind": "imap",
        "host": "outlook.office365.com",
        "username": "referrals@council.example",
        "auth": "oauth2",
        "tenant_id": "00000000-0000-0000-0000-000000000000",
        "client_id": "11111111-1111-1111-1111-111111111111",
        "client_secret_env": "INTAKE_M365_CLIENT_SECRET",
    } | overrides


def error_of(data: dict) -> str:
    with pytest.raises(ConfigError) as raised:
        parse_config(data, "config/intake.toml")
    return str(raised.value)


def test_it_accepts_a_microsoft_365_mailbox_with_exchanges_scope_and_no_password():
    (mailbox,) = parse_config({"mailboxes": [oauth(client_secret_expires="2027-11-30")]}).mailboxes
    assert mailbox.oauth_scopes == ["https://outlook.office365.com/.default"]
    assert mailbox.client_secret_expires == date(2027, 11, 30)
    assert (mailbox.port, mailbox.idle, mailbox.poll_seconds) == (993, True, 60)


def test_it_wants_exactly_one_of_a_client_secret_and_a_certificate():
    both = error_of({"mailboxes": [oauth(client_certificate="/etc/intake/app.pem")]})
    assert both.startswith("config/intake.toml: mailboxes[0].client_secret_env: oauth2 with ")
    neither = error_of({"mailboxes": [oauth(client_secret_env="")]})
    assert "exactly one of client_secret_env" in neither


def test_it_names_a_missing_tenant():
    assert error_of({"mailboxes": [oauth(tenant_id="")]}) == (
        "config/intake.toml: mailboxes[0].tenant_id: is required for auth = oauth2"
    )


def test_it_keeps_the_idle_renewal_inside_the_servers_thirty_minutes():
    message = error_of({"mailboxes": [oauth(idle_renew_seconds=1800)]})
    assert message.startswith("config/intake.toml: mailboxes[0].idle_renew_seconds: must be from")


def test_it_refuses_a_date_it_cannot_read():
    message = error_of({"mailboxes": [oauth(client_secret_expires="30/11/2027")]})
    assert message.endswith("client_secret_expires: must be a date such as 2027-03-31")


def test_it_keeps_the_device_code_token_cache_under_var():
    (mailbox,) = parse_config(
        {"mailboxes": [oauth(oauth_flow="device_code", client_secret_env="")]}
    ).mailboxes
    assert mailbox.token_cache.endswith("var/oauth/referrals.json")
    assert mailbox.oauth_scopes[0] == "https://outlook.office.com/IMAP.AccessAsUser.All"


def test_it_wants_smtp_oauth2_to_name_an_oauth2_mailbox():
    smtp = {"host": "smtp.office365.com", "auth": "oauth2", "username": "r@council.example"}
    message = error_of({"mailboxes": [oauth()], "smtp": smtp | {"oauth_mailbox": "other"}})
    assert message.startswith("config/intake.toml: smtp.oauth_mailbox: must name an imap mailbox")
    assert "(one of: referrals)" in message


def test_it_checks_the_alerts_addresses_and_their_route():
    assert error_of({"alerts": {"to": ["not an address"]}}) == (
        "config/intake.toml: alerts.to[0]: is not an email address"
    )
    assert error_of({"alerts": {"to": ["it@council.example"]}}).startswith(
        "config/intake.toml: alerts.from_address: is required"
    )
    route = {"to": ["it@council.example"], "from_address": "intake@council.example"}
    assert error_of({"alerts": route | {"smtp": {"port": 25}}}) == (
        "config/intake.toml: alerts.smtp.host: is required"
    )


def test_it_keeps_the_name_smtp_for_the_replies_sign_in_alarm():
    assert error_of({"mailboxes": [oauth(name="smtp")]}).startswith(
        "config/intake.toml: mailboxes[0].name: smtp is reserved"
    )
