"""A throwaway PostgreSQL cluster for the portal's tests: Debian's ``postgresql`` binaries
(installed by scripts/setup.sh), ``initdb`` into a temporary folder, the server on a Unix
socket in that folder only (no TCP), fsync off; stopped and removed afterwards.

initdb and postgres refuse to run as root, so as root both run as the ``postgres`` system
user (``runuser``), on a folder that user owns."""

from __future__ import annotations

import glob
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote


def postgres_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[4]))
    return Path(found[-1]).parent if found else None


def _as_owner(argv: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


@contextmanager
def throwaway_cluster() -> Iterator[str]:
    """Yields a database URL (``postgres://postgres@<socket dir>/spiegel_portal``)."""
    bindir = postgres_bin()
    if bindir is None:
        raise RuntimeError("PostgreSQL is not installed (bash scripts/setup.sh installs Debian's postgresql)")
    root = Path(tempfile.mkdtemp(prefix="spiegel-pg-"))
    data = root / "data"
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    process = None
    try:
        subprocess.run(
            _as_owner(
                [
                    str(bindir / "initdb"),
                    "-D",
                    str(data),
                    "-U",
                    "postgres",
                    "-A",
                    "trust",
                    "--no-sync",
                    "-E",
                    "UTF8",
                    "--locale",
                    "C",
                ]
            ),
            check=True,
            capture_output=True,
            text=True,
            timeout=120,
        )
        process = subprocess.Popen(
            _as_owner(
                [
                    str(bindir / "postgres"),
                    "-D",
                    str(data),
                    "-k",
                    str(root),
                    "-h",
                    "",
                    "-F",
                    "-c",
                    "fsync=off",
                    "-c",
                    "full_page_writes=off",
                    "-c",
                    "synchronous_commit=off",
                    "-c",
                    "max_connections=60",
                ]
            ),
            stdout=subprocess.DEVNULL,
            stderr=open(root / "server.log", "w"),
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while subprocess.run([str(bindir / "pg_isready"), "-h", str(root), "-U", "postgres", "-q"]).returncode != 0:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    "the throwaway PostgreSQL did not start: " + (root / "server.log").read_text()[-2000:]
                )
            time.sleep(0.2)
        subprocess.run(
            _as_owner([str(bindir / "createdb"), "-h", str(root), "-U", "postgres", "spiegel_portal"]),
            check=True,
            capture_output=True,
            timeout=60,
        )
        yield f"postgres://postgres@{quote(str(root), safe='')}/spiegel_portal"
    finally:
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGINT)  # "fast" shutdown
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        shutil.rmtree(root, ignore_errors=True)
