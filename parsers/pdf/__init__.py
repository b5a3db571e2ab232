"""PDF attachments -> the generic `Document`.

The surface is `read_pdf` (`parsers.pdf.read`).  The other modules are its
parts: `acroform` and `fields` read a fillable form's fields, `pdfium` and
`fonts` give a page's characters and drawing, `layout` lays them out,
`table`, `columns`, `text` and `typed` find the questions and answers on
the laid-out page, and `content` counts what a page's content inflates to.
"""

from parsers.pdf.read import read_pdf

__all__ = ["read_pdf"]
