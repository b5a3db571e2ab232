"""Seeded random damage to valid emails, DOCX and PDF files.

Bit flips, truncations, splices from another file and repeated runs, fed
through `parse_message` and the document readers.  A message must always
parse; a document must either read or fail with a clean `ParseError` (never
another exception), and the sandbox's inline runner must only report known
reasons.  The seeds are fixed so a failure is reproducible: the test id
names the seed and case.
"""

from __future__ import annotations

import functools
import hashlib
import random
from collections.abc import Callable
from pathlib import Path

import pytest

from parsers.document import Document
from parsers.documents import read_document
from parsers.errors import ParseError, Reason
from parsers.limits import Limits
from parsers.mail import sniff
from parsers.mail.mime import parse_message
from parsers.mail.unpack import AttachmentPart
from parsers.sandbox import read_documents_inline
from tests.builders import mime_builder as build

SHARED = Path(__file__).resolve().parents[3] / "shared" / "forms"
LIMITS = Limits(max_seconds=10.0)
MESSAGE_CASES = 80
DOCX_CASES = 60
PDF_CASES = 10

pytestmark = pytest.mark.skipif(not SHARED.is_dir(), reason=f"no forms at {SHARED}")


def flip_bits(rng: random.Random, data: bytearray, _others: list[bytes]) -> bytearray:
    for _ in range(rng.randint(1, 8)):
        at = rng.randrange(len(data))
        data[at] ^= 1 << rng.randrange(8)
    return data


def truncate(rng: random.Random, data: bytearray, _others: list[bytes]) -> bytearray:
    return data[: rng.randrange(len(data))]


def splice(rng: random.Random, data: bytearray, others: list[bytes]) -> bytearray:
    donor = rng.choice(others)
    start = rng.randrange(len(donor))
    at = rng.randrange(len(data))
    data[at : at + rng.randint(0, 4096)] = donor[start : start + rng.randint(1, 4096)]
    return data


def repeat(rng: random.Random, data: bytearray, _others: list[bytes]) -> bytearray:
    at = rng.randrange(len(data))
    data[at:at] = data[at : at + rng.randint(1, 2048)] * rng.randint(1, 5)
    return data


MUTATIONS: list[Callable[[random.Random, bytearray, list[bytes]], bytearray]] = [
    flip_bits,
    truncate,
    splice,
    repeat,
]


def mutants(seed: int, originals: list[bytes], count: int) -> list[bytes]:
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        mutation = rng.choice(MUTATIONS)
        out.append(bytes(mutation(rng, bytearray(rng.choice(originals)), originals)))
    return out


def example_messages() -> list[bytes]:
    examples = sorted((SHARED / "examples").glob("*.eml"))
    form = (SHARED / "cspr-referral-form.docx").read_bytes()
    built = [
        build.outlook_tnef([("Form.docx", form)]),
        build.zipped([("Form.docx", form)]),
        build.forwarded_as_attachment(build.gmail([("Form.docx", form)])),
    ]
    return [p.read_bytes() for p in examples] + built


@functools.cache
def documents(kind: str) -> list[bytes]:
    """Blank forms plus the filled ones attached to the example emails."""
    found = [p.read_bytes() for p in sorted(SHARED.glob(f"*.{kind}"))]
    for path in sorted((SHARED / "examples").glob("*.eml")):
        for part in parse_message(path.read_bytes(), LIMITS).attachments:
            if part.filename.lower().endswith(f".{kind}") and part.is_leaf and not part.error:
                found.append(part.data)
    return found


def as_part(data: bytes) -> AttachmentPart:
    return AttachmentPart(
        filename="fuzzed",
        declared_type="application/octet-stream",
        media_type=sniff.sniff(data),
        data=data,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        path="fuzzed",
        depth=1,
    )


def assert_reads_or_fails_cleanly(data: bytes) -> None:
    """Through the sandbox's inline runner, noting any exception but ParseError."""
    escaped: list[str] = []

    def strict_reader(part: AttachmentPart, limits: Limits) -> Document:
        try:
            return read_document(part, limits)
        except ParseError:
            raise
        except Exception as exc:
            escaped.append(f"{type(exc).__name__}: {exc}"[:200])
            raise

    [result] = read_documents_inline([as_part(data)], LIMITS, reader=strict_reader)
    assert escaped == []
    assert (result.document is None) == isinstance(result.reason, Reason)


def test_it_parses_every_damaged_message_without_raising() -> None:
    for raw in mutants(20261126, example_messages(), MESSAGE_CASES):
        parsed = parse_message(raw, LIMITS)
        for part in parsed.attachments:
            assert part.error is None or isinstance(part.error, Reason)
            assert part.size == len(part.data)


@pytest.mark.parametrize("case", range(DOCX_CASES))
def test_it_reads_or_cleanly_refuses_a_damaged_docx(case: int) -> None:
    data = mutants(1000 + case, documents("docx"), 1)[0]
    assert_reads_or_fails_cleanly(data)


@pytest.mark.parametrize("case", range(PDF_CASES))
def test_it_reads_or_cleanly_refuses_a_damaged_pdf(case: int) -> None:
    data = mutants(2000 + case, documents("pdf"), 1)[0]
    assert_reads_or_fails_cleanly(data)


CORPORA = SHARED.parent / "corpora"


@pytest.mark.skipif(not CORPORA.is_dir(), reason=f"no corpora at {CORPORA}")
def test_it_unpacks_damaged_outlook_items_and_winmail_dats_without_raising() -> None:
    items = [p.read_bytes() for p in sorted((CORPORA / "msgreader").rglob("*.msg"))]
    blobs = [p.read_bytes() for p in sorted(CORPORA.rglob("*.tnef"))]
    for i, data in enumerate(mutants(3000, items, 15) + mutants(3001, blobs, 15)):
        raw = build.outlook_with_msg(data) if i < 15 else build.outlook_tnef_blob(data)
        container = parse_message(raw, LIMITS).attachments[0]
        assert container.error in (None, Reason.CORRUPT)
