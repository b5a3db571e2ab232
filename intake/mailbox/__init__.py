"""Mailbox adapters behind one interface (`intake.mailbox.base.Mailbox`).

``open_mailbox(cfg)`` returns an adapter that is not yet connected; use it as
a context manager::

    with open_mailbox(config.mailbox("referrals")) as box:
        box.append(box_cfg.sent_folder, raw_reply)

Beside the adapters: `intake.mailbox.oauth` (XOAUTH2 tokens from msal for
Microsoft 365), `intake.mailbox.idle` (IMAP IDLE on a watched folder), and
`intake.mailbox.base.Fault` (the reason code of every `MailboxError`).
"""

from __future__ import annotations

from intake.config import MailboxConfig
from intake.mailbox.base import FetchedMessage, FolderState, Mailbox

__all__ = ["FetchedMessage", "FolderState", "Mailbox", "open_mailbox"]


def open_mailbox(mailbox_cfg: MailboxConfig) -> Mailbox:
    """The adapter for ``mailbox_cfg.kind`` (``imap`` or ``maildir``), not yet open."""
    if mailbox_cfg.kind == "imap":
        from intake.mailbox.imap import ImapMailbox

        return ImapMailbox(mailbox_cfg)
    if mailbox_cfg.kind == "maildir":
        from intake.mailbox.maildir import MaildirMailbox

        return MaildirMailbox(mailbox_cfg)
    raise ValueError(f"unknown mailbox kind {mailbox_cfg.kind!r}")
