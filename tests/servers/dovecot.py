"""A private Dovecot per test session, on loopback ports, under a temporary folder.

Not the system service: its own configuration, base_dir, log and users.
Each test gets its own account (and so its own empty Maildir) from
`DovecotServer.new_account`.  Plain IMAP listens on ``port``; implicit TLS
on ``tls_port`` with a self-signed certificate (``ca_file``), and STARTTLS
is offered on ``port``.  See /work/shared/notes/test-servers.md.

With ``oauth2_introspection_url`` it also takes XOAUTH2 and OAUTHBEARER: its
``oauth2`` passdb asks that URL (RFC 7662 introspection, ``POST token=...``)
whether a bearer token is active and whose it is, so a test runs the real
SASL exchange (`tests.servers.identity` answers).
"""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from imapclient import IMAPClient

from tests.servers import free_port

NOBODY_UID = 65534
ACCOUNTS = 500  # one fresh account (and Maildir) per test


@dataclass
class ImapAccount:
    server: DovecotServer
    username: str
    password: str

    @property
    def maildir(self) -> Path:
        return self.server.root / "mail" / self.username / "Maildir"

    def client(self) -> IMAPClient:
        client = IMAPClient("127.0.0.1", port=self.server.port, ssl=False, timeout=10)
        client.login(self.username, self.password)
        return client

    def append(self, raw: bytes, folder: str = "INBOX", flags: tuple[str, ...] = ()) -> None:
        self.append_many([raw], folder, flags)

    def append_many(
        self, raws: list[bytes], folder: str = "INBOX", flags: tuple[str, ...] = ()
    ) -> None:
        client = self.client()
        try:
            if not client.folder_exists(folder):
                client.create_folder(folder)
            for raw in raws:
                client.append(folder, raw, flags=flags)
        finally:
            client.logout()

    def uids(self, folder: str) -> list[int]:
        client = self.client()
        try:
            client.select_folder(folder, readonly=True)
            return sorted(client.search("ALL"))
        finally:
            client.logout()

    def flags(self, folder: str) -> dict[int, tuple[bytes, ...]]:
        client = self.client()
        try:
            client.select_folder(folder, readonly=True)
            uids = client.search("ALL")
            found = client.fetch(uids, ["FLAGS"]) if uids else {}
            # the \Recent flag is the server's, not a person's: leave it out
            return {u: tuple(f for f in d[b"FLAGS"] if f != b"\\Recent") for u, d in found.items()}
        finally:
            client.logout()

    def kick(self) -> None:
        """Drop every connection this account has open, as a server restart would."""
        self.server.doveadm("kick", self.username)


class DovecotServer:
    def __init__(self, root: Path, oauth2_introspection_url: str | None = None) -> None:
        self.root = root
        self.oauth2_introspection_url = oauth2_introspection_url
        self.port = free_port()
        self.tls_port = free_port()
        self.conf = root / "dovecot.conf"
        self.users = root / "users"
        self.ca_file = root / "cert.pem"
        self._counter = itertools.count(1)

    def start(self) -> None:
        (self.root / "mail").mkdir(exist_ok=True)
        os.chown(self.root / "mail", NOBODY_UID, NOBODY_UID)
        self._write_users()
        self._make_certificate()
        self.conf.write_text(self._config())
        subprocess.run(["doveconf", "-c", str(self.conf), "-n"], check=True, capture_output=True)
        # The daemon keeps inherited pipes open: give it no pipes to wait on.
        subprocess.run(
            ["dovecot", "-c", str(self.conf)],
            check=True,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self._wait_until_listening()

    def stop(self) -> None:
        subprocess.run(["doveadm", "-c", str(self.conf), "stop"], capture_output=True)
        pid_file = self.root / "run" / "master.pid"
        for _ in range(100):
            if not pid_file.exists():
                return
            time.sleep(0.05)

    def doveadm(self, *args: str) -> None:
        subprocess.run(["doveadm", "-c", str(self.conf), *args], check=True, capture_output=True)

    def _write_users(self) -> None:
        # Written once before start: Dovecot notices a changed passwd-file by its
        # mtime, which misses several changes within one second.
        lines = (f"user{n}:{{PLAIN}}pw-user{n}::::::\n" for n in range(1, ACCOUNTS + 1))
        self.users.write_text("".join(lines))

    def new_account(self) -> ImapAccount:
        n = next(self._counter)
        if n > ACCOUNTS:
            raise RuntimeError(f"more than {ACCOUNTS} test accounts: raise ACCOUNTS")
        account = ImapAccount(self, f"user{n}", f"pw-user{n}")
        account.client().logout()  # creates the Maildir
        return account

    def reset_uidvalidity(self, account: ImapAccount) -> None:
        """Make Dovecot forget the INBOX's UIDs: a new UIDVALIDITY, every UID renumbered."""
        self.stop()
        for path in account.maildir.glob("dovecot*"):
            if path.name.startswith("dovecot-uidvalidity"):
                continue  # keeps Dovecot's counter, so the new UIDVALIDITY differs
            path.unlink()
        self.start()

    def _make_certificate(self) -> None:
        if self.ca_file.exists():
            return
        subprocess.run(
            [
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "2",
                "-subj",
                "/CN=localhost",
                "-addext",
                "subjectAltName=DNS:localhost,IP:127.0.0.1",
                "-keyout",
                str(self.root / "key.pem"),
                "-out",
                str(self.ca_file),
            ],
            check=True,
            capture_output=True,
        )

    def _oauth2_config(self) -> str:
        """The oauth2 passdb, after passwd-file: a password login never reaches it
        with the right password, a bearer token always does."""
        if not self.oauth2_introspection_url:
            return ""
        args = self.root / "oauth2.conf.ext"
        args.write_text(
            "introspection_mode = post\n"
            f"introspection_url = {self.oauth2_introspection_url}\n"
            "force_introspection = yes\n"
            "username_attribute = username\n"
            "active_attribute = active\n"
            "active_value = true\n"
        )
        # Anvil's penalty delays each refused sign-in by 2-15 s: the tests refuse on purpose.
        return f"""
passdb {{
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = {args}
}}
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
"""

    def _config(self) -> str:
        r = self.root
        mechanisms = "plain login" + (
            " xoauth2 oauthbearer" if self.oauth2_introspection_url else ""
        )
        return f"""
base_dir = {r}/run
state_dir = {r}/state
instance_name = intake-test-{self.port}
log_path = {r}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = yes
ssl_cert = <{self.ca_file}
ssl_key = <{r}/key.pem
ssl_dh = </usr/share/dovecot/dh.pem
disable_plaintext_auth = no
auth_mechanisms = {mechanisms}
auth_failure_delay = 0
default_internal_user = dovecot
default_login_user = dovenull
first_valid_uid = {NOBODY_UID}
last_valid_uid = {NOBODY_UID}
mail_location = maildir:{r}/mail/%u/Maildir
mail_max_userip_connections = 200
mail_fsync = never  # a test server: speed over durability
passdb {{
  driver = passwd-file
  args = {self.users}
}}
{self._oauth2_config()}userdb {{
  driver = static
  args = uid=nobody gid=nogroup home={r}/mail/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {self.tls_port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
"""

    def _wait_until_listening(self) -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"dovecot did not start; see {self.root}/dovecot.log")


def start_dovecot(oauth2_introspection_url: str | None = None) -> DovecotServer | str:
    """A started server, or why it could not start (for a loud skip)."""
    if shutil.which("dovecot") is None or shutil.which("doveadm") is None:
        return "dovecot is not installed (apt-get install dovecot-imapd)"
    root = Path(tempfile.mkdtemp(prefix="intake-dovecot-"))
    root.chmod(0o755)  # Dovecot's unprivileged processes must reach the Maildirs
    server = DovecotServer(root, oauth2_introspection_url)
    try:
        server.start()
    except (subprocess.CalledProcessError, RuntimeError, OSError) as exc:
        return f"dovecot did not start: {exc}"
    return server
