"""kill -9 in the middle of work loses nothing and leaves nothing half-done."""
from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb

from delivery_factory import claim_row, write_delivery
from orchestration.config import SpiegelPaths

PERIOD, INSURER = "2024-v1", "vgz"


def _digests(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _big_rows(n: int, prefix: str) -> list[dict[str, str]]:
    return [claim_row(i, claim_id=f"{prefix}{i:07d}") for i in range(n)]


INGEST_LOOP = textwrap.dedent("""
    import sys
    from pathlib import Path
    from orchestration.config import SpiegelPaths
    from orchestration.contract import validate_delivery
    from orchestration.landing import complete_deliveries
    from orchestration.warehouse import connect_write, record_delivery
    paths = SpiegelPaths(Path(sys.argv[1]))
    refs = complete_deliveries(paths.landing)
    print("ready", flush=True)
    while True:                       # alternate between the two deliveries until killed
        for ref in refs:
            with connect_write(paths) as con:
                record_delivery(con, validate_delivery(con, ref))
""")


def test_kill_during_ingestion_leaves_one_whole_delivery_and_landing_unchanged(tmp_path):
    paths = SpiegelPaths(tmp_path / "data")
    write_delivery(paths.landing, PERIOD, INSURER, "20241005T0930", rows=_big_rows(60_000, "A"))
    write_delivery(paths.landing, PERIOD, INSURER, "20241012T0930", rows=_big_rows(90_000, "B"))
    landed = _digests(paths.landing)
    for delay in (0.8, 1.7, 2.9):
        child = subprocess.Popen([sys.executable, "-c", INGEST_LOOP, str(paths.data_dir)],
                                 stdout=subprocess.PIPE, text=True, env={**os.environ})
        assert child.stdout.readline().strip() == "ready"
        time.sleep(delay)
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        con = duckdb.connect(str(paths.warehouse), read_only=True)
        deliveries = con.execute("select delivery_id, row_count from raw.deliveries "
                                 "where period = ? and insurer = ?", [PERIOD, INSURER]).fetchall()
        claims = con.execute("select delivery_id, count(*) from raw.claims where period = ? and insurer = ? "
                             "group by 1", [PERIOD, INSURER]).fetchall()
        con.close()
        if deliveries:  # one delivery in force, all of its rows and nothing else
            assert len(deliveries) == 1
            assert claims == [(deliveries[0][0], deliveries[0][1])]
        else:           # killed before the first commit: nothing at all
            assert claims == []
        assert _digests(paths.landing) == landed
