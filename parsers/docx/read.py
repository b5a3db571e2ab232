"""Read a Word (DOCX) attachment into the generic `Document`.

`read_docx` never trusts the file: the package is opened with
`parsers.safezip` (member count, sizes, compression ratio, encryption) and
every XML part is searched for a DTD before any XML parser sees it, so a
"billion laughs" or external-entity document is refused as ``forbidden_xml``
instead of being expanded.  Only then does python-docx open it (its lxml
parser does not resolve entities), and `parsers.docx.walk` copies out what a
person would see.

Example::

    doc = read_docx(data, "referral.docx", Limits())
    doc.entries[0].question, doc.entries[0].text
"""

from __future__ import annotations

import hashlib
import io
import re
import time
import zipfile

import structlog
from docx.opc.constants import CONTENT_TYPE as CT
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.opc.exceptions import PackageNotFoundError
from docx.opc.package import OpcPackage
from docx.opc.part import PartFactory
from docx.parts.document import DocumentPart
from lxml import etree

from parsers.document import Document, FlowLine
from parsers.docx.model import Para, Table, answer_lines
from parsers.docx.numbering import Numbering
from parsers.docx.style import Styles
from parsers.docx.tables import SECTION_TITLE, TableReader
from parsers.docx.walk import W, Walker
from parsers.errors import ParseError, Reason
from parsers.limits import Limits
from parsers.safezip import member_names, open_zip, read_member

log = structlog.get_logger(__name__)

OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# MS-OFFCRYPTO 2.3.4: an encrypted OOXML file is an OLE2 file holding the
# streams "EncryptionInfo" and "EncryptedPackage" (names stored UTF-16LE).
_ENCRYPTED_STREAM = "EncryptedPackage".encode("utf-16-le")
# Other formats sent with a .docx name: PDF, RTF, images, HTML, Word 2003 XML.
_OTHER_FORMATS = (
    b"%PDF",
    b"{\\rtf",
    b"\x89PNG",
    b"\xff\xd8\xff",
    b"GIF8",
    b"<html",
    b"<!DOC",
    b"<?xml",
)
# ISO 29500 Strict packages use these namespaces; python-docx reads only
# the Transitional ones Word saves by default.
_STRICT = b"purl.oclc.org/ooxml"
_DTD_MARKERS = tuple(
    marker.encode(codec)
    for marker in ("<!DOCTYPE", "<!ENTITY")
    for codec in ("utf-8", "utf-16-le", "utf-16-be")
)
_XML_ENCODINGS = {"utf-8", "utf8", "utf-16", "utf-16le", "utf-16be", "us-ascii", "ascii"}
_XML_ENCODINGS |= {"iso-8859-1", "latin1", "windows-1252", "cp1252"}
_DECLARED = re.compile(rb"""encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
MAX_PARAGRAPHS = 60_000  # ~1,000 pages; a 20-page form has under 2,000
MAX_PART_BYTES = 40 * 1024 * 1024  # one XML part; a 20-page form's document.xml is < 1 MB
TITLE_LINES = 3

# Macro-enabled documents and templates are read like documents: same XML.
_WORD_MAIN_TYPES = (
    CT.WML_DOCUMENT_MAIN,
    "application/vnd.ms-word.document.macroEnabled.main+xml",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.template.main+xml",
    "application/vnd.ms-word.template.macroEnabledTemplate.main+xml",
)
for _content_type in _WORD_MAIN_TYPES:
    PartFactory.part_type_for.setdefault(_content_type, DocumentPart)


def read_docx(data: bytes, filename: str, limits: Limits) -> Document:
    """What a Word form says, as a `Document` with ``kind="docx"``.

    Raises `ParseError`: ``encrypted`` (password-protected), ``unsupported_format``
    (legacy .doc or another format), ``corrupt``, ``forbidden_xml`` (a DTD in
    any XML part), ``unpacked_too_large``/``compression_ratio`` (zip bombs),
    ``too_large`` or ``timeout`` (more work than a form could need).
    """
    started = time.monotonic()
    check_package(data, limits)
    part = _open_main_part(data)
    walker = Walker(
        Styles.of(_related_root(part, RT.STYLES)),
        deadline=started + limits.max_seconds * 0.8,
        numbering=Numbering.of(_related_root(part, RT.NUMBERING)),
    )
    body = part.element.find(f"{{{W}}}body")
    if body is None:
        raise ParseError(Reason.CORRUPT, "no document body")
    doc = Document(kind="docx", filename=filename)
    try:
        _assemble(doc, walker.blocks(body))
    except RecursionError as exc:  # XML nesting is capped by libxml2; this is the backstop
        raise ParseError(Reason.TOO_LARGE, "elements nested too deep") from exc
    doc.title.extend(_header_lines(part, walker))
    doc.notes.extend(sorted(walker.notes))
    doc.pages = _page_count(data, limits)
    log.info(
        "docx_read",
        entries=len(doc.entries),
        flow=len(doc.flow),
        tables=walker.tables,
        ms=round((time.monotonic() - started) * 1000),
    )
    return doc


# -- before any XML parser ------------------------------------------------------
def check_package(data: bytes, limits: Limits) -> None:
    """Refuse what must not be parsed; returns only for a plausible DOCX zip."""
    if len(data) > limits.max_attachment_bytes:
        raise ParseError(Reason.TOO_LARGE, f"{len(data)} bytes")
    if data.startswith(OLE2_MAGIC):
        if _ENCRYPTED_STREAM in data:
            raise ParseError(Reason.ENCRYPTED, "password-protected Word document")
        raise ParseError(Reason.UNSUPPORTED_FORMAT, "legacy Word (.doc) or other OLE2 file")
    head = data[:16].lstrip().lower()
    if any(head.startswith(m.lower()) for m in _OTHER_FORMATS):
        raise ParseError(Reason.UNSUPPORTED_FORMAT, "not a Word document")
    paragraphs = 0
    with open_zip(data, limits) as zf:
        for info in zf.infolist():  # every member, a second one of the same name too
            paragraphs += _check_part(zf, info, limits)
            if paragraphs > MAX_PARAGRAPHS:
                # Refused before python-docx builds a tree of it: no form is this long.
                raise ParseError(Reason.TOO_LARGE, "more paragraphs than any form has")
        names = set(member_names(zf))
        rels = read_member(zf, "_rels/.rels", limits) if "_rels/.rels" in names else b""
    if _STRICT in rels:
        raise ParseError(Reason.UNSUPPORTED_FORMAT, "Strict Open XML document")


def _check_part(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limits: Limits) -> int:
    """An XML part must not carry a DTD (billion laughs, external entities).

    Returns how many paragraphs the part holds, counted from its bytes.
    """
    body = read_member(zf, info, limits, max_bytes=min(MAX_PART_BYTES, limits.max_unpacked_bytes))
    start = body[:512].lstrip(b"\xef\xbb\xbf\xff\xfe\x00 \t\r\n")
    if not start.startswith(b"<") and not body.startswith((b"\xff\xfe", b"\xfe\xff")):
        return 0  # not XML (an image, a thumbnail)
    if any(marker in body for marker in _DTD_MARKERS):
        # A digest of the part, never its size or text: it identifies the file, not its content.
        log.warning("docx_refused", reason="dtd", part_sha256=hashlib.sha256(body).hexdigest()[:16])
        raise ParseError(Reason.FORBIDDEN_XML, "a DTD or entity declaration in an XML part")
    declared = _DECLARED.search(body[:200])
    if declared and declared.group(1).decode("ascii").lower() not in _XML_ENCODINGS:
        # An unusual encoding could spell "<!DOCTYPE" in bytes we did not search.
        raise ParseError(Reason.FORBIDDEN_XML, "XML part in an unexpected encoding")
    return body.count(b"</w:p>") + body.count(b"<w:p/>")


_PACKAGE_ERRORS = (
    KeyError,
    ValueError,
    TypeError,
    AttributeError,
    IndexError,
    NotImplementedError,
    zipfile.BadZipFile,
    etree.XMLSyntaxError,
)


def _open_main_part(data: bytes) -> DocumentPart:
    try:
        package = OpcPackage.open(io.BytesIO(data))
        part = package.main_document_part
    except PackageNotFoundError as exc:
        raise ParseError(Reason.CORRUPT, "not an Office package") from exc
    except _PACKAGE_ERRORS as exc:
        # python-docx trusts the package's own XML ([Content_Types].xml, the
        # .rels parts); damaged ones surface as these.  Same bytes, same error.
        log.info("docx_package_unreadable", error=type(exc).__name__)
        raise ParseError(Reason.CORRUPT, f"damaged package ({type(exc).__name__})") from exc
    if not isinstance(part, DocumentPart) or part.content_type not in _WORD_MAIN_TYPES:
        raise ParseError(Reason.UNSUPPORTED_FORMAT, "an Office file that is not a Word document")
    return part


def _related_root(part: DocumentPart, reltype: str) -> etree._Element | None:
    """The package's own styles or numbering part, or None (no default is made up)."""
    try:
        related = part.part_related_by(reltype)
    except KeyError:
        return None
    element = getattr(related, "element", None)
    return element if isinstance(element, etree._Element) else None


# -- putting the Document together ---------------------------------------------
def _assemble(doc: Document, blocks: list[Para | Table]) -> None:
    reader = TableReader(flow=doc.flow, entries=doc.entries)
    for number, block in enumerate(blocks, start=1):
        if isinstance(block, Table):
            if not doc.title and not doc.entries:
                _title_from_table(doc, block)
            reader.read(block)
        else:
            before_table = _next_is_table(blocks, number)
            _paragraph(doc, reader, block, f"paragraph {number}", before_table)


def _next_is_table(blocks: list[Para | Table], after: int) -> bool:
    """Whether what follows block ``after`` opens a new part of the form.

    That is a table, a "Label: value" line or a styled heading: then a short
    bold line before it is a title.  A bold line over plain lines is a
    question with its answer below; bold lines stacked at the top are the
    form's title, not its sections.
    """
    for block in blocks[after:]:
        if isinstance(block, Table):
            return True
        raws = [r for r in block.lines if r.text]
        if raws:
            first = raws[0]
            return block.outline or ":" in first.text[:60]
    return False


def _paragraph(
    doc: Document, reader: TableReader, para: Para, source: str, before_table: bool
) -> None:
    raws = [r for r in para.lines if r.text]
    lines = answer_lines(raws)
    for raw, line in zip(raws, lines, strict=False):
        bold_title = before_table and raw.emphasised() and len(raws) == 1
        heading = _is_heading(para, line.text, bold_title)
        doc.flow.append(FlowLine(line.text, heading, raw.emphasised() and not heading, source))
        if heading:
            reader.section = line.text
        if len(doc.title) < TITLE_LINES and not doc.entries and len(line.text) <= 150:
            doc.title.append(line.text)


def _is_heading(para: Para, text: str, bold_title: bool) -> bool:
    """Heading styles; "4. The child"; a short bold line over a table or over
    "Label: value" lines (see `_next_is_table`)."""
    if para.outline:
        return True
    if len(text) > 100 or text.endswith(("?", ":", ".", ",")) or "OFFICIAL" in text.upper():
        return False
    if SECTION_TITLE.match(text):
        return True
    return bold_title and len(text) <= 80 and ": " not in text


def _header_lines(part: DocumentPart, walker: Walker) -> list[str]:
    """The page header's lines: some forms print their title only there."""
    lines: list[str] = []
    for rel in part.rels.values():
        if rel.is_external or rel.reltype != RT.HEADER:
            continue
        element = getattr(rel.target_part, "element", None)
        if element is None:
            continue
        for block in walker.blocks(element):
            paras = [block] if isinstance(block, Para) else _table_paras(block)
            lines.extend(raw.text for p in paras for raw in p.lines if raw.text)
    unique = list(dict.fromkeys(line for line in lines if len(line) <= 150))
    return unique[:TITLE_LINES]


def _table_paras(table: Table) -> list[Para]:
    return [p for row in table.rows for cell in row.cells for p in cell.paras]


def _title_from_table(doc: Document, table: Table) -> None:
    for row in table.rows[:3]:
        for cell in row.cells:
            for raw in cell.raw_lines():
                if len(doc.title) < TITLE_LINES and len(raw.text) <= 150:
                    doc.title.append(raw.text)


def _page_count(data: bytes, limits: Limits) -> int:
    """Pages as Word last counted them (docProps/app.xml), 0 when unknown."""
    try:
        with open_zip(data, limits) as zf:
            if "docProps/app.xml" not in member_names(zf):
                return 0
            app = read_member(zf, "docProps/app.xml", limits, max_bytes=1_000_000)
    except ParseError:
        return 0
    found = re.search(rb"<(?:\w+:)?Pages>\s*(\d{1,5})\s*<", app)
    return int(found.group(1)) if found else 0
