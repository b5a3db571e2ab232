"""A local stand-in for Microsoft's identity platform: the one stand-in the tests allow.

msal talks to it exactly as it talks to ``login.microsoftonline.com``: over
HTTPS (a self-signed certificate for 127.0.0.1, trusted through
``ca_file``), with tenant discovery at
``/{tenant}/v2.0/.well-known/openid-configuration`` and tokens from
``/{tenant}/oauth2/v2.0/token``.  It checks what Microsoft checks for the
client-credentials flow: the client id, the secret or the signed client
assertion (PS256, ``x5t#S256`` naming a registered certificate, audience the
token endpoint), the scope, the admin consent; and it refuses with
Microsoft's error shapes and AADSTS texts.  The device-code flow is there
too (``/devicecode``, then the device-code and refresh-token grants).

Dovecot asks it about every bearer token (``introspection_url``, plain HTTP
on loopback, RFC 7662 shape: ``active`` and ``username``), so the test
decides what the mail server accepts: a token revoked, one that ended
early (``server_lifetime``), a mailbox the app may not open.

    identity = start_identity()
    app = identity.register(mailbox="user1", secret="s3cret")
    ...
    identity.revoke(app.client_id)          # every token of the app stops working
    identity.refuse(app.client_id, ...)     # and no new ones are issued
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import itertools
import json
import secrets
import ssl
import tempfile
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.servers import free_port

TENANT = "7d1c0b7e-0000-4000-8000-00000000aaaa"
EXCHANGE_SCOPE = "https://outlook.office365.com/.default"
DELEGATED = {
    "https://outlook.office.com/IMAP.AccessAsUser.All",
    "https://outlook.office.com/SMTP.Send",
}


@dataclass
class App:
    """An app registration in the stand-in tenant."""

    client_id: str
    mailbox: str  # the mailbox its tokens open (the service principal's FullAccess)
    secret: str | None = None
    certificate_sha256: bytes | None = None  # of the certificate's DER
    public_key: Any = None
    consented: bool = True
    public_client: bool = False  # device code allowed
    refusal: dict[str, Any] | None = None  # every token request refused with this


@dataclass
class Token:
    client_id: str
    username: str
    issued: float
    revoked: bool = False


@dataclass
class DeviceFlow:
    client_id: str
    user_code: str
    approved_as: str | None = None


@dataclass
class IdentityServer:
    root: Path
    port: int = field(default_factory=free_port)
    introspection_port: int = field(default_factory=free_port)
    token_lifetime: int = 3600  # what the token endpoint says (expires_in)
    server_lifetime: float | None = None  # seconds after which the mail server refuses it
    apps: dict[str, App] = field(default_factory=dict)
    tokens: dict[str, Token] = field(default_factory=dict)
    refresh_tokens: dict[str, str] = field(default_factory=dict)  # refresh token -> username
    device_flows: dict[str, DeviceFlow] = field(default_factory=dict)
    token_requests: list[str] = field(default_factory=list)  # grant types, in order
    introspections: int = 0
    _servers: list[ThreadingHTTPServer] = field(default_factory=list)
    _counter: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def authority(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def token_endpoint(self) -> str:
        return f"{self.authority}/{TENANT}/oauth2/v2.0/token"

    @property
    def introspection_url(self) -> str:
        return f"http://127.0.0.1:{self.introspection_port}/introspect"

    @property
    def ca_file(self) -> Path:
        return self.root / "identity-cert.pem"

    # -- what a test does -------------------------------------------------------
    def register(
        self,
        mailbox: str,
        *,
        secret: str | None = None,
        certificate_pem: bytes | None = None,
        public_client: bool = False,
    ) -> App:
        client_id = f"0000000{next(self._counter)}-aaaa-4bbb-8ccc-000000000000"
        app = App(client_id, mailbox, secret=secret, public_client=public_client)
        if certificate_pem is not None:
            from cryptography import x509
            from cryptography.hazmat.primitives.serialization import Encoding

            certificate = x509.load_pem_x509_certificate(certificate_pem)
            app.certificate_sha256 = hashlib.sha256(certificate.public_bytes(Encoding.DER)).digest()
            app.public_key = certificate.public_key()
        self.apps[client_id] = app
        return app

    def revoke(self, client_id: str) -> None:
        """Every token issued to the app stops working at the mail server."""
        for token in self.tokens.values():
            if token.client_id == client_id:
                token.revoked = True

    def refuse(self, client_id: str, error: str, description: str, code: int) -> None:
        """From now on the token endpoint refuses the app (a secret deleted, consent withdrawn)."""
        self.apps[client_id].refusal = {
            "error": error,
            "error_description": f"{description} Trace ID: 5e7a Correlation ID: 9c1f "
            f"Timestamp: {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M:%SZ}",
            "error_codes": [code],
        }

    def allow(self, client_id: str) -> None:
        self.apps[client_id].refusal = None

    def approve_device_code(self, user_code: str, username: str) -> None:
        """The person at the browser enters the code and signs in."""
        for flow in self.device_flows.values():
            if flow.user_code == user_code:
                flow.approved_as = username

    def issued(self, client_id: str) -> int:
        return sum(1 for t in self.tokens.values() if t.client_id == client_id)

    # -- the endpoints ----------------------------------------------------------
    def openid_configuration(self, tenant: str) -> tuple[int, dict[str, Any]]:
        if tenant != TENANT:
            return 400, {
                "error": "invalid_tenant",
                "error_description": f"AADSTS90002: Tenant '{tenant}' not found. Check to make "
                "sure you have the correct tenant ID and are signing into the correct cloud. "
                "Trace ID: 1 Correlation ID: 2 Timestamp: 2026-01-01 00:00:00Z",
                "error_codes": [90002],
            }
        base = f"{self.authority}/{TENANT}"
        return 200, {
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
            "issuer": f"{base}/v2.0",
        }

    def token(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        grant = form.get("grant_type", "")
        self.token_requests.append(grant)
        app = self.apps.get(form.get("client_id", ""))
        if app is None:
            return _error(
                400,
                "unauthorized_client",
                f"AADSTS700016: Application with identifier '{form.get('client_id')}' was not "
                f"found in the directory '{TENANT}'.",
                700016,
            )
        if app.refusal is not None:
            return 400 if app.refusal["error"] != "invalid_client" else 401, app.refusal
        if grant == "client_credentials":
            return self._client_credentials(app, form)
        if grant == "urn:ietf:params:oauth:grant-type:device_code":
            return self._device_code_grant(app, form)
        if grant == "refresh_token":
            username = self.refresh_tokens.get(form.get("refresh_token", ""))
            if username is None:
                return _error(400, "invalid_grant", "AADSTS70008: The refresh token has expired "
                              "due to inactivity.", 70008)  # fmt: skip
            return 200, self._issue(app, username, delegated=True, scope=form.get("scope", ""))
        return _error(400, "unsupported_grant_type", "AADSTS70003: unsupported grant", 70003)

    def _client_credentials(self, app: App, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        refused = self._authenticate_client(app, form)
        if refused is not None:
            return refused
        if form.get("scope") != EXCHANGE_SCOPE:
            return _error(
                400,
                "invalid_scope",
                f"AADSTS1002012: The provided value for scope {form.get('scope')} is not valid. "
                "Client credential flows must have a scope value with /.default suffixed to "
                "the resource identifier (application ID URI).",
                1002012,
            )
        if not app.consented:
            return _error(
                400,
                "invalid_grant",
                f"AADSTS65001: The user or administrator has not consented to use the "
                f"application with ID '{app.client_id}' named 'Referral intake'. Send an "
                "interactive authorization request for this user and resource.",
                65001,
            )
        return 200, self._issue(app, app.mailbox, delegated=False, scope=EXCHANGE_SCOPE)

    def _authenticate_client(self, app: App, form: dict[str, str]) -> tuple[int, dict] | None:
        if "client_secret" in form:
            if app.secret is not None and secrets.compare_digest(form["client_secret"], app.secret):
                return None
            return _error(
                401,
                "invalid_client",
                "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in "
                "the request is the client secret value, not the client secret ID, for a secret "
                f"added to app '{app.client_id}'.",
                7000215,
            )
        assertion = form.get("client_assertion", "")
        if app.public_key is None or not self._assertion_ok(app, assertion):
            return _error(
                401,
                "invalid_client",
                "AADSTS700027: The certificate with identifier used to sign the client "
                "assertion is not registered on application.",
                700027,
            )
        return None

    def _assertion_ok(self, app: App, assertion: str) -> bool:
        import jwt

        try:
            header = jwt.get_unverified_header(assertion)
            claims = jwt.decode(
                assertion,
                app.public_key,
                algorithms=["PS256", "RS256"],
                audience=self.token_endpoint,
                issuer=app.client_id,
            )
        except jwt.PyJWTError:
            return False
        # base64url of the DER's SHA-256 (RFC 7515 §4.1.8); msal keeps the padding
        thumbprint = base64.urlsafe_b64encode(app.certificate_sha256 or b"").rstrip(b"=")
        named = str(header.get("x5t#S256", "")).rstrip("=")
        return claims.get("sub") == app.client_id and named == thumbprint.decode()

    def device_code(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        app = self.apps.get(form.get("client_id", ""))
        if app is None or not app.public_client:
            return _error(
                400,
                "invalid_client",
                "AADSTS7000218: The request body must contain the following parameter: "
                "'client_assertion' or 'client_secret'.",
                7000218,
            )
        code = secrets.token_urlsafe(16)
        user_code = f"TEST{next(self._counter):04d}"
        self.device_flows[code] = DeviceFlow(app.client_id, user_code)
        return 200, {
            "device_code": code,
            "user_code": user_code,
            "verification_uri": "https://microsoft.com/devicelogin",
            "expires_in": 900,
            "interval": 1,
            "message": f"To sign in, use a web browser to open the page "
            f"https://microsoft.com/devicelogin and enter the code {user_code} to authenticate.",
        }

    def _device_code_grant(self, app: App, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        flow = self.device_flows.get(form.get("device_code", ""))
        if flow is None:
            return _error(400, "expired_token", "AADSTS70020: The provided value for the input "
                          "parameter 'device_code' is not valid.", 70020)  # fmt: skip
        if flow.approved_as is None:
            return _error(400, "authorization_pending", "AADSTS70016: OAuth 2.0 device flow "
                          "error. Authorization is pending.", 70016)  # fmt: skip
        del self.device_flows[form["device_code"]]
        return 200, self._issue(app, flow.approved_as, delegated=True, scope=form.get("scope", ""))

    def _issue(self, app: App, username: str, *, delegated: bool, scope: str) -> dict[str, Any]:
        value = "eyJ0eXAi." + secrets.token_urlsafe(32)
        self.tokens[value] = Token(app.client_id, username, time.monotonic())
        answer: dict[str, Any] = {
            "token_type": "Bearer",
            "expires_in": self.token_lifetime,
            "ext_expires_in": self.token_lifetime,
            "access_token": value,
        }
        if delegated:
            refresh = secrets.token_urlsafe(24)
            self.refresh_tokens[refresh] = username
            answer |= {
                "scope": " ".join(sorted(DELEGATED)),
                "refresh_token": refresh,
                "client_info": _b64json({"uid": "u-" + username, "utid": TENANT}),
                "id_token": _id_token(app.client_id, username),
            }
        return answer

    def introspect(self, token: str) -> dict[str, Any]:
        """RFC 7662's answer, as Dovecot's oauth2 passdb reads it."""
        self.introspections += 1
        found = self.tokens.get(token)
        if found is None or found.revoked:
            return {"active": False}
        age = time.monotonic() - found.issued
        if self.server_lifetime is not None and age > self.server_lifetime:
            return {"active": False}
        return {"active": True, "username": found.username, "client_id": found.client_id}

    # -- running --------------------------------------------------------------------
    def start(self) -> None:
        _self_signed(self.ca_file, self.root / "identity-key.pem")
        https = ThreadingHTTPServer(("127.0.0.1", self.port), _handler(self))
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.ca_file, self.root / "identity-key.pem")
        https.socket = context.wrap_socket(https.socket, server_side=True)
        plain = ThreadingHTTPServer(("127.0.0.1", self.introspection_port), _handler(self))
        for server in (https, plain):
            server.daemon_threads = True
            threading.Thread(target=server.serve_forever, daemon=True).start()
            self._servers.append(server)

    def stop(self) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()
        self._servers.clear()


def _error(status: int, error: str, description: str, code: int) -> tuple[int, dict[str, Any]]:
    return status, {
        "error": error,
        "error_description": f"{description} Trace ID: 5e7a Correlation ID: 9c1f "
        "Timestamp: 2026-01-01 00:00:00Z",
        "error_codes": [code],
    }


def _b64json(value: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


def _id_token(client_id: str, username: str) -> str:
    now = int(time.time())
    claims = {
        "aud": client_id,
        "iss": f"https://127.0.0.1/{TENANT}/v2.0",
        "iat": now,
        "exp": now + 3600,
        "oid": "u-" + username,
        "tid": TENANT,
        "preferred_username": username,
        "sub": "u-" + username,
    }
    return f"{_b64json({'alg': 'none'})}.{_b64json(claims)}."


def _handler(server: IdentityServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path).path.strip("/").split("/")
            if parts[1:] == ["v2.0", ".well-known", "openid-configuration"]:
                self._reply(*server.openid_configuration(parts[0]))
                return
            self._reply(404, {"error": "not_found"})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            path = urlsplit(self.path).path
            if path == "/introspect":
                self._reply(200, server.introspect(form.get("token", "")))
            elif path == f"/{TENANT}/oauth2/v2.0/token":
                self._reply(*server.token(form))
            elif path == f"/{TENANT}/oauth2/v2.0/devicecode":
                self._reply(*server.device_code(form))
            else:
                self._reply(404, {"error": "not_found"})

        def _reply(self, status: int, body: dict[str, Any]) -> None:
            raw = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # tokens travel in these requests: print nothing

    return Handler


def _self_signed(cert_path: Path, key_path: Path, name: str = "127.0.0.1") -> None:
    """A self-signed certificate for 127.0.0.1 and localhost (PEM), valid two days."""
    certificate_pem, key_pem = make_certificate(name)
    cert_path.write_bytes(certificate_pem)
    key_path.write_bytes(key_pem)


def make_certificate(
    common_name: str, *, password: bytes | None = None, days: int = 2
) -> tuple[bytes, bytes]:
    """(certificate PEM, private key PEM) of a new self-signed RSA certificate that
    names 127.0.0.1 and localhost; the key encrypted with ``password`` when given."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    encryption = (
        serialization.BestAvailableEncryption(password)
        if password
        else serialization.NoEncryption()
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )
    return certificate.public_bytes(serialization.Encoding.PEM), key_pem


def start_identity() -> IdentityServer:
    server = IdentityServer(Path(tempfile.mkdtemp(prefix="intake-identity-")))
    server.start()
    return server
