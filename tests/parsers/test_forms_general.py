"""Reading forms worded and laid out by other partnerships (issue 7).

Each test is a pattern met on real forms: a question asking for several of our
fields at once, a box a narrow PDF cell wrapped, guidance printed in the answer
cell, a heading that is really an instruction, the person a section is about
named in every question.  The documents are built by hand, as the readers
would give them (`parsers.document`), so each test is about matching alone.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from parsers.document import Document, Entry, FlowLine, Line
from parsers.forms import extract_form, match_document, split_full_name
from parsers.schema import SchemaError, load_schemas

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def schemas():
    return load_schemas(ROOT / "config" / "forms")


def entry(question, *answer, section=""):
    return Entry(question, section, tuple(Line(a) for a in answer), "table 1")


def referral(*entries, title=("Serious Case Review referral form",)):
    """A short referral form: enough of our questions to be recognised, plus ``entries``."""
    base = [
        entry("Date of birth", "24/02/2018", section="Child"),
        entry("Home address", "12 Park Road", "Warrington", section="Child"),
        entry("Date of incident", "12/08/2026", section="Incident"),
        entry("Brief summary of the incident", "A summary.", section="Incident"),
        entry("Where did the incident happen?", "At home", section="Incident"),
        entry("Is there a police investigation?", "☒ Yes ☐ No ☐ Not known"),
        entry("Type of review", "☒ Rapid Review", "☐ Local learning review"),
        entry("Date of referral", "14/08/2026"),
        entry("Has the family been told about this referral?", "☐ Yes ☒ No"),
        entry("Is there any media interest?", "☐ Yes ☒ No"),
    ]
    return Document("docx", "form.docx", list(title), [*base, *entries])


def read_instead(schemas, ours, *entries):
    """The short referral with our question ``ours`` left out and ``entries`` added."""
    doc = referral(*entries)
    doc.entries = [e for e in doc.entries if e.question != ours]
    return match_document(doc, schemas["cspr_referral"])


def values(schemas, *entries, **kw):
    match = match_document(referral(*entries, **kw), schemas["cspr_referral"])
    assert match is not None
    return match


@pytest.mark.parametrize(
    ("written", "forenames", "surname"),
    [
        ("Arthur Ormerod", "Arthur", "Ormerod"),
        ("Mary Jane Watson", "Mary Jane", "Watson"),
        ("ORMEROD, Arthur", "Arthur", "ORMEROD"),
        ("Arthur ORMEROD", "Arthur", "ORMEROD"),
        ("Anna van der Berg", "Anna", "van der Berg"),
        ("Arthur", "", ""),
    ],
)
def test_it_splits_a_name_written_in_one_box(written, forenames, surname):
    assert split_full_name(written) == (forenames, surname)


def test_it_reads_the_childs_name_asked_as_one_question(schemas):
    match = values(schemas, entry("Name of child", "Arthur Ormerod", section="Child"))
    assert match.values["child_forenames"] == "Arthur"
    assert match.values["child_surname"] == "Ormerod"


def test_it_does_not_split_one_word_it_cannot_tell_is_a_forename_or_a_surname(schemas):
    match = values(schemas, entry("Name of child", "Arthur", section="Child"))
    assert "child_surname" not in match.values
    assert "child_surname" not in match.blank  # not blank: not sure


def test_it_splits_a_question_that_asks_for_two_fields(schemas):
    match = values(
        schemas, entry("Name and job title", "Jo Fell, School nurse", section="Referrer")
    )
    assert match.values["referrer_name"] == "Jo Fell"
    assert match.values["referrer_job_title"] == "School nurse"


def test_it_finds_the_email_and_number_in_a_contact_box(schemas):
    contact = entry(
        "Contact details (address, telephone number and email)",
        "Orford Hub, Warrington WA2 8LW",
        "Tel: 01925 443322",
        "jo.fell@school.example.org",
        section="Referrer",
    )
    match = values(schemas, contact)
    assert match.values["referrer_phone"] == "01925 443322"
    assert match.values["referrer_email"] == "jo.fell@school.example.org"


def test_it_joins_an_email_address_a_narrow_cell_broke_over_two_lines(schemas):
    match = values(
        schemas, entry("Email address", "jo.fell@orford", "park.example.org", section="Referrer")
    )
    assert match.values["referrer_email"] == "jo.fell@orfordpark.example.org"


def test_it_reads_the_date_out_of_a_date_and_time_question(schemas):
    match = values(
        schemas, entry("Date and time of death", "03/08/2026 at 14:30", section="Incident")
    )
    assert match.values["date_of_death"] == "2026-08-03"


def test_it_adds_a_postcode_asked_on_its_own_row_to_the_address(schemas):
    match = values(schemas, entry("Postcode", "WA1 2AB", section="Child"))
    assert match.values["child_address"] == "12 Park Road\nWarrington\nWA1 2AB"


def test_it_does_not_take_printed_guidance_for_an_answer(schemas):
    match = values(
        schemas, entry("Ethnicity", "(Please give the child's ethnicity)", section="Child")
    )
    assert "child_ethnicity" not in match.values
    assert "child_ethnicity" in match.blank


def test_it_keeps_a_referrers_sentence_that_starts_like_guidance(schemas):
    match = values(
        schemas, entry("Ethnicity", "Please see the attached chronology.", section="Child")
    )
    assert match.values["child_ethnicity"] == "Please see the attached chronology."


def test_it_never_places_a_question_for_the_publishers_own_staff(schemas):
    match = values(schemas, entry("For office use only: date received", "13/08/2026"))
    assert match.values["referral_date"] == "2026-08-14"  # the referrer's date, not the office's
    assert all("office use" not in u.question for u in match.unplaced)


def test_it_knows_the_person_a_section_is_about_when_every_question_names_them(schemas):
    match = values(
        schemas,
        entry("Safeguarding lead's name", "Ann Lowe"),
        entry("Safeguarding lead's email", "ann.lowe@school.example.org"),
        entry("Child's surname", "Ormerod"),
    )
    assert match.values["dsl_name"] == "Ann Lowe"
    assert match.values["dsl_email"] == "ann.lowe@school.example.org"
    assert match.values["child_surname"] == "Ormerod"


def test_it_does_not_give_another_persons_date_of_birth_to_the_child(schemas):
    match = read_instead(
        schemas, "Date of birth", entry("Mother's date of birth", "01/01/1990", section="Family")
    )
    assert "child_dob" not in match.values


def test_it_reads_a_heading_that_its_questions_disagree_with_as_no_heading(schemas):
    note = "Please give the details of the safeguarding lead you discussed the case with"
    match = values(
        schemas,
        entry("Forename(s)", "Arthur", section=note),
        entry("Surname", "Ormerod", section=note),
        entry("Gender", "☐ Male ☒ Female", section=note),
        entry("NHS number", "943 476 5919", section=note),
    )
    assert match.values["child_forenames"] == "Arthur"
    assert match.values["child_gender"] == "female"


def test_it_prefers_a_sure_pairing_to_two_doubtful_ones(schemas):
    match = values(
        schemas,
        entry("Date of critical incident", "12/08/2026", section="Incident"),
        entry("Date (& time where appropriate) / Event", "01/08/2026 strategy meeting"),
    )
    assert match.values["incident_date"] == "2026-08-12"


def test_it_lists_the_questions_it_could_not_place_with_their_answers(schemas):
    match = values(schemas, entry("GP surgery", "Westbrook Medical Centre", section="Child"))
    assert ("GP surgery", "Westbrook Medical Centre") in [
        (u.question, u.answer) for u in match.unplaced
    ]


def test_it_tells_a_shorter_version_of_the_form_from_a_letter(schemas):
    letter = Document(
        "docx",
        "letter.docx",
        ["Dear colleague"],
        [],
        [
            FlowLine("Re: Arthur Ormerod, date of birth 24/02/2018"),
            FlowLine("Thank you for your letter."),
        ],
    )
    assert extract_form([letter], schemas) is None
    assert extract_form([referral()], schemas) is not None


def test_a_lexicon_mistake_is_reported_with_its_file_and_key(tmp_path):
    folder = tmp_path / "forms"
    folder.mkdir()
    (folder / "cspr_referral.toml").write_text(
        (ROOT / "config/forms/cspr_referral.toml").read_text()
    )
    (folder / "lexicon.toml").write_text('synonyms = [["alone"]]\n')
    with pytest.raises(SchemaError, match=r"lexicon.toml: synonyms\[0\]"):
        load_schemas(folder)


@pytest.mark.parametrize(
    ("text", "error"),
    [
        (
            'person_words = ["mother"]\nfamily_words = ["mother", "aunt"]\n',
            r"lexicon.toml: family_words: 'aunt' is not one of person_words",
        ),
        (
            'person_words = ["gp"]\nprofessional_words = "gp"\n',
            r"lexicon.toml: professional_words: must be a list of strings",
        ),
        (
            'person_words = ["carer"]\nfamily_words = ["carer"]\nprofessional_words = ["Carer"]\n',
            r"lexicon.toml: professional_words: 'carer' is in family_words too",
        ),
    ],
)
def test_the_lexicons_family_and_professional_words_are_checked(tmp_path, text, error):
    """Who is family and who a professional decides whether a form goes back
    (`parsers.forms.match.possible_answers`): a word that names no person the
    lexicon knows, or names both, is refused with its key, not ignored."""
    folder = tmp_path / "forms"
    folder.mkdir()
    (folder / "cspr_referral.toml").write_text(
        (ROOT / "config/forms/cspr_referral.toml").read_text()
    )
    (folder / "lexicon.toml").write_text(text)
    with pytest.raises(SchemaError, match=error):
        load_schemas(folder)


def test_a_composite_naming_an_unknown_field_is_refused(tmp_path):
    folder = tmp_path / "forms"
    folder.mkdir()
    text = (ROOT / "config/forms/cspr_referral.toml").read_text()
    (folder / "cspr_referral.toml").write_text(
        text.replace('fields = ["child_forenames", "child_surname"]', 'fields = ["child_nickname"]')
    )
    with pytest.raises(SchemaError, match=r"composites\[0\].fields: no field with key"):
        load_schemas(folder)


def test_it_records_how_this_form_words_each_question_it_placed(schemas):
    match = values(schemas, entry("Name of child", "Arthur", section="Child"))
    assert match.asked_as["child_surname"] == "Name of child"
    assert match.asked_as["child_dob"] == "Date of birth"


def test_it_reads_a_question_that_adds_a_qualifier_to_our_wording(schemas):
    match = read_instead(
        schemas,
        "Date of referral",
        entry("Date of referral to the SCR Office/SCR sub-group:", "14/08/2026"),
    )
    assert match.values["referral_date"] == "2026-08-14"
    assert match.asked_as["referral_date"].startswith("Date of referral to the SCR Office")


@pytest.mark.parametrize(
    ("question", "head"),
    [
        ("Date of referral to MKSCB Office/MKSCB SCR sub-group:", "date of referral"),
        ("Date notified to the National Panel", "date notified"),
        ("Details of the incident, including location and date", "summary"),
        ("Relationship to the child", ""),  # one word before the qualifier says too little
        ("Date of birth", ""),  # "of" joins, it does not qualify
        ("Date and time of the incident", ""),
    ],
)
def test_a_question_is_also_read_without_the_qualifier_that_ends_it(schemas, question, head):
    from parsers.forms.targets import head_of

    assert head_of(schemas["cspr_referral"].lexicon, question) == head


def test_a_review_named_in_a_question_is_not_a_person_it_asks_about(schemas):
    lex = schemas["cspr_referral"].lexicon
    assert lex.persons(lex.canon("Date of referral to the SCR sub-group")) == frozenset()
    assert lex.persons(lex.canon("SCR reference of the child")) == {"child"}


def test_a_question_its_heading_fits_keeps_it_when_the_table_carries_on_past_it(schemas):
    lead = "Please give the details of the designated safeguarding lead you discussed the case with"
    doc = referral(
        entry("Name", "Leo Rushton", section="Referrer"),
        entry("Agency & designation/title", "Orford Park Primary School, Head", section="Referrer"),
        entry("Name", "Arthur Lomax", section=lead),
        entry("Agency & designation/title", "Designated Safeguarding Lead", section=lead),
        entry("Email address", "a.lomax@example.org.uk", section=lead),
        entry("Date of referral to the SCR sub-group", "14/08/2026", section=lead),
        entry("Date of birth", "24/02/2018", section=lead),
        entry("Home address", "12 Park Road", section=lead),
        entry("Ethnic origin", "White British", section=lead),
        entry("Gender", "☐ Male ☒ Female", section=lead),
    )
    doc.entries = [e for e in doc.entries if e.section != "Child"]
    match = match_document(doc, schemas["cspr_referral"])
    assert match.values["dsl_name"] == "Arthur Lomax"
    assert match.values["dsl_role"] == "Designated Safeguarding Lead"
    assert match.values["child_dob"] == "2018-02-24"


def test_a_form_written_as_paragraphs_is_not_taken_for_the_shorter_form_it_overlaps(schemas):
    """Every line that asks a question of either form counts as a question on the
    page: the notification, which asks none of the referral's own questions
    (ethnicity, disability, other names, agencies), must not seem to be all
    the document holds."""
    lines = [
        "Referral for consideration by the case review group",
        "Name: Leo Rushton",
        "Job title: Head teacher",
        "Agency: Orford Park Primary School",
        "Telephone number: 01925 443322",
        "Case outline: The child was taken to hospital with a head injury.",
        "Surname: Ormerod",
        "Forename(s): Arthur",
        "Date of birth: 24/02/2018",
        "Gender: Male",
        "Ethnicity: White British",
        "Disability: No",
        "Other names used: none",
        "Home address: 12 Park Road, Warrington",
        "Agencies involved with the child and family: school, health visitor",
    ]
    doc = Document("docx", "form.docx", [lines[0]], [], [FlowLine(t) for t in lines[1:]])
    match = extract_form([doc], schemas)
    assert match is not None
    assert match.form_type == "cspr_referral"
    assert match.values["child_ethnicity"] == "White British"


def test_a_blank_found_only_under_a_narrower_question_is_no_proof_of_a_blank(schemas):
    """ "Date of referral to children's social care" left blank may mean there was no
    such referral: the form's own referral date is not known to be missing."""
    match = read_instead(
        schemas, "Date of referral", entry("Date of referral to children's social care", "")
    )
    assert "referral_date" not in match.blank
    assert match.unclear["referral_date"] == "qualified"


def test_an_answer_under_a_narrower_question_is_still_read(schemas):
    match = read_instead(
        schemas, "Date of referral", entry("Date of referral to the SCR sub-group", "14/08/2026")
    )
    assert match.values["referral_date"] == "2026-08-14"
    assert "referral_date" not in match.unclear


def test_a_composite_answer_is_parted_at_its_surest_separator(schemas):
    """The comma parts the agency from the role; the dash stands inside the agency."""
    match = values(
        schemas,
        entry(
            "Agency & designation/title",
            "Warrington Borough Council – Children's Social Care, Team Manager",
            section="Referrer",
        ),
    )
    assert match.values["referrer_agency"] == "Warrington Borough Council – Children's Social Care"
    assert match.values["referrer_job_title"] == "Team Manager"


def test_a_line_of_an_answer_that_asks_another_forms_question_stays_in_the_answer(schemas):
    lines = [
        "Serious Incident Notification",
        "Local authority: Warrington Borough Council",
        "Name: Liam Morgan",
        "Role: Assistant Director",
        "Telephone number: 01925 443322",
        "Email address: liam.morgan@warrington.gov.uk",
        "Date notified to the National Panel: 18/08/2026",
        "Forename(s): Arthur",
        "Surname: Ormerod",
        "Date of birth: 24/02/2018",
        "Date of incident: 12/08/2026",
        "Where did the incident happen?: At home",
        "Case outline:",
        "Arthur was taken to hospital with a head injury.",
        "Outcome: Arthur died in hospital on 14 August 2026.",
    ]
    doc = Document("docx", "form.docx", [lines[0]], [], [FlowLine(t) for t in lines[1:]])
    match = extract_form([doc], schemas)
    assert match is not None and match.form_type == "serious_incident_notification"
    assert "Outcome: Arthur died in hospital" in match.values["case_outline"]


def test_what_a_number_and_an_email_leave_behind_is_not_a_part_of_the_answer(schemas):
    match = values(
        schemas,
        entry(
            "Name, job title and contact details",
            "Sarah Jones, Social Worker, 01925 443322, sarah.jones@warrington.gov.uk",
            section="Referrer",
        ),
    )
    assert match.values["referrer_name"] == "Sarah Jones"
    assert match.values["referrer_job_title"] == "Social Worker"
    assert match.values["referrer_email"] == "sarah.jones@warrington.gov.uk"


@pytest.mark.parametrize(
    ("question", "section", "field"),
    [
        ("Line manager", "Referrer", "dsl_agreed"),
        ("Lessons learned", "Criteria", "referral_rationale"),
    ],
)
def test_a_blank_question_is_not_taken_for_a_field_by_a_cut_of_its_wording(
    schemas, question, section, field
):
    """ "Safeguarding lead in agreement?" cut before "in" names the lead and asks
    nothing; a blank "Line manager" is not the lead's agreement left blank."""
    match = values(schemas, entry(question, "", section=section))
    assert field not in match.blank


def test_a_placeholder_keeps_its_place_in_a_composite_answer(schemas):
    match = values(
        schemas,
        entry(
            "Name, job title and agency",
            "Jane Smith, -, Warrington Borough Council",
            section="Referrer",
        ),
    )
    assert match.values["referrer_name"] == "Jane Smith"
    assert match.values["referrer_agency"] == "Warrington Borough Council"


def test_a_question_is_known_by_the_options_it_lists(schemas):
    """Worded nothing like ours, but printed with three of our criteria as tick
    boxes (in its own words): it is our criteria question."""
    listing = entry(
        "What has led to this request?",
        "☐ Potentially life-threatening injury through abuse or neglect",
        "☒ A parent has been murdered and a domestic homicide review has started",
        "☐ Concerns about inter-agency working",
        "☐ Other (please say)",
    )
    assert values(schemas, listing).values["criteria_met"] == ["parent_murdered"]


def test_a_long_list_naming_a_few_of_our_options_does_not_make_the_question_ours(schemas):
    """Three of our criteria among nine boxes of something else: a list of its
    own, not our question in other words."""
    others = [f"☐ Reason {n}" for n in "abcdef"]
    listing = entry(
        "What has led to this request?",
        "☐ Potentially life-threatening injury through abuse or neglect",
        "☒ A parent has been murdered and a domestic homicide review has started",
        "☐ Concerns about inter-agency working",
        *others,
    )
    assert "criteria_met" not in values(schemas, listing).values


def test_a_colon_typed_after_the_printed_one_is_not_part_of_the_answer(schemas):
    flow = [FlowLine("Name of referrer:: Leo Rushton"), FlowLine("Job title : : Team Manager")]
    doc = referral()
    doc.flow = flow
    match = match_document(doc, schemas["cspr_referral"])
    assert match is not None
    assert match.values["referrer_name"] == "Leo Rushton"
    assert match.values["referrer_job_title"] == "Team Manager"


def test_a_question_known_only_by_its_options_left_unticked_is_no_proof_of_a_blank(schemas):
    """Every box empty under a question we know only by its options, printed in
    another form's words: neither a blank nor a choice (a person looks)."""
    listing = entry(
        "What has led to this request?",
        "☐ Potentially life-threatening injury through abuse or neglect",
        "☐ A parent has been murdered and a domestic homicide review has started",
        "☐ Concerns about inter-agency working",
    )
    match = values(schemas, listing)
    assert "criteria_met" not in match.blank
    assert not isinstance(match.values.get("criteria_met"), list)
    assert "criteria_met" in match.unclear or not match.answers["criteria_met"].normalised


def test_yes_no_not_known_boxes_do_not_make_a_question_ours(schemas):
    """Yes / No / Not known is printed under many questions: the boxes alone never
    place another question on ours (it would fill, or blank, a question this
    form does not ask)."""
    match = read_instead(
        schemas,
        "Is there a police investigation?",
        entry("Is an interpreter needed?", "☐ Yes ☒ No ☐ Not known"),
    )
    assert match is not None
    assert "police_investigation" not in match.located


def test_an_answer_typed_under_its_question_is_never_taken_for_a_question(schemas):
    """ "Job title:" then "Designated Safeguarding Lead" on the next line: the answer
    is worded like one of our questions, but it answers the one above it.  Taken
    for a question, it left the job title blank, and the form could go back."""
    doc = referral()
    doc.flow = [
        FlowLine("Name of referrer:", emphasis=True),
        FlowLine("Leo Rushton"),
        FlowLine("Job title:", emphasis=True),
        FlowLine("Designated Safeguarding Lead"),
        FlowLine("Agency:", emphasis=True),
        FlowLine("Orford Park Primary School"),
    ]
    match = match_document(doc, schemas["cspr_referral"])
    assert match is not None
    assert match.values["referrer_job_title"] == "Designated Safeguarding Lead"
    assert "referrer_job_title" not in match.blank
    assert match.values["referrer_agency"] == "Orford Park Primary School"


def test_a_question_set_out_like_the_one_above_it_is_the_next_question(schemas):
    """Both in bold, the second not asking: the first was left blank."""
    doc = referral()
    doc.flow = [
        FlowLine("Job title:", emphasis=True),
        FlowLine("Designated safeguarding lead", emphasis=True),
        FlowLine("Arthur Lomax"),
    ]
    match = match_document(doc, schemas["cspr_referral"])
    assert match is not None
    assert "referrer_job_title" not in match.values
    assert match.values.get("dsl_name") == "Arthur Lomax"


@pytest.mark.parametrize("colon", [":", ""])
def test_a_question_followed_by_its_own_answer_is_not_the_answer_above_it(schemas, colon):
    """The question above left blank, the next one answered on the line under it:
    "NHS number" is a question (its number follows), not the local authority."""
    doc = referral()
    doc.flow = [
        FlowLine(f"Local authority where the child normally lives{colon}"),
        FlowLine("NHS number"),
        FlowLine("485 777 3456"),
    ]
    match = match_document(doc, schemas["cspr_referral"])
    assert match is not None
    assert match.values.get("child_nhs_number") == "485 777 3456"
    assert "child_resident_la" not in match.values


def test_in_a_form_without_colons_a_blank_question_does_not_take_the_next_one(schemas):
    doc = referral()
    doc.flow = [FlowLine("Age"), FlowLine("Gender"), FlowLine("☐ Male ☒ Female")]
    match = match_document(doc, schemas["cspr_referral"])
    assert match is not None
    assert match.values.get("child_gender") == "female"
    assert "child_age" not in match.values


def test_in_a_form_without_colons_a_blank_before_a_line_worded_like_a_question_is_in_doubt(
    schemas,
):
    """ "Job title", then "Designated Safeguarding Lead" with no lines of its own:
    with no colon the layout cannot tell a question from an answer, so the job
    title is not proved blank (a person looks; the form is never returned for it)."""
    doc = referral()
    doc.flow = [
        FlowLine("Job title"),
        FlowLine("Designated Safeguarding Lead"),
        FlowLine("Agency"),
        FlowLine("Orford Park Primary School"),
    ]
    match = match_document(doc, schemas["cspr_referral"])
    assert match is not None
    assert "referrer_job_title" not in match.blank
    assert match.unclear.get("referrer_job_title") == "heading"


def _without(doc, *questions):
    doc.entries = [e for e in doc.entries if e.question not in questions]
    return doc


def test_a_question_we_cannot_place_above_our_options_is_not_more_of_the_answer_above_it(schemas):
    """ "Legal standing" is no wording of ours, but the boxes under it are our
    status options: it is a question, not a third line of the address."""
    doc = _without(referral(), "Home address")
    doc.flow = [
        FlowLine("Home address:"),
        FlowLine("12 Park Road"),
        FlowLine("Warrington"),
        FlowLine("Legal standing"),
        FlowLine("☐ Child in need"),
        FlowLine("☐ Child protection plan (current)"),
        FlowLine("☒ Looked after child"),
        FlowLine("☐ Care leaver"),
    ]
    match = match_document(doc, schemas["cspr_referral"])
    assert match is not None
    assert match.values["child_address"] == "12 Park Road\nWarrington"
    standing = [u for u in match.unplaced if u.question == "Legal standing"]
    assert standing and "☒ Looked after child" in standing[0].answer


def test_a_blank_right_above_a_question_we_know_only_by_its_boxes_is_in_doubt(schemas):
    """ "Age:" with nothing under it, then an unknown line above our options: the
    age is not proved blank, as that line might have been its answer."""
    doc = referral()
    doc.flow = [
        FlowLine("Age:"),
        FlowLine("Legal standing"),
        FlowLine("☐ Child in need"),
        FlowLine("☒ Looked after child"),
    ]
    match = match_document(doc, schemas["cspr_referral"])
    assert match is not None
    assert "child_age" not in match.values
    assert "child_age" not in match.blank
    assert match.unclear.get("child_age") == "heading"


def test_an_instruction_above_the_boxes_is_not_taken_for_a_question(schemas):
    doc = _without(referral(), "Type of review")
    doc.flow = [
        FlowLine("Type of review:"),
        FlowLine("Please tick one"),
        FlowLine("☒ Rapid Review"),
        FlowLine("☐ Local learning review"),
    ]
    match = match_document(doc, schemas["cspr_referral"])
    assert match is not None
    assert match.values.get("referral_type") == "rapid_review"


@pytest.mark.parametrize(
    "flow", [["LA: Warrington Borough Council", "Who notified us?: Ivy Dunmore"]]
)
def test_a_short_question_and_its_answer_are_not_more_of_a_one_line_answer(schemas, flow):
    doc = Document("docx", "sin.docx", ["Serious Incident Notification"])
    doc.flow = [
        *(FlowLine(text) for text in flow),
        FlowLine("Child's forename(s): Poppy"),
        FlowLine("Surname: Jessop"),
        FlowLine("Date of birth: 23/04/2023"),
        FlowLine("Date of serious incident: 04/05/2026"),
        FlowLine("Date the local authority became aware: 05/05/2026"),
        FlowLine("Date National Panel notified: 09/05/2026"),
    ]
    match = match_document(doc, schemas["serious_incident_notification"])
    assert match is not None
    assert match.values["notifying_la"] == "Warrington Borough Council"


def test_a_line_like_a_question_inside_a_free_text_answer_stays_in_it(schemas):
    """ "Ambulance crew: called at 9pm" is part of the summary, not a question."""
    doc = _without(referral(), "Brief summary of the incident")
    doc.flow = [
        FlowLine("Brief summary of the incident: He was found at home."),
        FlowLine("Ambulance crew: called at 9pm"),
    ]
    match = match_document(doc, schemas["cspr_referral"])
    assert match is not None
    summary = match.values["incident_summary"]
    assert summary == "He was found at home.\nAmbulance crew: called at 9pm"


def test_in_a_form_with_its_questions_in_bold_a_bold_line_after_an_answer_is_a_question(schemas):
    def bold(text):
        return FlowLine(text, emphasis=True)

    doc = referral()
    doc.flow = [
        bold("Name:"),
        FlowLine("Leo Rushton"),
        bold("Job title:"),
        FlowLine("Health Visitor"),
        bold("REFERRING TEAM"),
        FlowLine("0-19 Service"),
        bold("Agency:"),
        FlowLine("Bridgewater Community Healthcare"),
    ]
    match = match_document(doc, schemas["cspr_referral"])
    assert match is not None
    assert match.values["referrer_job_title"] == "Health Visitor"
    assert any(u.question == "REFERRING TEAM" for u in match.unplaced)


def test_a_bold_line_inside_a_free_text_answer_stays_in_it(schemas):
    def bold(text):
        return FlowLine(text, emphasis=True)

    doc = _without(referral(), "Brief summary of the incident")
    doc.flow = [
        bold("Name:"),
        FlowLine("Leo Rushton"),
        bold("Job title:"),
        FlowLine("Health Visitor"),
        bold("Agency:"),
        FlowLine("Bridgewater Community Healthcare"),
        bold("Brief summary of the incident:"),
        FlowLine("He was found at home by his mother."),
        bold("Background"),
        FlowLine("The family moved here in May."),
    ]
    match = match_document(doc, schemas["cspr_referral"])
    assert match is not None
    assert match.values["incident_summary"].splitlines() == [
        "He was found at home by his mother.",
        "Background",
        "The family moved here in May.",
    ]


@pytest.mark.parametrize(
    ("flow", "key"),
    [
        (
            ["Has the family been told about this referral?", "☐ Yes ☐ No", "Yes: told 14/08"],
            "family_informed",
        ),
        (["Is there any media interest?", "☐ Yes ☐ No", "No: none known"], "media_interest"),
        (
            ["Date of incident:", "(Please include the time if known)", "12/08/2026 at 21:30"],
            "incident_date",
        ),
        (
            ["Date of incident:", "Click or tap here to enter text.", "12/08/2026 at 21:30"],
            "incident_date",
        ),
        (["Date of referral:", "(dd/mm/yyyy)", "Sent: 14/08/2026"], "referral_date"),
    ],
)
def test_an_answer_written_like_a_question_under_a_line_with_no_answer_is_never_proof_of_a_blank(
    schemas, flow, key
):
    """Empty boxes, printed guidance and Word's placeholder carry no answer: the
    line after them is the answer, however it is set out ("Yes: …", a time
    "21:30"), never a question of its own that leaves the one above blank."""
    doc = _without(
        referral(),
        "Has the family been told about this referral?",
        "Is there any media interest?",
        "Date of incident",
        "Date of referral",
    )
    doc.flow = [FlowLine(text) for text in flow]
    match = match_document(doc, schemas["cspr_referral"])
    assert match is not None
    assert key not in match.blank
    # Guidance read as the answer is never taken as proof of a wrong answer either.
    assert not str(match.values.get(key, "")).startswith("(") or key in match.doubted


def test_the_forms_name_printed_as_its_title_is_never_a_question(schemas):
    doc = Document("docx", "sin.docx", [])
    doc.flow = [
        FlowLine("Serious Incident Notification", emphasis=True),
        FlowLine("Local authority: Warrington Borough Council"),
        FlowLine("Child's forename(s): Poppy"),
        FlowLine("Surname: Jessop"),
        FlowLine("Date of birth: 23/04/2023"),
        FlowLine("Date of serious incident: 04/05/2026"),
        FlowLine("Date the local authority became aware: 05/05/2026"),
    ]
    match = match_document(doc, schemas["serious_incident_notification"])
    assert match is not None
    assert "Serious Incident Notification" not in match.asked_as.values()
    assert not match.blank & {"date_notified", "sin_date"}


def test_a_numbered_section_title_worded_like_a_question_proves_no_blank(schemas):
    """ "7. Police reference" as a section's title, with nothing under it: the
    reference may stand elsewhere, so it is in doubt, not blank."""
    doc = referral()
    doc.flow = [
        FlowLine("7. Police reference", heading=True),
        FlowLine("8. Declaration", heading=True),
    ]
    match = match_document(doc, schemas["cspr_referral"])
    assert match is not None
    assert "police_reference" not in match.blank


def _bold(text):
    return FlowLine(text, emphasis=True)


SIN_ASKED = "Has the local authority notified the National Panel (Serious Incident Notification)?"


@pytest.mark.parametrize("picked", ["No – not yet", "No (to follow)", "No, the LA will notify"])
def test_an_option_picked_in_bold_from_a_plain_list_is_the_answer_not_a_question(schemas, picked):
    """In a form whose questions are bold, the referrer bolds "No – not yet" among
    the plain options: that is the choice.  Taken for a question, the choice
    read was "Yes", and the date of notification went back as missing."""
    doc = _without(referral(), "Date of referral")
    doc.flow = [
        _bold("Name:"),
        FlowLine("Leo Rushton"),
        _bold("Job title:"),
        FlowLine("Health Visitor"),
        _bold(SIN_ASKED),
        FlowLine("Yes"),
        _bold(picked),
        FlowLine("Not known"),
        _bold("Date of notification:"),
        _bold("Date of referral:"),
        FlowLine("14/08/2026"),
    ]
    match = match_document(doc, schemas["cspr_referral"])
    assert match is not None
    assert match.values.get("sin_submitted") != "yes"


def test_a_note_under_a_one_line_answer_does_not_take_the_date_printed_below(schemas):
    doc = referral()
    doc.flow = [
        FlowLine(f"{SIN_ASKED}: No"),
        FlowLine("Notified: not yet, due 16/08"),
        FlowLine("Date of notification:"),
    ]
    match = match_document(doc, schemas["cspr_referral"])
    assert match is not None
    assert match.values.get("sin_submitted") == "no"
    assert "sin_date" not in match.values


def test_a_typed_answer_above_the_boxes_is_not_taken_for_a_question(schemas):
    doc = referral()
    doc.flow = [
        FlowLine("Has the safeguarding lead agreed to this referral?"),
        FlowLine("Yes"),
        FlowLine("☐ Yes"),
        FlowLine("☐ No"),
        FlowLine("☐ Not known"),
    ]
    match = match_document(doc, schemas["cspr_referral"])
    assert match is not None
    assert match.values.get("dsl_agreed") == "yes"


def test_an_option_picked_in_bold_and_set_apart_as_a_heading_is_the_answer(schemas):
    """Word's reader takes a bold line alone before a "Question:" line for a
    heading; under a list of options it is the option picked."""
    doc = _without(referral(), "Date of incident")
    doc.flow = [
        FlowLine("Has the child died or been seriously harmed?", emphasis=True),
        FlowLine("The child has died"),
        FlowLine("The child has been seriously injured", heading=True),
        FlowLine("Date of death (if applicable):", emphasis=True),
        FlowLine("Date of incident:", emphasis=True),
        FlowLine("12/08/2026"),
    ]
    match = match_document(doc, schemas["cspr_referral"])
    assert match is not None
    assert match.values.get("incident_outcome") == "seriously_harmed"


@pytest.mark.parametrize(
    ("flow", "key", "value"),
    [
        (["Telephone number:", "Office: 01925 444000"], "referrer_phone", "01925 444000"),
        (["Email address:", "Work: jane.smith@warrington.gov.uk"], "referrer_email", None),
    ],
)
def test_a_head_and_value_typed_under_a_blank_question_is_its_answer(schemas, flow, key, value):
    """ "Office: 01925 444000" under "Telephone number:" is the number, not a
    question of its own: taken for one, answers were lost, and "Baby:
    13/08/2026" under "Date of death" became the child's date of birth."""
    doc = referral()
    doc.flow = [FlowLine(text) for text in flow]
    match = match_document(doc, schemas["cspr_referral"])
    assert match is not None
    assert key in match.values
    if value is not None:
        assert value in str(match.values[key])


@pytest.mark.parametrize(
    ("flow", "key"),
    [
        (["Date of incident:", "Date: 12/08/2026"], "incident_date"),
        (["Signed (name):", "Name: Jane Smith"], "signed_by"),
    ],
)
def test_a_question_typed_again_in_fewer_words_with_its_answer_proves_no_blank(schemas, flow, key):
    """ "Date of incident:", then "Date: 12/08/2026": the referrer typed the label
    again with the answer.  Read as our "Date" question, it left the incident
    date blank and a complete form went back; now a person looks."""
    doc = _without(referral(), "Date of incident")
    doc.flow = [FlowLine(text) for text in flow]
    match = match_document(doc, schemas["cspr_referral"])
    assert match is not None
    assert key not in match.blank


HARMED = "The child has been seriously harmed"


@pytest.mark.parametrize(
    "lines, outcome",
    [
        ([_bold("The child has died"), "14/08/2026", HARMED], "died"),
        ([HARMED, _bold("The child has died"), "14/08/2026"], "died"),
        (["X The child has died", "14/08/2026", HARMED], "died"),
    ],
)
def test_a_date_typed_among_the_options_of_a_question_asked_with_it_is_read(
    schemas, lines, outcome
):
    """ "Outcome / date of death" over its options, the pick marked, the date typed
    between them: the option list is read as a choice, and the date is the date of
    death (the list had taken the date in, and the form went back without it)."""
    doc = referral()
    doc.flow = [
        _bold("Outcome / date of death:"),
        *(line if isinstance(line, FlowLine) else FlowLine(line) for line in lines),
        _bold("Date of death:"),
        _bold("Date of referral:"),
        FlowLine("14/08/2026"),
    ]
    match = match_document(doc, schemas["cspr_referral"])
    assert match is not None
    assert match.values.get("incident_outcome") == outcome
    assert match.values.get("date_of_death") == "2026-08-14"


def test_options_printed_under_two_questions_asked_together_are_not_read_by_their_order(schemas):
    """ "Media interest / family informed" over "Yes" and "No", nothing marked: one
    answer each, or the first question's options printed and left unanswered?  Not
    read by position (an unmarked "The child has been seriously harmed" over "The
    child has died" had been read as the outcome): a person looks."""
    doc = _without(
        referral(), "Has the family been told about this referral?", "Is there any media interest?"
    )
    doc.flow = [
        _bold("Media interest / family informed:"),
        FlowLine("Yes"),
        FlowLine("No"),
        _bold("Date of referral:"),
    ]
    match = match_document(doc, schemas["cspr_referral"])
    assert match is not None
    keys = {"media_interest", "family_informed"}
    assert not keys & match.values.keys()
    assert keys <= match.unclear.keys() and not keys & match.blank


def test_a_line_with_a_printed_date_format_is_a_question_not_more_of_the_answer_above(schemas):
    """ "Date sent (dd/mm/yyyy): 14/08/2026" under a telephone number: a referrer
    never types the format hint, so the line is a question of the form's own."""
    doc = referral()
    doc.flow = [
        _bold("Telephone:"),
        FlowLine("0121 496 0133"),
        FlowLine("Date sent (dd/mm/yyyy): 14/08/2026"),
        FlowLine("Linked cases: none"),
    ]
    match = match_document(doc, schemas["cspr_referral"])
    assert match is not None
    assert match.values.get("referrer_phone") == "0121 496 0133"


def test_a_question_asked_in_full_after_an_answer_is_not_more_of_that_answer(schemas):
    doc = referral()
    doc.flow = [
        FlowLine("Ethnicity:"),
        FlowLine("White British"),
        FlowLine(
            "Is the child subject to a child protection plan or has been previously? "
            "(If so when, for what and for how long?)"
        ),
        FlowLine("Subject to a plan since March 2025"),
    ]
    match = match_document(doc, schemas["cspr_referral"])
    assert match is not None
    assert match.values.get("child_ethnicity") == "White British"
