"""The fast PDF readers give the answers the slow ones gave (issue 10).

pdfium stands in for pdfplumber's pdfminer under the same layout rules, and
a fillable form whose fields carry it is read without any layout: each is
checked here against the reading it replaces, on forms built from the real
schemas.  A page whose content inflates to a gigabyte is refused before
any reader holds it.
"""

from __future__ import annotations

import io
import random
import resource
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pdfplumber
import pypdf
import pytest

from parsers.document import Document
from parsers.errors import ParseError, Reason
from parsers.limits import Limits
from parsers.pdf import fields as pdf_fields
from parsers.pdf import read_pdf
from parsers.pdf.acroform import fields_carry_the_form
from parsers.pdf.content import content_size
from parsers.pdf.layout import Box, PageLayout, Word, glyph_mark, group_lines, read_page
from parsers.pdf.pdfium import open_document, read_pages
from parsers.pdf.table import read_tables
from parsers.schema import load_schemas
from tests.builders import pdf_builder
from tests.builders.docx_builder import random_answers
from tests.builders.pathological import inflating_pdf

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = load_schemas(ROOT / "config" / "forms")
CSPR = SCHEMAS["cspr_referral"]
SIN = SCHEMAS["serious_incident_notification"]


def answers(schema: Any, seed: int) -> dict[str, Any]:
    return random_answers(schema, seed)


def pdfplumber_pages(data: bytes) -> list[PageLayout]:
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        return [read_page(page, n) for n, page in enumerate(pdf.pages, start=1)]


def pdfium_pages(data: bytes) -> list[PageLayout]:
    from parsers.pdf.fonts import fractional_widths

    reader = pypdf.PdfReader(io.BytesIO(data))
    widths = [fractional_widths(page) for page in reader.pages]
    doc = open_document(data)
    try:
        found = read_pages(doc, len(doc), True, widths.__getitem__)
    finally:
        doc.close()
    return [read_page(page, n) for n, page in enumerate(found, start=1)]


def same_layout(ours: list[PageLayout], theirs: list[PageLayout]) -> bool:
    """The same words (a tick mark by its state: pdfium gives ZapfDingbats
    glyphs as Unicode, pdfminer as codes), fonts, sizes and cells, each word
    near where the other reader put it (pdfium's glyph boxes and each
    library's idea of a font's descent differ by a point or two), and the
    same reading of the page (`read_tables`)."""
    assert len(ours) == len(theirs)
    for mine, other in zip(ours, theirs, strict=True):
        assert _cells(mine) == _cells(other)
        assert (mine.image_count, mine.sideways) == (other.image_count, other.sideways)
        left = _words(other)
        for word in _words(mine):
            match = next((w for w in left if w[:4] == word[:4] and _near(w, word)), None)
            assert match is not None, (word, mine.number)
            left.remove(match)
        assert not left
    mine, other = read_tables(ours), read_tables(theirs)
    assert (mine.title, mine.entries, mine.flow) == (other.title, other.entries, other.flow)
    assert [(h.page, h.text) for h in mine.headings] == [(h.page, h.text) for h in other.headings]
    return True


def _near(a: tuple[Any, ...], b: tuple[Any, ...]) -> bool:
    across = max(abs(a[4] - b[4]), abs(a[6] - b[6]))
    up_down = max(abs(a[5] - b[5]), abs(a[7] - b[7]))
    return across <= 1.5 and up_down <= 2.5


def _words(page: PageLayout) -> list[tuple[Any, ...]]:
    return [
        (w.mark or w.text, w.font.split("+")[-1], round(w.size, 1), w.highlight,
         w.box.x0, w.box.top, w.box.x1, w.box.bottom)
        for w in page.words
    ]  # fmt: skip


def _cells(page: PageLayout) -> list[Any]:
    return [
        [(round(c.box.x0), round(c.box.top), c.shaded, c.dark) for c in row]
        for table in page.tables
        for row in table.rows
    ]


@pytest.mark.parametrize("style", ["word", "printed", "norules", "typed_under"])
def test_it_lays_a_flattened_page_out_as_pdfplumber_does(style: str) -> None:
    data = pdf_builder.flattened_pdf(CSPR, answers(CSPR, 11), style)
    assert same_layout(pdfium_pages(data), pdfplumber_pages(data))


def test_it_places_characters_where_fractional_widths_set_them() -> None:
    # reportlab writes widths such as 600.0977; pdfium keeps whole units, which
    # would end a long line a third of a point short and change wrapping.
    data = pdf_builder.flattened_pdf(CSPR, answers(CSPR, 12), "word")
    [ours] = pdfium_pages(data)[:1]
    [theirs] = pdfplumber_pages(data)[:1]
    right = max(w.box.x1 for w in ours.words)
    assert right == pytest.approx(max(w.box.x1 for w in theirs.words), abs=0.02)


def test_it_reads_zapf_dingbats_ticks_as_pdfium_gives_them() -> None:
    assert glyph_mark("✘", "ZapfDingbats") == "☒"
    assert glyph_mark("❏", "ZapfDingbats") == "☐"
    assert glyph_mark("8", "ZapfDingbats") == "☒"  # as pdfminer gave them


@pytest.mark.parametrize("schema", [CSPR, SIN], ids=lambda s: s.form_type)
def test_it_reads_a_fillable_form_from_its_fields_as_the_layout_would(
    schema: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = pdf_builder.acroform_pdf(schema, answers(schema, 13))
    fast = read_pdf(data, "form.pdf", Limits())
    monkeypatch.setattr(pdf_fields, "fields_carry_the_form", lambda reader: False)
    laid_out = read_pdf(data, "form.pdf", Limits())
    assert fast.notes == ["acroform", "fields_only"]
    assert laid_out.notes == ["acroform"]
    assert fast.entries == laid_out.entries
    assert fast.title == laid_out.title


def test_it_reads_a_fillable_form_without_laying_out_a_page(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The layout (pdfium's characters and boxes, then the tables) is what costs
    a flattened PDF its time; a form whose fields carry it never asks for one.
    parse_bench prints the rates (AcroForm documents/s against flattened)."""
    from parsers.pdf import read as pdf_read

    laid_out: list[int] = []

    def layout(*args: Any, **kwargs: Any) -> Any:
        laid_out.append(1)
        return real(*args, **kwargs)

    real = pdf_read._layout
    monkeypatch.setattr(pdf_read, "_layout", layout)
    fillable = read_pdf(pdf_builder.acroform_pdf(CSPR, answers(CSPR, 14)), "form.pdf", Limits())
    assert fillable.entries and not laid_out
    flattened = pdf_builder.flattened_pdf(CSPR, answers(CSPR, 14), "word")
    assert read_pdf(flattened, "form.pdf", Limits()).entries and laid_out


@pytest.mark.parametrize(
    ("options", "carried"),
    [({}, True), ({"names": "meaningless"}, False), ({"tooltips": False}, False)],
    ids=["named", "generic-names", "no-tooltips"],
)
def test_it_lays_the_page_out_when_the_fields_do_not_carry_the_form(
    options: dict[str, Any], carried: bool
) -> None:
    data = pdf_builder.acroform_pdf(CSPR, answers(CSPR, 15), **options)
    assert fields_carry_the_form(pypdf.PdfReader(io.BytesIO(data))) is carried


def test_it_reads_a_flattened_form_that_kept_a_few_fields_from_its_drawing() -> None:
    doc = read_pdf(_flattened_with_a_field(), "form.pdf", Limits())
    assert "fields_only" not in doc.notes
    assert len(doc.entries) > 10


def _flattened_with_a_field() -> bytes:
    from pypdf import PdfWriter
    from pypdf.generic import ArrayObject, DictionaryObject, NameObject, TextStringObject

    data = pdf_builder.flattened_pdf(CSPR, answers(CSPR, 16), "word")
    writer = PdfWriter(clone_from=pypdf.PdfReader(io.BytesIO(data)))
    widget = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Annot"),
            NameObject("/Subtype"): NameObject("/Widget"),
            NameObject("/FT"): NameObject("/Tx"),
            NameObject("/T"): TextStringObject("office_reference"),
            NameObject("/TU"): TextStringObject("Office use: reference"),
            NameObject("/V"): TextStringObject("WSP-1"),
            NameObject("/Rect"): ArrayObject(
                [pypdf.generic.FloatObject(v) for v in (40, 20, 200, 34)]
            ),
        }
    )
    ref = writer._add_object(widget)
    writer.pages[0][NameObject("/Annots")] = ArrayObject([ref])
    writer._root_object[NameObject("/AcroForm")] = DictionaryObject(
        {NameObject("/Fields"): ArrayObject([ref])}
    )
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_it_refuses_a_page_that_inflates_past_the_limit_before_reading_it() -> None:
    data = inflating_pdf(64 << 20)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()
    with pytest.raises(ParseError) as refused:
        read_pdf(data, "form.pdf", Limits())
    assert refused.value.reason is Reason.UNPACKED_TOO_LARGE
    assert time.monotonic() - started < 5
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mb < 32


def test_it_counts_inflated_content_without_holding_it() -> None:
    data = inflating_pdf(8 << 20)
    page = pypdf.PdfReader(io.BytesIO(data)).pages[0]
    assert content_size(page, 1 << 20) > 1 << 20  # stops soon after the cap
    assert content_size(page, 16 << 20) == pytest.approx(8 << 20, rel=0.01)


def test_it_reads_every_example_pdf_as_before() -> None:
    """The shared examples' PDFs, read by both readers: the same documents."""
    import email
    import email.policy

    examples = ROOT.parent / "shared" / "forms" / "examples"
    seen = 0
    for path in sorted(examples.glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        for part in message.walk():
            if part.get_content_type() != "application/pdf":
                continue
            data = part.get_payload(decode=True)
            try:
                doc = read_pdf(data, "x.pdf", Limits())
            except ParseError:
                continue
            seen += 1
            if "fields_only" not in doc.notes:
                assert _as_pdfplumber_read(data) == asdict(doc)["entries"]
    assert seen > 0


def _as_pdfplumber_read(data: bytes) -> Any:
    return asdict(Document("pdf", "x.pdf", entries=read_tables(pdfplumber_pages(data)).entries))[
        "entries"
    ]


def test_random_forms_read_the_same_by_both_layouts() -> None:
    rng = random.Random(17)
    for _ in range(3):
        schema = rng.choice([CSPR, SIN])
        style = rng.choice(["word", "printed", "norules"])
        data = pdf_builder.flattened_pdf(schema, answers(schema, rng.randint(0, 999)), style)
        assert same_layout(pdfium_pages(data), pdfplumber_pages(data))


def _lines_by_the_rule(words: list[Word]) -> list[list[str]]:
    """The rule `group_lines` follows, word against every line made so far."""
    lines: list[list[Word]] = []
    for word in sorted(words, key=lambda w: (w.box.cy, w.box.x0)):
        line = next(
            (
                ln
                for ln in reversed(lines)
                if abs(ln[-1].box.cy - word.box.cy)
                <= max(ln[-1].box.height, word.box.height, 1.0) * 0.35
            ),
            None,
        )
        if line is None:
            lines.append([word])
        else:
            line.append(word)
    made = [sorted(ln, key=lambda w: w.box.x0) for ln in lines]
    made.sort(key=lambda ln: (round(min(w.box.top for w in ln), 0), min(w.box.x0 for w in ln)))
    return [[w.text for w in ln] for ln in made]


@pytest.mark.parametrize("seed", range(40))
def test_lines_grouped_in_one_pass_are_the_lines_of_the_rule(seed: int) -> None:
    """Issue 10: `group_lines` no longer holds each word against every line made so
    far; on pages of words of mixed sizes (a tall heading, small print, boxes
    nudged off the baseline, superscripts) its lines are still those of the rule."""
    rng = random.Random(seed)
    words = []
    for n in range(rng.randint(1, 160)):
        size = rng.choice([6.0, 9.0, 10.0, 11.0, 14.0, 24.0, 0.4])
        top = rng.choice([rng.uniform(0, 800), round(rng.uniform(0, 800) / 14) * 14])
        top += rng.choice([0.0, 0.0, 1.5, -2.0, size * 0.3])
        x0 = rng.uniform(0, 560)
        words.append(Word(f"w{n}", Box(x0, top, x0 + rng.uniform(2, 60), top + size)))
    got = [[w.text for w in line.words] for line in group_lines(words)]
    assert got == _lines_by_the_rule(words)


def test_a_word_whose_height_is_not_a_number_leaves_the_others_lines_whole() -> None:
    """A page moved past the range of floats gives pdfium words with no height
    (NaN).  Such a word stands alone, as by the rule; the words after it still
    join the lines above it (a review of issue 10's one-pass grouping: every word
    had become a line of its own)."""
    nan = float("nan")
    words = [
        Word("x", Box(10.0, nan, 20.0, nan)),
        Word("Name", Box(10.0, 100.0, 40.0, 110.0)),
        Word("of", Box(42.0, 100.0, 50.0, 110.0)),
        Word("child:", Box(52.0, 100.0, 80.0, 110.0)),
        Word("Date", Box(10.0, 130.0, 40.0, 140.0)),
        Word("of", Box(42.0, 130.0, 50.0, 140.0)),
    ]
    for order in (words, words[1:] + words[:1], words[:3] + words[:1] + words[3:]):
        got = [[w.text for w in line.words] for line in group_lines(order)]
        assert got == _lines_by_the_rule(order)
        assert ["Name", "of", "child:"] in got
