"""Our mail server's verdict on a test message (issue 8).

The service trusts only ``Authentication-Results`` written by our own
receiving server (``rules.authserv_ids``).  Test configurations name
`OUR_MX`; `with_verdict` puts the header our MX would have added on top of
a message, for the From domain it carries.
"""

from __future__ import annotations

import email.utils
import re

OUR_MX = "mx.westshire-sp.example"


def from_domain(raw: bytes) -> str:
    """The domain of the message's From address ("" when none)."""
    head = re.split(rb"\r?\n\r?\n", raw, maxsplit=1)[0].decode("utf-8", "replace")
    match = re.search(r"^From:(.*(?:\r?\n[ \t].*)*)", head, re.IGNORECASE | re.MULTILINE)
    address = email.utils.parseaddr(match.group(1) if match else "")[1]
    return address.rpartition("@")[2].lower()


def verdict_header(domain: str, result: str = "pass", server: str = OUR_MX) -> bytes:
    return (
        f"Authentication-Results: {server}; spf={result} smtp.mailfrom={domain};"
        f" dkim={result} header.d={domain}; dmarc={result} header.from={domain}\r\n"
    ).encode()


def with_verdict(raw: bytes, result: str = "pass", server: str = OUR_MX) -> bytes:
    """``raw`` with our MX's results for its From domain on top (``result``: pass, fail...)."""
    return verdict_header(from_domain(raw), result, server) + raw
