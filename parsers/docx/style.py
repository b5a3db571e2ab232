"""Just enough of Word's styles (ECMA-376 Part 1, 17.7) to see emphasis and headings.

A run is emphasised when its direct formatting, its character style or its
paragraph style makes it bold, underlined, highlighted, shaded or coloured.
Style chains (``w:basedOn``) are followed a bounded number of steps, so a
cyclic chain in a hostile file cannot loop.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lxml import etree

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
VAL = f"{{{W}}}val"
_FALSE = {"0", "false", "off", "none"}
_PLAIN_COLOURS = {"auto", "000000", ""}
_MAX_CHAIN = 10


def w(tag: str) -> str:
    return f"{{{W}}}{tag}"


@dataclass
class Styles:
    """Style id -> (name, element), from ``word/styles.xml``."""

    by_id: dict[str, etree._Element] = field(default_factory=dict)
    _props: dict[str, dict[str, bool | str]] = field(default_factory=dict)

    @classmethod
    def of(cls, root: etree._Element | None) -> Styles:
        styles = cls()
        if root is None:
            return styles
        for style in root.iter(w("style")):
            style_id = style.get(w("styleId"))
            if style_id:
                styles.by_id[style_id] = style
        return styles

    def name(self, style_id: str | None) -> str:
        style = self.by_id.get(style_id or "")
        node = style.find(w("name")) if style is not None else None
        return (node.get(VAL) or "") if node is not None else (style_id or "")

    def chain(self, style_id: str | None) -> list[etree._Element]:
        """The style and those it is based on, nearest first."""
        out: list[etree._Element] = []
        while style_id and len(out) < _MAX_CHAIN:
            style = self.by_id.get(style_id)
            if style is None:
                break
            out.append(style)
            based = style.find(w("basedOn"))
            style_id = based.get(VAL) if based is not None else None
        return out

    def props(self, style_id: str | None) -> dict[str, bool | str]:
        """Run properties the style sets, its base styles' included (cached)."""
        key = style_id or ""
        if key not in self._props:
            merged: dict[str, bool | str] = {}
            for style in reversed(self.chain(style_id)):
                rpr = style.find(w("rPr"))
                if rpr is not None:
                    merged.update(_props(rpr))
            merged.pop("rStyle", None)
            self._props[key] = merged
        return self._props[key]

    def is_heading(self, p: etree._Element, style_id: str | None) -> bool:
        """Heading n, Title, Subtitle, or any outline level (17.3.1.20)."""
        name = self.name(style_id).lower()
        if name.startswith("heading") or name in ("title", "subtitle"):
            return True
        if p.find(f"{w('pPr')}/{w('outlineLvl')}") is not None:
            return _outline(p.find(f"{w('pPr')}/{w('outlineLvl')}"))
        return any(_outline(s.find(f"{w('pPr')}/{w('outlineLvl')}")) for s in self.chain(style_id))


def _outline(node: etree._Element | None) -> bool:
    # Level 9 is "body text" (17.3.1.20): not a heading.
    return node is not None and (node.get(VAL) or "9") not in ("9",)


@dataclass(frozen=True)
class RunLook:
    """How a run is shown: set apart (bold, underline, ...) and/or struck through."""

    emphasis: bool = False
    struck: bool = False


def run_look(rpr: etree._Element | None, para_style: str | None, styles: Styles) -> RunLook:
    """Direct formatting over the character style over the paragraph style."""
    props = dict(styles.props(para_style))
    if rpr is not None:
        direct = _props(rpr)
        rstyle = direct.pop("rStyle", None)
        if isinstance(rstyle, str):
            props.update(styles.props(rstyle))
        props.update(direct)
    return RunLook(
        emphasis=any(props.get(name) is True for name in _EMPHASIS),
        struck=props.get("strike") is True or props.get("dstrike") is True,
    )


def _props(rpr: etree._Element) -> dict[str, bool | str]:
    """The properties an ``w:rPr`` sets, read in one pass over its children."""
    out: dict[str, bool | str] = {}
    for child in rpr:
        tag = child.tag
        if not isinstance(tag, str) or not tag.startswith(_W_PREFIX):
            continue
        name = tag[len(_W_PREFIX) :]
        if name == "rStyle":
            out[name] = child.get(VAL) or ""
        elif name in _READERS:
            out[name] = _READERS[name](child)
    return out


def _on(node: etree._Element) -> bool:
    return (node.get(VAL) or "true").lower() not in _FALSE


def _underlined(node: etree._Element) -> bool:
    return (node.get(VAL) or "single").lower() not in _FALSE


def _highlighted(node: etree._Element) -> bool:
    return (node.get(VAL) or "none").lower() not in _FALSE


def _shaded(node: etree._Element) -> bool:
    return (node.get(w("fill")) or "auto").lower() not in ("auto", "ffffff", "none", "")


def _coloured(node: etree._Element) -> bool:
    return (node.get(VAL) or "auto").lower() not in _PLAIN_COLOURS


_W_PREFIX = f"{{{W}}}"
_READERS = {
    "b": _on,
    "u": _underlined,
    "highlight": _highlighted,
    "shd": _shaded,
    "color": _coloured,
    "strike": _on,
    "dstrike": _on,
}
_EMPHASIS = ("b", "u", "highlight", "shd", "color")
