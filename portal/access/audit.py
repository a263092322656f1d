"""Writing the audit log (models.AuditEvent): one function, used by views, signals and commands."""

from __future__ import annotations

from .client_ip import client_ip
from .models import AuditEvent

OPERATOR_CLI = "operator (spiegel portal)"
ANONYMOUS = "anoniem"


def actor_of(request) -> str:
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return user.email or user.get_username()
    return ANONYMOUS


def _text(value: str, limit: int) -> str:
    """Request text as it may be stored: PostgreSQL text holds no NUL byte (a path ending in
    %00 would otherwise turn an audited 404 into a 500), and other control characters are
    shown escaped so that one audit line stays one line."""
    cleaned = "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in value)
    return cleaned[:limit]


def record(
    action: str, *, request=None, actor: str | None = None, agb: str = "", subject: str = "", detail: str = ""
) -> AuditEvent:
    return AuditEvent.objects.create(
        action=action,
        actor=_text(actor or actor_of(request), 254),
        agb=_text(agb, 8),
        subject=_text(subject, 254),
        detail=_text(detail, 500),
        ip=client_ip(request) if request is not None else None,
    )
