"""parsers.docx: Word forms, filled every way people fill them, read into a Document."""

from __future__ import annotations

import io
import itertools
from collections.abc import Mapping, Sequence
from pathlib import Path

import docx
import pytest

from parsers.document import Document, Entry, Line
from parsers.docx import read_docx
from parsers.limits import Limits
from parsers.schema import load_schemas
from tests.builders.docx_builder import (
    STYLES,
    cell,
    docx_from_body,
    filled_docx,
    para,
    random_answers,
    run,
    table,
)
from tests.builders.examples import example_docx

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = load_schemas(ROOT / "config" / "forms")
CSPR = SCHEMAS["cspr_referral"]
SIN = SCHEMAS["serious_incident_notification"]

ANSWERS: dict[str, str | list[str]] = {
    **random_answers(CSPR, 7),
    "referral_type": ["rapid_review"],
    "referrer_name": "Ivy Lomax",
    "referrer_job_title": "Social Worker",
    "dsl_name": "Reuben Garside",
    "dsl_agreed": ["yes"],
    "child_surname": "Halewood",
    "child_other_names": "",
    "child_gender": ["female"],
    "child_address": "12 Orchard Lane\nGreat Sankey\nWA5 3QT",
    "child_status": ["child_in_need", "early_help"],
    "incident_summary": "The child was taken to hospital.\nA strategy meeting was held.",
    "police_investigation": ["not_known"],
}
GENDER_TICKED = ["☐ Male", "☒ Female", "☐ Other", "☐ Not known"]
STATUS_TICKED = [
    "☒ Child in need",
    "☐ Child protection plan (current)",
    "☐ Child protection plan (previous)",
    "☐ Looked after child",
    "☐ Care leaver",
    "☒ Early help",
    "☐ Not known to children's social care",
]


def read(data: bytes, limits: Limits | None = None) -> Document:
    return read_docx(data, "form.docx", limits or Limits())


def form(style: str, answers: Mapping[str, str | Sequence[str]] = ANSWERS) -> Document:
    return read(filled_docx(CSPR, answers, style))


def entry(doc: Document, question: str, section: str = "") -> Entry:
    """The entry for ``question`` whose section contains ``section``."""
    found = [e for e in doc.entries if e.question == question and section in e.section]
    assert found, f"no entry {question!r} in {section!r}: {[e.question for e in doc.entries]}"
    return found[0]


def texts(e: Entry) -> list[str]:
    return [line.text for line in e.answer]


def body(*blocks: str) -> Document:
    return read(docx_from_body(blocks))


def one_row(label: str, answer_xml: str) -> str:
    return table(
        [cell(para(run(label)), 3000, fill="DCE6F1") + cell(answer_xml, 6000)], (3000, 6000)
    )


# -- each fill style ------------------------------------------------------------------
def test_it_reads_answers_typed_into_the_published_layout() -> None:
    doc = form("typed")
    assert texts(entry(doc, "Name", "2. Referrer")) == ["Ivy Lomax"]
    assert texts(entry(doc, "Name", "3. Safeguarding lead")) == ["Reuben Garside"]
    assert texts(entry(doc, "Gender", "4. The child")) == GENDER_TICKED
    assert texts(entry(doc, "Has the safeguarding lead agreed to this referral?")) == ["☒ Yes ☐ No"]
    address = entry(doc, "Home address (including postcode)")
    assert texts(address) == ["12 Orchard Lane", "Great Sankey", "WA5 3QT"]
    assert address.source.startswith("table 4, row")


def test_it_gives_the_title_lines_and_the_section_headings() -> None:
    doc = form("typed")
    assert doc.title[:2] == [
        "Warrington Safeguarding Partnership",
        "Child Safeguarding Practice Review (CSPR) Referral Form",
    ]
    headings = [line.text for line in doc.flow if line.heading]
    assert headings[:3] == [
        "1. About this referral",
        "2. Referrer",
        "3. Safeguarding lead consulted",
    ]


def test_it_reads_a_ballot_box_with_check_as_ticked() -> None:
    assert texts(entry(form("ballot_check"), "Gender")) == GENDER_TICKED


def test_it_reads_an_x_typed_in_place_of_a_box_as_ticked() -> None:
    doc = form("x_for_box")
    assert texts(entry(doc, "Gender")) == GENDER_TICKED
    assert texts(entry(doc, "Has the safeguarding lead agreed to this referral?")) == ["☒ Yes ☐ No"]


def test_it_reads_an_x_typed_after_an_option_as_ticked() -> None:
    doc = form("x_after")
    assert texts(entry(doc, "Status at the time of the incident (tick all that apply)")) == (
        STATUS_TICKED
    )
    assert texts(entry(doc, "Has the safeguarding lead agreed to this referral?")) == ["☒ Yes ☐ No"]


def test_it_reads_yes_typed_beside_an_option_as_ticked() -> None:
    assert texts(entry(form("yes_beside"), "Gender")) == GENDER_TICKED


def test_it_keeps_what_is_left_when_the_other_options_were_deleted() -> None:
    assert texts(entry(form("kept_boxes"), "Gender")) == ["☐ Female"]
    assert texts(entry(form("deleted_options"), "Gender")) == ["Female"]


def test_it_reads_options_ticked_in_a_column_beside_them() -> None:
    doc = form("tick_column")
    assert texts(entry(doc, "Gender")) == GENDER_TICKED
    assert texts(entry(doc, "Has the safeguarding lead agreed to this referral?")) == [
        "☒ Yes",
        "☐ No",
    ]
    assert entry(doc, "Ethnicity").section == "4. The child"


def test_it_leaves_out_the_options_struck_through() -> None:
    doc = form("struck_out")
    assert texts(entry(doc, "Gender")) == ["☐ Female"]
    assert texts(entry(doc, "Has the safeguarding lead agreed to this referral?")) == ["☐ Yes"]


@pytest.mark.parametrize("style", ["bold_choice", "highlight_choice"])
def test_it_marks_the_one_option_set_apart_when_no_box_is_ticked(style: str) -> None:
    doc = form(style)
    assert entry(doc, "Gender").answer == (
        Line("☐ Male"),
        Line("☐ Female", emphasis=True),
        Line("☐ Other"),
        Line("☐ Not known"),
    )
    assert entry(doc, "Has the safeguarding lead agreed to this referral?").answer == (
        Line("☐ Yes", emphasis=True),
        Line("☐ No"),
    )


def test_it_reads_check_box_drop_down_and_text_content_controls() -> None:
    doc = form("content_controls")
    assert texts(entry(doc, "Status at the time of the incident (tick all that apply)")) == (
        STATUS_TICKED
    )
    gender = entry(doc, "Gender")
    assert (texts(gender), gender.key_hint) == (["Female"], "child_gender")
    surname = entry(doc, "Surname")
    assert (texts(surname), surname.key_hint) == (["Halewood"], "child_surname")
    assert "content_controls" in doc.notes


def test_it_reads_a_content_control_showing_its_placeholder_as_empty() -> None:
    other = entry(form("content_controls"), "Other names used")
    assert (other.answer, other.key_hint) == ((), "child_other_names")


def test_it_reads_words_placeholder_text_as_empty_after_another_editor_saved_it() -> None:
    # LibreOffice keeps the placeholder's words but drops w:showingPlcHdr.
    control = (
        '<w:sdt><w:sdtPr><w:alias w:val="Other names used"/><w:text/></w:sdtPr>'
        f"<w:sdtContent>{run('Click or tap here to enter text.')}</w:sdtContent></w:sdt>"
    )
    found = entry(body(one_row("Other names used", para(control))), "Other names used")
    assert (found.answer, found.key_hint) == ((), "Other names used")


def test_it_reads_legacy_form_fields() -> None:
    doc = form("legacy_fields")
    assert texts(entry(doc, "Status at the time of the incident (tick all that apply)")) == (
        STATUS_TICKED
    )
    assert texts(entry(doc, "Gender")) == ["Female"]
    surname = entry(doc, "Surname")
    assert (texts(surname), surname.key_hint) == (["Halewood"], "child_surname")
    assert texts(entry(doc, "Home address (including postcode)")) == [
        "12 Orchard Lane",
        "Great Sankey",
        "WA5 3QT",
    ]
    assert entry(doc, "Other names used").answer == ()
    assert "legacy_fields" in doc.notes


def test_it_reads_wingdings_symbols_as_boxes() -> None:
    doc = form("wingdings")
    assert texts(entry(doc, "Gender")) == GENDER_TICKED
    assert texts(entry(doc, "Status at the time of the incident (tick all that apply)")) == (
        STATUS_TICKED
    )


def test_it_takes_a_bold_line_over_label_lines_as_a_heading_and_not_over_an_answer() -> None:
    doc = body(
        para(run("Referrer details", bold=True)),
        para(run("Name: Ivy Lomax")),
        para(run("Home address", bold=True)),
        para(run("12 Orchard Lane")),
    )
    assert [(line.text, line.heading) for line in doc.flow] == [
        ("Referrer details", True),
        ("Name: Ivy Lomax", False),
        ("Home address", False),
        ("12 Orchard Lane", False),
    ]


def said(lines: list[str], label: str, value: str) -> bool:
    """``label`` and its ``value`` on one line, or the value on the line under it
    (the paragraphs style writes both)."""
    pairs = itertools.pairwise(lines)
    return f"{label} {value}" in lines or (label, value) in pairs


def test_it_gives_answers_written_in_paragraphs_as_flow_lines() -> None:
    doc = form("paragraphs")
    lines = [line.text for line in doc.flow]
    assert said(lines, "Surname:", "Halewood")
    at = lines.index("Gender")
    assert lines[at + 1 : at + 5] == GENDER_TICKED
    assert [line.text for line in doc.flow if line.heading][:2] == [
        "1. About this referral",
        "2. Referrer",
    ]
    assert doc.entries == []


def test_it_keeps_each_answer_with_its_own_section_when_rows_are_reordered() -> None:
    doc = form("reordered")
    assert texts(entry(doc, "Name", "2. Referrer")) == ["Ivy Lomax"]
    assert texts(entry(doc, "Name", "3. Safeguarding lead")) == ["Reuben Garside"]
    assert entry(doc, "For office use: Ref No").answer == ()
    assert texts(entry(doc, "Preferred method of contact")) == ["Email"]


def test_it_reads_another_partnerships_wording() -> None:
    doc = form("other_wording")
    assert all(e.section.startswith("Section ") for e in doc.entries)
    referrer = [e for e in doc.entries if e.section.startswith("Section B")]
    assert "Ivy Lomax" in [e.text for e in referrer]
    assert doc.title[0] != "Warrington Safeguarding Partnership"


def test_it_reads_one_table_with_merged_title_rows_pairs_and_nested_options() -> None:
    doc = form("merged_layout")
    assert not [e for e in doc.entries if e.question == "Question"]  # the header row
    assert texts(entry(doc, "Name", "2. Referrer")) == ["Ivy Lomax"]
    assert texts(entry(doc, "Job title / role", "2. Referrer")) == ["Social Worker"]
    assert entry(doc, "Name", "2. Referrer").source == entry(doc, "Job title / role").source
    assert texts(entry(doc, "Home address (including postcode)")) == [
        "12 Orchard Lane",
        "Great Sankey",
        "WA5 3QT",
    ]
    assert texts(entry(doc, "Status at the time of the incident (tick all that apply)")) == (
        STATUS_TICKED
    )
    assert texts(entry(doc, "Brief summary of the incident", "6. The incident")) == [
        "The child was taken to hospital.",
        "A strategy meeting was held.",
    ]


def test_it_splits_an_answer_at_line_breaks() -> None:
    assert texts(entry(form("line_breaks"), "Brief summary of the incident")) == [
        "The child was taken to hospital.",
        "A strategy meeting was held.",
    ]


def test_it_shows_tracked_changes_as_accepted() -> None:
    doc = form("tracked_changes")
    assert texts(entry(doc, "Gender")) == GENDER_TICKED
    assert texts(entry(doc, "Surname")) == ["Halewood"]
    assert "to follow" not in doc.all_text()


def test_it_reads_list_bullets_that_are_boxes() -> None:
    doc = form("bullet_boxes")
    assert texts(entry(doc, "Gender")) == GENDER_TICKED
    assert texts(entry(doc, "Has the safeguarding lead agreed to this referral?")) == [
        "☒ Yes",
        "☐ No",
    ]


def test_it_reads_text_split_into_runs_with_words_editing_marks_between() -> None:
    doc = form("word_noise")
    assert texts(entry(doc, "Name", "2. Referrer")) == ["Ivy Lomax"]
    assert texts(entry(doc, "Gender")) == GENDER_TICKED
    assert texts(entry(doc, "Home address (including postcode)")) == [
        "12 Orchard Lane",
        "Great Sankey",
        "WA5 3QT",
    ]


@pytest.mark.parametrize("style", STYLES)
def test_it_reads_every_style_of_both_forms_quickly(style: str) -> None:
    for schema in (CSPR, SIN):
        data = filled_docx(schema, random_answers(schema, 3), style)
        limits = Limits(max_seconds=2.0)
        doc = read(data, limits)
        assert doc.kind == "docx"
        assert doc.entries or doc.flow


# -- WordprocessingML details ------------------------------------------------------------
def test_it_shows_a_fields_result_and_never_its_instruction() -> None:
    field_runs = (
        '<w:r><w:fldChar w:fldCharType="begin"/></w:r>'
        '<w:r><w:instrText xml:space="preserve"> DATE \\@ "dd/MM/yyyy" </w:instrText></w:r>'
        '<w:r><w:fldChar w:fldCharType="separate"/></w:r>'
        + run("20/01/2026")
        + '<w:r><w:fldChar w:fldCharType="end"/></w:r>'
    )
    simple = '<w:fldSimple w:instr=" PAGE ">' + run("3") + "</w:fldSimple>"
    doc = body(one_row("Date of referral", para(field_runs)), one_row("Page", para(simple)))
    assert texts(entry(doc, "Date of referral")) == ["20/01/2026"]
    assert texts(entry(doc, "Page")) == ["3"]


def test_it_reads_a_legacy_text_field_default_only_when_it_has_no_result() -> None:
    ffdata = (
        '<w:ffData><w:name w:val="Surname"/><w:textInput><w:default w:val="Unknown"/>'
        "</w:textInput></w:ffData>"
    )
    runs = (
        f'<w:r><w:fldChar w:fldCharType="begin">{ffdata}</w:fldChar></w:r>'
        '<w:r><w:instrText xml:space="preserve"> FORMTEXT </w:instrText></w:r>'
        '<w:r><w:fldChar w:fldCharType="end"/></w:r>'
    )
    found = entry(body(one_row("Surname", para(runs))), "Surname")
    assert (texts(found), found.key_hint) == (["Unknown"], "Surname")


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ('<w:default w:val="1"/>', "☒"),
        ('<w:default w:val="1"/><w:checked w:val="0"/>', "☐"),
        ('<w:default w:val="0"/><w:checked/>', "☒"),
        ('<w:default w:val="0"/>', "☐"),
    ],
)
def test_it_reads_a_legacy_check_box_from_checked_then_default(state: str, expected: str) -> None:
    box = f"<w:checkBox><w:sizeAuto/>{state}</w:checkBox>"
    ffdata = f'<w:ffData><w:name w:val="Check1"/>{box}</w:ffData>'
    runs = (
        f'<w:r><w:fldChar w:fldCharType="begin">{ffdata}</w:fldChar></w:r>'
        '<w:r><w:instrText xml:space="preserve"> FORMCHECKBOX </w:instrText></w:r>'
        '<w:r><w:fldChar w:fldCharType="separate"/></w:r>'
        '<w:r><w:fldChar w:fldCharType="end"/></w:r>' + run(" Yes")
    )
    assert texts(entry(body(one_row("Agreed?", para(runs))), "Agreed?")) == [f"{expected} Yes"]


def test_it_reads_a_legacy_drop_down_by_its_result_index() -> None:
    entries = "".join(f'<w:listEntry w:val="{v}"/>' for v in ("Yes", "No", "Not known"))
    choices = f'<w:ddList><w:result w:val="2"/>{entries}</w:ddList>'
    ffdata = f'<w:ffData><w:name w:val="Police"/>{choices}</w:ffData>'
    runs = (
        f'<w:r><w:fldChar w:fldCharType="begin">{ffdata}</w:fldChar></w:r>'
        '<w:r><w:instrText xml:space="preserve"> FORMDROPDOWN </w:instrText></w:r>'
        '<w:r><w:fldChar w:fldCharType="end"/></w:r>'
    )
    found = entry(body(one_row("Police investigation?", para(runs))), "Police investigation?")
    assert (texts(found), found.key_hint) == (["Not known"], "Police")


def test_it_does_not_double_the_glyph_inside_a_check_box_control() -> None:
    control = (
        '<w:sdt><w:sdtPr><w14:checkbox><w14:checked w14:val="0"/></w14:checkbox></w:sdtPr>'
        f"<w:sdtContent>{run('☒', font='MS Gothic')}</w:sdtContent></w:sdt>"
    )
    assert texts(entry(body(one_row("Agreed?", para(control + run(" Yes")))), "Agreed?")) == [
        "☐ Yes"
    ]


def test_it_reads_text_inside_hyperlinks_insertions_and_alternate_content_once() -> None:
    link = '<w:hyperlink r:id="rId99" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    runs = (
        f"{link}{run('jo.lee@')}</w:hyperlink>"
        '<w:ins w:id="1" w:author="A" w:date="2026-01-01T00:00:00Z">'
        + run("example.org")
        + "</w:ins>"
        '<w:del w:id="2" w:author="A"><w:r><w:delText>.uk</w:delText></w:r></w:del>'
        '<mc:AlternateContent><mc:Choice Requires="w14">' + run(" (secure)") + "</mc:Choice>"
        "<mc:Fallback>" + run(" (secure)") + "</mc:Fallback></mc:AlternateContent>"
    )
    assert texts(entry(body(one_row("Email", para(runs))), "Email")) == [
        "jo.lee@example.org (secure)"
    ]


def test_it_folds_tabs_and_spaces_and_drops_blank_paragraphs() -> None:
    answer = (
        para(run("  Ivy ") + "<w:r><w:tab/></w:r>" + run("  Lomax  "))
        + "<w:p/>"
        + para(run("Second"))
    )
    assert texts(entry(body(one_row("Name", answer)), "Name")) == ["Ivy Lomax", "Second"]


def test_it_reads_symbols_from_wingdings_fonts_as_boxes() -> None:
    runs = (
        '<w:r><w:sym w:font="Wingdings" w:char="F0FE"/></w:r>'
        + run(" Yes  ")
        + '<w:r><w:sym w:font="Wingdings 2" w:char="F0A3"/></w:r>'
        + run(" No")
    )
    assert texts(entry(body(one_row("Agreed?", para(runs))), "Agreed?")) == ["☒ Yes ☐ No"]


def test_it_takes_a_label_row_with_the_answer_in_the_row_below() -> None:
    rows = [
        cell(para(run("Brief summary of the incident")), 9000, fill="DCE6F1", span=2),
        cell(para(run("First line.")) + para(run("Second line.")), 9000, span=2),
    ]
    doc = body(table(rows, (3000, 6000)))
    found = entry(doc, "Brief summary of the incident")
    assert (texts(found), found.source) == (["First line.", "Second line."], "table 1, row 1")


def test_it_takes_a_section_title_from_a_merged_row_for_the_rows_below() -> None:
    rows = [
        cell(para(run("Section B – Details of the person making the referral")), 9000, span=2),
        cell(para(run("Name")), 3000, fill="DCE6F1") + cell(para(run("Ivy Lomax")), 6000),
    ]
    found = entry(body(table(rows, (3000, 6000))), "Name")
    assert found.section == "Section B – Details of the person making the referral"


def test_it_takes_a_plain_line_across_the_table_as_the_title_of_the_rows_below() -> None:
    rows = [
        cell(para(run("Details of the child")), 9000, span=2),
        cell(para(run("Surname")), 3000) + cell(para(run("Lomax")), 6000),
    ]
    assert entry(body(table(rows, (3000, 6000))), "Surname").section == "Details of the child"


def test_it_reads_boxes_and_options_in_cells_of_their_own_across_the_row() -> None:
    cells = [("Gender", "DCE6F1"), ("☒", None), ("Male", None), ("☐", None), ("Female", None)]
    row = "".join(cell(para(run(text)), 1500, fill=fill) for text, fill in cells)
    doc = body(table([row], (1500,) * 5))
    assert texts(entry(doc, "Gender")) == ["☒ Male ☐ Female"]


def test_it_reads_text_beside_an_empty_logo_cell_as_running_text() -> None:
    row = cell("<w:p/>", 2000) + cell(para(run("CSPR Referral Form")), 7000)
    doc = body(table([row], (2000, 7000)))
    assert (doc.entries, doc.title) == ([], ["CSPR Referral Form"])
    assert [line.text for line in doc.flow] == ["CSPR Referral Form"]


def test_it_joins_a_label_printed_over_two_lines_into_one_question() -> None:
    label = para(run("Date of birth")) + para(run("(if known)"))
    row = cell(label, 3000, fill="DCE6F1") + cell("<w:p/>", 6000)
    found = entry(body(table([row], (3000, 6000))), "Date of birth (if known)")
    assert found.answer == ()


def test_it_reads_options_ticked_in_a_column_of_their_own() -> None:
    rows = [cell(para(run("Status (tick all that apply)")), 9000, fill="DCE6F1", span=2)]
    for option, mark in (("Child in need", "X"), ("Early help", ""), ("Care leaver", "✓")):
        rows.append(cell(para(run(option)), 6000) + cell(para(run(mark)) if mark else "", 3000))
    rows.append(cell(para(run("Agreed?")), 6000) + cell(para(run("Yes")), 3000))
    rows.append(cell(para(run("Ethnicity")), 6000, fill="DCE6F1") + cell(para(run("Other")), 3000))
    doc = body(table(rows, (6000, 3000)))
    assert texts(entry(doc, "Status (tick all that apply)")) == [
        "☒ Child in need",
        "☐ Early help",
        "☒ Care leaver",
    ]
    assert texts(entry(doc, "Agreed?")) == ["Yes"]
    assert texts(entry(doc, "Ethnicity")) == ["Other"]


def test_it_splits_a_label_and_answer_typed_into_one_merged_cell() -> None:
    rows = [cell(para(run("Name: Jane Smith")), 9000, span=2)]
    assert texts(entry(body(table(rows, (3000, 6000))), "Name")) == ["Jane Smith"]


def test_it_reads_questions_in_a_table_nested_in_a_cell() -> None:
    inner = table(
        [cell(para(run("Surname")), 2000, fill="DCE6F1") + cell(para(run("Halewood")), 3000)],
        (2000, 3000),
    )
    outer = table([cell(para(run("The child")), 3000) + cell(inner + "<w:p/>", 6000)], (3000, 6000))
    doc = body(para(run("4. The child"), style="Heading2"), outer)
    found = entry(doc, "Surname")
    assert (texts(found), found.section, found.source) == (
        ["Halewood"],
        "4. The child",
        "table 2, row 1",
    )


def test_it_reads_a_whole_form_laid_out_inside_one_big_cell() -> None:
    inner = table(
        [cell(para(run("Name")), 2000, fill="DCE6F1") + cell(para(run("Ivy Lomax")), 3000)],
        (2000, 3000),
    )
    page = para(run("Section B – Referrer", bold=True)) + inner + para(run("Thank you."))
    doc = body(table([cell(page + "<w:p/>", 9000)], (9000,)))
    found = entry(doc, "Name")
    assert (texts(found), found.section) == (["Ivy Lomax"], "Section B – Referrer")
    assert "Thank you." in [line.text for line in doc.flow]


def test_it_leaves_out_options_struck_through_as_deleted_as_appropriate() -> None:
    struck = '<w:r><w:rPr><w:strike/></w:rPr><w:t xml:space="preserve">Yes / </w:t></w:r>'
    doc = body(one_row("Agreed?", para(struck + run("No"))))
    assert texts(entry(doc, "Agreed?")) == ["No"]


def test_it_splits_slash_separated_options_when_one_is_marked_out() -> None:
    answer = para(run("Yes / ") + run("No", bold=True) + run(" / Not") + run(" known"))
    assert entry(body(one_row("Police?", answer)), "Police?").answer == (
        Line("Yes"),
        Line("No", emphasis=True),
        Line("Not known"),
    )


def test_it_keeps_a_line_whole_when_part_of_it_is_bold_without_separators() -> None:
    answer = para(run("Ivy ") + run("Lomax", bold=True))
    assert entry(body(one_row("Name", answer)), "Name").answer == (Line("Ivy Lomax"),)


def test_it_splits_options_with_boxes_after_their_words_when_one_is_bold() -> None:
    answer = para(run("Yes ") + run("☐", font="MS Gothic") + run("   ") + run("No", bold=True))
    answer = answer.replace("</w:p>", run(" ") + run("☐", font="MS Gothic") + "</w:p>")
    assert entry(body(one_row("Agreed?", answer)), "Agreed?").answer == (
        Line("Yes ☐"),
        Line("No ☐", emphasis=True),
    )


def test_it_marks_emphasis_from_a_character_style() -> None:
    answer = para(run("☐ Yes", style="Strong")) + para(run("☐ No"))
    assert entry(body(one_row("Agreed?", answer)), "Agreed?").answer == (
        Line("☐ Yes", emphasis=True),
        Line("☐ No"),
    )


def test_it_names_an_answer_by_the_content_control_around_its_cell() -> None:
    answer = cell(para(run("Lomax")), 6000)
    wrapped = f'<w:sdt><w:sdtPr><w:tag w:val="child_surname"/></w:sdtPr><w:sdtContent>{answer}'
    row = cell(para(run("Surname")), 3000, fill="DCE6F1") + wrapped + "</w:sdtContent></w:sdt>"
    found = entry(body(table([row], (3000, 6000))), "Surname")
    assert (texts(found), found.key_hint) == (["Lomax"], "child_surname")


def test_it_drops_characters_never_seen_on_the_page() -> None:
    answer = para(run("\u200bIvy\u00a0Lo\u00admax\ufeff"))
    assert texts(entry(body(one_row("Name", answer)), "Name")) == ["Ivy Lomax"]


def test_it_drops_fill_in_leaders() -> None:
    doc = body(para(run("Name: Ivy Lomax________")), one_row("Date", para(run("........"))))
    assert [line.text for line in doc.flow] == ["Name: Ivy Lomax"]
    assert entry(doc, "Date").answer == ()


def test_it_adds_a_page_headers_lines_to_the_title() -> None:
    document = docx.Document()
    document.sections[0].header.paragraphs[0].text = "CSPR Referral Form"
    document.add_paragraph("Please complete every section.")
    out = io.BytesIO()
    document.save(out)
    assert read(out.getvalue()).title == ["Please complete every section.", "CSPR Referral Form"]


def test_it_leaves_out_hidden_text() -> None:
    hidden = '<w:r><w:rPr><w:vanish/></w:rPr><w:t xml:space="preserve">(guidance) </w:t></w:r>'
    assert texts(entry(body(one_row("Surname", para(hidden + run("Lomax")))), "Surname")) == [
        "Lomax"
    ]


def test_it_reads_a_text_box_after_the_paragraph_that_holds_it() -> None:
    box = (
        '<w:r><w:pict><v:shape xmlns:v="urn:schemas-microsoft-com:vml"><v:textbox>'
        f"<w:txbxContent>{para(run('Request for a Child Safeguarding Practice Review'))}"
        "</w:txbxContent></v:textbox></v:shape></w:pict></w:r>"
    )
    doc = body(para(run("Sankey Valley Partnership") + box), para(run("Please complete.")))
    assert [line.text for line in doc.flow] == [
        "Sankey Valley Partnership",
        "Request for a Child Safeguarding Practice Review",
        "Please complete.",
    ]


def test_it_skips_cells_that_continue_a_horizontal_merge() -> None:
    gone = "<w:tc><w:tcPr><w:hMerge/></w:tcPr><w:p/></w:tc>"
    row = cell(para(run("Surname")), 3000, fill="DCE6F1") + cell(para(run("Lomax")), 3000) + gone
    assert texts(entry(body(table([row], (3000, 3000, 3000))), "Surname")) == ["Lomax"]


# -- the published examples ---------------------------------------------------------------
def test_it_reads_the_incomplete_referral_example() -> None:
    doc = read(example_docx("referral-incomplete"))
    assert texts(entry(doc, "Type of review requested"))[0] == (
        "☒ Rapid Review (serious child safeguarding incident)"
    )
    assert texts(entry(doc, "Sex / gender", "Section D")) == [
        "☒ Male",
        "☐ Female",
        "☐ Other",
        "☐ Not known",
    ]
    assert texts(entry(doc, "Home address (including postcode)")) == [
        "173 Powell Field",
        "Latchford",
        "Warrington",
        "WA1 0RY",
    ]
    assert entry(doc, "Job title / role", "Section B").answer == ()
    assert texts(entry(doc, "Name", "Section C")) == ["Joan Ford"]


def test_it_reads_the_serious_incident_notification_example() -> None:
    doc = read(example_docx("with-correspondence"))
    assert doc.title[1] == "Serious Incident Notification (partnership copy)"
    assert texts(entry(doc, "Surname", "3. The child")) == ["Barlow"]
    assert texts(entry(doc, "Date notified to the National Panel")) == ["4 Mar 2026"]


def test_it_reads_the_forwarded_referral_example() -> None:
    doc = read(example_docx("forwarded-inline"))
    assert texts(entry(doc, "Date of death")) == ["11/11/26"]
    assert texts(entry(doc, "Name", "3. Safeguarding lead")) == ["Jordan Howells-Francis"]
