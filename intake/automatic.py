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

`dmarc_failed` reads ``Authentication-Results`` (RFC 8601) and trusts only
the header our own receiving server added (§5: others may be forged).
"""

from __future__ import annotations

import email.message
import email.utils
import re
from collections.abc import Sequence
from email.errors import MessageError
from email.header import decode_header, make_header

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
    ours = {a.strip().lower() for a in our_addresses if a.strip()}
    if _address(_header(msg, "From")) in ours:
        return "from_us"
    if is_our_message_id(_header(msg, "Message-ID"), domain):
        return "our_message_id"
    return None


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
    """The Subject as text, RFC 2047 encoded-words decoded, never raising."""
    raw = msg.get("Subject")
    if raw is None:
        return ""
    try:
        return " ".join(str(make_header(decode_header(str(raw)))).split())
    except (MessageError, ValueError, LookupError, UnicodeError):
        # MessageError: HeaderParseError, and CharsetError for an encoded word
        # naming a non-ASCII charset (=?\xff?q?x?=); raising here would park
        # the message at the parse step instead of assessing it.
        return " ".join(str(raw).split())


def _address(value: str) -> str:
    """The bare address of a header value, lower case ("" when none)."""
    try:
        return email.utils.parseaddr(value)[1].strip().lower()
    except (TypeError, ValueError, IndexError):
        return ""


def dmarc_failed(msg: email.message.Message, authserv_ids: Sequence[str]) -> bool:
    """True when our receiving server recorded ``dmarc=fail`` (RFC 8601).

    Only ``Authentication-Results`` headers whose authserv-id is one of
    ``authserv_ids`` count (§5: the others may be forged).  When the list is
    empty, only the topmost header counts: the one added last, by the server
    that delivered to us.
    """
    headers = [str(v) for v in msg.get_all("Authentication-Results") or []]
    wanted = {a.strip().lower() for a in authserv_ids if a.strip()}
    if not wanted:
        headers = headers[:1]
    for header in headers:
        server, results = parse_authentication_results(header)
        if wanted and (server is None or server.lower() not in wanted):
            continue
        if results.get("dmarc") == "fail":
            return True
    return False


_COMMENT = re.compile(r"\([^()]*\)")
_RESULT = re.compile(r"^\s*([a-z0-9_.-]+)\s*(?:/\s*\d+)?\s*=\s*([a-z]+)", re.IGNORECASE)


def parse_authentication_results(header: str) -> tuple[str | None, dict[str, str]]:
    """(authserv-id, {method: result}) of one ``Authentication-Results`` value.

    The authserv-id is None where the header has none (Exchange Online writes
    ``spf=pass ...; dmarc=pass ...`` without one).  The first result of each
    method wins.
    """
    text = " ".join(header.split())
    previous = None
    while previous != text:  # RFC 5322 §3.2.2 comments nest
        previous, text = text, _COMMENT.sub(" ", text)
    parts = text.split(";")
    server: str | None = None
    if parts and "=" not in parts[0]:
        server = parts[0].split()[0] if parts[0].split() else None
        parts = parts[1:]
    results: dict[str, str] = {}
    for part in parts:
        match = _RESULT.match(part)
        if match:
            results.setdefault(match.group(1).lower(), match.group(2).lower())
    return server, results
