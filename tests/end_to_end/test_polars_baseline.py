"""The plain lazy-Polars baseline computes the platform's index (scripts/polars_baseline.py).

- On the clean release (tests/conftest.py) its table equals the published
  ``behandelindex.csv`` row by row: text and integers exactly, floats within 1e-9; and a
  diverging run (another ``min_patients``) fails that comparison.
- method.md §8's worked example and netting example, by hand, to three decimals (the
  lines of tests/end_to_end/test_pandas_baseline.py, with a delivery not in force).
- method.md §9: an exclusion window of the data directory's ``method_config/`` leaves
  exactly its lines out (the same table as the deliveries without them, and not the
  table with them), also from a gzipped delivery; §11: a cancelled period has no index.
- On a generated period against the platform's marts of a real ``spiegel run``:
  ``test_side_by_side_bench_at_a_tiny_scale`` in test_pandas_baseline.py runs it beside
  pandas and the platform and asserts the same index from all.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from orchestration.core.settings import REPO_ROOT
from tests.end_to_end.test_pandas_baseline import (
    WORKED_EXAMPLE_EXPECTED,
    assert_same_rows,
    read_index,
    worked_example_lines,
)
from tests.support.delivery_factory import claim_row, pseudonym, write_delivery

BASELINE = REPO_ROOT / "scripts" / "polars_baseline.py"
SMALL = ("--min-stratum-episodes", "1", "--min-patients", "1")


def run_polars(
    data_dir: Path, period: str, output: Path, *options: str, expect: int = 0
) -> subprocess.CompletedProcess:
    """``python scripts/polars_baseline.py`` as a user runs it."""
    done = subprocess.run(
        [sys.executable, str(BASELINE), "--data-dir", str(data_dir), "--period", period, "--output", str(output)]
        + list(options),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == expect, done.stdout[-1000:] + done.stderr[-2000:]
    return done


def polars_index(data_dir: Path, period: str, output: Path, *options: str) -> pd.DataFrame:
    done = run_polars(data_dir, period, output, *options)
    assert "wall time" in done.stdout and "peak RSS" in done.stdout
    return read_index(output)


def test_polars_equals_the_published_clean_release(clean_release, tmp_path):
    published = read_index(clean_release["release"] / "behandelindex.csv")
    assert set(published["status"]) == {"ok", "insufficient_patients"}  # both kinds of row compared
    ours = polars_index(clean_release["data"], clean_release["period"], tmp_path / "index.csv")
    assert_same_rows(ours, published)
    diverging = polars_index(clean_release["data"], clean_release["period"], tmp_path / "d.csv", "--min-patients", "1")
    with pytest.raises(AssertionError, match="status"):
        assert_same_rows(diverging, published)


def test_the_worked_example_of_method_md(tmp_path):
    data = tmp_path / "data"
    write_delivery(data / "landing", "2024-v1", "vgz", "20241001T0900", rows=[claim_row(1, paid_amount="1.00")])
    write_delivery(data / "landing", "2024-v1", "vgz", "20241005T0930", rows=worked_example_lines())  # in force
    write_delivery(data / "landing", "2024-v1", "cz", "20241005T0930", rows=[]).joinpath("manifest.json").unlink()
    index = polars_index(data, "2024-v1", tmp_path / "index.csv", *SMALL).set_index("practice_agb")
    for practice, (observed, expected, bi, lower, upper) in WORKED_EXAMPLE_EXPECTED.items():
        row = index.loc[practice]
        assert (row["discipline"], row["status"], row["sessions"]) == ("fysiotherapie", "ok", observed)
        assert row["expected_sessions"] == pytest.approx(expected, abs=1e-9)
        for column, value in (("behandelindex", bi), ("ci_lower", lower), ("ci_upper", upper)):
            assert round(row[column], 3) == value, (practice, column)
        assert row["corrected_index"] == row["ci_lower"]
    netting = index.loc["04000004"]
    assert (netting["discipline"], netting["sessions"], netting["episodes"]) == ("oefentherapie", 2, 1)  # a, 9013
    assert len(index) == 4


WINDOW = ("2024-05-01", "2024-05-31")


def window_lines() -> list[dict[str, str]]:
    """Lines inside the window: more sessions of existing episodes of practice 1, and a
    patient of practice 2 whose only episode lies inside it."""
    inside = dict(service_date="2024-05-10", processed_date="2024-05-20")
    lines = [
        claim_row(8000 + i, **inside, practice_agb="04000001", patient_id=pseudonym("04000001-7001-0"))
        for i in range(3)
    ]
    lines += [
        claim_row(8100 + i, **inside, practice_agb="04000002", patient_id=pseudonym("in-window"), dcsph_code="3001")
        for i in range(4)
    ]
    return lines


def test_an_exclusion_window_leaves_exactly_its_lines_out(tmp_path):
    base = worked_example_lines()
    with_window_lines = tmp_path / "with"
    without = tmp_path / "without"
    for data, rows in ((with_window_lines, base + window_lines()), (without, base)):
        write_delivery(data / "landing", "2024-v1", "vgz", "20241005T0930", rows=rows[:40])
        write_delivery(data / "landing", "2024-v1", "de_friesland", "20241005T0930", rows=rows[40:], gz=True)
    counted = polars_index(with_window_lines, "2024-v1", tmp_path / "counted.csv", *SMALL)
    (with_window_lines / "method_config").mkdir()
    (with_window_lines / "method_config" / "exclusion_windows.csv").write_text(
        f"first_date,last_date,reason\n{WINDOW[0]},{WINDOW[1]},test window\n", encoding="utf-8"
    )
    (with_window_lines / "method_config" / "cancelled_periods.csv").write_text("period,reason,decided_on\n")
    left_out = polars_index(with_window_lines, "2024-v1", tmp_path / "left_out.csv", *SMALL)
    expected = polars_index(without, "2024-v1", tmp_path / "expected.csv", *SMALL)
    assert_same_rows(left_out, expected)
    assert counted["sessions"].sum() == expected["sessions"].sum() + 7
    assert counted["episodes"].sum() == expected["episodes"].sum() + 1


def test_a_cancelled_period_has_no_index(tmp_path):
    data = tmp_path / "data"
    write_delivery(data / "landing", "2024-v1", "vgz", "20241005T0930", rows=worked_example_lines())
    (data / "method_config").mkdir()
    (data / "method_config" / "exclusion_windows.csv").write_text("first_date,last_date,reason\n")
    (data / "method_config" / "cancelled_periods.csv").write_text("period,reason,decided_on\n2024-v1,test,2024-09-01\n")
    done = run_polars(data, "2024-v1", tmp_path / "index.csv", expect=2)
    assert "2024-v1 is cancelled (test)" in done.stdout
    assert not (tmp_path / "index.csv").exists()
