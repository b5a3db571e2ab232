"""Byte-level edits to zip archives that `zipfile` will not make for us."""

from __future__ import annotations


def mark_encrypted(data: bytes) -> bytes:
    """``data`` with bit 0 (encrypted) of the general purpose flag set in every header.

    Sets the bit (APPNOTE 4.4.4) in each local file header (``PK\\x03\\x04``, flag at
    offset 6) and each central directory header (``PK\\x01\\x02``, offset 8); nothing
    else changes, so the members stay readable bytes that a reader must refuse as
    password-protected.  `zipfile` cannot write encrypted archives, hence the patch.
    """
    out = bytearray(data)
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        start = 0
        while (pos := out.find(signature, start)) != -1:
            out[pos + offset] |= 0x01
            start = pos + 4
    return bytes(out)
