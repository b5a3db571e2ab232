"""``intake seed``: a few fictional referral emails in the local Maildir, on first run.

Everything here is made up by this code: people, agencies, addresses
(``.example`` domains, RFC 2606) and telephone numbers (Ofcom's drama
range).  The referral form is a DOCX built with python-docx from the form
schema in ``config/forms/`` (one table of question and answer per section,
tick boxes written as ☒/☐), so the seeded mail exercises the real parsers.
"""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

import structlog
from docx import Document as new_docx

from intake.config import IntakeConfig, MailboxConfig
from intake.mailbox import open_mailbox
from parsers.schema import FieldSpec, FormSchema, load_schemas

log = structlog.get_logger(__name__)
MARKER = "intake-seeded"
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"

TEXT_ANSWERS = {
    "referrer_name": "Alex Example",
    "referrer_job_title": "Designated Safeguarding Lead",
    "referrer_agency": "Westshire Example Academy",
    "dsl_name": "Sam Sample",
    "dsl_role": "Head of Safeguarding",
    "child_forenames": "Jamie",
    "child_surname": "Testchild",
    "child_resident_la": "Westshire",
    "child_address": "1 Example Street\nWestshire\nWS1 1AA",
    "incident_location": "At home",
    "signed_by": "Alex Example",
    "notifying_la": "Westshire",
    "notifier_name": "Sam Sample",
    "notifier_role": "Head of Service",
}
CHOICES = {
    "incident_outcome": "seriously_harmed",
    "sin_submitted": "not_known",
    "police_investigation": "no",
}
LEAVE_BLANK = {"child_age", "child_nhs_number", "date_of_death", "sin_date", "panel_reference"}


def seed_maildir(config: IntakeConfig, today: date | None = None) -> int:
    """Put the example emails in the first Maildir mailbox, once; returns how many."""
    mailbox = first_maildir(config)
    if mailbox is None:
        return 0
    marker = Path(mailbox.path) / MARKER
    if marker.exists():
        return 0
    emails = example_emails(config, today or date.today())
    with open_mailbox(mailbox) as box:
        for raw in emails:
            box.append(mailbox.folder, raw, flags=())
    marker.write_text("seeded\n")
    log.info("maildir_seeded", count=len(emails))
    return len(emails)


def example_emails(config: IntakeConfig, today: date) -> list[bytes]:
    """A complete referral, an incomplete one, and a general enquiry."""
    to = (
        config.service.our_addresses[0] if config.service.our_addresses else "referrals@example.org"
    )
    schemas = load_schemas(Path(config.forms_dir))
    form = schemas.get("cspr_referral") or next(iter(schemas.values()))
    complete = answers(form, today)
    incomplete = {
        k: v for k, v in complete.items() if k not in ("referrer_phone", "incident_summary")
    }
    return [
        _email(to, "CSPR referral", "Please find our referral attached.", form, complete, 1),
        _email(to, "Referral form", "Referral attached, thanks.", form, incomplete, 2),
        _email(
            to,
            "Question about the referral process",
            "How long does a Rapid Review take?",
            None,
            {},
            3,
        ),
    ]


def answers(form: FormSchema, today: date) -> dict[str, str]:
    """A fictional answer to every question the seeded form fills in, as a person types it."""
    return {f.key: _answer(f, today) for f in form.fields if f.key not in LEAVE_BLANK}


def _answer(spec: FieldSpec, today: date) -> str:
    if spec.type in ("choice", "yesno", "checks"):
        chosen = CHOICES.get(spec.key) or (spec.options[0].key if spec.options else "yes")
        labels = [(o.key, o.label) for o in spec.options] or [("yes", "Yes"), ("no", "No")]
        return "\n".join(("☒ " if key == chosen else "☐ ") + label for key, label in labels)
    if spec.type == "date":
        return _date_answer(spec.key, today).strftime("%d/%m/%Y")
    if spec.type == "email":
        return "alex.example@school.example"
    if spec.type == "phone":
        return "020 7946 0123"
    return TEXT_ANSWERS.get(spec.key, "Fictional example answer for the seeded referral.")


def _date_answer(key: str, today: date) -> date:
    if "dob" in key:
        return date(2015, 4, 3)
    if key == "incident_date":
        return today - timedelta(days=10)
    if "aware" in key:
        return today - timedelta(days=9)
    return today


def build_form_docx(form: FormSchema, values: dict[str, str]) -> bytes:
    """The form as a Word document: per section, a heading and a question/answer table."""
    document = new_docx()
    document.add_heading(form.title, level=1)
    for number, section in enumerate(form.sections, start=1):
        document.add_heading(f"{number}. {section.title}", level=2)
        fields = [f for f in form.fields if f.section == section.key]
        table = document.add_table(rows=len(fields), cols=2)
        table.style = "Table Grid"
        for row, spec in zip(table.rows, fields, strict=True):
            row.cells[0].text = spec.question
            row.cells[1].text = values.get(spec.key, "")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _email(
    to: str, subject: str, body: str, form: FormSchema | None, values: dict[str, str], n: int
) -> bytes:
    message = EmailMessage()
    message["From"] = f"Alex Example <alex.example{n}@school.example>"
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = make_msgid(domain="school.example")
    message.set_content(body + "\n\nAlex Example\nWestshire Example Academy\n")
    if form is not None:
        data = build_form_docx(form, values)
        maintype, subtype = DOCX_TYPE.split("/")
        message.add_attachment(
            data, maintype=maintype, subtype=subtype, filename="CSPR referral form.docx"
        )
    return message.as_bytes()


def first_maildir(config: IntakeConfig) -> MailboxConfig | None:
    return next((m for m in config.mailboxes if m.kind == "maildir"), None)
