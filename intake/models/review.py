"""What the partnership team records while working the queue: case notes and message reviews.

Both are append-only, like `AuditEvent`: a note once written is part of the
case's history, and a message is marked reviewed once (the database enforces
it with a unique message).  The text is the team's own and may name people,
so it lives here and never in an `AuditEvent` detail or a log line.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from .cases import Referral
from .mail import InboundMessage


class CaseNote(models.Model):
    """A decision note a team member added to a case."""

    referral = models.ForeignKey(Referral, on_delete=models.PROTECT, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    text = models.TextField()
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created", "pk"]  # noqa: RUF012 - Django Meta options are plain lists

    def __str__(self) -> str:
        return f"note {self.pk} on referral {self.referral_id}"

    def save(self, *args: object, **kwargs: object) -> None:
        if self.pk is not None:
            raise ValueError("case notes are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise ValueError("case notes are append-only")


class MessageReview(models.Model):
    """A team member looked at a message without a case and took it off the queue."""

    message = models.OneToOneField(InboundMessage, on_delete=models.PROTECT, related_name="review")
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    note = models.TextField(blank=True)
    created = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"review of message {self.message_id}"

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise ValueError("message reviews are never deleted")


__all__ = ["CaseNote", "MessageReview"]
