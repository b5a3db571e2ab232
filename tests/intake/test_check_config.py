"""``intake check-config --connect`` names exactly what is wrong, per mailbox; ``--config``
works before or after the sub-command."""

from __future__ import annotations

import pytest

from intake import cli
from tests.intake.conftest import imap_mailbox_table, maildir_config
from tests.servers import free_port
from tests.servers.m365 import SECRET_ENV

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def toml(table: dict) -> str:
    def value(v):
        return f'"{v}"' if isinstance(v, str) else str(v).lower() if isinstance(v, bool) else v

    return "[[mailboxes]]\n" + "".join(f"{k} = {value(v)}\n" for k, v in table.items())


def check(tmp_path, capsys, table: dict) -> tuple[int, str, str]:
    path = tmp_path / "intake.toml"
    path.write_text(toml(table))
    status = cli.main(["check-config", "--connect", "--config", str(path)])
    out, err = capsys.readouterr()
    return status, out, err


def test_it_takes_config_before_or_after_the_sub_command(tmp_path, capsys):
    path = maildir_config(tmp_path)
    assert cli.main(["--config", str(path), "check-config"]) == 0
    assert cli.main(["check-config", "--config", str(path)]) == 0
    assert capsys.readouterr().out.count("OK; mailboxes: referrals (maildir)") == 2


def test_it_says_the_name_does_not_resolve(tmp_path, capsys, imap_account):
    status, _, err = check(
        tmp_path,
        capsys,
        imap_mailbox_table(imap_account, host="imap.no-such-host.invalid", security="tls"),
    )
    assert status == 1
    assert "referrals: cannot connect: host_not_found: the name 'imap.no-such-host.invalid' " \
        "does not resolve" in err  # fmt: skip


def test_it_says_the_port_refused(tmp_path, capsys, imap_account):
    port = free_port()
    status, _, err = check(tmp_path, capsys, imap_mailbox_table(imap_account, port=port))
    assert status == 1
    assert f"referrals: cannot connect: connection_refused: 127.0.0.1:{port} refused" in err


def test_it_says_the_tls_certificate_is_wrong(tmp_path, capsys, imap_account):
    table = imap_mailbox_table(
        imap_account, host="localhost", port=imap_account.server.tls_port, security="tls"
    )
    status, _, err = check(tmp_path, capsys, table)
    assert status == 1
    assert f"tls_certificate_rejected: localhost:{imap_account.server.tls_port}: " in err
    assert "self-signed certificate" in err


def test_it_says_the_password_variable_is_unset(tmp_path, capsys, imap_account, monkeypatch):
    monkeypatch.delenv("INTAKE_TEST_IMAP_PASSWORD")
    status, _, err = check(tmp_path, capsys, imap_mailbox_table(imap_account))
    assert status == 1
    assert "password_missing: $INTAKE_TEST_IMAP_PASSWORD is not set" in err


def test_it_quotes_the_server_refusing_the_login(tmp_path, capsys, imap_account, monkeypatch):
    monkeypatch.setenv("INTAKE_TEST_IMAP_PASSWORD", "wrong")
    status, _, err = check(tmp_path, capsys, imap_mailbox_table(imap_account))
    assert status == 1
    assert "mailbox_auth_failed: [AUTHENTICATIONFAILED] Authentication failed." in err


def test_it_quotes_microsoft_refusing_the_token(tmp_path, capsys, m365, monkeypatch):
    monkeypatch.setenv(SECRET_ENV, "an-old-secret")
    status, _, err = check(tmp_path, capsys, m365.mailbox_table())
    assert status == 1
    assert "token_refused: AADSTS7000215: Invalid client secret provided." in err
    assert "Trace ID" not in err


def test_it_lists_the_folders_when_the_watched_one_is_missing(tmp_path, capsys, imap_account):
    imap_account.append(b"Subject: x\r\n\r\nx\r\n", folder="Referrals")
    status, out, err = check(tmp_path, capsys, imap_mailbox_table(imap_account, folder="Referral"))
    assert status == 1
    assert "referrals: connected; folders: INBOX, Referrals" in out
    assert "folder_missing: 'Referral' does not exist; the folders are: INBOX, Referrals" in err


def test_it_confirms_an_oauth_mailbox_that_signs_in(tmp_path, capsys, m365):
    status, out, _ = check(tmp_path, capsys, m365.mailbox_table())
    assert status == 0
    assert "referrals: connected; folders: INBOX" in out
