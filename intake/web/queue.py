"""The processed queue: what needs a person, in tabs, with the counts the team watches.

A row never carries a child's name: the reference, the child's initials at
most, and codes.  Message rows (no case) say why they wait: the parked
reason or the decision.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import Count, F, Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from intake.models import InboundMessage, Referral, Submission
from intake.web import display


@dataclass(frozen=True)
class Tab:
    key: str
    title: str
    hint: str


TABS = (
    Tab("needs_review", "Needs review", "Cases and messages a person must decide on"),
    Tab("incomplete", "Incomplete", "Returned to the referrer, awaiting resubmission"),
    Tab("accepted", "Accepted", "Open cases, by Rapid Review due date"),
    Tab("ignored", "Ignored", "Automatic mail: out-of-office replies, bounces, lists"),
    Tab("all", "All cases", "Every case, newest first"),
)
TAB_KEYS = tuple(t.key for t in TABS)


@dataclass
class Row:
    """One line of the queue: a case or a message without one."""

    url: str
    label: str  # the reference, or "Message 12"
    is_case: bool
    initials: str = ""
    form: str = ""
    received: date | datetime | None = None
    status: str = ""
    due: date | None = None
    urgency: str = ""  # overdue | soon | ""
    assignee: str = ""
    flags: list[str] = field(default_factory=list)
    why: str = ""  # for messages: the parked reason or the decision's first reason


CASE_FIELDS = (
    "reference",
    "form_type",
    "status",
    "fields",
    "flags",
    "received_on",
    "rapid_review_due",
    "created",
    "assignee__username",
)
MESSAGE_FIELDS = (
    "pk",
    "received_at",
    "created",
    "state",
    "decision",
    "assessment",
    "parked_reason",
    "error_code",
    "mailbox",
)


def case_rows(referrals: Iterable[dict[str, Any]], today: date) -> list[Row]:
    """Rows for referrals read as ``.values(*CASE_FIELDS)``, in the order given."""
    known = display.schemas()
    rows = []
    for r in referrals:
        rows.append(
            Row(
                url=reverse("case", args=[r["reference"]]),
                label=r["reference"],
                is_case=True,
                initials=display.initials(r["fields"] or {}),
                form=display.short_form_name(r["form_type"], known),
                received=r["received_on"] or timezone.localdate(r["created"]),
                status=display.status_label(r["status"]),
                due=r["rapid_review_due"],
                urgency=display.urgency(r["rapid_review_due"], today, r["status"]),
                assignee=r["assignee__username"] or "",
                flags=[display.flag_label(f) for f in r["flags"] or []],
            )
        )
    return rows


def message_rows(messages: Iterable[dict[str, Any]]) -> list[Row]:
    """Rows for messages read as ``.values(*MESSAGE_FIELDS)`` (never their raw bytes);
    ``why`` is the parked reason's code or the assessment's first reason."""
    rows = []
    for m in messages:
        rows.append(
            Row(
                url=reverse("message", args=[m["pk"]]),
                label=f"Message {m['pk']}",
                is_case=False,
                form=display.short_form_name((m["assessment"] or {}).get("form_type") or ""),
                received=m["received_at"] or m["created"],
                status=_message_status(m),
                why=_message_why(m),
            )
        )
    return rows


def _message_status(m: dict[str, Any]) -> str:
    if m["state"] == InboundMessage.State.PARKED:
        return "Parked: a step failed"
    return display.decision_label(m["decision"])


def _message_why(m: dict[str, Any]) -> str:
    if m["state"] == InboundMessage.State.PARKED:
        return f"error: {m['parked_reason'] or m['error_code'] or 'unknown'}"
    reasons = (m["assessment"] or {}).get("reasons") or []
    return display.list_reason(str(reasons[0])) if reasons else ""


def waiting_messages() -> QuerySet[InboundMessage]:
    """Messages a person must look at that no case will show: needs_review without a
    case, and every parked message; those already marked reviewed are done."""
    in_a_case = Submission.objects.values("message_id")
    needs_review = Q(decision=InboundMessage.Decision.NEEDS_REVIEW) & ~Q(pk__in=in_a_case)
    return InboundMessage.objects.filter(
        needs_review | Q(state=InboundMessage.State.PARKED), review__isnull=True
    )


def ignored_messages() -> QuerySet[InboundMessage]:
    return InboundMessage.objects.filter(decision=InboundMessage.Decision.IGNORED)


def cases_in(tab: str) -> QuerySet[Referral]:
    """The cases of ``tab`` in the order the team works them."""
    status = Referral.Status
    if tab == "needs_review":
        return Referral.objects.filter(status=status.NEEDS_REVIEW).order_by("-created")
    if tab == "incomplete":
        return Referral.objects.filter(status=status.AWAITING_RESUBMISSION).order_by("-created")
    if tab == "accepted":
        return Referral.objects.filter(status=status.ACCEPTED).order_by(
            F("rapid_review_due").asc(nulls_last=True), "created"
        )
    return Referral.objects.order_by("-created")


NEWEST_FIRST = ("-received_at", "-pk")


def page_of(tab: str, today: date, number: Any, per_page: int) -> Page[Row]:
    """Page ``number`` of ``tab`` (a bad number gives the nearest page).

    Single-table tabs are paged in the database, so a year of ignored mail
    is never read at once; "Needs review" mixes cases and messages, sorted
    newest first in memory (it is the short list a person clears daily).
    """
    if tab == "needs_review":
        rows = case_rows(cases_in(tab).values(*CASE_FIELDS), today)
        rows += message_rows(waiting_messages().order_by(*NEWEST_FIRST).values(*MESSAGE_FIELDS))
        rows.sort(key=_received_key, reverse=True)
        return Paginator(rows, per_page).get_page(number)
    if tab == "ignored":
        values = ignored_messages().order_by(*NEWEST_FIRST).values(*MESSAGE_FIELDS)
        page = Paginator(values, per_page).get_page(number)
        page.object_list = message_rows(page.object_list)
        return page
    page = Paginator(cases_in(tab).values(*CASE_FIELDS), per_page).get_page(number)
    page.object_list = case_rows(page.object_list, today)
    return page


def _received_key(row: Row) -> datetime:
    value = row.received
    if isinstance(value, datetime):
        return value
    day = value or date.min
    return timezone.make_aware(datetime(day.year, day.month, day.day))


def counts() -> dict[str, int]:
    """How many rows each tab has."""
    status = Referral.Status
    pairs = Referral.objects.order_by().values_list("status").annotate(n=Count("pk"))
    by_status = {key: n for key, n in pairs}
    return {
        "needs_review": by_status.get(status.NEEDS_REVIEW, 0) + waiting_messages().count(),
        "incomplete": by_status.get(status.AWAITING_RESUBMISSION, 0),
        "accepted": by_status.get(status.ACCEPTED, 0),
        "ignored": ignored_messages().count(),
        "all": sum(by_status.values()),
    }
