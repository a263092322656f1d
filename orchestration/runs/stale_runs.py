"""Runs whose process is gone are failed, with a reason, not left "started" forever.

A Dagster run executes in one process: ``spiegel run`` itself (``execute_in_process``)
or a run worker that a Dagster daemon launched (``spiegel serve``, ``spiegel ui``). When
that process is killed (``kill -9``, the machine stops, a daemon killed with its process
group) nobody writes the run's end, and the UI would show the run, and its assets, in
progress forever.

One judgment, :func:`gone_reason`, says whether a run's process is known to be gone, and
two callers act on it, each where the other is absent (docs/service.md, "Run monitoring
and stale runs"):

- **Dagster's run monitoring**, in the daemon: ``dagster.yaml`` (runs/instance.py) names
  :class:`ProcessCheckingRunLauncher` as the run launcher. It is Dagster's default
  launcher; Dagster's own cannot tell run monitoring whether a run worker lives
  (``DefaultRunLauncher.supports_check_run_worker_health`` is False, so
  ``dagster/_daemon/monitoring/run_monitoring.py`` only checks a STARTED run's maximum
  runtime), and this one answers from :func:`gone_reason`. So while a daemon runs, every
  STARTED run whose process died (the CLI's and the daemon's alike) is failed within one
  monitoring interval;
- :func:`fail_dead_runs`, for when no daemon runs: the CLI's runner before its first
  run, ``spiegel status``, and ``spiegel ui`` when it starts and after it stopped (its
  daemon is gone then). It reports every run still STARTING, STARTED or CANCELING whose
  process on this machine no longer exists failed, with a message naming the process,
  through ``instance.report_run_failed`` (the event Dagster writes when a run fails).

Which process: runs the CLI starts carry the tags ``spiegel/host``, ``spiegel/pid``
and ``spiegel/pid_started`` (the process's start time, so a reused pid is not taken
for the run's process). Runs a Dagster daemon launched record their worker in the
engine event "Started process for run (pid: N)", and every run the process executing
its steps in "Executing steps in process (pid: N)" (also a run of ``dagster job
execute``, which no launcher started); that process must have started before the run
did. A run with neither, or one started on another host, is left
alone: nothing here can tell whether it is alive.
"""

from __future__ import annotations

import os
import socket
import time
from functools import lru_cache

from dagster import DagsterEventType, DagsterRunStatus, DefaultRunLauncher, RunsFilter
from dagster._core.launcher import CheckRunHealthResult, WorkerStatus

HOST_TAG = "spiegel/host"
PID_TAG = "spiegel/pid"
PID_STARTED_TAG = "spiegel/pid_started"


@lru_cache(maxsize=1)
def _boot_time() -> float | None:
    try:
        with open("/proc/stat", encoding="ascii") as f:
            for line in f:
                if line.startswith("btime "):
                    return float(line.split()[1])
    except OSError:
        pass
    return None


def process_started_at(pid: int) -> float | None:
    """When process ``pid`` started (epoch seconds), or None when it does not exist."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            stat = f.read()
    except (FileNotFoundError, ProcessLookupError, PermissionError, OSError):
        return None
    fields = stat.rsplit(")", 1)[-1].split()
    # fields[0] is the state (field 3 of stat); starttime is field 22
    if fields and fields[0] in ("Z", "X"):
        return None  # a zombie has exited; only its parent has not reaped it yet
    boot = _boot_time()
    try:
        ticks = int(fields[19])
    except (IndexError, ValueError):
        return None
    if boot is None:
        return 0.0
    return boot + ticks / os.sysconf("SC_CLK_TCK")


def process_tags() -> dict[str, str]:
    """Tags that name this process as the one executing a run."""
    started = process_started_at(os.getpid())
    return {
        HOST_TAG: socket.gethostname(),
        PID_TAG: str(os.getpid()),
        PID_STARTED_TAG: f"{started:.2f}" if started is not None else "",
    }


# The engine events that name a run's process: the run launcher's (the run worker it started)
# and the in-process executor's (the process executing the steps: every run of this code
# location, also one that `dagster job execute` runs by itself, without a launcher).
PROCESS_EVENTS = ("Started process for run", "Executing steps in process")


def _worker_pid_from_events(instance, run_id: str) -> int | None:

    for entry in instance.all_logs(run_id, of_type=DagsterEventType.ENGINE_EVENT):
        event = entry.dagster_event
        data = getattr(event, "event_specific_data", None) if event else None
        pid = (getattr(data, "metadata", None) or {}).get("pid")
        message = entry.user_message or event.message or ""
        if pid is not None and any(words in message for words in PROCESS_EVENTS):
            try:
                return int(getattr(pid, "value", pid))
            except (TypeError, ValueError):
                return None
    return None


def gone_reason(instance, record) -> str | None:
    """Why the run's process is known to be gone, or None (alive, or not ours to judge)."""
    run = record.dagster_run
    tags = run.tags
    here = socket.gethostname()
    if tags.get(PID_TAG):
        if tags.get(HOST_TAG) != here:
            return None
        pid = int(tags[PID_TAG])
        started = process_started_at(pid)
        recorded = tags.get(PID_STARTED_TAG)
        if started is not None and (not recorded or abs(started - float(recorded)) < 2):
            return None
        return f"its process (pid {pid} on {here}, started by `spiegel`) no longer exists"
    pid = _worker_pid_from_events(instance, run.run_id)
    if pid is None:
        return None
    started = process_started_at(pid)
    run_started = record.start_time or (record.create_timestamp.timestamp() if record.create_timestamp else None)
    if started is not None and (run_started is None or started <= run_started + 2):
        return None
    return f"its run worker (pid {pid} on {here}) no longer exists"


def fail_dead_runs(instance) -> list[str]:
    """Report every in-progress run whose process is gone as failed; their run ids."""

    records = instance.get_run_records(
        filters=RunsFilter(statuses=[DagsterRunStatus.STARTING, DagsterRunStatus.STARTED, DagsterRunStatus.CANCELING])
    )
    failed = []
    for record in records:
        reason = gone_reason(instance, record)
        if reason is None:
            continue
        current = instance.get_run_by_id(record.dagster_run.run_id)
        if current is None or current.is_finished:
            continue  # it ended meanwhile (by itself, or the daemon's run monitoring failed it)
        instance.report_run_failed(
            record.dagster_run, f"Marked failed by Spiegel: the run was {_since(record)} but {reason}: {AFTERWORD}"
        )
        failed.append(record.dagster_run.run_id)
    return failed


AFTERWORD = (
    "it was killed, crashed or its machine stopped. Nothing it wrote is half-done "
    "(deliveries, the method and releases are replaced atomically); run it again."
)


def _since(record) -> str:
    since = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(record.start_time)) if record.start_time else "?"
    return f"{record.dagster_run.status.value} (since {since})"


class ProcessCheckingRunLauncher(DefaultRunLauncher):
    """Dagster's default run launcher (a run worker per run, started by the code server),
    which also answers run monitoring's question "is this run's worker alive?" from
    :func:`gone_reason`: FAILED when its process is known to be gone, RUNNING otherwise
    (alive, or not to be told from here: on another host, or a run without a recorded
    process). Run monitoring then fails the run with that reason (Dagster's message
    "Detected run worker status FAILED: '<reason>'. Marking run ... as failed.", followed
    by :meth:`get_run_worker_debug_info`)."""

    @property
    def supports_check_run_worker_health(self) -> bool:
        return True

    def check_run_worker_health(self, run) -> CheckRunHealthResult:
        record = self._instance.get_run_record_by_id(run.run_id)
        reason = gone_reason(self._instance, record) if record is not None else None
        if reason is None:
            return CheckRunHealthResult(WorkerStatus.RUNNING, "its process is alive, or cannot be told from here")
        return CheckRunHealthResult(WorkerStatus.FAILED, f"the run was {_since(record)} but {reason}")

    def get_run_worker_debug_info(self, run, include_container_logs: bool | None = True) -> str | None:
        return f"Marked failed by Spiegel's run monitoring: {AFTERWORD}"
