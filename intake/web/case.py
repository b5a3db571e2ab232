"""What the case page shows: the answers by section as printed, the messages, replies, history.

Pure assembly over records already read; the view does the reading and
the auditing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.contrib.auth.models import User
from django.db.models import Q, QuerySet

from intake import casework, questions
from intake.models import (
    AnswerCorrection,
    Attachment,
    AuditEvent,
    InboundMessage,
    OutboundEmail,
    Referral,
)
from intake.questions import FieldSpec, FormSchema
from intake.web import display


@dataclass
class AnswerRow:
    key: str
    question: str
    value: str  # as shown: option labels, dates written out; "" when not answered
    source: str = ""  # where it was read: "form.docx, table 2 row 4"
    state: str = ""  # "" | missing | invalid
    problem: str = ""  # why it is invalid
    required: bool = False  # by the completeness rules, for this case's answers
    multiline: bool = False
    corrections: list[CorrectionView] = field(default_factory=list)
    stored: Any = None  # the answer as stored (what a correction compares with)
    spec: FieldSpec | None = None


@dataclass
class CorrectionView:
    original: str
    value: str
    who: str
    when: datetime
    reason: str


@dataclass
class SectionView:
    number: int
    title: str
    answers: list[AnswerRow] = field(default_factory=list)


def answers_by_section(referral: Referral, schema: FormSchema | None) -> list[SectionView]:
    """The case's answers in the form's order, grouped by its sections; answers the
    schema does not know (or every answer, without a schema) close the list.  A question
    is "required" only when the completeness rules require it given this case's answers
    (a date of death only when the child died; the age only without a date of birth)."""
    problems = _invalid_reasons(referral.invalid)
    corrections = _corrections(referral, schema)
    sections: list[SectionView] = []
    known: set[str] = set()
    if schema is not None:
        for number, section in enumerate(schema.sections, start=1):
            specs = [f for f in schema.fields if f.section == section.key]
            sections.append(
                SectionView(
                    number,
                    section.title,
                    [_answer(referral, spec.key, spec, problems, corrections) for spec in specs],
                )
            )
            known.update(spec.key for spec in specs)
    extra = [k for k in [*referral.fields, *referral.missing, *problems] if k not in known]
    if extra:
        rows = [_answer(referral, key, None, problems, corrections) for key in dict.fromkeys(extra)]
        sections.append(SectionView(len(sections) + 1, "Other answers", rows))
    return sections


def _invalid_reasons(invalid: Iterable[Any]) -> dict[str, str]:
    reasons: dict[str, str] = {}
    for item in invalid or []:
        if isinstance(item, Mapping) and item.get("field"):
            reasons[str(item["field"])] = str(item.get("reason", "not valid"))
        elif isinstance(item, str):
            reasons[item] = "not valid"
    return reasons


def _answer(
    referral: Referral,
    key: str,
    spec: FieldSpec | None,
    problems: Mapping[str, str],
    corrections: Mapping[str, list[CorrectionView]],
) -> AnswerRow:
    value = referral.fields.get(key)
    state = "invalid" if key in problems else "missing" if key in referral.missing else ""
    return AnswerRow(
        key=key,
        question=spec.question if spec else key.replace("_", " ").capitalize(),
        value=show_value(value, spec),
        source=str(referral.sources.get(key, "")),
        state=state,
        problem=problems.get(key, ""),
        required=bool(spec and questions.is_required(spec, referral.fields or {})),
        multiline=bool(spec and spec.type == "multiline"),
        corrections=corrections.get(key, []),
        stored=value,
        spec=spec,
    )


def _corrections(referral: Referral, schema: FormSchema | None) -> dict[str, list[CorrectionView]]:
    spec_of = {f.key: f for f in schema.fields} if schema is not None else {}
    found: dict[str, list[CorrectionView]] = {}
    rows = AnswerCorrection.objects.filter(referral=referral).select_related("corrected_by")
    for c in rows:
        spec = spec_of.get(c.field_key)
        found.setdefault(c.field_key, []).append(
            CorrectionView(
                original=show_value(c.original, spec) or "Not answered",
                value=show_value(c.value, spec) or "Not answered",
                who=c.corrected_by.get_username(),
                when=c.created,
                reason=c.reason,
            )
        )
    return found


def show_value(value: Any, spec: FieldSpec | None) -> str:
    return questions.show_value(value, spec)


@dataclass
class SubmissionView:
    message: InboundMessage
    kind: str
    decision: str
    matched_by: str
    attachments: list[Attachment]
    held: str = ""
    received: date | None = None


def submission_views(referral: Referral) -> list[SubmissionView]:
    """Each message of the case (read without its raw bytes), with its attachments."""
    submissions = list(referral.submissions.select_related("message").defer("message__raw"))
    ids = [s.message_id for s in submissions]
    attachments: dict[int, list[Attachment]] = {}
    for a in Attachment.objects.filter(message_id__in=ids).defer("data").order_by("pk"):
        attachments.setdefault(a.message_id, []).append(a)
    return [
        SubmissionView(
            message=s.message,
            kind=s.get_kind_display(),
            decision=display.decision_label(s.decision),
            matched_by=display.MATCHED_LABELS.get(s.matched_by, s.matched_by),
            attachments=attachments.get(s.message_id, []),
            held=display.HELD_LABELS.get(s.held, ""),
            received=casework.received_day(s.message),
        )
        for s in submissions
    ]


@dataclass
class ReplyView:
    reply: OutboundEmail
    kind: str
    state: str


def reply_views(replies: Iterable[OutboundEmail]) -> list[ReplyView]:
    return [
        ReplyView(r, display.reply_kind_label(r.kind), display.reply_state_label(r.state))
        for r in replies
    ]


def replies_of(referral: Referral, message_ids: Sequence[int]) -> QuerySet[OutboundEmail]:
    """The case's replies, and any reply to one of its messages, oldest first."""
    return (
        OutboundEmail.objects.filter(Q(referral=referral) | Q(message_id__in=message_ids))
        .defer("raw")
        .order_by("created", "pk")
    )


def audit_trail(objects: Mapping[str, Sequence[int]]) -> QuerySet[AuditEvent]:
    """Every event about the given records (``{"referral": [7], "inbound_message": [3, 9]}``)."""
    where = Q(pk__in=[])
    for object_type, ids in objects.items():
        where |= Q(object_type=object_type, object_id__in=[str(i) for i in ids])
    return AuditEvent.objects.filter(where).select_related("actor").order_by("at", "pk")


USER_KEYS = ("previous", "to")  # detail keys of assignment events that hold user ids


@dataclass
class TrailRow:
    at: datetime
    who: str
    what: str
    record: str
    detail: str
    url: str = ""


def trail_rows(events: Iterable[AuditEvent]) -> list[TrailRow]:
    """Events as a history table shows them, in words: a case by its reference, people by
    name, codes by their labels."""
    events = list(events)
    ids = {e.detail.get(k) for e in events for k in USER_KEYS if isinstance(e.detail, dict)}
    names = dict(
        User.objects.filter(pk__in=[i for i in ids if isinstance(i, int)]).values_list(
            "pk", "username"
        )
    )
    case_ids = [e.object_id for e in events if e.object_type == "referral"]
    references = {
        str(pk): ref
        for pk, ref in Referral.objects.filter(
            pk__in=[i for i in case_ids if i.isdigit()]
        ).values_list("pk", "reference")
    }
    return [
        TrailRow(
            at=e.at,
            who=e.actor.get_username() if e.actor else _nobody(e),
            what=display.verb_label(e.verb),
            record=display.record_label(e.object_type, e.object_id, references),
            detail=detail_text(e.detail, names),
            url=_record_url(e.object_type, e.object_id, references),
        )
        for e in events
    ]


def _nobody(event: AuditEvent) -> str:
    return "someone not signed in" if event.object_type == "user" else "the service"


def _record_url(object_type: str, object_id: str, references: Mapping[str, str]) -> str:
    from django.urls import reverse

    if object_type == "referral" and object_id in references:
        return reverse("case", args=[references[object_id]])
    if object_type == "inbound_message" and object_id.isdigit():
        return reverse("message", args=[int(object_id)])
    return ""


def detail_text(detail: Mapping[str, Any], usernames: Mapping[int, str]) -> str:
    """An event's detail (ids and codes only) as words: ``from: nobody, to: casey``."""
    parts = []
    for key, value in sorted(detail.items()):
        if key in USER_KEYS:
            value = usernames.get(value, "nobody") if value is not None else "nobody"
        elif key in ("old", "new", "status"):
            value = display.status_label(str(value))
        elif key == "step":
            value = display.step_label(str(value))
        elif key == "outcome":
            value = display.outcome_label(str(value)) or value
        elif key == "kind":
            value = display.reply_kind_label(str(value))
        elif key == "form_type":
            value = display.short_form_name(str(value))
        elif key == "decision":
            value = display.decision_label(str(value))
        elif isinstance(value, list):
            value = ", ".join(str(v) for v in value)
        elif isinstance(value, dict):
            value = ", ".join(f"{k} {v}" for k, v in value.items())
        label = display.DETAIL_KEYS.get(key, key.replace("_", " "))
        parts.append(f"{label}: {value}")
    return "; ".join(parts)
