"""Start the platform's Dagster jobs on the shared instance, from the CLI.

The CLI and the UI use one Dagster instance (``DAGSTER_HOME``, by default
``<data dir>/dagster_home``), so a run started from either shows in both, with its
history. Runs started here execute in this process (the same job definitions the UI
launches), one after another: DuckDB has a single writer anyway.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg

from orchestration.core.partitions import PERIOD_PARTITIONS_NAME, delivery_key
from orchestration.core.seeds import required_insurers
from orchestration.core.settings import SpiegelPaths, dbt_target, engine
from orchestration.landing.zone import find_in_force, newest_register
from orchestration.method.dbt_project import target_fingerprint
from orchestration.runs.done import deliveries_in_force, delivery_done, period_done
from orchestration.runs.stale_runs import fail_dead_runs as _fail_dead_runs
from orchestration.runs.stale_runs import process_tags


def instance() -> dg.DagsterInstance:
    return dg.DagsterInstance.get()


def definitions():
    # deferred: the definitions import Dagster, dagster-dbt and the dbt manifest (seconds),
    # which `spiegel status` and the light commands never need
    from orchestration.runs.location import code_location

    return code_location()


@dataclass
class RunOutcome:
    job: str
    partition: str
    run_id: str
    success: bool
    message: str = ""
    blocked_by_check: bool = False  # the run stopped on a failed blocking check: a verdict, not a crash
    output: object = None  # what the op named by ``_execute(output_of=...)`` returned, when the run succeeded

    @property
    def crashed(self) -> bool:
        return not self.success and not self.blocked_by_check


def ensure_period_partition(period: str) -> None:
    inst = instance()
    if not inst.has_dynamic_partition(PERIOD_PARTITIONS_NAME, period):
        inst.add_dynamic_partitions(PERIOD_PARTITIONS_NAME, [period])


_dead_runs_checked: set[str] = set()  # Dagster homes this process has looked at


def fail_dead_runs(inst=None) -> list[str]:
    """Runs left STARTED by a process that is gone (kill -9, power loss) are marked failed
    with a reason, so the UI never shows work in progress that is not (stale_runs.py)."""
    return _fail_dead_runs(inst if inst is not None else instance())


def fail_dead_runs_once() -> None:
    """:func:`fail_dead_runs`, once per process and instance: before a command's first run,
    or before it finds there is nothing to run (so a run killed before is failed all the same)."""
    home = os.environ.get("DAGSTER_HOME", "")
    if home not in _dead_runs_checked:
        fail_dead_runs()
        _dead_runs_checked.add(home)


def _execute(
    job_name: str,
    partition_key,
    run_config: dict | None = None,
    tags: dict | None = None,
    output_of: str | None = None,
) -> RunOutcome:
    fail_dead_runs_once()
    job = definitions().resolve_job_def(job_name)
    # The console shows our own progress lines; every event is still stored in the
    # instance, so the UI shows the whole run. SPIEGEL_LOG_LEVEL=DEBUG to see it here.
    log_level = os.environ.get("SPIEGEL_LOG_LEVEL", "CRITICAL").upper()
    config = {**(run_config or {}), "loggers": {"console": {"config": {"log_level": log_level}}}}
    with _console_to_run_log(job_name, str(partition_key), verbose=log_level == "DEBUG"):
        result = job.execute_in_process(
            partition_key=partition_key,
            instance=instance(),
            raise_on_error=False,
            run_config=config,
            tags={"spiegel/trigger": "cli", **process_tags(), **(tags or {})},
        )
    message, blocked = "", False
    if not result.success:
        failures = [e.event_specific_data for e in result.all_events if e.is_step_failure]
        errors = [getattr(data, "error", None) for data in failures]
        blocked = bool(errors) and all(getattr(err, "cls_name", "") == "DagsterAssetCheckFailedError" for err in errors)
        message = _failure_message(failures)
    output = result.output_for_node(output_of) if output_of and result.success else None
    return RunOutcome(job_name, str(partition_key), result.run_id, result.success, message, blocked, output)


@contextlib.contextmanager
def _console_to_run_log(job_name: str, partition: str, verbose: bool) -> Iterator[None]:
    """Send what a run prints (dbt's log lines, via dagster-dbt) to a file, not the console.

    The operator reads our own progress lines and the verdict; the full dbt output of the
    latest run of each job and partition is in ``<data dir>/logs/`` (and every event is
    in the Dagster instance for the UI).
    """
    if verbose:
        yield
        return
    folder = Path(os.environ.get("SPIEGEL_DATA_DIR") or ".") / "logs"
    folder.mkdir(parents=True, exist_ok=True)
    safe = re.sub(r"[^0-9A-Za-z._-]+", "_", f"{job_name}-{partition}")
    with open(folder / f"{safe}.log", "w", encoding="utf-8") as log, contextlib.redirect_stdout(log):
        yield


# Dagster wraps an exception raised in an op in these; the op's own exception is their cause.
_DAGSTER_WRAPPERS = {"DagsterExecutionStepExecutionError", "DagsterUserCodeExecutionError"}


def _failure_message(failures: list) -> str:
    """The reason of a failed run, in one line, in the words of the op that failed.

    A refusal (sign-off, publish) is a ``dg.Failure`` whose description is the reason;
    any other exception is reported as the op raised it, not as Dagster's wrapper
    ("Error occurred while executing op ...").
    """
    for data in failures:
        user = getattr(data, "user_failure_data", None)
        if user is not None and user.description:
            return one_line(user.description)
    for data in failures:
        err = getattr(data, "error", None)
        while err is not None and err.cls_name in _DAGSTER_WRAPPERS and err.cause is not None:
            err = err.cause
        if err is not None:
            # "_duckdb.IOException: IO Error: ..." -> "IOException: IO Error: ..."
            return one_line(re.sub(r"^[A-Za-z_][\w.]*\.(\w+): ", r"\1: ", err.message.strip()))
    return ""


def one_line(text: str) -> str:
    """``text`` on one line: the CLI promises a one-line reason on stderr."""
    return " | ".join(line.strip() for line in text.strip().splitlines() if line.strip())


def ingest(period: str, insurer: str) -> RunOutcome:
    from orchestration.runs.jobs import INGEST_JOB  # deferred: the jobs load the assets and dbt's manifest

    ensure_period_partition(period)
    return _execute(INGEST_JOB, delivery_key(period, insurer))


def ingest_period(period: str, insurers: list[str] | None = None, force: bool = False) -> RunOutcome:
    """One run that gates the period's deliveries that are not done (``insurers``: only
    these), as the landing sensor starts it (``runs/period_ingestion.py``). Its ``output``
    is each gated insurer's verdict, ``"passed"`` or ``"blocked"``."""
    from orchestration.runs.period_ingestion import INGEST_PERIOD_JOB, INGEST_PERIOD_OP

    ensure_period_partition(period)
    config = {"ops": {INGEST_PERIOD_OP: {"config": {"insurers": list(insurers or []), "force": force}}}}
    return _execute(INGEST_PERIOD_JOB, period, run_config=config, output_of=INGEST_PERIOD_OP)


def load_configuration_if_changed(paths: SpiegelPaths, progress: Callable[[str], None] = print) -> RunOutcome | None:
    """Load the seeds when this data directory has none yet or the dbt project changed
    since they were loaded (a run of its own, once per version); None when they are current."""
    # deferred: the configuration assets load dbt's manifest
    from orchestration.method.configuration import CONFIGURATION_JOB, configuration_needed

    if not configuration_needed(paths):
        return None
    progress("configuration: loading the seeds (none loaded here yet, or dbt_project/ changed since) ...")
    return _execute(CONFIGURATION_JOB, None)


def compute_period(period: str) -> RunOutcome:
    from orchestration.runs.jobs import PERIOD_JOB  # deferred: the jobs load the assets and dbt's manifest

    ensure_period_partition(period)
    return _execute(PERIOD_JOB, period)


def sign_off(period: str, by: str, comment: str) -> RunOutcome:
    from orchestration.runs.jobs import SIGNOFF_JOB  # deferred: the jobs load the assets and dbt's manifest

    ensure_period_partition(period)
    config = {"ops": {"signoff": {"config": {"by": by, "comment": comment}}}}
    return _execute(SIGNOFF_JOB, period, run_config=config)


def publish(period: str) -> RunOutcome:
    from orchestration.runs.jobs import PUBLISH_JOB  # deferred: the jobs load the assets and dbt's manifest

    ensure_period_partition(period)
    return _execute(PUBLISH_JOB, period)


def needs_ingestion(paths: SpiegelPaths, period: str, insurer: str) -> bool:
    """True unless the delivery in force is done (``runs/done.py``, the sensors' answer too):
    ingested and gated since the gates' configuration last changed."""
    ref = find_in_force(paths.landing, period, insurer)
    return not delivery_done(instance(), period, insurer, ref.delivery_id if ref else None)


def period_needs_computing(paths: SpiegelPaths, period: str) -> bool:
    """True unless the period is done (``runs/done.py``): computed on the deliveries in
    force, after they were last gated, with the method as it is now, having seen the
    newest practice register delivery."""
    register = newest_register(paths.landing)
    return not period_done(
        instance(),
        period,
        deliveries_in_force(paths, period),
        target_fingerprint(dbt_target(engine()), paths),
        register.delivery_id if register else None,
    )


def _ingest_pending(period: str, pending: list[str], force: bool, progress: Callable[[str], None]) -> RunOutcome:
    """Gate ``pending`` in one ``ingest_period`` run, as the landing sensor does: a run's
    set-up (about a second of Dagster's) is paid once, not per delivery, and the UI shows
    one run with each delivery's partition and checks. Then say each blocked delivery."""
    from orchestration.runs.period_ingestion import BLOCKED  # deferred like the job itself

    required = len(required_insurers(period))
    progress(
        f"{period}: ingesting and gating {len(pending)} of {required} deliveries in one run: {', '.join(pending)} ..."
    )
    outcome = ingest_period(period, pending, force=force)
    if not outcome.success:
        progress(f"    run {outcome.run_id} failed: {outcome.message}")
        return outcome
    verdicts = outcome.output or {}
    for insurer in pending:
        if verdicts.get(insurer) == BLOCKED:
            progress(f"    {insurer}: a blocking check failed (see `spiegel status` or run {outcome.run_id} in the UI)")
    return outcome


def run_period(
    paths: SpiegelPaths, period: str, force: bool = False, progress: Callable[[str], None] = print
) -> list[RunOutcome]:
    """Ingest every required insurer's delivery in force that is not done (or all with
    ``force``) in one run, load the seeds if the dbt project changed since they were loaded, then
    run the method and the readiness gate for the period unless it is done already (and
    not when the seeds failed)."""
    fail_dead_runs_once()
    outcomes = []
    insurers = required_insurers(period)
    pending = []
    for n, insurer in enumerate(insurers, 1):
        if force or needs_ingestion(paths, period, insurer):
            pending.append(insurer)
        else:
            progress(f"[{n}/{len(insurers)}] {period} {insurer}: delivery unchanged, already ingested and gated")
    if pending:
        outcomes.append(_ingest_pending(period, pending, force, progress))
    configured = load_configuration_if_changed(paths, progress)
    if configured is None and not force and not outcomes and not period_needs_computing(paths, period):
        progress(
            f"{period}: already computed on the deliveries in force with the method as it is; "
            f"nothing to run (--force runs it again)"
        )
        return outcomes
    if configured is not None:
        outcomes.append(configured)
        if not configured.success:
            # the method run would only refuse the seeds by name: one failed run, not two
            progress(f"    configuration run {configured.run_id} failed: {configured.message}")
            progress(
                f"{period}: the method is not run until the seeds load (see dbt_project/seeds/ and "
                f"the run's log in the UI; then run again)"
            )
            return outcomes
    progress(f"{period}: running the method (dbt) and the release-readiness gate ...")
    outcome = compute_period(period)
    outcomes.append(outcome)
    if outcome.crashed:
        progress(f"    run {outcome.run_id} failed: {outcome.message}")
    return outcomes
