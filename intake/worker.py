"""``intake worker``: every mailbox read within seconds of mail landing, until told to stop.

Each configured mailbox gets threads of its own, so one mailbox's trouble (a
server that hangs, a refused sign-in) never holds up another's mail:

- a `MailboxLoop` polls it (`intake.pipeline.poll_mailbox`: fetch, store,
  decide, reply, file; then the outbox) at once when woken, and otherwise
  every ``poll_seconds`` (the mailbox's own, or ``schedule.poll_seconds``):
  the backstop, and the only schedule for a Maildir or a server without IDLE;
- for an IMAP mailbox with ``idle = true``, a `FolderWatcher`
  (`intake.mailbox.idle`) holds a connection in IDLE on the watched folder
  and wakes the loop the moment the server reports new mail.  Mail landing
  during a poll wakes it again straight after.

One more thread tends the alarms (`intake.alarms.tend`): sign-in alarms
raised by polls and watchers, client secrets about to expire, alert emails.

SIGTERM or SIGINT sets the stop switch: watchers hang up, each loop finishes
the message in hand (the pipeline checks the switch between messages), and
the process exits 0.  Across processes, the mailbox lease keeps two workers
from polling one mailbox at once.
"""

from __future__ import annotations

import signal
import threading
import traceback
from collections.abc import Callable
from types import FrameType

import structlog
from django.db import close_old_connections, connection

from intake import alarms, notifications, pipeline
from intake.config import IntakeConfig, MailboxConfig
from intake.errors import MailboxError
from intake.mailbox.imap import STOPPING
from intake.pipeline import PollResult
from intake.reload import ConfigWatch

log = structlog.get_logger(__name__)
TEND_SECONDS = 30.0


def _in_database(work: Callable[[], object], event: str) -> None:
    """Run ``work`` with a fresh database connection; a crash is logged, never fatal.

    The type and the traceback's frames only: an exception's text may quote mail.
    """
    close_old_connections()
    try:
        work()
    except Exception as exc:
        log.error(
            event,
            error=type(exc).__name__,
            traceback="".join(traceback.format_tb(exc.__traceback__)),
        )
    finally:
        connection.close()


class MailboxLoop:
    """Polls one mailbox when woken, and at least every ``poll_seconds``."""

    def __init__(self, worker: Worker, mailbox: MailboxConfig) -> None:
        self.worker = worker
        self.mailbox = mailbox
        self.wake = threading.Event()
        self.polls = 0

    def run(self) -> None:
        stop = self.worker.stop
        while not stop.is_set():
            self.wake.clear()
            self.poll()
            self.wake.wait(self.mailbox.poll_seconds)
        log.info("mailbox_loop_stopped", mailbox=self.mailbox.name)

    def poll(self) -> None:
        _in_database(self._poll, "poll_crashed")

    def _poll(self) -> None:
        config = self.worker.config
        steps = self.worker.steps
        result = pipeline.poll_mailbox(self.mailbox, config, stop=self.worker.stop, steps=steps)
        self.polls += 1
        if not result.skipped:
            self.worker.note(self.mailbox.name, result)
        # The outbox owns its retries: a reply waiting for its backoff goes out on
        # the next cycle whether or not new mail came in.
        steps.send_due(config)
        steps.read_again(config)

    def watch(self) -> None:
        """Thread body for an IMAP mailbox with IDLE: wake the loop on new mail."""
        from intake.mailbox.idle import FolderWatcher, Outcome

        watcher = FolderWatcher(
            self.mailbox,
            on_new_mail=self.wake.set,
            stop=self.worker.stop,
            on_connected=self.wake.set,  # mail may have come while it was away
            on_error=self._watcher_failed,
        )
        if watcher.run() is Outcome.UNSUPPORTED:
            log.info("mailbox_polled_only", mailbox=self.mailbox.name)

    def _watcher_failed(self, exc: MailboxError) -> None:
        result = PollResult(mailbox=self.mailbox.name, error=exc.reason, error_detail=exc.detail)
        _in_database(lambda: self.worker.note(self.mailbox.name, result), "alarm_crashed")


class Worker:
    """The threads and the stop switch; `run` blocks until a signal stops it."""

    def __init__(
        self,
        config: IntakeConfig,
        config_path: str | None = None,
        steps: pipeline.Steps = pipeline.SERVICE,
    ) -> None:
        self.config = config
        self.steps = steps  # the work each poll hands on (injected: issue 10)
        self.stop = threading.Event()
        self.tending = threading.Event()  # set to tend the alarms now
        self.loops = [MailboxLoop(self, m) for m in config.mailboxes]
        # Issue 11: the configuration file and its rules file, reloaded when they change.
        self.reloading = threading.Event()  # set (SIGHUP) to look at the files now
        self.watch = ConfigWatch(config_path, config) if config_path else None

    def request_reload(self, signum: int, _frame: FrameType | None = None) -> None:
        """SIGHUP: read the configuration again now (it is also noticed within a second)."""
        log.info("worker_reload_requested", signal=signal.Signals(signum).name)
        self.reloading.set()

    def watch_config(self) -> None:
        """Thread body: a changed, valid configuration is taken by each loop at its next poll;
        an invalid one is refused and recorded (`intake.reload`)."""
        assert self.watch is not None
        watch = self.watch
        while not self.stop.is_set():
            asked = self.reloading.wait(1.0)
            self.reloading.clear()
            if not self.stop.is_set() and (asked or watch.changed()):
                _in_database(lambda: self._switch(watch.reload()), "reload_crashed")

    def _switch(self, new: IntakeConfig | None) -> None:
        if new is None:
            return
        self.config = new  # each loop reads it at the start of its next poll
        names = {m.name: m for m in new.mailboxes}
        for loop in self.loops:
            loop.mailbox = names.get(loop.mailbox.name, loop.mailbox)
        if set(names) != {loop.mailbox.name for loop in self.loops}:
            log.warning("worker_restart_needed", reason="mailboxes_changed")
        self.tending.set()

    def note(self, mailbox: str, result: PollResult) -> None:
        """Raise or clear the mailbox's sign-in alarm; a change is tended at once."""
        if alarms.note_poll(mailbox, result.error, result.error_detail):
            self.tending.set()

    def tend(self) -> None:
        """Thread body: alarms, expiring secrets and alert emails, every half minute."""
        while not self.stop.is_set():
            self.tending.clear()
            _in_database(lambda: alarms.tend(self.config), "tend_crashed")
            _in_database(lambda: notifications.tend(self.config), "digest_crashed")
            self.tending.wait(TEND_SECONDS)

    def request_stop(self, signum: int, _frame: FrameType | None = None) -> None:
        """Signal handler: stop after the message in hand.  A second signal (Ctrl-C
        reaches the whole process group, then ``make run`` sends SIGTERM) is a no-op."""
        if self.stop.is_set():
            return
        log.info("worker_stopping", signal=signal.Signals(signum).name)
        self.stop.set()
        STOPPING.set()  # a mailbox waiting to reconnect gives up at once
        self.tending.set()
        self.reloading.set()
        for loop in self.loops:
            loop.wake.set()

    def threads(self) -> list[threading.Thread]:
        made = []
        for loop in self.loops:
            name = loop.mailbox.name
            made.append(threading.Thread(target=loop.run, name=f"poll-{name}", daemon=True))
            if loop.mailbox.kind == "imap" and loop.mailbox.idle:
                made.append(threading.Thread(target=loop.watch, name=f"idle-{name}", daemon=True))
        made.append(threading.Thread(target=self.tend, name="alarms", daemon=True))
        if self.watch is not None:
            made.append(threading.Thread(target=self.watch_config, name="config", daemon=True))
        return made

    def run(self) -> int:
        STOPPING.clear()
        signal.signal(signal.SIGTERM, self.request_stop)
        signal.signal(signal.SIGINT, self.request_stop)
        if self.watch is not None:
            signal.signal(signal.SIGHUP, self.request_reload)
            _in_database(self.watch.start, "rules_record_crashed")  # the rules it starts with
        log.info(
            "worker_started",
            mailboxes=len(self.loops),
            idle=sum(1 for m in self.config.mailboxes if m.kind == "imap" and m.idle),
        )
        threads = self.threads()
        for thread in threads:
            thread.start()
        while not self.stop.wait(1.0):
            pass
        for thread in threads:  # each loop finishes the message in hand first
            thread.join()
        STOPPING.clear()  # for a later worker in the same process (the tests)
        log.info("worker_stopped")
        return 0


def run_worker(config: IntakeConfig, config_path: str | None = None) -> int:
    """Run until stopped; with ``config_path``, reload it (and its rules) when it changes."""
    return Worker(config, config_path).run()
