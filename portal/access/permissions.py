"""The one access check of the portal: who may see, and who may manage, which practice.

Every view under /praktijk/ goes through ``practice_view`` (anonymous -> login page,
audited) and then ``require_practice`` or ``require_manager``; both answer an invalid
AGB, a practice the account has no access to, and a practice that does not exist with
the same 404 (and an audit line), so a response never tells whether another practice
exists.
"""

from __future__ import annotations

import functools
import re

from django.contrib.auth.views import redirect_to_login
from django.http import Http404

from . import audit
from .models import AuditEvent, PracticeAccess, PracticeManager

AGB_RE = re.compile(r"^[0-9]{8}\Z")


def valid_agb(agb: str) -> bool:
    return bool(AGB_RE.match(agb or ""))


def is_manager(user, agb: str) -> bool:
    return bool(
        user.is_authenticated
        and user.is_active
        and valid_agb(agb)
        and PracticeManager.objects.filter(user=user, agb=agb).exists()
    )


def can_view(user, agb: str) -> bool:
    """Approved access or manager of the practice; read from the database on every request,
    so a revocation holds from the next request on."""
    if not (user.is_authenticated and user.is_active and valid_agb(agb)):
        return False
    return (
        PracticeAccess.objects.filter(user=user, agb=agb, status=PracticeAccess.APPROVED).exists()
        or PracticeManager.objects.filter(user=user, agb=agb).exists()
    )


def viewable_practices(user) -> list[str]:
    if not (user.is_authenticated and user.is_active):
        return []
    agbs = set(PracticeAccess.objects.filter(user=user, status=PracticeAccess.APPROVED).values_list("agb", flat=True))
    agbs |= set(PracticeManager.objects.filter(user=user).values_list("agb", flat=True))
    return sorted(agbs)


def deny(request, agb: str = "", detail: str = "") -> Http404:
    """Audit a refused request and return the 404 to raise."""
    audit.record(
        AuditEvent.DENIED, request=request, agb=agb if valid_agb(agb) else "", subject=request.path[:254], detail=detail
    )
    return Http404("Niet gevonden")


def require_practice(request, agb: str) -> str:
    if not can_view(request.user, agb):
        raise deny(request, agb, "no access to this practice")
    return agb


def require_manager(request, agb: str) -> str:
    if not is_manager(request.user, agb):
        raise deny(request, agb, "not a manager of this practice")
    return agb


def practice_view(view):
    """Login required for every page under /praktijk/: anonymous requests go to the login
    page (and leave an audit line)."""

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        if not request.user.is_authenticated:
            audit.record(AuditEvent.LOGIN_REQUIRED, request=request, subject=request.path[:254])
            return redirect_to_login(request.get_full_path())
        return view(request, *args, **kwargs)

    return wrapped
