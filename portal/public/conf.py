"""Configuration of the public pages, from Django settings or else the environment.

Kept apart from ``portal/settings.py`` so the public side's knobs live with the code that
uses them; every value may also be set as a Django setting of the same name (tests use
``override_settings``). Documented in the README, "The portal's public pages".

- ``SPIEGEL_PORTAL_PLANNED_WEEKS`` (default 6): a period's planned publication date is
  its cutoff date plus this many weeks, unless the operators set another date for it.
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


def planned_weeks() -> int:
    return int(_value("SPIEGEL_PORTAL_PLANNED_WEEKS", "6"))


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
