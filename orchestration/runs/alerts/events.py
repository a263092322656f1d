"""Which events there are now: plain functions over the platform's own records.

Every function reads what ``spiegel status`` and the UI read, and returns the
:class:`~orchestration.runs.alerts.messages.Alert` of each event it finds, sent or not;
``sending.dispatch`` leaves out what was sent before. Nothing here writes.

- gate blocks: ``raw.deliveries`` (a delivery the contract rejected) and
  ``quality.gate_results`` (the newest contents and completeness verdict of each
  delivery in force), one alert per blocking check of a delivery;
- sign-offs: ``signoffs.jsonl``; publishes: ``releases/<period>/r<N>/release.json``;
  both only when they happened in the last :data:`NEWS_DAYS` days, so that a data
  directory with a history does not mail all of it when alerts are first switched on;
- the calendar: each period's planned date (``core/calendar.py``) against its state
  (``release/readiness.period_state``, the sign-off, the releases);
- failed runs: the Dagster run and its step failures (a run stopped by a failed
  blocking check is the gate's verdict, reported as a gate block, not as a failed run).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from orchestration.core import clock
from orchestration.core.calendar import calendar_first_period, planned_date, planned_schedule
from orchestration.core.seeds import cancelled_periods, period_sort_key, periods
from orchestration.core.settings import SpiegelPaths
from orchestration.core.warehouse import has_table
from orchestration.release.calendar_state import status_dir
from orchestration.release.publish import revisions
from orchestration.release.readiness import PeriodState, known_periods, period_state, warehouse_deliveries
from orchestration.release.signoff import read_signoffs, valid_signoff
from orchestration.runs.alerts import messages
from orchestration.runs.alerts.messages import Alert
from orchestration.runs.alerts.settings import AlertSettings

NEWS_DAYS = 7  # sign-offs, publishes and failed runs older than this are history, not news
CONTRACT_CHECK = "delivery_contract"  # gates/delivery_asset.py's check names
CHECK_OF_SUITE = {"delivery_contents": "delivery_contents", "delivery_completeness": "delivery_completeness"}
NOT_JUDGED = "delivery_available"  # a gate's outcome for a rejected delivery: the contract's alert says it
CHECK_FAILED_ERROR = "DagsterAssetCheckFailedError"
_MONTH = re.compile(r"^[0-9]{4}-[0-9]{2}$")
_PERIOD = re.compile(r"^[0-9]{4}-v[1-3]$")


# -- gate blocks --------------------------------------------------------------------------
def _months(observed: Any, sample_rows: list[dict]) -> list[str]:
    """The months a finding is about: the completeness gate's offending months."""
    found = {m for m in observed if isinstance(m, str) and _MONTH.match(m)} if isinstance(observed, list) else set()
    found |= {r["month"] for r in sample_rows if isinstance(r.get("month"), str) and _MONTH.match(r["month"])}
    return sorted(found)


def gate_block_alerts(con: duckdb.DuckDBPyConnection, paths: SpiegelPaths, settings: AlertSettings) -> list[Alert]:
    """One alert per blocking check of each delivery in force, in every period the
    warehouse or the landing zone knows."""
    from orchestration.gates.log import latest_gate_results  # the gates' package imports GX: only here

    if not has_table(con, "raw", "deliveries"):
        return []
    alerts = []
    for period in known_periods(con, paths):
        for d in warehouse_deliveries(con, period):
            if d["status"] == "rejected":
                message = (d["rejection_message"] or "").strip().splitlines()
                finding = f"{d['insurer']}: rejected by the delivery contract (rule {d['rejection_rule']})" + (
                    f": {message[0][:500]}" if message else ""
                )
                rule = d["rejection_rule"] or "contract"
                alerts.append(
                    messages.gate_blocked(
                        settings, period, d["insurer"], d["delivery_id"], CONTRACT_CHECK, [rule], [], [finding]
                    )
                )
        for result in latest_gate_results(con, period):
            check = CHECK_OF_SUITE.get(result.suite)
            if result.insurer is None or check is None or result.passed:
                continue
            failing = [o for o in result.outcomes if o.severity == "error" and not o.success]
            if not failing or any(o.expectation == NOT_JUDGED for o in failing):
                continue
            months = sorted({m for o in failing for m in _months(o.observed, o.sample_rows)})
            alerts.append(
                messages.gate_blocked(
                    settings,
                    period,
                    result.insurer,
                    result.delivery_id or "-",
                    check,
                    sorted(o.expectation for o in failing),
                    months,
                    [o.message for o in failing],
                )
            )
    return alerts


# -- sign-offs and publishes ----------------------------------------------------------------
def _when(text: str | None) -> date | None:
    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00")).date()
    except ValueError:
        return None


def _recent(day: date | None, today: date) -> bool:
    """Happened at most NEWS_DAYS days before ``today`` (or after it: a check for an earlier day)."""
    return day is not None and (today - day).days <= NEWS_DAYS


def signoff_alerts(paths: SpiegelPaths, settings: AlertSettings, today: date) -> list[Alert]:
    return [messages.signed_off(settings, s) for s in read_signoffs(paths) if _recent(_when(s.at), today)]


def publish_alerts(paths: SpiegelPaths, settings: AlertSettings, today: date) -> list[Alert]:
    if not paths.releases.is_dir():
        return []
    alerts = []
    for folder in sorted(p for p in paths.releases.iterdir() if p.is_dir() and _PERIOD.match(p.name)):
        for revision in revisions(paths, folder.name):
            try:
                release = json.loads((folder / revision / "release.json").read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue  # not a release the portal would show either
            if _recent(_when(release.get("published_at")), today):
                alerts.append(messages.published(settings, folder.name, revision, str(folder / revision), release))
    return alerts


# -- the calendar -----------------------------------------------------------------------------
def is_published(paths: SpiegelPaths, period: str) -> bool:
    """A revision exists, in releases/ or moved to archive/."""
    archived = paths.archive / period
    return bool(revisions(paths, period)) or (
        archived.is_dir() and any(re.match(r"^r[0-9]+$", p.name) for p in archived.iterdir())
    )


def first_expected_period(paths: SpiegelPaths) -> str | None:
    """The portal calendar's first period: the first with a delivery in landing/, a readiness
    verdict or a release, or SPIEGEL_CALENDAR_FIRST_PERIOD if that is earlier."""

    def names(folder: Path, suffix: str = "") -> set[str]:
        if not folder.is_dir():
            return set()
        return {p.name.removesuffix(suffix) for p in folder.iterdir() if _PERIOD.match(p.name.removesuffix(suffix))}

    found = names(paths.landing) | names(paths.releases) | names(paths.archive) | names(status_dir(paths), ".json")
    configured = calendar_first_period()
    if configured:
        found.add(configured)
    found &= set(periods())
    return min(found, key=period_sort_key) if found else None


def period_condition(paths: SpiegelPaths, state: PeriodState) -> str | None:
    """Why a period that is not published is not ready to be: incomplete, blocked, not signed
    off, or only the publish left (None: cancelled, nothing to say)."""
    if state.cancelled is not None:
        return None
    if any(delivery_id is None for delivery_id in state.landed.values()):
        return messages.INCOMPLETE
    if not state.gates_passed:
        return messages.BLOCKED
    if valid_signoff(paths, state) is None:
        return messages.NOT_SIGNED_OFF
    return messages.SIGNED_OFF_UNPUBLISHED


def _reasons(paths: SpiegelPaths, state: PeriodState, condition: str) -> list[str]:
    if condition in (messages.INCOMPLETE, messages.BLOCKED):
        return state.blocking_reasons
    if condition == messages.NOT_SIGNED_OFF:
        return [f"the gates pass; no sign-off covers the deliveries in force ({len(state.deliveries)} insurers)"]
    return [f"signed off; publish it: spiegel publish --period {state.period}"]


def calendar_alerts(
    con: duckdb.DuckDBPyConnection, paths: SpiegelPaths, settings: AlertSettings, today: date
) -> list[Alert]:
    """At risk: the planned date is today or within SPIEGEL_ALERT_DAYS days and the period is
    incomplete, blocked or not signed off. Late: the planned date has passed without a release
    (from the calendar's first expected period on). Cancelled periods are neither."""
    schedule = planned_schedule()
    cancelled = cancelled_periods(paths)
    first = first_expected_period(paths)
    alerts = []
    for period in sorted(periods(), key=period_sort_key):
        planned = planned_date(period, schedule)
        days_left = (planned - today).days
        if days_left > settings.days or period in cancelled:
            continue
        is_late = days_left < 0
        if is_late and (first is None or period_sort_key(period) < period_sort_key(first)):
            continue
        if is_published(paths, period):
            continue
        state = period_state(con, paths, period)
        condition = period_condition(paths, state)
        if condition is None:
            continue
        reasons = _reasons(paths, state, condition)
        if is_late:
            alerts.append(messages.late(settings, period, planned, today, condition, reasons))
        elif condition != messages.SIGNED_OFF_UNPUBLISHED:
            alerts.append(messages.at_risk(settings, period, planned, today, condition, reasons))
    return alerts


# -- failed runs -----------------------------------------------------------------------------
def run_failure_alert(
    settings: AlertSettings, run: Any, step_failures: list[Any], run_failure_message: str = ""
) -> Alert | None:
    """The alert of a failed Dagster run (``run`` a DagsterRun, ``step_failures`` its
    STEP_FAILURE events), or None when every failed step is a blocking check that failed
    (the gate's verdict: its own alert names the insurer, rule and month)."""
    from orchestration.runs.runner import _failure_message  # the CLI's words for the same failure

    data = [e.event_specific_data for e in step_failures]
    errors = [getattr(d, "error", None) for d in data]
    if errors and all(getattr(err, "cls_name", "") == CHECK_FAILED_ERROR for err in errors):
        return None
    tags = run.tags or {}
    partition = tags.get("dagster/partition")
    if partition is None and "dagster/partition/period" in tags:
        partition = f"{tags.get('dagster/partition/insurer')}|{tags['dagster/partition/period']}"
    error = _failure_message(data) or " | ".join(
        line.strip() for line in run_failure_message.splitlines() if line.strip()
    )
    return messages.run_failed(settings, run.job_name, partition, run.run_id, error, tags.get("spiegel/trigger", ""))


def recent_run_failure_alerts(instance: Any, settings: AlertSettings, today: date) -> list[Alert]:
    """The failed runs of the last NEWS_DAYS days on ``instance`` (for ``spiegel alerts check``:
    the run-failure sensor reports each failure as it happens)."""
    import dagster as dg

    since = datetime.combine(today - timedelta(days=NEWS_DAYS), datetime.min.time(), tzinfo=UTC)
    records = instance.get_run_records(
        filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.FAILURE], updated_after=since)
    )
    alerts = []
    for record in sorted(records, key=lambda r: r.create_timestamp):
        run = record.dagster_run
        steps = instance.all_logs(run.run_id, of_type=dg.DagsterEventType.STEP_FAILURE)
        failure = instance.all_logs(run.run_id, of_type=dg.DagsterEventType.RUN_FAILURE)
        message = ""
        if failure and failure[-1].dagster_event is not None:
            message = failure[-1].dagster_event.message or ""
        alert = run_failure_alert(settings, run, [e.dagster_event for e in steps if e.dagster_event], message)
        if alert is not None:
            alerts.append(alert)
    return alerts


# -- the clock ----------------------------------------------------------------------------


def clock_alerts(settings: AlertSettings, today: date) -> list[Alert]:
    """One alert a day while the kernel says the clock is not synchronised, where the check is
    on (``settings.clock_check``)."""
    if settings.clock_check and clock.clock_unsynchronised():
        return [messages.clock_unsynchronised(settings, today)]
    return []
