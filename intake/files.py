"""Files the service writes hold personal data: owner-only, whatever the umask (issue 8).

The umask can only take permission bits away, never add them, so a file
created with mode 0600 (or set to it afterwards) is owner-only whatever the
process's umask is.  No Django here: the mailbox adapters use it too.
"""

from __future__ import annotations

import contextlib
import os

OWNER_ONLY = 0o600


def owner_only(path: str | os.PathLike[str]) -> None:
    """Make an existing file readable and writable by its owner only (never raises)."""
    with contextlib.suppress(OSError):
        os.chmod(path, OWNER_ONLY)


def create_owner_only(path: str | os.PathLike[str]) -> None:
    """Create ``path`` empty with mode 0600 if it is missing; make it 0600 if not."""
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, OWNER_ONLY))
    owner_only(path)
