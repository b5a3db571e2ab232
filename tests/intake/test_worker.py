"""intake worker: polls on schedule, and stops cleanly on SIGTERM after the message in hand."""

from __future__ import annotations

import dataclasses
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time

import pytest

from intake.config import PROJECT_ROOT
from intake.models import InboundMessage
from intake.worker import Worker
from tests.builders.mime_builder import build_email
from tests.intake.conftest import maildir_config

# Its own table after [replies], so it leaves the replies settings alone; one second so the
# test sees a poll without waiting for the default schedule.
POLL_EVERY_SECOND = "[schedule]\npoll_seconds = 1"


def _wait_for(predicate, seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


@pytest.mark.slow
def test_it_polls_on_schedule_and_exits_cleanly_on_sigterm(tmp_path):
    database = tmp_path / "intake.sqlite3"
    env = {
        **os.environ,
        "INTAKE_CONFIG": str(maildir_config(tmp_path, POLL_EVERY_SECOND)),
        "DATABASE_URL": f"sqlite:///{database}",
    }
    intake = [sys.executable, "-m", "intake.cli"]
    subprocess.run(
        [*intake, "migrate"],
        env=env,
        cwd=PROJECT_ROOT,
        check=True,
        capture_output=True,
        timeout=120,
    )
    subprocess.run(
        [*intake, "seed"], env=env, cwd=PROJECT_ROOT, check=True, capture_output=True, timeout=120
    )
    worker = subprocess.Popen(
        [*intake, "worker"],
        env=env,
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:

        def polled_ok() -> bool:
            with sqlite3.connect(database) as db:
                row = db.execute("select last_poll_ok_at from intake_mailboxstate").fetchone()
            return bool(row and row[0])

        assert _wait_for(polled_ok), "the worker never finished a poll"
        worker.send_signal(signal.SIGTERM)
        output, _ = worker.communicate(timeout=60)
    finally:
        if worker.poll() is None:
            worker.kill()
    assert worker.returncode == 0
    assert '"worker_stopped"' in output
    assert "Traceback" not in output
    with sqlite3.connect(database) as db:
        assert db.execute("select count(*) from intake_inboundmessage").fetchone()[0] == 3


@pytest.mark.django_db(transaction=True)
def test_it_finishes_the_poll_in_hand_before_returning(make_config, fake_steps, monkeypatch):
    from intake.mailbox import open_mailbox

    config = make_config()
    with open_mailbox(config.mailboxes[0]) as box:
        for n in range(3):
            box.append("INBOX", build_email(n), flags=())
    original = fake_steps.assess

    def assess_slowly(raw, cfg, arrived=None):
        worker.request_stop(signal.SIGTERM)  # the signal lands mid-poll
        return original(raw, cfg)

    worker = Worker(config, steps=dataclasses.replace(fake_steps.steps, assess=assess_slowly))
    thread = threading.Thread(target=worker.run)
    monkeypatch.setattr(signal, "signal", lambda *args: None)  # not the main thread
    thread.start()
    thread.join(timeout=30)
    assert not thread.is_alive()
    assert sorted(InboundMessage.objects.values_list("state", flat=True)) == [
        "filed",
        "received",
        "received",
    ]


def test_the_workers_main_process_loads_no_reader_or_image_library():
    """Issue 10 (memory): the worker's main process stores, decides and replies; the
    readers run in the sandbox.  Starting Django and the worker's modules must not
    load what only the readers or one sign-in page use: numpy and scipy (matching),
    Pillow and lxml (brought by qrcode, for the first sign-in's QR code), about 70 MB
    between them in every worker."""
    heavy = ["numpy", "scipy", "PIL", "lxml", "qrcode", "pdfplumber", "pypdfium2", "docx"]
    script = (
        "import sys, django; django.setup()\n"
        "import intake.worker, intake.pipeline, intake.assess, intake.decisions\n"
        "import intake.outbox, intake.reply_queue, intake.store, intake.notifications\n"
        f"print([m for m in {heavy!r} if m in sys.modules])\n"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"}
    done = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        cwd=PROJECT_ROOT,
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.stdout.strip().splitlines()[-1] == "[]"
