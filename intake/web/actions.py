"""What the team does on a case or message page: each a POST (CSRF-checked by the
middleware) handed to its service in `intake.casework` (the compare-and-set, the rules
and the audit are there), then a redirect back, so a reload never repeats it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from intake import casework
from intake.models import CaseStep, InboundMessage, Referral
from intake.web.display import outcome_label, status_label, step_label
from intake.web.permissions import may_review, reviewer, reviewer_required


def _done(request: HttpRequest, work: Callable[[], object], success: str) -> bool:
    """Run ``work``; flash ``success``, or the service's own words when it refused."""
    try:
        work()
    except casework.CaseworkError as exc:
        messages.error(request, str(exc))
        return False
    messages.success(request, success)
    return True


def _expected_id(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


@require_POST
@reviewer_required
def assign(request: HttpRequest, reference: str) -> HttpResponse:
    """Assign the case to a team member (``to``: a user id, ``me``, or "" to unassign)."""
    referral = get_object_or_404(Referral, reference=reference)
    wanted = request.POST.get("to", "")
    if wanted == "me" or request.POST.get("action") == "assign_me":
        to: User | None = reviewer(request)
    elif wanted.isdigit():
        to = User.objects.filter(pk=int(wanted), is_active=True).first()
        if to is None or not may_review(to):
            messages.error(request, "Choose someone in the team.")
            return redirect("case", reference)
    else:
        to = None
    expected = _expected_id(request.POST.get("expected_assignee"))
    name = "you" if to == request.user else (to.get_username() if to else "")
    success = f"Assigned to {name}." if to else "The case is unassigned."
    _done(request, lambda: casework.assign(referral, expected, to, reviewer(request)), success)
    return redirect("case", reference)


@require_POST
@reviewer_required
def change_status(request: HttpRequest, reference: str) -> HttpResponse:
    """Move the case to another status (only from the one the page showed)."""
    referral = get_object_or_404(Referral, reference=reference)
    old, new = request.POST.get("current", ""), request.POST.get("status", "")
    if new not in Referral.Status.values or old not in Referral.Status.values:
        messages.error(request, "Choose one of the statuses listed.")
        return redirect("case", reference)
    if old == new:
        messages.info(request, "The status is unchanged.")
        return redirect("case", reference)
    work = lambda: casework.change_status(referral, old, new, reviewer(request))  # noqa: E731
    _done(request, work, f"Status changed to {status_label(new).lower()}.")
    return redirect("case", reference)


@require_POST
@reviewer_required
def close(request: HttpRequest, reference: str) -> HttpResponse:
    referral = get_object_or_404(Referral, reference=reference)
    current = request.POST.get("current", "")
    work = lambda: casework.close(referral, current, reviewer(request))  # noqa: E731
    _done(request, work, f"Case {reference} is closed.")
    return redirect("case", reference)


@require_POST
@reviewer_required
def add_note(request: HttpRequest, reference: str) -> HttpResponse:
    """Add a decision note to the case (the note's text never goes into the audit)."""
    referral = get_object_or_404(Referral, reference=reference)
    text = request.POST.get("text", "")
    _done(request, lambda: casework.add_note(referral, text, reviewer(request)), "Note added.")
    return redirect("case", reference)


@require_POST
@reviewer_required
def correct(request: HttpRequest, reference: str, key: str) -> HttpResponse:
    """Put one answer right; the page sent the answer it showed (``expected``)."""
    referral = get_object_or_404(Referral, reference=reference)
    import json

    try:
        expected = json.loads(request.POST.get("expected", "null"))
    except ValueError:
        expected = object()  # never equal: reported as changed meanwhile
    given = request.POST.getlist("value")
    reason = request.POST.get("reason", "")

    def work() -> object:
        return casework.correct_answer(referral, key, expected, given, reason, reviewer(request))

    if _done(request, work, "Answer corrected. The form's answer is kept and shown."):
        return redirect(f"/cases/{reference}/#answer-{key}")
    return redirect("case_correct", reference, key)


@require_POST
@reviewer_required
def record_step(request: HttpRequest, reference: str) -> HttpResponse:
    """Record one of the partnership's steps with its date (day, month, year fields)."""
    referral = get_object_or_404(Referral, reference=reference)
    kind = request.POST.get("kind", "")
    outcome = request.POST.get("outcome", "")
    try:
        on = date(
            int(request.POST.get("on-year", "")),
            int(request.POST.get("on-month", "")),
            int(request.POST.get("on-day", "")),
        )
    except ValueError:
        messages.error(request, "Enter the date as a real day, month and year.")
        return redirect(f"/cases/{reference}/#steps")
    label = outcome_label(outcome) if kind == CaseStep.Kind.OUTCOME else ""
    success = f"{step_label(kind)} recorded: {on.day} {on:%B %Y}" + (
        f" ({label})." if label else "."
    )
    work = lambda: casework.record_step(referral, kind, on, reviewer(request), outcome)  # noqa: E731
    _done(request, work, success)
    return redirect(f"/cases/{reference}/#steps")


# --- a message ----------------------------------------------------------------------------


@require_POST
@reviewer_required
def mark_reviewed(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark a message reviewed, with an optional note: it leaves the queue.  Once only."""
    message = get_object_or_404(InboundMessage, pk=pk)
    note = request.POST.get("note", "")
    work = lambda: casework.mark_reviewed(message, reviewer(request), note)  # noqa: E731
    _done(request, work, f"Message {message.pk} marked reviewed.")
    return redirect("message", pk)


@require_POST
@reviewer_required
def not_a_referral(request: HttpRequest, pk: int) -> HttpResponse:
    message = get_object_or_404(InboundMessage, pk=pk)
    note = request.POST.get("note", "")
    work = lambda: casework.mark_not_a_referral(message, reviewer(request), note)  # noqa: E731
    _done(request, work, f"Message {message.pk} marked not a referral. It has left the queue.")
    return redirect("message", pk)


@require_POST
@reviewer_required
def resume(request: HttpRequest, pk: int) -> HttpResponse:
    """Try a parked message again (`casework.resume`): the next poll takes it."""
    message = get_object_or_404(InboundMessage, pk=pk)
    work = lambda: casework.resume(message, reviewer(request))  # noqa: E731
    _done(request, work, f"Message {message.pk} will be tried again at the next poll.")
    return redirect("message", pk)


@require_POST
@reviewer_required
def make_case(request: HttpRequest, pk: int) -> HttpResponse:
    message = get_object_or_404(InboundMessage, pk=pk)
    form_type = request.POST.get("form_type", "")
    try:
        referral = casework.make_case(message, form_type, reviewer(request))
    except casework.CaseworkError as exc:
        messages.error(request, str(exc))
        return redirect("message", pk)
    messages.success(
        request,
        f"Case {referral.reference} made from message {message.pk} and assigned to you. "
        "Put right any missing answers below.",
    )
    return redirect("case", referral.reference)


@require_POST
@reviewer_required
def send_return(request: HttpRequest, pk: int) -> HttpResponse:
    message = get_object_or_404(InboundMessage, pk=pk)
    subject = request.POST.get("subject", "")
    text = request.POST.get("text", "")

    def work() -> object:
        return casework.send_return(message, subject, text, reviewer(request), settings.INTAKE)

    if _done(request, work, "The return is queued and will be sent once."):
        return redirect("message", pk)
    return redirect("message_return", pk)
