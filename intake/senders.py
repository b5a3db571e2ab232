"""Who sent a message, as far as decisions may trust it (issue 8).

`sender_of` reads the message's stored parse and our mail server's verdict
(`intake.authentication`): the From address, whether our server proved it,
and whether its display name holds another address.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from intake.authentication import authenticate
from intake.automatic import address_in_name
from intake.mailbox.base import header_block
from intake.models import InboundMessage, Submission
from intake.store import load_mail
from parsers.limits import Limits
from parsers.mail import MailResult, read_mail

if TYPE_CHECKING:
    from intake.config import IntakeConfig


@dataclass(frozen=True)
class Sender:
    """What decisions may trust about a message's sender (issue 8).

    ``address`` is the From address, lower case ("" when none);
    ``authenticated`` is our mail server's verdict on it
    (`intake.authentication`); ``name_trick`` is a display name holding
    another address (``"ceo@council.gov.uk" <x@elsewhere>``).
    """

    address: str
    authenticated: bool
    name_trick: bool
    reason: str
    mail: MailResult
    failed: bool = False  # our server said the sender failed (a forgery is likely)


def sender_of(message: InboundMessage, config: IntakeConfig) -> Sender:
    """The sender of ``message`` as its stored parse shows it."""
    mail = stored_mail(message)
    verdict = authenticate(mail.headers, mail.from_addresses, config.rules)
    address = (mail.from_addr or "").strip().lower()
    trick = bool(address) and address_in_name(mail.from_name, address)
    return Sender(address, verdict.authenticated, trick, verdict.reason, mail, verdict.failed)


def stored_mail(message: InboundMessage) -> MailResult:
    """The message's stored parse; for a row stored before there was one, its header
    block read here (bounded: the values are cut short before any parser sees them)."""
    mail = load_mail(message, with_data=False)
    if mail is not None:
        return mail
    head = header_block(bytes(message.raw or b"")[: 256 * 1024])
    return read_mail(head, Limits())


# Held reasons that say the sender may not change a case (issue 8).
UNTRUSTED = {
    Submission.Held.UNAUTHENTICATED,
    Submission.Held.NOT_THE_REFERRER,
    Submission.Held.ADDRESS_IN_NAME,
}
