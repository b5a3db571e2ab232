"""Reading which options a person chose, from the lines of an answer.

People mark choices in many ways; the document readers have already turned
every real tick box into ``☒`` (ticked) or ``☐`` (not ticked).  What is left
to read here is the typed conventions: an ``X`` or ``✓`` before or after an
option, "Yes" typed beside it, options deleted so only the chosen one is
left, the chosen one in bold with every box empty.

`read_marks` splits answer lines into `Mark`s; `choose` decides which
options were chosen.  Both are pure.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from rapidfuzz import fuzz

from parsers.document import CHECKED, UNCHECKED, Line
from parsers.normalise import comparable
from parsers.schema import OptionSpec


class State(Enum):
    TICKED = "ticked"
    EMPTY = "empty"  # a box that is not ticked
    PLAIN = "plain"  # no box at all: typed text


@dataclass(frozen=True)
class Mark:
    text: str
    state: State
    emphasis: bool = False


_GLYPHS = f"{CHECKED}{UNCHECKED}"
_SPLIT = re.compile(rf"([{_GLYPHS}])")
# Typed ticks: "[x] Male", "(X) Male", "X Male", "✓ Male", "Male X", "Male - yes", "Male: ✓".
_TYPED_BEFORE = re.compile(r"^\s*(?:\[\s*[xX✓✔]\s*\]|\(\s*[xX✓✔]\s*\)|[xX✓✔✗✘](?=\s))\s*(.+)$")
_EMPTY_BEFORE = re.compile(r"^\s*(?:\[\s*\]|\(\s*\))\s*(.+)$")
_TYPED_AFTER = re.compile(
    r"^(.+?)\s*(?:[-–:=]\s*)?(?:\[\s*[xX✓✔]\s*\]|\(\s*[xX✓✔]\s*\)|(?<=\s)[xX✓✔]|[✓✔]"
    r"|[-–:=]\s*(?:yes|y|ticked|selected)|\(\s*(?:yes|selected)\s*\))\s*$",
    re.IGNORECASE,
)


def read_marks(lines: Sequence[Line]) -> list[Mark]:
    """Every option-like piece of the answer, with how it was marked."""
    marks: list[Mark] = []
    for line in lines:
        marks.extend(_marks_in_line(line))
    return marks


def _marks_in_line(line: Line) -> list[Mark]:
    text = line.text.strip()
    if CHECKED in text or UNCHECKED in text:
        return _glyph_marks(text, line.emphasis)
    typed = _TYPED_BEFORE.match(text)
    if typed:
        return [Mark(typed.group(1).strip(), State.TICKED, line.emphasis)]
    empty = _EMPTY_BEFORE.match(text)
    if empty:
        return [Mark(empty.group(1).strip(), State.EMPTY, line.emphasis)]
    after = _TYPED_AFTER.match(text)
    if after and comparable(after.group(1)):
        return [Mark(after.group(1).strip(), State.TICKED, line.emphasis)]
    return [Mark(text, State.PLAIN, line.emphasis)] if text else []


def _glyph_marks(text: str, emphasis: bool) -> list[Mark]:
    """``☒ Yes   ☐ No`` -> two marks; ``Yes ☒  No ☐`` (box after the word) too."""
    pieces = _SPLIT.split(text)
    glyph_first = text.lstrip()[:1] in _GLYPHS
    marks: list[Mark] = []
    if glyph_first:
        for i in range(1, len(pieces) - 1, 2):
            label = pieces[i + 1].strip(" \t:-–")
            state = State.TICKED if pieces[i] == CHECKED else State.EMPTY
            if label:
                marks.append(Mark(label, state, emphasis))
            elif marks == [] and i + 2 >= len(pieces):
                marks.append(Mark("", state, emphasis))
        return marks
    for i in range(0, len(pieces) - 1, 2):
        label = pieces[i].strip(" \t:-–")
        state = State.TICKED if pieces[i + 1] == CHECKED else State.EMPTY
        if label:
            marks.append(Mark(label, state, emphasis))
    return marks


def option_score(text: str, option: OptionSpec) -> float:
    """How well ``text`` names ``option`` (0-100), by its label, aliases or key."""
    target = comparable(text)
    if not target:
        return 0.0
    best = 0.0
    for wording in (*option.wordings, option.key.replace("_", " ")):
        candidate = comparable(wording)
        if target == candidate:
            return 100.0
        score = fuzz.ratio(target, candidate)
        if len(candidate) > 25 and len(target) > 25:
            # Long option texts get abbreviated or lightly reworded.
            score = max(score, fuzz.token_set_ratio(target, candidate) - 5)
        best = max(best, score)
    return best


def match_option(
    text: str, options: Sequence[OptionSpec], threshold: float = 84
) -> OptionSpec | None:
    """The option ``text`` names, or None when it names none clearly."""
    scored = sorted(((option_score(text, o), i) for i, o in enumerate(options)), reverse=True)
    if not scored or scored[0][0] < threshold:
        return None
    if len(scored) > 1 and scored[1][0] >= scored[0][0] and scored[0][0] < 100:
        return None  # two options equally likely: do not guess
    return options[scored[0][1]]


_YES = re.compile(r"^(yes|y|yes\b.*|agreed|confirmed|true)$", re.IGNORECASE)
_NO = re.compile(r"^(no|n|no\b.*|not agreed|false)$", re.IGNORECASE)


def _loose_match(text: str, options: Sequence[OptionSpec]) -> OptionSpec | None:
    """Free text such as "Yes - discussed with DSL" for a yes/no question."""
    option = match_option(text, options)
    if option is not None:
        return option
    keys = {o.key for o in options}
    first = text.strip().split("\n")[0].strip(" .")
    if "yes" in keys and _YES.match(first):
        return next(o for o in options if o.key == "yes")
    if "no" in keys and _NO.match(first):
        return next(o for o in options if o.key == "no")
    return None


def choose(lines: Sequence[Line], options: Sequence[OptionSpec]) -> list[str] | None:
    """The keys of the options chosen in ``lines``, in the options' order.

    Returns None when the answer names no option at all (blank, or text that
    is not one of the options), and [] when the options are all there and
    none is chosen.  Rules, in order: any ticked box or typed tick wins;
    else a line marked out by emphasis among plain siblings; else, when some
    options were deleted, the ones left standing are the choice.
    """
    marks = read_marks(lines)
    named = [(m, o) for m in marks if (o := _match_mark(m, options)) is not None]
    if not named:
        return None
    chosen = _chosen(named, len(options))
    order = {o.key: i for i, o in enumerate(options)}
    return sorted({o.key for _, o in chosen}, key=order.__getitem__)


def _match_mark(mark: Mark, options: Sequence[OptionSpec]) -> OptionSpec | None:
    if mark.state is State.PLAIN:
        return _loose_match(mark.text, options)
    return match_option(mark.text, options)


Named = list[tuple[Mark, OptionSpec]]


def _chosen(named: Named, option_count: int) -> Named:
    ticked = [(m, o) for m, o in named if m.state is State.TICKED]
    if ticked:
        return ticked
    emphasised = [(m, o) for m, o in named if m.emphasis]
    if emphasised and len(emphasised) < len(named):
        return emphasised
    present = {o.key for _, o in named}
    if len(present) >= option_count:
        return []
    all_plain = all(m.state is State.PLAIN for m, _ in named)
    if all_plain or len(present) <= max(1, option_count // 2):
        # The others were deleted: what is left standing is the answer.  With
        # boxes still there, only a few left standing reads as a choice; a
        # longer list of empty boxes is more likely another form's option list.
        return named
    return []
