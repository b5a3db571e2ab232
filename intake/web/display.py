"""Small pure helpers for showing records: labels, initials, urgency, safe file names."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from datetime import date
from typing import Any

from django.conf import settings

from intake.assess import schemas_in
from intake.deadlines import add_working_days
from parsers.schema import FormSchema, SchemaError

DUE_SOON_WORKING_DAYS = 3

STATUS_LABELS = {
    "accepted": "Accepted",
    "awaiting_resubmission": "Returned: awaiting resubmission",
    "needs_review": "Needs review",
    "closed": "Closed",
}
DECISION_LABELS = {
    "accepted": "Accepted",
    "incomplete": "Incomplete (returned)",
    "needs_review": "Needs review",
    "ignored": "Ignored (automatic mail)",
    "": "Not decided yet",
}
FLAG_LABELS = {"late_notification": "Late notification"}
# The names the team uses in lists; a form not named here shows its printed title.
SHORT_FORM_NAMES = {
    "cspr_referral": "CSPR referral",
    "serious_incident_notification": "Serious incident notification",
}
VERB_LABELS = {
    "signed_in": "Signed in",
    "signed_out": "Signed out",
    "viewed": "Viewed",
    "downloaded": "Downloaded",
    "assigned": "Assigned",
    "unassigned": "Unassigned",
    "status_changed": "Status changed",
    "note_added": "Note added",
    "message_reviewed": "Marked reviewed",
    "message_decided": "Decided",
    "referral_opened": "Case opened",
    "referral_joined": "Message joined the case",
    "reply_queued": "Reply queued",
    "reply_suppressed": "Reply held back (sender limit)",
}
REPLY_KIND_LABELS = {
    "incomplete_return": "Incomplete return",
    "acknowledgement": "Acknowledgement",
    "unreadable_attachment": "Unreadable attachment",
}
REPLY_STATE_LABELS = {
    "pending": "Waiting to be sent",
    "sending": "Being sent",
    "sent": "Sent",
    "failed": "Failed: a person must decide",
    "suppressed": "Not sent (sender limit)",
    "uncertain": "Uncertain: may have been delivered",
}
RECORD_LABELS = {"referral": "case", "inbound_message": "message", "outbound_email": "reply"}


def schemas() -> dict[str, FormSchema]:
    """The configured form schemas; empty when the folder cannot be read (pages still work)."""
    try:
        return schemas_in(str(settings.INTAKE.forms_dir))
    except SchemaError:
        return {}


def form_title(form_type: str, known: Mapping[str, FormSchema] | None = None) -> str:
    """The form's printed title, or its key when the schema is unknown ("" for no form)."""
    schema = (known if known is not None else schemas()).get(form_type)
    return schema.title if schema is not None else form_type


def short_form_name(form_type: str, known: Mapping[str, FormSchema] | None = None) -> str:
    """What a list calls the form: a short name, else its printed title."""
    return SHORT_FORM_NAMES.get(form_type) or form_title(form_type, known)


def reply_kind_label(kind: str) -> str:
    return REPLY_KIND_LABELS.get(kind, kind)


def reply_state_label(state: str) -> str:
    return REPLY_STATE_LABELS.get(state, state)


def verb_label(verb: str) -> str:
    return VERB_LABELS.get(verb, verb.replace("_", " ").capitalize())


def record_label(object_type: str, object_id: str) -> str:
    return f"{RECORD_LABELS.get(object_type, object_type)} {object_id}"


def status_label(status: str) -> str:
    return STATUS_LABELS.get(status, status)


def decision_label(decision: str) -> str:
    return DECISION_LABELS.get(decision, decision)


def flag_label(flag: str) -> str:
    return FLAG_LABELS.get(flag, flag.replace("_", " ").capitalize())


def initials(fields: Mapping[str, Any]) -> str:
    """The child's initials ("J. S."), the most of a name a list page shows; "" when unknown."""
    letters = []
    for key in ("child_forenames", "child_surname"):
        value = fields.get(key)
        if isinstance(value, str) and value.strip():
            letters.append(value.strip()[0].upper() + ".")
    return " ".join(letters)


def urgency(due: date | None, today: date, status: str = "accepted") -> str:
    """``overdue``, ``soon`` (within 3 working days) or "" for a case's Rapid Review date.

    Only open cases are urgent: a closed case's date is history.
    """
    if due is None or status == "closed":
        return ""
    if due < today:
        return "overdue"
    if due <= add_working_days(today, DUE_SOON_WORKING_DAYS):
        return "soon"
    return ""


_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
_FORM_WHY = re.compile(r"^.+?: (\d+ of \d+ questions)")


def list_reason(reason: str) -> str:
    """A decision's reason fit for a list page: quoted names (attachments' file names,
    which may name a child) become "…", and a form's file name before its score goes."""
    return _FORM_WHY.sub(r"\1", _QUOTED.sub("…", reason))


_UNSAFE = re.compile(r"[^A-Za-z0-9._ ()+-]+")


def safe_filename(name: str, fallback: str) -> str:
    """A file name safe to offer for download: no folders, controls, quotes or odd characters.

    Accents are folded to ASCII, anything else unusual becomes ``_``; a name
    that ends up empty, hidden (leading dot) or over-long falls back to
    ``fallback`` (which keeps the original's extension when it has a safe one).
    """
    base = re.split(r"[\\/]", name)[-1]
    folded = unicodedata.normalize("NFKD", base).encode("ascii", "ignore").decode("ascii")
    cleaned = _UNSAFE.sub("_", folded).strip(" ._")
    if cleaned and len(cleaned) <= 150 and not cleaned.startswith("."):
        return cleaned
    suffix = re.search(r"\.[A-Za-z0-9]{1,8}$", folded)
    return fallback + (suffix.group(0) if suffix else "")


def question_of(form_type: str, known: Mapping[str, FormSchema] | None = None) -> Any:
    """A function naming a field of ``form_type`` as printed on the form, with its
    section ("Referrer: Job title / role"); the key itself for an unknown field."""
    schema = (known if known is not None else schemas()).get(form_type)

    def name(key: str) -> str:
        if schema is None or key not in {f.key for f in schema.fields}:
            return key.replace("_", " ")
        spec = schema.field(key)
        return f"{schema.section(spec.section).title}: {spec.question}"

    return name


def field_choices(form_type: str) -> list[tuple[str, str]]:
    """(field key, "Section: question") for every question of ``form_type``."""
    schema = schemas().get(form_type)
    if schema is None:
        return []
    name = question_of(form_type, {form_type: schema})
    return [(f.key, name(f.key)) for f in schema.fields]
