"""The review pages: the queue, a case, a message, and the forms of their actions.
Each look is audited; every page is behind `reviewer_required` (two factors, a role,
no-store)."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from intake import audit, casework, questions
from intake.models import CaseStep, InboundMessage, MessageContent, Referral, Submission
from intake.users import role_of
from intake.web import case, display, learning, queue
from intake.web.permissions import reviewer_required

ROWS_PER_PAGE = 50


@require_GET
@reviewer_required
def queue_page(request: HttpRequest) -> HttpResponse:
    """``/?tab=...&find=...&page=...``: one tab of the queue, filtered, with every tab's count."""
    found = queue.filters_from(request.GET, request.session)
    today = timezone.localdate()
    page = queue.page_of(found, today, request.GET.get("page"), ROWS_PER_PAGE)
    counts = queue.counts(found, today)
    detail = {
        "tab": found.tab,
        "filters": found.query(tab="") or "none",
        "rows": page.paginator.count,
    }
    if found.text:
        detail["words"] = "yes"  # that words were searched for; never the words
    audit.record(request.user, audit.Verb.VIEWED, audit.QUEUE, 0, **detail)
    tab = next(t for t in queue.TABS if t.key == found.tab)
    context = {
        "tabs": [(t, counts[t.key], found.query(tab=t.key, sort="")) for t in queue.TABS],
        "tab": tab,
        "page": page,
        "today": today,
        "found": found,
        "sort": found.sort or tab.sort,
        "sort_label": queue.SORTS.get(found.sort or tab.sort, "").lower(),
        "statuses": queue.STATUSES,
        "form_types": questions.form_types(),
        "flags": list(display.FLAG_LABELS.items()),
        "team": team_members(),
        "query": found.query(),
        "query_without_sort": found.query(sort=""),
    }
    return render(request, "intake/queue.html", context)


@require_POST
@reviewer_required
def queue_search(request: HttpRequest) -> HttpResponse:
    """The search form: its words into the session, its filters into the URL."""
    return redirect(queue.search_redirect(request))


def team_members() -> list[User]:
    """Everyone a case can be assigned to: active, with a role."""
    return [u for u in User.objects.filter(is_active=True).order_by("username") if role_of(u)]


@require_GET
@reviewer_required
def case_page(request: HttpRequest, reference: str) -> HttpResponse:
    """``/cases/<reference>/``: everything about one case; the look is audited."""
    referral = get_object_or_404(Referral.objects.select_related("assignee"), reference=reference)
    audit.record(request.user, audit.Verb.VIEWED, audit.REFERRAL, referral.pk)
    return render(request, "intake/case.html", case_context(referral))


def case_context(referral: Referral) -> dict[str, Any]:
    known = questions.schemas()
    submissions = case.submission_views(referral)
    message_ids = [s.message.pk for s in submissions]
    replies = list(case.replies_of(referral, message_ids))
    trail = case.audit_trail(
        {
            audit.REFERRAL: [referral.pk],
            audit.MESSAGE: message_ids,
            audit.REPLY: [r.pk for r in replies],
        }
    )
    today = timezone.localdate()
    steps = casework.latest_steps(referral)
    held = CaseStep.Kind.RAPID_REVIEW_HELD in steps
    outcome = steps.get(CaseStep.Kind.OUTCOME)
    return {
        "referral": referral,
        "form_title": questions.form_title(referral.form_type, known),
        "status_label": display.case_status_label(referral.status, outcome is not None),
        "flags": [display.flag_label(f) for f in referral.flags or []],
        "urgency": display.urgency(referral.rapid_review_due, today, referral.status, held),
        "sections": case.answers_by_section(referral, known.get(referral.form_type)),
        "submissions": submissions,
        "replies": case.reply_views(replies),
        "notes": list(referral.notes.select_related("author")),
        "trail": case.trail_rows(trail),
        "statuses": [
            (s, display.status_label(s)) for s in casework.allowed_statuses(referral.status)
        ],
        "team": team_members(),
        "evidence": _latest_evidence(submissions),
        "steps": [(kind, label, steps.get(kind)) for kind, label in CaseStep.Kind.choices],
        "step_kinds": CaseStep.Kind.choices,
        "outcomes": CaseStep.Outcome.choices,
        "outcome": outcome,
        "outcome_label": display.outcome_label(outcome.outcome) if outcome else "",
        "today": today,
        "is_closed": referral.status == Referral.Status.CLOSED,
        "missing_count": len(referral.missing or []),
        "invalid_count": len(referral.invalid or []),
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
def correct_page(request: HttpRequest, reference: str, key: str) -> HttpResponse:
    """``/cases/<reference>/answers/<key>``: the form to put one answer right."""
    referral = get_object_or_404(Referral, reference=reference)
    schema = questions.schemas().get(referral.form_type)
    if schema is None or key not in {f.key for f in schema.fields}:
        raise Http404("no such question")
    spec = schema.field(key)
    audit.record(request.user, audit.Verb.VIEWED, audit.REFERRAL, referral.pk, field=key)
    stored = referral.fields.get(key)
    chosen = stored if isinstance(stored, list) else [stored] if stored else []
    context = {
        "referral": referral,
        "spec": spec,
        "section": schema.section(spec.section).title,
        "shown": questions.show_value(stored, spec),
        "expected": json.dumps(stored),
        "chosen": [str(c) for c in chosen],
        "text_value": _as_typed(stored, spec.type),
        "corrections": case._corrections(referral, schema).get(key, []),
    }
    return render(request, "intake/correct.html", context)


def _as_typed(stored: Any, kind: str) -> str:
    """An answer as a person would type it again (a date as 03/04/2015)."""
    if not isinstance(stored, str):
        return ""
    if kind == "date":
        from datetime import date

        try:
            return date.fromisoformat(stored).strftime("%d/%m/%Y")
        except ValueError:
            return stored
    return stored


@require_GET
@reviewer_required
def message_page(request: HttpRequest, pk: int) -> HttpResponse:
    """``/messages/<id>/``: one message's envelope, decision, text and attachments."""
    message = get_object_or_404(InboundMessage.objects.defer("raw"), pk=pk)
    audit.record(request.user, audit.Verb.VIEWED, audit.MESSAGE, message.pk)
    context = message_context(message)
    context.update(learning.learning_context(message, request.user))
    context["place_url"] = f"/messages/{message.pk}/place"
    return render(request, "intake/message.html", context)


def message_context(message: InboundMessage) -> dict[str, Any]:
    assessment = message.assessment or {}
    form_type = str(assessment.get("form_type") or "")
    submission = Submission.objects.filter(message=message).select_related("referral").first()
    replies = list(message.replies.defer("raw").order_by("created", "pk"))
    trail = case.audit_trail({audit.MESSAGE: [message.pk], audit.REPLY: [r.pk for r in replies]})
    review = message.review if hasattr(message, "review") else None
    waiting = submission is None and review is None and message.decision != "ignored"
    return {
        "message": message,
        "decision_label": display.decision_label(message.decision),
        "state_label": display.state_label(message.state),
        "reason_words": casework.reason_words(message.reason_code) if message.reason_code else "",
        "reasons": [display.in_words(str(r), form_type) for r in assessment.get("reasons") or []],
        "attachment_errors": assessment.get("attachment_errors") or [],
        "form_title": questions.form_title(form_type),
        "received": casework.received_day(message),
        "body": body_text(message),
        "delivery": delivery(message),
        "attachments": list(message.attachments.defer("data").order_by("pk")),
        "referral": submission.referral if submission else None,
        "replies": case.reply_views(replies),
        "review": review,
        "review_outcome": review.get_outcome_display() if review else "",
        "trail": case.trail_rows(trail),
        "can_decide": waiting,
        "form_types": questions.form_types(),
        "suggested_form": form_type,
    }


@require_GET
@reviewer_required
def return_page(request: HttpRequest, pk: int) -> HttpResponse:
    """``/messages/<id>/return``: the return the service would write, to edit and send."""
    message = get_object_or_404(InboundMessage.objects.defer("raw"), pk=pk)
    audit.record(request.user, audit.Verb.VIEWED, audit.MESSAGE, message.pk, part="return")
    draft = casework.draft_return(message, settings.INTAKE)
    return render(request, "intake/return.html", {"message": message, "draft": draft})


def delivery(message: InboundMessage) -> dict[str, Any] | None:
    """How the message reached us, from its stored parse: our server's verdict on
    the sender, the ``Received`` hops (newest first), and a parse that gave up."""
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
