"""Which form a document is, and what its answers say.

`extract_form` takes the documents read from one message's attachments and
the form schemas, and returns the best `FormMatch`: the form type, every
answer found (normalised, with the text as written and where it came from),
and why that document was taken as the form.  Pure: no I/O.

How a document is matched to a schema:

1. Each entry's section heading is matched to one of the schema's sections
   (numbers and "Section D –" prefixes ignored, other wordings allowed).
2. Each entry's question is scored against every field's wordings; the
   section breaks ties ("Name" under "Referrer" is ``referrer_name``, under
   "Safeguarding lead" ``dsl_name``), then pairs are assigned greedily, best
   first, each field and entry used once.
3. Lines of free text outside tables are searched for "Question: answer"
   and "question, then answer lines" patterns, for fields still unfound.
4. The document's score is the share of fields found among the fields of the
   schema plus the document's questions that fit no field, with a bonus
   when its title names the form.  A document below the threshold is not
   that form (it is correspondence, or another service's form).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from rapidfuzz import fuzz

from parsers.document import CHECKED, UNCHECKED, Document, Entry, FlowLine, Line
from parsers.normalise import comparable, fold_text, is_non_answer, parse_uk_date
from parsers.options import choose
from parsers.schema import FieldSpec, FormSchema

Value = str | list[str]

QUESTION_THRESHOLD = 84.0  # a question wording must score at least this (0-100)
SECTION_THRESHOLD = 80.0
SECTION_BONUS = 12.0  # a question under the field's own section
SECTION_PENALTY = 6.0  # a question under another known section
FORM_THRESHOLD = 0.40  # share of the schema's questions a form must show
FORM_THRESHOLD_NAMED = 0.25  # ... when its title names the form
TITLE_BONUS = 0.15


@dataclass(frozen=True)
class Answer:
    """One field's answer: ``value`` normalised where possible, ``raw`` as written."""

    key: str
    value: Value
    raw: str
    source: str
    normalised: bool = True  # False: the text could not be read as the field's type


@dataclass
class FormMatch:
    form_type: str
    filename: str
    score: float
    why: str
    answers: dict[str, Answer] = field(default_factory=dict)
    questions_found: int = 0

    @property
    def values(self) -> dict[str, Value]:
        return {key: answer.value for key, answer in self.answers.items()}


def extract_form(
    documents: Sequence[Document], schemas: Mapping[str, FormSchema]
) -> FormMatch | None:
    """The best form among ``documents``, or None when none is a known form.

    Where several documents hold forms, the one with the highest score wins;
    a tie goes to the one with more answers.  The others are correspondence.
    """
    candidates = [match_document(doc, schema) for doc in documents for schema in schemas.values()]
    found = [c for c in candidates if c is not None]
    if not found:
        return None
    best = max(found, key=lambda m: (round(m.score, 2), len(m.answers)))
    others = [m for m in found if m is not best and m.filename != best.filename]
    if others:
        best.why += f"; preferred to {len(others)} other attachment(s) with a lower score"
    return best


def match_document(doc: Document, schema: FormSchema) -> FormMatch | None:
    """``doc`` read as ``schema``'s form, or None when it is not that form."""
    entries = [*doc.entries, *_entries_from_flow(doc.flow, schema)]
    pairs = assign_questions(entries, schema)
    unmatched = sum(1 for i, e in enumerate(entries) if i not in pairs and _looks_like_question(e))
    found = len(pairs)
    share = found / (len(schema.fields) + unmatched) if schema.fields else 0.0
    named = _title_names_form(doc, schema)
    score = share + (TITLE_BONUS if named else 0.0)
    if share < (FORM_THRESHOLD_NAMED if named else FORM_THRESHOLD):
        return None
    match = FormMatch(
        form_type=schema.form_type,
        filename=doc.filename,
        score=score,
        why=f"{doc.filename}: {found} of {len(schema.fields)} questions of the "
        f"{schema.title} found{', title matches' if named else ''}",
        questions_found=found,
    )
    by_field = {key: index for index, key in pairs.items()}
    for spec in schema.fields:  # in the form's order, as people read it
        if spec.key in by_field:
            answer = read_answer(entries[by_field[spec.key]], spec)
            if answer is not None:
                match.answers[spec.key] = answer
    return match


# --- questions -------------------------------------------------------------------------


def assign_questions(entries: Sequence[Entry], schema: FormSchema) -> dict[int, str]:
    """Entry index -> field key, each field and each entry used at most once."""
    scored: list[tuple[float, int, int, str]] = []
    for i, entry in enumerate(entries):
        section = match_section(entry.section, schema)
        for order, spec in enumerate(schema.fields):
            score = _question_score(entry, spec)
            if score < QUESTION_THRESHOLD and section == spec.section:
                score = max(score, containment_score(entry.question, spec.wordings))
            if score < QUESTION_THRESHOLD:
                continue
            if section is not None:
                score += SECTION_BONUS if section == spec.section else -SECTION_PENALTY
            scored.append((score, i, order, spec.key))
    scored.sort(key=lambda s: (-s[0], s[1], s[2]))
    taken_entries: set[int] = set()
    taken_fields: set[str] = set()
    pairs: dict[int, str] = {}
    for _score, i, _order, key in scored:
        if i in taken_entries or key in taken_fields:
            continue
        pairs[i] = key
        taken_entries.add(i)
        taken_fields.add(key)
    return pairs


def _question_score(entry: Entry, spec: FieldSpec) -> float:
    if entry.key_hint and _hint_names(entry.key_hint, spec.key):
        return 100.0
    return wording_score(entry.question, spec.wordings)


def _hint_names(hint: str, key: str) -> bool:
    """An AcroForm or content-control name that is the field key itself."""
    return comparable(hint) == comparable(key)


# Abbreviations forms use in questions, spelt out before wordings are compared.
ABBREVIATIONS = {
    "dsl": "designated safeguarding lead",
    "dob": "date of birth",
    "la": "local authority",
    "sin": "serious incident notification",
    "csc": "childrens social care",
    "tel": "telephone",
    "ref": "reference",
    "e mail": "email",
    "post code": "postcode",
}
_ABBREVIATION = re.compile(r"\b(" + "|".join(map(re.escape, ABBREVIATIONS)) + r")\b")


def spell_out(text: str) -> str:
    """``comparable`` text with the usual abbreviations written in full."""
    return _ABBREVIATION.sub(lambda m: ABBREVIATIONS[m.group(1)], text)


@lru_cache(maxsize=8192)
def _variants(text: str) -> tuple[str, ...]:
    """The comparable forms of a wording: whole, and without any bracketed part."""
    whole = spell_out(comparable(text))
    bare = spell_out(comparable(_strip_brackets(text)))
    return (whole, bare) if bare and bare != whole else (whole,)


def _strip_brackets(text: str) -> str:
    out, depth = [], 0
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")" and depth:
            depth -= 1
        elif not depth:
            out.append(ch)
    return "".join(out)


def wording_score(question: str, wordings: Iterable[str]) -> float:
    """How well a printed question matches any of a field's wordings (0-100)."""
    asked = _variants(question)
    if not asked or not asked[0]:
        return 0.0
    best = 0.0
    for wording in wordings:
        for a in asked:
            for w in _variants(wording):
                if a == w:
                    return 100.0
                best = max(best, fuzz.ratio(a, w))
    return best


_STOP_WORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "of",
        "to",
        "for",
        "in",
        "on",
        "at",
        "by",
        "with",
        "and",
        "or",
        "what",
        "which",
        "who",
        "whom",
        "when",
        "where",
        "how",
        "has",
        "have",
        "had",
        "does",
        "do",
        "did",
        "this",
        "that",
        "these",
        "those",
        "any",
        "please",
        "if",
        "known",
        "your",
        "you",
        "their",
        "there",
        "it",
        "its",
    ]
)


def containment_score(question: str, wordings: Iterable[str]) -> float:
    """A question that says one of the wordings in more words ("What is the
    child's date of birth?" for "Date of birth"): 86 to 96, by how much of the
    question the wording covers; 0 when some word of every wording is missing.

    Only used within the field's own section, where a longer phrasing of a
    question cannot be another question's.
    """
    asked = _content_words(question)
    if not asked:
        return 0.0
    best = 0.0
    for wording in wordings:
        words = _content_words(_strip_brackets(wording))
        if words and words <= asked:
            best = max(best, 86.0 + 10.0 * len(words) / len(asked))
    return best


def _content_words(text: str) -> frozenset[str]:
    """The words that carry meaning, a plural or possessive "s" dropped ("child's")."""
    words = spell_out(comparable(text)).split()
    return frozenset(_stem(w) for w in words if w not in _STOP_WORDS)


def _stem(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") else word


def match_section(title: str, schema: FormSchema) -> str | None:
    """The key of the schema's section a heading names, or None."""
    if not title.strip():
        return None
    best, best_key = 0.0, None
    for section in schema.sections:
        score = wording_score(title, section.wordings)
        if score > best:
            best, best_key = score, section.key
    return best_key if best >= SECTION_THRESHOLD else None


def _looks_like_question(entry: Entry) -> bool:
    """A row that asks something (so a form without that question is less alike)."""
    words = comparable(entry.question).split()
    return 0 < len(words) <= 30


def _title_names_form(doc: Document, schema: FormSchema) -> bool:
    head = comparable(" ".join(doc.title[:8]))
    if not head:
        return False
    return any(fuzz.partial_ratio(comparable(p), head) >= 92 for p in schema.identifiers)


# --- free text -------------------------------------------------------------------------


def _entries_from_flow(flow: Sequence[FlowLine], schema: FormSchema) -> list[Entry]:
    """Question/answer pairs written as paragraphs rather than a table.

    "Question: answer" on one line, or a line that is a question followed by
    its answer lines, up to the next question or heading.
    """
    entries: list[Entry] = []
    section = ""
    current: tuple[str, str, list[Line], str] | None = None
    for line in flow:
        if _is_boilerplate(line.text, schema):
            _close(current, entries)
            current = None
            continue
        if line.heading and match_section(line.text, schema) is not None:
            _close(current, entries)
            current = None
            section = line.text
            continue
        label, rest = _split_label(line.text, schema)
        if label is not None:
            _close(current, entries)
            current = None
            current = (label, section, [Line(rest, line.emphasis)] if rest else [], line.source)
        elif current is not None and not line.heading:
            current[2].append(Line(line.text, line.emphasis))
        elif line.heading:
            _close(current, entries)
            current = None
    _close(current, entries)
    return entries


def _is_boilerplate(text: str, schema: FormSchema) -> bool:
    """A printed instruction of the form (never part of an answer)."""
    line = comparable(text)
    return any(line.startswith(comparable(phrase)) for phrase in schema.boilerplate)


def _close(current: tuple[str, str, list[Line], str] | None, entries: list[Entry]) -> None:
    if current is not None:
        question, section, lines, source = current
        entries.append(Entry(question, section, tuple(lines), source or "text"))


def _split_label(text: str, schema: FormSchema) -> tuple[str | None, str]:
    """(question, rest) when ``text`` starts with one of the schema's questions."""
    head, sep, tail = text.partition(":")
    if sep and len(head) <= 120 and _best_field_score(head, schema) >= QUESTION_THRESHOLD:
        return head.strip(), tail.strip()
    if len(text) <= 150 and _best_field_score(text, schema) >= 92:
        return text.strip(), ""
    return None, ""


def _best_field_score(text: str, schema: FormSchema) -> float:
    return max((wording_score(text, f.wordings) for f in schema.fields), default=0.0)


# --- answers ---------------------------------------------------------------------------


def read_answer(entry: Entry, spec: FieldSpec) -> Answer | None:
    """The field's answer from an entry's lines, or None when it was left blank."""
    lines = [Line(fold_text(line.text), line.emphasis) for line in entry.answer]
    lines = [line for line in lines if line.text]
    if not lines:
        return None
    raw = "\n".join(line.text for line in lines)
    if spec.type in ("choice", "yesno", "checks"):
        return _choice_answer(entry, spec, lines, raw)
    text = _without_empty_boxes(raw)
    if not text:
        return None
    if spec.type == "date":
        return _date_answer(spec.key, text, entry.source)
    if spec.type in ("email", "phone") and is_non_answer(text):
        return None
    if spec.type == "email":
        text = text.removeprefix("mailto:").strip()
    return Answer(spec.key, text, text, entry.source)


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


def _choice_answer(entry: Entry, spec: FieldSpec, lines: list[Line], raw: str) -> Answer | None:
    chosen = choose(lines, spec.options)
    if chosen is None:
        if is_non_answer(raw):
            return None
        return Answer(spec.key, raw, raw, entry.source, normalised=False)
    if not chosen:
        return None
    if spec.type == "checks":
        return Answer(spec.key, sorted(chosen), raw, entry.source)
    if len(chosen) > 1:
        return Answer(spec.key, raw, raw, entry.source, normalised=False)
    return Answer(spec.key, chosen[0], raw, entry.source)
