"""``spiegel ui``: the Dagster UI for one data directory, stopped cleanly with its runs."""

from __future__ import annotations

import argparse
import ctypes
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from orchestration.commands.common import CommandError, data_dir_paths, say
from orchestration.core.settings import REPO_ROOT

UI_STOP_SECONDS = 20.0  # how long `dagster dev` may take to stop before its processes are killed

# Dagster 1.13's `dagster dev` warns on start that it is superseded by `dg dev` (package
# dagster-dg-cli). We keep `dagster dev`: dg is not a dependency of the platform, and `dg dev`
# loads a dg project or workspace (a [tool.dg] table or dg.toml) rather than our workspace.yaml.
# So exactly that warning is silenced: the filter matches the start of its message (a
# FutureWarning, dagster's SupersessionWarning); every other warning still shows. The UI's
# processes inherit it and it matches nothing of theirs.
DAGSTER_DEV_SUPERSEDED = "ignore:Function `dev_command` is superseded:FutureWarning"


def dagster_dev_command(host: str, port: int, environ: dict[str, str]) -> tuple[list[str], dict[str, str]]:
    """The command line and environment of the UI's ``dagster dev`` (``environ`` is the
    environment it starts from: a copy is returned, the caller's stays as it is)."""
    dagster = Path(sys.executable).parent / "dagster"
    command = [str(dagster), "dev", "-w", str(REPO_ROOT / "workspace.yaml"), "-h", host, "-p", str(port)]
    env = dict(environ)
    env["PYTHONWARNINGS"] = ",".join(w for w in (env.get("PYTHONWARNINGS"), DAGSTER_DEV_SUPERSEDED) if w)
    return command, env


def cmd_ui(args: argparse.Namespace) -> int:
    """``dagster dev`` as a child in a process group of its own: Ctrl-C or SIGTERM stops
    all of it (webserver, daemon, code server, run workers, dbt) within UI_STOP_SECONDS,
    also while a run is in progress; runs it interrupted are then marked failed."""

    # deferred: the runner loads Dagster, which `spiegel --help` and a wrong call do not need
    from orchestration.runs import runner

    paths = data_dir_paths(args)
    earlier = runner.fail_dead_runs()
    if earlier:
        say(f"marked {len(earlier)} run(s) failed whose process had gone: {', '.join(earlier)}")
    command, env = dagster_dev_command(args.host, args.port, dict(os.environ))
    say(f"Dagster UI for {paths.data_dir} on http://{args.host}:{args.port} (Ctrl-C to stop)")
    received: list[int] = []
    previous = {
        sig: signal.signal(sig, lambda signum, _frame: received.append(signum))
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    }
    try:
        child = subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            env=env,
            start_new_session=True,
            preexec_fn=terminate_with_parent,
        )
        while child.poll() is None and not received:
            try:
                child.wait(timeout=0.5)
            except subprocess.TimeoutExpired:
                pass
        if received:
            say("stopping the Dagster UI ...")
        stopped_cleanly = _stop_process_group(child, float(os.environ.get("SPIEGEL_UI_STOP_SECONDS", UI_STOP_SECONDS)))
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    interrupted = runner.fail_dead_runs()
    if interrupted:
        say(
            f"marked {len(interrupted)} run(s) failed that were in progress when the UI stopped: "
            f"{', '.join(interrupted)}"
        )
    if not stopped_cleanly:
        say("the UI's processes did not stop within the grace period and were killed")
    if received:
        return 0
    raise CommandError(f"dagster dev exited with code {child.returncode}")


def terminate_with_parent() -> None:
    """In the child before exec (Linux): SIGTERM it when `spiegel ui` dies, even by
    SIGKILL, so dagster dev (in a session of its own) never outlives it."""

    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGTERM), 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _stop_process_group(child, grace: float) -> bool:
    """SIGTERM the child's process group, wait up to ``grace`` seconds for every member
    to exit, then SIGKILL what is left. True when nothing had to be killed."""

    def group_alive() -> bool:
        try:
            os.killpg(child.pid, 0)
            return True
        except ProcessLookupError:
            return False
        except PermissionError:
            return True

    if group_alive():
        try:
            os.killpg(child.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        try:
            child.wait(timeout=0.2)
        except subprocess.TimeoutExpired:
            continue
        if not group_alive():
            return True
    try:
        os.killpg(child.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    child.wait()
    return False
