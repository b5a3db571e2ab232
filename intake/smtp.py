"""Connecting to an SMTP submission server and signing in: password or XOAUTH2.

`connect` is the connect-and-login half of sending (`intake.outbox` sends
replies through it, `intake.alarms` sends alerts): STARTTLS or implicit TLS
with the system's certificates, then ``AUTH PLAIN/LOGIN`` with the password
in ``password_env``, or for ``auth = "oauth2"`` ``AUTH XOAUTH2`` with a token
of the app registration of the mailbox named by ``oauth_mailbox`` (Exchange
Online: ``smtp.office365.com:587``, the app granted ``SMTP.SendAsApp``, and
SMTP AUTH allowed for the mailbox).  A cached token the server refuses is
dropped and a fresh one tried once on the same connection.

It raises what smtplib raises (the caller decides what is retried), and
`MailboxError` when no token can be had.  With ``alarm_as``, a refused
sign-in raises a sign-in alarm under that name and a good one clears it.
"""

from __future__ import annotations

import contextlib
import os
import smtplib
import ssl
from typing import Any

import structlog

from intake.config import IntakeConfig, SmtpConfig
from intake.errors import MailboxAuthError
from intake.mailbox.base import Fault

log = structlog.get_logger(__name__)


def connect(smtp: SmtpConfig, config: IntakeConfig, *, alarm_as: str = "") -> smtplib.SMTP:
    """An SMTP connection, TLS as configured and signed in when a username is set."""
    client = _open(smtp)
    try:
        if smtp.username:
            _sign_in(client, smtp, config, alarm_as)
    except BaseException:
        with contextlib.suppress(smtplib.SMTPException, OSError):
            client.close()
        raise
    return client


def _open(smtp: SmtpConfig) -> smtplib.SMTP:
    context = ssl.create_default_context()
    if smtp.security == "tls":
        client: smtplib.SMTP = smtplib.SMTP_SSL(
            smtp.host, smtp.port, timeout=smtp.timeout_seconds, context=context
        )
    else:
        client = smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout_seconds)
    try:
        client.ehlo()
        if smtp.security == "starttls":
            client.starttls(context=context)
            client.ehlo()
    except BaseException:
        with contextlib.suppress(smtplib.SMTPException, OSError):
            client.close()
        raise
    return client


def _sign_in(client: smtplib.SMTP, smtp: SmtpConfig, config: IntakeConfig, alarm_as: str) -> None:
    try:
        if smtp.auth == "oauth2":
            _xoauth2(client, smtp, config)
        else:
            client.login(smtp.username, os.environ.get(smtp.password_env, ""))
    except smtplib.SMTPAuthenticationError as exc:
        log.warning("smtp_sign_in_refused", code=exc.smtp_code, route=alarm_as or "alerts")
        if alarm_as:
            _alarm(alarm_as, Fault.LOGIN_REFUSED, _server_words(exc))
        raise
    except MailboxAuthError as exc:  # no token to offer
        if alarm_as:
            _alarm(alarm_as, exc.reason, exc.detail)
        raise
    if alarm_as:
        from intake import alarms

        alarms.sign_in_ok(alarm_as)


def _xoauth2(client: smtplib.SMTP, smtp: SmtpConfig, config: IntakeConfig) -> None:
    from intake.mailbox.oauth import token_source, xoauth2

    source = token_source(config.mailbox(smtp.oauth_mailbox))
    token = source.token()
    try:
        client.auth("XOAUTH2", _answer(xoauth2(smtp.username, token)))
        return
    except smtplib.SMTPAuthenticationError:
        if not token.from_cache:
            raise
        source.discard(token)  # revoked or ended early: msal trusted it, the server does not
        log.info("smtp_cached_token_refused")
    client.auth("XOAUTH2", _answer(xoauth2(smtp.username, source.token())))


def _answer(initial: str) -> Any:
    """smtplib's authobject: the XOAUTH2 string first; to the server's error
    challenge (a 334 with JSON), the empty reply RFC 7628 §3.2.3 asks for."""

    def respond(challenge: bytes | None = None) -> str:
        return initial if challenge is None else ""

    return respond


def _server_words(exc: smtplib.SMTPResponseException) -> str:
    text = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else ""
    return f"{exc.smtp_code} {' '.join(text.split())}"[:200]


def _alarm(name: str, reason: str, detail: str) -> None:
    from intake import alarms

    alarms.sign_in_failed(name, reason, detail)
