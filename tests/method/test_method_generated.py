"""The method on generated data, run the way operators run it (Dagster, ``spiegel run``).

The generator plants a propensity per practice (``ground_truth/practices.csv``, never
read by the pipeline); a sound index must find it back. One national-shaped v3 period
of 60 practices is generated, ingested, gated and computed through Dagster.
"""

from __future__ import annotations

import json

import duckdb
import pandas as pd
import pytest

from orchestration.commands import synthetic
from orchestration.core.settings import SpiegelPaths
from orchestration.runs import runner
from orchestration.runs.instance import use_data_dir

pytestmark = pytest.mark.slow
PERIOD = "2024-v3"


@pytest.fixture(scope="module")
def computed(tmp_path_factory) -> SpiegelPaths:
    paths = SpiegelPaths(tmp_path_factory.mktemp("generated") / "data")
    synthetic.generate(paths.data_dir, years=[2024], practices=60, seed=5, periods=[PERIOD], progress=lambda _: None)
    use_data_dir(paths)
    outcomes = runner.run_period(paths, PERIOD, progress=lambda _: None)
    assert not [o for o in outcomes if o.crashed], outcomes
    return paths


def query(paths: SpiegelPaths, sql: str) -> pd.DataFrame:
    con = duckdb.connect(str(paths.warehouse), read_only=True)
    try:
        return con.execute(sql).df()
    finally:
        con.close()


def test_the_index_recovers_the_planted_propensity(computed):
    index = query(computed, f"select * from marts.fct_behandelindex where period = '{PERIOD}'")
    truth = pd.read_csv(computed.ground_truth / "practices.csv", dtype={"practice_agb": str})
    merged = index.merge(truth, on="practice_agb")
    large = merged[(merged["episodes"] >= 100) & (merged["status"] == "ok")]
    assert len(large) >= 40
    rho = large["propensity"].rank().corr(large["behandelindex"].rank())
    assert rho >= 0.9, rho


def test_practices_below_min_patients_get_no_index_but_count_nationally(computed):
    index = query(computed, f"select * from marts.fct_behandelindex where period = '{PERIOD}'")
    small = index[index["patients"] < 30]
    assert len(small) >= 2
    assert (small["status"] == "insufficient_patients").all()
    assert small[["behandelindex", "ci_lower", "ci_upper", "corrected_index"]].isna().all().all()
    ok = index[index["patients"] >= 30]
    assert (ok["status"] == "ok").all() and ok["behandelindex"].notna().all()
    # Σ O = Σ E per discipline, small practices included: the national index is 100
    totals = index.groupby("discipline")[["sessions", "expected_sessions"]].sum()
    assert ((totals["sessions"] - totals["expected_sessions"]).abs() < 1e-6).all()


def test_a_patient_paid_by_two_insurers_forms_one_episode(computed):
    # episodes whose counted sessions came from two insurers (a mid-year switch)
    split = query(
        computed,
        f"""
        select discipline, practice_agb, patient_id, dcsph_code, observed_sessions, insurers
        from intermediate.int_episodes where period = '{PERIOD}' and insurers = 2""",
    )
    assert len(split) >= 5
    key = split.iloc[0]
    dcsph = "is null" if key["dcsph_code"] is None else f"= '{key['dcsph_code']}'"
    counted = query(
        computed,
        f"""
        select count(*) as sessions, count(distinct insurer_id) as insurers,
               count(*) over () as rows_in_episode_table
        from intermediate.int_counted_sessions
        where period = '{PERIOD}' and practice_agb = '{key["practice_agb"]}'
          and patient_id = '{key["patient_id"]}' and discipline = '{key["discipline"]}' and dcsph_code {dcsph}""",
    )
    assert counted["insurers"].iloc[0] == 2
    assert counted["sessions"].iloc[0] == key["observed_sessions"]
    episodes = query(
        computed,
        f"""
        select count(*) as n from intermediate.int_episodes
        where period = '{PERIOD}' and practice_agb = '{key["practice_agb"]}'
          and patient_id = '{key["patient_id"]}' and discipline = '{key["discipline"]}' and dcsph_code {dcsph}""",
    )
    assert episodes["n"].iloc[0] == 1


def test_the_gates_and_the_method_share_the_month_profile_and_the_orphan_credits(computed):
    """The completeness gate's month profile of each delivery (macro claim_lines_per_month,
    dbt_project/macros/delivery_facts.sql) and the method's fct_insurer_monthly_sessions
    (summed from int_line_verdict_summary) agree; the contents gate's orphan credits and
    the method's come from one macro; on the same deliveries they agree."""
    gate_profile = query(
        computed,
        f"""
        select p.insurer as insurer_id, p.month, p.claim_lines, p.paid_amount
        from quality.delivery_month_profiles p
        join raw.deliveries d using (period, insurer, delivery_id)
        where p.period = '{PERIOD}' and d.status = 'accepted'
        order by 1, 2""",
    )
    mart = query(
        computed,
        f"""
        select insurer_id, month, claim_lines, paid_amount from marts.fct_insurer_monthly_sessions
        where period = '{PERIOD}' order by 1, 2""",
    )
    assert len(mart) == 7 * 12 and mart["claim_lines"].sum() > 0
    pd.testing.assert_frame_equal(gate_profile.reset_index(drop=True), mart.reset_index(drop=True), check_dtype=False)

    gated = query(
        computed,
        f"""
        select insurer, outcomes from quality.gate_results
        where period = '{PERIOD}' and suite = 'delivery_contents'""",
    )
    gate_orphans = {}
    for insurer, outcomes in gated.itertuples(index=False):
        [orphans] = [o for o in json.loads(outcomes) if o["expectation"] == "orphan_credits"]
        gate_orphans[insurer] = int(orphans["observed"])
    method_orphans = query(
        computed,
        f"""
        select insurer_id, lines from marts.fct_excluded_lines
        where period = '{PERIOD}' and reason = 'orphan_credit'""",
    )
    method = dict(zip(method_orphans["insurer_id"], method_orphans["lines"].astype(int)))
    assert sum(method.values()) > 0, "the generated period plants orphan credits"
    assert {k: v for k, v in gate_orphans.items() if v} == method
