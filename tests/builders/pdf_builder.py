"""Build filled-in PDF forms from a form schema, the ways referrers send them.

Every builder takes a `FormSchema` (``parsers.schema``) and the answers as
``{field key: text, or a list of option keys}`` (a choice or yes/no is one
option key; checks are a list) and returns the PDF's bytes.  All people in
the tests are fictional.

* `acroform_pdf` - the fillable form with its fields filled in: text fields,
  radio groups, check boxes named ``<key>__<option>`` with the question as
  tooltip; ``names="meaningless"`` gives ``Text1``/``Check Box7`` names, and
  ``tooltips=False`` drops the tooltips so only the printed labels tell;
  ``box_tooltips="option"`` gives each check box its option's text as
  tooltip, as PDF editors' automatic field detection does;
  ``ruled=False`` draws no table around the fields.
* `flattened_pdf` - the form with the answers drawn on the page:
  ``style="word"`` (saved as PDF from Word: headings as paragraphs, shaded
  label cells, ticks as ZapfDingbats glyphs), ``"printed"`` (a printed
  fillable PDF: heading bands, boxes drawn as squares and circles, ticks as
  ``✔`` glyphs inside them) and ``"norules"`` (no lines or shading at all).
* `typed_over_pdf` - the fillable form left empty, the answers typed over it
  with a viewer's text tool (FreeText annotations), an ``X`` over each box.
* `scanned_pdf` - a page that is only a picture.
* `pdf_from_docx` / `pdfs_from_docx` - LibreOffice's conversion of DOCX
  files (``soffice``; several at once, as it starts slowly).

Layout: A4, a label column of 190 pt and an answer column; long answers
wrap, and a long answer that does not fit carries on to the next page in a
row whose label cell is empty, as Word does.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from reportlab.lib.colors import Color, black, white
from reportlab.lib.pagesizes import A4
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from parsers.schema import FieldSpec, FormSchema

Answers = Mapping[str, "str | Sequence[str]"]

DEJAVU = Path("/usr/share/fonts/truetype/dejavu")
FONT, BOLD = "DejaVuSans", "DejaVuSans-Bold"
LABEL_SHADE = Color(0.86, 0.90, 0.95)
BAND = Color(0.12, 0.23, 0.38)
PAGE_W, PAGE_H = A4
LEFT, RIGHT, TOP, BOTTOM = 42.0, PAGE_W - 42.0, PAGE_H - 48.0, 60.0
LABEL_W = 190.0
PAD = 6.0
SIZE, LEADING = 8.5, 11.0
BOX = 9.0
FOOTER = "OFFICIAL-SENSITIVE when completed"


def _fonts() -> None:
    """Register DejaVu Sans (Debian's fonts-dejavu-core): it has Ł, ë, í..."""
    if FONT in pdfmetrics.getRegisteredFontNames():
        return
    if not (DEJAVU / "DejaVuSans.ttf").exists():
        raise RuntimeError("DejaVu fonts missing: apt-get install fonts-dejavu-core")
    pdfmetrics.registerFont(TTFont(FONT, str(DEJAVU / "DejaVuSans.ttf")))
    pdfmetrics.registerFont(TTFont(BOLD, str(DEJAVU / "DejaVuSans-Bold.ttf")))


@dataclass
class Option:
    key: str
    label: list[str]  # wrapped lines
    ticked: bool


@dataclass
class Row:
    """One question of the form, wrapped to the column widths."""

    spec: FieldSpec
    label: list[str]
    text: list[str] = field(default_factory=list)  # wrapped answer lines
    options: list[Option] = field(default_factory=list)
    radio: bool = False
    typed: str = ""  # the answer as typed, before wrapping
    typed_under: str = ""  # an answer typed under its empty boxes ("NO")

    def answer_height(self) -> float:
        if self.options:
            lines = sum(max(1, len(o.label)) for o in self.options) + bool(self.typed_under)
            return lines * LEADING + 2
        return max(1, len(self.text)) * LEADING

    def height(self) -> float:
        return max(len(self.label) * LEADING, self.answer_height()) + 2 * PAD


def _rows(
    schema: FormSchema, answers: Answers, typed_under: bool = False
) -> list[tuple[str, list[Row]]]:
    """The form's sections, each with its rows, wrapped to the columns.
    ``typed_under``: yes/no and short choices keep every box empty, the answer
    typed under them."""
    _fonts()
    answer_w = RIGHT - LEFT - LABEL_W - 2 * PAD
    out: list[tuple[str, list[Row]]] = []
    for number, section in enumerate(schema.sections, start=1):
        rows = []
        for spec in (f for f in schema.fields if f.section == section.key):
            label = simpleSplit(spec.question, FONT, SIZE, LABEL_W - 2 * PAD)
            value = answers.get(spec.key)
            row = Row(spec, label, radio=spec.type in ("choice", "yesno"))
            row.typed = value if isinstance(value, str) else ""
            if spec.options:
                chosen = [value] if isinstance(value, str) else list(value or [])
                row.options = [
                    Option(o.key, simpleSplit(o.label, FONT, SIZE, answer_w - 14), o.key in chosen)
                    for o in spec.options
                ]
                if typed_under and row.radio and len(spec.options) <= 4 and chosen:
                    option = spec.option(chosen[0])
                    label = option.label if option else chosen[0]
                    row.typed_under = label.upper() if len(rows) % 2 else label
                    for o in row.options:
                        o.ticked = False
            else:
                for part in str(value or "").split("\n"):
                    row.text += simpleSplit(part, FONT, SIZE, answer_w) or [""]
                if not value:
                    row.text = []
            rows.append(row)
        out.append((f"{number}. {section.title}" if section.title else "", rows))
    return out


class _Pages:
    """A canvas with a cursor, a title block and a footer on every page."""

    def __init__(self, schema: FormSchema, banner: str | None = None) -> None:
        _fonts()
        self.banner = banner or "Warrington Safeguarding Partnership"
        self.buffer = io.BytesIO()
        self.canvas = Canvas(self.buffer, pagesize=A4, invariant=True)
        self.canvas.setTitle(schema.title)
        self.page = 1
        self.y: float = TOP
        self._title(schema)

    def _title(self, schema: FormSchema) -> None:
        c = self.canvas
        for text, font, size in (
            (self.banner, BOLD, 16),
            (schema.title, BOLD, 13),
            (FOOTER, FONT, 9),
        ):
            c.setFont(font, size)
            c.drawString(LEFT, self.y, text)
            self.y -= size + 6
        c.setFont(FONT, SIZE)
        c.drawString(LEFT, self.y - 4, "Please complete every section. Tick the boxes that apply.")
        self.y -= 24

    def room(self, height: float) -> bool:
        return self.y - height >= BOTTOM

    def new_page(self) -> None:
        self._footer()
        self.canvas.showPage()
        self.page += 1
        self.y = TOP

    def _footer(self) -> None:
        c = self.canvas
        c.setFont(FONT, 7.5)
        c.setFillColor(black)
        c.drawString(LEFT, 30, FOOTER)
        c.drawRightString(RIGHT, 30, f"Referral form – page {self.page}")

    def finish(self) -> bytes:
        self._footer()
        self.canvas.save()
        return self.buffer.getvalue()


@dataclass(frozen=True)
class Look:
    """How a flattened form is drawn."""

    rules: bool = True
    shade: bool = True
    band: bool = False  # section headings as dark bands inside the table
    marks: str = "zapf"  # "zapf" glyphs, "drawn" boxes with a ✔, "widgets" (AcroForm)
    typed_under: bool = False  # yes/no answers typed under empty boxes


LOOKS = {
    "word": Look(),
    "printed": Look(band=True, marks="drawn"),
    "norules": Look(rules=False, shade=False),
    "typed_under": Look(typed_under=True),
    "acroform": Look(band=True, marks="widgets"),
    "acroform_plain": Look(rules=False, shade=False, marks="widgets"),
}


def flattened_pdf(
    schema: FormSchema, answers: Answers, style: str = "word", banner: str | None = None
) -> bytes:
    """The form with ``answers`` drawn on the page in one of `LOOKS`."""
    pages = _Pages(schema, banner)
    look = LOOKS[style]
    _draw_form(pages, _rows(schema, answers, look.typed_under), look, _Names("keys", True))
    return pages.finish()


def acroform_pdf(
    schema: FormSchema,
    answers: Answers,
    names: str = "keys",
    tooltips: bool = True,
    box_tooltips: str = "question",
    ruled: bool = True,
    banner: str | None = None,
) -> bytes:
    """The fillable form with its fields holding ``answers``; ``ruled=False``
    draws no table around the fields (another producer's layout)."""
    pages = _Pages(schema, banner)
    naming = _Names(names, tooltips, box_tooltips)
    look = LOOKS["acroform" if ruled else "acroform_plain"]
    _draw_form(pages, _rows(schema, answers), look, naming)
    return _set_values(pages.finish(), naming.unicode_values)


def _set_values(pdf: bytes, values: Mapping[str, str]) -> bytes:
    """Write ``values`` into the named text fields' /V (a Unicode text string)."""
    if not values:
        return pdf
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import NameObject, TextStringObject

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    for page in writer.pages:
        for ref in page.get("/Annots", []):
            annot = ref.get_object()
            name = str(annot.get("/T", ""))
            if name in values:
                annot[NameObject("/V")] = TextStringObject(values[name])
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


class _Names:
    """Field names as the published form has them, or an editor's ``Text1``."""

    def __init__(self, scheme: str, tooltips: bool, box_tooltips: str = "question") -> None:
        self.scheme, self.tooltips, self.count = scheme, tooltips, 0
        self.box_tooltips = box_tooltips
        self.unicode_values: dict[str, str] = {}  # set after drawing, see `_set_values`

    def text(self, spec: FieldSpec) -> str:
        self.count += 1
        return spec.key if self.scheme == "keys" else f"Text{self.count}"

    def radio(self, spec: FieldSpec) -> str:
        self.count += 1
        return spec.key if self.scheme == "keys" else f"Group{self.count}"

    def export(self, spec: FieldSpec, option: Option, index: int) -> str:
        return option.key if self.scheme == "keys" else f"Choice{index + 1}"

    def check(self, spec: FieldSpec, option: Option) -> str:
        self.count += 1
        return f"{spec.key}__{option.key}" if self.scheme == "keys" else f"Check Box{self.count}"

    def tooltip(self, spec: FieldSpec, option: Option | None = None) -> str | None:
        if option is not None and self.box_tooltips == "option":
            return " ".join(option.label)
        return spec.question if self.tooltips else None


def _draw_form(
    pages: _Pages, sections: list[tuple[str, list[Row]]], look: Look, names: _Names
) -> None:
    for heading, rows in sections:
        if not pages.room(20 + (rows[0].height() if rows else 0)):
            pages.new_page()
        if heading:
            _heading(pages, heading, look)
        for row in rows:
            _place_row(pages, row, look, names)
        pages.y -= 10


def _heading(pages: _Pages, text: str, look: Look) -> None:
    c = pages.canvas
    if look.band:
        c.setFillColor(BAND)
        c.rect(LEFT, pages.y - 16, RIGHT - LEFT, 16, stroke=0, fill=1)
        c.setFillColor(white)
        c.setFont(BOLD, 10)
        c.drawString(LEFT + PAD, pages.y - 12, text)
        c.setFillColor(black)
        pages.y -= 16
    else:
        c.setFillColor(black)
        c.setFont(BOLD, 12)
        c.drawString(LEFT, pages.y - 14, text)
        pages.y -= 22


def _place_row(pages: _Pages, row: Row, look: Look, names: _Names) -> None:
    """Draw a row, carrying a long text answer over to the next page."""
    if pages.room(row.height()):
        _draw_row(pages, row, look, names)
        return
    fits = int((pages.y - BOTTOM - 2 * PAD) // LEADING)
    splittable = look.marks != "widgets" and not row.options and fits >= 2
    if splittable and len(row.text) > fits:
        head = Row(row.spec, row.label, row.text[:fits])
        tail = Row(row.spec, [], row.text[fits:])
        _draw_row(pages, head, look, names)
        pages.new_page()
        _draw_row(pages, tail, look, names)
        return
    pages.new_page()
    _draw_row(pages, row, look, names)


def _draw_row(pages: _Pages, row: Row, look: Look, names: _Names) -> None:
    c = pages.canvas
    height = row.height()
    top = pages.y
    x_answer = LEFT + LABEL_W
    if look.shade:
        c.setFillColor(LABEL_SHADE)
        c.rect(LEFT, top - height, LABEL_W, height, stroke=0, fill=1)
    if look.rules:
        c.setStrokeColor(black)
        c.setLineWidth(0.5)
        c.rect(LEFT, top - height, LABEL_W, height, stroke=1, fill=0)
        c.rect(x_answer, top - height, RIGHT - x_answer, height, stroke=1, fill=0)
    c.setFillColor(black)
    c.setFont(FONT, SIZE)
    for i, line in enumerate(row.label):
        c.drawString(LEFT + PAD, top - PAD - SIZE - i * LEADING, line)
    if row.options:
        _draw_options(pages, row, look, names, x_answer + PAD, top - PAD)
    elif look.marks == "widgets":
        _text_widget(pages, row, names, x_answer, top, height)
    else:
        for i, line in enumerate(row.text):
            c.drawString(x_answer + PAD, top - PAD - SIZE - i * LEADING, line)
    pages.y -= height


def _text_widget(
    pages: _Pages, row: Row, names: _Names, x: float, top: float, height: float
) -> None:
    name = names.text(row.spec)
    # reportlab draws field appearances in Latin-1 Helvetica only: letters
    # beyond it (Ł) are put into /V afterwards, as a PDF editor would.
    shown = row.typed.encode("latin-1", "replace").decode("latin-1")
    if shown != row.typed:
        names.unicode_values[name] = row.typed
    pages.canvas.acroForm.textfield(
        name=name,
        tooltip=names.tooltip(row.spec),
        value=shown,
        x=x + 4,
        y=top - height + 3,
        width=RIGHT - x - 8,
        height=height - 6,
        fontName="Helvetica",
        fontSize=8,
        maxlen=None,
        borderWidth=0,
        fieldFlags="multiline" if row.spec.type == "multiline" else "",
    )


def _draw_options(pages: _Pages, row: Row, look: Look, names: _Names, x: float, top: float) -> None:
    c = pages.canvas
    y = top - SIZE
    group = names.radio(row.spec) if row.radio and look.marks == "widgets" else ""
    for index, option in enumerate(row.options):
        _draw_mark(pages, row, option, look, names, group, index, x, y)
        c.setFillColor(black)
        c.setFont(FONT, SIZE)
        for i, line in enumerate(option.label):
            c.drawString(x + 13, y - i * LEADING, line)
        y -= max(1, len(option.label)) * LEADING
    if row.typed_under:
        c.drawString(x, y, row.typed_under)


def _draw_mark(
    pages: _Pages,
    row: Row,
    option: Option,
    look: Look,
    names: _Names,
    group: str,
    index: int,
    x: float,
    y: float,
) -> None:
    c = pages.canvas
    if look.marks == "widgets":
        form = c.acroForm
        box_option = None if row.radio else option
        common = {"x": x, "y": y - 1.5, "size": BOX, "tooltip": names.tooltip(row.spec, box_option)}
        if row.radio:
            export = names.export(row.spec, option, index)
            form.radio(name=group, value=export, selected=option.ticked, borderWidth=0.5, **common)
        else:
            name = names.check(row.spec, option)
            form.checkbox(
                name=name, checked=option.ticked, buttonStyle="cross", borderWidth=0.5, **common
            )
    elif look.marks == "drawn":
        c.setStrokeColor(black)
        c.setLineWidth(0.5)
        if row.radio:
            c.circle(x + BOX / 2, y - 1.5 + BOX / 2, BOX / 2, stroke=1, fill=0)
        else:
            c.rect(x, y - 1.5, BOX, BOX, stroke=1, fill=0)
        if option.ticked:
            c.setFont(FONT, 8)
            c.drawString(x + 1.2, y, "●" if row.radio else "✔")
    else:
        # reportlab takes the Unicode dingbat and writes its ZapfDingbats
        # code: ✘ -> "8", ❏ -> "o" (what Word's "Save as PDF" leaves).
        c.setFont("ZapfDingbats", 8.5)
        c.drawString(x, y, "✘" if option.ticked else "❏")


def typed_over_pdf(
    schema: FormSchema, answers: Answers, in_fields: Answers | None = None, printed: bool = False
) -> bytes:
    """The fillable form with ``answers`` typed over it as FreeText
    annotations ("Add text" in Edge, Preview's text box) and an ``X`` typed
    over each chosen box; ``in_fields`` are typed into the fields proper.
    ``printed=True`` types over a blank printed copy (no fields at all)."""
    from pypdf import PdfReader, PdfWriter
    from pypdf.annotations import FreeText

    fillable = PdfReader(io.BytesIO(acroform_pdf(schema, in_fields or {})))
    base = PdfReader(io.BytesIO(flattened_pdf(schema, {}, "printed"))) if printed else fillable
    writer = PdfWriter(clone_from=base)
    specs = {spec.key: spec for spec in schema.fields}
    for number, page in enumerate(fillable.pages):
        for ref in list(page.get("/Annots", [])):
            widget = ref.get_object()
            name = str(widget.get("/T") or widget["/Parent"].get_object().get("/T"))
            typed = _typed_text(specs, answers, name, widget)
            if typed:
                x0, y0, x1, y1 = (float(v) for v in widget["/Rect"])
                rect = (x0, y0, max(x1, x0 + 40), y1) if typed == "X" else (x0, y0, x1, y1)
                note = FreeText(text=typed, rect=rect, font_size="8pt", border_color=None)
                writer.add_annotation(number, note)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _typed_text(specs: Mapping[str, FieldSpec], answers: Answers, name: str, widget: object) -> str:
    key, _, option = name.partition("__")
    value = answers.get(key)
    if key not in specs or not value:
        return ""
    if option:  # a check box
        return "X" if option in value else ""
    if specs[key].options:  # a radio button: its on-state names the option
        states = [str(s).lstrip("/") for s in widget["/AP"]["/N"]]  # type: ignore[index]
        chosen = [value] if isinstance(value, str) else list(value)
        return "X" if any(s in chosen for s in states) else ""
    return str(value)


def scanned_pdf(pages: int = 1) -> bytes:
    """Pages that are only pictures of a form: no text layer at all."""
    from PIL import Image, ImageDraw

    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, invariant=True)
    for _ in range(pages):
        image = Image.new("L", (400, 560), 250)
        draw = ImageDraw.Draw(image)
        for y in range(40, 520, 24):
            draw.rectangle((30, y, 370, y + 18), outline=40)
            draw.line((40, y + 9, 300, y + 9), fill=90, width=3)
        png = io.BytesIO()
        image.save(png, format="PNG")
        from reportlab.lib.utils import ImageReader

        canvas.drawImage(ImageReader(io.BytesIO(png.getvalue())), 0, 0, PAGE_W, PAGE_H)
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def soffice() -> str | None:
    """The LibreOffice binary, when installed."""
    return shutil.which("soffice") or shutil.which("libreoffice")


def pdf_from_docx(docx: bytes, timeout: float = 120.0) -> bytes:
    """Convert a DOCX to PDF the way "Save as PDF" does, with LibreOffice."""
    return pdfs_from_docx([docx], timeout)[0]


def pdfs_from_docx(documents: Sequence[bytes], timeout: float = 300.0) -> list[bytes]:
    """Convert several DOCX files in one LibreOffice run (it starts slowly)."""
    binary = soffice()
    if binary is None:
        raise RuntimeError("soffice (LibreOffice) is not installed")
    with tempfile.TemporaryDirectory(prefix="pdf-from-docx-") as folder:
        sources = []
        for index, data in enumerate(documents):
            source = Path(folder) / f"form{index}.docx"
            source.write_bytes(data)
            sources.append(source)
        profile = Path(folder) / "profile"
        subprocess.run(
            [
                binary,
                f"-env:UserInstallation=file://{profile}",
                "--headless",
                "--convert-to",
                "pdf",
                "--outdir",
                folder,
                *map(str, sources),
            ],
            check=True,
            capture_output=True,
            timeout=timeout,
            env={**os.environ, "HOME": folder},
        )
        return [s.with_suffix(".pdf").read_bytes() for s in sources]
