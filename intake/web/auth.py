"""Signing in and out of the review pages, recorded by user id (never the name typed)."""

from __future__ import annotations

from typing import Any

import structlog
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse

from intake.web import audit

log = structlog.get_logger(__name__)
USER = "user"


class SignInView(auth_views.LoginView):
    """Django's login, on our page, audited.  A signed-in user is sent on to the queue."""

    template_name = "intake/login.html"
    redirect_authenticated_user = True

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        user = form.get_user()
        audit.record(user, "signed_in", USER, user.pk)
        return response

    def form_invalid(self, form: Any) -> HttpResponse:
        log.warning("sign_in_failed")  # the username typed may be anyone's: not logged
        return super().form_invalid(form)


class SignOutView(auth_views.LogoutView):
    """Django's logout (POST only), audited."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = request.user
        if user.is_authenticated:
            audit.record(user, "signed_out", USER, user.pk)
        return super().post(request, *args, **kwargs)
