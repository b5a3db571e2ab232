"""Completeness: what a referrer is told is missing or wrong, in the form's order."""

from __future__ import annotations

import email
import json
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from intake.completeness import (
    check_completeness,
    is_valid_email,
    is_valid_nhs_number,
    is_valid_uk_phone,
    nhs_check_digit,
)
from intake.deadlines import received_date
from parsers.schema import load_schemas

EXAMPLES = Path(__file__).resolve().parents[3] / "shared" / "forms" / "examples"
SCHEMAS = load_schemas(Path(__file__).resolve().parents[2] / "config" / "forms")
CSPR = SCHEMAS["cspr_referral"]
SIN = SCHEMAS["serious_incident_notification"]
ARRIVED = date(2026, 1, 30)


def complete_cspr() -> dict[str, object]:
    return dict(json.loads((EXAMPLES / "referral-accepted.json").read_text())["fields"])


def test_it_finds_nothing_wrong_with_a_complete_form():
    result = check_completeness(CSPR, complete_cspr(), ARRIVED)
    assert result.missing == [] and result.invalid == []
    assert result.complete


def test_it_lists_missing_answers_in_the_forms_order():
    values = complete_cspr()
    for key in ("police_investigation", "referrer_job_title", "child_surname"):
        values.pop(key)
    result = check_completeness(CSPR, values, ARRIVED)
    assert result.missing == ["referrer_job_title", "child_surname", "police_investigation"]


def test_it_treats_a_blank_answer_as_missing():
    values = complete_cspr() | {"referrer_name": "   ", "child_status": []}
    assert check_completeness(CSPR, values, ARRIVED).missing == ["referrer_name", "child_status"]


def test_it_lists_both_date_of_birth_and_age_when_neither_is_given():
    values = complete_cspr()
    values.pop("child_dob", None)
    values.pop("child_age", None)
    assert check_completeness(CSPR, values, ARRIVED).missing == ["child_dob", "child_age"]


def test_it_accepts_an_age_instead_of_a_date_of_birth():
    values = complete_cspr()
    values.pop("child_dob", None)
    values["child_age"] = "about 14"
    assert check_completeness(CSPR, values, ARRIVED).missing == []


def test_it_requires_a_date_of_death_only_when_the_child_died():
    values = complete_cspr() | {"incident_outcome": "died"}
    values.pop("date_of_death", None)
    assert check_completeness(CSPR, values, ARRIVED).missing == ["date_of_death"]
    values["incident_outcome"] = "seriously_harmed"
    assert check_completeness(CSPR, values, ARRIVED).missing == []


def test_it_requires_the_notification_date_only_when_the_panel_was_notified():
    values = complete_cspr() | {"sin_submitted": "yes"}
    values.pop("sin_date", None)
    assert check_completeness(CSPR, values, ARRIVED).missing == ["sin_date"]


@pytest.mark.parametrize("note", ["Not yet - LA will notify", "due by 16/02/2026"])
def test_a_note_under_a_follow_up_question_its_condition_rules_out_sends_nothing_back(note):
    """ "If yes, date of notification" under "No": what is written there is a note,
    not an answer that could be wrong."""
    values = complete_cspr() | {"sin_submitted": "no", "sin_date": note}
    assert check_completeness(CSPR, values, ARRIVED).complete
    values["sin_submitted"] = "yes"
    [problem] = check_completeness(CSPR, values, ARRIVED).invalid
    assert problem.field == "sin_date"


def test_it_says_a_date_that_does_not_exist_is_not_a_real_date():
    values = complete_cspr() | {"child_dob": "31/02/2015"}
    [problem] = check_completeness(CSPR, values, ARRIVED).invalid
    assert problem.field == "child_dob"
    assert problem.reason == "Date of birth: 31/02/2015 is not a real date"


def test_it_rejects_a_date_after_the_day_the_email_arrived():
    values = complete_cspr() | {"signed_date": "2026-02-02"}
    [problem] = check_completeness(CSPR, values, ARRIVED).invalid
    assert problem.field == "signed_date"
    assert "after the day we received this form (30/01/2026)" in problem.reason


def test_it_accepts_a_date_on_the_day_the_email_arrived():
    values = complete_cspr() | {"signed_date": "2026-01-30"}
    assert check_completeness(CSPR, values, ARRIVED).invalid == []


def test_it_rejects_a_date_of_birth_after_the_incident():
    values = complete_cspr() | {"child_dob": "2026-01-20", "incident_date": "2026-01-10"}
    [problem] = check_completeness(CSPR, values, ARRIVED).invalid
    assert problem.field == "child_dob"
    assert "after the date of incident (10/01/2026)" in problem.reason


def test_it_rejects_becoming_aware_before_the_incident():
    values = complete_cspr() | {"incident_date": "2026-01-10", "date_became_aware": "2026-01-09"}
    [problem] = check_completeness(CSPR, values, ARRIVED).invalid
    assert problem.field == "date_became_aware"
    assert "before the date of incident" in problem.reason


def test_it_rejects_a_malformed_email_address():
    values = complete_cspr() | {"referrer_email": "jo.bloggs@agency"}
    [problem] = check_completeness(CSPR, values, ARRIVED).invalid
    assert problem.field == "referrer_email"
    assert problem.reason.endswith("is not a valid email address")


@pytest.mark.parametrize(
    "written",
    [
        "jo.bloggs@agency.gov.uk, safeguarding@agency.gov.uk",
        "jo.bloggs@agency.gov.uk\nsafeguarding@agency.gov.uk",
        "jo.bloggs@agency.gov.uk / jo.bloggs@nhs.net",
        "jo.bloggs@agency.gov.uk (cjsm: jo.bloggs@agency.cjsm.net)",
        "office@st-peter-and-paul.lancs.sch.uk",  # "and" inside one address
    ],
)
def test_an_email_answer_giving_two_addresses_is_valid(written):
    """One address the team can write to is what it needs: two had gone back as
    "not a valid email address"."""
    values = complete_cspr() | {"referrer_email": written}
    assert check_completeness(CSPR, values, ARRIVED).invalid == []


@pytest.mark.parametrize(
    "written",
    [
        "Switchboard 01925 444000, ask for Jo",
        "07700 900123 (work mobile)",
        "+44 1925 444000 (mob)",
        "01925 444000 (office) / 07700 900123 (mobile)",
        "01925 444000 – ask for the duty desk",
    ],
)
def test_a_telephone_answer_with_words_around_the_number_is_valid(written):
    """A valid number with a note beside it had gone back as "not a valid UK
    telephone number"."""
    values = complete_cspr() | {"referrer_phone": written}
    assert check_completeness(CSPR, values, ARRIVED).invalid == []


@pytest.mark.parametrize(
    "written",
    [
        "01925 44332",
        "Switchboard 01925 44332, ask for Jo",
        "No direct line. Case ref 2101234567 on file",  # a reference, not a number to ring
        "Desk 1925 444000 (no 0)",
    ],
)
def test_it_rejects_a_telephone_number_with_a_digit_missing(written):
    values = complete_cspr() | {"referrer_phone": written}
    [problem] = check_completeness(CSPR, values, ARRIVED).invalid
    assert problem.field == "referrer_phone"


@pytest.mark.parametrize(
    "key, written",
    [
        ("child_nhs_number", "Awaited – baby born 10/01"),
        ("child_nhs_number", "not yet allocated"),
        ("child_nhs_number", "Awaited"),
        ("child_nhs_number", "Not yet allocated - hospital no. RBT123456"),
        ("child_nhs_number", "Awaited, GP 01925 444000"),
    ],
)
def test_a_question_we_do_not_need_answered_in_words_alone_is_a_note(key, written):
    """ "NHS number: not yet allocated" on a question that may be left blank had sent
    the form back as "not a valid NHS number".  A number tried and wrong still is."""
    values = complete_cspr() | {key: written}
    assert check_completeness(CSPR, values, ARRIVED).invalid == []
    values = complete_cspr() | {key: "999 421 7772"}
    assert [p.field for p in check_completeness(CSPR, values, ARRIVED).invalid] == [key]


def test_a_required_date_answered_in_words_alone_is_not_valid():
    """Not valid, though not wrong for sure: `intake.safety` has a person decide."""
    values = complete_cspr() | {"incident_date": "last week"}
    [problem] = check_completeness(CSPR, values, ARRIVED).invalid
    assert problem.field == "incident_date"


@pytest.mark.parametrize("written", ["NHS: 999 518 3439", "999 518 3439 (GP)", "9995183439"])
def test_an_nhs_number_with_words_around_it_is_valid(written):
    values = complete_cspr() | {"child_nhs_number": written}
    assert check_completeness(CSPR, values, ARRIVED).invalid == []


def test_it_rejects_an_nhs_number_with_a_wrong_check_digit():
    values = complete_cspr() | {"child_nhs_number": "999 421 7772"}
    [problem] = check_completeness(CSPR, values, ARRIVED).invalid
    assert problem.field == "child_nhs_number"


def test_it_lists_invalid_answers_in_the_forms_order():
    values = complete_cspr() | {
        "signed_date": "yesterday",
        "referrer_email": "nobody",
        "child_nhs_number": "999 421 7772",
    }
    fields = [p.field for p in check_completeness(CSPR, values, ARRIVED).invalid]
    assert fields == ["referrer_email", "child_nhs_number", "signed_date"]


def test_it_rejects_a_choice_that_is_not_an_option():
    values = complete_cspr() | {"child_gender": "boy"}
    [problem] = check_completeness(CSPR, values, ARRIVED).invalid
    assert problem.field == "child_gender"


def test_it_rejects_two_answers_to_a_one_answer_question():
    values = complete_cspr() | {"police_investigation": ["no", "yes"]}
    [problem] = check_completeness(CSPR, values, ARRIVED).invalid
    assert "more than one answer" in problem.reason


@pytest.mark.parametrize(
    "number",
    ["0113 496 0489", "020 7946 0339", "07700 900123", "+44 1925 580299", "(01925) 886618",
     "+44 (0)1925 886618", "01632 960001", "07978755129"],
)  # fmt: skip
def test_it_accepts_uk_telephone_numbers_as_written(number):
    assert is_valid_uk_phone(number)


@pytest.mark.parametrize("number", ["01925 88661", "+353 1 234 5678", "phone me", "12345"])
def test_it_rejects_numbers_that_are_not_uk_numbers(number):
    assert not is_valid_uk_phone(number)


@pytest.mark.parametrize(
    "address", ["a.b@agency.gov.uk", "renée.baker@nhs.net", "x+y@sch.uk", "mailto:a@b.org"]
)
def test_it_accepts_well_formed_email_addresses(address):
    assert is_valid_email(address)


@pytest.mark.parametrize(
    "address", ["a@b", "a b@c.uk", "a@b..uk", "@b.uk", "a@-b.uk", "Jo <jo@b.uk>", "a@b.c"]
)
def test_it_rejects_malformed_email_addresses(address):
    assert not is_valid_email(address)


@given(st.lists(st.integers(min_value=0, max_value=9), min_size=9, max_size=9))
def test_it_accepts_every_nhs_number_with_its_check_digit(digits):
    first = "".join(map(str, digits))
    check = nhs_check_digit(first)
    if check is None:
        assert not any(is_valid_nhs_number(first + str(d)) for d in range(10))
    else:
        number = first + str(check)
        assert is_valid_nhs_number(f"{number[:3]} {number[3:6]} {number[6:]}")
        assert is_valid_nhs_number(f"{number[:3]}-{number[3:6]}-{number[6:]}")
        assert not is_valid_nhs_number(first + str((check + 1) % 10))


WITH_FORMS = sorted(
    p.stem for p in EXAMPLES.glob("*.json") if json.loads(p.read_text())["form_type"]
)


@pytest.mark.parametrize("name", WITH_FORMS)
def test_it_agrees_with_every_example_with_a_form(name):
    expected = json.loads((EXAMPLES / f"{name}.json").read_text())
    with open(EXAMPLES / f"{name}.eml", "rb") as handle:
        arrived = received_date(email.message_from_binary_file(handle))
    result = check_completeness(SCHEMAS[expected["form_type"]], expected["fields"], arrived)
    assert sorted(result.missing) == sorted(expected["missing"])
    assert sorted(p.field for p in result.invalid) == sorted(
        i["field"] for i in expected["invalid"]
    )


def test_it_passes_every_telephone_number_in_the_examples():
    for path in EXAMPLES.glob("*.json"):
        for key, value in json.loads(path.read_text()).get("fields", {}).items():
            if key.endswith("_phone"):
                assert is_valid_uk_phone(value), (path.name, key)


def test_it_checks_the_notification_form_too():
    values = json.loads((EXAMPLES / "zipped.json").read_text())["fields"]
    result = check_completeness(SIN, values, date(2026, 10, 26))
    assert [p.field for p in result.invalid] == ["date_became_aware"]


def test_it_accepts_a_full_length_number_the_phone_metadata_does_not_know_yet():
    assert is_valid_uk_phone("0115 496 0123")  # an Ofcom drama range libphonenumber lacks
