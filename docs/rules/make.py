"""Writes the five example messages of the README's mailbox rules (docs/rules/*.eml).

Run from the project root with the shared forms beside it: python docs/rules/make.py
"""

from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

OUT = Path(__file__).resolve().parent
FORMS = OUT.parent.parent.parent / "shared" / "forms"
MX = "mx1.warrington.gov.uk"
SIN = (FORMS / "serious-incident-notification.docx").read_bytes()


def message(name, sender, to, subject, body, when, msgid, domain, attach=None, extra=()):
    m = EmailMessage()
    m["Authentication-Results"] = (
        f"{MX}; dkim=pass header.d={domain}; spf=pass smtp.mailfrom={domain}; "
        f"dmarc=pass header.from={domain}"
    )
    m["From"] = sender
    m["To"] = to
    m["Subject"] = subject
    m["Date"] = format_datetime(when)
    m["Message-ID"] = f"<{msgid}@{domain}>"
    for k, v in extra:
        m[k] = v
    m.set_content(body)
    if attach:
        filename, data, maintype, subtype = attach
        m.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    (OUT / name).write_bytes(m.as_bytes())


SP = "Warrington Safeguarding Partnership <safeguardingpartnerships@warrington.gov.uk>"
message(
    "ofsted-notification.eml",
    "Ofsted Notifications <notifications@ofsted.gov.uk>",
    SP,
    "Serious incident notification received: SIN-2026-04417",
    "A serious incident notification has been submitted for your area.\n"
    "The notification is attached. Reference: SIN-2026-04417.\n\nOfsted\n",
    datetime(2026, 11, 16, 10, 2, tzinfo=UTC),
    "sin-2026-04417.1",
    "ofsted.gov.uk",
    (
        "serious-incident-notification.docx",
        SIN,
        "application",
        "vnd.openxmlformats-officedocument.wordprocessingml.document",
    ),
)
message(
    "coroner-letter.eml",
    "Coroner's Office <coroners.office@cheshire-coroner.gov.uk>",
    SP,
    "Inquest: request for a chronology (our ref 2026/0381)",
    "Dear Partnership Business Manager,\n\nHM Senior Coroner asks for the partnership's "
    "chronology ahead of the pre-inquest review. Please reply to this office.\n\n"
    "Coroner's Officer\n",
    datetime(2026, 11, 17, 14, 40, tzinfo=UTC),
    "2026-0381.chronology",
    "cheshire-coroner.gov.uk",
)
message(
    "nwas-no-reply.eml",
    "NWAS Safeguarding <no-reply@nwas.nhs.uk>",
    SP,
    "Safeguarding referral: CSPR referral form, NWAS case 2026-118273",
    "This message was sent by the NWAS safeguarding case system. Replies to this "
    "address are not read.\n\nThe CSPR referral form is attached.\n",
    datetime(2026, 11, 18, 8, 15, tzinfo=UTC),
    "case-2026-118273",
    "nwas.nhs.uk",
    (
        "CSPR referral form.docx",
        (FORMS / "cspr-referral-form.docx").read_bytes(),
        "application",
        "vnd.openxmlformats-officedocument.wordprocessingml.document",
    ),
)
message(
    "cdop-bulk-report.eml",
    "Cheshire CDOP <cdop.cheshire@cheshirewestandchester.gov.uk>",
    SP,
    "CDOP quarterly report Q3 2026",
    "Dear colleagues,\n\nPlease find the Child Death Overview Panel's quarterly report "
    "for July to September 2026 on the panel's site.\n\nCDOP Coordinator\n",
    datetime(2026, 11, 19, 9, 0, tzinfo=UTC),
    "cdop-q3-2026",
    "cheshirewestandchester.gov.uk",
)
message(
    "adults-board.eml",
    "Adult Social Care <asc.safeguarding@warrington.gov.uk>",
    "Warrington Safeguarding Adults Board <wsab@warrington.gov.uk>",
    "Safeguarding Adults Review referral",
    "Please find below a referral for a Safeguarding Adults Review.\n",
    datetime(2026, 11, 20, 11, 30, tzinfo=UTC),
    "sar-referral-2026-11",
    "warrington.gov.uk",
)
