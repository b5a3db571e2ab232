"""A Microsoft 365 mailbox as the service meets it, on loopback: Dovecot taking
XOAUTH2 bearer tokens, and the identity stand-in issuing them.

Use in a test module::

    from tests.servers.m365 import identity, m365, oauth_dovecot  # noqa: F401 (fixtures)

    def test_it_signs_in(m365):
        cfg = m365.mailbox_cfg()             # auth = "oauth2", client secret in the environment
        ...
        m365.identity.revoke(m365.app.client_id)
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from intake.config import MailboxConfig, parse_config
from intake.mailbox.oauth import forget_token_sources
from tests.servers import server_missing
from tests.servers.dovecot import DovecotServer, ImapAccount, start_dovecot
from tests.servers.identity import TENANT, App, IdentityServer, start_identity

SECRET_ENV = "INTAKE_TEST_M365_SECRET"


@dataclass
class M365:
    """One shared mailbox, its app registration, and the servers behind them."""

    identity: IdentityServer
    account: ImapAccount
    app: App
    secret: str

    def mailbox_table(self, **overrides: Any) -> dict[str, Any]:
        table = {
            "name": "referrals",
            "kind": "imap",
            "host": "127.0.0.1",
            "port": self.account.server.port,
            "security": "none",
            "username": self.account.username,
            "auth": "oauth2",
            "tenant_id": TENANT,
            "client_id": self.app.client_id,
            "client_secret_env": SECRET_ENV,
            "authority": self.identity.authority,
            "authority_ca_file": str(self.identity.ca_file),
            "timeout_seconds": 5,
        }
        return table | overrides

    def mailbox_cfg(self, **overrides: Any) -> MailboxConfig:
        return parse_config({"mailboxes": [self.mailbox_table(**overrides)]}).mailboxes[0]


@pytest.fixture(scope="session")
def identity() -> Iterator[IdentityServer]:
    server = start_identity()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def oauth_dovecot(identity: IdentityServer) -> Iterator[DovecotServer]:
    server = start_dovecot(oauth2_introspection_url=identity.introspection_url)
    if isinstance(server, str):
        server_missing(server)
    yield server
    server.stop()


@pytest.fixture
def m365(
    identity: IdentityServer, oauth_dovecot: DovecotServer, monkeypatch: pytest.MonkeyPatch
) -> Iterator[M365]:
    """A fresh shared mailbox and an app registration allowed into it (client secret)."""
    account = oauth_dovecot.new_account()
    secret = f"secret-for-{account.username}"
    app = identity.register(account.username, secret=secret)
    monkeypatch.setenv(SECRET_ENV, secret)
    identity.token_lifetime, identity.server_lifetime = 3600, None
    forget_token_sources()  # a token cached by an earlier test is not this app's
    yield M365(identity, account, app, secret)
    identity.token_lifetime, identity.server_lifetime = 3600, None
    forget_token_sources()
