"""The sandbox reads documents in killable worker processes.

The hostile readers below are imported by the workers themselves (the pool
is given their ``module:function`` path), so a spin or a memory hog happens
in a child exactly as a pathological document would make a real reader do.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import time
from collections.abc import Iterator

import pytest

from parsers.document import Document, Entry, Line
from parsers.errors import ParseError, Reason
from parsers.limits import Limits
from parsers.mail import sniff
from parsers.mail.unpack import AttachmentPart
from parsers.sandbox import DocumentResult, SandboxPool, read_documents_inline

HOOKS = "tests.parsers.test_sandbox:hostile_reader"


def hostile_reader(part: AttachmentPart, limits: Limits) -> Document:
    """Behaves according to the file name, like a reader meeting a bad file."""
    if part.filename == "spin.pdf":
        while True:
            pass
    if part.filename == "hog.pdf":
        hoard = []
        while True:
            hoard.append(bytearray(16 * 1024 * 1024))
    if part.filename == "die.pdf":
        os._exit(9)
    if part.filename == "bug.pdf":
        raise KeyError("/Root")
    if part.filename == "refused.pdf":
        raise ParseError(Reason.ENCRYPTED, "open password")
    if part.filename == "pid.pdf":
        return Document(kind="pdf", filename=str(os.getpid()))
    if part.filename == "initialised.pdf":
        return Document(kind="pdf", filename=os.environ.get("SANDBOX_TEST_INITIALISED", "no"))
    entry = Entry("Child's name", "Child", (Line("Sam Example"),), "page 1")
    return Document(kind="pdf", filename=part.filename, entries=[entry], pages=1)


def mark_initialised() -> None:
    """A worker initializer, as the service passes its logging set-up."""
    os.environ["SANDBOX_TEST_INITIALISED"] = "yes"


def make_part(filename: str, data: bytes = b"%PDF-1.4\n%%EOF\n") -> AttachmentPart:
    return AttachmentPart(
        filename=filename,
        declared_type="application/pdf",
        media_type=sniff.sniff(data),
        data=data,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        path=filename,
        depth=1,
    )


FAST = Limits(max_seconds=2.0, max_memory_mb=512)


@pytest.fixture(scope="module")
def pool() -> Iterator[SandboxPool]:
    with SandboxPool(size=2, reader=HOOKS) as sandbox:
        yield sandbox


def test_it_returns_the_document_a_worker_read(pool: SandboxPool) -> None:
    [result] = pool.read_documents([make_part("form.pdf")], FAST)
    assert result.reason is None
    assert result.document is not None
    assert result.document.entries[0].text == "Sam Example"


def test_it_kills_a_reader_that_spins_and_says_timeout(pool: SandboxPool) -> None:
    start = time.monotonic()
    [result] = pool.read_documents([make_part("spin.pdf")], FAST)
    assert result.reason is Reason.TIMEOUT
    assert time.monotonic() - start < FAST.max_seconds + 3.0
    [after] = pool.read_documents([make_part("form.pdf")], FAST)
    assert after.document is not None


def test_it_says_memory_when_a_reader_passes_the_memory_cap(pool: SandboxPool) -> None:
    # A low cap and a long wall-time limit: on a busy machine touching memory is slow.
    [result] = pool.read_documents(
        [make_part("hog.pdf")], Limits(max_seconds=30, max_memory_mb=256)
    )
    assert result.reason is Reason.MEMORY
    [after] = pool.read_documents([make_part("form.pdf")], FAST)
    assert after.document is not None


def test_it_says_memory_when_the_worker_dies(pool: SandboxPool) -> None:
    [result] = pool.read_documents([make_part("die.pdf")], FAST)
    assert result.reason is Reason.MEMORY
    assert "died" in result.detail


def test_it_reports_a_reader_crash_as_corrupt_with_the_exception_type_only(
    pool: SandboxPool,
) -> None:
    [result] = pool.read_documents([make_part("bug.pdf")], FAST)
    assert (result.reason, result.detail) == (Reason.CORRUPT, "KeyError")


def test_it_passes_on_the_reason_a_reader_refused_a_file(pool: SandboxPool) -> None:
    [result] = pool.read_documents([make_part("refused.pdf")], FAST)
    assert (result.reason, result.detail) == (Reason.ENCRYPTED, "open password")


def test_it_keeps_the_order_of_the_parts_when_reading_several_at_once(pool: SandboxPool) -> None:
    names = ["a.pdf", "spin.pdf", "b.pdf", "bug.pdf", "c.pdf"]
    results = pool.read_documents([make_part(n) for n in names], FAST)
    assert [r.index for r in results] == [0, 1, 2, 3, 4]
    assert [r.filename for r in results] == names
    assert [r.reason for r in results] == [None, Reason.TIMEOUT, None, Reason.CORRUPT, None]


def test_it_reuses_warm_workers_between_documents(pool: SandboxPool) -> None:
    first = pool.read_documents([make_part("pid.pdf")] * 4, FAST)
    pids = {r.document.filename for r in first if r.document}
    again = pool.read_documents([make_part("pid.pdf")] * 4, FAST)
    assert pids == {r.document.filename for r in again if r.document}
    assert len(pids) <= pool.size


def test_it_costs_little_more_than_the_reader_per_document(pool: SandboxPool) -> None:
    parts = [make_part("form.pdf")] * 40
    start = time.perf_counter()
    pool.read_documents(parts, FAST)
    assert (time.perf_counter() - start) / len(parts) < 0.05


def test_it_runs_the_initializer_in_each_worker_before_reading() -> None:
    with SandboxPool(
        size=1, reader=HOOKS, initializer="tests.parsers.test_sandbox:mark_initialised"
    ) as p:
        [result] = p.read_documents([make_part("initialised.pdf")], FAST)
    assert result.document is not None
    assert result.document.filename == "yes"


def test_it_refuses_a_part_that_failed_to_unpack_without_reading_it() -> None:
    part = make_part("Form.pdf", b"")
    broken = AttachmentPart(**{**part.__dict__, "error": Reason.ENCRYPTED})
    [result] = read_documents_inline([broken], FAST)
    assert result.reason is Reason.ENCRYPTED


def test_it_gives_results_that_can_be_pickled() -> None:
    [result] = read_documents_inline([make_part("form.pdf")], FAST, reader=hostile_reader)
    assert pickle.loads(pickle.dumps(result)) == result
    assert isinstance(result, DocumentResult)


def test_it_reads_inline_with_the_same_result_shape() -> None:
    results = read_documents_inline(
        [make_part("form.pdf"), make_part("bug.pdf")], FAST, reader=hostile_reader
    )
    assert results[0].document is not None
    assert (results[1].reason, results[1].detail) == (Reason.CORRUPT, "KeyError")


def test_it_keeps_worker_logs_off_stdout(capfd: pytest.CaptureFixture[str]) -> None:
    # "spawn": a new child inherits this test's captured descriptors (the shared
    # forkserver still holds those of the test that started it).
    with SandboxPool(size=1, reader=HOOKS, context="spawn") as sandbox:
        [result] = sandbox.read_documents([make_part("bug.pdf")], FAST)
    out, err = capfd.readouterr()
    assert result.reason is Reason.CORRUPT
    assert "reader_crashed" not in out
    assert "reader_crashed" in err
