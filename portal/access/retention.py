"""The retention periods (ASVS 8.3.8; the privacy statement, /privacy/): what is past its
period is deleted by ``spiegel portal purge-expired`` (``python portal/manage.py
purge_expired``), which ``deploy/spiegel-portal-purge.timer`` runs daily.

- sessions: once expired (30 minutes unused, or 8 hours after the login: ``sessions.py``),
  with allauth's records of them;
- django-axes' login records (logins, failed attempts, failures): older than
  ``RETENTION_LOGIN_DAYS`` (``SPIEGEL_PORTAL_RETENTION_LOGIN_DAYS``, default 90);
- contact messages: received longer ago than ``RETENTION_CONTACT_DAYS``
  (``SPIEGEL_PORTAL_RETENTION_CONTACT_DAYS``, 365);
- sign-ups whose address was never confirmed: joined longer ago than ``RETENTION_SIGNUP_DAYS``
  (``SPIEGEL_PORTAL_RETENTION_SIGNUP_DAYS``, 7).

The same daily run mails the owners of API tokens that expire within a week, once per token
(token_notices.py, ASVS 2.3.3): not a deletion, but it needs the same daily clock.

An unconfirmed sign-up is an account that has e-mail addresses, none of them verified, never
logged in, and has no role an operator gave it (staff, manager, insurer staff): it can do
nothing, and its confirmation link expired after 3 days. It is deleted outright.

Not on a schedule: an account's own data lasts until the account is deleted (by its owner,
``personal_data.py``, or by operators); the audit log is append-only and is kept (portal.md).
Each run writes one audit line with its counts, so the log shows that the purge runs.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from importlib import import_module

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from . import audit, token_notices
from .models import AuditEvent, InsurerStaff, PracticeManager

ACTOR = "bewaartermijnen (spiegel portal purge-expired)"


@dataclass(frozen=True)
class Purged:
    sessions: int
    login_records: int
    contact_messages: int
    unverified_signups: int
    token_notices: int = 0

    def lines(self) -> list[str]:
        return [
            f"expired sessions: {self.sessions} deleted",
            f"login records (django-axes) older than {settings.RETENTION_LOGIN_DAYS} days: "
            f"{self.login_records} deleted",
            f"contact messages older than {settings.RETENTION_CONTACT_DAYS} days: {self.contact_messages} deleted",
            f"unconfirmed sign-ups older than {settings.RETENTION_SIGNUP_DAYS} days: {self.unverified_signups} deleted",
            f"API tokens expiring within {token_notices.NOTICE_DAYS} days: {self.token_notices} owners mailed",
        ]


def _expired_sessions(now: datetime) -> int:
    """Django's ``clearsessions`` (the engine's ``clear_expired``), counted; then allauth's
    records of sessions that are gone."""
    from allauth.usersessions.models import UserSession

    engine = import_module(settings.SESSION_ENGINE)
    count = 0
    if settings.SESSION_ENGINE in ("django.contrib.sessions.backends.db", "django.contrib.sessions.backends.cached_db"):
        from django.contrib.sessions.models import Session

        count = Session.objects.filter(expire_date__lt=now).count()
    engine.SessionStore.clear_expired()
    for record in UserSession.objects.all().iterator():
        record.purge()  # deletes the record when its session is gone or no longer logged in
    return count


def _deleted(queryset) -> int:
    """Rows of the queryset's own model deleted (not the rows that went with them)."""
    return queryset.delete()[1].get(queryset.model._meta.label, 0)


def _login_records(cutoff: datetime) -> int:
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog

    return sum(
        _deleted(model.objects.filter(attempt_time__lt=cutoff))
        for model in (AccessLog, AccessFailureLog, AccessAttempt)
    )


def _contact_messages(cutoff: datetime) -> int:
    from portal.public.models import ContactMessage

    return _deleted(ContactMessage.objects.filter(created_at__lt=cutoff))


def _unverified_signups(cutoff: datetime) -> int:
    from allauth.account.models import EmailAddress
    from django.contrib.auth import get_user_model

    User = get_user_model()
    candidates = (
        User.objects.filter(
            date_joined__lt=cutoff,
            last_login__isnull=True,
            is_staff=False,
            is_superuser=False,
            emailaddress__isnull=False,
        )
        .exclude(pk__in=EmailAddress.objects.filter(verified=True).values("user_id"))
        .exclude(pk__in=PracticeManager.objects.values("user_id"))
        .exclude(pk__in=InsurerStaff.objects.values("user_id"))
        .values_list("pk", flat=True)
        .distinct()
    )
    pks = list(candidates)
    if not pks:
        return 0
    return _deleted(User.objects.filter(pk__in=pks))


def purge(now: datetime | None = None) -> Purged:
    """Delete what is past its retention period; audited (counts only, never whose)."""
    now = now or timezone.now()
    sessions = _expired_sessions(now)
    with transaction.atomic():
        purged = Purged(
            sessions=sessions,
            login_records=_login_records(now - timedelta(days=settings.RETENTION_LOGIN_DAYS)),
            contact_messages=_contact_messages(now - timedelta(days=settings.RETENTION_CONTACT_DAYS)),
            unverified_signups=_unverified_signups(now - timedelta(days=settings.RETENTION_SIGNUP_DAYS)),
        )
    # after the deletions' transaction: a slow mail server must not hold it open
    purged = replace(purged, token_notices=token_notices.send(now))
    audit.record(AuditEvent.RETENTION_PURGE, actor=ACTOR, detail="; ".join(purged.lines()))
    return purged
