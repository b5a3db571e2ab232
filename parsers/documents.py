"""One attachment -> `Document`, by what its bytes are.

`read_document` hands a DOCX to `parsers.docx.read_docx` and a PDF to
`parsers.pdf.read_pdf`; anything else is refused with a `ParseError` whose
reason says why, so the team sees "a Word 97 file" rather than a silence.

Run it in `parsers.sandbox` for untrusted bytes: the readers are only as
safe as the limits they enforce, and the sandbox adds wall-time and memory
limits no reader can forget.
"""

from __future__ import annotations

from parsers.document import Document
from parsers.errors import ParseError, Reason
from parsers.limits import Limits
from parsers.mail import sniff
from parsers.mail.unpack import AttachmentPart

# Types we know and do not read: named so the detail tells a person what came.
_UNSUPPORTED_NAMES = {
    sniff.DOC: "legacy Word (.doc)",
    sniff.XLS: "legacy Excel (.xls)",
    sniff.XLSX: "Excel workbook",
    sniff.PPTX: "PowerPoint presentation",
    sniff.RTF: "rich text (.rtf)",
    sniff.PNG: "image",
    sniff.JPEG: "image",
    sniff.GIF: "image",
    sniff.TIFF: "image",
    sniff.HEIC: "image",
    sniff.SEVEN_ZIP: "7-Zip archive",
    sniff.RAR: "RAR archive",
    sniff.GZIP: "gzip archive",
}


def read_document(part: AttachmentPart, limits: Limits) -> Document:
    """Read ``part`` into a `Document`.

    Raises `ParseError`: the part's own unpacking ``error`` if it has one;
    ``too_large`` over ``limits.max_attachment_bytes``; ``encrypted`` for a
    password-protected OOXML file; ``unsupported_format`` for every type
    but DOCX and PDF; and whatever the DOCX or PDF reader raises.
    """
    if part.error is not None:
        raise ParseError(part.error, "could not be unpacked")
    if part.size > limits.max_attachment_bytes:
        raise ParseError(Reason.TOO_LARGE, f"{part.size} bytes")
    if part.media_type == sniff.DOCX:
        from parsers.docx import read_docx

        document: Document = read_docx(part.data, part.filename, limits)
        return document
    if part.media_type == sniff.PDF:
        from parsers.pdf import read_pdf

        document = read_pdf(part.data, part.filename, limits)
        return document
    if part.media_type == sniff.ENCRYPTED_OOXML:
        raise ParseError(Reason.ENCRYPTED, "password-protected Office file")
    if part.container:
        raise ParseError(Reason.UNSUPPORTED_FORMAT, "a container: its members are read instead")
    kind = _UNSUPPORTED_NAMES.get(part.media_type, part.media_type)
    raise ParseError(Reason.UNSUPPORTED_FORMAT, kind)


def is_document(part: AttachmentPart) -> bool:
    """True for a part `read_document` can read (a DOCX or PDF leaf, no error)."""
    return part.error is None and not part.container and part.media_type in (sniff.DOCX, sniff.PDF)
