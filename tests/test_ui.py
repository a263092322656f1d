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

from orchestration.config import REPO_ROOT
from orchestration.stale_runs import process_started_at


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


def _serving(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=5) as response:
            return response.status == 200
    except OSError:
        return False


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_spiegel_ui_stops_with_all_its_processes(tmp_path, stop_signal):
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("SPIEGEL_DATA_DIR", "DAGSTER_HOME")}
    ui = subprocess.Popen([sys.executable, "-m", "orchestration.cli", "ui", "--data-dir", str(tmp_path / "data"),
                           "--port", str(port)], cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, start_new_session=True)
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
        if ui.poll() is None:
            os.killpg(ui.pid, signal.SIGKILL)
            ui.wait()
        for pid, t in processes.items():  # never leave a dagster process behind, even when failing
            if process_started_at(pid) == t:
                os.kill(pid, signal.SIGKILL)
