"""Read untrusted documents in worker processes that can be killed.

A hostile or broken file may make a reader spin or eat memory however
careful the reader is.  Each document is therefore read in a separate
worker process: past ``limits.max_seconds`` of wall time the worker is
killed (reason ``timeout``); its address space is capped at
``limits.max_memory_mb`` with ``RLIMIT_AS`` (reason ``memory`` when the
reader hits it, or when the worker dies); any other crash is ``corrupt``
with the exception's type name as the detail (never the file's content).

Workers are started once, through the ``forkserver`` context (never a plain
``fork`` of a threaded parent such as Django), with the readers imported, and
reused; a killed worker is replaced.  So the cost per document stays close
to the reader's own cost plus pickling the bytes through a pipe.

Example::

    results = read_documents(parsed.attachments, Limits())   # module-level pool
    results = read_documents_inline(parts, Limits())          # same, no subprocess

`read_documents_inline` is for tests and fuzzing: no time or memory limit.
"""

from __future__ import annotations

import atexit
import gc
import hashlib
import importlib
import multiprocessing
import os
import pickle
import queue
import resource
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection
from typing import Any

import structlog

from parsers.document import Document
from parsers.errors import ParseError, Reason
from parsers.limits import Limits
from parsers.mail.read import MailResult, failed_mail
from parsers.mail.unpack import AttachmentPart, crash_site

log = structlog.get_logger(__name__)

DEFAULT_READER = "parsers.documents:read_document"
# A worker says it is ready before its first task, so that its start-up
# (slow on a busy machine) never counts against a document's time limit.
_READY = "ready"
STARTUP_SECONDS = 120.0
DOCUMENTS_PER_WORKER = 500
Reader = Callable[[AttachmentPart, Limits], Document]
# Modules a worker imports before its first document, so none pays for them.
_WARM_MODULES = (
    "parsers.documents",
    "parsers.docx",
    "parsers.pdf",
    "parsers.mail",
    "mailparser",
    "parsers.forms",  # the form matcher runs here too (intake.assess._match_form)
    "numpy",  # ... with these, which parsers.forms imports only when it matches
    "parsers.forms.assignment",  # scipy's solver alone, not all of scipy.optimize
)


@dataclass(frozen=True)
class DocumentResult:
    """What reading one attachment gave: a `Document`, or a reason why not.

    ``index`` is the part's position in the sequence given; ``seconds`` the
    wall time spent on it.  Exactly one of ``document`` and ``reason`` is set.
    """

    index: int
    filename: str
    document: Document | None
    reason: Reason | None
    detail: str
    seconds: float


@dataclass(frozen=True)
class JobResult:
    """What a job (`SandboxPool.run_job`) gave: its value, or a reason why not.

    ``reason`` is ``timeout`` (killed at its time limit), ``memory`` (over its
    address-space limit, or the worker died) or ``corrupt`` (the job raised;
    ``detail`` names the exception type, never its message).
    ``peak_memory_kb`` is the worker's peak resident memory so far.
    """

    value: Any
    reason: Reason | None
    detail: str
    seconds: float
    peak_memory_kb: int = 0


_JOB = "job"


def run_job_here(path: str, args: tuple[Any, ...]) -> JobResult:
    """Run the job ``path`` (``"module:function"``) in this process."""
    start = time.perf_counter()
    try:
        value = _load_function(path)(*args)
    except MemoryError:
        return JobResult(None, Reason.MEMORY, "MemoryError", time.perf_counter() - start)
    except RecursionError:
        return JobResult(None, Reason.TOO_DEEP, "RecursionError", time.perf_counter() - start)
    except Exception as exc:  # a job's bug on strange input: reported, never fatal
        log.warning("job_crashed", job=path, error=type(exc).__name__, at=crash_site(exc))
        return JobResult(None, Reason.CORRUPT, type(exc).__name__, time.perf_counter() - start)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return JobResult(value, None, "", time.perf_counter() - start, peak)


def read_one(index: int, part: AttachmentPart, limits: Limits, reader: Reader) -> DocumentResult:
    """Run ``reader`` on one part in this process, turning failures into reasons."""
    start = time.perf_counter()
    try:
        document = reader(part, limits)
    except ParseError as exc:
        return _failed(index, part, exc.reason, exc.detail, start)
    except MemoryError:
        return _failed(index, part, Reason.MEMORY, "MemoryError", start)
    except RecursionError:
        return _failed(index, part, Reason.CORRUPT, "RecursionError", start)
    except Exception as exc:  # a reader bug on strange input: the file is what it is
        log.warning(
            "reader_crashed", error=type(exc).__name__, at=crash_site(exc), sha256=part.sha256[:16]
        )
        return _failed(index, part, Reason.CORRUPT, type(exc).__name__, start)
    seconds = time.perf_counter() - start
    return DocumentResult(index, part.filename, document, None, "", seconds)


def _failed(
    index: int, part: AttachmentPart, reason: Reason, detail: str, start: float
) -> DocumentResult:
    return DocumentResult(index, part.filename, None, reason, detail, time.perf_counter() - start)


def read_documents_inline(
    parts: Sequence[AttachmentPart], limits: Limits, reader: Reader | None = None
) -> list[DocumentResult]:
    """`read_documents` in this process, one after another (tests, fuzzing)."""
    use = reader or _load_reader(DEFAULT_READER)
    return [read_one(i, part, limits, use) for i, part in enumerate(parts)]


def _load_reader(path: str) -> Reader:
    reader: Reader = _load_function(path)
    return reader


def _load_function(path: str) -> Any:
    """The object a ``"package.module:name"`` path names."""
    module_name, _, attr = path.partition(":")
    return getattr(importlib.import_module(module_name), attr)


# --- the worker process ----------------------------------------------------------


def _worker_main(conn: Connection, reader_path: str, initializer: str | None) -> None:
    """Loop in the child: receive (index, part, limits), send a DocumentResult."""
    # What the fork server preloaded is shared with it until written to: keep the
    # collector from walking (and so copying) those objects (the gc module's
    # advice for fork without exec).
    gc.freeze()
    # Ctrl-C reaches the whole process group; the parent stops its workers itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if initializer:
        _load_function(initializer)()
    else:
        # Never stdout: a command such as ``intake check --json`` owns it.
        structlog.configure(logger_factory=structlog.PrintLoggerFactory(sys.stderr))
    _warm_up()
    reader = _load_reader(reader_path)
    conn.send(_READY)
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return
        if task is None:
            return
        if task[0] == _JOB:
            _run_job_task(conn, task)
            continue
        index, part, limits = task
        _cap_memory(limits.max_memory_mb)
        result = read_one(index, part, limits, reader)
        try:
            conn.send(result)
        except (TypeError, AttributeError, ValueError) as exc:  # an unpicklable Document
            detail = f"result not transferable: {type(exc).__name__}"
            conn.send(DocumentResult(index, part.filename, None, Reason.CORRUPT, detail, 0.0))


def _run_job_task(conn: Connection, task: tuple[Any, ...]) -> None:
    _tag, path, args, memory_mb = task
    _cap_memory(memory_mb)
    result = run_job_here(path, args)
    try:
        conn.send(result)
    except (TypeError, AttributeError, ValueError, pickle.PicklingError) as exc:
        detail = f"result not transferable: {type(exc).__name__}"
        conn.send(JobResult(None, Reason.CORRUPT, detail, result.seconds))
    except MemoryError:
        conn.send(JobResult(None, Reason.MEMORY, "MemoryError", result.seconds))


def _warm_up() -> None:
    for name in _WARM_MODULES:
        try:
            importlib.import_module(name)
        except ImportError:
            continue


def _cap_memory(megabytes: int) -> None:
    """Lower the soft ``RLIMIT_AS``; the hard limit stays, so each task may set its own."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    wanted = megabytes * 1024 * 1024
    if hard != resource.RLIM_INFINITY:
        wanted = min(wanted, hard)
    resource.setrlimit(resource.RLIMIT_AS, (wanted, hard))


class _Worker:
    """One warm child process and the parent's end of its pipe."""

    def __init__(self, ctx: Any, reader_path: str, initializer: str | None) -> None:
        self.conn, child_end = ctx.Pipe()
        self.process = ctx.Process(
            target=_worker_main,
            args=(child_end, reader_path, initializer),
            daemon=True,
            name="doc-reader",
        )
        self.process.start()
        child_end.close()
        self.ready = False
        self.documents = 0

    def wait_ready(self) -> None:
        """Block until the worker has imported the readers (raises if it never does).

        A worker that cannot start is our problem, not the document's.
        """
        if self.ready:
            return
        try:
            if self.conn.poll(STARTUP_SECONDS) and self.conn.recv() == _READY:
                self.ready = True
                return
        except (EOFError, OSError):
            pass
        raise RuntimeError(f"document reader worker did not start (exit {self.process.exitcode})")

    def run(
        self, index: int, part: AttachmentPart, limits: Limits, seconds: float | None = None
    ) -> tuple[DocumentResult, bool]:
        """Read one part within ``seconds`` (default ``limits.max_seconds``); also say
        whether this worker may be reused."""
        self.wait_ready()
        allowed = limits.max_seconds if seconds is None else seconds
        start = time.perf_counter()
        try:
            self.conn.send((index, part, limits))
            if not self.conn.poll(allowed):
                detail = f"over {allowed:g} s"
                return _failed(index, part, Reason.TIMEOUT, detail, start), False
            result: DocumentResult = self.conn.recv()
        except (EOFError, OSError):
            self.process.join(timeout=1)
            detail = f"reader process died (exit {self.process.exitcode})"
            return _failed(index, part, Reason.MEMORY, detail, start), False
        # After a MemoryError the child's heap may be in any state: start afresh.
        return result, result.reason is not Reason.MEMORY

    def run_job(
        self, path: str, args: tuple[Any, ...], seconds: float, memory_mb: int
    ) -> tuple[JobResult, bool]:
        """Run one job; also say whether this worker may be reused."""
        self.wait_ready()
        start = time.perf_counter()
        try:
            self.conn.send((_JOB, path, args, memory_mb))
            if not self.conn.poll(seconds):
                elapsed = time.perf_counter() - start
                return JobResult(None, Reason.TIMEOUT, f"over {seconds:g} s", elapsed), False
            result: JobResult = self.conn.recv()
        except (EOFError, OSError):
            self.process.join(timeout=1)
            detail = f"worker process died (exit {self.process.exitcode})"
            return JobResult(None, Reason.MEMORY, detail, time.perf_counter() - start), False
        return result, result.reason is not Reason.MEMORY

    def alive(self) -> bool:
        return bool(self.process.is_alive())

    def stop(self, kill: bool) -> None:
        if kill:
            self.process.kill()
        else:
            try:
                self.conn.send(None)
            except OSError:
                self.process.kill()
        self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(timeout=5)
        self.conn.close()


class SandboxPool:
    """A few warm worker processes shared by every caller (thread-safe).

    ``reader`` is a ``"module:function"`` path the workers import (tests
    point it at a reader that spins or hogs memory).  ``initializer``, also
    a path, is called with no arguments when a worker starts: the service
    passes the function that configures structlog, so workers log the same
    way as the parent (a forkserver child does not run Django's settings).
    Without one, workers log with structlog's defaults to stderr.
    """

    def __init__(
        self,
        size: int = 2,
        reader: str = DEFAULT_READER,
        context: str = "forkserver",
        initializer: str | None = None,
    ) -> None:
        self.size = max(1, size)
        self._reader = reader
        self._initializer = initializer
        self._ctx = multiprocessing.get_context(context)
        if context == "forkserver":
            self._ctx.set_forkserver_preload(list(_WARM_MODULES))
        self._idle: queue.SimpleQueue[_Worker] = queue.SimpleQueue()
        self._all: set[_Worker] = set()
        self._lock = threading.Lock()
        self._closed = False
        for _ in range(self.size):
            self._idle.put(self._start_worker())

    def _start_worker(self) -> _Worker:
        worker = _Worker(self._ctx, self._reader, self._initializer)
        with self._lock:
            self._all.add(worker)
        return worker

    def _retire(self, worker: _Worker, kill: bool) -> None:
        with self._lock:
            self._all.discard(worker)
        worker.stop(kill)

    def read(
        self, index: int, part: AttachmentPart, limits: Limits, deadline: float | None = None
    ) -> DocumentResult:
        """Read one part in a worker; a killed worker is replaced at once.

        ``deadline`` (``time.monotonic()``) is the end of the message's budget:
        the part gets what is left of it, at most ``limits.max_seconds``, and
        none at all once it has passed (reason ``timeout``, nothing run).
        """
        if self._closed:
            raise RuntimeError("sandbox pool is closed")
        seconds = _time_left(limits.max_seconds, deadline)
        if seconds <= 0:
            return _failed(index, part, Reason.TIMEOUT, "message budget spent", time.perf_counter())
        worker = self._idle.get()
        reusable = False
        try:
            if not worker.alive():
                self._retire(worker, kill=True)
                worker = self._start_worker()
            result, reusable = worker.run(index, part, limits, seconds)
            worker.documents += 1
            # Readers' caches only grow: start afresh now and then.
            reusable = reusable and worker.documents < DOCUMENTS_PER_WORKER
        finally:
            if not reusable:
                log.info("reader_worker_replaced", pid=worker.process.pid)
                self._retire(worker, kill=True)
                worker = self._start_worker()
            self._idle.put(worker)
        return result

    def run_job(
        self, path: str, args: tuple[Any, ...], seconds: float, memory_mb: int
    ) -> JobResult:
        """Run ``path`` (``"module:function"``) on ``args`` in a worker, within
        ``seconds`` of wall time and ``memory_mb`` of address space.  A job the
        read-ahead has run with equal arguments (`read_ahead`) is not run again."""
        if self._closed:
            raise RuntimeError("sandbox pool is closed")
        early = _AHEAD.job(path, args)
        if early is not None:
            return early
        worker = self._idle.get()
        reusable = False
        try:
            if not worker.alive():
                self._retire(worker, kill=True)
                worker = self._start_worker()
            result, reusable = worker.run_job(path, args, seconds, memory_mb)
            worker.documents += 1
            reusable = reusable and worker.documents < DOCUMENTS_PER_WORKER
        finally:
            if not reusable:
                log.info("reader_worker_replaced", pid=worker.process.pid)
                self._retire(worker, kill=True)
                worker = self._start_worker()
            self._idle.put(worker)
        return result

    def read_documents(
        self, parts: Sequence[AttachmentPart], limits: Limits, deadline: float | None = None
    ) -> list[DocumentResult]:
        """Read every part, as many at once as there are workers; results in order.

        ``deadline`` bounds them all together (see `read`)."""
        if len(parts) <= 1:
            return [self.read(i, p, limits, deadline) for i, p in enumerate(parts)]
        with ThreadPoolExecutor(max_workers=self.size) as pool:
            futures = [pool.submit(self.read, i, p, limits, deadline) for i, p in enumerate(parts)]
            return [f.result() for f in futures]

    def close(self) -> None:
        """Stop every worker (idempotent)."""
        self._closed = True
        with self._lock:
            workers = list(self._all)
        for worker in workers:
            self._retire(worker, kill=False)

    def __enter__(self) -> SandboxPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_pool: SandboxPool | None = None
_pool_lock = threading.Lock()


def get_pool(size: int | None = None, initializer: str | None = None) -> SandboxPool:
    """The process-wide pool, started on first use (``size`` defaults to the CPU count).

    The arguments count only on the first call, which starts the pool.
    """
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = SandboxPool(size or min(os.cpu_count() or 2, 4), initializer=initializer)
            atexit.register(shutdown_pool)
        return _pool


def shutdown_pool() -> None:
    """Stop the process-wide pool's workers (at exit, or in tests)."""
    global _pool
    with _pool_lock:
        if _pool is not None:
            _pool.close()
            _pool = None


def _time_left(most: float, deadline: float | None) -> float:
    if deadline is None:
        return most
    return min(most, deadline - time.monotonic())


def read_documents(
    parts: Sequence[AttachmentPart], limits: Limits, deadline: float | None = None
) -> list[DocumentResult]:
    """Read each part in the process-wide sandbox pool; results in the order given.

    ``deadline`` (``time.monotonic()``) ends the message's budget for all of them.
    A part the read-ahead has read already (`read_ahead`) is not read again.
    """
    early = _AHEAD.documents(parts, limits)
    if not early:
        return get_pool().read_documents(parts, limits, deadline)
    rest = [i for i in range(len(parts)) if i not in early]
    later = get_pool().read_documents([parts[i] for i in rest], limits, deadline)
    for i, result in zip(rest, later, strict=True):
        early[i] = replace(result, index=i)
    return [early[i] for i in range(len(parts))]


MAIL_JOB = "parsers.mail:read_mail"


def parse_mail(raw: bytes, limits: Limits) -> MailResult:
    """`parsers.mail.read_mail` in the sandbox, within the message's budget.

    Never raises for anything in the message: over ``limits.max_message_seconds``
    the result's ``failure`` is ``timeout``, over ``max_message_memory_mb``
    (or when the worker dies) ``memory``, and a crash of the job ``corrupt``.
    A message the read-ahead has parsed already (`read_ahead`) is not parsed again.
    """
    early = _AHEAD.mail(raw, limits)
    if early is not None:
        return early
    return _parse_in_pool(raw, limits)


def _parse_in_pool(raw: bytes, limits: Limits) -> MailResult:
    outcome = get_pool().run_job(
        MAIL_JOB, (raw, limits), limits.max_message_seconds, limits.max_message_memory_mb
    )
    return _mail_from(raw, outcome)


def parse_mail_inline(raw: bytes, limits: Limits) -> MailResult:
    """`parse_mail` in this process, with no time or memory limit (tests, fuzzing)."""
    return _mail_from(raw, run_job_here(MAIL_JOB, (raw, limits)))


def _mail_from(raw: bytes, outcome: JobResult) -> MailResult:
    if outcome.reason is not None or not isinstance(outcome.value, MailResult):
        reason = outcome.reason.value if outcome.reason is not None else Reason.CORRUPT.value
        log.warning("message_parse_failed", reason=reason, seconds=round(outcome.seconds, 3))
        return failed_mail(raw, reason, outcome.seconds)
    return replace(outcome.value, seconds=outcome.seconds, peak_memory_kb=outcome.peak_memory_kb)


# --- reading ahead (issue 10) --------------------------------------------------------

READ_AHEAD_MAX_BYTES = 4 * 1024 * 1024  # a larger message is parsed when its turn comes
_DOCUMENT_SUFFIXES = (".pdf", ".docx", ".doc", ".docm", ".dotx", ".rtf", ".odt", ".pages")
FollowUp = tuple[str, Any]  # a job's path and its argument beside the documents


def read_ahead(raws: Sequence[bytes], limits: Limits, then: FollowUp | None = None) -> None:
    """Parse these messages, read their documents and (``then``) run one more
    job over those documents, in the sandbox, from background threads, while
    the caller decides the message in hand: both cores work (issue 10).

    ``then`` is ``(path, extra)``: the job ``path`` is run with the arguments
    ``(documents, extra)``, ``documents`` being what the parts a caller would
    read (`_may_be_read`) gave, in order; the service passes the form
    matcher and its schemas.

    `parse_mail`, `read_documents` and `SandboxPool.run_job` take what was read
    ahead instead of doing it again: the same message bytes, the same parts
    (by sha256 and path), the same job with equal arguments, the same limits;
    anything else is done then, as before.  The results are those the calls
    would have given, each within the same budget counted from the end of the
    message's parse, as the assessment counts it (read one after another
    rather than side by side, a message whose documents together run past
    their budget may see another of them cut short).  At most
    `_ReadAhead.KEPT` messages are held, none larger than
    `READ_AHEAD_MAX_BYTES`, so memory does not grow with the backlog;
    `forget_read_ahead` drops them all.
    """
    for raw in raws:
        if len(raw) <= READ_AHEAD_MAX_BYTES:
            _AHEAD.submit(raw, limits, then)


def forget_read_ahead() -> None:
    """Drop whatever was read ahead and not taken (the end of a poll)."""
    _AHEAD.clear()


@dataclass
class _Read:
    """What reading one message ahead gave."""

    mail: MailResult
    documents: dict[tuple[str, str], DocumentResult]
    job: tuple[str, tuple[Any, ...]] | None = None  # the follow-up job and its arguments
    job_result: JobResult | None = None


@dataclass
class _Early:
    """One message handed to the read-ahead."""

    digest: str
    limits: Limits
    future: Future[_Read]
    taken: bool = False  # its parse was taken: its documents and job come next


class _ReadAhead:
    """The messages read ahead, oldest first, and the threads reading them
    (one a worker of the pool, so the pool's workers all have work)."""

    KEPT = 6

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._early: list[_Early] = []
        self._threads: ThreadPoolExecutor | None = None

    def submit(self, raw: bytes, limits: Limits, then: FollowUp | None) -> None:
        digest = hashlib.sha256(raw).hexdigest()
        with self._lock:
            if any(e.digest == digest for e in self._early):
                return
            if self._threads is None:
                self._threads = ThreadPoolExecutor(
                    max_workers=get_pool().size, thread_name_prefix="read-ahead"
                )
            while len(self._early) >= self.KEPT:
                self._early.pop(0).future.cancel()
            future = self._threads.submit(_read_message, raw, limits, then)
            self._early.append(_Early(digest, limits, future))

    def mail(self, raw: bytes, limits: Limits) -> MailResult | None:
        """The message's parse, when it was read ahead (waiting for it if need be)."""
        digest = hashlib.sha256(raw).hexdigest()
        with self._lock:
            early = next((e for e in self._early if e.digest == digest), None)
            if early is None or early.limits != limits:
                return None
            # A message taken before this one is past its documents: let it go.
            self._early = [e for e in self._early if not e.taken]
            early.taken = True
        read = self._result(early)
        return read.mail if read is not None else None

    def documents(
        self, parts: Sequence[AttachmentPart], limits: Limits
    ) -> dict[int, DocumentResult]:
        """Results read ahead for ``parts`` of the message whose parse was taken, by index."""
        read = self._taken(limits)
        if read is None or not parts:
            return {}
        found = {i: read.documents.get((p.sha256, p.path)) for i, p in enumerate(parts)}
        return {i: replace(r, index=i) for i, r in found.items() if r is not None}

    def job(self, path: str, args: tuple[Any, ...]) -> JobResult | None:
        """The follow-up job's result, when it was run ahead with equal arguments."""
        with self._lock:
            early = next((e for e in self._early if e.taken), None)
        if early is None or not early.future.done():
            return None  # not run ahead, or still running: run it now rather than wait
        read = self._result(early)
        if read is None or read.job is None or read.job_result is None:
            return None
        if read.job[0] != path or read.job[1] != args:
            return None
        self._drop(early)
        return read.job_result

    def _taken(self, limits: Limits) -> _Read | None:
        with self._lock:
            early = next((e for e in self._early if e.taken), None)
        if early is None or early.limits != limits:
            return None
        return self._result(early)

    def _result(self, early: _Early) -> _Read | None:
        try:
            return early.future.result()
        except Exception as exc:  # the pool went away, say: do it here and now
            log.info("read_ahead_failed", error=type(exc).__name__)
            self._drop(early)
            return None

    def _drop(self, early: _Early) -> None:
        with self._lock:
            if early in self._early:
                self._early.remove(early)

    def clear(self) -> None:
        with self._lock:
            for early in self._early:
                early.future.cancel()
            self._early.clear()


def _read_message(raw: bytes, limits: Limits, then: FollowUp | None) -> _Read:
    """The background work for one message: its parse, its documents one by
    one, then the follow-up job over the documents read."""
    mail = _parse_in_pool(raw, limits)
    deadline = time.monotonic() + max(0.0, limits.max_message_seconds - mail.seconds)
    pool = get_pool()
    read = _Read(mail, {})
    for index, part in enumerate(p for p in mail.attachments if _may_be_read(p)):
        read.documents[(part.sha256, part.path)] = pool.read(index, part, limits, deadline)
    documents = [r.document for r in read.documents.values() if r.document is not None]
    seconds = deadline - time.monotonic()
    if then is not None and documents and seconds > 0:
        path, extra = then
        read.job = (path, (documents, extra))
        read.job_result = pool.run_job(path, read.job[1], seconds, limits.max_message_memory_mb)
    return read


def _may_be_read(part: AttachmentPart) -> bool:
    """The parts an assessment hands to `read_documents` (`intake.assess`):
    leaves without an error that are documents or any ``application/`` type."""
    name = (part.filename or "").lower()
    document = part.media_type.startswith("application/") or name.endswith(_DOCUMENT_SUFFIXES)
    return part.is_leaf and part.error is None and document


_AHEAD = _ReadAhead()
