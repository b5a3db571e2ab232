"""A referral mailbox's first sync, reproducibly: the mail `bench/sync_bench.py` reads.

`realistic_mail(count, seed)` returns ``count`` messages of 50-150 KB, all
fictional, each from its own referrer (so no per-sender reply limit is
reached), with its own Message-ID, and authenticated by the partnership's
receiving server (``mx1.warrington.gov.uk``, as in ``config/intake.toml``):

======  ================================================================
share   what
======  ================================================================
55 %    a filled referral form (CSPR or Serious Incident Notification, half
        of them with required answers left blank): Word in every style the
        builders know (60 %), a fillable PDF (20 %), a flattened or printed
        PDF (20 %); sent from Outlook, Gmail, an iPhone, Apple Mail, zipped,
        forwarded, or as winmail.dat
10 %    a form with correspondence beside it: a letter (PDF, 2-4 pages) and a
        chronology (Word)
10 %    correspondence alone: a letter, as PDF or Word
10 %    automatic mail: out-of-office replies and delivery reports
15 %    the shared example emails (``../shared/forms/examples``: forwards,
        zips, resubmissions, another service's form, a truncated Word file,
        an encrypted PDF...), each under a new Message-ID
======  ================================================================

and three copies of one pathological PDF: a page whose content stream
inflates to 1 GB (`inflating_pdf`), sent as a referral.  Their Message-IDs
start with ``<pathological-``, so a bench can count them apart.  A photo
(random bytes under a JPEG header) pads a message to its size; nothing reads
it.  Building takes a while (the forms are drawn one by one); `cached`
keeps a built set on disk.
"""

from __future__ import annotations

import email.utils
import hashlib
import io
import pickle
import random
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.builders.pathological import inflating_pdf

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT.parent / "shared" / "forms" / "examples"
OUR_MX = "mx1.warrington.gov.uk"
PATHOLOGICAL = "<pathological-"
CLIENTS = ("outlook", "gmail", "iphone", "apple_mail_inline", "zipped", "outlook_tnef")
AUTOMATIC = ("out-of-office-exchange.eml", "bounce-dsn.eml")


def realistic_mail(count: int, seed: int = 7) -> list[bytes]:
    """``count`` messages (three of them the pathological PDF), in a shuffled order."""
    rng = random.Random(seed)
    makers = _makers()
    weights = [share for share, _ in makers.values()]
    kinds = rng.choices(list(makers), weights=weights, k=max(0, count - 3))
    messages = [makers[kind][1](n, rng) for n, kind in enumerate(kinds)]
    bomb = inflating_pdf(1 << 30)
    messages += [_pathological(count + i, bomb) for i in range(min(3, count))]
    rng.shuffle(messages)
    return messages


def cached(count: int, seed: int, folder: Path, path: Path | None = None) -> list[bytes]:
    """`realistic_mail`, kept in ``folder`` (or ``path``) for the next run (the same bytes)."""
    path = path or folder / f"realistic-{count}-{seed}-{_builders_digest()}.pickle"
    if path.exists():
        messages: list[bytes] = pickle.loads(path.read_bytes())
        return messages
    messages = realistic_mail(count, seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(messages))
    return messages


def _builders_digest() -> str:
    """Changes when this module or a builder it uses changes (a stale cache is rebuilt)."""
    sources = [Path(__file__), *sorted((ROOT / "tests" / "builders").glob("*.py"))]
    return hashlib.sha256(b"".join(p.read_bytes() for p in sources)).hexdigest()[:12]


Maker = Callable[[int, random.Random], bytes]


def _makers() -> dict[str, tuple[float, Maker]]:
    return {
        "form": (0.55, _form_message),
        "form_and_letters": (0.10, _form_with_correspondence),
        "correspondence": (0.10, _correspondence),
        "automatic": (0.10, _automatic),
        "example": (0.15, _example),
    }


# --- forms ------------------------------------------------------------------------------


def _schemas():  # type: ignore[no-untyped-def]
    from intake.assess import schemas_in

    return schemas_in(str(ROOT / "config" / "forms"))


def _form(n: int, rng: random.Random) -> tuple[str, bytes]:
    from tests.builders.accuracy import blank_some, render, styles
    from tests.builders.docx_builder import random_answers

    schemas = _schemas()
    schema = schemas[rng.choice(sorted(schemas))]
    pdfs = [s for s in styles() if s.startswith("pdf_")]
    fillable = [s for s in pdfs if "acroform" in s]
    kind = rng.random()
    if kind < 0.6:
        style = rng.choice([s for s in styles() if s.startswith("docx_")])
    elif kind < 0.8:
        style = rng.choice(fillable)
    else:
        style = rng.choice([s for s in pdfs if s not in fillable])
    answers, _complete = blank_some(schema, random_answers(schema, 10_000 + n), rng)
    return render(schema, answers, style, 10_000 + n)


def _form_message(n: int, rng: random.Random) -> bytes:
    return _sent(n, rng, [_form(n, rng)], rng.choice(CLIENTS))


def _form_with_correspondence(n: int, rng: random.Random) -> bytes:
    files = [_form(n, rng), ("Letter.pdf", letter_pdf(rng)), ("Chronology.docx", chronology(rng))]
    return _sent(n, rng, files, rng.choice(("outlook", "gmail")))


def _correspondence(n: int, rng: random.Random) -> bytes:
    letter = (
        ("Letter.pdf", letter_pdf(rng)) if rng.random() < 0.5 else ("Notes.docx", chronology(rng))
    )
    return _sent(n, rng, [letter], rng.choice(("outlook", "gmail", "iphone")))


def _sent(n: int, rng: random.Random, files: list[tuple[str, bytes]], client: str) -> bytes:
    from tests.builders import mime_builder

    target = rng.randint(50_000, 150_000)
    size = sum(len(d) for _, d in files) * 4 // 3
    if size < target:
        files = [*files, ("photo.jpg", _photo(rng, (target - size) * 3 // 4))]
    raw = getattr(mime_builder, client)(files)
    return _as_from(raw, n, rng)


def _photo(rng: random.Random, size: int) -> bytes:
    return b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + rng.randbytes(max(0, size - 11))


def _as_from(raw: bytes, n: int, rng: random.Random) -> bytes:
    """``raw`` from referrer ``n`` of an agency, sent within the last days, verdict: pass."""
    domain = f"agency{n}.example"
    sent = datetime(2026, 11, 20, 9, tzinfo=UTC) + timedelta(minutes=rng.randint(0, 14 * 24 * 60))
    headers = [
        f"Authentication-Results: {OUR_MX}; spf=pass smtp.mailfrom={domain};"
        f" dkim=pass header.d={domain}; dmarc=pass header.from={domain}",
        f"From: Referrer {n} <referrer{n}@{domain}>",
        f"Date: {email.utils.format_datetime(sent)}",
        f"Message-ID: <bench-{n}-{rng.getrandbits(40):x}@{domain}>",
    ]
    return _on_top(headers, _without(raw, ("From", "Date", "Message-ID", "Authentication-Results")))


def _on_top(headers: list[str], raw: bytes) -> bytes:
    """``headers`` above ``raw``'s, with the line ending ``raw`` uses."""
    newline = "\r\n" if b"\r\n" in raw[:4000] else "\n"
    return "".join(h + newline for h in headers).encode() + raw


def _without(raw: bytes, names: tuple[str, ...]) -> bytes:
    """``raw`` without the top-level headers ``names`` (and their folded lines)."""
    head, sep, body = (
        raw.partition(b"\n\n") if b"\r\n\r\n" not in raw else raw.partition(b"\r\n\r\n")
    )
    pattern = (
        rb"(?mi)^(?:"
        + b"|".join(re.escape(n.encode()) for n in names)
        + rb"):.*(?:\r?\n[ \t].*)*\r?\n?"
    )
    return re.sub(pattern, b"", head + b"\n").rstrip(b"\r\n") + sep + body


# --- correspondence -------------------------------------------------------------------------

_WORDS = [
    "the",
    "child",
    "attended",
    "school",
    "on",
    "most",
    "days",
    "and",
    "staff",
    "noticed",
    "a",
    "change",
    "in",
    "mood",
    "after",
    "the",
    "holiday",
    "period;",
    "the",
    "family",
    "was",
    "known",
    "to",
    "early",
    "help",
    "and",
    "a",
    "health",
    "visitor",
    "had",
    "visited",
    "twice",
    "in",
    "the",
    "month",
    "before;",
    "a",
    "strategy",
    "discussion",
    "was",
    "held",
    "with",
    "police",
    "and",
    "health",
]


def _sentences(rng: random.Random, count: int) -> list[str]:
    return [
        " ".join(rng.choice(_WORDS) for _ in range(rng.randint(8, 16))).capitalize() + "."
        for _ in range(count)
    ]


def letter_pdf(rng: random.Random) -> bytes:
    """A letter of 2-4 pages of running text (reportlab)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    page = canvas.Canvas(buffer, pagesize=A4, invariant=True)
    for number in range(rng.randint(2, 4)):
        page.setFont("Helvetica-Bold" if number == 0 else "Helvetica", 12)
        page.drawString(
            72, 780, "Westshire Example Academy" if number == 0 else f"Page {number + 1}"
        )
        page.setFont("Helvetica", 10)
        for line, text in enumerate(_sentences(rng, 40)):
            page.drawString(72, 750 - 16 * line, text[:95])
        page.showPage()
    page.save()
    return buffer.getvalue()


def chronology(rng: random.Random) -> bytes:
    """A chronology in Word: a heading, a table of dated events, paragraphs."""
    import docx

    document = docx.Document()
    document.add_heading("Chronology of involvement", level=1)
    table = document.add_table(rows=1, cols=3)
    table.rows[0].cells[0].text, table.rows[0].cells[1].text = "Date", "Agency"
    table.rows[0].cells[2].text = "Event"
    for day, text in enumerate(_sentences(rng, rng.randint(10, 25)), start=1):
        cells = table.add_row().cells
        cells[0].text, cells[1].text, cells[2].text = f"{day:02d}/10/2026", "School", text
    for text in _sentences(rng, 8):
        document.add_paragraph(text)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


# --- automatic mail and the shared examples ----------------------------------------------------


def _automatic(n: int, rng: random.Random) -> bytes:
    return _renamed(n, rng, (EXAMPLES / rng.choice(AUTOMATIC)).read_bytes())


def _example(n: int, rng: random.Random) -> bytes:
    names = sorted(p.name for p in EXAMPLES.glob("*.eml") if p.name not in AUTOMATIC)
    return _renamed(n, rng, (EXAMPLES / rng.choice(names)).read_bytes())


def _renamed(n: int, rng: random.Random, raw: bytes) -> bytes:
    """An example under a Message-ID of its own (same sender, same verdict)."""
    new_id = f"Message-ID: <example-{n}-{rng.getrandbits(40):x}@bench.example>"
    return _on_top([new_id], _without(raw, ("Message-ID",)))


# --- the pathological PDF ---------------------------------------------------------------------


def _pathological(n: int, pdf: bytes) -> bytes:
    from tests.builders import mime_builder

    raw = _as_from(mime_builder.outlook([("Referral form.pdf", pdf)]), n, random.Random(n))
    return raw.replace(b"Message-ID: <bench-", b"Message-ID: " + PATHOLOGICAL.encode(), 1)


def is_pathological(raw: bytes) -> bool:
    return PATHOLOGICAL.encode() in raw[:2000]
