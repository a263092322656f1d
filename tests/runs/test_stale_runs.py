"""A run whose process was killed is marked failed, with a reason, not left STARTED."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import uuid

import dagster as dg
from dagster._core.storage.dagster_run import DagsterRun

from orchestration.runs.stale_runs import HOST_TAG, PID_STARTED_TAG, PID_TAG, fail_dead_runs, process_tags
from tests.support.pipeline import spiegel, spiegel_killed_at, was_killed

CLEAN = "2024-v1"


def _failure_message(instance: dg.DagsterInstance, run_id: str) -> str:
    events = instance.all_logs(run_id, of_type=dg.DagsterEventType.RUN_FAILURE)
    return " ".join(e.dagster_event.message or "" for e in events)


def _started_run(instance: dg.DagsterInstance, tags: dict[str, str]) -> str:
    run_id = str(uuid.uuid4())
    instance.add_run(
        DagsterRun(job_name="compute_period", run_id=run_id, status=dg.DagsterRunStatus.STARTED, tags=tags)
    )
    return run_id


def test_only_runs_whose_process_is_gone_on_this_host_are_failed():
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    with dg.DagsterInstance.ephemeral() as instance:
        mine = _started_run(instance, process_tags())
        gone = _started_run(instance, {HOST_TAG: socket.gethostname(), PID_TAG: str(dead.pid), PID_STARTED_TAG: "1.00"})
        # our own pid, but recorded with another start time: the pid was reused, the run's process is gone
        reused = _started_run(instance, {**process_tags(), PID_STARTED_TAG: "1.00"})
        elsewhere = _started_run(instance, {HOST_TAG: "another-host", PID_TAG: str(dead.pid), PID_STARTED_TAG: "1.00"})
        unknown = _started_run(instance, {})

        assert sorted(fail_dead_runs(instance)) == sorted([gone, reused])
        status = {r: instance.get_run_by_id(r).status for r in (mine, gone, reused, elsewhere, unknown)}
        assert status == {
            mine: dg.DagsterRunStatus.STARTED,
            gone: dg.DagsterRunStatus.FAILURE,
            reused: dg.DagsterRunStatus.FAILURE,
            elsewhere: dg.DagsterRunStatus.STARTED,
            unknown: dg.DagsterRunStatus.STARTED,
        }
        assert f"pid {dead.pid}" in _failure_message(instance, gone)
        assert fail_dead_runs(instance) == []  # nothing left to do: a failed run is not failed twice


def test_a_run_killed_with_its_process_is_failed_by_the_next_status(clean_release, tmp_path, capsys):
    data = tmp_path / "data"
    shutil.copytree(clean_release["ingested"], data, symlinks=True)
    killed = spiegel_killed_at(data, "dbt_event:3", "run", "--period", CLEAN)
    assert was_killed(killed), (killed.returncode, killed.stderr[-2000:])

    home = str(data / "dagster_home")
    with dg.DagsterInstance.from_config(home) as instance:
        in_progress = instance.get_runs(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED]))
        assert [r.job_name for r in in_progress] == ["compute_period"]  # what the UI would show forever
        run_id = in_progress[0].run_id

    capsys.readouterr()
    assert spiegel(data, "status", "--period", CLEAN) == 0
    assert f"run {run_id} was still marked started but its process is gone" in capsys.readouterr().out

    with dg.DagsterInstance.from_config(home) as instance:
        run = instance.get_run_by_id(run_id)
        assert run.status == dg.DagsterRunStatus.FAILURE
        message = _failure_message(instance, run_id)
        assert "Marked failed by Spiegel" in message and "no longer exists" in message, message
        assert instance.get_runs(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED])) == []


def test_the_run_launcher_tells_run_monitoring_which_runs_process_is_gone():
    """The daemon's run monitoring asks the launcher about each STARTED run
    (dagster.yaml names ProcessCheckingRunLauncher, runs/instance.py)."""
    from dagster._core.launcher import WorkerStatus

    from orchestration.runs.stale_runs import ProcessCheckingRunLauncher

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    with dg.DagsterInstance.ephemeral() as instance:
        launcher = ProcessCheckingRunLauncher()
        launcher.register_instance(instance)
        assert launcher.supports_check_run_worker_health and not launcher.supports_resume_run
        mine = _started_run(instance, process_tags())
        gone = _started_run(instance, {HOST_TAG: socket.gethostname(), PID_TAG: str(dead.pid), PID_STARTED_TAG: "1.00"})
        elsewhere = _started_run(instance, {HOST_TAG: "another-host", PID_TAG: str(dead.pid), PID_STARTED_TAG: "1.00"})
        unknown = _started_run(instance, {})

        runs = (mine, gone, elsewhere, unknown)
        health = {r: launcher.check_run_worker_health(instance.get_run_by_id(r)) for r in runs}
        # only a run whose process is known to be gone fails; what cannot be told is left running
        assert {r: h.status for r, h in health.items()} == {
            mine: WorkerStatus.RUNNING,
            gone: WorkerStatus.FAILED,
            elsewhere: WorkerStatus.RUNNING,
            unknown: WorkerStatus.RUNNING,
        }
        assert f"pid {dead.pid}" in health[gone].msg and "no longer exists" in health[gone].msg
        assert "run it again" in launcher.get_run_worker_debug_info(instance.get_run_by_id(gone))
