"""Bar charts drawn on the server as inline SVG: no script, no library, no request.

Each chart is an image with a text alternative (``<title>`` and ``<desc>``: the
figure's sentence); the page puts the same numbers in a table beside it.  Colours
are presentation attributes (the Content-Security-Policy allows no inline style),
and every bar carries its number in text, so nothing depends on colour.
"""

from __future__ import annotations

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from intake.reporting import Figure

BAR = "#1d70b8"  # GOV.UK blue: 5.2:1 against white
INK = "#0b0c0c"
ROW = 34
LABEL_WIDTH = 240
BAR_WIDTH = 420
WIDTH = LABEL_WIDTH + BAR_WIDTH + 60


def bar_chart(figure: Figure, chart_id: str) -> SafeString:
    """A horizontal bar per row of ``figure``, labelled and numbered."""
    top = max((value for _, value in figure.rows), default=0) or 1
    height = ROW * max(len(figure.rows), 1) + 8
    bars = format_html_join(
        "",
        '<g><text x="{}" y="{}" text-anchor="end" font-size="16" fill="{}">{}</text>'
        '<rect x="{}" y="{}" width="{}" height="{}" fill="{}"></rect>'
        '<text x="{}" y="{}" font-size="16" fill="{}">{}</text></g>',
        (
            (
                LABEL_WIDTH - 8,
                i * ROW + 22,
                INK,
                _short(label),
                LABEL_WIDTH,
                i * ROW + 6,
                max(round(BAR_WIDTH * value / top), 1 if value else 0),
                ROW - 10,
                BAR,
                LABEL_WIDTH + max(round(BAR_WIDTH * value / top), 0) + 6,
                i * ROW + 22,
                INK,
                _number(value),
            )
            for i, (label, value) in enumerate(figure.rows)
        ),
    )
    return format_html(
        '<svg class="chart" role="img" viewBox="0 0 {} {}" width="{}" height="{}" '
        'font-family="arial, sans-serif" '
        'aria-labelledby="{}-title {}-desc" xmlns="http://www.w3.org/2000/svg">'
        '<title id="{}-title">{}</title><desc id="{}-desc">{}</desc>{}</svg>',
        WIDTH,
        height,
        WIDTH,
        height,
        chart_id,
        chart_id,
        chart_id,
        figure.title,
        chart_id,
        figure.summary,
        bars,
    )


def _short(label: str) -> str:
    return label if len(label) <= 30 else label[:29] + "…"


def _number(value: float) -> str:
    return f"{value:.0f}" if value == int(value) else f"{value:.1f}"
