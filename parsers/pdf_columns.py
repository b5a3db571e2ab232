"""Reading a flattened form that has no ruled table (placeholder, see below)."""

from __future__ import annotations

from collections.abc import Sequence

from parsers.pdf_layout import PageLayout
from parsers.pdf_table import Reading, read_tables


def read_columns(pages: Sequence[PageLayout]) -> Reading:
    return read_tables(pages)
