"""The alerts' settings, from the environment (read at each check, like every knob here).

Mail uses the portal's variables (``portal/settings.py``), so one SMTP account serves
both: ``SPIEGEL_PORTAL_EMAIL_HOST`` (+ ``_PORT`` default 587, ``_USER``, ``_PASSWORD``,
``_TLS`` default on: STARTTLS) and ``SPIEGEL_PORTAL_FROM_EMAIL``. Without a host, each
message is written as a file under ``<data dir>/alerts/mail/``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from orchestration.core.service import dagster_ui_url

ALERT_TO_ENV = "SPIEGEL_ALERT_TO"
ALERT_DAYS_ENV = "SPIEGEL_ALERT_DAYS"
WEBHOOK_ENV = "SPIEGEL_ALERT_WEBHOOK_URL"
# whether the daily check tells of a clock that is not synchronised: on in service mode, where
# the host is expected to keep time (deploy/), off on a laptop or CI machine, unless set
CLOCK_CHECK_ENV = "SPIEGEL_CLOCK_CHECK"
DEFAULT_TO = "ops@spiegel.localhost"
DEFAULT_DAYS = 14
DEFAULT_FROM = "Mijn Spiegel <noreply@spiegel.localhost>"  # the portal's DEFAULT_FROM_EMAIL
SMTP_TIMEOUT_SECONDS = 30
WEBHOOK_TIMEOUT_SECONDS = 10


def _bool(value: str | None, default: bool) -> bool:
    return default if value is None else value.strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class AlertSettings:
    to: tuple[str, ...]
    from_email: str
    days: int
    webhook_url: str
    dagster_url: str
    smtp_host: str
    smtp_port: int
    smtp_user: str
    smtp_password: str
    smtp_tls: bool
    clock_check: bool = False

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> AlertSettings:
        env = os.environ if environ is None else environ
        to = tuple(a.strip() for a in (env.get(ALERT_TO_ENV) or DEFAULT_TO).split(",") if a.strip())
        days_text = (env.get(ALERT_DAYS_ENV) or str(DEFAULT_DAYS)).strip()
        if not days_text.isdigit():
            raise ValueError(f"{ALERT_DAYS_ENV} must be a whole number of days, got {days_text!r}")
        port_text = (env.get("SPIEGEL_PORTAL_EMAIL_PORT") or "587").strip()
        if not port_text.isdigit():
            raise ValueError(f"SPIEGEL_PORTAL_EMAIL_PORT must be a port number, got {port_text!r}")
        return cls(
            to=to or (DEFAULT_TO,),
            from_email=env.get("SPIEGEL_PORTAL_FROM_EMAIL") or DEFAULT_FROM,
            days=int(days_text),
            webhook_url=(env.get(WEBHOOK_ENV) or "").strip(),
            dagster_url=dagster_ui_url(env),
            smtp_host=(env.get("SPIEGEL_PORTAL_EMAIL_HOST") or "").strip(),
            smtp_port=int(port_text),
            smtp_user=env.get("SPIEGEL_PORTAL_EMAIL_USER") or "",
            smtp_password=env.get("SPIEGEL_PORTAL_EMAIL_PASSWORD") or "",
            smtp_tls=_bool(env.get("SPIEGEL_PORTAL_EMAIL_TLS"), True),
            clock_check=_bool(env.get(CLOCK_CHECK_ENV), _bool(env.get("SPIEGEL_SERVICE_MODE"), False)),
        )

    def check_url(self, check_name: str, asset: str = "delivery") -> str:
        """The asset check's page in the Dagster UI (Catalog > asset > Checks > the check)."""
        return f"{self.dagster_url}/assets/{asset}?view=checks&checkDetail={check_name}"

    def run_url(self, run_id: str) -> str:
        return f"{self.dagster_url}/runs/{run_id}"

    def asset_url(self, asset: str) -> str:
        return f"{self.dagster_url}/assets/{asset}"
