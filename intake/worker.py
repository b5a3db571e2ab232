"""``intake worker``: poll every mailbox every ``schedule.poll_seconds``, until told to stop.

APScheduler 3's BlockingScheduler runs one job, at most one instance at a
time, with missed runs coalesced into one.  SIGTERM or SIGINT sets the stop
event the pipeline checks between messages, shuts the scheduler down, and
waits for the poll in hand to finish its current message: then the process
exits 0.  Across processes, the mailbox lease keeps two workers from
polling one mailbox at once.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import traceback
from datetime import UTC, datetime
from types import FrameType

import structlog
from apscheduler.schedulers import SchedulerNotRunningError
from apscheduler.schedulers.blocking import BlockingScheduler
from django.db import close_old_connections, connection

from intake.config import IntakeConfig
from intake.pipeline import poll_all

log = structlog.get_logger(__name__)


class Worker:
    """The scheduler and the stop switch; `run` blocks until a signal stops it."""

    def __init__(self, config: IntakeConfig) -> None:
        self.config = config
        self.stop = threading.Event()
        self.busy = threading.Lock()  # held while a poll runs
        self.scheduler = BlockingScheduler(timezone=UTC)

    def poll_once(self) -> None:
        """One scheduled run: poll every mailbox; a crash is logged, never fatal."""
        with self.busy:
            if self.stop.is_set():
                return
            close_old_connections()
            try:
                poll_all(self.config, stop=self.stop)
            except Exception as exc:
                log.error(
                    "poll_crashed",
                    error=type(exc).__name__,
                    traceback="".join(traceback.format_tb(exc.__traceback__)),
                )
            finally:
                connection.close()

    def request_stop(self, signum: int, _frame: FrameType | None = None) -> None:
        """Signal handler: stop after the message in hand.  A second signal (Ctrl-C
        reaches the whole process group, then ``make run`` sends SIGTERM) is a no-op."""
        if self.stop.is_set():
            return
        log.info("worker_stopping", signal=signal.Signals(signum).name)
        self.stop.set()
        with contextlib.suppress(SchedulerNotRunningError):  # a signal before start()
            self.scheduler.shutdown(wait=False)

    def run(self) -> int:
        self.scheduler.add_job(
            self.poll_once,
            "interval",
            seconds=self.config.schedule.poll_seconds,
            id="poll",
            max_instances=1,
            coalesce=True,
            next_run_time=datetime.now(UTC),
        )
        signal.signal(signal.SIGTERM, self.request_stop)
        signal.signal(signal.SIGINT, self.request_stop)
        log.info("worker_started", poll_seconds=self.config.schedule.poll_seconds)
        self.scheduler.start()  # returns once request_stop shut it down
        with self.busy:  # the poll in hand finishes its message first
            pass
        log.info("worker_stopped")
        return 0


def run_worker(config: IntakeConfig) -> int:
    return Worker(config).run()
