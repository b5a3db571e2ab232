"""Small factories for records: users with a role, messages, attachments, cases, replies.

Every value is fictional and made here.  Each factory takes keyword
overrides for the model's fields and returns the saved record.
"""

from __future__ import annotations

import hashlib
import itertools
from datetime import date, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any

from django.contrib.auth.models import Group, User
from django.utils import timezone

from intake.models import (
    Attachment,
    InboundMessage,
    MessageContent,
    OutboundEmail,
    Referral,
    Submission,
)
from intake.users import TEAM_GROUP
from parsers.limits import Limits
from parsers.mail import read_mail

_n = itertools.count(1)

PASSWORD = "correct-horse-battery-staple-7"  # test users only

CSPR_FIELDS: dict[str, Any] = {
    "referral_type": "rapid_review",
    "referral_date": "2026-03-02",
    "referrer_name": "Sam Example",
    "referrer_email": "sam.example@agency.example",
    "child_forenames": "Alex",
    "child_surname": "Testchild",
    "child_dob": "2015-04-03",
    "child_gender": "not_known",
    "child_status": ["child_in_need", "early_help"],
    "incident_outcome": "seriously_harmed",
    "incident_summary": "A fictional summary.\nOn two lines.",
    "dsl_agreed": "yes",
}


def user(role: str | None = "team", **fields: Any) -> User:
    """A user who may sign in with `PASSWORD`; ``role``: team, admin (superuser) or None."""
    n = next(_n)
    values: dict[str, Any] = {"is_superuser": role == "admin", "is_staff": role == "admin"}
    values.update(fields)
    made = User.objects.create_user(values.pop("username", f"user{n}"), password=PASSWORD, **values)
    if role is not None:
        made.groups.add(Group.objects.get_or_create(name=TEAM_GROUP)[0])
    return made


def sign_in(client: Any, who: User) -> Any:
    """Sign ``who`` in on the test ``client`` with both factors, as the sign-in pages
    would (a confirmed authenticator app, its id in the session); returns the client."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(user=who, confirmed=True).first()
    device = device or TOTPDevice.objects.create(user=who, name="test", confirmed=True)
    client.force_login(who)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


def raw_email(
    n: int, *, sender: str = "referrer@agency.example", subject: str = "", body: str = ""
) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "referrals@westshire-sp.example"
    message["Subject"] = subject or f"CSPR referral {n}"
    message["Date"] = format_datetime(timezone.now())
    message["Message-ID"] = make_msgid(domain="agency.example")
    message.set_content(body or f"Please find attached referral {n}.\n")
    return message.as_bytes()


def message(**fields: Any) -> InboundMessage:
    """A stored, decided message (``decision`` defaults to accepted)."""
    n = next(_n)
    raw = fields.pop("raw", None) or raw_email(
        n,
        sender=fields.get("sender", "referrer@agency.example"),
        subject=fields.get("subject", ""),
        body=fields.pop("body", ""),
    )
    values: dict[str, Any] = {
        "mailbox": "referrals",
        "folder": "INBOX",
        "uidvalidity": 1,
        "uid": n,
        "message_id": f"m{n}@agency.example",
        "sha256": hashlib.sha256(raw).hexdigest(),
        "size": len(raw),
        "sender": "referrer@agency.example",
        "subject": f"CSPR referral {n}",
        "received_at": timezone.now(),
        "state": InboundMessage.State.FILED,
        "decision": InboundMessage.Decision.ACCEPTED,
        "assessment": {"decision": "accepted", "reasons": [], "form_type": "cspr_referral"},
        "raw": raw,
    }
    values.update(fields)
    made = InboundMessage.objects.create(**values)
    _keep_parse(made, raw)
    return made


def _keep_parse(made: InboundMessage, raw: bytes) -> None:
    """The parse the pipeline keeps (issue 8): the pages read it, never the raw bytes."""
    mail = read_mail(raw, Limits())
    parsed = mail.as_json()
    parsed.pop("text_body", None)
    MessageContent.objects.create(
        message=made, parser=mail.parser, parsed=parsed, text_body=mail.text_body
    )


def attachment(of: InboundMessage, **fields: Any) -> Attachment:
    data = fields.pop("data", b"%PDF-1.4 fictional\n")
    filename = fields.get("filename", "referral.pdf")
    values: dict[str, Any] = {
        "message": of,
        "path": filename,
        "filename": filename,
        "media_type": "application/pdf",
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "parse_status": "read",
        "data": data,
    }
    values.update(fields)
    return Attachment.objects.create(**values)


def referral(received: InboundMessage | None = None, **fields: Any) -> Referral:
    """A case with one first submission (``received``, or a new message)."""
    n = next(_n)
    today = timezone.localdate()
    values: dict[str, Any] = {
        "reference": f"WSP-{today.year}-{n:04d}",
        "year": today.year,
        "sequence": n,
        "form_type": "cspr_referral",
        "status": Referral.Status.ACCEPTED,
        "fields": dict(CSPR_FIELDS),
        "sources": {"child_surname": "referral.docx, table 4 row 2"},
        "referrer_email": "referrer@agency.example",
        "received_on": today,
        "rapid_review_due": date(today.year + 1, 1, 15),
    }
    values.update(fields)
    case = Referral.objects.create(**values)
    first = received or message()
    Submission.objects.create(
        referral=case, message=first, kind=Submission.Kind.FIRST, decision=first.decision
    )
    return case


def reply(of: InboundMessage, case: Referral | None = None, **fields: Any) -> OutboundEmail:
    n = next(_n)
    values: dict[str, Any] = {
        "message": of,
        "referral": case,
        "kind": OutboundEmail.Kind.ACKNOWLEDGEMENT,
        "recipient": "referrer@agency.example",
        "subject": f"Referral received {n}",
        "body_text": "Thank you for your referral.",
        "raw": b"",
        "rfc_message_id": f"<r{n}@westshire-sp.example>",
        "state": OutboundEmail.State.SENT,
        "sent_at": timezone.now(),
    }
    values.update(fields)
    return OutboundEmail.objects.create(**values)


def aware(day: date, hour: int = 9) -> datetime:
    return timezone.make_aware(datetime(day.year, day.month, day.day, hour))
