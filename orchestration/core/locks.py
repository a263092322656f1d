"""File locks that never wait forever and say who holds them.

Every lock the platform takes (the warehouse, the sign-off log, publishing) is a
``flock`` on a small file next to what it protects. A process that gets the lock
exclusively writes who it is into that file (pid, command line, host, since when), so
one that gives up after its timeout can say who holds the lock, and that nothing was
changed and retrying is safe. The kernel releases a ``flock`` when its holder dies
(also on ``kill -9``), so a dead holder never blocks anyone; the text it wrote stays
behind but is only read when the lock is actually held.

The timeout is ``SPIEGEL_LOCK_TIMEOUT`` seconds (default 900: a national period's
method run holds the warehouse for about a minute, publishing with all reports for
up to twenty), read at each acquisition.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

DEFAULT_LOCK_TIMEOUT_SECONDS = 900.0
LOCK_TIMEOUT_ENV = "SPIEGEL_LOCK_TIMEOUT"


def lock_timeout() -> float:
    """Seconds a lock waits before it gives up (``SPIEGEL_LOCK_TIMEOUT``, default 900)."""
    value = os.environ.get(LOCK_TIMEOUT_ENV)
    try:
        return float(value) if value else DEFAULT_LOCK_TIMEOUT_SECONDS
    except ValueError:
        return DEFAULT_LOCK_TIMEOUT_SECONDS


class LockTimeout(RuntimeError):
    """Another process held a lock for longer than the timeout; retrying later is safe."""


def _holder_text() -> str:
    return json.dumps(
        {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]])[:300] if sys.argv else "",
            "since": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        }
    )


def _write_holder(handle) -> None:
    """Name this process in the lock file. Only a courtesy to whoever waits: on a full disk
    the lock is held all the same, unnamed (the work under it then says what is full)."""
    fd = handle.fileno()  # unbuffered: a failed write leaves nothing pending in the handle
    os.ftruncate(fd, 0)
    try:
        os.write(fd, _holder_text().encode("utf-8"))
    except OSError:
        os.ftruncate(fd, 0)


def describe_holder(path: Path) -> str:
    """Who holds the lock at ``path``, in words (as its holder wrote it)."""
    try:
        text = path.read_text(encoding="utf-8").strip()
        holder = json.loads(text) if text else None
    except (OSError, ValueError):
        holder = None
    if not isinstance(holder, dict):
        return "a process that reads it (readers do not write their name)"
    return f"pid {holder.get('pid')} on {holder.get('host')} (`{holder.get('command')}`, since {holder.get('since')})"


@contextmanager
def file_lock(
    path: Path, what: str, timeout: float | None = None, shared: bool = False, busy: type[LockTimeout] = LockTimeout
) -> Iterator[None]:
    """Hold ``flock`` on ``path`` (exclusive, or shared for readers), waiting at most
    ``timeout`` seconds (default :func:`lock_timeout`); then raise ``busy`` with a message
    naming ``what`` is locked, who holds it and that retrying is safe."""
    timeout = lock_timeout() if timeout is None else timeout
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+", encoding="utf-8") as handle:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise busy(
                        f"{what} is busy: {path.name} has been held for more than {timeout:.0f} s by "
                        f"{describe_holder(path)}; nothing was changed, retrying is safe once it has finished "
                        f"(wait longer with {LOCK_TIMEOUT_ENV}=SECONDS)"
                    ) from None
                time.sleep(0.2)
        try:
            if not shared:
                _write_holder(handle)
            yield
        finally:
            if not shared:
                handle.seek(0)
                handle.truncate()
                handle.flush()
            fcntl.flock(handle, fcntl.LOCK_UN)
