"""The team teaches the form reader, and held messages are read again (issue 7).

A partnership's new wording should cost one correction, not a release:

1. On a held message's page a team member places a question the reader could
   not place ("Designation" is "Job title / role"): `propose`.
2. An administrator confirms it (`confirm`) or not (`reject`); a confirmed
   wording can later be retired (`retire`).  Each confirmation or retirement
   takes the next version number; every step is an `AuditEvent`.
3. From the next message on, the reader knows it: `with_learning` adds the
   confirmed wordings to the form schemas as aliases (re-read only when the
   version changes).
4. A held message can be read again with what the reader knows now
   (`request_read_again`); the worker does the reading (`read_again_waiting`,
   the web never parses mail) and `difference` says what changed.

Everything here is a service: views and commands call it; the transitions,
compare-and-sets and audit live here.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import structlog
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from intake import audit
from intake.audit import Verb
from intake.errors import IntakeError
from intake.models import InboundMessage, LearnedWording, ReadAgain
from parsers.normalise import comparable
from parsers.schema import FormSchema

if TYPE_CHECKING:
    from intake.config import IntakeConfig

log = structlog.get_logger(__name__)

WORDING = "learned_wording"
MESSAGE = "inbound_message"
Status = LearnedWording.Status


class LearningError(IntakeError):
    """A proposal or decision that cannot be made; the message says why, in plain words."""

    reason = "learning_refused"
    retryable = False


def _audit(user: Any, verb: Verb, object_type: str, object_id: int, **detail: Any) -> None:
    audit.record(user, verb, object_type, object_id, **detail)


# --- proposing and deciding ---------------------------------------------------------------


def propose(
    user: Any,
    message: InboundMessage | None,
    question: str,
    form_type: str,
    field_key: str,
    schemas: Mapping[str, FormSchema],
) -> LearnedWording:
    """A team member says ``question`` (as printed) is ``field_key`` of ``form_type``.

    Raises `LearningError` for an unknown form or field, an empty or overlong
    question, or one already known (proposed, confirmed, or in the schema).
    """
    schema = schemas.get(form_type)
    if schema is None or field_key not in {f.key for f in schema.fields}:
        raise LearningError("That is not a question of that form.")
    question = " ".join(question.split())
    key = comparable(question)
    if not key or len(question) > 300:
        raise LearningError("The question must be between 1 and 300 characters.")
    if key in {comparable(w) for w in schema.field(field_key).wordings}:
        raise LearningError("The reader already knows that wording for that question.")
    try:
        with transaction.atomic():
            wording = LearnedWording.objects.create(
                form_type=form_type,
                field_key=field_key,
                wording=question,
                comparable=key,
                message=message,
                proposed_by=user,
            )
            _audit(
                user, Verb.WORDING_PROPOSED, WORDING, wording.pk, form=form_type, field=field_key
            )
    except IntegrityError as exc:
        raise LearningError(
            "That wording is already waiting for an administrator, or in use."
        ) from exc
    return wording


def confirm(user: Any, wording_id: int) -> LearnedWording:
    """An administrator puts a proposed wording into use, under the next version."""
    return _decide(user, wording_id, Status.PROPOSED, Status.CONFIRMED, Verb.WORDING_CONFIRMED)


def reject(user: Any, wording_id: int) -> LearnedWording:
    """An administrator declines a proposed wording; the reader never uses it."""
    return _decide(user, wording_id, Status.PROPOSED, Status.REJECTED, Verb.WORDING_REJECTED)


def retire(user: Any, wording_id: int) -> LearnedWording:
    """An administrator stops using a confirmed wording (under a new version)."""
    return _decide(user, wording_id, Status.CONFIRMED, Status.RETIRED, Verb.WORDING_RETIRED)


def _decide(user: Any, wording_id: int, old: str, new: str, verb: Verb) -> LearnedWording:
    if not _is_admin(user):
        raise LearningError("Only an administrator can decide on a wording.")
    versioned = new in (Status.CONFIRMED, Status.RETIRED)
    for _attempt in range(3):  # two administrators at once: the loser takes the next version
        try:
            with transaction.atomic():
                version = _next_version() if versioned else None
                changed = LearnedWording.objects.filter(pk=wording_id, status=old).update(
                    status=new,
                    version=version if versioned else None,
                    decided_by=user,
                    decided_at=timezone.now(),
                )
                if changed != 1:
                    raise LearningError("Someone else decided on this wording meanwhile.")
                wording = LearnedWording.objects.get(pk=wording_id)
                detail = {"form": wording.form_type, "field": wording.field_key, "from": old}
                _audit(user, verb, WORDING, wording_id, to=new, version=version, **detail)
                return wording
        except IntegrityError:
            continue
    raise LearningError("The wording could not be saved; try again.")


def _next_version() -> int:
    return int(LearnedWording.objects.aggregate(top=Max("version"))["top"] or 0) + 1


def _is_admin(user: Any) -> bool:
    return bool(user.is_superuser or user.groups.filter(name="admin").exists() or user.is_staff)


# --- the reader's knowledge ------------------------------------------------------------------


# Inside `version_read_once`, the version once read (a list: empty until then).
_READ_ONCE: ContextVar[list[int] | None] = ContextVar("wordings_version", default=None)


def current_version() -> int:
    """The version of what the team taught (0: nothing yet); inside
    `version_read_once`, the one read first in that block."""
    once = _READ_ONCE.get()
    if once is None:
        return _read_version()
    if not once:
        once.append(_read_version())
    return once[0]


def _read_version() -> int:
    return int(LearnedWording.objects.aggregate(top=Max("version"))["top"] or 0)


@contextmanager
def version_read_once() -> Iterator[None]:
    """Read the version at most once within the block (per thread).

    The worker handles each message in one (issue 10): its read-ahead and its
    assessment ask for the schemas without a query each, and a wording confirmed
    meanwhile is still used from the next message on.
    """
    token = _READ_ONCE.set([])
    try:
        yield
    finally:
        _READ_ONCE.reset(token)


def learned() -> dict[str, dict[str, list[str]]]:
    """Confirmed wordings: {form type: {field key: [wording, ...]}}."""
    out: dict[str, dict[str, list[str]]] = {}
    for row in LearnedWording.objects.filter(status=Status.CONFIRMED).order_by("version"):
        out.setdefault(row.form_type, {}).setdefault(row.field_key, []).append(row.wording)
    return out


_CACHE: dict[tuple[int, int], dict[str, FormSchema]] = {}


def with_learning(schemas: Mapping[str, FormSchema]) -> dict[str, FormSchema]:
    """``schemas`` with the confirmed wordings added as aliases; the same objects for
    the same version (the matcher compiles each schema once)."""
    version = current_version()
    if version == 0:
        return dict(schemas)
    key = (id(schemas), version)
    if key not in _CACHE:
        if len(_CACHE) > 16:
            _CACHE.clear()
        taught = learned()
        _CACHE[key] = {k: s.with_wordings(taught.get(k, {})) for k, s in schemas.items()}
    return _CACHE[key]


# --- reading again -----------------------------------------------------------------------------


def request_read_again(user: Any, message: InboundMessage) -> ReadAgain:
    """Ask the worker to read ``message`` again; one waiting request per message."""
    waiting = ReadAgain.objects.filter(message=message, state=ReadAgain.State.WAITING).first()
    if waiting is not None:
        return waiting
    with transaction.atomic():
        request = ReadAgain.objects.create(message=message, requested_by=user)
        _audit(user, Verb.READ_AGAIN_REQUESTED, MESSAGE, message.pk, request_id=request.pk)
    return request


def read_again_waiting(config: IntakeConfig, limit: int = 20) -> int:
    """Read the waiting messages again (the worker's job); returns how many were read.

    Each outcome is stored on its request; the message, its decision and its
    case are left as they are, and nothing is sent.
    """
    from intake.assess import assess_mail, assess_message, taught_schemas
    from intake.store import load_mail

    done = 0
    for request in ReadAgain.objects.filter(state=ReadAgain.State.WAITING)[:limit]:
        version = current_version()
        message = request.message
        schemas = taught_schemas(config)
        try:
            mail = load_mail(message)  # the stored parse: the message is never parsed twice
            outcome = (
                assess_mail(mail, config, message.received_at, schemas=schemas)
                if mail is not None
                else assess_message(
                    bytes(message.raw), config, message.received_at, schemas=schemas
                )
            )
        except Exception as exc:
            _finish(request, ReadAgain.State.FAILED, version, None, type(exc).__name__)
            log.warning("read_again_failed", request_id=request.pk, error=type(exc).__name__)
            continue
        _finish(request, ReadAgain.State.DONE, version, asdict(outcome), "")
        done += 1
    return done


def _finish(
    request: ReadAgain, state: str, version: int, outcome: dict[str, Any] | None, error: str
) -> None:
    updated = ReadAgain.objects.filter(pk=request.pk, state=ReadAgain.State.WAITING).update(
        state=state, wordings_version=version, outcome=outcome, error_code=error,
        done_at=timezone.now(),
    )  # fmt: skip
    if updated:
        audit.record(
            None, Verb.READ_AGAIN_DONE, MESSAGE, request.message_id,
            request_id=request.pk, state=state, version=version,
        )  # fmt: skip


@dataclass
class Difference:
    """What reading again changed, for the team (field keys; the page shows words)."""

    decision: tuple[str, str]
    form_type: tuple[str, str]
    gained: list[str] = field(default_factory=list)  # answers read now and not before
    lost: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    placed: list[str] = field(default_factory=list)  # questions placed now, unplaced before

    @property
    def any(self) -> bool:
        return bool(
            self.decision[0] != self.decision[1]
            or self.form_type[0] != self.form_type[1]
            or self.gained
            or self.lost
            or self.changed
            or self.placed
        )


def difference(before: Mapping[str, Any], after: Mapping[str, Any]) -> Difference:
    """What changed between two stored assessments of one message."""
    old, new = before.get("fields") or {}, after.get("fields") or {}
    return Difference(
        decision=(str(before.get("decision") or ""), str(after.get("decision") or "")),
        form_type=(str(before.get("form_type") or ""), str(after.get("form_type") or "")),
        gained=[k for k in new if k not in old],
        lost=[k for k in old if k not in new],
        changed=[k for k in new if k in old and new[k] != old[k]],
        placed=_placed_now(before, after),
    )


def _placed_now(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    def questions(outcome: Mapping[str, Any]) -> set[str]:
        evidence = outcome.get("evidence") or {}
        return {str(u.get("question")) for u in evidence.get("unplaced") or []}

    return sorted(questions(before) - questions(after))


def unplaced_questions(assessment: Mapping[str, Any]) -> Sequence[Mapping[str, str]]:
    """The questions the reader could not place, as stored with the decision."""
    evidence = assessment.get("evidence") or {}
    return list(evidence.get("unplaced") or [])
