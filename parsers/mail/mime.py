"""Raw email bytes -> `ParsedMessage`: headers, bodies and every attachment.

`parse_message` never raises on bad input.  What it could not make sense of
is listed in ``defects`` (the stdlib's defect class names, plus our own
short codes such as ``too_large`` and ``too_many_parts``); attachments that
could not be unpacked carry their own ``error``.

Example::

    parsed = parse_message(raw, Limits())
    forms = [p for p in parsed.attachments if p.is_leaf and not p.error]

The stdlib parser is used with ``policy.compat32``: it keeps header values
as text however broken they are, and every header is decoded here by hand
(RFC 2047, RFC 2231, raw 8-bit), so no header access can raise later.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from email import policy
from email.header import Header
from email.message import Message
from email.parser import BytesHeaderParser
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser

import structlog

from parsers.errors import Reason
from parsers.limits import Limits
from parsers.mail.unpack import (
    AttachmentPart,
    InnerMessage,
    Unpacker,
    address_pairs,
    attachment_filename,
    crash_site,
    decode_bytes,
    decode_payload,
    decode_words,
    fix_surrogates,
    header_text,
    parse_bytes,
    part_type,
)

log = structlog.get_logger(__name__)

# The header block of an over-size message is read up to this many bytes.
_MAX_HEADER_BYTES = 1024 * 1024


@dataclass(frozen=True)
class ParsedMessage:
    """What one email says, decoded.

    Addresses are bare ``local@domain`` strings as sent.  ``date`` is aware
    (UTC when the message gave no zone) or None.  ``text_body`` is the
    plain-text body, or the HTML body's text when there is no plain part.
    ``attachments`` holds every leaf that is not the chosen body, and every
    unpacked container with its members after it.  ``forwarded_from`` is the
    original sender of a forwarded referral (an attached message's From, or
    the From line of an inline forward's quoted header block).  ``message``
    is the top-level stdlib message (``compat32``) for header checks.
    """

    message: Message = field(repr=False)
    message_id: str | None
    subject: str
    from_addr: str | None
    from_name: str
    reply_to: list[str]
    to: list[str]
    cc: list[str]
    date: dt.datetime | None
    in_reply_to: str | None
    references: list[str]
    text_body: str
    html_body: str
    attachments: list[AttachmentPart]
    defects: list[str]
    forwarded_from: str | None
    # Attached messages (RFC 2046 5.2.1, .eml files), for recognising our own
    # replies sent back to us (issue 8); their parts' paths start with ``prefix``.
    inner_messages: list[InnerMessage] = field(default_factory=list)

    @property
    def headers(self) -> Message:
        """The top-level message, for checks on any header."""
        return self.message


UTF8_BOM = b"\xef\xbb\xbf"


def parse_message(
    raw: bytes, limits: Limits, parse: Callable[[bytes], Message] | None = None
) -> ParsedMessage:
    """Parse ``raw`` (RFC 5322 bytes), unpacking attachments within ``limits``.

    Never raises on bad input.  A message over ``limits.max_message_bytes``
    gives its headers only, with the defect ``too_large``.  ``parse`` turns
    the bytes into the stdlib message the walker reads (default: the
    stdlib's own parser; `parsers.mail` passes mail-parser's ``message``).
    """
    raw = without_bom(raw)
    refused = refusal(raw, limits)
    if refused is not None:
        log.info(f"message_{refused}", size=len(raw))
        return _headers_only(raw, [refused])
    try:
        return _parse_whole((parse or parse_bytes)(raw), limits)
    except RecursionError:
        log.warning("message_too_deep", size=len(raw))
        return _headers_only(raw, [Reason.TOO_DEEP.value])
    except Exception as exc:  # the last line of defence: we must answer
        log.error(
            "message_unparseable", size=len(raw), error=type(exc).__name__, at=crash_site(exc)
        )
        return _headers_only(raw, [f"unparseable:{type(exc).__name__}"])


def without_bom(raw: bytes) -> bytes:
    """``raw`` without a UTF-8 byte-order mark (some tools save .eml files with one;
    before it, no header parses)."""
    return raw[len(UTF8_BOM) :] if raw.startswith(UTF8_BOM) else raw


def refusal(raw: bytes, limits: Limits) -> str | None:
    """Why ``raw`` is refused before any parser builds it (a `Reason` value), or None.

    Over ``limits.max_message_bytes``: ``too_large``; far more boundary lines
    than parts allowed: ``too_many_parts``.  Cheap: counts bytes, parses nothing.
    """
    if len(raw) > limits.max_message_bytes:
        return Reason.TOO_LARGE.value
    if _part_flood(raw, limits):
        return Reason.TOO_MANY_PARTS.value
    return None


def _part_flood(raw: bytes, limits: Limits) -> bool:
    """True when ``raw`` holds far more boundary lines than parts are allowed.

    The stdlib builds every part in memory before we can count them, so a
    message of a million empty parts is refused from a cheap count of lines
    that could be boundaries (RFC 2046 5.1.1: a delimiter line starts "--").
    """
    ceiling = max(1000, limits.max_parts * 10)
    return raw.count(b"\n--") > ceiling


def _parse_whole(msg: Message, limits: Limits) -> ParsedMessage:
    bodies = _BodyPicker()
    unpacker = Unpacker(limits)
    unpacker.walk_message(msg, "", 1, bodies)
    defects = [type(d).__name__ for d in msg.defects] + header_defects(msg)
    defects += bodies.defects + unpacker.defects
    text = bodies.text or html_to_text(bodies.html)
    attachments = _flag_inline(unpacker.parts, bodies.html)
    attached = None if part_type(msg) == "multipart/report" else unpacker.attached_sender
    forwarded = attached or inline_forward_sender(header_text(msg, "subject"), text)
    built = _build(msg, text, bodies.html, attachments, _unique(defects), forwarded)
    return replace(built, inner_messages=list(unpacker.inner_messages))


def _headers_only(raw: bytes, defects: list[str]) -> ParsedMessage:
    head = raw[:_MAX_HEADER_BYTES]
    match = re.search(rb"\r?\n\r?\n", head)
    if match:
        head = head[: match.end()]
    try:
        msg = BytesHeaderParser(policy=policy.compat32).parsebytes(head)
    except Exception:
        msg = Message()
    return _build(msg, "", "", [], defects, None)


def _build(
    msg: Message,
    text: str,
    html: str,
    attachments: list[AttachmentPart],
    defects: list[str],
    forwarded: str | None,
) -> ParsedMessage:
    from_list = addresses(msg, "from")
    from_name, from_addr = from_list[0] if from_list else ("", None)
    return ParsedMessage(
        message=msg,
        message_id=_first_id(header_text(msg, "message-id")),
        subject=header_text(msg, "subject"),
        from_addr=from_addr,
        from_name=from_name,
        reply_to=[a for _n, a in addresses(msg, "reply-to")],
        to=[a for _n, a in addresses(msg, "to")],
        cc=[a for _n, a in addresses(msg, "cc")],
        date=message_date(header_text(msg, "date")),
        in_reply_to=_first_id(header_text(msg, "in-reply-to")),
        references=_msg_ids(header_text(msg, "references")),
        text_body=text,
        html_body=html,
        attachments=attachments,
        defects=defects,
        forwarded_from=forwarded,
    )


# --- headers -------------------------------------------------------------------


def addresses(msg: Message, name: str) -> list[tuple[str, str]]:
    """(display name, address) pairs from every ``name`` header, decoded
    (`parsers.mail.unpack.address_pairs`, with the wider bounds of the sandbox)."""
    try:
        values = msg.get_all(name) or []
    except Exception:
        return []
    return [(n, a) for n, a in address_pairs(values, 50, 65536) if a]


_CHECKED_HEADERS = ("from", "sender", "reply-to", "to", "cc", "date", "message-id")


def header_defects(msg: Message) -> list[str]:
    """Defects RFC 5322's grammar finds in the headers people rely on.

    compat32 keeps headers as text and finds none; the modern header
    classes (``policy.default``) parse each value and list what is wrong
    (``InvalidHeaderDefect``, ``ObsoleteHeaderDefect``...).  Never raises.
    """
    found = []
    for name in _CHECKED_HEADERS:
        try:
            values = msg.get_all(name) or []
        except Exception:
            continue
        for value in values:
            try:
                header = policy.default.header_factory(name, _raw_header_text(value))
            except Exception:
                found.append(f"header_unparseable:{name}")
                continue
            found.extend(type(d).__name__ for d in header.defects)
    return found


def _raw_header_text(value: str | Header) -> str:
    if isinstance(value, Header):
        return decode_words(value)
    return fix_surrogates(re.sub(r"\r?\n[ \t]+", " ", str(value)))


def message_date(value: str) -> dt.datetime | None:
    """RFC 5322 3.3 date-time, aware; ``-0000`` or no zone is taken as UTC."""
    if not value:
        return None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when


def _msg_ids(value: str) -> list[str]:
    """RFC 5322 3.6.4 msg-ids, each kept with its angle brackets."""
    return re.findall(r"<[^<>\s]+>", value)


def _first_id(value: str) -> str | None:
    """The first msg-id in ``value``; a malformed id is kept as it came."""
    ids = _msg_ids(value)
    return ids[0] if ids else (value.strip() or None)


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


# --- bodies --------------------------------------------------------------------


@dataclass
class _BodyPicker:
    """Chooses the message's text and HTML bodies as the parts go by.

    The first ``text/plain`` and the first ``text/html`` part with no file
    name and no ``attachment`` disposition are the bodies (RFC 2046 5.1.4:
    in ``multipart/alternative`` either says the same); later plain parts
    of that kind are joined to the text body (Apple Mail splits the text
    around an inline file).  Every other leaf, inline or not, is an
    attachment: Apple Mail sends PDFs inline.
    """

    text: str = ""
    html: str = ""
    has_text: bool = False
    has_html: bool = False
    defects: list[str] = field(default_factory=list)

    def __call__(self, part: Message) -> bool:
        kind = part_type(part)
        if kind not in ("text/plain", "text/html"):
            return False
        if attachment_filename(part) or _is_attachment(part):
            return False
        if kind == "text/html" and self.has_html:
            return False
        body = body_text(part, self.defects)
        if kind == "text/plain" and self.has_text:  # Apple Mail: text, inline file, more text
            self.text = f"{self.text.rstrip()}\n\n{body.lstrip()}"
            return True
        if kind == "text/plain":
            self.text, self.has_text = body, True
        else:
            self.html, self.has_html = body, True
        return True


def _is_attachment(part: Message) -> bool:
    try:
        return (part.get_content_disposition() or "") == "attachment"
    except Exception:
        return False


def body_text(part: Message, defects: list[str]) -> str:
    """A text part's content as text, in its declared charset or a fallback."""
    data = decode_payload(part, defects)
    try:
        charset = part.get_content_charset()
    except Exception:
        charset = None
    text = decode_bytes(data, charset)
    return text.replace("\r\n", "\n").replace("\r", "\n")


class _TextFromHtml(HTMLParser):
    """Keeps the words of an HTML body, one line per block element."""

    _BLOCKS = frozenset(
        [
            "p",
            "div",
            "br",
            "tr",
            "li",
            "h1",
            "h2",
            "h3",
            "h4",
            "h5",
            "h6",
            "table",
            "ul",
            "ol",
            "blockquote",
            "pre",
            "hr",
            "dt",
            "dd",
        ]
    )
    _HIDDEN = frozenset({"script", "style", "head", "title"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._HIDDEN:
            self.hidden += 1
        elif tag in self._BLOCKS:
            self.chunks.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        elif tag in self._BLOCKS:
            self.chunks.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.chunks.append(data)


def html_to_text(html: str) -> str:
    """The visible text of an HTML body, one line per block, blank runs folded."""
    if not html:
        return ""
    parser = _TextFromHtml()
    try:
        parser.feed(html)
        parser.close()
    except Exception:
        return re.sub(r"<[^>]*>", " ", html)
    lines = [re.sub(r"[ \t\xa0]+", " ", ln).strip() for ln in "".join(parser.chunks).split("\n")]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _flag_inline(parts: list[AttachmentPart], html: str) -> list[AttachmentPart]:
    """Mark images the HTML body shows by ``cid:`` (RFC 2392) as inline."""
    if "cid:" not in html.lower():
        return parts
    lowered = html.lower()
    return [
        replace(p, inline=True) if p.content_id and f"cid:{p.content_id.lower()}" in lowered else p
        for p in parts
    ]


# --- forwards --------------------------------------------------------------------

_FORWARD_SUBJECT = re.compile(r"^\s*((re|aw|sv|antw)\s*:\s*)*(fw|fwd)\s*:", re.IGNORECASE)
_FORWARD_MARKER = re.compile(
    r"^[\s>]*(-+\s*forwarded message\s*-+|begin forwarded message:)", re.IGNORECASE | re.MULTILINE
)
_QUOTED_FROM = re.compile(r"^[\s>]*from:\s*(?P<who>.+)$", re.IGNORECASE | re.MULTILINE)
_QUOTED_FIELD = re.compile(r"^[\s>]*(sent|date|subject|to):", re.IGNORECASE)
_ADDRESS = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")


def inline_forward_sender(subject: str, text: str) -> str | None:
    """The original sender's address in an inline forward, or None.

    A forward is a subject starting ``FW:``/``Fwd:`` or a body with a
    "Forwarded message" marker; its quoted header block is a ``From:`` line
    followed within a few lines by ``Sent:``/``Date:`` and ``Subject:``.  With
    several blocks (a forward of a forward) the last one is the original.
    """
    if not (_FORWARD_SUBJECT.match(subject) or _FORWARD_MARKER.search(text)):
        return None
    found = None
    for match in _QUOTED_FROM.finditer(text):
        following = text[match.end() :].split("\n", 7)[1:7]
        fields = {m.group(1).lower() for ln in following if (m := _QUOTED_FIELD.match(ln))}
        address = _ADDRESS.search(match.group("who"))
        if address and "subject" in fields and fields & {"sent", "date"}:
            found = address.group(0)
    return found
