"""XOAUTH2 sign-in to IMAP with msal's tokens: the real SASL exchange against Dovecot's
oauth2 passdb, and the token flow against the identity stand-in (tests/servers/identity.py)."""

from __future__ import annotations

import io
import time
from contextlib import redirect_stdout

import pytest

from intake.errors import MailboxAuthError, MailboxError
from intake.logging import configure_logging
from intake.mailbox import open_mailbox
from intake.mailbox.base import Fault
from intake.mailbox.imap import ImapMailbox
from intake.mailbox.oauth import certificate_expires, token_source
from tests.servers import free_port
from tests.servers.identity import make_certificate
from tests.servers.m365 import SECRET_ENV

pytestmark = pytest.mark.integration


def sign_in(cfg) -> list[str]:
    with open_mailbox(cfg) as box:
        return box.list_folders()


def refusal(cfg) -> MailboxError:
    with pytest.raises(MailboxError) as raised:
        ImapMailbox(cfg, retries=0).open()
    return raised.value


def test_it_signs_in_with_a_client_secret(m365):
    assert sign_in(m365.mailbox_cfg()) == ["INBOX"]
    assert m365.identity.issued(m365.app.client_id) == 1


def test_it_signs_in_with_a_certificate_in_a_pem_file(m365, tmp_path):
    certificate, key = make_certificate("Referral intake")
    m365.app = m365.identity.register(m365.account.username, certificate_pem=certificate)
    pem = tmp_path / "intake-app.pem"
    pem.write_bytes(key + certificate)
    cfg = m365.mailbox_cfg(
        client_id=m365.app.client_id, client_secret_env="", client_certificate=str(pem)
    )
    assert sign_in(cfg) == ["INBOX"]
    assert certificate_expires(cfg) is not None


def test_it_signs_in_with_a_password_protected_pfx(m365, tmp_path, monkeypatch):
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import (
        BestAvailableEncryption,
        load_pem_private_key,
        pkcs12,
    )

    certificate, key = make_certificate("Referral intake")
    m365.app = m365.identity.register(m365.account.username, certificate_pem=certificate)
    pfx = tmp_path / "intake-app.pfx"
    pfx.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"intake",
            load_pem_private_key(key, None),
            x509.load_pem_x509_certificate(certificate),
            None,
            BestAvailableEncryption(b"pfx-password"),
        )
    )
    monkeypatch.setenv("INTAKE_TEST_PFX_PASSWORD", "pfx-password")
    cfg = m365.mailbox_cfg(
        client_id=m365.app.client_id,
        client_secret_env="",
        client_certificate=str(pfx),
        client_certificate_password_env="INTAKE_TEST_PFX_PASSWORD",
    )
    assert sign_in(cfg) == ["INBOX"]


def test_it_says_the_certificate_cannot_be_opened_with_a_wrong_password(
    m365, tmp_path, monkeypatch
):
    certificate, key = make_certificate("Referral intake", password=b"right")
    pem = tmp_path / "intake-app.pem"
    pem.write_bytes(key + certificate)
    monkeypatch.setenv("INTAKE_TEST_PEM_PASSWORD", "wrong")
    error = refusal(
        m365.mailbox_cfg(
            client_secret_env="",
            client_certificate=str(pem),
            client_certificate_password_env="INTAKE_TEST_PEM_PASSWORD",
        )
    )
    assert error.reason == Fault.CLIENT_CERTIFICATE_UNREADABLE
    assert "intake-app.pem" in error.detail


def test_it_reuses_a_cached_token_for_the_next_connection(m365):
    cfg = m365.mailbox_cfg()
    sign_in(cfg)
    sign_in(cfg)
    assert m365.identity.issued(m365.app.client_id) == 1


def test_it_asks_for_a_new_token_before_the_old_one_runs_out(m365):
    m365.identity.token_lifetime = 299  # msal renews within five minutes of the end
    cfg = m365.mailbox_cfg()
    sign_in(cfg)
    sign_in(cfg)
    assert m365.identity.issued(m365.app.client_id) == 2


def test_it_gets_a_fresh_token_when_the_server_has_ended_the_cached_one(m365):
    m365.identity.server_lifetime = 0.5  # the mail server thinks it expired; msal does not
    cfg = m365.mailbox_cfg()
    sign_in(cfg)
    time.sleep(0.6)
    assert sign_in(cfg) == ["INBOX"]
    assert m365.identity.issued(m365.app.client_id) == 2


def test_it_gets_a_fresh_token_after_a_revocation_mid_run(m365):
    cfg = m365.mailbox_cfg()
    sign_in(cfg)
    m365.identity.revoke(m365.app.client_id)
    assert sign_in(cfg) == ["INBOX"]


def test_it_reports_microsofts_words_when_the_secret_is_refused(m365):
    cfg = m365.mailbox_cfg()
    sign_in(cfg)
    m365.identity.revoke(m365.app.client_id)
    m365.identity.refuse(
        m365.app.client_id,
        "invalid_client",
        "AADSTS7000215: Invalid client secret provided.",
        7000215,
    )
    error = refusal(cfg)
    assert isinstance(error, MailboxAuthError)
    assert error.reason == Fault.TOKEN_REFUSED
    assert error.detail == "AADSTS7000215: Invalid client secret provided."
    assert not error.retryable


def test_it_reports_a_refused_consent(m365):
    m365.app.consented = False
    error = refusal(m365.mailbox_cfg())
    assert error.reason == Fault.TOKEN_REFUSED
    assert error.detail.startswith("AADSTS65001: The user or administrator has not consented")


def test_it_reports_a_wrong_tenant(m365):
    error = refusal(m365.mailbox_cfg(tenant_id="no-such-tenant"))
    assert error.reason == Fault.TOKEN_REFUSED
    assert error.detail.startswith("AADSTS90002: Tenant 'no-such-tenant' not found.")


def test_it_says_which_variable_is_missing_for_the_client_secret(m365, monkeypatch):
    monkeypatch.delenv(SECRET_ENV)
    error = refusal(m365.mailbox_cfg())
    assert (error.reason, error.detail) == (
        Fault.CLIENT_SECRET_MISSING,
        f"${SECRET_ENV} is not set",
    )


def test_it_explains_a_token_the_mailbox_refuses(m365, oauth_dovecot):
    other = oauth_dovecot.new_account()  # the app may open m365.account only
    error = refusal(m365.mailbox_cfg(username=other.username))
    assert error.reason == Fault.LOGIN_REFUSED
    assert "[AUTHENTICATIONFAILED]" in error.detail
    assert "Add-MailboxPermission" in error.detail


def test_it_retries_later_when_the_token_endpoint_is_down(m365):
    error = refusal(m365.mailbox_cfg(authority=f"https://127.0.0.1:{free_port()}"))
    assert error.reason == Fault.TOKEN_ENDPOINT_UNREACHABLE
    assert error.retryable
    assert error.detail.endswith("cannot connect")


def test_it_refuses_an_authority_whose_certificate_it_cannot_verify(m365):
    error = refusal(m365.mailbox_cfg(authority_ca_file=""))
    assert error.reason == Fault.TOKEN_ENDPOINT_UNREACHABLE
    assert "TLS certificate not trusted" in error.detail


def test_it_never_logs_the_secret_or_the_token(m365):
    cfg = m365.mailbox_cfg()
    out = io.StringIO()
    configure_logging(stream=out, force=True, json=True)
    try:
        with redirect_stdout(out):
            sign_in(cfg)
            token = token_source(cfg).token().value
            m365.identity.revoke(m365.app.client_id)
            m365.identity.refuse(
                m365.app.client_id, "invalid_client", "AADSTS7000215: no.", 7000215
            )
            refusal(cfg)
    finally:
        configure_logging(force=True)
    logged = out.getvalue()
    assert '"oauth_token_acquired"' in logged and '"oauth_token_refused"' in logged
    assert m365.secret not in logged
    assert token not in logged
    assert "AADSTS7000215: no" not in logged  # Microsoft's text goes to the health page only


def delegated(m365, tmp_path):
    """The same mailbox with a public client and the device-code flow (no secret)."""
    app = m365.identity.register(m365.account.username, public_client=True)
    return m365.mailbox_cfg(
        client_id=app.client_id,
        client_secret_env="",
        oauth_flow="device_code",
        token_cache=str(tmp_path / "oauth" / "referrals.json"),
    )


def test_it_asks_for_a_person_to_sign_in_before_the_device_code_flow_has_run(m365, tmp_path):
    error = refusal(delegated(m365, tmp_path))
    assert (error.reason, error.detail) == (Fault.SIGN_IN_REQUIRED, "run: intake signin referrals")


def test_it_signs_in_a_person_with_a_device_code_and_keeps_the_refresh_token(m365, tmp_path):
    import threading

    from intake.mailbox.oauth import DelegatedTokens, forget_token_sources

    cfg = delegated(m365, tmp_path)
    m365.identity.token_lifetime = 299  # each access token as good as expired: msal refreshes
    shown: list[str] = []
    signing_in = threading.Thread(target=lambda: DelegatedTokens(cfg).sign_in(shown.append))
    signing_in.start()
    deadline = time.monotonic() + 10
    while not shown and time.monotonic() < deadline:
        time.sleep(0.05)
    code = shown[0].split("enter the code ")[1].split()[0]
    m365.identity.approve_device_code(code, m365.account.username)
    signing_in.join(timeout=15)
    cache = tmp_path / "oauth" / "referrals.json"
    assert cache.stat().st_mode & 0o077 == 0  # the refresh token: the service's user only
    forget_token_sources()  # as a worker starting later would: from the file
    assert sign_in(cfg) == ["INBOX"]
    assert m365.identity.token_requests[-1] == "refresh_token"
