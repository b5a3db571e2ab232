"""Replies: what a referrer reads, where it goes, and how it threads."""

from __future__ import annotations

import email
import email.policy
import shutil
from datetime import date
from email.message import EmailMessage
from pathlib import Path

import pytest
from jinja2 import UndefinedError
from jinja2.exceptions import SecurityError

from intake.authentication import Verdict
from intake.automatic import automatic_reason
from intake.config import parse_config
from intake.replies import (
    SUBJECT_CHARACTERS,
    FormAttachment,
    ReplyContext,
    UnreadableAttachment,
    build_reply_message,
    problems_by_section,
    render_reply,
    reply_recipient,
    reply_subject,
)
from parsers.limits import Limits
from parsers.mail import MailResult, read_mail
from parsers.schema import load_schemas

ROOT = Path(__file__).resolve().parents[2]
CSPR = load_schemas(ROOT / "config" / "forms")["cspr_referral"]
CONFIG = parse_config(
    {
        "service": {
            "name": "Westshire Safeguarding Partnership",
            "our_addresses": ["referrals@westshire-sp.example"],
            "message_id_domain": "westshire-sp.example",
            "trusted_domains": ["agency.example"],
        },
        "replies": {
            "from_address": "referrals@westshire-sp.example",
            "from_name": "Westshire Safeguarding Partnership",
        },
    }
)


def original(**headers: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "Jo Bloggs <jo.bloggs@agency.example>"
    msg["To"] = "referrals@westshire-sp.example"
    msg["Subject"] = "CSPR referral"
    msg["Message-ID"] = "<first@mail.agency.example>"
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content("Form attached.")
    return msg


def incomplete_context() -> ReplyContext:
    sections = problems_by_section(
        CSPR,
        ["police_investigation", "referrer_job_title"],
        [{"field": "child_dob", "reason": "Date of birth: 31/02/2015 is not a real date"}],
    )
    return ReplyContext(
        service_name="Westshire Safeguarding Partnership",
        reference="WSP-2026-0007",
        sections=sections,
        attached_form="referral.docx",
    )


def test_it_lists_the_questions_to_put_right_in_the_forms_order():
    text = render_reply("incomplete_return", incomplete_context(), CONFIG).text
    job = text.index("Job title / role")
    dob = text.index("Date of birth")
    police = text.index("Is there a police investigation or criminal proceedings?")
    assert job < dob < police
    assert "Section 2. Referrer" in text and "Section 9. Other processes" in text
    assert "31/02/2015 is not a real date" in text
    assert text.count("Not answered") == 2


def test_it_asks_for_the_date_of_birth_or_the_age_as_one_item():
    sections = problems_by_section(CSPR, ["child_dob", "child_age"], [])
    context = ReplyContext(service_name="Westshire Safeguarding Partnership", sections=sections)
    text = render_reply("incomplete_return", context, CONFIG).text
    assert "Date of birth, or the age if it is not known" in text
    assert "Age (if date of birth not known)" not in text
    assert text.count("Not answered") == 1


def test_it_says_the_form_is_attached_back():
    text = render_reply("incomplete_return", incomplete_context(), CONFIG).text
    assert "referral.docx" in text


def test_it_gives_the_reference_and_due_date_in_an_acknowledgement():
    context = ReplyContext(
        service_name="Westshire Safeguarding Partnership",
        reference="WSP-2026-0007",
        form_title="CSPR Referral Form",
        rapid_review_due=date(2026, 2, 20),
    )
    rendered = render_reply("acknowledgement", context, CONFIG)
    assert "WSP-2026-0007" in rendered.text and "Friday 20 February 2026" in rendered.text
    assert "WSP-2026-0007" in rendered.html


def test_it_says_which_attachment_could_not_be_read_and_what_we_accept():
    context = ReplyContext(
        service_name="Westshire Safeguarding Partnership",
        unreadable=[UnreadableAttachment("form.pdf", "it is protected by a password")],
    )
    text = render_reply("unreadable_attachment", context, CONFIG).text
    assert "form.pdf: it is protected by a password" in text
    assert "Word (.docx) or PDF" in text


def test_it_escapes_what_the_referrer_wrote_in_the_html():
    context = ReplyContext(
        service_name="Westshire",
        unreadable=[UnreadableAttachment("<script>x</script>.pdf", "damaged")],
    )
    html = render_reply("unreadable_attachment", context, CONFIG).html
    assert "<script>" not in html and "&lt;script&gt;" in html


def _config_with_templates(tmp_path: Path, body: str):
    folder = tmp_path / "replies"
    shutil.copytree(ROOT / "config" / "replies", folder)
    (folder / "acknowledgement.txt").write_text(body)
    return parse_config({"replies": {"templates_dir": str(folder)}})


def test_it_fails_loudly_on_a_misspelt_template_name(tmp_path):
    config = _config_with_templates(tmp_path, "Reference: {{ reply.refrence }}")
    with pytest.raises(UndefinedError):
        render_reply("acknowledgement", ReplyContext(service_name="x", reference="R"), config)


def test_it_runs_templates_in_a_sandbox(tmp_path):
    config = _config_with_templates(tmp_path, "{{ reply.__class__.__mro__ }}")
    with pytest.raises(SecurityError):
        render_reply("acknowledgement", ReplyContext(service_name="x", reference="R"), config)


PASSED = Verdict(True, "dmarc_pass", "agency.example")


def parsed(**headers: str) -> MailResult:
    return read_mail(original(**headers).as_bytes(), Limits())


def test_it_replies_to_the_sender_not_a_stranger_in_reply_to():
    mail = parsed(Reply_To="someone@elsewhere.example")
    assert reply_recipient(mail, PASSED, CONFIG) == "jo.bloggs@agency.example"


def test_it_honours_a_reply_to_in_the_same_organisation_of_a_trusted_domain():
    mail = parsed(Reply_To="Team <safeguarding.team@health.agency.example>")
    assert reply_recipient(mail, PASSED, CONFIG) == "safeguarding.team@health.agency.example"


def test_it_answers_a_sender_our_server_did_not_prove_at_its_from_address_only():
    mail = parsed(Reply_To="Team <safeguarding.team@agency.example>")
    assert reply_recipient(mail, Verdict(False, "no_verdict"), CONFIG) == "jo.bloggs@agency.example"


def test_it_never_replies_to_a_sender_our_server_says_failed():
    mail = parsed()
    assert reply_recipient(mail, Verdict(False, "dmarc_fail", failed=True), CONFIG) is None


def test_it_answers_no_unproven_sender_when_the_partnership_says_so():
    strict = parse_config({"rules": {"answer_unproven_senders": False}}, "test.toml")
    assert reply_recipient(parsed(), Verdict(False, "no_verdict"), strict) is None


def test_it_ignores_a_reply_to_in_another_organisation_even_a_trusted_one():
    # Issue 8: an outsider's Reply-To pointing at an NHS inbox made us a relay.
    config = parse_config(
        {"service": {"trusted_domains": ["agency.example", "nhs.example"]}}, "test.toml"
    )
    mail = parsed(Reply_To="ward.7@nhs.example")
    assert reply_recipient(mail, PASSED, config) == "jo.bloggs@agency.example"


def test_it_never_replies_to_one_of_our_own_addresses():
    mail = parsed(Reply_To="referrals+x@westshire-sp.example")
    assert reply_recipient(mail, PASSED, CONFIG) == "jo.bloggs@agency.example"


@pytest.mark.parametrize(
    "subject",
    [
        "Referral for Ay\u00adsha",  # a soft hyphen inside the name
        "Referral for Ay\u200bsha",  # a zero-width space
        "Referral for \u0410ysha",  # a Cyrillic A that looks like a Latin one
        "Referral for A.y.s.h.a",
        "Referral for Ay sha",
        "Referral for Aysha\u2060",
    ],
)
def test_it_keeps_a_childs_name_out_of_the_subject_in_any_disguise(subject):
    result = reply_subject(subject, "Your referral", "WSP-2026-0007", ["Aysha", "Khan"])
    assert result == "Your referral [WSP-2026-0007]"


def test_it_builds_every_subject_from_allowed_characters_only():
    result = reply_subject("Réf\u202eérral", "Votre référence\u200b", None, ["Zed"])
    assert set(result) <= SUBJECT_CHARACTERS


NAMES = ["Aaron-James", "Reynolds"]


def test_it_threads_with_re_and_our_reference():
    ref = "WSP-2026-0007"
    assert reply_subject("CSPR referral", "n", ref, NAMES) == "Re: CSPR referral [WSP-2026-0007]"
    assert reply_subject("RE: Referral", "n", ref, NAMES) == "RE: Referral [WSP-2026-0007]"
    assert reply_subject("Re: x [WSP-2026-0007]", "n", ref, NAMES) == "Re: x [WSP-2026-0007]"


def test_it_uses_the_neutral_subject_when_it_cannot_know_the_childs_name():
    assert reply_subject("Referral for Jayne Lee", "Neutral", None, []) == "Neutral"


@pytest.mark.parametrize(
    "subject", ["Referral for Aaron-James Reynolds", "reynolds - rapid review", "Re: AARON"]
)
def test_it_never_puts_the_childs_name_in_a_subject(subject):
    names = ["Aaron-James", "Reynolds"]
    result = reply_subject(subject, "Your referral has been received", "WSP-2026-0007", names)
    assert result == "Your referral has been received [WSP-2026-0007]"


def test_it_keeps_a_subject_where_a_name_is_only_part_of_a_word():
    assert reply_subject("Leeds referral", "n", None, ["Jayne", "Lee"]) == "Re: Leeds referral"


@pytest.mark.parametrize(
    ("subject", "names"),
    [
        ("Referral for Zoe", ["Zoë"]),  # the form is accented, the subject is not
        ("Referral for ZOË", ["Zoe"]),
        ("Re: Renée O'Brien", ["Renee", "O'Brien"]),
    ],
)
def test_it_finds_the_childs_name_whatever_its_accents(subject, names):
    assert reply_subject(subject, "Neutral", None, names) == "Neutral"


def test_it_treats_underscores_and_punctuation_as_word_breaks():
    assert reply_subject("Referral_Zoe_Smith", "Neutral", None, ["Zoe", "Smith"]) == "Neutral"
    assert reply_subject("Referral:Smith.", "Neutral", None, ["Zoe", "Smith"]) == "Neutral"


@pytest.mark.parametrize(
    "subject",
    [
        "=?x-bogus?q?Zoe_Smith?=",  # an unknown charset: kept as written
        "=?x-bogus?b?Wm9lIFNtaXRo?=",  # the same in base64: no name to be seen
        "Referral for Zo\ufffd",  # bytes that did not decode
    ],
)
def test_it_uses_the_neutral_subject_when_the_subject_did_not_decode(subject):
    result = reply_subject(subject, "Neutral", "WSP-2026-0007", ["Zoe", "Smith"])
    assert result == "Neutral [WSP-2026-0007]"


@pytest.mark.parametrize(
    "header",
    [
        b"Subject: =?x-bogus?q?Zoe_Smith?=",
        b"Subject: =?x-bogus?b?WmFyYQ==?=",
        "Subject: Referral for Zoë".encode(),  # raw 8-bit, not encoded
    ],
)
def test_it_keeps_an_undecodable_subject_out_of_the_reply(header):
    raw = b"From: jo.bloggs@agency.example\r\nMessage-ID: <a@agency.example>\r\n"
    sent = email.message_from_bytes(raw + header + b"\r\n\r\nForm.", policy=email.policy.compat32)
    rendered = render_reply("acknowledgement", ReplyContext(service_name="WSP"), CONFIG)
    msg = build_reply_message(
        sent,
        rendered,
        CONFIG,
        to="jo.bloggs@agency.example",
        reference="WSP-2026-0007",
        names=["Zoë", "Smith"],
    )
    assert msg["Subject"] == f"{rendered.subject} [WSP-2026-0007]"


def build(**kwargs):
    rendered = render_reply("incomplete_return", incomplete_context(), CONFIG)
    return build_reply_message(
        original(References="<older@mail.agency.example>"),
        rendered,
        CONFIG,
        to="jo.bloggs@agency.example",
        reference="WSP-2026-0007",
        names=NAMES,
        **kwargs,
    )


def test_it_marks_the_reply_as_automatic_and_threads_it():
    msg = build()
    assert msg["Auto-Submitted"] == "auto-replied"
    assert msg["X-Auto-Response-Suppress"] == "All"
    assert msg["In-Reply-To"] == "<first@mail.agency.example>"
    assert msg["References"] == "<older@mail.agency.example> <first@mail.agency.example>"
    assert msg["To"] == "jo.bloggs@agency.example"
    assert msg["From"] == "Westshire Safeguarding Partnership <referrals@westshire-sp.example>"
    assert msg["Message-ID"].endswith("@westshire-sp.example>")


def test_it_recognises_its_own_reply_if_it_ever_comes_back():
    raw = build().as_bytes()
    looped = email.message_from_bytes(raw, policy=email.policy.compat32)
    assert automatic_reason(looped, ["other@x.example"], "westshire-sp.example") is not None
    del looped["Auto-Submitted"], looped["X-Auto-Response-Suppress"]
    assert automatic_reason(looped, ["other@x.example"], "westshire-sp.example") == "our_message_id"


def test_it_attaches_the_form_back():
    form = FormAttachment(
        "referral.docx",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        b"PK\x03\x04form",
    )
    msg = build(attachment=form)
    [attached] = list(msg.iter_attachments())
    assert attached.get_filename() == "referral.docx"
    assert attached.get_content() == b"PK\x03\x04form"


def test_it_sends_both_plain_text_and_html():
    msg = build()
    assert msg.get_body(preferencelist=("plain",)) is not None
    assert msg.get_body(preferencelist=("html",)) is not None


def test_a_return_quotes_the_referrers_own_form_where_its_words_differ():
    schema = load_schemas(ROOT / "config" / "forms")["cspr_referral"]
    asked_as = {"child_forenames": "Name of child", "child_surname": "Name of child"}
    sections = problems_by_section(schema, ["child_forenames", "child_surname"], [], asked_as)
    [child] = sections
    assert [q.question for q in child.questions] == ["Name of child"]  # once, in their words
