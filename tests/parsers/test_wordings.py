"""Everyday wordings of our questions that no schema lists are read as their fields.

Each wording in ``tests/data/everyday_wordings.toml`` is printed on the form
in place of the field's own question (every other question as in the schema),
and the reader must place it on that field and read its answer.
"""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path

import pytest

from parsers.document import Document, Entry, FlowLine, Line
from parsers.forms import FormMatch, match_document
from parsers.normalise import comparable
from parsers.schema import FieldSpec, FormSchema, load_schemas
from tests.builders import docx_builder

ROOT = Path(__file__).resolve().parents[2]
WORDINGS = tomllib.loads((ROOT / "tests" / "data" / "everyday_wordings.toml").read_text())
SCHEMAS = load_schemas(ROOT / "config" / "forms")
CASES = [
    (form, key, wording)
    for form, fields in WORDINGS.items()
    for key, wordings in fields.items()
    for wording in wordings
]


def _answer(spec: FieldSpec, value: object) -> str:
    if value is None:
        return ""
    if spec.options:
        chosen = value if isinstance(value, list) else [value]
        return "\n".join(("☒ " if o.key in chosen else "☐ ") + o.label for o in spec.options)
    return str(value)


def _form(schema: FormSchema, key: str, wording: str) -> Document:
    answers: dict[str, object] = dict(docx_builder.random_answers(schema, 7))
    answers.setdefault(key, "WP/12345/26")  # a field these answers left out (police reference)
    titles = {s.key: s.title for s in schema.sections}
    entries = [
        Entry(
            wording if spec.key == key else spec.question,
            titles[spec.section],
            tuple(Line(t) for t in _answer(spec, answers.get(spec.key)).split("\n")),
            f"table 1, row {n}",
        )
        for n, spec in enumerate(schema.fields, 1)
    ]
    return Document("docx", "form.docx", [schema.title], entries)


def test_the_list_names_only_fields_our_forms_have() -> None:
    for form, key, _wording in CASES:
        assert SCHEMAS[form].field(key) is not None


@pytest.mark.parametrize(("form", "key", "wording"), CASES)
def test_an_everyday_wording_is_read_as_its_field(form: str, key: str, wording: str) -> None:
    schema = SCHEMAS[form]
    match = match_document(_form(schema, key, wording), schema)
    assert match is not None
    assert match.asked_as.get(key) == wording.rstrip(" :")
    assert key in match.answers


def test_no_wording_on_the_list_is_one_the_schemas_already_know() -> None:
    for form, key, wording in CASES:
        known = {comparable(w) for spec in SCHEMAS[form].fields for w in spec.wordings}
        assert comparable(wording) not in known, (form, key, wording)


def _form_headed(schema: FormSchema, key: str, wording: str, heading: str) -> Document:
    """`_form` with ``key``'s section printed under ``heading``."""
    doc = _form(schema, key, wording)
    section = schema.field(key).section
    title = next(s.title for s in schema.sections if s.key == section)
    entries = [
        dataclasses.replace(e, section=heading) if e.section == title else e for e in doc.entries
    ]
    return Document("docx", "form.docx", doc.title, entries)


@pytest.mark.parametrize(
    ("form", "key", "wording", "heading"),
    [
        ("cspr_referral", "dsl_name", "Name of lead consulted", "Safeguarding lead"),
        ("cspr_referral", "dsl_name", "Name of lead consulted", "Safeguarding lead details"),
        ("cspr_referral", "referral_date", "Date of request", "Request"),
        ("cspr_referral", "referral_date", "Date of request", "The request"),
    ],
)
def test_a_question_repeating_its_heading_is_read_by_what_is_left(
    form: str, key: str, wording: str, heading: str
) -> None:
    """A question "Name of lead consulted" under "Safeguarding lead" asks the lead's name,
    though the schema has never been told that wording: the heading's words say
    whose, what is left says what."""
    schema = SCHEMAS[form].without_wordings({comparable(wording)}, comparable)
    match = match_document(_form_headed(schema, key, wording, heading), schema)
    assert match is not None
    assert match.asked_as.get(key) == wording
    assert key in match.answers


def test_a_question_is_not_read_by_what_is_left_under_another_heading() -> None:
    """The same words under a heading of another section ask something else:
    "Name of lead consulted" under "The child" is not read as the lead's name."""
    wording = "Name of lead consulted"
    schema = SCHEMAS["cspr_referral"].without_wordings({comparable(wording)}, comparable)
    doc = _form_headed(schema, "dsl_name", wording, "Safeguarding lead")
    entries = [
        dataclasses.replace(e, section="The child") if e.question == wording else e
        for e in doc.entries
    ]
    match = match_document(Document("docx", "form.docx", doc.title, entries), schema)
    assert match is not None
    assert match.asked_as.get("dsl_name") != wording


@pytest.mark.parametrize("heading", ["Notifier", "Local authority details", ""])
def test_a_question_naming_only_a_person_asks_their_name(heading: str) -> None:
    """A question "Notified by" (the notifier) asks who: the notifier's name, not their role,
    under whatever heading, though the schema has never been told that wording."""
    wording = "Notified by"
    schema = SCHEMAS["serious_incident_notification"]
    schema = schema.without_wordings({comparable(wording)}, comparable)
    match = match_document(_form_headed(schema, "notifier_name", wording, heading), schema)
    assert match is not None
    assert match.asked_as.get("notifier_name") == wording
    assert match.asked_as.get("notifier_role") != wording


def test_what_is_left_of_two_questions_of_a_section_alike_tells_neither() -> None:
    """The questions "Local authority name" and "Name" under "Notifying local authority" both
    leave "name" without the heading's words: that tells neither apart, so a
    question leaving "name" is not read by it."""
    from parsers.forms.targets import compile_schema

    compiled = compile_schema(SCHEMAS["serious_incident_notification"])
    echoes = {t.key: t.echo for t in compiled.targets if t.section == "notifier"}
    assert not any("name" in echo for echo in echoes.values())


def _without_heading(schema: FormSchema, heading: str) -> FormSchema:
    return dataclasses.replace(
        schema,
        sections=tuple(
            dataclasses.replace(
                s, aliases=tuple(a for a in s.aliases if comparable(a) != comparable(heading))
            )
            for s in schema.sections
        ),
    )


@pytest.mark.parametrize("heading", ["Reasons for referral", "Grounds for the referral"])
def test_a_heading_is_read_by_its_questions_when_its_words_point_elsewhere(heading: str) -> None:
    """A criteria section headed "Reasons for referral", a heading the schema has
    never been told, is not "About this referral" for its word "referral": its
    questions (the criteria ticked, and why) are the criteria's, so a reworded
    "why" is read there."""
    wording = "Why does this case meet the criteria?"
    schema = _without_heading(SCHEMAS["cspr_referral"], heading)
    schema = schema.without_wordings({comparable(wording)}, comparable)
    match = match_document(_form_headed(schema, "referral_rationale", wording, heading), schema)
    assert match is not None
    assert match.asked_as.get("referral_rationale") == wording
    assert "criteria_met" in match.answers


@pytest.mark.parametrize("heading", ["Sign-off", "Confirmation", "Declaration"])
def test_the_person_completing_the_form_signs_its_declaration(heading: str) -> None:
    """A declaration is the referrer's: "Completed by" (the referrer) under it is
    the name signed, not the referrer's name of the form's first section, though
    the schema has never been told that wording nor the heading "Sign-off"."""
    wording = "Completed by"
    schema = _without_heading(SCHEMAS["cspr_referral"], "Sign-off")
    schema = schema.without_wordings({comparable(wording)}, comparable)
    match = match_document(_form_headed(schema, "signed_by", wording, heading), schema)
    assert match is not None
    assert match.asked_as.get("signed_by") == wording
    assert match.asked_as.get("referrer_name") == "Name"


def test_a_request_is_a_referral() -> None:
    """A referral asks for a review: "Date of request" says "Date of referral"."""
    lexicon = SCHEMAS["cspr_referral"].lexicon
    assert lexicon.canon("Date of request") == lexicon.canon("Date of referral")
    assert lexicon.canon("Type of review requested") != lexicon.canon("Type of review referral")


def _with_row(doc: Document, after: str, question: str, answer: str, heading: str) -> Document:
    """``doc`` with one more row, under ``heading``, after the question ``after``."""
    row = Entry(question, heading, (Line(answer),), "table 1, row 99")
    at = next(n for n, e in enumerate(doc.entries) if e.question == after) + 1
    return Document("docx", "form.docx", doc.title, [*doc.entries[:at], row, *doc.entries[at:]])


def _blank(doc: Document, question: str) -> Document:
    entries = [
        dataclasses.replace(e, answer=()) if e.question == question else e for e in doc.entries
    ]
    return Document("docx", "form.docx", doc.title, entries)


@pytest.mark.parametrize(
    ("question", "answer", "heading"),
    [
        ("Children", "Amy Smith (sister, 4) / Leo Smith (brother, 9)", "Family and household"),
        ("Parents", "Jane and John Smith", "Child and family"),
        ("Family members", "Jane Smith, mother", "Family and household"),
        ("Referrer", "Kate Bell", "Referrer"),
        ("Pupil", "Kate Bell", "School details"),
    ],
)
def test_a_row_naming_a_person_is_not_the_childs_name(
    question: str, answer: str, heading: str
) -> None:
    """A row "Children", "Parents" or "Referrer" with names beside it fills no
    blank of the child's name (the review found "4)" read as a forename)."""
    schema = SCHEMAS["cspr_referral"]
    doc = _blank(_form(schema, "child_forenames", "Forename(s)"), "Forename(s)")
    doc = _with_row(doc, "Surname", question, answer, heading)
    match = match_document(doc, schema)
    assert match is not None
    assert "child_forenames" not in match.answers


def test_another_date_of_the_section_is_not_the_blank_date_beside_it() -> None:
    """ "Date of review" under "About this referral", beside a blank "Date of
    referral", is not the date of referral (what is left of both is "date")."""
    schema = SCHEMAS["cspr_referral"]
    doc = _blank(_form(schema, "referral_date", "Date of referral"), "Date of referral")
    doc = _with_row(doc, "Date of referral", "Date of review", "14/03/2026", "About this referral")
    match = match_document(doc, schema)
    assert match is not None
    assert "referral_date" not in match.answers


def test_the_incident_date_under_a_notification_heading_is_not_the_date_notified() -> None:
    """ "Date of incident" printed under "Notification details" is the incident's
    date: "notification" reads as "serious incident notification", but the
    question says nothing of its printed heading."""
    schema = SCHEMAS["serious_incident_notification"]
    key = "incident_date"
    doc = _form_headed(schema, key, "Date of incident", "Notification details")
    entries = [
        e
        for e in doc.entries
        if "notif" not in e.question.lower() or "date" not in e.question.lower()
    ]
    match = match_document(Document("docx", "form.docx", doc.title, entries), schema)
    assert match is not None
    assert match.asked_as.get(key) == "Date of incident"
    assert match.asked_as.get("date_notified") != "Date of incident"


def test_a_question_naming_the_sections_person_does_not_hide_what_is_left() -> None:
    """ "Safeguarding lead's role" says "safeguarding lead" (a wording of the lead's
    name) but asks the role: it does not stop "Name of lead consulted" beside it
    being read as the name."""
    wording = "Name of lead consulted"
    schema = SCHEMAS["cspr_referral"].without_wordings({comparable(wording)}, comparable)
    doc = _form_headed(schema, "dsl_name", wording, "Designated safeguarding lead consulted")
    entries = [
        dataclasses.replace(e, question="Safeguarding lead's role")
        if e.question == schema.field("dsl_role").question
        else e
        for e in doc.entries
    ]
    match = match_document(Document("docx", "form.docx", doc.title, entries), schema)
    assert match is not None
    assert match.asked_as.get("dsl_name") == wording
    assert match.asked_as.get("dsl_role") == "Safeguarding lead's role"


def test_a_heading_naming_no_section_is_read_by_its_questions() -> None:
    """Under a heading the schema has never been told ("Referring agency"), whose
    other questions are all the referrer's, a reworded "Team and agency" is the
    referrer's agency."""
    wording, heading = "Team and agency", "Referring agency"
    schema = _without_heading(SCHEMAS["cspr_referral"], heading)
    schema = schema.without_wordings({comparable(wording)}, comparable)
    match = match_document(_form_headed(schema, "referrer_agency", wording, heading), schema)
    assert match is not None
    assert match.asked_as.get("referrer_agency") == wording


@pytest.mark.parametrize(
    "printed",
    [
        "Involvement with children's social care",
        "Involvement with childrens social care",
        "Children's social care involvement",
        "Status with children’s social care",
    ],
)
def test_a_lexicon_phrase_is_read_with_or_without_its_apostrophe(printed: str) -> None:
    """The lexicon writes "childrens social care"; a form prints "children's",
    which reads as "children": both say the child's status."""
    lexicon = SCHEMAS["cspr_referral"].lexicon
    assert lexicon.canon(printed) == lexicon.canon("Status")


def _with_block(doc: Document, after: str, heading: str, rows: list[tuple[str, str]]) -> Document:
    """``doc`` with a block of rows under ``heading`` after the question ``after``."""
    at = next(n for n, e in enumerate(doc.entries) if e.question == after) + 1
    block = [Entry(q, heading, (Line(a),), f"table 2, row {n}") for n, (q, a) in enumerate(rows, 1)]
    return Document("docx", "form.docx", doc.title, [*doc.entries[:at], *block, *doc.entries[at:]])


@pytest.mark.parametrize("form", ["cspr_referral", "serious_incident_notification"])
@pytest.mark.parametrize(
    ("heading", "rows"),
    [
        ("Father / partner", [("Name", "John Smith"), ("Address", "9 Oak Road, WA4 4DD")]),
        ("Siblings", [("Name", "Amy Smith"), ("Address", "5 Elm Road, WA3 3CC")]),
        (
            "Siblings",
            [("Name", "Amy Smith"), ("Date of birth", "04/04/2020"), ("Gender", "Female")],
        ),
        ("Emergency contact", [("Name", "Kim Ray"), ("Address", "5 Elm Road, WA3 3CC")]),
    ],
)
def test_another_persons_details_are_not_the_childs(
    form: str, heading: str, rows: list[tuple[str, str]]
) -> None:
    """A block of another person's "Name" and "Address" (or date of birth) under a
    heading the schema does not know is not read as the child's: the child's
    name asked in one question fits any "Name", and the child's own address,
    date of birth or gender is answered already (the review found the father's
    address added to the child's, and a sibling's date of birth taken)."""
    schema = SCHEMAS[form]
    doc = _form(schema, "child_surname", "Surname")
    plain = match_document(doc, schema)
    match = match_document(_with_block(doc, "Surname", heading, rows), schema)
    assert plain is not None and match is not None
    for key in ("child_address", "child_dob", "child_gender"):
        assert match.answers[key].value == plain.answers[key].value, key


def test_another_persons_address_does_not_fill_the_childs_blank_address() -> None:
    schema = SCHEMAS["cspr_referral"]
    address = schema.field("child_address").question
    doc = _blank(_form(schema, "child_surname", "Surname"), address)
    doc = _with_block(doc, "Surname", "Siblings", [("Name", "Amy"), ("Address", "5 Elm Road")])
    match = match_document(doc, schema)
    assert match is not None
    assert "child_address" not in match.answers


@pytest.mark.parametrize("answer", ["Mother", "Orford Primary School", "Police"])
def test_reported_by_under_another_section_is_not_the_referrers_name(answer: str) -> None:
    """ "Reported by: Mother" under "The incident" says who reported the incident,
    not the referrer's name (missing from this form)."""
    schema = SCHEMAS["cspr_referral"]
    doc = _form(schema, "child_surname", "Surname")
    doc = Document(
        "docx",
        "form.docx",
        doc.title,
        [e for e in doc.entries if not (e.question == "Name" and e.section == "Referrer")],
    )
    where = schema.field("incident_location").question
    doc = _with_row(doc, where, "Reported by", answer, "The incident")
    match = match_document(doc, schema)
    assert match is not None
    assert "referrer_name" not in match.answers


@pytest.mark.parametrize(
    "heading", ["Health visitor", "GP details", "School", "Siblings", "Mother", "Young mother"]
)
def test_a_name_under_a_heading_naming_someone_else_is_theirs(heading: str) -> None:
    """The "Name" under "Health visitor" is the health visitor's: it does not fill
    the child's blank forename.  It is still offered as where the forename may be
    (a sibling group's referral gives the child's details as a sibling's; a child
    may be a young mother herself; reviews found a school's or a grandmother's
    block holding the child's date of birth or address), so the form goes to a
    person, not back."""
    from parsers.forms.match import possible_answers

    schema = SCHEMAS["cspr_referral"]
    doc = _blank(_form(schema, "child_surname", "Surname"), "Forename(s)")
    doc = _with_block(doc, "Surname", heading, [("Name", "Ann Lee"), ("Telephone", "01632 960444")])
    match = match_document(doc, schema)
    assert match is not None
    assert "child_forenames" not in match.answers
    assert "Name" in [u.question for u in possible_answers(match, schema, "child_forenames")]


def _blank_in(doc: Document, question: str, section: str) -> Document:
    entries = [
        dataclasses.replace(e, answer=()) if (e.question, e.section) == (question, section) else e
        for e in doc.entries
    ]
    return Document("docx", "form.docx", doc.title, entries)


@pytest.mark.parametrize(
    ("heading", "theirs"),
    [
        ("Mother", False),
        ("Mother's details", False),
        ("Grandparents", False),
        ("Stepfather", False),
        ("Parent Support Adviser", True),
        ("Young mother", True),
        ("GP details", True),
        ("Health visitor", True),
        ("School", True),
        ("Allocated social worker", True),
        ("Partner agency", True),
        ("Residential carer", True),
        ("Ward sister", True),
        ("Siblings", True),
    ],
)
def test_a_referrers_blank_may_be_answered_under_a_professionals_heading_only(
    heading: str, theirs: bool
) -> None:
    """The GP, the health visitor or the school may be the one referring, and give
    their name and number under their own heading: the form goes to a person.  A
    heading naming nothing but a parent or a grandparent is never the referrer's:
    the form can go back.  Words that also name professionals or agencies
    ("Partner agency", "Residential carer", "Ward sister"), and a relative's word
    inside a title ("Parent Support Adviser") or beside another word ("Young
    mother"), rule nothing out."""
    from parsers.forms.match import possible_answers

    schema = SCHEMAS["cspr_referral"]
    doc = _blank_in(_form(schema, "child_surname", "Surname"), "Name", "Referrer")
    rows = [("Name", "Ann Lee"), ("Telephone number", "01632 960444")]
    match = match_document(_with_block(doc, "Surname", heading, rows), schema)
    assert match is not None
    assert "referrer_name" in match.blank
    maybe = [u.question for u in possible_answers(match, schema, "referrer_name")]
    assert ("Name" in maybe) is theirs


def _with_blank_and_block(
    form: str, key: str, heading: str, rows: list[tuple[str, str]]
) -> tuple[FormSchema, FormMatch | None]:
    """Our form with ``key`` left blank and a block of ``rows`` under ``heading``
    after the child's first question, as read."""
    schema = SCHEMAS[form]
    first = "child_surname" if form == "cspr_referral" else "child_forenames"
    after = schema.field(first).question
    doc = _blank(_form(schema, first, after), schema.field(key).question)
    return schema, match_document(_with_block(doc, after, heading, rows), schema)


@pytest.mark.parametrize(("key", "form"), [
    ("referral_date", "cspr_referral"),
    ("date_became_aware", "cspr_referral"),
    ("date_notified", "serious_incident_notification"),
])  # fmt: skip
def test_a_family_members_date_of_birth_is_not_where_another_date_may_be(
    key: str, form: str
) -> None:
    """ "Date of birth" under "Father" or "GP details" is theirs: it does not answer
    the date of referral left blank.  A plain "Date" under "Mother" asks nothing
    of hers, and a "Date of birth" under "Mother and baby" may be the child's: both
    are still offered."""
    from parsers.forms.match import possible_answers

    born = [("Name", "John Smith"), ("Date of birth", "03/03/1988")]
    for heading in ("Father", "GP details"):
        schema, match = _with_blank_and_block(form, key, heading, born)
        assert match is not None and key in match.blank
        assert possible_answers(match, schema, key) == [], heading
    for heading, rows in (
        ("Mother", [("Name", "Jane Smith"), ("Date", "03/03/2026")]),
        ("Mother and baby", born),
    ):
        schema, match = _with_blank_and_block(form, key, heading, rows)
        assert match is not None and key in match.blank
        assert possible_answers(match, schema, key), heading


@pytest.mark.parametrize(
    ("form", "key", "heading", "rows"),
    [
        # The declaration's own row, left under "Mother" when its title was missed.
        ("cspr_referral", "signed_by", "Mother", [("Signed (name)", "Theo Pennington")]),
        # A date of birth asked or answered with another date.
        ("cspr_referral", "incident_date", "Victim", [("DOB/DOD", "16/07/2014 - 14/02/2026")]),
        (
            "serious_incident_notification",
            "incident_date",
            "Mother",
            [("Date of birth / death", "02/02/1990 - 14/02/2026")],
        ),
        (
            "cspr_referral",
            "incident_date",
            "Alleged perpetrator",
            [("DOB (or date of arrest)", "14/02/2026")],
        ),
        (
            "cspr_referral",
            "incident_date",
            "Father",
            [("Date of birth", "Born 1988, arrested 14/02/2026")],
        ),
    ],
)
def test_a_relatives_block_that_may_hold_the_answer_is_offered(
    form: str, key: str, heading: str, rows: list[tuple[str, str]]
) -> None:
    """What a third review found sent back although the answer was there: a
    question only the referrer's section asks, under a relative's heading; a
    date of birth asked together with another date ("DOB/DOD"), or answered
    with more than one date."""
    from parsers.forms.match import possible_answers

    schema, match = _with_blank_and_block(form, key, heading, rows)
    assert match is not None
    assert key in match.answers or possible_answers(match, schema, key)


def test_a_relatives_block_is_put_aside_only_for_the_referrers_and_the_leads_questions() -> None:
    """A block under "Mother" may answer what is about the family ("Household
    members", "Has the family been told?"), the agencies and actions ("Action
    taken: arrested"), and even the child's own details (a child living with her
    grandmother, a child who is a young mother): it is put aside only for the
    referrer's and the lead's questions."""
    from parsers.forms.match import Unplaced, _someone_elses_particulars
    from parsers.forms.targets import asked, compile_schema

    compiled = compile_schema(SCHEMAS["cspr_referral"])
    target = {t.key: t for t in compiled.targets}
    sections = compiled.sections_of("Mother")
    question = asked(compiled.lexicon, "Name")
    keys = (
        ("household_members", False),
        ("family_informed", False),
        ("agencies_involved", False),
        ("immediate_actions", False),
        ("child_forenames", False),
        ("child_address", False),
        ("referrer_name", True),
        ("dsl_email", True),
    )
    for key, theirs in keys:
        unplaced = Unplaced("Name", "Mother", "Jane Smith", "table 2, row 1")
        ruled_out = _someone_elses_particulars(unplaced, sections, question, target[key], compiled)
        assert ruled_out is theirs, key


@pytest.mark.parametrize(
    ("form", "key", "heading", "rows"),
    [
        ("cspr_referral", "child_dob", "Mother", [("Child's date of birth", "03/03/2015")]),
        (
            "cspr_referral",
            "child_address",
            "Mother",
            [("Address (the child lives here)", "5 Elm Road")],
        ),
        (
            "cspr_referral",
            "child_dob",
            "Details of the alleged incident",
            [("Child's date of birth", "03/03/2015")],
        ),
        (
            "serious_incident_notification",
            "child_dob",
            "Family and household",
            [("Name", "Jake Whitfield (subject child)"), ("Date of birth", "03/03/2015")],
        ),
        ("cspr_referral", "child_dob", "Midwife", [("Expected date of delivery", "03/03/2027")]),
        ("cspr_referral", "child_dob", "School", [("Pupil's date of birth", "03/03/2015")]),
        ("cspr_referral", "child_address", "Foster carer", [("Address", "5 Elm Road, WA3 3CC")]),
        (
            "cspr_referral",
            "child_dob",
            "Sibling 1",
            [("Name", "Jake Whitfield"), ("Date of birth", "03/03/2015")],
        ),
        (
            "cspr_referral",
            "child_status",
            "Allocated social worker",
            [("Name", "Sam Jones"), ("Legal status", "Child protection plan (neglect)")],
        ),
        (
            "cspr_referral",
            "child_address",
            "Grandmother",
            [("Name", "Rose Whitfield"), ("Address", "9 Oak Road, Warrington WA4 4DD")],
        ),
        (
            "cspr_referral",
            "child_dob",
            "Young mother",
            [("Name", "Jade Whitfield"), ("Date of birth", "03/03/2010")],
        ),
        ("cspr_referral", "family_informed", "Mother", [("Aware of referral?", "Yes")]),
    ],
)  # fmt: skip
def test_a_block_that_may_hold_the_childs_own_details_is_offered(
    form: str, key: str, heading: str, rows: list[tuple[str, str]]
) -> None:
    """What a review of the rule found sent back although the answer was there: a
    question naming the child under a parent's heading, an incident's "alleged",
    the subject child listed with the household, an unborn child's expected date
    of delivery under "Midwife", a pupil's date of birth under "School", a
    looked-after child's foster home, the child's own block as "Sibling 1"."""
    from parsers.forms.match import possible_answers

    schema, match = _with_blank_and_block(form, key, heading, rows)
    assert match is not None
    assert key in match.answers or possible_answers(match, schema, key)


@pytest.mark.parametrize(
    ("key", "heading", "rows"),
    [
        ("child_gender", "Child (victim)", [("Gender", "☐ Male ☒ Female")]),
        ("child_address", "Mother and baby", [("Address", "5 Elm Road, WA3 3CC")]),
        (
            "dsl_email",
            "DSL (headteacher)",
            [("Name", "Kate Bell"), ("Email", "k.bell@school.example.org")],
        ),
    ],
)
def test_a_heading_naming_the_fields_person_in_other_words_does_not_hide_its_answer(
    key: str, heading: str, rows: list[tuple[str, str]]
) -> None:
    """ "Child (victim)", "Mother and baby", "DSL (headteacher)" name the field's
    person among others: what is written under them is read as it, or offered as
    where its blank may be answered, never left for a return (the third review
    found these sent back)."""
    from parsers.forms.match import possible_answers

    schema = SCHEMAS["cspr_referral"]
    question = schema.field(key).question
    doc = _blank(_form(schema, "child_surname", "Surname"), question)
    doc = _with_block(doc, "Surname", heading, rows)
    match = match_document(doc, schema)
    assert match is not None
    assert key in match.answers or possible_answers(match, schema, key)


def test_a_name_under_a_heading_naming_the_child_and_another_may_be_the_childs() -> None:
    """Under "Mother and baby" the "Name" may be the baby's: a heading naming the
    child among others does not make it someone else's."""
    schema = SCHEMAS["cspr_referral"]
    doc = _blank(_form(schema, "child_surname", "Surname"), "Forename(s)")
    doc = _with_block(doc, "Surname", "Mother and baby", [("Name", "Ann Lee")])
    match = match_document(doc, schema)
    assert match is not None
    assert match.answers["child_forenames"].raw == "Ann Lee"


def _as_paragraphs(doc: Document) -> Document:
    """``doc``'s questions written as running text: a heading a section, then
    "Question: answer", or the question on its own line with its answer under it."""
    flow: list[FlowLine] = []
    section = None
    for entry in doc.entries:
        if entry.section != section:
            section = entry.section
            flow.append(FlowLine(section, heading=True))
        lines = [line.text for line in entry.answer if line.text]
        if len(lines) == 1 and not lines[0].startswith(("☐", "☒")):
            flow.append(FlowLine(f"{entry.question}: {lines[0]}"))
        else:
            flow += [FlowLine(f"{entry.question}:"), *(FlowLine(t) for t in lines)]
    return Document("docx", "form.docx", doc.title, [], flow)


@pytest.mark.parametrize(
    ("form", "key", "wording"),
    [
        ("serious_incident_notification", "notifier_role", "Notifier's role"),
        ("cspr_referral", "referrer_job_title", "Referrer's job title"),
    ],
)
def test_a_line_naming_its_sections_person_is_a_question_in_running_text(
    form: str, key: str, wording: str
) -> None:
    """ "Notifier's role: Health Visitor" under the notifier's name, in a form
    written as paragraphs, with "Notifier's role" a wording the reader was never
    told: it is the notifier's "Role", not more lines of the notifier's name."""
    schema = SCHEMAS[form].without_wordings({comparable(wording)}, comparable)
    assert comparable(wording) not in {comparable(w) for w in schema.field(key).wordings}
    doc = _as_paragraphs(_form(schema, key, wording))
    match = match_document(doc, schema)
    assert match is not None
    expected = _form(schema, key, wording)
    written = {e.question: e.answer[0].text for e in expected.entries if e.answer}
    assert match.values[key] == written[wording]
    name = next(f.key for f in schema.fields if f.section == schema.field(key).section)
    assert "\n" not in str(match.values[name])


def test_an_answer_of_heads_and_values_is_not_read_as_questions() -> None:
    """ "Household members: Father: John Smith", then "Mother: Jane Smith": one
    answer written as heads and values, every line of it kept."""
    schema = SCHEMAS["cspr_referral"]
    printed = _form(schema, "police_reference", "Police reference")
    question = schema.field("household_members").question
    printed.entries = [
        dataclasses.replace(e, answer=(Line("Father: John Smith"),))
        if e.question == question
        else e
        for e in printed.entries
    ]
    doc = _as_paragraphs(printed)
    flow: list[FlowLine] = []
    for line in doc.flow:
        flow.append(line)
        if line.text == f"{question}: Father: John Smith":
            flow += [FlowLine("Mother: Jane Smith"), FlowLine("Sister: Amy Smith")]
    assert len(flow) == len(doc.flow) + 2
    doc.flow = flow
    match = match_document(doc, schema)
    assert match is not None
    assert match.values["household_members"].splitlines() == [  # type: ignore[union-attr]
        "Father: John Smith",
        "Mother: Jane Smith",
        "Sister: Amy Smith",
    ]


@pytest.mark.parametrize(
    ("key", "extra"),
    [
        ("referrer_job_title", "Base: Orford Clinic"),
        ("police_reference", "OIC: DC Jane Morris"),
    ],
)
def test_a_head_and_value_under_an_answer_is_more_of_that_answer(key: str, extra: str) -> None:
    """ "Job title: Social Worker", then "Base: Orford Clinic": people add a line
    like that to their answer; it is not a question, and the answer keeps it."""
    schema = SCHEMAS["cspr_referral"]
    printed = _form(schema, "police_reference", "Police reference")
    question = schema.field(key).question if key != "police_reference" else "Police reference"
    doc = _as_paragraphs(printed)
    section = schema.section(schema.field(key).section).title
    flow: list[FlowLine] = []
    first, heading = "", ""
    for line in doc.flow:
        flow.append(line)
        heading = line.text if line.heading else heading
        if heading == section and line.text.startswith(f"{question}: "):
            first = line.text.partition(": ")[2]
            flow.append(FlowLine(extra))
    assert first
    doc.flow = flow
    match = match_document(doc, schema)
    assert match is not None
    assert match.values[key] == f"{first}\n{extra}"


@pytest.mark.parametrize("added", ["Covering for: Jane Smith (on leave)", "Band 8a"])
def test_an_answer_worded_like_a_question_under_a_question_that_asks_is_no_proof_of_a_blank(
    added: str,
) -> None:
    """ "Job title / role:", then "Named Nurse for Safeguarding" (worded like the
    lead's question), then a line the referrer added to that answer: the job title
    may be that answer, so it is not proved blank (it was, and a complete form was
    sent back, found by a review's harness of 1,400 paragraph forms)."""
    schema = SCHEMAS["cspr_referral"]
    doc = _as_paragraphs(_form(schema, "police_reference", "Police reference"))
    question = schema.field("referrer_job_title").question
    section = schema.section("referrer").title
    flow: list[FlowLine] = []
    heading = ""
    for line in doc.flow:
        heading = line.text if line.heading else heading
        if heading == section and line.text.startswith(f"{question}: "):
            flow += [FlowLine(f"{question}:"), FlowLine("Named Nurse for Safeguarding")]
            flow.append(FlowLine(added))
            continue
        flow.append(line)
    assert len(flow) == len(doc.flow) + 2
    doc.flow = flow
    match = match_document(doc, schema)
    assert match is not None
    assert "referrer_job_title" not in match.blank


def test_a_blank_question_above_the_next_question_of_its_section_is_proved_blank() -> None:
    """ "Where did the incident happen?" left blank, then "Case outline" (no colon)
    and its text: the next question of the same section, not a possible answer,
    so the location is still proved blank and an incomplete form can go back."""
    schema = SCHEMAS["serious_incident_notification"]
    doc = _as_paragraphs(_form(schema, "panel_reference", "Panel reference"))
    location = schema.field("incident_location").question
    outline = schema.field("case_outline").question
    flow: list[FlowLine] = []
    for line in doc.flow:
        if line.text.startswith(f"{location}: "):
            flow.append(FlowLine(location))
        elif line.text == f"{outline}:":
            flow.append(FlowLine(outline))
        else:
            flow.append(line)
    assert [line.text for line in flow].count(location) == 1
    assert [line.text for line in flow].count(outline) == 1
    doc.flow = flow
    match = match_document(doc, schema)
    assert match is not None
    assert "incident_location" in match.blank
    assert match.values["case_outline"]


def test_a_line_of_running_text_is_held_only_to_wordings_sharing_a_word() -> None:
    """Issue 10: a line of running text is compared, word for word, only with the
    wordings that share a meaning word with it (`_by_word`).  That is the whole
    comparison only while a wording sharing no word with a question scores
    nothing against it, either way round: checked over every pair of the real
    schemas' wordings."""
    from parsers.forms.targets import compile_schema, containment

    wordings = {
        w.content
        for schema in SCHEMAS.values()
        for target in compile_schema(schema).targets
        for w in target.wordings
    }
    checked = 0
    for a in wordings:
        for b in wordings:
            if not a & b:
                checked += 1
                for same in (None, True, False):
                    assert containment(a, b, same) == 0.0, (sorted(a), sorted(b))
    assert checked > 1000


@pytest.mark.parametrize("form", ["cspr_referral", "serious_incident_notification"])
@pytest.mark.parametrize(
    ("question", "anyone"),
    [
        ("Name", True),
        ("Full name", True),
        ("Telephone number", True),
        ("Email address", True),
        ("Date of birth", True),
        # The referrer's own questions, however a block above them is headed.
        ("Your name", False),
        ("Your email", False),
        ("Print name", False),
        ("Signed (name)", False),
        ("Job title", False),
        ("Role", False),
    ],
)
def test_a_relatives_block_is_put_aside_only_over_a_question_anyone_is_asked(
    form: str, question: str, anyone: bool
) -> None:
    """A relative's "Name" or "Telephone number" is theirs; "Your email", "Print
    name" or "Job title" under "Mother" are more likely the referrer's own, their
    section's title missed (a fourth review): those still hold a return back."""
    from parsers.forms.match import _asked_of_anyone
    from parsers.forms.targets import compile_schema

    assert _asked_of_anyone(question, compile_schema(SCHEMAS[form])) is anyone
