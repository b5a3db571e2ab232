"""Administrators' pages (issue 12): the people who may sign in, and the audit trail.

People: add someone (a temporary password shown once), change a role, reset a
password or a second factor, unlock an account, deactivate or reactivate (nobody is
deleted).  Each is `intake.users`' service, audited.  A team member gets 403 here.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.models import User
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from intake import audit, users
from intake.models import AuditEvent
from intake.web import case, display
from intake.web.permissions import admin_required, reviewer

ONE_TIME = "one_time_password"


@require_GET
@admin_required
def people_page(request: HttpRequest) -> HttpResponse:
    audit.record(request.user, audit.Verb.VIEWED, audit.PEOPLE, 0)
    context = {"people": users.people(), "roles": users.ROLES, "labels": users.ROLE_LABELS}
    return render(request, "intake/people.html", context)


@require_POST
@admin_required
def add_person(request: HttpRequest) -> HttpResponse:
    name = request.POST.get("username", "").strip()
    role = request.POST.get("role", "team")
    password = users.temporary_password()
    try:
        person = users.create_user(name, password, role, by=reviewer(request))
    except users.UserError as exc:
        messages.error(request, str(exc).capitalize() + ".")
        return redirect("people")
    request.session[ONE_TIME] = {"user": person.pk, "password": password}
    return redirect("person", person.pk)


@require_GET
@admin_required
def person_page(request: HttpRequest, user_id: int) -> HttpResponse:
    person = get_object_or_404(User, pk=user_id)
    audit.record(request.user, audit.Verb.VIEWED, audit.USER, person.pk)
    one_time = request.session.pop(ONE_TIME, None)
    shown = one_time["password"] if one_time and one_time.get("user") == person.pk else ""
    row = next(p for p in users.people() if p.user.pk == person.pk)
    events = AuditEvent.objects.filter(
        Q(object_type=audit.USER, object_id=str(person.pk)) | Q(actor=person)
    ).select_related("actor")
    recent = list(events.order_by("-at", "-pk")[:30])
    context: dict[str, Any] = {
        "person": row,
        "one_time_password": shown,
        "roles": [(r, users.ROLE_LABELS[r]) for r in users.ROLES],
        "trail": case.trail_rows(recent),
        "trail_order": "newest first",
        "is_self": person.pk == request.user.pk,
    }
    return render(request, "intake/person.html", context)


@require_POST
@admin_required
def change_person(request: HttpRequest, user_id: int) -> HttpResponse:
    """One change to one person: ``action`` role | reset_password | reset_second_factor |
    unlock | deactivate | activate."""
    person = get_object_or_404(User, pk=user_id)
    by = reviewer(request)
    action = request.POST.get("action", "")
    try:
        said = _change(request, person, by, action)
    except users.UserError as exc:
        messages.error(request, str(exc).capitalize() + ".")
        return redirect("person", person.pk)
    if said:
        messages.success(request, said)
    return redirect("person", person.pk)


def _change(request: HttpRequest, person: User, by: User, action: str) -> str:
    name = person.get_username()
    if action == "role":
        role = request.POST.get("role", "")
        changed = users.set_role(person, role, by=by)
        label = users.ROLE_LABELS.get(role, role).lower()
        return f"{name} is now a {label}." if changed else f"{name} was a {label} already."
    if action == "reset_password":
        password = users.temporary_password()
        users.set_password(person, password, by=by)
        request.session[ONE_TIME] = {"user": person.pk, "password": password}
        return f"{name}'s password is reset: give them the new one below."
    if action == "reset_second_factor":
        users.reset_second_factor(person, by=by)
        return f"{name} will set up an authenticator app again at their next sign-in."
    if action == "unlock":
        users.unlock(person, by=by)
        return f"{name} can try to sign in again."
    if action in ("deactivate", "activate"):
        users.set_active(person, action == "activate", by=by)
        return f"{name} can {'now' if action == 'activate' else 'no longer'} sign in."
    raise users.UserError("choose one of the changes offered")


@require_GET
@admin_required
def audit_page(request: HttpRequest) -> HttpResponse:
    """``/audit/?who=&what=&record=``: every event, newest first, filtered by codes."""
    events = AuditEvent.objects.select_related("actor").order_by("-at", "-pk")
    who = request.GET.get("who", "")
    what = request.GET.get("what", "")
    record = request.GET.get("record", "")
    if who.isdigit():
        events = events.filter(actor_id=int(who))
    elif who == "service":
        events = events.filter(actor__isnull=True)
    if what in display.VERB_LABELS:
        events = events.filter(verb=what)
    if record in display.RECORD_LABELS:
        events = events.filter(object_type=record)
    page = Paginator(events, 100).get_page(request.GET.get("page"))
    audit.record(request.user, audit.Verb.VIEWED, audit.AUDIT, 0, who=who, what=what, record=record)
    context = {
        "page": page,
        "trail": case.trail_rows(page.object_list),
        "trail_order": "newest first",
        "people": User.objects.order_by("username"),
        "verbs": sorted(display.VERB_LABELS.items(), key=lambda kv: kv[1]),
        "records": sorted(display.RECORD_LABELS.items(), key=lambda kv: kv[1]),
        "who": who,
        "what": what,
        "record": record,
        "query": request.GET.urlencode().replace("page=", "_page="),
    }
    return render(request, "intake/audit.html", context)
