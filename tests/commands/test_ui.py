"""`spiegel ui` serves the Dagster UI and stops cleanly, with all its processes, on SIGTERM or Ctrl-C."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from orchestration.core.settings import REPO_ROOT
from orchestration.runs.stale_runs import process_started_at


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _descendants(pid: int) -> dict[int, float]:
    """pid -> start time of every process below ``pid``."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = {}, [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            started = process_started_at(child)
            if started is not None:
                found[child] = started
                todo.append(child)
    return found


def _start_ui(data: Path, port: int) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k not in ("SPIEGEL_DATA_DIR", "DAGSTER_HOME")}
    return subprocess.Popen(
        [sys.executable, "-m", "orchestration.cli", "ui", "--data-dir", str(data), "--port", str(port)],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def _kill_leftovers(ui: subprocess.Popen, processes: dict[int, float]) -> None:
    """Never leave a dagster process behind, even when a test fails (dagster dev runs in a
    session of its own, so killing the UI's group alone would not reach it)."""
    processes = {**processes, **_descendants(ui.pid)}
    if ui.poll() is None:
        os.killpg(ui.pid, signal.SIGKILL)
        ui.wait()
    for pid, t in processes.items():
        if process_started_at(pid) == t:
            os.kill(pid, signal.SIGKILL)


def _serving(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=5) as response:
            return response.status == 200
    except OSError:
        return False


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_spiegel_ui_stops_with_all_its_processes(tmp_path, stop_signal):
    port = _free_port()
    ui = _start_ui(tmp_path / "data", port)
    processes: dict[int, float] = {}
    try:
        deadline = time.monotonic() + 240
        while not _serving(port):
            assert ui.poll() is None, ui.stdout.read()
            assert time.monotonic() < deadline, "the UI did not start serving in time"
            time.sleep(1)
        processes.update(_descendants(ui.pid))
        assert len(processes) >= 3  # dagster dev, its webserver, its daemon (and code servers)

        started = time.monotonic()
        os.kill(ui.pid, stop_signal)
        assert ui.wait(timeout=60) == 0
        assert time.monotonic() - started < 40
        output = ui.stdout.read()
        assert "stopping the Dagster UI" in output, output
        time.sleep(0.5)
        left = [pid for pid, t in processes.items() if process_started_at(pid) == t]
        assert left == [], f"processes left running: {left}"
        assert not _serving(port)
    finally:
        _kill_leftovers(ui, processes)


def test_dagster_dev_does_not_outlive_a_killed_spiegel_ui(tmp_path):
    """kill -9 of `spiegel ui` itself: its dagster dev (in a session of its own) gets SIGTERM
    from the kernel (PR_SET_PDEATHSIG) and stops with its processes."""
    port = _free_port()
    ui = _start_ui(tmp_path / "data", port)
    processes: dict[int, float] = {}
    try:
        deadline = time.monotonic() + 240
        while not _serving(port):
            assert ui.poll() is None, ui.stdout.read()
            assert time.monotonic() < deadline, "the UI did not start serving in time"
            time.sleep(1)
        processes.update(_descendants(ui.pid))
        os.kill(ui.pid, signal.SIGKILL)
        ui.wait(timeout=10)
        deadline = time.monotonic() + 40
        while [pid for pid, t in processes.items() if process_started_at(pid) == t]:
            assert time.monotonic() < deadline, "dagster dev outlived spiegel ui"
            time.sleep(0.5)
        assert not _serving(port)
    finally:
        _kill_leftovers(ui, processes)


def test_spiegel_ui_stops_while_a_run_is_in_progress_and_the_run_is_marked_failed(tmp_path):
    """A delivery lands in a fresh data directory; a sensor starts its first run (the seeds',
    then the delivery's), which waits for the warehouse (held by another process, as by an
    operator's `spiegel run`). SIGTERM stops the UI with
    that run worker, and the run is failed with a reason instead of staying STARTED."""
    import dagster as dg

    from orchestration.core.locks import file_lock
    from orchestration.core.settings import SpiegelPaths
    from tests.support.delivery_factory import write_delivery

    paths = SpiegelPaths(tmp_path / "data")
    write_delivery(paths.landing, "2024-v1", "vgz", "20241005T0930")
    port = _free_port()
    processes: dict[int, float] = {}
    with file_lock(paths.warehouse_lock, "the warehouse"):  # this process holds the warehouse meanwhile
        ui = _start_ui(paths.data_dir, port)
        try:
            deadline = time.monotonic() + 420
            run = None
            while run is None:
                assert ui.poll() is None, ui.stdout.read()
                assert time.monotonic() < deadline, "the landing sensor's run did not start in time"
                time.sleep(2)
                if _serving(port):  # the instance's storage exists: reading it now races with nothing
                    with dg.DagsterInstance.from_config(str(paths.dagster_home)) as instance:
                        started = instance.get_runs(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED]))
                        run = started[0] if started else None
            # a fresh data directory: the seeds' run comes first (configuration_sensor), then
            # the delivery's (landing_sensor); either one waits for the warehouse here
            assert (run.job_name, run.tags["spiegel/trigger"]) in {
                ("load_configuration", "configuration_sensor"),
                ("ingest_period", "landing_sensor"),
            }
            time.sleep(3)  # the worker is now waiting for the warehouse lock
            processes.update(_descendants(ui.pid))

            began = time.monotonic()
            os.kill(ui.pid, signal.SIGTERM)
            assert ui.wait(timeout=60) == 0
            assert time.monotonic() - began < 40
            assert "stopping the Dagster UI" in ui.stdout.read()
            time.sleep(0.5)
            assert [pid for pid, t in processes.items() if process_started_at(pid) == t] == []
        finally:
            _kill_leftovers(ui, processes)
    # the run ended with a reason: the worker reported its interruption itself, or, when it
    # could not, `spiegel ui` marked it failed after stopping (stale_runs.py)
    with dg.DagsterInstance.from_config(str(paths.dagster_home)) as instance:
        assert instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.FAILURE
        failures = instance.all_logs(run.run_id, of_type=dg.DagsterEventType.RUN_FAILURE)
        assert [e.dagster_event.message for e in failures if e.dagster_event.message], "no reason recorded"
        assert instance.get_runs(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED])) == []


def test_the_ui_runs_dagster_dev_on_the_workspace_with_only_its_supersession_warning_silenced():
    from orchestration.commands.ui import DAGSTER_DEV_SUPERSEDED, dagster_dev_command

    environ = {"DAGSTER_HOME": "/d/dagster_home", "PYTHONWARNINGS": "error::DeprecationWarning"}
    command, env = dagster_dev_command("127.0.0.1", 3100, environ)
    assert command == [
        str(Path(sys.executable).parent / "dagster"),
        "dev",
        "-w",
        str(REPO_ROOT / "workspace.yaml"),
        "-h",
        "127.0.0.1",
        "-p",
        "3100",
    ]
    # the operator's own filters stay, ours comes last (so it wins), the caller's dict is untouched
    assert env == {**environ, "PYTHONWARNINGS": "error::DeprecationWarning," + DAGSTER_DEV_SUPERSEDED}
    assert environ["PYTHONWARNINGS"] == "error::DeprecationWarning"
    _, alone = dagster_dev_command("0.0.0.0", 3000, {})
    assert alone == {"PYTHONWARNINGS": DAGSTER_DEV_SUPERSEDED}

    # the filter, as Python reads it from PYTHONWARNINGS: dagster dev's warning goes, others stay
    warn_both = (
        "import warnings\n"
        "from dagster._utils.warnings import SupersessionWarning\n"
        'warnings.warn("Function `dev_command` is superseded and its usage is discouraged. '
        "Use 'dg dev' instead.\", SupersessionWarning)\n"
        "warnings.warn('Function `other_command` is superseded.', SupersessionWarning)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", warn_both], env={**os.environ, **alone}, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "dev_command" not in done.stderr and "other_command" in done.stderr, done.stderr
