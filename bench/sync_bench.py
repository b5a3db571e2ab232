"""First sync of N messages from a private Dovecot, against a raw imapclient fetch.

    .venv/bin/python bench/sync_bench.py [-n 1000] [--full] [--database-url URL]

APPENDs N fictional referral emails (50-150 KB each: a DOCX form built from
the schema, a small PDF letter, padding as "correspondence") to a fresh
Dovecot account, then, in the same run:

1. fetches them all with imapclient alone (SELECT, UID SEARCH, UID FETCH
   BODY.PEEK[] in batches), the floor for any IMAP client in Python;
2. runs the service's first sync (`intake.pipeline.poll_mailbox`): store
   only, or with ``--full`` the whole pipeline (assess, decide, reply, file).

It prints messages per second for both, the ratio, and peak memory: the
maximum resident set size of the measuring process (the messages are built
and APPENDed by a forked child, so they do not count), and with
``--tracemalloc`` the peak of Python allocations during the sync (tracing
slows the sync down, so its speed is then not comparable).  The store is a
fresh SQLite file unless ``--database-url`` names another.
"""

from __future__ import annotations

import argparse
import io
import multiprocessing
import os
import random
import resource
import shutil
import sys
import tempfile
import time
import tracemalloc
from datetime import date
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def build_messages(count: int, seed: int = 7) -> list[bytes]:
    """``count`` fictional referral emails of 50-150 KB, reproducibly."""
    from intake.config import load_config
    from intake.seed import answers, build_form_docx
    from parsers.schema import load_schemas

    config = load_config(ROOT / "config" / "intake.toml")
    form = load_schemas(Path(config.forms_dir))["cspr_referral"]
    docx = build_form_docx(form, answers(form, date.today()))
    pdf = _letter_pdf()
    rng = random.Random(seed)
    messages = []
    for n in range(count):
        target = rng.randint(50_000, 150_000)
        padding = max(0, int((target - len(docx) * 1.37 - len(pdf) * 1.37 - 2000) / 1.37))
        messages.append(_message(n, docx, pdf, rng.randbytes(padding)))
    return messages


def _letter_pdf() -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    page = canvas.Canvas(buffer, pagesize=A4)
    for line, text in enumerate(
        ["Westshire Example Academy", "Letter about a fictional pupil", "Dear colleague,"]
    ):
        page.drawString(72, 770 - 18 * line, text)
    page.save()
    return buffer.getvalue()


def _message(n: int, docx: bytes, pdf: bytes, padding: bytes) -> bytes:
    message = EmailMessage()
    message["From"] = f"Referrer {n} <referrer{n}@school.example>"
    message["To"] = "referrals@westshire-sp.example"
    message["Subject"] = f"CSPR referral {n}"
    message["Date"] = formatdate()
    message["Message-ID"] = make_msgid(domain="school.example")
    message.set_content("Please find our referral attached.\n")
    docx_type = ("application", "vnd.openxmlformats-officedocument.wordprocessingml.document")
    message.add_attachment(
        docx, maintype=docx_type[0], subtype=docx_type[1], filename="CSPR referral.docx"
    )
    message.add_attachment(pdf, maintype="application", subtype="pdf", filename="Letter.pdf")
    if padding:
        message.add_attachment(
            padding, maintype="application", subtype="octet-stream", filename="notes.bin"
        )
    return message.as_bytes()


def raw_fetch(account, batch_size: int) -> tuple[int, float]:
    """imapclient alone: every message's bytes, in batches; (count, seconds)."""
    start = time.perf_counter()
    client = account.client()
    client.select_folder("INBOX", readonly=True)
    uids = client.search("ALL")
    total = 0
    for i in range(0, len(uids), batch_size):
        fetched = client.fetch(uids[i : i + batch_size], ["BODY.PEEK[]"])
        total += sum(1 for data in fetched.values() if data.get(b"BODY[]"))
    client.logout()
    return total, time.perf_counter() - start


def setup_django(database_url: str | None, folder: Path) -> None:
    os.environ["DATABASE_URL"] = database_url or f"sqlite:///{folder / 'bench.sqlite3'}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only")
    import django
    from django.core.management import call_command

    django.setup()
    from intake.logging import configure_logging

    configure_logging(stream=open(os.devnull, "w"), force=True)  # noqa: SIM115 - measure work, not logging
    call_command("migrate", verbosity=0)


def service_sync(account, folder: Path, batch_size: int, full: bool, trace: bool):
    """The service's first sync; returns (PollResult, seconds, tracemalloc peak bytes)."""
    from intake import pipeline
    from intake.config import parse_config

    os.environ["INTAKE_BENCH_PASSWORD"] = account.password
    mailbox = {
        "name": "bench",
        "kind": "imap",
        "host": "127.0.0.1",
        "port": account.server.port,
        "security": "none",
        "username": account.username,
        "password_env": "INTAKE_BENCH_PASSWORD",
    }
    config = parse_config(
        {
            "mailboxes": [mailbox],
            "schedule": {"batch_size": batch_size},
            "replies": {"outbox_dir": str(folder / "outbox")},
        }
    )
    if not full:
        pipeline.advance_unfinished = lambda run: None  # store only: the sync is what is measured
    if trace:
        tracemalloc.start()
    start = time.perf_counter()
    result = pipeline.poll_mailbox(config.mailboxes[0], config)
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1] if trace else 0
    tracemalloc.stop()
    return result, seconds, peak


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--messages", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=50)
    parser.add_argument(
        "--full", action="store_true", help="run the whole pipeline, not only the store"
    )
    parser.add_argument("--database-url", help="store URL (default: a fresh SQLite file)")
    parser.add_argument("--tracemalloc", action="store_true", help="also trace Python allocations")
    args = parser.parse_args()

    from tests.servers.dovecot import start_dovecot

    folder = Path(tempfile.mkdtemp(prefix="intake-bench-"))
    server = start_dovecot()
    if isinstance(server, str):
        print(f"cannot run: {server}", file=sys.stderr)
        return 1
    try:
        account = server.new_account()
        appended = append_in_child(account, args.messages)
        setup_django(args.database_url, folder)
        return run(account, appended, folder, args)
    finally:
        server.stop()
        shutil.rmtree(server.root, ignore_errors=True)
        shutil.rmtree(folder, ignore_errors=True)


def append_in_child(account, count: int) -> tuple[int, float, float]:
    """Build and APPEND the messages in a forked child, so that holding them in
    memory does not count in this process's peak; (count, megabytes, seconds)."""
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)

    def work() -> None:
        messages = build_messages(count)
        start = time.perf_counter()
        account.append_many(messages)
        send.send((len(messages), sum(map(len, messages)) / 1e6, time.perf_counter() - start))

    child = context.Process(target=work)
    child.start()
    outcome = receive.recv()
    child.join()
    return outcome


def run(account, appended: tuple[int, float, float], folder: Path, args: argparse.Namespace) -> int:
    count, megabytes, append_seconds = appended
    raw_count, raw_seconds = raw_fetch(account, args.batch_size)
    result, sync_seconds, peak = service_sync(
        account, folder, args.batch_size, args.full, args.tracemalloc
    )
    maxrss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    mode = "full pipeline" if args.full else "store only"
    print(f"messages: {count} ({megabytes:.1f} MB, {megabytes * 1000 / count:.0f} KB average)")
    print(f"APPEND:               {count / append_seconds:8.1f} messages/s")
    print(f"raw imapclient fetch: {raw_count / raw_seconds:8.1f} messages/s ({raw_seconds:.2f} s)")
    print(
        f"service ({mode}):  {result.fetched / sync_seconds:8.1f} messages/s ({sync_seconds:.2f} s)"
    )
    print(
        f"ratio service/raw:    {raw_seconds / sync_seconds:8.2f} (1.00 = as fast as the raw fetch)"
    )
    print(f"peak memory (RSS):    {maxrss_mb:8.0f} MB (the measuring process: Django, fetch, sync)")
    if args.tracemalloc:
        print(f"peak traced:          {peak / 1e6:8.1f} MB of Python allocations during the sync")
    print(
        f"result: stored {result.stored}, duplicates {result.duplicates}, filed {result.filed}, "
        f"errors {result.errors}, parked {result.parked}"
    )
    return 0 if result.stored == count else 1


if __name__ == "__main__":
    raise SystemExit(main())
