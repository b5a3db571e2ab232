"""The generic shape every readable attachment is turned into.

A `Document` knows nothing about any particular form: it is what a careful
person would copy out of the file before knowing which form it is.  The
form matcher (`parsers.forms`) maps it onto a schema from ``config/forms``.

Conventions every document reader follows, so the matcher sees one language:

* A tick box is written into the answer text as a glyph: ``☒`` for a box
  that is ticked and ``☐`` for one that is not, however the file stored it
  (a ``w14:checkbox`` content control, a legacy FORMCHECKBOX field, an
  AcroForm check box or radio button, a ZapfDingbats or Wingdings glyph in a
  flattened PDF, a typed ``X``...).  A box whose state cannot be known is
  left as the text it was.
* An answer keeps its lines: one `Line` per paragraph or visual line, in
  reading order, white space inside a line folded to single spaces.
* A line is ``emphasis=True`` when it is marked out from its siblings in the
  same answer (bold, highlighted, underlined, coloured) and they are not: the
  way some people pick one option without a tick box.
"""

from __future__ import annotations

from dataclasses import dataclass, field

CHECKED = "☒"
UNCHECKED = "☐"


@dataclass(frozen=True)
class Line:
    """One line of an answer (or of free text)."""

    text: str
    emphasis: bool = False


@dataclass(frozen=True)
class Entry:
    """A question as printed, with what was written against it.

    ``question`` is the label text (one line, white space folded).
    ``section`` is the nearest heading above the question ("" where none).
    ``answer`` is every line written in the answer area, in order; tick-box
    options are lines carrying ``☒``/``☐`` glyphs.  ``source`` says where the
    answer was found, for a person to check it ("table 2, row 5",
    "page 1", "field child_dob").  ``key_hint`` is a machine name that came
    with the answer (AcroForm field name, content-control tag), or None.
    ``blank_in_doubt``: nothing was read against it, but what stood right under
    it may have been its answer (a bold line the reader set apart as a heading),
    so a blank here proves nothing.
    """

    question: str
    section: str
    answer: tuple[Line, ...]
    source: str
    key_hint: str | None = None
    blank_in_doubt: bool = False

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.answer)


@dataclass(frozen=True)
class FlowLine:
    """A line of running text outside any question/answer structure.

    ``heading`` is True for headings (Word heading styles, a line in bold
    that stands alone, a numbered section title in a PDF).
    """

    text: str
    heading: bool = False
    emphasis: bool = False
    source: str = ""


@dataclass
class Document:
    """What one attachment says.

    ``kind`` is ``"docx"`` or ``"pdf"``; ``filename`` the attachment's name.
    ``title`` holds the first few heading or leading lines (what identifies
    the form).  ``entries`` are the question/answer pairs found in tables or
    form fields, in reading order.  ``flow`` is every other line in reading
    order (paragraphs between tables, the text of a PDF without structure),
    for the matcher's label search.  ``notes`` are non-fatal observations
    (``"acroform"``, ``"flattened"``, ``"legacy_fields"``...).
    """

    kind: str
    filename: str
    title: list[str] = field(default_factory=list)
    entries: list[Entry] = field(default_factory=list)
    flow: list[FlowLine] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    pages: int = 0

    def all_text(self) -> str:
        """Every word the document holds, for form-type scoring."""
        parts = [*self.title]
        for entry in self.entries:
            parts.append(entry.question)
            parts.append(entry.text)
        parts.extend(line.text for line in self.flow)
        return "\n".join(parts)
