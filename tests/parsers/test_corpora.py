"""Every third-party message in ../shared/corpora goes through without a crash.

None of these is a referral; what matters is that `parse_message` answers
for each (no exception, bounded time) and that every failure it or the
document readers report is one of the known `Reason` codes.  Outlook .msg
files and bare TNEF blobs are fed twice: as raw bytes (as if a mailbox held
them) and attached to a message, the way they really arrive.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from parsers.errors import Reason
from parsers.limits import Limits
from parsers.mail import sniff
from parsers.mail.mime import ParsedMessage, parse_message
from parsers.sandbox import read_documents_inline
from tests.builders import mime_builder as build

CORPORA = Path(__file__).resolve().parents[3] / "shared" / "corpora"
NOT_MAIL = {"LICENSE", "NOTICE", "SHA256SUMS", "SOURCE.md", "README.md"}
# Generous for MIME parsing and unpacking, which take milliseconds a message.
# (Reading documents is bounded by the sandbox in service, not timed here.)
SECONDS_PER_MESSAGE = 10.0
LIMITS = Limits(max_seconds=SECONDS_PER_MESSAGE)


def corpus_files() -> list[Path]:
    if not CORPORA.is_dir():
        return []
    return sorted(p for p in CORPORA.rglob("*") if p.is_file() and p.name not in NOT_MAIL)


def messages_in(path: Path) -> Iterator[bytes]:
    """The raw messages a corpus file stands for (an mbox gives several)."""
    data = path.read_bytes()
    kind = sniff.sniff(data)
    if kind == sniff.MSG:
        yield build.outlook_with_msg(data, path.name)
    elif kind == sniff.TNEF:
        yield build.outlook_tnef_blob(data)
    if data.startswith(b"From "):  # RFC 4155 mbox: a "From " line opens each message
        yield from (m for m in re.split(rb"(?m)^From [^\n]*\n", data) if m.strip())
    else:
        yield data


def assert_known_outcomes(parsed: ParsedMessage) -> None:
    assert all(isinstance(d, str) for d in parsed.defects)
    for part in parsed.attachments:
        assert part.error is None or isinstance(part.error, Reason)
        assert part.size == len(part.data) and part.path.endswith(part.filename)
    leaves = [p for p in parsed.attachments if p.is_leaf]
    for result in read_documents_inline(leaves, LIMITS):
        assert (result.document is None) == isinstance(result.reason, Reason)


@pytest.mark.skipif(not CORPORA.is_dir(), reason=f"no corpora at {CORPORA} (../shared/corpora)")
@pytest.mark.parametrize("path", corpus_files(), ids=lambda p: str(p.relative_to(CORPORA)))
def test_it_answers_for_every_corpus_message_with_known_reasons_only(path: Path) -> None:
    for raw in messages_in(path):
        start = time.monotonic()
        parsed = parse_message(raw, LIMITS)
        assert time.monotonic() - start < SECONDS_PER_MESSAGE
        assert_known_outcomes(parsed)


@pytest.mark.skipif(not CORPORA.is_dir(), reason=f"no corpora at {CORPORA} (../shared/corpora)")
def test_it_finds_the_corpus() -> None:
    assert len(corpus_files()) > 150
