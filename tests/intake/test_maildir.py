"""The Maildir adapter: stable UIDs, nothing marked read, atomic filing."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from intake.config import parse_config
from intake.errors import MailboxError
from intake.mailbox import open_mailbox
from intake.mailbox.maildir import UIDLIST
from tests.builders.mime_builder import build_email


@pytest.fixture
def box(tmp_path):
    cfg = parse_config(
        {"mailboxes": [{"name": "m", "kind": "maildir", "path": str(tmp_path / "Maildir")}]}
    )
    with open_mailbox(cfg.mailboxes[0]) as opened:
        yield opened


def files_in(folder: Path) -> list[str]:
    return sorted(p.name for sub in ("new", "cur") for p in (folder / sub).iterdir())


def test_it_numbers_messages_in_arrival_order_and_keeps_the_numbers(box):
    for n in range(3):
        box.append("INBOX", build_email(n), flags=())
    first = [(m.uid, m.raw) for m in box.fetch("INBOX")]
    again = [(m.uid, m.raw) for m in box.fetch("INBOX")]
    assert [uid for uid, _ in first] == [1, 2, 3]
    assert first == again
    assert b"CSPR referral 0" in first[0][1]


def test_it_gives_new_mail_higher_uids_and_reports_uidnext(box):
    box.append("INBOX", build_email(1), flags=())
    before = box.folder_state("INBOX")
    box.append("INBOX", build_email(2), flags=())
    assert [m.uid for m in box.fetch("INBOX", after_uid=1)] == [2]
    assert box.folder_state("INBOX").uidnext == before.uidnext + 1
    assert box.folder_state("INBOX").uidvalidity == before.uidvalidity


def test_it_keeps_the_uid_when_a_person_reads_the_message(box, tmp_path):
    box.append("INBOX", build_email(1), flags=())
    maildir = tmp_path / "Maildir"
    (name,) = os.listdir(maildir / "new")
    os.rename(maildir / "new" / name, maildir / "cur" / f"{name}:2,S")  # what a mail client does
    assert [m.uid for m in box.fetch("INBOX")] == [1]


def test_it_never_changes_a_message_while_fetching(box, tmp_path):
    box.append("INBOX", build_email(1), flags=())
    before = files_in(tmp_path / "Maildir")
    list(box.fetch("INBOX"))
    assert files_in(tmp_path / "Maildir") == before


def test_it_files_a_message_into_a_new_folder_once(box, tmp_path):
    box.append("INBOX", build_email(1), flags=())
    box.file("INBOX", 1, "Processed")
    box.file("INBOX", 1, "Processed")  # again, as after a crash
    assert files_in(tmp_path / "Maildir") == []
    assert len(files_in(tmp_path / "Maildir" / ".Processed")) == 1
    assert "Processed" in box.list_folders()


def test_it_starts_a_new_uidvalidity_when_its_uid_list_is_lost(box, tmp_path):
    box.append("INBOX", build_email(1), flags=())
    old = box.folder_state("INBOX").uidvalidity
    (tmp_path / "Maildir" / UIDLIST).unlink()
    assert box.folder_state("INBOX").uidvalidity > old
    assert [m.uid for m in box.fetch("INBOX")] == [1]


def test_it_stores_appended_bytes_unchanged_and_marks_a_sent_copy_read(box, tmp_path):
    raw = build_email(1)
    box.append("Sent", raw)
    (name,) = files_in(tmp_path / "Maildir" / ".Sent")
    assert name.endswith(":2,S")
    assert [m.raw for m in box.fetch("Sent")] == [raw.replace(b"\r\n", b"\n")]


def test_it_returns_only_the_header_of_a_message_over_the_limit(box):
    box.append("INBOX", build_email(1, attachment=b"x" * 5000), flags=())
    (message,) = box.fetch("INBOX", max_bytes=1000)
    assert message.headers_only and message.size > 5000 > len(message.raw)


def test_it_says_when_a_folder_does_not_exist(box):
    with pytest.raises(MailboxError) as raised:
        box.folder_state("Nowhere")
    assert raised.value.reason == "folder_missing"
