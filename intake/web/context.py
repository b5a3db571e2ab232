"""Template context on every page: the service's name, and the menu for the person's role."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse

from intake.users import ROLE_LABELS, role_of


@dataclass(frozen=True)
class NavItem:
    text: str
    url: str
    current: bool


TEAM_PAGES = (("Referrals", "queue"), ("Dashboard", "dashboard"), ("Export", "export"))
ADMIN_PAGES = (
    ("People", "people"),
    ("Audit trail", "audit_trail"),
    ("Wordings", "wordings"),
    ("Rules", "rules"),
)


def navigation(request: HttpRequest) -> dict[str, Any]:
    """``service_name``; and for a person signed in with both factors, ``nav_items``
    (the admin pages only for administrators) and ``role_label``."""
    context: dict[str, Any] = {"service_name": settings.INTAKE.service.name}
    user = getattr(request, "user", None)
    verified = getattr(user, "is_verified", None)
    if user is None or not user.is_authenticated or verified is None or not verified():
        return context
    role = role_of(user)
    pages = TEAM_PAGES + (ADMIN_PAGES if role == "admin" else ()) if role else ()
    match = request.resolver_match
    here = match.url_name if match is not None else ""
    context["nav_items"] = [NavItem(text, reverse(name), here == name) for text, name in pages]
    context["role_label"] = ROLE_LABELS.get(role, "")
    return context
