"""Teaching the reader on the review pages (issue 7): what the reader found on a held
message's form, placing a question it could not place, the administrators' list of
wordings to confirm, and reading a message again.  The work is `intake.learning`'s;
these views only collect, check the role, and redirect (a reload repeats nothing)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from intake import audit, learning
from intake.models import InboundMessage, LearnedWording, ReadAgain
from intake.web import display
from intake.web.permissions import admin_required, is_admin, reviewer, reviewer_required

# --- what the reader found ------------------------------------------------------------------


@dataclass
class Evidence:
    """A stored decision's evidence, in the team's words."""

    confidence: int  # percent
    sure: bool
    doubts: list[str]
    blank: list[str]  # questions as printed
    not_found: list[str]
    unclear: list[str]
    unplaced: list[dict[str, str]]


def evidence_view(assessment: Mapping[str, Any]) -> Evidence | None:
    """The evidence of a stored assessment, or None when it read no form."""
    evidence = assessment.get("evidence") or {}
    form_type = assessment.get("form_type")
    if not evidence or not form_type:
        return None
    ask = display.question_of(str(form_type))
    return Evidence(
        confidence=round(100 * float(evidence.get("confidence") or 0)),
        sure=bool(evidence.get("sure")),
        doubts=[str(d) for d in evidence.get("doubts") or []],
        blank=[ask(k) for k in evidence.get("located_blank") or []],
        not_found=[ask(k) for k in evidence.get("not_located") or []],
        unclear=[ask(k) for k in evidence.get("unclear") or []],
        unplaced=[dict(u) for u in evidence.get("unplaced") or []],
    )


def _in_words(diff: learning.Difference, form_type: str) -> learning.Difference:
    """The difference with decisions and questions named as the team names them."""
    ask = display.question_of(form_type) if form_type else str
    return learning.Difference(
        decision=(
            display.decision_label(diff.decision[0]),
            display.decision_label(diff.decision[1]),
        ),
        form_type=diff.form_type,
        gained=[ask(k) for k in diff.gained],
        lost=[ask(k) for k in diff.lost],
        changed=[ask(k) for k in diff.changed],
        placed=diff.placed,
    )


class PlaceForm(forms.Form):
    question = forms.CharField(max_length=300, widget=forms.HiddenInput)
    field_key = forms.CharField(max_length=64, label="This question is")


def learning_context(message: InboundMessage, user: Any) -> dict[str, Any]:
    """What the message page adds: the evidence, where to place unplaced questions,
    and the last reading again with its difference."""
    assessment = message.assessment or {}
    form_type = str(assessment.get("form_type") or "")
    latest = message.rereads.order_by("-requested_at", "-pk").first()
    diff = None
    if latest is not None and latest.state == ReadAgain.State.DONE and latest.outcome:
        diff = _in_words(learning.difference(assessment, latest.outcome), form_type)
    return {
        "evidence": evidence_view(assessment),
        "field_choices": display.field_choices(form_type) if form_type else [],
        "form_type": form_type,
        "read_again": latest,
        "read_again_diff": diff,
        "question_of": display.question_of(form_type) if form_type else str,
        "can_decide_wordings": is_admin(user),
    }


@require_POST
@reviewer_required
def place_question(request: HttpRequest, pk: int) -> HttpResponse:
    """A team member places an unplaced question on a field: proposed for an admin."""
    message = get_object_or_404(InboundMessage, pk=pk)
    assessment = message.assessment or {}
    form_type = str(assessment.get("form_type") or "")
    form = PlaceForm(request.POST)
    questions = {u.get("question") for u in learning.unplaced_questions(assessment)}
    if not form.is_valid() or form.cleaned_data["question"] not in questions:
        messages.error(request, "Choose a question from the list and the question it is.")
        return redirect("message", pk)
    try:
        learning.propose(
            reviewer(request),
            message,
            form.cleaned_data["question"],
            form_type,
            form.cleaned_data["field_key"],
            display.schemas(),
        )
    except learning.LearningError as exc:
        messages.error(request, str(exc))
        return redirect("message", pk)
    messages.success(
        request,
        "Thank you: an administrator will be asked to confirm this wording. Once confirmed, "
        "the reader will know it from the next form on.",
    )
    return redirect("message", pk)


@require_POST
@reviewer_required
def read_again(request: HttpRequest, pk: int) -> HttpResponse:
    message = get_object_or_404(InboundMessage, pk=pk)
    learning.request_read_again(reviewer(request), message)
    messages.success(
        request,
        "The message will be read again by the worker within a minute; this page shows "
        "what changed. Its decision and its case stay as they are.",
    )
    return redirect("message", pk)


# --- the administrators' list -------------------------------------------------------------------


@require_GET
@admin_required
def wordings_page(request: HttpRequest) -> HttpResponse:
    """``/wordings/``: wordings waiting for an administrator, and those in use."""
    audit.record(request.user, audit.Verb.VIEWED, "learned_wordings", 0)
    rows = LearnedWording.objects.select_related("proposed_by", "decided_by").order_by(
        "-proposed_at", "-pk"
    )
    waiting = [_row(w) for w in rows if w.status == LearnedWording.Status.PROPOSED]
    decided = [_row(w) for w in rows if w.status != LearnedWording.Status.PROPOSED]
    context = {"waiting": waiting, "decided": decided, "version": learning.current_version()}
    return render(request, "intake/wordings.html", context)


def _row(wording: LearnedWording) -> dict[str, Any]:
    return {
        "wording": wording,
        "form": display.short_form_name(wording.form_type),
        "question": display.question_of(wording.form_type)(wording.field_key),
        "status": wording.get_status_display(),
    }


class DecideForm(forms.Form):
    action = forms.ChoiceField(
        choices=[("confirm", "Confirm"), ("reject", "Reject"), ("retire", "Retire")]
    )


@require_POST
@admin_required
def decide_wording(request: HttpRequest, wording_id: int) -> HttpResponse:
    form = DecideForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose confirm, reject or retire.")
        return redirect("wordings")
    act = {"confirm": learning.confirm, "reject": learning.reject, "retire": learning.retire}
    try:
        wording = act[form.cleaned_data["action"]](reviewer(request), wording_id)
    except learning.LearningError as exc:
        messages.error(request, str(exc))
        return redirect("wordings")
    messages.success(request, f"“{wording.wording}”: {wording.get_status_display().lower()}.")
    return redirect("wordings")
