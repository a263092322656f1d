"""Personal API tokens (portal.md, "The read API"): made, found and revoked here only.

A token is ``spg_`` + 8 characters of prefix + ``_`` + 40 random characters. The prefix is
stored as it is, so that the owner's page and the audit log can name a token without
holding it; the whole token is stored only as its SHA-256. A secret of 240 random bits
needs no slow hash (nobody can guess one from its digest), and a digest lets a request
find its token with one indexed lookup.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from . import audit
from .models import ApiToken, AuditEvent

TOKEN_PREFIX = "spg_"
DEFAULT_DAYS = 90
MAX_DAYS = 366


class TokenRefused(ValueError):
    """A token that cannot be made (the message says why, in Dutch)."""


@dataclass(frozen=True)
class NewToken:
    token: ApiToken
    secret: str  # the whole token: shown once, never stored


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def create_token(user, *, name: str = "", days: int = DEFAULT_DAYS, actor: str | None = None, request=None) -> NewToken:
    """A new token for ``user``, valid ``days`` days (1 to 366); audited."""
    if not (1 <= int(days) <= MAX_DAYS):
        raise TokenRefused(f"Een API-sleutel is 1 tot {MAX_DAYS} dagen geldig.")
    if not user.is_active:
        raise TokenRefused("Dit account is geblokkeerd.")
    prefix = secrets.token_hex(4)
    secret = f"{TOKEN_PREFIX}{prefix}_{secrets.token_urlsafe(30)}"
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=user,
            name=(name or "").strip()[:100],
            prefix=prefix,
            key_hash=digest(secret),
            expires_at=timezone.now() + timedelta(days=int(days)),
        )
        audit.record(
            AuditEvent.TOKEN_CREATED,
            request=request,
            actor=actor or (user.email or user.get_username()),
            subject=user.email or user.get_username(),
            detail=f"token {prefix}, valid until {timezone.localtime(token.expires_at):%Y-%m-%d}",
        )
    return NewToken(token, secret)


def find_token(secret: str) -> ApiToken | None:
    """The usable token this secret is (not revoked, not expired, of an active account), else None.
    Read from the database on every request, so a revocation holds from the next request on."""
    if not secret or not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return None
    # the account's insurer appointment in the same query: every API call asks for it next
    token = ApiToken.objects.select_related("user", "user__insurer_staff").filter(key_hash=digest(secret)).first()
    if token is None or not token.is_usable():
        return None
    return token


def revoke_token(token: ApiToken, *, actor: str, request=None) -> bool:
    """Revoke ``token`` now; False when it was revoked already."""
    with transaction.atomic():
        fresh = ApiToken.objects.select_for_update().get(pk=token.pk)
        if fresh.revoked_at is not None:
            return False
        fresh.revoked_at = timezone.now()
        fresh.save(update_fields=["revoked_at"])
        audit.record(
            AuditEvent.TOKEN_REVOKED,
            request=request,
            actor=actor,
            subject=fresh.user.email or fresh.user.get_username(),
            detail=f"token {fresh.prefix}",
        )
    return True


def mark_used(token: ApiToken) -> None:
    """Remember when a token was last used, at most once a minute (one UPDATE, no read)."""
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
