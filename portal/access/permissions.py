"""The one access check of the portal, for pages and the read API alike: who may see, and
who may manage, which practice, and who reads the index tables of every practice.

Every view under /praktijk/ goes through ``practice_view`` (anonymous -> login page,
audited) and then ``require_practice`` or ``require_manager``; both answer an invalid
AGB, a practice the account has no access to, and a practice that does not exist with
the same 404 (and an audit line), so a response never tells whether another practice
exists. A practice's *report* is only ever ``require_practice``: insurer users read the
index rows of every practice (``index_scope``, ``can_read_practice_figures``) but never
a report (portal.md: its use is reserved to the practice).

Operators (the portal's staff, docs/release-four-eyes.md) are active staff accounts with a
TOTP authenticator (allauth's MFA): ``operator_shortfall`` says what an account lacks, for
the CLI's token check as for pages, and ``require_operator`` guards the staff pages: the
session must also have passed the second factor.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from urllib.parse import urlencode

from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpResponseRedirect
from django.urls import reverse

from . import audit
from .models import AuditEvent, InsurerStaff, PracticeAccess, PracticeManager

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


def insurer_of(user) -> str | None:
    """The insurer (concern id) the account is staff of, or None."""
    if not (user.is_authenticated and user.is_active):
        return None
    try:
        # the reverse one-to-one: read once per request (the user object is the request's own),
        # or already loaded with the API token (tokens.find_token)
        return user.insurer_staff.insurer_id
    except InsurerStaff.DoesNotExist:
        return None


def is_insurer_user(user) -> bool:
    return insurer_of(user) is not None


@dataclass(frozen=True)
class IndexScope:
    """Which practices' rows of an index table a caller may read: every practice (insurer
    users) or the account's own practices (practice users; none for an account without any)."""

    every_practice: bool
    agbs: frozenset[str] = frozenset()

    def allows(self, agb: str) -> bool:
        return self.every_practice or agb in self.agbs

    @property
    def practices(self) -> frozenset[str] | None:
        """The practices whose rows may be read; None for every practice."""
        return None if self.every_practice else self.agbs

    def rows(self, rows):
        """The rows (dicts with ``practice_agb``) this scope may read, in their order."""
        if self.every_practice:
            return list(rows)
        return [row for row in rows if row.get("practice_agb") in self.agbs]


def index_scope(user) -> IndexScope | None:
    """What the account may read of the index tables; None for anonymous or blocked callers."""
    if not (user.is_authenticated and user.is_active):
        return None
    if is_insurer_user(user):
        return IndexScope(every_practice=True)
    return IndexScope(every_practice=False, agbs=frozenset(viewable_practices(user)))


def can_read_practice_figures(user, agb: str) -> bool:
    """A practice's index rows over its periods: its own users and managers, and insurer users.
    (Its reports: ``can_view`` only.)"""
    return valid_agb(agb) and (is_insurer_user(user) or can_view(user, agb))


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


def require_insurer(request) -> str:
    """The insurer the logged-in account is staff of; else the same 404 as everywhere."""
    insurer = insurer_of(request.user)
    if insurer is None:
        raise deny(request, "", "not an insurer user")
    return insurer


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


def login_required_view(view):
    """The same login check as ``practice_view``, for the other pages behind an account
    (/verzekeraar/, the token page): anonymous requests go to the login page, audited."""
    return practice_view(view)


# -- operators: the portal's staff, with a second factor -----------------------------------------

MFA_METHOD = "mfa"  # allauth's authentication record of a TOTP or recovery code


def has_totp(user) -> bool:
    from allauth.mfa.models import Authenticator

    return Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()


def operator_shortfall(user) -> str | None:
    """None for an operator (an active staff account with a TOTP authenticator); otherwise what
    is missing: ``anonymous``, ``inactive``, ``not_staff`` or ``no_totp``. Read from the
    database each time, so taking away staff or the authenticator holds at once."""
    if user is None or not user.is_authenticated:
        return "anonymous"
    if not user.is_active:
        return "inactive"
    if not user.is_staff:
        return "not_staff"
    if not has_totp(user):
        return "no_totp"
    return None


def is_operator(user) -> bool:
    return operator_shortfall(user) is None


def passed_second_factor(request) -> bool:
    """This session's login (or a later re-authentication) included the second factor, as
    allauth records it in the session (``"method": "mfa"``) for this very account."""
    from allauth.account.authentication import get_authentication_records

    return any(r.get("method") == MFA_METHOD for r in get_authentication_records(request, request.user))


def require_operator(request):
    """The staff pages' check: None when ``request.user`` is an operator whose session passed
    the second factor; otherwise the response to give instead:

    - anonymous: to the login page (audited), which asks for the code of an account with TOTP;
    - not staff, or blocked: the same 404 as everywhere (audited), raised;
    - staff without TOTP: to allauth's page that sets it up (/accounts/2fa/totp/activate/):
      nothing else of the staff area until then;
    - staff with TOTP whose session did not pass it (a login that bypassed allauth's stage):
      to allauth's re-authentication with the code, then back.
    """
    shortfall = operator_shortfall(request.user)
    if shortfall == "anonymous":
        audit.record(AuditEvent.LOGIN_REQUIRED, request=request, subject=request.path[:254])
        return redirect_to_login(request.get_full_path())
    if shortfall in ("inactive", "not_staff"):
        raise deny(request, "", "not an operator")
    if shortfall == "no_totp":
        audit.record(AuditEvent.OPERATOR_REFUSED, request=request, subject=request.path[:254], detail="no TOTP yet")
        return HttpResponseRedirect(reverse("mfa_activate_totp"))
    if not passed_second_factor(request):
        audit.record(
            AuditEvent.OPERATOR_REFUSED, request=request, subject=request.path[:254], detail="session without TOTP"
        )
        return HttpResponseRedirect(reverse("mfa_reauthenticate") + "?" + urlencode({"next": request.get_full_path()}))
    return None


def operator_view(view):
    """A staff page: ``require_operator`` before the view."""

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        response = require_operator(request)
        if response is not None:
            return response
        return view(request, *args, **kwargs)

    return wrapped
