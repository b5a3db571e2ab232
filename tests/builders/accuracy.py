"""Filled forms in every style, sent in every way, and what the service must read.

Shared by ``tests/intake/test_accuracy.py`` (a few cases a style, exact) and
``bench/accuracy.py`` (many cases, prints the rates).  A case is a form
filled with `random_answers`, some answers blanked (so some forms are
incomplete), rendered in one style, wrapped in an email from one client;
the expectation is what the README says the outcome must be.
"""

from __future__ import annotations

import email
import email.utils
import random
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from parsers.normalise import fold_text, parse_uk_date
from parsers.schema import FormSchema
from tests.builders import docx_builder, mime_builder, pdf_builder
from tests.builders.authentication import with_verdict

Answers = dict[str, Any]

PdfStyle = Callable[..., bytes]
PDF_STYLES: dict[str, PdfStyle] = {
    "pdf_acroform": lambda s, a, banner=None: pdf_builder.acroform_pdf(s, a, banner=banner),
    "pdf_acroform_meaningless_names": lambda s, a, banner=None: pdf_builder.acroform_pdf(
        s, a, names="meaningless", banner=banner
    ),
    "pdf_flattened_word": lambda s, a, banner=None: pdf_builder.flattened_pdf(s, a, "word", banner),
    "pdf_flattened_printed": lambda s, a, banner=None: pdf_builder.flattened_pdf(
        s, a, "printed", banner
    ),
    "pdf_flattened_norules": lambda s, a, banner=None: pdf_builder.flattened_pdf(
        s, a, "norules", banner
    ),
    "pdf_typed_under_boxes": lambda s, a, banner=None: pdf_builder.flattened_pdf(
        s, a, "typed_under", banner
    ),
}
CLIENTS = (
    "outlook",
    "gmail",
    "apple_mail_inline",
    "iphone",
    "zipped",
    "forwarded_as_attachment",
    "forwarded_inline",
    "outlook_tnef",
)


@dataclass
class Case:
    form_type: str
    style: str
    client: str
    seed: int
    raw: bytes
    expected_fields: dict[str, Any]
    complete: bool


def styles() -> list[str]:
    return [f"docx_{s}" for s in docx_builder.STYLES] + list(PDF_STYLES)


def render(schema: FormSchema, answers: Answers, style: str, seed: int) -> tuple[str, bytes]:
    """(filename, bytes) of the form filled in ``style``."""
    if style.startswith("docx_"):
        data = docx_builder.filled_docx(schema, answers, style.removeprefix("docx_"), seed=seed)
        return "Referral form.docx", data
    return "Referral form.pdf", PDF_STYLES[style](schema, answers)


def wrap(
    files: Sequence[tuple[str, bytes]],
    client: str,
    sent: datetime | None = None,
    our_mx: str | None = None,
) -> bytes:
    """The email a referrer's ``client`` sends with ``files`` attached, on ``sent``;
    with ``our_mx``, as our mail server delivers it: its verdict (the sender
    authenticated) on top (`tests.builders.authentication`)."""
    if client == "forwarded_as_attachment":
        raw = mime_builder.forwarded_as_attachment(mime_builder.outlook(files))
    else:
        raw = getattr(mime_builder, client)(files)
    if sent is not None:
        message = email.message_from_bytes(raw)
        del message["Date"]
        message["Date"] = email.utils.format_datetime(sent)
        raw = message.as_bytes()
    return with_verdict(raw, server=our_mx) if our_mx else raw


def sent_after(answers: Mapping[str, Any]) -> datetime:
    """A plausible send time: two days after the latest date in the form."""
    dates = [d for v in answers.values() if isinstance(v, str) and (d := parse_uk_date(v))]
    latest = max(dates, default=date(2026, 3, 2))
    return datetime.combine(latest + timedelta(days=2), time(10, 30), tzinfo=UTC)


def expected(schema: FormSchema, answers: Mapping[str, Any]) -> dict[str, Any]:
    """The outcome's ``fields`` for these answers (README: values)."""
    out: dict[str, Any] = {}
    for spec in schema.fields:
        value = answers.get(spec.key)
        if value in (None, "", []):
            continue
        if spec.type == "checks":
            out[spec.key] = sorted(value)
        elif spec.type in ("choice", "yesno"):
            out[spec.key] = value[0] if isinstance(value, list) else value
        elif spec.type == "date":
            parsed = parse_uk_date(str(value))
            out[spec.key] = parsed.isoformat() if parsed else value
        else:
            out[spec.key] = fold_text(str(value))
    return out


def blank_some(schema: FormSchema, answers: Answers, rng: random.Random) -> tuple[Answers, bool]:
    """Half the time, blank one to three required answers: an incomplete form."""
    if rng.random() < 0.5:
        return answers, True
    required = [f.key for f in schema.fields if f.required and f.key in answers]
    out = dict(answers)
    for key in rng.sample(required, k=min(len(required), rng.randint(1, 3))):
        out.pop(key)
    return out, False


def cases(
    schemas: Mapping[str, FormSchema],
    per_style: int,
    first_seed: int = 0,
    style_names: Sequence[str] = (),
    our_mx: str | None = None,
) -> Iterator[Case]:
    for style in style_names or styles():
        for n in range(per_style):
            seed = first_seed + n
            rng = random.Random(f"{style}-{seed}")
            schema = schemas[rng.choice(sorted(schemas))]
            answers, complete = blank_some(schema, docx_builder.random_answers(schema, seed), rng)
            name, data = render(schema, answers, style, seed)
            client = CLIENTS[(seed + len(style)) % len(CLIENTS)]
            yield Case(
                schema.form_type,
                style,
                client,
                seed,
                wrap([(name, data)], client, sent_after(answers), our_mx),
                expected(schema, answers),
                complete,
            )
