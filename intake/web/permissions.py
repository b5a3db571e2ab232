"""Who may see the review pages, and the headers every page of case data carries.

Nobody gets in without three things (issue 12): a password, a second factor in this
session (`django_otp`: an authenticator code or a recovery code) and a role
(`intake.users.role_of`: ``team`` or ``admin``).  Anyone not signed in is sent to
the sign-in page; someone who gave only a password, to the second step; someone
without a role gets 403.  Administrators' pages (people, the audit trail, wordings)
need the ``admin`` role: a team member gets 403 there.

The Content-Security-Policy is django-csp's, the same on every page
(``CONTENT_SECURITY_POLICY`` in the settings).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

import structlog
from django.contrib.auth.models import User
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers

from intake.users import has_second_factor, role_of

log = structlog.get_logger(__name__)

View = Callable[..., HttpResponse]


def may_review(user: Any) -> bool:
    """True for an active, signed-in user with a role (see the module docstring)."""
    return role_of(user) in ("team", "admin")


def is_admin(user: Any) -> bool:
    return role_of(user) == "admin"


def is_verified(user: Any) -> bool:
    """True when this session's sign-in included the second factor."""
    check = getattr(user, "is_verified", None)
    return bool(user.is_authenticated and check is not None and check())


def no_store(response: HttpResponse) -> HttpResponse:
    """Forbid any cache (the browser's included) from keeping the page: it shows case data.

    RFC 9111 §5.2.2.5: ``no-store`` means no cache may store any part of it.
    """
    add_never_cache_headers(response)  # max-age=0, no-cache, no-store, must-revalidate, private
    return response


def second_factor_url(user: Any, next_url: str) -> str:
    """Where someone who gave only a password goes next: set up or give the second factor."""
    name = "signin_verify" if has_second_factor(user) else "signin_setup"
    return reverse(name) + "?" + urlencode({"next": next_url})


def _gate(request: HttpRequest, allowed: Callable[[Any], bool]) -> HttpResponse | None:
    """The refusal for this request, or None when it may go on."""
    user = request.user
    if not user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not is_verified(user):
        return redirect(second_factor_url(user, request.get_full_path()))
    if not allowed(user):
        log.warning("review_forbidden", user_id=user.pk, path_name=_path_name(request))
        return render(request, "intake/forbidden.html", status=403)
    return None


def reviewer_required(view: View) -> View:
    """Wrap ``view``: password, second factor and a role required; never cached."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        refusal = _gate(request, may_review)
        return no_store(refusal or view(request, *args, **kwargs))

    return wrapped


def admin_required(view: View) -> View:
    """As `reviewer_required`, and the administrator role on top (else 403)."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        refusal = _gate(request, is_admin)
        return no_store(refusal or view(request, *args, **kwargs))

    return wrapped


def _path_name(request: HttpRequest) -> str:
    match = request.resolver_match
    return match.url_name or "" if match is not None else ""


def reviewer(request: HttpRequest) -> User:
    """The signed-in user of a request that `reviewer_required` let through."""
    user = request.user
    if not isinstance(user, User):  # never: the decorator sent anonymous users away
        raise PermissionDenied
    return user
