"""Logins, logouts (also a session that ran out, portal/access/sessions.py), failed logins
(django.contrib.auth, sent for allauth's login too) and axes' lockouts go into the audit log.
No receiver writes a password, a code or a session key: only who, from where, and why."""

from __future__ import annotations

from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from portal.headers import LOGGED_OUT

from . import alarms, audit, devices, sessions
from .models import AuditEvent


def _login_name(credentials: dict) -> str:
    for key in ("email", "login", "username"):
        value = credentials.get(key)
        if value:
            return str(value)[:254]
    return audit.ANONYMOUS


@receiver(user_login_failed, dispatch_uid="spiegel_audit_login_failed")
def audit_login_failed(sender, credentials=None, request=None, **kwargs):
    name = _login_name(credentials or {})
    locked = bool(getattr(request, "axes_locked_out", False))
    audit.record(
        AuditEvent.LOGIN_FAILED,
        request=request,
        actor=name,
        subject=name,
        detail="refused during lockout" if locked else "wrong e-mail address or password",
    )


def login_factors(request, user) -> str:
    """How the login was proven, e.g. ``factors: password, webauthn``: allauth's records of the
    session's authentication steps (``"mfa"`` with the authenticator's type: ``totp``,
    ``recovery_codes`` or ``webauthn``). The audit line then tells a login with a security key
    from one with a code or with the password alone, without anything secret (ASVS 7.1.3)."""
    from allauth.account.authentication import get_authentication_records

    if request is None or not hasattr(request, "session") or user is None:
        return ""
    records = get_authentication_records(request, user)
    steps = [str(r.get("type") if r.get("method") == "mfa" else r.get("method")) for r in records]
    return "factors: " + ", ".join(steps) if steps else ""


@receiver(user_logged_in, dispatch_uid="spiegel_audit_login")
def audit_login(sender, request=None, user=None, **kwargs):
    if request is not None and hasattr(request, "session"):
        sessions.start(request.session)
    name = (user.email or user.get_username()) if user is not None else audit.ANONYMOUS
    audit.record(AuditEvent.LOGIN, request=request, actor=name, subject=name, detail=login_factors(request, user))
    devices.check_login(request, user)  # after the login line: a new device's notice follows it


@receiver(user_logged_out, dispatch_uid="spiegel_audit_logout")
def audit_logout(sender, request=None, user=None, **kwargs):
    if user is None:  # logging out a session that had no account: nothing happened
        return
    if request is not None:
        setattr(request, LOGGED_OUT, True)
    name = user.email or user.get_username()
    reason = getattr(request, sessions.EXPIRED, "") or "logged out"
    audit.record(AuditEvent.LOGOUT, request=request, actor=name, subject=name, detail=reason)


@receiver(user_locked_out, dispatch_uid="spiegel_audit_lockout")
def audit_lockout(sender, request=None, username=None, ip_address=None, **kwargs):
    name = str(username or audit.ANONYMOUS)[:254]
    audit.record(AuditEvent.LOCKOUT, request=request, actor=name, subject=name, detail=f"locked out (ip {ip_address})")
    alarms.limit_reached("lockout", name, request=request, detail=f"locked out after failed logins (ip {ip_address})")


def axes_username(request, credentials=None) -> str | None:
    """settings.AXES_USERNAME_CALLABLE: the login name whether axes sees allauth's credentials
    (``email=...``) or the login form (``login=...``), case-folded, so the per-account lock
    holds; with AXES_USERNAME_FORM_FIELD alone axes finds no name in allauth's credentials
    and would lock only the address."""
    name = None
    if credentials:
        name = next((credentials.get(k) for k in ("email", "login", "username") if credentials.get(k)), None)
    if not name and request is not None:
        data = getattr(request, "POST", {}) or {}
        name = data.get("login") or data.get("email") or data.get("username")
    return str(name).strip().lower() if name else None
