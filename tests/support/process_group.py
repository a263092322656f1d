"""Waiting for a killed process group to be gone, not only its leader.

A crash point's SIGKILL reaches every process of the group at once, but a parent waits
only for its own child, the group's leader. Another member (the dbt subprocess of a run)
may still be tearing down, and holding the warehouse's DuckDB lock, when the leader has
been reaped; a test that opens the warehouse next would then find it locked.
"""

from __future__ import annotations

import time
from pathlib import Path


def members_alive(pgid: int) -> list[int]:
    """Processes of group ``pgid`` that have not exited yet. A zombie has exited: its files,
    hence its locks, are released before it becomes one."""
    alive = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:  # gone while we looked
            continue
        state, group = fields[0], int(fields[2])
        if group == pgid and state not in ("Z", "X"):
            alive.append(int(stat.parent.name))
    return alive


def wait_until_gone(pgid: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while alive := members_alive(pgid):
        if time.monotonic() > deadline:
            raise AssertionError(f"processes {alive} of the killed group {pgid} still run after {timeout} s")
        time.sleep(0.05)
