"""The administrators' mailbox rules (issue 11): which mail is a referral, and what
happens to it.

Rules are data, in the TOML file that ``[rules] file`` names (``config/rules.toml``).
They are tried in order and the first that matches decides; a rule with
``continue = true`` adds what it says (never auto-reply, notify, file, flag, mark
read) and lets the next rules decide.  ``[default]`` says what happens to mail no
rule decides.  A rule's conditions (``when``) must all hold, and none of its
exceptions (``unless``); each condition's list is "any of these"::

    [lists]
    trusted_agencies = ["*.gov.uk", "*.nhs.net", "*.police.uk", "*.sch.uk"]

    [[rules]]
    name = "ofsted-notifications"
    when.sender = ["*@ofsted.gov.uk"]
    action = "process"
    form_type = "serious_incident_notification"

    [default]
    action = "process"

`load_rules` reads and validates a file (`RulesError`: one line naming the file, the
rule and the fault); `evaluate` is pure: it takes what the stored parse says of a
message (`MailFacts`, from `facts_of`) and returns the `Ruling`, with each rule's
conditions one by one (`RuleTrace`) so that ``intake rules test`` and the review
pages can say why.  Regular expressions run with a timeout (the `regex` module) over
bounded text, within one budget per message: hostile mail cannot stall the worker.
A condition that could not be checked in time holds the message for a person.

Automatic mail is never answered whatever a rule says (`intake.assess` keeps that):
a rule may hold or ignore more mail, never cause a reply to a robot.
"""

from __future__ import annotations

import fnmatch
import hashlib
import re
import time
import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Any

import regex

from intake.config import ConfigError

# --- limits: what a rule may cost on one message ------------------------------------------

EVALUATION_SECONDS = 1.0  # all the rules on one message
REGEX_SECONDS = 0.25  # one regular expression on one text
REGEX_TEXT_CHARS = 100_000  # of the body a regular expression sees
MAX_PATTERN_CHARS = 500
MAX_RECIPIENT_HEADERS = 10  # values of each Delivered-To / X-Original-To read
MAX_RULES = 200
RULE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9 _.-]{0,59}")
LIST_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")
ADDRESS_PATTERN = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~\[\]-]+(@[A-Za-z0-9.*?\[\]-]+)?")
# Addresses in a header value, found by splitting, not by a pattern that can go back
# over the text (issue 8): the value is at most 4,096 characters (parsers.mail).
_ADDRESS_SEPARATORS = re.compile(r"[\s<>,;:\"()\[\]]+")
SIZE_UNITS = {"b": 1, "kb": 1024, "mb": 1024**2, "gb": 1024**3}
AGE_UNITS = {"minute": 60, "hour": 3600, "day": 86400, "week": 7 * 86400}


class Action(StrEnum):
    """What a deciding rule does with a message."""

    PROCESS = "process"  # read it as a referral (optionally as one form type)
    HOLD = "hold"  # a person looks, with the rule's stated reason; no reply
    IGNORE = "ignore"  # kept, never answered, nothing read

    @property
    def label(self) -> str:
        return ACTION_LABELS[self]


ACTION_LABELS = {
    Action.PROCESS: "process as a referral",
    Action.HOLD: "hold for a person",
    Action.IGNORE: "ignore (kept, never answered)",
}


class Authentication(StrEnum):
    """Our mail server's verdict on the sender (`intake.authentication`), in three words."""

    PASS = "pass"
    FAIL = "fail"
    UNPROVEN = "unproven"


class RulesError(ConfigError):
    """A rules file is wrong: ``FILE: rule 'NAME': KEY: what is wrong`` (one line)."""


# --- what a rule sees of a message -----------------------------------------------------------


@dataclass(frozen=True)
class AttachmentFact:
    name: str
    media_type: str
    size: int


@dataclass(frozen=True)
class MailFacts:
    """What the rules see of one message, from its stored parse (`facts_of`)."""

    sender: str  # the From address, lower case ("" when none)
    recipients: tuple[str, ...]  # To, Cc, Delivered-To, X-Original-To; lower case
    subject: str
    body: str
    attachments: tuple[AttachmentFact, ...]  # files sent (containers and inline images left out)
    size: int
    arrived: datetime | None
    authentication: Authentication
    automatic: bool
    headers: tuple[tuple[str, str], ...] = ()  # lower-case name, value

    @cached_property
    def folded_subject(self) -> str:
        return self.subject.casefold()

    @cached_property
    def folded_body(self) -> str:
        return self.body.casefold()


def facts_of(
    mail: Any,
    *,
    authentication: Authentication,
    automatic: bool,
    arrived: datetime | None = None,
) -> MailFacts:
    """`MailFacts` of a `parsers.mail.MailResult` (whole, or stored without the bytes).

    ``arrived`` is when the mailbox received it (IMAP INTERNALDATE, the store's time);
    without it, the message's ``Date``.
    """
    headers = tuple(mail.headers)
    delivered = [v for n, v in headers if n in ("delivered-to", "x-original-to")][
        :MAX_RECIPIENT_HEADERS
    ]
    found = [a.lower() for v in delivered for a in _ADDRESS_SEPARATORS.split(v) if "@" in a]
    recipients = tuple(dict.fromkeys([*(a.lower() for a in (*mail.to, *mail.cc)), *found]))
    files = tuple(
        AttachmentFact(p.filename or p.path.rsplit("/", 1)[-1], p.media_type, int(p.size))
        for p in mail.attachments
        if p.is_leaf and not p.inline
    )
    return MailFacts(
        sender=(mail.from_addr or "").strip().lower(),
        recipients=recipients,
        subject=mail.subject or "",
        body=mail.text_body or "",
        attachments=files,
        size=int(mail.size),
        arrived=arrived or _iso_datetime(mail.date),
        authentication=authentication,
        automatic=automatic,
        headers=headers,
    )


def authentication_of(verdict: Any) -> Authentication:
    """An `intake.authentication.Verdict` as pass, fail or unproven."""
    if verdict.authenticated:
        return Authentication.PASS
    return Authentication.FAIL if verdict.failed else Authentication.UNPROVEN


def _iso_datetime(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


# --- conditions --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    """One condition on one message: held (True), not held (False), or not known in time
    (None); ``found`` is what the message had, for the explanation."""

    held: bool | None
    found: str


class Budget:
    """What is left of one message's time for the rules (`EVALUATION_SECONDS`)."""

    def __init__(self, seconds: float = EVALUATION_SECONDS) -> None:
        self.deadline = time.monotonic() + seconds

    def regex_seconds(self) -> float:
        return min(REGEX_SECONDS, self.deadline - time.monotonic())


Test = Callable[[MailFacts, datetime, Budget], Check]


@dataclass(frozen=True)
class Condition:
    """A condition of a rule: its key, how it reads, and its test."""

    key: str
    wanted: str
    test: Test = field(repr=False, compare=False)


@dataclass(frozen=True)
class ConditionResult:
    key: str
    wanted: str
    held: bool | None
    found: str

    @property
    def word(self) -> str:
        return {True: "yes", False: "no", None: "not known in time"}[self.held]


def _one_of(values: Sequence[str]) -> str:
    return values[0] if len(values) == 1 else "one of " + ", ".join(values)


def _shown(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


def _address_matches(address: str, pattern: str) -> bool:
    """``*@ofsted.gov.uk`` matches the address; ``*.gov.uk`` (no @) matches its domain."""
    if not address:
        return False
    if "@" in pattern:
        return fnmatch.fnmatchcase(address, pattern)
    return fnmatch.fnmatchcase(address.rpartition("@")[2], pattern)


def _sender_test(patterns: tuple[str, ...]) -> Test:
    def test(facts: MailFacts, now: datetime, budget: Budget) -> Check:
        held = any(_address_matches(facts.sender, p) for p in patterns)
        return Check(held, facts.sender or "no From address")

    return test


def _recipient_test(patterns: tuple[str, ...]) -> Test:
    def test(facts: MailFacts, now: datetime, budget: Budget) -> Check:
        hits = [a for a in facts.recipients if any(_address_matches(a, p) for p in patterns)]
        found = ", ".join(hits or facts.recipients[:5]) or "no recipient"
        return Check(bool(hits), found)

    return test


def _contains_test(part: str, needles: tuple[str, ...]) -> Test:
    folded = tuple(n.casefold() for n in needles)

    def test(facts: MailFacts, now: datetime, budget: Budget) -> Check:
        text = facts.folded_subject if part == "subject" else facts.folded_body
        hit = next((n for n, f in zip(needles, folded, strict=True) if f in text), None)
        if part == "subject":
            return Check(hit is not None, _shown(facts.subject))
        return Check(hit is not None, f"{hit!r} found" if hit else "not found")

    return test


def _search(patterns: Sequence[Any], text: str, budget: Budget) -> tuple[bool | None, str]:
    """(matched, the text matched) for the first pattern that matches; None past the budget."""
    for pattern in patterns:
        seconds = budget.regex_seconds()
        if seconds <= 0:
            return None, "the rules' time for this message ran out"
        try:
            found = pattern.search(text, timeout=seconds)
        except TimeoutError:
            return None, f"{pattern.pattern!r} took too long"
        if found is not None:
            return True, _shown(found.group(0), 40)
    return False, ""


def _matches_test(part: str, patterns: tuple[Any, ...]) -> Test:
    def test(facts: MailFacts, now: datetime, budget: Budget) -> Check:
        text = facts.subject if part == "subject" else facts.body[:REGEX_TEXT_CHARS]
        held, found = _search(patterns, text, budget)
        if part == "subject" and held is not None:
            return Check(held, _shown(facts.subject))
        return Check(held, found or "no match")

    return test


def _attachment_name_test(patterns: tuple[str, ...]) -> Test:
    lowered = tuple(p.lower() for p in patterns)

    def test(facts: MailFacts, now: datetime, budget: Budget) -> Check:
        names = [a.name for a in facts.attachments]
        hits = [n for n in names if any(fnmatch.fnmatchcase(n.lower(), p) for p in lowered)]
        return Check(bool(hits), ", ".join(repr(n) for n in (hits or names)) or "no attachment")

    return test


def _attachment_type_test(patterns: tuple[str, ...]) -> Test:
    def test(facts: MailFacts, now: datetime, budget: Budget) -> Check:
        kinds = list(dict.fromkeys(a.media_type for a in facts.attachments))
        hits = [k for k in kinds if any(fnmatch.fnmatchcase(k, p) for p in patterns)]
        return Check(bool(hits), ", ".join(hits or kinds) or "no attachment")

    return test


def _has_attachment_test(wanted: bool) -> Test:
    def test(facts: MailFacts, now: datetime, budget: Budget) -> Check:
        count = len(facts.attachments)
        return Check((count > 0) == wanted, f"{count} attachment(s)")

    return test


def _size_test(limit: int, above: bool) -> Test:
    def test(facts: MailFacts, now: datetime, budget: Budget) -> Check:
        held = facts.size > limit if above else facts.size < limit
        return Check(held, _bytes(facts.size))

    return test


def _age_test(limit: timedelta, older: bool) -> Test:
    def test(facts: MailFacts, now: datetime, budget: Budget) -> Check:
        if facts.arrived is None:
            return Check(False, "arrival time not known")
        age = now - facts.arrived
        return Check(age > limit if older else age < limit, f"arrived {_duration(age)} ago")

    return test


def _authentication_test(wanted: tuple[str, ...]) -> Test:
    def test(facts: MailFacts, now: datetime, budget: Budget) -> Check:
        return Check(facts.authentication.value in wanted, facts.authentication.value)

    return test


def _automatic_test(wanted: bool) -> Test:
    def test(facts: MailFacts, now: datetime, budget: Budget) -> Check:
        return Check(facts.automatic == wanted, "automatic" if facts.automatic else "not automatic")

    return test


def _header_present_test(names: tuple[str, ...]) -> Test:
    lowered = tuple(n.lower() for n in names)

    def test(facts: MailFacts, now: datetime, budget: Budget) -> Check:
        present = {n for n, _v in facts.headers}
        hits = [n for n, low in zip(names, lowered, strict=True) if low in present]
        return Check(bool(hits), ", ".join(hits) + " present" if hits else "absent")

    return test


def _header_matches_test(name: str, patterns: tuple[Any, ...]) -> Test:
    wanted = name.lower()

    def test(facts: MailFacts, now: datetime, budget: Budget) -> Check:
        values = [v for n, v in facts.headers if n == wanted][:MAX_RECIPIENT_HEADERS]
        if not values:
            return Check(False, f"no {name} header")
        for value in values:
            held, found = _search(patterns, value, budget)
            if held is not False:
                return Check(held, found)
        return Check(False, _shown(values[0]))

    return test


def _bytes(size: int) -> str:
    for unit, factor in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if size >= factor:
            return f"{size / factor:.1f} {unit}"
    return f"{size} bytes"


def _duration(age: timedelta) -> str:
    seconds = max(0, int(age.total_seconds()))
    for unit in ("week", "day", "hour", "minute"):
        if seconds >= AGE_UNITS[unit]:
            count = seconds // AGE_UNITS[unit]
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} seconds"


# --- the rules -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Effects:
    """What a rule says beyond its action: the reply, a notice, the mailbox afterwards."""

    never_reply: bool = False
    notify: tuple[str, ...] = ()
    file_into: str | None = None  # None: the mailbox's processed_folder
    leave_in_place: bool = False
    flag: bool = False
    mark_read: bool = False

    def words(self) -> list[str]:
        said = []
        if self.never_reply:
            said.append("never auto-reply")
        if self.notify:
            said.append("notify " + ", ".join(self.notify))
        if self.file_into:
            said.append(f"file into {self.file_into!r}")
        if self.leave_in_place:
            said.append("leave in place")
        if self.flag:
            said.append("flag")
        if self.mark_read:
            said.append("mark read")
        return said

    @property
    def sets_place(self) -> bool:
        return self.file_into is not None or self.leave_in_place


@dataclass(frozen=True)
class Rule:
    name: str
    index: int  # its place in the file, from 1 (0: the default)
    when: tuple[Condition, ...]
    unless: tuple[Condition, ...] = ()
    action: Action | None = None  # None only when it continues
    form_type: str | None = None
    reason: str = ""
    effects: Effects = Effects()
    continues: bool = False
    description: str = ""

    def does(self) -> str:
        """What it does, in words: ``hold for a person ("letters from the coroner")``."""
        if self.action is None:
            head = "continue to the next rules"
        elif self.action is Action.PROCESS and self.form_type:
            head = f"process as a referral, form {self.form_type}"
        elif self.action is Action.HOLD:
            head = f"hold for a person ({self.reason})"
        else:
            head = self.action.label
        extra = self.effects.words()
        if self.continues and self.action is None:
            return "; ".join([*extra, "then the next rules"]) if extra else head
        return "; ".join([head, *extra])


@dataclass(frozen=True)
class RuleSet:
    """A validated rules file: the rules in order, and the default."""

    rules: tuple[Rule, ...]
    default: Rule
    source: str = ""  # the file, as shown in errors ("" for the built-in default)
    text: str = ""  # exactly as read (audited when it changes)
    lists: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()

    def folders(self) -> dict[str, str]:
        """Folder named -> the first rule naming it (to check against a mailbox)."""
        named: dict[str, str] = {}
        for rule in (*self.rules, self.default):
            if rule.effects.file_into:
                named.setdefault(rule.effects.file_into, rule.name)
        return named

    def describe(self) -> str:
        count = len(self.rules)
        plural = "s" if count != 1 else ""
        return f"{self.source or 'built-in rules'} ({count} rule{plural} and the default)"


@dataclass(frozen=True)
class RuleContext:
    """What validating a rules file needs to know of the rest of the configuration."""

    form_types: tuple[str, ...]  # rules.accept_forms
    watched_folders: tuple[str, ...] = ()  # each mailbox's folder: never a place to file into
    notify_domains: tuple[str, ...] = ()  # a notice goes only to these domains (and below)
    can_send: bool = True  # replies.from_address is set: notices can be sent


def rule_context(
    rules: Any, service: Any, mailboxes: Sequence[Any], replies: Any = None
) -> RuleContext:
    """The `RuleContext` of a configuration's ``[rules]``, ``[service]`` and mailboxes.

    Notices go only to the partnership's own domains: those of ``service.our_addresses``
    and ``service.trusted_domains`` (a mistyped address must not carry mail elsewhere).
    """
    ours = [a.rpartition("@")[2].lower() for a in service.our_addresses]
    domains = tuple(dict.fromkeys([*ours, *(d.lower() for d in service.trusted_domains)]))
    return RuleContext(
        form_types=tuple(rules.accept_forms),
        watched_folders=tuple(m.folder for m in mailboxes),
        notify_domains=domains,
        can_send="@" in (replies.from_address if replies is not None else "x@x"),
    )


DEFAULT_RULE = Rule(name="default", index=0, when=(), action=Action.PROCESS)


def default_rules() -> RuleSet:
    """No rules file configured: every message is processed, as before issue 11."""
    return RuleSet(rules=(), default=DEFAULT_RULE)


# --- evaluation ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RuleTrace:
    """One rule tried on one message: each condition's result and whether it matched."""

    rule: Rule
    results: tuple[ConditionResult, ...]
    exceptions: tuple[ConditionResult, ...]
    matched: bool | None  # None: a condition could not be checked in time

    def lines(self) -> list[str]:
        state = {True: "matched", False: "no match", None: "not known in time"}[self.matched]
        if self.matched and self.rule.continues:
            state += f" ({self.rule.does()})"
        lines = [f"{self.rule.index}. {self.rule.name}: {state}"]
        lines += [f"     {r.wanted}: {r.word} ({r.found})" for r in self.results]
        lines += [f"     unless {r.wanted}: {r.word} ({r.found})" for r in self.exceptions]
        return lines


@dataclass(frozen=True)
class Ruling:
    """What the rules decided for one message, and why."""

    rule: str  # the name of the deciding rule ("default" when none matched)
    action: Action
    form_type: str | None = None
    reason: str = ""  # a hold's stated reason
    effects: Effects = Effects()
    matched: tuple[str, ...] = ()  # every rule that matched, continuing ones included
    trace: tuple[RuleTrace, ...] = ()
    out_of_time: bool = False  # a condition could not be checked: held for a person

    def as_dict(self) -> dict[str, Any]:
        """What is stored with the message's assessment (names and words; no mail content)."""
        return {
            "name": self.rule,
            "action": self.action.value,
            "form_type": self.form_type,
            "reason": self.reason,
            "never_reply": self.effects.never_reply,
            "notify": list(self.effects.notify),
            "file_into": self.effects.file_into,
            "leave_in_place": self.effects.leave_in_place,
            "flag": self.effects.flag,
            "mark_read": self.effects.mark_read,
            "matched": list(self.matched),
            "out_of_time": self.out_of_time,
            "does": self.does(),
        }

    def does(self) -> str:
        head = (
            f"process as a referral, form {self.form_type}"
            if self.action is Action.PROCESS and self.form_type
            else f"hold for a person ({self.reason})"
            if self.action is Action.HOLD
            else self.action.label
        )
        return "; ".join([head, *self.effects.words()])

    def explanation(self) -> list[str]:
        """Each rule tried, condition by condition, then what was decided."""
        lines = [line for trace in self.trace for line in trace.lines()]
        lines.append(f"decided by: {self.rule}: {self.does()}")
        return lines


def evaluate(rules: RuleSet, facts: MailFacts, now: datetime | None = None) -> Ruling:
    """The `Ruling` of ``rules`` on one message: pure, bounded by `EVALUATION_SECONDS`.

    Rules are tried in order; the first that matches and does not continue decides,
    else the default.  A rule one of whose conditions could not be checked in time
    decides nothing: the message is held for a person (nothing is answered or
    ignored on a guess).
    """
    now = now or datetime.now(tz=UTC)
    budget = Budget()
    traces: list[RuleTrace] = []
    gathered = _Gathered()
    for rule in rules.rules:
        trace = _try(rule, facts, now, budget)
        traces.append(trace)
        if trace.matched is None:
            return _out_of_time(rule, gathered, traces)
        if not trace.matched:
            continue
        gathered.add(rule)
        if not rule.continues:
            return gathered.ruling(rule, traces)
    return gathered.ruling(rules.default, traces)


def _try(rule: Rule, facts: MailFacts, now: datetime, budget: Budget) -> RuleTrace:
    results = tuple(_check(c, facts, now, budget) for c in rule.when)
    exceptions = tuple(_check(c, facts, now, budget) for c in rule.unless)
    every = [r.held for r in results]
    excepted = [r.held for r in exceptions]
    if False in every or True in excepted:
        matched: bool | None = False
    elif None in every or None in excepted:
        matched = None
    else:
        matched = True
    return RuleTrace(rule, results, exceptions, matched)


def _check(
    condition: Condition, facts: MailFacts, now: datetime, budget: Budget
) -> ConditionResult:
    check = condition.test(facts, now, budget)
    return ConditionResult(condition.key, condition.wanted, check.held, check.found)


class _Gathered:
    """What the matched rules say, merged: the continuing ones' effects, then the decider's."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self.never_reply = False
        self.notify: list[str] = []
        self.place: Effects = Effects()
        self.flag = False
        self.mark_read = False

    def add(self, rule: Rule) -> None:
        """A matched rule's effects: a later rule's place (folder, or left in place) wins."""
        self.names.append(rule.name)
        self._merge(rule.effects, place=rule.effects.sets_place)

    def _merge(self, effects: Effects, place: bool) -> None:
        self.never_reply |= effects.never_reply
        self.notify += [a for a in effects.notify if a not in self.notify]
        if place:
            self.place = effects
        self.flag |= effects.flag
        self.mark_read |= effects.mark_read

    def ruling(self, rule: Rule, traces: list[RuleTrace]) -> Ruling:
        if rule.index == 0:  # the default: its place only where no matched rule set one
            self._merge(rule.effects, place=rule.effects.sets_place and not self.place.sets_place)
        effects = Effects(
            never_reply=self.never_reply,
            notify=tuple(self.notify),
            file_into=self.place.file_into,
            leave_in_place=self.place.leave_in_place,
            flag=self.flag,
            mark_read=self.mark_read,
        )
        return Ruling(
            rule=rule.name,
            action=rule.action or Action.PROCESS,
            form_type=rule.form_type,
            reason=rule.reason,
            effects=effects,
            matched=tuple(self.names),
            trace=tuple(traces),
        )


def _out_of_time(rule: Rule, gathered: _Gathered, traces: list[RuleTrace]) -> Ruling:
    held = Rule(
        name=rule.name,
        index=rule.index,
        when=(),
        action=Action.HOLD,
        reason=f"rule {rule.name!r} could not be checked in time",
    )
    ruling = gathered.ruling(held, traces)
    return Ruling(
        rule=ruling.rule,
        action=Action.HOLD,
        reason=held.reason,
        effects=Effects(never_reply=True, notify=ruling.effects.notify),
        matched=ruling.matched,
        trace=ruling.trace,
        out_of_time=True,
    )


# --- reading and validating a rules file ------------------------------------------------------

RULE_KEYS = (
    "name",
    "description",
    "when",
    "unless",
    "action",
    "form_type",
    "reason",
    "never_reply",
    "notify",
    "file_into",
    "leave_in_place",
    "flag",
    "mark_read",
    "continue",
)
DEFAULT_KEYS = tuple(
    k for k in RULE_KEYS if k not in ("name", "description", "when", "unless", "continue")
)
TOP_KEYS = ("lists", "rules", "default")


def load_rules(path: str | Path, context: RuleContext, shown: str | None = None) -> RuleSet:
    """Read and validate the rules file at ``path``; raises `RulesError`."""
    file = Path(path)
    shown = shown or str(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RulesError(shown, "(file)", "no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RulesError(shown, "(file)", f"cannot be read: {type(exc).__name__}") from None
    return parse_rules(text, context, shown)


def parse_rules(text: str, context: RuleContext, shown: str = "rules.toml") -> RuleSet:
    """Validate rules given as TOML text (a file, or a proposal pasted on the review page)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RulesError(shown, "(file)", f"is not valid TOML: {exc}") from None
    reader = _Reader(shown, context)
    _unknown(data, TOP_KEYS, reader.fault_at(""))
    lists = reader.lists(data.get("lists", {}))
    items = data.get("rules", [])
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise RulesError(shown, "rules", "must be a list of tables ([[rules]])")
    if len(items) > MAX_RULES:
        raise RulesError(shown, "rules", f"at most {MAX_RULES} rules")
    rules = tuple(reader.rule(item, i + 1) for i, item in enumerate(items))
    _unique_names(rules, shown)
    default = reader.default(data.get("default", {}))
    return RuleSet(rules=rules, default=default, source=shown, text=text, lists=lists)


def check_folders(rules: RuleSet, mailbox: str, folders: Iterable[str]) -> None:
    """Every folder a rule files into exists in ``mailbox``; else `RulesError` naming the
    rule, the folder and the folders there are."""
    known = set(folders)
    for folder, name in rules.folders().items():
        if folder not in known:
            raise RulesError(
                rules.source or "rules",
                _rule_key(name),
                f"file_into: folder {folder!r} does not exist in mailbox {mailbox!r}; "
                f"the folders are: {', '.join(sorted(known))}",
            )


def _rule_key(name: str) -> str:
    return "default" if name == "default" else f"rule {name!r}"


def _unknown(
    table: Mapping[str, Any], allowed: Sequence[str], fault: Callable[..., RulesError]
) -> None:
    for key in table:
        if key not in allowed:
            raise fault(key, f"unknown key; allowed keys: {', '.join(allowed)}")


def _unique_names(rules: Sequence[Rule], shown: str) -> None:
    seen: set[str] = set()
    for rule in rules:
        if rule.name.casefold() in seen or rule.name.casefold() == "default":
            raise RulesError(shown, _rule_key(rule.name), "name: used twice (or 'default')")
        seen.add(rule.name.casefold())


class _Reader:
    """Builds rules from TOML tables, raising `RulesError` at the first fault."""

    def __init__(self, shown: str, context: RuleContext) -> None:
        self.shown = shown
        self.context = context
        self.named_lists: dict[str, tuple[str, ...]] = {}

    def fault_at(self, where: str) -> Callable[..., RulesError]:
        def fault(key: str, message: str) -> RulesError:
            inner = f"{where}: {key}" if where and key else where or key
            return RulesError(self.shown, inner, message)

        return fault

    # -- lists ------------------------------------------------------------------------------
    def lists(self, table: Any) -> dict[str, tuple[str, ...]]:
        if not isinstance(table, dict):
            raise RulesError(self.shown, "lists", "must be a table of named lists")
        for name, values in table.items():
            if not LIST_NAME.fullmatch(name):
                raise RulesError(self.shown, f"lists.{name}", "a list's name is a-z, 0-9 and _")
            fault = self.fault_at(f"lists.{name}")
            self.named_lists[name] = self._address_patterns(values, fault, "", expand=False)
        return dict(self.named_lists)

    # -- one rule ---------------------------------------------------------------------------
    def rule(self, item: dict[str, Any], index: int) -> Rule:
        name = item.get("name")
        if not isinstance(name, str) or not RULE_NAME.fullmatch(name):
            raise RulesError(
                self.shown,
                f"rules[{index - 1}].name",
                "every rule needs a name: letters, digits, spaces, _ . - (at most 60)",
            )
        fault = self.fault_at(_rule_key(name))
        _unknown(item, RULE_KEYS, fault)
        when = self.conditions(item.get("when"), fault, "when")
        if not when:
            raise fault(
                "when", "a rule needs at least one condition ([default] is for all other mail)"
            )
        unless = self.conditions(item.get("unless", {}), fault, "unless")
        continues = _flag(item, "continue", fault)
        action = self.action(item, fault, continues)
        return Rule(
            name=name,
            index=index,
            when=when,
            unless=unless,
            action=action,
            form_type=self.form_type(item, action, fault),
            reason=self.reason(item, action, fault),
            effects=self.effects(item, fault),
            continues=continues,
            description=_text(item, "description", fault),
        )

    def default(self, table: Any) -> Rule:
        if not isinstance(table, dict):
            raise RulesError(self.shown, "default", "must be a table")
        fault = self.fault_at("default")
        _unknown(table, DEFAULT_KEYS, fault)
        action = self.action(table, fault, False, required=False) or Action.PROCESS
        return Rule(
            name="default",
            index=0,
            when=(),
            action=action,
            form_type=self.form_type(table, action, fault),
            reason=self.reason(table, action, fault),
            effects=self.effects(table, fault),
        )

    def action(
        self,
        item: Mapping[str, Any],
        fault: Callable[..., RulesError],
        continues: bool,
        required: bool = True,
    ) -> Action | None:
        value = item.get("action")
        if continues:
            if value is not None:
                raise fault(
                    "action",
                    "a rule that continues cannot decide the action (it may only add "
                    "never_reply, notify, file_into, leave_in_place, flag, mark_read); "
                    "remove action or continue",
                )
            return None
        if value is None:
            if required:
                raise fault("action", "is required: process, hold or ignore")
            return None
        if value not in {a.value for a in Action}:
            raise fault("action", f"must be process, hold or ignore (got {value!r})")
        return Action(value)

    def form_type(
        self, item: Mapping[str, Any], action: Action | None, fault: Callable[..., RulesError]
    ) -> str | None:
        value = item.get("form_type")
        if value is None:
            return None
        if action is not Action.PROCESS:
            raise fault("form_type", "only a rule that processes mail can force a form type")
        known = self.context.form_types
        if value not in known:
            raise fault(
                "form_type",
                f"unknown form type {value!r}; the forms accepted are: {', '.join(known)}",
            )
        return str(value)

    def reason(
        self, item: Mapping[str, Any], action: Action | None, fault: Callable[..., RulesError]
    ) -> str:
        value = _text(item, "reason", fault).strip()
        if action is Action.HOLD and not value:
            raise fault("reason", "a rule that holds mail for a person must say why (reason)")
        if value and action is not Action.HOLD:
            raise fault("reason", "only a rule that holds mail has a reason")
        if len(value) > 200:
            raise fault("reason", "at most 200 characters")
        return value

    def effects(self, item: Mapping[str, Any], fault: Callable[..., RulesError]) -> Effects:
        file_into = _text(item, "file_into", fault) or None
        leave = _flag(item, "leave_in_place", fault)
        if file_into and leave:
            raise fault("file_into", "a message cannot be filed into a folder and left in place")
        if file_into in self.context.watched_folders:
            raise fault(
                "file_into", f"{file_into!r} is a watched folder: the message would be read again"
            )
        if file_into is not None and (len(file_into) > 255 or not file_into.strip()):
            raise fault("file_into", "must be a folder's name")
        return Effects(
            never_reply=_flag(item, "never_reply", fault),
            notify=self.notify(item, fault),
            file_into=file_into,
            leave_in_place=leave,
            flag=_flag(item, "flag", fault),
            mark_read=_flag(item, "mark_read", fault),
        )

    def notify(self, item: Mapping[str, Any], fault: Callable[..., RulesError]) -> tuple[str, ...]:
        values = _strings(item.get("notify", []), fault, "notify")
        domains = self.context.notify_domains
        if values and not self.context.can_send:
            raise fault("notify", "replies.from_address is required to send a rule's notices")
        for address in values:
            local, at, domain = address.lower().rpartition("@")
            if not at or not local or " " in address or "*" in address:
                raise fault("notify", f"{address!r} is not an email address")
            if not any(domain == d or domain.endswith("." + d) for d in domains):
                raise fault(
                    "notify",
                    f"{address!r} is outside the partnership's domains "
                    f"({', '.join(domains) or 'none: set service.our_addresses'}); "
                    "a notice goes only to the partnership's own addresses",
                )
        return tuple(v.lower() for v in values)

    # -- conditions -------------------------------------------------------------------------
    def conditions(
        self, table: Any, fault: Callable[..., RulesError], where: str
    ) -> tuple[Condition, ...]:
        if table is None:
            return ()
        if not isinstance(table, dict):
            raise fault(where, "must be a table of conditions")
        _unknown(table, tuple(CONDITIONS), lambda key, message: fault(f"{where}.{key}", message))
        return tuple(
            CONDITIONS[key](self, value, lambda k, m, key=key: fault(f"{where}.{key}", m))
            for key, value in table.items()
        )

    def _address_patterns(
        self, values: Any, fault: Callable[..., RulesError], key: str, expand: bool = True
    ) -> tuple[str, ...]:
        patterns: list[str] = []
        for value in _strings(values, fault, key, required=True):
            if expand and value.startswith("$"):
                if value[1:] not in self.named_lists:
                    known = ", ".join("$" + n for n in self.named_lists) or "none"
                    raise fault(key, f"unknown list {value!r}; the lists are: {known}")
                patterns += self.named_lists[value[1:]]
                continue
            if not ADDRESS_PATTERN.fullmatch(value):
                raise fault(
                    key,
                    f"{value!r} is not an address or domain pattern "
                    "(e.g. *@ofsted.gov.uk, *.nhs.net, $trusted_agencies)",
                )
            patterns.append(value.lower())
        return tuple(dict.fromkeys(patterns))

    def regexes(self, values: Any, fault: Callable[..., RulesError]) -> tuple[Any, ...]:
        compiled = []
        for value in _strings(values, fault, "", required=True):
            if len(value) > MAX_PATTERN_CHARS:
                raise fault("", f"a regular expression of at most {MAX_PATTERN_CHARS} characters")
            try:
                compiled.append(regex.compile(value, regex.IGNORECASE | regex.V0))
            except (regex.error, ValueError, OverflowError) as exc:
                raise fault("", f"{value!r} is not a valid regular expression: {exc}") from None
        return tuple(compiled)


def _strings(
    value: Any, fault: Callable[..., RulesError], key: str, required: bool = False
) -> list[str]:
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not all(isinstance(v, str) and v for v in values):
        raise fault(key, "must be a string or a list of non-empty strings")
    if required and not values:
        raise fault(key, "must not be empty")
    return list(values)


def _text(item: Mapping[str, Any], key: str, fault: Callable[..., RulesError]) -> str:
    value = item.get(key, "")
    if not isinstance(value, str):
        raise fault(key, "must be a string")
    return value


def _flag(item: Mapping[str, Any], key: str, fault: Callable[..., RulesError]) -> bool:
    value = item.get(key, False)
    if not isinstance(value, bool):
        raise fault(key, "must be true or false")
    return value


def _size(value: Any, fault: Callable[..., RulesError]) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str):
        number, _, unit = value.strip().partition(" ")
        if number.replace(".", "", 1).isdigit() and unit.lower() in SIZE_UNITS:
            return int(float(number) * SIZE_UNITS[unit.lower()])
    raise fault("", 'must be a size such as "10 MB", "500 KB" or a number of bytes')


def _age(value: Any, fault: Callable[..., RulesError]) -> timedelta:
    if isinstance(value, str):
        number, _, unit = value.strip().partition(" ")
        unit = unit.lower().rstrip("s")
        if number.isdigit() and unit in AGE_UNITS:
            return timedelta(seconds=int(number) * AGE_UNITS[unit])
    raise fault("", 'must be an age such as "30 minutes", "12 hours", "7 days" or "2 weeks"')


def _bool(value: Any, fault: Callable[..., RulesError]) -> bool:
    if not isinstance(value, bool):
        raise fault("", "must be true or false")
    return value


Builder = Callable[[_Reader, Any, Callable[..., RulesError]], Condition]


def _sender(reader: _Reader, value: Any, fault: Callable[..., RulesError]) -> Condition:
    patterns = reader._address_patterns(value, fault, "")
    shown = _one_of(_strings(value, fault, ""))
    return Condition("sender", f"sender is {shown}", _sender_test(patterns))


def _recipient(reader: _Reader, value: Any, fault: Callable[..., RulesError]) -> Condition:
    patterns = reader._address_patterns(value, fault, "")
    shown = _one_of(_strings(value, fault, ""))
    return Condition(
        "recipient", f"sent to {shown} (To, Cc, Delivered-To)", _recipient_test(patterns)
    )


def _contains(part: str) -> Builder:
    def build(reader: _Reader, value: Any, fault: Callable[..., RulesError]) -> Condition:
        needles = tuple(_strings(value, fault, "", required=True))
        shown = _one_of([repr(n) for n in needles])
        return Condition(
            f"{part}_contains", f"{part} contains {shown}", _contains_test(part, needles)
        )

    return build


def _matches(part: str) -> Builder:
    def build(reader: _Reader, value: Any, fault: Callable[..., RulesError]) -> Condition:
        patterns = reader.regexes(value, fault)
        shown = _one_of([f"/{p.pattern}/" for p in patterns])
        return Condition(
            f"{part}_matches", f"{part} matches {shown}", _matches_test(part, patterns)
        )

    return build


def _attachment_name(reader: _Reader, value: Any, fault: Callable[..., RulesError]) -> Condition:
    patterns = tuple(_strings(value, fault, "", required=True))
    shown = _one_of([repr(p) for p in patterns])
    return Condition(
        "attachment_name", f"an attachment is named {shown}", _attachment_name_test(patterns)
    )


def _attachment_type(reader: _Reader, value: Any, fault: Callable[..., RulesError]) -> Condition:
    patterns = tuple(v.lower() for v in _strings(value, fault, "", required=True))
    for pattern in patterns:
        if "/" not in pattern:
            raise fault("", f"{pattern!r} is not a media type (e.g. application/pdf, image/*)")
    shown = _one_of(list(patterns))
    return Condition(
        "attachment_type", f"an attachment is of type {shown}", _attachment_type_test(patterns)
    )


def _has_attachment(reader: _Reader, value: Any, fault: Callable[..., RulesError]) -> Condition:
    wanted = _bool(value, fault)
    shown = "it has an attachment" if wanted else "it has no attachment"
    return Condition("has_attachment", shown, _has_attachment_test(wanted))


def _size_condition(above: bool) -> Builder:
    def build(reader: _Reader, value: Any, fault: Callable[..., RulesError]) -> Condition:
        limit = _size(value, fault)
        word = "above" if above else "below"
        return Condition(
            f"size_{word}", f"size is {word} {_bytes(limit)}", _size_test(limit, above)
        )

    return build


def _age_condition(older: bool) -> Builder:
    def build(reader: _Reader, value: Any, fault: Callable[..., RulesError]) -> Condition:
        limit = _age(value, fault)
        key, word = ("older_than", "older than") if older else ("newer_than", "newer than")
        return Condition(key, f"arrived {word} {_duration(limit)}", _age_test(limit, older))

    return build


def _authentication(reader: _Reader, value: Any, fault: Callable[..., RulesError]) -> Condition:
    wanted = tuple(_strings(value, fault, "", required=True))
    allowed = [a.value for a in Authentication]
    for verdict in wanted:
        if verdict not in allowed:
            raise fault("", f"must be {', '.join(allowed)} (got {verdict!r})")
    shown = f"our mail server's verdict on the sender is {_one_of(list(wanted))}"
    return Condition("authentication", shown, _authentication_test(wanted))


def _automatic(reader: _Reader, value: Any, fault: Callable[..., RulesError]) -> Condition:
    wanted = _bool(value, fault)
    shown = "it is automatic mail" if wanted else "it is not automatic mail"
    return Condition("automatic", shown, _automatic_test(wanted))


HEADER_NAME = re.compile(r"[!-9;-~]{1,76}")  # RFC 5322 §2.2: printable, no colon


def _header_present(reader: _Reader, value: Any, fault: Callable[..., RulesError]) -> Condition:
    names = tuple(_strings(value, fault, "", required=True))
    for name in names:
        if not HEADER_NAME.fullmatch(name):
            raise fault("", f"{name!r} is not a header name")
    shown = f"header {_one_of(list(names))} is present"
    return Condition("header_present", shown, _header_present_test(names))


def _header_matches(reader: _Reader, value: Any, fault: Callable[..., RulesError]) -> Condition:
    if not isinstance(value, dict) or len(value) != 1:
        raise fault("", 'must be one header and its pattern: { "X-Mailer" = "^Ofsted" }')
    ((name, patterns),) = value.items()
    if not HEADER_NAME.fullmatch(name):
        raise fault("", f"{name!r} is not a header name")
    compiled = reader.regexes(patterns, fault)
    shown = f"header {name} matches {_one_of([f'/{p.pattern}/' for p in compiled])}"
    return Condition("header_matches", shown, _header_matches_test(name, compiled))


CONDITIONS: dict[str, Builder] = {
    "sender": _sender,
    "recipient": _recipient,
    "subject_contains": _contains("subject"),
    "subject_matches": _matches("subject"),
    "body_contains": _contains("body"),
    "body_matches": _matches("body"),
    "attachment_name": _attachment_name,
    "attachment_type": _attachment_type,
    "has_attachment": _has_attachment,
    "size_above": _size_condition(True),
    "size_below": _size_condition(False),
    "older_than": _age_condition(True),
    "newer_than": _age_condition(False),
    "authentication": _authentication,
    "automatic": _automatic,
    "header_present": _header_present,
    "header_matches": _header_matches,
}


# --- after handling ------------------------------------------------------------------------

FLAGGED = "\\Flagged"
SEEN = "\\Seen"


def after_handling(
    assessment: Mapping[str, Any] | None, processed_folder: str
) -> tuple[str, tuple[str, ...]]:
    """(the folder to file a handled message into, "" to leave it in place; the IMAP
    flags to set on it first), from its stored assessment's ruling."""
    stored = (assessment or {}).get("rule") or {}
    flags = tuple(
        flag
        for flag, wanted in ((FLAGGED, stored.get("flag")), (SEEN, stored.get("mark_read")))
        if wanted
    )
    if stored.get("leave_in_place"):
        return "", flags
    return str(stored.get("file_into") or processed_folder), flags
