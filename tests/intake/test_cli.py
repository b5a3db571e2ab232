"""The intake command: help everywhere, clean errors, the sub-commands' effects."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth.models import User

from intake import cli
from intake.config import PROJECT_ROOT
from intake.models import InboundMessage
from tests.builders.mime_builder import build_email
from tests.intake.conftest import maildir_config

EXAMPLES = Path(
    os.environ.get("INTAKE_EXAMPLES", PROJECT_ROOT.parent / "shared" / "forms" / "examples")
)
COMMANDS = ["migrate", "createuser", "worker", "poll", "serve", "check-config", "check", "seed"]


def run_intake(
    *args: str, env: dict[str, str] | None = None, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "intake.cli", *args],
        capture_output=True,
        text=True,
        input=stdin,
        timeout=120,
        cwd=PROJECT_ROOT,
        env={**os.environ, **(env or {})},
    )


@pytest.mark.parametrize("command", COMMANDS)
def test_it_offers_help_on_every_sub_command(command, capsys):
    with pytest.raises(SystemExit) as exited:
        cli.main([command, "--help"])
    assert exited.value.code == 0
    assert "usage: intake " + command in capsys.readouterr().out


def test_it_prints_a_configuration_error_in_one_line_and_exits_2(tmp_path):
    bad = tmp_path / "intake.toml"
    bad.write_text(
        '[[mailboxes]]\nname = "r"\nkind = "imap"\nhost = "h"\n'
        'username = "u"\npassword_env = "P"\nport = 99999\n'
    )
    done = run_intake("check-config", env={"INTAKE_CONFIG": str(bad)})
    assert done.returncode == 2
    assert done.stderr.strip().endswith(
        "intake.toml: mailboxes[0].port: must be a whole number from 1 to 65535"
    )
    assert "Traceback" not in done.stderr + done.stdout


def test_it_confirms_a_good_configuration(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("INTAKE_CONFIG", str(maildir_config(tmp_path)))
    assert cli.main(["check-config", "--connect"]) == 0
    out = capsys.readouterr().out
    assert "OK; mailboxes: referrals (maildir)" in out
    assert "referrals: connected; folders: INBOX" in out


def test_it_names_a_broken_reply_template_and_exits_2(tmp_path, capsys, monkeypatch):
    templates = tmp_path / "replies"
    shutil.copytree(PROJECT_ROOT / "config" / "replies", templates)
    (templates / "acknowledgement.txt").write_text("Reference: {{ reply.reference ")
    config = maildir_config(tmp_path, f'templates_dir = "{templates}"')
    monkeypatch.setenv("INTAKE_CONFIG", str(config))
    assert cli.main(["check-config"]) == 2
    assert "acknowledgement.txt: unexpected end of template" in capsys.readouterr().err


def test_it_names_a_mistake_in_a_form_schema_and_exits_2(tmp_path, capsys, monkeypatch):
    forms = tmp_path / "forms"
    shutil.copytree(PROJECT_ROOT / "config" / "forms", forms)
    schema = forms / "cspr_referral.toml"
    schema.write_text(schema.read_text().replace('type = "yesno"', 'type = "yes-no"', 1))
    config = maildir_config(tmp_path)
    config.write_text(f'forms_dir = "{forms}"\n' + config.read_text())
    monkeypatch.setenv("INTAKE_CONFIG", str(config))
    assert cli.main(["check-config"]) == 2
    assert "cspr_referral.toml: fields[10].type: must be one of" in capsys.readouterr().err


@pytest.mark.skipif(not EXAMPLES.is_dir(), reason="the shared examples folder is not here")
@pytest.mark.django_db  # it reads the wordings the team taught, as the worker does
def test_it_prints_an_outcome_for_every_example_without_a_traceback(capfd):
    for eml in sorted(EXAMPLES.glob("*.eml")):
        code = cli.main(["check", str(eml), "--json"])
        out, err = capfd.readouterr()
        assert code == 0, f"{eml.name}: {err}"
        outcome = json.loads(out)
        assert set(outcome) >= {
            "decision",
            "form_type",
            "fields",
            "missing",
            "invalid",
            "reply",
            "reasons",
        }
        assert "Traceback" not in err


@pytest.mark.django_db  # it reads the wordings the team taught, as the worker does
def test_it_prints_a_readable_outcome_without_json(capfd, tmp_path):
    eml = tmp_path / "enquiry.eml"

    eml.write_bytes(build_email(1, subject="A question"))
    assert cli.main(["check", str(eml)]) == 0
    out = capfd.readouterr().out
    assert out.startswith("decision:  ")
    assert "reasons:" in out


def test_it_fails_cleanly_when_the_message_cannot_be_assessed(capfd, tmp_path, monkeypatch):
    def broken(raw, config, schemas=None):
        raise RuntimeError("parser fell over")

    monkeypatch.setattr("intake.assess.assess_message", broken)
    eml = tmp_path / "m.eml"
    eml.write_bytes(b"Subject: x\r\n\r\nbody")
    assert cli.main(["check", str(eml), "--json"]) == 1
    out, err = capfd.readouterr()
    assert out == ""
    assert "could not assess" in err and "Traceback" not in err


def test_it_says_when_the_message_file_is_missing(capfd, tmp_path):
    assert cli.main(["check", str(tmp_path / "absent.eml")]) == 2
    assert "cannot read" in capfd.readouterr().err


@pytest.mark.django_db
def test_it_creates_a_team_user_with_the_password_from_stdin(monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO("a-long-enough-passphrase\n"))
    assert cli.main(["createuser", "casey", "--password-stdin"]) == 0
    user = User.objects.get(username="casey")
    assert user.check_password("a-long-enough-passphrase")
    assert not user.is_staff and user.groups.filter(name="team").exists()


@pytest.mark.django_db
def test_it_refuses_a_weak_password(monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO("password\n"))
    assert cli.main(["createuser", "casey", "--role", "admin", "--password-stdin"]) == 2
    assert not User.objects.exists()


@pytest.mark.django_db
def test_it_polls_once_and_reports_the_counts(tmp_path, monkeypatch, capsys, fake_steps):
    config = maildir_config(tmp_path)
    monkeypatch.setenv("INTAKE_CONFIG", str(config))
    assert cli.main(["seed"]) == 0
    assert cli.main(["poll", "--once"]) == 0
    out = capsys.readouterr().out
    assert "seeded 3 example emails" in out
    assert "referrals: ok; fetched 3, stored 3" in out
    assert InboundMessage.objects.filter(state="filed").count() == 3


def test_it_seeds_only_on_the_first_run(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("INTAKE_CONFIG", str(maildir_config(tmp_path)))
    cli.main(["seed"])
    cli.main(["seed"])
    assert "nothing to seed" in capsys.readouterr().out
    assert len(list((tmp_path / "Maildir" / "new").iterdir())) == 3


@pytest.mark.integration
def test_it_logs_in_to_an_imap_mailbox_and_lists_its_folders(
    tmp_path, imap_account, monkeypatch, capsys
):
    imap_account.append(build_email(1), folder="Processed")
    path = tmp_path / "intake.toml"
    path.write_text(
        f"""
[[mailboxes]]
name = "referrals"
kind = "imap"
host = "127.0.0.1"
port = {imap_account.server.port}
security = "none"
username = "{imap_account.username}"
password_env = "INTAKE_TEST_IMAP_PASSWORD"
"""
    )
    monkeypatch.setenv("INTAKE_CONFIG", str(path))
    assert cli.main(["check-config", "--connect"]) == 0
    assert "referrals: connected; folders: " in capsys.readouterr().out
    monkeypatch.setenv("INTAKE_TEST_IMAP_PASSWORD", "wrong")
    assert cli.main(["check-config", "--connect"]) == 1
    assert "referrals: cannot connect: mailbox_auth_failed" in capsys.readouterr().err


@pytest.mark.django_db
def test_it_refuses_in_one_line_without_a_terminal_to_ask_for_a_password(monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO(""))
    assert cli.main(["createuser", "casey"]) == 2
    err = capsys.readouterr().err
    assert "no terminal" in err and "--password-stdin" in err and "Traceback" not in err
    assert not User.objects.exists()


@pytest.mark.django_db
def test_it_changes_the_role_of_someone_who_exists(monkeypatch, capsys):
    from intake.models import AuditEvent
    from intake.users import role_of

    monkeypatch.setattr("sys.stdin", __import__("io").StringIO("a-long-enough-passphrase\n"))
    assert cli.main(["createuser", "casey", "--password-stdin"]) == 0
    assert cli.main(["createuser", "casey", "--role", "admin"]) == 0
    assert role_of(User.objects.get(username="casey")) == "admin"
    assert cli.main(["createuser", "casey", "--role", "team"]) == 0
    assert role_of(User.objects.get(username="casey")) == "team"
    assert AuditEvent.objects.filter(verb="role_changed").count() == 2


@pytest.mark.django_db
def test_it_resets_the_password_and_second_factor_of_someone_who_exists(monkeypatch, capsys):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from intake.users import has_second_factor

    monkeypatch.setattr("sys.stdin", __import__("io").StringIO("a-long-enough-passphrase\n"))
    cli.main(["createuser", "casey", "--password-stdin"])
    casey = User.objects.get(username="casey")
    TOTPDevice.objects.create(user=casey, name="app", confirmed=True)
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO("another-long-passphrase\n"))
    assert cli.main(["createuser", "casey", "--reset", "--password-stdin"]) == 0
    casey.refresh_from_db()
    assert casey.check_password("another-long-passphrase")
    assert not has_second_factor(casey)
    assert "reset casey" in capsys.readouterr().out


@pytest.mark.django_db
def test_it_says_so_when_the_name_exists_and_nothing_is_asked(monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO("a-long-enough-passphrase\n"))
    cli.main(["createuser", "casey", "--password-stdin"])
    assert cli.main(["createuser", "casey"]) == 2
    assert "exists already" in capsys.readouterr().err


@pytest.mark.django_db
def test_it_cannot_reset_someone_who_does_not_exist(capsys):
    assert cli.main(["createuser", "nobody", "--reset", "--password-stdin"]) == 2
    assert "no user called 'nobody'" in capsys.readouterr().err


def test_it_names_a_mistake_in_the_forms_lexicon_and_exits_2(tmp_path, capsys, monkeypatch):
    forms = tmp_path / "forms"
    shutil.copytree(PROJECT_ROOT / "config" / "forms", forms)
    lexicon = forms / "lexicon.toml"
    lexicon.write_text(lexicon.read_text().replace("synonyms = [", 'synonyms = [\n  ["alone"],', 1))
    config = maildir_config(tmp_path)
    config.write_text(f'forms_dir = "{forms}"\n' + config.read_text())
    monkeypatch.setenv("INTAKE_CONFIG", str(config))
    assert cli.main(["check-config"]) == 2
    assert (
        "lexicon.toml: synonyms[0]: must be a list of at least two words" in capsys.readouterr().err
    )
