"""The behandelindex of one period in plain pandas: the baseline an analyst would write.

What one competent analyst would write from method.md to compute the published index
table (method.md §7, the columns and rows of a release's ``behandelindex.csv``) from
the landed CSV files, without the platform: no contract checks, no quality gates, no
warehouse, no dbt, no Dagster. Vectorised (read_csv, boolean masks, groupby, merge);
nothing loops over lines or episodes in Python.

    python scripts/pandas_baseline.py --data-dir DIR --period 2024-v3 --output index.csv

It reads ``DIR/landing/<period>/<insurer>/<delivery_id>/claims.csv[.gz]`` of the
newest complete delivery (``manifest.json`` present) of every insurer in
``dbt_project/seeds/required_insurers.csv`` (delivery-contract.md), and the other
seeds for the period bounds, prestatie codes and age bands. It trusts the files: a
delivery the platform would reject is used anyway. At the end it prints its wall
time and peak resident memory (``resource.getrusage``) on one line.

Where method.md leaves a detail open, this follows the platform's dbt models (and the
test reference, tests/support/method_reference.py, documents the same choices):

- the cutoff date is the delivery manifest's ``cutoff_date``; the period bounds come
  from the periods seed;
- netting sums every credit line of the same insurer's delivery, whatever its other
  fields (dates, codes), so a credit that fails rules 1-4 still reverses its original;
- birth date and sex of an episode come from its first counted session, ordered by
  (service_date, insurer, claim_id); age band ``unknown`` when the birth date is
  missing or after that session; a 29 February birthday completes a year on 1 March;
- sex ``1``/``2`` as delivered, anything else ``U``; region ``XX`` unless the DCSPH
  code is exactly four digits;
- a cell's mean and variance come from exact integer sums (n, ΣO, ΣO²);
- z is Acklam's rational approximation of the inverse normal, as the dbt macro
  ``confidence_z`` computes it (1.959964 at 0.95).
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

SEEDS = Path(__file__).resolve().parent.parent / "dbt_project" / "seeds"
DISCIPLINES = {"073": "fysiotherapie", "074": "oefentherapie"}
CHRONIC_INDICATIONS = ("001", "008")
EPISODE_KEY = ["discipline", "practice_agb", "patient_id", "dcsph_code"]
STRATUM_KEY = ["discipline", "age_band", "sex", "body_region", "chronic"]
OUTPUT_COLUMNS = [
    "period",
    "discipline",
    "practice_agb",
    "status",
    "patients",
    "episodes",
    "sessions",
    "expected_sessions",
    "behandelindex",
    "ci_lower",
    "ci_upper",
    "corrected_index",
]
# Every column is read as text except paid_amount; uzovi, therapist_agb and
# claimed_amount play no part in the index and are not read at all.
TEXT_COLUMNS = [
    "claim_id",
    "original_claim_id",
    "practice_agb",
    "patient_id",
    "birth_date",
    "sex",
    "service_date",
    "code_list",
    "prestatie_code",
    "dcsph_code",
    "indication_code",
    "coverage",
    "processed_date",
]


@dataclass(frozen=True)
class Delivery:
    """The delivery in force of one insurer for the period."""

    insurer: str
    claims_file: Path
    cutoff_date: pd.Timestamp


@dataclass(frozen=True)
class Parameters:
    """method.md's configuration, with its defaults."""

    min_stratum_episodes: int = 30
    min_patients: int = 30
    confidence_level: float = 0.95


# ---------------------------------------------------------------- inputs


def read_seed(name: str) -> pd.DataFrame:
    return pd.read_csv(SEEDS / f"{name}.csv", dtype=str, keep_default_na=False)


def required_insurers(period: str) -> list[str]:
    """Insurers whose delivery the period needs (the seed's first/last period, inclusive).
    Period keys ``YYYY-vN`` sort as text in time order."""
    seed = read_seed("required_insurers")
    active = (seed["first_period"] <= period) & ((seed["last_period"] == "") | (seed["last_period"] >= period))
    return sorted(seed.loc[active, "insurer_id"])


def in_force_deliveries(data_dir: Path, period: str) -> list[Delivery]:
    """The newest complete delivery (by delivery_id) of each required insurer."""
    found = []
    for insurer in required_insurers(period):
        complete = sorted(p for p in (data_dir / "landing" / period / insurer).glob("*/manifest.json"))
        if not complete:
            continue
        folder = complete[-1].parent
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        found.append(Delivery(insurer, folder / manifest["files"][0]["name"], pd.Timestamp(manifest["cutoff_date"])))
    if not found:
        raise SystemExit(f"no complete delivery for {period} under {data_dir / 'landing'}")
    return found


def read_claims(delivery: Delivery, csv_engine: str) -> pd.DataFrame:
    """The claim lines of one delivery, with paid_amount in whole cents."""
    claims = pd.read_csv(
        delivery.claims_file,
        usecols=[*TEXT_COLUMNS, "paid_amount"],
        dtype={**dict.fromkeys(TEXT_COLUMNS, "str"), "paid_amount": "float64"},
        engine=csv_engine,
    )
    # Amounts have two decimals: whole cents make the netting exact (36.53 - 20.00 - 16.53
    # is not 0 in binary floating point). A missing amount counts as 0, a rejected line.
    paid = claims.pop("paid_amount").fillna(0).to_numpy()
    claims["paid_cents"] = np.rint(paid * 100).astype("int64")
    return claims


def to_date(values: pd.Series) -> pd.Series:
    """ISO dates; anything missing or unreadable becomes NaT (and then fails every test)."""
    return pd.to_datetime(values, format="%Y-%m-%d", errors="coerce")


# ---------------------------------------------------------------- method.md §2


def session_code_mask(claims: pd.DataFrame) -> pd.Series:
    """Rules 1 and 2: code list 073/074 and a prestatie code of category ``session``."""
    seed = read_seed("prestatie_codes")
    sessions = seed[seed["category"] == "session"]
    mask = pd.Series(False, index=claims.index)
    for code_list, codes in sessions.groupby("code_list")["prestatie_code"]:
        if code_list in DISCIPLINES:
            mask |= (claims["code_list"] == code_list) & claims["prestatie_code"].isin(set(codes))
    return mask


def credited_cents(claims: pd.DataFrame) -> pd.DataFrame:
    """Σ paid of the credit lines per original_claim_id: every credit line of the delivery."""
    credits = claims.loc[
        (claims["paid_cents"] < 0) & claims["original_claim_id"].notna(), ["original_claim_id", "paid_cents"]
    ]
    return (
        credits.groupby("original_claim_id", as_index=False)["paid_cents"]
        .sum()
        .rename(columns={"original_claim_id": "claim_id", "paid_cents": "credited_cents"})
    )


def counted_sessions(claims: pd.DataFrame, period: str, cutoff_date: pd.Timestamp) -> pd.DataFrame:
    """The counted sessions (rules 1-5) of one insurer's delivery, with their discipline.
    Credits net only within the same insurer, so each delivery is reduced on its own."""
    bounds = read_seed("periods").set_index("period").loc[period]
    service = to_date(claims["service_date"])
    keep = (
        session_code_mask(claims)
        & claims["coverage"].isin(["BV", "AV"])
        & service.between(pd.Timestamp(bounds["period_start"]), pd.Timestamp(bounds["period_end"]))
        & (to_date(claims["processed_date"]) <= cutoff_date)
        & (claims["paid_cents"] > 0)
    )
    debits = claims.loc[
        keep,
        [
            "claim_id",
            "code_list",
            "practice_agb",
            "patient_id",
            "dcsph_code",
            "birth_date",
            "sex",
            "indication_code",
            "paid_cents",
        ],
    ]
    debits["service_date"] = service[keep]
    netted = debits.merge(credited_cents(claims), on="claim_id", how="left")
    netted = netted[netted["paid_cents"] + netted["credited_cents"].fillna(0) > 0]
    netted["discipline"] = netted.pop("code_list").map(DISCIPLINES)
    netted["dcsph_code"] = netted["dcsph_code"].fillna("")  # one episode per patient without a code
    return netted.drop(columns=["paid_cents", "credited_cents"])


def period_sessions(data_dir: Path, period: str, csv_engine: str) -> pd.DataFrame:
    """The counted sessions of every delivery in force, with their insurer."""
    frames = []
    for delivery in in_force_deliveries(data_dir, period):
        sessions = counted_sessions(read_claims(delivery, csv_engine), period, delivery.cutoff_date)
        frames.append(sessions.assign(insurer=delivery.insurer))
    return pd.concat(frames, ignore_index=True)


# ---------------------------------------------------------------- method.md §3


def age_bands(age: pd.Series) -> pd.Series:
    """The age_bands seed's band of each age; ``unknown`` for a missing or negative age."""
    seed = read_seed("age_bands")
    conditions = [
        ((age >= int(band.min_age)) & ((age <= int(band.max_age)) if band.max_age else True)).to_numpy(
            dtype=bool, na_value=False
        )
        for band in seed.itertuples()
    ]
    return pd.Series(np.select(conditions, seed["age_band"].to_list(), default="unknown"), index=age.index)


def completed_years(birth: pd.Series, on: pd.Series) -> pd.Series:
    """Age in completed years on ``on``: a birthday completes the year on its month and day
    (29 February in a common year: on 1 March). NaN where the birth date is missing."""
    not_yet = (on.dt.month * 100 + on.dt.day) < (birth.dt.month * 100 + birth.dt.day)
    return on.dt.year - birth.dt.year - not_yet.astype("int64")


def episodes(sessions: pd.DataFrame) -> pd.DataFrame:
    """One row per (discipline, practice, patient, DCSPH code): O_t and the case mix."""
    sessions = sessions.assign(
        episode=sessions.groupby(EPISODE_KEY, sort=False, observed=True).ngroup(),
        is_chronic=sessions["indication_code"].isin(CHRONIC_INDICATIONS),
    )
    first = (
        sessions.sort_values(["service_date", "insurer", "claim_id"], kind="stable")
        .drop_duplicates("episode")
        .set_index("episode")
        .sort_index()
    )
    per_episode = sessions.groupby("episode").agg(observed=("is_chronic", "size"), chronic=("is_chronic", "any"))
    result = first[EPISODE_KEY].join(per_episode)
    age = completed_years(to_date(first["birth_date"]), first["service_date"])
    result["age_band"] = age_bands(age)
    result["sex"] = first["sex"].where(first["sex"].isin(["1", "2"]), "U")
    four_digits = result["dcsph_code"].str.fullmatch(r"[0-9]{4}")
    result["body_region"] = result["dcsph_code"].str[:2].where(four_digits, "XX")
    return result.reset_index(drop=True)


# ---------------------------------------------------------------- method.md §4


def stratum_cells(eps: pd.DataFrame, min_episodes: int) -> pd.DataFrame:
    """Every L0 stratum with its reference cell: L0 if big enough, else the L1 pool of the
    small strata (region × chronic), else their L2 pool (chronic), else L3."""
    strata = eps.groupby(STRATUM_KEY, observed=True).size().rename("n").reset_index()
    small = strata["n"] < min_episodes
    l1 = strata[small].groupby(["discipline", "body_region", "chronic"])["n"].sum().rename("l1_n").reset_index()
    strata = strata.merge(l1, on=["discipline", "body_region", "chronic"], how="left")
    in_l2 = small & (strata["l1_n"] < min_episodes)
    l2 = strata[in_l2].groupby(["discipline", "chronic"])["n"].sum().rename("l2_n").reset_index()
    strata = strata.merge(l2, on=["discipline", "chronic"], how="left")
    level = np.select(
        [~small, strata["l1_n"] >= min_episodes, in_l2 & (strata["l2_n"] >= min_episodes)],
        ["L0", "L1", "L2"],
        default="L3",
    )
    chronic = np.where(strata["chronic"], "chronic", "non_chronic")
    strata["cell_id"] = np.select(
        [level == "L0", level == "L1", level == "L2"],
        [
            "L0/" + strata["age_band"] + "/" + strata["sex"] + "/" + strata["body_region"] + "/" + chronic,
            "L1/" + strata["body_region"] + "/" + chronic,
            "L2/" + pd.Series(chronic, index=strata.index),
        ],
        default="L3",
    )
    return strata[[*STRATUM_KEY, "cell_id"]]


def expectations(eps: pd.DataFrame, min_episodes: int) -> pd.DataFrame:
    """Each episode with E_t = mean_c and V_t = var_c of its cell (exact integer sums)."""
    eps = eps.merge(stratum_cells(eps, min_episodes), on=STRATUM_KEY, how="left")
    cells = (
        eps.assign(squared=eps["observed"] ** 2)
        .groupby(["discipline", "cell_id"])
        .agg(n=("observed", "size"), total=("observed", "sum"), squares=("squared", "sum"))
        .reset_index()
    )
    n, total, squares = (cells[c].to_numpy(dtype="int64") for c in ("n", "total", "squares"))
    cells["expected"] = total / n
    with np.errstate(divide="ignore", invalid="ignore"):
        cells["variance"] = np.where(n > 1, (n * squares - total * total) / (n * (n - 1)), 0.0)
    return eps.merge(cells[["discipline", "cell_id", "expected", "variance"]], on=["discipline", "cell_id"])


# ---------------------------------------------------------------- method.md §5-§7


def acklam_inverse_normal(p: float) -> float:
    """Φ⁻¹(p) by Peter Acklam's rational approximation, as the dbt macro computes z."""
    a = [
        -3.969683028665376e01,
        2.209460984245205e02,
        -2.759285104469687e02,
        1.383577518672690e02,
        -3.066479806614716e01,
        2.506628277459239e00,
    ]
    b = [
        -5.447609879822406e01,
        1.615858368580409e02,
        -1.556989798598866e02,
        6.680131188771972e01,
        -1.328068155288572e01,
    ]
    c = [
        -7.784894002430293e-03,
        -3.223964580411365e-01,
        -2.400758277161838e00,
        -2.549732539343734e00,
        4.374664141464968e00,
        2.938163982698783e00,
    ]
    d = [7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e00, 3.754408661907416e00]

    def tail(q: float) -> float:
        return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / (
            (((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1
        )

    if p < 0.02425:
        return tail(math.sqrt(-2 * math.log(p)))
    if p > 1 - 0.02425:
        return -tail(math.sqrt(-2 * math.log(1 - p)))
    q = p - 0.5
    r = q * q
    return (
        (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5])
        * q
        / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
    )


def index_table(eps: pd.DataFrame, period: str, params: Parameters) -> pd.DataFrame:
    """The published index table: one row per practice and discipline, suppressed below
    ``min_patients`` distinct patients."""
    practices = (
        eps.groupby(["discipline", "practice_agb"])
        .agg(
            patients=("patient_id", "nunique"),
            episodes=("observed", "size"),
            sessions=("observed", "sum"),
            expected_sessions=("expected", "sum"),
            sum_variance=("variance", "sum"),
        )
        .reset_index()
    )
    z = acklam_inverse_normal(1 - (1 - params.confidence_level) / 2)
    expected = practices["expected_sessions"]
    index = 100 * practices["sessions"] / expected
    standard_error = 100 * np.sqrt(practices["sum_variance"]) / expected
    ok = practices["patients"] >= params.min_patients
    lower = (index - z * standard_error).clip(lower=0)
    practices["period"] = period
    practices["status"] = np.where(ok, "ok", "insufficient_patients")
    practices["behandelindex"] = index.where(ok)
    practices["ci_lower"] = lower.where(ok)
    practices["ci_upper"] = (index + z * standard_error).where(ok)
    practices["corrected_index"] = practices["ci_lower"]
    return practices[OUTPUT_COLUMNS].sort_values(["discipline", "practice_agb"], kind="stable", ignore_index=True)


def compute(data_dir: Path, period: str, params: Parameters = Parameters(), csv_engine: str = "c") -> pd.DataFrame:
    """method.md §2-§7 over the deliveries in force of ``period`` under ``data_dir``."""
    eps = expectations(episodes(period_sessions(data_dir, period, csv_engine)), params.min_stratum_episodes)
    return index_table(eps, period, params)


def write_csv(table: pd.DataFrame, path: Path) -> None:
    """As the platform publishes it: full float precision, empty for missing, LF."""
    path.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(path, index=False, lineterminator="\n", na_rep="")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KB on Linux


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, required=True, help="data directory with landing/")
    parser.add_argument("--period", required=True, help="period YYYY-vN")
    parser.add_argument("--output", type=Path, required=True, help="CSV to write (behandelindex.csv columns)")
    parser.add_argument("--min-stratum-episodes", type=int, default=Parameters.min_stratum_episodes)
    parser.add_argument("--min-patients", type=int, default=Parameters.min_patients)
    parser.add_argument("--confidence-level", type=float, default=Parameters.confidence_level)
    parser.add_argument(
        "--csv-engine",
        choices=["c", "pyarrow"],
        default="c",
        help="pandas.read_csv engine (default c, pandas' own parser)",
    )
    args = parser.parse_args(argv)
    started = time.monotonic()
    table = compute(
        args.data_dir,
        args.period,
        Parameters(args.min_stratum_episodes, args.min_patients, args.confidence_level),
        args.csv_engine,
    )
    write_csv(table, args.output)
    seconds = time.monotonic() - started
    print(
        f"pandas baseline: {len(table):,} practice rows to {args.output}; "
        f"wall time {seconds:.2f} s, peak RSS {peak_rss_mb():.0f} MB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
