"""Waiting for a killed process group to be gone, not only its leader.

A crash point's SIGKILL reaches every process of the group at once, but a parent waits
only for its own child, the group's leader. Another member (the dbt subprocess of a run)
may still be tearing down, and holding the warehouse's DuckDB lock, when the leader has
been reaped; a test that opens the warehouse next would then find it locked.
"""

from __future__ import annotations

import time
from pathlib import Path


def _exited(stat: Path) -> tuple[bool, int]:
    """(whether the task of this ``stat`` file has exited, its process group)."""
    fields = stat.read_text().rpartition(")")[2].split()
    return fields[0] in ("Z", "X"), int(fields[2])


def members_alive(pgid: int) -> list[int]:
    """Processes of group ``pgid`` that have not exited yet. A process has exited when every
    one of its threads has: a killed multi-threaded process (DuckDB's workers in dbt) shows its
    main thread as a zombie while the other threads still exit, and its files, hence its locks,
    are released only after the last of them."""
    alive = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            exited, group = _exited(stat)
            if group != pgid:
                continue
            if exited:
                exited = all(_exited(task)[0] for task in (stat.parent / "task").glob("[0-9]*/stat"))
        except OSError:  # gone while we looked
            continue
        if not exited:
            alive.append(int(stat.parent.name))
    return alive


def wait_until_gone(pgid: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while alive := members_alive(pgid):
        if time.monotonic() > deadline:
            raise AssertionError(f"processes {alive} of the killed group {pgid} still run after {timeout} s")
        time.sleep(0.05)
