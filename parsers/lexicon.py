"""The words of referral forms, as data: how other partnerships say the same thing.

A `Lexicon` is loaded from ``config/forms/lexicon.toml`` (administrators may
add to it; `LexiconError` names the file, key and fault).  `Lexicon.canon`
turns a printed question into the words it is compared by: comparable text
(``parsers.normalise.comparable``), abbreviations spelt out, and every phrase
of a synonym group replaced by the group's first word, so "Designation",
"Job title" and "Position" all read as "role".

>>> lex = Lexicon.build(synonyms=[["role", "designation", "job title"]])
>>> lex.canon("Designation:")
'role'
"""

from __future__ import annotations

import functools
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from parsers.normalise import comparable

LEXICON_FILE = "lexicon.toml"

# Words that carry no meaning when two questions are compared.
STOP_WORDS = frozenset(
    """a an the is are was were be been of to for in on at by with and or what which who
    whom when how has have had does do did this that these those any please if known your
    you their there it its s""".split()  # noqa: SIM905 (a word list reads better as words)
)


class LexiconError(ValueError):
    """The lexicon file is wrong; the message names file, key and fault."""

    def __init__(self, file: str, key: str, message: str) -> None:
        super().__init__(f"{file}: {key}: {message}")
        self.file, self.key, self.message = file, key, message


@dataclass(frozen=True, eq=False)  # compared and hashed by identity (cached per object)
class Lexicon:
    """Abbreviations, synonym groups, person words, expansions and guidance phrases."""

    abbreviations: Mapping[str, str] = field(default_factory=dict)
    synonyms: tuple[tuple[str, ...], ...] = ()
    person_words: tuple[str, ...] = ()
    expansions: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    guidance: tuple[str, ...] = ()
    office_use: tuple[str, ...] = ()
    # Person words naming only a relative of the child, and those naming the
    # professionals a section may be about (`parsers.forms.match`: a relative's
    # block never answers the referrer's, the lead's or the notifier's questions).
    family_words: frozenset[str] = frozenset()
    professional_words: frozenset[str] = frozenset()
    _replace: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)
    _pattern: re.Pattern[str] | None = field(default=None, compare=False, repr=False)
    _abbrev: re.Pattern[str] | None = field(default=None, compare=False, repr=False)
    _persons: re.Pattern[str] | None = field(default=None, compare=False, repr=False)

    @classmethod
    def build(
        cls,
        abbreviations: Mapping[str, str] | None = None,
        synonyms: Iterable[Sequence[str]] = (),
        person_words: Iterable[str] = (),
        expansions: Mapping[str, Sequence[str]] | None = None,
        guidance: Iterable[str] = (),
        office_use: Iterable[str] = (),
        family_words: Iterable[str] = (),
        professional_words: Iterable[str] = (),
    ) -> Lexicon:
        abbrev = {comparable(k): comparable(v) for k, v in (abbreviations or {}).items()}
        groups = tuple(tuple(comparable(w) for w in group if comparable(w)) for group in synonyms)
        replace: dict[str, str] = {}
        for group in groups:
            for word in group:
                replace.setdefault(word, group[0])
        vocabulary = {w for group in groups for phrase in group for w in phrase.split()}
        for group in groups:
            for phrase in group:
                replace.setdefault(_as_printed(phrase, vocabulary), group[0])
        persons = tuple(comparable(w) for w in person_words if comparable(w))
        return cls(
            abbreviations=abbrev,
            synonyms=groups,
            person_words=persons,
            expansions={comparable(k): tuple(v) for k, v in (expansions or {}).items()},
            guidance=tuple(comparable(g) for g in guidance if comparable(g)),
            office_use=tuple(comparable(o) for o in office_use if comparable(o)),
            family_words=frozenset(comparable(w) for w in family_words if comparable(w)),
            professional_words=frozenset(
                comparable(w) for w in professional_words if comparable(w)
            ),
            _replace=replace,
            _pattern=_alternation(replace),
            _abbrev=_alternation(abbrev),
            _persons=_alternation({p: p for p in persons}),
        )

    @functools.cached_property
    def fingerprint(self) -> int:
        """A hash of what the lexicon says (equal lexicons, equal fingerprints)."""
        return hash(
            (
                tuple(sorted(self.abbreviations.items())),
                self.synonyms,
                self.person_words,
                tuple(sorted(self.expansions.items())),
                self.guidance,
                self.office_use,
                tuple(sorted(self.family_words)),
                tuple(sorted(self.professional_words)),
            )
        )

    def spell_out(self, text: str) -> str:
        """Comparable ``text`` with abbreviations written in full."""
        if self._abbrev is None:
            return text
        return self._abbrev.sub(lambda m: self.abbreviations[m.group(0)], text)

    def canon(self, text: str) -> str:
        """The words ``text`` is compared by (see the module's docstring)."""
        return _canon(self, text)

    def persons(self, canon_text: str) -> frozenset[str]:
        """The person words named in already-canonical text, but for those inside a
        name of something else ("child" in "child safeguarding practice review",
        which is how "SCR" reads)."""
        if self._persons is None:
            return frozenset()
        if self._not_persons is not None:
            canon_text = self._not_persons.sub(" ", canon_text)
        return frozenset(m.group(0) for m in self._persons.finditer(canon_text))

    @functools.cached_property
    def _not_persons(self) -> re.Pattern[str] | None:
        """The lexicon's own names of things (a synonym group's first phrase, an
        abbreviation spelt out) that hold a person word but name no person."""
        named = [group[0] for group in self.synonyms]
        named += [self.canon(v) for v in self.abbreviations.values()]
        persons = set(self.person_words)
        found = {
            phrase: ""
            for phrase in named
            if " " in phrase
            and phrase not in persons
            and self._persons is not None
            and self._persons.search(phrase)
        }
        return _alternation(found)

    def is_office_use(self, question: str) -> bool:
        """A question for the publisher's own staff ("For office use: Ref No")."""
        text = f" {comparable(question)} "
        return any(f" {phrase} " in text for phrase in self.office_use)

    def is_guidance(self, text: str) -> bool:
        """A line of printed guidance ("Please include the postcode")."""
        return _starts_with_guidance(self, comparable(text))


@lru_cache(maxsize=65536)
def _starts_with_guidance(lexicon: Lexicon, line: str) -> bool:
    """Whether ``line`` (comparable) is a guidance phrase or starts with one,
    followed by a space: each of its word prefixes looked up once."""
    if not line:
        return False
    phrases = _guidance_set(lexicon)
    words = line.split(" ")
    return any(" ".join(words[:n]) in phrases for n in range(1, len(words) + 1))


@lru_cache(maxsize=64)
def _guidance_set(lexicon: Lexicon) -> frozenset[str]:
    return frozenset(lexicon.guidance)


@lru_cache(maxsize=65536)
def _canon(lexicon: Lexicon, text: str) -> str:
    words = lexicon.spell_out(comparable(text))
    if lexicon._pattern is not None:
        words = lexicon._pattern.sub(lambda m: lexicon._replace[m.group(0)], words)
    out: list[str] = []
    for word in words.split():
        if not out or out[-1] != word:  # "Job title / role" -> "role role" -> "role"
            out.append(word)
    return " ".join(out)


def _as_printed(phrase: str, vocabulary: set[str]) -> str:
    """``phrase`` as `comparable` reads it printed with an apostrophe: a word
    written with its possessive "s" ("childrens social care") is "children"
    in "Children's social care".  Only for a word before another (a possessive
    names what follows) whose form without it is one of the lexicon's own
    ("status" is not "statu")."""
    words = phrase.split()
    return " ".join(
        w[:-1] if n < len(words) - 1 and stem(w) != w and w[:-1] in vocabulary else w
        for n, w in enumerate(words)
    )


def _alternation(words: Mapping[str, str]) -> re.Pattern[str] | None:
    """One regex matching any of ``words`` as whole words, longest first."""
    if not words:
        return None
    ordered = sorted(words, key=len, reverse=True)
    return re.compile(r"(?<![a-z0-9])(?:" + "|".join(map(re.escape, ordered)) + r")(?![a-z0-9])")


def content_words(canon_text: str) -> frozenset[str]:
    """The words that carry meaning, a plural or possessive "s" dropped."""
    return frozenset(stem(w) for w in canon_text.split() if w not in STOP_WORDS)


def stem(word: str) -> str:
    """A word without its plural or possessive "s"."""
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


EMPTY = Lexicon.build()


def load_lexicon(folder: Path) -> Lexicon:
    """``folder/lexicon.toml``, or an empty lexicon when there is none."""
    path = folder / LEXICON_FILE
    if not path.exists():
        return EMPTY
    file = str(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise LexiconError(file, "-", f"cannot be read ({exc.__class__.__name__})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise LexiconError(file, "-", f"is not valid TOML ({exc})") from exc
    return lexicon_from_dict(file, data)


_KEYS = {
    "abbreviations",
    "synonyms",
    "person_words",
    "family_words",
    "professional_words",
    "expansions",
    "guidance",
    "office_use",
}


def lexicon_from_dict(file: str, data: Mapping[str, Any]) -> Lexicon:
    """Validate and build; raises `LexiconError`."""
    unknown = sorted(set(data) - _KEYS)
    if unknown:
        raise LexiconError(file, unknown[0], f"unknown key; allowed: {', '.join(sorted(_KEYS))}")
    abbreviations = _str_table(file, "abbreviations", data.get("abbreviations", {}))
    synonyms = data.get("synonyms", [])
    if not isinstance(synonyms, list):
        raise LexiconError(file, "synonyms", "must be a list of lists of words")
    for i, group in enumerate(synonyms):
        if not _strings(group) or len(group) < 2:
            raise LexiconError(file, f"synonyms[{i}]", "must be a list of at least two words")
    for key in ("person_words", "family_words", "professional_words", "guidance", "office_use"):
        if not _strings(data.get(key, [])):
            raise LexiconError(file, key, "must be a list of strings")
    persons = {comparable(w) for w in data.get("person_words", [])}
    for key in ("family_words", "professional_words"):
        strays = [w for w in data.get(key, []) if comparable(w) not in persons]
        if strays:
            raise LexiconError(file, key, f"'{strays[0]}' is not one of person_words")
    both = {comparable(w) for w in data.get("family_words", [])}
    both &= {comparable(w) for w in data.get("professional_words", [])}
    if both:
        raise LexiconError(
            file, "professional_words", f"'{sorted(both)[0]}' is in family_words too"
        )
    expansions = data.get("expansions", {})
    if not isinstance(expansions, dict):
        raise LexiconError(file, "expansions", "must be a table of phrase = [field types]")
    for phrase, types in expansions.items():
        if not _strings(types) or not types:
            raise LexiconError(file, f"expansions.{phrase}", "must be a list of field types")
    return Lexicon.build(
        abbreviations,
        synonyms,
        data.get("person_words", []),
        expansions,
        data.get("guidance", []),
        data.get("office_use", []),
        data.get("family_words", []),
        data.get("professional_words", []),
    )


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _str_table(file: str, key: str, value: Any) -> dict[str, str]:
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise LexiconError(file, key, "must be a table of text = text")
    return dict(value)
