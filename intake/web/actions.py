"""What the team does on a case or message page: each a POST (CSRF-checked by the
middleware), a compare-and-set, an `AuditEvent`, then a redirect back (so a reload
never repeats it)."""

from __future__ import annotations

from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.views.decorators.http import require_POST

from intake.models import CaseNote, InboundMessage, MessageReview, Referral
from intake.web import audit
from intake.web.display import status_label
from intake.web.forms import AssignForm, NoteForm, ReviewForm, StatusForm
from intake.web.permissions import reviewer, reviewer_required

CHANGED_MEANWHILE = "Someone else changed this case while you were looking. Check and try again."


def _set_if_unchanged(
    request: HttpRequest,
    referral: Referral,
    *,
    field: str,
    expected: object,
    new: object,
    verb: str,
    detail: dict[str, object],
    success: str,
) -> bool:
    """Set ``referral.<field>`` to ``new`` only if it still holds ``expected``.

    The compare-and-set, its `AuditEvent` (``verb`` with ``detail``) and the bump of
    ``updated`` happen in one transaction; the audit is written only when the row
    changed.  Then flashes ``success``, or `CHANGED_MEANWHILE` when someone else got
    there first.  Returns whether the row changed.
    """
    # A filtered UPDATE, not read-then-save: two reviewers acting on the same page
    # must not both succeed, and the loser must be told.
    with transaction.atomic():
        changed = Referral.objects.filter(pk=referral.pk, **{field: expected}).update(
            **{field: new}, updated=timezone.now()
        )
        if changed:
            audit.record(request.user, verb, audit.REFERRAL, referral.pk, **detail)
    if changed:
        messages.success(request, success)
    else:
        messages.error(request, CHANGED_MEANWHILE)
    return bool(changed)


@require_POST
@reviewer_required
def assign(request: HttpRequest, reference: str) -> HttpResponse:
    """Assign the case to the signed-in user, or unassign it."""
    referral = get_object_or_404(Referral, reference=reference)
    form = AssignForm(request.POST)
    if not form.is_valid():
        messages.error(request, "That assignment could not be made.")
        return redirect("case", reference)
    new = request.user.pk if form.cleaned_data["action"] == "assign_me" else None
    expected = form.cleaned_data["expected_assignee"]
    _set_if_unchanged(
        request,
        referral,
        field="assignee_id",
        expected=expected,
        new=new,
        verb="assigned" if new else "unassigned",
        detail={"previous": expected, "to": new},
        success="Assigned to you." if new else "The case is unassigned.",
    )
    return redirect("case", reference)


@require_POST
@reviewer_required
def change_status(request: HttpRequest, reference: str) -> HttpResponse:
    """Move the case to another status (only from the one the page showed)."""
    referral = get_object_or_404(Referral, reference=reference)
    form = StatusForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose one of the statuses listed.")
        return redirect("case", reference)
    old, new = form.cleaned_data["current"], form.cleaned_data["status"]
    if old == new:
        messages.info(request, "The status is unchanged.")
        return redirect("case", reference)
    _set_if_unchanged(
        request,
        referral,
        field="status",
        expected=old,
        new=new,
        verb="status_changed",
        detail={"old": old, "new": new},
        success=f"Status changed to {status_label(new)}.",
    )
    return redirect("case", reference)


@require_POST
@reviewer_required
def add_note(request: HttpRequest, reference: str) -> HttpResponse:
    """Add a decision note to the case (the note's text never goes into the audit)."""
    referral = get_object_or_404(Referral, reference=reference)
    form = NoteForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Write a note first (at most 5,000 characters).")
        return redirect("case", reference)
    with transaction.atomic():
        note = CaseNote.objects.create(
            referral=referral, author=reviewer(request), text=form.cleaned_data["text"]
        )
        audit.record(request.user, "note_added", audit.REFERRAL, referral.pk, note=note.pk)
    messages.success(request, "Note added.")
    return redirect("case", reference)


@require_POST
@reviewer_required
def mark_reviewed(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark a message reviewed, with an optional note: it leaves the queue.  Once only."""
    message = get_object_or_404(InboundMessage, pk=pk)
    form = ReviewForm(request.POST)
    if not form.is_valid():
        messages.error(request, "The note is too long (at most 5,000 characters).")
        return redirect("message", pk)
    with transaction.atomic():
        review, created = MessageReview.objects.get_or_create(
            message=message,
            defaults={"reviewed_by": reviewer(request), "note": form.cleaned_data["note"]},
        )
        if created:
            audit.record(
                request.user, "message_reviewed", audit.MESSAGE, message.pk, review=review.pk
            )
    if created:
        messages.success(request, f"Message {message.pk} marked reviewed.")
    else:
        messages.info(request, "This message had already been marked reviewed.")
    return redirect("message", pk)
