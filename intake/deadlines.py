"""England's working days, and the statutory clocks counted in them.

Pure functions: no Django, no database, no network.  Bank holidays come from
the ``holidays`` package (England and Wales, ``subdiv="ENG"``), which ships
its calendar with the code, so nothing is fetched at run time.

The rules are those of ``../shared/forms/README.md`` ("Checks beyond
presence"):

* a Rapid Review is due on the 15th working day after the day the National
  Panel was notified (that day itself is not counted), or, with no
  notification date, after the day the referral arrived;
* a notification is late when it was made after the 5th working day
  following the day the local authority became aware of the incident;
* the day a referral arrived is the date, in UK time, of the newest
  ``Received`` header, or of ``Date`` where there is none.

Example::

    # Good Friday, a weekend and Easter Monday lie between:
    add_working_days(date(2026, 4, 2), 1)  # -> date(2026, 4, 7)
"""

from __future__ import annotations

import email.message
import email.utils
from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

RAPID_REVIEW_WORKING_DAYS = 15
NOTIFICATION_WORKING_DAYS = 5


@lru_cache(maxsize=64)
def _bank_holidays(year: int) -> frozenset[date]:
    calendar = holidays.country_holidays("GB", subdiv="ENG", years=year)
    return frozenset(calendar.keys())


def is_working_day(day: date) -> bool:
    """True for Monday to Friday except England and Wales bank holidays."""
    return day.weekday() < 5 and day not in _bank_holidays(day.year)


def add_working_days(start: date, n: int) -> date:
    """The ``n``th working day after ``start`` (``start`` itself is not counted).

    ``n`` must be >= 0; ``add_working_days(d, 0)`` is ``d``.
    Raises ValueError for a negative ``n``.
    """
    if n < 0:
        raise ValueError("n must not be negative")
    day = start
    counted = 0
    while counted < n:
        day += timedelta(days=1)
        if is_working_day(day):
            counted += 1
    return day


def rapid_review_due(notified_on: date | None, received_on: date) -> date:
    """When the Rapid Review is due: 15 working days after notification, else arrival."""
    return add_working_days(notified_on or received_on, RAPID_REVIEW_WORKING_DAYS)


def is_late_notification(became_aware: date, notified: date) -> bool:
    """True when ``notified`` is after the 5th working day following ``became_aware``."""
    return notified > add_working_days(became_aware, NOTIFICATION_WORKING_DAYS)


def received_date(msg: email.message.Message, tz: str = "Europe/London") -> date:
    """The day (in ``tz``) the message reached us.

    The newest ``Received`` header is the topmost one (RFC 5321 §4.4: each
    relay prepends its own); its timestamp follows the last ``;``.  Where no
    ``Received`` header carries a readable timestamp, ``Date`` is used.
    Raises ValueError when neither gives a date.
    """
    zone = ZoneInfo(tz)
    for header in msg.get_all("Received") or []:
        stamp = _received_timestamp(str(header))
        if stamp is not None:
            return stamp.astimezone(zone).date()
    stamp = _parse_timestamp(str(msg.get("Date") or ""))
    if stamp is None:
        raise ValueError("message has neither a Received timestamp nor a Date")
    return stamp.astimezone(zone).date()


def _received_timestamp(header: str) -> datetime | None:
    # RFC 5321 §4.4: the date-time follows the final semicolon of the trace line.
    if ";" not in header:
        return None
    return _parse_timestamp(header.rsplit(";", 1)[1])


def _parse_timestamp(text: str) -> datetime | None:
    text = " ".join(text.split())
    if not text:
        return None
    try:
        stamp = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if stamp.tzinfo is None:
        # RFC 5322 §3.3: "-0000" means the zone is unknown; UTC is the least wrong guess.
        stamp = stamp.replace(tzinfo=ZoneInfo("UTC"))
    return stamp
