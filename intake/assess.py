"""One message, start to finish, with no side effects: what should happen to it.

`assess_message` is what ``intake check MESSAGE.eml`` prints and what the
pipeline stores before it acts.  It touches no database, mailbox or network.
(Owner: integration; fields of `Assessment` are the JSON contract of
``../shared/forms/README.md``.)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Reply:
    kind: str  # incomplete_return | acknowledgement | unreadable_attachment
    to: str


@dataclass
class Assessment:
    decision: str  # accepted | incomplete | needs_review | ignored
    form_type: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    invalid: list[dict[str, str]] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    deadlines: dict[str, str] = field(default_factory=dict)
    reply: Reply | None = None
    reasons: list[str] = field(default_factory=list)
    # Not part of the printed outcome: what the pipeline and the team need.
    automatic: bool = False
    sources: dict[str, str] = field(default_factory=dict)  # field key -> where it was read
    form_attachment: str | None = None  # filename of the attachment holding the form
    attachment_errors: list[dict[str, str]] = field(default_factory=list)  # filename, reason

    def as_outcome(self) -> dict[str, Any]:
        """The JSON shape of ``../shared/forms/README.md``."""
        return {
            "decision": self.decision,
            "form_type": self.form_type,
            "fields": self.fields,
            "missing": self.missing,
            "invalid": self.invalid,
            "flags": self.flags,
            "deadlines": self.deadlines,
            "reply": asdict(self.reply) if self.reply else None,
            "reasons": self.reasons,
        }


def assessment_from_dict(data: dict[str, Any]) -> Assessment:
    """Rebuild an `Assessment` stored as JSON (``dataclasses.asdict`` form)."""
    values = dict(data)
    reply = values.pop("reply", None)
    return Assessment(reply=Reply(**reply) if reply else None, **values)


def assess_message(raw: bytes, config: Any) -> Assessment:
    """Run ``raw`` through rules, parsing and completeness; no side effects."""
    raise NotImplementedError("assess_message is being written")
