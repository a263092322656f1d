"""The behandelindex of one period in plain lazy Polars: the baseline an analyst would write today.

What one analyst would write from method.md to compute the published index table
(method.md §7, the columns and rows of a release's ``behandelindex.csv``) from the
landed CSV files with Polars' lazy API, without the platform: no contract checks, no
quality gates, no warehouse, no dbt, no Dagster, nothing imported from the platform.
Two lazy query plans, each collected once by the streaming engine on every core: from
``scan_csv`` to the episodes, then from the episodes to the table. Polars' optimiser
reads only the columns the plan uses. The episodes are collected in between because the
second plan uses them twice (for the strata and for the cells): as one plan, Polars
computed them twice and needed twice the CPU time.

    python scripts/polars_baseline.py --data-dir DIR --period 2024-v3 --output index.csv

Inputs, as for ``scripts/pandas_baseline.py``: the newest complete delivery
(``manifest.json`` present) of every insurer in ``dbt_project/seeds/required_insurers.csv``
under ``DIR/landing/<period>/<insurer>/<delivery_id>/``, the seeds for the period
bounds, prestatie codes and age bands, and method.md §9's exclusion windows from
``DIR/method_config/exclusion_windows.csv`` (else the repository's
``dbt_project/method_config/``). A cancelled period (§11, ``cancelled_periods.csv`` of
the same folder) has no published index: the script says so and exits 2. It trusts
the files: a delivery the platform would reject is used anyway. At the end it prints
its wall time and peak resident memory (``resource.getrusage``) on one line.

Where method.md leaves a detail open, this follows the platform's dbt models:

- the cutoff date is the delivery manifest's ``cutoff_date``;
- netting sums every credit line of the same insurer's delivery, whatever its other
  fields, so a credit that fails rules 1-5 still reverses its original;
- a line with no birth date, or one after its service date or before 1900-01-01, is
  never a counted session (the contents gate blocks such a period; the method does
  not guess an age);
- birth date and sex of an episode come from its first counted session, ordered by
  (service_date, insurer, claim_id); a 29 February birthday completes a year on 1 March;
- sex ``1``/``2`` as delivered, anything else ``U``; region ``XX`` unless the DCSPH
  code is exactly four digits;
- a cell's mean and variance come from exact integer sums (n, ΣO, ΣO²);
- z is Acklam's rational approximation of the inverse normal, as the dbt macro
  ``confidence_z`` computes it (1.959964 at 0.95).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import resource
import sys
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO / "dbt_project" / "seeds"
REPO_METHOD_CONFIG = REPO / "dbt_project" / "method_config"
DISCIPLINES = {"073": "fysiotherapie", "074": "oefentherapie"}
CHRONIC_INDICATIONS = ["001", "008"]
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
# uzovi, therapist_agb and claimed_amount play no part in the index: the plan never
# selects them, so the scan never materialises them.
USED_COLUMNS = [
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
    "paid_amount",
    "processed_date",
]
OLDEST_PLAUSIBLE_BIRTH = date(1900, 1, 1)


@dataclass(frozen=True)
class Delivery:
    """The delivery in force of one insurer for the period."""

    insurer: str
    claims_file: Path
    cutoff_date: date


@dataclass(frozen=True)
class Parameters:
    """method.md's configuration, with its defaults."""

    min_stratum_episodes: int = 30
    min_patients: int = 30
    confidence_level: float = 0.95


@dataclass(frozen=True)
class Period:
    key: str
    start: date
    end: date
    exclusion_windows: tuple[tuple[date, date], ...]


# ---------------------------------------------------------------- inputs


def read_csv_rows(path: Path) -> list[dict[str, str]]:
    """A small configuration file (a seed) as rows of text."""
    with open(path, newline="", encoding="utf-8-sig") as f:
        return [{k: (v or "").strip() for k, v in row.items()} for row in csv.DictReader(f)]


def method_config(data_dir: Path, name: str) -> list[dict[str, str]]:
    """method.md §9/§11 configuration: the data directory's own, else the repository's."""
    folder = data_dir / "method_config"
    return read_csv_rows((folder if folder.is_dir() else REPO_METHOD_CONFIG) / name)


def the_period(data_dir: Path, key: str) -> Period:
    """Bounds from the periods seed and the exclusion windows that overlap them."""
    row = next((r for r in read_csv_rows(SEEDS / "periods.csv") if r["period"] == key), None)
    if row is None:
        raise SystemExit(f"{key}: not in the periods seed")
    start, end = date.fromisoformat(row["period_start"]), date.fromisoformat(row["period_end"])
    windows = tuple(
        (first, last)
        for w in method_config(data_dir, "exclusion_windows.csv")
        for first, last in [(date.fromisoformat(w["first_date"]), date.fromisoformat(w["last_date"]))]
        if first <= end and last >= start
    )
    return Period(key, start, end, windows)


def required_insurers(period: str) -> list[str]:
    """Insurers whose delivery the period needs (first/last period inclusive; period keys
    ``YYYY-vN`` sort as text in time order)."""
    return sorted(
        r["insurer_id"]
        for r in read_csv_rows(SEEDS / "required_insurers.csv")
        if r["first_period"] <= period and (not r["last_period"] or r["last_period"] >= period)
    )


def in_force_deliveries(data_dir: Path, period: str) -> list[Delivery]:
    """The newest complete delivery (by delivery_id) of each required insurer."""
    found = []
    for insurer in required_insurers(period):
        complete = sorted((data_dir / "landing" / period / insurer).glob("*/manifest.json"))
        if not complete:
            continue
        folder = complete[-1].parent
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        found.append(
            Delivery(insurer, folder / manifest["files"][0]["name"], date.fromisoformat(manifest["cutoff_date"]))
        )
    if not found:
        raise SystemExit(f"no complete delivery for {period} under {data_dir / 'landing'}")
    return found


def session_codes() -> list[str]:
    """``code_list/prestatie_code`` of every code of category ``session`` in the two disciplines."""
    return [
        f"{r['code_list']}/{r['prestatie_code']}"
        for r in read_csv_rows(SEEDS / "prestatie_codes.csv")
        if r["category"] == "session" and r["code_list"] in DISCIPLINES
    ]


def claim_lines(delivery: Delivery) -> pl.LazyFrame:
    """The delivery's lines: text as delivered, dates as dates, paid_amount in whole cents
    (amounts have two decimals: cents make the netting exact; missing counts as 0)."""
    iso_date = {"format": "%Y-%m-%d", "strict": False}
    return (
        pl.scan_csv(delivery.claims_file, infer_schema=False)
        .select(USED_COLUMNS)
        .with_columns(
            pl.col("service_date", "processed_date", "birth_date").str.to_date(**iso_date),
            paid_cents=(pl.col("paid_amount").cast(pl.Float64, strict=False).fill_null(0) * 100).round().cast(pl.Int64),
        )
        .drop("paid_amount")
    )


# ---------------------------------------------------------------- method.md §2


def counted_sessions(delivery: Delivery, period: Period) -> pl.LazyFrame:
    """The counted sessions (rules 1-6) of one insurer's delivery, with their discipline.
    Credits net only within the same insurer, so each delivery is reduced on its own."""
    lines = claim_lines(delivery)
    credited = (
        lines.filter((pl.col("paid_cents") < 0) & pl.col("original_claim_id").is_not_null())
        .group_by(pl.col("original_claim_id").alias("claim_id"))
        .agg(pl.col("paid_cents").sum().alias("credited_cents"))
    )
    service = pl.col("service_date")
    in_window = pl.lit(False)
    for first, last in period.exclusion_windows:
        in_window = in_window | service.is_between(first, last)
    # rules 1-2 as a filter on a handful of codes, not a join: the lines stream past it
    code = pl.concat_str(["code_list", "prestatie_code"], separator="/")
    debits = lines.filter(
        code.is_in(session_codes()),
        pl.col("coverage").is_in(["BV", "AV"]),
        service.is_between(period.start, period.end),
        pl.col("processed_date") <= delivery.cutoff_date,
        ~in_window,
        pl.col("paid_cents") > 0,
        pl.col("birth_date").is_between(OLDEST_PLAUSIBLE_BIRTH, service),
    )
    return (
        debits.join(credited, on="claim_id", how="left")
        .filter(pl.col("paid_cents") + pl.col("credited_cents").fill_null(0) > 0)
        .select(
            pl.col("code_list").replace_strict(DISCIPLINES, return_dtype=pl.String).alias("discipline"),
            "practice_agb",
            "patient_id",
            "dcsph_code",
            "claim_id",
            "birth_date",
            "sex",
            "indication_code",
            "service_date",
            pl.lit(delivery.insurer).alias("insurer"),
        )
    )


# ---------------------------------------------------------------- method.md §3


def age_band(age: pl.Expr) -> pl.Expr:
    """The age_bands seed's band of an age in completed years."""
    band = pl.lit(None, dtype=pl.String)
    for row in reversed(read_csv_rows(SEEDS / "age_bands.csv")):
        within = age >= int(row["min_age"])
        if row["max_age"]:
            within = within & (age <= int(row["max_age"]))
        band = pl.when(within).then(pl.lit(row["age_band"])).otherwise(band)
    return band


def episodes(sessions: pl.LazyFrame) -> pl.LazyFrame:
    """One row per (discipline, practice, patient, DCSPH code): O_t and the case mix.

    The first session is the least (service_date, insurer, claim_id), unique per line:
    one text key whose byte order is that tuple's order (a fixed-width date, then NUL,
    which no claims field holds, between the parts), so that ``min_by`` can pick it in
    the streaming engine (``sort_by().first()`` per group would hold every session)."""
    first_session = pl.concat_str(
        [pl.col("service_date").dt.to_string("%Y-%m-%d"), "insurer", "claim_id"], separator="\x00"
    )
    per_episode = sessions.group_by(EPISODE_KEY).agg(
        observed=pl.len(),
        first_date=pl.col("service_date").min(),
        birth_date=pl.col("birth_date").min_by(first_session),
        sex=pl.col("sex").min_by(first_session),
        chronic=pl.col("indication_code").is_in(CHRONIC_INDICATIONS).any(),
    )
    on, birth = pl.col("first_date"), pl.col("birth_date")
    not_yet = (on.dt.month().cast(pl.Int32) * 100 + on.dt.day()) < (
        birth.dt.month().cast(pl.Int32) * 100 + birth.dt.day()
    )
    age = on.dt.year() - birth.dt.year() - not_yet.cast(pl.Int32)
    return per_episode.with_columns(
        age_band=age_band(age),
        sex=pl.when(pl.col("sex").is_in(["1", "2"])).then(pl.col("sex")).otherwise(pl.lit("U")),
        body_region=pl.when(pl.col("dcsph_code").str.contains(r"^[0-9]{4}$"))
        .then(pl.col("dcsph_code").str.slice(0, 2))
        .otherwise(pl.lit("XX")),
    )


# ---------------------------------------------------------------- method.md §4


def stratum_cells(eps: pl.LazyFrame, min_episodes: int) -> pl.LazyFrame:
    """Every L0 stratum with its reference cell: L0 if big enough, else the L1 pool of the
    small strata (region × chronic), else their L2 pool (chronic), else L3."""
    strata = eps.group_by(STRATUM_KEY).agg(n=pl.len())
    small = pl.col("n") < min_episodes
    l1_key, l2_key = ["discipline", "body_region", "chronic"], ["discipline", "chronic"]
    strata = strata.with_columns(l1_n=pl.col("n").filter(small).sum().over(l1_key))
    in_l2 = small & (pl.col("l1_n") < min_episodes)
    strata = strata.with_columns(l2_n=pl.col("n").filter(in_l2).sum().over(l2_key))
    chronic = pl.when(pl.col("chronic")).then(pl.lit("chronic")).otherwise(pl.lit("non_chronic"))
    cell_id = (
        pl.when(~small)
        .then(pl.concat_str([pl.lit("L0"), "age_band", "sex", "body_region", chronic], separator="/"))
        .when(pl.col("l1_n") >= min_episodes)
        .then(pl.concat_str([pl.lit("L1"), "body_region", chronic], separator="/"))
        .when(in_l2 & (pl.col("l2_n") >= min_episodes))
        .then(pl.concat_str([pl.lit("L2"), chronic], separator="/"))
        .otherwise(pl.lit("L3"))
    )
    return strata.select(*STRATUM_KEY, cell_id.alias("cell_id"))


def expectations(eps: pl.LazyFrame, min_episodes: int) -> pl.LazyFrame:
    """Each episode with E_t = mean_c and V_t = var_c of its cell (exact integer sums)."""
    eps = eps.join(stratum_cells(eps, min_episodes), on=STRATUM_KEY, how="left")
    observed = pl.col("observed").cast(pl.Int64)
    cells = eps.group_by("discipline", "cell_id").agg(
        n=pl.len().cast(pl.Int64), total=observed.sum(), squares=(observed * observed).sum()
    )
    n, total, squares = pl.col("n"), pl.col("total"), pl.col("squares")
    cells = cells.select(
        "discipline",
        "cell_id",
        expected=total / n,
        variance=pl.when(n > 1).then((n * squares - total * total) / (n * (n - 1))).otherwise(0.0),
    )
    return eps.join(cells, on=["discipline", "cell_id"], how="inner")


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


def index_table(eps: pl.LazyFrame, period: str, params: Parameters) -> pl.LazyFrame:
    """The published index table: one row per practice and discipline, suppressed below
    ``min_patients`` distinct patients."""
    z = acklam_inverse_normal(1 - (1 - params.confidence_level) / 2)
    practices = eps.group_by("discipline", "practice_agb").agg(
        patients=pl.col("patient_id").n_unique(),
        episodes=pl.len(),
        sessions=pl.col("observed").sum().cast(pl.Int64),
        expected_sessions=pl.col("expected").sum(),
        sum_variance=pl.col("variance").sum(),
    )
    expected = pl.col("expected_sessions")
    index = 100 * pl.col("sessions") / expected
    standard_error = 100 * pl.col("sum_variance").sqrt() / expected
    ok = pl.col("patients") >= params.min_patients

    def when_ok(value: pl.Expr) -> pl.Expr:
        return pl.when(ok).then(value).otherwise(None)

    lower = pl.max_horizontal(index - z * standard_error, pl.lit(0.0))
    return (
        practices.with_columns(
            period=pl.lit(period),
            status=pl.when(ok).then(pl.lit("ok")).otherwise(pl.lit("insufficient_patients")),
            behandelindex=when_ok(index),
            ci_lower=when_ok(lower),
            ci_upper=when_ok(index + z * standard_error),
            corrected_index=when_ok(lower),
        )
        .select(OUTPUT_COLUMNS)
        .sort("discipline", "practice_agb")
    )


def cancellation(data_dir: Path, period: str) -> str | None:
    """Why the period was cancelled (method.md §11), or None."""
    return next((r["reason"] for r in method_config(data_dir, "cancelled_periods.csv") if r["period"] == period), None)


def period_episodes(data_dir: Path, period_key: str) -> pl.LazyFrame:
    """method.md §2-§3 over the deliveries in force of ``period_key`` under ``data_dir``."""
    period = the_period(data_dir, period_key)
    return episodes(pl.concat([counted_sessions(d, period) for d in in_force_deliveries(data_dir, period_key)]))


def compute(data_dir: Path, period: str, params: Parameters = Parameters()) -> pl.DataFrame:
    """method.md §2-§7: the episodes collected once, then the reference and the index."""
    eps = period_episodes(data_dir, period).collect(engine="streaming").lazy()
    return index_table(expectations(eps, params.min_stratum_episodes), period, params).collect(engine="streaming")


def write_csv(table: pl.DataFrame, path: Path) -> None:
    """As the platform publishes it: empty for missing, LF line ends."""
    path.parent.mkdir(parents=True, exist_ok=True)
    table.write_csv(path, null_value="", line_terminator="\n")


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
    args = parser.parse_args(argv)
    started = time.monotonic()
    reason = cancellation(args.data_dir, args.period)
    if reason:
        print(f"{args.period} is cancelled ({reason}): it has no published index")
        return 2
    table = compute(
        args.data_dir, args.period, Parameters(args.min_stratum_episodes, args.min_patients, args.confidence_level)
    )
    write_csv(table, args.output)
    seconds = time.monotonic() - started
    print(
        f"polars baseline: {len(table):,} practice rows to {args.output}; "
        f"wall time {seconds:.2f} s, peak RSS {peak_rss_mb():.0f} MB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
