"""Renewal notices for personal API tokens (ASVS 2.3.3): a token expires (tokens.py, 1 to 366
days), and a script that uses it stops working on that day. So the daily ``spiegel portal
purge-expired`` (retention.py) mails each owner when a token of theirs expires within
``NOTICE_DAYS`` days: its name, its expiry date and how to make a new one. A token gets that
mail once (``ApiToken.expiry_notice_sent_at``); a revoked or expired token, or one of an
inactive account, gets none. A mail that cannot be sent is tried again the next day."""

from __future__ import annotations

import logging
import smtplib
from collections import defaultdict
from datetime import datetime, timedelta

from django.utils import timezone

from . import notify
from .models import ApiToken

logger = logging.getLogger(__name__)
NOTICE_DAYS = 7


def due(now: datetime):
    """The usable tokens that expire within NOTICE_DAYS and whose owner has not been told."""
    return ApiToken.objects.filter(
        revoked_at__isnull=True,
        expiry_notice_sent_at__isnull=True,
        expires_at__gt=now,
        expires_at__lte=now + timedelta(days=NOTICE_DAYS),
        user__is_active=True,
    ).exclude(user__email="")


def _label(token: ApiToken) -> str:
    name = f'"{token.name}"' if token.name else "zonder omschrijving"
    when = timezone.localtime(token.expires_at).strftime("%d-%m-%Y om %H:%M")
    return f"- API-sleutel {name} (begint met {token.prefix}): verloopt op {when}"


def _mail(address: str, tokens: list[ApiToken]) -> None:
    """Raises when the mail cannot be sent, so that the token stays due for the next day."""
    notify.owner_notice(
        address,
        "Uw API-sleutel verloopt binnenkort",
        (
            "Binnen een week verloopt deze persoonlijke API-sleutel"
            if len(tokens) == 1
            else "Binnen een week verlopen deze persoonlijke API-sleutels"
        )
        + " van uw account van Mijn Spiegel:\n\n"
        + "\n".join(_label(t) for t in tokens)
        + "\n\nDaarna werkt een script dat zo'n sleutel gebruikt niet meer. Maak op tijd een nieuwe sleutel op "
        "/accounts/tokens/ (Nieuwe sleutel maken), zet die in uw script en trek daarna de oude in.\n\n"
        "Gebruikt u de sleutel niet meer? Dan hoeft u niets te doen.",
        fail_silently=False,
    )


def send(now: datetime | None = None) -> int:
    """Mail each owner about its tokens that are due (one mail per owner, naming each token);
    returns the number of owners mailed. A token is marked only once its mail has gone."""
    now = now or timezone.now()
    by_owner: dict[str, list[ApiToken]] = defaultdict(list)
    for token in due(now).select_related("user").order_by("expires_at", "id"):
        by_owner[token.user.email].append(token)
    told = 0
    for address, tokens in sorted(by_owner.items()):
        try:
            _mail(address, tokens)
        except (OSError, smtplib.SMTPException):
            logger.warning("the expiry notice for %d API token(s) could not be sent", len(tokens), exc_info=True)
            continue
        ApiToken.objects.filter(pk__in=[t.pk for t in tokens]).update(expiry_notice_sent_at=now)
        told += 1
    return told
