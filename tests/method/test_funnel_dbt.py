"""The funnel marts and the national medians (dbt) on the randomised period of
test_method_dbt: equal to the independent reference (tests/support/funnel_reference.py), and one
z for the index interval and the funnel: changing confidence_level changes both together.
"""

from __future__ import annotations

import math
import shutil
import sys
from pathlib import Path

import pytest

import tests.support.funnel_reference as funnel_reference  # noqa: E402
from tests.method.test_method_dbt import DBT, PERIOD_B, VARS_B, Claims, period_a, period_b, read, run_dbt, write_raw  # noqa: E402

MODELS = ("+fct_funnel_limits", "+fct_funnel_points", "+fct_national_medians")
VARS = {**VARS_B, "min_patients": 1}  # every practice of the small period has an index: 6 and 3 points


@pytest.fixture(scope="module")
def warehouses(tmp_path_factory):
    """Period B built twice: at the default confidence_level (0.95) and at 0.9."""
    if not DBT.exists():
        pytest.fail(f"dbt is not installed next to {sys.executable}: run scripts/setup.sh")
    workdir = tmp_path_factory.mktemp("funnel_dbt")
    claims = Claims()
    deliveries = period_a(claims) + period_b(claims)
    default = workdir / "default.duckdb"
    write_raw(default, claims.rows, deliveries)
    run_dbt(workdir, default, VARS, command="seed")
    lower = workdir / "level90.duckdb"
    shutil.copyfile(default, lower)
    run_dbt(workdir, default, VARS, command="run", select=MODELS)
    run_dbt(workdir, lower, {**VARS, "confidence_level": 0.9}, command="run", select=MODELS)
    yield {"default": default, "level90": lower}
    shutil.rmtree(workdir / "target", ignore_errors=True)


def _frame(warehouse: Path, table: str, order: str):
    return read(warehouse, f"select * from {table} where period = ? order by {order}", [PERIOD_B])


def test_funnel_parameters_limits_and_points_match_the_reference(warehouses):
    wh = warehouses["default"]
    points = _frame(wh, "marts.fct_funnel_points", "discipline, practice_agb")
    index = _frame(wh, "marts.fct_behandelindex", "discipline, practice_agb")
    params = _frame(wh, "marts.fct_funnel_parameters", "discipline")
    assert sorted(params["practices"]) == [3, 6]
    for p in params.to_dict("records"):
        ok = index[(index.discipline == p["discipline"]) & (index.status == "ok")]
        pts = points[points.discipline == p["discipline"]]
        assert list(pts.practice_agb) == list(ok.practice_agb)  # every practice with an index
        e, y = list(pts.expected_sessions), list(pts.behandelindex)
        # SE from the published interval: (ci_upper - BI) / z with the z of the index
        se = [(u - b) / p["inner_z"] for u, b in zip(ok.ci_upper, ok.behandelindex)]
        ref = funnel_reference.parameters(e, y, se, p["inner_z"], p["outer_z"], p["inner_level"], p["outer_level"])
        for key, want in ref.items():
            assert math.isclose(p[key], want, rel_tol=1e-9, abs_tol=1e-9), (p["discipline"], key, p[key], want)
        limits = _frame(wh, "marts.fct_funnel_limits", "discipline, point")
        got = limits[limits.discipline == p["discipline"]].to_dict("records")
        want_rows = funnel_reference.limits(ref)
        assert len(got) == len(want_rows) == 90
        for g, w in zip(got, want_rows):
            for key, value in w.items():
                assert math.isclose(g[key], value, rel_tol=1e-9, abs_tol=1e-9), (p["discipline"], g["point"], key)
        for row, s in zip(pts.to_dict("records"), se):
            assert math.isclose(row["z_plain"], (row["behandelindex"] - 100) / s, rel_tol=1e-9, abs_tol=1e-12)
            assert math.isclose(
                row["z_adjusted"],
                funnel_reference.z_adjusted(row["behandelindex"], s, ref["tau2"]),
                rel_tol=1e-9,
                abs_tol=1e-12,
            )


def test_national_medians_match_the_reference(warehouses):
    wh = warehouses["default"]
    index = _frame(wh, "marts.fct_behandelindex", "discipline, practice_agb")
    profile = _frame(wh, "marts.fct_practice_profile", "discipline, practice_agb")
    medians = _frame(wh, "marts.fct_national_medians", "discipline")
    assert sorted(medians.discipline) == sorted(set(index.discipline)) == ["fysiotherapie", "oefentherapie"]
    med = funnel_reference.median
    for m in medians.to_dict("records"):
        ok = index[(index.discipline == m["discipline"]) & (index.status == "ok")]
        therapists = profile[profile.discipline == m["discipline"]].set_index("practice_agb")["therapists"]
        assert m["practices_with_index"] == len(ok)
        assert m["median_patients"] == med(list(ok.patients))
        assert m["median_episodes"] == med(list(ok.episodes))
        assert m["median_sessions"] == med(list(ok.sessions))
        assert m["median_sessions_per_episode"] == med([s / e for s, e in zip(ok.sessions, ok.episodes)])
        assert m["median_behandelindex"] == med(list(ok.behandelindex))
        assert m["median_therapists"] == med([int(therapists.get(a, 0)) for a in ok.practice_agb])


def test_confidence_level_changes_index_intervals_and_funnel_limits_together(warehouses):
    runs = {}
    for name, wh in warehouses.items():
        runs[name] = {
            "index": read(
                wh,
                "select * from intermediate.int_practice_index where period = ? order by discipline, practice_agb",
                [PERIOD_B],
            ),
            "params": _frame(wh, "marts.fct_funnel_parameters", "discipline"),
            "limits": _frame(wh, "marts.fct_funnel_limits", "discipline, point"),
        }
    z95, z90 = (runs[n]["params"]["inner_z"].iloc[0] for n in ("default", "level90"))
    assert abs(z95 - 1.959964) < 1e-6 and abs(z90 - 1.644854) < 1e-6  # reference values of Φ⁻¹
    for name, z in (("default", z95), ("level90", z90)):
        run = runs[name]
        assert (run["index"]["z"] == z).all()  # the index's z ...
        assert (run["params"]["inner_z"] == z).all()  # ... is the funnel's inner z
        idx = run["index"]
        assert ((idx.ci_upper - idx.behandelindex) - z * idx.standard_error).abs().max() < 1e-9
    # the interval narrows by z90 / z95, and so do the funnel's inner limits (same k: SE does not depend on z)
    a, b = runs["default"], runs["level90"]
    ratio = z90 / z95
    half_a = a["index"].ci_upper - a["index"].behandelindex
    half_b = b["index"].ci_upper - b["index"].behandelindex
    assert ((half_b - ratio * half_a).abs() < 1e-9).all() and (half_b < half_a).all()
    assert (a["params"]["k"] == b["params"]["k"]).all()
    for col in ("inner_upper", "inner_adjusted_upper"):
        assert (b["limits"][col] < a["limits"][col]).all(), col
    plain_a, plain_b = a["limits"]["inner_upper"] - 100, b["limits"]["inner_upper"] - 100
    assert ((plain_b - ratio * plain_a).abs() < 1e-9).all()
    # the outer limits have their own level (funnel_outer_level) and do not move
    assert (a["params"]["outer_z"] == b["params"]["outer_z"]).all()
    assert ((a["limits"]["outer_upper"] - b["limits"]["outer_upper"]).abs() < 1e-12).all()
