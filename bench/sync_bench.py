"""First sync of a referral mailbox from a private Dovecot: the service against
a raw fetch and against a naive one-process script.

    .venv/bin/python bench/sync_bench.py [-n 1000] [--full] [--compare-naive]
                                         [--repeat R] [--database-url URL]

APPENDs N realistic referral emails (`bench/realistic_mail.py`: forms in
every style, correspondence, automatic mail, the shared examples, and three
copies of one pathological PDF whose page inflates to 1 GB) to a fresh
Dovecot account, then, in the same run:

1. fetches them all with imapclient alone (SELECT, UID SEARCH, UID FETCH
   BODY.PEEK[] in batches): the floor for any IMAP client in Python;
2. with ``--compare-naive``, runs the naive loop: one process that fetches
   each message, parses it with the standard library's ``email``, reads each
   Word attachment with python-docx and each PDF with pdfplumber, and stores
   the message and its text in the same database, one commit a message;
3. runs the service's first sync (`intake.pipeline.poll_mailbox`): store
   only, or with ``--full`` the whole pipeline (parse, assess, decide,
   reply, file);
4. with ``--compare-naive``, runs the service again on a second account
   holding the same messages without the pathological PDF (the naive loop's
   rate without it comes from its own per-message times).

Each measured loop runs in a fresh process with a fresh database (SQLite
file, or a new database on the PostgreSQL server of ``--database-url``), and
its whole process tree (the service's parser sandbox included) is sampled
every 50 ms: the peak of the tree's summed resident memory (RSS) and of its
proportional share (PSS, which counts pages shared between the sandbox's
forked workers once) is printed with each rate.  ``--repeat`` runs the
measured loops again on fresh accounts and prints the median.

The built messages are kept in ``var/bench-cache/`` for the next run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CACHE = ROOT / "var" / "bench-cache"
SAMPLE_SECONDS = 0.05
PSS_EVERY = 20  # samples
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


# --- the parent: messages, accounts, children, memory -------------------------------------


def main() -> int:
    args = _arguments()
    if args.child:
        return child_main(args)
    from tests.servers.dovecot import start_dovecot

    server = start_dovecot()
    if isinstance(server, str):
        print(f"cannot run: {server}", file=sys.stderr)
        return 1
    folder = Path(tempfile.mkdtemp(prefix="intake-bench-"))
    try:
        return run(server, folder, args)
    finally:
        server.stop()
        shutil.rmtree(server.root, ignore_errors=True)
        shutil.rmtree(folder, ignore_errors=True)


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--messages", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--batch-size", type=int, default=50)
    parser.add_argument(
        "--full", action="store_true", help="the whole pipeline, not the store only"
    )
    parser.add_argument(
        "--compare-naive",
        action="store_true",
        help="also the naive loop, and both without the pathological PDF",
    )
    parser.add_argument("--repeat", type=int, default=1, help="measure this many times (medians)")
    parser.add_argument(
        "--messages-file", type=Path, help="read (or keep) the built messages in this file"
    )
    parser.add_argument("--database-url", help="a PostgreSQL server URL (default: SQLite files)")
    parser.add_argument("--tracemalloc", action="store_true", help="also trace Python allocations")
    parser.add_argument("--child", choices=("naive", "service"), help=argparse.SUPPRESS)
    parser.add_argument("--account", help=argparse.SUPPRESS)  # port:user:password
    parser.add_argument("--database", help=argparse.SUPPRESS)
    parser.add_argument("--outbox", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.compare_naive:
        args.full = True
    return args


@dataclass
class Measured:
    """One loop over one account: what its child reported, and its tree's memory."""

    report: dict[str, Any]
    seconds: float
    peak_rss_mb: float
    peak_pss_mb: float
    cpu_seconds: float = 0.0  # the tree's CPU time (user + system), sampled
    wall_seconds: float = 0.0  # the child's whole life, start-up included
    at_peak: tuple[tuple[str, float], ...] = ()  # (role, PSS MB) of each process at the PSS peak
    cpu_by_role: tuple[tuple[str, float], ...] = ()  # (role, CPU seconds), the workers summed

    @property
    def cores_busy(self) -> float:
        return self.cpu_seconds / self.wall_seconds if self.wall_seconds else 0.0

    @property
    def rate(self) -> float:
        return float(self.report["messages"]) / self.seconds if self.seconds else 0.0


@dataclass
class Round:
    raw_rate: float = 0.0
    naive: Measured | None = None
    service: Measured | None = None
    service_ordinary: Measured | None = None
    naive_ordinary_rate: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


def run(server: Any, folder: Path, args: argparse.Namespace) -> int:
    from bench.realistic_mail import cached, is_pathological

    started = time.perf_counter()
    messages = cached(args.messages, args.seed, CACHE, args.messages_file)
    ordinary = [m for m in messages if not is_pathological(m)]
    megabytes = sum(map(len, messages)) / 1e6
    print(
        f"messages: {len(messages)} ({megabytes:.1f} MB, {megabytes * 1000 / len(messages):.0f} KB"
        f" average), {len(messages) - len(ordinary)} with the pathological PDF"
        f" (built or loaded in {time.perf_counter() - started:.0f} s)"
    )
    rounds = []
    for number in range(1, args.repeat + 1):
        rounds.append(measure_round(server, folder / f"round{number}", messages, ordinary, args))
        print_round(number, rounds[-1], args)
    if args.repeat > 1:
        print_medians(rounds, args)
    service = rounds[-1].service
    return 0 if service is not None and service.report.get("stored") == len(messages) else 1


def measure_round(
    server: Any,
    folder: Path,
    messages: list[bytes],
    ordinary: list[bytes],
    args: argparse.Namespace,
) -> Round:
    folder.mkdir(parents=True)
    result = Round()
    account = server.new_account()
    account.append_many(messages)
    count, seconds = raw_fetch(account, args.batch_size)
    result.raw_rate = count / seconds
    if args.compare_naive:
        result.naive = run_child("naive", account, folder / "naive", args)
        times = result.naive.report["ordinary_seconds"]
        result.naive_ordinary_rate = result.naive.report["ordinary"] / times if times else 0.0
    result.service = run_child("service", account, folder / "service", args)
    if args.compare_naive:
        second = server.new_account()
        second.append_many(ordinary)
        result.service_ordinary = run_child("service", second, folder / "ordinary", args)
    return result


def raw_fetch(account: Any, batch_size: int) -> tuple[int, float]:
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


def run_child(kind: str, account: Any, folder: Path, args: argparse.Namespace) -> Measured:
    """Run one loop in a fresh process, sampling its whole tree's memory."""
    folder.mkdir(parents=True)
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child", kind,
        "--account", f"{account.server.port}:{account.username}:{account.password}",
        "--database", fresh_database(args.database_url, folder, kind),
        "--outbox", str(folder / "outbox"),
        "--batch-size", str(args.batch_size),
    ]  # fmt: skip
    if args.full:
        command.append("--full")
    if args.tracemalloc:
        command.append("--tracemalloc")
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    sampler = TreeSampler(child.pid)
    sampler.start()
    output, _ = child.communicate()
    wall = time.perf_counter() - started
    sampler.stop()
    if child.returncode != 0:
        raise RuntimeError(f"{kind} loop failed (exit {child.returncode})")
    report = json.loads(output.strip().splitlines()[-1])
    seconds = float(report.get("seconds") or time.perf_counter() - started)
    return Measured(
        report,
        seconds,
        sampler.peak_rss / 1024,
        sampler.peak_pss / 1024,
        cpu_seconds=sampler.cpu_seconds,
        wall_seconds=wall,
        cpu_by_role=tuple(sorted(sampler.cpu_by_role.items(), key=lambda x: -x[1])),
        at_peak=tuple(
            sorted(
                ((role, kb / 1024) for kb, role in sampler.at_peak.values()),
                key=lambda x: -x[1],
            )
        ),
    )


def fresh_database(url: str | None, folder: Path, kind: str) -> str:
    """A new, empty database for one loop: a SQLite file, or a new PostgreSQL database."""
    if not url:
        return f"sqlite:///{folder / f'{kind}.sqlite3'}"
    import psycopg

    name = f"intake_bench_{os.getpid()}_{folder.parent.name}_{folder.name}".lower()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return url.rsplit("/", 1)[0] + "/" + name


class TreeSampler:
    """Samples the summed RSS and PSS (kB) of a process and all its descendants."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak_rss = 0
        self.peak_pss = 0
        self.at_peak: dict[int, tuple[int, str]] = {}  # pid -> (PSS kB, role) at the peak
        self._ticks: dict[int, int] = {}  # pid -> its CPU ticks when last seen
        self._roles: dict[int, str] = {}  # pid -> what it is (`_role`), when first seen
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    @property
    def cpu_seconds(self) -> float:
        return sum(self._ticks.values()) / os.sysconf("SC_CLK_TCK")

    @property
    def cpu_by_role(self) -> dict[str, float]:
        """CPU seconds by kind of process (the workers summed)."""
        out: dict[str, float] = {}
        for pid, ticks in self._ticks.items():
            role = self._roles.get(pid, "other")
            out[role] = out.get(role, 0.0) + ticks / os.sysconf("SC_CLK_TCK")
        return out

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        # RSS (from statm, cheap) every sample; PSS (smaps_rollup walks every page
        # table, costly enough to take a core's share from what is measured) when
        # the RSS reaches a new peak, and once a second.
        samples = 0
        while not self._stop.wait(SAMPLE_SECONDS):
            pids = descendants(self.pid)
            for p in pids:
                self._ticks[p] = max(self._ticks.get(p, 0), _cpu_ticks(p))
                if p not in self._roles:
                    self._roles[p] = _role(p, self._ticks)
            rss = sum(_rss_kb(p) for p in pids)
            samples += 1
            if rss > self.peak_rss or samples % PSS_EVERY == 0:
                each = {p: _kb(p, "smaps_rollup", "Pss") for p in pids}
                if sum(each.values()) > self.peak_pss:
                    self.peak_pss = sum(each.values())
                    self.at_peak = {p: (kb, _role(p, each)) for p, kb in each.items()}
            self.peak_rss = max(self.peak_rss, rss)


def _command(pid: int) -> str:
    try:
        return (
            Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        )
    except OSError:
        return "gone"


def _role(pid: int, tree: Mapping[int, int]) -> str:
    """What a process of the tree is, for the breakdown of the peak: a child of
    the fork server (which shares its command line) is a reader worker."""
    command = _command(pid)
    if "forkserver" in command:
        parent = _PARENTS.get(pid)
        forked = parent is not None and parent in tree and "forkserver" in _command(parent)
        return "worker" if forked else "fork server"
    if "resource_tracker" in command:
        return "resource tracker"
    if "sync_bench" in command:
        return "main"
    return command.split(" ")[0].rsplit("/", 1)[-1][:20] or "other"


_PARENTS: dict[int, int] = {}  # pid -> parent pid, read once a process (a parent never changes
# while both live; a pid reused after a process ended is a new /proc entry, read afresh)


def descendants(root: int) -> list[int]:
    """``root`` and every process below it (from /proc's parent ids).  Only new
    processes' stat files are read: the sampler must not take a share of the
    cores it measures."""
    live = {int(entry) for entry in os.listdir("/proc") if entry.isdigit()}
    for pid in list(_PARENTS):
        if pid not in live:
            del _PARENTS[pid]
    for pid in live - _PARENTS.keys():
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        _PARENTS[pid] = int(stat.rpartition(")")[2].split()[1])
    children: dict[int, list[int]] = {}
    for pid, parent in _PARENTS.items():
        children.setdefault(parent, []).append(pid)
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, ()))
    return found


def _cpu_ticks(pid: int) -> int:
    """User and system CPU time of ``pid`` so far, in clock ticks (0 once it is gone:
    a process's last 50 ms are not counted)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        return int(fields[11]) + int(fields[12])
    except (OSError, ValueError, IndexError):
        return 0


def _rss_kb(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE_KB
    except (OSError, ValueError, IndexError):
        return 0


def _kb(pid: int, name: str, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/{name}").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


# --- printing ----------------------------------------------------------------------------------


def print_round(number: int, result: Round, args: argparse.Namespace) -> None:
    mode = "full pipeline" if args.full else "store only"
    print(f"\nround {number}")
    print(f"  raw imapclient fetch        {result.raw_rate:8.1f} messages/s")
    if result.naive is not None:
        _line("naive loop (whole set)", result.naive)
        print(f"  naive loop (no pathological){result.naive_ordinary_rate:8.1f} messages/s")
    if result.service is not None:
        _line(f"service, {mode} (whole set)", result.service)
        print(f"    {_outcomes(result.service.report)}")
    if result.service_ordinary is not None:
        _line("service (no pathological)", result.service_ordinary)
    if result.naive is not None and result.service is not None:
        whole = result.service.rate / result.naive.rate
        print(f"  ratio service/naive: {whole:5.2f} on the whole set", end="")
        if result.service_ordinary is not None and result.naive_ordinary_rate:
            ratio = result.service_ordinary.rate / result.naive_ordinary_rate
            print(f", {ratio:5.2f} without the pathological PDF")
        else:
            print()


def _line(label: str, measured: Measured) -> None:
    print(
        f"  {label:<28}{measured.rate:8.1f} messages/s ({measured.seconds:6.1f} s);"
        f" peak tree memory {measured.peak_rss_mb:5.0f} MB RSS, {measured.peak_pss_mb:5.0f} MB PSS;"
        f" tree CPU {measured.cpu_seconds:5.0f} s ({measured.cores_busy:.2f} cores busy)"
    )
    if measured.at_peak:
        parts = ", ".join(f"{role} {mb:.0f}" for role, mb in measured.at_peak if mb >= 1)
        print(f"    at the PSS peak (MB): {parts}")
    if measured.cpu_by_role:
        parts = ", ".join(f"{role} {sec:.0f}" for role, sec in measured.cpu_by_role if sec >= 0.5)
        print(f"    CPU by process (s): {parts}")


def _outcomes(report: dict[str, Any]) -> str:
    decisions = ", ".join(f"{k} {v}" for k, v in sorted(report.get("decisions", {}).items()))
    counts = ", ".join(f"{k} {report.get(k)}" for k in ("stored", "filed", "errors", "parked"))
    replies = f"replies sent {report.get('replies_sent')}, waiting {report.get('replies_waiting')}"
    return f"{counts}; {decisions}; {replies}"


def print_medians(rounds: list[Round], args: argparse.Namespace) -> None:
    def median(values: list[float]) -> float:
        return statistics.median(values) if values else 0.0

    print(f"\nmedians of {len(rounds)} rounds")
    print(f"  raw imapclient fetch        {median([r.raw_rate for r in rounds]):8.1f} messages/s")
    for label, pick in (
        ("naive loop (whole set)", lambda r: r.naive),
        ("service (whole set)", lambda r: r.service),
        ("service (no pathological)", lambda r: r.service_ordinary),
    ):
        found = [m for r in rounds if (m := pick(r)) is not None]
        if found:
            print(
                f"  {label:<28}{median([m.rate for m in found]):8.1f} messages/s;"
                f" peak tree memory {median([m.peak_rss_mb for m in found]):5.0f} MB RSS,"
                f" {median([m.peak_pss_mb for m in found]):5.0f} MB PSS"
            )
    if args.compare_naive:
        naive_ordinary = median([r.naive_ordinary_rate for r in rounds])
        print(f"  naive loop (no pathological){naive_ordinary:8.1f} messages/s")
        whole = median([r.service.rate / r.naive.rate for r in rounds if r.service and r.naive])
        plain = median(
            [
                r.service_ordinary.rate / r.naive_ordinary_rate
                for r in rounds
                if r.service_ordinary and r.naive_ordinary_rate
            ]
        )
        print(
            f"  ratio service/naive: {whole:5.2f} on the whole set, {plain:5.2f} without the"
            " pathological PDF"
        )


# --- the children ------------------------------------------------------------------------------


def child_main(args: argparse.Namespace) -> int:
    port, username, password = args.account.split(":", 2)
    os.environ["INTAKE_BENCH_PASSWORD"] = password
    if args.child == "naive":
        report = naive_loop(int(port), username, password, args.database, args.batch_size)
    else:
        report = service_loop(int(port), username, args)
    print(json.dumps(report))
    return 0


def naive_loop(
    port: int, username: str, password: str, database: str, batch_size: int
) -> dict[str, Any]:
    """The script anyone would write first: fetch, parse, read, store, one message at a time."""
    import email
    import email.policy

    from imapclient import IMAPClient

    from bench.realistic_mail import is_pathological

    store = NaiveStore(database)
    started = time.perf_counter()
    client = IMAPClient("127.0.0.1", port=port, ssl=False, timeout=60)
    client.login(username, password)
    client.select_folder("INBOX", readonly=True)
    uids = client.search("ALL")
    ordinary_seconds, ordinary = 0.0, 0
    for i in range(0, len(uids), batch_size):
        fetch_start = time.perf_counter()
        fetched = client.fetch(uids[i : i + batch_size], ["BODY.PEEK[]"])
        fetch_share = (time.perf_counter() - fetch_start) / max(len(fetched), 1)
        for uid, data in fetched.items():
            one = time.perf_counter()
            raw = data[b"BODY[]"]
            message = email.message_from_bytes(raw, policy=email.policy.default)
            store.save(
                uid, str(message.get("Message-ID", "")), raw, "\n".join(naive_texts(message))
            )
            if not is_pathological(raw):
                ordinary += 1
                ordinary_seconds += time.perf_counter() - one + fetch_share
    client.logout()
    seconds = time.perf_counter() - started
    return {
        "messages": len(uids),
        "seconds": seconds,
        "ordinary": ordinary,
        "ordinary_seconds": ordinary_seconds,
        "stored": store.count(),
    }


def naive_texts(message: Any) -> list[str]:
    """The text of every Word and PDF attachment (python-docx, pdfplumber); failures skipped."""
    import io

    texts = []
    for part in message.walk():
        name = (part.get_filename() or "").lower()
        if not name.endswith((".docx", ".pdf")):
            continue
        try:
            data = part.get_payload(decode=True) or b""
            if name.endswith(".docx"):
                import docx

                document = docx.Document(io.BytesIO(data))
                texts += [p.text for p in document.paragraphs]
                texts += [c.text for t in document.tables for r in t.rows for c in r.cells]
            else:
                import pdfplumber

                with pdfplumber.open(io.BytesIO(data)) as pdf:
                    texts += [page.extract_text() or "" for page in pdf.pages]
        except Exception as exc:  # a naive script skips what it cannot read
            texts.append(f"unreadable: {type(exc).__name__}")
    return texts


class NaiveStore:
    """One table in the same kind of database as the service's (SQLite in WAL mode as
    configured in config/settings.py, or PostgreSQL); one commit a message."""

    def __init__(self, url: str) -> None:
        if url.startswith("sqlite:///"):
            import sqlite3

            self.conn: Any = sqlite3.connect(url.removeprefix("sqlite:///"))
            self.conn.executescript("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;")
            self.mark = "?"
            blob = "BLOB"
        else:
            import psycopg

            self.conn = psycopg.connect(url)
            self.mark = "%s"
            blob = "BYTEA"
        self.conn.execute(
            "CREATE TABLE naive_message (uid INTEGER PRIMARY KEY, message_id TEXT,"
            f" raw {blob}, text TEXT)"
        )
        self.conn.commit()

    def save(self, uid: int, message_id: str, raw: bytes, text: str) -> None:
        marks = ", ".join([self.mark] * 4)
        self.conn.execute(
            f"INSERT INTO naive_message (uid, message_id, raw, text) VALUES ({marks})",
            (uid, message_id, raw, text.replace("\x00", "")),
        )
        self.conn.commit()

    def count(self) -> int:
        return int(self.conn.execute("SELECT COUNT(*) FROM naive_message").fetchone()[0])


def service_loop(port: int, username: str, args: argparse.Namespace) -> dict[str, Any]:
    """The service's first sync of the account (and, with --full, everything after it)."""
    import tracemalloc

    setup_django(args.database)
    from intake import pipeline
    from intake.models import InboundMessage, OutboundEmail

    config = bench_config(port, username, args.batch_size, Path(args.outbox))
    if not args.full:
        pipeline.advance_unfinished = lambda run: None  # store only: the sync is what is measured
    if args.tracemalloc:
        tracemalloc.start()
    started = time.perf_counter()
    result = pipeline.poll_mailbox(config.mailboxes[0], config)
    seconds = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] if args.tracemalloc else 0
    decisions: dict[str, int] = {}
    for decision in InboundMessage.objects.values_list("decision", flat=True):
        decisions[decision or "(none)"] = decisions.get(decision or "(none)", 0) + 1
    replies = OutboundEmail.objects
    return {
        "messages": result.fetched, "seconds": seconds, "stored": result.stored,
        "filed": result.filed, "errors": result.errors, "parked": result.parked,
        "decisions": decisions, "traced_peak": peak,
        "replies_sent": replies.filter(state=OutboundEmail.State.SENT).count(),
        "replies_waiting": replies.filter(state=OutboundEmail.State.PENDING).count(),
    }  # fmt: skip


def setup_django(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only")
    import django
    from django.core.management import call_command

    django.setup()
    from intake.logging import configure_logging

    configure_logging(stream=open(os.devnull, "w"), force=True)  # noqa: SIM115 - measure work, not logging
    call_command("migrate", verbosity=0)


def bench_config(port: int, username: str, batch_size: int, outbox: Path) -> Any:
    """The repository's configuration (forms, rules, service), reading the bench's account."""
    import tomllib

    from intake.config import parse_config

    data = tomllib.loads((ROOT / "config" / "intake.toml").read_text())
    data["mailboxes"] = [{
        "name": "bench", "kind": "imap", "host": "127.0.0.1", "port": port, "security": "none",
        "username": username, "password_env": "INTAKE_BENCH_PASSWORD",
    }]  # fmt: skip
    data["schedule"] = {**data.get("schedule", {}), "batch_size": batch_size}
    data["replies"] = {**data.get("replies", {}), "transport": "outbox", "outbox_dir": str(outbox)}
    data.pop("store", None)
    return parse_config(data)


if __name__ == "__main__":
    raise SystemExit(main())
