"""Forms the service has never seen: other publishers' wording and layout, filled in.

``tests/data/unseen_forms/*.toml`` records, as structural facts, the questions
of real public referral and notification forms (see its README, which cites
every source).  `sources` loads them; `unseen_cases` fills each source's form
in every fill style the builders know, complete or with some asked questions
left blank, and says what the service must read (`UnseenCase.expected`, in
our own field keys) and decide (`UnseenCase.decision`).

Leave-one-source-out: `schema_without_source` removes from our schema every
alias, section alias and identifier that is a wording of the source itself,
so a source is scored only with what the service knew from the others.

Expected decisions (issue 7's rule, computed from the filled answers with our
own completeness rules):

* ``accepted``: every question our form requires is answered;
* ``incomplete``: something required is missing and every missing question is
  asked on this form (and left blank), so the service may return it;
* ``needs_review``: something required is missing that this form never asks;
  no return may go out (a person looks).
"""

from __future__ import annotations

import random
import tomllib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from intake.completeness import check_completeness
from parsers.normalise import comparable, fold_text
from parsers.schema import FieldSpec, FormSchema, OptionSpec, SectionSpec
from tests.builders import docx_builder
from tests.builders.accuracy import CLIENTS, PDF_STYLES, expected, sent_after, wrap

FOLDER = Path(__file__).resolve().parent.parent / "data" / "unseen_forms"
RENDER_TYPES = {"composite": "multiline"}
# Styles that make no sense for another publisher's form: ``other_wording`` swaps in
# our own schema's aliases, which is exactly what an unseen form must not use.
SKIPPED_STYLES = {"docx_other_wording"}
DISTRACTOR_TEXT = (
    "Dr R. Okafor, Westbrook Medical Centre",
    "St Bede's Primary School, Year 2",
    "See attached chronology",
    "Health visitor: K. Doyle (0-19 service)",
    "Known to the family support team since 2024",
    "Paternal grandmother provides regular care",
)


@dataclass(frozen=True)
class Question:
    question: str
    type: str
    maps_to: tuple[str, ...]
    compose: str = ""
    part: str = ""
    options: tuple[tuple[str, str], ...] = ()  # (label as printed, our option key or "")


@dataclass(frozen=True)
class Source:
    id: str
    name: str
    publisher: str
    era: str
    form_type: str
    title: tuple[str, ...]
    sections: tuple[tuple[str, tuple[Question, ...]], ...]

    @property
    def questions(self) -> list[Question]:
        return [q for _title, qs in self.sections for q in qs]

    def asked(self) -> set[str]:
        """Our field keys this form asks for."""
        return {key for q in self.questions for key in q.maps_to}


def sources(folder: Path = FOLDER) -> list[Source]:
    return [_source(tomllib.loads(p.read_text("utf-8"))) for p in sorted(folder.glob("*.toml"))]


def _source(data: Mapping[str, Any]) -> Source:
    meta = data["source"]
    sections = tuple(
        (
            str(section.get("title", "")),
            tuple(_question(q) for q in section.get("questions", [])),
        )
        for section in data.get("sections", [])
    )
    return Source(
        id=meta["id"],
        name=meta["name"],
        publisher=meta["publisher"],
        era=meta["era"],
        form_type=meta["form_type"],
        title=tuple(meta.get("title", [])),
        sections=sections,
    )


def _question(data: Mapping[str, Any]) -> Question:
    return Question(
        question=data["question"],
        type=data["type"],
        maps_to=tuple(data.get("maps_to", [])),
        compose=data.get("compose", ""),
        part=data.get("part", ""),
        options=tuple((o["label"], o.get("maps_to", "")) for o in data.get("options", [])),
    )


# --- leave one source out -------------------------------------------------------------------


# Sources that share a template (the README's "Folds"): held out together, or a
# leave-one-source-out figure would measure memory, not generalisation.
FOLDS = (
    {"surrey_sscb_scr_2015", "milton_keynes_mkscb_scr_2015"},
    {"manchester_mscb_scr_2017", "oldham_olscb_scr_2015"},
    {"ofsted_serious_childcare_incident", "waltham_forest_one_panel_2015"},
)


def fold_of(source: Source) -> list[Source]:
    """``source`` and the sources that share its template."""
    family = next((f for f in FOLDS if source.id in f), {source.id})
    return [s for s in sources() if s.id in family] or [source]


def schema_without_source(schema: FormSchema, source: Source) -> FormSchema:
    """``schema`` with none of the wordings of ``source`` (and of the sources that share
    its template) among its aliases, section aliases or identifiers."""
    import dataclasses

    from parsers.forms.targets import strip_brackets

    own: set[str] = set()
    for held_out in fold_of(source):
        questions = held_out.questions
        own |= {comparable(q.question) for q in questions}
        own |= {comparable(strip_brackets(q.question)) for q in questions}
        own |= {comparable(title) for title, _qs in held_out.sections}
        own |= {comparable(line) for line in held_out.title}
    own.discard("")
    lean = schema.without_wordings(own, comparable)
    sections = tuple(
        dataclasses.replace(s, aliases=tuple(a for a in s.aliases if comparable(a) not in own))
        for s in lean.sections
    )
    identifiers = tuple(i for i in lean.identifiers if comparable(i) not in own)
    return dataclasses.replace(lean, sections=sections, identifiers=identifiers or ("-",))


# --- the form as the builders draw it ----------------------------------------------------------


def render_schema(source: Source) -> FormSchema:
    """The source's form as a schema the builders can draw: its own sections and
    questions, keyed ``q1``, ``q2``..."""
    sections, fields = [], []
    n = 0
    for i, (title, questions) in enumerate(source.sections):
        key = f"s{i}"
        sections.append(SectionSpec(key=key, title=title))
        for q in questions:
            n += 1
            fields.append(_render_field(f"q{n}", key, q))
    return FormSchema(
        form_type=f"unseen_{source.id}",
        title=" – ".join(source.title[1:] or source.title) or source.name,
        identifiers=(),
        sections=tuple(sections),
        fields=tuple(fields),
        _by_key={f.key: f for f in fields},
    )


def _render_field(key: str, section: str, q: Question) -> FieldSpec:
    kind = RENDER_TYPES.get(q.type, q.type)
    options: tuple[OptionSpec, ...] = ()
    if q.type in ("choice", "checks", "yesno"):
        printed = q.options or (("Yes", "yes"), ("No", "no"))
        options = tuple(
            OptionSpec(key=f"o{i}", label=label) for i, (label, _k) in enumerate(printed)
        )
    return FieldSpec(key=key, section=section, question=q.question, type=kind, options=options)


# --- filling it in ---------------------------------------------------------------------------


@dataclass
class Filled:
    answers: dict[str, Any] = field(default_factory=dict)  # render key -> value
    values: dict[str, Any] = field(default_factory=dict)  # our key -> what the service must read


def fill(source: Source, schema: FormSchema, seed: int, blank: Sequence[str]) -> Filled:
    """The source's form filled with one consistent set of answers; the questions
    asking for any of our fields in ``blank`` are left blank."""
    rng = random.Random(f"{source.id}:{seed}")
    ours = docx_builder.random_answers(schema, seed)
    canon = {k: v for k, v in expected(schema, ours).items()}
    render = render_schema(source)
    out = Filled()
    parts: dict[str, list[str]] = {}
    for spec, q in zip(render.fields, source.questions, strict=True):
        if q.maps_to and any(k in blank for k in q.maps_to):
            continue
        if not q.maps_to:
            out.answers[spec.key] = _distractor(spec, rng)
        elif q.part:
            value = _part(q, canon, rng)
            if value:
                out.answers[spec.key] = value
                parts.setdefault(q.maps_to[0], []).append(value)
        elif q.type == "composite":
            text, given = _compose(q, canon, ours, rng)
            out.answers[spec.key] = text
            out.values.update(given)
        elif q.type in ("choice", "checks", "yesno"):
            _choose(spec, q, canon, rng, out)
        else:
            value = ours.get(q.maps_to[0])
            if isinstance(value, list):  # one of our choices, typed into a free-text cell
                field_spec = schema.field(q.maps_to[0])
                value = ", ".join(o.label for k in value if (o := field_spec.option(k)) is not None)
            if value not in (None, "", []):
                out.answers[spec.key] = value
                out.values.update({k: canon[k] for k in q.maps_to if k in canon})
    for key, lines in parts.items():
        out.values[key] = fold_text("\n".join(lines))
    return out


def _distractor(spec: FieldSpec, rng: random.Random) -> Any:
    if spec.options:
        return [rng.choice(spec.options).key]
    if spec.type == "date":
        return f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/2025"
    if spec.type == "phone":
        return docx_builder.drama_phone(rng)
    if spec.type == "email":
        return "duty.team@example.gov.uk"
    return rng.choice(DISTRACTOR_TEXT)


def _part(q: Question, canon: Mapping[str, Any], rng: random.Random) -> str:
    lines = str(canon.get(q.maps_to[0], "")).split("\n")
    if q.part == "postcode":
        return lines[-1]
    return "\n".join(lines[:-1])


def _compose(
    q: Question, canon: Mapping[str, Any], ours: Mapping[str, Any], rng: random.Random
) -> tuple[str, dict[str, Any]]:
    """The text a person writes in one box that asks for several of our fields,
    and what each of those fields must read."""
    keys = [k for k in q.maps_to if canon.get(k) not in (None, "", [])]
    if q.compose == "full_name" and len(keys) == 2:
        forenames, surname = (canon[k] for k in keys)
        if random.Random(str(canon.get(keys[1]))).random() < 0.5:
            surname = surname.upper()  # "Jane SMITH", as many forms ask (the same each time)
        return f"{forenames} {surname}", {keys[0]: forenames, keys[1]: surname}
    if q.compose == "date_time" and keys:
        day = str(ours[keys[0]])
        text = rng.choice((f"{day} at 14:30", f"{day} 09:15", f"{day}, approx. 22:00"))
        return text, {keys[0]: canon[keys[0]]}
    if q.compose == "dob_age" and keys:
        return str(ours[keys[0]]), {keys[0]: canon[keys[0]]}
    if q.compose in ("address_postcode",) and keys:
        return str(canon[keys[0]]), {keys[0]: canon[keys[0]]}
    values = [str(canon[k]) for k in keys]
    if q.compose in ("contact", "name_contact") and "address" in comparable(q.question):
        values.append("Orford Hub, Warrington WA2 8LW")
    joiner = rng.choice((", ", "\n"))
    text = joiner.join(values)
    if len(q.maps_to) == 1 and q.compose not in ("contact",):
        # One of our fields in a box that asks for more (agency and title, where we
        # keep only the title): the box as written is that field's answer.
        extra = "Warrington Borough Council" if "agency" in comparable(q.question) else ""
        text = joiner.join([*values, extra]) if extra else text
        return text, {q.maps_to[0]: fold_text(text)} if keys else {}
    return text, {k: canon[k] for k in keys}


def _choose(
    spec: FieldSpec, q: Question, canon: Mapping[str, Any], rng: random.Random, out: Filled
) -> None:
    printed = q.options or (("Yes", "yes"), ("No", "no"))
    key = q.maps_to[0]
    want = canon.get(key)
    wanted = set(want if isinstance(want, list) else [want] if want else [])
    picks = [f"o{i}" for i, (_label, ours) in enumerate(printed) if ours and ours in wanted]
    if not picks:
        mapped = [i for i, (_label, ours) in enumerate(printed) if ours]
        if not mapped:
            return
        picks = [f"o{rng.choice(mapped)}"]
    chosen = {printed[int(p[1:])][1] for p in picks}
    out.answers[spec.key] = picks
    if q.type == "checks":
        out.values[key] = sorted(chosen)
    else:
        out.values[key] = next(iter(chosen))


# --- cases -----------------------------------------------------------------------------------


@dataclass
class UnseenCase:
    source: str
    era: str
    form_type: str
    style: str
    client: str
    seed: int
    raw: bytes
    expected: dict[str, Any]
    decision: str
    complete: bool
    asked: set[str]


def styles() -> list[str]:
    from tests.builders.accuracy import styles as all_styles

    return [s for s in all_styles() if s not in SKIPPED_STYLES]


def unseen_cases(
    schemas: Mapping[str, FormSchema],
    per_style: int,
    first_seed: int = 0,
    only: Sequence[str] = (),
    style_names: Sequence[str] = (),
    our_mx: str | None = None,
) -> Iterator[UnseenCase]:
    """Each source's form, filled ``per_style`` times in each style."""
    for source in sources():
        if only and source.id not in only:
            continue
        schema = schemas[source.form_type]
        for style in style_names or styles():
            for n in range(per_style):
                yield _case(source, schema, style, first_seed + n, our_mx)


def _case(
    source: Source, schema: FormSchema, style: str, seed: int, our_mx: str | None
) -> UnseenCase:
    rng = random.Random(f"{source.id}:{style}:{seed}")
    askable = sorted(k for k in source.asked() if schema.field(k).required)
    blank = (
        rng.sample(askable, k=min(len(askable), rng.randint(1, 2))) if rng.random() < 0.5 else []
    )
    filled = fill(source, schema, seed, blank)
    render = render_schema(source)
    name, data = _render(render, filled.answers, style, seed, source.publisher)
    client = CLIENTS[(seed + len(style)) % len(CLIENTS)]
    sent = sent_after({k: v for k, v in filled.answers.items() if isinstance(v, str)})
    decision = expected_decision(schema, filled.values, source, sent.date())
    return UnseenCase(
        source=source.id,
        era=source.era,
        form_type=source.form_type,
        style=style,
        client=client,
        seed=seed,
        raw=wrap([(name, data)], client, sent, our_mx),
        expected=filled.values,
        decision=decision,
        complete=decision == "accepted",
        asked=source.asked(),
    )


def _render(
    render: FormSchema, answers: Mapping[str, Any], style: str, seed: int, banner: str
) -> tuple[str, bytes]:
    if style.startswith("docx_"):
        data = docx_builder.filled_docx(
            render, answers, style.removeprefix("docx_"), seed=seed, banner=banner
        )
        return "Referral form.docx", data
    build = PDF_STYLES[style]
    return "Referral form.pdf", build(render, answers, banner)


def expected_decision(
    schema: FormSchema, values: Mapping[str, Any], source: Source, received: date
) -> str:
    """What the service must decide for a form reading ``values`` (see the docstring)."""
    result = check_completeness(schema, values, received)
    if result.complete:
        return "accepted"
    asked = source.asked()
    if all(key in asked for key in result.missing) and not result.invalid:
        return "incomplete"
    return "needs_review"


# --- our own form in wordings held out ----------------------------------------------------------

# Styles whose files carry our field keys (content-control tags, AcroForm names):
# they would give the field away whatever the wording.
KEYED_STYLES = {"docx_content_controls", "pdf_acroform", "docx_other_wording"}


def heldout_styles() -> list[str]:
    return [s for s in styles() if s not in KEYED_STYLES]


def heldout_cases(
    schemas: Mapping[str, FormSchema],
    per_style: int,
    first_seed: int = 0,
    style_names: Sequence[str] = (),
    our_mx: str | None = None,
) -> Iterator[tuple[UnseenCase, FormSchema]]:
    """Our own forms printed with one of each question's other wordings, read with
    that wording removed from what the reader knows (a wording it has never seen),
    with the reading schema beside each case."""
    from tests.builders.accuracy import blank_some

    for style in style_names or heldout_styles():
        for n in range(per_style):
            seed = first_seed + n
            rng = random.Random(f"heldout:{style}:{seed}")
            schema = schemas[rng.choice(sorted(schemas))]
            printed, lean = _held_out(schema, rng)
            answers, complete = blank_some(schema, docx_builder.random_answers(schema, seed), rng)
            name, data = _render(
                printed, answers, style, seed, "Mersey Vale Safeguarding Partnership"
            )
            client = CLIENTS[(seed + len(style)) % len(CLIENTS)]
            case = UnseenCase(
                source=f"heldout_{schema.form_type}", era="heldout", form_type=schema.form_type,
                style=style, client=client, seed=seed,
                raw=wrap([(name, data)], client, sent_after(answers), our_mx),
                expected=expected(schema, answers),
                decision="accepted" if complete else "incomplete", complete=complete,
                asked={f.key for f in schema.fields},
            )  # fmt: skip
            yield case, lean


def _held_out(schema: FormSchema, rng: random.Random) -> tuple[FormSchema, FormSchema]:
    """(the form as printed with other wordings, the schema without those wordings)."""
    import dataclasses

    fields, used = [], set()
    for spec in schema.fields:
        if spec.aliases:
            wording = rng.choice(spec.aliases)
            used.add(comparable(wording))
            spec = dataclasses.replace(spec, question=wording)
        fields.append(spec)
    sections = []
    for section in schema.sections:
        if section.aliases:
            title = rng.choice(section.aliases)
            used.add(comparable(title))
            section = dataclasses.replace(section, title=title)
        sections.append(section)
    printed = dataclasses.replace(
        schema, fields=tuple(fields), sections=tuple(sections), _by_key={f.key: f for f in fields}
    )
    lean = schema.without_wordings(used, comparable)
    lean = dataclasses.replace(
        lean,
        sections=tuple(
            dataclasses.replace(s, aliases=tuple(a for a in s.aliases if comparable(a) not in used))
            for s in lean.sections
        ),
    )
    return printed, lean
