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

from intake.models import Attachment, AuditEvent, InboundMessage, OutboundEmail, Referral
from intake.web import display
from parsers.schema import FieldSpec, FormSchema


@dataclass
class AnswerRow:
    key: str
    question: str
    value: str  # as shown: option labels, dates written out; "" when not answered
    source: str = ""  # where it was read: "form.docx, table 2 row 4"
    state: str = ""  # "" | missing | invalid
    problem: str = ""  # why it is invalid
    required: bool = False
    multiline: bool = False


@dataclass
class SectionView:
    number: int
    title: str
    answers: list[AnswerRow] = field(default_factory=list)


def answers_by_section(referral: Referral, schema: FormSchema | None) -> list[SectionView]:
    """The case's answers in the form's order, grouped by its sections; answers the
    schema does not know (or every answer, without a schema) close the list."""
    problems = _invalid_reasons(referral.invalid)
    sections: list[SectionView] = []
    known: set[str] = set()
    if schema is not None:
        for number, section in enumerate(schema.sections, start=1):
            specs = [f for f in schema.fields if f.section == section.key]
            sections.append(
                SectionView(
                    number,
                    section.title,
                    [_answer(referral, spec.key, spec, problems) for spec in specs],
                )
            )
            known.update(spec.key for spec in specs)
    extra = [k for k in [*referral.fields, *referral.missing, *problems] if k not in known]
    if extra:
        rows = [_answer(referral, key, None, problems) for key in dict.fromkeys(extra)]
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
    referral: Referral, key: str, spec: FieldSpec | None, problems: Mapping[str, str]
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
        required=bool(spec and (spec.required or spec.required_if or spec.required_unless)),
        multiline=bool(spec and spec.type == "multiline"),
    )


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


@dataclass
class SubmissionView:
    message: InboundMessage
    kind: str
    decision: str
    matched_by: str
    attachments: list[Attachment]


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
            matched_by=s.matched_by,
            attachments=attachments.get(s.message_id, []),
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


def trail_rows(events: Iterable[AuditEvent]) -> list[TrailRow]:
    """Events as the history table shows them; user ids in assignments become usernames."""
    events = list(events)
    ids = {e.detail.get(k) for e in events for k in USER_KEYS if isinstance(e.detail, dict)}
    names = dict(
        User.objects.filter(pk__in=[i for i in ids if isinstance(i, int)]).values_list(
            "pk", "username"
        )
    )
    return [
        TrailRow(
            at=e.at,
            who=e.actor.get_username() if e.actor else "the service",
            what=display.verb_label(e.verb),
            record=display.record_label(e.object_type, e.object_id),
            detail=detail_text(e.detail, names),
        )
        for e in events
    ]


def detail_text(detail: Mapping[str, Any], usernames: Mapping[int, str]) -> str:
    """An event's detail (ids and codes only) as ``key: value`` pairs."""
    parts = []
    for key, value in sorted(detail.items()):
        if key in USER_KEYS:
            value = usernames.get(value, "nobody") if value is not None else "nobody"
        parts.append(f"{key.replace('_', ' ')}: {value}")
    return ", ".join(parts)
