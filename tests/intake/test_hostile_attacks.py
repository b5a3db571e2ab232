"""Each attack of issue 8, against the real worker, fails to do what it did.

The worker's own round (`intake.pipeline.poll_all`: every mailbox polled, then
the outbox sent) runs against a private Dovecot account and sends by SMTP to a
local server; one test an attack.  ``tests/intake/test_hostile.py`` runs ``intake
worker`` itself on hundreds of them.
"""

from __future__ import annotations

import email
import email.policy
import functools
import os
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse

from intake.config import PROJECT_ROOT
from intake.models import InboundMessage, MessageContent, OutboundEmail, Referral, Submission
from intake.pipeline import poll_all, poll_mailbox
from intake.replies import SUBJECT_CHARACTERS, fold_accents
from tests.builders import hostile
from tests.intake import factories
from tests.intake.conftest import imap_mailbox_table, maildir_config
from tests.servers.smtp import smtp_server  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.hostile, pytest.mark.integration, pytest.mark.django_db(transaction=True)]

BUDGET = 6.0  # the whole message: parse, documents and the form matcher (1-2 s a form)
NORMAL = "sam.normal@agency.example"


@pytest.fixture
def world(make_config, imap_account, smtp_server):  # noqa: F811 (the fixture above)
    config = make_config(
        service={
            "name": "Westshire Safeguarding Partnership",
            "our_addresses": [hostile.OURS],
            "message_id_domain": hostile.OUR_DOMAIN,
            "trusted_domains": ["agency.example", "nhs.example", "attacker.example"],
        },
        replies={
            "transport": "smtp",
            "from_address": hostile.OURS,
            "from_name": "Westshire Safeguarding Partnership",
        },
        smtp={"host": "127.0.0.1", "port": smtp_server.port, "security": "none"},
        limits={"max_seconds": BUDGET, "max_message_seconds": BUDGET},
        mailboxes=[imap_mailbox_table(imap_account)],
    )
    return imap_account, smtp_server, config


def poll(config: Any) -> None:
    results = poll_all(config)
    assert all(not r.error for r in results), results


def referral(sender: str, seed: int, n: int, **kwargs: Any) -> bytes:
    return hostile.message(
        sender=f"A Referrer <{sender}>",
        subject=kwargs.pop("subject", f"CSPR referral {n}"),
        n=n,
        files=(("Referral form.docx", hostile.DOCX, hostile.form(seed)),),
        verdict="pass",
        **kwargs,
    )


def sent_to(smtp: Any, address: str) -> list[Any]:
    return [m for m in smtp.messages if address in m.rcpt_tos]


def message_of(n: int) -> InboundMessage:
    return InboundMessage.objects.get(message_id__contains=f"-{n}@")


# --- one message must not stall intake ------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(
    "attack", [hostile.html_bomb, hostile.quoted_from, hostile.encoded_word_subject]
)
def test_a_message_slow_to_parse_costs_its_budget_once_and_the_next_is_answered(
    world, client, attack
):
    account, smtp, config = world
    bomb = attack(1)
    account.append_many([bomb.raw, referral(NORMAL, seed=2, n=2)])
    started = time.monotonic()
    poll(config)
    assert time.monotonic() - started < BUDGET + 30
    held = InboundMessage.objects.exclude(sender=NORMAL).get()
    assert held.state == "filed" and held.reason_code  # recorded, with why
    content = MessageContent.objects.get(message=held)
    assert content.parse_seconds <= BUDGET + 1
    assert len(sent_to(smtp, NORMAL)) == 1  # the referral behind it, in the same poll
    assert OutboundEmail.objects.filter(message=held).count() == 0
    factories.sign_in(client, factories.user("team"))
    started = time.monotonic()
    assert client.get(reverse("message", args=[held.pk])).status_code == 200
    assert time.monotonic() - started < 2  # its page reads the stored parse: it never hangs
    poll(config)
    assert MessageContent.objects.get(message=held).parse_seconds == content.parse_seconds


def test_a_message_over_its_budget_is_recorded_as_timeout_for_a_person(world):
    account, _smtp, config = world
    account.append(hostile.html_bomb(3).raw)
    poll(config)
    held = InboundMessage.objects.get()
    assert (held.decision, held.reason_code) == ("needs_review", "parse:timeout")
    assert MessageContent.objects.get(message=held).failure == "timeout"


def test_a_form_the_matcher_cannot_finish_in_the_budget_waits_for_a_person(world, monkeypatch):
    account, smtp, config = world
    monkeypatch.setattr("intake.assess.MATCH_JOB", "tests.parsers.test_mail:spin")
    account.append(referral(NORMAL, seed=2, n=2))
    started = time.monotonic()
    poll(config)
    assert time.monotonic() - started < BUDGET + 30
    held = InboundMessage.objects.get()
    assert (held.decision, held.reason_code) == ("needs_review", "match:timeout")
    assert smtp.messages == []


# --- a forged sender must not rewrite a case ------------------------------------------------


def test_a_forged_referrer_joins_the_case_for_a_person_and_changes_nothing(world, client):
    account, smtp, config = world
    account.append(referral(hostile.REFERRER, seed=1, n=1))
    poll(config)
    case = Referral.objects.get()
    answers = (case.fields, case.child_key, case.referrer_email)
    account.append(hostile.forged_referrer(4, case.reference).raw)  # no verdict from our server
    poll(config)
    case.refresh_from_db()
    assert (case.fields, case.child_key, case.referrer_email) == answers
    assert case.status == "needs_review"
    forged = Submission.objects.get(message__message_id__contains="hostile-4@")
    assert (forged.held, forged.authenticated) == ("unauthenticated", False)
    assert forged.fields and forged.fields != case.fields  # kept beside it, to compare
    assert sent_to(smtp, hostile.ATTACKER) == []
    assert len(sent_to(smtp, hostile.REFERRER)) == 1  # the first acknowledgement only
    factories.sign_in(client, factories.user("team"))
    page = client.get(reverse("message", args=[forged.message_id])).content.decode()
    assert "Not authenticated" in page and "unauthenticated:no_verdict" in page


def test_a_forged_pass_written_by_the_sender_proves_nothing(world):
    account, smtp, config = world
    account.append(referral(hostile.REFERRER, seed=1, n=1))
    poll(config)
    case = Referral.objects.get()
    account.append(hostile.forged_referrer(3, case.reference).raw)  # "mx.attacker.example; pass"
    poll(config)
    assert Submission.objects.get(message__message_id__contains="hostile-3@").held
    assert smtp.messages and all(hostile.ATTACKER not in m.rcpt_tos for m in smtp.messages)


def test_a_display_name_holding_the_referrers_address_changes_no_case(world):
    account, _smtp, config = world
    account.append(referral(hostile.REFERRER, seed=1, n=1))
    poll(config)
    case = Referral.objects.get()
    fields = case.fields
    raw = referral(hostile.ATTACKER, seed=7, n=5, subject=f"Update [{case.reference}]")
    raw = raw.replace(b"A Referrer <", f'"{hostile.REFERRER}" <'.encode(), 1)
    raw = raw.replace(b"In-Reply-To", b"X-Was")
    account.append(raw)
    poll(config)
    case.refresh_from_db()
    assert case.fields == fields


# --- the service must not be a relay ------------------------------------------------------


def test_an_outsiders_reply_to_never_gets_our_mail(world):
    account, smtp, config = world
    account.append_many([hostile.relay(1).raw, hostile.relay(2).raw])  # unproven, then proven
    poll(config)
    assert sent_to(smtp, hostile.NHS_INBOX) == []
    assert all(m.rcpt_tos == [hostile.ATTACKER] for m in smtp.messages)
    # The unproven outsider hears back at its own address, with nothing of its file.
    assert all(b"Referral.docx" not in m.content for m in smtp.messages)


def test_the_returned_form_goes_only_to_the_authenticated_person_who_sent_it(world):
    account, smtp, config = world
    incomplete = _incomplete_form()
    raw = hostile.message(
        sender=f"Jo <{hostile.REFERRER}>",
        subject="Referral",
        n=9,
        files=(("Referral form.docx", hostile.DOCX, incomplete),),
        headers=(("Reply-To", "team@agency.example"),),
        verdict="pass",
    )
    account.append(raw)
    poll(config)
    [returned] = smtp.messages
    assert returned.rcpt_tos == ["team@agency.example"]  # a colleague in the same organisation
    assert b"Referral form.docx" not in returned.content  # the questions, not the file


@functools.cache
def _incomplete_form() -> bytes:
    from tests.builders import docx_builder

    answers = docx_builder.random_answers(hostile.schema(), 11)
    for key in ("referrer_phone", "child_address", "incident_summary"):
        answers.pop(key, None)
    return docx_builder.filled_docx(hostile.schema(), answers, "typed", 11)


# --- our own reply coming back -------------------------------------------------------------


def test_our_reply_echoed_back_attached_opens_no_case_and_gets_no_reply(world):
    account, smtp, config = world
    raw = hostile.message(
        sender=f"Jo <{hostile.REFERRER}>",
        subject="Referral",
        n=10,
        files=(("Referral form.docx", hostile.DOCX, _incomplete_form()),),
        verdict="pass",
    )
    account.append(raw)
    poll(config)
    [ours] = smtp.messages
    cases = Referral.objects.count()
    echo = hostile.message(
        sender=f"IT Helpdesk <{hostile.ROBOT}>",
        subject="[Ticket #1] Your referral",
        n=11,
        files=(("original.eml", "message/rfc822", ours.content),),
        verdict="pass",
    )
    returned = email.message_from_bytes(ours.content, policy=email.policy.default)
    [form] = [p.get_content() for p in returned.iter_attachments()]
    plain = hostile.message(  # the robot re-attaches the form we returned, as a plain file
        sender=f"IT Helpdesk <{hostile.ROBOT}>",
        subject="[Ticket #2] Your referral",
        n=12,
        files=(("Referral form.docx", hostile.DOCX, form),),
        verdict="pass",
    )
    account.append_many([echo, plain, echo.replace(b"hostile-11@", b"hostile-13@")])
    poll(config)
    assert Referral.objects.count() == cases
    assert sent_to(smtp, hostile.ROBOT) == []
    echoed = message_of(11)
    assert echoed.decision == "needs_review"
    assert any("our own reply" in r for r in echoed.assessment["reasons"])


@pytest.mark.parametrize("spelling", hostile.OUR_SPELLINGS)
def test_mail_from_us_in_any_spelling_is_never_answered(world, spelling):
    account, smtp, config = world
    raw = referral(hostile.ATTACKER, seed=3, n=20).replace(
        f"A Referrer <{hostile.ATTACKER}>".encode(), spelling.encode()
    )
    account.append(raw)
    poll(config)
    message = InboundMessage.objects.get()
    assert (message.decision, message.reason_code) == ("ignored", "automatic:from_us")
    assert smtp.messages == []


# --- values and names --------------------------------------------------------------------


def test_a_form_whose_answers_hold_nul_is_stored_not_a_database_fault(world):
    account, _smtp, config = world
    account.append(hostile.nul_value(1).raw)
    poll(config)
    message = InboundMessage.objects.get()
    assert message.state == "filed" and message.error_code == ""
    assert "\x00" not in message.subject
    stored = [message.assessment, *Referral.objects.values_list("fields", flat=True)]
    assert "\\u0000" not in str(stored) and "\x00" not in str(stored)


@pytest.mark.parametrize("n", range(5))
def test_a_disguised_childs_name_never_reaches_a_reply_subject(world, n):
    account, smtp, config = world
    attack = hostile.disguised_name(n)
    account.append(attack.raw)
    poll(config)
    [reply] = smtp.messages
    subject = str(OutboundEmail.objects.get().subject)
    assert set(subject) <= SUBJECT_CHARACTERS
    forename = hostile.child_names(6000 + n % 5)[0]
    assert fold_accents(forename) not in fold_accents(subject)
    assert reply.rcpt_tos == [attack.may_reply_to]


# --- the mailbox and the files ------------------------------------------------------------


def test_a_maildir_without_cur_is_a_mailbox_error_not_a_traceback(make_config, tmp_path):
    config = make_config()
    maildir = Path(config.mailboxes[0].path)
    for part in ("tmp", "new"):
        (maildir / part).mkdir(parents=True)
    result = poll_mailbox(config.mailboxes[0], config)
    assert result.error == "maildir_broken"


@pytest.mark.slow
def test_the_sqlite_store_its_journals_and_the_mail_are_owner_only(tmp_path):
    database = tmp_path / "var" / "intake.sqlite3"
    env = os.environ | {
        "INTAKE_CONFIG": str(maildir_config(tmp_path)),
        "DATABASE_URL": f"sqlite:///{database}",
    }
    intake = [sys.executable, "-m", "intake.cli"]

    def run(*args: str) -> None:
        subprocess.run(
            [*intake, *args],
            env=env,
            cwd=PROJECT_ROOT,
            check=True,
            capture_output=True,
            timeout=180,
            preexec_fn=lambda: os.umask(0o022),  # the test's own child, no threads
        )

    run("migrate")
    run("seed")
    run("poll", "--once")
    mail = [p for p in (tmp_path / "Maildir").rglob("*") if p.parent.name in ("cur", "new")]
    with sqlite3.connect(database) as db:  # SQLite makes its journals as the file is
        db.execute("select count(*) from intake_inboundmessage").fetchone()
        journals = list(database.parent.glob("intake.sqlite3-*"))
        files = [database, *journals, *mail]
        modes = {str(p): oct(stat.S_IMODE(p.stat().st_mode)) for p in files}
    assert journals and len(mail) >= 3
    assert all(mode == "0o600" for mode in modes.values()), modes
