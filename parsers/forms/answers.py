"""Reading answers: one field's value out of an entry, composites shared out, and
what an answer looks like (`Traits`), which tells the matcher whether it fits a
field's type.

Conventions (``../shared/forms/README.md``): text as written (lines kept,
spaces folded), dates day first as ``YYYY-MM-DD`` or kept as written when not
a real date (``normalised=False``), a choice or yes/no as its option key,
ticks as a sorted list of option keys.  A blank answer is no `Answer`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from parsers.document import CHECKED, UNCHECKED, Entry, Line
from parsers.forms.targets import Target, asked, wording_score
from parsers.lexicon import EMPTY, Lexicon
from parsers.normalise import comparable, fold_text, is_non_answer, parse_uk_date
from parsers.options import (
    State,
    choose,
    listed_options,
    option_lines,
    options_lexicon,
    printed_options,
    read_marks,
)
from parsers.schema import FieldSpec, FormSchema, OptionSpec

Value = str | list[str]

EMAIL = re.compile(r"[\w.+'’-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
PHONE = re.compile(r"(?<![\w])(?:\+\s?44\s?(?:\(0\)\s?)?|\(?0)\d[\d \t()-]{7,14}\d(?![\w])")
_NHS = re.compile(r"(?<!\d)(\d{3})[ -]?(\d{3})[ -]?(\d{4})(?!\d)")
_LABELLED = re.compile(r"^([^:]{2,40}):\s*(.+)$")
_PARTICLES = {"van", "von", "de", "der", "den", "du", "da", "di", "le", "la", "del", "st", "bin"}


@dataclass(frozen=True)
class Answer:
    """One field's answer: ``value`` normalised where possible, ``raw`` as written."""

    key: str
    value: Value
    raw: str
    source: str
    normalised: bool = True  # False: the text could not be read as the field's type


@dataclass(frozen=True)
class Traits:
    """What an answer looks like, whatever its question."""

    blank: bool
    text: str = ""
    date: bool = False  # the answer is one date
    email: bool = False  # it holds an email address
    phone: bool = False  # it holds a telephone number
    nhs: bool = False  # it is a 10-digit number with a valid NHS check digit
    boxes: bool = False  # it holds tick boxes
    lines: int = 0


def answer_lines(entry: Entry, lexicon: Lexicon) -> list[Line]:
    """The entry's answer lines, folded, without printed guidance or the question
    itself repeated in the answer cell."""
    own = comparable(entry.question)
    out: list[Line] = []
    for line in entry.answer:
        text = fold_text(line.text)
        if not text:
            continue
        if not out and comparable(text) == own:
            continue  # the question printed again over its answer
        if is_guidance(text, lexicon):
            continue
        out.append(Line(text, line.emphasis))
    return out


def is_guidance(text: str, lexicon: Lexicon) -> bool:
    """Printed guidance: a bracketed line or a prompt ending in ":" that starts with
    a guidance phrase ("(Please include the postcode)", "If yes, give details:").
    A referrer's own sentence ("Please see the attached chronology.") is an answer."""
    stripped = text.strip()
    if not lexicon.is_guidance(stripped.strip("()[] ")):
        return False
    bracketed = stripped.startswith(("(", "[")) and stripped.endswith((")", "]"))
    prompt = stripped.endswith((":", "…", "...")) or comparable(stripped) in lexicon.guidance
    return bracketed or prompt


@lru_cache(maxsize=8192)
def _traits_of(text: str, has_boxes: bool, lines: int) -> Traits:
    if not text or is_non_answer(text):
        return Traits(blank=True, text=text, boxes=has_boxes, lines=lines)
    return Traits(
        blank=False,
        text=text,
        date=len(text) <= 40 and parse_uk_date(text) is not None,
        email=EMAIL.search(text) is not None,
        phone=any(_phone_digits(m.group(0)) for m in PHONE.finditer(text)),
        nhs=is_nhs_number(text),
        boxes=has_boxes,
        lines=lines,
    )


def traits(lines: Sequence[Line]) -> Traits:
    text = "\n".join(line.text for line in lines)
    has_boxes = CHECKED in text or UNCHECKED in text
    return _traits_of(text, has_boxes, len(lines))


def _phone_digits(text: str) -> bool:
    digits = re.sub(r"\D", "", text)
    if digits.startswith("44"):
        digits = "0" + digits[2:].removeprefix("0")
    return digits.startswith("0") and len(digits) in (10, 11)


def is_nhs_number(text: str) -> bool:
    """A 10-digit number whose check digit is right (modulus 11)."""
    match = _NHS.fullmatch(text.strip())
    if not match:
        return False
    digits = [int(c) for c in "".join(match.groups())]
    check = 11 - sum(d * w for d, w in zip(digits[:9], range(10, 1, -1), strict=True)) % 11
    return (0 if check == 11 else check) == digits[9] and check != 10


def type_fit(spec: FieldSpec, lines: Sequence[Line], t: Traits) -> float:
    """How well an answer fits a field's type: a bonus when it is plainly of that
    type, a penalty when it is plainly of another; 0 for a blank answer."""
    if t.blank and not t.boxes:
        return 0.0
    kind = spec.type
    if kind in ("choice", "yesno", "checks"):
        return _option_fit(spec, lines, t)
    if t.boxes:
        return -20.0
    if kind == "date":
        if t.date:
            return 8.0
        long_text = t.lines > 1 or len(t.text) > 40
        return -25.0 if t.email or t.phone or long_text else -8.0
    if kind == "email":
        return 10.0 if t.email else -20.0
    if kind == "phone":
        if t.phone:
            return 8.0
        return -20.0 if t.date or t.email else -10.0
    if "nhs_number" in spec.checks:
        return 10.0 if t.nhs else (-15.0 if t.date or t.email else -4.0)
    if kind == "text":
        if t.date and len(t.text) <= 12:
            return -20.0  # a date alone is not a name, a role or a place
        return -6.0 if t.lines > 6 else 0.0
    return 0.0  # multiline


def known_by_options(spec: FieldSpec, lines: Sequence[Line]) -> bool:
    """Whether the answer lists, with boxes, at least three of a field's options
    of three words or more (`listed_options`): the question is that field
    whatever its words ("Circumstances that triggered the referral" above our
    criteria, in another form's words)."""
    distinct = distinct_options(spec.options)
    return len(distinct) >= 3 and listed_options(lines, distinct) >= 3


def distinct_options(options: tuple[OptionSpec, ...]) -> tuple[OptionSpec, ...]:
    """Options worded enough to name one question: three words or more.  "Yes",
    "No", "Not known", "Male" or "Other" are printed under many questions."""
    return _distinct_options(options, options_lexicon(options))


@lru_cache(maxsize=256)
def _distinct_options(options: tuple[OptionSpec, ...], _words: Lexicon) -> tuple[OptionSpec, ...]:
    # The lexicon is part of the key: options are equal whatever lexicon they
    # carry, and the ones returned are read with theirs.
    return tuple(o for o in options if len(comparable(o.label).split()) >= 3)


def _option_fit(spec: FieldSpec, lines: Sequence[Line], t: Traits) -> float:
    if t.lines > 12:
        return -10.0
    if known_by_options(spec, lines):
        return 20.0  # even where no choice can be read out of it
    chosen = choose(lines, spec.options)
    if chosen is not None:
        printed = printed_options(lines, spec.options)
        return 20.0 if printed >= 3 and len(spec.options) >= 3 else 10.0
    if t.boxes:
        return -20.0  # boxes, but none of this question's options
    return -15.0 if t.date or t.email or t.phone else -4.0


# --- one field ---------------------------------------------------------------------------


def read_answer(entry: Entry, spec: FieldSpec, lexicon: Lexicon | None = None) -> Answer | None:
    """The field's answer from an entry's lines, or None when it was left blank."""
    lines = answer_lines(entry, lexicon or EMPTY)
    return answer_from_lines(lines, spec, entry.source)


def answer_from_lines(lines: Sequence[Line], spec: FieldSpec, source: str) -> Answer | None:
    if not lines:
        return None
    raw = "\n".join(line.text for line in lines)
    if spec.type in ("choice", "yesno", "checks"):
        return _choice_answer(spec, lines, raw, source)
    text = _without_empty_boxes(raw)
    if not text:
        return None
    if spec.type == "date":
        return _date_answer(spec.key, text, source)
    if spec.type in ("email", "phone") and is_non_answer(text):
        return None
    raw = text
    if spec.type == "email":
        text = _one_of(_unwrapped(text, EMAIL, ""), EMAIL).removeprefix("mailto:").strip()
    elif spec.type == "phone":
        text = _unwrapped(text, PHONE, " ")
    return Answer(spec.key, text, raw, source)


def _one_of(text: str, pattern: re.Pattern[str]) -> str:
    """The one address in a box that holds other words too ("jo@x.gov.uk (secure)",
    a contact box with a postal address); the text as written otherwise."""
    found = pattern.findall(text)
    return found[0] if len(found) == 1 else text


def _unwrapped(text: str, pattern: re.Pattern[str], joiner: str) -> str:
    """An email address or telephone number broken over lines by a narrow cell, whole again."""
    if "\n" not in text:
        return text
    joined = joiner.join(part.strip() for part in text.split("\n"))
    whole = pattern.fullmatch(joined.strip())
    return joined if whole else text


def _without_empty_boxes(text: str) -> str:
    """Text answers sometimes keep a stray box glyph; it is not part of the answer."""
    return fold_text(text.replace(UNCHECKED, " ").replace(CHECKED, " "))


def _date_answer(key: str, text: str, source: str) -> Answer | None:
    if is_non_answer(text):
        return None
    parsed = parse_uk_date(text)
    if parsed is None:
        return Answer(key, text, text, source, normalised=False)
    return Answer(key, parsed.isoformat(), text, source)


def _choice_answer(spec: FieldSpec, lines: Sequence[Line], raw: str, source: str) -> Answer | None:
    chosen = choose(lines, spec.options)
    if chosen is None:
        if is_non_answer(raw):
            return None
        return Answer(spec.key, raw, raw, source, normalised=False)
    if not chosen:
        return None
    if spec.type == "checks":
        return Answer(spec.key, sorted(chosen), raw, source)
    if len(chosen) > 1:
        return Answer(spec.key, raw, raw, source, normalised=False)
    return Answer(spec.key, chosen[0], raw, source)


# --- composites --------------------------------------------------------------------------


@dataclass(frozen=True)
class Shared:
    """A composite's answer shared out: the answers found, and the fields it asked
    for that its answer did not clearly give (``unclear``: not blank, not sure)."""

    answers: Mapping[str, Answer]
    unclear: tuple[str, ...] = ()


def share_out(entry: Entry, lines: Sequence[Line], target: Target, schema: FormSchema) -> Shared:
    """The answers a composite question's one answer gives its fields."""
    if not lines:
        return Shared({})
    specs = [schema.field(key) for key in target.fields]
    if target.split == "full_name":
        return _full_name(lines, specs, entry.source)
    if target.split == "append":
        text = fold_text("\n".join(line.text for line in lines))
        return Shared({specs[0].key: Answer(specs[0].key, text, text, entry.source)})
    return _by_type(lines, specs, entry.source, schema)


def _marked_out(lines: Sequence[Line]) -> bool:
    """Whether one of the lines of a printed option list is marked as the pick: a
    tick, or bold among plain lines (the options left standing are no pick here)."""
    marks = read_marks(lines)
    emphasised = [m.emphasis for m in marks]
    return any(m.state is State.TICKED for m in marks) or (any(emphasised) and not all(emphasised))


def _full_name(lines: Sequence[Line], specs: Sequence[FieldSpec], source: str) -> Shared:
    text = fold_text(lines[0].text)
    forenames, surname = split_full_name(text)
    found: dict[str, Answer] = {}
    if forenames:
        found[specs[0].key] = Answer(specs[0].key, forenames, text, source)
    if surname:
        found[specs[1].key] = Answer(specs[1].key, surname, text, source)
    unclear = tuple(s.key for s in specs[:2] if s.key not in found)
    return Shared(found, unclear)


def split_full_name(text: str) -> tuple[str, str]:
    """(forenames, surname) of a name written in one box.

    "SMITH, Jane" and "Jane SMITH" mark the surname; otherwise the last word
    is the surname, with its particles ("Anna van der Berg").  One word alone
    is not split: ("", "") so that a person looks.
    """
    text = text.strip(" ,.")
    if "," in text:
        surname, _, forenames = text.partition(",")
        return forenames.strip(), surname.strip()
    words = text.split()
    if len(words) < 2:
        return "", ""
    capitals = [i for i, w in enumerate(words) if len(w) > 1 and w.isupper() and w.isalpha()]
    if capitals and len(capitals) < len(words) and capitals == list(range(capitals[0], len(words))):
        cut = capitals[0]
    else:
        cut = len(words) - 1
        while cut > 1 and words[cut - 1].lower() in _PARTICLES:
            cut -= 1
    return " ".join(words[:cut]), " ".join(words[cut:])


def _by_type(
    lines: Sequence[Line], specs: Sequence[FieldSpec], source: str, schema: FormSchema
) -> Shared:
    """Emails, telephone numbers and dates to the fields of those types; other
    phrases to the text fields, by their own label ("Role: ...") or in order.

    A choice printed as a list of its options ("Yes" / "No" / "Not known" on lines
    of their own) is read from that list alone, as a choice question's answer is
    (a tick, or the one option set apart in bold), and the list is no part of the
    other fields' answers.  Where no choice can be read from it, none is read: the
    first option printed is not the answer, and the rest are not a date; the
    fields the list might answer are left for a person."""
    found: dict[str, Answer] = {}
    listed: set[int] = set()
    read_from_list: set[str] = set()
    for spec in specs:
        printed = option_lines(lines, spec.options) if spec.options else []
        if printed:
            # Two or more of its options printed on lines of their own: a list, or
            # one answer a field ("Gender / ethnicity": "Female", "Not known")?  Only
            # a pick marked out in the list (a tick, or one option in bold) is read;
            # otherwise neither (a person looks), never by the options' order.
            listed.update(printed)
            read_from_list.add(spec.key)
            shown = [lines[i] for i in printed]
            picked = (
                answer_from_lines(shown, spec, source)
                if _marked_out(shown) and choose(shown, spec.options)
                else None
            )
            if picked is not None:
                found[spec.key] = picked
    if listed:
        lines = [line for i, line in enumerate(lines) if i not in listed]
    text = _unwrap_emails([fold_text(line.text) for line in lines])
    for spec in specs:
        pattern = {"email": EMAIL, "phone": PHONE}.get(spec.type)
        if pattern is None:
            continue
        match = next(
            (
                m
                for m in pattern.finditer(text)
                if spec.type != "phone" or _phone_digits(m.group(0))
            ),
            None,
        )
        if match is not None:
            value = match.group(0).strip()
            found[spec.key] = Answer(spec.key, value, value, source)
            text = text[: match.start()] + "\n" + text[match.end() :]
    rest = [
        s
        for s in specs
        if s.key not in found and s.key not in read_from_list and s.type not in ("email", "phone")
    ]
    segments = [s for s in (_strip_label(p) for p in _segments(text, len(rest))) if s[1]]
    for spec, value in _place_segments(segments, rest, schema):
        answer = answer_from_lines([Line(value)], spec, source)
        if answer is not None:
            found[spec.key] = answer
    unclear = tuple(s.key for s in specs if s.key not in found)
    return Shared(found, unclear)


# The separators of a composite answer, from the one that parts fields most surely
# to the one most often inside a value ("Warrington Borough Council – Children's
# Social Care, Team Manager": the dash is inside the agency, the comma parts the
# agency from the role).
_SEPARATORS = (r"\n", r";", r"\|", r",(?!\d)", r"\s[-–—]\s")
_LEVELS = tuple(
    re.compile(r"\s*(?:" + "|".join(_SEPARATORS[:n]) + r")\s*")
    for n in range(1, len(_SEPARATORS) + 1)
)


def _segments(text: str, wanted: int) -> list[str]:
    """``text`` split at the surest separators that give ``wanted`` parts or more
    (all of them when none does)."""
    parts: list[str] = []
    for level in _LEVELS:
        # What an email or number taken out leaves ("Sarah Jones, Social Worker, ,")
        # is empty: not a part.  A placeholder ("-") keeps its place.
        parts = [p.strip(" ,;|") for p in level.split(text)]
        parts = [p for p in parts if p]
        if len(parts) >= wanted:
            return parts
    return parts


def _unwrap_emails(lines: list[str]) -> str:
    out: list[str] = []
    for line in lines:
        if out and "@" in out[-1] and " " not in line and not EMAIL.fullmatch(out[-1].split()[-1]):
            out[-1] += line
        else:
            out.append(line)
    return "\n".join(out)


def _strip_label(segment: str) -> tuple[str, str]:
    """("role", "Head of Safeguarding") from "Role: Head of Safeguarding"."""
    segment = segment.strip(" .:")
    match = _LABELLED.match(segment)
    if match and not PHONE.search(match.group(1)):
        return match.group(1).strip(), match.group(2).strip()
    return "", segment


def _place_segments(
    segments: Sequence[tuple[str, str]], specs: Sequence[FieldSpec], schema: FormSchema
) -> list[tuple[FieldSpec, str]]:
    from parsers.forms.targets import compile_schema

    compiled = compile_schema(schema)
    targets = {t.key: t for t in compiled.targets if t.split is None}
    placed: dict[str, str] = {}
    plain: list[str] = []
    for label, value in segments:
        spec = _labelled_spec(label, specs, targets, compiled.lexicon) if label else None
        if spec is not None and spec.key not in placed:
            placed[spec.key] = value
        else:
            plain.append(f"{label}: {value}" if label else value)
    free = [s for s in specs if s.key not in placed]
    for spec in free[:-1]:
        if plain:
            placed[spec.key] = plain.pop(0)
    if free and plain:
        placed[free[-1].key] = ", ".join(plain)
    return [(s, placed[s.key]) for s in specs if s.key in placed]


def _labelled_spec(
    label: str, specs: Sequence[FieldSpec], targets: Mapping[str, Target], lexicon: Lexicon
) -> FieldSpec | None:
    question = asked(lexicon, label)
    scored = [(wording_score(question, targets[s.key], None), s) for s in specs]
    best = max(scored, key=lambda pair: pair[0], default=None)
    return best[1] if best is not None and best[0] >= 84 else None
