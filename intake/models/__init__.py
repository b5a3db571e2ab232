"""The intake app's records, re-exported so ``from intake.models import X`` works."""

from .mail import Attachment, AuditEvent, InboundMessage, MailboxState, MessageContent

__all__ = ["Attachment", "AuditEvent", "InboundMessage", "MailboxState", "MessageContent"]

# --- alarms (owned by the mailbox engineer): sign-in failures, secret expiry, alert emails ---
from .alarms import *  # noqa: F403  (MailboxAlarm, AlertEmail)

# --- cases (owned by the decisions helper): keep this line; do not remove ---
from .cases import *  # noqa: F403  (Referral, Submission, OutboundEmail, ...)

# --- learning (issue 7): wordings the team taught, messages read again ---
from .learning import *  # noqa: F403  (LearnedWording, ReadAgain)

# --- review (owned by the web helper): the team's notes and message reviews ---
from .review import *  # noqa: F403  (CaseNote, MessageReview)

# --- mailbox rules (issue 11): the rules in force, and those refused ---
from .rules import *  # noqa: F403  (RulesVersion)
