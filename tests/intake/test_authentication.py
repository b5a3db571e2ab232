"""One verdict on the sender, from our own mail server's word only (issue 8)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from intake.authentication import authenticate, config_warnings, parse_results
from intake.config import parse_config
from parsers.limits import Limits
from parsers.mail import read_mail

EXAMPLES = Path(__file__).resolve().parents[3] / "shared" / "forms" / "examples"
OUR_MX = "mx.ours.example"
FROM = ["jo.bloggs@agency.example"]


@dataclass
class Rules:
    authserv_ids: list[str] = field(default_factory=lambda: [OUR_MX])
    exchange_online: bool = False
    arc_trusted_sealers: list[str] = field(default_factory=list)


def results(*values: str, name: str = "authentication-results") -> list[tuple[str, str]]:
    return [(name, v) for v in values]


def verdict(headers, rules=None, senders=FROM):
    return authenticate(headers, senders, rules or Rules())


def test_it_authenticates_a_dmarc_pass_from_our_server():
    found = verdict(results(f"{OUR_MX}; dmarc=pass header.from=agency.example"))
    assert (found.authenticated, found.reason, found.domain) == (
        True,
        "dmarc_pass",
        "agency.example",
    )


def test_it_counts_no_verdict_as_unauthenticated_never_as_pass():
    assert verdict([]).reason == "no_verdict" and not verdict([]).authenticated
    assert not verdict(results(f"{OUR_MX}; dmarc=pass"), Rules(authserv_ids=[])).authenticated


def test_it_trusts_no_results_written_by_anyone_else():
    forged = results("mx.evil.example; dmarc=pass header.from=agency.example")
    assert verdict(forged).reason == "no_verdict"


def test_it_trusts_nothing_when_our_own_id_is_forged_beside_our_fail():
    headers = results(
        f"{OUR_MX}; dmarc=fail header.from=agency.example",
        f"{OUR_MX}; dmarc=pass header.from=agency.example",  # written by the sender
    )
    found = verdict(headers)
    assert (found.authenticated, found.reason, found.failed) == (
        False,
        "conflicting_verdicts",
        True,
    )


def test_it_sees_a_dmarc_failure():
    found = verdict(results(f"{OUR_MX}; dmarc=fail (p=reject) header.from=agency.example"))
    assert (found.authenticated, found.failed, found.reason) == (False, True, "dmarc_fail")


def test_it_takes_dkim_or_spf_only_for_an_aligned_domain():
    aligned = results(f"{OUR_MX}; dkim=pass header.d=mail.agency.example; dmarc=none")
    other = results(
        f"{OUR_MX}; dkim=pass header.d=evil.example; spf=pass smtp.mailfrom=evil.example"
    )
    assert verdict(aligned).reason == "dkim_aligned"
    assert verdict(other).reason == "not_aligned"


def test_it_ignores_a_dmarc_pass_for_another_from_domain():
    found = verdict(results(f"{OUR_MX}; dmarc=pass header.from=evil.example"))
    assert not found.authenticated


def test_it_refuses_several_from_addresses():
    headers = results(f"{OUR_MX}; dmarc=pass header.from=agency.example")
    assert verdict(headers, senders=[*FROM, "x@evil.example"]).reason == "several_from"


EXCHANGE_RESULTS = (
    "spf=pass (sender IP is 51.249.119.227) smtp.mailfrom=agency.example; dkim=pass "
    "(signature was verified) header.d=agency.example;dmarc=pass action=none "
    "header.from=agency.example;compauth=pass reason=100"
)


def test_it_reads_exchange_onlines_own_verdict_when_exchange_marked_the_message():
    headers = [
        ("x-ms-exchange-organization-authas", "Anonymous"),
        *results(EXCHANGE_RESULTS),
    ]
    found = verdict(headers, Rules(authserv_ids=[], exchange_online=True))
    assert (found.authenticated, found.reason) == (True, "exchange_compauth")


def test_it_takes_an_internal_sender_of_our_organisation_as_authenticated():
    headers = [("x-ms-exchange-organization-authas", "Internal")]
    assert verdict(headers, Rules(exchange_online=True)).reason == "exchange_internal"


def test_it_ignores_exchange_style_results_without_exchanges_mark():
    found = verdict(results(EXCHANGE_RESULTS), Rules(exchange_online=True))
    assert not found.authenticated


def test_it_sees_exchanges_composite_failure():
    headers = [
        ("x-ms-exchange-organization-authas", "Anonymous"),
        *results("spf=fail smtp.mailfrom=agency.example;dmarc=fail header.from=agency.example;"
                 "compauth=fail reason=000"),
    ]  # fmt: skip
    found = verdict(headers, Rules(exchange_online=True))
    assert (found.authenticated, found.failed) == (False, True)


def arc_headers(sealer: str) -> list[tuple[str, str]]:
    return [
        *results(f"{OUR_MX}; arc=pass; dmarc=fail header.from=agency.example"),
        ("arc-seal", f"i=2; a=rsa-sha256; cv=pass; d={sealer}; s=arc; b=xyz"),
        ("arc-authentication-results", f"i=2; {sealer}; dmarc=pass header.from=agency.example"),
        ("arc-seal", "i=1; a=rsa-sha256; cv=none; d=agency.example; s=arc; b=abc"),
    ]


def test_it_takes_arc_only_from_a_sealer_we_trust_when_our_server_vouches():
    headers = arc_headers("lists.trusted.example")
    trusted = Rules(arc_trusted_sealers=["lists.trusted.example"])
    assert verdict(headers, trusted).reason == "arc_trusted_sealer"
    assert not verdict(headers).authenticated  # no sealer trusted
    assert not verdict(arc_headers("evil.example"), trusted).authenticated


def test_it_parses_results_with_comments_and_no_authserv_id():
    server, found = parse_results(EXCHANGE_RESULTS)
    assert server is None
    assert {r.method: r.result for r in found} == {
        "spf": "pass",
        "dkim": "pass",
        "dmarc": "pass",
        "compauth": "pass",
    }


@pytest.mark.parametrize(
    ("name", "authenticated"),
    [("referral-incomplete", True), ("dmarc-fail", False), ("zipped", False)],
)
def test_it_judges_the_published_examples_by_our_mx(name, authenticated):
    path = EXAMPLES / f"{name}.eml"
    if not path.exists():
        pytest.skip(f"no example {path}")
    mail = read_mail(path.read_bytes(), Limits())
    rules = Rules(authserv_ids=["mx1.warrington.gov.uk"])
    assert verdict(mail.headers, rules, mail.from_addresses).authenticated is authenticated


def test_check_config_warns_when_production_names_no_authserv_id():
    production = parse_config(
        {
            "replies": {"transport": "smtp"},
            "smtp": {"host": "smtp.example.org"},
        },
        "intake.toml",
    )
    [warning] = config_warnings(production)
    assert "rules.authserv_ids" in warning
    named = parse_config(
        {
            "replies": {"transport": "smtp"},
            "smtp": {"host": "smtp.example.org"},
            "rules": {"authserv_ids": ["mx.example.org"]},
        }
    )
    assert config_warnings(named) == []


def test_check_config_prints_the_warning_and_still_passes(tmp_path, capsys, monkeypatch):
    from intake import cli

    config = tmp_path / "intake.toml"
    config.write_text(
        '[[mailboxes]]\nname = "referrals"\nkind = "imap"\nhost = "imap.example.org"\n'
        'username = "referrals@example.org"\npassword_env = "INTAKE_IMAP_PASSWORD"\n'
    )
    monkeypatch.setenv("INTAKE_CONFIG", str(config))  # restored after: main() sets it too
    assert cli.main(["--config", str(config), "check-config"]) == 0
    assert "rules.authserv_ids: warning" in capsys.readouterr().err


def test_it_judges_a_flood_of_deeply_commented_results_in_no_time():
    # Issue 8: this runs in the worker itself, on headers anyone can write.
    header = f"{OUR_MX}; " + "(" * 2000 + ")" * 2000 + " dmarc=pass header.from=agency.example"
    started = time.monotonic()
    verdict(results(*[header] * 500))
    assert time.monotonic() - started < 2
