"""What the partnership team records while working the queue: case notes, message
reviews, corrected answers and the partnership's steps (Rapid Review held, outcome,
National Panel informed, decision letter sent).

All are append-only, like `AuditEvent`: a note once written is part of the
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
    """A team member looked at a message without a case and took it off the queue,
    and what they decided (``outcome``)."""

    class Outcome(models.TextChoices):
        REVIEWED = "reviewed", "Reviewed"
        NOT_A_REFERRAL = "not_a_referral", "Not a referral"
        CASE_MADE = "case_made", "Made into a case"
        RETURNED = "returned", "Returned to the sender"

    message = models.OneToOneField(InboundMessage, on_delete=models.PROTECT, related_name="review")
    outcome = models.CharField(max_length=32, choices=Outcome.choices, default=Outcome.REVIEWED)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    note = models.TextField(blank=True)
    created = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"review of message {self.message_id}"

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise ValueError("message reviews are never deleted")


class AnswerCorrection(models.Model):
    """A team member put an answer of a case right (issue 12).

    The case's answer (`Referral.fields`) changes; ``original`` keeps what it was
    before this correction (for the first one, what the form said) and ``value`` the
    answer now, both in the stored shape (None: blank).  ``reason`` is the team's own
    words and stays here, never in an audit detail or a log line.
    """

    referral = models.ForeignKey(Referral, on_delete=models.PROTECT, related_name="corrections")
    field_key = models.CharField(max_length=64)
    original = models.JSONField(null=True, blank=True)
    value = models.JSONField(null=True, blank=True)
    reason = models.TextField(blank=True)
    corrected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created", "pk"]  # noqa: RUF012

    def __str__(self) -> str:
        return f"correction {self.pk} of {self.field_key} on referral {self.referral_id}"

    def save(self, *args: object, **kwargs: object) -> None:
        if self.pk is not None:
            raise ValueError("corrections are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise ValueError("corrections are append-only")


class CaseStep(models.Model):
    """One of the partnership's steps on a case, with the day it happened (issue 12).

    Append-only: recording a step again (a date put right) adds a row, and the
    newest row of each kind is the case's.  The outcome is the Rapid Review's.
    """

    class Kind(models.TextChoices):
        RAPID_REVIEW_HELD = "rapid_review_held", "Rapid Review held"
        OUTCOME = "outcome", "Rapid Review outcome"
        PANEL_INFORMED = "panel_informed", "National Panel informed"
        LETTER_SENT = "letter_sent", "Decision letter sent"

    class Outcome(models.TextChoices):
        LOCAL_CSPR = "local_cspr", "Local child safeguarding practice review"
        NO_FURTHER_REVIEW = "no_further_review", "No further review"
        NATIONAL_REVIEW = "national_review_recommended", "National review recommended"
        CRITERIA_NOT_MET = "criteria_not_met", "Criteria not met"

    referral = models.ForeignKey(Referral, on_delete=models.PROTECT, related_name="steps")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    on = models.DateField()
    outcome = models.CharField(max_length=32, choices=Outcome.choices, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["recorded_at", "pk"]  # noqa: RUF012
        indexes = [models.Index(fields=["kind", "referral"])]  # noqa: RUF012

    def __str__(self) -> str:
        return f"{self.kind} on {self.on} for referral {self.referral_id}"

    def save(self, *args: object, **kwargs: object) -> None:
        if self.pk is not None:
            raise ValueError("case steps are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise ValueError("case steps are append-only")


__all__ = ["AnswerCorrection", "CaseNote", "CaseStep", "MessageReview"]
