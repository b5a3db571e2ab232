"""Word (DOCX) attachments -> the generic `Document`.

The surface is `read_docx` (`parsers.docx.read`); the other modules are its
parts: `walk` copies the WordprocessingML out into `model` pieces (with
`style`, `numbering` and `glyphs` for what a person sees), and `tables`
turns those pieces into questions and answers.
"""

from parsers.docx.read import read_docx

__all__ = ["read_docx"]
