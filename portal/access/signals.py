"""Failed logins (django.contrib.auth, sent for allauth's login too) and axes' lockouts go
into the audit log."""

from __future__ import annotations

from axes.signals import user_locked_out
from django.contrib.auth.signals import user_login_failed
from django.dispatch import receiver

from . import audit
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


@receiver(user_locked_out, dispatch_uid="spiegel_audit_lockout")
def audit_lockout(sender, request=None, username=None, ip_address=None, **kwargs):
    name = str(username or audit.ANONYMOUS)[:254]
    audit.record(AuditEvent.LOCKOUT, request=request, actor=name, subject=name, detail=f"locked out (ip {ip_address})")


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
