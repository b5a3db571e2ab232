"""Reporting (issue 12): the dashboard, and a CSV of any filtered view with chosen columns.

The export never holds attachment content (only answers and dates from the case), is
posted (CSRF-checked; its words are in the session, never the URL), and is audited
with its columns, its filters and its number of rows.  A cell a spreadsheet would run
as a formula is written as text.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET, require_POST

from intake import audit, questions, reporting
from intake.models import CaseStep, Referral
from intake.web import charts, display, queue
from intake.web.permissions import reviewer_required


def _period(params: QueryDict) -> tuple[date, date]:
    today = timezone.localdate()
    start = queue._day(params.get("from")) or (today.replace(day=1) - timedelta(days=334)).replace(
        day=1
    )
    end = queue._day(params.get("to")) or today
    return (start, end) if start <= end else (end, start)


@require_GET
@reviewer_required
def dashboard(request: HttpRequest) -> HttpResponse:
    """``/dashboard/?from=&to=``: the figures of a period (the last twelve months by default)."""
    start, end = _period(request.GET)
    today = timezone.localdate()
    audit.record(request.user, audit.Verb.VIEWED, audit.DASHBOARD, 0, period=f"{start}..{end}")
    figures = [
        {"figure": f, "svg": charts.bar_chart(f, f"chart-{i}"), "id": f"chart-{i}"}
        for i, f in enumerate(reporting.dashboard(start, end, today), start=1)
    ]
    context = {"figures": figures, "start": start, "end": end, "now": reporting.needs_person_now()}
    return render(request, "intake/dashboard.html", context)


# --- the export --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    value: Callable[[Referral, dict[str, Any]], Any]
    default: bool = True
    personal: bool = False  # names a person: off unless chosen


def _answer(key: str) -> Callable[[Referral, dict[str, Any]], Any]:
    def value(referral: Referral, extra: dict[str, Any]) -> Any:
        spec = extra["specs"].get((referral.form_type, key))
        return questions.show_value(referral.fields.get(key), spec).replace("\n", "; ")

    return value


def _step(kind: str, part: str = "on") -> Callable[[Referral, dict[str, Any]], Any]:
    def value(referral: Referral, extra: dict[str, Any]) -> Any:
        step = extra["steps"].get(referral.pk, {}).get(kind)
        if step is None:
            return ""
        return display.outcome_label(step.outcome) if part == "outcome" else step.on.isoformat()

    return value


COLUMNS = (
    Column("reference", "Reference", lambda r, _: r.reference),
    Column("form", "Form", lambda r, _: questions.short_form_name(r.form_type)),
    Column(
        "status",
        "Status",
        lambda r, x: display.case_status_label(
            r.status, CaseStep.Kind.OUTCOME in x["steps"].get(r.pk, {})
        ),
    ),
    Column("received", "Received", lambda r, _: r.received_on.isoformat() if r.received_on else ""),
    Column(
        "due",
        "Rapid Review due",
        lambda r, _: r.rapid_review_due.isoformat() if r.rapid_review_due else "",
    ),
    Column(
        "agency",
        "Referring agency",
        lambda r, _: r.fields.get("referrer_agency") or r.fields.get("notifying_la") or "",
    ),
    Column("referral_type", "Type of review requested", _answer("referral_type")),
    Column("incident_outcome", "Died or seriously harmed", _answer("incident_outcome")),
    Column("incident_date", "Date of incident", _answer("incident_date"), default=False),
    Column("flags", "Flags", lambda r, _: "; ".join(display.flag_label(f) for f in r.flags or [])),
    Column("held", "Rapid Review held", _step(CaseStep.Kind.RAPID_REVIEW_HELD)),
    Column("outcome", "Outcome", _step(CaseStep.Kind.OUTCOME, "outcome")),
    Column("outcome_on", "Outcome decided", _step(CaseStep.Kind.OUTCOME)),
    Column("panel", "National Panel informed", _step(CaseStep.Kind.PANEL_INFORMED)),
    Column("letter", "Decision letter sent", _step(CaseStep.Kind.LETTER_SENT)),
    Column(
        "assignee",
        "Assigned to",
        lambda r, _: r.assignee.get_username() if r.assignee else "",
        default=False,
    ),
    Column("missing", "Answers missing", lambda r, _: len(r.missing or []), default=False),
    Column(
        "initials", "Child's initials", lambda r, _: display.initials(r.fields or {}), default=False
    ),
    Column(
        "referrer", "Referrer's email", lambda r, _: r.referrer_email, default=False, personal=True
    ),
    Column(
        "child_name",
        "Child's name",
        lambda r, _: " ".join(
            str(r.fields.get(k, "")) for k in ("child_forenames", "child_surname")
        ).strip(),
        default=False,
        personal=True,
    ),
)


@require_GET
@reviewer_required
def export_page(request: HttpRequest) -> HttpResponse:
    """``/export/?<the queue's filters>``: choose the columns of the CSV."""
    found = queue.filters_from(request.GET, request.session)
    today = timezone.localdate()
    rows = queue.all_cases(found, today).count()
    audit.record(request.user, audit.Verb.VIEWED, audit.EXPORT, 0, filters=found.query() or "none")
    tab = next(t for t in queue.TABS if t.key == found.tab)
    context = {
        "found": found,
        "tab": tab,
        "rows": rows,
        "columns": COLUMNS,
        "query": found.query(),
        "described": describe(found),
        "tabs": queue.TABS,
    }
    return render(request, "intake/export.html", context)


def describe(found: queue.Filters) -> list[str]:
    """The filters in words, for the person to check before exporting."""
    said = []
    if found.text:
        said.append(f"matching “{found.text}”")
    if found.status:
        said.append(f"status {display.status_label(found.status).lower()}")
    if found.form:
        said.append(f"form {questions.short_form_name(found.form)}")
    if found.assignee:
        said.append("unassigned" if found.assignee == "none" else "assigned to one person")
    if found.flag:
        said.append(display.flag_label(found.flag).lower())
    if found.due_within is not None:
        said.append(f"due within {found.due_within} working days")
    if found.overdue:
        said.append("overdue")
    if found.received_from:
        said.append(f"received from {found.received_from:%d %B %Y}")
    if found.received_to:
        said.append(f"received up to {found.received_to:%d %B %Y}")
    return said


@require_POST
@reviewer_required
def export_csv(request: HttpRequest) -> HttpResponse:
    """The CSV of the filtered cases, with the chosen columns."""
    found = queue.filters_from(QueryDict(request.POST.get("query", "")), request.session)
    chosen = [c for c in COLUMNS if c.key in request.POST.getlist("columns")]
    if not chosen:
        from django.contrib import messages

        messages.error(request, "Choose at least one column.")
        return redirect("/export/?" + found.query())
    cases = list(queue.all_cases(found, timezone.localdate()).select_related("assignee"))
    extra = _extra(cases)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    name = f"referrals-{timezone.localdate().isoformat()}.csv"
    response["Content-Disposition"] = content_disposition_header(True, name)
    response.write("\ufeff")  # so that Excel reads UTF-8
    writer = csv.writer(response)
    writer.writerow([c.label for c in chosen])
    for referral in cases:
        writer.writerow([_cell(c.value(referral, extra)) for c in chosen])
    audit.record(
        request.user,
        audit.Verb.EXPORTED,
        audit.EXPORT,
        0,
        rows=len(cases),
        columns=[c.key for c in chosen],
        filters=found.query() or "none",
        **({"words": "yes"} if found.text else {}),
    )
    return response


def _extra(cases: list[Referral]) -> dict[str, Any]:
    steps: dict[int, dict[str, CaseStep]] = {}
    rows = CaseStep.objects.filter(referral__in=cases).order_by("recorded_at", "pk")
    for step in rows:
        steps.setdefault(step.referral_id, {})[step.kind] = step
    specs = {
        (form_type, spec.key): spec
        for form_type, schema in questions.schemas().items()
        for spec in schema.fields
    }
    return {"steps": steps, "specs": specs}


def _cell(value: Any) -> str:
    """A value as a CSV cell; one a spreadsheet would run as a formula starts with '."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
