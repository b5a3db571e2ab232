"""Say what an attachment really is, from its bytes.

The declared Content-Type and the file name are what the sender's software
guessed; both are often wrong (``application/octet-stream`` for everything,
a ``.doc`` name on a DOCX, an ``.eml`` sent as a binary).  `sniff` looks at
the bytes only, so a reader is never handed a file it cannot read.

Example::

    >>> sniff(b"%PDF-1.7\\n...")
    'application/pdf'

Every function here is pure and never raises on hostile input: a file that
cannot be told apart from noise is ``application/octet-stream``.
"""

from __future__ import annotations

import io
import re
import zipfile

import olefile

PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
ZIP = "application/zip"
MSG = "application/vnd.ms-outlook"
DOC = "application/msword"
XLS = "application/vnd.ms-excel"
ENCRYPTED_OOXML = "application/x-encrypted-ooxml"  # MS-OFFCRYPTO: OOXML inside an OLE2 file
OLE = "application/x-ole-storage"
TNEF = "application/ms-tnef"
PNG = "image/png"
JPEG = "image/jpeg"
GIF = "image/gif"
TIFF = "image/tiff"
HEIC = "image/heic"
RTF = "application/rtf"
HTML = "text/html"
TEXT = "text/plain"
EML = "message/rfc822"
SEVEN_ZIP = "application/x-7z-compressed"
RAR = "application/vnd.rar"
GZIP = "application/gzip"
UNKNOWN = "application/octet-stream"

EXTENSIONS: dict[str, str] = {
    PDF: ".pdf",
    DOCX: ".docx",
    XLSX: ".xlsx",
    PPTX: ".pptx",
    ZIP: ".zip",
    MSG: ".msg",
    DOC: ".doc",
    XLS: ".xls",
    ENCRYPTED_OOXML: ".docx",
    TNEF: ".dat",
    PNG: ".png",
    JPEG: ".jpg",
    GIF: ".gif",
    TIFF: ".tif",
    HEIC: ".heic",
    RTF: ".rtf",
    HTML: ".html",
    TEXT: ".txt",
    EML: ".eml",
    SEVEN_ZIP: ".7z",
    RAR: ".rar",
    GZIP: ".gz",
}

# PDF 1.7 (ISO 32000-1) 7.5.2 puts %PDF- first, but readers accept junk
# before it within the first 1024 bytes, and some mail gateways add some.
_PDF_WINDOW = 1024
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_TNEF_MAGIC = b"\x78\x9f\x3e\x22"  # [MS-OXTNEF] 2.1.3.1 TNEF_SIGNATURE, little-endian
_HEIC_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1", b"heif"}
_HEADER_LINE = re.compile(rb"^[!-9;-~]+:[ \t]?", re.MULTILINE)  # RFC 5322 2.2 field name
_MESSAGE_HEADERS = {
    b"from",
    b"to",
    b"subject",
    b"date",
    b"message-id",
    b"received",
    b"return-path",
    b"mime-version",
    b"content-type",
}


def sniff(data: bytes) -> str:
    """The media type ``data`` holds, judged from its bytes alone."""
    if not data:
        return UNKNOWN
    head = data[:16]
    for magic, kind in _MAGICS:
        if head.startswith(magic):
            return kind
    if head.startswith(_OLE_MAGIC):
        return _sniff_ole(data)
    if head.startswith(b"PK"):
        return _sniff_zip(data)
    if head[4:8] == b"ftyp" and head[8:12] in _HEIC_BRANDS:
        return HEIC
    if b"%PDF-" in data[:_PDF_WINDOW]:
        return PDF
    return _sniff_text(data)


_MAGICS: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", PDF),
    (_TNEF_MAGIC, TNEF),
    (b"\x89PNG\r\n\x1a\n", PNG),
    (b"\xff\xd8\xff", JPEG),
    (b"GIF87a", GIF),
    (b"GIF89a", GIF),
    (b"II*\x00", TIFF),
    (b"MM\x00*", TIFF),
    (b"{\\rtf", RTF),
    (b"7z\xbc\xaf\x27\x1c", SEVEN_ZIP),
    (b"Rar!\x1a\x07", RAR),
    (b"\x1f\x8b", GZIP),
)


def _sniff_zip(data: bytes) -> str:
    """Tell an OOXML package from a plain zip, by its member names.

    ECMA-376 Part 2 (OPC): the main part is ``word/document.xml`` for
    WordprocessingML.  A truncated package has no central directory; its
    local headers still carry the names, so they are searched instead, so
    that a cut-short DOCX is reported by the DOCX reader as corrupt rather
    than as an unsupported zip.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            names = set(zf.namelist())
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError):
        return _ooxml_from_local_headers(data)
    if "word/document.xml" in names or any(n.startswith("word/") for n in names):
        return DOCX
    if any(n.startswith("xl/") for n in names):
        return XLSX
    if any(n.startswith("ppt/") for n in names):
        return PPTX
    return ZIP


def _ooxml_from_local_headers(data: bytes) -> str:
    if b"word/document.xml" in data or b"word/_rels/" in data:
        return DOCX
    if b"xl/workbook.xml" in data:
        return XLSX
    if b"ppt/presentation.xml" in data:
        return PPTX
    return ZIP


def _sniff_ole(data: bytes) -> str:
    """Tell an Outlook .msg from a Word 97 file or an encrypted OOXML package.

    [MS-OXMSG] 2.1: a .msg keeps its properties in ``__substg1.0_*``
    streams; [MS-DOC] 2.1.1: a Word file has a ``WordDocument`` stream;
    [MS-OFFCRYPTO] 2.3.4.4: an encrypted OOXML file has ``EncryptedPackage``.
    """
    names = _ole_stream_names(data)
    if names is None:  # a damaged directory: look for the names as UTF-16LE
        names = {n for n in _OLE_MARKERS if n.encode("utf-16-le") in data}
    if any(n.startswith("__substg1.0_") for n in names):
        return MSG
    if "EncryptedPackage" in names:
        return ENCRYPTED_OOXML
    if "WordDocument" in names:
        return DOC
    if "Workbook" in names or "Book" in names:
        return XLS
    return OLE


_OLE_MARKERS = ("__substg1.0_", "EncryptedPackage", "WordDocument", "Workbook")


def _ole_stream_names(data: bytes) -> set[str] | None:
    try:
        with olefile.OleFileIO(data) as ole:
            return {part for entry in ole.listdir() for part in entry}
    except Exception:  # olefile raises many types on damaged files
        return None


def _sniff_text(data: bytes) -> str:
    head = data[:4096]
    if head.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")):
        head = head.lstrip(b"\xef\xbb\xbf\xff\xfe")
    if b"\x00" in head and not _is_utf16(head):
        return UNKNOWN
    if not _mostly_text(head):
        return UNKNOWN
    lowered = head.lstrip().lower()
    if lowered.startswith((b"<!doctype html", b"<html", b"<head", b"<body")) or (
        b"<html" in lowered[:1024]
    ):
        return HTML
    if _looks_like_message(head):
        return EML
    return TEXT


def _is_utf16(head: bytes) -> bool:
    return head.count(b"\x00") > len(head) // 3 and len(head) >= 2


def _mostly_text(head: bytes) -> bool:
    """True when nearly every byte is printable (8-bit text counts as text)."""
    if not head:
        return True
    controls = sum(1 for b in head if b < 0x20 and b not in (9, 10, 12, 13, 0))
    return controls * 20 < len(head)


def _looks_like_message(head: bytes) -> bool:
    """An RFC 5322 message: it opens with a header block naming mail fields.

    Lets an ``.eml`` sent as ``application/octet-stream`` be unpacked.  An
    mbox ``From `` line (RFC 4155) before the headers is allowed.
    """
    if head.startswith(b"From "):
        head = head.split(b"\n", 1)[-1]
    block = re.split(rb"\r?\n\r?\n", head, maxsplit=1)[0]
    lines = [ln for ln in block.splitlines() if ln and ln[:1] not in (b" ", b"\t")]
    if not lines or not all(_HEADER_LINE.match(ln) for ln in lines):
        return False
    names = {ln.split(b":", 1)[0].strip().lower() for ln in lines}
    return len(names & _MESSAGE_HEADERS) >= 2


def extension_for(media_type: str) -> str:
    """A file extension for a made-up file name (``.bin`` when unknown)."""
    return EXTENSIONS.get(media_type, ".bin")


UNSUPPORTED_CONTAINERS = frozenset({SEVEN_ZIP, RAR, GZIP})
