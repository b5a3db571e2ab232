"""How long `intake rules test` takes to dry-run the last 100 messages of a
mailbox from a private Dovecot, with the example rules proposed (issue 12
asked for under 10 s).  Prints the wall time of each run and the median.

    python bench/rules_dry_run.py [--runs 3] [--messages 100]

Needs ../shared/forms/examples (the mail it replays) and Dovecot.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--messages", type=int, default=100)
    args = parser.parse_args()

    from tests.intake.test_rules_dry_run import EXAMPLES, PROPOSED, config_file, mixed_messages
    from tests.servers.dovecot import start_dovecot

    if not EXAMPLES.is_dir():
        print(f"cannot run: no examples at {EXAMPLES}", file=sys.stderr)
        return 1
    server = start_dovecot()
    if isinstance(server, str):
        print(f"cannot run: {server}", file=sys.stderr)
        return 1
    folder = Path(tempfile.mkdtemp(prefix="intake-dry-run-"))
    try:
        account = server.new_account()
        account.append_many(mixed_messages(args.messages))
        for folder_name in ("CDOP reports", "Adults Board"):  # the example rules file into these
            account.append_many([], folder=folder_name)
        env = {
            **os.environ,
            "INTAKE_CONFIG": str(config_file(folder, account)),
            "DATABASE_URL": f"sqlite:///{folder / 'intake.sqlite3'}",
            "INTAKE_TEST_IMAP_PASSWORD": account.password,
        }
        command = [sys.executable, "-m", "intake.cli", "rules", "test", "--mailbox", "referrals"]
        command += ["--last", str(args.messages), "--rules", str(PROPOSED)]
        times = []
        for n in range(1, args.runs + 1):
            started = time.monotonic()
            done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True)
            times.append(time.monotonic() - started)
            if done.returncode != 0:
                print(done.stderr, file=sys.stderr)
                return 1
            print(f"run {n}: {args.messages} messages dry-run in {times[-1]:.2f} s")
        print(f"median: {statistics.median(times):.2f} s ({args.messages} messages)")
        return 0
    finally:
        server.stop()
        shutil.rmtree(server.root, ignore_errors=True)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
