"""Determinism: the same deliveries give byte-identical published tables, however often
and in whatever order the periods are computed.

* Through the whole platform: a clean period (conftest.py ``clean_release``) is run
  again, signed off again and published as r2; r2's tables equal r1's byte for byte.
  (tests/end_to_end/test_crash_safety.py adds: a run interrupted by kill -9 and resumed in another
  data directory publishes the same bytes too.)
* The method alone: tests/method/test_method_dbt.py computes two periods in either order and
  exports them with the publishing code: the same bytes
  (``test_periods_in_the_other_order_give_byte_identical_tables``).
"""

from __future__ import annotations

import shutil

import duckdb

from tests.support.pipeline import published_tables, spiegel

CLEAN = "2024-v1"


def test_rerunning_a_period_publishes_byte_identical_tables(clean_release, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(clean_release["data"], data, symlinks=True)
    r1 = data / "releases" / CLEAN / "r1"
    # done already (computed on these deliveries with this method): a plain run starts nothing
    assert spiegel(data, "run", "--period", CLEAN) == 0
    con = duckdb.connect(str(data / "warehouse.duckdb"), read_only=True)
    assert con.execute("select count(*) from ops.release_readiness where period = ?", [CLEAN]).fetchone()[0] == 1
    con.close()
    # --force runs the gates and the method once more
    assert spiegel(data, "run", "--period", CLEAN, "--force") == 0
    assert spiegel(data, "signoff", "--period", CLEAN, "--by", "bram", "--comment", "rerun") == 0
    assert spiegel(data, "publish", "--period", CLEAN) == 0
    con = duckdb.connect(str(data / "warehouse.duckdb"), read_only=True)
    evaluations = con.execute("select count(*) from ops.release_readiness where period = ?", [CLEAN]).fetchone()[0]
    con.close()
    assert evaluations == 2  # the period really ran twice
    r2 = data / "releases" / CLEAN / "r2"
    assert published_tables(r2) == published_tables(r1)
    assert len(published_tables(r2)["behandelindex.csv"].splitlines()) == 4  # header + 3 practices
