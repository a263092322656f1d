"""kill -9 in the middle of work loses nothing and leaves nothing half-done."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb

from orchestration.core.settings import SpiegelPaths
from orchestration.core.warehouse import connect_read
from orchestration.release.readiness import period_state
from tests.support.delivery_factory import claim_row, write_delivery
from tests.support.pipeline import (
    assert_revision_complete,
    published_tables,
    spiegel,
    spiegel_killed_at,
    visible_revisions,
    was_killed,
)

PERIOD, INSURER = "2024-v1", "vgz"


def _digests(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _big_rows(n: int, prefix: str) -> list[dict[str, str]]:
    return [claim_row(i, claim_id=f"{prefix}{i:07d}") for i in range(n)]


INGEST_LOOP = textwrap.dedent("""
    import sys
    from pathlib import Path
    from orchestration.core.settings import SpiegelPaths
    from orchestration.delivery.loading import load_delivery
    from orchestration.landing.zone import complete_deliveries
    from orchestration.delivery.raw_tables import connect_raw
    from orchestration.delivery.raw_tables import record_delivery
    paths = SpiegelPaths(Path(sys.argv[1]))
    refs = complete_deliveries(paths.landing)
    print("ready", flush=True)
    while True:                       # alternate between the two deliveries until killed
        for ref in refs:
            with connect_raw(paths) as con:
                record_delivery(con, load_delivery(con, ref))
""")


def test_kill_during_ingestion_leaves_one_whole_delivery_and_landing_unchanged(tmp_path):
    paths = SpiegelPaths(tmp_path / "data")
    write_delivery(paths.landing, PERIOD, INSURER, "20241005T0930", rows=_big_rows(60_000, "A"))
    write_delivery(paths.landing, PERIOD, INSURER, "20241012T0930", rows=_big_rows(90_000, "B"))
    landed = _digests(paths.landing)
    for delay in (0.8, 1.7, 2.9):
        child = subprocess.Popen(
            [sys.executable, "-c", INGEST_LOOP, str(paths.data_dir)],
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ},
        )
        assert child.stdout.readline().strip() == "ready"
        time.sleep(delay)
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        con = duckdb.connect(str(paths.warehouse), read_only=True)
        deliveries = con.execute(
            "select delivery_id, row_count from raw.deliveries where period = ? and insurer = ?", [PERIOD, INSURER]
        ).fetchall()
        claims = con.execute(
            "select delivery_id, count(*) from raw.claims where period = ? and insurer = ? group by 1",
            [PERIOD, INSURER],
        ).fetchall()
        con.close()
        if deliveries:  # one delivery in force, all of its rows and nothing else
            assert len(deliveries) == 1
            assert claims == [(deliveries[0][0], deliveries[0][1])]
        else:  # killed before the first commit: nothing at all
            assert claims == []
        assert _digests(paths.landing) == landed


# ---------------------------------------------------------------- the method and publishing
# A clean period (every insurer's hand-made delivery) is run without interruption once
# (the ``clean_release`` fixture, conftest.py); here a copy of its data directory, taken
# after ingestion, goes through the same steps with kill -9 at named points
# (orchestration/core/crashpoints.py), and must end with the very same published tables.

CLEAN = "2024-v1"


def test_kill_during_the_method_then_the_next_run_completes(clean_release, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(clean_release["ingested"], data, symlinks=True)
    landed = _digests(data / "landing")

    killed = spiegel_killed_at(data, "dbt_event:12", "run", "--period", CLEAN)
    assert was_killed(killed), (killed.returncode, killed.stdout[-2000:], killed.stderr[-2000:])
    assert "running the method (dbt)" in killed.stdout
    con = duckdb.connect(str(data / "warehouse.duckdb"), read_only=True)  # opens: the WAL is replayed
    marts = con.execute("select count(*) from information_schema.tables where table_schema = 'marts'").fetchone()[0]
    con.close()
    assert marts < 7, "the kill came after the method had finished"
    with connect_read(SpiegelPaths(data)) as con:
        assert not period_state(con, SpiegelPaths(data), CLEAN).gates_passed  # no verdict for a half run

    assert spiegel(data, "run", "--period", CLEAN) == 0
    assert spiegel(data, "signoff", "--period", CLEAN, "--by", "anna", "--comment", "after a crash") == 0
    assert spiegel(data, "publish", "--period", CLEAN) == 0
    assert published_tables(data / "releases" / CLEAN / "r1") == published_tables(clean_release["release"])
    assert _digests(data / "landing") == landed


def test_kill_during_publishing_never_shows_half_a_release(clean_release, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(clean_release["data"], data, symlinks=True, ignore=shutil.ignore_patterns("releases"))
    landed = _digests(data / "landing")
    period_dir = data / "releases" / CLEAN
    expected = published_tables(clean_release["release"])

    # killed after writing the tables, before the reports: nothing visible, a hidden leftover
    killed = spiegel_killed_at(data, "stage:publish:render_reports", "publish", "--period", CLEAN)
    assert was_killed(killed), (killed.returncode, killed.stderr[-2000:])
    assert visible_revisions(period_dir) == []
    leftovers = [p.name for p in period_dir.iterdir() if p.name.startswith(".tmp-")]
    assert len(leftovers) == 1 and (period_dir / leftovers[0] / "behandelindex.csv").is_file()
    with connect_read(SpiegelPaths(data)) as con:
        assert period_state(con, SpiegelPaths(data), CLEAN).gates_passed  # the verdict and sign-off still stand

    # the next publish completes r1 and clears the leftover
    assert spiegel(data, "publish", "--period", CLEAN) == 0
    assert visible_revisions(period_dir) == ["r1"] and not list(period_dir.glob(".tmp-*"))
    assert_revision_complete(period_dir / "r1")
    assert published_tables(period_dir / "r1") == expected

    # killed right after the rename of r2: r2 is whole, and publishing again is a no-op
    assert spiegel(data, "signoff", "--period", CLEAN, "--by", "bram", "--comment", "second look") == 0
    killed = spiegel_killed_at(data, "stage:publish:archive", "publish", "--period", CLEAN)
    assert was_killed(killed), (killed.returncode, killed.stderr[-2000:])
    assert visible_revisions(period_dir) == ["r1", "r2"] and not list(period_dir.glob(".tmp-*"))
    assert_revision_complete(period_dir / "r2")
    r2_before = _digests(period_dir / "r2")
    assert spiegel(data, "publish", "--period", CLEAN) == 0
    assert visible_revisions(period_dir) == ["r1", "r2"] and _digests(period_dir / "r2") == r2_before
    assert published_tables(period_dir / "r2") == expected
    assert _digests(data / "landing") == landed
