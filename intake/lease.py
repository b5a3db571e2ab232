"""One poller per mailbox at a time, across processes: a lease row per watched folder.

Taking the lease is a compare-and-set on `MailboxState`: the row is updated
to name us only if nobody holds an unexpired lease.  The UPDATE's row count
says who won.  On PostgreSQL the row is first claimed with
``SELECT ... FOR UPDATE SKIP LOCKED``, so a second worker arriving while the
first is mid-claim moves on at once instead of queueing behind its lock.
A worker that dies holding the lease blocks the mailbox until ``lease_until``.
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from datetime import timedelta

from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from intake.errors import LeaseLost
from intake.models import MailboxState


def new_owner() -> str:
    """A name for this poll that no other process or thread will use."""
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}:{uuid.uuid4().hex[:8]}"


def mailbox_state(mailbox: str, folder: str) -> MailboxState:
    """The state row of a watched folder, created on first use."""
    try:
        with transaction.atomic():
            state, _ = MailboxState.objects.get_or_create(mailbox=mailbox, folder=folder)
    except IntegrityError:  # created meanwhile by another worker
        state = MailboxState.objects.get(mailbox=mailbox, folder=folder)
    return state


def acquire(mailbox: str, folder: str, owner: str, ttl_seconds: int) -> MailboxState | None:
    """Take the lease for ``ttl_seconds``; the state row if we hold it, else None."""
    state = mailbox_state(mailbox, folder)
    now = timezone.now()
    free = Q(lease_until__isnull=True) | Q(lease_until__lt=now) | Q(lease_owner=owner)
    with transaction.atomic():
        rows = MailboxState.objects.filter(pk=state.pk)
        skip_locked = connection.features.has_select_for_update_skip_locked
        if skip_locked and not rows.select_for_update(skip_locked=True).exists():
            return None  # another worker is claiming it this very moment
        taken = rows.filter(free).update(
            lease_owner=owner, lease_until=now + timedelta(seconds=ttl_seconds)
        )
    if taken != 1:
        return None
    state.refresh_from_db()
    return state


def renew(state: MailboxState, owner: str, ttl_seconds: int) -> None:
    """Extend our lease; raises `LeaseLost` if it is no longer ours."""
    until = timezone.now() + timedelta(seconds=ttl_seconds)
    if not MailboxState.objects.filter(pk=state.pk, lease_owner=owner).update(lease_until=until):
        raise LeaseLost(f"lease of mailbox state {state.pk} taken over")


def release(state: MailboxState, owner: str) -> None:
    MailboxState.objects.filter(pk=state.pk, lease_owner=owner).update(
        lease_owner="", lease_until=None
    )
