"""Which form a document is, and what its answers say.

`extract_form` takes the documents read from one message's attachments and
the form schemas, and returns the best `FormMatch`: the form type, every
answer found (normalised, with the text as written and where it came from)
and the evidence a decision needs (which questions were found blank, which
could not be placed).  Pure: no I/O.  See `parsers.forms.match` for how a
document is matched to a schema.
"""

from parsers.forms.answers import Answer, read_answer, split_full_name
from parsers.forms.match import (
    FormMatch,
    Unplaced,
    assign_questions,
    extract_form,
    match_document,
    possible_answers,
)
from parsers.forms.targets import compile_schema

__all__ = [
    "Answer",
    "FormMatch",
    "Unplaced",
    "assign_questions",
    "compile_schema",
    "extract_form",
    "match_document",
    "possible_answers",
    "read_answer",
    "split_full_name",
]
