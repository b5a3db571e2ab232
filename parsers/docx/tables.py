"""Questions and answers out of Word tables.

Forms put a question in one cell and its answer in the next.  The layouts
met in practice, all handled here:

* ``label | answer`` rows, and ``label | answer | label | answer`` rows;
* a row with one merged cell (``w:gridSpan``) holding a section title,
  which sets the section of the rows below it;
* a label row with the answer in the row below it (both spanning);
* a row of labels over a row of answers (column by column);
* a label cell holding the answer too ("Name: Jane Smith");
* vertically merged label cells (``w:vMerge``): the continued rows add
  their answer lines to the question above, never repeat it;
* header rows ("Question | Answer") skipped;
* options ticked in a column of their own under a question row
  ("Child in need | X"), and boxes in cells of their own across a row
  ("Gender | ☒ | Male | ☐ | Female");
* nested tables: an option grid inside an answer cell is part of the answer;
  a nested table of questions gives entries of its own; a cell used as a
  whole page (headings, paragraphs, tables) is read in order.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from parsers.document import CHECKED, UNCHECKED, Entry, FlowLine, Line
from parsers.docx.glyphs import has_box
from parsers.docx.model import Cell, Para, Piece, RawLine, Row, Table, answer_lines, fold

SECTION_TITLE = re.compile(
    r"^(?:(?:section|part)\s+[A-Z0-9]{1,3}\b|\d{1,2}[a-z]?[.)]\s+[A-Z]|[A-Z][.)]\s+[A-Z])",
    re.IGNORECASE,
)
_HEADER_WORDS = {
    "question", "questions", "answer", "answers", "details", "response", "responses",
    "information", "field", "value", "your answer", "please complete", "item", "comments",
}  # fmt: skip
_LABEL_SPLIT = re.compile(r"^([^:\n]{2,60}?)\s*:\s+(\S.*)$", re.DOTALL)


@dataclass
class TableReader:
    """Turns the tables of one document into entries, tracking the section."""

    section: str = ""
    entries: list[Entry] = field(default_factory=list)
    flow: list[FlowLine] = field(default_factory=list)

    def read(self, table: Table) -> None:
        rows = table.rows
        i = 0
        while i < len(rows):
            i += self._row(table, i)

    # -- one row (returns how many rows it used) ---------------------------
    def _row(self, table: Table, i: int) -> int:
        row = table.rows[i]
        cells = [c for c in row.cells if not c.vmerge_continue or _has_content(c)]
        nxt = table.rows[i + 1] if i + 1 < len(table.rows) else None
        if not any(_has_content(c) for c in cells):
            return 1
        if row.cells[0].vmerge_continue and self._continues(table, i):
            self._extend_last(_lines(_joined(cells)))
            return 1
        if _is_header(row, i):
            return 1
        if len(cells) == 1:
            return self._single(table, i, cells[0], nxt)
        if nxt is not None and _labels_over_answers(row, nxt):
            return self._columns(table, i)
        self._pairs(table, i, cells)
        return 1

    def _continues(self, table: Table, i: int) -> bool:
        """The label cell is merged with the one above: same question, more answer."""
        return bool(self.entries) and self.entries[-1].source.startswith(f"table {table.number},")

    def _single(self, table: Table, i: int, cell: Cell, nxt: Row | None) -> int:
        """A row of one (merged) cell: section title, question, or free text."""
        if any(not _is_option_grid(t) for t in cell.tables):
            self._container(cell, f"table {table.number}, row {i + 1}")
            return 1
        text = _first_line(cell)
        if not text:
            return 1
        source = f"table {table.number}, row {i + 1}"
        below = _single_cell(nxt)
        if _is_section_title(cell) and not (below is not None and text.endswith(("?", ":"))):
            self._set_section(text, source)
            return 1
        options = _tick_rows(table, i + 1, cell.shaded)
        if options:
            self._add(_question(cell), options, source, None)
            return 1 + len(options)
        answer_below = below is not None and not _label_like(below)
        if answer_below and _label_like(cell) and len(cell.raw_lines()) == 1:
            self._add(text, _lines(below), source, below)
            return 2
        if self._label_in_cell(cell, source):
            return 1
        if len(cell.raw_lines()) == 1 and (_label_like(cell) or _title_over_pairs(text, nxt)):
            self._set_section(text, source)
            return 1
        self.flow.extend(FlowLine(line.text, False, line.emphasis, source) for line in _lines(cell))
        return 1

    def _container(self, cell: Cell, source: str) -> None:
        """A cell used as a page: headings, paragraphs and tables of questions."""
        for k, block in enumerate(cell.blocks):
            if isinstance(block, Table):
                if _is_option_grid(block):
                    continue
                self.read(block)
                continue
            before_table = any(isinstance(b, Table) for b in cell.blocks[k + 1 : k + 2])
            for raw in block.lines:
                text = raw.text
                if not text:
                    continue
                if (
                    block.outline
                    or SECTION_TITLE.match(text)
                    or (before_table and raw.emphasised() and len(text) <= 80)
                ):
                    self._set_section(text, source)
                else:
                    self.flow.append(FlowLine(text, False, raw.emphasised(), source))

    def _columns(self, table: Table, i: int) -> int:
        """A row of labels over one or more rows of answers."""
        labels = [c for c in table.rows[i].cells if not c.vmerge_continue]
        used = 1
        for j in range(i + 1, len(table.rows)):
            answers = [c for c in table.rows[j].cells if not c.vmerge_continue]
            if len(answers) != len(labels) or any(_label_like(c) for c in answers):
                break
            used += 1
        if used > 2:  # a grid: one entry, each row a line ("name, relationship, ...")
            question = ", ".join(fold(c.text) for c in labels)
            lines = [_row_line(table.rows[j]) for j in range(i + 1, i + used)]
            self._add_lines(question, tuple(Line(t) for t in lines if t), table, i, None)
            return used
        answers = [c for c in table.rows[i + 1].cells if not c.vmerge_continue]
        for label, answer in zip(labels, answers, strict=True):
            self._add(_question(label), _lines(answer), _src(table, i), answer)
        return 2

    def _pairs(self, table: Table, i: int, cells: list[Cell]) -> None:
        source = _src(table, i)
        for label, answer in _label_answer_pairs(cells):
            if label.vmerge_continue and self.entries:
                self._extend_last(_lines(answer))
            elif not _question(label):  # a logo or blank cell beside text: not a question
                lines = _lines(answer)
                self.flow.extend(FlowLine(ln.text, False, ln.emphasis, source) for ln in lines)
            elif answer is None or not _has_content(answer):
                if not self._label_in_cell(label, source, split_colon=answer is None):
                    self._add(_question(label), (), source, answer)
            else:
                self._add(_question(label), _lines(answer), source, answer)
            for cell in (label, answer):
                if cell is not None:
                    self._nested(cell)

    def _label_in_cell(self, cell: Cell, source: str, split_colon: bool = True) -> bool:
        """A label cell holding its answer: "Name:" over it, or "Name: Jane Smith".

        The one-line form is only read where no answer cell stands beside the
        label: a printed label such as "For office use: Ref No" has one.
        """
        raws = cell.raw_lines()
        if not raws:
            return False
        first = raws[0].text
        if len(raws) > 1 and first.endswith((":", "?")):
            self._add(first.rstrip(":").strip(), answer_lines(raws[1:]), source, cell)
            return True
        match = _LABEL_SPLIT.match(first) if split_colon else None
        if match and not match.group(2).startswith(("(", "[")):
            rest = [Line(match.group(2).strip()), *answer_lines(raws[1:])]
            self._add(match.group(1).strip(), tuple(rest), source, cell)
            return True
        return False

    # -- nested tables ---------------------------------------------------------
    def _nested(self, cell: Cell) -> None:
        for table in cell.tables:
            if not _is_option_grid(table):
                self.read(table)

    # -- output ------------------------------------------------------------------
    def _set_section(self, text: str, source: str) -> None:
        self.section = text
        self.flow.append(FlowLine(text, heading=True, source=source))

    def _add(self, question: str, answer: tuple[Line, ...], source: str, cell: Cell | None) -> None:
        self.entries.append(Entry(question, self.section, answer, source, _key_hint(cell)))

    def _add_lines(
        self, question: str, answer: tuple[Line, ...], table: Table, i: int, cell: Cell | None
    ) -> None:
        self._add(question, answer, _src(table, i), cell)

    def _extend_last(self, lines: tuple[Line, ...]) -> None:
        last = self.entries[-1]
        merged = Entry(last.question, last.section, last.answer + lines, last.source, None)
        self.entries[-1] = merged


def _src(table: Table, i: int) -> str:
    return f"table {table.number}, row {i + 1}"


def _label_answer_pairs(cells: list[Cell]) -> Iterator[tuple[Cell, Cell | None]]:
    """(label, answer) cells of a row: 2 cells, 4/6 alternating, or label + rest."""
    n = len(cells)
    if n >= 4 and n % 2 == 0 and all(_label_like(cells[k]) for k in range(0, n, 2)):
        for k in range(0, n, 2):
            yield cells[k], cells[k + 1]
        return
    if n >= 3 and _is_number(cells[0]):
        cells = cells[1:]
    if len(cells) == 1:
        yield cells[0], None
        return
    yield cells[0], _joined(cells[1:])


def _joined(cells: list[Cell]) -> Cell:
    """Answer cells side by side as one cell.

    Cells of one line each ("☒ | Male | ☐ | Female") read across as one
    line, the way the eye reads them; longer ones are stacked.
    """
    if len(cells) == 1:
        return cells[0]
    merged = Cell()
    for cell in cells:
        merged.tables.extend(cell.tables)
    if all(len(c.raw_lines()) <= 1 for c in cells):
        line = RawLine()
        for raw in (r for c in cells for r in c.raw_lines()):
            if line.pieces:
                line.pieces.append(_space())
            line.pieces.extend(raw.pieces)
        merged.paras.append(Para(lines=[line]))
        return merged
    for cell in cells:
        merged.paras.extend(cell.paras)
    return merged


def _lines(cell: Cell | None) -> tuple[Line, ...]:
    """The answer lines of a cell, option grids inside it included."""
    if cell is None:
        return ()
    raws: list[RawLine] = list(cell.raw_lines())
    for table in cell.tables:
        if _is_option_grid(table):
            raws.extend(_grid_lines(table))
    return answer_lines(raws)


def _grid_lines(table: Table) -> list[RawLine]:
    """Each row of an option grid as one line, its cells side by side."""
    out: list[RawLine] = []
    for row in table.rows:
        line = RawLine()
        for cell in row.cells:
            for raw in cell.raw_lines():
                if line.pieces:
                    line.pieces.append(_space())
                line.pieces.extend(raw.pieces)
        if line.text:
            out.append(line)
    return out


def _space() -> Piece:
    return Piece(" ")


def _row_line(row: Row) -> str:
    return ", ".join(fold(c.text.replace("\n", " ")) for c in row.cells if c.text)


def _is_option_grid(table: Table) -> bool:
    """A nested table that is part of an answer: tick boxes, or one column."""
    texts = [c.text for row in table.rows for c in row.cells]
    if any(has_box(t) for t in texts):
        return True
    return all(len(row.cells) == 1 for row in table.rows)


def _has_content(cell: Cell) -> bool:
    return bool(cell.text) or any(t.rows for t in cell.tables)


def _question(cell: Cell) -> str:
    """A label cell's text as one line (a printed label may wrap onto two)."""
    return fold(" ".join(line.text for line in cell.raw_lines()))


def _first_line(cell: Cell) -> str:
    raws = cell.raw_lines()
    return raws[0].text if raws else ""


def _label_like(cell: Cell) -> bool:
    """Printed like a question: shaded, all bold, or ending in ? or :."""
    text = cell.text
    if not text or has_box(text):
        return False
    return cell.shaded or cell.bold or text.rstrip().endswith(("?", ":"))


def _is_section_title(cell: Cell) -> bool:
    text = _first_line(cell)
    if len(cell.raw_lines()) != 1 or len(text) > 100 or text.endswith("?"):
        return False
    return bool(SECTION_TITLE.match(text))


def _is_number(cell: Cell) -> bool:
    return bool(re.fullmatch(r"\(?\d{1,2}[a-z]?[.)]?", cell.text.strip()))


def _is_header(row: Row, index: int) -> bool:
    """'Question | Answer' rows: every cell a generic column heading."""
    texts = [fold(c.text).lower().rstrip(":") for c in row.cells if c.text]
    return len(texts) >= 2 and all(t in _HEADER_WORDS for t in texts)


_TICK_SYMBOLS = {"x", "✓", "✔", "☒", "☑", "✗", "✘", "■"}
_MARK_SYMBOLS = _TICK_SYMBOLS | {"", "☐"}
_TICK_WORDS = {"yes", "y", "ticked"}
_MARK_WORDS = _TICK_WORDS | {"no", "n"}


def _tick_rows(table: Table, start: int, shaded_question: bool) -> tuple[Line, ...]:
    """Options a row each, ticked in a column of their own, under a question.

    ``Child in need | X`` (or ``✓ | Child in need``) rows become ``☒ Child in
    need`` lines.  It takes two such rows or more, and a tick among them, or
    a shaded question over plain option rows (then none may be ticked).
    """
    lines: list[Line] = []
    for row in table.rows[start:]:
        cells = [c for c in row.cells if not c.vmerge_continue]
        option = _option_and_mark(cells)
        if option is None:
            break
        label, ticked = option
        lines.append(Line(f"{CHECKED if ticked else UNCHECKED} {label}"))
    ticks = sum(line.text.startswith(CHECKED) for line in lines)
    return tuple(lines) if len(lines) >= 2 and (ticks or shaded_question) else ()


def _option_and_mark(cells: list[Cell]) -> tuple[str, bool] | None:
    """(option, ticked) for an option row; None for anything else, such as a
    question ("Agreed? | Yes") or a shaded label beside its answer."""
    if len(cells) != 2 or any(c.tables or c.shaded for c in cells):
        return None
    texts = [fold(c.text.replace("\n", " ")) for c in cells]
    if any(t.endswith(("?", ":")) for t in texts):
        return None
    left, right = (t.lower() for t in texts)
    if right in _MARK_SYMBOLS and left not in _MARK_SYMBOLS:
        return texts[0], right in _TICK_SYMBOLS
    if left in _MARK_SYMBOLS and right not in _MARK_SYMBOLS:
        return texts[1], left in _TICK_SYMBOLS
    if right in _MARK_WORDS and left not in _MARK_WORDS:
        return texts[0], right in _TICK_WORDS
    return None


def _title_over_pairs(text: str, nxt: Row | None) -> bool:
    """A short plain line across the table, over rows of questions: a title."""
    if nxt is None or len(text) > 60 or text.endswith((".", "?", ":")):
        return False
    return len([c for c in nxt.cells if not c.vmerge_continue]) >= 2


def _single_cell(row: Row | None) -> Cell | None:
    if row is None:
        return None
    cells = [c for c in row.cells if not c.vmerge_continue]
    return cells[0] if len(cells) == 1 else None


def _labels_over_answers(row: Row, nxt: Row) -> bool:
    labels = [c for c in row.cells if not c.vmerge_continue]
    answers = [c for c in nxt.cells if not c.vmerge_continue]
    if len(labels) < 2 or len(labels) != len(answers):
        return False
    return all(_label_like(c) for c in labels) and not any(_label_like(c) for c in answers)


def _key_hint(cell: Cell | None) -> str | None:
    """The control's name when one control (or field) is the whole answer."""
    if cell is None:
        return None
    pieces = [p for line in cell.raw_lines() for p in line.pieces if p.text.strip()]
    hints = {p.hint for p in pieces}
    if pieces and len(hints) == 1:
        return hints.pop()
    names = set(cell.controls)
    if not pieces and len(names) == 1:
        return names.pop()
    return None
