"""The service's words, defined once: what a message is decided to be, and what a
reply is.  Stored values beside the labels the team reads (issue 10).

Django's `TextChoices` (plain enums: importing them needs no settings), so the
pure assessment (`intake.assess`) and the models (`intake.models`) share them:
``InboundMessage.Decision`` and ``OutboundEmail.Kind`` are these classes.
"""

from __future__ import annotations

from django.db.models import TextChoices


class Decision(TextChoices):
    """What the service decided a message is (``../shared/forms/README.md``)."""

    ACCEPTED = "accepted", "Accepted"
    INCOMPLETE = "incomplete", "Incomplete (returned)"
    NEEDS_REVIEW = "needs_review", "Needs review"
    IGNORED = "ignored", "Ignored (automatic mail)"


# The decisions that read a form into a case (ignored mail never joins one).
CASE_DECISIONS = frozenset({Decision.ACCEPTED, Decision.INCOMPLETE, Decision.NEEDS_REVIEW})


class ReplyKind(TextChoices):
    """What an email of ours is: to the referrer, or to the partnership team."""

    INCOMPLETE_RETURN = "incomplete_return", "Incomplete return"
    ACKNOWLEDGEMENT = "acknowledgement", "Acknowledgement"
    UNREADABLE_ATTACHMENT = "unreadable_attachment", "Unreadable attachment"
    # To the partnership team, not the referrer (issue 12, intake.notifications):
    # per new accepted referral (its message); per message that needs a person;
    # daily (no message, one a day by its Message-ID); a mailbox rule's notify.
    TEAM_NEW_REFERRAL = "team_new_referral", "Team email: new referral"
    TEAM_NEEDS_PERSON = "team_needs_person", "Team email: needs a person"
    TEAM_DIGEST = "team_digest", "Team email: daily digest"
    TEAM_RULE_NOTICE = "team_rule_notice", "Team email: a mailbox rule's notice"


# The replies to a referrer, each with its templates in config/replies/.
REFERRER_REPLIES = (
    ReplyKind.INCOMPLETE_RETURN,
    ReplyKind.ACKNOWLEDGEMENT,
    ReplyKind.UNREADABLE_ATTACHMENT,
)
