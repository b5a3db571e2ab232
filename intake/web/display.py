"""Small pure helpers for showing records in words: labels, initials, urgency, safe names.

The screens tell the truth (issue 12): words, never internal keys; a case waiting for
its referrer, closed, or whose Rapid Review was held is never "overdue"; one received
date everywhere (`intake.casework.received_day`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

from django.db import models

from intake import audit, casework, questions
from intake.deadlines import add_working_days
from intake.models import CaseStep, InboundMessage, OutboundEmail, Referral

DUE_SOON_WORKING_DAYS = 3
NOT_URGENT = (Referral.Status.AWAITING_RESUBMISSION, Referral.Status.CLOSED)

FLAG_LABELS = {"late_notification": "Late notification"}
VERB_LABELS = {str(verb.value): str(verb.label) for verb in audit.Verb}
HELD_LABELS = {
    "unauthenticated": "Not used: our mail server did not authenticate the sender",
    "not_the_referrer": "Not used: sent by someone other than the case's referrer",
    "address_in_name": "Not used: the sender's name holds another address",
    "worse": "Not used: no better than the case's accepted form",
    "closed": "Not used: the case is closed",
}
MATCHED_LABELS = {
    "thread": "a reply in the case's email thread",
    "reference": "the case's reference in its subject",
    "referrer_and_child": "the same referrer and child",
    "made_by_team": "made into a case by the team",
}
RECORD_LABELS = {
    "referral": "Case",
    "inbound_message": "Message",
    "outbound_email": "Email",
    "user": "Account",
    "queue": "Referrals list",
    "dashboard": "Dashboard",
    "export": "Export",
    "audit": "Audit trail",
    "people": "People",
    "learned_wordings": "Wordings",
    "rules": "Mailbox rules",
}
DETAIL_KEYS = {
    "previous": "from",
    "to": "to",
    "old": "from",
    "new": "to",
    "field": "question",
    "step": "step",
    "on": "on",
    "outcome": "outcome",
    "form_type": "form",
    "factor": "with",
    "account": "account name typed",
    "part": "part",
    "attachment": "attachment",
    "rows": "rows",
    "columns": "columns",
    "tab": "tab",
    "role": "role",
    "kind": "kind",
    "reason": "why",
    "decision": "decision",
    "status": "status",
    "matched_by": "matched by",
    "held": "held",
    "message": "message",
    "note": "note",
    "review": "review",
    "correction": "correction",
    "reply": "email",
    "failures": "wrong codes",
    "cleared": "failures cleared",
    "filters": "filters",
}


def _label(choices: type[models.TextChoices], value: str, unknown: str) -> str:
    """The label the enum defines beside ``value`` (intake.models), or ``unknown``."""
    try:
        return str(choices(value).label)
    except ValueError:
        return unknown


def status_label(status: str) -> str:
    return _label(Referral.Status, status, status.replace("_", " ").capitalize())


def case_status_label(status: str, decided: bool) -> str:
    """The status in words; an accepted case with an outcome is "Decided"."""
    if decided and status != Referral.Status.CLOSED:
        return "Decided"
    return status_label(status)


def outcome_label(outcome: str) -> str:
    return str(CaseStep.Outcome(outcome).label) if outcome in CaseStep.Outcome.values else ""


def step_label(kind: str) -> str:
    return str(CaseStep.Kind(kind).label) if kind in CaseStep.Kind.values else kind


def decision_label(decision: str) -> str:
    return _label(InboundMessage.Decision, decision, decision or "Not decided yet")


def state_label(state: str) -> str:
    return _label(InboundMessage.State, state, state)


def flag_label(flag: str) -> str:
    return FLAG_LABELS.get(flag, flag.replace("_", " ").capitalize())


def reply_kind_label(kind: str) -> str:
    return _label(OutboundEmail.Kind, kind, kind.replace("_", " ").capitalize())


def reply_state_label(state: str) -> str:
    return _label(OutboundEmail.State, state, state)


def verb_label(verb: str) -> str:
    return VERB_LABELS.get(verb, verb.replace("_", " ").capitalize())


def record_label(object_type: str, object_id: str, references: Mapping[str, str]) -> str:
    """ "Case WSP-2026-0007", "Message 12", "Account 3": a case by its reference."""
    if object_type == "referral" and object_id in references:
        return f"Case {references[object_id]}"
    name = RECORD_LABELS.get(object_type, object_type.replace("_", " ").capitalize())
    return f"{name} {object_id}" if object_id not in ("", "0") else name


def initials(fields: Mapping[str, Any]) -> str:
    """The child's initials ("J. S."), the most of a name a list page shows; "" when unknown."""
    letters = []
    for key in ("child_forenames", "child_surname"):
        value = fields.get(key)
        if isinstance(value, str) and value.strip():
            letters.append(value.strip()[0].upper() + ".")
    return " ".join(letters)


def redact(text: str, fields: Mapping[str, Any]) -> str:
    """``text`` with any of the child's names the reader found cut to an initial."""
    for key in ("child_forenames", "child_surname", "child_other_names"):
        value = fields.get(key)
        if not isinstance(value, str):
            continue
        for name in re.findall(r"\w{2,}", value):
            text = re.sub(rf"\b{re.escape(name)}\b", name[0].upper() + ".", text, flags=re.I)
    return text


def urgency(due: date | None, today: date, status: str = "accepted", held: bool = False) -> str:
    """``overdue``, ``soon`` (within 3 working days) or "" for a case's Rapid Review date.

    Only a case the team must still hold a Rapid Review for is urgent: not one returned
    and waiting for its referrer, not a closed one, not one whose review was held.
    """
    if due is None or status in NOT_URGENT or held:
        return ""
    if due < today:
        return "overdue"
    if due <= add_working_days(today, DUE_SOON_WORKING_DAYS):
        return "soon"
    return ""


def message_status(message: InboundMessage) -> str:
    if message.state == InboundMessage.State.PARKED:
        return "Parked: a step failed"
    return decision_label(message.decision)


def message_why(message: InboundMessage) -> str:
    """Why a message waits, in words (never a file name: it may name a child)."""
    if message.state == InboundMessage.State.PARKED:
        return f"Stopped while {state_label(message.parked_from or 'received').lower()}: " + (
            casework.reason_words(message.parked_reason or message.error_code)
        )
    if message.reason_code:
        return casework.reason_words(message.reason_code).capitalize()
    reasons = (message.assessment or {}).get("reasons") or []
    return list_reason(str(reasons[0])) if reasons else ""


_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
_FORM_WHY = re.compile(r"^.+?: (\d+ of \d+ questions)")


def list_reason(reason: str) -> str:
    """A decision's reason fit for a list page: quoted names (attachments' file names,
    which may name a child) become "…", and a form's file name before its score goes."""
    return _FORM_WHY.sub(r"\1", _QUOTED.sub("…", reason))


_KEY = re.compile(r"\b(field|fields) ([a-z][a-z0-9]*(?:_[a-z0-9]+)+)\b")


def in_words(text: str, form_type: str) -> str:
    """A stored reason with internal field keys ("field child_nhs_number") replaced by the
    question as printed."""
    ask = question_of(form_type)
    return _KEY.sub(lambda m: f"“{ask(m.group(2))}”", text)


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


# --- the forms' questions (from intake.questions: the web never reads parsers) -------------


def schemas() -> dict[str, Any]:
    return questions.schemas()


def form_title(form_type: str, known: Mapping[str, Any] | None = None) -> str:
    return questions.form_title(form_type, known)


def short_form_name(form_type: str, known: Mapping[str, Any] | None = None) -> str:
    return questions.short_form_name(form_type, known)


def question_of(form_type: str, known: Mapping[str, Any] | None = None) -> Callable[[str], str]:
    """A function naming a field of ``form_type`` as printed on the form, with its
    section ("Referrer: Job title / role"); the key in words for an unknown field."""
    schema = (known if known is not None else schemas()).get(form_type)

    def name(key: str) -> str:
        if schema is None or key not in {f.key for f in schema.fields}:
            return key.replace("_", " ").capitalize()
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
