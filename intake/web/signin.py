"""Signing in: a password, then a second factor; set up at the first sign-in (issue 12).

1. ``/login/``: the account name and password (Django's form; django-axes refuses a
   locked-out account before its password is even checked).
2. ``/login/verify/``: a code from the authenticator app, or a recovery code; or, for
   someone without a second factor yet, ``/login/set-up/``: a QR code to scan, the
   secret written out, and a code to prove it works.  Then ten recovery codes, shown once.

Only after step 2 is the session *verified* (`django_otp`), which every review page
asks for.  Every step is audited: a failed password or a locked account with the
account name typed (which may be no one's), never in a log line; a wrong code; the
sign-in with the factor used.  ``/admin/login/`` comes here too, so signing in to
Django's admin is the same, audited sign-in.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import structlog
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods
from django_otp import login as otp_login

from intake import audit, users
from intake.web.permissions import is_verified, no_store, second_factor_url

log = structlog.get_logger(__name__)

MAX_CODE_FAILURES = 5  # wrong codes in one session before it is ended
SIGNED_IN_AT = "signed_in_at"
NEW_CODES = "new_recovery_codes"


def _next_url(request: HttpRequest) -> str:
    wanted = request.POST.get("next") or request.GET.get("next") or ""
    if wanted and url_has_allowed_host_and_scheme(
        wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return wanted
    return reverse("queue")


class SignInView(auth_views.LoginView):
    """Step 1: the password.  Someone signed in already goes on to step 2 or their page."""

    template_name = "intake/signin/password.html"

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        user = request.user
        if user.is_authenticated:
            if is_verified(user):
                return redirect(_next_url(request))
            return redirect(second_factor_url(user, _next_url(request)))
        response = super().dispatch(request, *args, **kwargs)
        add_never_cache_headers(response)
        return response

    def form_valid(self, form: Any) -> HttpResponse:
        super().form_valid(form)  # django.contrib.auth.login: a new session, password only
        user = form.get_user()
        audit.record(user, audit.Verb.PASSWORD_ACCEPTED, audit.USER, user.pk)
        return redirect(second_factor_url(user, _next_url(self.request)))

    def form_invalid(self, form: Any) -> HttpResponse:
        log.warning("sign_in_failed")  # the name typed may be anyone's: audited, not logged
        return super().form_invalid(form)


class SignOutView(auth_views.LogoutView):
    """Django's logout (POST only), audited."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = request.user
        if user.is_authenticated:
            audit.record(user, audit.Verb.SIGNED_OUT, audit.USER, user.pk)
        return super().post(request, *args, **kwargs)


def _password_given(request: HttpRequest) -> HttpResponse | None:
    """The way back for a request that has not passed step 1, or on past step 2."""
    if not request.user.is_authenticated:
        return redirect_to_login(_next_url(request))
    if is_verified(request.user):
        return redirect(_next_url(request))
    return None


def _verified(request: HttpRequest, device: Any, factor: str) -> None:
    otp_login(request, device)
    request.session.cycle_key()  # a new session id once both factors are given
    request.session[SIGNED_IN_AT] = timezone.now().timestamp()
    request.session.pop("code_failures", None)
    audit.record(request.user, audit.Verb.SIGNED_IN, audit.USER, request.user.pk, factor=factor)


def _code_failed(request: HttpRequest) -> HttpResponse | None:
    """Count a wrong code; after `MAX_CODE_FAILURES` the session ends (back to step 1)."""
    user = request.user
    failures = int(request.session.get("code_failures", 0)) + 1
    request.session["code_failures"] = failures
    audit.record(user, audit.Verb.SECOND_FACTOR_FAILED, audit.USER, user.pk, failures=failures)
    if failures < MAX_CODE_FAILURES:
        return None
    audit.record(user, audit.Verb.SIGNED_OUT, audit.USER, user.pk, reason="too_many_wrong_codes")
    logout(request)
    messages.error(request, "Too many wrong codes. Sign in again.")
    return redirect("login")


@never_cache
@require_http_methods(["GET", "POST"])
def verify(request: HttpRequest) -> HttpResponse:
    """Step 2: a code from the authenticator app, or a recovery code."""
    back = _password_given(request)
    if back is not None:
        return back
    user = request.user
    if not users.has_second_factor(user):
        return redirect(second_factor_url(user, _next_url(request)))
    error = ""
    if request.method == "POST":
        found = users.verify_second_factor(user, request.POST.get("code", "")[:64])  # type: ignore[arg-type]
        if found is not None:
            device, factor = found
            _verified(request, device, factor)
            if factor == "recovery_code":
                left = users.recovery_codes_left(user)
                messages.warning(
                    request,
                    f"You signed in with a recovery code. {left} left: make new ones "
                    "on your account page if you are running out.",
                )
            return redirect(_next_url(request))
        ended = _code_failed(request)
        if ended is not None:
            return ended
        error = (
            "The code is not right. Enter the 6-digit code your authenticator app shows now "
            "(after a wrong code, wait a few seconds), or one of your recovery codes."
        )
    context = {"error": error, "next": _next_url(request)}
    return no_store(render(request, "intake/signin/verify.html", context))


@never_cache
@require_http_methods(["GET", "POST"])
def set_up(request: HttpRequest) -> HttpResponse:
    """Step 2 the first time: set up an authenticator app with a QR code."""
    back = _password_given(request)
    if back is not None:
        return back
    user = request.user
    if users.has_second_factor(user):
        return redirect(second_factor_url(user, _next_url(request)))
    error = ""
    if request.method == "POST":
        codes = users.confirm_enrolment(user, request.POST.get("code", "")[:64])  # type: ignore[arg-type]
        if codes is not None:
            device = user.totpdevice_set.get(confirmed=True)  # type: ignore[union-attr]
            _verified(request, device, "authenticator")
            request.session[NEW_CODES] = codes
            return redirect(
                reverse("recovery_codes") + "?" + urlencode({"next": _next_url(request)})
            )
        ended = _code_failed(request)
        if ended is not None:
            return ended
        error = "The code is not right. Enter the 6-digit code the app shows for this service now."
    device = users.start_enrolment(user)  # type: ignore[arg-type]
    context = {
        "error": error,
        "next": _next_url(request),
        "qr_code": qr_svg(device.config_url),
        "secret": _grouped(device.config_url),
        "issuer": settings.OTP_TOTP_ISSUER,
    }
    return no_store(render(request, "intake/signin/set_up.html", context))


def qr_svg(data: str) -> SafeString:
    """``data`` as an inline SVG QR code (drawn here: no script, no image request).

    qrcode is imported here, not with the module: it brings Pillow and lxml, which
    every process that starts Django would hold (the worker's main process too,
    about 10 MB) for a page only a new user's first sign-in shows (issue 10)."""
    import qrcode
    import qrcode.image.svg

    image = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathImage, box_size=10)
    svg = image.to_string(encoding="unicode")
    svg = svg.replace("<svg ", '<svg role="img" aria-labelledby="qr-title" class="qr-code" ', 1)
    title = format_html('<title id="qr-title">{}</title>', "QR code to scan with the app")
    return SafeString(mark_safe(svg.replace(">", ">" + title, 1)))  # qrcode's markup, our title


def _grouped(config_url: str) -> str:
    secret = config_url.split("secret=", 1)[1].split("&", 1)[0]
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


@never_cache
def recovery_codes(request: HttpRequest) -> HttpResponse:
    """The recovery codes just made, shown this once."""
    if not is_verified(request.user):
        return redirect_to_login(request.get_full_path())
    codes = request.session.pop(NEW_CODES, None)
    if not codes:
        return redirect("account")
    context = {"codes": codes, "next": _next_url(request), "renewed": "renewed" in request.GET}
    return no_store(render(request, "intake/signin/recovery_codes.html", context))


# --- django-axes and the auth signals --------------------------------------------------------


def client_str(username: Any, ip_address: Any, user_agent: Any, path: Any, request: Any) -> str:
    """What django-axes writes in its log lines: nothing about who (ids only in logs)."""
    return "a client"


def locked_out(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    """django-axes' answer to a locked-out account: the sign-in page, saying so (429)."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    context = {"locked_out": True, "minutes": minutes, "form": None}
    return no_store(render(request, "intake/signin/password.html", context, status=429))


def _account(credentials: Any) -> str:
    name = credentials.get("username") if isinstance(credentials, dict) else None
    return str(name or "")[:150]


def _user_id(account: str) -> int | str:
    from django.contrib.auth.models import User

    found = User.objects.filter(username=account).values_list("pk", flat=True).first()
    return found if found is not None else ""


def on_sign_in_failed(sender: Any, credentials: Any = None, request: Any = None, **_: Any) -> None:
    account = _account(credentials)
    audit.record(None, audit.Verb.SIGN_IN_FAILED, audit.USER, _user_id(account), account=account)


def on_locked_out(sender: Any, request: Any = None, username: Any = None, **_: Any) -> None:
    account = str(username or "")[:150]
    audit.record(
        None, audit.Verb.ACCOUNT_LOCKED_OUT, audit.USER, _user_id(account), account=account
    )


def on_signed_in(sender: Any, request: Any = None, user: Any = None, **_: Any) -> None:
    if request is not None and hasattr(request, "session"):
        request.session[SIGNED_IN_AT] = timezone.now().timestamp()


def connect_signals() -> None:
    """Called once from `intake.apps.IntakeConfig.ready`."""
    from axes.signals import user_locked_out

    user_login_failed.connect(on_sign_in_failed, dispatch_uid="intake_sign_in_failed")
    user_locked_out.connect(on_locked_out, dispatch_uid="intake_locked_out")
    user_logged_in.connect(on_signed_in, dispatch_uid="intake_signed_in_at")
