"""The mailbox rules the worker has put in force, and those it refused (issue 11).

One row each time a worker switches to a rules file whose text differs from the
last in force (at start, and on a reload), or refuses one.  The review pages show
the latest row in force (they never read the worker's files), ``/healthz`` a
refusal newer than it.  Nothing is deleted: the rows are the history of the rules;
each switch is also an `AuditEvent` with the old and the new text.
"""

from __future__ import annotations

from django.db import models


class RulesVersion(models.Model):
    class State(models.TextChoices):
        IN_FORCE = "in_force", "In force"
        REFUSED = "refused", "Refused"

    state = models.CharField(max_length=16, choices=State.choices)
    source = models.CharField(max_length=1000)  # the rules file, as shown in errors
    sha256 = models.CharField(max_length=64)  # of the text
    text = models.TextField(blank=True)  # the rules file exactly as read
    config_text = models.TextField(blank=True)  # config/intake.toml as read with it
    error = models.CharField(max_length=1000, blank=True)  # refused: the one-line fault
    folders = models.JSONField(default=dict, blank=True)  # mailbox -> folders seen then
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["state", "created"])]  # noqa: RUF012

    def __str__(self) -> str:
        return f"rules {self.sha256[:12]} ({self.state})"

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise ValueError("the history of the rules is never deleted")


__all__ = ["RulesVersion"]
