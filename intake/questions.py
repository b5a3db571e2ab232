"""The forms' questions for the review pages and the case services (issue 12).

The web never imports `parsers` (DESIGN: the wall between parsing and the service);
what it needs of a form (titles, sections, questions as printed, options, whether a
question is required for this case, an answer typed by a person made into the stored
shape, and the checks run again after a correction) comes from here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.conf import settings

from intake.assess import schemas_in
from intake.completeness import as_date, check_completeness, is_given, is_required
from intake.deadlines import is_late_notification, rapid_review_due
from parsers.normalise import parse_uk_date
from parsers.schema import FieldSpec, FormSchema, SchemaError

__all__ = [
    "FieldSpec",
    "FormSchema",
    "Recheck",
    "answer_from_input",
    "form_title",
    "form_types",
    "is_given",
    "is_required",
    "recheck",
    "schemas",
    "short_form_name",
    "show_value",
]


def schemas() -> dict[str, FormSchema]:
    """The configured form schemas; empty when the folder cannot be read (pages still work)."""
    try:
        return schemas_in(str(settings.INTAKE.forms_dir))
    except SchemaError:
        return {}


def form_types() -> list[tuple[str, str]]:
    """(key, short name) of every configured form, for a choice of form type."""
    return [(key, short_form_name(key)) for key in schemas()]


def form_title(form_type: str, known: Mapping[str, FormSchema] | None = None) -> str:
    """The form's printed title, or its key when the schema is unknown ("" for no form)."""
    schema = (known if known is not None else schemas()).get(form_type)
    return schema.title if schema is not None else form_type


def short_form_name(form_type: str, known: Mapping[str, FormSchema] | None = None) -> str:
    """What a list calls the form: its schema's ``short_title``, else its printed title."""
    schema = (known if known is not None else schemas()).get(form_type)
    if schema is not None and schema.short_title:
        return schema.short_title
    return form_title(form_type, known)


def show_value(value: Any, spec: FieldSpec | None) -> str:
    """An answer as a person reads it: option keys become the form's wording, ISO dates
    are written out (``3 April 2026``); anything unreadable is shown as stored."""
    if value is None or value == "" or value == []:
        return ""
    if isinstance(value, list):
        return "\n".join(show_value(v, spec) for v in value)
    text = str(value)
    if spec is not None and spec.options:
        option = spec.option(text)
        if option is not None:
            return option.label
    if spec is not None and spec.type == "yesno":
        return {"yes": "Yes", "no": "No"}.get(text, text)
    if spec is not None and spec.type == "date":
        try:
            day = date.fromisoformat(text)
        except ValueError:
            return text
        return f"{day.day} {day:%B %Y}"
    return text


def answer_from_input(spec: FieldSpec, given: Sequence[str]) -> str | list[str] | None:
    """What a person typed or chose for ``spec`` in the stored shape: a date as
    ``YYYY-MM-DD`` (any common UK way of writing it), a choice as its option key, ticks
    as a sorted list of keys, text trimmed; None for blank.  A date that cannot be read
    stays as typed (the checks then call it not valid, as for a form)."""
    values = [v.strip() for v in given if v and v.strip()]
    if not values:
        return None
    if spec.type == "checks":
        keys = {o.key for o in spec.options}
        return sorted(v for v in dict.fromkeys(values) if v in keys)
    text = values[0]
    if spec.type == "date":
        day = as_date(text) or _uk_date(text)
        return day.isoformat() if day else text
    return text


def _uk_date(text: str) -> date | None:
    try:
        return parse_uk_date(text)
    except (ValueError, TypeError, OverflowError):
        return None


@dataclass
class Recheck:
    """A case's answers checked again: what is missing and not valid, and what follows."""

    missing: list[str] = field(default_factory=list)
    invalid: list[dict[str, str]] = field(default_factory=list)
    late_notification: bool = False
    rapid_review_due: date | None = None


def recheck(schema: FormSchema, values: Mapping[str, Any], received_on: date) -> Recheck:
    """The completeness rules over ``values`` (as after a correction), the late
    notification flag and the Rapid Review date they give."""
    result = check_completeness(schema, values, received_on)
    notified = as_date(_text(values.get("sin_date"))) or as_date(_text(values.get("date_notified")))
    aware = as_date(_text(values.get("date_became_aware")))
    late = bool(notified and aware and is_late_notification(aware, notified))
    return Recheck(
        missing=list(result.missing),
        invalid=[{"field": p.field, "reason": p.reason} for p in result.invalid],
        late_notification=late,
        rapid_review_due=rapid_review_due(notified, received_on),
    )


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None
