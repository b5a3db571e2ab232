"""Reading the fields of a filled fillable PDF (AcroForm, ISO 32000-1 §12.7).

The values come from the field dictionaries (pypdf); the page layout
(`parsers.pdf.layout`) gives what the values cannot: the printed label of
a field that has no tooltip, the printed text of each tick-box option and
the section heading above each field.

One `Entry` per question:

* text field: its value's lines (``/V`` split at CR and LF);
* list or combo box: the chosen option's display text;
* radio group: one line per button, ``☒`` for the chosen one, ``☐`` for the
  others, each with its printed label (or its export value when no label
  can be found beside the button);
* check boxes that share a question (the tooltip, or the printed label of
  their row), like ``child_status__child_in_need``,
  ``child_status__looked_after``...: one entry with a line per box.

``question`` is the tooltip ``/TU``, else the printed label left of (or
above) the widget, else the field's name; ``key_hint`` the full field name
(for a check-box group, the part before ``__``).
"""

from __future__ import annotations

import bisect
import re
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pypdf
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject

from parsers.document import CHECKED, UNCHECKED, Entry, Line
from parsers.pdf.layout import Box, PageLayout, TextLine, Word, fold, group_lines, words_in
from parsers.pdf.table import Heading, section_at
from parsers.pdf.text import question_text

_RADIO = 1 << 15  # /Ff bit 16: radio buttons (§12.7.4.2.1, table 226)
_PUSHBUTTON = 1 << 16  # /Ff bit 17: a push button holds no answer
_MAX_PARENTS = 32  # field trees deeper than this are hostile
_GROUP_SPLIT = re.compile(r"__|\.")


@dataclass
class Widget:
    """One widget annotation: where it is, and for a button its on-state."""

    page: int
    box: Box
    on_state: str | None = None
    appearance: str | None = None  # /AS


@dataclass
class Field:
    name: str
    kind: str  # "text", "choice", "radio", "check"
    tooltip: str
    value: Any
    options: list[tuple[str, str]] = field(default_factory=list)  # (export, display)
    widgets: list[Widget] = field(default_factory=list)


@dataclass
class _FormPage:
    """A page's layout with every widget on it (to stop a label at the next box).

    Its printed words (tick marks left out) and its widgets are also kept in
    the order of their vertical centres, so a search along one line of the
    page looks only at what stands near that line (`near`).
    """

    layout: PageLayout
    widgets: list[Widget] = field(default_factory=list)
    _letters: list[tuple[float, int, Word]] = field(default_factory=list)
    _boxes: list[tuple[float, int, Box]] = field(default_factory=list)

    def index(self) -> None:
        """Sort the words and widgets by centre; call once all widgets are added."""
        words = (w for w in self.layout.words if w.mark is None)
        self._letters = sorted((w.box.cy, i, w) for i, w in enumerate(words))
        self._boxes = sorted((w.box.cy, i, w.box) for i, w in enumerate(self.widgets))

    def letters_near(self, low: float, high: float) -> list[Word]:
        """Words whose centre lies between ``low`` and ``high``, in page order."""
        return [w for _, _, w in sorted(_between(self._letters, low, high), key=_order)]

    def boxes_near(self, low: float, high: float) -> list[Box]:
        """Widget boxes whose centre lies between ``low`` and ``high``, in page order."""
        return [b for _, _, b in sorted(_between(self._boxes, low, high), key=_order)]


def _between(items: list[tuple[float, int, Any]], low: float, high: float) -> list[Any]:
    start = bisect.bisect_left(items, low, key=lambda item: item[0])
    end = bisect.bisect_right(items, high, key=lambda item: item[0])
    return items[start:end]


def _order(item: tuple[float, int, Any]) -> int:
    return item[1]


def has_form_widgets(reader: pypdf.PdfReader) -> bool:
    """True when the document has form fields with widgets on its pages.

    A fillable form that nobody filled in is still read as a form: reading
    its drawing would take every unticked option for a chosen one.
    """
    root = _resolve(reader.trailer.get("/Root"))
    acroform = _resolve(root.get("/AcroForm")) if isinstance(root, DictionaryObject) else None
    if not isinstance(acroform, DictionaryObject):
        return False
    fields = _resolve(acroform.get("/Fields"))
    return (
        isinstance(fields, ArrayObject)
        and len(fields) > 0
        and any(_widgets(p) for p in reader.pages)
    )


def _resolve(obj: Any) -> Any:
    return obj.get_object() if isinstance(obj, IndirectObject) else obj


def _widgets(page: Any) -> list[DictionaryObject]:
    annots = _resolve(page.get("/Annots"))
    if not isinstance(annots, ArrayObject):
        return []
    found = [_resolve(a) for a in annots]
    return [a for a in found if isinstance(a, DictionaryObject) and a.get("/Subtype") == "/Widget"]


def read_acroform(
    reader: pypdf.PdfReader, pages: Sequence[PageLayout], headings: Sequence[Heading]
) -> list[Entry]:
    """One entry per question, in the order the widgets appear on the pages."""
    fields = _collect_fields(reader)
    layouts = {p.number: _FormPage(p) for p in pages}
    for f in fields:
        for w in f.widgets:
            if w.page in layouts:
                layouts[w.page].widgets.append(w)
    for page in layouts.values():
        page.index()
    fields.sort(key=lambda f: (f.widgets[0].page, round(f.widgets[0].box.top), f.widgets[0].box.x0))
    entries: list[Entry] = []
    index = 0
    while index < len(fields):
        group = _group_at(fields, index, layouts)
        entries.append(_entry(group, layouts, headings))
        index += len(group)
    return entries


def fields_carry_the_form(reader: pypdf.PdfReader) -> bool:
    """True when the fields alone say what the form asks and what was answered,
    so the pages need not be laid out (issue 10):

    * at least `_MIN_FIELDS` fields (a flattened form that kept a signature
      box or an office-use reference is read from its drawing);
    * every field has a tooltip: its question, as the form's author wrote it;
    * every tick box and radio button names its option in words: a radio
      button's export value, a check box's name after ``__`` or ``.``
      (``child_status__child_in_need``); never a number or a generic
      ``Choice2``, ``Check Box7``, ``q7__o1`` or ``On``, which only the
      printed text beside the box explains;
    * two fields asking the same question (``Name`` of the referrer and of
      the safeguarding lead) have names that tell them apart in words.

    Without the layout no section is known: a form read this way relies on
    its tooltips and names, as its author made them.
    """
    fields = _collect_fields(reader)
    if len(fields) < _MIN_FIELDS or not all(f.tooltip for f in fields):
        return False
    labels = [label for f in fields for _widget, label in _option_labels(f)]
    if not all(_in_words(label) for label in labels):
        return False
    asked: dict[str, list[Field]] = {}
    for f in fields:
        asked.setdefault(f.tooltip.casefold(), []).append(f)
    twice = [f for group in asked.values() if len(group) > 1 for f in group]
    return all(_in_words(_GROUP_SPLIT.split(f.name)[0]) for f in twice)


_MIN_FIELDS = 8
_GENERIC = re.compile(
    r"^(?:(?:text|check ?box|box|group|radio(?: ?button)?|button|btn|choice|option|field|"
    r"list ?box|combo ?box|drop ?down|untitled|undefined)[ _.-]*\d*|[a-z]{0,2}[ _.-]*\d+|on|off)$",
    re.IGNORECASE,
)


def _in_words(label: str) -> bool:
    """``child_in_need`` or ``yes``, not ``o1``, ``Check Box7`` or ``On``."""
    return len(re.findall(r"[^\W\d_]", label)) >= 2 and not _GENERIC.match(label.strip())


def _option_labels(f: Field) -> list[tuple[Widget, str]]:
    """Each button's option as the fields alone name it (see `_radio_lines`, `_check_line`)."""
    if f.kind == "radio":
        return [(w, _export(f, w, i)) for i, w in enumerate(f.widgets)]
    if f.kind == "check":
        parts = _GROUP_SPLIT.split(f.name)
        widget = f.widgets[0]
        return [(widget, parts[-1] if len(parts) > 1 else (widget.on_state or f.name))]
    return []


def has_answers(reader: pypdf.PdfReader) -> bool:
    """True when any field holds a value (text, a choice, a box that is on)."""
    for f in _collect_fields(reader):
        if f.kind in ("text", "choice") and _text_lines(f.value):
            return True
        value = _name(f.value) if f.value is not None else "Off"
        if f.kind in ("radio", "check") and (
            value not in ("Off", "") or any(w.appearance not in (None, "Off") for w in f.widgets)
        ):
            return True
    return False


def widget_bands(reader: pypdf.PdfReader) -> Callable[[PageLayout, TextLine], bool]:
    """A test for lines level with a field's widget: labels and options,
    which the fields already answer, so not running text."""
    boxes: dict[int, list[Box]] = {}
    for f in _collect_fields(reader):
        for w in f.widgets:
            boxes.setdefault(w.page, []).append(w.box)

    def beside(page: PageLayout, line: TextLine) -> bool:
        return any(
            min(b.bottom, line.box.bottom) - max(b.top, line.box.top) > 0.4 * line.box.height
            for b in boxes.get(page.number, ())
        )

    return beside


_FIELDS: weakref.WeakKeyDictionary[pypdf.PdfReader, list[Field]] = weakref.WeakKeyDictionary()


def _collect_fields(reader: pypdf.PdfReader) -> list[Field]:
    """The document's fields with their widgets, read once per reader (pypdf
    parses every widget's dictionary: the dearest part of a fillable form)."""
    if reader not in _FIELDS:
        _FIELDS[reader] = _read_fields(reader)
    return list(_FIELDS[reader])


def _read_fields(reader: pypdf.PdfReader) -> list[Field]:
    by_id: dict[int, Field] = {}
    for number, page in enumerate(reader.pages, start=1):
        for annot in _widgets(page):
            terminal = (
                annot if "/T" in annot or "/Parent" not in annot else _resolve(annot["/Parent"])
            )
            key = id(terminal)
            if key not in by_id:
                made = _field(terminal)
                if made is None:
                    continue
                by_id[key] = made
            by_id[key].widgets.append(_widget(annot, page, number, by_id[key].kind))
    fields = [f for f in by_id.values() if f.widgets]
    for f in fields:
        # Check boxes sharing one name with different on-states behave as
        # radio buttons (how some editors make "Yes / No").
        if f.kind == "check" and len({w.on_state for w in f.widgets}) > 1:
            f.kind = "radio"
    return fields


def _field(terminal: DictionaryObject) -> Field | None:
    kind = _kind(terminal)
    if kind is None:
        return None
    return Field(
        name=_full_name(terminal),
        kind=kind,
        tooltip=fold(str(_inherited(terminal, "/TU") or "")),
        value=_resolve(_inherited(terminal, "/V")),
        options=_options(_resolve(_inherited(terminal, "/Opt"))),
    )


def _kind(terminal: DictionaryObject) -> str | None:
    field_type = _inherited(terminal, "/FT")
    flags = int(_inherited(terminal, "/Ff") or 0)
    if field_type == "/Tx":
        return "text"
    if field_type == "/Ch":
        return "choice"
    if field_type == "/Btn" and not flags & _PUSHBUTTON:
        return "radio" if flags & _RADIO else "check"
    return None  # signatures, push buttons


def _inherited(node: DictionaryObject, key: str) -> Any:
    """A field attribute, looked up through /Parent (§12.7.3.1: FT, Ff, V, DV inherit)."""
    current: Any = node
    for _ in range(_MAX_PARENTS):
        if not isinstance(current, DictionaryObject):
            return None
        if key in current:
            return current[key]
        current = _resolve(current.get("/Parent"))
    return None


def _full_name(terminal: DictionaryObject) -> str:
    parts: list[str] = []
    current: Any = terminal
    for _ in range(_MAX_PARENTS):
        if not isinstance(current, DictionaryObject):
            break
        if "/T" in current:
            parts.append(str(current["/T"]))
        current = _resolve(current.get("/Parent"))
    return ".".join(reversed(parts))


def _options(opt: Any) -> list[tuple[str, str]]:
    if not isinstance(opt, ArrayObject):
        return []
    pairs: list[tuple[str, str]] = []
    for item in (_resolve(o) for o in opt):
        if isinstance(item, ArrayObject) and len(item) >= 2:
            pairs.append((str(_resolve(item[0])), str(_resolve(item[1]))))
        else:
            pairs.append((str(item), str(item)))
    return pairs


def _widget(annot: DictionaryObject, page: Any, number: int, kind: str) -> Widget:
    rect = [float(v) for v in _resolve(annot.get("/Rect", [0, 0, 0, 0]))]
    box_pdf = page.mediabox
    left, top_edge = float(box_pdf.left), float(box_pdf.top)
    box = Box(
        min(rect[0], rect[2]) - left,
        top_edge - max(rect[1], rect[3]),
        max(rect[0], rect[2]) - left,
        top_edge - min(rect[1], rect[3]),
    )
    appearance = annot.get("/AS")
    # Only a button has on and off states; a text field's appearance is a stream
    # that costs pypdf a parse for nothing.
    on_state = _on_state(annot) if kind in ("radio", "check") else None
    return Widget(number, box, on_state, _name(appearance) if appearance else None)


def _on_state(annot: DictionaryObject) -> str | None:
    """The name a button takes when it is on: its /AP /N state other than Off."""
    ap = _resolve(annot.get("/AP"))
    normal = _resolve(ap.get("/N")) if isinstance(ap, DictionaryObject) else None
    if not isinstance(normal, DictionaryObject):
        return None
    states = [_name(k) for k in normal if _name(k) != "Off"]
    return states[0] if len(states) == 1 else None


def _name(value: Any) -> str:
    text = str(_resolve(value))
    return text[1:] if text.startswith("/") else text


def _group_at(fields: list[Field], index: int, layouts: dict[int, _FormPage]) -> list[Field]:
    """The field at ``index`` and the check boxes after it asking the same question."""
    first = fields[index]
    if first.kind != "check":
        return [first]
    question, _ = _question(first, layouts)
    group = [first]
    for candidate in fields[index + 1 :]:
        if candidate.kind != "check":
            break
        asked, found = _question(candidate, layouts)
        stacked = not found and _below(group[-1].widgets[0], candidate.widgets[0])
        if asked != question and not stacked:
            break
        group.append(candidate)
    return group


def _below(upper: Widget, lower: Widget) -> bool:
    return (
        upper.page == lower.page
        and abs(upper.box.x0 - lower.box.x0) < 3
        and 0 < lower.box.top - upper.box.top < 4 * upper.box.height
    )


def _entry(group: list[Field], layouts: dict[int, _FormPage], headings: Sequence[Heading]) -> Entry:
    first = group[0]
    widget = first.widgets[0]
    question, _ = _question(first, layouts)
    section = section_at(headings, widget.page, widget.box.top)
    layout = layouts.get(widget.page)
    if first.kind == "check":
        hint = _group_hint(group)
        lines = tuple(_check_line(f, layout) for f in group)
        return Entry(
            question, section, lines, f"field {hint or first.name}, page {widget.page}", hint
        )
    if first.kind == "radio":
        lines = _radio_lines(first, layout)
    elif first.kind == "choice":
        lines = _choice_lines(first)
    else:
        lines = _text_lines(first.value)
    return Entry(question, section, lines, f"field {first.name}, page {widget.page}", first.name)


def _group_hint(group: list[Field]) -> str | None:
    """``child_status`` for ``child_status__child_in_need`` and its siblings."""
    if len(group) == 1:
        return group[0].name
    heads = {_GROUP_SPLIT.split(f.name)[0] for f in group}
    if len(heads) == 1 and all(_GROUP_SPLIT.search(f.name) for f in group):
        return heads.pop()
    return None


def _text_lines(value: Any) -> tuple[Line, ...]:
    if value is None:
        return ()
    text = value.get_data().decode("utf-8", "replace") if hasattr(value, "get_data") else str(value)
    return tuple(Line(fold(p)) for p in re.split(r"\r\n|\r|\n", text) if fold(p))


def _choice_lines(f: Field) -> tuple[Line, ...]:
    chosen = f.value if isinstance(f.value, ArrayObject) else [f.value]
    display = dict(f.options)
    texts = [display.get(str(_resolve(v)), str(_resolve(v))) for v in chosen if v is not None]
    return tuple(Line(fold(t)) for t in texts if fold(t))


def _radio_lines(f: Field, layout: _FormPage | None) -> tuple[Line, ...]:
    chosen = _name(f.value) if f.value is not None else None
    lines: list[Line] = []
    for index, widget in enumerate(f.widgets):
        export = _export(f, widget, index)
        on = widget.on_state is not None and (
            chosen == widget.on_state
            if chosen not in (None, "Off")
            else widget.appearance == widget.on_state
        )
        label = _label_right(widget, layout) or export
        lines.append(Line(f"{CHECKED if on else UNCHECKED} {label}".rstrip()))
    return tuple(lines)


def _export(f: Field, widget: Widget, index: int) -> str:
    """A button's export value: its on-state, or its /Opt entry when the state is an index."""
    state = widget.on_state or ""
    if f.options and state.isdigit() and int(state) < len(f.options):
        return f.options[int(state)][1]
    if f.options and not state and index < len(f.options):
        return f.options[index][1]
    return state


def _check_line(f: Field, layout: _FormPage | None) -> Line:
    widget = f.widgets[0]
    value = _name(f.value) if f.value is not None else None
    on = value != "Off" if value not in (None, "") else widget.appearance not in (None, "Off")
    parts = _GROUP_SPLIT.split(f.name)
    fallback = parts[-1] if len(parts) > 1 else (widget.on_state or f.name)
    label = _label_right(widget, layout) or fallback
    return Line(f"{CHECKED if on else UNCHECKED} {label}")


def _question(f: Field, layouts: dict[int, _FormPage]) -> tuple[str, bool]:
    """The question a field answers, and whether it came from the form itself.

    A tick box whose tooltip is only its own option's text (as PDF editors
    make them: "Child in need") takes its question from the page instead.
    """
    widget = f.widgets[0]
    page = layouts.get(widget.page)
    if f.tooltip and not (f.kind == "check" and _names_option(f.tooltip, widget, page)):
        return f.tooltip, True
    label = _label_left(widget, page.layout) if page else ""
    return (label, True) if label else (f.tooltip or f.name, False)


def _names_option(tooltip: str, widget: Widget, page: _FormPage | None) -> bool:
    return tooltip.casefold() == _label_right(widget, page).casefold()


def _label_right(widget: Widget, page: _FormPage | None) -> str:
    """The printed text just right of a tick box, up to the next box on its line."""
    if page is None:
        return ""
    box, layout = widget.box, page.layout
    # `_same_band` never reaches further from a box's centre than this.
    reach = max(box.height / 2, 3.0)
    stop = min(
        (
            b.x0
            for b in page.boxes_near(box.cy - reach, box.cy + reach)
            if b is not box and _same_band(b, box) and b.x0 > box.x1
        ),
        default=layout.width,
    )
    row = sorted(
        (
            w
            for w in page.letters_near(box.cy - reach, box.cy + reach)
            if _same_band(w.box, box) and box.x1 - 1 <= w.box.x0 < stop
        ),
        key=lambda w: w.box.x0,
    )
    picked = _run(row, box.x1)
    if not picked:
        return ""
    picked += _wrapped_below(picked, page, box, stop)
    return fold(" ".join(w.text for w in picked))


def _same_band(a: Box, b: Box) -> bool:
    return abs(a.cy - b.cy) <= max(min(a.height, b.height) / 2, 3.0)


def _run(row: list[Word], start: float) -> list[Word]:
    """Words from ``start`` rightwards until a gap wider than a column gutter."""
    picked: list[Word] = []
    edge = start
    for word in row:
        limit = 20.0 if not picked else 1.2 * max(word.size, 4.0)
        if word.box.x0 - edge > limit:
            break
        picked.append(word)
        edge = word.box.x1
    return picked


def _wrapped_below(picked: list[Word], page: _FormPage, own: Box, stop: float) -> list[Word]:
    """Lines under a label that start where it starts: the label wrapped."""
    x0 = picked[0].box.x0
    size = max(picked[0].size, 4.0)
    bottom = max(w.box.bottom for w in picked)
    more: list[Word] = []
    for _ in range(4):
        band = Box(x0 - 2, bottom, stop, bottom + size)
        near = page.letters_near(band.top - 0.5, band.bottom + 0.5)  # `Box.contains`' slack
        line = sorted(words_in(near, band), key=lambda w: w.box.x0)
        if not line or abs(line[0].box.x0 - x0) > 2 or _beside_a_box(page, own, line[0].box):
            break
        more.extend(line)
        bottom = max(w.box.bottom for w in line)
    return more


def _beside_a_box(page: _FormPage, own: Box, word: Box) -> bool:
    """Another widget stands level with ``word`` (`_same_band`)."""
    reach = max(word.height / 2, 3.0)
    return any(
        _same_band(b, word)
        for b in page.boxes_near(word.cy - reach, word.cy + reach)
        if b is not own
    )


def _label_left(widget: Widget, layout: PageLayout | None) -> str:
    """The label of a field with no tooltip: its row's label cell, the text
    left of it (with the lines it wrapped onto), or the line above it.

    "" when the text beside the widget is the wrapped end of a label that
    began higher up: the widget belongs to the question above (the second
    box of a column of check boxes).
    """
    if layout is None:
        return ""
    from_cell = _row_label(widget, layout)
    if from_cell:
        return from_cell
    box = widget.box
    left_words = [w for w in layout.words if w.mark is None and w.box.x1 <= box.x0 + 1]
    lines = group_lines(left_words)
    top_band = Box(0, box.top - 2, box.x0 + 1, min(box.bottom, box.top + 14) + 2)
    start = next((i for i, ln in enumerate(lines) if top_band.contains(ln.box.x0, ln.box.cy)), None)
    if start is None:
        above = Box(box.x0 - 2, box.top - 16, box.x1, box.top + 1)
        return question_text([w for w in words_in(layout.words, above) if not w.mark])
    edge = max(ln.box.x1 for ln in lines)
    if start > 0 and _label_wraps(lines[start - 1], lines[start], edge):
        return ""
    picked = [lines[start]]
    for line in lines[start + 1 :]:
        if not _label_wraps(picked[-1], line, edge):
            break
        picked.append(line)
    return fold(" ".join(ln.text for ln in picked))


def _label_wraps(above: TextLine, line: TextLine, edge: float) -> bool:
    """``line`` carries on the label ``above``: same start, close under it,
    and the label column was full."""
    size = max(line.size, 4.0)
    if abs(above.box.x0 - line.box.x0) > 2 or not 0 <= line.box.top - above.box.bottom < 0.6 * size:
        return False
    return above.box.x1 + 0.3 * size + line.words[0].box.width > edge


def _row_label(widget: Widget, layout: PageLayout) -> str:
    for table in layout.tables:
        for row in table.rows:
            if len(row) < 2 or not any(
                c.box.contains(widget.box.cx, widget.box.cy) for c in row[1:]
            ):
                continue
            return question_text(words_in(layout.words, row[0].box))
    return ""
