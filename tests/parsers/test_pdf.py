"""parsers.pdf: filled PDF forms of every kind -> the generic Document.

Forms are built from the real schemas (``config/forms``) by
``tests/builders/pdf_builder.py`` in each style referrers send, then read
back; the real attachments of ``../shared/forms/examples`` are read too.
"""

from __future__ import annotations

import email
import email.policy
import io
import itertools
import os
import time
import zipfile
from pathlib import Path

import pytest
from reportlab.pdfgen.canvas import Canvas

from parsers.document import Document, Entry
from parsers.errors import ParseError, Reason
from parsers.limits import Limits
from parsers.pdf import read_pdf
from parsers.pdf.columns import ColumnRow, column_layout
from parsers.pdf.layout import Box, Word, glyph_mark
from parsers.schema import FormSchema, load_schemas
from tests.builders import pdf_builder

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT.parent / "shared" / "forms" / "examples"
SCHEMAS = load_schemas(ROOT / "config" / "forms")
SIN: FormSchema = SCHEMAS["serious_incident_notification"]
CSPR: FormSchema = SCHEMAS["cspr_referral"]

OUTLINE = (
    "Zoë was found unresponsive by her grandmother at about 06:30 on 21/10/2026 after "
    "co-sleeping on a sofa with her father, who had been drinking the previous evening.\n"
    "Paramedics started CPR; Zoë was pronounced dead at Warrington Hospital at 07:40.\n"
    "Both parents were arrested."
)
SIN_ANSWERS = {
    "notifying_la": "Warrington Borough Council",
    "notifier_name": "Björn Łopez",
    "notifier_role": "Director of Children's Services",
    "notifier_phone": "01925 443322",
    "notifier_email": "bjorn.lopez@warrington.gov.uk",
    "date_notified": "25/10/2026",
    "date_became_aware": "20/10/2026",
    "notification_reason": ["death_abuse_neglect", "death_looked_after"],
    "child_forenames": "Zoë",
    "child_surname": "Ní Bhriain",
    "child_dob": "17/09/2016",
    "child_gender": "female",
    "child_address": "12 Bridge Street\nWarrington WA1 2AB",
    "child_status": ["looked_after"],
    "incident_date": "21/10/2026",
    "incident_location": "Home address",
    "case_outline": OUTLINE,
}
CSPR_ANSWERS = {
    "referral_type": "rapid_review",
    "referral_date": "30/01/2026",
    "referrer_name": "Björn Łopez",
    "referrer_email": "bjorn.lopez@example.nhs.uk",
    "dsl_name": "Aoife Ní Bhriain",
    "dsl_agreed": "yes",
    "child_gender": "male",
    "child_status": ["child_in_need", "cp_plan_previous"],
    "criteria_met": ["life_threatening_injury"],
    "incident_summary": OUTLINE,
}
WRAPPED_LABEL = "Date the local authority became aware of the incident"
SIN_GENDER = ("☐ Male", "☒ Female", "☐ Other", "☐ Not known")
SIN_REASONS = (
    "☒ Death of a child where abuse or neglect is known or suspected",
    "☐ Serious harm to a child where abuse or neglect is known or suspected",
    "☒ Death of a looked after child",
    "☐ Death of a care leaver under 25",
    "☐ A child normally resident in the area harmed or died outside England",
)
OUTLINE_LINES = tuple(OUTLINE.split("\n"))
RATIONALE = (
    "Why do you believe the case meets the criteria, and what learning might there be for "
    "multi-agency practice?"
)


def read(data: bytes, limits: Limits | None = None) -> Document:
    return read_pdf(data, "form.pdf", limits or Limits())


def find(doc: Document, question: str, section: str | None = None) -> Entry:
    found = [e for e in doc.entries if e.question == question and section in (None, e.section)]
    assert len(found) == 1, f"{question!r} in {section!r}: {[e.question for e in doc.entries]}"
    return found[0]


def texts(entry: Entry) -> tuple[str, ...]:
    return tuple(line.text for line in entry.answer)


# --- flattened styles: the same answers must come back from each -----------------

FLAT_STYLES = ["word", "printed", "norules"]


@pytest.fixture(scope="module", params=FLAT_STYLES)
def flat_sin(request: pytest.FixtureRequest) -> Document:
    return read(pdf_builder.flattened_pdf(SIN, SIN_ANSWERS, style=request.param))


def test_it_reads_text_answers_of_a_flattened_form(flat_sin: Document) -> None:
    assert texts(find(flat_sin, "Name", "1. Notifier")) == ("Björn Łopez",)
    assert texts(find(flat_sin, "Surname", "3. The child")) == ("Ní Bhriain",)
    assert "flattened" in flat_sin.notes


def test_it_reads_a_wrapped_label_as_one_question(flat_sin: Document) -> None:
    assert texts(find(flat_sin, WRAPPED_LABEL, "2. Notification")) == ("20/10/2026",)


def test_it_writes_ticked_and_empty_boxes_as_glyphs(flat_sin: Document) -> None:
    assert texts(find(flat_sin, "Gender")) == SIN_GENDER
    reasons = find(flat_sin, "Reason for notification (more than one box may be ticked)")
    assert texts(reasons) == SIN_REASONS


def test_it_keeps_the_lines_of_a_multi_line_answer(flat_sin: Document) -> None:
    assert texts(find(flat_sin, "Home address (including postcode)")) == (
        "12 Bridge Street",
        "Warrington WA1 2AB",
    )
    assert texts(find(flat_sin, "Case outline", "4. The incident")) == OUTLINE_LINES


def test_it_leaves_an_unanswered_question_with_no_lines(flat_sin: Document) -> None:
    assert texts(find(flat_sin, "Notification reference")) == ()


def test_it_takes_the_title_from_the_top_of_page_one(flat_sin: Document) -> None:
    assert flat_sin.title[:2] == ["Warrington Safeguarding Partnership", SIN.title]


def test_it_marks_section_headings_in_the_flow(flat_sin: Document) -> None:
    headings = [f.text for f in flat_sin.flow if f.heading]
    assert [h for h in headings if h[0].isdigit()] == [
        "1. Notifier",
        "2. Notification",
        "3. The child",
        "4. The incident",
    ]


def test_it_drops_the_footer_repeated_on_every_page(flat_sin: Document) -> None:
    assert flat_sin.pages >= 2
    assert not [f for f in flat_sin.flow if "page" in f.text.lower()]


@pytest.mark.parametrize("style", FLAT_STYLES)
def test_it_joins_an_answer_that_runs_onto_the_next_page(style: str) -> None:
    long = "\n".join(
        f"Entry {i}: seen by the health visitor at home with both parents." for i in range(70)
    )
    data = pdf_builder.flattened_pdf(SIN, {**SIN_ANSWERS, "case_outline": long}, style=style)
    doc = read(data)
    outline = find(doc, "Case outline")
    assert texts(outline) == tuple(long.split("\n"))
    assert doc.pages == 3


def test_it_reads_pages_a_viewer_turned_sideways() -> None:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(
        clone_from=PdfReader(io.BytesIO(pdf_builder.flattened_pdf(SIN, SIN_ANSWERS)))
    )
    for page in writer.pages:
        page.rotate(90)
    turned = io.BytesIO()
    writer.write(turned)
    doc = read(turned.getvalue())
    assert texts(find(doc, "Name", "1. Notifier")) == ("Björn Łopez",)
    assert texts(find(doc, "Gender")) == SIN_GENDER


# --- fillable forms (AcroForm) ----------------------------------------------------


@pytest.fixture(scope="module")
def acro_cspr() -> Document:
    return read(pdf_builder.acroform_pdf(CSPR, CSPR_ANSWERS))


def test_it_reads_filled_fields_with_their_tooltips_and_sections(acro_cspr: Document) -> None:
    referrer = find(acro_cspr, "Name", "2. Referrer")
    assert texts(referrer) == ("Björn Łopez",)
    assert referrer.key_hint == "referrer_name"
    assert referrer.source == "field referrer_name, page 1"
    assert texts(find(acro_cspr, "Name", "3. Safeguarding lead consulted")) == ("Aoife Ní Bhriain",)
    assert "acroform" in acro_cspr.notes


def test_it_writes_a_radio_group_as_one_line_per_option(acro_cspr: Document) -> None:
    gender = find(acro_cspr, "Gender")
    assert texts(gender) == ("☒ Male", "☐ Female", "☐ Other", "☐ Not known")
    assert texts(find(acro_cspr, "Type of review requested")) == (
        "☒ Rapid Review (serious child safeguarding incident)",
        "☐ Local learning review",
        "☐ Good practice review",
    )


def test_it_gathers_check_boxes_sharing_a_tooltip_into_one_entry(acro_cspr: Document) -> None:
    status = find(acro_cspr, "Status at the time of the incident (tick all that apply)")
    assert status.key_hint == "child_status"
    assert texts(status) == (
        "☒ Child in need",
        "☐ Child protection plan (current)",
        "☒ Child protection plan (previous)",
        "☐ Looked after child",
        "☐ Care leaver",
        "☐ Early help",
        "☐ Not known to children's social care",
    )


def test_it_reads_a_wrapped_option_label_whole(acro_cspr: Document) -> None:
    criteria = texts(find(acro_cspr, "Which of the following apply? (tick all that apply)"))
    assert criteria[1] == (
        "☒ The child has sustained a potentially life-threatening injury or serious and "
        "permanent impairment of physical and/or mental health and development through "
        "abuse or neglect"
    )


def test_it_splits_a_text_field_value_into_its_typed_lines(acro_cspr: Document) -> None:
    assert texts(find(acro_cspr, "Brief summary of the incident")) == OUTLINE_LINES


def test_it_reads_an_unfilled_field_as_an_empty_answer(acro_cspr: Document) -> None:
    assert texts(find(acro_cspr, "Job title / role", "2. Referrer")) == ()
    assert texts(
        find(acro_cspr, "Does the child have a disability or special educational needs?")
    ) == (
        "☐ Yes",
        "☐ No",
    )


def test_it_reads_meaningless_field_names_by_their_tooltips() -> None:
    doc = read(pdf_builder.acroform_pdf(SIN, SIN_ANSWERS, names="meaningless"))
    name = find(doc, "Name", "1. Notifier")
    assert texts(name) == ("Björn Łopez",)
    assert name.key_hint is not None and name.key_hint.startswith("Text")
    assert texts(find(doc, "Gender")) == SIN_GENDER
    assert (
        texts(find(doc, "Reason for notification (more than one box may be ticked)")) == SIN_REASONS
    )


def test_it_finds_the_printed_labels_of_fields_without_tooltips() -> None:
    doc = read(pdf_builder.acroform_pdf(SIN, SIN_ANSWERS, names="meaningless", tooltips=False))
    assert texts(find(doc, WRAPPED_LABEL, "2. Notification")) == ("20/10/2026",)
    assert texts(find(doc, "Gender", "3. The child")) == SIN_GENDER
    assert (
        texts(find(doc, "Reason for notification (more than one box may be ticked)")) == SIN_REASONS
    )
    assert texts(find(doc, "Case outline")) == OUTLINE_LINES


def test_it_asks_the_page_for_the_question_of_boxes_whose_tooltip_is_their_option() -> None:
    doc = read(
        pdf_builder.acroform_pdf(SIN, SIN_ANSWERS, names="meaningless", box_tooltips="option")
    )
    assert (
        texts(find(doc, "Reason for notification (more than one box may be ticked)")) == SIN_REASONS
    )
    assert not [e for e in doc.entries if e.question == "Death of a looked after child"]


def test_it_finds_labels_beside_fields_when_no_table_is_drawn() -> None:
    data = pdf_builder.acroform_pdf(
        SIN, SIN_ANSWERS, names="meaningless", tooltips=False, ruled=False
    )
    doc = read(data)
    assert texts(find(doc, WRAPPED_LABEL, "2. Notification")) == ("20/10/2026",)
    assert (
        texts(find(doc, "Reason for notification (more than one box may be ticked)")) == SIN_REASONS
    )
    assert texts(find(doc, "Status at the time of the incident (tick all that apply)"))[3] == (
        "☒ Looked after child"
    )
    # The labels are answered by the fields: they are not left as running text
    # for the form matcher to misread as answers.
    assert "Notification reference" not in [f.text for f in doc.flow]


def test_it_reads_answers_typed_over_an_empty_fillable_form() -> None:
    doc = read(pdf_builder.typed_over_pdf(SIN, SIN_ANSWERS))
    assert "typed_annotations" in doc.notes
    assert texts(find(doc, "Name", "1. Notifier")) == ("Björn Łopez",)
    assert texts(find(doc, "Gender")) == SIN_GENDER  # an X typed over the box
    assert (
        texts(find(doc, "Reason for notification (more than one box may be ticked)")) == SIN_REASONS
    )
    assert texts(find(doc, "Home address (including postcode)")) == (
        "12 Bridge Street",
        "Warrington WA1 2AB",
    )


def test_it_reads_answers_typed_over_a_printed_form_with_an_x_in_its_boxes() -> None:
    doc = read(pdf_builder.typed_over_pdf(SIN, SIN_ANSWERS, printed=True))
    assert "typed_annotations" in doc.notes
    assert texts(find(doc, "Name", "1. Notifier")) == ("Björn Łopez",)
    assert texts(find(doc, "Gender")) == SIN_GENDER
    assert (
        texts(find(doc, "Reason for notification (more than one box may be ticked)")) == SIN_REASONS
    )


def test_it_takes_answers_typed_over_fields_that_were_left_empty() -> None:
    in_fields = {k: v for k, v in SIN_ANSWERS.items() if k not in ("child_surname", "child_gender")}
    typed = {k: SIN_ANSWERS[k] for k in ("child_surname", "child_gender")}
    doc = read(pdf_builder.typed_over_pdf(SIN, typed, in_fields=in_fields))
    assert "acroform" in doc.notes
    assert texts(find(doc, "Surname")) == ("Ní Bhriain",)
    assert texts(find(doc, "Gender")) == SIN_GENDER
    assert texts(find(doc, "Name", "1. Notifier")) == ("Björn Łopez",)


def test_it_reads_a_flattened_form_that_kept_a_signature_field_from_its_tables() -> None:
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import (
        ArrayObject,
        DictionaryObject,
        FloatObject,
        NameObject,
        TextStringObject,
    )

    writer = PdfWriter(
        clone_from=PdfReader(io.BytesIO(pdf_builder.flattened_pdf(SIN, SIN_ANSWERS)))
    )
    signature = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Annot"),
            NameObject("/Subtype"): NameObject("/Widget"),
            NameObject("/FT"): NameObject("/Sig"),
            NameObject("/T"): TextStringObject("Signature1"),
            NameObject("/Rect"): ArrayObject([FloatObject(v) for v in (300, 40, 500, 70)]),
        }
    )
    ref = writer._add_object(signature)
    writer.pages[0][NameObject("/Annots")] = ArrayObject([ref])
    writer._root_object[NameObject("/AcroForm")] = DictionaryObject(
        {NameObject("/Fields"): ArrayObject([ref])}
    )
    out = io.BytesIO()
    writer.write(out)
    doc = read(out.getvalue())
    assert "flattened" in doc.notes
    assert texts(find(doc, "Name", "1. Notifier")) == ("Björn Łopez",)
    assert texts(find(doc, "Gender")) == SIN_GENDER


def test_it_reads_a_blank_fillable_form_as_unanswered_not_as_every_option_chosen() -> None:
    doc = read(pdf_builder.acroform_pdf(SIN, {}))
    assert texts(find(doc, "Gender")) == ("☐ Male", "☐ Female", "☐ Other", "☐ Not known")
    assert texts(find(doc, "Surname")) == ()


# --- the real attachments in the examples -----------------------------------------


def attachment(eml: str, suffix: str) -> bytes:
    path = EXAMPLES / eml
    if not path.exists():
        pytest.skip(f"no example {path}")
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    for part in message.walk():
        name = part.get_filename() or ""
        payload = part.get_payload(decode=True)
        if name.lower().endswith(suffix) and isinstance(payload, bytes):
            return payload
    raise AssertionError(f"no {suffix} in {eml}")


def test_it_reads_the_acroform_referral_in_the_examples() -> None:
    doc = read(attachment("referral-accepted.eml", ".pdf"))
    assert texts(find(doc, "Email address", "2. Referrer")) == (
        "cmooreroberts@sankeybrookhig.warrington.sch.uk",
    )
    assert texts(find(doc, "Gender", "4. The child"))[:2] == ("☐ Male", "☒ Female")
    assert texts(find(doc, "Status at the time of the incident (tick all that apply)"))[0] == (
        "☒ Child in need"
    )
    assert len(texts(find(doc, "Brief summary of the incident"))) == 5
    assert doc.title[1] == "Child Safeguarding Practice Review (CSPR) Referral Form"


def test_it_reads_the_form_saved_from_word_in_the_examples() -> None:
    doc = read(attachment("dmarc-fail.eml", ".pdf"))
    reasons = find(doc, "Reason for notification (more than one box may be ticked)")
    # The referrer deleted the options that did not apply: plain text, no boxes.
    assert texts(reasons) == (
        "Death of a child where abuse or neglect is known or suspected",
        "A child normally resident in the area harmed or died outside England",
    )
    assert texts(find(doc, "Case outline"))[0] == (
        "Sian was found unresponsive by her grandmother at about 06:30 on 6 October 2026 "
        "after co-sleeping on a sofa."
    )
    assert texts(find(doc, WRAPPED_LABEL, "2. Notification")) == ("06.10.2026",)


def test_it_reads_the_flattened_form_inside_the_zip_in_the_examples() -> None:
    archive = zipfile.ZipFile(io.BytesIO(attachment("zipped.eml", ".zip")))
    doc = read(archive.read(archive.namelist()[0]))
    assert texts(find(doc, WRAPPED_LABEL)) == ("20/10/2026",)
    assert texts(find(doc, "Status at the time of the incident (tick all that apply)"))[2:4] == (
        "☒ Child protection plan (previous)",
        "☒ Looked after child",
    )
    outline = texts(find(doc, "Case outline", "4. The incident"))
    assert len(outline) == 7
    assert (
        outline[3]
        == "There were two previous police call-outs to the address for verbal arguments."
    )


def test_it_reads_a_letter_as_running_text_with_no_entries() -> None:
    doc = read(attachment("with-correspondence.eml", ".pdf"))
    assert doc.entries == []
    assert "Dear Colleagues," in [f.text for f in doc.flow]


def test_it_refuses_the_password_protected_pdf_in_the_examples() -> None:
    with pytest.raises(ParseError) as caught:
        read(attachment("encrypted-pdf.eml", ".pdf"))
    assert caught.value.reason is Reason.ENCRYPTED


# --- hostile and unreadable files -------------------------------------------------


def reason_for(data: bytes, limits: Limits | None = None) -> Reason:
    started = time.monotonic()
    with pytest.raises(ParseError) as caught:
        read(data, limits)
    assert time.monotonic() - started < 5
    return caught.value.reason


def plain_pdf(pages: int = 1, encrypt: tuple[str, str] | None = None) -> bytes:
    buffer = io.BytesIO()
    canvas = Canvas(buffer, invariant=True)
    for number in range(pages):
        canvas.drawString(72, 720, f"Page {number + 1} of a letter about a referral.")
        canvas.showPage()
    canvas.save()
    if encrypt is None:
        return buffer.getvalue()
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(buffer.getvalue())))
    writer.encrypt(user_password=encrypt[0], owner_password=encrypt[1], algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.mark.parametrize("keep", [0.3, 0.7, 0.99])
def test_it_calls_a_truncated_pdf_corrupt_rather_than_read_half_a_form(keep: float) -> None:
    data = pdf_builder.flattened_pdf(SIN, SIN_ANSWERS)
    assert reason_for(data[: int(len(data) * keep)]) is Reason.CORRUPT


@pytest.mark.parametrize(
    "data",
    [os.urandom(5000), b"%PDF-1.7\n" + os.urandom(5000), b"", b"%PDF-1.4\n%%EOF"],
    ids=["random", "random-after-header", "empty", "header-only"],
)
def test_it_calls_bytes_that_are_not_a_pdf_corrupt(data: bytes) -> None:
    assert reason_for(data) is Reason.CORRUPT


def test_it_refuses_a_pdf_that_needs_a_password_to_open() -> None:
    assert reason_for(plain_pdf(encrypt=("open-sesame", "owner"))) is Reason.ENCRYPTED


def test_it_reads_a_pdf_protected_only_by_an_owner_password() -> None:
    doc = read(plain_pdf(encrypt=("", "owner-only")))
    assert doc.flow[0].text == "Page 1 of a letter about a referral."


def test_it_refuses_more_pages_than_the_limit_before_reading_them() -> None:
    assert reason_for(plain_pdf(pages=400), Limits(max_pages=100)) is Reason.TOO_MANY_PAGES


def test_it_reads_only_the_first_pages_of_a_long_document() -> None:
    started = time.monotonic()
    doc = read(plain_pdf(pages=80))
    assert time.monotonic() - started < 15
    assert doc.pages == 80
    assert "read_first_30_pages" in doc.notes
    assert doc.flow[-1].text == "Page 30 of a letter about a referral."


def test_it_does_not_guess_at_a_scan() -> None:
    assert reason_for(pdf_builder.scanned_pdf(pages=2)) is Reason.NO_TEXT_LAYER


def hand_made_pdf(content: bytes, font: bytes) -> bytes:
    """A one-page PDF written byte by byte, for fonts reportlab will not make."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        font,
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    out.writelines(b"%010d 00000 n \n" % offset for offset in offsets)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\n" % (len(objects) + 1))
    out.write(b"startxref\n%d\n%%%%EOF\n" % xref)
    return out.getvalue()


def test_it_does_not_guess_at_text_whose_letters_cannot_be_decoded() -> None:
    # A composite font with no ToUnicode map: the codes say nothing.
    font = (
        b"<< /Type /Font /Subtype /Type0 /BaseFont /Custom /Encoding /Identity-H"
        b" /DescendantFonts [<< /Type /Font /Subtype /CIDFontType2 /BaseFont /Custom"
        b" /CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> >>] >>"
    )
    content = b"BT /F1 12 Tf 72 720 Td <0012001300140015001600170018> Tj ET"
    assert reason_for(hand_made_pdf(content, font)) is Reason.NO_TEXT_LAYER


def test_it_reads_a_hand_made_pdf_with_a_standard_font() -> None:
    font = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"
    content = b"BT /F1 12 Tf 72 720 Td (Dear Colleagues,) Tj ET"
    assert read(hand_made_pdf(content, font)).flow[0].text == "Dear Colleagues,"


# --- tick glyphs of symbol fonts ---------------------------------------------------


@pytest.mark.parametrize(
    ("text", "font", "mark"),
    [
        ("4", "ZapfDingbats", "☒"),
        ("8", "ZapfDingbats", "☒"),
        ("o", "ZapfDingbats", "☐"),
        ("þ", "Wingdings-Regular", "☒"),
        ("ý", "ABCDEF+Wingdings", "☒"),
        ("¨", "Wingdings", "☐"),
        ("R", "Wingdings2", "☒"),
        ("£", "Wingdings 2", "☐"),
        ("☑", "SegoeUISymbol", "☒"),
        ("☐", "MS-Gothic", "☐"),
        ("o", "Helvetica", None),
        ("4", "Arial", None),
    ],
)
def test_it_knows_tick_box_glyphs_by_font(text: str, font: str, mark: str | None) -> None:
    assert glyph_mark(text, font) == mark


# --- "Save as PDF" from Word, through LibreOffice -----------------------------------


def _need_soffice() -> None:
    if pdf_builder.soffice() is None:
        if os.environ.get("CI") == "true":
            pytest.fail("soffice (libreoffice-writer-nogui) is required in CI")
        pytest.skip("soffice (LibreOffice) is not installed")


def word_pdf(docx: bytes) -> Document:
    _need_soffice()
    return read(pdf_builder.pdf_from_docx(docx))


@pytest.fixture(scope="module")
def incomplete_from_word() -> Document:
    return word_pdf(attachment("referral-incomplete.eml", ".docx"))


def test_it_reads_a_word_form_saved_as_pdf(incomplete_from_word: Document) -> None:
    doc = incomplete_from_word
    section = "Section B – Details of the person making the referral"
    assert texts(find(doc, "Name", section)) == ("Aoife Hope",)
    assert texts(find(doc, "Job title / role", section)) == ()
    assert texts(find(doc, "Sex / gender")) == ("☒ Male", "☐ Female", "☐ Other", "☐ Not known")
    assert texts(find(doc, "Home address (including postcode)")) == (
        "173 Powell Field",
        "Latchford",
        "Warrington",
        "WA1 0RY",
    )


def test_it_rejoins_a_word_broken_at_a_hyphen(incomplete_from_word: Document) -> None:
    rationale = texts(find(incomplete_from_word, RATIONALE))
    assert rationale[-1] == (
        "The case meets the criteria for a rapid review because a non-mobile infant has "
        "life-threatening injuries."
    )


WORD_STYLES = (
    "typed",
    "tick_column",
    "legacy_fields",
    "wingdings",
    "highlight_choice",
    "tracked_changes",
    "content_controls",
    "merged_layout",
    "paragraphs",
)


@pytest.fixture(scope="module")
def from_word() -> dict[str, Document]:
    """The SIN filled in several Word styles, each saved as PDF by LibreOffice."""
    _need_soffice()
    docx_builder = pytest.importorskip("tests.builders.docx_builder")
    docs = [docx_builder.filled_docx(SIN, SIN_ANSWERS, style) for style in WORD_STYLES]
    pdfs = pdf_builder.pdfs_from_docx(docs)
    return {style: read(pdf) for style, pdf in zip(WORD_STYLES, pdfs, strict=True)}


def test_it_reads_a_typed_word_form_saved_as_pdf(from_word: dict[str, Document]) -> None:
    doc = from_word["typed"]
    assert texts(find(doc, "Name", "1. Notifier")) == ("Björn Łopez",)
    assert texts(find(doc, "Gender")) == SIN_GENDER
    assert texts(find(doc, "Case outline")) == OUTLINE_LINES


def test_it_reads_options_a_row_each_with_a_cell_to_tick(from_word: dict[str, Document]) -> None:
    doc = from_word["tick_column"]
    reasons = find(doc, "Reason for notification (more than one box may be ticked)")
    assert texts(reasons) == SIN_REASONS
    assert texts(find(doc, "Gender")) == SIN_GENDER


def test_it_reads_word_legacy_check_boxes_drawn_as_crossed_squares(
    from_word: dict[str, Document],
) -> None:
    reasons = find(
        from_word["legacy_fields"], "Reason for notification (more than one box may be ticked)"
    )
    assert texts(reasons) == SIN_REASONS


def test_it_reads_wingdings_boxes_moved_into_the_private_use_area(
    from_word: dict[str, Document],
) -> None:
    assert texts(find(from_word["wingdings"], "Gender")) == SIN_GENDER


def test_it_marks_a_highlighted_choice_as_emphasis(from_word: dict[str, Document]) -> None:
    gender = find(from_word["highlight_choice"], "Gender").answer
    assert [line.text for line in gender if line.emphasis] == ["☐ Female"]


def test_it_leaves_out_text_struck_through_as_a_tracked_deletion(
    from_word: dict[str, Document],
) -> None:
    doc = from_word["tracked_changes"]
    assert texts(find(doc, "Name", "1. Notifier")) == ("Björn Łopez",)
    assert "to follow" not in doc.all_text()


def test_it_drops_the_placeholder_of_an_empty_content_control(
    from_word: dict[str, Document],
) -> None:
    doc = from_word["content_controls"]
    assert texts(find(doc, "Notification reference")) == ()
    assert "Click or tap" not in doc.all_text()


def test_it_reads_two_questions_side_by_side_in_one_row(from_word: dict[str, Document]) -> None:
    doc = from_word["merged_layout"]
    assert texts(find(doc, "Forename(s)")) == ("Zoë",)
    assert texts(find(doc, "Surname")) == ("Ní Bhriain",)


def test_it_reads_options_in_a_grid_nested_in_the_answer_cell(
    from_word: dict[str, Document],
) -> None:
    reasons = find(
        from_word["merged_layout"], "Reason for notification (more than one box may be ticked)"
    )
    assert texts(reasons) == SIN_REASONS


def test_it_rejoins_running_text_that_wrapped(from_word: dict[str, Document]) -> None:
    flow = [f.text for f in from_word["paragraphs"].flow]
    role = "Director of Children's Services"
    assert f"Role: {role}" in flow or ("Role:", role) in itertools.pairwise(flow)
    assert "☒ Female" in flow
    assert OUTLINE_LINES[0] in flow  # two lines on the page


@pytest.mark.parametrize("build", ["acroform", "flattened"])
def test_a_heading_wrapped_onto_a_second_line_is_one_heading(build: str) -> None:
    import dataclasses

    long_title = (
        "Please give the details of the designated safeguarding lead or officer with whom "
        "you have discussed this case before making the referral to the partnership"
    )
    sections = tuple(
        dataclasses.replace(s, title=long_title) if s.key == "dsl" else s for s in CSPR.sections
    )
    schema = dataclasses.replace(CSPR, sections=sections)
    if build == "acroform":
        data = pdf_builder.acroform_pdf(schema, CSPR_ANSWERS)
    else:
        data = pdf_builder.flattened_pdf(schema, CSPR_ANSWERS, "word")
    doc = read_pdf(data, "form.pdf", Limits())
    dsl_questions = [e for e in doc.entries if "safeguarding lead" in e.section]
    assert dsl_questions, [e.section for e in doc.entries]
    assert all(" ".join(e.section.split()).endswith(long_title) for e in dsl_questions)


def _headings_of_page(lines: list[tuple[float, bool, str]], size: int = 10) -> list[str]:
    """The headings read from one page of running text: (height, bold, text) lines."""
    buffer = io.BytesIO()
    canvas = Canvas(buffer, invariant=True)
    for y, bold, text in lines:
        canvas.setFont("Helvetica-Bold" if bold else "Helvetica", size)
        canvas.drawString(72, y, text)
    canvas.showPage()
    canvas.save()
    doc = read_pdf(buffer.getvalue(), "form.pdf", Limits())
    return [line.text for line in doc.flow if line.heading]


_TITLE = (760, False, "Referral for consideration by the case review group")


def test_a_heading_that_wraps_mid_sentence_is_read_as_one_heading() -> None:
    headings = _headings_of_page(
        [
            _TITLE,
            (730, True, "2. Referrer"),
            (715, False, "Name: Leo Rushton"),
            (
                700,
                True,
                "3. Please give the details of the designated safeguarding lead with whom you",
            ),
            (688, True, "discussed the case."),
            (660, False, "Name: Arthur Lomax"),
            (640, False, "Job title: Designated Safeguarding Lead"),
            (600, True, "4. The child"),
            (580, False, "Forename(s): Arthur"),
        ]
    )
    assert (
        "3. Please give the details of the designated safeguarding lead with whom you "
        "discussed the case."
    ) in headings
    assert "4. The child" in headings
    assert "discussed the case." not in headings


def test_a_long_bold_answer_that_starts_with_a_date_is_not_a_heading() -> None:
    answer = (
        "12 August 2026 Arthur was taken to hospital by ambulance after a neighbour called, and he"
    )
    headings = _headings_of_page(
        [
            _TITLE,
            (730, True, "6. The incident"),
            (715, False, "Brief summary of the incident:"),
            (700, True, answer),
            (689, True, "had a head injury that was not consistent with the account given."),
        ],
        size=9,
    )
    assert headings == ["6. The incident"]


def test_a_numbered_heading_that_starts_with_a_month_word_is_still_a_heading() -> None:
    from parsers.pdf.table import _NUMBERED

    assert _NUMBERED.match("4. May we contact the family")
    assert _NUMBERED.match("10) Sept review")
    assert not _NUMBERED.match("12 August 2026 Arthur was taken to hospital")


def _words(text: str, x: float, top: float, size: float = 10.0) -> list[Word]:
    out = []
    for part in text.split():
        width = 5.0 * len(part)
        out.append(Word(part, Box(x, top, x + width, top + size), size=size))
        x += width + 3.0
    return out


@pytest.mark.parametrize(
    ("first", "second", "joined"),
    [
        ("Police investigation / criminal", "proceedings?", True),
        ("Agencies involved with the child and", "family", True),
        ("Reason for notification (more", "than one box may be ticked)", True),
        ("Name", "email:", False),  # a question of its own, in small letters
        ("Telephone:", "mobile", False),  # the line above ends its question
        ("Name", "Job title", False),
        ("Completed by", "Date", False),  # rows a line apart: a question ending in "by"
        ("Which local authority does the child live", "in", False),
        ("Contact telephone number", "e-mail address:", False),
        ("Has the family been told about this referral", "if not, why not?", False),
    ],
)
def test_a_label_wrapped_mid_phrase_in_an_unruled_form_is_one_question(
    first: str, second: str, joined: bool
) -> None:
    """A form with no rules whose label wraps before it is full ("... criminal",
    then "proceedings?"; "... child and", then "family"): one question, its
    answer whole.  Read as two, "☐ Yes" alone beside the first line was taken
    for the answer Yes, and a form was accepted with it."""
    rows = [
        ("Name of the child", "Amy Smith"),
        ("Date of birth", "01/02/2020"),
        ("A long question whose label reaches the column edge", "Yes"),
        (first, "☐ Yes"),
        (second, "☐ No"),
        ("", "☒ Not known"),
        ("Crime reference", "123"),
    ]
    words: list[Word] = []
    top = 100.0
    for label, answer in rows:
        # rows 18pt apart; the wrapped second line of a label (and its answer) 12pt
        top += 12.0 if label in (second, "") else 18.0
        words += _words(label, 50.0, top) + _words(answer, 320.0, top)
    found = column_layout(words, lambda _line: False)
    assert found is not None
    labels = [
        " ".join(w.text for w in item.label) for item in found[0] if isinstance(item, ColumnRow)
    ]
    if joined:
        assert f"{first} {second}" in labels
    else:
        assert first in labels and second in labels
