"""Turn every leaf of a message into an `AttachmentPart`, unpacking containers.

A referral form reaches us inside many wrappings: a MIME part, an attached
message (``message/rfc822`` or an ``.eml`` sent as a binary), an Outlook
``.msg``, a ``winmail.dat`` (TNEF), a ``.zip``, or several of these nested.
`Unpacker` opens each container it meets, within `Limits.max_depth` and
`Limits.max_parts`, and lists the container itself (``container=True``)
followed by its members, so that a person can see where a file came from
(``path``) while the form matcher reads only the leaves.

Nothing here raises on hostile input: a container that cannot be opened is
kept with ``error`` set to a `Reason` code, and the unpacking goes on.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import quopri
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from email import policy
from email.errors import MessageError
from email.header import Header, decode_header
from email.message import Message
from email.parser import BytesParser
from email.utils import getaddresses
from typing import Any

import structlog

from parsers.errors import ParseError, Reason
from parsers.limits import Limits
from parsers.mail import sniff

log = structlog.get_logger(__name__)

# Deeper MIME nesting than this is hostile (real clients stay under ~6);
# walking it recursively would only risk a RecursionError.
MAX_MIME_NESTING = 40
# A message/rfc822 part or .eml whose own header block is all we keep from
# the inner message when it cannot be serialised again.
_RFC822 = ("message/rfc822", "message/global")  # RFC 2046 5.2.1, RFC 6532 3.7


@dataclass(frozen=True)
class AttachmentPart:
    """One file found in a message, as sent or unpacked from a container.

    ``media_type`` is sniffed from the bytes (`parsers.mail.sniff`), never taken
    from ``declared_type``.  ``path`` says where it came from, for people
    ("Referral.zip/Form.pdf").  ``depth`` is 1 for a part of the message
    itself and one more per container around it.  ``error`` is a `Reason`
    when the part could not be unpacked or was not kept whole (its ``data``
    may then be empty).  ``container`` parts were unpacked: their members
    follow them in the list.  ``inline`` marks an image the HTML body shows
    by ``cid:``.
    """

    filename: str
    declared_type: str
    media_type: str
    data: bytes = field(repr=False)
    size: int
    sha256: str
    path: str
    depth: int
    error: Reason | None = None
    inline: bool = False
    content_id: str | None = None
    container: bool = False

    @property
    def is_leaf(self) -> bool:
        """A file the form matcher should read (not an unpacked container)."""
        return not self.container


# Headers of an attached message kept for recognising our own replies (issue 8).
INNER_HEADERS = (
    "message-id",
    "in-reply-to",
    "references",
    "from",
    "auto-submitted",
    "x-intake-reply",
)
_INNER_VALUE_CHARS = 2000


@dataclass(frozen=True)
class InnerMessage:
    """A message attached to the one being read (``message/rfc822``, an ``.eml``).

    ``prefix`` is the path its own parts start with (``"Re: referral.eml/"``);
    ``headers`` the few of `INNER_HEADERS` it has, decoded and shortened.
    """

    prefix: str
    headers: tuple[tuple[str, str], ...]

    def get(self, name: str) -> str:
        """The first value of header ``name`` ("" when it has none)."""
        return next((v for n, v in self.headers if n == name.lower()), "")


# --- decoding of header text -------------------------------------------------

# WHATWG Encoding: labels for US-ASCII and ISO-8859-1 mean windows-1252,
# because that is what mail software writing them nearly always sent.
_CHARSET_ALIASES = {
    "us-ascii": "cp1252",
    "ascii": "cp1252",
    "iso-8859-1": "cp1252",
    "iso8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "unknown-8bit": "utf-8",
    "x-unknown": "utf-8",
    "utf8": "utf-8",
    "ks_c_5601-1987": "cp949",  # Outlook's name for it
    "gb2312": "gb18030",  # GB 18030 is a superset that decodes what GB2312 senders send
    "gbk": "gb18030",
}


def decode_bytes(data: bytes, charset: str | None) -> str:
    """Text from ``data`` in ``charset``, never raising.

    An unknown or wrong charset falls back to UTF-8 and then windows-1252,
    which decodes nearly everything Western mail software sends.
    """
    for name in _charset_candidates(charset):
        try:
            return data.decode(name)
        except (UnicodeDecodeError, LookupError):
            continue
    return data.decode("latin-1")


def _charset_candidates(charset: str | None) -> list[str]:
    names = []
    if charset:
        label = charset.strip().strip('"').lower()
        names.append(_CHARSET_ALIASES.get(label, label))
    names.extend(["utf-8", "cp1252"])
    return names


def crash_site(exc: BaseException) -> str:
    """Where an exception was raised ("tnef.py:212"), for logs.

    Logged instead of the traceback: exception messages from parsers quote
    the bytes they choked on, which may be personal data.
    """
    frame = exc.__traceback__
    while frame is not None and frame.tb_next is not None:
        frame = frame.tb_next
    if frame is None:
        return "?"
    return f"{frame.tb_frame.f_code.co_filename.rsplit('/', 1)[-1]}:{frame.tb_lineno}"


def fix_surrogates(text: str) -> str:
    """Undo the stdlib's surrogate escapes of raw 8-bit header bytes.

    RFC 6532 allows UTF-8 in headers; older clients send raw windows-1252.
    """
    if not any("\udc80" <= ch <= "\udcff" for ch in text):
        return text
    return decode_bytes(text.encode("utf-8", "surrogateescape"), "utf-8")


def decode_words(value: str | Header | None) -> str:
    """A header value with RFC 2047 encoded-words decoded, folded to one line."""
    if value is None:
        return ""
    if isinstance(value, Header):
        return _join_chunks(decode_header(value))
    text = re.sub(r"\r?\n[ \t]+", " ", str(value))
    text = fix_surrogates(text)
    if "=?" not in text:
        return text.strip()
    try:
        return _join_chunks(decode_header(text))
    except (ValueError, LookupError, TypeError, AssertionError, MessageError):
        # MessageError: HeaderParseError, and CharsetError for an encoded word naming
        # a charset that is not one (=?\xff?q?x?=): the text stays as written.
        return text.strip()


# Of an address header, how many values and characters each are read: the stdlib's
# address parser grows worse than linearly on hostile input, and these run in the
# worker itself too, before any sandbox (issue 8).
ADDRESS_VALUES = 5
ADDRESS_CHARS = 4096


def address_pairs(
    values: Iterable[object], max_values: int = ADDRESS_VALUES, max_chars: int = ADDRESS_CHARS
) -> list[tuple[str, str]]:
    """(display name, address) of every address in header ``values``, within bounds.

    Parsed before RFC 2047 decoding (RFC 2047 5: an encoded word is never part
    of an address), so a decoded comma cannot split a name; names decoded after.
    The one address reader of the project: the store, the automatic-mail rules,
    the MIME walker and the unpacker all read addresses through it.
    """
    texts = [_raw_value(v)[:max_chars] for v in list(values)[:max_values]]
    try:
        pairs = getaddresses(texts)
    except (TypeError, ValueError, IndexError, RecursionError):  # nested comments "(((("
        return []
    return [(decode_words(n), a.strip()) for n, a in pairs if a.strip() or n.strip()]


def _raw_value(value: object) -> str:
    if isinstance(value, Header):
        return decode_words(value)
    return fix_surrogates(re.sub(r"\r?\n[ \t]+", " ", str(value)))


def _join_chunks(chunks: list[tuple[bytes | str, str | None]]) -> str:
    out = []
    for chunk, charset in chunks:
        if isinstance(chunk, bytes):
            out.append(decode_bytes(chunk, charset))
        else:
            out.append(fix_surrogates(chunk))
    return re.sub(r"\s+", " ", "".join(out)).strip()


def header_text(msg: Message, name: str) -> str:
    """One decoded header value ("" when missing or unreadable)."""
    try:
        value = msg.get(name)
    except Exception:  # a broken header must not stop the message
        return ""
    return decode_words(value)


def attachment_filename(part: Message) -> str | None:
    """The part's file name, decoded, or None when it has none.

    Tries Content-Disposition ``filename`` then Content-Type ``name``
    (RFC 2183 2.3, RFC 2045 legacy), with RFC 2231 charsets and
    continuations, RFC 2047 encoded-words (not allowed there, but Outlook
    and Gmail send them) and raw 8-bit bytes.  Any folder part is dropped.
    """
    for param, header in (("filename", "content-disposition"), ("name", "content-type")):
        try:
            raw = _with_8bit_decoded(part, header).get_param(param, header=header)
        except Exception:
            continue
        if raw:
            name = _clean_filename(_param_text(raw))
            if name:
                return name
    return None


def _with_8bit_decoded(part: Message, header: str) -> Message:
    """``part``, or a stand-in holding ``header`` with raw 8-bit bytes decoded.

    compat32 turns undecodable header bytes into U+FFFD when parameters are
    read; decoding them first keeps a raw UTF-8 (or windows-1252) name.
    """
    for name, value in part.raw_items():
        if name.lower() == header and isinstance(value, str) and fix_surrogates(value) != value:
            stand_in = Message()
            stand_in[header] = fix_surrogates(value)
            return stand_in
    return part


def _param_text(raw: Any) -> str:
    if isinstance(raw, tuple) and len(raw) == 3:  # RFC 2231 (charset, language, text)
        charset, _lang, text = raw
        data = str(text).encode("latin-1", "replace")
        return decode_bytes(data, charset)
    text = str(raw)
    if len(text) >= 2 and text[0] == text[-1] == '"':
        text = text[1:-1]
    return decode_words(text)


def _clean_filename(name: str) -> str:
    name = re.sub(r"[\x00-\x1f\x7f]", "", name)
    name = re.split(r"[\\/]", name)[-1]
    return name.strip().strip(".").strip() if name.strip(" .") else ""


def decode_payload(part: Message, defects: list[str]) -> bytes:
    """The part's body with its Content-Transfer-Encoding undone.

    Broken base64 or quoted-printable is decoded as far as possible; the
    stdlib records what it found on ``part.defects``, copied to ``defects``.
    """
    try:
        data = part.get_payload(decode=True)
    except Exception as exc:
        defects.append(f"payload_undecodable:{type(exc).__name__}")
        return b""
    for defect in getattr(part, "defects", []):
        defects.append(type(defect).__name__)
    return data if isinstance(data, bytes) else b""


def part_type(part: Message) -> str:
    try:
        return part.get_content_type()
    except Exception:
        return "application/octet-stream"


def content_id(part: Message) -> str | None:
    value = header_text(part, "content-id").strip().strip("<>").strip()
    return value or None


def sender_address(msg: Message) -> str | None:
    """The bare address from a message's From header, or None."""
    try:
        values = msg.get_all("from") or []
    except Exception:
        return None
    return next((a for _n, a in address_pairs(values) if a), None)


def message_bytes(msg: Message) -> bytes:
    """A message serialised again (b"" when the stdlib cannot)."""
    try:
        return msg.as_bytes()
    except Exception:
        return b""


def parse_bytes(raw: bytes) -> Message:
    """The stdlib's most forgiving parse (compat32 keeps headers as text)."""
    return BytesParser(policy=policy.compat32).parsebytes(raw)


def mime_leaves(msg: Message, defects: list[str], level: int = 0) -> Iterator[Message]:
    """Every leaf part in order; an attached message is a leaf (a container)."""
    if level > MAX_MIME_NESTING:
        defects.append("mime_nesting_too_deep")
        return
    payload = msg.get_payload()
    if isinstance(payload, list) and part_type(msg).startswith("multipart/"):
        if level:  # the top level's own defects are collected by the caller
            defects.extend(type(d).__name__ for d in getattr(msg, "defects", []))
        for sub in payload:
            if isinstance(sub, Message):
                yield from mime_leaves(sub, defects, level + 1)
        return
    yield msg


BodyClaim = Callable[[Message], bool]


# --- the unpacker ------------------------------------------------------------


@dataclass
class Unpacker:
    """Collects the attachments of one message, unpacking as it goes."""

    limits: Limits
    parts: list[AttachmentPart] = field(default_factory=list)
    defects: list[str] = field(default_factory=list)
    attached_sender: str | None = None
    inner_messages: list[InnerMessage] = field(default_factory=list)
    seen: int = 0
    overflow: bool = False
    unpacked_bytes: int = 0  # bytes of parts taken out of containers

    def walk_message(self, msg: Message, prefix: str, depth: int, claim: BodyClaim) -> None:
        """Add every leaf of ``msg`` that ``claim`` does not take as a body."""
        for leaf in mime_leaves(msg, self.defects):
            if not self._count():
                return
            if claim(leaf):
                continue
            self._take_mime_part(leaf, prefix, depth)

    def _budget(self) -> int:
        """Bytes still allowed for unpacked members in this message.

        Each archive is checked on its own by `parsers.safezip`; this bounds
        the sum over every archive in the message (a zip of zips would
        otherwise multiply the per-archive limit), since all parts are
        held in memory.
        """
        return max(0, self.limits.max_unpacked_bytes - self.unpacked_bytes)

    def _count(self) -> bool:
        """Count one more part; False once `Limits.max_parts` is passed."""
        self.seen += 1
        if self.seen > self.limits.max_parts:
            if not self.overflow:
                self.defects.append(Reason.TOO_MANY_PARTS.value)
                log.info("parts_limit_reached", limit=self.limits.max_parts)
            self.overflow = True
            return False
        return True

    def _take_mime_part(self, leaf: Message, prefix: str, depth: int) -> None:
        declared = part_type(leaf)
        name = attachment_filename(leaf)
        payload = leaf.get_payload()
        if declared in _RFC822 and isinstance(payload, list) and payload:
            inner = payload[0]
            encoded = _encoded_message(leaf, inner)
            if encoded is not None:
                self.take(encoded, name, declared, prefix, depth)
                return
            if isinstance(inner, Message):
                self._take_message(inner, name, declared, prefix, depth)
                return
        if isinstance(payload, list):  # message/delivery-status and friends
            blocks = [m for m in payload if isinstance(m, Message)]
            self.defects.extend(type(d).__name__ for m in blocks for d in m.defects)
            data = b"".join(message_bytes(m) for m in blocks)
        else:
            data = decode_payload(leaf, self.defects)
        self.take(data, name, declared, prefix, depth, cid=content_id(leaf))

    def take(
        self,
        data: bytes,
        name: str | None,
        declared: str,
        prefix: str,
        depth: int,
        cid: str | None = None,
    ) -> None:
        """Add one file, and unpack it when it is a container we open."""
        media = sniff.sniff(data)
        name = name or self._made_up_name(media)
        index = self._add(data, name, declared, media, prefix, depth, cid)
        if len(data) > self.limits.max_attachment_bytes:
            self._fail(index, Reason.TOO_LARGE)
            return
        opener = self._openers().get(media)
        if media == sniff.EML and declared.startswith("text/"):
            opener = None  # text/rfc822-headers (RFC 6522) and plain text that looks like mail
        if media in sniff.UNSUPPORTED_CONTAINERS:
            self._mark_container(index, Reason.UNSUPPORTED_FORMAT)
        elif opener is not None:
            self._open(index, opener, data, f"{prefix}{name}/", depth)

    def _openers(self) -> dict[str, Callable[[bytes, str, int], None]]:
        return {
            sniff.ZIP: self._open_zip,
            sniff.MSG: self._open_msg,
            sniff.TNEF: self._open_tnef,
            sniff.EML: self._open_eml,
        }

    def _open(
        self,
        index: int,
        opener: Callable[[bytes, str, int], None],
        data: bytes,
        prefix: str,
        depth: int,
    ) -> None:
        if depth >= self.limits.max_depth:
            self._mark_container(index, Reason.TOO_DEEP)
            return
        self._mark_container(index, None)
        try:
            opener(data, prefix, depth + 1)
        except ParseError as exc:
            self._fail(index, exc.reason)
        except RecursionError:
            self._fail(index, Reason.TOO_DEEP)
        except MemoryError:
            self._fail(index, Reason.MEMORY)
        except Exception as exc:  # third-party unpackers raise anything on damaged files
            kind = self.parts[index].media_type
            log.info(
                "container_unreadable", kind=kind, error=type(exc).__name__, at=crash_site(exc)
            )
            self._fail(index, Reason.CORRUPT)

    def _take_message(
        self, inner: Message, name: str | None, declared: str, prefix: str, depth: int
    ) -> None:
        """An attached message (RFC 2046 5.2.1): listed, then its parts unpacked."""
        data = message_bytes(inner)
        subject = header_text(inner, "subject")
        name = name or _safe_name(subject, ".eml") or self._made_up_name(sniff.EML)
        index = self._add(data, name, declared, sniff.EML, prefix, depth, None)
        self._open(
            index, lambda _d, p, d: self._walk_inner(inner, p, d), data, f"{prefix}{name}/", depth
        )

    def _open_eml(self, data: bytes, prefix: str, depth: int) -> None:
        self._walk_inner(parse_bytes(data), prefix, depth)

    def _walk_inner(self, inner: Message, prefix: str, depth: int) -> None:
        """An attached message's own text is a covering note, not a form."""
        if self.attached_sender is None:
            self.attached_sender = sender_address(inner)
        self.inner_messages.append(InnerMessage(prefix, _inner_headers(inner)))
        self.defects.extend(type(d).__name__ for d in getattr(inner, "defects", []))
        self.walk_message(inner, prefix, depth, _BodyTaker())

    def _open_zip(self, data: bytes, prefix: str, depth: int) -> None:
        from parsers.safezip import open_zip, read_member

        with open_zip(data, self.limits) as zf:
            for info in zf.infolist():
                if info.is_dir():
                    continue
                if not self._count():
                    return
                name = _zip_member_name(info)
                cap = min(self.limits.max_attachment_bytes, self._budget())
                try:
                    member = read_member(zf, info.filename, self.limits, cap)
                except ParseError as exc:  # this member only: the others may hold the form
                    self._add_refused(name, exc.reason, prefix, depth)
                    continue
                self.take(member, name, "", prefix, depth)

    def _add_refused(self, name: str | None, reason: Reason, prefix: str, depth: int) -> None:
        """List a member that was not taken out, with why (its bytes are not kept)."""
        name = name or self._made_up_name(sniff.UNKNOWN)
        self._fail(self._add(b"", name, "", sniff.UNKNOWN, prefix, depth, None), reason)

    def _open_msg(self, data: bytes, prefix: str, depth: int) -> None:
        import extract_msg
        from extract_msg.enums import ErrorBehavior

        msg = extract_msg.openMsg(data, errorBehavior=ErrorBehavior.SUPPRESS_ALL)
        try:
            self._msg_attachments(msg, prefix, depth)
        finally:
            msg.close()

    def _msg_attachments(self, msg: Any, prefix: str, depth: int) -> None:
        """[MS-OXMSG] 2.2.2: each attachment storage; the .msg body is not a form."""
        for att in msg.attachments:
            if not self._count():
                return
            try:
                payload = att.data
            except Exception as exc:
                self.defects.append(f"msg_attachment_unreadable:{type(exc).__name__}")
                continue
            name = _first_text(
                getattr(att, "longFilename", None), getattr(att, "shortFilename", None)
            )
            declared = _first_text(getattr(att, "mimetype", None)) or ""
            if isinstance(payload, bytes):
                self.take(payload, name, declared, prefix, depth)
            elif hasattr(payload, "attachments"):
                self._take_embedded_msg(payload, name, prefix, depth)

    def _take_embedded_msg(self, inner: Any, name: str | None, prefix: str, depth: int) -> None:
        """A .msg attached inside a .msg (an Outlook "attach item")."""
        try:
            data = inner.exportBytes()
        except Exception:
            data = b""
        subject = _first_text(getattr(inner, "subject", None)) or ""
        name = name or _safe_name(subject, ".msg") or self._made_up_name(sniff.MSG)
        if not name.lower().endswith(".msg"):
            name = f"{name}.msg"
        index = self._add(data, name, "", sniff.MSG, prefix, depth, None)
        opener = lambda _d, p, d: self._msg_attachments(inner, p, d)  # noqa: E731
        self._open(index, opener, data, f"{prefix}{name}/", depth)

    def _open_tnef(self, data: bytes, prefix: str, depth: int) -> None:
        """[MS-OXTNEF]: winmail.dat; its attachments, not its body."""
        from tnefparse.tnef import TNEF

        tnef = TNEF(data, do_checksum=False)
        for att in tnef.attachments:
            if not self._count():
                return
            name = _first_text(_tnef_name(att))
            payload = att.data if isinstance(att.data, bytes) else b""
            self.take(payload, name, "", prefix, depth)

    def _add(
        self,
        data: bytes,
        name: str,
        declared: str,
        media: str,
        prefix: str,
        depth: int,
        cid: str | None,
    ) -> int:
        part = AttachmentPart(
            filename=name,
            declared_type=declared,
            media_type=media,
            data=data,
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            path=f"{prefix}{name}",
            depth=depth,
            content_id=cid,
        )
        self.parts.append(part)
        if depth > 1:
            self.unpacked_bytes += len(data)
        return len(self.parts) - 1

    def _mark_container(self, index: int, error: Reason | None) -> None:
        self.parts[index] = replace(self.parts[index], container=True, error=error)

    def _fail(self, index: int, reason: Reason) -> None:
        self.parts[index] = replace(self.parts[index], error=reason)

    def _made_up_name(self, media: str) -> str:
        return f"attachment-{len(self.parts) + 1}{sniff.extension_for(media)}"


def _inner_headers(inner: Message) -> tuple[tuple[str, str], ...]:
    kept = []
    for name in INNER_HEADERS:
        value = header_text(inner, name)
        if value:
            kept.append((name, value[:_INNER_VALUE_CHARS]))
    return tuple(kept)


@dataclass
class _BodyTaker:
    """Claims the first plain and the first HTML body of an attached message."""

    taken: set[str] = field(default_factory=set)

    def __call__(self, part: Message) -> bool:
        kind = part_type(part)
        if kind not in ("text/plain", "text/html") or kind in self.taken:
            return False
        if attachment_filename(part) or _disposition(part) == "attachment":
            return False
        self.taken.add(kind)
        return True


def _encoded_message(leaf: Message, inner: object) -> bytes | None:
    """The bytes of an attached message sent base64 or quoted-printable.

    RFC 2046 5.2.1 forbids encoding message/rfc822, but some clients do it;
    the stdlib then parses the encoded text as if it were the message.
    Returns None for an attached message sent as it should be.
    """
    cte = header_text(leaf, "content-transfer-encoding").lower()
    if cte not in ("base64", "quoted-printable") or not isinstance(inner, Message):
        return None
    text = message_bytes(inner)
    try:
        if cte == "base64":
            return base64.b64decode(b"".join(text.split()), validate=False)
        return quopri.decodestring(text)
    except (ValueError, binascii.Error):
        return None


def _disposition(part: Message) -> str:
    try:
        return (part.get_content_disposition() or "").lower()
    except Exception:
        return ""


def _zip_member_name(info: zipfile.ZipInfo) -> str | None:
    """A member's name; APPNOTE 4.4.4 bit 11 unset means CP437, but Windows
    zips write the local code page there, and macOS zips write UTF-8."""
    name = info.filename
    if not info.flag_bits & 0x800:
        try:
            raw = name.encode("cp437")
            name = decode_bytes(raw, "utf-8")
        except UnicodeEncodeError:
            pass
    return _clean_filename(name) or None


def _tnef_name(att: Any) -> Any:
    """tnefparse decodes names as UTF-8; Outlook writes them in the OEM code page."""
    try:
        return att.long_filename()
    except Exception:  # UnicodeDecodeError on a windows-1252 name, mostly
        raw = getattr(att, "_name", None)
        return decode_bytes(raw.rstrip(b"\x00"), "cp1252") if isinstance(raw, bytes) else None


def _first_text(*values: Any) -> str | None:
    for value in values:
        if isinstance(value, bytes):
            value = decode_bytes(value.rstrip(b"\x00"), "utf-8")
        if isinstance(value, str):
            cleaned = _clean_filename(value.rstrip("\x00"))
            if cleaned:
                return cleaned
    return None


def _safe_name(subject: str, extension: str) -> str | None:
    """A file name made from a subject line ("CSPR referral" -> "CSPR referral.eml")."""
    stem = _clean_filename(re.sub(r'[<>:"|?*]', "", subject))[:80].strip()
    return f"{stem}{extension}" if stem else None
