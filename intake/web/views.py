"""The review pages: the queue, a case, a message.  Each look at a case or a message
is audited; every page is behind `reviewer_required` (login, role, no-store)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from intake.models import InboundMessage, MessageContent, Referral, Submission
from intake.web import audit, case, display, learning, queue
from intake.web.forms import AssignForm, NoteForm, ReviewForm, StatusForm
from intake.web.permissions import reviewer_required

ROWS_PER_PAGE = 50


@require_GET
@reviewer_required
def queue_page(request: HttpRequest) -> HttpResponse:
    """``/?tab=...&page=...``: one tab of the queue, with every tab's count."""
    tab = request.GET.get("tab", "needs_review")
    if tab not in queue.TAB_KEYS:
        tab = "needs_review"
    today = timezone.localdate()
    page = queue.page_of(tab, today, request.GET.get("page"), ROWS_PER_PAGE)
    counts = queue.counts()
    tabs = [(t, counts[t.key]) for t in queue.TABS]
    current = next(t for t in queue.TABS if t.key == tab)
    context = {"tabs": tabs, "tab": current, "page": page, "today": today}
    return render(request, "intake/queue.html", context)


@require_GET
@reviewer_required
def case_page(request: HttpRequest, reference: str) -> HttpResponse:
    """``/cases/<reference>/``: everything about one case; the look is audited."""
    referral = get_object_or_404(Referral.objects.select_related("assignee"), reference=reference)
    audit.record(request.user, "viewed", audit.REFERRAL, referral.pk)
    return render(request, "intake/case.html", case_context(referral))


def case_context(referral: Referral) -> dict[str, Any]:
    known = display.schemas()
    submissions = case.submission_views(referral)
    message_ids = [s.message.pk for s in submissions]
    replies = list(case.replies_of(referral, message_ids))
    trail = case.audit_trail(
        {
            audit.REFERRAL: [referral.pk],
            audit.MESSAGE: message_ids,
            "outbound_email": [r.pk for r in replies],
        }
    )
    today = timezone.localdate()
    return {
        "referral": referral,
        "form_title": display.form_title(referral.form_type, known),
        "status_label": display.status_label(referral.status),
        "flags": [display.flag_label(f) for f in referral.flags or []],
        "urgency": display.urgency(referral.rapid_review_due, today, referral.status),
        "sections": case.answers_by_section(referral, known.get(referral.form_type)),
        "submissions": submissions,
        "replies": case.reply_views(replies),
        "notes": list(referral.notes.select_related("author")),
        "trail": case.trail_rows(trail),
        "assign_form": AssignForm(initial={"expected_assignee": referral.assignee_id}),
        "status_form": StatusForm(initial={"status": referral.status, "current": referral.status}),
        "note_form": NoteForm(),
        "evidence": _latest_evidence(submissions),
    }


def _latest_evidence(submissions: list[case.SubmissionView]) -> learning.Evidence | None:
    """What the reader found on the newest form of the case (issue 7)."""
    for submission in reversed(submissions):
        found = learning.evidence_view(submission.message.assessment or {})
        if found is not None:
            return found
    return None


@require_GET
@reviewer_required
def message_page(request: HttpRequest, pk: int) -> HttpResponse:
    """``/messages/<id>/``: one message's envelope, decision, text and attachments."""
    message = get_object_or_404(InboundMessage, pk=pk)
    audit.record(request.user, "viewed", audit.MESSAGE, message.pk)
    context = message_context(message)
    context.update(learning.learning_context(message, request.user))
    context["place_url"] = reverse("message_place", args=[message.pk])
    return render(request, "intake/message.html", context)


def message_context(message: InboundMessage) -> dict[str, Any]:
    assessment = message.assessment or {}
    submission = Submission.objects.filter(message=message).select_related("referral").first()
    replies = list(message.replies.defer("raw").order_by("created", "pk"))
    trail = case.audit_trail(
        {audit.MESSAGE: [message.pk], "outbound_email": [r.pk for r in replies]}
    )
    review = message.review if hasattr(message, "review") else None
    return {
        "message": message,
        "decision_label": display.decision_label(message.decision),
        "reasons": [str(r) for r in assessment.get("reasons") or []],
        "attachment_errors": assessment.get("attachment_errors") or [],
        "form_title": display.form_title(assessment.get("form_type") or ""),
        "body": body_text(message),
        "delivery": delivery(message),
        "attachments": list(message.attachments.defer("data").order_by("pk")),
        "referral": submission.referral if submission else None,
        "replies": case.reply_views(replies),
        "review": review,
        "review_form": ReviewForm(),
        "trail": case.trail_rows(trail),
    }


def delivery(message: InboundMessage) -> dict[str, Any] | None:
    """How the message reached us, from its stored parse: our server's verdict on
    the sender, the ``Received`` hops (newest first), and a parse that gave up."""
    from django.conf import settings

    from intake.authentication import authenticate
    from intake.store import load_mail

    mail = load_mail(message, with_data=False)
    if mail is None:
        return None
    verdict = authenticate(mail.headers, mail.from_addresses, settings.INTAKE.rules)
    return {
        "authenticated": verdict.authenticated,
        "reason": verdict.reason,
        "hops": list(mail.received),
        "failure": mail.failure,
    }


def body_text(message: InboundMessage) -> str:
    """The message's text body (the HTML body's text when it has no plain part).

    Read from the stored parse (`intake.models.MessageContent`): this page never
    parses mail, so a hostile message cannot make it hang (issue 8).  "" before the
    message was parsed.  Shown escaped, in a ``<pre>``: mail is never rendered as HTML.
    """
    if message.headers_only:
        return ""
    text = MessageContent.objects.filter(message=message).values_list("text_body", flat=True)
    return str(text.first() or "")
