"""Signing in (issue 12): a password, then a second factor; lockout; the admin behind it."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from intake import users
from intake.models import AuditEvent
from tests.intake import factories

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def quick_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def code_for(device: TOTPDevice, steps_ahead: int = 0) -> str:
    """The code the authenticator app shows now (or ``steps_ahead`` 30-second steps on)."""
    code = totp(device.bin_key, device.step, device.t0, device.digits, device.drift + steps_ahead)
    return f"{code:06d}"


def password_step(client: Client, username: str, password: str = factories.PASSWORD):
    return client.post(reverse("login"), {"username": username, "password": password})


def verbs(user_id: object) -> list[str]:
    return list(
        AuditEvent.objects.filter(object_type="user", object_id=str(user_id))
        .order_by("pk")
        .values_list("verb", flat=True)
    )


def test_it_asks_a_newcomer_to_set_up_an_authenticator_after_the_password(client):
    casey = factories.user("team", username="casey")
    response = password_step(client, "casey")
    assert response.status_code == 302
    assert response["Location"] == reverse("signin_setup") + "?next=%2F"
    page = client.get(response["Location"])
    html = page.content.decode()
    assert "<svg" in html and "QR code to scan" in html
    assert re.search(r'id="totp-secret">[A-Z2-7 ]{20,}<', html)
    assert client.get(reverse("queue")).status_code == 302  # a password alone opens nothing
    assert verbs(casey.pk) == ["password_accepted"]


def test_it_sets_up_the_authenticator_shows_recovery_codes_once_and_opens_the_queue(client):
    casey = factories.user("team", username="casey")
    password_step(client, "casey")
    client.get(reverse("signin_setup"))
    device = TOTPDevice.objects.get(user=casey, confirmed=False)
    response = client.post(reverse("signin_setup"), {"code": code_for(device), "next": "/"})
    assert response.status_code == 302 and response["Location"].startswith(
        reverse("recovery_codes")
    )
    codes = client.get(response["Location"])
    assert codes.content.decode().count("<code>") == 10
    assert client.get(reverse("recovery_codes")).status_code == 302  # shown only once
    assert client.get(reverse("queue")).status_code == 200
    assert users.has_second_factor(casey)
    assert verbs(casey.pk)[-2:] == ["second_factor_enrolled", "signed_in"]


def test_it_refuses_a_wrong_code_at_set_up(client):
    factories.user("team", username="casey")
    password_step(client, "casey")
    client.get(reverse("signin_setup"))
    response = client.post(reverse("signin_setup"), {"code": "000000"})
    assert response.status_code == 200
    assert "The code is not right" in response.content.decode()
    assert client.get(reverse("queue")).status_code == 302


def enrolled(username: str = "robin", role: str = "team"):
    user = factories.user(role, username=username)
    device = TOTPDevice.objects.create(user=user, name="app", confirmed=True)
    codes = users.new_recovery_codes(user)
    return user, device, codes


def test_it_signs_in_with_a_code_from_the_app(client):
    robin, device, _ = enrolled()
    response = password_step(client, "robin")
    assert response["Location"] == reverse("signin_verify") + "?next=%2F"
    response = client.post(reverse("signin_verify"), {"code": code_for(device), "next": "/"})
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get(reverse("queue")).status_code == 200
    [event] = AuditEvent.objects.filter(verb="signed_in", object_id=str(robin.pk))
    assert event.detail == {"factor": "authenticator"} and event.actor == robin


def test_it_signs_in_once_with_each_recovery_code(client):
    _, _, codes = enrolled()
    password_step(client, "robin")
    response = client.post(reverse("signin_verify"), {"code": codes[0].upper()})
    assert response.status_code == 302
    assert client.get(reverse("queue")).status_code == 200
    other = Client()
    password_step(other, "robin")
    again = other.post(reverse("signin_verify"), {"code": codes[0]})
    assert again.status_code == 200 and "not right" in again.content.decode()


def test_it_ends_the_session_after_five_wrong_codes(client):
    robin, _, _ = enrolled()
    password_step(client, "robin")
    for _ in range(4):
        assert client.post(reverse("signin_verify"), {"code": "123456"}).status_code == 200
    response = client.post(reverse("signin_verify"), {"code": "123456"})
    assert response["Location"] == reverse("login")
    assert "_auth_user_id" not in client.session
    assert verbs(robin.pk).count("second_factor_failed") == 5


def test_it_never_lets_a_password_only_session_reach_a_page(client):
    case = factories.referral()
    enrolled()
    password_step(client, "robin")
    for url in (reverse("queue"), reverse("case", args=[case.reference]), "/admin/"):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("signin_verify")) or response[
            "Location"
        ].startswith("/admin/login/")


def test_it_locks_an_account_after_five_wrong_passwords_even_for_the_right_one(client):
    robin, _, _ = enrolled()
    for _ in range(5):
        password_step(client, "robin", "wrong-password")
    response = password_step(client, "robin")
    assert response.status_code == 429
    assert "This account is locked" in response.content.decode()
    assert "_auth_user_id" not in client.session
    failed = AuditEvent.objects.filter(verb="sign_in_failed", object_id=str(robin.pk))
    assert failed.count() >= 5 and failed.first().detail == {"account": "robin"}
    assert AuditEvent.objects.filter(verb="account_locked_out", detail__account="robin").exists()
    assert users.is_locked_out(robin)


def test_it_audits_a_failed_sign_in_for_an_unknown_account_without_logging_the_name(client):
    from structlog.testing import capture_logs

    with capture_logs() as logs:
        response = password_step(client, "nobody-here", "x")
    assert response.status_code == 200
    assert "There is a problem" in response.content.decode()
    event = AuditEvent.objects.get(verb="sign_in_failed")
    assert event.detail == {"account": "nobody-here"} and event.object_id == ""
    assert "nobody-here" not in repr(logs)


def test_an_administrator_unlocks_an_account(client):
    robin, _, _ = enrolled()
    for _ in range(5):
        password_step(client, "robin", "wrong-password")
    admin = factories.user("admin")
    assert users.unlock(robin, by=admin) >= 1
    response = password_step(client, "robin")
    assert response.status_code == 302


def test_it_sends_the_admin_sign_in_to_the_two_step_sign_in(client):
    response = client.get("/admin/", follow=True)
    assert response.redirect_chain[-1][0].startswith(reverse("login"))
    assert b"Sign in" in response.content


def test_a_team_member_never_reaches_the_admin(client):
    factories.sign_in(client, factories.user("team"))
    response = client.get("/admin/", follow=True)
    assert response.status_code == 403
    assert b"Site administration" not in response.content
    assert client.get("/admin/auth/user/", follow=True).status_code == 403


def test_a_verified_administrator_reaches_the_admin(client):
    factories.sign_in(client, factories.user("admin"))
    assert client.get("/admin/").status_code == 200


@pytest.mark.parametrize("url", ["/login/", "/admin/login/?next=/admin/", "/", "/healthz"])
def test_it_sends_the_same_content_security_policy_on_every_page(client, url):
    factories.sign_in(client, factories.user("team")) if url == "/" else None
    response = client.get(url, follow=True)
    policy = response["Content-Security-Policy"]
    assert "default-src 'none'" in policy
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy


def test_it_ends_a_session_after_thirty_idle_minutes_by_default(settings):
    assert settings.SESSION_COOKIE_AGE == 30 * 60
    assert settings.SESSION_SAVE_EVERY_REQUEST is True
    assert settings.SESSION_EXPIRE_AT_BROWSER_CLOSE is True
    assert settings.SESSION_COOKIE_HTTPONLY is True


def test_it_takes_the_idle_minutes_from_the_configuration(make_config):
    config = make_config(web={"session_idle_minutes": 15})
    assert config.web.session_idle_minutes == 15


def test_it_says_in_one_line_when_the_idle_minutes_are_wrong(make_config):
    from intake.config import ConfigError

    with pytest.raises(ConfigError, match=r"web.session_idle_minutes: must be a whole number"):
        make_config(web={"session_idle_minutes": 0})


def test_it_ends_a_session_older_than_a_working_day(client, settings):
    robin, _, _ = enrolled()
    factories.sign_in(client, robin)
    session = client.session
    session["signed_in_at"] = (timezone.now() - timedelta(hours=9)).timestamp()
    session.save()
    response = client.get(reverse("queue"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert "session_too_long" in str(
        AuditEvent.objects.filter(verb="signed_out").values_list("detail", flat=True)
    )


def test_it_keeps_the_session_cookie_to_the_browser_session_and_from_scripts(client):
    factories.user("team", username="casey")
    response = password_step(client, "casey")
    cookie = response.cookies["sessionid"]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert cookie["expires"] == ""  # a browser-session cookie: gone when the browser closes


def test_it_renews_recovery_codes_from_the_account_page(client):
    robin, _, old = enrolled()
    factories.sign_in(client, robin)
    assert client.get(reverse("account")).status_code == 200
    response = client.post(reverse("account_recovery_codes"))
    page = client.get(response["Location"])
    assert page.content.decode().count("<code>") == 10
    assert users.verify_second_factor(robin, old[1]) is None
