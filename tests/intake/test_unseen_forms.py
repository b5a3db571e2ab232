"""Forms the service has never seen never come back as incomplete when they are not
(issue 7).  Each real public form of ``tests/data/unseen_forms`` (cited in its
README) is filled in, complete or with asked questions left blank, and read with
its own wordings held out of the reader (leave-one-source-out).  A sample runs
here; ``bench/accuracy.py --unseen`` runs them all and prints the rates.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from intake.assess import assess_message, schemas_in
from intake.config import load_config
from tests.builders.unseen import schema_without_source, sources, unseen_cases

ROOT = Path(__file__).resolve().parents[2]
CONFIG = load_config(ROOT / "config" / "intake.toml")
FULL = schemas_in(str(CONFIG.forms_dir))
OUR_MX = CONFIG.rules.authserv_ids[0]
STYLES = ("docx_typed", "pdf_flattened_word")
CASES = [
    (case, lean)
    for source in sources()
    for lean in [{k: schema_without_source(v, source) for k, v in FULL.items()}]
    for case in unseen_cases(lean, 2, 0, [source.id], STYLES, OUR_MX)
]


@pytest.mark.parametrize(
    ("case", "lean"), CASES, ids=[f"{c.source}-{c.style}-{c.seed}" for c, _l in CASES]
)
def test_it_never_sends_back_a_form_it_has_never_seen_unless_sure(case, lean):
    outcome = assess_message(case.raw, CONFIG, schemas=lean).as_outcome()
    if outcome["decision"] == "incomplete":
        assert case.decision == "incomplete", "a complete form was sent back"
        named = set(outcome["missing"]) | {p["field"] for p in outcome["invalid"]}
        assert named <= case.asked - set(case.expected), "a return named an answered question"
    if case.decision == "accepted":
        assert outcome["decision"] in ("accepted", "needs_review")


def test_every_source_is_cited_in_the_readme():
    readme = (ROOT / "tests" / "data" / "unseen_forms" / "README.md").read_text()
    for source in sources():
        assert f"`{source.id}`" in readme


def test_a_blank_under_a_narrower_question_goes_to_a_person_not_back_to_the_referrer():
    """Our own form, but "Date of referral" printed as "Date of referral to
    children's social care" and left blank (there was no such referral): the
    rest is complete, so a return would name a question the referrer answered
    as they should.  A person looks, and is told why."""
    import dataclasses

    from tests.builders import docx_builder
    from tests.builders.accuracy import render, sent_after, wrap

    schema = FULL["cspr_referral"]
    fields = tuple(
        dataclasses.replace(f, question="Date of referral to children's social care", aliases=())
        if f.key == "referral_date"
        else f
        for f in schema.fields
    )
    printed = dataclasses.replace(schema, fields=fields)
    answers = dict(docx_builder.random_answers(schema, 3))
    answers.pop("referral_date")
    name, data = render(printed, answers, "docx_typed", 3)
    raw = wrap([(name, data)], "outlook", sent_after(answers), OUR_MX)
    outcome = assess_message(raw, CONFIG, schemas=FULL).as_outcome()
    assert outcome["decision"] == "needs_review"
    assert any("found blank only as" in d for d in outcome["evidence"]["doubts"])


def _paragraph_form(
    answers_bold: bool, typed: dict[str, list[str]] | None = None
) -> tuple[bytes, dict[str, object]]:
    """Our referral form as paragraphs: each question alone on its line in bold
    ("Job title:"), its answer typed on the line under it, in bold or not (Word
    keeps the label's bold after Enter)."""
    from tests.builders import docx_builder
    from tests.builders.docx_builder import docx_from_body, para, run

    schema = FULL["cspr_referral"]
    answers = docx_builder.random_answers(schema, 6)
    blocks = [para(run("Child Safeguarding Practice Review referral form"), style="Heading1")]
    for section in schema.sections:
        blocks.append(para(run(section.title), style="Heading2"))
        asked = [f for f in schema.fields if f.key in answers or f.key in (typed or {})]
        for spec in (f for f in asked if f.section == section.key):
            value = answers.get(spec.key)
            question = spec.question if spec.question.endswith("?") else f"{spec.question}:"
            blocks.append(para(run(question, bold=True)))
            if typed and spec.key in typed:
                # "**Not yet**": a line the referrer set in bold.
                blocks.extend(
                    para(run(line.strip("*"), bold=line.startswith("**")))
                    for line in typed[spec.key]
                )
            elif spec.options:
                chosen = set(value if isinstance(value, list) else [value])
                for option in spec.options:
                    box = "☒" if option.key in chosen else "☐"
                    blocks.append(para(run(f"{box} {option.label}")))
            else:
                for line in str(value).split("\n"):
                    blocks.append(para(run(line, bold=answers_bold)))
    return docx_from_body(blocks), answers


@pytest.mark.parametrize("answers_bold", [False, True])
def test_a_complete_paragraph_form_with_answers_under_their_questions_never_goes_back(
    answers_bold,
):
    """A bold answer alone on its line, before the next "Label:", is what Word's
    readers call a title: it had been dropped as a heading, and the complete
    form went back naming the questions it answered.  Now it is read, or the
    form goes to a person saying why; it is never returned."""
    from tests.builders.accuracy import sent_after, wrap

    data, answers = _paragraph_form(answers_bold)
    raw = wrap([("Referral form.docx", data)], "outlook", sent_after(answers), OUR_MX)
    outcome = assess_message(raw, CONFIG, schemas=FULL).as_outcome()
    assert outcome["decision"] != "incomplete"
    assert outcome["reply"] is None or outcome["reply"]["kind"] != "incomplete_return"
    if not answers_bold:
        assert outcome["decision"] == "accepted"
    elif outcome["decision"] == "needs_review":
        assert any("set out like a heading" in d for d in outcome["evidence"]["doubts"])


@pytest.mark.parametrize(
    "typed",
    [
        {"referral_date": ["(dd/mm/yyyy)", "Sent: {referral_date}"]},
        {"referral_date": ["Click or tap to enter a date.", "{referral_date} at 16:45"]},
        {"family_informed": ["☐ Yes ☐ No", "Yes: told by the social worker"]},
    ],
)
def test_a_complete_paragraph_form_answered_under_guidance_or_empty_boxes_never_goes_back(typed):
    """The answer typed under a printed hint, Word's placeholder or boxes left
    empty, set out like "Question: answer" or holding a time: it is read, or the
    form goes to a person; it is never sent back."""
    from tests.builders.accuracy import sent_after, wrap

    _data, answers = _paragraph_form(False)
    filled = {
        key: [line.format(**{k: _day_first(v) for k, v in answers.items()}) for line in lines]
        for key, lines in typed.items()
        if key in answers
    }
    data, answers = _paragraph_form(False, filled)
    raw = wrap([("Referral form.docx", data)], "outlook", sent_after(answers), OUR_MX)
    outcome = assess_message(raw, CONFIG, schemas=FULL).as_outcome()
    assert outcome["decision"] != "incomplete", outcome["evidence"]


@pytest.mark.parametrize(
    "listed, read, decision",
    [
        (["Yes", "**Not yet**", "Not known"], None, "needs_review"),
        (["**Not yet**", "Yes", "No"], None, "needs_review"),
        (["Yes", "**No – not yet**", "Not known"], "no", "accepted"),
    ],
)
def test_a_choice_printed_as_plain_lines_is_not_read_as_its_first_option(listed, read, decision):
    """The SIN question printed with its options on plain lines of their own, and
    "Not yet" (no option of ours) in bold: the first option printed ("Yes") had
    been read as the answer and the rest ("Not yet, Not known") as the date of
    notification, and the complete form went back because that "is not a real
    date".  Now the choice is read from the list as a choice question's is (the
    option picked in bold), or not at all, and a person looks."""
    from tests.builders.accuracy import sent_after, wrap

    data, answers = _paragraph_form(False, {"sin_submitted": listed, "sin_date": []})
    raw = wrap([("Referral form.docx", data)], "outlook", sent_after(answers), OUR_MX)
    outcome = assess_message(raw, CONFIG, schemas=FULL).as_outcome()
    assert outcome["decision"] == decision, outcome["evidence"]
    if read is None:  # no option of ours is read ("Not yet" may be kept as written)
        assert outcome["fields"].get("sin_submitted") not in ("yes", "no", "not_known")
    else:
        assert outcome["fields"].get("sin_submitted") == read


def _day_first(value: object) -> object:
    """An ISO date as people type it ("14/08/2026"); anything else as it is."""
    text = str(value)
    if len(text) == 10 and text[4] == "-" and text[7] == "-":
        return f"{text[8:]}/{text[5:7]}/{text[:4]}"
    return value


@pytest.mark.parametrize(
    "written, decision, why",
    [
        ("{before} - {day}", "needs_review", "gives more than one date"),  # a range
        # Word's en dash: read as one date, this had been 10 December 2008.
        ("{before_day}\u2013{day}", "needs_review", "gives more than one date"),
        ("Not yet known", "needs_review", "is not written as a date"),
        ("{day_month}", "needs_review", "gives no year"),  # "12th Aug"
        ("{day_hyphened}", "accepted", None),  # Word's non-breaking hyphen
        ("31/02/2026", "incomplete", None),  # no such day: wrong for sure
    ],
)
def test_a_date_answer_that_is_not_one_date_goes_to_a_person_unless_it_is_surely_wrong(
    written, decision, why
):
    """The date of the incident written as a range, or with no year, is an answer a
    person can read: it had gone back as "not a real date".  A day that does not
    exist still goes back; a date typed with Word's non-breaking hyphens is read."""
    from datetime import timedelta

    from parsers.normalise import parse_uk_date
    from tests.builders import docx_builder
    from tests.builders.accuracy import sent_after

    schema = FULL["cspr_referral"]
    answers = dict(docx_builder.random_answers(schema, 11))
    day = parse_uk_date(str(answers["incident_date"]))
    assert day is not None
    answers["incident_date"] = written.format(
        day=day.strftime("%d/%m/%Y"),
        before=(day - timedelta(days=1)).strftime("%d/%m/%Y"),
        before_day=(day - timedelta(days=1)).day,
        day_hyphened=day.strftime("%d\u2011%m\u2011%Y"),
        day_month=f"{day.day}th {day.strftime('%b')}",
    )
    sent = sent_after({**answers, "incident_date": day.strftime("%d/%m/%Y")})
    got = _typed_form_outcome(schema, answers, 11, sent)
    assert got["decision"] == decision, got["evidence"]
    if why:
        assert any(why in d for d in got["evidence"]["doubts"])
    if decision == "accepted":
        assert got["fields"]["incident_date"] == day.isoformat()
    if decision == "incomplete":
        assert [p["field"] for p in got["invalid"]] == ["incident_date"]


@pytest.mark.parametrize("written", ["Not known", "N/A", "TBC"])
def test_a_question_answered_in_words_that_give_no_answer_goes_to_a_person(written):
    """The date of death of a child who died answered "Not known" was taken for a
    question left blank, and the form went back asking the referrer to answer it.
    They did: a person decides whether that will do."""
    from tests.builders import docx_builder
    from tests.builders.accuracy import sent_after

    schema = FULL["cspr_referral"]
    answers = dict(docx_builder.random_answers(schema, 12))
    answers["incident_outcome"] = "died"
    sent = sent_after(answers)
    answers["date_of_death"] = written
    got = _typed_form_outcome(schema, answers, 12, sent)
    assert got["decision"] == "needs_review", got["evidence"]
    assert any("give no answer" in d for d in got["evidence"]["doubts"])


@pytest.mark.parametrize(
    "typed",
    [
        ["Yes – 14/08/2026"],
        ["Yes, notified 14/08/2026"],
        ["☒ Yes ☐ No ☐ Not known", "Notified 14/08/2026"],
        ["**Yes**", "14/08/2026", "No", "Not known"],
        ["Yes – 14th Aug"],
        ["Yes, notified 14/08"],
    ],
)
def test_a_follow_up_date_written_with_the_answer_it_follows_is_not_sent_back(typed):
    """ "Has the LA notified the National Panel?" answered "Yes – 14/08/2026", and
    "Date of notification" below left blank, as the date was given: the form had
    gone back asking for the date.  A person looks."""
    from tests.builders.accuracy import sent_after, wrap

    data, answers = _paragraph_form(False, {"sin_submitted": typed, "sin_date": []})
    raw = wrap([("Referral form.docx", data)], "outlook", sent_after(answers), OUR_MX)
    outcome = assess_message(raw, CONFIG, schemas=FULL).as_outcome()
    assert outcome["decision"] == "needs_review", outcome["evidence"]
    assert any("may be written with the answer to" in d for d in outcome["evidence"]["doubts"])


@pytest.mark.parametrize(
    "key, written",
    [
        ("incident_date", "See attached chronology"),
        ("referrer_phone", "As above"),
        ("referrer_email", "See email"),
    ],
)
def test_an_answer_pointing_elsewhere_goes_to_a_person_not_back(key, written):
    """ "Date of incident: see attached chronology" had gone back as "not a real
    date": the referrer says where the answer is, and a person looks there."""
    from tests.builders import docx_builder
    from tests.builders.accuracy import sent_after

    schema = FULL["cspr_referral"]
    answers = dict(docx_builder.random_answers(schema, 13))
    sent = sent_after(answers)
    answers[key] = written
    got = _typed_form_outcome(schema, answers, 13, sent)
    assert got["decision"] == "needs_review", got["evidence"]
    assert any("points elsewhere" in d for d in got["evidence"]["doubts"])


@pytest.mark.parametrize(
    "typed", [["Yes (attached)"], ["Yes – today"], ["☒ Yes ☐ No ☐ Not known", "See attached SIN"]]
)
def test_a_follow_up_answered_in_words_with_the_answer_it_follows_is_not_sent_back(typed):
    """ "Has the LA notified the National Panel?": "Yes (attached)", and "Date of
    notification" left blank: the referrer says where the date is.  It had gone
    back asking for the date."""
    from tests.builders.accuracy import sent_after, wrap

    data, answers = _paragraph_form(False, {"sin_submitted": typed, "sin_date": []})
    raw = wrap([("Referral form.docx", data)], "outlook", sent_after(answers), OUR_MX)
    outcome = assess_message(raw, CONFIG, schemas=FULL).as_outcome()
    assert outcome["decision"] == "needs_review", outcome["evidence"]
    assert any("may be written with the answer to" in d for d in outcome["evidence"]["doubts"])


def test_a_referral_sent_with_the_las_notification_is_not_sent_back_for_what_that_gives():
    """The referral says the National Panel was notified and leaves the date blank;
    the LA's notification, attached to the same email, gives it.  It had gone back
    asking for the date that the other attachment holds."""
    from tests.builders import docx_builder
    from tests.builders.accuracy import render, sent_after, wrap

    referral = dict(docx_builder.random_answers(FULL["cspr_referral"], 21))
    referral["sin_submitted"] = "yes"
    referral.pop("sin_date", None)
    notification = dict(docx_builder.random_answers(FULL["serious_incident_notification"], 21))
    files = [
        render(FULL["cspr_referral"], referral, "docx_typed", 21),
        (
            "SIN copy.docx",
            render(FULL["serious_incident_notification"], notification, "docx_typed", 21)[1],
        ),
    ]
    sent = sent_after({**referral, **notification})
    outcome = assess_message(wrap(files, "outlook", sent, OUR_MX), CONFIG, schemas=FULL)
    got = outcome.as_outcome()
    assert got["form_type"] == "cspr_referral"
    assert got["decision"] == "needs_review", got["evidence"]
    assert any("another attachment is also a form" in d for d in got["evidence"]["doubts"])


@pytest.mark.parametrize(
    "key, written",
    [
        ("date_notified", "Will be submitted {later}"),  # not notified yet: a date to come
        ("date_became_aware", "{earlier} (hospital admission)"),  # before the incident
    ],
)
def test_a_date_that_is_not_valid_but_explains_itself_goes_to_a_person(key, written):
    """A notification dated after it arrived, "Will be submitted 23/03/2026", or an
    LA aware two days before the incident date given as the date of death, with the
    reason in brackets: a person reads the words; they had gone back as wrong."""
    from datetime import timedelta

    from parsers.normalise import parse_uk_date
    from tests.builders import docx_builder
    from tests.builders.accuracy import sent_after

    schema = FULL["serious_incident_notification"]
    answers = dict(docx_builder.random_answers(schema, 22))
    sent = sent_after(answers)
    incident = parse_uk_date(str(answers["incident_date"]))
    assert incident is not None
    answers[key] = written.format(
        later=(sent.date() + timedelta(days=3)).strftime("%d/%m/%Y"),
        earlier=(incident - timedelta(days=2)).strftime("%d/%m/%Y"),
    )
    got = _typed_form_outcome(schema, answers, 22, sent)
    assert [p["field"] for p in got["invalid"]] == [key]
    assert got["decision"] == "needs_review", got["evidence"]
    assert any("words beside its date" in d for d in got["evidence"]["doubts"])


def _typed_form_outcome(schema, answers, seed, sent):
    """The outcome for ``schema``'s form typed in Word with ``answers``, sent at ``sent``."""
    from tests.builders.accuracy import render, wrap

    name, data = render(schema, answers, "docx_typed", seed)
    return assess_message(
        wrap([(name, data)], "outlook", sent, OUR_MX), CONFIG, schemas=FULL
    ).as_outcome()
