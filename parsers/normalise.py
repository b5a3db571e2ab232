"""Turning answers as people write them into the values the service stores.

Pure functions, no I/O.  Dates are read day first, as in the UK
(``03/04/2026`` is 3 April 2026); anything that is not a real date is
returned as None so the caller can keep the text as written.

>>> parse_uk_date("3rd April 2026")
datetime.date(2026, 4, 3)
>>> parse_uk_date("31/02/2026") is None
True
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from functools import lru_cache

_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200b\u202f\u205f\u3000]+")
_PUNCT = re.compile(r"[^\w\s]")

MONTHS = {
    "jan": 1, "january": 1, "feb": 2, "february": 2, "mar": 3, "march": 3,
    "apr": 4, "april": 4, "may": 5, "jun": 6, "june": 6, "jul": 7, "july": 7,
    "aug": 8, "august": 8, "sep": 9, "sept": 9, "september": 9, "oct": 10,
    "october": 10, "nov": 11, "november": 11, "dec": 12, "december": 12,
}  # fmt: skip
_MONTH_WORD = "|".join(sorted(MONTHS, key=len, reverse=True))
_WEEKDAYS = r"(?:mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)(?:day|nesday|sday|urday)?"
# Where a numeric date may start and end: not inside a longer run of numbers
# ("10-12/08/2026" is a range, not 10 December 2008; "2026-13/08" is no date), but
# beside a full stop or a dash ("on 12/08/2026.", "DOB:-12/08/2019", "c.12/08/26").
_NUM_START = r"(?<!\d)(?<!\d[/.\-])"
_NUM_END = r"(?!\d)(?![/.\-]\d)"
# One separator throughout.
_NUMERIC = re.compile(
    rf"{_NUM_START}(\d{{1,2}})\s*([./\-])\s*(\d{{1,2}})\s*\2\s*(\d{{4}}|\d{{2}}){_NUM_END}"
)
# The whole answer in single spaces, the year in full: "12 08 2026" (DD MM YYYY boxes).
_SPACED = re.compile(r"^\s*(\d{1,2}) (\d{1,2}) (\d{4})\s*$")
_SPACED_ANYWHERE = re.compile(r"(?<!\d)\d{1,2} \d{1,2} \d{4}(?!\d)")
_ISO = re.compile(rf"{_NUM_START}(\d{{4}})\s*([-/.])\s*(\d{{1,2}})\s*\2\s*(\d{{1,2}}){_NUM_END}")
# A year of two digits: right after the month ("12 Aug 26", "12-Aug-26"), ending the
# answer or followed by a note ("12.Aug.26 (approx)", "12 Aug 26 at 14:30", "12 Aug 26
# - seen by GP"); anything else after it may make it a time ("12 Aug 14:00", "3 Aug
# 11 p.m.", "12 noon", "10 - 11am") or a second day ("12 Aug - 13 Aug 2026").
_TWO_DIGIT_YEAR = (
    r"[\s.\-/](\d{2})(?=\s*(?:[.,;)\]]\s*)*$|\s*[,;]?\s*\(|\s+-\s+[^\W\d_]"
    r"|\s+(?:at|on|by|approx|about|around|circa|when|and\s+[^\W\d_])\b)"
)
_DAY_MONTH = re.compile(
    rf"(?<!\d)(\d{{1,2}})(?:st|nd|rd|th)?(?:\s+of)?[\s.\-/,]*({_MONTH_WORD})\.?"
    rf"(?:[\s.\-/,]*(\d{{4}})(?!\d)|{_TWO_DIGIT_YEAR})",
    re.IGNORECASE,
)
_MONTH_DAY = re.compile(
    rf"\b({_MONTH_WORD})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})(?!\d)", re.IGNORECASE
)
_PATTERNS = (
    (_ISO, "y.md"),
    (_NUMERIC, "d.my"),
    (_SPACED, "dmy"),
    (_DAY_MONTH, "dMyy"),
    (_MONTH_DAY, "Mdy"),
)
# Two days or dates joined as a range or a choice: "10-12/08/2026", "30/07 - 02/08/2026",
# "12 or 13 Aug 2026", "between 10 and 12 August 2026", "11th-12th August", "12 Aug -
# 13 Aug 2026", "10th/11th August"; the second must go on as a date ("/08/2026",
# " August"), so times ("between 9.30 and 10.30") are not ranges of days.
_DAY = r"\d{1,2}(?:st|nd|rd|th)?"
_RANGE = re.compile(
    rf"(?<![\d/.\-]){_DAY}(?:\s*[./]\s*\d{{1,2}}(?:\s*[./]\s*\d{{2,4}})?"
    rf"|\s+(?:of\s+)?(?:{_MONTH_WORD})\b\.?(?:,?\s*\d{{4}})?)?"
    r"\s*(?:-|/|,|\bto\b|\band\b|\bor\b|&)\s*"
    rf"{_DAY}(?=\s*[./]\s*\d{{1,2}}\s*[./]\s*\d{{2,4}}|\s+(?:of\s+)?(?:{_MONTH_WORD})\b)",
    re.IGNORECASE,
)
# A day and month with no year: "12th Aug", "12/08".
_NO_YEAR = re.compile(
    rf"(?<!\d)\d{{1,2}}(?:st|nd|rd|th)?(?:\s+of)?[\s.\-/,]*(?:{_MONTH_WORD})\b\.?"
    rf"|\b(?:{_MONTH_WORD})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?\b"
    r"|(?<![\d/.\-])\d{1,2}\s*[./]\s*\d{1,2}(?![\d/.\-])",
    re.IGNORECASE,
)
# A month and year with no day: "August 2026", "mid-Aug 2026", "08/2026".
_NO_DAY = re.compile(
    rf"\b(?:{_MONTH_WORD})\.?,?\s+\d{{4}}(?!\d)|(?<![\d/.\-])\d{{1,2}}\s*[./]\s*\d{{4}}(?!\d)",
    re.IGNORECASE,
)
# Word's non-breaking and other hyphens and dashes, and the minus sign: "12‑08‑2026".
_DASHES = str.maketrans(dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2212", "-"))
_NOT_ANSWERS = {
    "na", "n a", "not applicable", "none", "nil", "n k", "nk", "not known", "unknown",
    "tbc", "to be confirmed", "dont know",
}  # fmt: skip


def fold_text(text: str) -> str:
    """Trim, fold runs of spaces and tabs to one space, keep lines (``\\n``).

    Blank lines inside the text are dropped: a person's paragraph breaks in a
    form cell carry no meaning the team relies on, and renderers disagree on them.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n")
    lines = (_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


@lru_cache(maxsize=4096)
def comparable(text: str) -> str:
    """A form of ``text`` for comparing wordings: lower case, no accents or
    punctuation, no numbering ("4.", "Section D –", "(a)"), single spaces.

    Remembered (issue 10): matching one form compares each of the schema's
    option and question wordings with every answer, a million calls a few
    dozen forms, over a few thousand distinct texts.
    """
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = text.lower().replace("&", " and ").replace("’", "'")
    text = re.sub(r"(?<=\w)'s\b", "", text).replace("'", "")  # "child's" is "child"
    text = re.sub(r"^\s*(section|part)\s+[a-z0-9]{1,3}\b", " ", text)
    # "4.", "(a)", "iv.", "2.1": numbering; "Tel." or "Ref." is a word (issue 7)
    text = re.sub(r"^\s*(\(?(?:[a-z]|[ivx]{1,4}|\d{1,3})[.)]|\d{1,2}(\.\d{1,2})*)\s+", " ", text)
    text = _PUNCT.sub(" ", text).replace("_", " ")
    return " ".join(text.split())


# Where a question or an option's qualifier starts: a comma or dash, or a word that
# opens a phrase saying to whom, where, when or including what ("Date of referral
# *to* the SCR sub-group", "Details of the incident*, including* location",
# "Serious harm to a child *where* abuse or neglect is known").  "of" and "and"
# are not among them: "Date of birth" and "Date and time" are whole.
_CLAUSE = r"\s*[,;:]\s*|\s+[-–—]\s+|\s+(?:including|incl\.?|such as|e\.?g\.?|where|whether|if)\s+"
_PHRASE = r"\s+(?:to|at|by|for|from|within|with|in|on|as)\s+"
_CLAUSE_START = re.compile(_CLAUSE, re.IGNORECASE)
_QUALIFIER_START = re.compile(f"{_CLAUSE}|{_PHRASE}", re.IGNORECASE)


@lru_cache(maxsize=8192)
def qualifier_cuts(text: str, phrases: bool = True) -> tuple[str, ...]:
    """``text`` cut before each place a qualifier could start, shortest first
    ("Serious harm to a child where abuse is known" -> "Serious harm",
    "Serious harm to a child"); with ``phrases`` false, only before a clause
    (a comma, a dash, "where", "including"...), not a phrase ("to a child")."""
    pattern = _QUALIFIER_START if phrases else _CLAUSE_START
    return tuple(text[: m.start()] for m in pattern.finditer(text) if m.start() > 0)


def is_non_answer(text: str) -> bool:
    """True for "N/A", "n/k", "-", "none" and the like: an answer that says nothing."""
    key = comparable(text)
    return not key or key in _NOT_ANSWERS


def two_digit_year(yy: int, today: date | None = None) -> int:
    """Expand ``yy`` to the latest year that is not more than a year in the future."""
    this_year = (today or date.today()).year
    year = 2000 + yy
    return year if year <= this_year + 1 else 1900 + yy


def parse_uk_date(text: str, today: date | None = None) -> date | None:
    """The date ``text`` states, read day first; None when it states no real date.

    Accepts ``03/04/2026``, ``3.4.26``, ``03-04-2026``, ``2026-04-03``,
    ``3 April 2026``, ``3rd of Apr. 2026``, ``Friday 3 April 2026``,
    ``April 3, 2026``.  A text holding more than one date is not a date.
    """
    found = _dates_and_spans(text, today)
    if len(found) != 1 or _more_than_one(text, found):
        return None
    return found[0][0]


def _more_than_one(text: str, found: list[tuple[date | None, tuple[int, int]]]) -> bool:
    """Whether ``text`` gives more than the date ``found`` (with their spans): a
    second full date, a range or a choice of days ("10–12/08/2026"), part of a date
    beside it ("17/03/2026, sent 19/03"), or a second date in spaces ("12 08 2026 -
    13/08/2026")."""
    if len(found) > 1 or _RANGE.search(text.translate(_DASHES)):
        return True
    spaced = bool(_SPACED_ANYWHERE.search(text)) and not _SPACED.match(text)
    return bool(found) and (spaced or _part_date_beside(text, [span for _d, span in found]))


def dates_in(text: str, today: date | None = None) -> list[date | None]:
    """Each date ``text`` writes, in the patterns' order; None for one that is no
    real date ("31/02/2026")."""
    return [day for day, _span in _dates_and_spans(text, today)]


def _cleaned(text: str) -> str:
    """Weekday names out, dashes as hyphens; the same length as ``text`` stripped."""
    return _WEEKDAY.sub(lambda m: " " * len(m.group(0)), text.strip().translate(_DASHES))


def _digit_typed_as_letter(text: str, start: int) -> bool:
    """A letter that looks like a digit, alone right before a date's first digit: in
    "l2/08/2026" or "O1/08/2026" it is a digit typed wrong, so the day is not known
    ("2 August" would be a wrong value).  Not a word glued on ("on12/08/2026")."""
    return start > 0 and text[start - 1] in "lIoO" and (start == 1 or not text[start - 2].isalpha())


_ENOUGH_DATES = 3  # callers tell none, one and several: a text of thousands stops here


def _dates_and_spans(
    text: str, today: date | None = None
) -> list[tuple[date | None, tuple[int, int]]]:
    cleaned = _cleaned(text)
    found: list[tuple[date | None, tuple[int, int]]] = []
    for pattern, order in _PATTERNS:
        for match in pattern.finditer(cleaned):
            if any(s <= match.start() < e for _d, (s, e) in found):
                continue
            if _digit_typed_as_letter(cleaned, match.start()):
                continue
            found.append((_build_date(match.groups(), order, today), match.span()))
            if len(found) >= _ENOUGH_DATES:
                return found
    return found


def _part_date_beside(text: str, spans: list[tuple[int, int]]) -> bool:
    """Part of a date besides the full dates: a day and month with no year ("drafted
    17/03/2026, sent 19/03"), a month and year ("June 2020 - 14/08/2026"), a day
    after a range word ("12/08/2026 to 14th").  A time in dots ("at 9.30") is none."""
    cleaned = _cleaned(text)
    for pattern in (_NO_YEAR, _NO_DAY, _DAY_AFTER_RANGE):
        for m in pattern.finditer(cleaned):
            outside = not any(s <= m.start() < e or m.start() <= s < m.end() for s, e in spans)
            if outside and (pattern is not _NO_YEAR or not _TIME_IN_DOTS.fullmatch(m.group(0))):
                return True
    return False


_TIME_IN_DOTS = re.compile(r"\d{1,2}\s*\.\s*\d{1,2}")  # "9.30": no day and month
_DAY_AFTER_RANGE = re.compile(
    r"(?:-|\bto\b|\bor\b|\band\b|&)\s*\d{1,2}(?:st|nd|rd|th)\b", re.IGNORECASE
)


_WEEKDAY = re.compile(rf"\b{_WEEKDAYS}\b,?", re.IGNORECASE)
# Words a date is written with, which say nothing more about it.
_DATE_WORDS = re.compile(
    rf"\b(?:{_MONTH_WORD}|{_WEEKDAYS}|on|at|the|of|st|nd|rd|th|am|pm|hrs|dob|date|d\.o\.b)\b\.?",
    re.IGNORECASE,
)


def words_beside_the_date(text: str) -> bool:
    """Whether a date answer says more than its date ("Will be submitted 23/03/2026",
    "14/03/2026 (hospital admission)"): words that may explain why it looks wrong."""
    cleaned = _cleaned(text)
    for _day, (start, end) in _dates_and_spans(text):
        cleaned = cleaned[:start] + " " * (end - start) + cleaned[end:]
    return bool(re.search(r"[^\W\d_]{2,}", _DATE_WORDS.sub(" ", cleaned)))


def date_doubt(text: str) -> str | None:
    """Why a date answer we cannot read as one date may still be a right answer,
    for a person to judge: it gives two dates or more ("12/08/2026 - 13/08/2026",
    "10–12/08/2026"), a month with no day ("August 2026"), a day with no year
    ("12th Aug"), or it is not written as a date ("Not yet known", "today",
    "12/08/2O26").  None when it writes one date that does not exist ("31/02/2026"):
    that is wrong for sure."""
    with_spans = _dates_and_spans(text)
    found = [day for day, _span in with_spans]
    dashed = text.translate(_DASHES)
    several = _more_than_one(text, with_spans)
    if (several and any(day is not None for day in found)) or _RANGE.search(dashed):
        return "gives more than one date"
    if found:
        wrong_way = _NUMERIC.search(dashed)
        if wrong_way and int(wrong_way.group(1)) <= 12 < int(wrong_way.group(3)) <= 31:
            return "may be written month first"
        return None
    if _NO_DAY.search(dashed):
        return "gives no day"
    if _NO_YEAR.search(dashed):
        return "gives no year"
    return "is not written as a date"


def _build_date(groups: tuple[str, ...], order: str, today: date | None) -> date | None:
    # A pattern with alternatives names its groups in ``order`` once each; "." is a
    # separator; the groups of the alternative that did not match are None.
    parts = {k: g for k, g in zip(order, groups, strict=True) if g is not None and k != "."}
    try:
        month = MONTHS[parts["M"].lower()] if "M" in parts else int(parts["m"])
        year = int(parts["y"])
        if len(parts["y"]) == 2:
            year = two_digit_year(year, today)
        return date(year, month, int(parts["d"]))
    except (ValueError, KeyError):
        return None
