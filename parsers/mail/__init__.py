"""Raw email bytes -> `MailResult`: the one parse of each message (issue 8).

The surface is `read_mail` and what its result is made of; the sandbox runs
it as the job ``parsers.mail:read_mail``.  The other modules are its parts:
`mime` walks the MIME tree, `unpack` opens the containers a form comes in
(attached messages, Outlook .msg, winmail.dat, zip) and `sniff` says what
an attachment really is from its bytes.
"""

from parsers.mail.read import MailResult, clean_text, clean_value, part_from_summary, read_mail
from parsers.mail.unpack import AttachmentPart, InnerMessage, address_pairs

__all__ = [
    "AttachmentPart",
    "InnerMessage",
    "MailResult",
    "address_pairs",
    "clean_text",
    "clean_value",
    "part_from_summary",
    "read_mail",
]
