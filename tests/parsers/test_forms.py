"""Matching a document to a form and reading its answers."""

from pathlib import Path

import pytest

from parsers.document import Document, Entry, FlowLine, Line
from parsers.forms import assign_questions, extract_form, match_document
from parsers.schema import load_schemas

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def schemas():
    return load_schemas(ROOT / "config" / "forms")


TITLE = [
    "Warrington Safeguarding Partnership",
    "Child Safeguarding Practice Review (CSPR) Referral Form",
]


def entry(question, *answer, section=""):
    return Entry(question, section, tuple(Line(a) for a in answer), "table 1")


def referral_entries(**overrides):
    rows = [
        (
            "About this referral",
            "Type of review requested",
            ["☒ Rapid Review (serious child safeguarding incident)", "☐ Local learning review"],
        ),
        ("About this referral", "Date of referral", ["12/01/2026"]),
        ("Referrer", "Name", ["Graeme Rowe"]),
        ("Referrer", "Job title / role", ["Social Worker"]),
        ("Referrer", "Email address", ["graeme.rowe@example.gov.uk"]),
        ("Safeguarding lead consulted", "Name", ["Sarah O'Brien"]),
        ("Safeguarding lead consulted", "Job title / role", ["Head of Service"]),
        ("Safeguarding lead consulted", "Email address", ["sarah.obrien@example.gov.uk"]),
        ("The child", "Forename(s)", ["Jayne"]),
        ("The child", "Surname", ["Lee"]),
        ("The child", "Date of birth", ["19.11.2025"]),
        ("The child", "Gender", ["☐ Male", "☒ Female", "☐ Other", "☐ Not known"]),
        (
            "The child",
            "Status at the time of the incident (tick all that apply)",
            ["☒ Not known to children's social care"],
        ),
        ("The incident", "Date of incident", ["10 January 2026"]),
        ("The incident", "Brief summary of the incident", ["First line.", "Second  line."]),
        ("Declaration", "Signed (name)", ["Graeme Rowe"]),
        ("Declaration", "Date", ["12/01/2026"]),
    ]
    return [entry(q, *a, section=s) for s, q, a in rows]


def test_it_recognises_the_referral_form_and_reads_its_answers(schemas):
    doc = Document(
        "docx",
        "form.docx",
        ["Child Safeguarding Practice Review (CSPR) Referral Form"],
        referral_entries(),
    )
    match = extract_form([doc], schemas)
    assert match is not None and match.form_type == "cspr_referral"
    assert match.values["referral_type"] == "rapid_review"
    assert match.values["child_dob"] == "2025-11-19"
    assert match.values["child_gender"] == "female"
    assert match.values["child_status"] == ["not_known_to_csc"]
    assert match.values["incident_summary"] == "First line.\nSecond line."


def test_it_tells_the_two_names_apart_by_their_section(schemas):
    doc = Document("docx", "form.docx", TITLE, referral_entries())
    values = match_document(doc, schemas["cspr_referral"]).values
    assert values["referrer_name"] == "Graeme Rowe"
    assert values["dsl_name"] == "Sarah O'Brien"
    assert values["dsl_email"] == "sarah.obrien@example.gov.uk"
    assert values["signed_date"] == "2026-01-12"


def test_it_reads_other_partnerships_wordings_and_section_titles(schemas):
    rows = [
        (
            "Section B – Details of the person making the referral",
            "Name of referrer",
            "Kim Dickinson",
        ),
        ("Section B – Details of the person making the referral", "E-mail", "kim@example.nhs.net"),
        ("Section C – Safeguarding lead", "Name of safeguarding lead", "Maureen May"),
        ("Section D – Child's details", "Also known as", "Kay"),
        ("Section D – Child's details", "Sex / gender", "Male"),
        ("Section F – What happened", "Date your organisation was made aware", "19 May 2026"),
        ("Section F – What happened", "Location of incident", "Bridge Street"),
        ("Section J – Sign-off", "Signature", "Kim Dickinson"),
    ]
    entries = referral_entries() + [entry(q, a, section=s) for s, q, a in rows]
    values = match_document(
        Document("docx", "f.docx", TITLE, entries), schemas["cspr_referral"]
    ).values
    assert values["child_other_names"] == "Kay"
    assert values["date_became_aware"] == "2026-05-19"
    assert values["incident_location"] == "Bridge Street"


def test_it_keeps_a_date_that_is_not_real_as_written(schemas):
    entries = [*referral_entries(), entry("Date of birth", "31/02/2026", section="The child")]
    entries = [e for e in entries if not (e.question == "Date of birth" and e.text == "19.11.2025")]
    match = match_document(Document("docx", "f.docx", TITLE, entries), schemas["cspr_referral"])
    assert match.values["child_dob"] == "31/02/2026"
    assert not match.answers["child_dob"].normalised


def test_it_leaves_blank_answers_out(schemas):
    entries = [
        *referral_entries(),
        entry("Other names used", section="The child"),
        entry("NHS number", " ", section="The child"),
    ]
    values = match_document(
        Document("docx", "f.docx", TITLE, entries), schemas["cspr_referral"]
    ).values
    assert "child_other_names" not in values and "child_nhs_number" not in values


SIN_FLOW = [
    FlowLine("Serious Incident Notification", heading=True),
    FlowLine("1. Notifier", heading=True),
    FlowLine("Local authority: Warrington Borough Council"),
    FlowLine("Name: Liam Morgan"),
    FlowLine("Role: Assistant Director"),
    FlowLine("Telephone number: 01925 443322"),
    FlowLine("Email address: liam.morgan@example.gov.uk"),
    FlowLine("2. Notification", heading=True),
    FlowLine("Date notified to the National Panel: 25/10/2026"),
    FlowLine("Date the local authority became aware of the incident: 20/10/2026"),
    FlowLine("Reason for notification (more than one box may be ticked)"),
    FlowLine("☒ Death of a child where abuse or neglect is known or suspected"),
    FlowLine("☐ Death of a looked after child"),
    FlowLine("3. The child", heading=True),
    FlowLine("Forename(s): Harriet"),
    FlowLine("Surname: Bird"),
    FlowLine("4. The incident", heading=True),
    FlowLine("Case outline"),
    FlowLine("Harriet was found unresponsive."),
    FlowLine("Paramedics started CPR."),
]


def test_it_reads_questions_written_as_paragraphs(schemas):
    doc = Document("pdf", "sin.pdf", ["Serious Incident Notification"], [], SIN_FLOW)
    match = extract_form([doc], schemas)
    assert match.form_type == "serious_incident_notification"
    assert match.values["notifier_name"] == "Liam Morgan"
    assert match.values["notification_reason"] == ["death_abuse_neglect"]
    assert (
        match.values["case_outline"] == "Harriet was found unresponsive.\nParamedics started CPR."
    )


def test_it_does_not_take_another_services_form_for_a_referral(schemas):
    entries = [
        entry("Child's full name", "Oscar Boyd"),
        entry("Date of birth", "12/03/2017"),
        entry("Address", "14 Orford Lane"),
        entry("Parent / carer names", "Dawn Parker"),
        entry("School / nursery", "Orford Primary"),
        entry("What are you worried about?", "A mark on his cheek."),
        entry("What is working well?", "Attends school."),
        entry("Has consent been obtained from the parent / carer?", "Yes"),
        entry("Referrer name and agency", "Claire Boyd"),
        entry("Referrer contact number", "01925 811234"),
    ]
    doc = Document(
        "docx",
        "support.docx",
        ["Multi-Agency Safeguarding Hub (MASH) – Request for Support"],
        entries,
    )
    assert extract_form([doc], schemas) is None


def test_it_tells_a_notification_from_a_referral(schemas):
    sin = [
        entry("Local authority", "Warrington", section="1. Notifier"),
        entry("Name", "Liam Morgan", section="1. Notifier"),
        entry("Role", "Director", section="1. Notifier"),
        entry("Date notified to the National Panel", "25/10/2026", section="2. Notification"),
        entry(
            "Date the local authority became aware of the incident",
            "20/10/2026",
            section="2. Notification",
        ),
        entry(
            "Reason for notification (more than one box may be ticked)",
            "☒ Death of a looked after child",
            section="2. Notification",
        ),
        entry("Forename(s)", "Harriet", section="3. The child"),
        entry("Surname", "Bird", section="3. The child"),
        entry("Case outline", "Found unresponsive.", section="4. The incident"),
    ]
    match = extract_form([Document("docx", "sin.docx", [], sin)], schemas)
    assert match.form_type == "serious_incident_notification"


def test_it_picks_the_form_among_correspondence(schemas):
    letter = Document(
        "pdf", "letter.pdf", ["Dear Colleagues"], [], [FlowLine("I write to provide background.")]
    )
    form = Document("docx", "form.docx", TITLE, referral_entries())
    match = extract_form([letter, form], schemas)
    assert match.filename == "form.docx"


def test_it_does_not_read_the_forms_closing_instructions_as_an_answer(schemas):
    flow = [*SIN_FLOW, FlowLine("Please send the completed form by secure email to us.")]
    doc = Document("docx", "sin.docx", ["Serious Incident Notification"], [], flow)
    values = match_document(doc, schemas["serious_incident_notification"]).values
    assert values["case_outline"] == "Harriet was found unresponsive.\nParamedics started CPR."


def test_it_reads_a_question_asked_in_more_words_within_its_section(schemas):
    rows = [e for e in referral_entries() if e.question != "Date of birth"]
    rows.append(entry("What is the child's date of birth?", "19/11/2025", section="The child"))
    values = match_document(
        Document("docx", "f.docx", TITLE, rows), schemas["cspr_referral"]
    ).values
    assert values["child_dob"] == "2025-11-19"


def test_it_does_not_stretch_a_wording_across_sections(schemas):
    rows = [e for e in referral_entries() if not (e.section == "Referrer" and e.question == "Name")]
    rows.append(entry("Name of school", "Orford Primary", section="The child"))
    values = match_document(
        Document("docx", "f.docx", TITLE, rows), schemas["cspr_referral"]
    ).values
    assert "referrer_name" not in values


@pytest.mark.parametrize(
    ("question", "key", "section"),
    [
        ("Has the DSL agreed to this referral?", "dsl_agreed", "Safeguarding lead consulted"),
        ("Child's DOB", "child_dob", "The child"),
        ("Child's home LA", "child_resident_la", "The child"),
        ("Status of child (tick all that apply)", "child_status", "The child"),
        ("Contact tel. no.", "referrer_phone", "Referrer"),
    ],
)
def test_it_reads_abbreviated_and_reworded_questions(schemas, question, key, section):
    rows = [
        e
        for e in referral_entries()
        if schemas["cspr_referral"].field(key).question != e.question or e.section != section
    ]
    rows.append(entry(question, "☒ Yes" if key == "dsl_agreed" else "x", section=section))
    doc = Document("docx", "f.docx", TITLE, rows)
    pairs = assign_questions(doc.entries, schemas["cspr_referral"])
    assert pairs[len(rows) - 1] == key
