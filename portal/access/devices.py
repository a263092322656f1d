"""A notice of a login from a new device (ASVS 2.2.3): when an account logs in from a browser
and network it has not logged in from before, its owner gets a mail saying when, with which
browser and from which address, so that a login by someone else with the password is noticed.

What is kept is minimal (``models.KnownDevice``): per account, the SHA-256 of the browser's user
agent and the network prefix of the address (IPv4 /24, IPv6 /48), never the user agent or the
address themselves. Version numbers are taken out of the user agent first, so that a browser
update is not a new device; a new browser, or the same browser on another network, is.

The first login of an account (no device known yet) mails nothing: that is the account's own
start. A login without a known address (no ``REMOTE_ADDR``, as Django's ``force_login`` in tests)
is not compared. The rows go with the account's export and deletion (personal_data.py).
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import re

from django.db import IntegrityError, transaction
from django.utils import timezone

from . import audit, notify
from .client_ip import client_ip
from .models import AuditEvent, KnownDevice

logger = logging.getLogger(__name__)
_VERSION = re.compile(r"\d+(?:[._]\d+)*")
BROWSER_LIMIT = 200


def network(ip: str) -> str:
    """The address's network: a /24 for IPv4, a /48 for IPv6 (a provider may change the rest)."""
    address = ipaddress.ip_address(ip)
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


def digest(user_agent: str, ip: str) -> str:
    """The device as stored: SHA-256 of the versionless user agent and the network prefix."""
    browser = _VERSION.sub("#", user_agent.strip())
    return hashlib.sha256(f"{browser}\n{network(ip)}".encode()).hexdigest()


def _remember(user, key: str) -> tuple[bool, bool]:
    """Record the device; returns (it is new, the account knew other devices before)."""
    now = timezone.now()
    with transaction.atomic():
        known_before = KnownDevice.objects.filter(user=user).exists()
        updated = KnownDevice.objects.filter(user=user, digest=key).update(last_seen_at=now)
        if updated:
            return False, known_before
        try:
            with transaction.atomic():
                KnownDevice.objects.create(user=user, digest=key, first_seen_at=now, last_seen_at=now)
        except IntegrityError:  # the same device logging in twice at once: seen
            return False, known_before
    return True, known_before


def _mail(user, *, browser: str, ip: str) -> None:
    when = timezone.localtime().strftime("%d-%m-%Y om %H:%M")
    notify.owner_notice(
        user.email,
        "Ingelogd vanaf een nieuw apparaat",
        f"Op {when} is op uw account van Mijn Spiegel ingelogd vanaf een browser en netwerk die wij "
        f"voor uw account nog niet kenden.\n\nBrowser: {browser or 'onbekend'}\nIP-adres: {ip}\n\n"
        "Was u dit zelf? Dan hoeft u niets te doen.\n"
        "Was u dit niet, wijzig dan uw wachtwoord (/accounts/password/change/) en beëindig de sessies "
        "die u niet kent (/accounts/sessions/).",
    )


def check_login(request, user) -> bool:
    """At each login (a ``user_logged_in`` receiver): remember the device, and mail the owner
    (and audit it) when it is new and the account had logged in before. True when mailed."""
    ip = client_ip(request) if request is not None else None
    if user is None or not ip:
        return False
    browser = (request.META.get("HTTP_USER_AGENT") or "")[:BROWSER_LIMIT]
    new, known_before = _remember(user, digest(browser, ip))
    if not (new and known_before and user.email):
        return False
    _mail(user, browser=browser, ip=ip)
    name = user.email or user.get_username()
    audit.record(AuditEvent.NEW_DEVICE, request=request, actor=name, subject=name, detail=f"browser: {browser}")
    return True
