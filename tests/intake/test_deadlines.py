"""England's working days and the statutory clocks (README "Checks beyond presence")."""

from __future__ import annotations

import email
import json
from datetime import date, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from intake.deadlines import (
    add_working_days,
    is_late_notification,
    is_working_day,
    rapid_review_due,
    received_date,
)

EXAMPLES = Path(__file__).resolve().parents[3] / "shared" / "forms" / "examples"
days = st.dates(min_value=date(2024, 1, 1), max_value=date(2030, 12, 31))


def test_it_skips_the_weekend():
    assert add_working_days(date(2026, 1, 30), 1) == date(2026, 2, 2)  # Friday -> Monday


def test_it_does_not_count_the_start_day():
    assert add_working_days(date(2026, 1, 5), 1) == date(2026, 1, 6)


def test_it_skips_good_friday_and_easter_monday():
    # Thursday 2 April 2026; Good Friday 3rd, weekend, Easter Monday 6th.
    assert add_working_days(date(2026, 4, 2), 1) == date(2026, 4, 7)


def test_it_counts_a_rapid_review_across_easter_by_hand():
    # Notified Monday 23 March 2026: working days 24,25,26,27 (4), 30,31,1,2 (8),
    # [3 Good Friday, 6 Easter Monday], 7,8,9,10 (12), 13,14,15 (15).
    assert rapid_review_due(date(2026, 3, 23), date(2026, 3, 24)) == date(2026, 4, 15)


def test_it_counts_a_rapid_review_across_christmas_by_hand():
    # Notified Friday 11 December 2026: 14-18 (5), 21,22,23,24 (9),
    # [25 Christmas, 28 Boxing Day observed], 29,30,31 (12), [1 Jan], 4,5,6 (15).
    assert rapid_review_due(date(2026, 12, 11), date(2026, 12, 14)) == date(2027, 1, 6)


def test_it_counts_from_arrival_when_no_notification_date_is_known():
    # Arrived Friday 30 January 2026: 15 working days later is Friday 20 February.
    assert rapid_review_due(None, date(2026, 1, 30)) == date(2026, 2, 20)


def test_it_counts_from_a_sunday_notification_as_from_the_weekend():
    # zipped.json: notified Sunday 25 October 2026, due Friday 13 November.
    assert rapid_review_due(date(2026, 10, 25), date(2026, 10, 26)) == date(2026, 11, 13)


def test_it_flags_a_notification_after_the_fifth_working_day_as_late():
    # Aware Tuesday 20 October: 5th working day after is Tuesday 27 October.
    assert not is_late_notification(date(2026, 10, 20), date(2026, 10, 27))
    assert is_late_notification(date(2026, 10, 20), date(2026, 10, 28))


def test_it_gives_a_late_notification_extra_days_over_a_bank_holiday():
    # Aware Wednesday 23 December 2026: 24, [25, 28], 29, 30, 31, [1 Jan], 4 -> 5th is 4 January.
    assert not is_late_notification(date(2026, 12, 23), date(2027, 1, 4))
    assert is_late_notification(date(2026, 12, 23), date(2027, 1, 5))


@given(days, st.integers(min_value=1, max_value=60))
def test_it_always_lands_on_a_working_day(start, n):
    assert is_working_day(add_working_days(start, n))


@given(days, st.integers(min_value=0, max_value=40), st.integers(min_value=0, max_value=40))
def test_it_adds_working_days_in_steps(start, a, b):
    stepped = add_working_days(start, a)
    if a and b:
        assert add_working_days(stepped, b) == add_working_days(start, a + b)


@given(days, st.integers(min_value=1, max_value=60))
def test_it_counts_exactly_n_working_days_in_between(start, n):
    end = add_working_days(start, n)
    between = [start + timedelta(days=i) for i in range(1, (end - start).days + 1)]
    assert sum(is_working_day(d) for d in between) == n


def _message(*received: str, date_header: str | None = None) -> EmailMessage:
    msg = EmailMessage()
    for value in received:
        msg["Received"] = value
    if date_header:
        msg["Date"] = date_header
    return msg


def test_it_takes_the_newest_received_header_in_uk_time():
    msg = _message(
        "from mx1 by mbx; Tue, 02 Jun 2026 23:30:00 +0000",  # newest, topmost: 00:30 BST on 3 June
        "from sender by mx1; Tue, 02 Jun 2026 22:59:00 +0000",
        date_header="Tue, 02 Jun 2026 22:58:00 +0000",
    )
    assert received_date(msg) == date(2026, 6, 3)


def test_it_uses_the_date_header_when_there_is_no_received_header():
    msg = _message(date_header="Fri, 30 Jan 2026 23:59:00 -0500")  # 04:59 on 31 Jan in London
    assert received_date(msg) == date(2026, 1, 31)


def test_it_falls_back_to_date_when_received_has_no_timestamp():
    msg = _message("from somewhere by mx1", date_header="Fri, 30 Jan 2026 12:00:00 +0000")
    assert received_date(msg) == date(2026, 1, 30)


def test_it_refuses_a_message_with_no_date_at_all():
    with pytest.raises(ValueError):
        received_date(_message())


@pytest.mark.parametrize("name", sorted(p.stem for p in EXAMPLES.glob("*.json")))
def test_it_agrees_with_every_example(name):
    expected = json.loads((EXAMPLES / f"{name}.json").read_text())
    with open(EXAMPLES / f"{name}.eml", "rb") as handle:
        msg = email.message_from_binary_file(handle)
    arrived = received_date(msg)
    assert arrived.isoformat() == expected["received"][:10]
    if "rapid_review_due" in expected.get("deadlines", {}):
        fields = expected["fields"]
        notified = fields.get("date_notified") or (
            fields.get("sin_date") if fields.get("sin_submitted") == "yes" else None
        )
        due = rapid_review_due(date.fromisoformat(notified) if notified else None, arrived)
        assert due.isoformat() == expected["deadlines"]["rapid_review_due"]


def test_it_falls_back_to_the_date_when_a_received_timestamp_overflows():
    msg = email.message_from_string(
        "Received: from x by y; Mon, 1 Jan 2026 00:00:00 +99999999999999999999\n"
        "Date: Fri, 30 Jan 2026 15:44:35 +0000\n\nbody\n"
    )
    assert received_date(msg) == date(2026, 1, 30)
