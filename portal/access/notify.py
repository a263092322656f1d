"""E-mails about access decisions: the account concerned and every manager of the practice
get one on each decision (portal.md); and the owner's notices of a security event on the account
(a login from a new device, a replayed code, an address added)."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import send_mail

from .models import PracticeManager

TEXTS = {
    "request": (
        "Nieuwe aanvraag voor toegang tot praktijk {agb}",
        "{subject} vraagt toegang tot de spiegelinformatie van praktijk {agb}.\nBeoordeel de aanvraag op {url}.",
    ),
    "grant": (
        "Toegang tot praktijk {agb} toegekend",
        "{actor} heeft {subject} toegang gegeven tot de spiegelinformatie van praktijk {agb}.",
    ),
    "refusal": (
        "Aanvraag voor praktijk {agb} geweigerd",
        "{actor} heeft de aanvraag van {subject} voor toegang tot praktijk {agb} geweigerd.",
    ),
    "revocation": (
        "Toegang tot praktijk {agb} ingetrokken",
        "{actor} heeft de toegang van {subject} tot praktijk {agb} ingetrokken.",
    ),
    "manager_appointed": (
        "Nieuwe autorisatiebeheerder voor praktijk {agb}",
        "{actor} heeft {subject} benoemd tot autorisatiebeheerder van praktijk {agb}.",
    ),
    "manager_removed": (
        "Autorisatiebeheerder van praktijk {agb} verwijderd",
        "{actor} heeft {subject} verwijderd als autorisatiebeheerder van praktijk {agb}.",
    ),
}


def manager_addresses(agb: str) -> list[str]:
    return sorted(
        set(PracticeManager.objects.filter(agb=agb, user__is_active=True).values_list("user__email", flat=True)) - {""}
    )


def decision(
    kind: str,
    *,
    agb: str,
    actor: str,
    subject_email: str,
    managers_only: bool = False,
    extra: list[str] | None = None,
    url: str = "",
) -> None:
    """Mail one decision (or a new request) to the account concerned and the managers."""
    title, body = TEXTS[kind]
    fields = {"agb": agb, "actor": actor, "subject": subject_email, "url": url or f"/praktijk/{agb}/toegang/"}
    recipients = set(manager_addresses(agb)) | set(extra or ())
    if not managers_only and subject_email:
        recipients.add(subject_email)
    if not recipients:
        return
    send_mail(
        settings.ACCOUNT_EMAIL_SUBJECT_PREFIX + title.format(**fields),
        body.format(**fields) + "\n\nMijn Spiegel\n",
        None,
        sorted(recipients),
        fail_silently=False,
    )


def owner_notice(address: str, title: str, body: str, *, fail_silently: bool = True) -> None:
    """Mail the account's owner: the portal's subject prefix and signature. By default it never
    raises: a notice follows what happened (a login, a refused code), and a mail server that is
    down must not undo it. A caller that tries again later (token_notices.py) wants the error."""
    if not address:
        return
    send_mail(
        settings.ACCOUNT_EMAIL_SUBJECT_PREFIX + title,
        body + "\n\nMijn Spiegel\n",
        None,
        [address],
        fail_silently=fail_silently,
    )
