"""The alerts in Dagster: thin wrappers around ``check.run_check`` and ``events``.

- ``alerts_sensor`` (every 60 s): gate blocks, sign-offs and publishes. It reads the
  warehouse only when the warehouse, the sign-off log, ``releases/`` or the sent log
  changed since its last complete tick (its cursor), and waits at most
  :data:`SENSOR_LOCK_SECONDS` for a writer: a busy warehouse is the next tick's.
- ``run_failure_alerts`` (``dg.run_failure_sensor``): one message per failed run of any job
  on the instance, also the CLI's in-process runs (``monitor_all_code_locations``), except
  a run stopped by a failed blocking check (that is a gate block, said by the other sensor).
- ``release_calendar_schedule``: every day at 07:00 (Europe/Amsterdam) a run of job
  ``release_calendar_alerts``, whose one op checks the calendar for that day (at risk,
  late), and sends any failed run of the last days whose message is not in the sent log
  (the run-failure sensor could not send it). Launched by hand, its config ``today``
  (YYYY-MM-DD) checks another day.

All three start RUNNING, like the platform's other sensors, when the daemon runs
(``spiegel ui``, or ``spiegel serve`` in service mode).
"""

import hashlib
from datetime import date, datetime

import dagster as dg

from orchestration.core.locks import LockTimeout
from orchestration.core.resources import SpiegelResource
from orchestration.core.settings import SpiegelPaths, default_data_dir
from orchestration.runs.alerts.check import CALENDAR_KINDS, SENSOR_KINDS, run_check, summary
from orchestration.runs.alerts.events import run_failure_alert
from orchestration.runs.alerts.messages import RUN_FAILED
from orchestration.runs.alerts.sending import Sent, dispatch, sent_log_path
from orchestration.runs.alerts.settings import AlertSettings

SENSOR_INTERVAL_SECONDS = 60
SENSOR_LOCK_SECONDS = 10.0
CALENDAR_JOB = "release_calendar_alerts"
CALENDAR_OP = "check_release_calendar"
CALENDAR_CRON = "0 7 * * *"
CALENDAR_TIMEZONE = "Europe/Amsterdam"


def inputs_fingerprint(paths: SpiegelPaths) -> str:
    """Changes whenever anything the sensor's events come from changes (cheap: stat calls only)."""
    parts = []
    for path in (paths.warehouse, paths.warehouse.with_name(paths.warehouse.name + ".wal"), paths.signoffs):
        try:
            stat = path.stat()
            parts.append(f"{path.name}:{stat.st_mtime_ns}:{stat.st_size}")
        except OSError:
            parts.append(f"{path.name}:-")
    try:
        stat = sent_log_path(paths).stat()
        parts.append(f"sent:{stat.st_mtime_ns}:{stat.st_size}")
    except OSError:
        parts.append("sent:-")
    if paths.releases.is_dir():
        for period in sorted(p for p in paths.releases.iterdir() if p.is_dir()):
            parts.append(f"{period.name}:{','.join(sorted(r.name for r in period.iterdir()))}")
    parts.append(date.today().isoformat())  # sign-offs and publishes stop being news after some days
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _log_sent(context, sent: Sent) -> None:
    line = f"sent {sent.alert.key}: {sent.mail}; webhook {sent.webhook}"
    (context.log.warning if sent.webhook.startswith("failed") else context.log.info)(line)


@dg.sensor(
    name="alerts_sensor",
    minimum_interval_seconds=SENSOR_INTERVAL_SECONDS,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Mails the operations team (docs/alerts.md) once per event: a delivery's gate blocks "
    "(insurer, rule, month), a period is signed off, a revision is published. Requests no runs.",
)
def alerts_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
    paths = SpiegelPaths(default_data_dir())
    fingerprint = inputs_fingerprint(paths)
    if context.cursor == fingerprint:
        return dg.SkipReason("nothing changed since the last check")
    try:
        result = run_check(paths, SENSOR_KINDS, timeout=SENSOR_LOCK_SECONDS)
    except LockTimeout as exc:
        return dg.SkipReason(f"not checked, tried again next tick: {exc}")
    for sent in result.sent:
        _log_sent(context, sent)
    for alert, why in result.failed:
        context.log.error(f"not sent {alert.key}: {why}")
    # a failed send keeps the old cursor: the next tick tries again
    return dg.SensorResult(skip_reason=summary(result), cursor=context.cursor if result.failed else fingerprint)


@dg.run_failure_sensor(
    name="run_failure_alerts",
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    monitor_all_code_locations=True,
    description="Mails the operations team once per failed run (job, partition, run id, error, link), "
    "the CLI's runs included; a run stopped by a failed blocking check is a gate block instead.",
)
def run_failure_alerts(context: dg.RunFailureSensorContext) -> None:
    # returns None: a returned value would end the tick after this run (Dagster's run status sensors)
    settings = AlertSettings.from_env()
    message = (context.failure_event.message or "") if context.failure_event else ""
    alert = run_failure_alert(settings, context.dagster_run, context.get_step_failure_events(), message)
    if alert is None:
        context.log.info(f"run {context.dagster_run.run_id}: a blocking check failed (a gate block, not a crash)")
        return None
    result = dispatch(SpiegelPaths(default_data_dir()), [alert], settings)
    if result.failed:  # the tick shows the error; the daily calendar run sends it later (RUN_FAILED)
        raise RuntimeError(f"the alert of run {context.dagster_run.run_id} was not sent: {result.failed[0][1]}")
    for sent in result.sent:
        _log_sent(context, sent)
    return None


class CalendarCheckConfig(dg.Config):
    today: str = ""  # YYYY-MM-DD; empty: the day the run starts


@dg.op(
    name=CALENDAR_OP,
    description="Mails the operations team when a period's planned publication date is within "
    "SPIEGEL_ALERT_DAYS (14) and it is incomplete, blocked or not signed off, and when a planned "
    "date passed without a release; once per event (docs/alerts.md). Also sends the message of any failed "
    "run of the last 7 days that the run-failure sensor could not send.",
)
def check_release_calendar(
    context: dg.OpExecutionContext, config: CalendarCheckConfig, spiegel: SpiegelResource
) -> dg.Output:
    today = date.fromisoformat(config.today) if config.today else date.today()
    # and, as a safety net, the failed runs of the last days whose message the sensor could not send
    result = run_check(spiegel.paths, (*CALENDAR_KINDS, RUN_FAILED), today=today, instance=context.instance)
    for sent in result.sent:
        _log_sent(context, sent)
    if result.failed:
        raise dg.Failure(description=f"the calendar's alerts were not all sent: {summary(result)}")
    return dg.Output(
        None,
        metadata={"checked_on": today.isoformat(), "sent": len(result.sent), "sent_before": result.already},
    )


@dg.job(
    name=CALENDAR_JOB,
    # it only reads the warehouse: the run queue may launch it beside a writer (runs/instance.py's
    # WAREHOUSE_TAG); it waits on the warehouse's shared lock
    tags={"spiegel/warehouse": "read"},
    description="Check the release calendar once (at risk, late) and mail what is new; the daily "
    "schedule release_calendar_schedule runs it.",
)
def release_calendar_alerts_job():
    check_release_calendar()


@dg.schedule(
    name="release_calendar_schedule",
    cron_schedule=CALENDAR_CRON,
    job=release_calendar_alerts_job,
    execution_timezone=CALENDAR_TIMEZONE,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Every day at 07:00: the release calendar's alerts for that day (docs/alerts.md).",
)
def release_calendar_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    day = (context.scheduled_execution_time or datetime.now()).date().isoformat()
    return dg.RunRequest(
        run_key=day,
        run_config={"ops": {CALENDAR_OP: {"config": {"today": day}}}},
        tags={"spiegel/trigger": "release_calendar_schedule"},
    )


ALERT_JOBS = [release_calendar_alerts_job]
ALERT_SENSORS = [alerts_sensor, run_failure_alerts]
ALERT_SCHEDULES = [release_calendar_schedule]
