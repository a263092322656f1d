"""Abnormal numbers of requests, told to the operations team (ASVS 8.1.4).

The portal's limits already detect them and refuse: an account locked after failed logins
(django-axes), a second factor locked after wrong codes (``operators/mfa.py``), the read
API's rate per caller (429) and the contact form's rate per sender. Each refusal is audited;
this module also sends the platform's alert (``orchestration/runs/alerts``, docs/alerts.md):
mail to ``SPIEGEL_ALERT_TO`` and the webhook, once per limit, caller and hour. The shared
cache lets only the first refusal of an hour through (the gunicorn workers count together),
and the alerts' sent log keeps the key, so a restart or another worker does not send it again.

An alert is never allowed to change the refusal: whatever goes wrong in sending is logged,
and the caller gets the same answer as without it.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from orchestration.core.settings import SpiegelPaths
from orchestration.runs.alerts import messages, sending
from orchestration.runs.alerts.settings import AlertSettings
from portal.access.client_ip import client_ip

log = logging.getLogger("spiegel.portal.alarms")
WINDOW_SECONDS = 3600
SEND_LOCK_SECONDS = 5  # the sent log's lock; a busy alerts check must not hold up a refusal long
# alerts a request may wait for in one hour, whatever the callers: sending happens in the request
# (up to the SMTP timeout), so an attack on many accounts at once must not hold every worker
MAX_ALERTS_PER_HOUR = 20


def _first_this_hour(limit: str, who: str, hour: str) -> bool:
    digest = hashlib.sha256(f"{limit}|{who}|{hour}".encode()).hexdigest()[:24]
    return cache.add(f"spiegel.alarm.{digest}", 1, timeout=WINDOW_SECONDS)


def _alerts_this_hour(hour: str) -> int:
    """Counts this one in; the count of alerts begun in ``hour`` (all limits, all callers)."""
    key = f"spiegel.alarm.count.{hour}"
    cache.add(key, 0, timeout=WINDOW_SECONDS)
    try:
        return cache.incr(key)
    except ValueError:  # expired between the two calls
        cache.add(key, 1, timeout=WINDOW_SECONDS)
        return 1


def current_hour() -> str:
    """The alerts' window: the UTC clock hour, ``YYYY-MM-DDTHH``."""
    return timezone.now().astimezone(UTC).strftime("%Y-%m-%dT%H")


def limit_reached(limit: str, who: str, *, request=None, detail: str = "") -> bool:
    """Tell the operations team that ``limit`` refused ``who``; True if an alert went out now."""
    hour = current_hour()
    if not _first_this_hour(limit, who, hour):
        return False
    if _alerts_this_hour(hour) > MAX_ALERTS_PER_HOUR:
        log.warning("alarm %s for %s: not sent, %d alerts this hour already", limit, who, MAX_ALERTS_PER_HOUR)
        return False
    ip = (client_ip(request) or "") if request is not None else ""
    try:
        alert = messages.portal_requests(AlertSettings.from_env(), limit, who, ip, hour, detail)
        log.warning("alarm %s: %s", alert.key, alert.subject)
        outcome = sending.dispatch(SpiegelPaths(Path(settings.DATA_DIR)), [alert], timeout=SEND_LOCK_SECONDS)
    except Exception:  # noqa: BLE001  (the refusal stands whatever the alert does)
        log.exception("alarm %s for %s: the alert could not be made or sent", limit, who)
        return False
    for failed, reason in outcome.failed:
        log.error("alarm %s: not sent: %s", failed.key, reason)
    return bool(outcome.sent)
