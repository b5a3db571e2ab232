"""Limits applied to every message and attachment, against hostile input.

Each limit has a reason code (`parsers.errors.Reason`) and a value an
administrator may change in ``config/intake.toml`` under ``[limits]``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    max_message_bytes: int = 50 * 1024 * 1024  # stored and parked above this
    max_attachment_bytes: int = 25 * 1024 * 1024
    max_unpacked_bytes: int = 100 * 1024 * 1024  # total a zip/DOCX may expand to
    max_compression_ratio: int = 200  # uncompressed / compressed, per archive
    max_archive_members: int = 2000
    max_depth: int = 4  # message -> zip -> msg -> ... nesting
    max_parts: int = 200  # MIME parts plus unpacked members per message
    max_pages: int = 100
    max_seconds: float = 30.0  # wall time to read one document
    max_memory_mb: int = 768  # address-space limit of the reader process
    # The budget of one whole message (issue 8): its parse and every document read
    # from it together; past it the message is held for a person (reason timeout/memory).
    max_message_seconds: float = 60.0
    max_message_memory_mb: int = 1024  # address-space limit while the message is parsed
