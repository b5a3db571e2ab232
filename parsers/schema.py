"""Form schemas: what each form asks, loaded from ``config/forms/*.toml``.

A schema is the contract of one form type (``../shared/forms/README.md``):
its sections, its questions in the form's order, each question's type,
options and requirement.  The files are written by administrators, so every
mistake is reported as `SchemaError` naming the file, the key and the fault.

Example::

    schemas = load_schemas(Path("config/forms"))
    schemas["cspr_referral"].field("child_dob").type  # -> "date"
"""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from parsers.lexicon import EMPTY, LEXICON_FILE, Lexicon, LexiconError, load_lexicon

FIELD_TYPES = ("text", "multiline", "date", "email", "phone", "choice", "checks", "yesno")
YESNO_OPTIONS = (("yes", "Yes"), ("no", "No"))
# How a composite question's one answer is shared among its fields (parsers.forms).
SPLITS = ("full_name", "by_type", "append")


class SchemaError(ValueError):
    """A form schema file is wrong; the message names file, key and fault."""

    def __init__(self, file: str, key: str, message: str) -> None:
        super().__init__(f"{file}: {key}: {message}")
        self.file, self.key, self.message = file, key, message


@dataclass(frozen=True)
class OptionSpec:
    key: str
    label: str
    aliases: tuple[str, ...] = ()
    # The words of the forms (`load_schemas` sets the folder's): a form's option is
    # also compared with ours in the lexicon's words ("Death of the child" and
    # "The child has died" say "died" alike).  Not part of what the option is.
    lexicon: Lexicon = field(default=EMPTY, compare=False, repr=False)

    @property
    def wordings(self) -> tuple[str, ...]:
        return (self.label, *self.aliases)


@dataclass(frozen=True)
class RequiredIf:
    field: str
    equals: str


@dataclass(frozen=True)
class FieldSpec:
    key: str
    section: str  # key of a SectionSpec
    question: str  # as printed on the partnership's form
    type: str
    aliases: tuple[str, ...] = ()
    options: tuple[OptionSpec, ...] = ()
    required: bool = False
    required_unless: str | None = None
    required_if: RequiredIf | None = None
    min_ticks: int = 0
    not_before: tuple[str, ...] = ()
    not_after: tuple[str, ...] = ()
    checks: tuple[str, ...] = ()

    @property
    def wordings(self) -> tuple[str, ...]:
        return (self.question, *self.aliases)

    def option(self, key: str) -> OptionSpec | None:
        return next((o for o in self.options if o.key == key), None)


@dataclass(frozen=True)
class SectionSpec:
    key: str
    title: str  # as printed, without its number
    aliases: tuple[str, ...] = ()

    @property
    def wordings(self) -> tuple[str, ...]:
        return (self.title, *self.aliases)


@dataclass(frozen=True)
class CompositeSpec:
    """One printed question that holds several fields' answers ("Name of child").

    ``split`` says how its answer is shared: ``full_name`` (forenames, then
    surname), ``by_type`` (an email, a telephone number and a date go to the
    fields of those types, the other lines or phrases to the text fields in
    order), ``append`` (added as a further line to its one field: a separate
    "Postcode" row for an address).
    """

    key: str
    section: str
    question: str
    fields: tuple[str, ...]
    split: str
    aliases: tuple[str, ...] = ()

    @property
    def wordings(self) -> tuple[str, ...]:
        return (self.question, *self.aliases)


@dataclass(frozen=True)
class FormSchema:
    form_type: str
    title: str
    identifiers: tuple[str, ...]  # phrases whose presence says "this is the form"
    sections: tuple[SectionSpec, ...]
    fields: tuple[FieldSpec, ...]
    source: str = ""  # the file it came from
    short_title: str = ""  # what lists call it ("CSPR referral"); the title when ""
    # Printed instructions that are never part of an answer ("Please send the
    # completed form by secure email to ..."): a line starting so ends an answer.
    boilerplate: tuple[str, ...] = ()
    composites: tuple[CompositeSpec, ...] = ()
    lexicon: Lexicon = field(default=EMPTY, compare=False, repr=False)
    _by_key: Mapping[str, FieldSpec] = field(default_factory=dict, compare=False, repr=False)

    def field(self, key: str) -> FieldSpec:
        """The field with ``key``; KeyError when the form has none."""
        return self._by_key[key]

    def section(self, key: str) -> SectionSpec:
        return next(s for s in self.sections if s.key == key)

    def order(self, key: str) -> int:
        """Position of a field in the form, for listing problems in form order."""
        return next(i for i, f in enumerate(self.fields) if f.key == key)

    def with_wordings(self, extra: Mapping[str, Sequence[str]]) -> FormSchema:
        """This schema with more wordings for some fields (``{field key: [wording]}``),
        as the team taught it; unknown keys are ignored."""
        fields = tuple(
            dataclasses.replace(f, aliases=(*f.aliases, *extra[f.key])) if extra.get(f.key) else f
            for f in self.fields
        )
        return dataclasses.replace(self, fields=fields, _by_key={f.key: f for f in fields})

    def without_wordings(self, drop: set[str], comparable_form: Any) -> FormSchema:
        """This schema without the aliases whose comparable form is in ``drop``
        (leave-one-source-out measurement: a source's own wordings removed)."""
        fields = tuple(
            dataclasses.replace(
                f, aliases=tuple(a for a in f.aliases if comparable_form(a) not in drop)
            )
            for f in self.fields
        )
        composites = tuple(
            dataclasses.replace(
                c, aliases=tuple(a for a in c.aliases if comparable_form(a) not in drop)
            )
            for c in self.composites
        )
        return dataclasses.replace(
            self, fields=fields, composites=composites, _by_key={f.key: f for f in fields}
        )


def load_schemas(folder: Path) -> dict[str, FormSchema]:
    """Every ``*.toml`` in ``folder``, by form type.  Raises `SchemaError`."""
    schemas: dict[str, FormSchema] = {}
    files = sorted(p for p in folder.glob("*.toml") if p.name != LEXICON_FILE)
    if not files:
        raise SchemaError(str(folder), "-", "no form schemas (*.toml) in this folder")
    try:
        lexicon = load_lexicon(folder)
    except LexiconError as exc:  # one kind of error for the administrator's form files
        raise SchemaError(exc.file, exc.key, exc.message) from exc
    for path in files:
        schema = with_lexicon(load_schema(path), lexicon)
        if schema.form_type in schemas:
            raise SchemaError(str(path), "form_type", f"{schema.form_type!r} is defined twice")
        schemas[schema.form_type] = schema
    return schemas


def with_lexicon(schema: FormSchema, lexicon: Lexicon) -> FormSchema:
    """``schema`` read with ``lexicon``: its questions' and its options' wordings."""
    fields = tuple(
        dataclasses.replace(
            f, options=tuple(dataclasses.replace(o, lexicon=lexicon) for o in f.options)
        )
        if f.options
        else f
        for f in schema.fields
    )
    return dataclasses.replace(
        schema, lexicon=lexicon, fields=fields, _by_key={f.key: f for f in fields}
    )


def load_schema(path: Path) -> FormSchema:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise SchemaError(str(path), "-", f"cannot be read ({exc.__class__.__name__})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise SchemaError(str(path), "-", f"is not valid TOML ({exc})") from exc
    return _build_schema(str(path), data)


def _build_schema(file: str, data: dict[str, Any]) -> FormSchema:
    _only(
        file,
        "",
        data,
        {
            "form_type",
            "title",
            "short_title",
            "identifiers",
            "boilerplate",
            "sections",
            "fields",
            "composites",
        },
    )
    sections = tuple(
        _build_section(file, i, s) for i, s in enumerate(_list(file, "sections", data))
    )
    section_keys = {s.key for s in sections}
    fields = tuple(
        _build_field(file, i, f, section_keys) for i, f in enumerate(_list(file, "fields", data))
    )
    field_keys = {f.key: f for f in fields}
    composites = tuple(
        _build_composite(file, i, c, section_keys, field_keys)
        for i, c in enumerate(data.get("composites", []))
    )
    schema = FormSchema(
        form_type=_str(file, "form_type", data),
        title=_str(file, "title", data),
        short_title=str(data.get("short_title", "")).strip(),
        identifiers=tuple(_strs(file, "identifiers", data)),
        boilerplate=tuple(_strs(file, "boilerplate", data)),
        sections=sections,
        fields=fields,
        source=file,
        composites=composites,
        _by_key={f.key: f for f in fields},
    )
    _check_references(file, schema)
    return schema


def _build_section(file: str, index: int, data: Any) -> SectionSpec:
    where = f"sections[{index}]"
    if not isinstance(data, dict):
        raise SchemaError(file, where, "must be a table")
    _only(file, where, data, {"key", "title", "aliases"})
    return SectionSpec(
        key=_str(file, f"{where}.key", data, "key"),
        title=_str(file, f"{where}.title", data, "title"),
        aliases=tuple(_strs(file, f"{where}.aliases", data, "aliases")),
    )


_FIELD_KEYS = {
    "key", "section", "question", "type", "aliases", "options", "required",
    "required_unless", "required_if", "min_ticks", "not_before", "not_after", "checks",
}  # fmt: skip


def _build_field(file: str, index: int, data: Any, sections: set[str]) -> FieldSpec:
    where = f"fields[{index}]"
    if not isinstance(data, dict):
        raise SchemaError(file, where, "must be a table")
    _only(file, where, data, _FIELD_KEYS)
    ftype = _str(file, f"{where}.type", data, "type")
    if ftype not in FIELD_TYPES:
        raise SchemaError(file, f"{where}.type", f"must be one of {', '.join(FIELD_TYPES)}")
    section = _str(file, f"{where}.section", data, "section")
    if section not in sections:
        raise SchemaError(file, f"{where}.section", f"no section with key {section!r}")
    return FieldSpec(
        key=_str(file, f"{where}.key", data, "key"),
        section=section,
        question=_str(file, f"{where}.question", data, "question"),
        type=ftype,
        aliases=tuple(_strs(file, f"{where}.aliases", data, "aliases")),
        options=_build_options(file, where, ftype, data.get("options")),
        required=_bool(file, f"{where}.required", data.get("required", False)),
        required_unless=data.get("required_unless"),
        required_if=_build_required_if(file, where, data.get("required_if")),
        min_ticks=int(data.get("min_ticks", 0)),
        not_before=tuple(_strs(file, f"{where}.not_before", data, "not_before")),
        not_after=tuple(_strs(file, f"{where}.not_after", data, "not_after")),
        checks=tuple(_strs(file, f"{where}.checks", data, "checks")),
    )


def _build_composite(
    file: str, index: int, data: Any, sections: set[str], fields: Mapping[str, FieldSpec]
) -> CompositeSpec:
    where = f"composites[{index}]"
    if not isinstance(data, dict):
        raise SchemaError(file, where, "must be a table")
    _only(file, where, data, {"key", "section", "question", "aliases", "fields", "split"})
    section = _str(file, f"{where}.section", data, "section")
    if section not in sections:
        raise SchemaError(file, f"{where}.section", f"no section with key {section!r}")
    split = _str(file, f"{where}.split", data, "split")
    if split not in SPLITS:
        raise SchemaError(file, f"{where}.split", f"must be one of {', '.join(SPLITS)}")
    keys = _strs(file, f"{where}.fields", data, "fields")
    for key in keys:
        if key not in fields:
            raise SchemaError(file, f"{where}.fields", f"no field with key {key!r}")
    wanted = 1 if split == "append" else 2
    if len(keys) < wanted or (split == "append" and len(keys) != 1):
        raise SchemaError(
            file,
            f"{where}.fields",
            f"a {split} composite names {'one' if wanted == 1 else 'two or more'} field(s)",
        )
    return CompositeSpec(
        key=_str(file, f"{where}.key", data, "key"),
        section=section,
        question=_str(file, f"{where}.question", data, "question"),
        fields=tuple(keys),
        split=split,
        aliases=tuple(_strs(file, f"{where}.aliases", data, "aliases")),
    )


def _build_options(file: str, where: str, ftype: str, data: Any) -> tuple[OptionSpec, ...]:
    if ftype == "yesno" and data is None:
        return tuple(OptionSpec(key=k, label=label) for k, label in YESNO_OPTIONS)
    if ftype not in ("choice", "checks", "yesno"):
        if data is not None:
            raise SchemaError(file, f"{where}.options", f"a {ftype} question has no options")
        return ()
    if not isinstance(data, list) or not data:
        raise SchemaError(file, f"{where}.options", "must be a non-empty list of options")
    options = []
    for i, item in enumerate(data):
        at = f"{where}.options[{i}]"
        if not isinstance(item, dict):
            raise SchemaError(file, at, "must be a table with key and label")
        _only(file, at, item, {"key", "label", "aliases"})
        options.append(
            OptionSpec(
                key=_str(file, f"{at}.key", item, "key"),
                label=_str(file, f"{at}.label", item, "label"),
                aliases=tuple(_strs(file, f"{at}.aliases", item, "aliases")),
            )
        )
    return tuple(options)


def _build_required_if(file: str, where: str, data: Any) -> RequiredIf | None:
    if data is None:
        return None
    if not isinstance(data, dict) or set(data) != {"field", "equals"}:
        raise SchemaError(file, f"{where}.required_if", "must be {field = ..., equals = ...}")
    return RequiredIf(field=str(data["field"]), equals=str(data["equals"]))


def _check_references(file: str, schema: FormSchema) -> None:
    keys = [f.key for f in schema.fields]
    if len(set(keys)) != len(keys):
        dupes = sorted({k for k in keys if keys.count(k) > 1})
        raise SchemaError(file, "fields", f"keys used twice: {', '.join(dupes)}")
    for f in schema.fields:
        others = [*f.not_before, *f.not_after]
        if f.required_unless:
            others.append(f.required_unless)
        if f.required_if:
            others.append(f.required_if.field)
        for other in others:
            if other not in schema._by_key:
                raise SchemaError(file, f"fields.{f.key}", f"refers to unknown field {other!r}")


def _only(file: str, where: str, data: dict[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        prefix = f"{where}." if where else ""
        raise SchemaError(
            file, prefix + unknown[0], f"unknown key; allowed: {', '.join(sorted(allowed))}"
        )


def _str(file: str, where: str, data: dict[str, Any], key: str | None = None) -> str:
    value = data.get(key or where.rsplit(".", 1)[-1])
    if not isinstance(value, str) or not value.strip():
        raise SchemaError(file, where, "must be a non-empty string")
    return value.strip()


def _strs(file: str, where: str, data: dict[str, Any], key: str | None = None) -> list[str]:
    value = data.get(key or where.rsplit(".", 1)[-1], [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise SchemaError(file, where, "must be a list of strings")
    return [v.strip() for v in value if v.strip()]


def _list(file: str, where: str, data: dict[str, Any]) -> list[Any]:
    value = data.get(where)
    if not isinstance(value, list) or not value:
        raise SchemaError(file, where, "must be a non-empty list")
    return value


def _bool(file: str, where: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise SchemaError(file, where, "must be true or false")
    return value
