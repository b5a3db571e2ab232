"""Django settings, built from the administrator's ``config/intake.toml``.

The store comes from the intake configuration (``DATABASE_URL`` wins over
``[store] url``).  ``DJANGO_SECRET_KEY`` comes from the environment only;
with ``DJANGO_DEBUG=1`` and no key, a development key is generated once and
kept in ``var/dev-secret-key`` (never used in production: without DEBUG a
missing key is an error the moment anything needs it).

Production runs behind a TLS-terminating reverse proxy (README, "Production";
``compose.yaml``), configured from the environment:

- ``DJANGO_ALLOWED_HOSTS``: the host names people use, comma-separated;
- ``DJANGO_SECURE_PROXY_SSL_HEADER``: the header the proxy sets to ``https``
  (``X-Forwarded-Proto``).  The proxy must overwrite it; with it set, plain
  HTTP is redirected to HTTPS (``DJANGO_SECURE_SSL_REDIRECT=0`` to leave that
  to the proxy), except ``/healthz`` for the container's own health check;
- ``DJANGO_CSRF_TRUSTED_ORIGINS``: by default ``https://`` and each allowed
  host, so a sign-in posted through the proxy passes Django's origin check;
- ``DJANGO_HSTS_SECONDS`` (a year unless DEBUG), ``DJANGO_HSTS_INCLUDE_SUBDOMAINS``
  (on), ``DJANGO_HSTS_PRELOAD`` (off);
- ``DJANGO_INSECURE_COOKIES=1`` only to try the site over plain HTTP on a
  private network: the session and CSRF cookies are Secure otherwise, and a
  browser drops a Secure cookie sent over http://, which fails every sign-in
  with "CSRF cookie not set".

`DEPLOYMENT_PROBLEMS` lists, in one line each, what the web process cannot
run without (``intake serve`` prints them and exits 2, with no traceback).
"""

from __future__ import annotations

import contextlib
import os
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from intake.config import load_config, project_root
from intake.logging import configure_logging

BASE_DIR = project_root()
# A broken rules file must not stop the review pages: they show the rules in force from
# the database, and the worker refuses the file (issue 11).
INTAKE = load_config(strict_rules=False)
DEBUG = os.environ.get("DJANGO_DEBUG", "") == "1"


def database_from_url(url: str, root: Path) -> dict[str, Any]:
    """Django's DATABASES entry for a ``sqlite:///`` or ``postgresql://`` URL.

    ``sqlite:///var/x.sqlite3`` is relative to the project root;
    ``sqlite:////srv/x.sqlite3`` is absolute.  SQLite runs in WAL mode with a
    busy timeout and IMMEDIATE transactions, so a worker and the web process
    can write at once without "database is locked" errors.
    """
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(path if path.is_absolute() else root / path),
            "OPTIONS": {
                "timeout": 30,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    parts = urlsplit(url)
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": unquote(parts.path.lstrip("/")),
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": parts.hostname or "",
        "PORT": str(parts.port or ""),
        "OPTIONS": dict(parse_qsl(parts.query)),
        "CONN_MAX_AGE": 0,
    }


def _secret_key() -> str:
    key = os.environ.get("DJANGO_SECRET_KEY", "")
    if key or not DEBUG:
        return key
    stored = BASE_DIR / "var" / "dev-secret-key"
    if not stored.exists():
        stored.parent.mkdir(parents=True, exist_ok=True)
        stored.write_text(secrets.token_urlsafe(50))
        stored.chmod(0o600)
    return stored.read_text().strip()


def _env_list(name: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, "").split(",") if item.strip()]


def _env_flag(name: str, default: bool) -> bool:
    value = os.environ.get(name, "").strip().lower()
    return default if not value else value in ("1", "true", "yes", "on")


def deployment_problems() -> list[str]:
    """What the web process cannot run without in production, one line each."""
    if DEBUG:
        return []
    problems = []
    key = os.environ.get("DJANGO_SECRET_KEY", "")
    if not key:
        problems.append(
            "DJANGO_SECRET_KEY is not set: set it to a long random value "
            "(python -c 'import secrets; print(secrets.token_urlsafe(50))'), "
            "or DJANGO_DEBUG=1 on a developer's machine"
        )
    elif len(key) < 50 or len(set(key)) < 5:
        problems.append("DJANGO_SECRET_KEY is too short: use at least 50 random characters")
    if not _env_list("DJANGO_ALLOWED_HOSTS"):
        problems.append(
            "DJANGO_ALLOWED_HOSTS is not set: the host names people use to reach the "
            "review pages, comma-separated (for example intake.example.org)"
        )
    return problems


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = _env_list("DJANGO_ALLOWED_HOSTS") or ["localhost", "127.0.0.1"]
DEPLOYMENT_PROBLEMS = deployment_problems()
DATABASES = {"default": database_from_url(INTAKE.store.url, BASE_DIR)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    # Sign-in (issue 12): a second factor for everyone (TOTP, recovery codes), lockout
    # after repeated failures, one Content-Security-Policy on every page.
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "axes",
    "csp",
    "intake",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "intake.web.middleware.session_limits",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as django-axes asks
]
ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "intake.health.alarm_banner",  # a mailbox that cannot sign in: on every page
                "intake.web.context.navigation",  # the menu for the signed-in person's role
            ]
        },
    }
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/London"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
# GOV.UK Frontend, compiled by `make install` (npm ci, npm run build in frontend/); never committed.
FRONTEND_BUILD = BASE_DIR / "frontend" / "build"
STATICFILES_DIRS = [FRONTEND_BUILD]
with contextlib.suppress(OSError):  # a missing folder is a system-check warning
    FRONTEND_BUILD.mkdir(parents=True, exist_ok=True)
with contextlib.suppress(OSError):  # whitenoise warns on every start when it is missing
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# The review pages (intake.web): sign-in with a second factor, and sessions that end
# after [web] session_idle_minutes without a request (the cookie and the stored session
# are renewed on every request) and never outlive a working day (SESSION_MAX_SECONDS,
# intake.web.middleware) or the browser.
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "queue"
LOGOUT_REDIRECT_URL = "login"
SESSION_COOKIE_AGE = INTAKE.web.session_idle_minutes * 60
SESSION_SAVE_EVERY_REQUEST = True
SESSION_MAX_SECONDS = 8 * 60 * 60
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # refuses a locked-out account before its password
    "django.contrib.auth.backends.ModelBackend",
]
# django-axes: five wrong passwords for one account lock it for 15 minutes (each further
# try restarts the wait); an administrator can unlock it on the people page.  Locking by
# account, not address: an attacker spreads guesses over addresses, and behind the proxy
# every address would otherwise be the proxy's.  Its log lines carry no name or address.
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = ["username"]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
AXES_CLIENT_STR_CALLABLE = "intake.web.signin.client_str"
AXES_LOCKOUT_CALLABLE = "intake.web.signin.locked_out"
AXES_ENABLE_ADMIN = False
# django-otp: the authenticator app shows the service's name; wrong codes slow down.
OTP_TOTP_ISSUER = INTAKE.service.name
# One Content-Security-Policy on every page, the sign-in and Django's admin included
# (django-csp): our own stylesheet and images, no inline script or style, no framing.
# Mail shown in the pages is escaped text; a download carries its own sandbox policy.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'none'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'"],
        "font-src": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'none'"],
    }
}
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True  # no script of ours reads it; forms carry the token
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = not DEBUG and os.environ.get("DJANGO_INSECURE_COOKIES", "") != "1"
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"

# Behind a TLS-terminating proxy (see the module docstring).  Django compares a
# POST's Origin with the scheme and host it believes it serves: without the
# proxy's header it thinks "http" and refuses "https://..." ("Origin checking
# failed"); the trusted origins also cover a proxy that rewrites the Host.
_PROXY_HEADER = os.environ.get("DJANGO_SECURE_PROXY_SSL_HEADER", "").strip()
if _PROXY_HEADER:
    SECURE_PROXY_SSL_HEADER = ("HTTP_" + _PROXY_HEADER.upper().replace("-", "_"), "https")
CSRF_TRUSTED_ORIGINS = _env_list("DJANGO_CSRF_TRUSTED_ORIGINS") or [
    f"https://*{host}" if host.startswith(".") else f"https://{host}"
    for host in ALLOWED_HOSTS
    if host != "*"
]
SECURE_SSL_REDIRECT = _env_flag("DJANGO_SECURE_SSL_REDIRECT", bool(_PROXY_HEADER))
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # the container's health check speaks plain HTTP
SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_HSTS_SECONDS", "0" if DEBUG else "31536000"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = _env_flag("DJANGO_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = _env_flag("DJANGO_HSTS_PRELOAD", False)
# django-axes would lock by address too; behind the proxy, or a council's one outgoing
# address, that locks out everyone at once.  Accounts are locked instead (above).
SILENCED_SYSTEM_CHECKS = ["axes.W006"]
if not SECURE_HSTS_PRELOAD:
    # Joining the browsers' preload list is the domain owner's decision (it binds the
    # whole council domain), not this service's: check --deploy's reminder is silenced.
    SILENCED_SYSTEM_CHECKS.append("security.W021")

# Django's own loggers go through the standard library; ours through structlog.
LOGGING_CONFIG = None
configure_logging()
