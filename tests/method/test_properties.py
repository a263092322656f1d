"""Properties of netting and episodes, checked with hypothesis against the real dbt models.

The base is the randomised period B of tests/method/test_method_dbt.py (credits, partial and
double credits, orphans, rejections, every kind of non-counting line; three insurers,
patients with two insurers). Each example changes the raw claims in a way method.md says
must not matter, runs the method (``dbt run`` of the models behind the published index
and reference) and compares with the unchanged base:

* the order of the lines in the deliveries (method.md never refers to it);
* how the lines are split between insurers, a claim travelling with its own credits:
  episodes merge on the pseudonym, whichever insurer delivered (§3);
* extra lines that are fully credited (one credit, two partial credits, or credited
  twice, so below zero): they never count (§2.5), for known or new patients and practices.

One dbt run costs seconds, so each property tries a few examples (hypothesis keeps
failing ones in .hypothesis/ and replays them first).
"""

from __future__ import annotations

import random
from decimal import Decimal

import duckdb
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.method.test_method_dbt import (
    PERIOD_B,
    VARS_B,
    Claims,
    delivery,
    period_b,
    pid,
    read,
    replace_raw,
    run_dbt,
    write_raw,
)

INSURERS = ["vgz", "cz", "menzis", "eno"]  # eno delivers nothing in the base
MODELS = ("+fct_behandelindex", "+fct_reference_strata")
EXAMPLES = settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _base_rows() -> list[dict]:
    """Period B without its one credit against another insurer's claim: moving that credit
    into the insurer of its original would (rightly) make it net, so splitting would change it."""
    claims = Claims()
    period_b(claims)
    own = {(r["insurer"], r["claim_id"]) for r in claims.rows}
    ids = {r["claim_id"] for r in claims.rows}
    return [
        r
        for r in claims.rows
        if not (r["original_claim_id"] in ids and (r["insurer"], r["original_claim_id"]) not in own)
    ]


BASE = _base_rows()
DELIVERIES = [delivery(PERIOD_B, insurer) for insurer in INSURERS]


def _outcome(warehouse) -> dict[str, pd.DataFrame]:
    return {
        "index": read(
            warehouse,
            "select * from marts.fct_behandelindex where period = ? order by discipline, practice_agb",
            [PERIOD_B],
        ),
        "reference": read(
            warehouse,
            "select * from marts.fct_reference_strata where period = ? "
            "order by discipline, row_type, cell_id, age_band, sex, body_region, chronic",
            [PERIOD_B],
        ),
    }


@pytest.fixture(scope="module")
def method(tmp_path_factory):
    """A warehouse with the seeds and the base period; ``compute(rows)`` reruns the method on other rows."""
    workdir = tmp_path_factory.mktemp("properties")
    warehouse = workdir / "warehouse.duckdb"
    write_raw(warehouse, BASE, DELIVERIES)
    run_dbt(workdir, warehouse, VARS_B, command="seed")

    def compute(rows: list[dict]) -> dict[str, pd.DataFrame]:
        con = duckdb.connect(str(warehouse))
        try:
            replace_raw(con, rows, DELIVERIES)
        finally:
            con.close()
        run_dbt(workdir, warehouse, VARS_B, command="run", select=MODELS)
        return _outcome(warehouse)

    base = compute(BASE)
    assert (base["index"].status == "ok").sum() >= 3 and len(base["index"]) > 5
    return {"compute": compute, "base": base}


def _assert_same(actual: dict[str, pd.DataFrame], base: dict[str, pd.DataFrame]) -> None:
    for name in base:
        pd.testing.assert_frame_equal(actual[name], base[name], check_exact=False, rtol=1e-12, atol=1e-9, obj=name)


def _renumber(rows: list[dict]) -> list[dict]:
    """source_line and delivery_id as a file of each insurer, in the order given."""
    line: dict[str, int] = {}
    out = []
    for row in rows:
        line[row["insurer"]] = line.get(row["insurer"], 1) + 1
        out.append({**row, "source_line": line[row["insurer"]], "delivery_id": f"{row['insurer']}-{PERIOD_B}-d1"})
    return out


# Shuffles and assignments come from a drawn seed rather than st.randoms(): the simplest
# st.randoms() shuffles nothing, which would spend one of the few examples on the base itself.
SEEDS = st.integers(0, 2**32 - 1)


@EXAMPLES
@given(seed=SEEDS)
def test_the_order_of_the_lines_does_not_matter(method, seed):
    rows = [dict(r) for r in BASE]
    random.Random(seed).shuffle(rows)
    assert rows != BASE
    _assert_same(method["compute"](_renumber(rows)), method["base"])


def _families(rows: list[dict]) -> list[list[dict]]:
    """A claim with the credits against it (same insurer); every other line on its own."""
    by_claim: dict[tuple[str, str], list[dict]] = {}
    for row in rows:
        if Decimal(row["paid_amount"]) >= 0:
            by_claim.setdefault((row["insurer"], row["claim_id"]), []).append(row)
    alone = []
    for row in rows:
        if Decimal(row["paid_amount"]) < 0:
            family = by_claim.get((row["insurer"], row["original_claim_id"]))
            if family is None:
                alone.append([row])  # an orphan credit
            else:
                family.append(row)
    return list(by_claim.values()) + alone


@EXAMPLES
@given(targets=st.lists(st.sampled_from(INSURERS), min_size=1, max_size=4, unique=True), seed=SEEDS)
def test_splitting_the_lines_differently_between_insurers_does_not_matter(method, targets, seed):
    rng = random.Random(seed)
    rows = []
    for family in _families(BASE):
        insurer = rng.choice(targets)
        rows += [{**r, "insurer": insurer} for r in family]
    _assert_same(method["compute"](_renumber(rows)), method["base"])


CREDIT_PATTERNS = {
    "one credit": lambda paid: [-paid],
    "two partial credits": lambda paid: [Decimal("-10.00"), -(paid - Decimal("10.00"))],
    "credited twice": lambda paid: [-paid, -paid],
}
DEBITS = [r for r in BASE if Decimal(r["paid_amount"]) > Decimal("10.00")]


@EXAMPLES
@given(
    added=st.lists(
        st.tuples(
            st.integers(0, len(DEBITS) - 1), st.sampled_from(sorted(CREDIT_PATTERNS)), st.booleans(), st.booleans()
        ),
        min_size=1,
        max_size=25,
    )
)
def test_fully_credited_lines_do_not_count(method, added):
    rows = [dict(r) for r in BASE]
    for n, (pick, pattern, new_patient, new_practice) in enumerate(added):
        debit = {**DEBITS[pick], "claim_id": f"added-{n}"}
        if new_patient:
            debit["patient_id"] = pid(f"added-patient-{n}")
        if new_practice:
            debit["practice_agb"] = f"Z{n}"
        rows.append(debit)
        for k, amount in enumerate(CREDIT_PATTERNS[pattern](Decimal(debit["paid_amount"]))):
            rows.append(
                {
                    **debit,
                    "claim_id": f"added-{n}-credit-{k}",
                    "original_claim_id": debit["claim_id"],
                    "paid_amount": f"{amount:.2f}",
                    "claimed_amount": f"{amount:.2f}",
                }
            )
    random.Random(len(added)).shuffle(rows)  # anywhere in the file, not only at the end
    _assert_same(method["compute"](_renumber(rows)), method["base"])
