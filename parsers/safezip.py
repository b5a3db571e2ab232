"""Open untrusted zip archives (zip attachments, DOCX packages) safely.

Everything is checked from the central directory before a single byte is
inflated, and every member is then read through `read_member`, which counts
what it inflates instead of trusting the sizes the archive declares (a zip
bomb lies about them).  Nothing is ever written to disk, so member names
such as ``../../etc/passwd`` or ``/abs/path`` are harmless: they are listed,
never used as paths.

Example::

    zf = open_zip(data, Limits())
    xml = read_member(zf, "word/document.xml", Limits())
"""

from __future__ import annotations

import io
import zipfile
import zlib
from typing import IO

import structlog

from parsers.errors import ParseError, Reason
from parsers.limits import Limits

log = structlog.get_logger(__name__)

# Members smaller than this are never judged on their compression ratio: a
# 4 KB run of XML indentation can legitimately shrink 300 times, and cannot
# hurt anyone when inflated.
TINY_MEMBER_BYTES = 64 * 1024

# APPNOTE.TXT 4.4.4: bit 0 of the general purpose flag marks an encrypted
# member; 4.4.5: method 99 is WinZip AES encryption (APPNOTE appendix E).
_FLAG_ENCRYPTED = 0x1
_METHOD_AES = 99

_CHUNK = 64 * 1024


def open_zip(data: bytes, limits: Limits) -> zipfile.ZipFile:
    """Open ``data`` as a zip archive after checking its central directory.

    Raises `ParseError` with ``corrupt`` (not a zip, truncated, no central
    directory), ``unpacked_too_large`` (too many members, or their declared
    sizes add up past ``limits.max_unpacked_bytes``), ``compression_ratio``
    (a member declares it expands more than ``limits.max_compression_ratio``
    times) or ``encrypted`` (every member is password-protected).
    """
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError, OSError) as exc:
        raise ParseError(Reason.CORRUPT, "not a readable zip archive") from exc
    except NotImplementedError as exc:  # a central directory claiming a newer zip version
        raise ParseError(Reason.CORRUPT, "zip features we cannot read") from exc
    try:
        _check_members(zf.infolist(), limits)
    except ParseError:
        zf.close()
        raise
    return zf


def _check_members(members: list[zipfile.ZipInfo], limits: Limits) -> None:
    """Refuse an archive whose central directory already shows it is hostile."""
    if len(members) > limits.max_archive_members:
        log.info("zip_refused", reason="members", count=len(members))
        raise ParseError(Reason.UNPACKED_TOO_LARGE, f"{len(members)} members")
    # Not `ZipInfo.is_dir()`: it indexes the name's last character, and a damaged
    # central directory can give a member an empty name.
    files = [m for m in members if not m.filename.endswith("/")]
    if files and all(_encrypted(m) for m in files):
        # One protected member among readable ones is refused when it is read
        # (`read_member`), so a form beside it is not lost with it.
        raise ParseError(Reason.ENCRYPTED, "password-protected zip")
    total = 0
    for info in members:
        if _ratio_too_high(info.file_size, info.compress_size, limits):
            log.info("zip_refused", reason="ratio", size=info.file_size)
            raise ParseError(Reason.COMPRESSION_RATIO, "member expands too far")
        total += info.file_size
    if total > limits.max_unpacked_bytes:
        log.info("zip_refused", reason="unpacked_size", size=total)
        raise ParseError(Reason.UNPACKED_TOO_LARGE, f"declares {total} bytes unpacked")


def _encrypted(info: zipfile.ZipInfo) -> bool:
    return bool(info.flag_bits & _FLAG_ENCRYPTED) or info.compress_type == _METHOD_AES


def _ratio_too_high(unpacked: int, packed: int, limits: Limits) -> bool:
    if unpacked <= TINY_MEMBER_BYTES:
        return False
    return unpacked > limits.max_compression_ratio * max(packed, 1)


def read_member(
    zf: zipfile.ZipFile, name: str | zipfile.ZipInfo, limits: Limits, max_bytes: int | None = None
) -> bytes:
    """Inflate one member, stopping as soon as it grows past a limit.

    ``max_bytes`` (default ``limits.max_unpacked_bytes``) caps this member;
    the compression ratio is checked against what is really inflated, not
    what the archive declared.  Raises `ParseError`: ``unpacked_too_large``,
    ``compression_ratio``, ``encrypted``, or ``corrupt`` (bad CRC, broken
    deflate stream, unsupported method, missing member).  Pass the
    `zipfile.ZipInfo` to read one of two members with the same name.
    """
    cap = limits.max_unpacked_bytes if max_bytes is None else max_bytes
    try:
        info = name if isinstance(name, zipfile.ZipInfo) else zf.getinfo(name)
        with zf.open(info) as stream:
            return _read_capped(stream, info, cap, limits)
    except KeyError as exc:
        raise ParseError(Reason.CORRUPT, "missing zip member") from exc
    except RuntimeError as exc:  # zipfile: "File ... is encrypted, password required"
        raise ParseError(Reason.ENCRYPTED, "password-protected zip member") from exc
    except NotImplementedError as exc:  # compression method zipfile cannot inflate
        raise ParseError(Reason.CORRUPT, "unsupported compression method") from exc
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError) as exc:
        raise ParseError(Reason.CORRUPT, "damaged zip member") from exc


def _read_capped(stream: IO[bytes], info: zipfile.ZipInfo, cap: int, limits: Limits) -> bytes:
    out = bytearray()
    while chunk := stream.read(_CHUNK):
        out += chunk
        if len(out) > cap:
            raise ParseError(Reason.UNPACKED_TOO_LARGE, "member inflates past the limit")
        if _ratio_too_high(len(out), info.compress_size, limits):
            raise ParseError(Reason.COMPRESSION_RATIO, "member expands too far")
    return bytes(out)


def member_names(zf: zipfile.ZipFile) -> list[str]:
    """Every member name as listed (never used as a file-system path)."""
    return [info.filename for info in zf.infolist()]
