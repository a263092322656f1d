"""The plain pandas baseline computes the platform's index, and the side-by-side
benchmark that races them runs and reports every figure.

- On the clean release (tests/conftest.py) the baseline's table equals the published
  ``behandelindex.csv`` row by row: text and integers exactly, floats within 1e-9.
- The comparison is not vacuous: the same baseline with another ``min_patients`` fails it.
- method.md §8's worked example and netting example, by hand, to three decimals, with
  more lines that must not count (processed after the cutoff, served after the period,
  credited in two parts, credited by a credit that itself lies outside the period) and
  a delivery that is not in force (an older one, and one without its manifest).
- ``scripts/bench_side_by_side.py`` at scale 0.002 (a generated period whose reference
  cells are pooled at every level L0-L3): every figure above zero, and the pandas and
  Polars baselines' index equal to the platform's marts of the same run; then
  ``scripts/bench_ingestion_parts.py`` on the same files: every part timed, on the same lines.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from orchestration.core.settings import REPO_ROOT
from orchestration.release.publish import BEHANDELINDEX_COLUMNS
from tests.support.delivery_factory import claim_row, pseudonym, write_delivery

BASELINE = REPO_ROOT / "scripts" / "pandas_baseline.py"
BENCH = REPO_ROOT / "scripts" / "bench_side_by_side.py"
INGESTION_PARTS = REPO_ROOT / "scripts" / "bench_ingestion_parts.py"
TEXT_AND_INTEGERS = ["period", "discipline", "practice_agb", "status", "patients", "episodes", "sessions"]
FLOATS = ["expected_sessions", "behandelindex", "ci_lower", "ci_upper", "corrected_index"]


def run_baseline(data_dir: Path, period: str, output: Path, *options: str) -> pd.DataFrame:
    """``python scripts/pandas_baseline.py`` as a user runs it; its table."""
    done = subprocess.run(
        [
            sys.executable,
            str(BASELINE),
            "--data-dir",
            str(data_dir),
            "--period",
            period,
            "--output",
            str(output),
            *options,
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "wall time" in done.stdout and "peak RSS" in done.stdout
    return read_index(output)


def read_index(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype={"practice_agb": str, "period": str, "discipline": str, "status": str})


def assert_same_rows(ours: pd.DataFrame, published: pd.DataFrame, tolerance: float = 1e-9) -> None:
    """Row by row, in the published order: text and integers exactly, floats within
    ``tolerance`` (relative, or absolute below 1), empty where the other is empty."""
    assert list(ours.columns) == BEHANDELINDEX_COLUMNS
    assert len(ours) == len(published)
    for position, (a, b) in enumerate(zip(ours.to_dict("records"), published.to_dict("records"))):
        where = f"row {position} ({b['discipline']}/{b['practice_agb']})"
        for column in TEXT_AND_INTEGERS:
            assert str(a[column]) == str(b[column]), f"{where} {column}: {a[column]!r} != {b[column]!r}"
        for column in FLOATS:
            x, y = a[column], b[column]
            if pd.isna(y):
                assert pd.isna(x), f"{where} {column}: {x!r}, published empty"
            else:
                assert not pd.isna(x) and abs(x - y) <= tolerance * max(1.0, abs(y)), (
                    f"{where} {column}: {x!r} != {y!r}"
                )


def test_baseline_equals_the_published_clean_release(clean_release, tmp_path):
    published = read_index(clean_release["release"] / "behandelindex.csv")
    assert set(published["status"]) == {"ok", "insufficient_patients"}  # both kinds of row compared
    ours = run_baseline(clean_release["data"], clean_release["period"], tmp_path / "index.csv")
    assert_same_rows(ours, published)


def test_a_diverging_baseline_fails_the_comparison(clean_release, tmp_path):
    published = read_index(clean_release["release"] / "behandelindex.csv")
    ours = run_baseline(clean_release["data"], clean_release["period"], tmp_path / "index.csv", "--min-patients", "1")
    with pytest.raises(AssertionError, match="status"):
        assert_same_rows(ours, published)


# method.md §8: sessions O_t per episode, per stratum and practice
WORKED_EXAMPLE = {
    # stratum A: 18-34, female, region 70, non-chronic
    ("1995-01-01", "2", "7001", "009"): {"04000001": [4, 6], "04000002": [8], "04000003": [5, 7]},
    # stratum B: 65-74, male, region 30, chronic
    ("1955-01-01", "1", "3001", "001"): {"04000001": [20], "04000002": [30, 40], "04000003": [30]},
}
WORKED_EXAMPLE_EXPECTED = {  # practice: (O_p, E_p, BI, ci_lower, ci_upper)
    "04000001": (30, 42, 71.429, 31.923, 110.934),
    "04000002": (78, 66, 118.182, 83.571, 152.792),
    "04000003": (42, 42, 100.000, 60.495, 139.505),
}


def credit(i: int, original: int, amount: str = "-36.53", **fields: str) -> dict[str, str]:
    return claim_row(i, **fields, original_claim_id=f"C{original:06d}", paid_amount=amount, claimed_amount=amount)


def worked_example_lines() -> list[dict[str, str]]:
    """§8's two strata as fysiotherapie lines, and its netting example as oefentherapie
    lines of a fourth practice (a paid, b paid and credited by c, d rejected, e screening),
    with more lines that do not count and one partly credited line that does."""
    lines, n = [], 0
    for (birth, sex, dcsph, indication), practices in WORKED_EXAMPLE.items():
        for practice, episodes in practices.items():
            for e, sessions in enumerate(episodes):
                patient = pseudonym(f"{practice}-{dcsph}-{e}")
                for _ in range(sessions):
                    n += 1
                    lines.append(
                        claim_row(
                            n,
                            practice_agb=practice,
                            patient_id=patient,
                            birth_date=birth,
                            sex=sex,
                            dcsph_code=dcsph,
                            indication_code=indication,
                        )
                    )
    netting = dict(practice_agb="04000004", patient_id=pseudonym("netting"), code_list="074", prestatie_code="2000")
    outside = dict(service_date="2024-07-01", processed_date="2024-10-01")  # after v1 and its cutoff
    lines += [
        claim_row(9001, **netting),
        claim_row(9002, **netting),
        credit(9003, 9002, **netting),
        claim_row(9004, **netting, paid_amount="0.00"),
        claim_row(9005, **{**netting, "prestatie_code": "2864"}, paid_amount="55.00"),
        claim_row(9006, **netting, processed_date="2024-10-01"),  # processed after the cutoff
        claim_row(9007, **netting, service_date="2024-07-01", processed_date="2024-07-10"),  # after the period
        claim_row(9008, **netting),
        credit(9009, 9008, **netting, **outside),  # every credit nets
        claim_row(9010, **netting),
        credit(9011, 9010, "-20.00", **netting),
        credit(9012, 9010, "-16.53", **netting),  # fully credited in two
        claim_row(9013, **netting),
        credit(9014, 9013, "-20.00", **netting),
    ]  # nets to 16.53: counts
    return lines


def test_the_worked_example_of_method_md(tmp_path):
    data = tmp_path / "data"
    write_delivery(data / "landing", "2024-v1", "vgz", "20241001T0900", rows=[claim_row(1, paid_amount="1.00")])
    write_delivery(data / "landing", "2024-v1", "vgz", "20241005T0930", rows=worked_example_lines())  # in force
    write_delivery(data / "landing", "2024-v1", "cz", "20241005T0930", rows=[]).joinpath("manifest.json").unlink()
    index = run_baseline(
        data, "2024-v1", tmp_path / "index.csv", "--min-stratum-episodes", "1", "--min-patients", "1"
    ).set_index("practice_agb")
    for practice, (observed, expected, bi, lower, upper) in WORKED_EXAMPLE_EXPECTED.items():
        row = index.loc[practice]
        assert (row["discipline"], row["status"], row["sessions"]) == ("fysiotherapie", "ok", observed)
        assert row["expected_sessions"] == pytest.approx(expected, abs=1e-9)
        for column, value in (
            ("behandelindex", bi),
            ("ci_lower", lower),
            ("ci_upper", upper),
            ("corrected_index", lower),
        ):
            assert round(row[column], 3) == value, (practice, column)
    fysio = index[index["discipline"] == "fysiotherapie"]
    assert math.isclose(fysio["sessions"].sum(), fysio["expected_sessions"].sum())  # national index 100
    netting = index.loc["04000004"]
    assert (netting["discipline"], netting["sessions"], netting["episodes"]) == ("oefentherapie", 2, 1)  # a, 9013


@pytest.mark.slow
def test_side_by_side_bench_at_a_tiny_scale(tmp_path):
    output = tmp_path / "side-by-side.json"
    done = subprocess.run(
        [
            sys.executable,
            str(BENCH),
            "--data-dir",
            str(tmp_path / "data"),
            "--scale",
            "0.002",
            "--output",
            str(output),
            "--import-repeats",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    figures = json.loads(output.read_text())
    assert 50_000 < figures["claim_lines"] < 150_000 and figures["floor_seconds"] > 0
    names = [c["name"] for c in figures["contenders"]]
    assert names == [
        "pandas baseline (c parser)",
        "pandas baseline (pyarrow parser)",
        "polars baseline (lazy, streaming)",
        "spiegel run --period 2024-v3 --engine duckdb",
    ]
    for c in figures["contenders"]:
        assert c["note"] is None, c
        assert c["seconds"] > 0 and c["peak_rss_mb"] > 0 and c["x_floor"] > 0, c
    for c in figures["contenders"][:3]:
        assert c["spiegel_speedup"] > 0
    assert figures["contenders"][-1]["details"]["runs_seconds"] > 0
    assert figures["same_index"] == {
        "equal": True,
        "rows": figures["same_index"]["rows"],
        "differences": [],
        "compared": ["pandas c", "pandas pyarrow", "polars", "spiegel duckdb"],
    }
    assert figures["same_index"]["rows"] > 10
    assert (
        "same index from pandas c, pandas pyarrow, polars, spiegel duckdb" in done.stdout
        and "spiegel faster" in done.stdout
    )
    # the 3 x target, per baseline run, and what no spiegel run can avoid
    for c in figures["contenders"][:3]:
        assert c["spiegel_seconds_for_target"] == pytest.approx(c["seconds"] / 3, abs=1e-3)
        assert c["target_met"] == (c["spiegel_speedup"] >= 3)
    imports = figures["stack_import_seconds"]
    assert len(imports) == 3 and all(seconds > 0.05 for seconds in imports.values()), imports
    assert figures["stack_import_seconds_total"] == pytest.approx(sum(imports.values()), abs=1e-3)
    nodes = figures["dbt_node_seconds"]
    assert nodes["models"] > 0 and nodes["data_tests"] > 0 and nodes["unit_tests"] > 0, nodes
    assert "what every spiegel run pays before it reads a line" in done.stdout
    assert "3 x faster than pandas baseline (c parser): spiegel run within" in done.stdout

    # what ingestion's one pass is made of, on the same generated files
    parts = subprocess.run(
        [sys.executable, str(INGESTION_PARTS), "--data-dir", str(tmp_path / "data"), "--scale", "0.002"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert parts.returncode == 0, parts.stdout[-2000:] + parts.stderr[-2000:]
    assert f"every variant read the same {figures['claim_lines']:,} claim lines" in parts.stdout
    rows = [line.split(" | ") for line in parts.stdout.splitlines() if line.startswith("| ") and "wall s" not in line]
    assert [row[0].lstrip("| ") for row in rows] == [
        "floor (one scan, text columns)",
        "sha256 of the bytes",
        "rules, storing nothing",
        "+ unique claim_id (hashes)",
        "+ unique claim_id (strings)",
        "rules + unique (hashes), stored",
    ]
    assert all(float(row[1]) > 0 and float(row[3]) > 0 for row in rows), rows
    assert rows[0][2] == "1.0"
