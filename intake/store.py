"""Keeping a fetched message: the first thing that happens to it, committed alone.

`store_message` writes the raw bytes and a few envelope fields and commits,
before anything reads the message.  The unique constraints on
`InboundMessage` make a second sighting create nothing: the same place in
the mailbox (mailbox, folder, UIDVALIDITY, UID), or the same Message-ID and
content hash, for example after a UIDVALIDITY reset renumbered the folder.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.parser import BytesHeaderParser
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

import structlog
from django.db import IntegrityError, transaction
from django.db.models import Q

from intake.automatic import decoded_subject_text
from intake.files import create_owner_only, owner_only
from intake.mailbox.base import FetchedMessage, header_block
from intake.models import Attachment, InboundMessage, MessageContent
from parsers.limits import Limits
from parsers.mail import (
    AttachmentPart,
    MailResult,
    address_pairs,
    clean_text,
    clean_value,
    part_from_summary,
)

log = structlog.get_logger(__name__)
HARD_LIMIT_FACTOR = 4  # above limits.max_message_bytes x this, only the header is kept
ENVELOPE_CHARS = 4096  # of each header value the quick envelope reads
State = InboundMessage.State
T = TypeVar("T")


@dataclass(frozen=True)
class Envelope:
    message_id: str  # without <>; "" when the message has none
    sender: str  # the From address only; "" when unreadable
    subject: str
    date: datetime | None


@dataclass(frozen=True)
class Stored:
    message: InboundMessage
    created: bool  # False: seen before, nothing new was written


BLANK_ENVELOPE = Envelope(message_id="", sender="", subject="", date=None)


def read_envelope(raw: bytes) -> Envelope:
    """The few header fields we keep on the row; never raises, whatever the bytes.

    Only the header block is parsed: the body (megabytes of base64) is not
    needed here, and the parsers read it later.  Each field is read on its
    own, so one hostile header (a Date offset too large for a timedelta, an
    encoded word naming a non-ASCII charset) costs that field only: raising
    here would stop the whole poll at this message, every poll.
    """
    try:
        headers = BytesHeaderParser(policy=policy.compat32).parsebytes(header_block(raw))
    except Exception as exc:  # the stdlib parser is lenient, but "never raises" is the contract
        _log_unreadable("header", exc)
        return BLANK_ENVELOPE
    return Envelope(
        message_id=_read("message_id", "", lambda: _message_id(headers.get("Message-ID"))),
        sender=_read("sender", "", lambda: _sender(headers.get_all("From") or [])),
        subject=_read("subject", "", lambda: _subject(headers.get("Subject"))),
        date=_read("date", None, lambda: _date(headers.get("Date"))),
    )


def _read(field: str, default: T, reader: Callable[[], T]) -> T:
    try:
        return reader()
    except Exception as exc:  # any failure costs this field only; see read_envelope
        _log_unreadable(field, exc)
        return default


def _log_unreadable(field: str, exc: Exception) -> None:
    # The field name and the exception type only: the value is personal data.
    log.warning("envelope_field_unreadable", field=field, error=type(exc).__name__)


def _without_nul(text: str) -> str:
    # PostgreSQL text cannot hold NUL (psycopg refuses it), so the insert would fail.
    return text.replace("\x00", "")


def _message_id(value: object) -> str:
    text = _without_nul(str(value or "")[:ENVELOPE_CHARS]).strip()
    return text.strip("<>").strip()[:998]


def _sender(values: Sequence[object]) -> str:
    # Bounded (issue 8): this runs in the worker itself, before any sandbox.
    pairs = address_pairs(values, max_chars=ENVELOPE_CHARS)
    address = next((address for _name, address in pairs if "@" in address), "")
    # Not stripped but dropped: "victim\x00@x" must not become victim@x, the
    # sender that cases are matched on.
    return "" if "\x00" in address else address[:320]


def _subject(value: object) -> str:
    """The subject with RFC 2047 encoded words decoded; as written when they are broken."""
    if value is None:
        return ""
    text = _without_nul(str(value)[:ENVELOPE_CHARS])
    return _without_nul(decoded_subject_text(text))[:2000]  # an encoded word can hold a NUL (=00)


def _date(value: object) -> datetime | None:
    try:
        parsed = parsedate_to_datetime(str(value)[:200]) if value else None
    except (TypeError, ValueError, IndexError, OverflowError):
        return None  # OverflowError: an offset like +99999999999999999999
    return parsed if parsed is not None and parsed.tzinfo is not None else None


def _envelope_or_blank(raw: bytes) -> Envelope:
    """A backstop: a message whose envelope cannot be read is still stored, bare.

    Losing the message, or stopping every later poll at it, is worse than a
    row without sender or subject; the parsers and the assessment still
    read the raw bytes.
    """
    try:
        return read_envelope(raw)
    except Exception as exc:  # read_envelope should not raise; this keeps the poll going if it does
        _log_unreadable("envelope", exc)
        return BLANK_ENVELOPE


def content_hash(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def store_message(
    mailbox: str, folder: str, uidvalidity: int, fetched: FetchedMessage, limits: Limits
) -> Stored:
    """Commit ``fetched`` unless it is already stored; see the module docstring."""
    envelope = _envelope_or_blank(fetched.raw)
    digest = content_hash(fetched.raw)
    here = Q(folder=folder, uidvalidity=uidvalidity, uid=fetched.uid)
    same = Q(message_id=envelope.message_id, sha256=digest)
    # One query for both keys: this runs once per message of a first sync.
    seen = InboundMessage.objects.defer("raw").filter(here | same, mailbox=mailbox).first()
    if seen is not None:
        if (seen.folder, seen.uidvalidity, seen.uid) != (folder, uidvalidity, fetched.uid):
            _relocate(seen, folder, uidvalidity, fetched.uid)
        return Stored(seen, created=False)
    try:
        with transaction.atomic():
            message = _create(mailbox, folder, uidvalidity, fetched, envelope, digest, limits)
    except IntegrityError:  # stored meanwhile by someone else: theirs stands
        again = InboundMessage.objects.filter(
            mailbox=mailbox, message_id=envelope.message_id, sha256=digest
        ).first() or InboundMessage.objects.get(
            mailbox=mailbox, folder=folder, uidvalidity=uidvalidity, uid=fetched.uid
        )
        return Stored(again, created=False)
    log.info("message_stored", message_id=message.pk, size=fetched.size, state=message.state)
    return Stored(message, created=True)


def _create(
    mailbox: str,
    folder: str,
    uidvalidity: int,
    fetched: FetchedMessage,
    envelope: Envelope,
    digest: str,
    limits: Limits,
) -> InboundMessage:
    too_large = fetched.headers_only or fetched.size > limits.max_message_bytes
    return InboundMessage.objects.create(
        mailbox=mailbox,
        folder=folder,
        uidvalidity=uidvalidity,
        uid=fetched.uid,
        message_id=envelope.message_id,
        sha256=digest,
        raw=fetched.raw,
        size=fetched.size,
        headers_only=fetched.headers_only,
        sender=envelope.sender,
        subject=envelope.subject,
        received_at=fetched.internaldate or envelope.date,
        state=State.PARKED if too_large else State.RECEIVED,
        parked_reason="too_large" if too_large else "",
        parked_from=State.RECEIVED if too_large else "",
        error_code="too_large" if too_large else "",
    )


def _relocate(message: InboundMessage, folder: str, uidvalidity: int, uid: int) -> None:
    """A message not yet filed, seen at a new UID (UIDVALIDITY reset): remember where.

    Filing uses the row's (UIDVALIDITY, UID); after a reset the old UID may
    name another message, so the row must follow the message.
    """
    if message.folder != folder or message.state == State.FILED:
        return
    if (message.uidvalidity, message.uid) == (uidvalidity, uid):
        return
    try:
        with transaction.atomic():
            moved = InboundMessage.objects.filter(
                pk=message.pk, uidvalidity=message.uidvalidity, uid=message.uid
            ).update(uidvalidity=uidvalidity, uid=uid)
    except IntegrityError:  # another row already stands there: leave both as they are
        log.warning("message_relocation_refused", message_id=message.pk)
        return
    if moved:
        log.info("message_relocated", message_id=message.pk)


# --- the one parse of a message (issue 8) -------------------------------------------


def store_mail(message: InboundMessage, mail: MailResult) -> MessageContent:
    """Keep what the parse found: the content row, the attachments, the envelope.

    Inside the caller's transaction.  A retried parse replaces the
    attachments, never adds to them.  The row's sender and subject become
    the parse's (the store's envelope was a quick look at bounded headers).
    """
    data = mail.as_json()
    data.pop("text_body", None)
    values = {
        "parser": mail.parser,
        "failure": mail.failure,
        "parsed": as_stored(clean_value(data)),  # in memory as the database gives it back
        "text_body": clean_text(mail.text_body),
        "parse_seconds": mail.seconds,
        "peak_memory_kb": mail.peak_memory_kb,
    }
    if _known_unparsed(message):
        # The row was read with its content this run, and had none: no attachments
        # either (both are written here, together), so nothing to look up or replace.
        content = MessageContent.objects.create(message=message, **values)
    else:
        content, _ = MessageContent.objects.update_or_create(message=message, defaults=values)
        message.attachments.all().delete()
    Attachment.objects.bulk_create(_attachment_rows(message, mail))
    envelope = {"sender": (mail.from_addr or "")[:320], "subject": clean_text(mail.subject)[:2000]}
    InboundMessage.objects.filter(pk=message.pk).update(**envelope)
    for name, value in envelope.items():
        setattr(message, name, value)
    message.content = content  # the steps that follow read it from here (issue 10)
    return content


def _known_unparsed(message: InboundMessage) -> bool:
    """True when ``message`` was read with its content (``select_related("content")``,
    as the pipeline reads it) and had none; False when that is not known."""
    relation = InboundMessage.content.related  # the reverse one-to-one's cache
    return bool(relation.is_cached(message) and relation.get_cached_value(message) is None)


def _content(message: InboundMessage) -> MessageContent | None:
    """The content row held by ``message`` (read with it, or kept by `store_mail`),
    else read now (and then held: the other steps of a run read it again)."""
    try:
        return message.content
    except MessageContent.DoesNotExist:
        return None


def _attachment_rows(message: InboundMessage, mail: MailResult) -> list[Attachment]:
    return [
        Attachment(
            message=message,
            index=index,
            path=part.path[:1000],
            filename=part.filename[:255],
            media_type=part.media_type[:255],
            size=len(part.data),
            sha256=part.sha256,
            data=part.data,
            parse_status="failed" if part.error else "",
            reason=str(part.error or ""),
        )
        for index, part in enumerate(mail.attachments)
    ]


def load_mail(message: InboundMessage, *, with_data: bool = True) -> MailResult | None:
    """The stored parse of ``message`` (None before its parse step).

    ``with_data`` loads the attachments' bytes too (what the assessment reads);
    without it the attachments are left out (what decisions and pages need).
    The content row is the one the message holds when it was read with it or
    parsed in this run (`store_mail`), else it is read now, once: the steps of
    a run share it (issue 10).
    """
    content = _content(message)
    if content is None:
        return None
    parsed = dict(content.parsed or {})
    parsed["text_body"] = content.text_body
    parts: tuple[AttachmentPart, ...] = ()
    if with_data:
        stored = {a.index: bytes(a.data) for a in message.attachments.all()}
        parts = tuple(
            part_from_summary(summary, stored.get(summary.get("index"), b""))
            for summary in parsed.get("attachments") or []
        )
    result: MailResult = MailResult.from_json(parsed, parts)
    return result


def as_stored(value: Any) -> Any:
    """``value`` as a JSON column gives it back (tuples become lists); other
    values as they are: a row kept in memory after an update reads as if reloaded."""
    if isinstance(value, dict | list | tuple):
        return json.loads(json.dumps(value))
    return value


def safe_for_db(value: Any) -> Any:
    """A JSON value with NUL and other control characters removed from every string.

    PostgreSQL refuses NUL in text and in JSON (issue 8), and no person
    meant any of them; SQLite gets the same values, so both stores agree.
    """
    return clean_value(value)


# --- files only their owner may read (issue 8) ----------------------------------------


def protect_sqlite_files(sender: Any, connection: Any, **_: Any) -> None:
    """``connection_created``: the SQLite store and its journals are owner-only.

    SQLite creates ``-wal``, ``-shm`` and ``-journal`` with the database
    file's own permissions, so making that file 0600 (created so before the
    first connection, `prepare_sqlite_file`) covers them; existing journals
    are set too.
    """
    if connection.vendor != "sqlite":
        return
    name = str(connection.settings_dict.get("NAME") or "")
    if not name or name == ":memory:" or name.startswith("file:"):
        return
    for suffix in ("", "-wal", "-shm", "-journal"):
        if os.path.exists(name + suffix):
            owner_only(name + suffix)


def prepare_sqlite_file(name: str) -> None:
    """Create the SQLite file owner-only before SQLite does (with the umask's mode)."""
    if not name or name == ":memory:" or name.startswith("file:"):
        return
    folder = os.path.dirname(name)
    if folder:
        os.makedirs(folder, exist_ok=True)
    create_owner_only(name)
