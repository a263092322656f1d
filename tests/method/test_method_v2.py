"""method.md version 2 on a generated year: exclusion windows (§9) and index movement (§10).

One generated 2020 (v1 and its cumulative v2, twelve practices, a few hundred patients,
credits and rejections), computed twice by dbt on small warehouses: once without
configuration and once with the first COVID-19 wave as an exclusion window (a data
directory's own ``method_config/``). Both are compared with the independent Python
reference (tests/support/method_reference.py), and the window's run with the plain one.
"""

from __future__ import annotations

import math
import os
import random
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest

import tests.support.method_reference as method_reference
from orchestration.core.settings import SpiegelPaths
from orchestration.method.dbt_cli import dbt_method_config_path
from tests.method.test_method_dbt import CLAIM_COLUMNS, DELIVERY_COLUMNS, Claims, pid, read, run_dbt, write_raw

V1, V2 = "2020-v1", "2020-v2"
BOUNDS = {V1: ("2020-01-01", "2020-06-30", "2020-09-30"), V2: ("2020-01-01", "2020-09-30", "2020-12-31")}
WINDOW = (date(2020, 3, 16), date(2020, 5, 24))
SETTINGS = {"min_stratum_episodes": 5, "min_patients": 10}
OUTSIDE_WINDOW_PRACTICES = ("F90", "F91")  # they treat in January–February and June–September only
INSURERS = ("vgz", "cz", "menzis")


def _delivery(period: str, insurer: str) -> dict:
    start, end, cutoff = BOUNDS[period]
    return {
        "period": period,
        "insurer": insurer,
        "delivery_id": f"{insurer}-{period}-d1",
        "status": "accepted",
        "file_name": "claims.csv",
        "sha256": "0" * 64,
        "row_count": 0,
        "paid_amount_total": "0.00",
        "period_start": start,
        "period_end": end,
        "cutoff_date": cutoff,
        "rejection_rule": None,
        "rejection_message": None,
        "ingested_at": "2020-10-01 12:00:00",
    }


def _outside_window(rng: random.Random) -> date:
    if rng.random() < 0.5:
        return date(2020, 1, 2) + timedelta(days=rng.randrange(58))
    return date(2020, 6, 1) + timedelta(days=rng.randrange(120))


def generated_year(seed: int = 2020) -> tuple[Claims, list[dict]]:
    """Treatment lines of 2020 January–September; v1 holds those up to June (its cutoff
    passed), v2 all of them: the cumulative extracts of delivery-contract.md."""
    rng = random.Random(seed)
    practices = [f"F{i}" for i in range(1, 11)] + list(OUTSIDE_WINDOW_PRACTICES)
    births = ["1950-04-01", "1962-08-15", "1975-01-30", "1988-11-11", "1999-06-06", "2010-03-03", "1941-12-24"]
    dcsph = ["7001", "3001", "1401", "5203", "7002"]
    treatments = []
    for n in range(420):
        practice = practices[n % len(practices)]
        patient = {
            "patient_id": pid(f"y{n}"),
            "birth_date": rng.choice(births),
            "sex": rng.choice(["1", "2", "2", "9"]),
            "insurer": rng.choice(INSURERS),
            "practice_agb": practice,
        }
        for code in rng.sample(dcsph, rng.choice([1, 1, 2])):
            chronic = rng.random() < 0.3
            for _ in range(rng.randint(1, 14)):
                if practice in OUTSIDE_WINDOW_PRACTICES:
                    day = _outside_window(rng)
                else:
                    day = date(2020, 1, 2) + timedelta(days=rng.randrange(272))
                treatments.append((patient, code, chronic, day))
    claims = Claims()
    for period in (V1, V2):
        last = date.fromisoformat(BOUNDS[period][1])
        for k, (patient, code, chronic, day) in enumerate(treatments):
            if day > last:
                continue
            values = {
                "practice_agb": patient["practice_agb"],
                "patient_id": patient["patient_id"],
                "birth_date": patient["birth_date"],
                "sex": patient["sex"],
                "dcsph_code": code,
                "indication_code": "001" if chronic else "009",
                "service_date": str(day),
                "processed_date": str(day + timedelta(days=12)),
            }
            claim_id = f"c{k}"
            rejected = {"paid_amount": "0.00"} if k % 41 == 0 else {}
            claims.add(period, patient["insurer"], claim_id=claim_id, **values, **rejected)
            if k % 37 == 0:  # fully credited
                claims.add(
                    period,
                    patient["insurer"],
                    claim_id=f"{claim_id}-credit",
                    original_claim_id=claim_id,
                    paid_amount="-36.53",
                    claimed_amount="-36.53",
                    **values,
                )
    return claims, [_delivery(p, i) for p in (V1, V2) for i in INSURERS]


def _build(workdir: Path, claims: Claims, deliveries: list[dict], config_dir: str | None) -> dict:
    """Both periods in one fresh warehouse, with the method configuration ``config_dir``."""
    workdir.mkdir(parents=True, exist_ok=True)
    warehouse = workdir / "warehouse.duckdb"
    write_raw(warehouse, claims.rows, deliveries)
    saved = os.environ.get("SPIEGEL_METHOD_CONFIG_DIR")
    if config_dir:
        os.environ["SPIEGEL_METHOD_CONFIG_DIR"] = config_dir
    try:
        excluded = {}
        for period in (V1, V2):
            # as the platform runs it: the period in SPIEGEL_PERIOD, so the second build
            # reuses the first one's parse, and the unit tests only in the first
            os.environ["SPIEGEL_PERIOD"] = period
            run_dbt(workdir, warehouse, SETTINGS, exclude=() if period == V1 else ("test_type:unit",))
            # the line-level view holds the period of the latest run: read it now
            excluded[period] = read(
                warehouse,
                "select insurer_id, source_line, reason from intermediate.int_excluded_lines where period = ?",
                [period],
            )
    finally:
        os.environ.pop("SPIEGEL_PERIOD", None)
        if saved is None:
            os.environ.pop("SPIEGEL_METHOD_CONFIG_DIR", None)
        else:
            os.environ["SPIEGEL_METHOD_CONFIG_DIR"] = saved
    return {
        "warehouse": warehouse,
        "excluded": excluded,
        "index": {p: read(warehouse, "select * from marts.fct_behandelindex where period = ?", [p]) for p in (V1, V2)},
        "movement": read(warehouse, "select * from marts.fct_index_movement order by discipline, practice_agb"),
    }


@pytest.fixture(scope="module")
def year(tmp_path_factory) -> dict:
    claims, deliveries = generated_year()
    root = tmp_path_factory.mktemp("method_v2")
    data_dir = root / "data"
    (data_dir / "method_config").mkdir(parents=True)
    (data_dir / "method_config" / "exclusion_windows.csv").write_text(
        f"first_date,last_date,reason\n{WINDOW[0]},{WINDOW[1]},eerste golf COVID-19 (week 12 t/m 21)\n",
        encoding="utf-8",
    )
    (data_dir / "method_config" / "cancelled_periods.csv").write_text("period,reason,decided_on\n", encoding="utf-8")
    config_dir = dbt_method_config_path(SpiegelPaths(data_dir))
    return {
        "claims": pd.DataFrame(claims.rows, columns=CLAIM_COLUMNS),
        "deliveries": pd.DataFrame(deliveries, columns=DELIVERY_COLUMNS),
        "plain": _build(root / "plain", claims, deliveries, None),
        "window": _build(root / "window", claims, deliveries, config_dir),
    }


def _reference(year: dict, windows) -> dict:
    out = {}
    for period in (V1, V2):
        out[period] = method_reference.reference(
            year["claims"],
            year["deliveries"],
            period,
            SETTINGS["min_stratum_episodes"],
            SETTINGS["min_patients"],
            windows=windows,
        )
    return out


def _assert_frames_match(actual: pd.DataFrame, expected: pd.DataFrame, keys: list[str]) -> None:
    assert len(actual) == len(expected) and len(expected) > 0
    a = actual.sort_values(keys).reset_index(drop=True)
    e = expected.sort_values(keys).reset_index(drop=True)
    for column in e.columns:
        if e[column].dtype.kind == "f":
            assert a[column].astype(float).tolist() == pytest.approx(e[column].tolist(), abs=1e-9, nan_ok=True), column
        else:
            assert a[column].astype(str).tolist() == e[column].astype(str).tolist(), column


@pytest.mark.parametrize("run, windows", [("plain", ()), ("window", (WINDOW,))])
def test_index_and_movement_match_the_independent_reference(year, run, windows):
    expected = _reference(year, windows)
    for period in (V1, V2):
        _assert_frames_match(year[run]["index"][period], expected[period][0], ["discipline", "practice_agb"])
    movement = method_reference.movement(*expected[V1], *expected[V2])
    _assert_frames_match(year[run]["movement"], movement, ["discipline", "practice_agb"])


@pytest.mark.parametrize("run", ["plain", "window"])
def test_movement_components_add_up_to_the_change_of_the_index(year, run):
    movement = year[run]["movement"]
    index = {p: year[run]["index"][p].set_index(["discipline", "practice_agb"]) for p in (V1, V2)}
    ok_in_both = (index[V1]["status"] == "ok").reindex(index[V2].index, fill_value=False) & (
        index[V2]["status"] == "ok"
    )
    assert len(movement) == int(ok_in_both.sum()) >= 8
    for row in movement.to_dict("records"):
        key = (row["discipline"], row["practice_agb"])
        assert row["from_period"] == V1
        assert row["bi_from"] == index[V1].loc[key, "behandelindex"]
        assert row["bi_to"] == index[V2].loc[key, "behandelindex"]
        total = row["own_points"] + row["case_mix_points"] + row["reference_points"]
        assert abs(total - (row["bi_to"] - row["bi_from"])) < 1e-9


def test_the_window_leaves_its_lines_out_and_changes_nothing_else(year):
    claims = year["claims"]
    for period in (V1, V2):
        lines = claims[claims["period"] == period]
        inside = {
            (r.insurer, r.source_line)
            for r in lines.itertuples()
            if WINDOW[0] <= date.fromisoformat(r.service_date) <= WINDOW[1]
        }
        assert len(inside) > 100
        plain = {(r.insurer_id, r.source_line): r.reason for r in year["plain"]["excluded"][period].itertuples()}
        window = {(r.insurer_id, r.source_line): r.reason for r in year["window"]["excluded"][period].itertuples()}
        # every line inside the window is excluded: as such, unless an earlier rule of §2 excludes it
        assert inside <= set(window)
        early = {"code_list_not_073_074", "prestatie_code_unknown", "prestatie_not_session", "coverage_not_bv_av"}
        for line in inside:
            assert window[line] == (plain[line] if plain.get(line) in early else "exclusion_window")
        # outside it every line keeps its verdict
        assert {k: v for k, v in window.items() if k not in inside} == {
            k: v for k, v in plain.items() if k not in inside
        }
        plain_index = year["plain"]["index"][period].set_index(["discipline", "practice_agb"])
        window_index = year["window"]["index"][period].set_index(["discipline", "practice_agb"])
        for practice in OUTSIDE_WINDOW_PRACTICES:
            key = ("fysiotherapie", practice)
            assert window_index.loc[key, "sessions"] == plain_index.loc[key, "sessions"] > 0
            assert window_index.loc[key, "episodes"] == plain_index.loc[key, "episodes"]
        assert window_index["sessions"].sum() < plain_index["sessions"].sum()
        assert math.isclose(window_index["sessions"].sum(), window_index["expected_sessions"].sum())
