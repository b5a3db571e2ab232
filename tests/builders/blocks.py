"""Our own forms with another person's details added: a father's, a sibling's, the
GP's, the school's... block of "Name", "Address", "Date of birth" rows under its
own heading, before one of the form's sections or at its end.  Real referrals carry such
blocks (a partnership's form asks for the family, an agency adds its own); the
reader must never take their answers for the child's, the referrer's or the
lead's, above all never to fill a blank and accept an incomplete form.

    python bench/accuracy.py --blocks --per-style 20
"""

from __future__ import annotations

import io
import random
import re
import zipfile
from collections.abc import Iterator, Mapping, Sequence

from parsers.schema import FormSchema
from tests.builders import docx_builder
from tests.builders.accuracy import CLIENTS, blank_some, expected, sent_after, wrap
from tests.builders.unseen import UnseenCase

# Another person's details, as a referrer types them: heading, then rows.
BLOCKS: dict[str, tuple[tuple[str, str], ...]] = {
    "Father / partner": (
        ("Name", "Callum Whitfield"),
        ("Date of birth", "03/03/1988"),
        ("Address", "9 Oak Road, Warrington WA4 4DD"),
        ("Gender", "Male"),
        ("Telephone number", "07700 900456"),
    ),
    "Mother": (
        ("Name", "Gemma Whitfield"),
        ("Date of birth", "02/02/1990"),
        ("Address", "5 Elm Road, Warrington WA3 3CC"),
        ("Telephone number", "07700 900123"),
    ),
    "Siblings": (
        ("Name", "Poppy Whitfield"),
        ("Date of birth", "04/04/2020"),
        ("Gender", "Female"),
        ("Address", "5 Elm Road, Warrington WA3 3CC"),
    ),
    "GP details": (
        ("Name", "Dr Imran Shah"),
        ("Address", "Orford Health Centre, 1 High St, Warrington WA1 1AA"),
        ("Telephone number", "01925 960111"),
        ("Email address", "imran.shah@nhs.example.net"),
    ),
    "School": (
        ("Name", "Orford Primary School"),
        ("Address", "2 School Lane, Warrington WA2 2BB"),
        ("Telephone number", "01925 960222"),
        ("Email", "office@orford.sch.example.uk"),
    ),
    "Allocated social worker": (
        ("Name", "Sam Jones"),
        ("Team", "Safeguarding Team 2"),
        ("Telephone number", "01925 960333"),
        ("Email address", "sam.jones@council.example.org"),
    ),
    "Health visitor": (
        ("Name", "Ann Lee"),
        ("Telephone number", "01925 960444"),
        ("Email address", "ann.lee@nhs.example.net"),
    ),
}


def block_cases(
    schemas: Mapping[str, FormSchema],
    per_style: int,
    first_seed: int = 0,
    style_names: Sequence[str] = (),
    our_mx: str | None = None,
) -> Iterator[UnseenCase]:
    """``per_style`` emails a Word fill style, each with one block of another
    person's details; half have required answers left blank (`blank_some`)."""
    for style in style_names or docx_builder.STYLES:
        for n in range(per_style):
            seed = first_seed + n
            rng = random.Random(f"blocks:{style}:{seed}")
            schema = schemas[rng.choice(sorted(schemas))]
            answers, complete = blank_some(schema, docx_builder.random_answers(schema, seed), rng)
            data = docx_builder.filled_docx(schema, answers, style, seed=seed)
            heading = rng.choice(sorted(BLOCKS))
            rows = BLOCKS[heading]
            picked = sorted(rng.sample(range(len(rows)), rng.randint(2, len(rows))))
            data = with_block(data, heading, [rows[i] for i in picked], rng)
            client = CLIENTS[(seed + len(style)) % len(CLIENTS)]
            yield UnseenCase(
                source=heading, era="blocks", form_type=schema.form_type, style=style,
                client=client, seed=seed,
                raw=wrap([("Referral form.docx", data)], client, sent_after(answers), our_mx),
                expected=expected(schema, answers),
                decision="accepted" if complete else "incomplete", complete=complete,
                asked={f.key for f in schema.fields},
            )  # fmt: skip


def with_block(
    docx: bytes, heading: str, rows: Sequence[tuple[str, str]], rng: random.Random
) -> bytes:
    """``docx`` with ``heading`` (a Heading 2 paragraph) and a two-column table of
    ``rows`` put where one of its sections begins, or at the end of its body."""
    block = docx_builder.para(docx_builder.run(heading), style="Heading2") + docx_builder.table(
        [
            docx_builder.cell(
                docx_builder.para(docx_builder.run(q)), 3572, fill=docx_builder.LABEL_FILL
            )
            + docx_builder.cell(docx_builder.para(docx_builder.run(a)), 6066)
            for q, a in rows
        ],
        (3572, 6066),
    )
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(docx)) as zin, zipfile.ZipFile(out, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "word/document.xml":
                xml = data.decode()
                spots = [*_top_level_starts(xml), xml.rindex("<w:sectPr")]
                at = rng.choice(spots)
                data = (xml[:at] + block + xml[at:]).encode()
            zout.writestr(item, data)
    return out.getvalue()


def _top_level_starts(xml: str) -> list[int]:
    """Where a section of the form begins, outside any table: each heading
    paragraph, or, in a form with no headings outside its tables, each table
    after the first."""
    depth, headings, tables = 0, [], []
    for tag in re.finditer(r'<w:tbl>|</w:tbl>|<w:p><w:pPr><w:pStyle w:val="Heading', xml):
        if tag.group(0) == "<w:tbl>":
            if depth == 0:
                tables.append(tag.start())
            depth += 1
        elif tag.group(0) == "</w:tbl>":
            depth -= 1
        elif depth == 0:
            headings.append(tag.start())
    return headings[1:] or tables[1:]
