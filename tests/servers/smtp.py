"""A real SMTP server on loopback (aiosmtpd) that keeps what it is sent.

Use the fixture in a test module with ``from tests.servers.smtp import
smtp_server``; it yields a running `SmtpServer`::

    def test_it_sends(smtp_server):
        ...  # send to 127.0.0.1:smtp_server.port
        assert smtp_server.messages[0].rcpt_tos == ["referrer@agency.example"]

``smtp_server.stop()`` / ``start()`` take it down and bring it back on the
same port; ``data_reply`` / ``rcpt_reply`` make it answer DATA or RCPT with
another reply ("451 4.3.0 try later", "550 5.1.1 no such user").

`start_smtp_server(security="starttls" | "tls", credentials=(user, password))`
gives a server that requires STARTTLS (or speaks implicit TLS) with a
self-signed certificate for 127.0.0.1 (``ca_file``), and AUTH over TLS.

`start_smtp_server(xoauth2=check)` requires ``AUTH XOAUTH2`` (as Exchange
Online's smtp.office365.com does), with ``check(user, token)`` deciding; a
refusal answers with the RFC 7628 error challenge, then 535.
"""

from __future__ import annotations

import base64
import json
import ssl
import subprocess
import tempfile
import threading
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from tests.servers import free_port

# Implicit TLS is TLS from the first byte, which aiosmtpd does not see when it warns.
warnings.filterwarnings("ignore", message="Requiring AUTH while not requiring TLS")


@dataclass
class Captured:
    """One message the server accepted."""

    mail_from: str
    rcpt_tos: list[str]
    content: bytes


@dataclass
class SmtpServer:
    port: int
    messages: list[Captured] = field(default_factory=list)
    data_reply: str | None = None  # None: accept with 250
    rcpt_reply: str | None = None  # None: accept with 250
    accepted: threading.Event = field(default_factory=threading.Event)
    security: str = "none"  # none | starttls | tls
    credentials: tuple[str, str] | None = None
    ca_file: str = ""
    logins: list[str] = field(default_factory=list)
    xoauth2: Callable[[str, str], bool] | None = None
    _controller: Controller | None = None

    @property
    def running(self) -> bool:
        return self._controller is not None

    def start(self) -> None:
        if self._controller is None:
            self._controller = Controller(
                _XOAuth2Handler(self) if self.xoauth2 else _Handler(self),
                hostname="127.0.0.1",
                port=self.port,
                ready_timeout=10,
                **self._tls_options(),
            )
            self._controller.start()

    def _tls_options(self) -> dict[str, Any]:
        options: dict[str, Any] = {}
        if self.security != "none":
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(self.ca_file, str(Path(self.ca_file).with_name("key.pem")))
            if self.security == "tls":
                options["ssl_context"] = context
            else:
                options |= {"tls_context": context, "require_starttls": True}
        if self.xoauth2 is not None:
            options |= {"auth_required": True, "auth_require_tls": self.security != "none"}
        if self.credentials is not None:
            options |= {
                "authenticator": self._authenticate,
                "auth_required": True,
                # aiosmtpd only knows STARTTLS sessions as TLS; implicit TLS is TLS throughout.
                "auth_require_tls": self.security == "starttls",
            }
        return options

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        user, password = self.credentials or ("", "")
        login = auth_data.login.decode() if isinstance(auth_data.login, bytes) else ""
        given = auth_data.password.decode() if isinstance(auth_data.password, bytes) else ""
        ok = (login, given) == (user, password)
        if ok:
            self.logins.append(login)
        return AuthResult(success=ok, handled=False)

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


class _Handler:
    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if self.server.rcpt_reply:
            return self.server.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.server.data_reply:
            return self.server.data_reply
        content = envelope.original_content or envelope.content
        self.server.messages.append(
            Captured(envelope.mail_from, list(envelope.rcpt_tos), bytes(content))
        )
        self.server.accepted.set()
        return "250 2.0.0 Message accepted for delivery"


class _XOAuth2Handler(_Handler):
    async def auth_XOAUTH2(self, server: Any, args: list[str]) -> AuthResult:
        """SASL XOAUTH2: ``user=...^Aauth=Bearer ...^A^A``, checked by ``xoauth2``."""
        blob = base64.b64decode(args[1]) if len(args) > 1 else await server.challenge_auth("")
        fields = dict(
            part.split("=", 1) for part in bytes(blob).decode().split("\x01") if "=" in part
        )
        user, token = fields.get("user", ""), fields.get("auth", "").removeprefix("Bearer ")
        check = self.server.xoauth2
        if check is not None and check(user, token):
            self.server.logins.append(user)
            return AuthResult(success=True)
        error = json.dumps(
            {
                "status": "401",
                "schemes": "bearer",
                "scope": "https://outlook.office365.com/.default",
            }
        )
        await server.challenge_auth(error)  # the client answers with an empty line
        return AuthResult(
            success=False, handled=False, message="535 5.7.3 Authentication unsuccessful"
        )


def start_smtp_server(
    security: str = "none",
    credentials: tuple[str, str] | None = None,
    xoauth2: Callable[[str, str], bool] | None = None,
) -> SmtpServer:
    server = SmtpServer(
        port=free_port(), security=security, credentials=credentials, xoauth2=xoauth2
    )
    if security != "none":
        server.ca_file = _self_signed_certificate()
    server.start()
    return server


def _self_signed_certificate() -> str:
    folder = Path(tempfile.mkdtemp(prefix="smtp-tls-"))
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
         "-keyout", str(folder / "key.pem"), "-out", str(folder / "cert.pem")],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return str(folder / "cert.pem")


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    server = start_smtp_server()
    try:
        yield server
    finally:
        server.stop()
