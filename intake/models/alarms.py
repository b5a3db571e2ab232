"""What an administrator must act on, and the alert emails that tell them (`intake.alarms`).

A `MailboxAlarm` is one row per mailbox and kind, raised and cleared by
compare-and-set: ``cleared_at`` is None while it lasts, ``since`` is when
this spell began.  Ids and codes only, plus ``detail``: the server's or
Microsoft's words about what to fix, never a secret and never mail.
"""

from __future__ import annotations

from django.db import models


class MailboxAlarm(models.Model):
    class Kind(models.TextChoices):
        SIGN_IN_FAILED = "sign_in_failed", "cannot sign in"
        SECRET_EXPIRING = "secret_expiring", "client secret expires soon"

    # A configured mailbox's name, or SMTP_ROUTE for the replies' SMTP sign-in.
    mailbox = models.CharField(max_length=100)
    kind = models.CharField(max_length=32, choices=Kind.choices)
    reason = models.CharField(max_length=64)  # an intake.mailbox.base.Fault value
    detail = models.CharField(max_length=300, blank=True)
    since = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    cleared_at = models.DateTimeField(null=True, blank=True)  # None while the alarm lasts
    alerted_at = models.DateTimeField(null=True, blank=True)  # when an alert was last queued

    class Meta:
        constraints = [  # noqa: RUF012 - Django Meta options are plain lists
            models.UniqueConstraint(fields=["mailbox", "kind"], name="mailbox_alarm_unique")
        ]

    def __str__(self) -> str:
        return f"{self.mailbox}: {self.kind} ({'active' if self.active else 'cleared'})"

    @property
    def active(self) -> bool:
        return self.cleared_at is None


class AlertEmail(models.Model):
    """One alert to the administrators, sent at most once (as `OutboundEmail` is)."""

    class State(models.TextChoices):
        PENDING = "pending"
        SENDING = "sending"
        SENT = "sent"
        FAILED = "failed"
        UNCERTAIN = "uncertain"  # interrupted during DATA: maybe delivered; never resent

    class Kind(models.TextChoices):
        RAISED = "raised"
        CLEARED = "cleared"

    alarm = models.ForeignKey(MailboxAlarm, on_delete=models.PROTECT, related_name="alerts")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    recipients = models.JSONField(default=list)
    raw = models.BinaryField()
    rfc_message_id = models.CharField(max_length=255, unique=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)  # a reason code, never text
    created = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["state", "next_attempt_at"])]  # noqa: RUF012

    def __str__(self) -> str:
        return f"alert {self.pk} ({self.kind}, {self.state})"


__all__ = ["AlertEmail", "MailboxAlarm"]
