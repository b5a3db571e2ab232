"""Is this message automatic mail, which must never be answered?

Pure: no Django, no database.  An auto-reply system that answers an
out-of-office, a bounce, a mailing list or itself starts mail loops and
back-scatters spoofed senders (RFC 3834 §2, §3.1).  `automatic_reason`
returns a short reason code for the first sign found, or None.

Which error is worse?  A false positive makes a real referral ``ignored``:
it is still stored and shown to the team in the queue, it just gets no
automatic reply.  A false negative sends a reply to a machine, which the
product owners count as the worst error (and which can loop).  So evidence
that is strong on its own is enough, including a subject that *starts*
with the wording mail systems use for auto-replies and bounces
("Automatic reply:", "Undeliverable:" ...).  Subjects are matched only at
the start and never after a person's "Re:"/"Fw:", so a referral that
mentions "out of office hours" further on is not caught.

Who sent a message is not decided here: `intake.authentication` gives the
one verdict, from our own mail server's word only.  Here, our own addresses
are recognised in every spelling (`is_our_address`), and our own replies
coming back, whole or inside another message (`echoed_prefixes`).
"""

from __future__ import annotations

import email.message
import re
import unicodedata
from collections.abc import Iterable, Sequence
from email.errors import MessageError
from email.header import decode_header, make_header
from typing import Any

from parsers.mail import address_pairs

_AUTOMATIC_PRECEDENCE = {"bulk", "list", "junk", "auto_reply"}
_AUTOREPLY_HEADERS = (
    "X-Autoreply",
    "X-Autorespond",
    "X-Autoresponder",
    "X-AutoReply-From",
    "X-Mail-Autoreply",
)
_EXCHANGE_GENERATED_HEADERS = (
    "X-MS-Exchange-Generated-Message-Source",
    "X-MS-Exchange-Inbox-Rules-Loop",
)
# Other list managers' marks (Mailman, ezmlm, LISTSERV) beside RFC 2369/2919 headers.
_LIST_HEADERS = (
    "List-Id",
    "List-Unsubscribe",
    "List-Post",
    "Mailing-List",
    "X-Mailing-List",
    "X-Mailman-Version",
    "X-List",
)
_DAEMON_LOCAL_PARTS = {"mailer-daemon", "postmaster", "mail-daemon", "mailerdaemon"}
_AUTOREPLY_SUBJECT = re.compile(
    r"^\s*(automatic\s+reply|auto(matic)?[- ]?(reply|response|antwort)|autoreply"
    r"|out\s+of\s+(the\s+)?office(\s*(:|auto\s*reply|reply|notification)|\s*$)"
    r"|abwesenheitsnotiz|r[ée]ponse\s+automatique|risposta\s+automatica"
    r"|respuesta\s+autom[áa]tica|automatisch\s+antwoord|automatisk\s+svar"
    r"|auto:\s)",  # "AUTO: ..." is Lotus Notes' out-of-office
    re.IGNORECASE,
)
_BOUNCE_SUBJECT = re.compile(
    r"^\s*(undeliverable|undelivered\s+mail|delivery\s+status\s+notification"
    r"|delivery\s+notification:|mail\s+delivery\s+(failed|failure|subsystem)"
    r"|delivery\s+(failure|has\s+failed|delayed)|delayed\s+mail|returned\s+mail"
    r"|failure\s+notice|message\s+not\s+delivered|non[- ]?delivery)",
    re.IGNORECASE,
)
# Our own Message-IDs: <prefix-hex@message_id_domain> (see intake.replies.new_message_id).
# The domain alone is not enough: it is often the organisation's own mail domain,
# which the referrers in that organisation share.
_OUR_LOCAL_PART = re.compile(r"^[a-z0-9]+-[0-9a-f]{16,32}$")


def automatic_reason(
    msg: email.message.Message,
    our_addresses: Sequence[str],
    our_message_id_domain: str,
) -> str | None:
    """A short reason code when ``msg`` is automatic mail, else None.

    Codes: ``auto_submitted``, ``precedence``, ``mailing_list``,
    ``auto_response_suppress``, ``null_return_path``, ``mailer_daemon``,
    ``delivery_report``, ``autoreply_header``, ``exchange_generated``,
    ``from_us``, ``our_message_id``, ``autoreply_subject``, ``bounce_subject``.
    A referrer's *reply* to our mail (``In-Reply-To`` naming our Message-ID)
    is not automatic; only our own Message-ID on the message itself is.
    """
    checks = (
        _header_reason,
        _sender_reason,
        _report_reason,
        lambda m: _ours_reason(m, our_addresses, our_message_id_domain),
        _subject_reason,
    )
    for check in checks:
        reason = check(msg)
        if reason is not None:
            return reason
    return None


def _header(msg: email.message.Message, name: str) -> str:
    value = msg.get(name)
    return "" if value is None else " ".join(str(value).split())


def _header_reason(msg: email.message.Message) -> str | None:
    # RFC 3834 §5: any Auto-Submitted value other than "no" (parameters may follow ";").
    auto = _header(msg, "Auto-Submitted").split(";")[0].strip().lower()
    if auto and auto != "no":
        return "auto_submitted"
    if _header(msg, "Precedence").lower() in _AUTOMATIC_PRECEDENCE:
        return "precedence"
    # RFC 2919 (List-Id), RFC 2369 (List-Unsubscribe): list traffic.
    if any(msg.get(name) is not None for name in _LIST_HEADERS):
        return "mailing_list"
    if _header(msg, "X-Auto-Response-Suppress"):
        return "auto_response_suppress"
    if any(msg.get(name) is not None for name in _AUTOREPLY_HEADERS):
        return "autoreply_header"
    if any(msg.get(name) is not None for name in _EXCHANGE_GENERATED_HEADERS):
        return "exchange_generated"
    return None


def _sender_reason(msg: email.message.Message) -> str | None:
    return_paths = [" ".join(str(v).split()) for v in msg.get_all("Return-Path") or []]
    # RFC 5321 §4.5.5: notifications are sent with a null reverse-path.
    if any(v in ("<>", "") for v in return_paths):
        return "null_return_path"
    for value in [*return_paths, _header(msg, "From"), _header(msg, "Sender")]:
        local = _address(value).split("@")[0]
        if local in _DAEMON_LOCAL_PARTS:
            return "mailer_daemon"
    return None


def _report_reason(msg: email.message.Message) -> str | None:
    # RFC 6522: multipart/report carries DSNs (RFC 3464), MDNs (RFC 8098) and ARF.
    ctype = msg.get_content_type()
    if ctype == "multipart/report" or ctype in (
        "message/delivery-status",
        "message/disposition-notification",
    ):
        return "delivery_report"
    if msg.get("X-Failed-Recipients") is not None:  # Exim's bounces
        return "delivery_report"
    return None


def _ours_reason(
    msg: email.message.Message, our_addresses: Sequence[str], domain: str
) -> str | None:
    for name in ("From", "Sender", "Return-Path"):
        # Every address-looking token of the header as written, not only what the
        # address parser makes of it: a display name holding our address, or an
        # address the stdlib refuses (a trailing dot), is us too (issue 8).
        texts = [str(v) for v in (msg.get_all(name) or [])[:MAX_HEADER_VALUES]]
        found = [a for _n, a in _pairs(msg, name)] + [
            a for t in texts for a in addresses_in_text(t)
        ]
        if any(is_our_address(a, our_addresses) for a in found):
            return "from_us"
    if is_our_message_id(_header(msg, "Message-ID"), domain):
        return "our_message_id"
    if msg.get(OUR_REPLY_HEADER) is not None:
        return "our_message_id"  # our own reply, whatever its Message-ID became
    return None


# Every reply of ours carries this header (intake.replies.build_reply_message):
# a reply of ours coming back, whole or attached, is recognised by it (issue 8).
OUR_REPLY_HEADER = "X-Intake-Reply"


def _pairs(msg: email.message.Message, name: str) -> list[tuple[str, str]]:
    try:
        values = msg.get_all(name) or []
    except (TypeError, ValueError, IndexError):
        return []
    return address_pairs(values, MAX_HEADER_VALUES)


def fold_address(address: str) -> tuple[str, str]:
    """(local part, domain) as they compare: one spelling for every way of writing them.

    Case (and look-alike compatibility forms, by NFKC), quotes around the
    local part, a ``+tag`` (sub-addressing), a trailing dot on the domain
    (RFC 1034 §3.1: the root) and surrounding angle brackets or spaces do
    not make another address.
    """
    text = unicodedata.normalize("NFKC", address).casefold().strip().strip("<>").strip()
    local, _, domain = text.rpartition("@")
    local = local.strip('"').split("+", 1)[0]
    return local, domain.strip().rstrip(".")


def is_our_address(address: str, our_addresses: Sequence[str]) -> bool:
    """True when ``address`` is one of ours in any spelling (see `fold_address`).

    A domain written as an IP literal (``[192.0.2.1]``) cannot be checked
    against ours, so our local part at any IP literal counts as ours: taking
    a stranger for us only means no reply is sent.
    """
    if "@" not in address:
        return False
    local, domain = fold_address(address)
    for ours in our_addresses:
        our_local, our_domain = fold_address(ours)
        if local == our_local and (domain == our_domain or domain.startswith("[")):
            return True
    return False


_SEPARATORS = re.compile(r"[\s<>\"'(),;:]+")
MAX_HEADER_VALUES = 5  # of each sender header looked at: this runs in the worker itself


def addresses_in_text(text: str) -> list[str]:
    """Every address-looking token (``local@domain``) in ``text`` (a display name, a line).

    Split on separators, never searched with a pattern that could go back over
    the text: a header anyone can write must cost linear time (issue 8).
    """
    folded = unicodedata.normalize("NFKC", text[:8192])
    found = []
    for token in _SEPARATORS.split(folded):
        local, at, domain = token.partition("@")
        if at and local and domain and "@" not in domain:
            found.append(token.rstrip("."))
    return found


def names_our_address(display_name: str, our_addresses: Sequence[str]) -> bool:
    """True when a display name holds one of our addresses (``"referrals@us" <x@evil>``)."""
    return any(is_our_address(a, our_addresses) for a in addresses_in_text(display_name))


def address_in_name(display_name: str, address: str) -> bool:
    """True when a display name holds an address other than the real one (issue 8)."""
    real = fold_address(address)
    return any(fold_address(a) != real for a in addresses_in_text(display_name))


def echoed_prefixes(
    inner_messages: Iterable[Any], our_addresses: Sequence[str], domain: str
) -> list[str]:
    """Path prefixes of attached messages that are our own replies sent back to us.

    An attached message (`parsers.mail.unpack.InnerMessage`) is ours when its
    Message-ID is one of ours, it carries `OUR_REPLY_HEADER`, or it is from
    one of our addresses.  Nothing inside it is read as a referral.
    """
    found = []
    for inner in inner_messages:
        sender = next(iter(address_pairs([inner.get("from") or ""], 1)), ("", ""))
        if (
            is_our_message_id(inner.get("message-id"), domain)
            or inner.get(OUR_REPLY_HEADER.lower())
            or is_our_address(sender[1], our_addresses)
            or names_our_address(sender[0], our_addresses)
        ):
            found.append(inner.prefix)
    return found


def quotes_our_reply(text: str, domain: str) -> bool:
    """True when a body quotes one of our Message-IDs (a quoted header block of ours)."""
    if not domain:
        return False
    pattern = rf"<?[a-z0-9]+-[0-9a-f]{{16,32}}@{re.escape(domain.lower())}>?"
    return re.search(pattern, text[:200_000].lower()) is not None


def _subject_reason(msg: email.message.Message) -> str | None:
    subject = decoded_subject(msg)
    if _AUTOREPLY_SUBJECT.match(subject):
        return "autoreply_subject"
    if _BOUNCE_SUBJECT.match(subject):
        return "bounce_subject"
    return None


def is_our_message_id(message_id: str, domain: str) -> bool:
    """True for a Message-ID this service made (``<wsp-<hex>@domain>``)."""
    if not domain:
        return False
    value = message_id.strip().strip("<>").strip()
    local, _, right = value.rpartition("@")
    return right.lower() == domain.strip().lower() and bool(_OUR_LOCAL_PART.match(local))


def decoded_subject(msg: email.message.Message) -> str:
    """The Subject as text, RFC 2047 encoded-words decoded, never raising; as
    written when an encoded word is broken or names an unknown charset (strict,
    unlike the lenient `parsers.mail.unpack.decode_words` the pages use: a reply's
    subject must never carry a guess at what the sender wrote)."""
    raw = msg.get("Subject")
    return "" if raw is None else decoded_subject_text(str(raw))


def decoded_subject_text(raw: str) -> str:
    """`decoded_subject` of a Subject value: the one strict decoder of subjects."""
    try:
        return " ".join(str(make_header(decode_header(raw))).split())
    except (MessageError, ValueError, LookupError, UnicodeError):
        # MessageError: HeaderParseError, and CharsetError for an encoded word
        # naming a non-ASCII charset (=?\xff?q?x?=); raising here would park
        # the message at the parse step instead of assessing it.
        return " ".join(str(raw).split())


def _address(value: str) -> str:
    """The bare address of a header value, lower case ("" when none)."""
    return next((a.lower() for _n, a in address_pairs([value], 1) if a), "")
