"""A small world for the portal's tests: seven published periods (six shown, one beyond),
two practices A and B (and C, only in the oldest period), accounts with verified e-mail
addresses, and helpers to log in and read the audit log."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.release_factory import index_row, make_release

A, B, C = "11111111", "22222222", "33333333"
PASSWORD = "Geheim-wachtwoord-2024"
PERIODS = ["2023-v1", "2023-v2", "2023-v3", "2024-v1", "2024-v2", "2024-v3", "2025-v1"]  # oldest first
SHOWN = list(reversed(PERIODS))[:6]


def build_releases(root: Path) -> None:
    for i, period in enumerate(PERIODS):
        rows = [
            index_row(period, "fysiotherapie", A, index=90.0 + i),
            index_row(period, "fysiotherapie", B, index=110.0),
        ]
        if period == "2024-v2":
            rows.append(index_row(period, "oefentherapie", A, patients=12))  # too few patients: no report
        elif period in ("2024-v3", "2025-v1"):
            rows.append(index_row(period, "oefentherapie", A, index=102.0))
        if period == "2023-v1":
            rows.append(index_row(period, "fysiotherapie", C))
        make_release(root, period, "r1", rows, published_at=f"202{3 + i // 3}-0{1 + i % 3}-15T10:00:00+00:00")
        if period == "2024-v1":  # a second revision replaces the first
            make_release(root, period, "r2", rows, published_at="2024-09-01T10:00:00+00:00")


def make_account(email: str, password: str = PASSWORD):
    from allauth.account.models import EmailAddress
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user(username=email, email=email, password=password)
    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    return user


def client_for(user, **kwargs):
    from tests.support.served_client import ServedClient

    client = ServedClient(**kwargs)
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client


def reauthenticated(client, password: str = PASSWORD):
    """``client`` after giving its password again on allauth's re-authentication page, as the
    portal asks before an account change (an e-mail address, an API token); valid 5 minutes."""
    import re

    page = client.get("/accounts/reauthenticate/").content.decode()
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    response = client.post("/accounts/reauthenticate/", {"password": password, "csrfmiddlewaretoken": csrf[1]})
    assert response.status_code == 302, response.content.decode()[:500]
    return client


def audit(action: str | None = None, **filters) -> list:
    from portal.access.models import AuditEvent

    events = AuditEvent.objects.order_by("id")
    if action:
        events = events.filter(action=action)
    return list(events.filter(**filters))


@dataclass
class World:
    releases: Path
    manager_a: object
    manager_b: object
    user_a: object
    extra: dict = field(default_factory=dict)


# the portal's settings read from the environment when they are executed (portal/settings.py)
SECRET_SETTINGS = (
    "SPIEGEL_PORTAL_SECRET_KEY",
    "SPIEGEL_PORTAL_PASSWORD_PEPPER",
    "SPIEGEL_PORTAL_MFA_KEY",
    "SPIEGEL_PORTAL_DEBUG",
    "SPIEGEL_PORTAL_DATABASE_URL",
)


def load_portal_settings(tmp_path: Path, monkeypatch, **env):
    """portal/settings.py executed afresh (not Django's settings) with this environment and a
    data directory of its own under ``tmp_path``."""
    for name in SECRET_SETTINGS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SPIEGEL_DATA_DIR", str(tmp_path / "data"))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings_file = Path(__file__).resolve().parents[2] / "portal" / "settings.py"
    spec = importlib.util.spec_from_file_location("portal_settings_probe", settings_file)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
