"""The privacy statement (/privacy/, ASVS 8.3.3): its version and the retention periods it names.

The page shows the periods the portal is configured with (``portal/settings.py``, read from
``SPIEGEL_PORTAL_RETENTION_*`` and the session limits), so the statement and what
``spiegel portal purge-expired`` deletes (portal/access/retention.py) cannot drift apart.
A sign-up's consent (``access.PrivacyConsent``) records ``STATEMENT_VERSION``: change it when
the statement changes in substance.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

STATEMENT_VERSION = "2026-12"


@dataclass(frozen=True)
class Retention:
    """The periods of the statement, in the units a reader expects."""

    idle_minutes: int
    session_hours: int
    login_days: int
    contact_days: int
    signup_days: int


def retention() -> Retention:
    return Retention(
        idle_minutes=settings.SESSION_COOKIE_AGE // 60,
        session_hours=settings.SESSION_ABSOLUTE_SECONDS // 3600,
        login_days=settings.RETENTION_LOGIN_DAYS,
        contact_days=settings.RETENTION_CONTACT_DAYS,
        signup_days=settings.RETENTION_SIGNUP_DAYS,
    )
