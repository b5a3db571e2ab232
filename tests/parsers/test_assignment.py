"""The question-to-field solver: scipy's, without loading the rest of scipy.optimize."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment as public

from parsers.forms import assignment
from parsers.forms.assignment import linear_sum_assignment


def test_it_is_scipys_compiled_solver_loaded_from_its_file():
    assert assignment.SOURCE == "compiled module"
    assert linear_sum_assignment is not public  # a second load of the same compiled code


@pytest.mark.parametrize("shape", [(1, 1), (5, 5), (12, 40), (40, 12), (60, 70)])
@pytest.mark.parametrize("maximize", [True, False])
def test_it_assigns_exactly_as_scipy_optimize_does(shape, maximize):
    rng = np.random.default_rng(sum(shape) + maximize)
    for _ in range(20):
        scores = np.where(rng.random(shape) < 0.6, 0.0, rng.random(shape) * 100)
        ours = linear_sum_assignment(scores, maximize=maximize)
        theirs = public(scores, maximize=maximize)
        assert [a.tolist() for a in ours] == [a.tolist() for a in theirs]


def test_matching_a_form_loads_none_of_scipy_optimize():
    """What the sandbox's fork server preloads, and a match run on it, leave
    scipy.optimize (about 50 MB a process) out."""
    script = """
import sys
from parsers.sandbox import _WARM_MODULES, _warm_up
_warm_up()
from pathlib import Path
from parsers.document import Entry, Line
from parsers.forms.match import assign_questions
from parsers.schema import load_schemas
schemas = load_schemas(Path("config/forms"))
asked = [("Child's surname", "Smith"), ("Child's date of birth", "03/04/2015"),
         ("Referrer's email", "a.b@example.org"), ("Date of referral", "01/03/2026")]
entries = [Entry(q, "", (Line(a),), "table 1") for q, a in asked]
placed = assign_questions(entries, schemas["cspr_referral"])
assert len(placed) == 4, placed
print(sorted(m for m in sys.modules if m.startswith("scipy.optimize")))
"""
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=root, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"
