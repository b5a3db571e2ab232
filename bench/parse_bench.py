"""How fast the parsers read forms, and what they cost in memory.

Prints, for each kind of document (DOCX typed, DOCX legacy fields, PDF
AcroForm, PDF flattened): documents per second in one process, by the wall
clock and by this process's CPU time (one core's worth, which a shared
machine disturbs less), and the largest Python heap one read needs; then a
mixed batch of emails (the example emails re-wrapped with new headers, plus
built forms sent from several mail clients) through `parse_message` and the
sandbox pool with 2 workers, the way the service runs on two cores.

    python bench/parse_bench.py --emails 1000
"""

from __future__ import annotations

import argparse
import random
import re
import resource
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

EXAMPLES = ROOT.parent / "shared" / "forms" / "examples"


def build_documents(seed: int) -> dict[str, bytes]:
    """One filled CSPR form of each kind, with fictional answers."""
    from parsers.schema import load_schema
    from tests.builders.docx_builder import filled_docx, random_answers
    from tests.builders.pdf_builder import acroform_pdf, flattened_pdf

    schema = load_schema(ROOT / "config" / "forms" / "cspr_referral.toml")
    answers = random_answers(schema, seed)
    return {
        "docx typed": filled_docx(schema, answers, "typed"),
        "docx legacy fields": filled_docx(schema, answers, "legacy_fields"),
        "pdf acroform": acroform_pdf(schema, answers),
        "pdf flattened": flattened_pdf(schema, answers),
    }


def part_for(name: str, data: bytes):  # type: ignore[no-untyped-def]
    from parsers.limits import Limits
    from parsers.mail.mime import parse_message
    from tests.builders.mime_builder import outlook

    return parse_message(outlook([(name, data)]), Limits()).attachments[0]


def per_kind(documents: dict[str, bytes], rounds: int) -> None:
    from parsers.documents import read_document
    from parsers.limits import Limits

    limits = Limits()
    print(
        f"{'kind':<20} {'docs/s':>8} {'ms/doc':>8} {'CPU docs/s':>10} {'heap MB':>8} {'RSS +MB':>8}"
    )
    for kind, data in documents.items():
        part = part_for("form.pdf" if kind.startswith("pdf") else "form.docx", data)
        read_document(part, limits)  # warm caches and imports
        start, cpu = time.perf_counter(), time.process_time()
        for _ in range(rounds):
            read_document(part, limits)
        per_doc = (time.perf_counter() - start) / rounds
        # One core's worth: CPU seconds of this process (the machine may be shared).
        per_cpu = (time.process_time() - cpu) / rounds
        tracemalloc.start()
        read_document(part, limits)
        _now, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        rss = rss_growth_mb(part)
        speed = f"{1 / per_doc:>8.1f} {per_doc * 1000:>8.1f} {1 / per_cpu:>10.1f}"
        print(f"{kind:<20} {speed} {peak / 2**20:>8.1f} {rss:>8.1f}")


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _read_and_measure(part, conn) -> None:  # type: ignore[no-untyped-def]
    """In a fresh process: how far one read raises the resident set above the imports."""
    import parsers.docx
    import parsers.pdf
    from parsers.documents import read_document
    from parsers.limits import Limits

    del parsers.docx, parsers.pdf  # imported only so their cost is not counted
    Path("/proc/self/clear_refs").write_text("5")  # Linux: reset the peak (VmHWM)
    before = _status_kb("VmRSS")
    read_document(part, Limits())
    conn.send((_status_kb("VmHWM") - before) / 1024)


def rss_growth_mb(part) -> float:  # type: ignore[no-untyped-def]
    """Peak RSS growth (C allocations included, e.g. pdfium) of one read."""
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    ours, theirs = ctx.Pipe()
    child = ctx.Process(target=_read_and_measure, args=(part, theirs))
    child.start()
    growth: float = ours.recv()
    child.join()
    return growth


def rewrapped(raw: bytes, n: int) -> bytes:
    """An example email with a new Message-ID and Subject (same body)."""
    new_id = f"Message-ID: <bench-{n}@example.org>".encode()
    raw = re.sub(rb"(?mi)^Message-ID:.*$", new_id, raw, count=1)
    return re.sub(rb"(?mi)^Subject:", f"Subject: [{n}]".encode(), raw, count=1)


def mixed_batch(count: int, documents: dict[str, bytes], seed: int) -> list[bytes]:
    from tests.builders import mime_builder as build

    rng = random.Random(seed)
    examples = [p.read_bytes() for p in sorted(EXAMPLES.glob("*.eml"))]
    wrappers: list[Callable[[str, bytes], bytes]] = [
        lambda n, d: build.outlook([(n, d)]),
        lambda n, d: build.gmail([(n, d)]),
        lambda n, d: build.zipped([(n, d)]),
        lambda n, d: build.outlook_tnef([(n, d)]),
        lambda n, d: build.forwarded_as_attachment(build.iphone([(n, d)])),
    ]
    batch = []
    for n in range(count):
        if examples and rng.random() < 0.5:
            batch.append(rewrapped(rng.choice(examples), n))
            continue
        kind = rng.choice(list(documents))
        name = "Referral form.pdf" if kind.startswith("pdf") else "Referral form.docx"
        batch.append(rng.choice(wrappers)(name, documents[kind]))
    return batch


def run_batch(batch: list[bytes], workers: int) -> None:
    from parsers.documents import is_document
    from parsers.limits import Limits
    from parsers.mail.mime import parse_message
    from parsers.mail.unpack import AttachmentPart
    from parsers.sandbox import SandboxPool

    limits = Limits()
    start = time.perf_counter()
    parts: list[AttachmentPart] = []
    for raw in batch:
        parts.extend(p for p in parse_message(raw, limits).attachments if is_document(p))
    mime_seconds = time.perf_counter() - start
    with SandboxPool(size=workers) as pool:
        pool.read_documents(parts[:workers], limits)  # workers warm
        started = time.perf_counter()
        results = pool.read_documents(parts, limits)
        read_seconds = time.perf_counter() - started
        sample = parts[:50]
        started = time.perf_counter()
        reader_seconds = sum(pool.read(i, p, limits).seconds for i, p in enumerate(sample))
        one_by_one = time.perf_counter() - started
    total = mime_seconds + read_seconds
    failed = sum(1 for r in results if r.reason is not None)
    print(f"\nmixed batch: {len(batch)} emails, {len(parts)} documents, {failed} unreadable")
    print(f"  MIME + unpacking   {mime_seconds:7.2f} s  {len(batch) / mime_seconds:8.1f} emails/s")
    rate = len(parts) / read_seconds
    print(f"  documents ({workers} workers) {read_seconds:6.2f} s  {rate:8.1f} docs/s")
    print(f"  end to end         {total:7.2f} s  {len(batch) / total:8.1f} emails/s")
    overhead = (one_by_one - reader_seconds) / max(len(sample), 1) * 1000
    print(f"  sandbox overhead   {overhead:7.1f} ms/doc (wall time around the reader's own)")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  parent peak RSS    {rss:7.1f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--emails", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=20, help="reads per document kind")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    import logging

    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    documents = build_documents(args.seed)
    per_kind(documents, args.rounds)
    run_batch(mixed_batch(args.emails, documents, args.seed), args.workers)


if __name__ == "__main__":
    main()
