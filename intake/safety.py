"""When an incomplete form may go back to its referrer without a person looking.

A wrongful "your form is incomplete" to a police officer or a GP, about a
child who has died or been seriously harmed, is the most damaging thing this
service can do (issue 7); a form a person has to look at costs minutes.  So a
return goes out only when the service is sure:

1. the document is recognised as the form with high confidence
   (`CONFIDENT_FORM`: the F1 of the form's questions found and the document's
   questions placed);
2. every question called missing was located on the form and found blank,
   not merely "not found" (another partnership's version may not ask it, or
   ask it in words we did not recognise);
3. every answer called not valid came from a question placed with a strong
   score (a wrongly placed answer is "not valid" for the wrong reason), and is
   wrong for sure (a date answer giving two dates, or no year, or "see attached",
   is for a person);
4. no question on the form that could not be placed carries an answer that
   could be a missing one, and no follow-up date called missing is written with
   the answer it follows ("Yes – 14/08/2026").

Otherwise the decision is ``needs_review`` and the doubts are given in plain
words.  `weigh_evidence` is pure: it reads the matcher's `FormMatch`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from parsers.document import CHECKED, UNCHECKED
from parsers.forms import FormMatch, Unplaced, possible_answers
from parsers.normalise import comparable, date_doubt, words_beside_the_date
from parsers.schema import FieldSpec, FormSchema

CONFIDENT_FORM = 0.70
STRONG_PLACEMENT = 96.0
UNPLACED_SHOWN = 40  # questions listed on the page and in the JSON, at most
ANSWER_SHOWN = 300  # characters of an unplaced question's answer kept as evidence


@dataclass
class Evidence:
    """What the decision rests on, as stored with it and shown to the team."""

    confidence: float
    named: bool
    located_blank: list[str] = field(default_factory=list)
    not_located: list[str] = field(default_factory=list)
    unclear: list[str] = field(default_factory=list)
    unplaced: list[dict[str, str]] = field(default_factory=list)
    doubts: list[str] = field(default_factory=list)
    # How this form asks the questions called missing or not valid, where its words
    # are not ours: a return quotes the referrer's own form.
    asked_as: dict[str, str] = field(default_factory=dict)

    @property
    def sure(self) -> bool:
        return not self.doubts

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "sure": self.sure}


def weigh_evidence(
    match: FormMatch, schema: FormSchema, missing: Sequence[str], invalid: Sequence[str]
) -> Evidence:
    """The evidence of ``match`` and the doubts that stop an automatic return of a
    form with ``missing`` and ``invalid`` answers (field keys)."""
    evidence = Evidence(
        confidence=round(match.confidence, 3),
        named=match.named,
        located_blank=[f.key for f in schema.fields if f.key in match.blank],
        not_located=[f.key for f in schema.fields if f.key not in match.located],
        unclear=[f.key for f in schema.fields if f.key in match.unclear],
        unplaced=[_shown(u) for u in match.unplaced[:UNPLACED_SHOWN]],
    )
    evidence.asked_as = {
        key: match.asked_as[key]
        for key in [*missing, *invalid]
        if key in match.asked_as
        and comparable(match.asked_as[key]) != comparable(schema.field(key).question)
    }
    if not missing and not invalid:
        return evidence
    if match.confidence < CONFIDENT_FORM:
        evidence.doubts.append(
            f"the document is only a partial match for the {schema.title} "
            f"({round(100 * match.confidence)}% of its questions agree)"
        )
    for key in _must_be_located(schema, match, missing):
        evidence.doubts.append(_not_sure_missing(schema.field(key), schema, match))
    for key in invalid:
        if schema.field(key).options:
            evidence.doubts.append(
                f"the choice made for {_asked(schema.field(key), schema)} is none of the "
                "options we know: it may be another form's wording"
            )
        elif _points_elsewhere(match, key):
            evidence.doubts.append(
                f"the answer read for {_asked(schema.field(key), schema)} points elsewhere "
                "(such as 'see attached' or 'see above'): a person looks there"
            )
        elif schema.field(key).type == "date" and (why := _date_doubt(match, key)):
            evidence.doubts.append(
                f"the answer read for {_asked(schema.field(key), schema)} {why}: a person "
                "decides what it means"
            )
        elif key in match.doubted or match.placement.get(key, 0.0) < STRONG_PLACEMENT:
            evidence.doubts.append(
                f"the answer read for {_asked(schema.field(key), schema)} may belong to "
                "another question"
            )
    evidence.doubts.extend(_answered_elsewhere(match, schema, missing))
    evidence.doubts.extend(_answered_with_its_condition(match, schema, missing))
    evidence.doubts.extend(_other_forms(match, schema))
    return evidence


# "See attached", "as above", "refer to the chronology", "details enclosed".
_ELSEWHERE = re.compile(
    r"\b(?:see|refer\s+to|as|per|in(?:\s+the)?)\s+(?:the\s+)?(?:attached|above|below|overleaf|"
    r"enclosed|email|e-mail|chronology|letter|report|section|appendix|notes?)\b"
    r"|\b(?:attached|enclosed)\b",
    re.IGNORECASE,
)


def _points_elsewhere(match: FormMatch, key: str) -> bool:
    """Whether an answer that is not valid sends the reader elsewhere ("Date of
    incident: see attached chronology"): the answer may well be given there."""
    answer = match.answers.get(key)
    return answer is not None and bool(_ELSEWHERE.search(answer.raw))


def _date_doubt(match: FormMatch, key: str) -> str | None:
    """Why a date answer that is not valid may still be right: it is not one date
    ("12/08/2026 - 13/08/2026", "12th Aug"), or it has words beside its date that
    may explain it ("Will be submitted 23/03/2026", "14/03/2026 (hospital
    admission)").  A bare date that does not exist, or comes after the form
    arrived, is wrong for sure."""
    answer = match.answers.get(key)
    if answer is None or not isinstance(answer.value, str):
        return None
    why = date_doubt(answer.raw) if not answer.normalised else None
    if why is None and words_beside_the_date(answer.raw):
        why = "has words beside its date that may explain it"
    return why


def _must_be_located(schema: FormSchema, match: FormMatch, missing: Sequence[str]) -> list[str]:
    """Missing fields that were not found blank.  Of two questions required one for
    the other ("Date of birth" unless "Age"), one found blank is enough, as long as
    the other is blank or not asked at all."""
    doubtful = []
    for key in missing:
        if key in match.blank and key not in match.unclear:
            continue  # found blank, and nowhere else on it unclear (asked together with
            # another question, answered "Not known", under a qualified question...)
        partner = schema.field(key).required_unless
        if (
            key not in match.unclear
            and partner is not None
            and partner in match.blank
            and partner not in match.unclear
        ):
            continue
        doubtful.append(key)
    return doubtful


def _not_sure_missing(spec: FieldSpec, schema: FormSchema, match: FormMatch) -> str:
    asked = _asked(spec, schema)
    if match.unclear.get(spec.key) == "options":
        return f"{asked} has something written against it that is none of its options"
    if match.unclear.get(spec.key) == "qualified":
        question = match.asked_as.get(spec.key, "")
        return (
            f"{asked} was found blank only as '{question}', which may ask something "
            "narrower: not proof that it was left out"
        )
    if match.unclear.get(spec.key) == "heading":
        return (
            f"{asked} was found blank, but that is no proof: the line under it may be its "
            "answer (set out like a heading, as a bold answer can be, worded like one of our "
            "questions, or set out like a question we do not know), or it was found only as "
            "a numbered section's title, whose answer may stand elsewhere"
        )
    if match.unclear.get(spec.key) == "said":
        return (
            f"{asked} was answered in words that give no answer (such as 'Not known', "
            "'N/A' or 'TBC'), not left blank: a person decides whether that will do"
        )
    if spec.key in match.unclear:
        return f"{asked} is asked together with another question and its answer could not be split"
    return (
        f"{asked} was not found on this form (this version may not ask it, or ask it differently)"
    )


def _answered_elsewhere(match: FormMatch, schema: FormSchema, missing: Sequence[str]) -> list[str]:
    doubts = []
    for key in missing:
        maybe = possible_answers(match, schema, key)
        if maybe:
            questions = ", ".join(f"'{u.question}'" for u in maybe[:3])
            doubts.append(
                f"{_asked(schema.field(key), schema)} may be answered under a question "
                f"we could not place: {questions}"
            )
    return doubts


def _answered_with_its_condition(
    match: FormMatch, schema: FormSchema, missing: Sequence[str]
) -> list[str]:
    """A follow-up left blank, answered with the answer it follows: "Has the LA
    notified the National Panel?": "Yes – 14/08/2026", "Yes (copy attached)", "Yes –
    today"; "The child has died": "died the same day as the incident"."""
    doubts = []
    for key in missing:
        spec = schema.field(key)
        if spec.required_if is None:
            continue
        condition_spec = schema.field(spec.required_if.field)
        answer = match.answers.get(condition_spec.key)
        if answer is not None and _says_more_than_its_options(answer.raw, condition_spec):
            condition = schema.field(spec.required_if.field)
            doubts.append(
                f"{_asked(spec, schema)} may be written with the answer to "
                f"{_asked(condition, schema)}"
            )
    return doubts


def _says_more_than_its_options(raw: str, spec: FieldSpec) -> bool:
    """Whether a choice's answer holds words or numbers besides its boxes, ticks
    and options ("Yes (attached)", "☒ Yes" then "See attached SIN")."""
    text = comparable(raw.replace(CHECKED, " ").replace(UNCHECKED, " "))
    for label in sorted((comparable(o.label) for o in spec.options), key=len, reverse=True):
        text = re.sub(rf"\b{re.escape(label)}\b", " ", text) if label else text
    return bool(re.sub(r"\b(?:x|ticked|selected|y|n)\b", " ", text).strip())


def _other_forms(match: FormMatch, schema: FormSchema) -> list[str]:
    if not match.other_forms:
        return []
    return [
        "another attachment is also a form ("
        + ", ".join(match.other_forms)
        + "): it may give what this one is missing"
    ]


def _asked(spec: FieldSpec, schema: FormSchema) -> str:
    return f"'{spec.question}' ({schema.section(spec.section).title})"


def _shown(unplaced: Unplaced) -> dict[str, str]:
    return {
        "question": unplaced.question,
        "section": unplaced.section,
        "answer": unplaced.answer[:ANSWER_SHOWN],
        "source": unplaced.source,
    }
