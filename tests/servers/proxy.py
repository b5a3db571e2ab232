"""An HTTPS reverse proxy on loopback in front of the web process, as production has.

Debian's Caddy (``apt-get install caddy``; never the system service), with a
Caddyfile of its own in a temporary folder: TLS with a local self-signed
certificate for ``localhost``, then ``reverse_proxy`` to the web process.
Like ``deploy/Caddyfile`` it passes the Host through and sets
``X-Forwarded-Proto: https`` (Caddy's default), which is what the web
process's settings must cope with.  No admin endpoint, no plain-HTTP
listener it was not asked for, nothing written outside the folder.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from tests.servers import free_port
from tests.servers.identity import make_certificate


@dataclass
class HttpsProxy:
    root: Path
    upstream_port: int
    port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"https://localhost:{self.port}"

    def start(self) -> None:
        certificate, key = make_certificate("localhost")
        (self.root / "cert.pem").write_bytes(certificate)
        (self.root / "key.pem").write_bytes(key)
        config = self.root / "Caddyfile"
        config.write_text(
            f"""{{
	admin off
	auto_https disable_redirects
	http_port {free_port()}
	https_port {self.port}
	storage file_system {self.root / "data"}
}}

https://localhost:{self.port} {{
	tls {self.root / "cert.pem"} {self.root / "key.pem"}
	reverse_proxy 127.0.0.1:{self.upstream_port}
}}
"""
        )
        env = {**os.environ, "HOME": str(self.root), "XDG_DATA_HOME": str(self.root / "data"),
               "XDG_CONFIG_HOME": str(self.root / "config")}  # fmt: skip
        log = (self.root / "caddy.log").open("wb")
        self.process = subprocess.Popen(
            ["caddy", "run", "--config", str(config), "--adapter", "caddyfile"],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self._wait_until_listening()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.process = None

    def _wait_until_listening(self) -> None:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                break
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.05)
        log = (self.root / "caddy.log").read_text(errors="replace")[-2000:]
        raise RuntimeError(f"caddy did not start:\n{log}")


def start_https_proxy(upstream_port: int) -> HttpsProxy | str:
    """A started proxy, or why it could not start (for a loud skip)."""
    if shutil.which("caddy") is None:
        return "caddy is not installed (apt-get install caddy)"
    proxy = HttpsProxy(Path(tempfile.mkdtemp(prefix="intake-proxy-")), upstream_port, free_port())
    try:
        proxy.start()
    except (RuntimeError, OSError) as exc:
        proxy.stop()
        return f"caddy did not start: {exc}"
    return proxy
