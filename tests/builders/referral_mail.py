"""Referral emails as they arrive at the partnership's mailbox: a filled CSPR form
(Word) from a referrer of its own, its sender authenticated by our receiving server.

Shared by the worker's pick-up tests and ``bench/pickup_latency.py``.
"""

from __future__ import annotations

import email
import email.policy
import email.utils
from functools import cache

from intake.config import PROJECT_ROOT
from parsers.schema import FormSchema, load_schemas
from tests.builders import docx_builder, mime_builder

OUR_MX = "mx.westshire-sp.example"  # the authserv-id of our receiving server


@cache
def _schema() -> FormSchema:
    return load_schemas(PROJECT_ROOT / "config" / "forms")["cspr_referral"]


@cache
def _form(seed: int) -> bytes:
    schema = _schema()
    return docx_builder.filled_docx(
        schema, docx_builder.random_answers(schema, seed), "typed", seed
    )


def referral_email(n: int, *, forms: int = 8) -> bytes:
    """A complete referral from ``referrer<n>@agency<n>.example`` (so no per-sender
    limit is reached), with one of ``forms`` distinct filled forms, dated now."""
    domain = f"agency{n}.example"
    raw = mime_builder.outlook([("Referral form.docx", _form(n % forms))], subject=f"Referral {n}")
    message = email.message_from_bytes(raw, policy=email.policy.compat32)
    for header in ("From", "Date", "Message-ID", "Authentication-Results"):
        del message[header]
    message["From"] = f"Referrer {n} <referrer{n}@{domain}>"
    message["Date"] = email.utils.formatdate(localtime=False)
    message["Message-ID"] = email.utils.make_msgid(f"referral{n}", domain=domain)
    message["Authentication-Results"] = (
        f"{OUR_MX}; spf=pass smtp.mailfrom={domain}; dkim=pass header.d={domain}; "
        f"dmarc=pass header.from={domain}"
    )
    return message.as_bytes()
