"""Build filled-in Word forms from a form schema, the ways referrers fill them.

`filled_docx(schema, answers, style)` returns the bytes of a DOCX laid out
like the partnership's published form (``../shared/forms/*.docx``: a
Heading 2 per section, a two-column table of shaded label cells and answer
cells, options as ``☐`` in MS Gothic, yes/no inline as ``☐ Yes   ☐ No``),
filled in the way ``style`` names.  ``answers`` is ``{field key: text, or
option keys}`` (a choice or yes/no is one key or a one-item list; checks a
list); a key that is absent or blank is left unanswered.  All XML is written
the way Word itself stores it: check-box content controls with
``w14:checkbox``, legacy fields as ``w:fldChar`` begin/separate/end with
``w:ffData``, tracked changes as ``w:ins``/``w:del``, symbols as ``w:sym``.

`random_answers(schema, seed)` makes a complete, valid, fictional set of
answers: names from short lists, consistent dates, telephone numbers in
Ofcom's drama ranges, NHS numbers in the 999 test range with a valid check
digit.

Styles (`STYLES`):

========================  ===================================================
``typed``                 answers typed into the cells, ``☒`` replacing ``☐``
``ballot_check``          ``☑`` instead of ``☒``
``x_for_box``             the box deleted and an ``X`` typed in its place
``x_after``               ``☐ Male X``: the box left, an X typed after
``yes_beside``            ``☐ Male – yes``
``kept_boxes``            the options not chosen deleted, the box left empty
``deleted_options``       the options not chosen deleted, boxes too
``struck_out``            the options not chosen struck through ("delete as
                          appropriate"), every box left empty
``tick_column``           the question across the table, an option a row,
                          an X or ✓ typed in the cell beside the chosen ones
``bold_choice``           every box empty, the chosen option in bold
``highlight_choice``      every box empty, the chosen option highlighted
``content_controls``      check-box, plain-text, rich-text, drop-down and
                          date content controls; empty ones show placeholders
``legacy_fields``         FORMTEXT, FORMCHECKBOX and FORMDROPDOWN fields
``wingdings``             boxes inserted as Wingdings / Wingdings 2 symbols
``paragraphs``            no tables: "Label: value", "Label:" with the value
                          on the line under it, and question-then-answer
                          paragraphs under headings
``reordered``             sections and rows shuffled, extra rows added
``other_wording``         another partnership's wording (schema aliases)
``merged_layout``         one table: section rows across the table, label
                          over answer rows, 4-column rows, a merged label,
                          an option grid nested in a cell, a header row
``line_breaks``           multi-line answers with ``w:br``, not paragraphs
``tracked_changes``       answers left as tracked insertions and deletions
``word_noise``            text split into runs at odd places, with revision
                          ids, proofing marks, bookmarks and page-break marks
``bullet_boxes``          options as a bulleted list whose bullet is a
                          Wingdings box; the chosen ones' bullet a ticked box
``typed_answer``          yes/no and short choices: every box left empty and
                          the answer typed beside or under them ("No", "YES")
========================  ===================================================
"""

from __future__ import annotations

import io
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from xml.sax.saxutils import escape, quoteattr

import docx
from docx.document import Document as DocxDocument
from docx.oxml import parse_xml

from parsers.schema import FieldSpec, FormSchema, OptionSpec

Answers = Mapping[str, "str | Sequence[str]"]

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
W14_NS = "http://schemas.microsoft.com/office/word/2010/wordml"
MC_NS = "http://schemas.openxmlformats.org/markup-compatibility/2006"
NS = f'xmlns:w="{W_NS}" xmlns:w14="{W14_NS}" xmlns:mc="{MC_NS}"'
LABEL_FILL = "DCE6F1"
SECTION_FILL = "1F3A60"
BOX_FONT = "MS Gothic"
EMPTY, TICKED, CHECK = "☐", "☒", "☑"
PLACEHOLDER = "Click or tap here to enter text."
AUTHOR = "A. Practitioner"

STYLES = (
    "typed",
    "ballot_check",
    "x_for_box",
    "x_after",
    "yes_beside",
    "kept_boxes",
    "deleted_options",
    "struck_out",
    "tick_column",
    "bold_choice",
    "highlight_choice",
    "content_controls",
    "legacy_fields",
    "wingdings",
    "paragraphs",
    "reordered",
    "other_wording",
    "merged_layout",
    "line_breaks",
    "tracked_changes",
    "word_noise",
    "bullet_boxes",
    "typed_answer",
)

PARTNERSHIP = "Warrington Safeguarding Partnership"
OTHER_PARTNERSHIPS = (
    "Sankey Valley Children's Safeguarding Partnership",
    "Mersey Vale Safeguarding Children Partnership",
    "Northwich and District Safeguarding Partnership",
)
SHORT_TYPES = ("text", "date", "phone", "email")


# -- XML pieces, as Word writes them --------------------------------------------
def run(
    text: str,
    *,
    bold: bool = False,
    highlight: str | None = None,
    font: str | None = None,
    underline: bool = False,
    style: str | None = None,
    strike: bool = False,
) -> str:
    props = []
    if style:
        props.append(f'<w:rStyle w:val="{style}"/>')
    if font:
        props.append(f'<w:rFonts w:ascii="{font}" w:hAnsi="{font}" w:eastAsia="{font}"/>')
    if bold:
        props.append("<w:b/>")
    if strike:
        props.append("<w:strike/>")
    if underline:
        props.append('<w:u w:val="single"/>')
    if highlight:
        props.append(f'<w:highlight w:val="{highlight}"/>')
    rpr = f"<w:rPr>{''.join(props)}</w:rPr>" if props else ""
    return f'<w:r>{rpr}<w:t xml:space="preserve">{escape(text)}</w:t></w:r>'


def del_run(text: str, font: str | None = None) -> str:
    """A run inside ``w:del``: its text is ``w:delText`` (17.13.5.14)."""
    return run(text, font=font).replace("<w:t ", "<w:delText ").replace("</w:t>", "</w:delText>")


def box_run(glyph: str) -> str:
    return run(glyph, font=BOX_FONT)


def sym_run(font: str, char: str) -> str:
    return f'<w:r><w:sym w:font="{font}" w:char="{char}"/></w:r>'


def br_run() -> str:
    return "<w:r><w:br/></w:r>"


def para(runs: str, style: str | None = None) -> str:
    ppr = f'<w:pPr><w:pStyle w:val="{style}"/></w:pPr>' if style else ""
    return f"<w:p>{ppr}{runs}</w:p>"


def cell(
    paras: str,
    width: int,
    *,
    fill: str | None = None,
    span: int = 1,
    vmerge: str | None = None,
) -> str:
    props = [f'<w:tcW w:type="dxa" w:w="{width}"/>']
    if span > 1:
        props.append(f'<w:gridSpan w:val="{span}"/>')
    if vmerge == "restart":
        props.append('<w:vMerge w:val="restart"/>')
    elif vmerge == "continue":
        props.append("<w:vMerge/>")
    if fill:
        props.append(f'<w:shd w:val="clear" w:color="auto" w:fill="{fill}"/>')
    return f"<w:tc><w:tcPr>{''.join(props)}</w:tcPr>{paras or '<w:p/>'}</w:tc>"


def table(rows: Sequence[str], widths: Sequence[int]) -> str:
    grid = "".join(f'<w:gridCol w:w="{w}"/>' for w in widths)
    props = (
        '<w:tblPr><w:tblStyle w:val="TableGrid"/><w:tblW w:type="auto" w:w="0"/>'
        '<w:tblLayout w:type="fixed"/></w:tblPr>'
    )
    body = "".join(f"<w:tr>{r}</w:tr>" for r in rows)
    return f"<w:tbl>{props}<w:tblGrid>{grid}</w:tblGrid>{body}</w:tbl>"


@dataclass
class _Ids:
    """Ids Word numbers content controls, bookmarks and revisions with."""

    next_id: int = 100
    checks: int = 0
    texts: int = 0
    drops: int = 0

    def take(self) -> int:
        self.next_id += 1
        return self.next_id


# -- a field's answer, in one style -----------------------------------------------
@dataclass
class _Writer:
    schema: FormSchema
    answers: Answers
    style: str
    rng: random.Random
    ids: _Ids = field(default_factory=_Ids)

    # text answers ---------------------------------------------------------------
    def text_paras(self, spec: FieldSpec) -> str:
        """The answer cell's paragraphs for a text, date, phone, email or multiline field."""
        value = _text(self.answers.get(spec.key))
        if self.style == "content_controls":
            return self._text_control(spec, value)
        if self.style == "legacy_fields":
            return para(self._formtext(spec, value))
        if not value:
            return "<w:p/>"
        lines = value.split("\n")
        if self.style == "tracked_changes":
            return self._tracked_text(lines)
        if self.style in ("line_breaks", "merged_layout") and len(lines) > 1:
            return para(br_run().join(run(line) for line in lines))
        if self.style == "word_noise":
            return "".join(para(self.noisy(line)) for line in lines)
        return "".join(para(run(line)) for line in lines)

    def noisy(self, text: str) -> str:
        """Text as Word stores it after editing: split into runs at odd places,
        with revision ids, proofing marks, bookmarks and a rendered page break."""
        cuts = sorted(self.rng.sample(range(1, len(text)), k=min(3, len(text) - 1)))
        parts = [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)]
        out = []
        for i, part in enumerate(parts):
            rsid = f"00{self.rng.randrange(16**6):06X}"
            piece = run(part).replace("<w:r>", f'<w:r w:rsidR="{rsid}" w:rsidRPr="{rsid}">', 1)
            noise = self.rng.choice(
                (
                    '<w:proofErr w:type="spellStart"/>',
                    '<w:proofErr w:type="spellEnd"/>',
                    f'<w:bookmarkStart w:id="{self.ids.take()}" w:name="_GoBack"/>',
                    "<w:r><w:lastRenderedPageBreak/></w:r>",
                    "",
                )
            )
            out.append(piece if i == 0 else noise + piece)
        return "".join(out)

    def _tracked_text(self, lines: list[str]) -> str:
        out = []
        for i, line in enumerate(lines):
            removed = ""
            if i == 0 and self.rng.random() < 0.5:
                removed = self._deleted(del_run("to follow"))
            out.append(para(removed + self._inserted(run(line))))
        return "".join(out)

    def _inserted(self, runs: str) -> str:
        return (
            f'<w:ins w:id="{self.ids.take()}" w:author="{AUTHOR}" '
            f'w:date="2026-01-20T10:00:00Z">{runs}</w:ins>'
        )

    def _deleted(self, runs: str) -> str:
        return (
            f'<w:del w:id="{self.ids.take()}" w:author="{AUTHOR}" '
            f'w:date="2026-01-20T10:00:00Z">{runs}</w:del>'
        )

    def _text_control(self, spec: FieldSpec, value: str) -> str:
        sid = self.ids.take()
        names = f'<w:alias w:val={quoteattr(spec.question)}/><w:tag w:val="{spec.key}"/>'
        if not value:
            shown = run(PLACEHOLDER, style="PlaceholderText")
            props = f'{names}<w:id w:val="{sid}"/><w:showingPlcHdr/><w:text/>'
            return para(
                f"<w:sdt><w:sdtPr>{props}</w:sdtPr><w:sdtContent>{shown}</w:sdtContent></w:sdt>"
            )
        if spec.type == "multiline":
            paras = "".join(para(run(line)) for line in value.split("\n"))
            props = f'{names}<w:id w:val="{sid}"/>'  # a rich-text control, block level
            return f"<w:sdt><w:sdtPr>{props}</w:sdtPr><w:sdtContent>{paras}</w:sdtContent></w:sdt>"
        kind = "<w:text/>"
        if spec.type == "date":
            kind = (
                '<w:date><w:dateFormat w:val="dd/MM/yyyy"/><w:lid w:val="en-GB"/>'
                '<w:storeMappedDataAs w:val="dateTime"/><w:calendar w:val="gregorian"/></w:date>'
            )
        props = f'{names}<w:id w:val="{sid}"/>{kind}'
        return para(
            f"<w:sdt><w:sdtPr>{props}</w:sdtPr><w:sdtContent>{run(value)}</w:sdtContent></w:sdt>"
        )

    def _formtext(self, spec: FieldSpec, value: str) -> str:
        self.ids.texts += 1
        name = spec.key if len(spec.key) <= 20 else f"Text{self.ids.texts}"
        bid = self.ids.take()
        result = (
            br_run().join(run(line) for line in value.split("\n")) if value else run("\u2002" * 5)
        )
        ffdata = (
            f'<w:ffData><w:name w:val="{name}"/><w:enabled/><w:calcOnExit w:val="0"/>'
            "<w:textInput/></w:ffData>"
        )
        return (
            f'<w:bookmarkStart w:id="{bid}" w:name="{name}"/>'
            f'<w:r><w:fldChar w:fldCharType="begin">{ffdata}</w:fldChar></w:r>'
            '<w:r><w:instrText xml:space="preserve"> FORMTEXT </w:instrText></w:r>'
            '<w:r><w:fldChar w:fldCharType="separate"/></w:r>'
            f'{result}<w:r><w:fldChar w:fldCharType="end"/></w:r><w:bookmarkEnd w:id="{bid}"/>'
        )

    # option answers ---------------------------------------------------------------
    def option_paras(self, spec: FieldSpec) -> str:
        chosen = _chosen(self.answers.get(spec.key))
        if self.style == "legacy_fields" and spec.type == "choice" and len(spec.options) > 2:
            return para(self._formdropdown(spec, chosen))
        if self.style == "content_controls" and spec.type == "choice" and len(spec.options) > 2:
            return para(self._dropdown_control(spec, chosen))
        options = list(spec.options)
        if self.style == "typed_answer" and spec.type in ("yesno", "choice") and len(options) <= 4:
            return self._typed_answer(spec, chosen)
        if self.style == "bullet_boxes":
            return "".join(bullet_para(o.label, o.key in chosen) for o in options)
        if self.style in ("kept_boxes", "deleted_options") and chosen:
            options = [o for o in options if o.key in chosen]
        pieces = [self._option(o, o.key in chosen) for o in options]
        if spec.type == "yesno" and self.style not in ("paragraphs", "deleted_options"):
            return para(run("   ").join(pieces))  # "☐ Yes   ☐ No", as published
        return "".join(para(p) for p in pieces)

    def _typed_answer(self, spec: FieldSpec, chosen: list[str]) -> str:
        """Every box empty; the chosen option's name typed beside the boxes or under them."""
        boxes = run("   ").join(box_run(EMPTY) + run(f" {o.label}") for o in spec.options)
        if not chosen:
            return para(boxes)
        label = spec.option(chosen[0]).label  # type: ignore[union-attr]
        typed = self.rng.choice((label, label.upper(), label.lower()))
        if self.rng.random() < 0.5:
            return para(boxes + run(f"    {typed}"))
        return para(boxes) + para(run(typed))

    def _option(self, option: OptionSpec, chosen: bool) -> str:
        label = option.label
        maker = _OPTION_STYLES.get(self.style, _ticked_box)
        return maker(self, label, chosen)

    def mark(self, chosen: bool) -> str:
        """The box itself, in the style's way of storing it."""
        if self.style == "content_controls":
            return self._checkbox_control(chosen)
        if self.style == "legacy_fields":
            return self._formcheckbox(chosen)
        if self.style == "wingdings":
            if self.rng.random() < 0.5:
                return sym_run("Wingdings", "F0FE" if chosen else "F0A8")
            return sym_run("Wingdings 2", "F054" if chosen else "F0A3")
        if self.style == "tracked_changes" and chosen:
            return self._deleted(del_run(EMPTY, BOX_FONT)) + self._inserted(box_run(TICKED))
        if self.style == "ballot_check":
            return box_run(CHECK if chosen else EMPTY)
        return box_run(TICKED if chosen else EMPTY)

    def _checkbox_control(self, chosen: bool) -> str:
        state = (
            f'<w14:checkbox><w14:checked w14:val="{1 if chosen else 0}"/>'
            f'<w14:checkedState w14:val="2612" w14:font="{BOX_FONT}"/>'
            f'<w14:uncheckedState w14:val="2610" w14:font="{BOX_FONT}"/></w14:checkbox>'
        )
        shown = box_run(TICKED if chosen else EMPTY)
        return (
            f'<w:sdt><w:sdtPr><w:id w:val="{self.ids.take()}"/>{state}</w:sdtPr>'
            f"<w:sdtContent>{shown}</w:sdtContent></w:sdt>"
        )

    def _formcheckbox(self, chosen: bool) -> str:
        self.ids.checks += 1
        checked = "<w:checked/>" if chosen else ""
        ffdata = (
            f'<w:ffData><w:name w:val="Check{self.ids.checks}"/><w:enabled/>'
            f'<w:calcOnExit w:val="0"/><w:checkBox><w:sizeAuto/><w:default w:val="0"/>'
            f"{checked}</w:checkBox></w:ffData>"
        )
        return (
            f'<w:r><w:fldChar w:fldCharType="begin">{ffdata}</w:fldChar></w:r>'
            '<w:r><w:instrText xml:space="preserve"> FORMCHECKBOX </w:instrText></w:r>'
            '<w:r><w:fldChar w:fldCharType="end"/></w:r>'
        )

    def _formdropdown(self, spec: FieldSpec, chosen: list[str]) -> str:
        self.ids.drops += 1
        labels = [" "] + [o.label for o in spec.options]  # Word's forms start with a blank
        keys = [o.key for o in spec.options]
        index = keys.index(chosen[0]) + 1 if chosen and chosen[0] in keys else 0
        entries = "".join(f"<w:listEntry w:val={quoteattr(label)}/>" for label in labels)
        ffdata = (
            f'<w:ffData><w:name w:val="Dropdown{self.ids.drops}"/><w:enabled/>'
            f'<w:calcOnExit w:val="0"/><w:ddList><w:result w:val="{index}"/>{entries}'
            "</w:ddList></w:ffData>"
        )
        return (
            f'<w:r><w:fldChar w:fldCharType="begin">{ffdata}</w:fldChar></w:r>'
            '<w:r><w:instrText xml:space="preserve"> FORMDROPDOWN </w:instrText></w:r>'
            '<w:r><w:fldChar w:fldCharType="separate"/></w:r>'
            '<w:r><w:fldChar w:fldCharType="end"/></w:r>'
        )

    def _dropdown_control(self, spec: FieldSpec, chosen: list[str]) -> str:
        items = '<w:listItem w:displayText="Choose an item." w:value=""/>' + "".join(
            f"<w:listItem w:displayText={quoteattr(o.label)} w:value={quoteattr(o.key)}/>"
            for o in spec.options
        )
        names = f'<w:alias w:val={quoteattr(spec.question)}/><w:tag w:val="{spec.key}"/>'
        option = spec.option(chosen[0]) if chosen else None
        if option is None:
            props = f'{names}<w:id w:val="{self.ids.take()}"/><w:showingPlcHdr/>'
            shown = run("Choose an item.", style="PlaceholderText")
        else:
            props = f'{names}<w:id w:val="{self.ids.take()}"/>'
            shown = run(option.label)
        return (
            f"<w:sdt><w:sdtPr>{props}<w:dropDownList>{items}</w:dropDownList></w:sdtPr>"
            f"<w:sdtContent>{shown}</w:sdtContent></w:sdt>"
        )


def _ticked_box(w: _Writer, label: str, chosen: bool) -> str:
    if w.style == "word_noise":
        return w.mark(chosen) + w.noisy(f" {label}")
    return w.mark(chosen) + run(f" {label}")


def _x_for_box(w: _Writer, label: str, chosen: bool) -> str:
    return run(f"X {label}") if chosen else box_run(EMPTY) + run(f" {label}")


def _x_after(w: _Writer, label: str, chosen: bool) -> str:
    return box_run(EMPTY) + run(f" {label}" + (" X" if chosen else ""))


def _yes_beside(w: _Writer, label: str, chosen: bool) -> str:
    return box_run(EMPTY) + run(f" {label}" + (" – yes" if chosen else ""))


def _kept_box(w: _Writer, label: str, chosen: bool) -> str:
    return box_run(EMPTY) + run(f" {label}")


def _no_box(w: _Writer, label: str, chosen: bool) -> str:
    return run(label)


def _struck(w: _Writer, label: str, chosen: bool) -> str:
    if chosen:
        return box_run(EMPTY) + run(f" {label}")
    return run(EMPTY, font=BOX_FONT, strike=True) + run(f" {label}", strike=True)


def _bold(w: _Writer, label: str, chosen: bool) -> str:
    return box_run(EMPTY) + run(" ") + run(label, bold=chosen)


def _highlight(w: _Writer, label: str, chosen: bool) -> str:
    return box_run(EMPTY) + run(" ") + run(label, highlight="yellow" if chosen else None)


_OPTION_STYLES: dict[str, Callable[[_Writer, str, bool], str]] = {
    "x_for_box": _x_for_box,
    "x_after": _x_after,
    "yes_beside": _yes_beside,
    "kept_boxes": _kept_box,
    "deleted_options": _no_box,
    "struck_out": _struck,
    "bold_choice": _bold,
    "highlight_choice": _highlight,
}


def _text(value: str | Sequence[str] | None) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    return "\n".join(value).strip()


def _chosen(value: str | Sequence[str] | None) -> list[str]:
    if value is None or value == "":
        return []
    return [value] if isinstance(value, str) else list(value)


# -- the form ------------------------------------------------------------------
@dataclass
class _Section:
    title: str
    fields: list[FieldSpec]


def filled_docx(
    schema: FormSchema,
    answers: Answers,
    style: str = "typed",
    seed: int = 0,
    banner: str = PARTNERSHIP,
) -> bytes:
    """A DOCX of ``schema``'s form filled with ``answers`` in ``style``, under
    ``banner`` (the publisher's name over the title)."""
    if style not in STYLES:
        raise ValueError(f"unknown style {style!r}; one of {', '.join(STYLES)}")
    rng = random.Random(f"{schema.form_type}:{style}:{seed}")
    writer = _Writer(schema, answers, style, rng)
    blocks = _title_blocks(schema, style, rng, banner)
    sections = _sections(schema, style, rng)
    if style == "paragraphs":
        blocks += _paragraph_blocks(writer, sections)
    elif style == "merged_layout":
        blocks += _merged_blocks(writer, sections)
    else:
        blocks += _table_blocks(writer, sections)
    blocks.append(para(run("Please send the completed form by secure email to the partnership.")))
    numbering = box_bullet_numbering() if style == "bullet_boxes" else []
    return docx_from_body(blocks, numbering)


def docx_from_body(blocks: Sequence[str], numbering: Sequence[str] = ()) -> bytes:
    """A DOCX (python-docx's default styles) whose body is ``blocks`` of WordprocessingML.

    The fragments use the ``w:`` and ``w14:`` prefixes without declaring them.
    ``numbering`` adds ``w:abstractNum`` and ``w:num`` definitions to
    ``word/numbering.xml``.
    """
    document = docx.Document()
    if numbering:
        _add_numbering(document, numbering)
    body = document.element.body
    end = body.find(f"{{{W_NS}}}sectPr")
    for element in parse_xml(f"<w:body {NS}>{''.join(blocks)}</w:body>"):
        if end is not None:
            end.addprevious(element)
        else:
            body.append(element)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _add_numbering(document: DocxDocument, definitions: Sequence[str]) -> None:
    root = document.part.numbering_part.element
    first_num = root.find(f"{{{W_NS}}}num")
    for element in parse_xml(f"<w:numbering {NS}>{''.join(definitions)}</w:numbering>"):
        if element.tag == f"{{{W_NS}}}abstractNum" and first_num is not None:
            first_num.addprevious(element)  # every abstractNum before the nums (17.9.20)
        else:
            root.append(element)


# List bullets that are boxes: Wingdings U+F0A8 (◻) and U+F0FE (☑), as Word stores them.
BOX_BULLETS = {EMPTY: ("901", "\uf0a8"), TICKED: ("902", "\uf0fe")}


def box_bullet_numbering() -> list[str]:
    """Two bullet lists for `bullet_para`: one with an empty box, one ticked."""
    out = []
    for num_id, char in BOX_BULLETS.values():
        lvl = (
            '<w:lvl w:ilvl="0"><w:start w:val="1"/><w:numFmt w:val="bullet"/>'
            f'<w:lvlText w:val="{char}"/><w:lvlJc w:val="left"/>'
            '<w:pPr><w:ind w:left="360" w:hanging="360"/></w:pPr>'
            '<w:rPr><w:rFonts w:ascii="Wingdings" w:hAnsi="Wingdings" w:hint="default"/></w:rPr>'
            "</w:lvl>"
        )
        out.append(
            f'<w:abstractNum w:abstractNumId="{num_id}">'
            f'<w:multiLevelType w:val="hybridMultilevel"/>{lvl}</w:abstractNum>'
        )
        out.append(f'<w:num w:numId="{num_id}"><w:abstractNumId w:val="{num_id}"/></w:num>')
    return out


def bullet_para(text: str, ticked: bool) -> str:
    """A list paragraph whose bullet is a box (ticked or not)."""
    num_id = BOX_BULLETS[TICKED if ticked else EMPTY][0]
    props = (
        '<w:pPr><w:pStyle w:val="ListParagraph"/>'
        f'<w:numPr><w:ilvl w:val="0"/><w:numId w:val="{num_id}"/></w:numPr></w:pPr>'
    )
    return f"<w:p>{props}{run(text)}</w:p>"


def _title_blocks(schema: FormSchema, style: str, rng: random.Random, banner: str) -> list[str]:
    if style == "other_wording":
        names = [rng.choice(OTHER_PARTNERSHIPS), rng.choice(schema.identifiers)]
    else:
        names = [banner, schema.title]
    return [
        para(run(names[0], bold=True)),
        para(run(names[1], bold=True)),
        para(run("OFFICIAL-SENSITIVE when completed", bold=True)),
        para(run("Type your answers in the right-hand boxes and tick the boxes that apply.")),
    ]


def _sections(schema: FormSchema, style: str, rng: random.Random) -> list[_Section]:
    out: list[_Section] = []
    for n, spec in enumerate(schema.sections, start=1):
        fields = [f for f in schema.fields if f.section == spec.key]
        title = f"{n}. {spec.title}" if spec.title else ""
        if style == "other_wording" and spec.aliases:
            title = f"Section {chr(64 + n)} – {rng.choice(spec.aliases)}"
        out.append(_Section(title, fields))
    if style == "reordered":
        rng.shuffle(out)
        for section in out:
            rng.shuffle(section.fields)
    return out


def label_of(spec: FieldSpec, style: str, rng: random.Random) -> str:
    """The question as printed: the schema's wording, or an alias in ``other_wording``."""
    if style != "other_wording":
        return spec.question
    label = rng.choice(spec.aliases) if spec.aliases and rng.random() < 0.7 else spec.question
    if rng.random() < 0.3 and not label.endswith(("?", ")")):
        label += ":"  # many forms print a colon after each label
    return label


def _answer(writer: _Writer, spec: FieldSpec) -> str:
    if spec.options:
        return writer.option_paras(spec)
    return writer.text_paras(spec)


def _table_blocks(writer: _Writer, sections: list[_Section]) -> list[str]:
    blocks = []
    for i, section in enumerate(sections):
        rows = []
        if writer.style == "reordered" and i == 0:
            rows.append(_label_row("For office use: Ref No", "<w:p/>"))
        for spec in section.fields:
            label = label_of(spec, writer.style, writer.rng)
            if writer.style == "tick_column" and spec.options:
                rows.extend(_tick_column_rows(writer, spec, label))
            else:
                rows.append(_label_row(label, _answer(writer, spec)))
        if writer.style == "reordered" and i == len(sections) // 2:
            rows.append(_label_row("Preferred method of contact", para(run("Email"))))
        if section.title:
            blocks.append(para(run(section.title), style="Heading2"))
        blocks.append(table(rows, (3572, 6066)))
    return blocks


def _tick_column_rows(writer: _Writer, spec: FieldSpec, label: str) -> list[str]:
    """The question across the table, then an option a row with a cell to tick."""
    chosen = _chosen(writer.answers.get(spec.key))
    rows = [cell(para(run(label)), 9638, fill=LABEL_FILL, span=2)]
    for option in spec.options:
        mark = writer.rng.choice(("X", "✓", "x")) if option.key in chosen else ""
        rows.append(cell(para(run(option.label)), 3572) + cell(para(run(mark)), 6066))
    return rows


def _label_row(label: str, answer: str) -> str:
    return cell(para(run(label)), 3572, fill=LABEL_FILL) + cell(answer, 6066)


def _paragraph_blocks(writer: _Writer, sections: list[_Section]) -> list[str]:
    blocks = []
    for section in sections:
        if section.title:
            blocks.append(para(run(section.title), style="Heading2"))
        for spec in section.fields:
            label = label_of(spec, writer.style, writer.rng)
            value = _text(writer.answers.get(spec.key))
            if spec.options or spec.type == "multiline":
                blocks.append(para(run(label, bold=True)))
                blocks.append(_answer(writer, spec))
            elif writer.rng.random() < 0.3:
                # "Job title:", and the answer typed on the line under it.
                blocks.append(para(run(f"{label}:", bold=True)))
                if value:
                    blocks.append(para(run(value)))
            else:
                blocks.append(para(run(f"{label}: ", bold=True) + run(value)))
    return blocks


# merged layout: one table on a four-column grid ---------------------------------------
GRID4 = (2000, 2800, 2000, 2838)
FULL = sum(GRID4)


def _merged_blocks(writer: _Writer, sections: list[_Section]) -> list[str]:
    header = cell(para(run("Question", bold=True)), GRID4[0], fill=LABEL_FILL)
    header += cell(para(run("Answer", bold=True)), FULL - GRID4[0], fill=LABEL_FILL, span=3)
    rows = [header]
    nested_done = False
    for section in sections:
        if section.title:
            rows.append(cell(para(run(section.title, bold=True)), FULL, fill=LABEL_FILL, span=4))
        fields = list(section.fields)
        while fields:
            spec = fields.pop(0)
            label = label_of(spec, writer.style, writer.rng)
            if fields and _pairable(spec) and _pairable(fields[0]):
                other = fields.pop(0)
                rows.append(_four_cells(writer, spec, label, other))
            elif spec.type == "checks" and not nested_done:
                nested_done = True
                rows.append(
                    _wide_label(label) + cell(_option_grid(writer, spec), FULL - GRID4[0], span=3)
                )
            elif spec.key.endswith("address"):
                rows.extend(_merged_label_rows(writer, spec, label))
            elif spec.type == "multiline":
                rows.append(cell(para(run(label)), FULL, fill=LABEL_FILL, span=4))
                rows.append(cell(_answer(writer, spec), FULL, span=4))
            else:
                rows.append(
                    _wide_label(label) + cell(_answer(writer, spec), FULL - GRID4[0], span=3)
                )
    return [table(rows, GRID4)]


def _pairable(spec: FieldSpec) -> bool:
    return spec.type in SHORT_TYPES and not spec.options


def _wide_label(label: str) -> str:
    return cell(para(run(label)), GRID4[0], fill=LABEL_FILL)


def _four_cells(writer: _Writer, spec: FieldSpec, label: str, other: FieldSpec) -> str:
    other_label = label_of(other, writer.style, writer.rng)
    return (
        cell(para(run(label)), GRID4[0], fill=LABEL_FILL)
        + cell(_answer(writer, spec), GRID4[1])
        + cell(para(run(other_label)), GRID4[2], fill=LABEL_FILL)
        + cell(_answer(writer, other), GRID4[3])
    )


def _merged_label_rows(writer: _Writer, spec: FieldSpec, label: str) -> list[str]:
    """An address over two rows whose label cells are merged vertically."""
    lines = _text(writer.answers.get(spec.key)).split("\n")
    half = (len(lines) + 1) // 2
    first = "".join(para(run(line)) for line in lines[:half] if line)
    second = "".join(para(run(line)) for line in lines[half:] if line)
    top = cell(para(run(label)), GRID4[0], fill=LABEL_FILL, vmerge="restart")
    below = cell("<w:p/>", GRID4[0], fill=LABEL_FILL, vmerge="continue")
    return [
        top + cell(first, FULL - GRID4[0], span=3),
        below + cell(second, FULL - GRID4[0], span=3),
    ]


def _option_grid(writer: _Writer, spec: FieldSpec) -> str:
    """Options in a nested table: a box cell and a label cell a row."""
    chosen = _chosen(writer.answers.get(spec.key))
    rows = [
        cell(para(box_run(TICKED if o.key in chosen else EMPTY)), 500)
        + cell(para(run(o.label)), 5000)
        for o in spec.options
    ]
    return table(rows, (500, 5000)) + "<w:p/>"  # a cell must end with a paragraph


# -- random, valid, fictional answers -------------------------------------------------
FORENAMES = (
    "Amelia", "Oliver", "Isla", "Noah", "Freya", "Leo", "Poppy", "Arthur", "Ivy", "Theo",
    "Rosie", "Alfie", "Maisie", "Harvey", "Elsie", "Reuben", "Nia", "Kai", "Zara", "Ezra",
)  # fmt: skip
SURNAMES = (
    "Ashworth", "Brindley", "Calloway", "Dunmore", "Eastwood", "Fairclough", "Garside",
    "Halewood", "Ingleby", "Jessop", "Kershaw", "Lomax", "Marland", "Nuttall", "Ormerod",
    "Pennington", "Quayle", "Rushton", "Sowerby", "Tattersall",
)  # fmt: skip
ROLES = (
    "Social Worker", "Designated Safeguarding Lead", "Named Nurse for Safeguarding",
    "Detective Sergeant", "Health Visitor", "Team Manager", "Head of Service",
)  # fmt: skip
AGENCIES = (
    ("Warrington Borough Council – Children's Social Care", "wbc-csc.example.org"),
    ("Bridgewater Community Healthcare NHS Foundation Trust", "bch-nhs.example.org"),
    ("Cheshire Constabulary", "cheshire-police.example.org"),
    ("Orford Park Primary School", "orfordpark.example.org"),
)
STREETS = ("Powell Field", "Randall Drive", "Diana Hill", "Orchard Lane", "Mill View")
PLACES = (("Latchford", "WA4"), ("Birchwood", "WA3"), ("Poulton", "WA2"), ("Great Sankey", "WA5"))
SENTENCES = (
    "The child was taken to hospital by ambulance after a call from a neighbour.",
    "Injuries were noted that were not consistent with the account given.",
    "Agencies had raised concerns about neglect over several months.",
    "A strategy meeting was held the next working day.",
    "Information held by one agency was not shared with the others.",
    "The family had moved between local authorities during the year.",
    "School attendance had fallen sharply before the incident.",
)
# Ofcom's numbers reserved for drama (never allocated): geographic and mobile.
DRAMA_PHONES = (
    ("0113 496 0", 3), ("0114 496 0", 3), ("0115 496 0", 3), ("0116 496 0", 3),
    ("0117 496 0", 3), ("0118 496 0", 3), ("0121 496 0", 3), ("0131 496 0", 3),
    ("0141 496 0", 3), ("0151 496 0", 3), ("0161 496 0", 3), ("020 7946 0", 3),
    ("01632 960", 3), ("07700 900", 3),
)  # fmt: skip
DATE_FORMATS = ("%d/%m/%Y", "%d.%m.%Y", "{day} %B %Y", "%d/%m/%y")


def nhs_number(rng: random.Random) -> str:
    """A 10-digit number in the 999 test range with a valid modulus 11 check digit."""
    while True:
        digits = [9, 9, 9] + [rng.randrange(10) for _ in range(6)]
        total = sum(d * (10 - i) for i, d in enumerate(digits))
        check = 11 - total % 11
        if check == 11:
            check = 0
        if check != 10:
            number = "".join(map(str, digits)) + str(check)
            return f"{number[:3]} {number[3:6]} {number[6:]}" if rng.random() < 0.5 else number


def drama_phone(rng: random.Random) -> str:
    prefix, width = rng.choice(DRAMA_PHONES)
    return prefix + str(rng.randrange(10**width)).zfill(width)


def uk_date(day: date, rng: random.Random) -> str:
    pattern = rng.choice(DATE_FORMATS).replace("{day}", str(day.day))
    return day.strftime(pattern)


def random_answers(schema: FormSchema, seed: int) -> dict[str, str | list[str]]:
    """A complete, valid, fictional set of answers for ``schema``'s form."""
    rng = random.Random(seed)
    people = _People(rng)
    dates = _dates(rng)
    answers: dict[str, str | list[str]] = {}
    for spec in schema.fields:
        value = _value(spec, rng, people, dates)
        optional = not spec.required and not spec.required_unless and not spec.required_if
        if optional and rng.random() < 0.3:
            continue
        if value:
            answers[spec.key] = value
    _conditions(schema, answers, rng, dates)
    return answers


@dataclass
class _People:
    rng: random.Random
    made: dict[str, tuple[str, str, str, str]] = field(default_factory=dict)

    def person(self, who: str) -> tuple[str, str, str, str]:
        """(full name, role, agency, email) for the referrer, the lead, the notifier."""
        if who not in self.made:
            first, last = self.rng.choice(FORENAMES), self.rng.choice(SURNAMES)
            agency, domain = self.rng.choice(AGENCIES)
            email = f"{first.lower()}.{last.lower()}@{domain}"
            self.made[who] = (f"{first} {last}", self.rng.choice(ROLES), agency, email)
        return self.made[who]


def _dates(rng: random.Random) -> dict[str, date]:
    incident = date(2026, 1, 5) + timedelta(days=rng.randrange(300))
    aware = incident + timedelta(days=rng.randrange(3))
    referral = aware + timedelta(days=1 + rng.randrange(8))
    return {
        "incident": incident,
        "aware": aware,
        "referral": referral,
        "notified": aware + timedelta(days=1 + rng.randrange(4)),
        "dob": incident - timedelta(days=200 + rng.randrange(365 * 16)),
    }


_DATE_KEYS = {
    "incident_date": "incident", "date_became_aware": "aware", "referral_date": "referral",
    "signed_date": "referral", "date_notified": "notified", "sin_date": "notified",
    "child_dob": "dob", "date_of_death": "incident",
}  # fmt: skip


def _value(
    spec: FieldSpec, rng: random.Random, people: _People, dates: dict[str, date]
) -> str | list[str]:
    key = spec.key
    if spec.type in ("choice", "yesno"):
        return [rng.choice(spec.options).key]
    if spec.type == "checks":
        return _ticks(spec, rng)
    if spec.type == "date":
        return uk_date(dates[_DATE_KEYS.get(key, "referral")], rng) if key in _DATE_KEYS else ""
    if spec.type == "phone":
        return drama_phone(rng)
    who = key.split("_")[0]
    if spec.type == "email":
        return people.person(who)[3]
    return _text_value(key, spec.type, rng, people)


def _ticks(spec: FieldSpec, rng: random.Random) -> list[str]:
    keys = [o.key for o in spec.options]
    lone = [k for k in keys if k.startswith(("none", "not_known"))]
    usable = [k for k in keys if k not in lone]
    picked = rng.sample(usable, k=min(len(usable), 1 + rng.randrange(2)))
    return [k for k in keys if k in picked]


def _text_value(key: str, ftype: str, rng: random.Random, people: _People) -> str:
    who = key.split("_")[0]
    if key in ("child_forenames",):
        return rng.choice(FORENAMES)
    if key == "child_surname":
        return rng.choice(SURNAMES)
    if key.endswith("address"):
        place, district = rng.choice(PLACES)
        street = f"{rng.randrange(1, 200)} {rng.choice(STREETS)}"
        letters = "ABDEFGHJLNPQRSTUWXYZ"
        inward = f"{rng.randrange(1, 9)}{rng.choice(letters)}{rng.choice(letters)}"
        return f"{street}\n{place}\nWarrington\n{district} {inward}"
    if key.endswith(("_name", "signed_by")):
        return people.person("referrer" if key == "signed_by" else who)[0]
    if key.endswith(("_role", "_job_title")):
        return people.person(who)[1]
    if key.endswith(("_agency", "notifying_la", "_resident_la")):
        return "Warrington Borough Council" if "la" in key else people.person(who)[2]
    if key == "child_nhs_number":
        return nhs_number(rng)
    if key.endswith("ethnicity"):
        return rng.choice(
            ("White British", "Mixed – White and Asian", "Black British", "White – Polish")
        )
    if key.endswith("location"):
        return rng.choice(
            ("At the family home", "Bridge Street, Warrington", "A friend's flat in Latchford")
        )
    if key.endswith(("reference", "_ref")):
        return str(rng.randrange(10**9, 10**10))
    if key in ("child_other_names", "child_age"):
        return ""
    if ftype == "multiline":
        return "\n".join(rng.sample(SENTENCES, k=2 + rng.randrange(3)))
    return rng.choice(SENTENCES)


def _conditions(
    schema: FormSchema,
    answers: dict[str, str | list[str]],
    rng: random.Random,
    dates: dict[str, date],
) -> None:
    """Questions asked only when another answer says so, answered consistently."""
    for spec in schema.fields:
        condition = spec.required_if
        if condition is None:
            continue
        if _chosen(answers.get(condition.field)) == [condition.equals]:
            if spec.type == "date" and spec.key not in answers:
                answers[spec.key] = uk_date(dates["notified"], rng)
        else:
            answers.pop(spec.key, None)
