"""Two runs that touch the warehouse at once serialise, or fail cleanly and retryably."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

import duckdb
import pytest

from orchestration.core.settings import SpiegelPaths
from orchestration.core.warehouse import WarehouseBusy, connect_read, connect_write

HOLD_WRITER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from orchestration.core.settings import SpiegelPaths
    from orchestration.core.warehouse import connect_write
    with connect_write(SpiegelPaths(Path(sys.argv[1]))) as con:
        con.execute("create table if not exists t (who varchar, ts double)")
        con.execute("insert into t values ('holder', ?)", [time.time()])
        print("holding", flush=True)
        time.sleep(float(sys.argv[2]))
        con.execute("insert into t values ('holder-done', ?)", [time.time()])
""")


def _hold(paths: SpiegelPaths, seconds: float) -> subprocess.Popen:
    child = subprocess.Popen(
        [sys.executable, "-c", HOLD_WRITER, str(paths.data_dir), str(seconds)], stdout=subprocess.PIPE, text=True
    )
    assert child.stdout.readline().strip() == "holding"
    return child


def test_a_second_writer_waits_for_the_first(tmp_path):
    paths = SpiegelPaths(tmp_path / "data")
    child = _hold(paths, 1.5)
    with connect_write(paths, timeout=30) as con:
        con.execute("insert into t values ('second', ?)", [time.time()])
        order = [r[0] for r in con.execute("select who from t order by ts").fetchall()]
    assert child.wait() == 0
    assert order == ["holder", "holder-done", "second"]


def test_a_writer_that_cannot_wait_fails_with_a_retryable_message(tmp_path):
    paths = SpiegelPaths(tmp_path / "data")
    child = _hold(paths, 3)
    with pytest.raises(WarehouseBusy, match="retry"):
        with connect_write(paths, timeout=0.5):
            pass
    assert child.wait() == 0
    with connect_read(paths) as con:  # nothing corrupted: the holder's rows are all there
        assert [r[0] for r in con.execute("select who from t order by ts").fetchall()] == ["holder", "holder-done"]


def test_a_foreign_process_holding_the_file_is_reported_as_busy(tmp_path):
    paths = SpiegelPaths(tmp_path / "data")
    with connect_write(paths):
        pass
    script = "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('open', flush=True); time.sleep(3)"
    child = subprocess.Popen([sys.executable, "-c", script, str(paths.warehouse)], stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "open"
    with pytest.raises(WarehouseBusy, match="in use by another process"):
        with connect_write(paths, timeout=1):
            pass
    child.wait()
    assert duckdb.connect(str(paths.warehouse)).execute("select 1").fetchone() == (1,)
