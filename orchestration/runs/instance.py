"""Which Dagster instance a process uses: the data directory's own (``<data dir>/dagster_home``),
configured from the environment at every start. Light to import: every command points its
process here first.

``dagster_home/dagster.yaml`` is written from the settings below each time a command (or
``spiegel serve``) starts, as long as it carries the marker line ``# Written by Spiegel``;
an operator who removes that line keeps their own file, untouched (docs/service.md):

- storage: SQLite files under ``dagster_home/`` by default; with
  ``SPIEGEL_DAGSTER_DATABASE_URL`` set, runs, events and schedules live in PostgreSQL
  (dagster-postgres). The file names the variable, not its value: the password stays in
  the environment;
- the run queue (``QueuedRunCoordinator``): at most ``SPIEGEL_DAGSTER_MAX_CONCURRENT_RUNS``
  runs at once, and of the runs tagged ``spiegel/warehouse: write`` (every job that writes
  the DuckDB warehouse, ``runs/jobs.py``) one at a time; the jobs that only read it
  (``spiegel/warehouse: read``) may be launched beside a writer;
- run monitoring (the daemon): runs stuck starting or cancelling are failed after their
  timeout, and a run whose process is gone is failed through
  ``stale_runs.ProcessCheckingRunLauncher`` (Dagster's launcher, able to tell whether a
  run's process still exists).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

from orchestration.core.settings import SpiegelPaths
from orchestration.core.warehouse import ensure_data_dir

MARKER = "# Written by Spiegel"
DATABASE_URL_ENV = "SPIEGEL_DAGSTER_DATABASE_URL"
MAX_RUNS_ENV = "SPIEGEL_DAGSTER_MAX_CONCURRENT_RUNS"
MONITORING_INTERVAL_ENV = "SPIEGEL_RUN_MONITORING_INTERVAL"
START_TIMEOUT_ENV = "SPIEGEL_RUN_START_TIMEOUT"
SENSOR_INTERVAL_ENV = "SPIEGEL_SENSOR_INTERVAL"
MAX_RUNS_DEFAULT = 3  # one warehouse writer, and sign-off or publishing (readers) beside it
MONITORING_INTERVAL_DEFAULT = 30  # seconds between the daemon's looks at the runs in progress
START_TIMEOUT_DEFAULT = 180  # seconds a launched run may take to start before it is failed
SENSOR_INTERVAL_DEFAULT = 30  # seconds between the landing, period and configuration sensors' ticks

# The run tag of every job that touches the warehouse (runs/jobs.py): DuckDB has one writing
# process, so the queue launches one "write" run at a time.
WAREHOUSE_TAG = "spiegel/warehouse"
WAREHOUSE_WRITE = "write"
WAREHOUSE_READ = "read"


class InstanceSettingsError(ValueError):
    """A setting of the Dagster instance that cannot be used; the message is one line."""


def _whole_number(environ: Mapping[str, str], name: str, default: int, minimum: int) -> int:
    value = (environ.get(name) or "").strip()
    if not value:
        return default
    if not value.isdigit() or int(value) < minimum:
        raise InstanceSettingsError(f"{name} must be a whole number of at least {minimum}, got {value!r}")
    return int(value)


def sensor_interval_seconds(environ: Mapping[str, str]) -> int:
    """Seconds between two evaluations of the sensors that start the work: how long a
    complete delivery may wait in ``landing/`` before its ingestion is requested."""
    return _whole_number(environ, SENSOR_INTERVAL_ENV, SENSOR_INTERVAL_DEFAULT, 1)


def database_url(environ: Mapping[str, str]) -> str | None:
    """The PostgreSQL URL of the Dagster instance, or None for SQLite; refused when
    SQLAlchemy (which dagster-postgres uses) could not read it."""
    url = (environ.get(DATABASE_URL_ENV) or "").strip()
    if not url:
        return None
    scheme = url.split("://", 1)[0] if "://" in url else ""
    if scheme != "postgresql+psycopg2":
        # dagster-postgres runs on psycopg2; SQLAlchemy 2.1 reads a bare postgresql:// as
        # psycopg 3, on which dagster-postgres's NOTIFY fails
        raise InstanceSettingsError(
            f"{DATABASE_URL_ENV} must start with postgresql+psycopg2:// (dagster-postgres uses psycopg2): "
            f"postgresql+psycopg2://user:password@host:5432/db, or postgresql+psycopg2://user@/db?host=/run/postgresql "
            f"for a Unix socket"
        )
    return url


def dagster_yaml(environ: Mapping[str, str]) -> str:
    """The text of ``dagster.yaml`` for these settings (``environ``: the environment)."""
    max_runs = _whole_number(environ, MAX_RUNS_ENV, MAX_RUNS_DEFAULT, 1)
    interval = _whole_number(environ, MONITORING_INTERVAL_ENV, MONITORING_INTERVAL_DEFAULT, 1)
    start_timeout = _whole_number(environ, START_TIMEOUT_ENV, START_TIMEOUT_DEFAULT, 1)
    sensor_interval_seconds(environ)  # not in the file, but refused at start rather than when the sensors load
    if database_url(environ):
        storage = (
            "# runs, events and schedules in PostgreSQL (dagster-postgres); the URL is read from the\n"
            f"# environment, {DATABASE_URL_ENV}, so it is not written here\n"
            "storage:\n"
            "  postgres:\n"
            "    postgres_url:\n"
            f"      env: {DATABASE_URL_ENV}\n"
        )
    else:
        storage = f"# storage: SQLite files beside this one (the default; set {DATABASE_URL_ENV} for PostgreSQL)\n"
    return (
        f"{MARKER} from its settings at every start (docs/service.md); remove this line to keep\n"
        "# your own edits: Spiegel then leaves the file as it is.\n"
        f"{storage}"
        "# the run queue: the daemon launches queued runs (sensors', the UI's) within these limits\n"
        "run_coordinator:\n"
        "  module: dagster\n"
        "  class: QueuedRunCoordinator\n"
        "concurrency:\n"
        "  runs:\n"
        f"    max_concurrent_runs: {max_runs}\n"
        "    tag_concurrency_limits:\n"
        "      # DuckDB has one writing process: one warehouse writer at a time, readers beside it\n"
        f"      - key: {WAREHOUSE_TAG}\n"
        f"        value: {WAREHOUSE_WRITE}\n"
        "        limit: 1\n"
        "# Dagster's launcher (a run worker per run), which also tells run monitoring whether a\n"
        "# run's process still exists (orchestration/runs/stale_runs.py)\n"
        "run_launcher:\n"
        "  module: orchestration.runs.stale_runs\n"
        "  class: ProcessCheckingRunLauncher\n"
        "run_monitoring:\n"
        "  enabled: true\n"
        f"  start_timeout_seconds: {start_timeout}\n"
        f"  cancel_timeout_seconds: {start_timeout}\n"
        "  max_resume_run_attempts: 0  # a failed run is failed, not resumed (the default launcher cannot)\n"
        f"  poll_interval_seconds: {interval}\n"
        "telemetry:\n"
        "  enabled: false\n"
    )


def write_dagster_yaml(home: Path, environ: Mapping[str, str]) -> bool:
    """Write ``home/dagster.yaml`` for these settings unless an operator took the file over
    (no marker line). True when the file now holds Spiegel's text."""
    target = home / "dagster.yaml"
    try:
        current = target.read_text(encoding="utf-8")
    except FileNotFoundError:
        current = None
    if current is not None and MARKER not in current:
        return False  # the operator's own file
    text = dagster_yaml(environ)
    if current is not None and "postgres_url" in current and database_url(environ) is None:
        # a command run without the service's environment would otherwise move the instance
        # to an empty SQLite one, silently, and the daemon with it at its next start
        raise InstanceSettingsError(
            f"the Dagster instance of {home} is in PostgreSQL but {DATABASE_URL_ENV} is not set: "
            f"set it as for spiegel serve (deploy/spiegel.env.example), or delete {target} to go back to SQLite"
        )
    if current == text:
        return True
    # atomic: a Dagster process starting meanwhile reads the old file or the new one, whole
    fd, tmp = tempfile.mkstemp(dir=home, prefix=".dagster.yaml.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return True


def use_data_dir(paths: SpiegelPaths) -> None:
    """Point this process (and the definitions it loads) at ``paths``."""
    ensure_data_dir(paths)
    os.environ["SPIEGEL_DATA_DIR"] = str(paths.data_dir)
    # DAGSTER_HOME defaults to the data directory's own instance; an explicit
    # SPIEGEL_DAGSTER_HOME points every data directory at one shared instance instead.
    os.environ["DAGSTER_HOME"] = os.environ.get("SPIEGEL_DAGSTER_HOME") or str(paths.dagster_home)
    home = Path(os.environ["DAGSTER_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    write_dagster_yaml(home, os.environ)
