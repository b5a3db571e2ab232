"""The figures the partnership reports to its board and the National Panel (issue 12).

Pure reading of the store over a period; no names, only counts and durations.  The
dashboard draws them (`intake.web.charts`); each figure is also a table.
"""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from intake import questions
from intake.models import CaseStep, InboundMessage, OutboundEmail, Referral, Submission
from intake.vocabulary import Decision, ReplyKind

AGENCY_KEYS = ("referrer_agency", "notifying_la")
TOP_AGENCIES = 8


@dataclass
class Figure:
    """One chart's data: labelled counts, in order, with a sentence saying what it shows."""

    title: str
    summary: str
    rows: list[tuple[str, float]] = field(default_factory=list)
    unit: str = "referrals"


def months(start: date, end: date) -> list[date]:
    """The first day of every month from ``start``'s to ``end``'s."""
    found, day = [], start.replace(day=1)
    while day <= end:
        found.append(day)
        day = (day + timedelta(days=32)).replace(day=1)
    return found


def cases_in_period(start: date, end: date) -> QuerySet[Referral]:
    return Referral.objects.filter(received_on__gte=start, received_on__lte=end)


def per_month(start: date, end: date) -> Figure:
    days = cases_in_period(start, end).values_list("received_on", flat=True)
    counts = Counter(d.replace(day=1) for d in days if d is not None)
    rows = [(f"{m:%b %Y}", float(counts.get(m, 0))) for m in months(start, end)]
    total = int(sum(v for _, v in rows))
    busiest = max(rows, key=lambda r: r[1]) if rows else ("", 0)
    summary = f"{total} referrals received in {len(rows)} months"
    if total:
        summary += f"; the most in {busiest[0]} ({int(busiest[1])})."
    return Figure("Referrals received per month", summary, rows)


def by_agency(start: date, end: date) -> Figure:
    counts: Counter[str] = Counter()
    for fields in cases_in_period(start, end).values_list("fields", flat=True):
        name = next((str(fields[k]).strip() for k in AGENCY_KEYS if fields.get(k)), "")
        counts[name or "Not given"] += 1
    top = counts.most_common(TOP_AGENCIES)
    rest = sum(counts.values()) - sum(n for _, n in top)
    rows = [(name, float(n)) for name, n in top] + (
        [("Other agencies", float(rest))] if rest else []
    )
    summary = (
        f"{len(counts)} agencies referred; the most from {top[0][0]} ({top[0][1]})."
        if top
        else "No referrals in the period."
    )
    return Figure("Referrals by agency", summary, rows)


def by_form_type(start: date, end: date) -> Figure:
    counts = Counter(cases_in_period(start, end).values_list("form_type", flat=True))
    rows = [(questions.short_form_name(k) or "No form", float(n)) for k, n in counts.most_common()]
    summary = ", ".join(f"{int(n)} {name}" for name, n in rows) or "No referrals in the period."
    return Figure("Referrals by form", summary, rows)


def returned(start: date, end: date) -> tuple[Figure, Figure]:
    """The share returned as incomplete, and how many days referrers took to send the
    form back (first return to the next form from them)."""
    cases = list(cases_in_period(start, end).values_list("pk", flat=True))
    returns = dict(
        OutboundEmail.objects.filter(referral_id__in=cases, kind=ReplyKind.INCOMPLETE_RETURN)
        .order_by("-created")
        .values_list("referral_id", "created")
    )
    back = _days_back(returns)
    share = 100.0 * len(returns) / len(cases) if cases else 0.0
    first = Figure(
        "Referrals returned as incomplete",
        f"{len(returns)} of {len(cases)} referrals ({share:.0f}%) were returned as incomplete.",
        [
            ("Returned", float(len(returns))),
            ("Complete first time", float(len(cases) - len(returns))),
        ],
    )
    buckets = _buckets(back, ((1, "Within a day"), (3, "2 to 3 days"), (7, "4 to 7 days")), "days")
    waiting = len(returns) - len(back)
    if waiting:
        buckets.append(("Not come back yet", float(waiting)))
    median = f"the median was {statistics.median(back):.0f} days" if back else "none came back yet"
    second = Figure(
        "How long referrers took to send the form back",
        f"{len(back)} of {len(returns)} returned referrals came back; {median}.",
        buckets,
    )
    return first, second


def _days_back(returns: dict[int, datetime]) -> list[float]:
    later = Submission.objects.filter(
        referral_id__in=list(returns), kind=Submission.Kind.RESUBMISSION
    ).values_list("referral_id", "created")
    firsts: dict[int, datetime] = {}
    for referral_id, created in later.order_by("created"):
        sent = returns[referral_id]
        if created > sent and referral_id not in firsts:
            firsts[referral_id] = created
    return [(firsts[r] - returns[r]).total_seconds() / 86400 for r in firsts]


def _buckets(
    values: list[float], limits: tuple[tuple[float, str], ...], unit: str
) -> list[tuple[str, float]]:
    rows, lower = [], 0.0
    for limit, label in limits:
        rows.append((label, float(sum(1 for v in values if lower <= v <= limit))))
        lower = limit + 1e-9
    rows.append(
        (f"More than {limits[-1][0]:g} {unit}", float(sum(1 for v in values if v > limits[-1][0])))
    )
    return rows


def acknowledgement_times(start: date, end: date) -> Figure:
    """Hours from a referral reaching our mailbox to its acknowledgement being sent."""
    zone = timezone.get_current_timezone()
    since = datetime.combine(start, datetime.min.time(), zone)
    until = datetime.combine(end + timedelta(days=1), datetime.min.time(), zone)
    sent = OutboundEmail.objects.filter(
        kind=ReplyKind.ACKNOWLEDGEMENT,
        state=OutboundEmail.State.SENT,
        sent_at__gte=since,
        sent_at__lt=until,
    ).select_related("message")
    hours = [
        (r.sent_at - r.message.received_at).total_seconds() / 3600
        for r in sent
        if r.sent_at and r.message is not None and r.message.received_at
    ]
    hours = [max(h, 0.0) for h in hours]
    rows = _buckets(
        hours, ((1 / 60, "Within a minute"), (1, "Within an hour"), (24, "Within a day")), "hours"
    )
    rows[-1] = ("More than a day", rows[-1][1])
    median = f"the median was {_duration(statistics.median(hours))}" if hours else "none sent yet"
    return Figure(
        "Time from arrival to acknowledgement",
        f"{len(hours)} acknowledgements sent; {median}.",
        rows,
        unit="acknowledgements",
    )


def _duration(hours: float) -> str:
    if hours < 1:
        return f"{max(hours * 60, 0):.0f} minutes"
    return f"{hours:.1f} hours"


def rapid_reviews(start: date, end: date, today: date) -> Figure:
    """Rapid Reviews held by their due date, held late, and not held with the date passed."""
    cases = cases_in_period(start, end).exclude(rapid_review_due__isnull=True)
    held = dict(
        CaseStep.objects.filter(kind=CaseStep.Kind.RAPID_REVIEW_HELD, referral__in=cases)
        .order_by("recorded_at")
        .values_list("referral_id", "on")
    )
    on_time = late = overdue = 0
    for pk, due, status in cases.values_list("pk", "rapid_review_due", "status"):
        if due is None:
            continue
        if pk in held:
            on_time, late = (on_time + 1, late) if held[pk] <= due else (on_time, late + 1)
        elif due < today and status == Referral.Status.ACCEPTED:
            overdue += 1
    rows = [
        ("Held on time", float(on_time)),
        ("Held late", float(late)),
        ("Not held, date passed", float(overdue)),
    ]
    return Figure(
        "Rapid Reviews held on time and late",
        f"{on_time} held on time, {late} held late, {overdue} not held with the date passed.",
        rows,
        unit="cases",
    )


def late_notifications(start: date, end: date) -> Figure:
    cases = cases_in_period(start, end)
    late = sum(
        1 for flags in cases.values_list("flags", flat=True) if "late_notification" in (flags or [])
    )
    total = cases.count()
    return Figure(
        "Late notifications to the National Panel",
        f"{late} of {total} referrals were notified late (after 5 working days).",
        [("Notified late", float(late)), ("On time or not known", float(total - late))],
    )


def needs_person_now() -> dict[str, Any]:
    """The queue's state today, for the dashboard's first lines."""
    return {
        "needs_review": Referral.objects.filter(status=Referral.Status.NEEDS_REVIEW).count()
        + InboundMessage.objects.filter(decision=Decision.NEEDS_REVIEW, review__isnull=True)
        .exclude(pk__in=Submission.objects.values("message_id"))
        .count(),
        "awaiting": Referral.objects.filter(status=Referral.Status.AWAITING_RESUBMISSION).count(),
    }


def dashboard(start: date, end: date, today: date) -> list[Figure]:
    """Every figure of the dashboard, in its order."""
    share, back = returned(start, end)
    return [
        per_month(start, end),
        by_agency(start, end),
        by_form_type(start, end),
        share,
        back,
        acknowledgement_times(start, end),
        rapid_reviews(start, end, today),
        late_notifications(start, end),
    ]
