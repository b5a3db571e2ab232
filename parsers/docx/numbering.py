"""List bullets that are tick boxes (ECMA-376 Part 1, 17.9 Numbering).

Some forms list their options as a bulleted list whose bullet is a box
(Wingdings ``¨`` or ``o``), and people tick one by changing its bullet to a
ticked box from the bullet library.  The bullet is not in the paragraph's
text; it lives in ``word/numbering.xml``.  `Numbering.box_for` gives the
☒/☐ a paragraph's bullet draws, or None for every other bullet and number.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lxml import etree

from parsers.document import CHECKED, UNCHECKED
from parsers.docx.glyphs import TICK, normalise_char, symbol_text

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
VAL = f"{{{W}}}val"


def w(tag: str) -> str:
    return f"{{{W}}}{tag}"


@dataclass
class Numbering:
    """numId -> ilvl -> the box its bullet draws (only bullets that are boxes)."""

    boxes: dict[tuple[str, str], str] = field(default_factory=dict)

    @classmethod
    def of(cls, root: etree._Element | None) -> Numbering:
        numbering = cls()
        if root is None:
            return numbering
        abstract = {
            node.get(w("abstractNumId"), ""): _level_boxes(node)
            for node in root.iter(w("abstractNum"))
        }
        for num in root.iter(w("num")):
            num_id = num.get(w("numId"), "")
            ref = num.find(w("abstractNumId"))
            levels = dict(abstract.get(ref.get(VAL, "") if ref is not None else "", {}))
            for override in num.iter(w("lvlOverride")):
                levels.update(_level_boxes(override))
            for ilvl, box in levels.items():
                numbering.boxes[(num_id, ilvl)] = box
        return numbering

    def box_for(self, p: etree._Element) -> str | None:
        """☒/☐ when the paragraph's own list bullet is a box, else None."""
        num_pr = p.find(f"{w('pPr')}/{w('numPr')}")
        if num_pr is None or not self.boxes:
            return None
        num_id, ilvl = num_pr.find(w("numId")), num_pr.find(w("ilvl"))
        key = (
            num_id.get(VAL, "") if num_id is not None else "",
            ilvl.get(VAL, "0") if ilvl is not None else "0",
        )
        return self.boxes.get(key)


def _level_boxes(container: etree._Element) -> dict[str, str]:
    out: dict[str, str] = {}
    for lvl in container.findall(w("lvl")):
        fmt = lvl.find(w("numFmt"))
        if fmt is not None and fmt.get(VAL) != "bullet":
            continue
        text = lvl.find(w("lvlText"))
        box = _box(text.get(VAL, "") if text is not None else "", _font(lvl))
        if box:
            out[lvl.get(w("ilvl"), "0")] = box
    return out


def _font(lvl: etree._Element) -> str:
    fonts = lvl.find(f"{w('rPr')}/{w('rFonts')}")
    if fonts is None:
        return ""
    return fonts.get(w("ascii")) or fonts.get(w("hAnsi")) or ""


def _box(text: str, font: str) -> str | None:
    shown = symbol_text(font, text) if font.lower().startswith(("wingdings", "webdings")) else ""
    shown = shown or "".join(normalise_char(c) for c in text)
    shown = shown.strip()
    if shown in (CHECKED, TICK):
        return CHECKED
    return UNCHECKED if shown == UNCHECKED else None
