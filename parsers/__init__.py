"""Pure parsing: raw email and attachment bytes -> typed results (no Django, no I/O).

The surface, what intake and the sandbox's jobs use:

* `parsers.mail`: raw message bytes -> `MailResult` (`read_mail`), the one
  parse of each message;
* `parsers.docx` and `parsers.pdf`: a Word or PDF attachment -> `Document`,
  and `parsers.documents`: any attachment -> `Document`, by what its bytes are;
* `parsers.forms`: the documents of a message and the form schemas -> the
  best `FormMatch`;
* `parsers.sandbox`: runs those jobs on untrusted bytes in a child process,
  within the message's time and memory budget;
* the types they share: `parsers.document` (`Document`), `parsers.schema`
  (`FormSchema`, `load_schemas`), `parsers.errors` (`ParseError`, `Reason`),
  `parsers.limits` (`Limits`) and `parsers.normalise` (how answers compare).

Everything else (`lexicon`, `options`, `safezip` and the modules inside each
subpackage) is a part of those; intake imports none of it, and
`.importlinter` checks that.  The subpackages are not imported here: each
process loads only the readers it runs.
"""

__all__ = [
    "document",
    "documents",
    "docx",
    "errors",
    "forms",
    "limits",
    "mail",
    "normalise",
    "pdf",
    "sandbox",
    "schema",
]
