"""Django's admin behind the same sign-in as every page (issue 12).

The admin site requires a session verified with the second factor
(`django_otp.admin.OTPAdminSite`) and its own login page is replaced by this view:
signing in to the admin is the review pages' audited, two-step sign-in.  A signed-in
person without the administrator role (a team member) gets 403, never the admin.
"""

from __future__ import annotations

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme

from intake import audit
from intake.web.permissions import is_verified, no_store, second_factor_url


def admin_login(request: HttpRequest) -> HttpResponse:
    """Where the admin sends anyone it will not let in."""
    wanted = request.GET.get("next", "")
    if not url_has_allowed_host_and_scheme(wanted, allowed_hosts={request.get_host()}):
        wanted = "/admin/"
    user = request.user
    if not user.is_authenticated:
        return redirect_to_login(wanted)
    if not is_verified(user):
        return redirect(second_factor_url(user, wanted))
    audit.record(user, audit.Verb.ADMIN_REFUSED, audit.USER, user.pk)
    return no_store(render(request, "intake/forbidden.html", {"admin": True}, status=403))
