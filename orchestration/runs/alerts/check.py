"""One check: find the events of the kinds asked for, and send those not sent before.

The Dagster sensors and schedule (``automation.py``) and ``spiegel alerts check`` all call
:func:`run_check`; only the kinds differ (the sensor: gate blocks, sign-offs, publishes;
the daily schedule: the calendar; the command: everything, failed runs included).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

import duckdb

from orchestration.core.settings import SpiegelPaths
from orchestration.core.warehouse import connect_locked, write_lock
from orchestration.runs.alerts import events, messages
from orchestration.runs.alerts.messages import Alert
from orchestration.runs.alerts.sending import Dispatch, dispatch
from orchestration.runs.alerts.settings import AlertSettings

SENSOR_KINDS = (messages.GATE_BLOCKED, messages.SIGNED_OFF, messages.PUBLISHED)
CALENDAR_KINDS = (messages.AT_RISK, messages.LATE, messages.CLOCK_UNSYNCHRONISED)
ALL_KINDS = messages.KINDS


@contextmanager
def warehouse_snapshot(paths: SpiegelPaths, timeout: float | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection under the warehouse's shared lock (waits at most ``timeout``
    seconds, default SPIEGEL_LOCK_TIMEOUT, then WarehouseBusy). No warehouse yet: an empty
    in-memory database, so the landing zone's state is judged without creating one."""
    if not paths.warehouse.exists():
        con = duckdb.connect()
        try:
            yield con
        finally:
            con.close()
        return
    with write_lock(paths, timeout=timeout, shared=True):
        con = connect_locked(paths)
        try:
            yield con
        finally:
            con.close()


def collect(
    paths: SpiegelPaths,
    settings: AlertSettings,
    today: date,
    kinds: Iterable[str],
    instance: Any = None,
    timeout: float | None = None,
) -> list[Alert]:
    """Every current event of ``kinds``, sent before or not (failed runs need ``instance``)."""
    kinds = set(kinds)
    unknown = kinds - set(messages.KINDS)
    if unknown:
        raise ValueError(f"unknown alert kinds: {', '.join(sorted(unknown))}")
    alerts: list[Alert] = []
    if kinds & {messages.GATE_BLOCKED, messages.AT_RISK, messages.LATE}:
        with warehouse_snapshot(paths, timeout) as con:
            if messages.GATE_BLOCKED in kinds:
                alerts += events.gate_block_alerts(con, paths, settings)
            if kinds & {messages.AT_RISK, messages.LATE}:
                alerts += [a for a in events.calendar_alerts(con, paths, settings, today) if a.kind in kinds]
    if messages.SIGNED_OFF in kinds:
        alerts += events.signoff_alerts(paths, settings, today)
    if messages.PUBLISHED in kinds:
        alerts += events.publish_alerts(paths, settings, today)
    if messages.CLOCK_UNSYNCHRONISED in kinds:
        alerts += events.clock_alerts(settings, today)
    if messages.RUN_FAILED in kinds and instance is not None:
        alerts += events.recent_run_failure_alerts(instance, settings, today)
    return alerts


def run_check(
    paths: SpiegelPaths,
    kinds: Iterable[str] = ALL_KINDS,
    today: date | None = None,
    instance: Any = None,
    timeout: float | None = None,
    settings: AlertSettings | None = None,
) -> Dispatch:
    """Find the events of ``kinds`` as of ``today`` (default: today) and send the new ones."""
    settings = settings or AlertSettings.from_env()
    alerts = collect(paths, settings, today or date.today(), kinds, instance, timeout)
    return dispatch(paths, alerts, settings)


def summary(result: Dispatch) -> str:
    """The outcome in one line, for a sensor tick or a log."""
    parts = [
        f"sent {len(result.sent)}" + (": " + "; ".join(s.alert.subject for s in result.sent) if result.sent else "")
    ]
    if result.already:
        parts.append(f"{result.already} sent before")
    if result.failed:
        parts.append(f"{len(result.failed)} failed (tried again next time): " + "; ".join(w for _, w in result.failed))
    return ", ".join(parts)
