"""The planned publication date of a period, outside Django: the release calendar's rule.

One rule for the portal's calendar (``portal/public/calendar.py``, whose settings
``portal/public/conf.py`` reads with this module's parser) and the platform's alerts
(``orchestration/runs/alerts/``), so both name one date:

- ``SPIEGEL_PORTAL_PLANNED_V1`` / ``_V2`` / ``_V3`` (``MM-DD``; defaults ``10-15``,
  ``01-15``, ``04-15``): a period's planned date is the first such day after its last
  treatment date, so 15 October of the same year for v1 and 15 January and 15 April of
  the next year for v2 and v3;
- ``SPIEGEL_CALENDAR_FIRST_PERIOD`` (``YYYY-vN``, default none): the calendar starts at
  this period at the latest.

Only the environment is read here: the portal also accepts a Django setting of the same
name, and the operators' own date for one period (the portal's ``PeriodNotice``) lives in
the portal's database, which the platform never opens. Everything but the two readers of
the environment is pure.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from datetime import date

from orchestration.core.seeds import PeriodInfo, periods

PLANNED_ENV = "SPIEGEL_PORTAL_PLANNED_V{version}"
PLANNED_DEFAULTS = {1: "10-15", 2: "01-15", 3: "04-15"}
FIRST_PERIOD_ENV = "SPIEGEL_CALENDAR_FIRST_PERIOD"
_MONTH_DAY = re.compile(r"^(?P<month>[0-9]{2})-(?P<day>[0-9]{2})$")
_PERIOD = re.compile(r"^[0-9]{4}-v[1-3]$")

Schedule = dict[int, tuple[int, int]]  # version -> (month, day)


def parse_month_day(name: str, text: str) -> tuple[int, int]:
    """``MM-DD`` as (month, day); a day every year has (not 29 February), else ValueError."""
    found = _MONTH_DAY.match(text.strip())
    month, day = (int(found["month"]), int(found["day"])) if found else (0, 0)
    try:
        date(2023, month, day)
    except ValueError:
        raise ValueError(f"{name}={text!r}: give a month and day as MM-DD, e.g. 10-15") from None
    return month, day


def planned_schedule(environ: Mapping[str, str] | None = None) -> Schedule:
    """(month, day) of each version's planned publication, from ``SPIEGEL_PORTAL_PLANNED_V<N>``."""
    env = os.environ if environ is None else environ
    schedule = {}
    for version, default in PLANNED_DEFAULTS.items():
        name = PLANNED_ENV.format(version=version)
        schedule[version] = parse_month_day(name, env.get(name) or default)
    return schedule


def default_planned_date(info: PeriodInfo, schedule: Schedule) -> date:
    """The first of the version's scheduled days after the period's last treatment date:
    by default 15 October (same year) for v1, 15 January and 15 April (next year) for v2, v3."""
    month, day = schedule[info.version]
    end = date.fromisoformat(info.period_end)
    planned = date(end.year, month, day)
    return planned if planned > end else date(end.year + 1, month, day)


def planned_date(period: str, schedule: Schedule | None = None) -> date:
    """The planned publication date of ``period`` (a period of the periods seed)."""
    return default_planned_date(periods()[period], schedule if schedule is not None else planned_schedule())


def calendar_first_period(environ: Mapping[str, str] | None = None) -> str | None:
    """``SPIEGEL_CALENDAR_FIRST_PERIOD``: the first period the calendar expects at the latest."""
    env = os.environ if environ is None else environ
    text = (env.get(FIRST_PERIOD_ENV) or "").strip()
    if not text:
        return None
    if not _PERIOD.match(text):
        raise ValueError(f"{FIRST_PERIOD_ENV}={text!r}: give a period as YYYY-vN, e.g. 2023-v1")
    return text
