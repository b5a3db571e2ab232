"""parsers.safezip: hostile archives are refused before they are inflated."""

from __future__ import annotations

import contextlib
import io
import random
import time
import zipfile

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from parsers.errors import ParseError, Reason
from parsers.limits import Limits
from parsers.safezip import member_names, open_zip, read_member
from tests.builders.zips import mark_encrypted


def make_zip(members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=method) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def reason_of(data: bytes, limits: Limits | None = None) -> Reason:
    with pytest.raises(ParseError) as caught:
        open_zip(data, limits or Limits())
    return caught.value.reason


def test_it_opens_an_ordinary_archive_and_reads_a_member() -> None:
    zf = open_zip(make_zip({"a.txt": b"hello", "b/c.xml": b"<x/>"}), Limits())
    assert read_member(zf, "b/c.xml", Limits()) == b"<x/>"


def test_it_calls_bytes_that_are_not_a_zip_corrupt() -> None:
    assert reason_of(b"%PDF-1.7 not a zip at all") == Reason.CORRUPT


def test_it_calls_a_truncated_archive_corrupt() -> None:
    data = make_zip({"word/document.xml": b"<w:document/>" * 500})
    assert reason_of(data[: len(data) // 2]) == Reason.CORRUPT


def test_it_refuses_an_archive_with_too_many_members() -> None:
    data = make_zip({f"m{i}.txt": b"x" for i in range(30)})
    assert reason_of(data, Limits(max_archive_members=20)) == Reason.UNPACKED_TOO_LARGE


def test_it_refuses_an_archive_that_declares_too_much_unpacked_data() -> None:
    data = make_zip({"big.bin": b"ab" * 600_000}, method=zipfile.ZIP_STORED)
    assert reason_of(data, Limits(max_unpacked_bytes=1_000_000)) == Reason.UNPACKED_TOO_LARGE


def test_it_refuses_a_zip_bomb_by_its_compression_ratio_before_inflating_it() -> None:
    data = make_zip({"bomb.txt": b"\0" * 20_000_000})
    started = time.monotonic()
    assert reason_of(data) == Reason.COMPRESSION_RATIO
    assert time.monotonic() - started < 0.5


def test_it_does_not_judge_tiny_members_on_their_ratio() -> None:
    zf = open_zip(make_zip({"styles.xml": b" " * 20_000}), Limits())
    assert len(read_member(zf, "styles.xml", Limits())) == 20_000


def test_it_refuses_an_encrypted_member() -> None:
    assert reason_of(mark_encrypted(make_zip({"secret.docx": b"data"}))) == Reason.ENCRYPTED


def test_it_stops_reading_a_member_at_the_cap_it_was_given() -> None:
    zf = open_zip(make_zip({"a.bin": random.Random(7).randbytes(200_000)}), Limits())
    with pytest.raises(ParseError) as caught:
        read_member(zf, "a.bin", Limits(), max_bytes=100_000)
    assert caught.value.reason == Reason.UNPACKED_TOO_LARGE


def test_it_calls_a_member_with_a_bad_checksum_corrupt() -> None:
    data = bytearray(make_zip({"a.txt": b"hello world"}, method=zipfile.ZIP_STORED))
    data[data.find(b"hello")] = ord("j")
    zf = open_zip(bytes(data), Limits())
    with pytest.raises(ParseError) as caught:
        read_member(zf, "a.txt", Limits())
    assert caught.value.reason == Reason.CORRUPT


def test_it_calls_a_missing_member_corrupt() -> None:
    zf = open_zip(make_zip({"a.txt": b"x"}), Limits())
    with pytest.raises(ParseError) as caught:
        read_member(zf, "word/document.xml", Limits())
    assert caught.value.reason == Reason.CORRUPT


def test_it_lists_path_traversal_names_without_using_them() -> None:
    zf = open_zip(make_zip({"../../etc/passwd": b"x", "/abs/name": b"y"}), Limits())
    assert "../../etc/passwd" in member_names(zf)
    assert read_member(zf, "../../etc/passwd", Limits()) == b"x"


GOOD = make_zip({"word/document.xml": b"<w:document>" + b"<w:p/>" * 300 + b"</w:document>"})


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, len(GOOD) - 1), st.integers(0, 255)), max_size=8))
@example(flips=[(128, 0)])  # a member whose name is empty: zipfile's is_dir() raised IndexError
def test_it_only_ever_raises_parse_error_on_damaged_archives(flips: list[tuple[int, int]]) -> None:
    data = bytearray(GOOD)
    for pos, value in flips:
        data[pos] = value
    try:
        zf = open_zip(bytes(data), Limits())
    except ParseError:
        return
    for name in member_names(zf):
        with contextlib.suppress(ParseError):
            read_member(zf, name, Limits())
