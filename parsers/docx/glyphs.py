"""Tick-box glyphs in Word documents, turned into the two the matcher reads.

Word stores a box in many ways: a Unicode character in MS Gothic or Segoe
UI Symbol (what the check-box content control inserts), a ``w:sym`` element
naming a code in a symbol font (Insert > Symbol), or a plain character in a
run whose font is Wingdings.  Symbol-font codes are written either as the
byte (``0x78``) or in the private-use area (``0xF078``, the form Word uses in
``w:sym``).  The Wingdings and Wingdings 2 code points below are the glyphs
those fonts draw (checked against the fonts' published Unicode mappings).
"""

from __future__ import annotations

import re

from parsers.document import CHECKED, UNCHECKED

# A tick mark that is not itself a box: a box only when it stands where a box
# stands (alone, before or after an option), never inside a word.
TICK = "\u2713"  # ✓, the canonical form of every loose tick mark below

_UNICODE: dict[str, str] = {
    "\u2610": UNCHECKED,  # ☐ BALLOT BOX
    "\u25a1": UNCHECKED,  # □ WHITE SQUARE
    "\u25a2": UNCHECKED,  # ▢ WHITE SQUARE WITH ROUNDED CORNERS
    "\u25fb": UNCHECKED,  # ◻ WHITE MEDIUM SQUARE
    "\u2b1c": UNCHECKED,  # ⬜ WHITE LARGE SQUARE
    "\u274f": UNCHECKED,  # ❏ LOWER RIGHT DROP-SHADOWED WHITE SQUARE
    "\u2751": UNCHECKED,  # ❑ LOWER RIGHT SHADOWED WHITE SQUARE
    "\u2752": UNCHECKED,  # ❒ UPPER RIGHT SHADOWED WHITE SQUARE
    "\U0001f790": UNCHECKED,  # 🞐 BOLD WHITE SQUARE
    "\U0001f791": UNCHECKED,  # 🞑 HEAVY WHITE SQUARE
    "\U0001f792": UNCHECKED,
    "\U0001f793": UNCHECKED,
    "\u2612": CHECKED,  # ☒ BALLOT BOX WITH X
    "\u2611": CHECKED,  # ☑ BALLOT BOX WITH CHECK
    "\u2327": CHECKED,  # ⌧ X IN A RECTANGLE BOX
    "\u22a0": CHECKED,  # ⊠ SQUARED TIMES
    "\u25a3": CHECKED,  # ▣ WHITE SQUARE CONTAINING BLACK SMALL SQUARE
    "\u2bbd": CHECKED,  # ⮽ BALLOT BOX WITH LIGHT X
    "\U0001f5f3": CHECKED,  # 🗳 BALLOT BOX WITH BALLOT
    "\U0001f5f5": CHECKED,  # 🗵 BALLOT BOX WITH SCRIPT X
    "\U0001f5f7": CHECKED,  # 🗷 BALLOT BOX WITH BOLD SCRIPT X
    "\U0001f5f9": CHECKED,  # 🗹 BALLOT BOX WITH BOLD CHECK
    "\u2713": TICK,  # ✓ CHECK MARK
    "\u2714": TICK,  # ✔ HEAVY CHECK MARK
    "\u2717": TICK,  # ✗ BALLOT X
    "\u2718": TICK,  # ✘ HEAVY BALLOT X
    "\U0001f5f4": TICK,  # 🗴 BALLOT SCRIPT X
    "\U0001f5f8": TICK,  # 🗸 LIGHT CHECK MARK
    "\u25a0": TICK,  # ■ BLACK SQUARE
}

# Wingdings: n ■, o □, p (bold white square), q ❑, r ❒, x ⌧, ¨ ◻, û ✗, ü ✓, ý ☒, þ ☑.
_WINGDINGS: dict[int, str] = {
    0x6E: TICK,
    0x6F: UNCHECKED,
    0x70: UNCHECKED,
    0x71: UNCHECKED,
    0x72: UNCHECKED,
    0x78: CHECKED,
    0xA8: UNCHECKED,
    0xFB: TICK,
    0xFC: TICK,
    0xFD: CHECKED,
    0xFE: CHECKED,
}

# Wingdings 2: O ✗, P ✓, Q 🗵, R ☑, S ⮽, T ☒, ¢ ■, £ □, ¤-¦ heavier white
# squares, ¨ ▣.
_WINGDINGS_2: dict[int, str] = {
    0x4F: TICK,
    0x50: TICK,
    0x51: CHECKED,
    0x52: CHECKED,
    0x53: CHECKED,
    0x54: CHECKED,
    0xA2: TICK,
    0xA3: UNCHECKED,
    0xA4: UNCHECKED,
    0xA5: UNCHECKED,
    0xA6: UNCHECKED,
    0xA8: CHECKED,
}

SYMBOL_FONTS: dict[str, dict[int, str]] = {
    "wingdings": _WINGDINGS,
    "wingdings 2": _WINGDINGS_2,
}

# Fonts whose characters are pictures, not letters: an unmapped character in
# them says nothing a reader could use, so it is dropped.
PICTURE_FONTS = ("wingdings", "wingdings 2", "wingdings 3", "webdings")


def symbol_char(font: str, code: int) -> str:
    """The text for code ``code`` drawn in ``font`` ("" when it is a picture).

    ``code`` may be the byte or its private-use form (``0xF0FE``).
    """
    name = font.strip().lower()
    byte = code - 0xF000 if 0xF000 <= code <= 0xF0FF else code
    table = SYMBOL_FONTS.get(name)
    if table is not None:
        return table.get(byte, "")
    if name in PICTURE_FONTS:
        return ""
    if 0xF000 <= code <= 0xF0FF:
        # A private-use code in an unknown font: Word's own box codes are
        # the Wingdings ones; anything else is a picture.
        return _WINGDINGS.get(byte, "")
    return normalise_char(chr(code))


def symbol_text(font: str, text: str) -> str:
    """Text typed in a symbol font, character by character."""
    return "".join(symbol_char(font, ord(c)) for c in text)


def normalise_char(char: str) -> str:
    """A box character as ☒/☐, a loose tick as ✓, anything else unchanged."""
    return _UNICODE.get(char, char)


def private_use_text(text: str) -> str:
    """Map private-use symbol codes (U+F0xx) met in ordinary runs."""
    if not any(0xF000 <= ord(c) <= 0xF0FF for c in text):
        return text
    return "".join(
        _WINGDINGS.get(ord(c) - 0xF000, "") if 0xF000 <= ord(c) <= 0xF0FF else c for c in text
    )


_BOXES = f"{CHECKED}{UNCHECKED}"
_BOX_CHARS = "".join(k for k, v in _UNICODE.items() if v in (CHECKED, UNCHECKED))
_TICK_CHARS = "".join(k for k, v in _UNICODE.items() if v == TICK)
_ANY_BOX = re.compile(f"[{re.escape(_BOX_CHARS)}]")
_TOKEN = rf"(?:[xX{re.escape(_TICK_CHARS)}])"
# These work on the line before its spaces are folded: how far an X stands
# from a box or a word says which one it belongs to.
# "☐X Male", "☐ X Male": a tick just after a box ticks it.
_TICK_AFTER_BOX = re.compile(rf"{UNCHECKED}[ \t]?{_TOKEN}(?=\s|$)")
# "X☐ Male", or "X ☐ Male" opening the line or set apart by a wide gap.
_TICK_BEFORE_BOX = re.compile(rf"(?:(?<!\S){_TOKEN}{UNCHECKED}|(^|\s\s|\t){_TOKEN} {UNCHECKED})")
# "☐ Male X", "☐ Yes X   ☐ No", "☐ Child in need - yes": a tick after the
# option's words, before the next box or the end of the line.
_TICK_AFTER_OPTION = re.compile(
    rf"{UNCHECKED}([^{_BOXES}]*?[^\s{_BOXES}])[ \t]*(?P<sep>[-–:=][ \t]*)?"
    rf"(?P<tick>{_TOKEN}|\((?:yes|x)\)|(?<=[-–:=\s])yes)(?=\s*(?:[{_BOXES}]|$))",
    re.IGNORECASE,
)
# "☐ Yes ☐ No   YES": on a yes/no line a bare "yes" after "No" is the answer
# typed beside the boxes, not a tick of "No" (issue 7); "☐ No – yes" still ticks.
_ANSWER_WORDS = {"yes", "no", "y", "n", "not known", "unknown", "dont know", "don't know"}
# "X Male" / "☐ Yes   X No": an X standing where a box stood.
_X_FOR_BOX = re.compile(rf"(^|\s)[xX](?=[ \t]+[^\s{_BOXES}])")
_LEADING_TICK = re.compile(rf"^(\s*)[{re.escape(_TICK_CHARS)}]\s*(?=\w)")
_LONE_TICK = re.compile(rf"(?<!\S)[{re.escape(_TICK_CHARS)}](?=\s|$)")


def normalise_boxes(text: str) -> str:
    """Every box character as ☒ or ☐ (☑ ⌧ 🗹 ... -> ☒; □ ❏ ▢ ... -> ☐)."""
    return _ANY_BOX.sub(lambda m: _UNICODE[m.group(0)], text)


def typed_ticks(text: str, boxes_near: bool) -> str:
    """Read ticks typed next to boxes as ticked boxes, on one unfolded line.

    A tick mark (✓ ✔ ✗ ✘ ■) opening the line stands where its box stood.
    ``boxes_near`` says whether this line or its sibling lines hold boxes:
    only then is an ``X`` standing before an option, or a tick mark standing
    alone mid-line, read as a ticked box (elsewhere "X" is just a letter).
    """
    text = _TICK_AFTER_BOX.sub(CHECKED, text)
    text = _TICK_BEFORE_BOX.sub(lambda m: (m.group(1) or "") + CHECKED, text)
    text = _TICK_AFTER_OPTION.sub(_tick_after_option, text)
    text = _LEADING_TICK.sub(lambda m: f"{m.group(1)}{CHECKED} ", text)
    if not boxes_near:
        return text
    text = _X_FOR_BOX.sub(lambda m: f"{m.group(1)}{CHECKED}", text)
    return _LONE_TICK.sub(CHECKED, text)


def _tick_after_option(match: re.Match[str]) -> str:
    bare_yes = match.group("tick").lower() == "yes" and not match.group("sep")
    if bare_yes and match.group(1).strip().lower() in _ANSWER_WORDS:
        return match.group(0)
    return f"{CHECKED}{match.group(1)}"


def has_box(text: str) -> bool:
    return CHECKED in text or UNCHECKED in text
