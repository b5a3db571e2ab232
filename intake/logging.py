"""structlog, configured once: JSON lines off a terminal, readable lines on one.

Every line carries ``message_id`` (our database id), ``mailbox`` and ``step``
(``None`` where they do not apply), bound with `bind_message` /
``structlog.contextvars``.  `redact_personal_data` replaces the value of any
key that could hold a name, address, subject, body or form value, whatever
the caller passed: the logs must never carry personal data.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from typing import Any, TextIO

import structlog

PERSONAL_KEYS = frozenset(
    {
        "sender",
        "recipient",
        "to",
        "from",
        "from_",
        "cc",
        "bcc",
        "reply_to",
        "address",
        "email",
        "subject",
        "body",
        "text",
        "name",
        "filename",
        "value",
        "values",
        "fields",
        "raw",
        "password",
        "username",
    }
)
CONTEXT_KEYS = ("message_id", "mailbox", "step")
REDACTED = "[redacted]"
_configured = False


def redact_personal_data(
    _logger: Any, _method: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Replace values of personal keys (see `PERSONAL_KEYS`) with ``[redacted]``."""
    for key in event:
        if key.lower() in PERSONAL_KEYS:
            event[key] = REDACTED
    return event


def add_context_keys(
    _logger: Any, _method: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Make sure every line has message_id, mailbox and step, even as ``None``."""
    for key in CONTEXT_KEYS:
        event.setdefault(key, None)
    return event


def configure_logging(
    *, stream: TextIO | None = None, force: bool = False, json: bool | None = None
) -> None:
    """Configure structlog once per process (settings calls this; the CLI may call
    it first to send logs to stderr).  JSON lines unless ``stream`` is a terminal."""
    global _configured
    if _configured and not force:
        return
    explicit = stream
    stream = stream or sys.stdout
    as_json = not stream.isatty() if json is None else json
    renderer: Any = (
        structlog.processors.JSONRenderer() if as_json else structlog.dev.ConsoleRenderer()
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            add_context_keys,
            redact_personal_data,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
        # file=None follows sys.stdout as it is at each call (tests capture it)
        logger_factory=structlog.PrintLoggerFactory(file=explicit),
        cache_logger_on_first_use=False,
    )
    _configured = True


def configure_reader_logging() -> None:
    """Logging in the parser sandbox's worker processes: the service's format, on
    stderr (stdout may be a command's own answer, as for ``intake check --json``)."""
    configure_logging(stream=sys.stderr)


@contextmanager
def bind_message(
    *, message_id: int | None = None, mailbox: str | None = None, step: str | None = None
) -> Iterator[None]:
    """Carry message_id/mailbox/step on every log line inside the block."""
    values = {
        k: v
        for k, v in (("message_id", message_id), ("mailbox", mailbox), ("step", step))
        if v is not None
    }
    with structlog.contextvars.bound_contextvars(**values):
        yield
