"""``/account/``: your own account: role, second factor, recovery codes, password."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.forms import PasswordChangeForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from intake import audit, users
from intake.web.permissions import reviewer, reviewer_required
from intake.web.signin import NEW_CODES


@require_http_methods(["GET"])
@reviewer_required
def account_page(request: HttpRequest) -> HttpResponse:
    user = reviewer(request)
    audit.record(user, audit.Verb.VIEWED, audit.USER, user.pk)
    context: dict[str, Any] = {
        "role_label": users.ROLE_LABELS[users.role_of(user)],
        "codes_left": users.recovery_codes_left(user),
        "password_form": PasswordChangeForm(user),
    }
    return render(request, "intake/account.html", context)


@require_POST
@reviewer_required
def renew_recovery_codes(request: HttpRequest) -> HttpResponse:
    request.session[NEW_CODES] = users.new_recovery_codes(reviewer(request))
    return redirect(reverse("recovery_codes") + "?renewed=1")


@require_POST
@reviewer_required
def change_password(request: HttpRequest) -> HttpResponse:
    user = reviewer(request)
    form = PasswordChangeForm(user, request.POST)
    if not form.is_valid():
        context = {
            "role_label": users.ROLE_LABELS[users.role_of(user)],
            "codes_left": users.recovery_codes_left(user),
            "password_form": form,
        }
        return render(request, "intake/account.html", context, status=400)
    form.save()
    update_session_auth_hash(request, form.user)  # this session stays; the others end
    audit.record(user, audit.Verb.PASSWORD_CHANGED, audit.USER, user.pk)
    messages.success(request, "Your password is changed.")
    return redirect("account")
