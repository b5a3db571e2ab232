"""One message, parsed once: raw bytes -> `MailResult` (issue 8).

`read_mail` is the job the parser sandbox runs for every message, under the
message's own time and memory budget (`parsers.sandbox.parse_mail`).  It
parses with mail-parser, the library the project names: its ``message`` is
the standard-library message the MIME walker (`parsers.mail.mime`) reads, and it
adds the ``Received`` hops and its own defects.  Where mail-parser fails on
a message, the standard library parses it instead and the defect
``mailparser_failed:<error>`` says so.

Everything later steps and the review page need is in the result, so that
nothing downstream parses the raw bytes again: the headers (each value
shortened to `MAX_HEADER_CHARS`, so no later check on them can be slow),
the sender's addresses, the text body, the attachments keyed by their
position and path, the attached messages' few headers, the hops, the
defects.  Every text in it has had NUL and other control characters
removed (`clean_text`): no database refuses it.

Example::

    result = read_mail(raw, Limits())
    result.from_addr, result.text_body, [p.path for p in result.attachments]
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from email import policy
from email.message import Message
from email.parser import BytesParser
from typing import Any

import structlog

from parsers.errors import Reason
from parsers.limits import Limits
from parsers.mail.mime import ParsedMessage, parse_message, refusal, without_bom
from parsers.mail.unpack import AttachmentPart, InnerMessage, crash_site, fix_surrogates

log = structlog.get_logger(__name__)
# mail-parser logs through the standard library, quoting headers it could not
# read: personal data.  Its failures reach us as exceptions or defects instead.
logging.getLogger("mailparser").setLevel(logging.CRITICAL + 1)

MAX_HEADERS = 500  # headers kept; a message with more has the defect too_many_headers
MAX_HEADER_CHARS = 4096  # of each header value kept (RFC 5322 2.1.1: lines of 998)
MAX_TEXT_CHARS = 1_000_000  # of the text body kept for the team
MAX_HOPS = 100
MAX_DEFECTS = 200
MAX_IDS = 50  # msg-ids kept from References (RFC 5322 3.6.4 allows trimming)
PARSER_MAILPARSER = "mail-parser"
PARSER_STDLIB = "stdlib"

# C0 and C1 controls but tab and newline, DEL, and lone surrogates: PostgreSQL
# refuses NUL in text and JSON, and no person means any of them (issue 8).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


def clean_text(text: str) -> str:
    """``text`` with NUL and the other control characters removed (tab, newline kept).

    A carriage return becomes a newline, as a line break is what it meant.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub("", text)


def clean_value(value: Any) -> Any:
    """`clean_text` applied to every string in a JSON-like value (keys too)."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean_value(k): clean_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean_value(v) for v in value]
    return value


@dataclass(frozen=True)
class MailResult:
    """What one message says, as later steps and the review page need it.

    ``failure`` is "" when the message was parsed, else a reason code: the
    sandbox's ``timeout`` or ``memory`` (then only ``sha256`` and ``size``
    are known), or the walker's ``too_large``/``too_many_parts``/``too_deep``
    (headers only).  ``parser`` says which library parsed it.  ``headers``
    are (lower-case name, value) in the message's order, unfolded, raw
    (encoded-words left as sent).  Addresses are bare ``local@domain``;
    ``from_addresses`` lists every address of every From header.
    ``attachments`` are in the walker's order: a part's key is its position
    in this list and its ``path``, never its file name.  ``received`` holds
    the hops newest first (``from``, ``by``, ``with``, ``date`` ISO-8601).
    """

    sha256: str
    size: int
    failure: str = ""
    parser: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    message_id: str | None = None
    subject: str = ""
    from_addr: str | None = None
    from_name: str = ""
    from_addresses: tuple[str, ...] = ()
    sender_addr: str | None = None
    reply_to: tuple[str, ...] = ()
    to: tuple[str, ...] = ()
    cc: tuple[str, ...] = ()
    date: str | None = None
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    content_type: str = ""
    text_body: str = ""
    attachments: tuple[AttachmentPart, ...] = field(default=(), repr=False)
    inner_messages: tuple[InnerMessage, ...] = ()
    received: tuple[dict[str, str], ...] = ()
    defects: tuple[str, ...] = ()
    forwarded_from: str | None = None
    seconds: float = 0.0
    peak_memory_kb: int = 0

    def header(self, name: str) -> str:
        """The first value of header ``name`` ("" when absent)."""
        wanted = name.lower()
        return next((v for n, v in self.headers if n == wanted), "")

    def header_message(self) -> Message:
        """The headers as a stdlib message (compat32, no body), for header checks.

        Cheap and bounded: the values are already short, and compat32 keeps
        them as text without parsing.
        """
        msg = Message()
        for name, value in self.headers:
            msg[name] = value
        return msg

    def as_json(self) -> dict[str, Any]:
        """Everything but the attachments' bytes, as JSON-able values."""
        data = asdict(self)
        data["attachments"] = [_part_summary(i, p) for i, p in enumerate(self.attachments)]
        data["inner_messages"] = [
            {"prefix": m.prefix, "headers": [list(h) for h in m.headers]}
            for m in self.inner_messages
        ]
        data["headers"] = [list(h) for h in self.headers]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any], attachments: tuple[AttachmentPart, ...] = ()) -> Any:
        """Rebuild a result stored by `as_json` (``attachments`` from their rows)."""
        known = set(cls.__dataclass_fields__)
        values = {k: v for k, v in data.items() if k in known}
        values["headers"] = tuple((str(n), str(v)) for n, v in data.get("headers") or [])
        values["inner_messages"] = tuple(
            InnerMessage(str(m["prefix"]), tuple((str(n), str(v)) for n, v in m["headers"]))
            for m in data.get("inner_messages") or []
        )
        for name in ("from_addresses", "reply_to", "to", "cc", "references", "defects"):
            values[name] = tuple(data.get(name) or ())
        values["received"] = tuple(dict(h) for h in data.get("received") or ())
        values["attachments"] = attachments
        return cls(**values)


def _part_summary(index: int, part: AttachmentPart) -> dict[str, Any]:
    return {
        "index": index,
        "path": part.path,
        "filename": part.filename,
        "declared_type": part.declared_type[:255],
        "depth": part.depth,
        "content_id": part.content_id,
        "media_type": part.media_type,
        "size": part.size,
        "sha256": part.sha256,
        "error": str(part.error or ""),
        "container": part.container,
        "inline": part.inline,
    }


def part_from_summary(summary: dict[str, Any], data: bytes) -> AttachmentPart:
    """An attachment rebuilt from its `MailResult.as_json` summary and its stored bytes."""
    error = str(summary.get("error") or "")
    return AttachmentPart(
        filename=str(summary.get("filename") or ""),
        declared_type=str(summary.get("declared_type") or ""),
        media_type=str(summary.get("media_type") or ""),
        data=data,
        size=len(data),
        sha256=str(summary.get("sha256") or hashlib.sha256(data).hexdigest()),
        path=str(summary.get("path") or ""),
        depth=int(summary.get("depth") or 1),
        error=Reason(error) if error in {r.value for r in Reason} else None,
        inline=bool(summary.get("inline")),
        content_id=summary.get("content_id"),
        container=bool(summary.get("container")),
    )


def failed_mail(raw: bytes, reason: str, seconds: float = 0.0) -> MailResult:
    """The result of a message the sandbox gave up on (``timeout``, ``memory``)."""
    return MailResult(
        sha256=hashlib.sha256(raw).hexdigest(),
        size=len(raw),
        failure=reason,
        seconds=seconds,
        defects=(reason,),
    )


def read_mail(raw: bytes, limits: Limits) -> MailResult:
    """Parse ``raw`` once; never raises on bad input (see the module docstring)."""
    digest, size = hashlib.sha256(raw).hexdigest(), len(raw)  # of the bytes as stored
    raw = without_bom(raw)
    if refusal(raw, limits) is not None:  # refused from its size: no parser builds it
        parser, defects, hops, parse = _refused()
    else:
        parser, defects, hops, parse = _mailparser_or_stdlib(raw)
    parsed = parse_message(raw, limits, parse)
    result = _result(raw, parsed, parser, [*defects, *parsed.defects], hops)
    return replace(result, sha256=digest, size=size)


def _mailparser_or_stdlib(
    raw: bytes,
) -> tuple[str, list[str], list[dict[str, str]], Callable[[bytes], Message]]:
    """mail-parser's message, hops and defects; the stdlib's message where it fails."""
    try:
        import mailparser

        mail = mailparser.parse_from_bytes(raw)
        message = mail.message
        hops = [_hop(h) for h in (mail.received or [])[-MAX_HOPS:]]
        defects = sorted(str(c) for c in mail.defects_categories)
    except Exception as exc:  # mail-parser raises anything on odd input: we still answer
        log.info("mailparser_failed", error=type(exc).__name__, at=crash_site(exc))
        defects = [f"mailparser_failed:{type(exc).__name__}"]
        return PARSER_STDLIB, defects, [], _stdlib_parse

    def given(_raw: bytes) -> Message:
        return message  # type: ignore[no-any-return]

    hops.reverse()  # mail-parser lists the first hop first; we show the newest first
    return PARSER_MAILPARSER, defects, hops, given


def _refused() -> tuple[str, list[str], list[dict[str, str]], Callable[[bytes], Message]]:
    return PARSER_STDLIB, [], [], _stdlib_parse


def _stdlib_parse(raw: bytes) -> Message:
    return BytesParser(policy=policy.compat32).parsebytes(raw)


def _hop(hop: Any) -> dict[str, str]:
    if not isinstance(hop, dict):
        return {}
    kept = {k: str(hop[k])[:300] for k in ("from", "by", "with") if hop.get(k)}
    when = hop.get("date_utc")  # ISO-8601 text (mail-parser 4), or a datetime (older)
    if isinstance(when, str):
        kept["date"] = when[:40]
    elif when is not None and hasattr(when, "isoformat"):
        kept["date"] = when.isoformat()
    return {k: clean_text(v) for k, v in kept.items()}


def _result(
    raw: bytes, parsed: ParsedMessage, parser: str, defects: list[str], hops: list[dict[str, str]]
) -> MailResult:
    msg = parsed.message
    headers, too_many = _headers(msg)
    if too_many:
        defects.append("too_many_headers")
    failure = next((d for d in parsed.defects if d in _HEADERS_ONLY_REASONS), "")
    return MailResult(
        sha256=hashlib.sha256(raw).hexdigest(),
        size=len(raw),
        failure=failure,
        parser=parser,
        headers=headers,
        message_id=_clean_or_none(parsed.message_id, 998),
        subject=clean_text(parsed.subject)[:2000],
        from_addr=_clean_address(parsed.from_addr),
        from_name=clean_text(parsed.from_name)[:500],
        from_addresses=_addresses(msg, "from"),
        sender_addr=next(iter(_addresses(msg, "sender")), None),
        reply_to=tuple(a for a in map(_clean_address, parsed.reply_to) if a)[:20],
        to=tuple(a for a in map(_clean_address, parsed.to) if a)[:100],
        cc=tuple(a for a in map(_clean_address, parsed.cc) if a)[:100],
        date=parsed.date.isoformat() if parsed.date else None,
        in_reply_to=_clean_or_none(parsed.in_reply_to, 998),
        references=tuple(clean_text(r)[:998] for r in parsed.references[-MAX_IDS:]),
        content_type=_content_type(msg),
        text_body=clean_text(parsed.text_body)[:MAX_TEXT_CHARS],
        attachments=tuple(_clean_part(p) for p in parsed.attachments),
        inner_messages=tuple(
            InnerMessage(m.prefix, tuple((n, clean_text(v)) for n, v in m.headers))
            for m in parsed.inner_messages
        ),
        received=tuple(hops),
        defects=tuple(dict.fromkeys(clean_text(d)[:200] for d in defects))[:MAX_DEFECTS],
        forwarded_from=_clean_address(parsed.forwarded_from),
    )


_HEADERS_ONLY_REASONS = ("too_large", "too_many_parts", "too_deep")


def _headers(msg: Message) -> tuple[tuple[tuple[str, str], ...], bool]:
    """(name, value) pairs, unfolded, shortened, cleaned; and whether some were dropped."""
    kept: list[tuple[str, str]] = []
    try:
        items = msg.raw_items()
        for count, (name, value) in enumerate(items):
            if count >= MAX_HEADERS:
                return tuple(kept), True
            text = fix_surrogates(re.sub(r"\r?\n[ \t]+", " ", str(value)))
            kept.append((clean_text(str(name)).lower()[:100], clean_text(text)[:MAX_HEADER_CHARS]))
    except Exception as exc:  # a header the stdlib cannot even list: keep what we have
        log.info("headers_unreadable", error=type(exc).__name__)
    return tuple(kept), False


def _addresses(msg: Message, name: str) -> tuple[str, ...]:
    from parsers.mail.mime import addresses

    found = (_clean_address(a) for _n, a in addresses(msg, name))
    return tuple(a for a in found if a)[:20]


def _clean_address(address: str | None) -> str | None:
    """A bare address, or None when it holds a control character or is absurd.

    Dropped rather than cleaned: ``victim\\x00@x`` must not become the
    address ``victim@x`` that cases are matched on.
    """
    if not address:
        return None
    address = address.strip()
    if _CONTROL.search(address) or len(address) > 320 or any(c.isspace() for c in address):
        return None
    return address


def _clean_or_none(value: str | None, limit: int) -> str | None:
    if value is None:
        return None
    return clean_text(value)[:limit] or None


def _clean_part(part: AttachmentPart) -> AttachmentPart:
    return replace(
        part,
        filename=clean_text(part.filename)[:255],
        path=clean_text(part.path)[:1000],
        content_id=_clean_or_none(part.content_id, 255),
    )


def _content_type(msg: Message) -> str:
    try:
        return msg.get_content_type()
    except Exception:
        return "application/octet-stream"
