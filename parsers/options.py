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
from functools import lru_cache

from rapidfuzz import fuzz

from parsers.document import CHECKED, UNCHECKED, Line
from parsers.lexicon import EMPTY, Lexicon, content_words
from parsers.normalise import comparable, qualifier_cuts
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


# A box: the readers' glyphs, or one typed as "[ ]" / "( )".
_BOX = rf"[{CHECKED}{UNCHECKED}]|\[\s*\]|\(\s*\)"
# A typed tick, standing alone: "X", "x", "✓", "[x]", "(X)"; or after an option,
# "– yes", ": ticked", "(selected)".
_TICK = (
    r"(?:(?<=\s)|^)(?:\[\s*[xX✓✔]\s*\]|\(\s*[xX✓✔]\s*\)|[xX✓✔✗✘])(?=\s|$)"
    r"|\s*[-–—:=]\s*(?:yes|y|ticked|selected|chosen)\b"
    r"|\(\s*(?:yes|selected|chosen)\s*\)"
)
_TOKEN = re.compile(rf"(?P<box>{_BOX})|(?P<tick>{_TICK})", re.IGNORECASE)


def read_marks(lines: Sequence[Line]) -> list[Mark]:
    """Every option-like piece of the answer, with how it was marked."""
    marks: list[Mark] = []
    for line in lines:
        marks.extend(_marks_in_line(line))
    return marks


def _tokens(text: str) -> list[tuple[str, str]]:
    """("box", glyph) / ("tick", "") / ("text", words) in reading order."""
    tokens: list[tuple[str, str]] = []
    at = 0
    for match in _TOKEN.finditer(text):
        _add_text(tokens, text[at : match.start()])
        if match.group("box"):
            tokens.append(("box", CHECKED if match.group("box") == CHECKED else UNCHECKED))
        else:
            tokens.append(("tick", ""))
        at = match.end()
    _add_text(tokens, text[at:])
    return tokens


def _add_text(tokens: list[tuple[str, str]], text: str) -> None:
    words = text.strip(" \t:-–—=,;/|")
    if words:
        tokens.append(("text", words))


def _marks_in_line(line: Line) -> list[Mark]:
    """Options on one line, whatever the convention.

    A box or tick *before* the words belongs to them (``☒ Yes``, ``X Yes``);
    a tick after the words belongs to them too (``☐ Yes X``, ``Male – yes``);
    on a line that starts with words, a box after them is theirs
    (``Yes ☒  No ☐``).
    """
    tokens = _tokens(line.text)
    box_after = bool(tokens) and tokens[0][0] == "text" and any(t[0] == "box" for t in tokens)
    items: list[list[object]] = []  # [state, label]
    for i, (kind, value) in enumerate(tokens):
        following = tokens[i + 1][0] if i + 1 < len(tokens) else "end"
        if kind == "text":
            if items and items[-1][1] is None:
                items[-1][1] = value
            else:
                items.append([State.PLAIN, value])
        elif kind == "box":
            state = State.TICKED if value == CHECKED else State.EMPTY
            if box_after and items and items[-1][1] is not None and items[-1][0] is State.PLAIN:
                items[-1][0] = state
            else:
                items.append([state, None])
        elif following == "text" and not (items and items[-1][1] is None):
            items.append([State.TICKED, None])  # "X Female": the tick comes first
        elif items:
            items[-1][0] = State.TICKED  # "☐ Female X": the tick follows
    return [
        Mark(str(label), state, line.emphasis)  # type: ignore[arg-type]
        for state, label in items
        if label is not None
    ]


def option_score(text: str, option: OptionSpec, cuts: bool = False) -> float:
    """How well ``text`` names ``option`` (0-100), by its label, aliases or key;
    with ``cuts``, also by the option's wording cut before a qualifying clause
    (`_cut_options`), which is taken only for a box ticked against it."""
    target = comparable(text)
    if not target:
        return 0.0
    best = 0.0
    negated = _NEGATION.search(target) is not None
    for wording, candidate, says_not in _wordings_of(option):
        if target == candidate:
            return 100.0
        if says_not != negated:
            continue  # "Known to children's social care" is not "Not known to …"
        score = fuzz.ratio(target, candidate)
        if len(candidate) > 25 and len(target) > 25:
            # Long option texts get abbreviated or lightly reworded, and said in
            # other words of the same meaning (the lexicon's: "Death of the child"
            # for "The child has died").
            score = max(score, fuzz.token_set_ratio(target, candidate) - 5)
            lexicon = option.lexicon
            if lexicon is not EMPTY:
                said, ours = lexicon.canon(text), lexicon.canon(wording)
                if (said != target or ours != candidate) and _said_within(said, ours):
                    score = max(score, fuzz.token_set_ratio(said, ours) - 5)
        if cuts and target in _cut_options(wording):
            score = max(score, CUT_OPTION_SCORE)
        best = max(best, score)
    return best


def _said_within(said: str, ours: str) -> bool:
    """Whether every meaning word of a text, in the lexicon's words, is one of the
    option's, and they are most of the option's.  The token-set score alone is
    100 for a text whose words all stand in the option, however few, and it
    does not see the text's other words: "Serious harm to a young person" reads,
    in the lexicon's words, as part of "The child has been seriously harmed as a
    result of sexual abuse", and "Child protection plan closed in 2024" holds all
    of "Subject of a child protection plan".  Neither is that option."""
    mine, theirs = content_words(said), content_words(ours)
    return bool(mine) and mine <= theirs and 2 * len(mine) > len(theirs)


_NEGATION = re.compile(r"\b(?:not|no|never|non|nor|none)\b")


@lru_cache(maxsize=1024)
def _wordings_of(option: OptionSpec) -> tuple[tuple[str, str, bool], ...]:
    """Each wording of ``option`` (its label, aliases and key), as compared, and
    whether it says "not": worked out once, not for every answer it is held to."""
    out = []
    for wording in (*option.wordings, option.key.replace("_", " ")):
        compared = comparable(wording)
        out.append((wording, compared, _NEGATION.search(compared) is not None))
    return tuple(out)


CUT_OPTION_SCORE = 90.0  # our option printed without its qualifier: named, a little less surely


@lru_cache(maxsize=4096)
def _cut_options(wording: str) -> frozenset[str]:
    """An option's wording cut before a qualifying clause, where three words or
    more are left: another form's shorter label for it ("Serious harm to a
    child" for "Serious harm to a child where abuse or neglect is known or
    suspected").  Not before a phrase: "The child has been seriously harmed"
    is not "... harmed as a result of sexual abuse"."""
    cuts = (comparable(cut) for cut in qualifier_cuts(wording, phrases=False))
    return frozenset(cut for cut in cuts if len(cut.split()) >= 3)


def match_option(
    text: str, options: Sequence[OptionSpec], threshold: float = 84, cuts: bool = False
) -> OptionSpec | None:
    """The option ``text`` names, or None when it names none clearly."""
    scored = sorted(((option_score(text, o, cuts), i) for i, o in enumerate(options)), reverse=True)
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
    chosen = _choose(tuple(lines), tuple(options), options_lexicon(options))
    return None if chosen is None else list(chosen)


def options_lexicon(options: Sequence[OptionSpec]) -> Lexicon:
    """The lexicon ``options`` are read with: part of the caches' keys, as options
    are equal whatever lexicon they carry."""
    return options[0].lexicon if options else EMPTY


@lru_cache(maxsize=2048)
def _choose(
    lines: tuple[Line, ...], options: tuple[OptionSpec, ...], _words: Lexicon
) -> tuple[str, ...] | None:
    """`choose`, once for each answer and set of options: the matcher asks it of
    every field an answer might be (issue 10)."""
    marks = _split_typed_answers(read_marks(lines), options)
    named = [(m, o) for m in marks if (o := _match_mark(m, options)) is not None]
    if not named:
        return None
    others = [m for m in marks if all(m is not n for n, _o in named)]
    if any(m.state is State.TICKED for m in others):
        return None  # a box ticked against words that are none of our options: not read
    # Emphasis marks a choice out when it picks out some of the boxes, not all (a
    # bold sub-heading or a plain note in the cell does not count); with no boxes,
    # some of the lines.
    group = [m for m in marks if m.state is not State.PLAIN] or marks
    marked_out = any(m.emphasis for m in group) and not all(m.emphasis for m in group)
    if marked_out and any(m.emphasis and any(m is g for g in group) for m in others):
        return None  # the choice marked out is none of our options: not read
    stray_boxes = any(m.state is State.EMPTY for m in others)
    picked = [(m, o) for m, o in named if marked_out and m.emphasis and any(m is g for g in group)]
    chosen = _chosen(named, options, picked, stray_boxes)
    if chosen is None:
        return None
    order = {o.key: i for i, o in enumerate(options)}
    return tuple(sorted({o.key for _, o in chosen}, key=order.__getitem__))


def option_lines(lines: Sequence[Line], options: Sequence[OptionSpec]) -> list[int]:
    """The lines that are a printed list of ``options`` ("Yes" / "Not yet" / "Not
    known" on lines of their own): the indices of the lines made only of marks that
    each name one option, when two or more options are named, with the lines of
    words alone between them (the form's own option, "Not yet", set apart in bold
    between ours); [] otherwise.  A typed answer ("Yes – told 14/08/2026") is no
    option list, and a line holding a number or an address is never part of one."""
    found: dict[int, set[str]] = {}
    for i, line in enumerate(lines):
        marks = _marks_in_line(line)
        named = [match_option(m.text, options) for m in marks]
        if marks and all(o is not None for o in named):
            found[i] = {o.key for o in named if o is not None}
    if len(set().union(*found.values())) < 2:
        return []
    return [
        i
        for i in range(min(found), max(found) + 1)
        if i in found or not any(c.isdigit() or c == "@" for c in lines[i].text)
    ]


def printed_options(lines: Sequence[Line], options: Sequence[OptionSpec]) -> int:
    """How many of the answer's marks are options exactly as printed: a list of a
    field's own options is strong evidence that the question is that field."""
    return _printed_options(tuple(lines), tuple(options))


@lru_cache(maxsize=2048)
def _printed_options(lines: tuple[Line, ...], options: tuple[OptionSpec, ...]) -> int:
    marks = _join_wrapped(read_marks(lines), options)
    return sum(
        1 for mark in marks if mark.state is not State.PLAIN and _printed(mark.text, options)
    )


def listed_options(lines: Sequence[Line], options: Sequence[OptionSpec]) -> int:
    """How many of the field's options the answer lists with a box, in another
    form's words or ours, when they make up at least half of its boxes (0
    otherwise): a question printed with three of our criteria as tick boxes is
    our criteria question, however the question itself is worded.  A long list
    of other choices that happens to name a few of ours does not count."""
    return _listed_options(tuple(lines), tuple(options), options_lexicon(options))


@lru_cache(maxsize=2048)
def _listed_options(
    lines: tuple[Line, ...], options: tuple[OptionSpec, ...], _words: Lexicon
) -> int:
    boxed = [m for m in _join_wrapped(read_marks(lines), options) if m.state is not State.PLAIN]
    keys = {o.key for m in boxed if (o := match_option(m.text, options)) is not None}
    return len(keys) if 2 * len(keys) >= len(boxed) else 0


def left_blank(lines: Sequence[Line], options: Sequence[OptionSpec]) -> bool:
    """True when the answer holds nothing but the printed options, untouched: each
    with an empty box, or (forms printed without boxes) every option still
    there as plain words.  Otherwise something was written that we could not
    read as a choice, which is not the same as a blank."""
    plain: set[str] = set()
    for mark in _split_typed_answers(read_marks(lines), options):
        option = match_option(mark.text, options)
        if mark.state is State.TICKED or option is None or not _printed(mark.text, options):
            return False
        if mark.state is State.PLAIN:
            plain.add(option.key)
    return not plain or plain == {o.key for o in options}


def _split_typed_answers(marks: list[Mark], options: Sequence[OptionSpec]) -> list[Mark]:
    """``☐ Yes ☐ No   NO``: the answer typed after the last box reads as one label
    ("No NO"); split it into the option, as printed, and the typed answer."""
    out: list[Mark] = []
    for mark in _join_wrapped(marks, options):
        words = mark.text.split()
        if mark.state is State.EMPTY and len(words) > 1 and not _printed(mark.text, options):
            out.extend(_split_mark(mark, words, options))
        else:
            out.append(mark)
    return out


def _join_wrapped(marks: list[Mark], options: Sequence[OptionSpec]) -> list[Mark]:
    """An option's label wrapped onto the next line is one label again."""
    out: list[Mark] = []
    for mark in marks:
        last = out[-1] if out else None
        if (
            last is not None
            and mark.state is State.PLAIN
            and last.state is not State.PLAIN
            and not _printed(last.text, options)
            and _printed(f"{last.text} {mark.text}", options)
        ):
            out[-1] = Mark(f"{last.text} {mark.text}", last.state, last.emphasis)
        else:
            out.append(mark)
    return out


def _printed(text: str, options: Sequence[OptionSpec]) -> bool:
    """``text`` is one of the options exactly as printed (or its key): what
    `option_score` scores 100, without scoring the near misses."""
    target = comparable(text)
    return bool(target) and target in _printed_wordings(tuple(options))


@lru_cache(maxsize=256)
def _printed_wordings(options: tuple[OptionSpec, ...]) -> frozenset[str]:
    return frozenset(
        wording
        for option in options
        for printed in (*option.wordings, option.key.replace("_", " "))
        if (wording := comparable(printed))
    )


def _split_mark(mark: Mark, words: list[str], options: Sequence[OptionSpec]) -> list[Mark]:
    for cut in range(len(words) - 1, 0, -1):
        head, tail = " ".join(words[:cut]), " ".join(words[cut:])
        if _printed(head, options) and _loose_match(tail, options):
            return [Mark(head, State.EMPTY, mark.emphasis), Mark(tail, State.PLAIN, False)]
    return [mark]


def _match_mark(mark: Mark, options: Sequence[OptionSpec]) -> OptionSpec | None:
    if mark.state is State.PLAIN:
        return _loose_match(mark.text, options)
    # A shorter label of our option counts only where it was ticked (or marked out
    # in bold or highlight): a list of another form's labels left empty is not a
    # choice of those that look like ours.
    return match_option(mark.text, options, cuts=mark.state is State.TICKED or mark.emphasis)


Named = list[tuple[Mark, OptionSpec]]


_ANSWER_WORD = re.compile(r"^(yes|no|y|n)\.?$", re.IGNORECASE)


def _typed_option(text: str, options: Sequence[OptionSpec]) -> bool:
    return _printed(text, options) or bool(_ANSWER_WORD.match(text.strip()))


def _typed_beside_empty_boxes(named: Named, options: Sequence[OptionSpec]) -> Named:
    """Every box left empty and one option's name typed beside or under them
    ("☐ Yes ☐ No", then "NO"): the typed answer is the choice (issue 7)."""
    boxed = [o.key for m, o in named if m.state is not State.PLAIN]
    # Only a whole option, typed: a line that continues a long option's label
    # ("serious and permanent impairment...") is not an answer.
    plain = [(m, o) for m, o in named if m.state is State.PLAIN and _typed_option(m.text, options)]
    if not boxed or not plain or len({o.key for _, o in plain}) != 1:
        return []
    if any(m.state is State.TICKED for m, _ in named):
        return []
    return plain if set(boxed) >= {o.key for _, o in plain} else []


def _chosen(
    named: Named, options: Sequence[OptionSpec], picked: Named, stray_boxes: bool
) -> Named | None:
    """The marks chosen; [] for none, None when it cannot be told.  ``picked``:
    our options among the boxes (or, with no boxes, the lines) the answer's
    emphasis marks out from the others; ``stray_boxes``: it has empty boxes
    that are none of our options."""
    option_count = len(options)
    ticked = [(m, o) for m, o in named if m.state is State.TICKED]
    if ticked:
        return ticked
    if picked:
        return picked
    emphasised = [(m, o) for m, o in named if m.emphasis]
    if emphasised and len(emphasised) < len(named):
        return emphasised
    typed = _typed_beside_empty_boxes(named, options)
    if typed:
        return typed
    present = {o.key for _, o in named}
    if len(present) >= option_count:
        return []
    all_plain = all(m.state is State.PLAIN for m, _ in named)
    if all_plain or len(present) <= max(1, option_count // 2):
        # The others were deleted: what is left standing is the answer.  With
        # boxes still there, only a few left standing reads as a choice; a
        # longer list of empty boxes is more likely another form's option list.
        # And only our own labels, alone, tell that ours were deleted: a few empty
        # boxes in another form's words, or among its other boxes, may be all that
        # form prints (not read).
        if not all_plain and (stray_boxes or not all(_printed(m.text, options) for m, _ in named)):
            return None
        return named
    return []
