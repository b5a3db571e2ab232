"""``/healthz``: has every configured mailbox been polled successfully of late?

200 when every mailbox's last successful poll is within three poll intervals,
503 otherwise (including a mailbox never polled).  The body says, per mailbox,
when that was and the reason code of the last failure: no personal data.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.http import require_GET

from intake.config import IntakeConfig
from intake.models import MailboxState

STALE_AFTER_INTERVALS = 3


def mailbox_health(config: IntakeConfig, now: datetime) -> dict[str, dict[str, Any]]:
    """Per configured mailbox: last successful poll, last error code, and ok."""
    states = {(s.mailbox, s.folder): s for s in MailboxState.objects.all()}
    window = timedelta(seconds=STALE_AFTER_INTERVALS * config.schedule.poll_seconds)
    report = {}
    for mailbox in config.mailboxes:
        state = states.get((mailbox.name, mailbox.folder))
        last_ok = state.last_poll_ok_at if state else None
        report[mailbox.name] = {
            "last_poll_ok_at": last_ok.isoformat() if last_ok else None,
            "last_error": state.last_error if state else "",
            "ok": last_ok is not None and now - last_ok <= window,
        }
    return report


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """The health report as JSON; see the module docstring for the status codes."""
    report = mailbox_health(settings.INTAKE, timezone.now())
    healthy = all(m["ok"] for m in report.values())
    body = {"status": "ok" if healthy else "stale", "mailboxes": report}
    return JsonResponse(body, status=200 if healthy else 503)
