"""Configuration of the public pages, from Django settings or else the environment.

Kept apart from ``portal/settings.py`` so the public side's knobs live with the code that
uses them; every value may also be set as a Django setting of the same name (tests use
``override_settings``). Documented in the README, "The portal's public pages".

- ``SPIEGEL_PORTAL_PLANNED_V1`` / ``_V2`` / ``_V3`` (``MM-DD``; defaults ``10-15``,
  ``01-15``, ``04-15``, the national body's schedule, portal.md): a period's planned
  publication date is the first such day after the period's last treatment date, so
  15 October of the same year for v1, 15 January of the next year for v2 and 15 April of
  the next year for v3; the operators' date for a period (``PeriodNotice``) overrides it.
- ``SPIEGEL_CALENDAR_FIRST_PERIOD`` (``YYYY-vN``, default none): the calendar starts at
  this period, or at the first period with a delivery in ``landing/``, a readiness verdict
  or a release, whichever comes first.
- ``SPIEGEL_PORTAL_CONTACT_ACCESS`` / ``_METHOD`` / ``_POLICY``: where a contact message
  about access, the method, or policy and content goes.
- ``SPIEGEL_PORTAL_CONTACT_POLICY_<INSURER>`` (``<INSURER>`` the insurer's id in upper
  case, e.g. ``SPIEGEL_PORTAL_CONTACT_POLICY_ZILVEREN_KRUIS``): the address for policy
  and content questions about that insurer; default ``beleid-<id>@spiegel.localhost``.
- ``SPIEGEL_PORTAL_CONTACT_LIMIT`` (default 10) messages per sender address within
  ``SPIEGEL_PORTAL_CONTACT_WINDOW_MINUTES`` (default 60); a client address (IP) may send
  ``SPIEGEL_PORTAL_CONTACT_IP_LIMIT`` (default 30) in the same window.
"""

from __future__ import annotations

import os
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from orchestration.core.calendar import FIRST_PERIOD_ENV, PLANNED_DEFAULTS, PLANNED_ENV, parse_month_day
from orchestration.core.calendar import calendar_first_period as core_first_period

DEFAULT_ADDRESSES = {
    "toegang": "toegang@spiegel.localhost",
    "methode": "methode@spiegel.localhost",
    "beleid": "beleid@spiegel.localhost",
}
_TOPIC_ENV = {"toegang": "ACCESS", "methode": "METHOD", "beleid": "POLICY"}


def _value(name: str, default: str) -> str:
    configured = getattr(settings, name, None)
    if configured is not None:
        return str(configured)
    return os.environ.get(name) or default


def planned_month_day(version: int) -> tuple[int, int]:
    """(month, day) of version ``version``'s planned publication (``SPIEGEL_PORTAL_PLANNED_V<N>``):
    the platform's rule (orchestration/core/calendar.py), read from a Django setting too."""
    name = PLANNED_ENV.format(version=version)
    try:
        return parse_month_day(name, _value(name, PLANNED_DEFAULTS[version]))
    except ValueError as error:
        raise ImproperlyConfigured(str(error)) from None


def calendar_first_period() -> str | None:
    """``SPIEGEL_CALENDAR_FIRST_PERIOD``: the first period the calendar shows at the latest."""
    try:
        return core_first_period({FIRST_PERIOD_ENV: _value(FIRST_PERIOD_ENV, "")})
    except ValueError as error:
        raise ImproperlyConfigured(str(error)) from None


def contact_address(topic: str, insurer: str = "") -> str:
    """The address a message on ``topic`` (and, for policy, ``insurer``) is mailed to."""
    if topic == "beleid" and insurer:
        return _value(
            f"SPIEGEL_PORTAL_CONTACT_POLICY_{insurer.upper()}", f"beleid-{insurer.replace('_', '-')}@spiegel.localhost"
        )
    return _value(f"SPIEGEL_PORTAL_CONTACT_{_TOPIC_ENV[topic]}", DEFAULT_ADDRESSES[topic])


def contact_limit() -> int:
    return int(_value("SPIEGEL_PORTAL_CONTACT_LIMIT", "10"))


def contact_ip_limit() -> int:
    return int(_value("SPIEGEL_PORTAL_CONTACT_IP_LIMIT", "30"))


def contact_window() -> timedelta:
    return timedelta(minutes=int(_value("SPIEGEL_PORTAL_CONTACT_WINDOW_MINUTES", "60")))
