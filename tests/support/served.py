"""The portal served for real: ``spiegel portal serve`` (migrations, static files, gunicorn)
in a subprocess on a free port of 127.0.0.1, on a data directory of the test's own."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def portal_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("SPIEGEL_DATA_DIR", "DJANGO_SETTINGS_MODULE")}
    env["PYTHONPATH"] = str(REPO_ROOT)
    return env


def spiegel_portal(data_dir: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    """``spiegel portal ARGS --data-dir DATA_DIR`` in a subprocess (Django reads its settings once
    per process, and this process's Django belongs to the in-process tests)."""
    return subprocess.run(
        [sys.executable, "-m", "orchestration.cli", "portal", args[0], "--data-dir", str(data_dir), *args[1:]],
        cwd=REPO_ROOT,
        env=portal_env(),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


@contextmanager
def served_portal(
    data_dir: Path, *, workers: int = 2, log_name: str = "serve.log", extra_env: dict[str, str] | None = None
) -> Iterator[str]:
    port = free_port()
    log = open(Path(data_dir) / log_name, "w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "orchestration.cli",
            "portal",
            "serve",
            "--data-dir",
            str(data_dir),
            "--port",
            str(port),
            "--workers",
            str(workers),
        ],
        cwd=REPO_ROOT,
        env={**portal_env(), **(extra_env or {})},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if process.poll() is not None:
                raise RuntimeError(
                    f"spiegel portal serve exited with {process.returncode}: "
                    + (Path(data_dir) / log_name).read_text()[-2000:]
                )
            try:
                # as from a TLS proxy (gunicorn believes 127.0.0.1): a portal with
                # SPIEGEL_PORTAL_HTTPS=1 answers it instead of redirecting to https
                probe = urllib.request.Request(base + "/accounts/login/", headers={"X-Forwarded-Proto": "https"})
                with urllib.request.urlopen(probe, timeout=2) as response:
                    if response.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the portal did not come up within 90 s")
            time.sleep(0.3)
        yield base
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        log.close()
    # a clean stop on SIGTERM (checked after the test's own assertions ran)
    assert process.returncode == 0, f"spiegel portal serve ended with {process.returncode}"


_BATCH = r"""
import contextlib, io, json, sys
from orchestration import cli
results = []
for argv, stdin in json.loads(sys.stdin.read()):
    out, err = io.StringIO(), io.StringIO()
    sys.stdin = io.StringIO(stdin or "")
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = cli.main(argv)
        except SystemExit as exc:
            code = exc.code
    results.append([code, out.getvalue(), err.getvalue()])
sys.__stdout__.write("\n@@RESULTS@@" + json.dumps(results))
"""


def spiegel_portal_batch(
    data_dir: Path, calls: list[tuple[list[str], str | None]]
) -> list[subprocess.CompletedProcess]:
    """Several ``spiegel portal ...`` commands through the real CLI entry point (cli.main), in
    one subprocess (the CLI imports Dagster, about 2 s of CPU per process)."""
    import json

    payload = [(["portal", args[0], "--data-dir", str(data_dir), *args[1:]], stdin) for args, stdin in calls]
    result = subprocess.run(
        [sys.executable, "-c", _BATCH],
        cwd=REPO_ROOT,
        env=portal_env(),
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0 and "@@RESULTS@@" in result.stdout, result.stderr[-3000:]
    return [
        subprocess.CompletedProcess(argv, code, out, err)
        for (argv, _), (code, out, err) in zip(payload, json.loads(result.stdout.split("@@RESULTS@@")[-1]))
    ]
