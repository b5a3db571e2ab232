"""How exactly the service reads filled forms, and how often it would be wrong.

Two sets, both run through `intake.assess.assess_message` (the code behind
``intake check``):

* the partnership's own forms (default): N forms a style (both form types,
  half with required answers blanked), sent from several mail clients;
* ``--unseen``: the real public forms of other publishers recorded in
  ``tests/data/unseen_forms`` (cited in its README), filled in every style,
  scored leave-one-source-out: a source's own wordings are removed from our
  schema's aliases before its forms are read.

Printed per style (own forms) or per source (unseen), and overall:

* ``decision``: decisions exactly right (accepted / incomplete / needs_review);
* ``false ret``: complete forms sent back, or returns naming a question that
  was answered or is not on the form (the worst error: must be 0);
* ``to person``: forms held for a person (``needs_review``);
* ``P``/``R``/``F1``: field precision, recall and F1 (a value counts when it
  equals what was written, normalised as the README says).

    python bench/accuracy.py --per-style 20
    python bench/accuracy.py --unseen --per-style 3
    python bench/accuracy.py --heldout --per-style 10
    python bench/accuracy.py --blocks --per-style 20

``--blocks``: our own forms, every Word fill style, with one block of another
person's details (a father's, a sibling's, the GP's...) under its own heading
(`tests/builders/blocks.py`): their answers must never be read as ours.

After the table: forms accepted although incomplete, and forms accepted with a
value read wrong (both must be 0).

``--heldout``: the partnership's own forms printed with, for every question and
section, one of its other wordings, read with those wordings removed from the
schema: how the reader copes with wordings it has never been told.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

Stats = dict[str, int]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--per-style", type=int, default=10)
    parser.add_argument("--first-seed", type=int, default=1000)
    parser.add_argument("--unseen", action="store_true", help="other publishers' forms (LOSO)")
    parser.add_argument(
        "--heldout", action="store_true", help="our forms in wordings removed from the reader"
    )
    parser.add_argument(
        "--blocks",
        action="store_true",
        help="our forms with another person's details added (a father's, the GP's...)",
    )
    parser.add_argument("--styles", nargs="*", default=(), help="only these styles")
    parser.add_argument("--sources", nargs="*", default=(), help="only these unseen sources")
    parser.add_argument("--show", type=int, default=3, help="wrong cases to print per group")
    args = parser.parse_args()
    import logging

    logging.disable(logging.CRITICAL)
    started = time.perf_counter()
    chosen = ((args.unseen, run_unseen), (args.heldout, run_heldout), (args.blocks, run_blocks))
    run = next((f for flag, f in chosen if flag), run_own)
    stats = run(args)
    elapsed = time.perf_counter() - started
    report(stats, elapsed)


def _config() -> Any:
    from intake.config import load_config

    return load_config(ROOT / "config" / "intake.toml")


def _our_mx(config: Any) -> str | None:
    """The emails are measured as our mail server delivers them: its verdict on top
    (the sender authenticated), so the figures are about reading forms."""
    return config.rules.authserv_ids[0] if config.rules.authserv_ids else None


def run_own(args: argparse.Namespace) -> dict[str, Stats]:
    from intake.assess import assess_message, schemas_in
    from tests.builders.accuracy import cases, styles

    config = _config()
    schemas = schemas_in(str(config.forms_dir))
    stats: dict[str, Stats] = defaultdict(lambda: defaultdict(int))
    shown: dict[str, int] = defaultdict(int)
    chosen = args.styles or styles()
    for case in cases(schemas, args.per_style, args.first_seed, chosen, _our_mx(config)):
        got = assess_message(case.raw, config).as_outcome()
        want = "accepted" if case.complete else "incomplete"
        asked = {f.key for f in schemas[case.form_type].fields}
        problems = score(stats[case.style], got, case.form_type, want, case.expected_fields, asked)
        _show(shown, case.style, args.show, problems, f"{case.style} seed={case.seed}")
    return stats


def run_unseen(args: argparse.Namespace) -> dict[str, Stats]:
    from intake.assess import assess_message, schemas_in
    from tests.builders.unseen import schema_without_source, sources, unseen_cases

    config = _config()
    full = schemas_in(str(config.forms_dir))
    stats: dict[str, Stats] = defaultdict(lambda: defaultdict(int))
    shown: dict[str, int] = defaultdict(int)
    by_id = {s.id: s for s in sources()}
    for source_id, source in by_id.items():
        if args.sources and source_id not in args.sources:
            continue
        lean = {k: schema_without_source(v, source) for k, v in full.items()}
        cases = unseen_cases(
            lean, args.per_style, args.first_seed, [source_id], args.styles, _our_mx(config)
        )
        for case in cases:
            got = assess_message(case.raw, config, schemas=lean).as_outcome()
            group = f"{case.source} ({case.era})"
            problems = score(
                stats[group], got, case.form_type, case.decision, case.expected, case.asked
            )
            _show(shown, group, args.show, problems, f"{case.style} seed={case.seed}")
    return stats


def run_heldout(args: argparse.Namespace) -> dict[str, Stats]:
    from intake.assess import assess_message, schemas_in
    from tests.builders.unseen import heldout_cases

    config = _config()
    full = schemas_in(str(config.forms_dir))
    stats: dict[str, Stats] = defaultdict(lambda: defaultdict(int))
    shown: dict[str, int] = defaultdict(int)
    for case, lean in heldout_cases(
        full, args.per_style, args.first_seed, args.styles, _our_mx(config)
    ):
        schemas = {k: (lean if k == case.form_type else v) for k, v in full.items()}
        got = assess_message(case.raw, config, schemas=schemas).as_outcome()
        problems = score(
            stats[case.style], got, case.form_type, case.decision, case.expected, case.asked
        )
        _show(shown, case.style, args.show, problems, f"seed={case.seed} {case.form_type}")
    return stats


def run_blocks(args: argparse.Namespace) -> dict[str, Stats]:
    from intake.assess import assess_message, schemas_in
    from tests.builders.blocks import block_cases

    config = _config()
    schemas = schemas_in(str(config.forms_dir))
    stats: dict[str, Stats] = defaultdict(lambda: defaultdict(int))
    shown: dict[str, int] = defaultdict(int)
    for case in block_cases(schemas, args.per_style, args.first_seed, args.styles, _our_mx(config)):
        got = assess_message(case.raw, config).as_outcome()
        group = f"{case.source} ({case.form_type})"
        problems = score(
            stats[group], got, case.form_type, case.decision, case.expected, case.asked
        )
        _show(shown, group, args.show, problems, f"{case.style} seed={case.seed}")
    return stats


def score(
    s: Stats,
    got: Mapping[str, Any],
    form_type: str,
    decision: str,
    expected: Mapping[str, Any],
    asked: Iterable[str],
) -> list[str]:
    """Add one outcome to ``s``; the problems seen, for printing."""
    problems: list[str] = []
    s["forms"] += 1
    s["type_ok"] += got["form_type"] == form_type or (
        got["form_type"] is None and decision == "needs_review"
    )
    s["decision_ok"] += got["decision"] == decision
    s["to_person"] += got["decision"] == "needs_review"
    if got["decision"] != decision:
        problems.append(f"decision {got['decision']} (want {decision})")
    if _false_return(got, decision, expected, set(asked)):
        s["false_returns"] += 1
        problems.append(f"FALSE RETURN missing={got['missing']} invalid={got['invalid']}")
    fields = got["fields"] if got["form_type"] == form_type else {}
    right = sum(1 for k, v in fields.items() if expected.get(k) == v)
    s["fields_got"] += len(fields)
    s["fields_want"] += len(expected)
    s["fields_right"] += right
    wrong = {k: (expected.get(k), v) for k, v in fields.items() if expected.get(k) != v}
    if got["decision"] == "accepted":
        s["accepted_incomplete"] += decision != "accepted"
        s["accepted_wrong"] += bool(wrong)
        if decision != "accepted" or wrong:
            problems.append("ACCEPTED " + ("INCOMPLETE" if decision != "accepted" else "WRONG"))
    wrong |= {k: (v, None) for k, v in expected.items() if k not in fields}
    if wrong:
        problems.append(f"fields {wrong}")
    return problems


def _false_return(
    got: Mapping[str, Any], decision: str, expected: Mapping[str, Any], asked: set[str]
) -> bool:
    if got["decision"] != "incomplete":
        return False
    if decision == "accepted":
        return True
    named = set(got["missing"]) | {p["field"] for p in got["invalid"]}
    return any(key in expected or key not in asked for key in named)


def _show(shown: dict[str, int], group: str, limit: int, problems: list[str], what: str) -> None:
    if problems and shown[group] < limit:
        shown[group] += 1
        print(f"  {group} {what}: {'; '.join(problems)}"[:700])


def report(stats: Mapping[str, Stats], elapsed: float) -> None:
    head = f"{'':44} {'forms':>5} {'decision':>8} {'false ret':>9} {'to person':>9}"
    print(f"\n{head} {'P':>6} {'R':>6} {'F1':>6}")
    total: Stats = defaultdict(int)
    for group, s in stats.items():
        for k, v in s.items():
            total[k] += v
        _row(group, s)
    _row("ALL", total)
    print(
        f"\naccepted although incomplete: {total['accepted_incomplete']}; "
        f"accepted with a value read wrong: {total['accepted_wrong']}"
    )
    rate = total["forms"] / elapsed if elapsed else 0.0
    print(f"\n{total['forms']} emails in {elapsed:.1f} s ({rate:.1f} emails/s)")


def _row(group: str, s: Mapping[str, int]) -> None:
    def pct(a: float, b: float) -> str:
        return f"{100 * a / b:5.1f}%" if b else "    -"

    p = s["fields_right"] / s["fields_got"] if s["fields_got"] else 1.0
    r = s["fields_right"] / s["fields_want"] if s["fields_want"] else 1.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    print(
        f"{group[:44]:44} {s['forms']:5} {pct(s['decision_ok'], s['forms']):>8} "
        f"{s['false_returns']:9} {pct(s['to_person'], s['forms']):>9} "
        f"{100 * p:5.1f}% {100 * r:5.1f}% {100 * f1:5.1f}%"
    )


if __name__ == "__main__":
    main()
