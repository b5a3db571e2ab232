"""A Maildir mailbox (the embedded default, and sites that deliver mail to disk).

Folders are Maildir++ subfolders (``Processed`` is ``PATH/.Processed``);
``INBOX`` is the Maildir itself.  Maildir has no UIDs, so this adapter gives
each message a stable whole number the way Dovecot does: a small JSON file
per folder (``intake-uidlist.json``) maps each message's unique Maildir key
to a UID, and keeps the folder's UIDVALIDITY.  Deleting that file is a
UIDVALIDITY reset: every message gets a new UID and the pipeline re-scans.
"""

from __future__ import annotations

import fcntl
import json
import mailbox
import os
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from intake.config import MailboxConfig
from intake.errors import MailboxError
from intake.files import owner_only
from intake.mailbox.base import FetchedMessage, FolderState, OpenCloseContext, header_block

UIDLIST = "intake-uidlist.json"
UIDVALIDITY = "intake-uidvalidity"
INBOX = "INBOX"
IMAP_TO_MAILDIR_FLAGS = {"\\Seen": "S", "\\Answered": "R", "\\Flagged": "F", "\\Draft": "D"}


@dataclass
class UidList:
    uidvalidity: int
    next_uid: int = 1
    uids: dict[str, int] = field(default_factory=dict)  # Maildir key -> UID


class MaildirMailbox(OpenCloseContext):
    """`intake.mailbox.base.Mailbox` over a Maildir++ folder tree."""

    def __init__(self, cfg: MailboxConfig) -> None:
        self.cfg = cfg
        self.root: mailbox.Maildir | None = None

    def open(self) -> None:
        try:
            Path(self.cfg.path).parent.mkdir(parents=True, exist_ok=True)
            self.root = mailbox.Maildir(self.cfg.path, factory=None, create=True)
        except OSError as exc:
            raise MailboxError(f"maildir not usable: {type(exc).__name__}") from exc
        _check_layout(Path(self.cfg.path))

    def close(self) -> None:
        self.root = None

    def folder_state(self, folder: str) -> FolderState:
        box = self._folder(folder)
        with self._uidlist(box) as uidlist:
            return FolderState(uidlist.uidvalidity, uidlist.next_uid)

    def fetch(
        self,
        folder: str,
        *,
        uids: Iterable[int] | None = None,
        after_uid: int = 0,
        batch_size: int = 50,
        max_bytes: int | None = None,
    ) -> Iterator[FetchedMessage]:
        box = self._folder(folder)
        with self._uidlist(box) as uidlist:
            wanted = set(uids) if uids is not None else None
            chosen = sorted(
                (uid, key)
                for key, uid in uidlist.uids.items()
                if (uid in wanted if wanted is not None else uid > after_uid)
            )
        for uid, key in chosen:
            message = self._read(box, key, uid, max_bytes)
            if message is not None:
                yield message

    def file(self, folder: str, uid: int, target_folder: str) -> None:
        box = self._folder(folder)
        target = self._folder(target_folder, create=True)
        with self._uidlist(box) as uidlist:
            key = next((k for k, u in uidlist.uids.items() if u == uid), None)
            if key is None:
                return  # filed already (or moved by a person)
            try:
                source = _path_of(box, key)
            except KeyError:
                return
            # One rename within the tree: atomic, so a crash leaves the message in
            # exactly one folder, never both or neither.  Flags in the name stay.
            os.rename(source, Path(target._path) / "cur" / Path(source).name)
            del uidlist.uids[key]

    def add_flags(self, folder: str, uid: int, flags: Iterable[str]) -> None:
        letters = {IMAP_TO_MAILDIR_FLAGS[f] for f in flags if f in IMAP_TO_MAILDIR_FLAGS}
        box = self._folder(folder)
        with self._uidlist(box) as uidlist:
            key = next((k for k, u in uidlist.uids.items() if u == uid), None)
            if key is None or not letters:
                return
            try:
                source = Path(_path_of(box, key))
            except KeyError:
                return
            # The Maildir spec: flags are the letters after ":2," of a name in cur/, sorted.
            name, _, info = source.name.partition(":2,")
            merged = "".join(sorted(set(info) | letters))
            os.rename(source, Path(box._path) / "cur" / f"{name}:2,{merged}")

    def uids(self, folder: str) -> list[int]:
        box = self._folder(folder)
        with self._uidlist(box) as uidlist:
            return sorted(uidlist.uids.values())

    def append(self, folder: str, raw: bytes, flags: Iterable[str] = ("\\Seen",)) -> None:
        box = self._folder(folder, create=True)
        key = box.add(raw)  # bytes are written as they are (a Message would be re-serialised)
        owner_only(_path_of(box, key))  # mail is personal data, whatever the umask (issue 8)
        letters = "".join(
            sorted(IMAP_TO_MAILDIR_FLAGS[f] for f in flags if f in IMAP_TO_MAILDIR_FLAGS)
        )
        if letters:  # flagged mail lives in cur/ with its flags after ":2," (the Maildir spec)
            os.rename(_path_of(box, key), Path(box._path) / "cur" / f"{key}:2,{letters}")

    def list_folders(self) -> list[str]:
        return [INBOX, *sorted(self._root().list_folders())]

    def _root(self) -> mailbox.Maildir:
        if self.root is None:
            raise MailboxError("maildir used before open()")
        return self.root

    def _folder(self, folder: str, *, create: bool = False) -> mailbox.Maildir:
        root = self._root()
        try:
            if folder == INBOX:
                box = root
            elif folder not in root.list_folders():
                if not create:
                    raise MailboxError(f"no such folder: {folder}", reason="folder_missing")
                box = root.add_folder(folder)
            else:
                box = root.get_folder(folder)
        except OSError as exc:
            raise MailboxError(
                f"maildir folder unreadable: {type(exc).__name__}", reason="maildir_unreadable"
            ) from exc
        _check_layout(Path(box._path))
        return box

    def _read(
        self, box: mailbox.Maildir, key: str, uid: int, max_bytes: int | None
    ) -> FetchedMessage | None:
        try:
            path = _path_of(box, key)
            stat = os.stat(path)
            with open(path, "rb") as handle:
                headers_only = max_bytes is not None and stat.st_size > max_bytes
                raw = header_block(handle.read(256 * 1024)) if headers_only else handle.read()
        except (KeyError, FileNotFoundError):
            return None  # moved away since the listing
        except OSError as exc:
            raise MailboxError(
                f"maildir message unreadable: {type(exc).__name__}", reason="maildir_unreadable"
            ) from exc
        internaldate = datetime.fromtimestamp(stat.st_mtime, tz=UTC)
        return FetchedMessage(uid, raw, internaldate, stat.st_size, headers_only)

    @contextmanager
    def _uidlist(self, box: mailbox.Maildir) -> Iterator[UidList]:
        """The folder's UID list, locked, with UIDs given to new messages; saved on exit.

        Any file-system fault is a `MailboxError` with a reason code, never a bare
        ``OSError``: the poll records it and goes on (issue 8).
        """
        folder = Path(box._path)
        try:
            with open(folder / (UIDLIST + ".lock"), "a") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                uidlist = _load_uidlist(folder / UIDLIST)
                _assign_uids(box, uidlist)
                yield uidlist
                _save_uidlist(folder / UIDLIST, uidlist)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            # ValueError/KeyError/TypeError: a UID list someone edited by hand.
            raise MailboxError(
                f"maildir folder unreadable: {type(exc).__name__}", reason="maildir_unreadable"
            ) from exc


MAILDIR_PARTS = ("tmp", "new", "cur")


def _check_layout(folder: Path) -> None:
    """A Maildir folder has ``tmp/``, ``new/`` and ``cur/``; raises `MailboxError` if not.

    Without them the stdlib fails on the first listing with a bare
    ``FileNotFoundError``: a person must repair the folder (reason
    ``maildir_broken``), and the poll says so instead of a traceback.
    """
    missing = [p for p in MAILDIR_PARTS if not (folder / p).is_dir()]
    if missing:
        raise MailboxError(
            f"not a Maildir: {folder.name or folder} lacks {', '.join(missing)}",
            reason="maildir_broken",
        )


def _path_of(box: mailbox.Maildir, key: str) -> str:
    # mailbox.Maildir keeps its key -> file table private; _lookup is how its own
    # get_file() finds a message, and it refreshes the table when a file moved
    # between new/ and cur/ (a person's mail client marking it read).
    return os.path.join(box._path, box._lookup(key))  # type: ignore[attr-defined]


def _load_uidlist(path: Path) -> UidList:
    try:
        data = json.loads(path.read_text())
        return UidList(int(data["uidvalidity"]), int(data["next_uid"]), dict(data["uids"]))
    except FileNotFoundError:
        return UidList(uidvalidity=_next_uidvalidity(path.parent / UIDVALIDITY))


def _next_uidvalidity(counter: Path) -> int:
    """A UIDVALIDITY never issued before in this folder: the clock, or one more
    than the last one (kept apart from the UID list, so losing that list
    still gives a different value, as RFC 3501 §2.3.1.1 requires)."""
    try:
        last = int(counter.read_text())
    except (FileNotFoundError, ValueError):
        last = 0
    value = max(int(time.time()), last + 1)
    counter.write_text(str(value))
    return value


def _save_uidlist(path: Path, uidlist: UidList) -> None:
    data = {"uidvalidity": uidlist.uidvalidity, "next_uid": uidlist.next_uid, "uids": uidlist.uids}
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(data))
    owner_only(temporary)
    os.replace(temporary, path)  # atomic: a crash leaves the old list or the new one


def _assign_uids(box: mailbox.Maildir, uidlist: UidList) -> None:
    """Give every message without a UID the next ones, oldest file first; forget gone ones."""
    # keys() re-reads new/ and cur/ when they changed, so fresh deliveries appear.
    keys = set(box.keys())
    for gone in set(uidlist.uids) - keys:
        del uidlist.uids[gone]
    new = [key for key in keys if key not in uidlist.uids]
    new.sort(key=lambda key: (_mtime(box, key), key))
    for key in new:
        uidlist.uids[key] = uidlist.next_uid
        uidlist.next_uid += 1


def _mtime(box: mailbox.Maildir, key: str) -> float:
    try:
        return os.stat(_path_of(box, key)).st_mtime
    except (KeyError, FileNotFoundError):
        return 0.0
