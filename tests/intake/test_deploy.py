"""The production deployment as written: compose.yaml's web process, started with its
command and environment (no container daemon), behind an HTTPS reverse proxy on
loopback (Caddy), takes a sign-in in a real browser; without a secret key or an
allowed host it says so in one line; ``check --deploy`` is clean under its settings.

The one departure from the containers: the database.  compose.yaml's
``DATABASE_URL`` names the ``db`` service; here it is a SQLite file of the test's own,
and ``INTAKE_HOME`` a temporary folder (the image sets ``/app``).
"""

from __future__ import annotations

import os
import re
import secrets
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from intake import cli
from intake.config import PROJECT_ROOT
from tests.intake.conftest import maildir_config
from tests.servers import browser, free_port, server_missing
from tests.servers.compose import command_and_environment
from tests.servers.proxy import HttpsProxy, start_https_proxy

PASSWORD = "correct horse battery staple"


@dataclass
class Deployment:
    root: Path
    variables: dict[str, str]
    overrides: dict[str, str]

    def service(self, name: str) -> tuple[list[str], dict[str, str]]:
        argv, environment = command_and_environment(name, self.variables)
        assert argv[0] == "intake"
        env = {**_clean_environment(), **environment, **self.overrides}
        return [sys.executable, "-m", "intake.cli", *argv[1:]], env

    def run(self, name: str, *extra: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        argv, env = self.service(name)
        return subprocess.run(
            [*argv, *extra], env=env, cwd=PROJECT_ROOT, input=stdin, text=True,
            capture_output=True, timeout=120,
        )  # fmt: skip


def _clean_environment() -> dict[str, str]:
    """This machine's environment without the settings the compose file decides."""
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "INTAKE_", "DATABASE_URL"))
    }


@pytest.fixture
def deployment(tmp_path: Path) -> Deployment:
    config = maildir_config(
        tmp_path,
        f'templates_dir = "{PROJECT_ROOT / "config" / "replies"}"\n\n'
        f'[[mailboxes]]\nname = "notifications"\nkind = "maildir"\npath = "{tmp_path / "b"}"\n',
    )
    config.write_text(f'forms_dir = "{PROJECT_ROOT / "config" / "forms"}"\n' + config.read_text())
    variables = {
        "POSTGRES_PASSWORD": "unused-here",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "INTAKE_HOSTNAME": "localhost",
        "INTAKE_WEB_PORT": str(free_port()),
    }
    overrides = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'intake.sqlite3'}",
        "INTAKE_CONFIG": str(config),
        "INTAKE_HOME": str(tmp_path),
    }
    return Deployment(tmp_path, variables, overrides)


def test_it_refuses_to_serve_without_a_secret_key_in_one_line(deployment):
    deployment.variables["DJANGO_SECRET_KEY"] = "set-below"
    argv, env = deployment.service("web")
    del env["DJANGO_SECRET_KEY"]
    done = subprocess.run(argv, env=env, cwd=PROJECT_ROOT, capture_output=True, text=True,
                          timeout=120)  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "intake serve: DJANGO_SECRET_KEY is not set: set it to a long random value "
        "(python -c 'import secrets; print(secrets.token_urlsafe(50))'), "
        "or DJANGO_DEBUG=1 on a developer's machine"
    ]


def test_it_refuses_to_serve_without_an_allowed_host_in_one_line(deployment):
    argv, env = deployment.service("web")
    del env["DJANGO_ALLOWED_HOSTS"]
    done = subprocess.run(argv, env=env, cwd=PROJECT_ROOT, capture_output=True, text=True,
                          timeout=120)  # fmt: skip
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("intake serve: DJANGO_ALLOWED_HOSTS is not set: ")
    assert "Traceback" not in done.stdout + done.stderr


def test_it_passes_djangos_deployment_checks_under_the_compose_settings(deployment):
    _, env = deployment.service("web")
    done = subprocess.run(
        [sys.executable, "-m", "django", "check", "--deploy", "--fail-level", "WARNING"],
        env={**env, "DJANGO_SETTINGS_MODULE": "config.settings"},
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "System check identified no issues" in done.stdout


@pytest.fixture
def web(deployment) -> Iterator[Deployment]:
    migrated = deployment.run("migrate")
    assert migrated.returncode == 0, migrated.stderr
    argv, env = deployment.service("web")  # createuser in the web service's environment
    created = subprocess.run(
        [sys.executable, "-m", "intake.cli", "createuser", "casey", "--password-stdin"],
        env=env, cwd=PROJECT_ROOT, input=PASSWORD + "\n", text=True, capture_output=True,
        timeout=120,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    log = (deployment.root / "web.log").open("w")
    process = subprocess.Popen(argv, env=env, cwd=PROJECT_ROOT, stdout=log, stderr=log)
    try:
        _wait_for_port(int(deployment.variables["INTAKE_WEB_PORT"]), process, deployment.root)
        yield deployment
    finally:
        process.terminate()
        process.wait(15)


def _wait_for_port(port: int, process: subprocess.Popen[bytes], root: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, (root / "web.log").read_text()[-3000:]
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("the web process never listened")


@pytest.fixture
def proxy(web) -> Iterator[HttpsProxy]:
    started = start_https_proxy(int(web.variables["INTAKE_WEB_PORT"]))
    if isinstance(started, str):
        server_missing(started)
    yield started
    started.stop()


def _raise_alarm(database: Path) -> None:
    with sqlite3.connect(database) as db:
        db.execute(
            "insert into intake_mailboxalarm (mailbox, kind, reason, detail, since, last_seen_at)"
            " values ('referrals', 'sign_in_failed', 'token_refused',"
            " 'AADSTS7000215: Invalid client secret provided.', datetime('now'), datetime('now'))"
        )


@pytest.mark.integration
@pytest.mark.slow
def test_it_signs_in_through_the_https_proxy_as_production_runs(web, proxy):
    reason = browser.missing_reason()
    if reason:
        server_missing(reason)
    from playwright.sync_api import expect, sync_playwright

    _raise_alarm(web.root / "intake.sqlite3")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=browser.CHROMIUM, args=browser.CHROMIUM_ARGS, headless=True
        )
        context = chromium.new_context(ignore_https_errors=True, java_script_enabled=False)
        context.set_default_timeout(15_000)
        page = context.new_page()
        try:
            response = page.goto(proxy.url + "/")
            assert response is not None
            assert "max-age=31536000" in (response.headers.get("strict-transport-security") or "")
            browser.sign_in(page, proxy.url, "casey", PASSWORD)  # password, then the second factor
            expect(page.get_by_role("heading", name="Referrals", level=1)).to_be_visible()
            expect(page.get_by_role("alert")).to_contain_text("Mailbox referrals cannot sign in")
            page.screenshot(path="/tmp/intake-browser-behind-proxy.png", full_page=True)
            cookies = {c["name"]: c for c in context.cookies()}
            assert cookies["sessionid"]["secure"] and cookies["csrftoken"]["secure"]
        finally:
            context.close()
            chromium.close()


@pytest.mark.integration
@pytest.mark.slow
def test_it_sends_plain_http_to_https_but_answers_the_health_check(web):
    import urllib.error
    import urllib.request

    base = f"http://127.0.0.1:{web.variables['INTAKE_WEB_PORT']}"

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    request = urllib.request.Request(base + "/login/", headers={"Host": "localhost"})
    with pytest.raises(urllib.error.HTTPError) as redirected:
        opener.open(request, timeout=10)
    assert redirected.value.code == 301
    assert redirected.value.headers["Location"] == "https://localhost/login/"
    checked = subprocess.run(
        [sys.executable, "-m", "intake.cli", "healthcheck", "--web", base + "/healthz"],
        env=web.service("web")[1], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert checked.returncode == 0, checked.stderr
    assert re.search(r"/healthz: (200|503)$", checked.stdout.strip())


@pytest.mark.django_db
def test_the_worker_health_check_fails_until_every_mailbox_was_polled(tmp_path, monkeypatch):
    from intake import pipeline
    from intake.config import load_config

    path = maildir_config(tmp_path)
    monkeypatch.setenv("INTAKE_CONFIG", str(path))
    assert cli.main(["healthcheck"]) == 1
    pipeline.poll_all(load_config(path))
    assert cli.main(["healthcheck"]) == 0
