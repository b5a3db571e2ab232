"""Every third-party message in ../shared/corpora gets an outcome, never a crash.

The corpora hold spam, bounces, lists, Outlook .msg and TNEF, broken MIME:
none is a referral.  `assess_message` (what ``intake check`` and the worker
run) must answer for each, and must never plan a reply to automatic mail.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from intake.assess import assess_message
from intake.automatic import automatic_reason
from intake.config import load_config
from parsers.mail.mime import parse_message
from tests.parsers.test_corpora import corpus_files, messages_in

ROOT = Path(__file__).resolve().parents[2]
CONFIG = load_config(ROOT / "config" / "intake.toml")
MESSAGES = [
    (f"{p.relative_to(p.parents[1])}#{i}", raw)
    for p in corpus_files()
    for i, raw in enumerate(messages_in(p))
]

pytestmark = pytest.mark.skipif(
    not MESSAGES, reason="no corpora beside the repository (../shared/corpora)"
)


@pytest.mark.parametrize(("name", "raw"), MESSAGES, ids=[n for n, _ in MESSAGES])
def test_it_reaches_an_outcome_for_every_corpus_message(name, raw):
    outcome = assess_message(raw, CONFIG).as_outcome()
    assert outcome["decision"] in {"accepted", "incomplete", "needs_review", "ignored"}
    message = parse_message(raw, CONFIG.limits).message
    if automatic_reason(message, CONFIG.service.our_addresses, CONFIG.service.message_id_domain):
        assert outcome["decision"] == "ignored" and outcome["reply"] is None


def test_it_ignores_every_delivery_report_in_the_corpora():
    reports = [raw for _, raw in MESSAGES if b"multipart/report" in raw[:4000].lower()]
    assert reports, "the corpora hold delivery reports"
    for raw in reports:
        assert assess_message(raw, CONFIG).decision == "ignored"
