"""What a document's questions can be matched to, and how well a wording fits.

A schema is compiled once (`compile_schema`) into `Target`s: one per field,
one per composite question of the schema ("Name of child": forenames and
surname), each with its wordings already in the lexicon's canonical words.
`wording_score` compares a printed question with a target (0-100) by the
best of:

* the canonical wordings being equal (100) or alike (``fuzz.ratio``, and
  ``token_sort_ratio`` for reordered words);
* containment: every meaning word of a wording is in the question ("What is
  the child's date of birth?" says "date of birth" in more words), worth
  less outside the target's own section;
* heads: a question or wording cut before the qualifier that ends it
  ("Date of referral to MKSCB Office" is a "Date of referral"; "Date
  notified to the National Panel" a "Date notified"), compared like the
  whole but `HEAD_PENALTY` lower, as the qualifier may matter;
* a question naming a person the target does not ("Mother's date of
  birth" for the child's date of birth) loses 20 points.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from functools import lru_cache
from typing import TypeVar

from rapidfuzz import fuzz

from parsers.lexicon import STOP_WORDS, Lexicon, content_words, stem
from parsers.normalise import comparable, qualifier_cuts
from parsers.schema import FieldSpec, FormSchema

T = TypeVar("T")

PERSON_PENALTY = 20.0
MEMO_SIZE = 5000  # entries a compiled schema remembers (`Compiled.remember`)
SECTION_THRESHOLD = 80.0
HEAD_PENALTY = 10.0  # a head stands for its whole question, less what its qualifier said


@dataclass(frozen=True)
class Wording:
    """One wording of a target in canonical words, with its meaning words."""

    canon: str
    content: frozenset[str]


@dataclass(frozen=True)
class Target:
    """Something a question can be: one field, or a composite of several.

    ``split`` is None for a plain field, else how the composite's answer is
    shared among ``fields`` (``parsers.schema.SPLITS``).  ``order`` is the
    position of its first field in the form.
    """

    key: str
    fields: tuple[str, ...]
    section: str
    order: int
    wordings: tuple[Wording, ...]
    persons: frozenset[str]
    split: str | None = None
    spec: FieldSpec | None = None
    # Its wordings without the person its section is about ("Safeguarding lead's
    # email" -> "email"): a question naming that person is compared this way too.
    bare: tuple[str, ...] = ()
    # Its wordings cut before a closing qualifier ("Date notified to the National
    # Panel" -> "date notified"), in canonical words (see `head_of`).
    heads: tuple[str, ...] = ()
    # Its wordings without the words of its section's titles ("Date of referral"
    # in "About this referral" -> "date"): what it asks within its section.
    echo: tuple[str, ...] = ()


@dataclass(frozen=True, eq=False)  # hashed by identity: one per schema object
class Compiled:
    """A schema made ready for matching (built once per schema object)."""

    schema: FormSchema
    targets: tuple[Target, ...]
    sections: tuple[tuple[str, tuple[Wording, ...]], ...]
    subjects: Mapping[str, frozenset[str]] = dataclass_field(default_factory=dict)
    # The meaning words of each section's titles (`without_words`).
    section_words: Mapping[str, frozenset[str]] = dataclass_field(default_factory=dict)
    # What the matcher worked out from a question's words alone, against this
    # schema: the same forms come again and again, so their questions are
    # scored once per sandbox worker (issue 10).  See `remember`.
    memo: dict[tuple[object, ...], object] = dataclass_field(
        default_factory=dict, compare=False, repr=False
    )

    def remember(self, key: tuple[object, ...], work: Callable[[], T]) -> T:
        """``work()``, computed once for ``key`` (a pure function of the key and
        this schema); the memo starts afresh past `MEMO_SIZE` entries."""
        if key in self.memo:
            return self.memo[key]  # type: ignore[return-value]
        value = work()
        self.keep(key, value)
        return value

    def keep(self, key: tuple[object, ...], value: object) -> None:
        if len(self.memo) >= MEMO_SIZE:
            self.memo.clear()
        self.memo[key] = value

    @property
    def lexicon(self) -> Lexicon:
        return self.schema.lexicon

    def names_exactly(self, heading: str) -> bool:
        """Whether ``heading`` is worded as one of the schema's section titles."""
        canon = self.lexicon.canon(unnumbered(heading))
        return any(canon == w.canon for _key, wordings in self.sections for w in wordings)

    def sections_of(self, heading: str) -> frozenset[str]:
        """The keys of the schema's sections a heading names: one, or several when
        it names them together ("Child and family"); empty when none."""
        return _sections_of(self, heading)


def sameness(sections: frozenset[str], section: str) -> bool | None:
    """Whether a question under ``sections`` stands in ``section``: None when its
    heading names no section of ours."""
    return None if not sections else section in sections


_COMPILED: dict[tuple[int, int], Compiled] = {}
_SAME: dict[int, tuple[FormSchema, Compiled]] = {}


def compile_schema(schema: FormSchema) -> Compiled:
    """The compiled form of ``schema``, cached by content: a schema sent to a sandbox
    worker arrives as a new object each time, and is compiled once all the same."""
    same = _SAME.get(id(schema))
    if same is not None and same[0] is schema:
        return same[1]  # the very object again: one match asks for it for every document
    key = (hash(schema), schema.lexicon.fingerprint)
    found = _COMPILED.get(key)
    if found is not None and found.schema == schema:
        _remember_object(found, schema)
        return found
    if len(_COMPILED) > 64:
        _COMPILED.clear()
    lex = schema.lexicon
    sections = tuple((s.key, _wordings(lex, s.wordings)) for s in schema.sections)
    section_words = {key: _persons_of(lex, ws) for key, ws in sections}
    titled = {key: frozenset().union(*(w.content for w in ws)) for key, ws in sections}
    targets: list[Target] = []
    for order, spec in enumerate(schema.fields):
        ws = _wordings(lex, spec.wordings)
        targets.append(
            Target(
                key=spec.key,
                fields=(spec.key,),
                section=spec.section,
                order=order,
                wordings=ws,
                persons=_persons_of(lex, ws) | section_words[spec.section],
                spec=spec,
                bare=_bare_all(ws, section_words[spec.section]),
                heads=_heads(lex, spec.wordings, ws),
                echo=_echoes(ws, titled[spec.section]),
            )
        )
    for composite in schema.composites:
        ws = _wordings(lex, composite.wordings)
        targets.append(
            Target(
                key=composite.key,
                fields=composite.fields,
                section=composite.section,
                order=schema.order(composite.fields[0]),
                wordings=ws,
                persons=_persons_of(lex, ws) | section_words[composite.section],
                split=composite.split,
                bare=_bare_all(ws, section_words[composite.section]),
                heads=_heads(lex, composite.wordings, ws),
                echo=_echoes(ws, titled[composite.section]),
            )
        )
    compiled = Compiled(schema, _telling_echoes(targets), sections, section_words, titled)
    _COMPILED[key] = compiled
    _remember_object(compiled, schema)
    return compiled


def _remember_object(compiled: Compiled, schema: FormSchema) -> None:
    """Know ``schema`` by identity from now on, without hashing its content again
    (it is kept, so its id is not given to another object meanwhile)."""
    if len(_SAME) > 64:
        _SAME.clear()
    _SAME[id(schema)] = (schema, compiled)


def without_subject(canon: str, subjects: frozenset[str]) -> str:
    """Canonical text without the person a section is about ("child s surname" ->
    "surname"); "" when nothing else is left."""
    words = canon
    for subject in sorted(subjects, key=len, reverse=True):
        words = re.sub(rf"(?<![a-z]){re.escape(subject)}s?(?![a-z])", " ", words)
    kept = [w for w in words.split() if w not in STOP_WORDS]
    return " ".join(kept)


def without_words(canon: str, words: frozenset[str]) -> str:
    """Canonical text without ``words`` (meaning words, as `content_words` gives
    them) and without its stop words."""
    return " ".join(w for w in canon.split() if w not in STOP_WORDS and stem(w) not in words)


def _echoes(wordings: Sequence[Wording], titled: frozenset[str]) -> tuple[str, ...]:
    """The wordings without their section's title words, where anything is left."""
    return tuple(dict.fromkeys(b for w in wordings if (b := without_words(w.canon, titled))))


def _telling_echoes(targets: Sequence[Target]) -> tuple[Target, ...]:
    """The targets without an echo that another target of their section shares
    ("Local authority name" and "Name" under "Notifying local authority" both
    leave "name"): such an echo cannot tell them apart."""
    seen: dict[tuple[str, str], int] = {}
    for t in targets:
        for echo in t.echo:
            seen[(t.section, echo)] = seen.get((t.section, echo), 0) + 1
    return tuple(
        dataclasses.replace(t, echo=tuple(e for e in t.echo if seen[(t.section, e)] == 1))
        for t in targets
    )


def _bare_all(wordings: Sequence[Wording], subjects: frozenset[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(b for w in wordings if (b := without_subject(w.canon, subjects))))


def _wordings(lex: Lexicon, texts: Sequence[str]) -> tuple[Wording, ...]:
    out: dict[str, Wording] = {}
    for text in texts:
        for variant in (text, strip_brackets(text)):
            canon = lex.canon(variant)
            if canon and canon not in out:
                out[canon] = Wording(canon, content_words(canon))
    return tuple(out.values())


def _heads(lex: Lexicon, texts: Sequence[str], wordings: Sequence[Wording]) -> tuple[str, ...]:
    """A field's wordings cut before their qualifier, where the cut still says
    two things or more besides a person ("Date notified to the National Panel"
    -> "date notified"; not "Safeguarding lead in agreement?" -> "designated
    safeguarding lead", which names the lead and asks nothing)."""
    whole = {w.canon for w in wordings}
    found = (head_of(lex, text) for text in texts)
    return tuple(dict.fromkeys(h for h in found if h and h not in whole and _says_enough(lex, h)))


def _says_enough(lex: Lexicon, canon: str) -> bool:
    person_words = {w for p in lex.persons(canon) for w in p.split()}
    return len(content_words(canon) - person_words) >= 2


def head_of(lex: Lexicon, question: str) -> str:
    """The question cut before the qualifier that ends it, in canonical words;
    "" when there is none, or when less than two meaning words of the question
    come before it ("Relationship to the child" has no head: "Relationship"
    alone says too little)."""
    text = strip_brackets(question)
    for cut in qualifier_cuts(text):
        words = comparable(cut).split()
        if len([w for w in words if w not in STOP_WORDS]) < 2:
            continue
        head = lex.canon(cut)
        return head if head != lex.canon(text) else ""
    return ""


def _persons_of(lex: Lexicon, wordings: Sequence[Wording]) -> frozenset[str]:
    found: set[str] = set()
    for w in wordings:
        found |= lex.persons(w.canon)
    return frozenset(found)


def strip_brackets(text: str) -> str:
    """``text`` without any bracketed part ("Age (if date of birth not known)" -> "Age")."""
    out, depth = [], 0
    for ch in text:
        if ch in "([":
            depth += 1
        elif ch in ")]" and depth:
            depth -= 1
        elif not depth:
            out.append(ch)
    return "".join(out)


@dataclass(frozen=True)
class Asked:
    """A printed question in the forms it is compared by."""

    variants: tuple[str, ...]
    content: frozenset[str]
    persons: frozenset[str]
    heads: tuple[str, ...] = ()  # the question cut before its qualifier (`head_of`)
    plain: str = ""  # the question without its brackets, in canonical words
    agent: str = ""  # the person it names as whoever did something ("Notified by": notifier)


@lru_cache(maxsize=16384)
def asked(lexicon: Lexicon, question: str) -> Asked:
    whole = lexicon.canon(question)
    bare = lexicon.canon(strip_brackets(question))
    variants = (whole, bare) if bare and bare != whole else (whole,)
    agent = bare if bare and lexicon.persons(bare) == {bare} and _AGENT.search(question) else ""
    head = head_of(lexicon, question)
    return Asked(
        variants,
        content_words(bare or whole),
        lexicon.persons(whole),
        (head,) if head and head not in variants else (),
        bare or whole,
        agent,
    )


# A question naming whoever did something ("Notified by", "Completed by:").
_AGENT = re.compile(r"\bby\s*[:.]?\s*$", re.IGNORECASE)


def wording_score(
    question: Asked, target: Target, same_section: bool | None, heads: bool = True
) -> float:
    """How well ``question`` asks for ``target`` (0-100); see the module docstring.

    ``same_section``: True when the question stands in the target's own
    section, False when in another known section, None when unknown.
    ``heads``: False to leave the heads out (`head_score`).
    """
    if not question.variants or not question.variants[0]:
        return 0.0
    best = 0.0
    for wording in target.wordings:
        for text in question.variants:
            best = max(best, likeness(text, wording.canon))
            if best >= 100.0:
                break
        if best >= 100.0:
            break
        best = max(best, containment(question.content, wording.content, same_section))
    if heads:
        best = max(best, head_score(question, target))
    if question.persons - target.persons:
        best -= PERSON_PENALTY
    return best


def head_score(question: Asked, target: Target) -> float:
    """The best likeness of the question and the target where one side or both
    are cut before their qualifier, less `HEAD_PENALTY` (0 when neither has a head)."""
    pairs = [(h, w.canon) for h in question.heads for w in target.wordings]
    pairs += [(v, h) for v in (*question.variants, *question.heads) for h in target.heads]
    best = max((likeness(a, b) for a, b in pairs), default=0.0)
    return best - HEAD_PENALTY if best else 0.0


def likeness(a: str, b: str) -> float:
    """Two canonical texts alike (0-100): equal, or by ratio, or reordered."""
    if a == b:
        return 100.0
    return max(fuzz.ratio(a, b), fuzz.token_sort_ratio(a, b) - 4)


def containment(asked_words: frozenset[str], words: frozenset[str], same: bool | None) -> float:
    """A question that says a wording in more words, or (within its section) fewer."""
    if not asked_words or not words:
        return 0.0
    if words <= asked_words:
        if len(words) == 1 and len(asked_words) > 2:
            return 0.0  # one word ("Name") inside a longer question says little
        score = 80.0 + 16.0 * len(words) / len(asked_words)
        if len(words) == 1:
            score = 78.0 + 6.0 / len(asked_words)  # "Name" in "Child's name": its section decides
        return score - 4.0 if same is False else score
    if asked_words <= words and (same or len(asked_words) >= 2):
        # A question asked in fewer words than ours ("Date notified" for "Date
        # notified to the National Panel"): sure within its section; outside it,
        # only for two words or more, and worth less.
        return (76.0 if same else 72.0) + 12.0 * len(asked_words) / len(words)
    return _overlap(asked_words, words)


def _overlap(asked_words: frozenset[str], words: frozenset[str]) -> float:
    """Long questions sharing most of their words with a long wording ("Name /
    Relationship to child / DOB / Address" and "Family members (name,
    relationship to the child, date of birth, address)"); nothing for short ones,
    where one shared word says little."""
    common = len(asked_words & words)
    if common < 3:
        return 0.0
    share = common / len(asked_words)
    return 70.0 + 25.0 * share * math.sqrt(common / len(words))


@lru_cache(maxsize=4096)
def _sections_of(compiled: Compiled, heading: str) -> frozenset[str]:
    if not heading.strip():
        return frozenset()
    question = asked(compiled.lexicon, unnumbered(heading))
    scores: dict[str, float] = {}
    for key, wordings in compiled.sections:
        score = 0.0
        for w in wordings:
            for text in question.variants:
                score = max(score, 100.0 if text == w.canon else fuzz.ratio(text, w.canon))
            if w.content and w.content <= question.content:
                score = max(score, 82.0 + 16.0 * len(w.content) / len(question.content))
        scores[key] = score
    best = max(scores.values(), default=0.0)
    if best < SECTION_THRESHOLD:
        return frozenset()
    return frozenset(key for key, score in scores.items() if score >= best - 2.0)


_NUMBERING = re.compile(
    r"^\s*(?:(?:section|part)\s+[a-z0-9]{1,3}\b\s*[:.\-–—]?|[a-z0-9]{1,3}[.)])\s*", re.I
)


def unnumbered(heading: str) -> str:
    return _NUMBERING.sub("", heading)


def is_question_like(question: str) -> bool:
    """A label that asks something (not a sentence of guidance, not empty)."""
    words = comparable(question).split()
    return 0 < len(words) <= 30
