"""The mailbox rules (issue 11): validated strictly, evaluated in order, explained.

Pure tests: rules from TOML text, messages as `MailFacts` or parsed in this process.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import pytest

from intake.config import PROJECT_ROOT, ConfigError, load_config
from intake.rules import (
    Action,
    Authentication,
    MailFacts,
    RuleContext,
    RulesError,
    check_folders,
    evaluate,
    facts_of,
    parse_rules,
)
from parsers.limits import Limits
from parsers.mail import read_mail

CONTEXT = RuleContext(
    form_types=("cspr_referral", "serious_incident_notification"),
    watched_folders=("INBOX",),
    notify_domains=("warrington.gov.uk",),
)
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def rules(text: str):
    return parse_rules(text, CONTEXT, "config/rules.toml")


def facts(**given) -> MailFacts:
    values = {
        "sender": "someone@agency.gov.uk",
        "recipients": ("safeguardingpartnerships@warrington.gov.uk",),
        "subject": "CSPR referral",
        "body": "Please find the form attached.",
        "attachments": (),
        "size": 20_000,
        "arrived": NOW - timedelta(minutes=5),
        "authentication": Authentication.PASS,
        "automatic": False,
    }
    values.update(given)
    return MailFacts(**values)


def refused(text: str) -> str:
    with pytest.raises(RulesError) as caught:
        rules(text)
    return str(caught.value)


# --- validation: one line naming the file, the rule and the fault -----------------------------


def test_it_names_the_file_the_rule_and_a_bad_regular_expression():
    line = refused(
        '[[rules]]\nname = "coroner"\nwhen.subject_matches = "Inquest ("\naction = "ignore"\n'
    )
    assert line.startswith("config/rules.toml: rule 'coroner': when.subject_matches: ")
    assert "'Inquest (' is not a valid regular expression" in line
    assert "\n" not in line


def test_it_refuses_an_unknown_form_type_naming_the_forms_accepted():
    line = refused(
        '[[rules]]\nname = "ofsted"\nwhen.sender = "*@ofsted.gov.uk"\n'
        'action = "process"\nform_type = "sin"\n'
    )
    assert line == (
        "config/rules.toml: rule 'ofsted': form_type: unknown form type 'sin'; "
        "the forms accepted are: cspr_referral, serious_incident_notification"
    )


@pytest.mark.parametrize(
    ("body", "fault"),
    [
        ('action = "ignore"\nform_type = "cspr_referral"', "form_type: only a rule that processes"),
        ('action = "hold"', "reason: a rule that holds mail for a person must say why"),
        ('action = "process"\nreason = "why"', "reason: only a rule that holds mail"),
        ('action = "hold"\nreason = "x"\ncontinue = true', "action: a rule that continues cannot"),
        ('action = "ignore"\nfile_into = "A"\nleave_in_place = true', "file_into: a message"),
        ('action = "ignore"\nfile_into = "INBOX"', "'INBOX' is a watched folder"),
        ('action = "discard"', "action: must be process, hold or ignore (got 'discard')"),
        ("never_reply = true", "action: is required"),
        ('action = "ignore"\nnotify = "x@gmail.com"', "'x@gmail.com' is outside the"),
        ('action = "ignore"\nflag = "yes"', "flag: must be true or false"),
        ('action = "ignore"\ncolour = "red"', "colour: unknown key; allowed keys: name,"),
    ],
)
def test_it_refuses_an_impossible_action(body, fault):
    line = refused(f'[[rules]]\nname = "r1"\nwhen.sender = "*@x.gov.uk"\n{body}\n')
    assert line.startswith("config/rules.toml: rule 'r1': ")
    assert fault in line


@pytest.mark.parametrize(
    ("when", "fault"),
    [
        ("when.sender = []", "when.sender: must not be empty"),
        ('when.sender = "$agencies"', "unknown list '$agencies'; the lists are: none"),
        ('when.sender = "not an address"', "is not an address or domain pattern"),
        ('when.size_above = "big"', 'must be a size such as "10 MB"'),
        ('when.older_than = "a while"', 'must be an age such as "30 minutes"'),
        ('when.authentication = "maybe"', "must be pass, fail, unproven (got 'maybe')"),
        ('when.attachment_type = "pdf"', "'pdf' is not a media type"),
        ('when.colour = "red"', "when.colour: unknown key; allowed keys: sender, recipient"),
        ("when = {}", "when: a rule needs at least one condition"),
    ],
)
def test_it_refuses_a_bad_condition(when, fault):
    line = refused(f'[[rules]]\nname = "r1"\n{when}\naction = "ignore"\n')
    assert line.startswith("config/rules.toml: rule 'r1': ")
    assert fault in line


def test_it_refuses_a_rule_without_a_name_by_its_place():
    line = refused('[[rules]]\nwhen.sender = "*@x.gov.uk"\naction = "ignore"\n')
    assert line.startswith("config/rules.toml: rules[0].name: every rule needs a name")


def test_it_refuses_two_rules_of_one_name():
    rule = 'when.sender = "*@x.gov.uk"\naction = "ignore"\n'
    line = refused(f'[[rules]]\nname = "a"\n{rule}[[rules]]\nname = "A"\n{rule}')
    assert line == "config/rules.toml: rule 'A': name: used twice (or 'default')"


def test_it_refuses_a_file_that_is_not_toml():
    assert refused("[[rules]\n").startswith("config/rules.toml: (file): is not valid TOML")


def test_a_rules_error_is_a_configuration_error(tmp_path):
    config = tmp_path / "intake.toml"
    (tmp_path / "rules.toml").write_text('[default]\naction = "forward"\n')
    config.write_text(f'[rules]\nfile = "{tmp_path / "rules.toml"}"\n')
    with pytest.raises(ConfigError, match=r"rules.toml: default: action: must be process"):
        load_config(config)


def test_an_unknown_folder_is_refused_with_the_folder_list():
    ruleset = rules(
        '[[rules]]\nname = "cdop"\nwhen.sender = "*@x.gov.uk"\n'
        'action = "ignore"\nfile_into = "CDOP reprots"\n'
    )
    with pytest.raises(RulesError) as caught:
        check_folders(ruleset, "referrals", ["INBOX", "Processed", "CDOP reports"])
    assert str(caught.value) == (
        "config/rules.toml: rule 'cdop': file_into: folder 'CDOP reprots' does not exist in "
        "mailbox 'referrals'; the folders are: CDOP reports, INBOX, Processed"
    )


def test_the_shipped_rules_are_valid():
    config = load_config(PROJECT_ROOT / "config" / "intake.toml")
    assert config.mail_rules.rules[0].name == "no-reply-senders"
    assert config.mail_rules.default.action is Action.PROCESS


# --- evaluation ----------------------------------------------------------------------------

FIVE = """
[lists]
trusted_agencies = ["*.gov.uk", "*.nhs.net", "*.police.uk", "*.sch.uk"]

[[rules]]
name = "ofsted"
when.sender = "*@ofsted.gov.uk"
action = "process"
form_type = "serious_incident_notification"

[[rules]]
name = "robots"
when.sender = ["noreply@*"]
never_reply = true
continue = true

[[rules]]
name = "coroner"
when.sender = "*@coroner.example.gov.uk"
when.subject_contains = ["inquest", "regulation 28"]
unless.authentication = "fail"
action = "hold"
reason = "letters from the coroner go to a person"
notify = "coroner.liaison@warrington.gov.uk"

[[rules]]
name = "cdop"
when.sender = "$trusted_agencies"
when.subject_matches = '^CDOP (bulk|monthly) report'
action = "ignore"
file_into = "CDOP reports"
mark_read = true

[default]
action = "process"
"""


def test_the_first_matching_rule_decides():
    ruling = evaluate(rules(FIVE), facts(sender="notify@ofsted.gov.uk"), NOW)
    assert (ruling.rule, ruling.action, ruling.form_type) == (
        "ofsted",
        Action.PROCESS,
        "serious_incident_notification",
    )
    assert [t.rule.name for t in ruling.trace] == ["ofsted"]


def test_mail_no_rule_decides_gets_the_default():
    ruling = evaluate(rules(FIVE), facts(), NOW)
    assert ruling.rule == "default"
    assert ruling.action is Action.PROCESS
    assert [t.matched for t in ruling.trace] == [False, False, False, False]


def test_a_rule_that_continues_adds_its_effects_and_the_next_rules_decide():
    ruling = evaluate(rules(FIVE), facts(sender="noreply@cdop.gov.uk", subject="CDOP bulk report"))
    assert ruling.rule == "cdop"
    assert ruling.matched == ("robots", "cdop")
    assert ruling.effects.never_reply
    assert ruling.effects.file_into == "CDOP reports"
    assert ruling.effects.mark_read


def test_every_condition_must_hold_and_no_exception():
    coroner = facts(sender="office@coroner.example.gov.uk", subject="Regulation 28 report")
    assert evaluate(rules(FIVE), coroner, NOW).rule == "coroner"
    forged = facts(
        sender="office@coroner.example.gov.uk",
        subject="Inquest",
        authentication=Authentication.FAIL,
    )
    assert evaluate(rules(FIVE), forged, NOW).rule == "default"
    other_subject = facts(sender="office@coroner.example.gov.uk", subject="Invoice")
    assert evaluate(rules(FIVE), other_subject, NOW).rule == "default"


def test_a_hold_carries_its_reason_and_its_notice():
    ruling = evaluate(
        rules(FIVE), facts(sender="office@coroner.example.gov.uk", subject="INQUEST"), NOW
    )
    assert ruling.action is Action.HOLD
    assert ruling.reason == "letters from the coroner go to a person"
    assert ruling.effects.notify == ("coroner.liaison@warrington.gov.uk",)


def test_the_explanation_goes_condition_by_condition():
    ruling = evaluate(
        rules(FIVE), facts(sender="office@coroner.example.gov.uk", subject="Inquest"), NOW
    )
    text = "\n".join(ruling.explanation())
    assert "1. ofsted: no match" in text
    assert "sender is *@ofsted.gov.uk: no (office@coroner.example.gov.uk)" in text
    assert "3. coroner: matched" in text
    assert "subject contains one of 'inquest', 'regulation 28': yes ('Inquest')" in text
    assert "unless our mail server's verdict on the sender is fail: no (pass)" in text
    assert text.endswith(
        "decided by: coroner: hold for a person (letters from the coroner "
        "go to a person); notify coroner.liaison@warrington.gov.uk"
    )


def test_a_domain_pattern_matches_subdomains_and_an_address_pattern_the_whole_address():
    ruleset = rules('[[rules]]\nname = "a"\nwhen.sender = "*.nhs.net"\naction = "ignore"\n')
    assert evaluate(ruleset, facts(sender="x@trust.nhs.net"), NOW).rule == "a"
    assert evaluate(ruleset, facts(sender="x@nhs.net.evil.example"), NOW).rule == "default"


def test_a_second_address_of_the_mailbox_is_matched_by_recipient():
    ruleset = rules(
        '[[rules]]\nname = "cdop-address"\nwhen.recipient = "cdop@warrington.gov.uk"\n'
        'action = "process"\nfile_into = "CDOP"\n'
    )
    to_cdop = facts(recipients=("cdop@warrington.gov.uk",))
    assert evaluate(ruleset, to_cdop, NOW).effects.file_into == "CDOP"
    assert evaluate(ruleset, facts(), NOW).rule == "default"


def test_delivered_to_counts_as_a_recipient():
    message = EmailMessage()
    message["From"] = "a@x.gov.uk"
    message["To"] = "list@x.gov.uk"
    message["Delivered-To"] = "cdop@warrington.gov.uk"
    message.set_content("hello")
    mail = read_mail(message.as_bytes(), Limits())
    found = facts_of(mail, authentication=Authentication.PASS, automatic=False)
    assert "cdop@warrington.gov.uk" in found.recipients


def test_age_size_attachment_and_header_conditions():
    ruleset = rules(
        """
[[rules]]
name = "old-large-pdf"
when.older_than = "7 days"
when.size_above = "1 MB"
when.attachment_type = "application/pdf"
when.attachment_name = "*.PDF"
when.header_present = "X-Ofsted-Reference"
when.header_matches = { "X-Mailer" = "^Ofsted" }
action = "hold"
reason = "old"
"""
    )
    from intake.rules import AttachmentFact

    old = facts(
        arrived=NOW - timedelta(days=8),
        size=2 * 1024 * 1024,
        attachments=(AttachmentFact("notice.pdf", "application/pdf", 1000),),
        headers=(("x-ofsted-reference", "1"), ("x-mailer", "Ofsted Notify 2")),
    )
    assert evaluate(ruleset, old, NOW).rule == "old-large-pdf"
    assert evaluate(ruleset, facts(arrived=NOW), NOW).rule == "default"


def test_a_hostile_body_cannot_stall_the_rules_and_the_message_is_held():
    ruleset = rules('[[rules]]\nname = "slow"\nwhen.body_matches = "(a+)+$"\naction = "ignore"\n')
    started = time.monotonic()
    ruling = evaluate(ruleset, facts(body="a" * 50_000 + "!"), NOW)
    assert time.monotonic() - started < 2
    assert ruling.action is Action.HOLD
    assert ruling.out_of_time
    assert ruling.effects.never_reply
    assert "could not be checked in time" in ruling.reason


def test_what_is_stored_holds_names_and_words_only():
    stored = evaluate(rules(FIVE), facts(sender="notify@ofsted.gov.uk"), NOW).as_dict()
    assert stored["name"] == "ofsted"
    assert stored["action"] == "process"
    assert "notify@ofsted.gov.uk" not in str(stored)


def test_a_flood_of_long_delivered_to_headers_is_read_in_bounded_time():
    message = EmailMessage()
    message["From"] = "a@x.gov.uk"
    for _ in range(50):
        message["Delivered-To"] = "a" * 4000
    message.set_content("hello")
    mail = read_mail(message.as_bytes(), Limits())
    started = time.monotonic()
    found = facts_of(mail, authentication=Authentication.PASS, automatic=False)
    assert time.monotonic() - started < 0.5
    assert found.recipients == ()
