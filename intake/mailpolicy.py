"""The email policy our own messages are written with: msg-ids are never encoded.

The standard library's ``email.policy.SMTP`` folds a header line longer than
78 characters, and a header it knows no structure for (``In-Reply-To`` and
``References`` in Python 3.11) is folded as unstructured text: a msg-id that
does not fit on one line is turned into RFC 2047 encoded-words
(``=?utf-8?q?=3C...?=``).  Mail clients then no longer find the message we
answer, and the reply leaves its thread (issue 10).  RFC 5322 §3.6.4 makes
both headers lists of msg-ids, and a msg-id is never encoded: it may only be
folded in the white space between two of them.

`OUR_POLICY` is ``email.policy.SMTP`` with those two headers folded that way:
one msg-id a line when they do not fit together, each line within RFC 5322's
998 characters as long as a msg-id is (`intake.replies` keeps no longer ones).

Example::

    msg = EmailMessage(policy=OUR_POLICY)
    msg["In-Reply-To"] = "<a-very-long-id...@example.org>"   # stays as it is
"""

from __future__ import annotations

import email.policy
from email.headerregistry import BaseHeader, HeaderRegistry, UnstructuredHeader
from typing import Any

MSG_ID_LIST_HEADERS = ("in-reply-to", "references")


class MsgIdListHeader(UnstructuredHeader, BaseHeader):
    """``In-Reply-To`` or ``References``: msg-ids, folded only between them."""

    def fold(self, *, policy: Any) -> str:
        name, sep = self.name, str(policy.linesep)
        width = policy.max_line_length or 998
        lines = [f"{name}:"]
        for msg_id in str(self).split():
            if len(lines[-1]) + 1 + len(msg_id) > width and lines[-1] != f"{name}:":
                lines.append("")  # a continuation line starts with the space below
            lines[-1] += f" {msg_id}"
        return sep.join(lines) + sep


def _registry() -> HeaderRegistry:
    registry = HeaderRegistry()
    for header in MSG_ID_LIST_HEADERS:
        registry.map_to_type(header, MsgIdListHeader)
    return registry


OUR_POLICY = email.policy.SMTP.clone(header_factory=_registry())
