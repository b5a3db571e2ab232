"""Finding work: the queue's tabs, search, filters, sorting and counts (issue 12).

A row never carries a child's name: the reference, the child's initials at most, and
words.  A message row (no case) shows its sender, its subject and its attachments'
names, with any name the reader found for the child cut to initials.

The words searched for are personal data, so they never go in a URL: the search
form is posted, the words kept in the session, and the URL names them by a token
(``find=...``).  Every other filter is a code, a date or a number, and is in the URL.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django.core.paginator import Paginator
from django.db.models import Exists, F, Max, OuterRef, Q, QuerySet, Subquery
from django.http import HttpRequest, QueryDict
from django.urls import reverse
from django.utils import timezone

from intake import casework, questions
from intake.deadlines import add_working_days
from intake.models import CaseStep, InboundMessage, Referral, Submission
from intake.web import display


@dataclass(frozen=True)
class Tab:
    key: str
    title: str
    hint: str
    sort: str  # the default sort
    messages: bool = False  # lists messages (needs review: as well as cases)


TABS = (
    Tab(
        "needs_review",
        "Needs review",
        "Cases and messages a person must decide on",
        "-received",
        True,
    ),
    Tab(
        "incomplete",
        "Incomplete",
        "Returned to the referrer, waiting for them: longest first",
        "waiting",
    ),
    Tab("accepted", "Accepted", "Open cases by Rapid Review due date", "due"),
    Tab("decided", "Decided", "Cases with a Rapid Review outcome recorded", "-decided"),
    Tab("closed", "Closed", "Cases the team has finished with", "-received"),
    Tab(
        "ignored",
        "Ignored",
        "Automatic mail: out-of-office replies, bounces, lists",
        "-received",
        True,
    ),
    Tab("all", "All cases", "Every case, newest received first", "-received"),
)
TAB_KEYS = tuple(t.key for t in TABS)
SORTS = {
    "received": "Received, oldest first",
    "-received": "Received, newest first",
    "due": "Rapid Review due, soonest first",
    "-due": "Rapid Review due, latest first",
    "reference": "Reference",
    "waiting": "Waiting longest first",
    "-decided": "Outcome recorded, newest first",
}
SEARCHES_KEPT = 20
STATUSES = [(s, display.status_label(s)) for s in Referral.Status.values]


@dataclass
class Filters:
    """What the person asked for; all but ``text`` may go in a URL."""

    tab: str = "needs_review"
    text: str = ""
    find: str = ""  # the token naming ``text`` in the session
    status: str = ""
    form: str = ""
    assignee: str = ""  # a user id, "none", or ""
    flag: str = ""
    due_within: int | None = None  # working days
    overdue: bool = False
    received_from: date | None = None
    received_to: date | None = None
    sort: str = ""
    expired: bool = False  # a find token the session no longer knows

    @property
    def any(self) -> bool:
        return bool(self.case_only or self.text or self.received_from or self.received_to)

    @property
    def case_only(self) -> bool:
        """Filters only a case can match (a message row is then left out)."""
        return bool(self.status or self.form or self.assignee or self.flag or self.overdue) or (
            self.due_within is not None
        )

    def query(self, **changes: Any) -> str:
        """The URL query for these filters (``changes`` applied), without the words."""
        values = {
            "tab": self.tab,
            "find": self.find,
            "status": self.status,
            "form": self.form,
            "assignee": self.assignee,
            "flag": self.flag,
            "due_within": "" if self.due_within is None else str(self.due_within),
            "overdue": "1" if self.overdue else "",
            "from": self.received_from.isoformat() if self.received_from else "",
            "to": self.received_to.isoformat() if self.received_to else "",
            "sort": self.sort,
        }
        values.update({k: str(v) for k, v in changes.items()})
        return urlencode({k: v for k, v in values.items() if v})


def _day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _whole(text: str | None) -> int | None:
    return int(text) if text and text.isdigit() and int(text) <= 365 else None


def filters_from(params: QueryDict | Mapping[str, str], session: Any) -> Filters:
    """The filters of a queue (or export) URL; unknown values are dropped."""
    tab = params.get("tab") or "needs_review"
    found = Filters(
        tab=tab if tab in TAB_KEYS else "needs_review",
        status=_pick(params.get("status"), Referral.Status.values),
        form=_pick(params.get("form"), [k for k, _ in questions.form_types()]),
        assignee=_assignee(params.get("assignee")),
        flag=_pick(params.get("flag"), list(display.FLAG_LABELS)),
        due_within=_whole(params.get("due_within")),
        overdue=params.get("overdue") == "1",
        received_from=_day(params.get("from")),
        received_to=_day(params.get("to")),
        sort=_pick(params.get("sort"), list(SORTS)),
    )
    token = params.get("find") or ""
    if token:
        text = (session.get("searches") or {}).get(token)
        found.find, found.text, found.expired = (token, text, False) if text else ("", "", True)
    return found


def _pick(value: str | None, allowed: Iterable[str]) -> str:
    return value if value and value in allowed else ""


def _assignee(value: str | None) -> str:
    return value if value and (value == "none" or value.isdigit()) else ""


def remember_search(session: Any, text: str) -> str:
    """Keep ``text`` in the session under a new token (the last few only)."""
    searches = dict(session.get("searches") or {})
    token = secrets.token_urlsafe(6)
    searches[token] = text[:200]
    session["searches"] = dict(list(searches.items())[-SEARCHES_KEPT:])
    return token


def search_redirect(request: HttpRequest) -> str:
    """Where a posted search goes: the queue URL of its filters, its words by token."""
    data = request.POST.copy()
    text = (data.get("text") or "").strip()
    data["find"] = remember_search(request.session, text) if text else ""
    found = filters_from(data, request.session)
    return reverse("queue") + "?" + found.query()


# --- the rows -------------------------------------------------------------------------------


@dataclass
class Row:
    """One line of the queue: a case or a message without one."""

    url: str
    label: str  # the reference, or "Message 12"
    is_case: bool
    initials: str = ""
    form: str = ""
    received: date | None = None
    status: str = ""
    due: date | None = None
    urgency: str = ""  # overdue | soon | ""
    assignee: str = ""
    flags: list[str] = field(default_factory=list)
    why: str = ""  # for messages: why it waits
    sender: str = ""
    subject: str = ""
    attachments: list[str] = field(default_factory=list)
    waiting_days: int | None = None
    outcome: str = ""


def cases_in(tab: str) -> QuerySet[Referral]:
    """The cases of ``tab``, annotated with what the rows and sorts need."""
    status = Referral.Status
    outcome = CaseStep.objects.filter(referral=OuterRef("pk"), kind=CaseStep.Kind.OUTCOME)
    held = CaseStep.objects.filter(referral=OuterRef("pk"), kind=CaseStep.Kind.RAPID_REVIEW_HELD)
    cases = Referral.objects.annotate(
        decided=Exists(outcome),
        held=Exists(held),
        outcome=Subquery(outcome.order_by("-recorded_at", "-pk").values("outcome")[:1]),
        decided_at=Subquery(outcome.order_by("-recorded_at", "-pk").values("recorded_at")[:1]),
        returned_at=Max("replies__created", filter=Q(replies__kind="incomplete_return")),
    ).select_related("assignee")
    if tab == "needs_review":
        return cases.filter(status=status.NEEDS_REVIEW)
    if tab == "incomplete":
        return cases.filter(status=status.AWAITING_RESUBMISSION)
    if tab == "accepted":
        return cases.filter(status=status.ACCEPTED, decided=False)
    if tab == "decided":
        return cases.filter(decided=True).exclude(status=status.CLOSED)
    if tab == "closed":
        return cases.filter(status=status.CLOSED)
    return cases


def filter_cases(cases: QuerySet[Referral], found: Filters, today: date) -> QuerySet[Referral]:
    if found.text:
        cases = cases.filter(_case_text(found.text))
    if found.status:
        cases = cases.filter(status=found.status)
    if found.form:
        cases = cases.filter(form_type=found.form)
    if found.assignee == "none":
        cases = cases.filter(assignee__isnull=True)
    elif found.assignee:
        cases = cases.filter(assignee_id=int(found.assignee))
    if found.flag:
        cases = cases.filter(flags__icontains=found.flag)
    if found.due_within is not None or found.overdue:
        not_held: dict[str, Any] = {"held": False}  # annotated in cases_in
        cases = cases.filter(**not_held).exclude(status__in=display.NOT_URGENT)
    if found.due_within is not None:
        until = add_working_days(today, found.due_within)
        cases = cases.filter(rapid_review_due__gte=today, rapid_review_due__lte=until)
    if found.overdue:
        cases = cases.filter(rapid_review_due__lt=today)
    if found.received_from:
        cases = cases.filter(received_on__gte=found.received_from)
    if found.received_to:
        cases = cases.filter(received_on__lte=found.received_to)
    return cases


def _case_text(text: str) -> Q:
    """A reference, the child's names, the referrer (name, address) or the agency."""
    keys = (
        "child_forenames",
        "child_surname",
        "referrer_name",
        "referrer_email",
        "referrer_agency",
        "notifier_name",
        "notifier_email",
        "notifying_la",
    )
    where = Q(reference__icontains=text) | Q(referrer_email__icontains=text)
    for key in keys:
        where |= Q(**{f"fields__{key}__icontains": text})
    return where


CASE_SORTS: dict[str, tuple[Any, ...]] = {
    "received": ("received_on", "created"),
    "-received": (F("received_on").desc(nulls_last=True), "-created"),
    "due": (F("rapid_review_due").asc(nulls_last=True), "created"),
    "-due": (F("rapid_review_due").desc(nulls_last=True), "-created"),
    "reference": ("year", "sequence"),
    "waiting": (F("returned_at").asc(nulls_last=True), "received_on"),
    "-decided": (F("decided_at").desc(nulls_last=True), "-created"),
}


def case_rows(cases: Iterable[Referral], today: date) -> list[Row]:
    known = questions.schemas()
    rows = []
    for r in cases:
        returned = getattr(r, "returned_at", None)
        waiting_since = timezone.localdate(returned) if returned else r.received_on
        held = bool(getattr(r, "held", False))
        rows.append(
            Row(
                url=reverse("case", args=[r.reference]),
                label=r.reference,
                is_case=True,
                initials=display.initials(r.fields or {}),
                form=questions.short_form_name(r.form_type, known),
                received=r.received_on or timezone.localdate(r.created),
                status=display.case_status_label(r.status, bool(getattr(r, "decided", False))),
                due=r.rapid_review_due,
                urgency=display.urgency(r.rapid_review_due, today, r.status, held),
                assignee=r.assignee.get_username() if r.assignee else "",
                flags=[display.flag_label(f) for f in r.flags or []],
                waiting_days=(today - waiting_since).days
                if r.status == Referral.Status.AWAITING_RESUBMISSION and waiting_since
                else None,
                outcome=display.outcome_label(getattr(r, "outcome", "") or ""),
            )
        )
    return rows


def waiting_messages() -> QuerySet[InboundMessage]:
    """Messages a person must look at that no case shows: needs review without a case, and
    every parked message; those a person has dealt with are done."""
    in_a_case = Submission.objects.values("message_id")
    needs_review = Q(decision=InboundMessage.Decision.NEEDS_REVIEW) & ~Q(pk__in=in_a_case)
    return InboundMessage.objects.filter(
        needs_review | Q(state=InboundMessage.State.PARKED), review__isnull=True
    ).defer("raw")


def ignored_messages() -> QuerySet[InboundMessage]:
    return InboundMessage.objects.filter(decision=InboundMessage.Decision.IGNORED).defer("raw")


def filter_messages(messages: QuerySet[InboundMessage], found: Filters) -> QuerySet[InboundMessage]:
    if found.case_only:
        return messages.none()
    if found.text:
        messages = messages.filter(
            Q(sender__icontains=found.text) | Q(subject__icontains=found.text)
        )
    zone = timezone.get_current_timezone()
    if found.received_from:
        start = datetime.combine(found.received_from, datetime.min.time(), zone)
        messages = messages.filter(received_at__gte=start)
    if found.received_to:
        end = datetime.combine(found.received_to + timedelta(days=1), datetime.min.time(), zone)
        messages = messages.filter(received_at__lt=end)
    return messages


MESSAGE_SORTS: dict[str, tuple[Any, ...]] = {
    "received": ("received_at", "pk"),
    "reference": ("pk",),
}


def message_rows(messages: Iterable[InboundMessage]) -> list[Row]:
    """Rows for messages (read without their raw bytes), attachments' names included."""
    messages = list(messages)
    names: dict[int, list[str]] = {}
    from intake.models import Attachment

    for message_id, name in (
        Attachment.objects.filter(message_id__in=[m.pk for m in messages])
        .order_by("pk")
        .values_list("message_id", "filename")
    ):
        names.setdefault(message_id, []).append(name)
    rows = []
    for m in messages:
        fields = (m.assessment or {}).get("fields") or {}
        rows.append(
            Row(
                url=reverse("message", args=[m.pk]),
                label=f"Message {m.pk}",
                is_case=False,
                initials=display.initials(fields),
                form=questions.short_form_name((m.assessment or {}).get("form_type") or ""),
                received=casework.received_day(m),
                status=display.message_status(m),
                why=display.message_why(m),
                sender=m.sender,
                subject=display.redact(m.subject, fields),
                attachments=[display.redact(n, fields) for n in names.get(m.pk, []) if n],
            )
        )
    return rows


def _sort_key(row: Row) -> date:
    return row.received or date.min


def page_of(found: Filters, today: date, number: Any, per_page: int) -> Any:
    """Page ``number`` of the filtered tab (a bad number gives the nearest page).

    Single-table tabs are paged in the database; "Needs review" mixes cases and
    messages and is sorted in memory (the short list a person clears daily).
    """
    tab = next(t for t in TABS if t.key == found.tab)
    sort = found.sort or tab.sort
    if tab.key == "ignored":
        messages = filter_messages(ignored_messages(), found)
        ordered = messages.order_by(*_message_order(sort))
        page: Any = Paginator(ordered, per_page).get_page(number)
        page.object_list = message_rows(page.object_list)
        return page
    cases = filter_cases(cases_in(tab.key), found, today)
    ordered_cases = cases.order_by(*CASE_SORTS.get(sort, CASE_SORTS["-received"]))
    if tab.key == "needs_review":
        rows = case_rows(ordered_cases, today)
        rows += message_rows(filter_messages(waiting_messages(), found))
        rows.sort(key=_sort_key, reverse=sort != "received")
        return Paginator(rows, per_page).get_page(number)
    cases_page: Any = Paginator(ordered_cases, per_page).get_page(number)
    cases_page.object_list = case_rows(cases_page.object_list, today)
    return cases_page


def _message_order(sort: str) -> tuple[Any, ...]:
    if sort in MESSAGE_SORTS:
        return MESSAGE_SORTS[sort]
    return (F("received_at").desc(nulls_last=True), "-pk")


def counts(found: Filters, today: date) -> dict[str, int]:
    """How many rows each tab has under the same filters."""
    result = {}
    for tab in TABS:
        if tab.key == "ignored":
            result[tab.key] = filter_messages(ignored_messages(), found).count()
            continue
        n = filter_cases(cases_in(tab.key), found, today).count()
        if tab.key == "needs_review":
            n += filter_messages(waiting_messages(), found).count()
        result[tab.key] = n
    return result


def all_cases(found: Filters, today: date) -> QuerySet[Referral]:
    """Every case the filters match in their tab (for the export), in the tab's order;
    the message-only tab (ignored) gives none."""
    tab = next(t for t in TABS if t.key == found.tab)
    if tab.key == "ignored":
        return Referral.objects.none()
    cases = filter_cases(cases_in(tab.key), found, today)
    return cases.order_by(*CASE_SORTS.get(found.sort or tab.sort, CASE_SORTS["-received"]))
