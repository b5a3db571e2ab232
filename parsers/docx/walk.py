"""Walk WordprocessingML (ECMA-376 Part 1, section 17) into `parsers.docx.model` pieces.

What a person sees on the page is what is copied: text inside ``w:del`` is
gone and ``w:ins`` kept (17.13.5); of ``mc:AlternateContent`` only the first
``mc:Choice`` is read (Part 3, 10.2); a field (17.16) shows its result, never
its instruction; legacy form fields (17.16.17) and check-box content controls
(``w14:checkbox``, MS-DOCX 2.6.1) become ☒/☐; a content control showing its
placeholder (``w:showingPlcHdr``, 17.5.2.39) is empty.  Hyperlinks, smart
tags, ``w:customXml`` and ``w:sdt`` wrappers are read through.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from lxml import etree

from parsers.document import CHECKED, UNCHECKED
from parsers.docx.glyphs import (
    PICTURE_FONTS,
    normalise_boxes,
    private_use_text,
    symbol_char,
    symbol_text,
)
from parsers.docx.model import Cell, Para, Piece, Row, Table
from parsers.docx.numbering import Numbering
from parsers.docx.style import Styles, run_look
from parsers.errors import ParseError, Reason

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
W14 = "http://schemas.microsoft.com/office/word/2010/wordml"
MC = "http://schemas.openxmlformats.org/markup-compatibility/2006"
M = "http://schemas.openxmlformats.org/officeDocument/2006/math"


def w(tag: str) -> str:
    return f"{{{W}}}{tag}"


P, R, T, TBL, TR, TC, SDT = w("p"), w("r"), w("t"), w("tbl"), w("tr"), w("tc"), w("sdt")
SDT_CONTENT, SDT_PR = w("sdtContent"), w("sdtPr")
ALT, CHOICE, FALLBACK = f"{{{MC}}}AlternateContent", f"{{{MC}}}Choice", f"{{{MC}}}Fallback"
VAL = w("val")
TXBX = w("txbxContent")

# Children of a paragraph or run that never hold displayed text.
_SKIP_INLINE = {w("pPr"), w("rPr"), w("del"), w("moveFrom"), w("proofErr"), w("commentReference")}
# Block-level wrappers read through (17.5.1 customXml, 17.13.5 ins/moveTo).
_BLOCK_WRAPPERS = {w("customXml"), w("ins"), w("moveTo"), w("smartTag")}
_TRUE = {None, "1", "true", "on"}

MAX_NODES = 200_000  # paragraphs, tables and runs; a 20-page form has ~5,000
MAX_TABLE_DEPTH = 12


@dataclass
class _Field:
    """One complex field between its begin and end ``w:fldChar`` (17.16.18)."""

    ffdata: etree._Element | None
    instr: str = ""
    result: bool = False  # past ``separate``: what follows is shown

    @property
    def kind(self) -> str:
        words = self.instr.split()
        return words[0].upper() if words else ""

    @property
    def name(self) -> str | None:
        if self.ffdata is None:
            return None
        node = self.ffdata.find(w("name"))
        return node.get(VAL) if node is not None and node.get(VAL) else None


@dataclass
class Walker:
    """Reads blocks, paragraphs and tables; counts work against the limits."""

    styles: Styles
    deadline: float
    numbering: Numbering = field(default_factory=Numbering)
    tables: int = 0
    nodes: int = 0
    notes: set[str] = field(default_factory=set)
    _fields: list[_Field] = field(default_factory=list)
    _hints: list[str] = field(default_factory=list)
    _boxes: list[Para | Table] = field(default_factory=list)  # text boxes met in a paragraph
    _depth: int = 0

    # -- work limits ---------------------------------------------------------
    def tick(self) -> None:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise ParseError(Reason.TOO_LARGE, "too many paragraphs and tables")
        if self.nodes % 512 == 0 and time.monotonic() > self.deadline:
            raise ParseError(Reason.TIMEOUT, "reading the document took too long")

    # -- blocks --------------------------------------------------------------
    def blocks(self, container: etree._Element) -> list[Para | Table]:
        """Paragraphs and tables of a body, cell, or content control, in order."""
        out: list[Para | Table] = []
        for child in container:
            self.tick()
            if child.tag == P:
                out.append(self.paragraph(child))
                out.extend(self._boxes)
                self._boxes = []
            elif child.tag == TBL:
                out.append(self.table(child))
            elif child.tag == SDT:
                out.extend(self._block_sdt(child))
            elif child.tag == ALT:
                out.extend(self.blocks(_choice(child)))
            elif child.tag in _BLOCK_WRAPPERS:
                out.extend(self.blocks(child))
        return out

    def _block_sdt(self, sdt: etree._Element) -> list[Para | Table]:
        control = _Control.of(sdt)
        if control.placeholder:
            return [Para(controls=[control.name] if control.name else [])]
        with_hint = self._push_hint(control.name)
        try:
            return self.blocks(control.content)
        finally:
            self._pop_hint(with_hint)

    # -- tables --------------------------------------------------------------
    def table(self, tbl: etree._Element) -> Table:
        self._depth += 1
        if self._depth > MAX_TABLE_DEPTH:
            raise ParseError(Reason.TOO_LARGE, "tables nested too deep")
        self.tables += 1
        table = Table(number=self.tables)
        for tr, _ in _unwrap(tbl, TR):
            if _deleted_row(tr):
                continue
            table.rows.append(self._row(tr))
        self._depth -= 1
        return table

    def _row(self, tr: etree._Element) -> Row:
        trpr = tr.find(w("trPr"))
        row = Row(header=trpr is not None and trpr.find(w("tblHeader")) is not None)
        for tc, name in _unwrap(tr, TC):
            if _merged_away(tc):
                continue
            self._fields.clear()  # a field never spans cells; a broken one must not hide text
            pushed = self._push_hint(name)
            try:
                row.cells.append(self._cell(tc))
            finally:
                self._pop_hint(pushed)
        return row

    def _cell(self, tc: etree._Element) -> Cell:
        cell = Cell()
        tcpr = tc.find(w("tcPr"))
        if tcpr is not None:
            span = tcpr.find(w("gridSpan"))
            cell.span = _int(span.get(VAL) if span is not None else None, 1)
            vmerge = tcpr.find(w("vMerge"))
            cell.vmerge_continue = vmerge is not None and vmerge.get(VAL) in (None, "continue")
            cell.shaded = _shaded(tcpr.find(w("shd")))
        cell.blocks = self.blocks(tc)
        for block in cell.blocks:
            if isinstance(block, Table):
                cell.tables.append(block)
            else:
                cell.paras.append(block)
        return cell

    # -- paragraphs ----------------------------------------------------------
    def paragraph(self, p: etree._Element) -> Para:
        style_id = _pstyle(p)
        para = Para(style=self.styles.name(style_id), outline=self.styles.is_heading(p, style_id))
        if self._hints:
            para.controls.append(self._hints[-1])
        bullet = self.numbering.box_for(p)
        if bullet:  # a list bullet that is a box is part of what the line shows
            para.add(Piece(f"{bullet} "))
        self.inline(p, para, style_id)
        # An instruction never runs past its paragraph: drop half-read fields.
        self._fields = [f for f in self._fields if f.result]
        return para

    def inline(self, parent: etree._Element, para: Para, style_id: str | None) -> None:
        for child in parent:
            tag = child.tag
            if tag == R:
                self._run(child, para, style_id)
            elif tag in _SKIP_INLINE:
                continue
            elif tag == SDT:
                self._inline_sdt(child, para, style_id)
            elif tag == ALT:
                self.inline(_choice(child), para, style_id)
            elif tag == f"{{{M}}}t":
                self._emit(para, child.text or "", False)
            elif isinstance(tag, str):
                # hyperlink, ins, moveTo, smartTag, customXml, fldSimple, oMath...
                self.inline(child, para, style_id)

    def _inline_sdt(self, sdt: etree._Element, para: Para, style_id: str | None) -> None:
        control = _Control.of(sdt)
        if control.name:
            para.controls.append(control.name)
        if control.checkbox is not None:
            self.notes.add("content_controls")
            self._emit(para, CHECKED if control.checkbox else UNCHECKED, False, control.name)
            return
        if control.placeholder:
            return
        with_hint = self._push_hint(control.name)
        try:
            self.inline(control.content, para, style_id)
        finally:
            self._pop_hint(with_hint)

    # -- runs ----------------------------------------------------------------
    def _run(self, r: etree._Element, para: Para, style_id: str | None) -> None:
        self.tick()
        rpr = r.find(w("rPr"))
        look = run_look(rpr, style_id, self.styles)
        if look.struck or _hidden(rpr):
            self._unseen_run(r, para, look.struck)
            return
        emphasis = look.emphasis
        font = _symbol_font(rpr)
        for child in r:
            tag = child.tag
            if tag == T:
                text = child.text or ""
                text = symbol_text(font, text) if font else private_use_text(text)
                self._emit(para, text, emphasis)
            elif tag in (w("tab"), w("ptab")):
                self._emit(para, " ", False)
            elif tag in (w("br"), w("cr")):
                if self._visible():
                    para.newline()
            elif tag == w("sym"):
                self._emit(para, _sym(child), emphasis)
            elif tag == w("noBreakHyphen"):
                self._emit(para, "-", emphasis)
            elif tag == w("fldChar"):
                self._field_char(child, para)
            elif tag == w("instrText") and self._fields:
                self._fields[-1].instr += child.text or ""
            elif tag in (w("drawing"), w("pict"), ALT):
                self._text_boxes(child)

    def _unseen_run(self, r: etree._Element, para: Para, struck: bool) -> None:
        """Hidden text (17.3.2.41) is not on the page, and struck-through text
        is "deleted as appropriate"; their field characters still open and
        close fields, so only those are read."""
        if struck and self._visible() and any(t.text for t in r.iter(T)):
            para.lines[-1].struck = True
        for child in r:
            if child.tag == w("fldChar"):
                self._field_char(child, para)
            elif child.tag == w("instrText") and self._fields:
                self._fields[-1].instr += child.text or ""

    def _text_boxes(self, node: etree._Element) -> None:
        """Text boxes anchored in a run (``w:txbxContent``, 17.17.1.1), read after it."""
        scope = _choice(node) if node.tag == ALT else node
        fields, self._fields = self._fields, []
        try:
            for box in scope.iter(TXBX):
                if not any(a.tag == TXBX for a in _ancestors(box, scope)):
                    found = self.blocks(box)  # may reset self._boxes: read it first
                    self._boxes.extend(found)
        finally:
            self._fields = fields

    def _emit(self, para: Para, text: str, emphasis: bool, hint: str | None = None) -> None:
        if text and self._visible():
            hint = hint or self._field_hint() or (self._hints[-1] if self._hints else None)
            para.add(Piece(normalise_boxes(text), emphasis, hint))

    def _visible(self) -> bool:
        return all(f.result and f.kind not in _OWN_DISPLAY for f in self._fields)

    def _field_hint(self) -> str | None:
        return next((f.name for f in reversed(self._fields) if f.name), None)

    # -- complex fields (17.16.18) -------------------------------------------
    def _field_char(self, fld: etree._Element, para: Para) -> None:
        kind = fld.get(w("fldCharType"))
        if kind == "begin":
            if len(self._fields) < 16:
                self._fields.append(_Field(fld.find(w("ffData"))))
        elif kind == "separate" and self._fields:
            self._fields[-1].result = True
        elif kind == "end" and self._fields:
            done = self._fields.pop()
            self._finish_field(done, para)

    def _finish_field(self, done: _Field, para: Para) -> None:
        if done.name:
            para.controls.append(done.name)
        if done.kind in _OWN_DISPLAY or (done.kind == "FORMTEXT" and not done.result):
            self.notes.add("legacy_fields")
            self._emit(para, _legacy_value(done), False, done.name)
        elif done.kind == "FORMTEXT":
            self.notes.add("legacy_fields")

    def _push_hint(self, name: str | None) -> bool:
        if name:
            self._hints.append(name)
        return bool(name)

    def _pop_hint(self, pushed: bool) -> None:
        if pushed:
            self._hints.pop()


# Legacy fields whose shown value we compute from w:ffData, ignoring the result.
_OWN_DISPLAY = {"FORMCHECKBOX", "FORMDROPDOWN"}


def _legacy_value(done: _Field) -> str:
    """What a legacy form field shows, from its ``w:ffData`` (17.16.17)."""
    ff = done.ffdata
    if ff is None:
        return ""
    if done.kind == "FORMCHECKBOX":
        box = ff.find(w("checkBox"))
        if box is None:
            return UNCHECKED
        state = box.find(w("checked"))
        if state is None:
            state = box.find(w("default"))
        ticked = state is not None and state.get(VAL) in _TRUE
        return CHECKED if ticked else UNCHECKED
    if done.kind == "FORMDROPDOWN":
        return _dropdown_value(ff.find(w("ddList")))
    default = ff.find(f"{w('textInput')}/{w('default')}")
    return default.get(VAL, "") if default is not None else ""


def _dropdown_value(ddlist: etree._Element | None) -> str:
    if ddlist is None:
        return ""
    entries = [e.get(VAL, "") for e in ddlist.findall(w("listEntry"))]
    chosen = ddlist.find(w("result"))
    if chosen is None:
        chosen = ddlist.find(w("default"))
    index = _int(chosen.get(VAL) if chosen is not None else None, 0)
    return entries[index] if 0 <= index < len(entries) else ""


@dataclass
class _Control:
    """A content control's properties (17.5.2)."""

    content: etree._Element
    name: str | None
    placeholder: bool
    checkbox: bool | None  # None: not a check box

    @classmethod
    def of(cls, sdt: etree._Element) -> _Control:
        pr = sdt.find(SDT_PR)
        content = sdt.find(SDT_CONTENT)
        empty = etree.Element(SDT_CONTENT)
        if pr is None:
            return cls(content if content is not None else empty, None, False, None)
        tag, alias = pr.find(w("tag")), pr.find(w("alias"))
        name = (tag.get(VAL) if tag is not None else None) or (
            alias.get(VAL) if alias is not None else None
        )
        plc = pr.find(w("showingPlcHdr"))
        box = pr.find(f"{{{W14}}}checkbox")
        checked: bool | None = None
        if box is not None:
            state = box.find(f"{{{W14}}}checked")
            checked = state is not None and state.get(f"{{{W14}}}val") in ("1", "true")
        body = content if content is not None else empty
        showing = plc is not None and plc.get(VAL) in _TRUE
        return cls(body, name or None, showing or _placeholder_text(body), checked)


# Word's own placeholder texts: other editors (LibreOffice, Google Docs) drop
# ``w:showingPlcHdr`` when they save, and leave these as if they were typed.
_PLACEHOLDERS = {
    "click or tap here to enter text.",
    "click here to enter text.",
    "click or tap to enter a date.",
    "click here to enter a date.",
    "choose an item.",
    "choose a building block.",
}


def _placeholder_text(content: etree._Element) -> bool:
    for run_props in content.iter(w("rStyle")):
        if (run_props.get(VAL) or "").lower() == "placeholdertext":
            return True
    shown = " ".join("".join(t.text or "" for t in content.iter(T)).split()).lower()
    return shown in _PLACEHOLDERS


def _choice(alt: etree._Element) -> etree._Element:
    node = alt.find(CHOICE)
    if node is None:
        node = alt.find(FALLBACK)
    return node if node is not None else etree.Element(CHOICE)


def _unwrap(
    parent: etree._Element, tag: str, name: str | None = None
) -> list[tuple[etree._Element, str | None]]:
    """Rows of a table (or cells of a row) through sdt/customXml wrappers,
    each with the name of the innermost content control around it."""
    out: list[tuple[etree._Element, str | None]] = []
    for child in parent:
        if child.tag == tag:
            out.append((child, name))
        elif child.tag == SDT:
            control = _Control.of(child)
            out.extend(_unwrap(control.content, tag, control.name or name))
        elif child.tag in (w("customXml"), w("ins"), w("moveTo")):
            out.extend(_unwrap(child, tag, name))
        elif child.tag == ALT:
            out.extend(_unwrap(_choice(child), tag, name))
    return out


def _ancestors(node: etree._Element, scope: etree._Element) -> list[etree._Element]:
    out = []
    for ancestor in node.iterancestors():
        if ancestor is scope:
            break
        out.append(ancestor)
    return out


def _hidden(rpr: etree._Element | None) -> bool:
    if rpr is None:
        return False
    vanish = rpr.find(w("vanish"))
    return vanish is not None and vanish.get(VAL) in _TRUE


def _merged_away(tc: etree._Element) -> bool:
    """A cell continuing a legacy horizontal merge (``w:hMerge``, 17.4.22)."""
    merge = tc.find(f"{w('tcPr')}/{w('hMerge')}")
    return merge is not None and merge.get(VAL) in (None, "continue")


def _deleted_row(tr: etree._Element) -> bool:
    trpr = tr.find(w("trPr"))
    return trpr is not None and trpr.find(w("del")) is not None


def _pstyle(p: etree._Element) -> str | None:
    node = p.find(f"{w('pPr')}/{w('pStyle')}")
    return node.get(VAL) if node is not None else None


def _symbol_font(rpr: etree._Element | None) -> str | None:
    if rpr is None:
        return None
    fonts = rpr.find(w("rFonts"))
    if fonts is None:
        return None
    for attr in ("ascii", "hAnsi", "cs", "eastAsia"):
        name = (fonts.get(w(attr)) or "").strip().lower()
        if name in PICTURE_FONTS:
            return name
    return None


def _sym(sym: etree._Element) -> str:
    """``w:sym`` (17.3.3.30): a character code in a named font."""
    try:
        code = int(sym.get(w("char"), ""), 16)
    except ValueError:
        return ""
    if not 0 <= code <= 0x10FFFF:
        return ""
    return symbol_char(sym.get(w("font"), ""), code)


def _shaded(shd: etree._Element | None) -> bool:
    if shd is None:
        return False
    fill = (shd.get(w("fill")) or "auto").lower()
    pattern = (shd.get(VAL) or "clear").lower()
    return fill not in ("auto", "ffffff", "none", "") or pattern not in ("clear", "nil", "none")


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default
