"""An account's own personal data: the export ("Mijn gegevens downloaden") and the deletion
("Account verwijderen") of /accounts/ (ASVS 8.3.2; docs/security.md, the privacy statement).

**Export.** Everything the portal keeps about the account, as JSON: the account's fields, its
e-mail addresses, its requests and access to practices, its manager and insurer appointments,
its API tokens (never the digest), its second factors (never the secret), its known devices
(digests only, devices.py), its consents, its sessions (never the key), the login records
django-axes keeps for its addresses, the contact messages it sent, and the lines of the audit
log about it or by it. Nothing of another person: in those lines and decisions another
account's e-mail address reads ``ander account``, and the address a line was written from is
left out when someone else wrote it.

**Deletion.** The account is deactivated and its personal data removed: e-mail addresses, name,
password (made unusable), requests and access, manager and insurer appointments, API tokens,
second factors, known devices, consents, sessions (every device is logged out), its login
records and its contact messages. The row itself stays, as ``verwijderd-<id>``, inactive, so
that nothing that points at it breaks and the address is free to sign up again. Where another
account's decision names it (``decided_by``, ``appointed_by``), the name becomes the pseudonym.

The audit log is append-only (portal.md, ASVS 7.3.3) and is *not* rewritten: its earlier
lines keep the address they were written with, as the record of who had access to which
practice's reports and who decided it. The privacy statement says so. New lines name the
account only by its pseudonym.

Two accounts cannot delete themselves here, so that a practice or the release keeps someone
accountable: an operator (staff; another operator removes the role first, ``spiegel portal
appoint-operator --remove``), and the last authorisation manager of a practice (a practice
always keeps one: another manager is appointed first).
"""

from __future__ import annotations

import logging
import re
import smtplib
from datetime import datetime

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from . import audit, notify
from .models import (
    ApiToken,
    AuditEvent,
    InsurerStaff,
    KnownDevice,
    PracticeAccess,
    PracticeManager,
    PrivacyConsent,
)

logger = logging.getLogger(__name__)
OTHER_ACCOUNT = "ander account"
PSEUDONYM = "verwijderd-{pk}"
EXPORT_FORMAT = "spiegel-personal-data/1"
_EMAIL = re.compile(r"[^\s@<>()\"',;:]+@[^\s@<>()\"',;:]+\.[A-Za-z]{2,}")


def addresses(user) -> set[str]:
    """Every e-mail address of the account, lower case (the account's own and allauth's)."""
    from allauth.account.models import EmailAddress

    found = {user.email} | set(EmailAddress.objects.filter(user=user).values_list("email", flat=True))
    return {a.strip().lower() for a in found if a and a.strip()}


def _any_of(field: str, values: set[str]) -> Q:
    query = Q(pk__in=[])
    for value in values:
        query |= Q(**{f"{field}__iexact": value})
    return query


def _scrub(value, own: set[str]):
    """``value`` with every e-mail address that is not the account's own replaced."""
    if isinstance(value, str):
        return _EMAIL.sub(lambda m: m[0] if m[0].lower() in own else OTHER_ACCOUNT, value)
    if isinstance(value, dict):
        return {k: _scrub(v, own) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v, own) for v in value]
    return value


def _when(value: datetime | None) -> str | None:
    return timezone.localtime(value).isoformat(timespec="seconds") if value else None


def _audit_lines(own: set[str]) -> list[dict]:
    if not own:
        return []
    lines = []
    for event in AuditEvent.objects.filter(_any_of("actor", own) | _any_of("subject", own)).order_by("at", "id"):
        by_self = event.actor.lower() in own
        lines.append(
            {
                "at": _when(event.at),
                "action": event.action,
                "what": event.get_action_display(),
                "actor": event.actor,
                "agb": event.agb,
                "subject": event.subject,
                "detail": event.detail,
                # the address a line was written from is the writer's: only the account's own
                "ip": event.ip if by_self else None,
            }
        )
    return lines


def _login_records(own: set[str]) -> list[dict]:
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog

    records = []
    for kind, model in (("login", AccessLog), ("failed attempts", AccessAttempt), ("failure", AccessFailureLog)):
        for row in model.objects.filter(_any_of("username", own)).order_by("attempt_time", "id"):
            record = {
                "kind": kind,
                "at": _when(row.attempt_time),
                "ip": row.ip_address,
                "browser": row.user_agent,
                "path": row.path_info,
            }
            if kind == "login":
                record["logout_at"] = _when(row.logout_time)
            if kind == "failed attempts":
                record["failures"] = row.failures_since_start
            records.append(record)
    return records


def _contact_messages(user, own: set[str]):
    from portal.public.models import ContactMessage

    return ContactMessage.objects.filter(Q(user=user) | _any_of("email", own))


def export(user, *, current_session_key: str | None = None) -> dict:
    """The account's personal data, as the JSON download gives it."""
    from allauth.account.models import EmailAddress
    from allauth.mfa.models import Authenticator
    from allauth.usersessions.models import UserSession

    own = addresses(user)
    data = {
        "format": EXPORT_FORMAT,
        "exported_at": _when(timezone.now()),
        "account": {
            "id": user.pk,
            "username": user.get_username(),
            "email": user.email,
            "first_name": user.first_name,
            "last_name": user.last_name,
            "date_joined": _when(user.date_joined),
            "last_login": _when(user.last_login),
            "is_active": user.is_active,
            "is_staff": user.is_staff,
        },
        "email_addresses": [
            {"email": e.email, "verified": e.verified, "primary": e.primary}
            for e in EmailAddress.objects.filter(user=user).order_by("id")
        ],
        "practice_access": [
            {
                "agb": a.agb,
                "status": a.status,
                "requested_at": _when(a.requested_at),
                "decided_at": _when(a.decided_at),
                "decided_by": a.decided_by,
            }
            for a in PracticeAccess.objects.filter(user=user).order_by("agb")
        ],
        "practice_manager": [
            {"agb": m.agb, "appointed_at": _when(m.appointed_at), "appointed_by": m.appointed_by}
            for m in PracticeManager.objects.filter(user=user).order_by("agb")
        ],
        "insurer_staff": [
            {"insurer": s.insurer_id, "appointed_at": _when(s.appointed_at), "appointed_by": s.appointed_by}
            for s in InsurerStaff.objects.filter(user=user)
        ],
        "api_tokens": [
            {
                "name": t.name,
                "prefix": t.prefix,
                "created_at": _when(t.created_at),
                "expires_at": _when(t.expires_at),
                "revoked_at": _when(t.revoked_at),
                "last_used_at": _when(t.last_used_at),
            }
            for t in ApiToken.objects.filter(user=user).order_by("created_at", "id")
        ],
        "second_factors": [
            {"type": a.type, "created_at": _when(a.created_at), "last_used_at": _when(a.last_used_at)}
            for a in Authenticator.objects.filter(user=user).order_by("id")
        ],
        "known_devices": [
            {"digest": d.digest, "first_seen_at": _when(d.first_seen_at), "last_seen_at": _when(d.last_seen_at)}
            for d in KnownDevice.objects.filter(user=user)
        ],
        "privacy_consents": [
            {"statement": c.statement, "given_at": _when(c.given_at)} for c in PrivacyConsent.objects.filter(user=user)
        ],
        "sessions": [
            {
                "started_at": _when(s.created_at),
                "last_seen_at": _when(s.last_seen_at),
                "ip": s.ip,
                "browser": s.user_agent,
                "this_session": s.session_key == current_session_key,
            }
            for s in UserSession.objects.purge_and_list(user)
        ],
        "login_records": _login_records(own),
        "contact_messages": [
            {
                "received_at": _when(m.created_at),
                "topic": m.topic,
                "insurer": m.insurer,
                "name": m.name,
                "email": m.email,
                "practice_agb": m.practice_agb,
                "subject": m.subject,
                "message": m.message,
                "ip": m.ip_address,
            }
            for m in _contact_messages(user, own).order_by("created_at", "id")
        ],
        "audit_log": _audit_lines(own),
    }
    return _scrub(data, own)


# -- deletion ---------------------------------------------------------------------------------------


class DeletionRefused(Exception):
    """Why this account cannot delete itself (in Dutch, shown on the page)."""


def deletion_refusal(user) -> str | None:
    """None when the account may delete itself; else the reason, in the page's words."""
    if user.is_staff or user.is_superuser:
        return (
            "Een operatoraccount kan niet zelf worden verwijderd: de vrijgave van spiegelinformatie moet "
            "herleidbaar blijven tot een operator. Vraag een andere operator eerst uw operatorrol in te trekken; "
            "daarna kunt u uw account hier verwijderen."
        )
    sole = [
        agb
        for agb in PracticeManager.objects.filter(user=user).values_list("agb", flat=True).order_by("agb")
        if PracticeManager.objects.filter(agb=agb).count() == 1
    ]
    if sole:
        return (
            f"U bent de enige autorisatiebeheerder van praktijk {', '.join(sole)}. Een praktijk houdt altijd "
            "ten minste één autorisatiebeheerder: benoem eerst een andere beheerder op de toegangspagina van de "
            "praktijk, of vraag de beheerders van het portaal om hulp via het contactformulier."
        )
    return None


def delete_account(user, *, request=None) -> str:
    """Deactivate the account and remove its personal data (see the module's text); the audit
    line ``account_deleted``. Returns the pseudonym. The caller logs the request's session out."""
    from allauth.account.models import EmailAddress
    from allauth.mfa.models import Authenticator
    from allauth.usersessions.models import UserSession
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog

    own = addresses(user)
    name = user.email or user.get_username()
    pseudonym = PSEUDONYM.format(pk=user.pk)
    current = getattr(getattr(request, "session", None), "session_key", None)
    with transaction.atomic():
        # locked, so that two managers of one practice cannot both leave it at once
        managed = list(PracticeManager.objects.select_for_update().filter(user=user).values_list("agb", flat=True))
        reason = deletion_refusal(user)
        if reason:
            raise DeletionRefused(reason)
        for agb in managed:
            audit.record(
                AuditEvent.MANAGER_REMOVED, request=request, actor=name, agb=agb, subject=name, detail="account deleted"
            )
        for agb in PracticeAccess.objects.filter(user=user, status=PracticeAccess.APPROVED).values_list(
            "agb", flat=True
        ):
            audit.record(
                AuditEvent.REVOCATION, request=request, actor=name, agb=agb, subject=name, detail="account deleted"
            )
        removed = {
            "practice access": PracticeAccess.objects.filter(user=user).delete()[0],
            "manager roles": PracticeManager.objects.filter(user=user).delete()[0],
            "insurer appointments": InsurerStaff.objects.filter(user=user).delete()[0],
            "API tokens": ApiToken.objects.filter(user=user).delete()[0],
            "second factors": Authenticator.objects.filter(user=user).delete()[0],
            "consents": PrivacyConsent.objects.filter(user=user).delete()[0],
            "known devices": KnownDevice.objects.filter(user=user).delete()[0],
            "e-mail addresses": EmailAddress.objects.filter(user=user).delete()[0],
            "contact messages": _contact_messages(user, own).delete()[0],
            "login records": sum(
                model.objects.filter(_any_of("username", own)).delete()[0]
                for model in (AccessLog, AccessFailureLog, AccessAttempt)
            ),
        }
        ended = 0
        for session in UserSession.objects.filter(user=user):
            if session.session_key != current:
                session.end()
                ended += 1
        UserSession.objects.filter(user=user).delete()
        removed["other sessions"] = ended
        # other accounts' rows that name this one as the decider
        for model, field in (
            (PracticeAccess, "decided_by"),
            (PracticeManager, "appointed_by"),
            (InsurerStaff, "appointed_by"),
        ):
            model.objects.filter(_any_of(field, own)).update(**{field: pseudonym})
        user.username = pseudonym
        user.email = user.first_name = user.last_name = ""
        user.set_unusable_password()
        user.is_active = user.is_staff = user.is_superuser = False
        user.last_login = None
        user.save()
        user.groups.clear()
        user.user_permissions.clear()
        summary = ", ".join(f"{what} {count}" for what, count in removed.items() if count)
        audit.record(
            AuditEvent.ACCOUNT_DELETED,
            request=request,
            actor=name,
            subject=name,
            detail=f"account {user.pk} deactivated, personal data removed ({summary or 'nothing else'}); "
            f"now {pseudonym}; earlier audit lines are kept as written",
        )
    try:  # done and audited: a mail server that is down must not turn that into an error page
        for agb in managed:
            notify.decision(AuditEvent.MANAGER_REMOVED, agb=agb, actor=name, subject_email=name, managers_only=True)
    except (OSError, smtplib.SMTPException):
        logger.warning("account %s deleted; the mail to the managers of its practices failed", user.pk, exc_info=True)
    _mail_owner(sorted(own))
    return pseudonym


def _mail_owner(recipients: list[str]) -> None:
    """The owner hears of it, as of a password change: someone with the password did this."""
    if not recipients:
        return
    send_mail(
        f"{settings.ACCOUNT_EMAIL_SUBJECT_PREFIX}Uw account is verwijderd",
        "Uw account van Mijn Spiegel is verwijderd: u kunt er niet meer mee inloggen, en uw gegevens zijn "
        "gewist zoals de privacyverklaring beschrijft (/privacy/).\n\n"
        "Heeft u dit niet zelf gedaan? Neem dan direct contact met ons op via het contactformulier (/contact/).",
        settings.DEFAULT_FROM_EMAIL,
        recipients,
        fail_silently=True,
    )
