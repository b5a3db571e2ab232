"""Why an attachment or message could not be read.

Every failure a parser reports is a `ParseError` with a reason code from
`Reason`.  The codes are stable: they are stored on rows, shown to the team
and counted in benchmarks.  None of these errors is worth retrying: the same
bytes give the same answer (a timeout in the sandbox is reported the same
way, because a document that spins once will spin again).
"""

from __future__ import annotations

from enum import StrEnum


class Reason(StrEnum):
    UNSUPPORTED_FORMAT = "unsupported_format"  # legacy .doc, images, anything we do not read
    ENCRYPTED = "encrypted"  # password-protected PDF, DOCX or zip member
    CORRUPT = "corrupt"  # truncated or malformed file
    NO_TEXT_LAYER = "no_text_layer"  # a scanned PDF: pictures of text, nothing to read
    TOO_LARGE = "too_large"  # over the byte limit for one attachment
    UNPACKED_TOO_LARGE = "unpacked_too_large"  # a zip (or DOCX) that expands past the limit
    COMPRESSION_RATIO = "compression_ratio"  # a zip bomb: expands far more than real files do
    FORBIDDEN_XML = "forbidden_xml"  # DTDs, entity declarations, external entities
    TOO_MANY_PAGES = "too_many_pages"
    TOO_DEEP = "too_deep"  # attachments nested past the limit (zip in msg in zip...)
    TOO_MANY_PARTS = "too_many_parts"
    TIMEOUT = "timeout"  # the reader ran past its wall-time limit and was killed
    MEMORY = "memory"  # the reader ran past its memory limit
    NO_FORM = "no_form"  # readable, but no known form in it


class ParseError(Exception):
    """An attachment (or message) could not be read; ``reason`` says why."""

    retryable = False

    def __init__(self, reason: Reason, detail: str = "") -> None:
        super().__init__(f"{reason.value}: {detail}" if detail else reason.value)
        self.reason = reason
        self.detail = detail
