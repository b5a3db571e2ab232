"""What the team taught the form reader, and messages it asked to be read again.

`LearnedWording`: a question as another partnership prints it ("Designation")
that a team member placed on one of our fields ("Job title / role") while
looking at a form the service could not read alone.  It is proposed by the
team member and takes effect only when an administrator confirms it; each
confirmation gets the next `version`, so what the reader knew when it read a
message can be told.  Nothing is deleted: a wording is retired, not removed.

`ReadAgain`: a person asked for a held message to be read again with what the
reader knows now.  The worker reads it (the web never parses mail) and keeps
the outcome beside the one the message was decided on, for the page to show
the difference.  Reading again changes no decision and sends nothing.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from .mail import InboundMessage


class LearnedWording(models.Model):
    class Status(models.TextChoices):
        PROPOSED = "proposed", "Waiting for an administrator"
        CONFIRMED = "confirmed", "In use"
        REJECTED = "rejected", "Not used"
        RETIRED = "retired", "No longer used"

    form_type = models.CharField(max_length=64)
    field_key = models.CharField(max_length=64)
    wording = models.CharField(max_length=300)  # the question as printed on the form
    comparable = models.CharField(max_length=300)  # its comparable form (parsers.normalise)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PROPOSED)
    version = models.PositiveIntegerField(null=True, blank=True)  # set when confirmed
    message = models.ForeignKey(
        InboundMessage, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    proposed_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["form_type", "field_key", "pk"]  # noqa: RUF012 - Django Meta options are lists
        constraints = [  # noqa: RUF012
            # One live wording per form type: the same words cannot mean two fields.
            models.UniqueConstraint(
                fields=["form_type", "comparable"],
                condition=models.Q(status__in=["proposed", "confirmed"]),
                name="learned_wording_live_unique",
            ),
            models.UniqueConstraint(fields=["version"], name="learned_wording_version_unique"),
        ]

    def __str__(self) -> str:
        return f"wording {self.pk} for {self.form_type}.{self.field_key} ({self.status})"

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise ValueError("learned wordings are retired, never deleted")


class ReadAgain(models.Model):
    class State(models.TextChoices):
        WAITING = "waiting", "Waiting for the worker"
        DONE = "done", "Read again"
        FAILED = "failed", "Could not be read again"

    message = models.ForeignKey(InboundMessage, on_delete=models.PROTECT, related_name="rereads")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(auto_now_add=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.WAITING)
    wordings_version = models.PositiveIntegerField(default=0)  # what the reader knew
    outcome = models.JSONField(null=True, blank=True)  # the Assessment, as stored on messages
    error_code = models.CharField(max_length=64, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-pk"]  # noqa: RUF012
        indexes = [models.Index(fields=["state", "requested_at"])]  # noqa: RUF012

    def __str__(self) -> str:
        return f"read again {self.pk} of message {self.message_id} ({self.state})"


__all__ = ["LearnedWording", "ReadAgain"]
