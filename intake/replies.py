"""Replies to referrers: rendered from the administrators' templates, built as email.

Pure: no Django, no database, no network.  Templates live in
``config.replies.templates_dir`` (``config/replies/`` by default), one set per
kind of reply::

    <kind>.subject.txt   the neutral subject (used when the referrer's own cannot be)
    <kind>.txt           the plain-text body
    <kind>.html          the HTML body (autoescaped)

Kinds: ``incomplete_return``, ``acknowledgement``, ``unreadable_attachment``.
Templates run in Jinja2's sandbox with ``StrictUndefined``, so a typo in a
template fails loudly at render time instead of sending a blank.

A reply carries no personal data beyond what the referrer sent us, and never
a child's name in its subject (subjects show in notification pop-ups, on lock
screens and in mail logs): where the referrer's subject names the child, a
neutral subject is used instead, and every subject is built from an
allow-list of characters (`SUBJECT_CHARACTERS`), so no look-alike letter,
soft hyphen or zero-width space carries a name through.  Replies go only to a
sender our own mail server authenticated (`reply_recipient`); a ``Reply-To`` is
honoured only when that sender is inside ``config.service.trusted_domains`` and
the address is in the same organisation, so a forged header cannot point our
mail at a third party (issue 8).  Every reply is marked ``Auto-Submitted:
auto-replied`` (RFC 3834 §5), ``X-Auto-Response-Suppress: All`` (Exchange) and
``X-Intake-Reply`` (ours: it is recognised when it comes back).
"""

from __future__ import annotations

import dataclasses
import email.message
import email.policy
import email.utils
import functools
import re
import unicodedata
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jinja2 import FileSystemLoader, StrictUndefined, select_autoescape
from jinja2.sandbox import SandboxedEnvironment

from intake.automatic import OUR_REPLY_HEADER, decoded_subject
from intake.mailpolicy import OUR_POLICY
from intake.vocabulary import REFERRER_REPLIES
from parsers.schema import FormSchema

if TYPE_CHECKING:
    from intake.authentication import Verdict
    from intake.config import IntakeConfig
    from parsers.mail import MailResult

KINDS = tuple(str(kind) for kind in REFERRER_REPLIES)
ACCEPTED_FORMATS = ("Word (.docx)", "PDF")
MAX_REFERENCES = 10  # RFC 5322 §3.6.4 allows trimming a long References chain

# What a referrer can do about each reason code of parsers.errors.Reason.
UNREADABLE_REASONS: Mapping[str, str] = {
    "encrypted": "it is protected by a password, so we cannot open it",
    "corrupt": "the file is damaged or incomplete (it may have been cut short when it was sent)",
    "unsupported_format": "we cannot read this type of file",
    "no_text_layer": "it is a scanned picture of the form, so there is no text we can read",
    "too_large": "it is too large for us to open",
    "unpacked_too_large": "it is too large for us to open once unpacked",
    "compression_ratio": "it is packed in a way we do not open for safety reasons",
    "forbidden_xml": "it contains content we do not open for safety reasons",
    "too_many_pages": "it has too many pages for us to read",
    "too_deep": "it is packed inside too many other files",
    "too_many_parts": "it has too many parts for us to read",
    "timeout": "it took too long to read",
    "memory": "it is too large for us to read",
    "no_form": "it does not contain our referral form",
}


@dataclass(frozen=True)
class QuestionProblem:
    """One question to put right: as printed, where it stands, and what is wrong."""

    key: str
    question: str
    problem: str  # "not answered", or the reason an answer cannot be used


@dataclass(frozen=True)
class SectionProblems:
    number: int
    title: str
    questions: tuple[QuestionProblem, ...]


@dataclass(frozen=True)
class UnreadableAttachment:
    filename: str
    reason: str  # plain words (see `unreadable_reason`)


@dataclass
class ReplyContext:
    """Everything a reply template may use.  Nothing here is logged."""

    service_name: str
    original_subject: str = ""
    reference: str | None = None
    form_title: str | None = None
    sections: list[SectionProblems] = field(default_factory=list)  # incomplete_return
    rapid_review_due: date | None = None  # acknowledgement
    unreadable: list[UnreadableAttachment] = field(default_factory=list)
    accepted_formats: Sequence[str] = ACCEPTED_FORMATS
    attached_form: str | None = None  # filename of the form sent back, if any


@dataclass(frozen=True)
class RenderedReply:
    subject: str  # the neutral subject, before threading (see `reply_subject`)
    text: str
    html: str


@dataclass(frozen=True)
class FormAttachment:
    filename: str
    content_type: str
    data: bytes


def problems_by_section(
    schema: FormSchema,
    missing: Sequence[str],
    invalid: Sequence[Mapping[str, str]],
    asked_as: Mapping[str, str] | None = None,
) -> list[SectionProblems]:
    """Missing and invalid answers grouped by section, in the form's order.

    ``invalid`` is the outcome's ``[{"field", "reason"}]``; a reason that
    starts with the question ("Date of birth: ...") loses that prefix here,
    because the template prints the question beside it.  ``asked_as`` holds the
    questions as the referrer's own form words them, where that is not ours
    (another partnership's form): those words are quoted instead, once each.
    """
    asked_as = asked_as or {}
    reasons = {item["field"]: item["reason"] for item in invalid}
    wanted = set(missing) | set(reasons)
    either = _either_of(schema, missing)
    sections: list[SectionProblems] = []
    for number, section in enumerate(schema.sections, start=1):
        questions = tuple(
            QuestionProblem(
                key=spec.key,
                question=either.get(spec.key, spec.question),
                problem=_strip_question(spec.question, reasons[spec.key])
                if spec.key in reasons
                else "not answered",
            )
            for spec in schema.fields
            if spec.section == section.key
            and spec.key in wanted
            and not (spec.required_unless in either and spec.key not in reasons)
        )
        questions = _theirs(questions, asked_as)
        if questions:
            sections.append(SectionProblems(number, section.title, questions))
    return sections


def _theirs(
    questions: tuple[QuestionProblem, ...], asked_as: Mapping[str, str]
) -> tuple[QuestionProblem, ...]:
    """The questions as the referrer's form prints them, each printed question once
    ("Name of child" for both forename(s) and surname)."""
    out: list[QuestionProblem] = []
    seen: set[str] = set()
    for problem in questions:
        printed = asked_as.get(problem.key)
        if printed is None:
            out.append(problem)
        elif printed not in seen:
            seen.add(printed)
            out.append(dataclasses.replace(problem, question=printed))
    return tuple(out)


def _either_of(schema: FormSchema, missing: Sequence[str]) -> dict[str, str]:
    """Pairs where either answer will do, both missing, as one item (issue 12): the
    first question's key -> "Date of birth, or the age if it is not known"."""
    either: dict[str, str] = {}
    for spec in schema.fields:
        other = spec.required_unless
        if other and spec.key in missing and other in missing and other not in either:
            alternative = schema.field(other).question.split(" (")[0].lower()
            either[spec.key] = f"{spec.question}, or the {alternative} if it is not known"
    return either


def _strip_question(question: str, reason: str) -> str:
    prefix = f"{question}:"
    return reason[len(prefix) :].strip() if reason.startswith(prefix) else reason


def unreadable_reason(code: str) -> str:
    """Plain words for a `parsers.errors.Reason` code."""
    return UNREADABLE_REASONS.get(code, "we could not read it")


def template_environment(templates_dir: str | Path) -> SandboxedEnvironment:
    """The sandboxed Jinja2 environment the replies are rendered in."""
    return _environment(templates_dir)


def _environment(templates_dir: str | Path) -> SandboxedEnvironment:
    env = SandboxedEnvironment(
        loader=FileSystemLoader(str(templates_dir)),
        undefined=StrictUndefined,
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["long_date"] = long_date
    return env


@functools.lru_cache(maxsize=8)
def _shared_environment(templates_dir: str) -> SandboxedEnvironment:
    """One environment per folder, so each template is compiled once, not once a
    reply (issue 10); Jinja2 still reloads a template whose file an administrator
    changed (``auto_reload``, on by default, checks its modification time)."""
    return _environment(templates_dir)


def long_date(day: date) -> str:
    """``Friday 20 February 2026``: a date no reader can misread."""
    return f"{day:%A} {day.day} {day:%B %Y}"


def render_reply(kind: str, context: ReplyContext, config: IntakeConfig) -> RenderedReply:
    """Render the subject, text and HTML of one reply.

    Raises ValueError for an unknown kind, and Jinja2's errors
    (``TemplateNotFound``, ``UndefinedError``, ``SecurityError``) for a
    broken template: the outbox row is not written and the team sees why.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown reply kind {kind!r}")
    env = _shared_environment(str(config.replies.templates_dir))
    values = {"reply": context, "kind": kind}
    subject = env.get_template(f"{kind}.subject.txt").render(values)
    return RenderedReply(
        subject=" ".join(subject.split()),
        text=env.get_template(f"{kind}.txt").render(values),
        html=env.get_template(f"{kind}.html").render(values),
    )


def reply_recipient(mail: MailResult, verdict: Verdict, config: IntakeConfig) -> str | None:
    """Where a reply to ``mail`` (a `parsers.mail.MailResult`) goes, or None for nowhere.

    ``verdict`` is our mail server's (`intake.authentication`).  A sender it
    failed gets nothing.  A sender it neither proved nor failed is answered at
    its From address only, when ``rules.answer_unproven_senders`` allows (and
    `intake.reply_queue` never attaches the form to such a reply): a forged
    address gets a receipt with no child's data, never our mail redirected
    to a third party (issue 8).  A ``Reply-To`` is honoured only when the
    sender is proven and in ``config.service.trusted_domains`` and the reply
    address is in the same organisation (its domain aligned with the
    sender's); never one of our own addresses.
    """
    from intake.assess import held_for_its_sender
    from intake.authentication import aligned
    from intake.automatic import is_our_address

    sender = mail.from_addr
    if held_for_its_sender(verdict, config) or not sender or "@" not in sender:
        return None
    ours = config.service.our_addresses
    if not verdict.authenticated:
        return None if is_our_address(sender, ours) else str(sender)
    reply_to = [a for a in mail.reply_to if "@" in a]
    if len(reply_to) == 1 and not is_our_address(reply_to[0], ours):
        wanted = reply_to[0]
        if _is_trusted(sender, config.service.trusted_domains) and aligned(
            _domain_of(wanted), _domain_of(sender)
        ):
            return str(wanted)
    return None if is_our_address(sender, ours) else str(sender)


def _domain_of(address: str) -> str:
    return address.rpartition("@")[2].strip().lower().rstrip(".")


def _is_trusted(address: str, trusted_domains: Sequence[str]) -> bool:
    domain = _domain_of(address)
    for trusted in trusted_domains:
        trusted = trusted.strip().lower().lstrip("@").rstrip(".")
        if trusted and (domain == trusted or domain.endswith("." + trusted)):
            return True
    return False


def new_message_id(domain: str, prefix: str = "wsp") -> str:
    """A fresh Message-ID of ours: ``<wsp-<32 hex>@domain>`` (see `intake.automatic`)."""
    return f"<{prefix.lower()}-{uuid.uuid4().hex}@{domain}>"


def child_names(values: Mapping[str, Any]) -> list[str]:
    """The child's names as written on the form (forenames, surname, other names)."""
    keys = ("child_forenames", "child_surname", "child_other_names")
    return [str(values[k]) for k in keys if isinstance(values.get(k), str) and values[k].strip()]


def fold_accents(text: str) -> str:
    """``text`` in lower case without accents: "Zoë" -> "zoe".

    One folding for every comparison of names (the subject check here and
    `intake.matching.child_key`), so a name is the same name however the
    referrer accented or cased it.
    """
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


# Anything that is not a letter or digit separates words; "_" too, because an
# RFC 2047 Q-encoded word writes its spaces as "_" ("Zoe_Smith").
_WORD_BREAK = re.compile(r"[\W_]+")


def _words(text: str) -> list[str]:
    return [w for w in _WORD_BREAK.split(fold_accents(text)) if w]


def names_in(subject: str, names: Sequence[str]) -> bool:
    """True when any name, or any part of a name of 2+ letters, appears as a word.

    Case, accents and punctuation are ignored on both sides, so "Zoë" is
    found in "Referral for ZOE" and "Smith" in "zoe_smith".
    """
    subject_words = _words(subject)
    found = set(subject_words)
    padded = f" {' '.join(subject_words)} "
    for name in names:
        name_words = _words(name)
        if not name_words:
            continue
        if f" {' '.join(name_words)} " in padded:  # the whole name, initials included
            return True
        if any(len(w) >= 2 and w in found for w in name_words):
            return True
    return False


def _undecoded(subject: str) -> bool:
    """True when part of the subject could not be decoded, so we cannot read it for names.

    An encoded word left as written (``=?x-bogus?q?Zoe_Smith?=``: an unknown
    charset) or bytes replaced by U+FFFD (raw 8-bit or undecodable text) may
    hide a name that `names_in` cannot see.
    """
    return "=?" in subject or "\ufffd" in subject


# The only characters a subject of ours may carry (issue 8): a name can hide in
# accents, look-alike letters, soft hyphens or zero-width spaces, and none of
# those is in here.  A referrer's subject with anything else is not reused.
SUBJECT_CHARACTERS = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,:;()[]/&'-_#!?"
)
MAX_SUBJECT = 200


def allowed_subject(text: str) -> str:
    """``text`` with every character outside `SUBJECT_CHARACTERS` removed, spaces folded."""
    kept = "".join(c if c in SUBJECT_CHARACTERS else " " for c in text)
    return " ".join(kept.split())[:MAX_SUBJECT]


def _names_hidden(subject: str, names: Sequence[str]) -> bool:
    """True when a name is split into pieces ("S.m.i.t.h", "Zo e", "Smi-th").

    Consecutive pieces of the subject that together spell a name word are
    that name; a name inside a longer word ("Lee" in "Leeds") is not.
    """
    pieces = _words(subject)
    wanted = {w for name in names for w in _words(name) if len(w) >= 2}
    for start in range(len(pieces)):
        joined = pieces[start]
        for piece in pieces[start + 1 : start + 40]:
            joined += piece
            if joined in wanted:
                return True
            if len(joined) > 64:
                break
    return False


def reply_subject(
    original_subject: str, neutral: str, reference: str | None, names: Sequence[str]
) -> str:
    """``Re: <original> [WSP-2026-0007]``, or the neutral subject with the reference.

    The referrer's subject is kept only when we know the child's names, none
    of them is in it (as a word, or with its letters run together), and every
    character of it is in `SUBJECT_CHARACTERS`: with no form read (an
    unreadable attachment, a form without names) we cannot tell, so the
    neutral subject is used; the same when part of the subject could not be
    decoded.  Whatever is chosen, only allowed characters reach the subject.
    """
    subject = " ".join(original_subject.split())
    if (
        not subject
        or not any(n.strip() for n in names)
        or _undecoded(subject)
        or any(c not in SUBJECT_CHARACTERS for c in subject)
        or len(subject) > MAX_SUBJECT
        or names_in(subject, names)
        or _names_hidden(subject, names)
    ):
        subject = neutral
    elif not re.match(r"^re\s*:", subject, re.IGNORECASE):
        subject = f"Re: {subject}"
    if reference and reference not in subject:
        subject = f"{subject} [{reference}]"
    return allowed_subject(subject) or "Your referral"


# A msg-id as we repeat it (RFC 5322 3.6.4): one token in angle brackets, of a
# sane length; anything else in the sender's headers is not copied into ours.
_MSG_ID = re.compile(r"<[!-;=?-~]{1,250}>")


def _msg_ids(value: str) -> list[str]:
    return _MSG_ID.findall(value[:20_000])


def _references(original: email.message.Message) -> tuple[str | None, str | None]:
    own = _msg_ids(str(original.get("Message-ID") or ""))
    message_id = own[0] if own else None
    earlier = _msg_ids(str(original.get("References") or ""))
    chain = [*earlier, message_id] if message_id else earlier
    chain = chain[-MAX_REFERENCES:]
    return message_id, (" ".join(chain) or None)


def build_reply_message(
    original: email.message.Message,
    rendered: RenderedReply,
    config: IntakeConfig,
    *,
    to: str,
    reference: str | None = None,
    names: Sequence[str] = (),
    attachment: FormAttachment | None = None,
    message_id: str | None = None,
    now: datetime | None = None,
) -> email.message.EmailMessage:
    """The reply as a complete message, ready to send.

    ``to`` is the recipient (see `reply_recipient`); ``names`` the child's
    names from the form (kept out of the subject); ``attachment`` the form
    sent back with an incomplete return.  Bcc copies are the sender's
    business (``config.replies.bcc`` goes on the envelope, not in a header).
    """
    # Never email.policy.SMTP alone: it encodes a long msg-id in In-Reply-To (issue 10).
    msg = email.message.EmailMessage(policy=OUR_POLICY)
    msg["From"] = email.utils.formataddr((config.replies.from_name, config.replies.from_address))
    msg["To"] = to
    msg["Subject"] = reply_subject(decoded_subject(original), rendered.subject, reference, names)
    msg["Date"] = email.utils.format_datetime(now or datetime.now().astimezone())
    msg["Message-ID"] = message_id or new_message_id(
        config.service.message_id_domain, config.service.reference_prefix
    )
    in_reply_to, references = _references(original)
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
    if references:
        msg["References"] = references
    msg["Auto-Submitted"] = "auto-replied"  # RFC 3834 §5
    msg["X-Auto-Response-Suppress"] = "All"  # Exchange: no out-of-office replies to us
    # Ours, so our reply sent back to us (whole or attached) is known (issue 8).
    msg[OUR_REPLY_HEADER] = reference or "yes"
    msg.set_content(rendered.text)
    msg.add_alternative(rendered.html, subtype="html")
    if attachment is not None:
        maintype, _, subtype = attachment.content_type.partition("/")
        msg.add_attachment(
            attachment.data,
            maintype=maintype or "application",
            subtype=subtype or "octet-stream",
            filename=attachment.filename,
        )
    return msg
