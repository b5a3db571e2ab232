"""Dates and text as referrers write them."""

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from parsers.normalise import (
    comparable,
    date_doubt,
    dates_in,
    fold_text,
    is_non_answer,
    parse_uk_date,
    words_beside_the_date,
)

TODAY = date(2026, 11, 26)


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("03/04/2026", date(2026, 4, 3)),
        ("3/4/26", date(2026, 4, 3)),
        ("03.04.2026", date(2026, 4, 3)),
        ("03-04-2026", date(2026, 4, 3)),
        ("2026-04-03", date(2026, 4, 3)),
        ("3 April 2026", date(2026, 4, 3)),
        ("3rd April 2026", date(2026, 4, 3)),
        ("3rd of Apr. 2026", date(2026, 4, 3)),
        ("Friday 3 April 2026", date(2026, 4, 3)),
        ("Fri, 3 Apr 2026", date(2026, 4, 3)),
        ("April 3, 2026", date(2026, 4, 3)),
        ("03 / 04 / 2026", date(2026, 4, 3)),
        ("8/5/24", date(2024, 5, 8)),
        ("10/01/2026 at about 06:30", date(2026, 1, 10)),
        ("03\u201104\u20112026", date(2026, 4, 3)),  # Word's non-breaking hyphen
        ("03\u201304\u20132026", date(2026, 4, 3)),  # an en dash
        ("03 04 2026", date(2026, 4, 3)),  # typed into DD MM YYYY boxes
        ("12/08/2026 (age 4 and 5 months)", date(2026, 8, 12)),
        ("On 12/08/2026 between 9 and 10 am", date(2026, 8, 12)),
        ("12/08/2026 between 9.30 and 10.30", date(2026, 8, 12)),  # times, not days
        ("Seen at school on 12/08/2026.", date(2026, 8, 12)),  # a full stop after it
        ("12/08/2026- police informed", date(2026, 8, 12)),
        ("DOB:-12/08/2019", date(2019, 8, 12)),
        ("c.12/08/2026", date(2026, 8, 12)),
        ("2026-08-12T10:00", date(2026, 8, 12)),
        ("12.Aug.26 (approx)", date(2026, 8, 12)),  # a two-digit year, then a note
        ("12 Aug 26 at 14:30", date(2026, 8, 12)),
        ("on12/08/2026", date(2026, 8, 12)),  # a word glued on, a space left out
        ("approx12/08/2026", date(2026, 8, 12)),
        ("DOB12/08/2019", date(2019, 8, 12)),
        ("w/c12/08/2026", date(2026, 8, 12)),
    ],
)
def test_it_reads_uk_dates_day_first(written, expected):
    assert parse_uk_date(written, today=TODAY) == expected


@pytest.mark.parametrize(
    "written", ["31/02/2026", "29/02/2026", "00/01/2026", "13/13/2026", "Jan 2026", "soon", ""]
)
def test_it_refuses_what_is_not_a_real_date(written):
    assert parse_uk_date(written, today=TODAY) is None


@pytest.mark.parametrize(
    "written",
    [
        "between 01/01/2026 and 02/01/2026",
        "10-12/08/2026",  # not 10 December 2008
        "30/07\u201302/08/2026",  # not 30 July 2002
        "12 or 13 Aug 2026",
        "11th-12th August 2026",
        "Incident 12/08/2026. Reported to police 14/08/2026",  # not the second alone
        "12 Aug - 13 Aug 2026",  # not 12 August 2013
        "10th/11th August 2026",
        "12 08 2026 - 13/08/2026",
        "Notification drafted 17/03/2026, sent 19/03",  # the second has no year
        "Email 17/3, portal 19/03/2026",
        "12/08/2026 to 14th",
        "June 2020 - 14/08/2026",
        "12.Aug.26 - 13/08/2026",  # not the second alone
    ],
)
def test_it_refuses_a_text_naming_two_dates(written):
    assert parse_uk_date(written, today=TODAY) is None


@pytest.mark.parametrize(
    ("written", "why"),
    [
        ("12/08/2026 - 13/08/2026", "gives more than one date"),
        ("12 Aug 2026 or 13 Aug 2026", "gives more than one date"),
        ("12th Aug", "gives no year"),
        ("Aug 12th", "gives no year"),
        ("12/08", "gives no year"),
        ("mid-August 2026", "gives no day"),
        ("08/2026", "gives no day"),
        ("10\u201312/08/2026", "gives more than one date"),  # Word's en dash: a range
        ("30/07\u201302/08/2026", "gives more than one date"),
        ("12 or 13 Aug 2026", "gives more than one date"),
        ("between 10 and 12 August 2026", "gives more than one date"),
        ("11th-12th August 2026", "gives more than one date"),
        ("12/13/2026", "may be written month first"),
        ("31/02/2026", None),  # no such day: wrong for sure
        ("soon", "is not written as a date"),
        ("12/08/2O26", "is not written as a date"),  # a letter O
        ("l2/08/2026", "is not written as a date"),  # a letter l for the 1 of "12"
        ("O1/08/2026", "is not written as a date"),
        ("l2 August 2026", "gives no day"),
        ("12/08/2026", None),  # one date: nothing to doubt
    ],
)
def test_a_date_answer_that_is_not_one_date_says_why_a_person_should_read_it(written, why):
    assert date_doubt(written) == why


@pytest.mark.parametrize(
    "written",
    [
        "12 Aug 14:00",
        "12 August, 14:30",
        "Tuesday 12 August, 10am",
        "3 Aug 11 p.m.",
        "3 Aug 12 noon",
        "3rd August 10 - 11am",
    ],
)
def test_a_time_after_the_month_is_no_year(written):
    """ "12 Aug 14:00" had been 12 August 2014."""
    assert parse_uk_date(written, today=TODAY) is None
    assert date_doubt(written) == "gives no year"


@pytest.mark.parametrize(
    ("written", "words"),
    [
        ("Will be submitted 23/03/2026", True),
        ("14/03/2026 (hospital admission)", True),
        ("Wednesday 12th of August 2026", False),
        ("12/08/2026 at 21:30", False),
        ("DOB: 12/08/2019", False),
    ],
)
def test_it_tells_a_date_with_words_that_may_explain_it(written, words):
    assert words_beside_the_date(written) is words


def test_a_text_of_thousands_of_dates_is_read_only_as_far_as_several():
    """Hostile mail: a cell of 7,000 dates is "several", found after the third, not
    compared with every other (that had taken 2 s a call)."""
    text = "1/1/11 " * 7143
    assert len(dates_in(text)) == 3
    assert parse_uk_date(text) is None
    assert date_doubt(text) == "gives more than one date"


def test_it_reads_two_digit_years_as_the_latest_year_not_in_the_future():
    assert parse_uk_date("01/01/30", today=TODAY) == date(1930, 1, 1)
    assert parse_uk_date("01/01/27", today=TODAY) == date(2027, 1, 1)


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2099, 12, 31)))
def test_it_reads_back_every_date_in_every_common_uk_style(day):
    styles = [
        day.strftime("%d/%m/%Y"),
        f"{day.day}/{day.month}/{day.year}",
        day.strftime("%d.%m.%Y"),
        day.strftime("%d-%m-%Y"),
        day.isoformat(),
        f"{day.day} {day.strftime('%B')} {day.year}",
        f"{day.day} {day.strftime('%b')} {day.year}",
        f"{day.strftime('%A')} {day.day} {day.strftime('%B')} {day.year}",
    ]
    for written in styles:
        assert parse_uk_date(written, today=TODAY) == day, written


@given(st.text(max_size=60))
def test_it_never_fails_on_any_text(text):
    result = parse_uk_date(text, today=TODAY)
    assert result is None or isinstance(result, date)


def test_it_folds_spaces_and_keeps_lines():
    assert fold_text("  6 Randall  Drive\t\n\nBirchwood \r\n WA3 5JU ") == (
        "6 Randall Drive\nBirchwood\nWA3 5JU"
    )


def test_it_compares_wordings_without_numbers_accents_or_punctuation():
    assert comparable("4. The child") == "the child"
    assert comparable("Section D – Child's details") == "child details"
    assert comparable("Forename(s):") == comparable("Forename(s)")
    assert comparable("Zoë") == "zoe"


@pytest.mark.parametrize("text", ["N/A", "n/a", "-", "Not applicable", "n/k", "  "])
def test_it_knows_answers_that_say_nothing(text):
    assert is_non_answer(text)


def test_it_keeps_real_answers():
    assert not is_non_answer("Op GREEN")
