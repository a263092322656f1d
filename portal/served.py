"""The portal served for real on this machine: ``spiegel portal serve`` (migrations, static
files, gunicorn) in a child process on a free port of 127.0.0.1, until the block ends.

The load test (``portal/loadtest.py``) and the tests that talk HTTP to the portal start it
the same way, through :func:`served`.
"""

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

REPO_ROOT = Path(__file__).resolve().parent.parent
STARTUP_SECONDS = 120  # migrations and collectstatic of a fresh data directory, on a busy machine


class PortalDidNotStart(RuntimeError):
    """``spiegel portal serve`` exited, or did not answer within :data:`STARTUP_SECONDS`."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve_env(extra_env: dict[str, str] | None = None) -> dict[str, str]:
    """This process's environment for a portal of another data directory: without the data
    directory and the Django settings this process may have, with the repository importable."""
    env = {k: v for k, v in os.environ.items() if k not in ("SPIEGEL_DATA_DIR", "DJANGO_SETTINGS_MODULE")}
    env["PYTHONPATH"] = str(REPO_ROOT)
    env.update(extra_env or {})
    return env


def _answers(base: str) -> bool:
    """The login page answers 200, asked as through a TLS proxy (gunicorn trusts 127.0.0.1):
    a portal with SPIEGEL_PORTAL_HTTPS=1 then answers instead of redirecting to https."""
    probe = urllib.request.Request(base + "/accounts/login/", headers={"X-Forwarded-Proto": "https"})
    try:
        with urllib.request.urlopen(probe, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


@contextmanager
def served(
    data_dir: Path, *, workers: int = 2, log_name: str = "serve.log", extra_env: dict[str, str] | None = None
) -> Iterator[tuple[subprocess.Popen, str]]:
    """The portal of ``data_dir`` until the block ends: (its process, its base URL). Its output
    goes to ``data_dir/log_name``; at the end it gets SIGTERM (SIGKILL after 30 s)."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log_path = Path(data_dir) / log_name
    argv = ["portal", "serve", "--data-dir", str(data_dir), "--port", str(port), "--workers", str(workers)]
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "orchestration.cli", *argv],
            cwd=REPO_ROOT,
            env=serve_env(extra_env),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + STARTUP_SECONDS
            while not _answers(base):
                if process.poll() is not None:
                    raise PortalDidNotStart(
                        f"spiegel portal serve exited with {process.returncode}: {log_path.read_text()[-2000:]}"
                    )
                if time.monotonic() > deadline:
                    raise PortalDidNotStart(f"the portal did not come up within {STARTUP_SECONDS} s: {log_path}")
                time.sleep(0.3)
            yield process, base
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
