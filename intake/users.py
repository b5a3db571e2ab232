"""People who may sign in: the partnership team and administrators, and their second factor.

Roles
-----
``team``: the ``team`` group; works the queue, cases and reports.
``admin``: staff and superuser, also in the team group; everything the team does, plus
people, the audit trail, wordings and Django's admin.

No one gets in without a password, a second factor and a role (issue 12).  The second
factor is a TOTP authenticator app (`django_otp`), enrolled at the first sign-in with a
QR code, with ten single-use recovery codes.  Resetting it removes the secrets, so the
person enrols again at their next sign-in.

Every change here is an `intake.audit` event by the person (or ``None``: the command
line) who made it.  Nobody is deleted: an account is deactivated.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import Group, User
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from intake import audit
from intake.errors import IntakeError

TEAM_GROUP = "team"
ADMIN_GROUP = "admin"
ROLES = ("team", "admin")
ROLE_LABELS = {"team": "Team member", "admin": "Administrator", "": "No role"}
AUTHENTICATOR = "Authenticator app"
RECOVERY = "Recovery codes"
RECOVERY_CODES = 10


class UserError(IntakeError):
    """The change cannot be made as asked (taken name, weak password, unknown role...)."""

    reason = "user_change_refused"
    retryable = False


def role_of(user: Any) -> str:
    """``admin``, ``team`` or "" (no role: signs in to a refusal)."""
    if not (user.is_authenticated and user.is_active):
        return ""
    if user.is_superuser or user.is_staff or user.groups.filter(name=ADMIN_GROUP).exists():
        return "admin"
    return "team" if user.groups.filter(name=TEAM_GROUP).exists() else ""


def is_admin(user: Any) -> bool:
    return role_of(user) == "admin"


def _check_password(password: str, user: User) -> None:
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise UserError(" ".join(exc.messages)) from None


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise UserError(f"unknown role {role!r}: team or admin")


def create_user(username: str, password: str, role: str, by: User | None = None) -> User:
    """Create ``username`` with ``role``; raises `UserError`."""
    _check_role(role)
    if not username or len(username) > 150:
        raise UserError("a name of 1 to 150 characters is needed")
    if User.objects.filter(username=username).exists():
        raise UserError(f"a user called {username!r} exists already")
    _check_password(password, User(username=username))
    with transaction.atomic():
        user = User.objects.create_user(username, password=password)
        _apply_role(user, role)
        audit.record(by, audit.Verb.USER_CREATED, audit.USER, user.pk, role=role)
    return user


def _apply_role(user: User, role: str) -> None:
    user.is_staff = user.is_superuser = role == "admin"
    user.save(update_fields=["is_staff", "is_superuser"])
    user.groups.add(Group.objects.get_or_create(name=TEAM_GROUP)[0])
    if role != "admin":
        user.groups.remove(*Group.objects.filter(name=ADMIN_GROUP))


def set_role(user: User, role: str, by: User | None = None) -> bool:
    """Give ``user`` ``role``; False when it had it already.  An administrator cannot
    take their own role away (someone must be left to manage people)."""
    _check_role(role)
    old = role_of(user) if user.is_active else ("admin" if user.is_staff else "team")
    if old == role:
        return False
    if by is not None and by.pk == user.pk and role != "admin":
        raise UserError("you cannot take away your own administrator role")
    with transaction.atomic():
        _apply_role(user, role)
        audit.record(by, audit.Verb.ROLE_CHANGED, audit.USER, user.pk, old=old, new=role)
    return True


def set_password(user: User, password: str, by: User | None = None) -> None:
    """A new password (validated); the user's other sessions end with the old one."""
    _check_password(password, user)
    with transaction.atomic():
        user.set_password(password)
        user.save(update_fields=["password"])
        audit.record(by, audit.Verb.PASSWORD_RESET, audit.USER, user.pk)


def temporary_password() -> str:
    """A random password to hand over once (four groups of five letters and digits)."""
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    return "-".join("".join(secrets.choice(alphabet) for _ in range(5)) for _ in range(4))


def set_active(user: User, active: bool, by: User | None = None) -> bool:
    """Let ``user`` sign in, or not (nobody is deleted).  False when unchanged."""
    if user.is_active == active:
        return False
    if by is not None and by.pk == user.pk and not active:
        raise UserError("you cannot deactivate your own account")
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(is_active=active)
        user.is_active = active
        verb = audit.Verb.USER_ACTIVATED if active else audit.Verb.USER_DEACTIVATED
        audit.record(by, verb, audit.USER, user.pk)
    return True


def unlock(user: User, by: User | None = None) -> int:
    """Clear the failed sign-ins that locked ``user`` out (django-axes); how many."""
    from axes.utils import reset

    cleared = int(reset(username=user.get_username()))
    audit.record(by, audit.Verb.ACCOUNT_UNLOCKED, audit.USER, user.pk, cleared=cleared)
    return cleared


def is_locked_out(user: User) -> bool:
    from axes.models import AccessAttempt
    from django.conf import settings

    return bool(
        AccessAttempt.objects.filter(
            username=user.get_username(), failures_since_start__gte=settings.AXES_FAILURE_LIMIT
        ).exists()
    )


# --- the second factor ---------------------------------------------------------------


def has_second_factor(user: Any) -> bool:
    return bool(TOTPDevice.objects.filter(user_id=user.pk, confirmed=True).exists())


def start_enrolment(user: User) -> TOTPDevice:
    """The authenticator to add: a new secret, unconfirmed until a code from it is given.

    Called again before it is confirmed, it gives the same secret (a reload of the page
    must not invalidate the QR code already scanned)."""
    if has_second_factor(user):
        raise UserError("an authenticator app is set up already")
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    return device or TOTPDevice.objects.create(user=user, name=AUTHENTICATOR, confirmed=False)


def confirm_enrolment(user: User, code: str) -> list[str] | None:
    """Confirm the authenticator with a code it shows; the new recovery codes, or None
    when the code is wrong."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    if device is None or not device.verify_token(_digits(code)):
        return None
    with transaction.atomic():
        TOTPDevice.objects.filter(pk=device.pk).update(confirmed=True)
        codes = _new_recovery_codes(user)
        audit.record(user, audit.Verb.SECOND_FACTOR_ENROLLED, audit.USER, user.pk)
    return codes


def new_recovery_codes(user: User) -> list[str]:
    """Ten fresh recovery codes; the old ones stop working."""
    with transaction.atomic():
        codes = _new_recovery_codes(user)
        audit.record(user, audit.Verb.RECOVERY_CODES_RENEWED, audit.USER, user.pk)
    return codes


def _new_recovery_codes(user: User) -> list[str]:
    device, _ = StaticDevice.objects.get_or_create(
        user=user, name=RECOVERY, defaults={"confirmed": True}
    )
    # Spent and superseded codes are secrets, not records: django-otp deletes a code when
    # it is used, and the old set goes when a new one is made.
    StaticToken.objects.filter(device=device).delete()
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODES)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=c) for c in codes)
    return codes


def recovery_codes_left(user: Any) -> int:
    return int(StaticToken.objects.filter(device__user_id=user.pk, device__name=RECOVERY).count())


def verify_second_factor(user: User, code: str) -> tuple[Any, str] | None:
    """The device that accepts ``code`` and the factor's name (``authenticator`` or
    ``recovery_code``), or None.  A recovery code works once."""
    cleaned = code.strip().replace(" ", "").replace("-", "").lower()
    for device in TOTPDevice.objects.filter(user=user, confirmed=True):
        if cleaned.isdigit() and device.verify_token(cleaned):
            return device, "authenticator"
    for static in StaticDevice.objects.filter(user=user, confirmed=True):
        if static.verify_token(cleaned):
            return static, "recovery_code"
    return None


def reset_second_factor(user: User, by: User | None = None) -> None:
    """Remove the authenticator and recovery codes: ``user`` enrols again at the next
    sign-in, and any session verified with the old ones is no longer verified."""
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        StaticDevice.objects.filter(user=user).delete()
        audit.record(by, audit.Verb.SECOND_FACTOR_RESET, audit.USER, user.pk)


def _digits(code: str) -> str:
    return "".join(c for c in code if c.isdigit())


@dataclass(frozen=True)
class Person:
    """One row of the people page."""

    user: User
    role: str
    role_label: str
    second_factor: bool
    recovery_codes: int
    locked_out: bool


def people() -> list[Person]:
    """Everyone who has an account, active first, by name."""
    users = User.objects.prefetch_related("groups").order_by("-is_active", "username")
    enrolled = set(TOTPDevice.objects.filter(confirmed=True).values_list("user_id", flat=True))
    rows = []
    for user in users:
        role = "admin" if user.is_staff or user.is_superuser else _group_role(user)
        rows.append(
            Person(
                user=user,
                role=role,
                role_label=ROLE_LABELS[role],
                second_factor=user.pk in enrolled,
                recovery_codes=recovery_codes_left(user),
                locked_out=is_locked_out(user),
            )
        )
    return rows


def _group_role(user: User) -> str:
    names = {g.name for g in user.groups.all()}
    return "admin" if ADMIN_GROUP in names else "team" if TEAM_GROUP in names else ""
