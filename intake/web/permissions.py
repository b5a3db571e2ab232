"""Who may see the review pages, and the headers every page of case data carries.

Only people with a role get in: members of the team group (what ``intake
createuser`` gives every user, see `intake.users`), of an ``admin`` group if
an administrator made one, and superusers.  Anyone else who signs in gets
403; anyone not signed in is sent to the login page.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

import structlog
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import add_never_cache_headers

from intake.users import TEAM_GROUP

log = structlog.get_logger(__name__)

REVIEW_GROUPS = (TEAM_GROUP, "admin")

View = Callable[..., HttpResponse]


def may_review(user: Any) -> bool:
    """True for an active, signed-in user with a role (see the module docstring)."""
    if not (user.is_authenticated and user.is_active):
        return False
    if user.is_superuser:
        return True
    return bool(user.groups.filter(name__in=REVIEW_GROUPS).exists())


# Our pages load only our own stylesheet and run no script; mail shown in them
# is escaped text, and this says so to the browser as well (defence in depth).
PAGE_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)


def no_store(response: HttpResponse) -> HttpResponse:
    """Forbid any cache (the browser's included) from keeping the page: it shows case data.

    RFC 9111 §5.2.2.5: ``no-store`` means no cache may store any part of it.
    A response without its own Content-Security-Policy gets `PAGE_POLICY`.
    """
    add_never_cache_headers(response)  # max-age=0, no-cache, no-store, must-revalidate, private
    response.headers.setdefault("Content-Security-Policy", PAGE_POLICY)
    return response


def reviewer_required(view: View) -> View:
    """Wrap ``view``: login required, a role required (else 403), and never cached."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not may_review(request.user):
            log.warning("review_forbidden", user_id=request.user.pk, path_name=_path_name(request))
            return no_store(render(request, "intake/forbidden.html", status=403))
        return no_store(view(request, *args, **kwargs))

    return login_required(wrapped)


def _path_name(request: HttpRequest) -> str:
    match = request.resolver_match
    return match.url_name or "" if match is not None else ""


def reviewer(request: HttpRequest) -> User:
    """The signed-in user of a request that `reviewer_required` let through."""
    user = request.user
    if not isinstance(user, User):  # never: the decorator sent anonymous users away
        raise PermissionDenied
    return user
