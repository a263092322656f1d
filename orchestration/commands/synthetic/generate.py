"""Synthetic insurer deliveries (``spiegel generate``), exactly per delivery-contract.md.

What is simulated, and why it is shaped this way
------------------------------------------------
The data must be realistic enough that the behandelindex means something, and large
enough (``--scale 1.0``: about 9,000 practices, 4 million patients, 45 million claim
lines a year) that it must be generated vectorised: numpy draws every attribute for
all episodes of a year at once, the claim lines are exploded from the episodes in
fixed-size chunks, and DuckDB formats and writes the CSV files. Nothing loops over
rows in Python.

* **Practices** (from the seed alone, so the same practice keeps its AGB code and
  habits across years): mostly fysiotherapie, some oefentherapie, a few both; sizes
  from a handful to thousands of patients a year (a lognormal body with a tail, plus a
  group of very small practices below the ``min_patients`` line); a *propensity*, the
  planted truth: how many more or fewer sessions this practice gives than the national
  norm for the same patients. It is written to ``ground_truth/practices.csv`` and
  never read by the pipeline.
* **Patients** (a pool that persists across years): birth date, sex, a home practice
  and an insurer drawn by realistic market shares; each year about 7 % are with
  another insurer, and 1 % switch insurer in the middle of the year (so the claims of
  one episode can come from two insurers).
* **Episodes**: 1 to 3 a year per active patient, mostly at the home practice; a DCSPH
  code whose body region depends on age; about 10 % chronic (more among the old) with
  about three times as many sessions. Sessions per episode depend on the case-mix
  stratum and on the practice's propensity (a gamma-Poisson draw).
* **Claim noise**: screening/intake lines, surcharges, missed appointments, reports;
  rejected lines (paid 0); erroneous duplicate sessions reversed by a credit processed
  weeks later (so an early version may still hold the duplicate); partial credits;
  a rare orphan credit; processing lags with a long tail, so v1 holds less of June
  than v3 does.

Each period's delivery is a *cumulative extract* of the year: the lines with a
service date in the period processed on or before the cutoff date. The same claim line
has the same ``claim_id`` in every version.

Faults (``--fault KIND[:key=value,...]``) plant one failure class in one delivery;
see :data:`FAULT_KINDS`. Everything is deterministic for a seed: the same call writes
byte-identical files.
"""

from __future__ import annotations

import csv
import json
import os
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np

from orchestration.commands.synthetic.claim_lines import load_year
from orchestration.commands.synthetic.deliveries import delivery_id_for, scratch_dir, write_delivery
from orchestration.commands.synthetic.faults import DEFAULT_LABELS, LABEL_MODES, Fault, resolve_fault
from orchestration.commands.synthetic.population import Population, build_population
from orchestration.commands.synthetic.register import write_register
from orchestration.commands.synthetic.shape import (
    NATIONAL_PATIENTS,
    NATIONAL_PRACTICES,
    PATIENTS_PER_PRACTICE,
    Progress,
)
from orchestration.core.seeds import insurers, period_sort_key, periods
from orchestration.core.settings import SpiegelPaths, duckdb_memory_limit
from orchestration.landing.zone import complete_deliveries

# --------------------------------------------------------------------------- the command


@dataclass
class GenerationSummary:
    deliveries: list[Path] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)
    register: Path | None = None  # the practice register delivery written (None: it existed already)
    register_practices: int = 0
    claim_lines: int = 0
    practices: int = 0
    patients: int = 0
    seconds: float = 0.0


def size_for(practices: int | None, scale: float | None) -> tuple[int, int]:
    """(practices, patients a year): ``scale`` is a fraction of the national volume."""
    if scale is not None:
        if scale <= 0:
            raise ValueError("--scale must be above 0")
        return max(1, round(NATIONAL_PRACTICES * scale)), max(1, round(NATIONAL_PATIENTS * scale))
    if practices is None or practices < 1:
        raise ValueError("--practices must be at least 1")
    return practices, round(practices * PATIENTS_PER_PRACTICE)


def _periods_of(years: Iterable[int]) -> list[str]:
    known = periods()
    out = []
    for year in sorted(set(years)):
        for version in (1, 2, 3):
            key = f"{year}-v{version}"
            if key not in known:
                raise ValueError(f"year {year} has no periods in dbt_project/seeds/periods.csv")
            out.append(key)
    return out


@contextmanager
def _scratch_connection(data_dir: Path) -> Iterator:
    """A DuckDB database file of this process under DIR/tmp (it spills where memory would not do), removed after."""

    path = scratch_dir(data_dir) / f"synthetic-{os.getpid()}.duckdb"
    leftovers = (path, path.with_name(path.name + ".wal"))
    for stale in leftovers:
        stale.unlink(missing_ok=True)
    con = duckdb.connect(str(path), config={"memory_limit": duckdb_memory_limit()})
    try:
        con.execute("set preserve_insertion_order = true")
        yield con
    finally:
        con.close()
        for leftover in leftovers:
            leftover.unlink(missing_ok=True)


def _write_ground_truth(data_dir: Path, pop: Population, params: dict) -> None:
    truth = SpiegelPaths(data_dir).ground_truth
    truth.mkdir(parents=True, exist_ok=True)
    expected = pop.practice_weight / pop.practice_weight.sum() * params["patients_per_year"]
    kinds = np.array(["fysiotherapie", "oefentherapie", "both"])
    with open(truth / "practices.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(
            ["practice_agb", "disciplines", "propensity", "expected_patients_per_year", "therapists", "tariff_factor"]
        )
        for i in range(pop.practices):
            w.writerow(
                [
                    f"{pop.practice_agb[i]:08d}",
                    kinds[pop.practice_type[i]],
                    f"{pop.propensity[i]:.6f}",
                    f"{expected[i]:.1f}",
                    int(pop.therapist_count[i]),
                    f"{pop.tariff_factor[i]:.4f}",
                ]
            )
    log = truth / "generation.json"
    history = json.loads(log.read_text(encoding="utf-8")) if log.exists() else {"periods": {}}
    for period in params["periods"]:
        history["periods"][period] = {
            k: params[k] for k in ("seed", "practices", "patients_per_year", "scale", "labels")
        }
    history["last"] = params
    log.write_text(json.dumps(history, indent=2, default=str) + "\n", encoding="utf-8")


def generate(
    data_dir: Path | str,
    years: Iterable[int],
    practices: int | None = 300,
    seed: int = 7,
    scale: float | None = None,
    faults: Iterable[Fault] = (),
    periods: Iterable[str] | None = None,
    progress: Progress = print,
    labels: str = DEFAULT_LABELS,
) -> GenerationSummary:
    """Write every period's delivery of every insurer for ``years`` (or only ``periods``).

    ``labels`` (:data:`LABEL_MODES`): ``mixed`` (concerns with a second label pay about half
    of their lines under it) or ``main`` (every line under the main label; the files this
    generator wrote before labels were configuration, byte for byte).

    A delivery that already exists complete (manifest present) is skipped, never
    rewritten: landed files are evidence.
    """
    started = time.monotonic()
    if labels not in LABEL_MODES:
        raise ValueError(f"--labels must be one of {', '.join(LABEL_MODES)}, got {labels!r}")
    data_dir = Path(data_dir)
    years = sorted(set(int(y) for y in years))
    wanted = _periods_of(years) if periods is None else sorted(set(periods), key=period_sort_key)
    unknown = [p for p in wanted if int(p[:4]) not in years]
    if unknown:
        raise ValueError(f"periods {', '.join(unknown)} are not in the years asked ({years})")
    planted = [resolve_fault(f, wanted) for f in faults]
    by_delivery: dict[tuple[str, str], Fault] = {}
    for fault in planted:
        key = (fault.period, fault.insurer)
        if key in by_delivery:
            raise ValueError(f"two faults for {fault.insurer} {fault.period}: plant one fault per delivery")
        by_delivery[key] = fault
    n_practices, patients_per_year = size_for(practices, scale)
    pop = build_population(seed, n_practices, patients_per_year)
    summary = GenerationSummary(practices=n_practices)
    existing = {(d.period, d.insurer, d.delivery_id) for d in complete_deliveries(data_dir / "landing")}
    patients_seen = np.zeros(pop.pool, dtype=bool)
    with _scratch_connection(data_dir) as con:
        for year in years:
            year_periods = [p for p in wanted if p.startswith(f"{year}-")]
            if not year_periods:
                continue
            progress(f"generating {year} ({', '.join(year_periods)}) ...")
            load_year(con, pop, year, progress)
            patients_seen[con.execute("select distinct patient_no from lines").fetchnumpy()["patient_no"]] = True
            for period in year_periods:
                for insurer in pop.insurer_ids:
                    fault = by_delivery.get((period, insurer))
                    delivery_id = delivery_id_for(period)
                    folder = data_dir / "landing" / period / insurer / delivery_id
                    if fault and fault.kind == "missing-insurer":
                        progress(f"  {period} {insurer}: no delivery (fault missing-insurer)")
                        continue
                    if (period, insurer, delivery_id) in existing:
                        summary.skipped.append(folder)
                        continue
                    folder, rows = write_delivery(con, pop, data_dir, period, insurer, delivery_id, fault, labels)
                    summary.deliveries.append(folder)
                    summary.claim_lines += rows
                    progress(
                        f"  {period} {insurer:<18} {rows:>11,} lines" + (f"  FAULT {fault.describe()}" if fault else "")
                    )
    # the practice register of these practices (docs/register-contract.md), a few left out
    written = write_register(data_dir, pop, years[0])
    if written is not None:
        summary.register, summary.register_practices = written
        progress(f"  practice register {summary.register.name}: {summary.register_practices:,} practices")
    summary.patients = int(patients_seen.sum())
    _write_ground_truth(
        data_dir,
        pop,
        {
            "seed": seed,
            "practices": n_practices,
            "patients_per_year": patients_per_year,
            "scale": scale,
            "labels": labels,
            "years": years,
            "periods": wanted,
            "faults": [asdict(f) for f in planted],
            "deliveries": [str(p.relative_to(data_dir)) for p in summary.deliveries],
            "register": str(summary.register.relative_to(data_dir)) if summary.register else None,
        },
    )
    summary.seconds = time.monotonic() - started
    return summary


def _next_delivery_id(landing: Path, period: str, insurer: str) -> str:
    """A delivery id that sorts after every delivery of the insurer for the period."""
    folder = landing / period / insurer
    taken = sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []
    day = date.fromisoformat(periods()[period].cutoff_date) + timedelta(days=7)
    if taken:
        try:
            day = max(day, datetime.strptime(taken[-1][:8], "%Y%m%d").date())
        except ValueError:
            day = max(day, date.today())
    candidate = f"{day:%Y%m%d}T0930"
    while taken and candidate <= taken[-1]:
        day += timedelta(days=14)
        candidate = f"{day:%Y%m%d}T0930"
    return candidate


def redeliver(data_dir: Path | str, insurer: str, period: str, progress: Progress = print) -> Path:
    """A new, fault-free delivery of ``insurer`` for ``period``, later than every earlier one.

    It regenerates the period with the parameters the earlier generation recorded in
    ``ground_truth/generation.json``, so it holds the same claim lines a clean delivery
    would have held.
    """
    data_dir = Path(data_dir)
    log = SpiegelPaths(data_dir).ground_truth / "generation.json"
    if not log.exists():
        raise ValueError(f"{log} does not exist: run `spiegel generate` first")
    params = json.loads(log.read_text(encoding="utf-8"))["periods"].get(period)
    if params is None:
        raise ValueError(f"period {period} was never generated in {data_dir} (see {log})")
    ids = [i.insurer_id for i in insurers()]
    if insurer not in ids:
        raise ValueError(f"unknown insurer {insurer!r} (known: {', '.join(ids)})")
    pop = build_population(int(params["seed"]), int(params["practices"]), int(params["patients_per_year"]))
    delivery_id = _next_delivery_id(data_dir / "landing", period, insurer)
    with _scratch_connection(data_dir) as con:
        load_year(con, pop, periods()[period].year, progress)
        # deliveries generated before --labels existed had every line under the main label
        folder, rows = write_delivery(
            con, pop, data_dir, period, insurer, delivery_id, labels=params.get("labels", "main")
        )
    progress(f"  {period} {insurer}: {rows:,} lines in delivery {delivery_id}")
    return folder
