"""``/healthz``: is every mailbox being read, and can every one of them sign in?

200 when every configured mailbox's last successful poll is within three of
its poll intervals and no sign-in alarm is up; 503 otherwise (including a
mailbox never polled).  The body says, per mailbox, when it was last polled,
the reason code of the last failure, and since when it cannot sign in; a
client secret about to expire is listed under ``warnings`` without failing
the check.  Codes and times only: no personal data, and not the server's
words (those are on the review pages' banner, behind the sign-in).

`alarm_banner` is the template context processor that puts the alarms on
every review page (``intake/base.html``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import DatabaseError
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.http import require_GET

from intake.config import IntakeConfig
from intake.models import MailboxAlarm, MailboxState
from intake.reload import describe_refusal, latest_refusal

STALE_AFTER_INTERVALS = 3


def mailbox_health(config: IntakeConfig, now: datetime) -> dict[str, dict[str, Any]]:
    """Per configured mailbox: last successful poll, last error code, sign-in, and ok."""
    states = {(s.mailbox, s.folder): s for s in MailboxState.objects.all()}
    failing = {
        a.mailbox: a
        for a in MailboxAlarm.objects.filter(
            kind=MailboxAlarm.Kind.SIGN_IN_FAILED, cleared_at__isnull=True
        )
    }
    report = {}
    for mailbox in config.mailboxes:
        state = states.get((mailbox.name, mailbox.folder))
        last_ok = state.last_poll_ok_at if state else None
        window = timedelta(seconds=STALE_AFTER_INTERVALS * mailbox.poll_seconds)
        alarm = failing.get(mailbox.name)
        report[mailbox.name] = {
            "last_poll_ok_at": last_ok.isoformat() if last_ok else None,
            "last_error": state.last_error if state else "",
            "sign_in_failing_since": alarm.since.isoformat() if alarm else None,
            "sign_in_error": alarm.reason if alarm else "",
            "ok": alarm is None and last_ok is not None and now - last_ok <= window,
        }
    return report


def health_report(config: IntakeConfig, now: datetime) -> tuple[bool, dict[str, Any]]:
    """(healthy, the JSON body) for ``/healthz`` and ``intake healthcheck``."""
    report = mailbox_health(config, now)
    alarms = MailboxAlarm.objects.filter(cleared_at__isnull=True).order_by("since")
    routes = [
        {"route": a.mailbox, "sign_in_failing_since": a.since.isoformat(), "error": a.reason}
        for a in alarms
        if a.kind == MailboxAlarm.Kind.SIGN_IN_FAILED and a.mailbox not in report
    ]
    warnings: list[dict[str, Any]] = [
        {"mailbox": a.mailbox, "warning": a.reason, "since": a.since.isoformat()}
        for a in alarms
        if a.kind == MailboxAlarm.Kind.SECRET_EXPIRING
    ]
    refused = latest_refusal()  # issue 11: a rules file refused; the rules in force stay
    if refused is not None:
        warnings.append(describe_refusal(refused))
    healthy = all(m["ok"] for m in report.values()) and not routes
    status = "ok" if healthy else "sign_in_failed" if _sign_in_failed(report, routes) else "stale"
    body: dict[str, Any] = {"status": status, "mailboxes": report}
    if routes:
        body["routes"] = routes
    if warnings:
        body["warnings"] = warnings
    return healthy, body


def _sign_in_failed(report: dict[str, dict[str, Any]], routes: list[Any]) -> bool:
    return bool(routes) or any(m["sign_in_failing_since"] for m in report.values())


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """The health report as JSON; see the module docstring for the status codes."""
    healthy, body = health_report(settings.INTAKE, timezone.now())
    return JsonResponse(body, status=200 if healthy else 503)


def alarm_banner(request: HttpRequest) -> dict[str, Any]:
    """Template context: ``mailbox_alarms``, the alarms every signed-in person sees."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    try:
        alarms = list(MailboxAlarm.objects.filter(cleared_at__isnull=True).order_by("since"))
    except DatabaseError:  # a page must render even when the store is in trouble
        return {}
    return {"mailbox_alarms": alarms}
