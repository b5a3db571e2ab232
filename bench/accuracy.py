"""How exactly the service reads filled forms, style by style.

Builds N forms a style (both form types, some incomplete), sends each as an
email from one of several clients, runs `intake.assess.assess_message` on it
(the same code as ``intake check``) and prints, per style: the share of
forms whose type was right, the share of answers read exactly, the share of
forms with every answer exact, and the share of decisions right.

    python bench/accuracy.py --per-style 20
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    from intake.assess import assess_message, schemas_in
    from intake.config import load_config
    from tests.builders.accuracy import cases

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--per-style", type=int, default=10)
    parser.add_argument("--first-seed", type=int, default=1000)
    parser.add_argument("--show", type=int, default=3, help="wrong answers to print per style")
    args = parser.parse_args()
    config = load_config(ROOT / "config" / "intake.toml")
    schemas = schemas_in(str(config.forms_dir))
    stats: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    shown: dict[str, int] = defaultdict(int)
    started = time.perf_counter()
    for case in cases(schemas, args.per_style, args.first_seed):
        got = assess_message(case.raw, config).as_outcome()
        s = stats[case.style]
        s["forms"] += 1
        s["type_ok"] += got["form_type"] == case.form_type
        want = "accepted" if case.complete else "incomplete"
        s["decision_ok"] += got["decision"] == want
        wrong = {
            k: (v, got["fields"].get(k))
            for k, v in case.expected_fields.items()
            if got["fields"].get(k) != v
        }
        extra = {k: (None, v) for k, v in got["fields"].items() if k not in case.expected_fields}
        wrong.update(extra)
        s["answers"] += len(case.expected_fields)
        s["answers_ok"] += len(case.expected_fields) - len(wrong) + len(extra)
        s["answers_extra"] += len(extra)
        s["forms_exact"] += not wrong
        if wrong and shown[case.style] < args.show:
            shown[case.style] += 1
            print(
                f"  {case.style} seed={case.seed} client={case.client} {case.form_type}: {wrong}"[
                    :600
                ]
            )
    elapsed = time.perf_counter() - started
    print(f"\n{'style':36} {'forms':>5} {'type':>7} {'answers':>8} {'exact':>7} {'decision':>8}")
    total: dict[str, int] = defaultdict(int)
    for style, s in stats.items():
        for k, v in s.items():
            total[k] += v
        _row(style, s)
    _row("ALL", total)
    print(f"\n{total['forms']} emails in {elapsed:.1f} s ({total['forms'] / elapsed:.1f} emails/s)")


def _row(style: str, s: dict[str, int]) -> None:
    pct = lambda a, b: f"{100 * a / b:6.1f}%" if b else "     -"  # noqa: E731
    print(
        f"{style:36} {s['forms']:5} {pct(s['type_ok'], s['forms']):>7} "
        f"{pct(s['answers_ok'] - s['answers_extra'], s['answers']):>8} "
        f"{pct(s['forms_exact'], s['forms']):>7} {pct(s['decision_ok'], s['forms']):>8}"
    )


if __name__ == "__main__":
    main()
