"""tests.builders.docx_builder: the fictional answers are valid, so accuracy tests are fair."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from parsers.normalise import parse_uk_date
from parsers.schema import load_schemas
from tests.builders.docx_builder import STYLES, filled_docx, nhs_number, random_answers

SCHEMAS = load_schemas(Path(__file__).resolve().parents[2] / "config" / "forms")
DRAMA = re.compile(
    r"^(?:01(?:13|14|15|16|17|18|21|31|41|51|61) 496 0\d{3}|020 7946 0\d{3}"
    r"|01632 960\d{3}|07700 900\d{3})$"
)


def nhs_valid(number: str) -> bool:
    digits = [int(c) for c in number.replace(" ", "")]
    check = 11 - sum(d * (10 - i) for i, d in enumerate(digits[:9])) % 11
    return len(digits) == 10 and (0 if check == 11 else check) == digits[9]


@pytest.mark.parametrize("seed", range(20))
def test_it_makes_nhs_numbers_with_a_valid_check_digit(seed: int) -> None:
    assert nhs_valid(nhs_number(random.Random(seed)))


@pytest.mark.parametrize("form_type", sorted(SCHEMAS))
def test_it_answers_every_unconditionally_required_question(form_type: str) -> None:
    schema = SCHEMAS[form_type]
    for seed in range(10):
        answers = random_answers(schema, seed)
        missing = [f.key for f in schema.fields if f.required and f.key not in answers]
        assert missing == []


@pytest.mark.parametrize("form_type", sorted(SCHEMAS))
def test_it_uses_drama_phone_numbers_and_consistent_dates(form_type: str) -> None:
    schema = SCHEMAS[form_type]
    for seed in range(10):
        answers = random_answers(schema, seed)
        phones = [answers[f.key] for f in schema.fields if f.type == "phone"]
        assert phones and all(isinstance(p, str) and DRAMA.match(p) for p in phones)
        dates = {
            f.key: parse_uk_date(str(answers[f.key]))
            for f in schema.fields
            if f.type == "date" and f.key in answers
        }
        assert all(dates.values())
        assert dates["child_dob"] < dates["incident_date"] <= dates["date_became_aware"]


def test_it_answers_a_conditional_question_only_when_its_condition_holds() -> None:
    schema = SCHEMAS["cspr_referral"]
    for seed in range(20):
        answers = random_answers(schema, seed)
        died = answers["incident_outcome"] == ["died"]
        assert ("date_of_death" in answers) == died
        assert ("sin_date" in answers) == (answers["sin_submitted"] == ["yes"])
        if "child_nhs_number" in answers:
            assert nhs_valid(str(answers["child_nhs_number"]))


def test_it_gives_the_same_form_for_the_same_seed() -> None:
    schema = SCHEMAS["serious_incident_notification"]
    assert random_answers(schema, 4) == random_answers(schema, 4)
    assert random_answers(schema, 4) != random_answers(schema, 5)


def test_it_refuses_a_style_it_does_not_know() -> None:
    schema = SCHEMAS["cspr_referral"]
    with pytest.raises(ValueError, match="unknown style"):
        filled_docx(schema, {}, "handwritten")
    assert "typed" in STYLES
