"""Who really sent a message: one verdict, from our own mail server's word only (issue 8).

Pure: no Django, no database.  Anyone can write any header, so a message's
``Authentication-Results`` (RFC 8601) prove something only when our own
receiving server wrote them:

* **authserv-id**: the results headers whose authserv-id is one of
  ``rules.authserv_ids`` (our MX; RFC 8601 §5 makes it delete forged
  headers claiming its id).  The From domain is authenticated by
  ``dmarc=pass``, or by ``dkim=pass``/``spf=pass`` for a domain aligned
  with it (RFC 7489 §3.1, relaxed).  ``dmarc=fail`` is a failure.  Where
  several of our headers disagree, nothing is proven.
* **Exchange Online** (``rules.exchange_online``): Exchange writes its results
  without an authserv-id (``spf=pass ...;dmarc=pass ...;compauth=pass
  reason=100``) and marks every message it accepted with
  ``X-MS-Exchange-Organization-AuthAs``, a header it removes from mail
  arriving from outside, so the mark proves the results are its own.
  ``AuthAs: Internal`` is a sender signed in to our organisation;
  otherwise ``compauth=pass`` (Microsoft's composite verdict, which already
  weighs DMARC and its trusted ARC sealers) without ``dmarc=fail``.
* **ARC** (RFC 8617), only where our server vouches: our results say
  ``arc=pass`` and the newest ARC set was sealed by a domain in
  ``rules.arc_trusted_sealers``; then that set's ``dmarc=pass`` counts.

No verdict from our server means *unauthenticated*, never "pass".

Example::

    verdict = authenticate(mail.headers, mail.from_addresses, config.rules)
    if not verdict.authenticated: ...  # no reply, no change to any case
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from intake.config import RulesConfig

AUTH_RESULTS = "authentication-results"
EXCHANGE_AUTH_AS = "x-ms-exchange-organization-authas"
ARC_SEAL = "arc-seal"
ARC_RESULTS = "arc-authentication-results"


@dataclass(frozen=True)
class Verdict:
    """Whether our server proved the From domain, and a reason code.

    ``reason`` when authenticated: ``dmarc_pass``, ``dkim_aligned``,
    ``spf_aligned``, ``arc_trusted_sealer``, ``exchange_compauth``,
    ``exchange_internal``; otherwise ``no_verdict``, ``no_from``,
    ``several_from``, ``dmarc_fail``, ``not_aligned``, ``conflicting_verdicts``,
    ``exchange_fail``.  ``failed`` marks an explicit failure (a forgery is
    likely).  ``domain`` is the From domain proven ("" when none).
    """

    authenticated: bool
    reason: str
    domain: str = ""
    failed: bool = False
    server: str = ""  # the authserv-id (or "exchange") whose verdict this is

    def as_dict(self) -> dict[str, Any]:
        return {
            "authenticated": self.authenticated,
            "reason": self.reason,
            "domain": self.domain,
            "failed": self.failed,
            "server": self.server,
        }


@dataclass(frozen=True)
class MethodResult:
    """One ``method=result`` of a results header, with its properties (``header.from``...)."""

    method: str
    result: str
    props: dict[str, str]


def authenticate(
    headers: Sequence[tuple[str, str]], from_addresses: Sequence[str], rules: RulesConfig
) -> Verdict:
    """The verdict on a message's From, from its ``headers`` (name, value), top first."""
    domains = {_domain(a) for a in from_addresses if _domain(a)}
    if not domains:
        return Verdict(False, "no_from")
    if len(domains) > 1 or len(from_addresses) > 1:
        return Verdict(False, "several_from")  # RFC 7489 §6.6.1: DMARC needs exactly one
    domain = domains.pop()
    if getattr(rules, "exchange_online", False) and _first(headers, EXCHANGE_AUTH_AS):
        return _exchange_verdict(headers, domain)
    ids = {a.strip().lower().rstrip(".") for a in rules.authserv_ids if a.strip()}
    if not ids:
        return Verdict(False, "no_verdict")
    parsed = _results_headers(headers)
    ours = [r for server, r in parsed if server in ids]
    if not ours:
        return Verdict(False, "no_verdict")
    verdicts = {_verdict_of(results, domain, headers, rules) for results in ours}
    if len(verdicts) > 1:
        failed = any(v.failed for v in verdicts)
        return Verdict(False, "conflicting_verdicts", failed=failed)
    verdict = verdicts.pop()
    server = next(server for server, _r in parsed if server in ids)
    return Verdict(verdict.authenticated, verdict.reason, verdict.domain, verdict.failed, server)


def _verdict_of(
    results: list[MethodResult], domain: str, headers: Sequence[tuple[str, str]], rules: RulesConfig
) -> Verdict:
    """The verdict one of our results headers gives on ``domain``."""
    dmarc = _method(results, "dmarc")
    if dmarc is not None and _same_from(dmarc, domain):
        if dmarc.result == "pass":
            return Verdict(True, "dmarc_pass", domain)
        if dmarc.result == "fail":
            # A forwarder breaks DMARC; a trusted sealer's ARC set may still prove it.
            if _arc_vouched(results, domain, headers, rules):
                return Verdict(True, "arc_trusted_sealer", domain)
            return Verdict(False, "dmarc_fail", failed=True)
    dkim = [r for r in results if r.method == "dkim" and r.result == "pass"]
    if any(aligned(_prop_domain(r, "header.d", "header.i"), domain) for r in dkim):
        return Verdict(True, "dkim_aligned", domain)
    spf = [r for r in results if r.method == "spf" and r.result == "pass"]
    if any(aligned(_prop_domain(r, "smtp.mailfrom"), domain) for r in spf):
        return Verdict(True, "spf_aligned", domain)
    if _arc_vouched(results, domain, headers, rules):
        return Verdict(True, "arc_trusted_sealer", domain)
    return Verdict(False, "not_aligned")


def _same_from(result: MethodResult, domain: str) -> bool:
    """A DMARC result speaks of our From only if its ``header.from`` is that domain."""
    named = _clean_domain(result.props.get("header.from", ""))
    return not named or named == domain


def _arc_vouched(
    results: list[MethodResult], domain: str, headers: Sequence[tuple[str, str]], rules: RulesConfig
) -> bool:
    """Our server validated the ARC chain, and its newest sealer is one we trust."""
    arc = _method(results, "arc")
    trusted = {_clean_domain(d) for d in getattr(rules, "arc_trusted_sealers", []) or []}
    if arc is None or arc.result != "pass" or not trusted - {""}:
        return False
    seals = [(_tag(v, "i"), _clean_domain(_tag(v, "d"))) for n, v in headers if n == ARC_SEAL]
    numbered = [(int(i), d) for i, d in seals if i.isdigit()]
    if not numbered:
        return False
    instance, sealer = max(numbered)
    if sealer not in trusted:
        return False
    for name, value in headers:
        if name == ARC_RESULTS and _tag(value, "i") == str(instance):
            body = value.split(";", 1)[1] if ";" in value else ""
            _server, found = parse_results(body)
            dmarc = _method(found, "dmarc")
            return dmarc is not None and dmarc.result == "pass" and _same_from(dmarc, domain)
    return False


def _exchange_verdict(headers: Sequence[tuple[str, str]], domain: str) -> Verdict:
    """Exchange Online's own verdict (see the module docstring)."""
    auth_as = _first(headers, EXCHANGE_AUTH_AS).strip().lower()
    if auth_as == "internal":
        return Verdict(True, "exchange_internal", domain, server="exchange")
    values = [v for n, v in headers if n == AUTH_RESULTS]
    if not values:
        return Verdict(False, "no_verdict", server="exchange")
    server, results = parse_results(values[0])  # the topmost: the one Exchange added
    if server is not None:
        return Verdict(False, "no_verdict", server="exchange")
    compauth, dmarc = _method(results, "compauth"), _method(results, "dmarc")
    dmarc_failed = dmarc is not None and _same_from(dmarc, domain) and dmarc.result == "fail"
    if compauth is not None and compauth.result == "pass" and not dmarc_failed:
        return Verdict(True, "exchange_compauth", domain, server="exchange")
    failed = dmarc_failed or (compauth is not None and compauth.result == "fail")
    return Verdict(False, "exchange_fail" if failed else "not_aligned", failed=failed)


# --- RFC 8601 -------------------------------------------------------------------

_COMMENT = re.compile(r"\([^()]*\)")
_RESINFO = re.compile(r"^\s*([a-z0-9_.-]+)\s*(?:/\s*\d+)?\s*=\s*([a-z0-9_-]+)(.*)$", re.I | re.S)
_PROP = re.compile(r"([a-z0-9_-]+\.[a-z0-9_.-]+)\s*=\s*(\"[^\"]*\"|[^\s;]+)", re.I)


# This runs in the worker itself, on headers anyone can write: bounded, so that a
# thousand nested comments in five hundred headers cannot hold it (issue 8).
MAX_COMMENT_DEPTH = 8
MAX_RESULTS_HEADERS = 50


def _uncommented(text: str) -> str:
    text = " ".join(text.split())
    for _ in range(MAX_COMMENT_DEPTH):  # RFC 5322 §3.2.2 comments nest
        stripped = _COMMENT.sub(" ", text)
        if stripped == text:
            return text
        text = stripped
    return text.replace("(", " ").replace(")", " ")  # nested deeper than any server writes


def parse_results(header: str) -> tuple[str | None, list[MethodResult]]:
    """(authserv-id, results) of one ``Authentication-Results`` value (RFC 8601 §2.2).

    The authserv-id is None where the header has none (Exchange Online's
    format).  Never raises; what cannot be read is left out.
    """
    parts = _uncommented(header[:8192]).split(";")
    server: str | None = None
    if parts and "=" not in parts[0]:
        words = parts[0].split()
        server = words[0].lower().rstrip(".") if words else None
        parts = parts[1:]
    results = []
    for part in parts:
        match = _RESINFO.match(part)
        if match:
            props = {k.lower(): v.strip('"') for k, v in _PROP.findall(match.group(3))}
            results.append(MethodResult(match.group(1).lower(), match.group(2).lower(), props))
    return server, results


def _results_headers(headers: Sequence[tuple[str, str]]) -> list[tuple[str, list[MethodResult]]]:
    """The first `MAX_RESULTS_HEADERS` results headers, parsed (ours are added on top)."""
    found = []
    values = [v for n, v in headers if n == AUTH_RESULTS][:MAX_RESULTS_HEADERS]
    for value in values:
        server, results = parse_results(value)
        if server:
            found.append((server, results))
    return found


def _method(results: Iterable[MethodResult], name: str) -> MethodResult | None:
    return next((r for r in results if r.method == name), None)


def _first(headers: Sequence[tuple[str, str]], name: str) -> str:
    return next((v for n, v in headers if n == name), "")


def _tag(value: str, tag: str) -> str:
    """A ``tag=value`` of an ARC header (RFC 8617 §4.1: DKIM-style tag lists)."""
    match = re.search(rf"(?:^|;)\s*{re.escape(tag)}\s*=\s*([^;\s]+)", value)
    return match.group(1) if match else ""


def _prop_domain(result: MethodResult, *names: str) -> str:
    for name in names:
        value = result.props.get(name, "")
        if value:
            return _clean_domain(value.rpartition("@")[2])
    return ""


def _domain(address: str) -> str:
    return _clean_domain(address.rpartition("@")[2]) if "@" in address else ""


def _clean_domain(domain: str) -> str:
    return domain.strip().strip("<>").lower().rstrip(".")


def aligned(one: str, other: str) -> bool:
    """Relaxed alignment (RFC 7489 §3.1): one domain is the other or a subdomain of it."""
    if not one or not other or "." not in one or "." not in other:
        return False
    return one == other or one.endswith("." + other) or other.endswith("." + one)


def config_warnings(config: Any) -> list[str]:
    """What ``intake check-config`` should warn about (issue 8).

    In production (an IMAP mailbox, or replies by SMTP) with no authserv-id
    and no Exchange Online, no message can be authenticated: every one is
    held for a person and nothing is ever replied to.
    """
    rules = config.rules
    production = any(m.kind == "imap" for m in config.mailboxes) or (
        config.replies.transport == "smtp"
    )
    if production and not rules.authserv_ids and not getattr(rules, "exchange_online", False):
        return [
            f"{config.source}: rules.authserv_ids: warning: empty, so no sender can be "
            "authenticated: every message will wait for a person and none will be answered; "
            "name our receiving server's authserv-id (or set rules.exchange_online)"
        ]
    return []
