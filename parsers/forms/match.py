"""Which form a document is, what its answers say, and how sure we are.

`match_document` reads one `Document` as one schema's form:

1. Every question of the document (table rows, form fields, and "Question:
   answer" lines of running text) is scored against every `Target` of the
   schema (a field, or a composite question such as "Name of child").  A
   score combines the wording (with the lexicon's synonyms), the section the
   question stands in, whether the answer's type fits the field's type, and
   (in a second pass) its place next to questions already placed.
2. Questions and targets are assigned as a whole, one to one, by an optimal
   assignment over the score matrix (``scipy.optimize.linear_sum_assignment``),
   not greedily.  A question asking for several fields at once ("Name and job
   title", "Name, agency and contact details") is split into its fields.
3. The result records the evidence a decision needs: the fields whose
   question was found on the form (``located``), those found blank
   (``blank``), those asked in a composite whose answer could not be shared
   out for sure (``unclear``), how well each answer's question matched
   (``placement``), and the questions that could not be placed
   (``unplaced``, with their answers).
4. The document's score is the F1 of the share of the schema's fields found
   and the share of the document's questions placed, with a bonus when its
   title names the form.  Below the threshold it is not that form.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

from rapidfuzz import fuzz, process

from parsers.document import CHECKED, UNCHECKED, Document, Entry, FlowLine, Line
from parsers.forms.answers import (
    Answer,
    Traits,
    Value,
    answer_from_lines,
    answer_lines,
    is_guidance,
    known_by_options,
    share_out,
    traits,
    type_fit,
)
from parsers.forms.targets import (
    HEAD_PENALTY,
    PERSON_PENALTY,
    Asked,
    Compiled,
    Target,
    Wording,
    asked,
    compile_schema,
    containment,
    is_question_like,
    likeness,
    sameness,
    unnumbered,
    without_subject,
    without_words,
    wording_score,
)
from parsers.lexicon import Lexicon, content_words, stem
from parsers.normalise import (
    comparable,
    date_doubt,
    is_non_answer,
    parse_uk_date,
    words_beside_the_date,
)
from parsers.options import State, left_blank, listed_options, match_option, read_marks
from parsers.schema import FormSchema, OptionSpec

if TYPE_CHECKING:
    import numpy as np

# numpy and scipy are imported by the functions that score and solve, not here:
# the service's main process imports this module for its types and
# `possible_answers`, and matching runs in the sandbox (issue 10: 60 MB less).

QUESTION_THRESHOLD = 84.0  # a question's total score must reach this (0-100 and bonuses)
WORDING_FLOOR = 62.0  # ... and its wording alone this
WORDING_FLOOR_OPTIONS = 40.0  # ... or this, when its ticks are plainly the field's own options
STRONG_FIT = 20.0
KNOWN_BY_OPTIONS = 90.0  # at least this, a question listing 3+ of a field's options with boxes
SECTION_BONUS = 12.0  # a question under the target's own section
SECTION_PENALTY = 6.0  # a question under another known section
NEIGHBOUR_BONUS = 4.0  # a question next to one placed just before (or after) it on the form
LEANING = 80.0  # an unplaced question worded this like a question leans to its section
ECHO_PENALTY = 4.0  # a question compared without its heading's words (`_echo_scores`)
ECHO_CLAIMED = 90.0  # ... unless a question worded this like the field is on the form
HINT_SCORE = 100.0  # an AcroForm or content-control name that is the field key
PART_THRESHOLD = 88.0  # each part of a composite question must name its field this well
FORM_THRESHOLD = 0.40  # F1 a document must reach to be the form
FORM_THRESHOLD_NAMED = 0.25  # ... when its title names the form
TITLE_BONUS = 0.15
PRECISION_FORM = 0.55  # a shorter version of the form: this share of its questions placed...
PLACED_FORM = 8  # ... and at least this many


@dataclass(frozen=True)
class Unplaced:
    """A question on the form that was not placed, with what was written against it."""

    question: str
    section: str
    answer: str  # "" when blank
    source: str


@dataclass
class FormMatch:
    """One document read as one form, with the evidence behind it."""

    form_type: str
    filename: str
    score: float
    why: str
    answers: dict[str, Answer] = field(default_factory=dict)
    questions_found: int = 0
    located: set[str] = field(default_factory=set)
    blank: set[str] = field(default_factory=set)
    # field -> "composite" | "options" | "qualified" (found blank only under a question
    # not worded like ours as a whole: `_loosely_placed`) | "heading" | "said" (answered
    # in words that give no answer: "Not known", "N/A")
    unclear: dict[str, str] = field(default_factory=dict)
    # Answers read under a question right above a line taken for a question by
    # how it is set out (`FlowLabel.guessed`): that line may have been the answer;
    # and the parts of one answer we shared out over the fields its question names.
    doubted: set[str] = field(default_factory=set)
    placement: dict[str, float] = field(default_factory=dict)
    unplaced: list[Unplaced] = field(default_factory=list)
    asked_as: dict[str, str] = field(default_factory=dict)  # field -> its question on this form
    named: bool = False
    # The form types of the message's other attachments that are forms too (a copy of
    # the LA's notification sent with a referral): they may give what this one lacks.
    other_forms: list[str] = field(default_factory=list)
    confidence: float = 0.0  # the F1 of questions found and placed (0-1), without the title
    precision: float = 0.0  # the share of the document's questions placed

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
    every = tuple(schemas.values())
    candidates = [
        match_document(doc, schema, every) for doc in documents for schema in schemas.values()
    ]
    found = [c for c in candidates if c is not None]
    if not found:
        return None
    best = max(found, key=lambda m: (round(m.score, 2), len(m.answers)))
    others = [m for m in found if m is not best and m.filename != best.filename]
    if others:
        best.why += f"; preferred to {len(others)} other attachment(s) with a lower score"
        best.other_forms = sorted({m.form_type for m in others})
    return best


# --- the questions of a document -------------------------------------------------------


@dataclass(frozen=True)
class Question:
    """One entry of the document, prepared for scoring."""

    entry: Entry
    asked: Asked
    sections: frozenset[str]  # the schema sections its heading names (empty: none)
    lines: tuple[Line, ...]
    traits: Traits
    heading_persons: frozenset[str] = frozenset()  # `_heading_persons`


def _questions(entries: Sequence[Entry], compiled: Compiled) -> list[Question]:
    lex = compiled.lexicon
    out = []
    for entry in entries:
        lines = tuple(answer_lines(entry, lex))
        sections = compiled.sections_of(entry.section)
        out.append(
            Question(
                entry,
                asked(lex, entry.question),
                sections,
                lines,
                traits(lines),
                _heading_persons(entry.section, sections, compiled),
            )
        )
    return out


def _heading_persons(heading: str, sections: frozenset[str], compiled: Compiled) -> frozenset[str]:
    """The persons a heading names, when it names any besides those the sections
    it names are about ("GP details", "Siblings"; not "Please give the details of
    the safeguarding lead" over the lead's questions)."""
    if not heading.strip():
        return frozenset()

    def work() -> frozenset[str]:
        named = _persons_named(heading, frozenset(), compiled)
        about = frozenset().union(*(compiled.subjects.get(s, frozenset()) for s in sections))
        return named if named - about else frozenset()

    return compiled.remember(("heading persons", heading, sections), work)


def _someone_elses(q: Question, target: Target) -> bool:
    """Whether ``q`` stands under a heading naming persons, none of them the one
    ``target`` is about ("Health visitor" for the child's name; not "DSL
    (headteacher)" for the lead's email, nor "Child (victim)" for the child's)."""
    return bool(q.heading_persons and target.persons and not q.heading_persons & target.persons)


def _persons_named(heading: str, sections: frozenset[str], compiled: Compiled) -> frozenset[str]:
    words = compiled.lexicon.canon(unnumbered(heading)).split()
    persons = compiled.lexicon.persons(" ".join(stem(w) for w in words))  # "Siblings"
    for section in sections:
        persons -= compiled.subjects.get(section, frozenset())
    return persons


def match_document(
    doc: Document, schema: FormSchema, others: Sequence[FormSchema] = ()
) -> FormMatch | None:
    """``doc`` read as ``schema``'s form, or None when it is not that form.

    ``others``: the other forms it may be.  A line of running text that asks
    one of their questions and none of this form's counts against this form
    when forms are ranked (`FormMatch.score`): read only by its own
    questions, a shorter form would seem to be all the document holds, and
    outrank the form the document is.  Such a line is never taken out of the
    answer it stands in ("Outcome: he died in hospital" inside a case
    outline stays part of the outline)."""
    compiled = compile_schema(schema)
    labels = _flow_labels(doc.flow, compiled) if doc.flow else []
    entries = [*doc.entries, *entries_from_flow(doc.flow, compiled, labels)]
    questions = _questions(entries, compiled)
    targets = [*compiled.targets, *_split_questions(questions, compiled)]
    pairs = _assign(questions, targets, compiled)
    named = _title_names_form(doc, schema)
    theirs = [compile_schema(o) for o in others if o is not schema]
    match = _read(
        doc, schema, questions, targets, pairs, named, _their_questions(doc, labels, theirs)
    )
    if not _recognised(match):
        return None
    return match


def assign_questions(entries: Sequence[Entry], schema: FormSchema) -> dict[int, str]:
    """Entry index -> key of the target it was placed on (a field, or a composite)."""
    compiled = compile_schema(schema)
    questions = _questions(entries, compiled)
    targets = [*compiled.targets, *_split_questions(questions, compiled)]
    return {i: targets[j].key for i, (j, _score) in _assign(questions, targets, compiled).items()}


# --- scoring and assignment ------------------------------------------------------------


def _assign(
    questions: Sequence[Question], targets: Sequence[Target], compiled: Compiled
) -> dict[int, tuple[int, float]]:
    """Question index -> (target index, score): the best one-to-one assignment."""
    if not questions or not targets:
        return {}
    wording = _wording_matrix(questions, targets, compiled)
    base = _score_matrix(questions, targets, compiled, wording)
    first = _solve(base)
    doubted = _doubted_headings(questions, targets, first, wording, compiled)
    if doubted:
        questions = [
            dataclasses.replace(q, sections=doubted[q.entry.section])
            if q.entry.section in doubted and not _agrees(q, targets, first.get(i))
            else q
            for i, q in enumerate(questions)
        ]
        base = _score_matrix(questions, targets, compiled)
        first = _solve(base)
    order = {i: targets[j].order for i, (j, _s) in first.items()}
    boosted = base + _neighbour_bonus(len(questions), targets, order) * (base > 0)
    return _solve(boosted)


def _doubted_headings(
    questions: Sequence[Question],
    targets: Sequence[Target],
    pairs: Mapping[int, tuple[int, float]],
    wording: np.ndarray,
    compiled: Compiled,
) -> dict[str, frozenset[str]]:
    """Headings whose questions belong to other sections, each with the sections
    its questions are read in instead (but for those placed in its own).

    * Most of its questions (three or more) placed in other sections: an
      instruction printed like a heading, or a table that carries on under the
      last heading although it is about something else.  Its questions are
      read as if under no heading.
    * A heading that names no section of ours ("Referring agency"), or names
      one in other words than the schema's (the "Reasons for referral" of a
      referral's criteria, read as "About this referral" for its one word
      "referral"), and names no person that section is not about: when two or
      more of its questions, and none against, lean to that one section (placed
      on its fields, or worded most like them), one of them placed there, it
      is that section's heading."""
    placed: dict[str, list[bool]] = {}
    leaning: dict[str, list[str]] = {}
    fields: dict[str, set[str]] = {}  # the sections of the fields its questions were placed on
    taken = {j for j, _score in pairs.values()}
    for i, q in enumerate(questions):
        if not q.entry.section.strip():
            continue
        if i in pairs:
            target = targets[pairs[i][0]]
            if q.sections:
                placed.setdefault(q.entry.section, []).append(target.section in q.sections)
            if target.spec is None:
                continue  # a spare "Name" of anyone fits the child's name asked in one
            leaning.setdefault(q.entry.section, []).append(target.section)
            fields.setdefault(q.entry.section, set()).add(target.section)
        elif (lean := _leans(wording[i], targets, taken)) is not None:
            leaning.setdefault(q.entry.section, []).append(lean)
    doubted = {
        heading: frozenset[str]()
        for heading, agree in placed.items()
        if len(agree) >= 3 and sum(agree) < len(agree) / 2
    }
    for heading, sections in leaning.items():
        section = sections[0]
        if (
            heading not in doubted
            and len(sections) >= 2
            and len(set(sections)) == 1
            and section in fields.get(heading, ())
            and section not in compiled.sections_of(heading)
            and not compiled.names_exactly(heading)
            and _names_no_one_else(heading, section, compiled)
        ):
            doubted[heading] = frozenset({section})
    return doubted


def _names_no_one_else(heading: str, section: str, compiled: Compiled) -> bool:
    """Whether ``heading`` names no person but the one ``section`` is about: the
    "Name" and "Address" under "Father / partner" or "Siblings" are theirs, however
    like the child's questions."""
    return not _persons_named(heading, frozenset({section}), compiled)


def _leans(row: np.ndarray, targets: Sequence[Target], taken: set[int]) -> str | None:
    """The section of the question an unplaced question is worded most like, if it
    is worded like one at all and that one was not placed on another question (a
    second "Date of birth", under "Siblings", is not the child's)."""
    j = int(row.argmax())
    return targets[j].section if row[j] >= LEANING and j not in taken else None


def _agrees(q: Question, targets: Sequence[Target], placed: tuple[int, float] | None) -> bool:
    """Whether a question was placed in a section its heading names: under a
    doubted heading, such a question keeps its heading (the heading fits it,
    if not the questions after it)."""
    return placed is not None and targets[placed[0]].section in q.sections


def _solve(scores: np.ndarray) -> dict[int, tuple[int, float]]:
    """The assignment of greatest total worth.  A pair's worth grows with the
    square of its margin over the threshold, so one sure pairing outweighs two
    doubtful ones ("Date of critical incident" is the incident's date, even if
    that leaves a chronology's "Date / Event" column unplaced)."""
    import numpy as np

    from parsers.forms.assignment import linear_sum_assignment

    worth = np.where(scores > 0, (scores - (QUESTION_THRESHOLD - 4.0)) ** 2, 0.0)
    rows, cols = linear_sum_assignment(worth, maximize=True)
    return {
        int(i): (int(j), float(scores[i, j]))
        for i, j in zip(rows, cols, strict=True)
        if scores[i, j] > 0
    }


def _score_matrix(
    questions: Sequence[Question],
    targets: Sequence[Target],
    compiled: Compiled,
    wording: np.ndarray | None = None,
) -> np.ndarray:
    import numpy as np

    if wording is None:
        wording = _wording_matrix(questions, targets, compiled)
    scores = np.zeros((len(questions), len(targets)))
    for i, q in enumerate(questions):
        if compiled.lexicon.is_office_use(q.entry.question):
            continue
        fits: dict[tuple[object, ...], float] = {}  # this answer against each kind of field, once
        for j, target in enumerate(targets):
            w = wording[i, j]
            if q.entry.key_hint and _hint_names(q.entry.key_hint, target):
                w = HINT_SCORE
            elif _someone_elses(q, target):
                w -= PERSON_PENALTY  # "Name" under "Health visitor" is not the child's
            if w < WORDING_FLOOR_OPTIONS:
                continue  # below both floors, whatever the answer
            kind = _fit_kind(target)
            fit = fits.get(kind)
            if fit is None:
                fit = fits[kind] = _fit(q, target, compiled)
            if w < (WORDING_FLOOR_OPTIONS if fit >= STRONG_FIT else WORDING_FLOOR):
                continue
            same = sameness(q.sections, target.section)
            total = w + (SECTION_BONUS if same else -SECTION_PENALTY if same is False else 0.0)
            total += fit
            if (
                fit >= STRONG_FIT
                and target.spec is not None
                and known_by_options(target.spec, q.lines)
            ):
                total = max(total, KNOWN_BY_OPTIONS)
            if total >= QUESTION_THRESHOLD:
                scores[i, j] = total
    return scores


def _wording_matrix(
    questions: Sequence[Question], targets: Sequence[Target], compiled: Compiled
) -> np.ndarray:
    """Wording scores of every question against every target (sections aside but
    for containment, which counts less outside the target's section).

    A question's scores against the schema's own targets depend on its words and
    sections alone: they are worked out once a schema (`Compiled.remember`);
    only the targets split out of this document's questions are scored afresh."""
    import numpy as np

    fixed = len(compiled.targets)
    if tuple(targets[:fixed]) != compiled.targets:
        out = _wording_block(questions, targets, compiled)
        _echo_scores(questions, targets, compiled, out)
        return out
    keys: list[tuple[object, ...]] = [("row", q.asked, q.sections) for q in questions]
    found: dict[tuple[object, ...], Any] = {key: compiled.memo.get(key) for key in keys}
    new = [key for key, row in found.items() if row is None]
    if new:
        first = {key: i for i, key in reversed(list(enumerate(keys)))}
        block = _wording_block([questions[first[k]] for k in new], compiled.targets, compiled)
        for n, key in enumerate(new):
            found[key] = block[n]
            compiled.keep(key, block[n])
    out = np.zeros((len(questions), len(targets)))
    for i, key in enumerate(keys):
        out[i, :fixed] = found[key]
    if len(targets) > fixed:
        out[:, fixed:] = _wording_block(questions, targets[fixed:], compiled)
    _echo_scores(questions, targets, compiled, out)
    return out


def _wording_block(
    questions: Sequence[Question], targets: Sequence[Target], compiled: Compiled
) -> np.ndarray:
    import numpy as np

    out = np.zeros((len(questions), len(targets)))
    _fold_likeness(
        [(i, v) for i, q in enumerate(questions) for v in q.asked.variants],
        [(j, w.canon) for j, t in enumerate(targets) for w in t.wordings],
        out,
    )
    _head_scores(questions, targets, out)
    _subject_scores(questions, targets, compiled, out)
    _agent_scores(questions, targets, out)
    for i, q in enumerate(questions):
        for j, target in enumerate(targets):
            same = sameness(q.sections, target.section)
            out[i, j] = max(out[i, j], _containment(q.asked, target.wordings, same))
            if q.asked.persons - target.persons:
                out[i, j] -= 20.0
    return out


def _head_scores(questions: Sequence[Question], targets: Sequence[Target], out: np.ndarray) -> None:
    """Questions and wordings compared where one side or both are cut before their
    qualifier ("Date of referral to MKSCB Office" and "Date of referral"), worth
    `HEAD_PENALTY` less than the same likeness of whole questions."""
    q_heads = [(i, h) for i, q in enumerate(questions) for h in q.asked.heads]
    q_all = [(i, v) for i, q in enumerate(questions) for v in (*q.asked.variants, *q.asked.heads)]
    t_heads = [(j, h) for j, t in enumerate(targets) for h in t.heads]
    t_all = [(j, w.canon) for j, t in enumerate(targets) for w in t.wordings]
    _fold_likeness(q_heads, t_all, out, HEAD_PENALTY)
    _fold_likeness(q_all, t_heads, out, HEAD_PENALTY)


def _fold_likeness(
    rows: Sequence[tuple[int, str]],
    cols: Sequence[tuple[int, str]],
    out: np.ndarray,
    penalty: float = 0.0,
) -> None:
    """``out[i, j]`` raised to the `likeness` of any text of question ``i`` and any
    of target ``j``, less ``penalty`` (all pairs at once, with rapidfuzz)."""
    import numpy as np

    if not rows or not cols:
        return
    a, b = [text for _i, text in rows], [text for _j, text in cols]
    scores = np.maximum(
        process.cdist(a, b, scorer=fuzz.ratio, workers=1),
        process.cdist(a, b, scorer=fuzz.token_sort_ratio, workers=1) - 4,
    )
    scores = np.where(scores > 0, scores - penalty, 0.0)
    for r, (i, _a) in enumerate(rows):
        for c, (j, _b) in enumerate(cols):
            if scores[r, c] > out[i, j]:
                out[i, j] = scores[r, c]


def _subject_scores(
    questions: Sequence[Question], targets: Sequence[Target], compiled: Compiled, out: np.ndarray
) -> None:
    """A question naming the person a section is about ("Safeguarding lead's email",
    "Child's surname") compared, without that person, to the section's questions."""
    for section, subjects in compiled.subjects.items():
        if not subjects:
            continue
        rows = [
            (i, bare)
            for i, q in enumerate(questions)
            if (not q.sections or section in q.sections)
            and (bare := without_subject(q.asked.variants[-1], subjects)) != q.asked.variants[-1]
            and bare
        ]
        cols = [(j, b) for j, t in enumerate(targets) if t.section == section for b in t.bare]
        if not rows or not cols:
            continue
        scores = process.cdist([b for _i, b in rows], [b for _j, b in cols], scorer=fuzz.ratio)
        for r, (i, _b) in enumerate(rows):
            for c, (j, _w) in enumerate(cols):
                out[i, j] = max(out[i, j], scores[r, c])


def _agent_scores(
    questions: Sequence[Question], targets: Sequence[Target], out: np.ndarray
) -> None:
    """A question naming whoever did something ("Notified by": the notifier) asks
    that person's name, within the sections its heading names, or anywhere under
    a heading naming none ("Reported by" under "The incident" is not the
    referrer's name)."""
    for i, q in enumerate(questions):
        agent = q.asked.agent
        if not agent:
            continue
        named = f"{agent} name"
        for j, target in enumerate(targets):
            if q.sections and target.section not in q.sections:
                continue
            best = max((likeness(named, w.canon) for w in target.wordings), default=0.0)
            if agent in target.persons:
                best = max(best, max((likeness("name", b) for b in target.bare), default=0.0))
            out[i, j] = max(out[i, j], best)


def _echo_scores(
    questions: Sequence[Question], targets: Sequence[Target], compiled: Compiled, out: np.ndarray
) -> None:
    """A question that repeats a word of its printed heading ("Name of lead
    consulted" under "Safeguarding lead") compared, without the words of its
    heading and of the sections the heading names, to those sections' questions
    without their section's words: what is left is what it asks there ("name"),
    `ECHO_PENALTY` lower.  Only for a question of ours that no question of the
    document already asks in its own words (`ECHO_CLAIMED`: "Date of review"
    under "About this referral" is not the "Date of referral" printed beside
    it), that what is left names alone in those sections, and that names no
    person the question of ours does not ("Name of GP" under "GP details" is
    not the referrer's name, for that heading's word "details")."""
    claimed: dict[int, bool] = {}
    for i, q in enumerate(questions):
        heading = q.entry.section
        if not q.sections or not heading.strip():
            continue
        printed, titled = _heading_words(heading, q.sections, compiled)
        if not q.asked.content & printed:
            continue  # says nothing of its heading
        plain = q.asked.plain
        bare = without_words(plain, titled)
        if not bare or bare == without_words(plain, frozenset()):
            continue
        echoes: dict[str, list[int]] = {}
        for j, target in enumerate(targets):
            if target.section in q.sections and target.echo:
                for echo in target.echo:
                    echoes.setdefault(echo, []).append(j)
        for echo, found in echoes.items():
            j = found[0]
            if len(found) > 1 or q.asked.persons - targets[j].persons:
                continue
            if j not in claimed:
                claimed[j] = _claimed(questions, targets, j, out)
            if not claimed[j]:
                out[i, j] = max(out[i, j], likeness(bare, echo) - ECHO_PENALTY)


def _heading_words(
    heading: str, sections: frozenset[str], compiled: Compiled
) -> tuple[frozenset[str], frozenset[str]]:
    """(the meaning words of ``heading`` as printed, those and its canonical words
    and the title words of the ``sections`` it names), once a heading."""

    def work() -> tuple[frozenset[str], frozenset[str]]:
        printed = content_words(comparable(unnumbered(heading)))
        titled = printed | content_words(compiled.lexicon.canon(unnumbered(heading)))
        for section in sections:
            titled |= compiled.section_words[section]
        return printed, titled

    return compiled.remember(("heading words", heading, sections), work)


def _claimed(
    questions: Sequence[Question], targets: Sequence[Target], j: int, out: np.ndarray
) -> bool:
    """Whether the document asks for target ``j`` in words like its own: a question
    worded most like it ("Safeguarding lead's role" is not the lead's name for
    its words "safeguarding lead"), under its section's heading, or under no
    known heading and worded like no other question of ours as much ("Date of
    referral", not "Name")."""
    for i, q in enumerate(questions):
        score = out[i, j]
        if score < ECHO_CLAIMED:
            continue
        same = sameness(q.sections, targets[j].section)
        rivals = int((out[i] >= score).sum())  # itself, and any as like the question
        if (same and score >= out[i].max()) or (same is None and rivals == 1):
            return True
    return False


def _containment(question: Asked, wordings: Sequence[Wording], same: bool | None) -> float:
    words = question.content
    if not words:
        return 0.0
    best = 0.0
    for w in wordings:
        if not w.content:
            continue
        best = max(best, containment(words, w.content, same))
    return best


def _fit_kind(target: Target) -> tuple[object, ...]:
    """What `_fit` reads of a target: targets alike in it fit an answer alike."""
    spec = target.spec
    if spec is not None:
        return ("field", spec.type, spec.options, "nhs_number" in spec.checks)
    return ("composite", target.split)


def _fit(q: Question, target: Target, compiled: Compiled) -> float:
    if target.spec is not None:
        return type_fit(target.spec, q.lines, q.traits)
    if q.traits.boxes:
        return -20.0  # a composite is written, not ticked
    if target.split == "full_name" and not q.traits.blank:
        first = q.lines[0].text if q.lines else ""
        return -15.0 if len(first.split()) < 2 or q.traits.date else 0.0  # one word: no full name
    return 0.0


def _hint_names(hint: str, target: Target) -> bool:
    """An AcroForm or content-control name that is the field key itself."""
    return target.split is None and comparable(hint) == comparable(target.key)


def _neighbour_bonus(count: int, targets: Sequence[Target], order: Mapping[int, int]) -> np.ndarray:
    """A bonus for placing a question just after (or before) the field its
    neighbour on the form was placed on: forms keep their questions in order."""
    import numpy as np

    bonus = np.zeros((count, len(targets)))
    orders = np.array([t.order for t in targets])
    for i in range(count):
        before, after = order.get(i - 1), order.get(i + 1)
        if before is not None:
            bonus[i] += NEIGHBOUR_BONUS * ((orders - before > 0) & (orders - before <= 2))
        if after is not None:
            bonus[i] += NEIGHBOUR_BONUS * ((after - orders > 0) & (after - orders <= 2))
    return bonus


# --- questions that ask for several fields ------------------------------------------------

_CONJUNCTION = re.compile(r"\s*(?:,|/|&|\+|;|\s[-–—]\s|\band\b|\bor\b)\s*", re.IGNORECASE)


def _split_questions(questions: Sequence[Question], compiled: Compiled) -> list[Target]:
    """A target for each question that names two or more fields of one section
    ("Name and job title", "Name, agency and contact details")."""
    made: dict[tuple[str, ...], Target] = {}
    for q in questions:
        target = _split_question(q, compiled)
        if target is not None and target.fields not in made:
            made[target.fields] = target
    return list(made.values())


def _split_question(q: Question, compiled: Compiled) -> Target | None:
    parts = [p for p in _CONJUNCTION.split(_asked_parts(q.entry.question)) if p.strip()]
    if len(parts) < 2:
        return None
    plain = [t for t in compiled.targets if t.split is None]
    named = [
        compiled.remember(
            ("part", part, q.sections),
            functools.partial(_part_fields, part, q.sections, plain, compiled),
        )
        for part in parts
    ]
    best: list[str] = []
    home = ""
    for section in _sections_in(named, q.sections):
        keys: list[str] = []
        for found in named:
            for target in found:
                if target.section == section and target.key not in keys:
                    keys.append(target.key)
        if len(keys) > len(best):
            best, home = keys, section
    if len(best) < 2 and not _contact_box(best, plain):
        return None
    by_key = {t.key: t for t in plain}
    return Target(
        key="+".join(best),
        fields=tuple(best),
        section=home,
        order=min(by_key[k].order for k in best),
        wordings=(Wording(q.asked.variants[0], q.asked.content),),
        persons=frozenset().union(*(by_key[k].persons for k in best)),
        split="by_type",
    )


def _contact_box(keys: Sequence[str], plain: Sequence[Target]) -> bool:
    """One email address or telephone number asked in a box that wants more of the
    contact's details ("Contact details: address, telephone and email" where we
    keep only the email): the address or number is found in it by its shape."""
    types = {t.key: t.spec.type for t in plain if t.spec is not None}
    return len(keys) == 1 and types.get(keys[0]) in ("email", "phone")


_QUALIFIER = re.compile(
    r"\((?:\s*(?:if|where|when|e\.?g\.?|incl\w*|tick|please|delete|specify|as|see|optional)\b)"
    r"[^)]*\)",
    re.IGNORECASE,
)


def _asked_parts(question: str) -> str:
    """The question with what its brackets ask made part of it ("Contact details
    (address, telephone and email)"), and qualifiers dropped ("(if known)")."""
    text = _QUALIFIER.sub(" ", question)
    return text.replace("(", ", ").replace(")", " ").replace("[", ", ").replace("]", " ")


def _sections_in(named: Sequence[Sequence[Target]], sections: frozenset[str]) -> list[str]:
    """The sections a composite may stand in: the question's own, else any its parts name."""
    found = sorted({t.section for targets in named for t in targets})
    return [s for s in found if s in sections] if sections else found


def _part_fields(
    part: str, sections: frozenset[str], plain: Sequence[Target], compiled: Compiled
) -> list[Target]:
    """The fields one part of a question names: every field of the types an
    expansion lists ("contact details": telephone and email), else the fields
    it names best (several when sections tie: "Designation" in a form without
    headings is the referrer's or the lead's)."""
    lex = compiled.lexicon
    candidates = [t for t in plain if not sections or t.section in sections]
    types = lex.expansions.get(comparable(part))
    if types is not None:
        return [t for t in candidates if t.spec is not None and t.spec.type in types]
    question = asked(lex, part)
    scored = [(wording_score(question, t, sameness(sections, t.section)), t) for t in candidates]
    top = max((score for score, _t in scored), default=0.0)
    if top < PART_THRESHOLD:
        return []
    tied = [t for score, t in scored if score >= top - 1.0]
    return tied if len({t.section for t in tied}) == len(tied) else []


# --- reading the answers ------------------------------------------------------------------


def compiled_lexicon(schema: FormSchema) -> Lexicon:
    return schema.lexicon


def _read(
    doc: Document,
    schema: FormSchema,
    questions: Sequence[Question],
    targets: Sequence[Target],
    pairs: Mapping[int, tuple[int, float]],
    named: bool,
    their_questions: int = 0,
) -> FormMatch:
    match = FormMatch(schema.form_type, doc.filename, 0.0, "", named=named)
    shared: dict[str, Answer] = {}
    appended: list[Answer] = []
    for i, (j, score) in sorted(pairs.items()):
        _read_one(match, schema, questions[i], targets[j], score, shared, appended)
    for key, answer in shared.items():
        if key not in match.answers:
            match.answers[key] = answer
            match.blank.discard(key)
    _append(match, appended)
    match.unclear = {k: v for k, v in match.unclear.items() if k not in match.answers}
    match.answers = {f.key: match.answers[f.key] for f in schema.fields if f.key in match.answers}
    office = compiled_lexicon(schema).is_office_use
    match.unplaced = [
        Unplaced(
            q.entry.question,
            q.entry.section,
            "\n".join(line.text for line in q.lines),
            q.entry.source,
        )
        for i, q in enumerate(questions)
        if i not in pairs and is_question_like(q.entry.question) and not office(q.entry.question)
    ]
    _score(match, schema, len(pairs), their_questions)
    return match


def _read_one(
    match: FormMatch,
    schema: FormSchema,
    q: Question,
    target: Target,
    score: float,
    shared: dict[str, Answer],
    appended: list[Answer],
) -> None:
    source = q.entry.source
    for key in target.fields:
        match.asked_as.setdefault(key, " ".join(q.entry.question.split()).rstrip(" :"))
    if target.spec is not None:
        key = target.key
        match.located.add(key)
        match.placement[key] = max(score, match.placement.get(key, 0.0))
        answer = answer_from_lines(q.lines, target.spec, source)
        if answer is None and target.spec.options and not left_blank(q.lines, target.spec.options):
            match.unclear[key] = "options"  # written on, but no option could be read: not blank
        elif answer is None and q.entry.blank_in_doubt:
            match.unclear[key] = "heading"  # its answer may have been read as a heading
        elif answer is None and _loosely_placed(q, target, compile_schema(schema)):
            match.unclear[key] = "qualified"  # "Date of referral to CSC" left blank: not ours
        elif answer is None and _says_no_answer(q.lines):
            match.unclear[key] = "said"  # "Not known", "N/A", "TBC": answered, in words
        elif answer is None:
            match.blank.add(key)
        else:
            match.answers[key] = answer
            if q.entry.blank_in_doubt:
                match.doubted.add(key)
        return
    out = share_out(q.entry, q.lines, target, schema)
    for key in target.fields:
        match.placement.setdefault(key, score)
        if target.split == "append":
            if key in out.answers:
                appended.append(out.answers[key])
            continue
        match.located.add(key)
        if key in out.answers:
            shared.setdefault(key, out.answers[key])
            if target.split == "by_type":
                # Our own guess at how one answer shares out over the fields its
                # question names: a part that is not valid proves nothing.
                match.doubted.add(key)
        elif key in out.unclear:
            match.unclear[key] = "composite"
        elif key not in match.answers and q.entry.blank_in_doubt:
            match.unclear[key] = "heading"
        elif key not in match.answers:
            match.blank.add(key)


def _says_no_answer(lines: Sequence[Line]) -> bool:
    """Whether the referrer wrote that there is no answer ("Not known", "N/A",
    "TBC") rather than leaving the question blank: no proof that it was left out."""
    text = " ".join(line.text for line in lines).replace(CHECKED, " ").replace(UNCHECKED, " ")
    return bool(comparable(text)) and is_non_answer(text)


SURE_WORDING = 85.0  # a blank proves a field blank only under a question worded this like it


def _loosely_placed(q: Question, target: Target, compiled: Compiled) -> bool:
    """Whether the question adds a qualifier to the field's words, or reached the
    field only through a cut of the field's wording, and is not worded like the
    field as a whole ("Date of referral to children's social care").  Such a
    question may ask something narrower than the field, so a blank there is no
    proof that the field was left blank; an answer there is still read.  A
    fillable form's field named by the field's key is sure."""
    if q.entry.key_hint and _hint_names(q.entry.key_hint, target):
        return False
    # A question known by the options it lists (`known_by_options`) is that field;
    # its boxes all left empty prove a blank only when its words are sure as well.
    by_options = target.spec is not None and known_by_options(target.spec, q.lines)
    if not q.asked.heads and not by_options:
        # No qualifier of its own ("Date incident occurred" is the date of incident):
        # loose only when it reached the field through a head of the field's wording.
        same = sameness(q.sections, target.section)
        if wording_score(q.asked, target, same, heads=False) >= wording_score(
            q.asked, target, same
        ):
            return False
    texts = [v for v in q.asked.variants if v]
    best = max((likeness(t, w.canon) for t in texts for w in target.wordings), default=0.0)
    subjects = compiled.subjects.get(target.section, frozenset())
    if subjects and target.bare:
        bare = [b for t in texts if (b := without_subject(t, subjects))]
        best = max([best, *(likeness(b, tb) for b in bare for tb in target.bare)])
    return best < SURE_WORDING


def _append(match: FormMatch, appended: Sequence[Answer]) -> None:
    """Lines asked for separately ("Postcode") added to their field's answer."""
    for extra in appended:
        found = match.answers.get(extra.key)
        if found is None:
            match.answers[extra.key] = extra
            match.blank.discard(extra.key)
        elif isinstance(found.value, str) and extra.raw not in found.value:
            value = f"{found.value}\n{extra.value}"
            match.answers[extra.key] = Answer(extra.key, value, value, found.source)


def _score(match: FormMatch, schema: FormSchema, placed: int, their_questions: int = 0) -> None:
    fields = len(schema.fields)
    recall = len(match.located) / fields if fields else 0.0
    asked_count = placed + len(match.unplaced)
    precision = placed / asked_count if asked_count else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    match.confidence = f1
    match.precision = precision
    # For ranking only, another form's questions on the page count as not ours.
    ranked = placed / (asked_count + their_questions) if asked_count + their_questions else 0.0
    # Ranking among schemas and attachments: the share of the document's questions
    # that are this form's counts most; F1 alone would favour the form with fewer
    # questions whenever a document holds only part of one.
    match.score = ranked + 0.5 * recall + (TITLE_BONUS if match.named else 0.0)
    match.questions_found = placed
    match.why = (
        f"{match.filename}: {len(match.located)} of {fields} questions of the {schema.title} "
        f"found, {len(match.unplaced)} question(s) on it not placed"
        f"{', title matches' if match.named else ''}"
    )


def _recognised(match: FormMatch) -> bool:
    """Is the document this form at all?  Its F1 is high enough; or its title names
    the form and the F1 is fair; or it is a shorter version of the form: most of
    its own questions (`PRECISION_FORM`) are this form's, and there are enough of
    them (`PLACED_FORM`) not to be a letter that mentions a child's name and date
    of birth."""
    threshold = FORM_THRESHOLD_NAMED if match.named else FORM_THRESHOLD
    if not match.located:
        return False
    return match.confidence >= threshold or (
        match.precision >= PRECISION_FORM and match.questions_found >= PLACED_FORM
    )


def _title_names_form(doc: Document, schema: FormSchema) -> bool:
    lex = schema.lexicon
    head = lex.canon(" ".join(doc.title[:8]))
    if not head:
        return False
    return any(fuzz.partial_ratio(lex.canon(p), head) >= 92 for p in schema.identifiers)


# --- questions written as running text -------------------------------------------------------


def _their_questions(doc: Document, mine: Sequence[Label], others: Sequence[Compiled]) -> int:
    """How many lines of the document's running text ask another form's question
    and none of this one's (``mine``: its lines' labels as this form reads them)."""
    if not doc.flow or not others:
        return 0
    theirs = [False] * len(doc.flow)
    for other in others:
        theirs = [
            t or label is not None
            for t, label in zip(theirs, _flow_labels(doc.flow, other), strict=True)
        ]
    return sum(1 for m, t in zip(mine, theirs, strict=True) if t and m is None)


def entries_from_flow(
    flow: Sequence[FlowLine], compiled: Compiled, labels: Sequence[Label] | None = None
) -> list[Entry]:
    """Question/answer pairs written as paragraphs rather than a table.

    "Question: answer" on one line, or a line that is a question followed by
    its answer lines, up to the next question or heading.  ``labels``: the
    lines' `_flow_labels`, when already worked out.
    """
    if not flow:
        return []
    if labels is None:
        labels = _flow_labels(flow, compiled)
    entries: list[Entry] = []
    section = ""
    current: Open | None = None
    asks = False  # the current question stands alone on its line and asks ("Job title:")
    for i, (line, label) in enumerate(zip(flow, labels, strict=True)):
        if _is_boilerplate(line.text, compiled.schema):
            _close(current, entries)
            current = None
            continue
        # A question that asks, closed by a heading before anything was read
        # against it: the heading may be its answer typed in bold ("Job title:",
        # then "Designated Safeguarding Lead" in bold, taken for the lead's section).
        # Not when the heading is numbered as a section, or has lines of its own.
        in_doubt = (
            line.heading
            and current is not None
            and asks
            and not current[2]
            and not _SECTION_LIKE.match(line.text)
            and _nothing_of_its_own(flow, labels, i)
        )
        if (
            line.heading
            and label is None
            and current is not None
            and current[2]
            and _plain_kind(current[0], compiled) in _CHOICE_KINDS
            and _answer_like(line.text, compiled)
        ):
            # The option picked in bold from a list of options, set apart as a
            # heading ("The child has died", then "The child has been seriously
            # injured" in bold): an answer line, not a title.
            current[2].append(Line(line.text, True))
            continue
        if line.heading and compiled.sections_of(line.text):
            _close(current, entries, in_doubt)
            current = None
            section = line.text
            continue
        if label is not None:
            # A question worded line that does not ask, right under a question left
            # blank: it may be that question's answer ("Role", then "Named Nurse for
            # Safeguarding", in a form without colons), so the blank above it is in
            # doubt: when it has no lines of its own; or when the question above
            # asks and has no lines at all, and it is worded like a question of
            # another section than its heading's and its own lines are not boxes
            # ("Referrer's role:", then "Named Nurse for Safeguarding", the lead's
            # words, then "Covering for: Jane Smith", a line added to that answer;
            # not "Where did it happen?", then "Case outline" and its text).
            says = (
                not label[1]
                and not _asks(line.text)
                and (
                    _nothing_of_its_own(flow, labels, i)
                    or (
                        asks
                        and current is not None
                        and not current[2]
                        and not _boxed(flow[i + 1].text)
                        and not _of_its_section(label.question, section, compiled)
                    )
                )
            )
            # A question in words we do not know, taken for one by how it is set
            # out ("Legal status" above boxes), right under a question with
            # nothing yet: it may have been that question's answer, so the blank
            # above it is in doubt too.
            says = says or label.guessed
            # "Date of incident:", then "Date: 12/08/2026": a shorter wording of the
            # question above, answered, right under it with nothing yet: the
            # referrer may have typed the label again with the answer.
            says = says or (
                bool(label.rest)
                and asks
                and current is not None
                and _narrower_words(label.question, current[0], compiled)
            )
            nothing = current is not None and not any(
                _says_something(a.text, compiled.lexicon) for a in current[2]
            )
            _close(current, entries, in_doubt or (says and nothing))
            question, rest = label.question, label.rest
            answer = [Line(rest, line.emphasis)] if rest else []
            # A numbered section's title worded like a question ("7. Reasons for
            # referral"), with nothing under it, proves no blank: the answer may
            # stand under other words elsewhere in the form.  Nor does a question
            # taken by how it is set out, in words we do not know, prove anything:
            # its blank, or an answer read under it that is not valid.
            titled = line.heading and bool(_SECTION_LIKE.match(line.text))
            unsure = "guessed" if label.guessed else "titled" if titled else ""
            current = (question, section, answer, line.source, unsure)
            asks = not rest and _asks(line.text)
        elif current is not None and (
            not line.heading or _answer_set_apart(asks, current[2], line)
        ):
            current[2].append(Line(line.text, line.emphasis))
        elif line.heading:
            _close(current, entries, in_doubt)
            current = None
    _close(current, entries)
    return entries


class FlowLabel(NamedTuple):
    """A line that asks a question: the question, and the rest of the line
    ("Name: Leo" -> "Name", "Leo").  ``guessed``: in words we do not know, and
    taken for a question by how it is set out (`_choice_questions`,
    `_unknown_questions`) where the line might have been an answer: right under
    a question with nothing yet, or a question asked in full after a line of
    answer.  Its blank, and the blank above it, prove nothing."""

    question: str
    rest: str
    guessed: bool = False


Label = FlowLabel | None

_SECTION_LIKE = re.compile(
    r"^(?:(?:section|part|appendix)\s+[A-Z0-9]{1,3}\b|\d{1,2}(?:\.\d{1,2})*[.)]\s+[A-Z]|[A-Z][.)]\s+[A-Z])",
    re.IGNORECASE,
)


def _names_a_form(text: str, compiled: Compiled) -> bool:
    """A line that is the form's name ("Serious Incident Notification", printed as
    its title): never a question, however like one of ours it is worded."""
    lex = compiled.lexicon
    line = lex.canon(text)
    return any(fuzz.ratio(lex.canon(name), line) >= 92 for name in compiled.schema.identifiers)


def _narrower_words(question: str, above: str, compiled: Compiled) -> bool:
    """Whether every word of ``question`` is a word of ``above`` ("Date" and
    "Date of incident"; "Name" and "Signed (name)")."""
    words = set(compiled.lexicon.canon(question).split())
    return bool(words) and words <= set(compiled.lexicon.canon(above).split())


def _asks(text: str) -> bool:
    """A question that asks: it ends in "?" or ":"."""
    return text.rstrip().endswith(("?", ":"))


def _nothing_of_its_own(flow: Sequence[FlowLine], labels: Sequence[Label], i: int) -> bool:
    """Whether line ``i`` has no lines of its own under it: the next line is a
    question or a heading, or there is none."""
    return i + 1 == len(flow) or flow[i + 1].heading or labels[i + 1] is not None


def _answer_set_apart(asks: bool, lines: Sequence[Line], line: FlowLine) -> bool:
    """A line the reader set apart as a heading (a bold line alone, before a line
    with a colon) right under a question that asks ("Job title:", ``asks``) and
    has no answer yet, and not numbered as a section: the answer, typed in bold
    (Word keeps the label's bold after Enter).  Dropped as a heading, it left
    the question blank, and a complete form went back."""
    return asks and not lines and not _SECTION_LIKE.match(line.text)


def _flow_labels(flow: Sequence[FlowLine], compiled: Compiled) -> list[Label]:
    """For each line, (question, rest) when it starts with one of the schema's
    questions ("Question: answer"), or is one ("Question?" or "Question:" alone
    on its line; or the question's exact words).  Worked out once a document
    and schema: ranking forms asks it again for the other forms' questions."""
    return list(compiled.remember(("flow", tuple(flow)), lambda: _label_flow(flow, compiled)))


def _label_flow(flow: Sequence[FlowLine], compiled: Compiled) -> list[Label]:
    heads: list[str] = []
    for line in flow:
        head, sep, _tail = line.text.partition(":")
        heads.append(head if sep and len(head) <= 120 else "")
    whole = [line.text if len(line.text) <= 150 else "" for line in flow]
    head_scores = _best_scores(heads, compiled, subjects=True)
    whole_scores = _best_scores(whole, compiled)
    asking_scores = _best_scores([t if _asks(t) else "" for t in whole], compiled, subjects=True)
    out: list[Label] = []
    plain: list[bool] = []  # worded like a question, but not asking ("?" or ":")
    for line, head, hs, ws, asking in zip(
        flow, heads, head_scores, whole_scores, asking_scores, strict=True
    ):
        asks = _asks(line.text)
        if head and hs >= QUESTION_THRESHOLD:
            # "Name:: Leo Rushton", "Name : : Leo": a colon typed after the printed one.
            rest = line.text.partition(":")[2].strip().lstrip(":").strip()
            out.append(FlowLabel(head.strip(), rest))
        elif asks and max(ws, asking) >= QUESTION_THRESHOLD:
            out.append(FlowLabel(line.text.strip().rstrip(":").strip(), ""))
        elif ws >= 92 and not _names_a_form(line.text, compiled):
            out.append(FlowLabel(line.text.strip(), ""))
        else:
            out.append(None)
        plain.append(out[-1] is not None and not asks and not (head and hs >= QUESTION_THRESHOLD))
    labels = _answers_under_questions(flow, out, plain, compiled)
    return _unknown_questions(flow, _choice_questions(flow, labels, compiled), compiled)


_INSTRUCTION = re.compile(
    r"^\s*(?:\(|please\b|if\b|note\b)|\b(?:tick|select|choose|circle|delete|mark|apply|underline)\b",
    re.IGNORECASE,
)
CHOICE_LINE = 100  # a question is a short line: longer ones are text, or an instruction


def _choice_questions(
    flow: Sequence[FlowLine], labels: list[Label], compiled: Compiled
) -> list[Label]:
    """A line we cannot place, right above a list of boxes that are one of our
    fields' options, is a question in words we do not know ("Legal status",
    then "☐ Child in need", "☐ Looked after child"…): the boxes are its answer.
    Read as more lines of the answer above it, an address ran on into "Legal
    status" and every option under it, and a blank question took the next
    question's words and boxes for its answer.

    Not a line that is itself boxed, an instruction ("Please tick one",
    "(select all that apply)", "If yes…"), a long line, a heading that names
    a section, or a line set out as an answer (`_answer_like`: a typed "Yes"
    above the boxes)."""
    out = list(labels)
    choices = _naming_options(compiled)
    boxed = [_boxed(line.text) for line in flow]
    for i, line in enumerate(flow):
        text = line.text.strip()
        if (
            i + 1 == len(flow)
            or not boxed[i + 1]
            or labels[i] is not None
            or boxed[i]
            or not text
            or len(text) > CHOICE_LINE
            or _INSTRUCTION.search(text)
            or (line.heading and compiled.sections_of(text))
            or _answer_like(text, compiled)
        ):
            continue
        run: list[Line] = []
        for j in range(i + 1, len(flow)):
            if flow[j].heading or labels[j] is not None or not boxed[j]:
                break
            run.append(Line(flow[j].text, flow[j].emphasis))
        if len(run) >= 2 and any(listed_options(run, options) >= 2 for options in choices):
            out[i] = FlowLabel(text.rstrip(":").strip(), "", guessed=True)
    return out


def _naming_options(compiled: Compiled) -> list[tuple[OptionSpec, ...]]:
    """For each choice of three or more, its options that name it rather than any
    question: "Male", "Female", "Child in need"; never "Yes", "No", "Not known"
    or "Other".  Worked out once a schema."""

    def work() -> list[tuple[OptionSpec, ...]]:
        return [
            specific
            for f in compiled.schema.fields
            if len(f.options) >= 3
            and len(specific := tuple(o for o in f.options if comparable(o.label) not in _GENERIC))
            >= 2
        ]

    return compiled.remember(("naming_options",), work)


def _unknown_questions(
    flow: Sequence[FlowLine], labels: list[Label], compiled: Compiled
) -> list[Label]:
    """Lines we cannot place that are set out as questions, where an answer
    would not be:

    - a short line that asks ("Notified by:"), right under a question that
      asks and has no answer yet: an answer does not end in ":" or "?";
    - "Where did it happen?: Bridge Street", a question mark before the colon,
      or a printed format hint ("Date notified (dd/mm/yyyy): 18.08.2026"; not
      "Office: 01925 444000" under "Telephone number:": a head and value is as
      often an answer as a question);
    - in a form whose questions are printed in bold and answers are not, a
      bold line after a line of answer ("AGENCY & DESIGNATION/TITLE");
    - after a line of answer, a question asked in full ("Is the child subject to
      a child protection plan? (If so when, for what and for how long?)"), its
      blank in doubt.

    Read as more lines of the answer above, they ran into it.  Only lines
    that carry an answer count (`_says_something`): not guidance, a Word
    placeholder or boxes left empty.  Never under a question whose answer
    runs over lines of its own kind (`_runs_on`: free text, or a list of
    options, one of them picked in bold), and never a line set out as an
    answer (`_answer_like`: "No – not yet", a time "21:30", a web address).
    A question taken so, right under a question with no answer yet, leaves
    that blank in doubt (`FlowLabel.guessed`)."""
    out = list(labels)
    lex = compiled.lexicon
    bold = _questions_in_bold(flow, labels)
    open_label: FlowLabel | None = None
    open_asks = False  # the open question stands alone on its line and asks
    said, first = 0, ""  # lines carrying an answer under the open question; the first
    for i, line in enumerate(flow):
        label = out[i]
        if line.heading:
            open_label, said = None, 0
            continue
        if label is not None:
            open_label, open_asks = label, not label.rest and _asks(line.text)
            said = int(_says_something(label.rest, lex))
            first = label.rest if said else ""
            continue
        text = line.text.strip()
        longest = 2 * CHOICE_LINE if bold and line.emphasis else CHOICE_LINE
        if (
            open_label is not None
            and said
            and _ASKS_IN_FULL.match(text)
            and len(text) <= 2 * CHOICE_LINE
            and not _boxed(text)
            and not _NOT_A_QUESTION.search(text)  # it may name an option: it asks
            and not _in_prose(open_label.question, first, compiled)
        ):
            out[i] = FlowLabel(text, "", guessed=True)
        elif (
            open_label is not None
            and text
            and len(text) <= longest
            and not _boxed(text)
            and not _INSTRUCTION.search(text)
            and not _answer_like(text, compiled)
            and not _runs_on(open_label.question, first, compiled)
        ):
            head, colon, tail = (part.strip() for part in text.partition(":"))
            if _asks(text) and not said and open_asks and len(text.split()) <= 8:
                out[i] = FlowLabel(text.rstrip(":").strip(), "", guessed=True)
            elif colon and (head.endswith("?") or _FORMAT_HINT.search(head)) and tail:
                out[i] = FlowLabel(head, tail, guessed=not said)
            elif bold and line.emphasis and said:
                out[i] = FlowLabel(text.rstrip(":").strip(), "")
        new = out[i]
        if new is not None:
            open_label, open_asks = new, not new.rest
            said = int(_says_something(new.rest, lex))
            first = new.rest if said else ""
        elif _says_something(text, lex):
            said += 1
            first = first or text
    return out


_GENERIC = frozenset({"yes", "no", "n/a", "na", "none", "not known", "unknown", "other"})
# A question asked in full, after a line of answer: "Is the child subject to a child
# protection plan? (If so when, for what and for how long?)".
_ASKS_IN_FULL = re.compile(
    r"^(?:is|are|was|were|has|have|had|does|do|did|what|when|where|who|which|how|why)\b"
    r"[^?]{8,}\?(?:\s*\([^()]*\))?$",
    re.IGNORECASE,
)
# A printed format hint: "Date notified (dd/mm/yyyy): 18.08.2026" is a question.
_FORMAT_HINT = re.compile(r"\(\s*d{1,2}\s*[/.-]\s*m{1,2}\s*[/.-]\s*y{2,4}\s*\)", re.IGNORECASE)
_NOT_A_QUESTION = re.compile(r"\d\s*:\s*\d|://|^[^A-Za-z]*$")


def _answer_like(text: str, compiled: Compiled) -> bool:
    """A line set out as an answer: it is one of our options, or starts with
    one ("Yes: mother told", "No – not yet", "Other (non-binary)"); or holds a
    time ("21:30"), a web address, or no words at all."""

    def work() -> bool:
        if _NOT_A_QUESTION.search(text):
            return True
        line = comparable(text)
        words = _option_words(compiled)
        if line in words or _picked_option(text, compiled):
            return True
        return any(line.startswith(word + " ") for word in words if len(word.split()) <= 2)

    return compiled.remember(("answer_like", text), work)


def _picked_option(text: str, compiled: Compiled) -> bool:
    """Whether a line names one of our fields' options ("The child has been
    seriously injured"): picked out in bold, it is an answer, not a heading."""

    def work() -> bool:
        return any(
            match_option(text, f.options) is not None for f in compiled.schema.fields if f.options
        )

    return compiled.remember(("picked", text), work)


def _option_words(compiled: Compiled) -> frozenset[str]:
    def work() -> frozenset[str]:
        return (
            frozenset(
                comparable(wording)
                for f in compiled.schema.fields
                for o in f.options
                for wording in (o.label, *o.aliases)
            )
            | _GENERIC
        )

    return compiled.remember(("option_words",), work)


def _says_something(text: str, lexicon: Lexicon) -> bool:
    """Whether a line carries an answer: not printed guidance or a placeholder
    ("(dd/mm/yyyy)", "Click or tap here to enter text."), and not boxes left
    empty ("☐ Yes ☐ No")."""
    return _carries(text.strip(), lexicon)


@functools.lru_cache(maxsize=8192)
def _carries(text: str, lexicon: Lexicon) -> bool:
    if not text or text.startswith(("(", "[")) or is_guidance(text, lexicon):
        return False
    marks = read_marks([Line(text)])
    boxed = [m for m in marks if m.state is not State.PLAIN]
    return not boxed or any(m.state is State.TICKED for m in boxed)


def _questions_in_bold(flow: Sequence[FlowLine], labels: Sequence[Label]) -> bool:
    """Whether the form prints its questions in bold and its answers are not: at
    least three questions we know alone on their lines, two in three of them
    bold, and two in three of the lines right under them plain."""
    alone = [i for i, label in enumerate(labels) if label is not None and not label.rest]
    answers = [
        flow[i + 1].emphasis
        for i in alone
        if i + 1 < len(flow) and labels[i + 1] is None and not flow[i + 1].heading
    ]
    bold = sum(flow[i].emphasis for i in alone)
    return len(alone) >= 3 and 3 * bold >= 2 * len(alone) and 3 * sum(answers) <= len(answers)


def _runs_on(question: str, first: str, compiled: Compiled) -> bool:
    """Whether a question's answer runs over lines of its own kind: its first
    line of answer (``first``) is a sentence, or the question is plainly one of
    our free-text fields, or of those answered from a list of options (a bold
    line under it is the option picked)."""
    if first.rstrip().endswith(".") and len(first.split()) >= 6:
        return True
    return _plain_kind(question, compiled) in ("multiline", *_CHOICE_KINDS)


def _in_prose(question: str, first: str, compiled: Compiled) -> bool:
    """Whether a question's answer is prose, which may ask a question of its own
    ("Why was the child not seen?"): a sentence, or one of our free-text fields."""
    if first.rstrip().endswith(".") and len(first.split()) >= 6:
        return True
    return _plain_kind(question, compiled) == "multiline"


_CHOICE_KINDS = ("choice", "yesno", "checks")


def _of_its_section(question: str, heading: str, compiled: Compiled) -> bool:
    """Whether ``question`` is worded plainly (`QUESTION_THRESHOLD`) like a
    question of a section ``heading`` names: the next question of that section,
    not an answer worded like another section's question."""
    sections = compiled.sections_of(heading) if heading else frozenset()
    if not sections:
        return False
    scores = _plain_scores(question, compiled)
    return any(
        score >= QUESTION_THRESHOLD and target.section in sections
        for target, score in zip(compiled.targets, scores, strict=True)
    )


def _plain_kind(question: str, compiled: Compiled) -> str:
    """The type of the field a question plainly is (its wording alone at least
    `QUESTION_THRESHOLD` like it), or "" when it is plainly none."""
    best, kind = 0.0, ""
    for target, score in zip(compiled.targets, _plain_scores(question, compiled), strict=True):
        if score > best and target.spec is not None:
            best, kind = score, target.spec.type
    return kind if best >= QUESTION_THRESHOLD else ""


def _plain_scores(question: str, compiled: Compiled) -> tuple[float, ...]:
    """How like each of the schema's targets ``question`` is worded, its wording
    alone (likeness or containment, sections aside); once a question and schema."""

    def work() -> tuple[float, ...]:
        found = asked(compiled.lexicon, question)
        return tuple(
            max(
                (
                    max(
                        max(fuzz.ratio(v, wording.canon) for v in found.variants),
                        containment(found.content, wording.content, None),
                    )
                    for wording in target.wordings
                ),
                default=0.0,
            )
            for target in compiled.targets
        )

    return compiled.remember(("plain", question), work)


@functools.lru_cache(maxsize=8192)
def _boxed(text: str) -> bool:
    """A line that starts with a tick box, ticked or not."""
    marks = read_marks([Line(text)])
    return bool(marks) and marks[0].state is not State.PLAIN


def _answers_under_questions(
    flow: Sequence[FlowLine], labels: list[Label], plain: Sequence[bool], compiled: Compiled
) -> list[Label]:
    """A line worded like one of our questions, but not asking, is the answer to
    the question alone on the line before it ("Job title:", then "Designated
    Safeguarding Lead"), when that question asks (ends in ":" or "?") and the
    line after it is a question again.  Taken for a question, it would leave
    the one before it blank, and a complete form could go back.

    It stays a question when it is set apart as a heading, when the question
    before it does not ask (a form whose questions carry no colon: "Age", left
    blank, then "Gender"), or when lines of its own answer follow it ("NHS
    number", then the number)."""
    out = list(labels)
    awaiting: FlowLine | None = None  # a question alone on its line, its answer not yet seen
    for i, line in enumerate(flow):
        if (
            plain[i]
            and awaiting is not None
            and not line.heading
            and _nothing_of_its_own(flow, labels, i)
        ):
            out[i] = None
        label = out[i]
        # A heading that names a section awaits no answer, though it may be worded
        # like a question ("7. Criteria"): the flow reads it as the section.
        section = line.heading and bool(compiled.sections_of(line.text))
        asks = _asks(line.text)
        awaiting = line if label is not None and not label[1] and asks and not section else None
    return out


def _best_scores(texts: Sequence[str], compiled: Compiled, subjects: bool = False) -> list[float]:
    """The best wording score of each text against any target, containment and the
    lexicon included, sections unknown (0 for ""); each text scored once a schema.

    ``subjects``: also compared without the person a section is about, to that
    section's questions ("Notifier's role" is the notifier's "Role"), for lines
    set out as questions only: an answer may name a person too."""
    best = _remembered("best", texts, compiled, _score_texts)
    if not subjects:
        return best
    bare = _remembered("subject", texts, compiled, _subject_texts)
    return [max(a, b) for a, b in zip(best, bare, strict=True)]


def _remembered(
    kind: str,
    texts: Sequence[str],
    compiled: Compiled,
    score: Callable[[Sequence[str], Compiled], list[float]],
) -> list[float]:
    """``score`` of each text, worked out once a text and schema."""
    scores = {t: compiled.memo.get((kind, t)) for t in texts}
    new = [t for t, found in scores.items() if found is None]
    for text, found in zip(new, score(new, compiled), strict=True):
        compiled.keep((kind, text), found)
        scores[text] = found
    return [float(scores[t]) for t in texts]  # type: ignore[arg-type]


def _subject_texts(texts: Sequence[str], compiled: Compiled) -> list[float]:
    """`_subject_scores` for lines of running text, their sections unknown."""
    out = [0.0] * len(texts)
    lex = compiled.lexicon
    canon = [asked(lex, t).variants[-1] if t else "" for t in texts]
    if not any(canon):
        return out
    for section, subjects in compiled.subjects.items():
        choices = [b for t in compiled.targets if t.section == section for b in t.bare]
        if not subjects or not choices:
            continue
        rows = [
            (i, bare)
            for i, c in enumerate(canon)
            if c and (bare := without_subject(c, subjects)) != c and bare
        ]
        if not rows:
            continue
        scores = process.cdist([b for _i, b in rows], choices, scorer=fuzz.ratio, workers=1)
        for (i, _b), best in zip(rows, scores.max(axis=1), strict=True):
            out[i] = max(out[i], float(best))
    return out


def _score_texts(texts: Sequence[str], compiled: Compiled) -> list[float]:
    import numpy as np

    lex = compiled.lexicon
    wordings = [w for t in compiled.targets for w in t.wordings]
    if not wordings:
        return [0.0] * len(texts)
    choices = [w.canon for w in wordings]
    found = [asked(lex, t) if t else None for t in texts]
    variants = [q.variants[-1] if q else "" for q in found]
    whole = [q.variants[0] if q else "" for q in found]
    scores = np.maximum(
        process.cdist(whole, choices, scorer=fuzz.ratio, workers=1).max(axis=1),
        process.cdist(variants, choices, scorer=fuzz.ratio, workers=1).max(axis=1),
    )
    sharing = compiled.remember(("wordings by word",), lambda: _by_word(wordings))
    out = []
    for score, q in zip(scores, found, strict=True):
        if q is None:
            out.append(0.0)
            continue
        # Only a wording sharing a word with the question can contain it, or be contained.
        near = set().union(*(sharing.get(word, ()) for word in q.content))
        contained = max(
            (containment(q.content, wordings[i].content, None) for i in near), default=0.0
        )
        out.append(float(max(score, contained)))
    return out


def _by_word(wordings: Sequence[Wording]) -> dict[str, tuple[int, ...]]:
    """For each meaning word, the positions of the wordings that hold it."""
    found: dict[str, list[int]] = {}
    for i, wording in enumerate(wordings):
        for word in wording.content:
            found.setdefault(word, []).append(i)
    return {word: tuple(places) for word, places in found.items()}


def _is_boilerplate(text: str, schema: FormSchema) -> bool:
    """A printed instruction of the form (never part of an answer)."""
    line = comparable(text)
    return any(line.startswith(comparable(phrase)) for phrase in schema.boilerplate)


# The question being read in running text: its words, section, answer lines so
# far, where it stands, and why its reading proves less ("titled": a numbered
# section's title; "guessed": taken for a question by its layout; "": neither).
Open = tuple[str, str, list[Line], str, str]


def _close(current: Open | None, entries: list[Entry], in_doubt: bool = False) -> None:
    if current is not None:
        question, section, lines, source, unsure = current
        doubt = in_doubt or unsure == "guessed" or (unsure == "titled" and not lines)
        entries.append(
            Entry(question, section, tuple(lines), source or "text", blank_in_doubt=doubt)
        )


# --- doubts --------------------------------------------------------------------------------

MAYBE_WORDING = 55.0  # an unplaced question worded at least this like a field may be it


def possible_answers(match: FormMatch, schema: FormSchema, key: str) -> list[Unplaced]:
    """The answered questions that could not be placed but could hold ``key``'s answer:
    worded somewhat like it, or answered in its type (a date for a date, one of
    its own options for a choice), or, for a text question, standing in its
    section with an answer that is not plainly of another type.  A question under a
    heading naming someone else ("Name" under "Health visitor") is one too: the
    heading may name the same person in other words ("DSL (headteacher)"), unless
    it names only people who cannot be that person (`_someone_elses_particulars`)."""
    compiled = compile_schema(schema)
    target = next(t for t in compiled.targets if t.key == key)
    spec = schema.field(key)
    out = []
    for unplaced in match.unplaced:
        if not unplaced.answer.strip():
            continue
        sections = compiled.sections_of(unplaced.section)
        question = asked(compiled.lexicon, unplaced.question)
        if _someone_elses_particulars(unplaced, sections, question, target, compiled):
            continue
        same = sameness(sections, target.section)
        wording = wording_score(question, target, same)
        lines = [Line(text) for text in unplaced.answer.split("\n")]
        fit = type_fit(spec, lines, traits(lines))
        free_text = spec.type in ("text", "multiline") and "nhs_number" not in spec.checks
        if wording >= MAYBE_WORDING or fit > 0 or (free_text and same and fit >= 0):
            out.append(unplaced)
    return out


CHILD = "child"  # the lexicon's person word for the child the form is about
# Words a heading may hold beside a relative's name and still name only that
# relative ("Mother's contact details", "Birth father"); any other word may make it
# a professional's title ("Parent Support Adviser") or someone else ("Young mother").
_ONLY_WHOSE = frozenset(
    {"detail", "contact", "information", "info", "maternal", "paternal", "birth", "biological"}
)


def _someone_elses_particulars(
    unplaced: Unplaced,
    sections: frozenset[str],
    question: Asked,
    target: Target,
    compiled: Compiled,
) -> bool:
    """Whether an unplaced question stands under a heading naming only people who
    cannot be the one ``target`` asks about, so its answer is not ``target``'s.

    Two cases only (each narrowed by reviews that found a wider rule sending
    forms back wrongly):

    - A heading naming nothing but a relative ("Mother", "Stepfather's details";
      the lexicon's ``family_words``) over a question any person is asked (a
      name, a telephone number, an email, a date of birth) never holds the
      answers of a section about a professional: the referrer's, the
      safeguarding lead's, the notifier's.  A question only that section asks
      ("Signed (name)") may stand there because the section's own title was
      missed; and a relative's block may hold the child's own details (a child
      who is herself a young mother, a child living with a grandmother), the
      family's, and what was done ("Action taken: arrested").
    - A question asking a date of birth and nothing else, answered with one
      date, under a heading naming someone other than the child, is not where
      another date is answered ("Date of birth" under "Father" is not the date
      of referral; "DOB/DOD" under "Victim" may give the incident's date).

    A question naming the field's person or the child itself is never ruled out."""
    persons = _heading_persons(unplaced.section, sections, compiled)
    lexicon = compiled.lexicon
    if not persons or CHILD in persons or question.persons & (target.persons | {CHILD}):
        return False
    if _relatives_only(unplaced.section, persons, lexicon):
        subjects = compiled.subjects.get(target.section, frozenset())
        if (
            subjects
            and subjects <= lexicon.professional_words
            and _asked_of_anyone(unplaced.question, compiled)
        ):
            return True
    if target.spec is None or target.spec.type != "date" or target.persons:
        return False
    return _only_a_date_of_birth(unplaced, compiled) and (
        wording_score(question, target, None) < QUESTION_THRESHOLD
    )


def _asked_of_anyone(question: str, compiled: Compiled) -> bool:
    """Whether ``question`` is plainly one asked of any person: a name, or worded
    like a question of ours about the child, or like a telephone or email
    question.  Not one asked of the person filling the form in ("Your email",
    "Print name"), nor a job title, which a relative's block rarely asks and the
    referrer's section always does."""
    plain = comparable(question)
    if plain.startswith(("your ", "print ", "sign")):
        return False
    if compiled.lexicon.canon(question) == "name":
        return True
    for target, score in zip(compiled.targets, _plain_scores(question, compiled), strict=True):
        if score < QUESTION_THRESHOLD:
            continue
        contact = target.spec is not None and target.spec.type in ("phone", "email")
        if contact or CHILD in compiled.subjects.get(target.section, frozenset()):
            return True
    return False


def _only_a_date_of_birth(unplaced: Unplaced, compiled: Compiled) -> bool:
    """Whether a question asks a date of birth and nothing else ("DOB", "Mother's
    date of birth"; not "DOB/DOD", "Date of birth (or date of arrest)"), and its
    answer is one date with nothing beside it."""
    lexicon = compiled.lexicon
    canon = lexicon.canon(unplaced.question)
    if _words_but_persons(canon, lexicon.persons(canon)) != {"date", "birth"}:
        return False
    answer = unplaced.answer.strip()
    return (
        "\n" not in answer
        and parse_uk_date(answer) is not None
        and date_doubt(answer) is None
        and not words_beside_the_date(answer)
    )


def _relatives_only(heading: str, persons: frozenset[str], lexicon: Lexicon) -> bool:
    """Whether ``heading`` names a relative of the child and nothing else."""
    if not persons <= lexicon.family_words:
        return False
    return _words_but_persons(lexicon.canon(heading), persons) <= _ONLY_WHOSE


def _words_but_persons(canon: str, persons: frozenset[str]) -> frozenset[str]:
    """The meaning words of canonical text, but for those of the ``persons`` it names."""
    return content_words(canon) - {word for person in persons for word in person.split()}
