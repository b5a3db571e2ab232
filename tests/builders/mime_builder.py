"""Build emails the way real mail clients wrap an attachment.

Each builder returns the raw bytes a mailbox would hold.  The shapes follow
what the clients are seen to send (all fictional people and addresses):

* `outlook` - multipart/mixed > multipart/alternative, attachment with
  ``name=`` and ``filename=`` (optionally RFC 2047-encoded, as Outlook does)
* `outlook_tnef` - Outlook's "rich text" mail: the file inside winmail.dat
* `outlook_with_msg` - an Outlook item (.msg) attached
* `apple_mail_inline` - Apple Mail: text, the PDF *inline*, text again
* `gmail` - Gmail: X-Attachment-Id, Content-ID on the attachment
* `iphone` - iOS Mail: text/plain, attachment, "Sent from my iPhone"
* `forwarded_as_attachment` - the original message as message/rfc822
* `forwarded_inline` - a forward whose body quotes the original header block
* `zipped` - the file inside a .zip
* `tnef` - a TNEF (winmail.dat) blob holding the given files
* `build_email` - a small referral email, numbered so each is distinct

Example::

    raw = gmail([("form.docx", docx_bytes)])
"""

from __future__ import annotations

import datetime as dt
import io
import struct
import zipfile
from collections.abc import Sequence
from email import encoders
from email.header import Header
from email.message import EmailMessage, Message
from email.mime.application import MIMEApplication
from email.mime.base import MIMEBase
from email.mime.message import MIMEMessage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime, formatdate, make_msgid

File = tuple[str, bytes]

SENDER = ("Sam Example", "sam.example@example.org")
MAILBOX = "referrals@partnership.example"
WHEN = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _content_type(filename: str) -> tuple[str, str]:
    lowered = filename.lower()
    if lowered.endswith(".pdf"):
        return "application", "pdf"
    if lowered.endswith(".docx"):
        return "application", DOCX_TYPE.split("/")[1]
    if lowered.endswith(".zip"):
        return "application", "x-zip-compressed"
    return "application", "octet-stream"


def _headers(msg: Message, subject: str, sender: tuple[str, str] = SENDER) -> Message:
    msg["From"] = f'"{sender[0]}" <{sender[1]}>'
    msg["To"] = MAILBOX
    msg["Subject"] = subject
    msg["Date"] = format_datetime(WHEN)
    msg["Message-ID"] = make_msgid(domain="example.org")
    msg["MIME-Version"] = "1.0"
    return msg


def _file_part(
    filename: str, data: bytes, disposition: str = "attachment", encoded_name: bool = False
) -> MIMEBase:
    maintype, subtype = _content_type(filename)
    part = MIMEBase(maintype, subtype)
    part.set_payload(data)
    encoders.encode_base64(part)
    name: str = Header(filename, "utf-8").encode() if encoded_name else filename
    part.set_param("name", name)
    part.add_header("Content-Disposition", disposition, filename=name)
    return part


def _alternative(text: str) -> MIMEMultipart:
    alt = MIMEMultipart("alternative")
    alt.attach(MIMEText(text, "plain", "utf-8"))
    html = "".join(f"<p>{line}</p>" for line in text.splitlines())
    alt.attach(MIMEText(f"<html><body>{html}</body></html>", "html", "utf-8"))
    return alt


def _mixed(body: Message, parts: Sequence[Message]) -> MIMEMultipart:
    outer = MIMEMultipart("mixed")
    outer.attach(body)
    for part in parts:
        outer.attach(part)
    return outer


BODY = "Hello,\nPlease find attached a referral.\nKind regards\nSam Example"


def outlook(files: Sequence[File], subject: str = "Referral", encoded_names: bool = False) -> bytes:
    parts = [_file_part(n, d, encoded_name=encoded_names) for n, d in files]
    return _headers(_mixed(_alternative(BODY), parts), subject).as_bytes()


def gmail(files: Sequence[File], subject: str = "Referral") -> bytes:
    parts = []
    for i, (name, data) in enumerate(files):
        part = _file_part(name, data)
        part["Content-ID"] = f"<f_gm{i}>"
        part["X-Attachment-Id"] = f"f_gm{i}"
        parts.append(part)
    return _headers(_mixed(_alternative(BODY), parts), subject).as_bytes()


def apple_mail_inline(files: Sequence[File], subject: str = "Referral") -> bytes:
    """Apple Mail puts a PDF inline between two text parts (no multipart/alternative)."""
    outer = MIMEMultipart("mixed")
    outer.attach(MIMEText("Hello,\nThe form:\n", "plain", "us-ascii"))
    for name, data in files:
        outer.attach(_file_part(name, data, disposition="inline"))
    outer.attach(MIMEText("\nThanks,\nSam", "plain", "us-ascii"))
    return _headers(outer, subject).as_bytes()


def iphone(files: Sequence[File], subject: str = "Referral") -> bytes:
    outer = MIMEMultipart("mixed")
    outer.attach(MIMEText("Form attached", "plain", "us-ascii"))
    for name, data in files:
        outer.attach(_file_part(name, data))
    outer.attach(MIMEText("\n\nSent from my iPhone", "plain", "us-ascii"))
    return _headers(outer, subject).as_bytes()


def forwarded_as_attachment(original: bytes, subject: str = "FW: Referral") -> bytes:
    from email import message_from_bytes

    inner = MIMEMessage(message_from_bytes(original))
    inner.add_header("Content-Disposition", "attachment", filename="Referral.eml")
    body = _alternative("Forwarding the referral below.\nAlex Forwarder")
    forwarder = ("Alex Forwarder", "alex.forwarder@example.net")
    return _headers(_mixed(body, [inner]), subject, forwarder).as_bytes()


def forwarded_inline(files: Sequence[File], original_sender: str = SENDER[1]) -> bytes:
    """An Outlook inline forward: the original header block quoted in the body."""
    text = (
        "Please see below.\nAlex\n\n"
        "________________________________\n"
        f"From: Sam Example <{original_sender}>\n"
        "Sent: 01 March 2026 14:19\n"
        f"To: {MAILBOX}\n"
        "Subject: Referral\n\n" + BODY
    )
    parts = [_file_part(n, d) for n, d in files]
    forwarder = ("Alex Forwarder", "alex.forwarder@example.net")
    return _headers(_mixed(_alternative(text), parts), "FW: Referral", forwarder).as_bytes()


def zip_bytes(files: Sequence[File]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files:
            zf.writestr(name, data)
    return buffer.getvalue()


def zipped(files: Sequence[File], zip_name: str = "Referral.zip") -> bytes:
    return outlook([(zip_name, zip_bytes(files))])


def outlook_with_msg(msg_bytes: bytes, name: str = "Referral.msg") -> bytes:
    part = MIMEApplication(msg_bytes, "vnd.ms-outlook")
    part.add_header("Content-Disposition", "attachment", filename=name)
    return _headers(_mixed(_alternative(BODY), [part]), "FW: Referral").as_bytes()


def outlook_tnef(files: Sequence[File]) -> bytes:
    """Outlook "rich text" mail: ``files`` inside a winmail.dat."""
    return outlook_tnef_blob(tnef(files))


def outlook_tnef_blob(blob: bytes) -> bytes:
    """An existing TNEF stream sent as winmail.dat (application/ms-tnef)."""
    part = MIMEApplication(blob, "ms-tnef")
    part.set_param("name", "winmail.dat")
    part.add_header("Content-Disposition", "attachment", filename="winmail.dat")
    return _headers(_mixed(MIMEText(BODY, "plain", "utf-8"), [part]), "Referral").as_bytes()


# --- a minimal TNEF writer ([MS-OXTNEF] 2.1.3) --------------------------------

_TNEF_SIGNATURE = 0x223E9F78
_LVL_MESSAGE, _LVL_ATTACHMENT = 1, 2
_ATT_TNEF_VERSION = (0x9006, 0x0008)  # attTnefVersion, a DWORD
_ATT_OEM_CODEPAGE = (0x9007, 0x0006)  # attOemCodepage, bytes
_ATT_ATTACH_REND_DATA = (0x9002, 0x0006)  # starts an attachment
_ATT_ATTACH_TITLE = (0x8010, 0x0001)  # the file name, a string
_ATT_ATTACH_DATA = (0x800F, 0x0006)  # the file's bytes


def _tnef_attribute(level: int, attr: tuple[int, int], data: bytes) -> bytes:
    ident, kind = attr
    checksum = sum(data) & 0xFFFF  # 2.1.3.3: sum of the data bytes, modulo 65536
    return struct.pack("<BHHI", level, ident, kind, len(data)) + data + struct.pack("<H", checksum)


def tnef(files: Sequence[File], codepage: int = 1252) -> bytes:
    """A TNEF stream with one attachment per file (names in ``codepage``)."""
    out = struct.pack("<IH", _TNEF_SIGNATURE, 0x0001)
    out += _tnef_attribute(_LVL_MESSAGE, _ATT_TNEF_VERSION, struct.pack("<I", 0x00010000))
    out += _tnef_attribute(_LVL_MESSAGE, _ATT_OEM_CODEPAGE, struct.pack("<II", codepage, 0))
    for name, data in files:
        out += _tnef_attribute(_LVL_ATTACHMENT, _ATT_ATTACH_REND_DATA, bytes(14))
        title = name.encode(f"cp{codepage}", "replace") + b"\x00"
        out += _tnef_attribute(_LVL_ATTACHMENT, _ATT_ATTACH_TITLE, title)
        out += _tnef_attribute(_LVL_ATTACHMENT, _ATT_ATTACH_DATA, data)
    return out


def raw_message(text: bytes) -> bytes:
    """Hand-written message bytes (LF line ends made CRLF), for encodings the
    stdlib will not produce (raw 8-bit headers, broken RFC 2231, bad base64)."""
    return text.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def build_email(
    n: int = 1,
    *,
    subject: str | None = None,
    attachment: bytes | None = None,
    message_id: str | None = "auto",
) -> bytes:
    """A small fictional referral email; ``n`` makes it distinct."""
    message = EmailMessage()
    message["From"] = f"Referrer {n} <referrer{n}@agency.example>"
    message["To"] = "referrals@westshire-sp.example"
    message["Subject"] = subject or f"CSPR referral {n}"
    message["Date"] = formatdate(localtime=False)
    if message_id == "auto":
        message["Message-ID"] = make_msgid(domain="agency.example")
    elif message_id:
        message["Message-ID"] = message_id
    message.set_content(f"Please find attached referral number {n}.\n")
    if attachment is not None:
        message.add_attachment(
            attachment,
            maintype="application",
            subtype="octet-stream",
            filename=f"referral-{n}.docx",
        )
    return message.as_bytes()
