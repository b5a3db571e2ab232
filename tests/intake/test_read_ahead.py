"""The sandbox reads the next messages while the current one is decided (issue 10):
what it read ahead is what reading then would have given, and nothing piles up."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, replace
from typing import Any

import pytest

from intake import pipeline
from intake.config import IntakeConfig
from intake.mailbox import open_mailbox
from intake.models import InboundMessage
from intake.store import load_mail, safe_for_db
from parsers import sandbox
from parsers.limits import Limits
from parsers.mail import MailResult
from parsers.sandbox import (
    forget_read_ahead,
    parse_mail,
    parse_mail_inline,
    read_ahead,
    read_documents,
    read_documents_inline,
)
from tests.builders import mime_builder, pdf_builder
from tests.builders.authentication import with_verdict
from tests.builders.docx_builder import filled_docx, random_answers
from tests.parsers.test_pdf_fast import CSPR, SIN

LIMITS = Limits()


def referral(seed: int, pdf: bool = False) -> bytes:
    schema = SIN if seed % 2 else CSPR
    answers = random_answers(schema, seed)
    if pdf:
        files = [("Referral.pdf", pdf_builder.flattened_pdf(schema, answers, "word"))]
    else:
        files = [("Referral.docx", filled_docx(schema, answers, "typed", seed=seed))]
    return with_verdict(mime_builder.outlook(files, subject=f"Referral {seed}"))


def without_timing(mail: MailResult) -> MailResult:
    return replace(mail, seconds=0.0, peak_memory_kb=0)


@pytest.fixture(autouse=True)
def nothing_left_ahead() -> Any:
    forget_read_ahead()
    yield
    forget_read_ahead()


def test_it_gives_the_parse_it_read_ahead_as_a_parse_would() -> None:
    raw = referral(1, pdf=True)
    read_ahead([raw], LIMITS)
    early = parse_mail(raw, LIMITS)
    assert without_timing(early) == without_timing(parse_mail_inline(raw, LIMITS))


def test_it_gives_the_documents_it_read_ahead_as_reading_them_would() -> None:
    raw = referral(2, pdf=True)
    read_ahead([raw], LIMITS)
    mail = parse_mail(raw, LIMITS)
    parts = [p for p in mail.attachments if p.is_leaf]
    early = read_documents(parts, LIMITS)
    now = read_documents_inline(parts, LIMITS)
    assert [(r.index, r.document, r.reason) for r in early] == [
        (r.index, r.document, r.reason) for r in now
    ]


def test_it_reads_a_document_it_did_not_read_ahead_when_asked() -> None:
    raw = referral(3)
    read_ahead([raw], LIMITS)
    mail = parse_mail(raw, LIMITS)
    other = parse_mail_inline(referral(4, pdf=True), LIMITS).attachments
    parts = [*mail.attachments, *other]
    results = read_documents(parts, LIMITS)
    assert [r.index for r in results] == list(range(len(parts)))
    assert all(r.document is not None for r in results if parts[r.index].filename)


def test_it_ignores_what_it_read_ahead_under_other_limits() -> None:
    raw = referral(5)
    read_ahead([raw], LIMITS)
    tighter = replace(LIMITS, max_pages=3)
    assert sandbox._AHEAD.mail(raw, tighter) is None


def test_it_keeps_only_a_few_messages_ahead() -> None:
    for seed in range(10, 10 + 3 * sandbox._ReadAhead.KEPT):
        read_ahead([referral(seed)], LIMITS)
    assert len(sandbox._AHEAD._early) <= sandbox._ReadAhead.KEPT
    forget_read_ahead()
    assert sandbox._AHEAD._early == []


def test_it_does_not_read_a_large_message_ahead() -> None:
    big = referral(6) + b"\r\n" + b"x" * (sandbox.READ_AHEAD_MAX_BYTES + 1)
    read_ahead([big], LIMITS)
    assert sandbox._AHEAD._early == []


@pytest.mark.django_db
def test_a_poll_reading_ahead_decides_every_message_as_reading_each_in_turn_would(
    make_config: Callable[..., IntakeConfig], monkeypatch: pytest.MonkeyPatch
) -> None:
    taken: list[bool] = []
    real = sandbox._ReadAhead.mail

    def spy(self: Any, raw: bytes, limits: Limits) -> MailResult | None:
        found = real(self, raw, limits)
        taken.append(found is not None)
        return found

    monkeypatch.setattr(sandbox._ReadAhead, "mail", spy)
    matched: list[bool] = []
    real_job = sandbox._ReadAhead.job

    def job_spy(self: Any, path: str, args: tuple[Any, ...]) -> Any:
        found = real_job(self, path, args)
        matched.append(found is not None)
        return found

    monkeypatch.setattr(sandbox._ReadAhead, "job", job_spy)
    config = make_config()
    with open_mailbox(config.mailboxes[0]) as box:
        for seed in range(20, 26):
            box.append("INBOX", referral(seed, pdf=seed % 3 == 0), flags=())
    result = pipeline.poll_mailbox(config.mailboxes[0], config)
    assert (result.decided, result.errors) == (6, 0)
    assert taken.count(True) == 5  # every message but the first was read ahead
    assert matched.count(True) == 5  # and matched to the forms ahead
    for message in InboundMessage.objects.order_by("pk"):
        again = pipeline.assess(load_mail(message), config, message.received_at)
        assert message.assessment == safe_for_db(asdict(again))
