"""Is a form complete and are its answers usable?  The partnership's policy in code.

Pure: no Django, no database.  `check_completeness` takes what the form
matcher read (``parsers.forms``) and the form's schema (``config/forms``)
and returns what is missing and what is wrong, each in the form's order, in
words a referrer can act on ("Date of birth: 31/02/2026 is not a real date").

Conventions of the values (set by the matcher, see ``../shared/forms/README.md``):
a date that could be read is ``YYYY-MM-DD``; anything else in a date field is
the text as written, so it is not a real date.  A choice or yes/no is its
option key; tick boxes are a sorted list of option keys.  A blank answer is
absent (an empty string or empty list is treated the same way).

Telephone numbers: we test `phonenumbers.is_valid_number` (region GB), not
`is_possible_number`.  "Possible" only checks the length, so ``01925 88661``
(a digit dropped, the commonest slip) would pass; "valid" also checks the
number plan.  Ofcom keeps a few ranges for drama and examples that the
number plan (and so `phonenumbers`) marks unallocated although they are
well-formed UK numbers (``07700 900xxx``, ``01632 960xxx``); they are
accepted explicitly, so fictional test data and training forms pass.  The
metadata also lags the plan (it rejects ``0115 496 0xxx``), so a number it
does not know is still accepted when it has the full ten national digits
and starts like a geographic, non-geographic or mobile number: what we
must catch is the dropped or extra digit, not a range opened last month.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

import phonenumbers

from parsers.normalise import dates_in
from parsers.schema import FieldSpec, FormSchema

Value = str | list[str]

# Ofcom "numbers for drama" ranges that libphonenumber's metadata treats as unallocated.
_DRAMA_RANGES = (("7700900", 3), ("1632960", 3))
_UK_REGIONS = {"GB", "GG", "JE", "IM"}  # +44 covers the Crown Dependencies too
# No leading "\s*": tried at every place, it is quadratic on a long run of spaces.
_PHONE_SEPARATORS = re.compile(r"/|;|,|\bor\b|\band\b", re.IGNORECASE)
# Between addresses: "," ";" "/" a new line, a bracket, or "and" / "or" standing alone
# ("office@st-peter-and-paul.sch.uk" is one address).
_LIST_SEPARATORS = re.compile(r"[/;,\n(<\[]|(?<=\s)(?:or|and)(?=\s)", re.IGNORECASE)
# A number tried, shaped like the answer asked for: ten digits or so for an NHS
# number, a number dialled from 0 or + for a telephone ("hospital no. RBT123456" or
# "GP 01925 444000" beside "NHS number: awaited" are not tries at it).
_DIGIT_GROUP = re.compile(r"\d(?:[\s-]?\d)*")
_PHONE_TRIED = re.compile(r"(?:\+|(?<!\d)0)\d(?:[\s-]?\d){7,}")
_NHS_NUMBER = re.compile(r"(?<!\d)\d{3}[\s-]?\d{3}[\s-]?\d{4}(?!\d)")
_EMAIL = re.compile(
    r"^[\w!#$%&'*+/=?^`{|}~-]+(?:\.[\w!#$%&'*+/=?^`{|}~-]+)*"
    r"@(?:[^\W_](?:[\w-]*[^\W_])?\.)+[^\W\d_]{2,}$"
)
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class Problem:
    """An answer that is there but cannot be used, and why (plain words)."""

    field: str
    reason: str


@dataclass
class Completeness:
    """What is missing and what is wrong, each in the form's order."""

    missing: list[str] = field(default_factory=list)
    invalid: list[Problem] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.missing and not self.invalid


def check_completeness(
    schema: FormSchema, values: Mapping[str, Value], received_on: date
) -> Completeness:
    """Check every question of ``schema`` against ``values``.

    ``missing`` holds the keys of required questions left blank (where
    ``required_unless`` pairs two questions and neither is answered, both);
    ``invalid`` holds at most one `Problem` per answered question.
    """
    result = Completeness()
    for spec in schema.fields:
        if not is_given(values.get(spec.key)):
            if is_required(spec, values):
                result.missing.append(spec.key)
            continue
        if _not_asked(spec, values):
            continue  # "Date of notification: not yet" under "No": a note, not an answer
        if not is_required(spec, values) and _a_note(spec, values[spec.key]):
            continue  # "NHS number: awaited": a question we do not need answered
        reason = answer_problem(spec, schema, values, received_on)
        if reason is not None:
            result.invalid.append(Problem(spec.key, f"{spec.question}: {reason}"))
    return result


def _not_asked(spec: FieldSpec, values: Mapping[str, Value]) -> bool:
    """A follow-up question whose condition the form's answers rule out ("If
    yes, date of notification" under "No"): whatever is written there is a
    note, never a reason to send the form back."""
    if spec.required_if is None:
        return False
    other = values.get(spec.required_if.field)
    return is_given(other) and not is_required(spec, values)


def _a_note(spec: FieldSpec, value: Value) -> bool:
    """A date, number or address question answered without one ("awaited", "not yet
    allocated – baby born 10/01", "no work mobile"): a note, where the question may
    be left blank.  An answer that tries and fails ("31/02/2026", "01925 44332")
    is no note."""
    text = value if isinstance(value, str) else " ".join(value)
    if spec.type == "date":
        return not dates_in(text)
    if "nhs_number" in spec.checks:
        return not any(
            len(re.sub(r"\D", "", g.group(0))) in (9, 10) for g in _DIGIT_GROUP.finditer(text)
        )
    if spec.type == "phone" or "uk_phone" in spec.checks:
        return not _PHONE_TRIED.search(text)
    if spec.type == "email" or "email" in spec.checks:
        return "@" not in text
    return False


def is_given(value: Value | None) -> bool:
    """True when an answer is there (not absent, blank or an empty list)."""
    if value is None:
        return False
    if isinstance(value, str):
        return bool(value.strip())
    return any(str(v).strip() for v in value)


def is_required(spec: FieldSpec, values: Mapping[str, Value]) -> bool:
    """Whether ``spec`` must be answered, given the other answers."""
    if spec.required_unless is not None:
        return not is_given(values.get(spec.required_unless))
    if spec.required_if is not None:
        other = values.get(spec.required_if.field)
        if isinstance(other, list):
            return spec.required_if.equals in other
        return other is not None and other.strip() == spec.required_if.equals
    return spec.required or spec.min_ticks > 0


def answer_problem(
    spec: FieldSpec, schema: FormSchema, values: Mapping[str, Value], received_on: date
) -> str | None:
    """Why a given answer cannot be used, or None when it can."""
    value = values[spec.key]
    if spec.type in ("choice", "yesno"):
        return _choice_problem(spec, value)
    if spec.type == "checks":
        return _checks_problem(spec, value)
    text = value if isinstance(value, str) else "; ".join(value)
    text = text.strip()
    if spec.type == "date":
        return _date_problem(spec, schema, values, text, received_on)
    if spec.type == "email" or "email" in spec.checks:
        return None if gives_valid_email(text) else f"{text} is not a valid email address"
    if spec.type == "phone" or "uk_phone" in spec.checks:
        return None if is_valid_uk_phone(text) else f"{text} is not a valid UK telephone number"
    if "nhs_number" in spec.checks and not is_valid_nhs_number(text):
        return f"{text} is not a valid NHS number (10 digits with a correct check digit)"
    return None


def _options_text(spec: FieldSpec) -> str:
    return ", ".join(o.label for o in spec.options)


def _choice_problem(spec: FieldSpec, value: Value) -> str | None:
    if isinstance(value, list):
        keys = [v for v in value if v.strip()]
        if len(keys) > 1:
            return f"more than one answer is ticked; please tick one of: {_options_text(spec)}"
        value = keys[0]
    if spec.option(value.strip()) is None:
        answer = value.strip()
        return f"{answer} is not one of the answers; please tick one of: {_options_text(spec)}"
    return None


def _checks_problem(spec: FieldSpec, value: Value) -> str | None:
    ticked = [value] if isinstance(value, str) else [v for v in value if v.strip()]
    unknown = [v for v in ticked if spec.option(v.strip()) is None]
    if unknown:
        return f"{'; '.join(unknown)} is not one of the answers: {_options_text(spec)}"
    if len(ticked) < spec.min_ticks:
        return f"please tick at least {spec.min_ticks} of the boxes"
    return None


def as_date(value: Value | None) -> date | None:
    """The date an answer holds when the matcher could read it (``YYYY-MM-DD``)."""
    if not isinstance(value, str) or not _ISO_DATE.match(value.strip()):
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        return None


def uk_date(day: date) -> str:
    """A date as a UK reader writes it: 03/04/2026 is 3 April."""
    return day.strftime("%d/%m/%Y")


def _date_problem(
    spec: FieldSpec,
    schema: FormSchema,
    values: Mapping[str, Value],
    text: str,
    received_on: date,
) -> str | None:
    day = as_date(text)
    if day is None:
        return f"{text} is not a real date"
    if day > received_on:
        return f"{uk_date(day)} is after the day we received this form ({uk_date(received_on)})"
    for other_key in spec.not_before:
        other = as_date(values.get(other_key))
        if other is not None and day < other:
            question = schema.field(other_key).question.lower()
            return f"{uk_date(day)} is before the {question} ({uk_date(other)})"
    for other_key in spec.not_after:
        other = as_date(values.get(other_key))
        if other is not None and day > other:
            question = schema.field(other_key).question.lower()
            return f"{uk_date(day)} is after the {question} ({uk_date(other)})"
    return None


def gives_valid_email(text: str) -> bool:
    """An email answer holds at least one well-formed address: one the team can write
    to is what it needs ("jo@x.gov.uk, team@x.gov.uk"; "jo@x.gov.uk (cjsm:
    jo@x.cjsm.net)").  A malformed address alone is still not valid."""
    if is_valid_email(text):
        return True
    parts = (p.strip(" \t<>()[].:") for p in _LIST_SEPARATORS.split(text))
    return any(is_valid_email(p) for p in parts if p)


def is_valid_email(text: str) -> bool:
    """A single well-formed address (``name@agency.gov.uk``); no display name."""
    text = text.strip()
    if text.lower().startswith("mailto:"):
        text = text[len("mailto:") :]
    return len(text) <= 254 and _EMAIL.match(text) is not None


def is_valid_uk_phone(text: str) -> bool:
    """At least one number written in the answer is a valid UK number (see module docstring).

    One number we can ring is what the team needs; a second, mistyped one
    (``01925 886618 / ext 23``) is no reason to return the form.
    """
    parts = [p for p in _PHONE_SEPARATORS.split(text) if p.strip()]
    if any(_one_uk_phone(p) for p in parts):
        return True
    # A number with words around it ("Switchboard 01925 444000, ask for Jo",
    # "07700 900123 (work mobile)").
    # Only a number written as one is dialled ("01925 …", "+44 …"): not a case
    # reference of ten digits, or a number missing its 0.
    found = phonenumbers.PhoneNumberMatcher(text, "GB", leniency=phonenumbers.Leniency.POSSIBLE)
    return any(
        _one_uk_phone(match.raw_string)
        for match in found
        if match.raw_string.lstrip("( ").startswith(("0", "+"))
    )


def _one_uk_phone(text: str) -> bool:
    try:
        number = phonenumbers.parse(text, "GB")
    except phonenumbers.NumberParseException:
        return False
    if number.country_code != 44:
        return False
    national = str(number.national_number)
    if any(
        national.startswith(prefix) and len(national) == len(prefix) + rest
        for prefix, rest in _DRAMA_RANGES
    ):
        return True
    if phonenumbers.is_valid_number(number):
        return phonenumbers.region_code_for_number(number) in _UK_REGIONS
    # libphonenumber's metadata lags Ofcom's plan (it rejects 0115 496 0xxx, a
    # drama range, while accepting 0113 496 0xxx): a full-length geographic,
    # non-geographic or mobile number is accepted; a short one (a digit dropped) is not.
    return len(national) == 10 and national[0] in "1237"


def is_valid_nhs_number(text: str) -> bool:
    """Ten digits (spaces or dashes allowed between) whose last is the mod-11 check
    digit; with words around them ("NHS: 999 518 3439", "999 518 3439 (GP)") too."""
    return any(_nhs_check(m.group(0)) for m in _NHS_NUMBER.finditer(text)) or _nhs_check(text)


def _nhs_check(text: str) -> bool:
    digits = re.sub(r"[\s-]", "", text)
    if not re.fullmatch(r"\d{10}", digits):
        return False
    return nhs_check_digit(digits[:9]) == int(digits[9])


def nhs_check_digit(first_nine: str) -> int | None:
    """The NHS number check digit for nine digits, or None when none exists (remainder 1)."""
    total = sum(int(d) * (10 - i) for i, d in enumerate(first_nine))
    check = 11 - total % 11
    if check == 11:
        return 0
    if check == 10:
        return None
    return check
