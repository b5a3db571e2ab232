"""End to end: a filled form in every fill style, sent by every client, read exactly.

Each case is built by the project's own builders (``tests/builders``): a
fictional referral or notification filled in one of the ways people fill
Word and PDF forms, sometimes with required answers left blank, attached to
an email from one of several clients.  `intake.assess.assess_message` (what
``intake check`` runs) must read every answer exactly and reach the right
decision.  ``bench/accuracy.py`` runs many more of these and prints rates.
"""

from pathlib import Path

import pytest

from intake.assess import assess_message, schemas_in
from intake.config import load_config
from tests.builders.accuracy import cases

ROOT = Path(__file__).resolve().parents[2]
CONFIG = load_config(ROOT / "config" / "intake.toml")
# Delivered through our MX, which authenticated each sender (issue 8): what is
# measured here is the reading and the decision on the form.
OUR_MX = CONFIG.rules.authserv_ids[0]
CASES = list(cases(schemas_in(str(CONFIG.forms_dir)), per_style=2, first_seed=7, our_mx=OUR_MX))


@pytest.mark.parametrize("case", CASES, ids=[f"{c.style}-{c.client}-{c.seed}" for c in CASES])
def test_it_reads_every_answer_and_decides_right(case):
    outcome = assess_message(case.raw, CONFIG).as_outcome()
    assert outcome["form_type"] == case.form_type
    assert outcome["fields"] == case.expected_fields
    assert outcome["decision"] == ("accepted" if case.complete else "incomplete")
