"""What came in: messages exactly as fetched, their attachments, mailbox sync state.

The database, not the code's good intentions, enforces "exactly once": a
message is unique by where it sits in the mailbox (mailbox, folder,
UIDVALIDITY, UID: RFC 3501 §2.3.1.1 says a UID means nothing without its
UIDVALIDITY) and by what it is (mailbox, Message-ID, sha256 of the raw
bytes).  A message without a Message-ID is stored with ``message_id = ""``,
so the second constraint becomes the content hash alone.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from intake import vocabulary


class InboundMessage(models.Model):
    """One email as fetched, and how far the pipeline has taken it."""

    class State(models.TextChoices):
        RECEIVED = "received", "Received, not read yet"  # raw bytes committed
        PARSED = "parsed", "Read, not decided yet"  # assessment stored
        DECIDED = "decided", "Decided"  # decision, case and reply rows written
        REPLIED = "replied", "Replied"  # the outbox has had its chance to send
        FILED = "filed", "Filed"  # moved to the processed folder: done
        PARKED = "parked", "Parked: a person must look"  # parked_reason says why

    Decision = vocabulary.Decision

    mailbox = models.CharField(max_length=100)
    folder = models.CharField(max_length=255)
    uidvalidity = models.BigIntegerField()
    uid = models.BigIntegerField()
    message_id = models.CharField(max_length=998, blank=True)  # without <>; "" when missing
    sha256 = models.CharField(max_length=64)
    size = models.BigIntegerField()  # of the whole message, even when only headers are kept
    headers_only = models.BooleanField(default=False)  # above the hard size limit
    sender = models.CharField(max_length=320, blank=True)  # address only, for display
    subject = models.TextField(blank=True)
    received_at = models.DateTimeField(null=True, blank=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.RECEIVED)
    decision = models.CharField(max_length=16, choices=Decision.choices, blank=True)
    # Why it was decided so, as a stable code (intake.decisions.reason_code), e.g.
    # "automatic:auto_submitted", "unauthenticated:no_verdict", "parse:timeout".
    reason_code = models.CharField(max_length=64, blank=True)
    # The mailbox rule that decided it ("default" when none matched; issue 11).
    rule = models.CharField(max_length=64, blank=True)
    assessment = models.JSONField(null=True, blank=True)  # dataclasses.asdict(Assessment)
    last_error = models.CharField(max_length=300, blank=True)
    error_code = models.CharField(max_length=64, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    parked_reason = models.CharField(max_length=64, blank=True)
    parked_from = models.CharField(max_length=16, blank=True)  # the state it was parked in
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)
    # Last, because SQLite reads a row's columns in order and must walk a large
    # value's overflow pages to reach any column stored after it.
    raw = models.BinaryField()  # the message exactly as fetched (its header only when headers_only)

    class Meta:
        constraints = [  # noqa: RUF012 - Django Meta options are plain lists
            models.UniqueConstraint(
                fields=["mailbox", "folder", "uidvalidity", "uid"], name="inbound_unique_location"
            ),
            models.UniqueConstraint(
                fields=["mailbox", "message_id", "sha256"], name="inbound_unique_content"
            ),
        ]
        indexes = [models.Index(fields=["mailbox", "state", "next_attempt_at"])]  # noqa: RUF012

    def __str__(self) -> str:
        return f"message {self.pk} ({self.mailbox} uid {self.uid}, {self.state})"


class MessageContent(models.Model):
    """What the one parse of a message found (issue 8), kept so nothing parses it again.

    Written by the pipeline's parse step from `parsers.mail.MailResult`
    (``parsed`` is its JSON, without the text body and the attachments'
    bytes, which have their own columns and rows).  ``failure`` is "" or the
    reason the parse gave up (``timeout``, ``memory``...): such a message is
    held for a person.  The assessment, the decision and the review page
    read this row, never ``InboundMessage.raw``.
    """

    message = models.OneToOneField(InboundMessage, on_delete=models.CASCADE, related_name="content")
    parser = models.CharField(max_length=32, blank=True)  # mail-parser | stdlib | ""
    failure = models.CharField(max_length=32, blank=True)  # "" | timeout | memory | too_large...
    parsed = models.JSONField(default=dict, blank=True)  # MailResult.as_json(), no text_body
    text_body = models.TextField(blank=True)
    parse_seconds = models.FloatField(default=0)
    assess_seconds = models.FloatField(null=True, blank=True)  # documents, rules, the form
    peak_memory_kb = models.BigIntegerField(default=0)  # the sandbox worker's peak so far
    created = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"content of message {self.message_id}"


class Attachment(models.Model):
    """One attachment of a message (``path`` says where, e.g. ``Referral.zip/form.pdf``).

    ``index`` is its position in the parse's attachment list: the key other
    records use for it (file names repeat and are the sender's to choose).
    """

    message = models.ForeignKey(
        InboundMessage, on_delete=models.CASCADE, related_name="attachments"
    )
    index = models.PositiveIntegerField(null=True, blank=True)
    path = models.CharField(max_length=1000)
    filename = models.CharField(max_length=255, blank=True)
    media_type = models.CharField(max_length=255, blank=True)
    size = models.BigIntegerField()
    sha256 = models.CharField(max_length=64, db_index=True)  # a form we sent back, coming in again
    parse_status = models.CharField(max_length=16, blank=True)  # "" | read | failed
    reason = models.CharField(max_length=64, blank=True)  # parsers.errors.Reason when failed
    data = models.BinaryField()  # last, as InboundMessage.raw

    # No uniqueness on path: two attachments may carry the same name.  A retried
    # parse deletes the message's attachments before writing them again.

    def __str__(self) -> str:
        return f"attachment {self.pk} of message {self.message_id}"


class MailboxState(models.Model):
    """How far a mailbox folder has been synced, and who holds its lease.

    The lease (``lease_owner`` until ``lease_until``) is taken by compare-and-set,
    so two worker processes never poll one mailbox at once.
    """

    mailbox = models.CharField(max_length=100)
    folder = models.CharField(max_length=255)
    uidvalidity = models.BigIntegerField(null=True, blank=True)
    last_uid = models.BigIntegerField(default=0)  # highest UID stored under uidvalidity
    last_poll_at = models.DateTimeField(null=True, blank=True)
    last_poll_ok_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=64, blank=True)  # a reason code, never text
    lease_owner = models.CharField(max_length=200, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [  # noqa: RUF012
            models.UniqueConstraint(fields=["mailbox", "folder"], name="mailbox_state_unique")
        ]

    def __str__(self) -> str:
        return f"{self.mailbox}/{self.folder}"


class AuditEvent(models.Model):
    """Append-only: who (a user, or the system when null) did what to which record.

    ``detail`` holds ids and codes only, never personal data.
    """

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT
    )
    verb = models.CharField(max_length=64)
    object_type = models.CharField(max_length=64)
    object_id = models.CharField(max_length=64)
    at = models.DateTimeField(auto_now_add=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [models.Index(fields=["object_type", "object_id"])]  # noqa: RUF012

    def __str__(self) -> str:
        return f"{self.verb} {self.object_type} {self.object_id}"

    def save(self, *args: object, **kwargs: object) -> None:
        if self.pk is not None:
            raise ValueError("audit events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise ValueError("audit events are append-only")
