"""OAuth2 access tokens for XOAUTH2 sign-in to IMAP and SMTP, from msal.

Exchange Online (Microsoft 365) takes no password for IMAP or SMTP: a client
signs in with the mailbox's address and an access token (`xoauth2`).  Two
ways to get one, chosen by ``oauth_flow``:

- ``client_credentials`` (the default, for a service; `AppTokens`): an app
  registration with the application permissions ``IMAP.AccessAsApp`` and
  ``SMTP.SendAsApp``, admin consent, and an Exchange service principal given
  access to the one shared mailbox (README, "Microsoft 365").  The app proves
  itself with a client secret (read from the environment variable
  ``client_secret_env``) or a certificate (``client_certificate``: a ``.pem``
  holding the private key and the certificate, or a ``.pfx``), which is what
  Microsoft recommends.
- ``device_code`` (delegated; `DelegatedTokens`): a person who may open the
  mailbox signs in once with ``intake signin MAILBOX``; msal keeps the refresh
  token in ``token_cache``, a file only the service's user can read.

msal caches each token in the process and asks for a new one before it runs
out (five minutes ahead, or at Microsoft's ``refresh_in``).  A token the
server refuses although msal still trusts it (revoked, or ended early) is
dropped with `TokenSource.discard`, and the caller asks once more.

Errors are `MailboxError`s with a `Fault` reason: Microsoft's refusal is
`Fault.TOKEN_REFUSED` (a sign-in alarm) with Microsoft's own words as the
``detail``, for ``check-config --connect`` and the health page; an endpoint
that cannot be reached is `Fault.TOKEN_ENDPOINT_UNREACHABLE` (retried).  Logs
carry the error code and the AADSTS numbers only: never a token, a secret or
Microsoft's text.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import structlog

from intake.config import MailboxConfig
from intake.errors import MailboxAuthError, MailboxError
from intake.mailbox.base import Fault

log = structlog.get_logger(__name__)

# OAuth 2.0 error codes (RFC 6749 §5.2) that mean "fix the registration or the
# consent", as opposed to an outage worth retrying (temporarily_unavailable, ...).
REFUSALS = frozenset(
    {
        "invalid_client",
        "unauthorized_client",
        "invalid_grant",
        "invalid_scope",
        "invalid_request",
        "access_denied",
        "consent_required",
        "interaction_required",
        "expired_token",
        "authorization_declined",
    }
)
# Microsoft appends "Trace ID: ... Correlation ID: ... Timestamp: ..." to every
# description: useful to Microsoft's support, noise on a health page.
_TRACE = re.compile(r"\s*(Trace ID|Correlation ID|Timestamp):.*$", re.DOTALL)


@dataclass(frozen=True)
class AccessToken:
    value: str = field(repr=False)  # never printed, never logged
    from_cache: bool = False
    expires_in: int = 0


class TokenSource(Protocol):
    """Where a mailbox's access tokens come from."""

    def token(self) -> AccessToken:
        """A token good for at least five more minutes; raises `MailboxError`."""

    def discard(self, token: AccessToken) -> None:
        """Forget ``token`` (the server refused it), so the next `token` is new."""


def xoauth2(user: str, token: AccessToken) -> str:
    """The SASL XOAUTH2 initial response (before base64), as Google and Microsoft
    define it: ``user=...^Aauth=Bearer ...^A^A``."""
    return f"user={user}\x01auth=Bearer {token.value}\x01\x01"


def microsoft_words(result: dict[str, Any]) -> str:
    """Microsoft's description of an error response, without the trace ids.

    >>> microsoft_words({"error": "invalid_client",
    ...     "error_description": "AADSTS7000215: Invalid client secret provided. Trace ID: 1"})
    'AADSTS7000215: Invalid client secret provided.'
    """
    text = str(result.get("error_description") or result.get("error") or "")
    return " ".join(_TRACE.sub("", text).split())[:300]


class _MsalTokens:
    """What both flows share: the msal application, built on first use, and the
    translation of msal's answers and exceptions into `MailboxError`s."""

    def __init__(self, cfg: MailboxConfig, http_client: Any = None) -> None:
        self.cfg = cfg
        self._http_client = http_client
        self._app: Any = None
        self._lock = threading.Lock()

    def _application(self) -> Any:
        with self._lock:
            if self._app is None:
                self._app = self._calling(self._build)
            return self._app

    def _build(self) -> Any:
        raise NotImplementedError

    def _common(self) -> dict[str, Any]:
        cfg = self.cfg
        options: dict[str, Any] = {
            "authority": f"{cfg.authority}/{cfg.tenant_id}",
            # Instance discovery asks login.microsoftonline.com whether the authority
            # host is Microsoft's; msal knows its own clouds' hosts without asking.
            "instance_discovery": False,
            "timeout": cfg.timeout_seconds,
        }
        options["http_client"] = self._http_client or http_session(cfg)
        return options

    def _calling(self, call: Callable[[], Any]) -> Any:
        """``call()``, with network and discovery failures as `MailboxError`s."""
        import requests

        host = urlsplit(self.cfg.authority).hostname or self.cfg.authority
        try:
            return call()
        except requests.exceptions.SSLError as exc:
            raise self._unreachable(f"{host}: TLS certificate not trusted", exc) from exc
        except requests.exceptions.Timeout as exc:
            raise self._unreachable(f"{host}: no answer within the timeout", exc) from exc
        except requests.exceptions.RequestException as exc:
            raise self._unreachable(f"{host}: cannot connect", exc) from exc
        except ValueError as exc:
            # msal's tenant discovery failed ("Unable to get authority configuration"),
            # raised from its own "OIDC Discovery failed on ... Error: {Microsoft's JSON}"
            found = _discovery_error(str(exc.__context__ or "")) or _discovery_error(str(exc))
            raise self._refused(found, "tenant_discovery_failed") from exc

    def _unreachable(self, detail: str, exc: Exception) -> MailboxError:
        log.warning("oauth_endpoint_unreachable", mailbox=self.cfg.name, error=type(exc).__name__)
        return MailboxError(
            "token endpoint unreachable", reason=Fault.TOKEN_ENDPOINT_UNREACHABLE, detail=detail
        )

    def _refused(self, result: dict[str, Any], error: str = "") -> MailboxError:
        error = error or str(result.get("error") or "")
        codes = [int(c) for c in result.get("error_codes") or [] if str(c).isdigit()]
        log.warning("oauth_token_refused", mailbox=self.cfg.name, error=error, codes=codes)
        if error and error not in REFUSALS and error != "tenant_discovery_failed":
            return MailboxError(
                "token endpoint failed",
                reason=Fault.TOKEN_ENDPOINT_UNREACHABLE,
                detail=microsoft_words(result),
            )
        return MailboxAuthError(
            "token refused", reason=Fault.TOKEN_REFUSED, detail=microsoft_words(result)
        )

    def _answer(self, result: dict[str, Any] | None) -> AccessToken:
        if not result or "access_token" not in result:
            raise self._refused(result or {"error": "no_token"})
        from_cache = result.get("token_source") == "cache"
        if not from_cache:
            log.info(
                "oauth_token_acquired",
                mailbox=self.cfg.name,
                expires_in=int(result.get("expires_in") or 0),
            )
        return AccessToken(
            str(result["access_token"]), from_cache, int(result.get("expires_in") or 0)
        )

    def discard(self, token: AccessToken) -> None:
        app = self._app
        if app is None:
            return
        cache = app.token_cache
        for entry in list(cache.search(cache.CredentialType.ACCESS_TOKEN)):
            if entry.get("secret") == token.value:
                cache.remove_at(entry)
                log.info("oauth_token_discarded", mailbox=self.cfg.name)


def http_session(cfg: MailboxConfig) -> Any:
    """The HTTP client msal uses: a timeout on every request, one retry, and the
    authority's CA bundle when one is named.

    requests lets ``REQUESTS_CA_BUNDLE`` in the environment override a session's
    ``verify`` (psf/requests#3829), so the bundle is passed with each request.
    """
    import requests

    class Session(requests.Session):
        def request(self, *args: Any, **kwargs: Any) -> Any:
            kwargs.setdefault("timeout", cfg.timeout_seconds)
            if cfg.authority_ca_file:
                kwargs.setdefault("verify", cfg.authority_ca_file)
            return super().request(*args, **kwargs)

    session = Session()
    adapter = requests.adapters.HTTPAdapter(max_retries=1)
    session.mount("https://", adapter)
    return session


class AppTokens(_MsalTokens):
    """The client-credentials flow: the app's own tokens (no person involved)."""

    def _build(self) -> Any:
        import msal

        return msal.ConfidentialClientApplication(
            self.cfg.client_id,
            client_credential=self._credential(),
            token_cache=msal.TokenCache(),
            **self._common(),
        )

    def _credential(self) -> str | dict[str, Any]:
        """The client secret from the environment, or the certificate for a signed assertion."""
        cfg = self.cfg
        if cfg.client_secret_env:
            secret = os.environ.get(cfg.client_secret_env)
            if not secret:
                raise MailboxAuthError(
                    "client secret missing",
                    reason=Fault.CLIENT_SECRET_MISSING,
                    detail=f"${cfg.client_secret_env} is not set",
                )
            return secret
        return certificate_credential(cfg)

    def token(self) -> AccessToken:
        app = self._application()
        return self._answer(
            self._calling(lambda: app.acquire_token_for_client(scopes=self.cfg.oauth_scopes))
        )


def certificate_credential(cfg: MailboxConfig) -> dict[str, Any]:
    """msal's ``client_credential`` for a certificate: a ``.pfx`` as it is, or the
    private key and certificate of a ``.pem`` (msal signs with SHA-256, x5t#S256).

    The file is opened here first, so a wrong path or password is reported as
    `Fault.CLIENT_CERTIFICATE_UNREADABLE` rather than as a refusal by Microsoft.
    """
    passphrase = _certificate_password(cfg)
    path = Path(cfg.client_certificate)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise _unreadable(f"{path}: {exc.strerror or type(exc).__name__}") from exc
    load_certificate(path, data, passphrase)
    if path.suffix.lower() in (".pfx", ".p12"):
        return {"private_key_pfx_path": str(path), "passphrase": passphrase}
    pem = data.decode("ascii", "replace")
    key = re.search(
        r"-----BEGIN [A-Z ]*PRIVATE KEY-----.+?-----END [A-Z ]*PRIVATE KEY-----", pem, re.S
    )
    certificate = re.search(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", pem, re.S)
    if key is None or certificate is None:
        raise _unreadable(f"{path}: needs both the private key and the certificate (PEM)")
    credential = {"private_key": key.group(0), "public_certificate": certificate.group(0)}
    if passphrase:
        credential["passphrase"] = passphrase
    return credential


def _certificate_password(cfg: MailboxConfig) -> str | None:
    if not cfg.client_certificate_password_env:
        return None
    passphrase = os.environ.get(cfg.client_certificate_password_env)
    if passphrase is None:
        raise _unreadable(f"${cfg.client_certificate_password_env} is not set")
    return passphrase


def load_certificate(path: Path, data: bytes, passphrase: str | None) -> Any:
    """The X.509 certificate in ``data`` (PEM or PKCS#12), its key checked to open
    with ``passphrase``; raises `MailboxAuthError` (client_certificate_unreadable)."""
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import load_pem_private_key, pkcs12

    password = passphrase.encode() if passphrase else None
    try:
        if path.suffix.lower() in (".pfx", ".p12"):
            key, certificate, _ = pkcs12.load_key_and_certificates(data, password)
        else:
            key = load_pem_private_key(data, password)
            certificate = x509.load_pem_x509_certificate(data)
    except (ValueError, TypeError) as exc:
        # cryptography's words ("Bad decrypt. Incorrect password?"), never the key
        raise _unreadable(f"{path}: {str(exc).splitlines()[0][:120]}") from exc
    if key is None or certificate is None:
        raise _unreadable(f"{path}: needs both the private key and the certificate")
    return certificate


def certificate_expires(cfg: MailboxConfig) -> date | None:
    """When the client certificate runs out (None: no certificate, or unreadable)."""
    if not cfg.client_certificate:
        return None
    path = Path(cfg.client_certificate)
    try:
        certificate = load_certificate(path, path.read_bytes(), _certificate_password(cfg))
    except (OSError, MailboxError):
        return None
    return certificate.not_valid_after_utc.date()  # type: ignore[no-any-return]


def _unreadable(detail: str) -> MailboxAuthError:
    return MailboxAuthError(
        "client certificate unreadable", reason=Fault.CLIENT_CERTIFICATE_UNREADABLE, detail=detail
    )


def _discovery_error(message: str) -> dict[str, Any]:
    """Microsoft's JSON error inside msal's "OIDC Discovery failed" ValueError, or
    msal's own first sentence ({} for no message)."""
    _, _, tail = message.partition("Error: ")
    with contextlib.suppress(ValueError):
        found = json.loads(tail)
        if isinstance(found, dict):
            return found
    if not message:
        return {}
    return {"error": "tenant_discovery_failed", "error_description": message.split(". ")[0]}


class DelegatedTokens(_MsalTokens):
    """The device-code flow: a person signs in once (`sign_in`); msal renews the
    access token from the refresh token kept in ``cfg.token_cache``."""

    def __init__(self, cfg: MailboxConfig, http_client: Any = None) -> None:
        super().__init__(cfg, http_client)
        import msal

        self.cache = msal.SerializableTokenCache()
        with contextlib.suppress(FileNotFoundError):
            self.cache.deserialize(Path(cfg.token_cache).read_text(encoding="utf-8"))

    def _build(self) -> Any:
        import msal

        return msal.PublicClientApplication(
            self.cfg.client_id, token_cache=self.cache, **self._common()
        )

    def token(self) -> AccessToken:
        app = self._application()
        accounts = app.get_accounts(username=self.cfg.username) or app.get_accounts()
        if not accounts:
            raise MailboxAuthError(
                "nobody signed in",
                reason=Fault.SIGN_IN_REQUIRED,
                detail=f"run: intake signin {self.cfg.name}",
            )
        result = self._calling(
            lambda: app.acquire_token_silent_with_error(self.cfg.oauth_scopes, account=accounts[0])
        )
        self._save()
        if result is None:
            raise MailboxAuthError(
                "sign-in expired",
                reason=Fault.SIGN_IN_REQUIRED,
                detail=f"run: intake signin {self.cfg.name}",
            )
        return self._answer(result)

    def sign_in(self, show: Callable[[str], None]) -> AccessToken:
        """Run the device-code sign-in: ``show`` gets Microsoft's instruction (a
        code to enter at a web page); blocks until the person has signed in."""
        app = self._application()
        flow = self._calling(lambda: app.initiate_device_flow(scopes=self.cfg.oauth_scopes))
        if "user_code" not in flow:
            raise self._refused(flow)
        show(str(flow["message"]))
        result = self._calling(lambda: app.acquire_token_by_device_flow(flow))
        self._save()
        return self._answer(result)

    def _save(self) -> None:
        """Write the cache (0600, atomically) when msal changed it."""
        if not self.cache.has_state_changed:
            return
        target = Path(self.cfg.token_cache)
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(self.cache.serialize())
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        self.cache.has_state_changed = False


_sources: dict[str, tuple[MailboxConfig, TokenSource]] = {}
_sources_lock = threading.Lock()


def token_source(cfg: MailboxConfig) -> TokenSource:
    """The process's one token source for this mailbox, so its cache outlives a poll.

    A changed configuration for the same mailbox name gets a new source.
    """
    with _sources_lock:
        known = _sources.get(cfg.name)
        if known is not None and known[0] == cfg:
            return known[1]
        source: TokenSource = (
            AppTokens(cfg) if cfg.oauth_flow == "client_credentials" else DelegatedTokens(cfg)
        )
        _sources[cfg.name] = (cfg, source)
        return source


def forget_token_sources() -> None:
    """Drop every cached source (tests; a configuration reload)."""
    with _sources_lock:
        _sources.clear()
