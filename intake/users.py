"""People who may sign in: the partnership team, and administrators."""

from __future__ import annotations

from django.contrib.auth.models import Group, User
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction

TEAM_GROUP = "team"


class UserError(Exception):
    """The user cannot be created as asked (taken name, weak password, ...)."""


def create_user(username: str, password: str, role: str) -> User:
    """Create ``username`` with ``role`` ``team`` (the team group) or ``admin``
    (staff and superuser, also in the team group).  Raises `UserError`."""
    if role not in ("team", "admin"):
        raise UserError(f"unknown role {role!r}")
    if User.objects.filter(username=username).exists():
        raise UserError(f"a user called {username!r} exists already")
    candidate = User(username=username)
    try:
        validate_password(password, candidate)
    except ValidationError as exc:
        raise UserError(" ".join(exc.messages)) from None
    with transaction.atomic():
        user = User.objects.create_user(
            username, password=password, is_staff=role == "admin", is_superuser=role == "admin"
        )
        group, _ = Group.objects.get_or_create(name=TEAM_GROUP)
        user.groups.add(group)
    return user
