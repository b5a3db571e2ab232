"""Loading and checking config/intake.toml: clear errors naming file, key and problem."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from intake.config import PROJECT_ROOT, ConfigError, load_config, parse_config
from parsers.limits import Limits


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "intake.toml"
    path.write_text(text)
    return path


def error_of(data: dict) -> str:
    with pytest.raises(ConfigError) as raised:
        parse_config(data, "config/intake.toml")
    return str(raised.value)


def imap(**overrides) -> dict:
    return {
        "name": "referrals",
        "kind": "imap",
        "host": "imap.example.org",
        "username": "u",
        "password_env": "PW",
    } | overrides


def test_it_loads_the_embedded_default_configuration():
    config = load_config(PROJECT_ROOT / "config" / "intake.toml")
    assert [m.kind for m in config.mailboxes] == ["maildir"]
    assert config.mailboxes[0].path == str(PROJECT_ROOT / "var" / "mail" / "referrals")
    assert config.replies.transport == "outbox"
    assert config.schedule.poll_seconds == 60


def test_it_names_file_key_and_problem_for_a_bad_port():
    message = error_of({"mailboxes": [imap(port=70000)]})
    assert (
        message == "config/intake.toml: mailboxes[0].port: must be a whole number from 1 to 65535"
    )


def test_it_rejects_an_unknown_key_and_lists_the_allowed_ones():
    message = error_of({"schedule": {"poll_secs": 5}})
    assert message.startswith("config/intake.toml: schedule.poll_secs: unknown key; allowed keys: ")
    assert "poll_seconds" in message


def test_it_rejects_an_unknown_section():
    assert "storage: unknown key" in error_of({"storage": {}})


def test_it_rejects_a_value_of_the_wrong_type():
    assert error_of({"schedule": {"poll_seconds": "60"}}).endswith(
        "schedule.poll_seconds: must be a whole number"
    )


def test_it_refuses_plain_text_imap_except_on_loopback():
    assert "mailboxes[0].security: none is only allowed" in error_of(
        {"mailboxes": [imap(security="none")]}
    )
    config = parse_config({"mailboxes": [imap(security="none", host="127.0.0.1")]})
    assert config.mailboxes[0].port == 143


def test_it_defaults_the_port_from_the_security():
    config = parse_config({"mailboxes": [imap(), imap(name="b", security="starttls")]})
    assert [m.port for m in config.mailboxes] == [993, 143]


def test_it_requires_the_name_of_the_password_variable_not_the_password():
    assert "mailboxes[0].password_env: names the environment variable" in error_of(
        {"mailboxes": [imap(password_env="")]}
    )
    assert "mailboxes[0].password: unknown key" in error_of(
        {"mailboxes": [imap(password="hunter2")]}
    )


def test_it_rejects_two_mailboxes_with_one_name():
    assert "mailboxes[1].name: 'referrals' is used twice" in error_of(
        {"mailboxes": [imap(), imap()]}
    )


def test_it_requires_a_path_for_a_maildir_mailbox():
    assert "mailboxes[0].path: is required" in error_of(
        {"mailboxes": [{"name": "m", "kind": "maildir"}]}
    )


def test_it_builds_the_parser_limits_from_the_limits_table():
    config = parse_config({"limits": {"max_pages": 7}})
    assert config.limits == Limits(max_pages=7)
    assert "limits.max_pages: must be greater than 0" in error_of({"limits": {"max_pages": 0}})


def test_it_lets_database_url_win_over_the_store_url(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@db.example/intake")
    assert (
        parse_config({"store": {"url": "sqlite:///x.sqlite3"}}).store.url
        == "postgresql://u@db.example/intake"
    )


def test_it_rejects_a_store_url_it_cannot_use(monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert "store.url: must start with" in error_of({"store": {"url": "mysql://x"}})


def test_it_resolves_relative_paths_against_intake_home(monkeypatch, tmp_path):
    shutil.copytree(Path(__file__).resolve().parents[2] / "config" / "forms", tmp_path / "forms")
    monkeypatch.setenv("INTAKE_HOME", str(tmp_path))
    config = parse_config(
        {"forms_dir": "forms", "mailboxes": [{"name": "m", "kind": "maildir", "path": "var/mail"}]}
    )
    assert config.mailboxes[0].path == str(tmp_path / "var" / "mail")
    assert config.replies.outbox_dir == str(tmp_path / "var" / "outbox")
    assert config.forms_dir == str(tmp_path / "forms")


def test_it_reads_every_form_type_of_the_forms_folder_unless_told_otherwise():
    config = parse_config({})
    assert sorted(config.rules.accept_forms) == ["cspr_referral", "serious_incident_notification"]


def test_it_names_the_forms_folder_when_it_holds_no_schema(tmp_path):
    assert "forms_dir: the form schemas cannot be read" in error_of({"forms_dir": str(tmp_path)})


def test_it_checks_reply_and_smtp_settings():
    assert "replies.transport: must be one of outbox, smtp" in error_of(
        {"replies": {"transport": "pigeon"}}
    )
    assert "smtp.host: is required when replies.transport is smtp" in error_of(
        {"replies": {"transport": "smtp"}}
    )
    assert "smtp.security: none is only allowed" in error_of(
        {"smtp": {"host": "mail.example.org", "security": "none"}}
    )


def test_it_rejects_an_unknown_form_type_and_time_zone():
    assert "rules.accept_forms[0]: must be one of" in error_of(
        {"rules": {"accept_forms": ["tax_return"]}}
    )
    assert "service.timezone: is not a known time zone" in error_of(
        {"service": {"timezone": "Mars/Olympus"}}
    )


def test_it_says_which_file_is_not_valid_toml(tmp_path):
    with pytest.raises(ConfigError) as raised:
        load_config(write(tmp_path, "[schedule\npoll_seconds = 1"))
    assert raised.value.key == "(file)"
    assert "is not valid TOML" in str(raised.value)


def test_it_says_when_the_file_is_missing(tmp_path):
    with pytest.raises(ConfigError, match="no such file"):
        load_config(tmp_path / "absent.toml")


def test_it_reads_the_path_from_intake_config(monkeypatch, tmp_path):
    monkeypatch.setenv("INTAKE_CONFIG", str(write(tmp_path, "[schedule]\npoll_seconds = 5\n")))
    assert load_config().schedule.poll_seconds == 5
