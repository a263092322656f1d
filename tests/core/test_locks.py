"""Every lock waits with a timeout, names its holder, and says retrying is safe."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from orchestration.core.locks import LockTimeout, file_lock
from orchestration.core.settings import SpiegelPaths
from orchestration.core.warehouse import WarehouseBusy, connect_write
from orchestration.release.signoff import read_signoffs, signoff_lock_path
from tests.support.pipeline import spiegel

CLEAN = "2024-v1"

HOLDER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from orchestration.core.locks import file_lock
    with file_lock(Path(sys.argv[1]), "test"):
        print("holding", flush=True)
        sys.stdin.readline()          # hold until the test closes our stdin
""")


class Holder:
    """Another process that holds the lock at ``path`` until :meth:`release`."""

    def __init__(self, path: Path):
        self.proc = subprocess.Popen(
            [sys.executable, "-c", HOLDER, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self.proc.stdout.readline().strip() == "holding"

    def release(self) -> None:
        self.proc.stdin.close()
        assert self.proc.wait(timeout=30) == 0


def test_a_lock_names_its_holder_and_gives_up_after_its_timeout(tmp_path):
    lock = tmp_path / "x.lock"
    holder = Holder(lock)
    started = time.monotonic()
    with pytest.raises(LockTimeout) as caught:
        with file_lock(lock, "the thing", timeout=0.6):
            pass
    assert 0.5 <= time.monotonic() - started < 5
    message = str(caught.value)
    assert f"pid {holder.proc.pid}" in message and "the thing is busy" in message
    assert "-c" in message and "retrying is safe" in message
    holder.release()
    with file_lock(lock, "the thing", timeout=0.6):  # free again: acquired at once
        assert "pid" in lock.read_text()
    assert lock.read_text() == ""  # a released lock names nobody


def test_the_warehouse_lock_names_its_holder(tmp_path):
    paths = SpiegelPaths(tmp_path / "data")
    with connect_write(paths):
        pass
    holder = Holder(paths.warehouse_lock)
    with pytest.raises(WarehouseBusy, match=rf"held for more than 1 s by pid {holder.proc.pid} .*retrying is safe"):
        with connect_write(paths, timeout=1):
            pass
    holder.release()
    with connect_write(paths, timeout=1) as con:
        assert con.execute("select 1").fetchone() == (1,)


def test_signoff_and_publish_fail_within_their_timeout_while_held_and_succeed_after(
    clean_release, tmp_path, monkeypatch, capsys
):
    data = tmp_path / "data"
    shutil.copytree(clean_release["data"], data, symlinks=True, ignore=shutil.ignore_patterns("releases"))
    paths = SpiegelPaths(data)
    monkeypatch.setenv("SPIEGEL_LOCK_TIMEOUT", "2")
    signoffs_before = len(read_signoffs(paths, CLEAN))

    holder = Holder(signoff_lock_path(paths))
    capsys.readouterr()
    started = time.monotonic()
    assert spiegel(data, "signoff", "--period", CLEAN, "--by", "anna", "--comment", "while held") == 1
    assert time.monotonic() - started < 60
    err = capsys.readouterr().err
    assert f"held for more than 2 s by pid {holder.proc.pid}" in err and "retrying is safe" in err, err
    assert len(read_signoffs(paths, CLEAN)) == signoffs_before
    holder.release()
    assert spiegel(data, "signoff", "--period", CLEAN, "--by", "anna", "--comment", "after release") == 0
    assert len(read_signoffs(paths, CLEAN)) == signoffs_before + 1

    holder = Holder(paths.releases / ".publish.lock")
    capsys.readouterr()
    started = time.monotonic()
    assert spiegel(data, "publish", "--period", CLEAN) == 1
    assert time.monotonic() - started < 60
    err = capsys.readouterr().err
    assert f"publishing under {paths.releases} is busy" in err and f"pid {holder.proc.pid}" in err, err
    assert "retrying is safe" in err
    assert not (paths.releases / CLEAN).exists() or not any((paths.releases / CLEAN).iterdir())
    holder.release()
    assert spiegel(data, "publish", "--period", CLEAN) == 0
    assert (paths.releases / CLEAN / "r1" / "behandelindex.csv").is_file()
