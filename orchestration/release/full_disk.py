"""A publish on a file system that fills up (``ENOSPC``, a quota): what stopped it, and the one
line that tells an operator which file system is full, in which stage, and that nothing was
published (``publish.py`` removes the partial revision before it raises :class:`PublishFailed`)."""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path

_STAGE_WORDS = {
    "read_warehouse": "reading the warehouse",
    "write_tables": "writing the tables and release.json",
    "render_reports": "rendering the reports",
    "flush": "flushing the revision to disk",
    "rename": "renaming the revision into place",
    "archive": "archiving old periods",
}
_NO_SPACE = {errno.ENOSPC, errno.EDQUOT}


class PublishFailed(RuntimeError):
    """The publish stopped on a file system without space; nothing was published (one line)."""


def tree_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file()) if root.is_dir() else 0


def _mount_point(path: Path) -> Path:
    path = path.resolve()
    while not os.path.ismount(path) and path != path.parent:
        path = path.parent
    return path


def no_space_error(exc: BaseException) -> OSError | None:
    """The "no space left" (or quota) error behind ``exc``, if that is what stopped it: also
    when the report renderer wrapped it in an error of its own."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno in _NO_SPACE:
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def _size(n: int) -> str:
    return f"{n / 1_000_000:.1f} MB" if n >= 1_000_000 else f"{n / 1000:.0f} kB"


def no_space_message(period: str, revision: str, releases: Path, stage: str, written: int, exc: OSError) -> str:
    """One line for an operator: which file system is full, in which stage, what is left behind."""
    free = shutil.disk_usage(releases).free
    return (
        f"publish of {period} failed: no space left on the file system of {releases} (mounted at "
        f"{_mount_point(releases)}) while {_STAGE_WORDS.get(stage, stage)} ({exc.strerror}; "
        f"{_size(written)} of {revision} written before it filled, {_size(free)} free now); nothing was published "
        f"and the partial {revision} is removed: free space and publish again"
    )
