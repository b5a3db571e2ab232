"""A real SMTP server on loopback (aiosmtpd) that keeps what it is sent.

Use the fixture in a test module with ``from tests.servers.smtp import
smtp_server``; it yields a running `SmtpServer`::

    def test_it_sends(smtp_server):
        ...  # send to 127.0.0.1:smtp_server.port
        assert smtp_server.messages[0].rcpt_tos == ["referrer@agency.example"]

``smtp_server.stop()`` / ``start()`` take it down and bring it back on the
same port; ``data_reply`` / ``rcpt_reply`` make it answer DATA or RCPT with
another reply ("451 4.3.0 try later", "550 5.1.1 no such user").
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from tests.servers import free_port


@dataclass
class Captured:
    """One message the server accepted."""

    mail_from: str
    rcpt_tos: list[str]
    content: bytes


@dataclass
class SmtpServer:
    port: int
    messages: list[Captured] = field(default_factory=list)
    data_reply: str | None = None  # None: accept with 250
    rcpt_reply: str | None = None  # None: accept with 250
    accepted: threading.Event = field(default_factory=threading.Event)
    _controller: Controller | None = None

    @property
    def running(self) -> bool:
        return self._controller is not None

    def start(self) -> None:
        if self._controller is None:
            self._controller = Controller(
                _Handler(self), hostname="127.0.0.1", port=self.port, ready_timeout=10
            )
            self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


class _Handler:
    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if self.server.rcpt_reply:
            return self.server.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(
        self, server: Any, session: Any, envelope: Any
    ) -> str:
        if self.server.data_reply:
            return self.server.data_reply
        content = envelope.original_content or envelope.content
        self.server.messages.append(
            Captured(envelope.mail_from, list(envelope.rcpt_tos), bytes(content))
        )
        self.server.accepted.set()
        return "250 2.0.0 Message accepted for delivery"


def start_smtp_server() -> SmtpServer:
    server = SmtpServer(port=free_port())
    server.start()
    return server


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    server = start_smtp_server()
    try:
        yield server
    finally:
        server.stop()
