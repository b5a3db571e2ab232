"""Cases and replies: referrals, the messages that make them up, and what we send.

Nothing here is deleted.  The database enforces the exactly-once rules:
one `Submission` per inbound message, one `OutboundEmail` per (message,
kind), one `Referral` per reference, and each reference's (year, sequence)
allocated from `ReferenceCounter` under a row lock (see
`intake.matching.allocate_reference`).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from intake import vocabulary

from .mail import InboundMessage


class ReferenceCounter(models.Model):
    """The last sequence number used for references of one (prefix, year)."""

    prefix = models.CharField(max_length=16)
    year = models.PositiveIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [  # noqa: RUF012 - Django Meta options are plain lists
            models.UniqueConstraint(fields=["prefix", "year"], name="reference_counter_unique")
        ]

    def __str__(self) -> str:
        return f"{self.prefix}-{self.year}: {self.last}"


class Referral(models.Model):
    """A case: one child's referral, however many messages it took to arrive complete."""

    class Status(models.TextChoices):
        ACCEPTED = "accepted", "Accepted"  # complete and valid: the team works it
        AWAITING_RESUBMISSION = "awaiting_resubmission", "Returned: waiting for the referrer"
        NEEDS_REVIEW = "needs_review", "Needs review"  # a person must look
        CLOSED = "closed", "Closed"  # the team has finished with it

    reference = models.CharField(max_length=32, unique=True)  # WSP-2026-0007
    year = models.PositiveIntegerField()
    sequence = models.PositiveIntegerField()
    form_type = models.CharField(max_length=64)
    status = models.CharField(max_length=32, choices=Status.choices)
    fields = models.JSONField(default=dict, blank=True)  # the latest form's answers
    sources = models.JSONField(default=dict, blank=True)  # field key -> where it was read
    missing = models.JSONField(default=list, blank=True)
    invalid = models.JSONField(default=list, blank=True)
    flags = models.JSONField(default=list, blank=True)  # e.g. ["late_notification"]
    referrer_email = models.CharField(max_length=320, blank=True)  # lower case
    # sha256 of the normalised child's forenames, surname and date of birth, for
    # matching resubmissions without an index of names ("" when not known).
    child_key = models.CharField(max_length=64, blank=True)
    received_on = models.DateField(null=True, blank=True)  # the first submission's day
    rapid_review_due = models.DateField(null=True, blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="referrals",
    )
    decision_notes = models.TextField(blank=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [  # noqa: RUF012 - Django Meta options are plain lists
            models.UniqueConstraint(fields=["year", "sequence"], name="referral_unique_sequence")
        ]
        indexes = [  # noqa: RUF012 - Django Meta options are plain lists
            models.Index(fields=["referrer_email", "child_key", "created"]),
            models.Index(fields=["status", "rapid_review_due"]),
        ]

    def __str__(self) -> str:
        return str(self.reference)

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise ValueError("referrals are never deleted; close them instead")


class Submission(models.Model):
    """One inbound message that belongs to a case (the first, or a resubmission).

    Each submission keeps its own answers (``fields``): a case's answers are
    never overwritten, they are those of its latest submission that was
    allowed to change it (`Referral.fields`).  ``held`` says why a submission
    was not allowed to (issue 8): a person compares it with the case.
    """

    class Kind(models.TextChoices):
        FIRST = "first"
        RESUBMISSION = "resubmission"
        FOLLOW_UP = "follow_up"  # in the thread, but no form in it

    class Held(models.TextChoices):
        NO = "", "may change the case"
        UNAUTHENTICATED = "unauthenticated", "our mail server did not authenticate the sender"
        NOT_THE_REFERRER = "not_the_referrer", "sent by someone other than the case's referrer"
        ADDRESS_IN_NAME = "address_in_name", "the sender's display name holds another address"
        WORSE = "worse", "a later form no better than the case's accepted one"
        CLOSED = "closed", "the case is closed"

    referral = models.ForeignKey(Referral, on_delete=models.PROTECT, related_name="submissions")
    message = models.ForeignKey(InboundMessage, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    decision = models.CharField(max_length=16)  # the message's decision
    matched_by = models.CharField(max_length=32, blank=True)  # thread | referrer_and_child | ...
    missing = models.JSONField(default=list, blank=True)
    invalid = models.JSONField(default=list, blank=True)
    form_type = models.CharField(max_length=64, blank=True)
    fields = models.JSONField(default=dict, blank=True)  # this message's own answers
    sources = models.JSONField(default=dict, blank=True)
    authenticated = models.BooleanField(default=False)  # by our mail server (intake.authentication)
    held = models.CharField(max_length=32, choices=Held.choices, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [  # noqa: RUF012 - Django Meta options are plain lists
            models.UniqueConstraint(fields=["message"], name="submission_unique_message")
        ]
        ordering = ["created", "pk"]  # noqa: RUF012

    def __str__(self) -> str:
        return f"submission {self.pk}"

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise ValueError("submissions are never deleted")


class OutboundEmail(models.Model):
    """One reply, exactly as it will be (or was) sent, and how far sending got.

    ``pending`` -> (claimed by a worker's lease) -> ``sending`` (committed just
    before SMTP DATA) -> ``sent``.  ``failed`` and ``uncertain`` are parked
    for a person; ``suppressed`` was never meant to go (per-sender limit).
    """

    class State(models.TextChoices):
        PENDING = "pending", "Waiting to be sent"
        SENDING = "sending", "Being sent"
        SENT = "sent", "Sent"
        # A permanent refusal or too many attempts: a person decides.
        FAILED = "failed", "Failed: a person must decide"
        SUPPRESSED = "suppressed", "Not sent (sender limit)"  # never sent
        # A crash during DATA: maybe delivered; never resent.
        UNCERTAIN = "uncertain", "Uncertain: may have been delivered"

    Kind = vocabulary.ReplyKind

    class SentCopy(models.TextChoices):
        NOT_WANTED = "not_wanted"  # no sent_folder configured
        PENDING = "pending"
        FILED = "filed"

    # None only for the team's daily digest, which answers no message.
    message = models.ForeignKey(
        InboundMessage, null=True, blank=True, on_delete=models.PROTECT, related_name="replies"
    )
    referral = models.ForeignKey(
        Referral, null=True, blank=True, on_delete=models.PROTECT, related_name="replies"
    )
    kind = models.CharField(max_length=32, choices=Kind.choices)
    recipient = models.CharField(max_length=320)  # lower case address
    bcc = models.JSONField(default=list, blank=True)  # envelope only
    subject = models.TextField()
    body_text = models.TextField(blank=True)
    body_html = models.TextField(blank=True)
    raw = models.BinaryField()  # the exact bytes sent
    # The Message-ID header, with <> (named so because ``message_id`` is the FK column).
    rfc_message_id = models.CharField(max_length=255, unique=True)
    in_reply_to = models.CharField(max_length=998, blank=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_by = models.CharField(max_length=100, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)  # a reason, never message text
    sent_at = models.DateTimeField(null=True, blank=True)
    sent_copy = models.CharField(
        max_length=16, choices=SentCopy.choices, default=SentCopy.NOT_WANTED
    )
    sent_copy_error = models.CharField(max_length=300, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [  # noqa: RUF012 - Django Meta options are plain lists
            models.UniqueConstraint(fields=["message", "kind"], name="outbound_unique_kind")
        ]
        indexes = [  # noqa: RUF012 - Django Meta options are plain lists
            models.Index(fields=["state", "next_attempt_at"]),
            models.Index(fields=["recipient", "created"]),
            # The outbox's other questions, answered from the index: a row holds the
            # reply's bytes (the returned form with it) before these columns, and
            # SQLite reads a row's whole overflow chain to reach a later column.
            models.Index(fields=["state", "sent_copy"]),
            models.Index(fields=["state", "sent_at"]),
        ]

    def __str__(self) -> str:
        return f"outbound {self.pk} ({self.kind}, {self.state})"

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise ValueError("outbound email is never deleted")


__all__ = ["OutboundEmail", "ReferenceCounter", "Referral", "Submission"]
