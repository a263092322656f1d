"""Publishing into a file system that fills up (release/publish.py).

``releases/`` is a small tmpfs this test mounts (it runs as root in its container), so
the disk really fills: once while the tables are written (16 kB), once while the reports
are rendered (1 MB; plotly alone is 4.8 MB). Each time the publish stops with one line
on stderr naming the file system that is full and the stage, exit code 1, no revision
and no hidden leftover, the space given back; the Dagster run is failed with that line.
Then the file system grows (``mount -o remount``) and the same publish succeeds, equal to
an uninterrupted publish of the same period (``release_as_published``).

Where mounting is not allowed, the same test runs on a full disk injected into this
process: an audit hook (``sys.addaudithook``) that answers ``ENOSPC`` to every file
opened for writing under ``releases/`` after the first few.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg

from tests.support.pipeline import release_as_published, spiegel, visible_revisions

PERIOD = "2024-v1"
PAGE = 4096


class _InjectedFullDisk:
    """ENOSPC for files opened for writing under ``root`` once ``allowed`` of them were
    opened (an audit hook cannot be removed: it is inert while ``root`` is None)."""

    installed: _InjectedFullDisk | None = None

    def __init__(self) -> None:
        self.root: str | None = None
        self.allowed = 0

    def __call__(self, event: str, args: tuple) -> None:
        if event != "open" or self.root is None or not isinstance(args[0], str | bytes | os.PathLike):
            return
        path, mode, flags = os.fsdecode(args[0]), args[1] or "", args[2] or 0
        writing = any(c in mode for c in "wax+") or flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT)
        if writing and os.path.abspath(path).startswith(self.root) and not path.endswith(".publish.lock"):
            if self.allowed <= 0:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), path)
            self.allowed -= 1

    @classmethod
    def hook(cls) -> _InjectedFullDisk:
        if cls.installed is None:
            cls.installed = cls()
            sys.addaudithook(cls.installed)
        return cls.installed


def _can_mount(folder: Path) -> bool:
    probe = folder / ".probe"
    probe.mkdir(parents=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(probe)], capture_output=True)
    if mounted.returncode == 0:
        subprocess.run(["umount", str(probe)], check=True)
    probe.rmdir()
    return mounted.returncode == 0


class FullDisk:
    """``releases/`` with room for ``size`` bytes (a tmpfs), or the injected stand-in."""

    def __init__(self, releases: Path, mount: bool):
        self.releases, self.mount = releases, mount

    def room(self, size: int, files: int) -> None:
        """Make the room ``size`` bytes (mounted) or ``files`` files (injected)."""
        if self.mount:
            option = f"size={size}"
            if os.path.ismount(self.releases):
                subprocess.run(["mount", "-o", f"remount,{option}", str(self.releases)], check=True)
            else:
                subprocess.run(["mount", "-t", "tmpfs", "-o", option, "tmpfs", str(self.releases)], check=True)
        else:
            hook = _InjectedFullDisk.hook()
            hook.root, hook.allowed = str(self.releases.resolve()), files

    def used(self) -> int:
        if self.mount:
            return shutil.disk_usage(self.releases).used
        return sum(p.stat().st_size for p in self.releases.rglob("*") if p.is_file())

    def close(self) -> None:
        if self.mount and os.path.ismount(self.releases):
            subprocess.run(["umount", str(self.releases)], check=True)
        elif not self.mount:
            _InjectedFullDisk.hook().root = None


@contextmanager
def full_disk(releases: Path) -> Iterator[FullDisk]:
    disk = FullDisk(releases, _can_mount(releases.parent / "mounts"))
    try:
        yield disk
    finally:
        disk.close()


def _copy_of_signed_period(clean_release, data: Path) -> None:
    """The clean period computed and signed off, not published; ``releases/`` empty."""
    shutil.copytree(clean_release["data"], data, symlinks=True, ignore=shutil.ignore_patterns("releases"))
    (data / "releases").mkdir()


def _last_run(data: Path) -> dg.DagsterRun:
    with dg.DagsterInstance.from_config(str(data / "dagster_home")) as instance:
        (record,) = instance.get_run_records(filters=dg.RunsFilter(job_name="publish_release"), limit=1)
        return record.dagster_run


def test_a_full_disk_publishes_nothing_says_so_in_one_line_and_the_same_publish_succeeds_after(
    clean_release, tmp_path, capsys
):
    data = tmp_path / "data"
    _copy_of_signed_period(clean_release, data)
    releases = data / "releases"
    with full_disk(releases) as disk:
        for size, files, stage in ((4 * PAGE, 3, "writing the tables"), (1_000_000, 12, "rendering the reports")):
            disk.room(size, files)
            capsys.readouterr()
            assert spiegel(data, "publish", "--period", PERIOD) == 1
            err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
            assert len(err) == 1, err
            (line,) = err
            assert line.startswith(
                f"spiegel publish: publish of {PERIOD} failed: no space left on the file system of"
            ), line
            assert f"of {releases}" in line and f"while {stage}" in line, line
            assert "No space left on device" in line and "nothing was published and the partial r1 is removed" in line
            if disk.mount:
                assert f"(mounted at {releases})" in line, line
            # nothing visible, nothing hidden left, the space given back
            assert visible_revisions(releases / PERIOD) == [] and not list((releases / PERIOD).glob(".tmp-*"))
            assert disk.used() <= PAGE, disk.used()
            run = _last_run(data)
            assert run.status == dg.DagsterRunStatus.FAILURE

        disk.room(64_000_000, 1_000)  # space is freed: the same publish now succeeds
        capsys.readouterr()
        assert spiegel(data, "publish", "--period", PERIOD) == 0
        assert visible_revisions(releases / PERIOD) == ["r1"] and not list((releases / PERIOD).glob(".tmp-*"))
        assert release_as_published(releases / PERIOD / "r1") == release_as_published(clean_release["release"])
