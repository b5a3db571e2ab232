"""Which case a message belongs to, and the references cases are known by.

`find_case`: a message in the thread of a case (its ``In-Reply-To`` or
``References`` name one of our replies or one of the case's messages) from
the case's referrer or about the same child; a message whose subject carries
the case's reference from the same referrer; or the same referrer sending the
same child's form within ``cases.resubmission_window_days``.  `child_key`
hashes the child's names and date of birth, so no index of names is kept.
`allocate_reference` gives the next ``WSP-2026-0007`` under a row lock.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.db.models import F
from django.utils import timezone

from intake.assess import Assessment
from intake.models import (
    InboundMessage,
    OutboundEmail,
    Referral,
    Submission,
)
from intake.models.cases import ReferenceCounter
from intake.replies import (
    fold_accents,
)
from intake.senders import Sender, sender_of

if TYPE_CHECKING:
    from intake.config import IntakeConfig

_MSGID = re.compile(r"<[^<>\s]+>")


def child_key(fields: Mapping[str, Any]) -> str:
    """A hash of the child's normalised forenames, surname and date of birth ("" if unknown).

    Matching resubmissions needs "the same child" without keeping an index
    of children's names; case, accents, spaces and punctuation are ignored.
    """
    parts = [fields.get("child_forenames"), fields.get("child_surname"), fields.get("child_dob")]
    if not all(isinstance(p, str) and p.strip() for p in parts):
        return ""
    normal = "|".join(_fold(str(p)) for p in parts)
    return hashlib.sha256(f"intake-child-v1|{normal}".encode()).hexdigest()


def _fold(text: str) -> str:
    # The replies' folding, so "the same name" means the same in both places;
    # spaces and punctuation go too, as a hash has no words to break.
    return "".join(c for c in fold_accents(text) if c.isalnum())


def find_case(
    message: InboundMessage,
    assessment: Assessment,
    config: IntakeConfig,
    sender_check: Sender | None = None,
) -> tuple[Referral | None, str]:
    """The case ``message`` belongs to, and how it was matched ("" when none)."""
    check = sender_check or sender_of(message, config)
    mail = check.mail
    thread_ids = _MSGID.findall(" ".join([mail.in_reply_to or "", *mail.references]))
    sender = check.address
    key = child_key(assessment.fields)
    by_thread = _case_by_thread(thread_ids)
    if by_thread is not None and _may_join_thread(by_thread, sender, key):
        return by_thread, "thread"
    by_reference = _case_by_reference(message.subject or "", sender, config)
    if by_reference is not None:
        return by_reference, "reference"
    if sender and key:
        since = timezone.now() - timedelta(days=config.cases.resubmission_window_days)
        found = (
            Referral.objects.filter(referrer_email=sender, child_key=key, created__gte=since)
            .exclude(status=Referral.Status.CLOSED)
            .order_by("-created")
            .first()
        )
        if found is not None:
            return found, "referrer_and_child"
    return None, ""


def _case_by_thread(thread_ids: list[str]) -> Referral | None:
    if not thread_ids:
        return None
    reply = (
        OutboundEmail.objects.filter(rfc_message_id__in=thread_ids, referral__isnull=False)
        .select_related("referral")
        .order_by("-created")
        .first()
    )
    if reply is not None:
        found: Referral | None = reply.referral
        return found
    bare = [t.strip("<>") for t in thread_ids]
    submission = (
        Submission.objects.filter(message__message_id__in=bare)
        .select_related("referral")
        .order_by("-created")
        .first()
    )
    return submission.referral if submission is not None else None


def _may_join_thread(referral: Referral, sender: str, key: str) -> bool:
    """True when a message in ``referral``'s thread may join it.

    Everyone copied on a thread can reply in it: only the case's referrer, or
    a form for the same child, joins the case.  A colleague's form for another
    child must not replace this case's answers, nor be acknowledged with this
    case's reference; it is a case of its own.
    """
    if sender and sender == referral.referrer_email:
        return True
    return bool(key) and key == referral.child_key


def _case_by_reference(subject: str, sender: str, config: IntakeConfig) -> Referral | None:
    prefix = re.escape(config.service.reference_prefix)
    match = re.search(rf"\b({prefix}-\d{{4}}-\d{{4,}})\b", subject, re.IGNORECASE)
    if match is None or not sender:
        return None
    return Referral.objects.filter(reference=match.group(1).upper(), referrer_email=sender).first()


def allocate_reference(prefix: str, year: int) -> tuple[str, int]:
    """The next reference of ``year`` (``WSP-2026-0007``), inside the caller's transaction.

    The counter row is incremented with ``UPDATE ... SET last = last + 1``,
    which holds the row lock until commit (PostgreSQL) or runs under the
    database write lock (SQLite, IMMEDIATE transactions), so two workers never
    get the same number; `Referral.reference` is unique as well.  The year's first
    case creates the row, and only then is it looked up before the increment.
    """
    counter = ReferenceCounter.objects.filter(prefix=prefix, year=year)
    if not counter.update(last=F("last") + 1):
        ReferenceCounter.objects.get_or_create(prefix=prefix, year=year)
        counter.update(last=F("last") + 1)
    sequence = ReferenceCounter.objects.get(prefix=prefix, year=year).last
    return f"{prefix}-{year}-{sequence:04d}", sequence
