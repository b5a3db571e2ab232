"""Sessions that end: after ``[web] session_idle_minutes`` without a request (the
cookie's age, renewed on every request: ``SESSION_SAVE_EVERY_REQUEST``), and in any
case ``SESSION_MAX_SECONDS`` after signing in (a working day), whatever the activity."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from intake import audit

SIGNED_IN_AT = "signed_in_at"


def session_limits(
    get_response: Callable[[HttpRequest], HttpResponse],
) -> Callable[..., HttpResponse]:
    def middleware(request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            started = request.session.get(SIGNED_IN_AT)
            now = timezone.now().timestamp()
            if started is None:
                request.session[SIGNED_IN_AT] = now
            elif now - float(started) > settings.SESSION_MAX_SECONDS:
                audit.record(
                    user, audit.Verb.SIGNED_OUT, audit.USER, user.pk, reason="session_too_long"
                )
                logout(request)
                return redirect_to_login(request.get_full_path())
        return get_response(request)

    return middleware
