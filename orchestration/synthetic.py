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
import gzip
import hashlib
import json
import os
import shutil
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np

from orchestration.config import (
    CONTRACT_VERSION,
    SpiegelPaths,
    duckdb_memory_limit,
    insurer_labels_in,
    insurers,
    labels_in_force,
    period_sort_key,
    periods,
)
from orchestration.contract import CLAIM_COLUMNS, file_sha256
from orchestration.landing import MANIFEST_NAME, complete_deliveries

Progress = Callable[[str], None]

# --------------------------------------------------------------------------- national shape

NATIONAL_PRACTICES = 9_000
NATIONAL_PATIENTS = 4_000_000          # distinct patients with a claim in a year
PATIENTS_PER_PRACTICE = NATIONAL_PATIENTS / NATIONAL_PRACTICES
ACTIVE_SHARE = 0.8                     # share of the patient pool treated in a given year
CHUNK_EPISODES = 250_000               # fixed: the random streams depend on it

# market shares by number of insured (approximate, 2024); an insurer missing from the
# seed gets none, a new one in the seed gets a small share
MARKET_SHARES = {"zilveren_kruis": 0.29, "vgz": 0.25, "cz": 0.23, "menzis": 0.12,
                 "zorg_en_zekerheid": 0.045, "de_friesland": 0.04, "eno": 0.025}
GZIP_INSURERS = frozenset({"de_friesland"})   # one insurer delivers claims.csv.gz
YEAR_SWITCH_SHARE = 0.07
MIDYEAR_SWITCH_SHARE = 0.01

AGE_BAND_EDGES = (18, 35, 50, 65, 75)          # the age_bands seed: 0-17 ... 75+
AGE_BAND_SHARES = (0.08, 0.18, 0.22, 0.26, 0.15, 0.11)
REGIONS = np.array([10, 20, 30, 40, 50, 60, 70, 80, 90], dtype=np.int16)   # first two DCSPH digits
REGION_BY_AGE_BAND = np.array([                       # P(region | age band)
    [.05, .05, .05, .03, .07, .10, .20, .20, .25],
    [.04, .12, .12, .05, .20, .07, .20, .12, .08],
    [.03, .16, .16, .06, .22, .07, .14, .08, .08],
    [.02, .15, .20, .05, .20, .09, .15, .06, .08],
    [.02, .10, .16, .05, .17, .15, .17, .05, .13],
    [.02, .07, .10, .05, .14, .20, .14, .05, .23],
])
PATHOLOGIES = np.array([1, 11, 21, 32, 41, 51, 60, 71, 80], dtype=np.int16)  # last two DCSPH digits
MISSING_DCSPH_SHARE = 0.003
CHRONIC_BY_AGE_BAND = np.array([0.05, 0.04, 0.07, 0.10, 0.16, 0.22])

# expected sessions of an episode = BASE x region x age x chronic x discipline x propensity
BASE_SESSIONS = 6.1
REGION_FACTOR = np.array([0.8, 1.0, 1.15, 0.9, 1.0, 1.1, 1.2, 0.85, 1.3])
AGE_FACTOR = np.array([0.85, 0.9, 1.0, 1.05, 1.15, 1.3])
CHRONIC_FACTOR = 3.2
OEFEN_FACTOR = 1.1
SESSION_DISPERSION = 6.0              # gamma shape of the per-episode rate (CV 0.4)
MAX_SESSIONS = 60
PROPENSITY_SIGMA = 0.25

# claim noise, per episode
P_SCREENING = (0.75, 0.30)            # (non-chronic, chronic)
P_REJECTED = 0.10                     # a session line rejected (paid 0), the paid one stands
P_DUPLICATE = 0.08                    # an erroneous duplicate session, reversed by a credit
P_PARTIAL_CREDIT = 0.02               # a partial credit on a real session (it still counts)
P_SURCHARGE = 0.04
P_MISSED = 0.02                       # fysiotherapie only (no 074 code)
P_REPORT = (0.005, 0.30)              # (adult, child)
P_ORPHAN = 0.0008                     # a credit against a line the insurer never delivered

# slots: a claim line is identified by (episode, slot); claim_id is a bijective
# scramble of it, so the same line keeps its claim_id in every version
SLOT_SCREENING = 0                    # sessions are slots 1..MAX_SESSIONS
EXTRA_SLOTS = {"rejected": 61, "duplicate": 62, "credit": 63, "partial": 64, "surcharge": 65,
               "missed": 66, "report": 67, "orphan": 68}
SLOT_NEVER_DELIVERED = 127
CLAIM_NO_MULTIPLIER = np.uint64(0x9E3779B97)  # odd: multiplication mod 2^40 is a bijection
CLAIM_NO_MASK = np.uint64((1 << 40) - 1)

# tariffs in cents (practices differ by a contracted factor)
TARIFFS = {
    "073": {1000: 3653, 1001: 4620, 1002: 4100, 1100: 4650, 1200: 5150, 1300: 4890, 1400: 4400, 1500: 5010,
            1864: 5500, 1870: 5500, 1900: 1400, 1901: 900, 1950: 2000, 1105: 6500},
    "074": {2000: 3420, 2001: 4300, 2002: 3900, 2006: 4700, 2008: 5500, 2300: 4900, 2301: 5800, 2302: 5300,
            2600: 4500, 2601: 5400, 2602: 5000, 2864: 5000, 2900: 1400, 2510: 6000},
}


def _tariff_table() -> np.ndarray:
    """Cents by prestatie code (the codes of both lists are distinct 4-digit numbers)."""
    table = np.zeros(3000, dtype=np.int64)
    for codes in TARIFFS.values():
        for code, cents in codes.items():
            table[code] = cents
    return table


TARIFF_TABLE = _tariff_table()

# --------------------------------------------------------------------------- faults

FAULT_KINDS: dict[str, str] = {
    "missing-insurer": "the insurer delivers nothing for the period",
    "missing-month": "every line of one month (key month, default May) is left out",
    "underdelivered-month": "only a fraction (key fraction, default 0.3) of one month's lines is delivered",
    "control-total-mismatch": "the manifest's paid_amount_total differs from the file (by 100.00)",
    "checksum-mismatch": "the manifest's sha256 does not match the file",
    "duplicate-claim-id": "some lines (key rows, default 3) repeat the claim_id of the line before",
    "missing-column": "one column (key column, default therapist_agb) is left out of the file",
    "bad-date": "some lines (key rows, default 1) have an impossible service_date (YYYY-02-31)",
    "bad-amount": "some lines (key rows, default 1) have a paid_amount with a decimal comma",
    "out-of-period": "a fraction (key fraction, default 0.02) of lines have a service date before the period",
    "truncated-file": "the file is cut off in the middle of a line after the manifest was written",
    "foreign-label": "some lines (key rows, default 25) are paid under a label of another concern (key label, "
                     "default that concern's main label: a misrouted delivery)",
    "unknown-label": "some lines (key rows, default 25) are paid under a label no concern has (key label, "
                     "default 9999)",
    "implausible-birth-date": "some lines (key rows, default 5) have a birth_date after their service_date",
}
FAULT_KEYS = {"insurer", "period", "month", "fraction", "rows", "column", "label"}

# --labels: how a concern with several labels (insurer_labels seed) spreads its lines over them
LABEL_MODES = {
    "mixed": "a concern with a second label in force pays about half of its patients' lines under it",
    "main": "every line is paid under the concern's main label (the first in the seed)",
}
DEFAULT_LABELS = "mixed"


@dataclass(frozen=True)
class Fault:
    """One planted failure: ``kind`` in ``insurer``'s delivery for ``period``."""

    kind: str
    insurer: str = "vgz"
    period: str | None = None       # None: the first generated period
    month: str | None = None        # YYYY-MM; None: May of the period's year
    fraction: float | None = None
    rows: int | None = None
    column: str | None = None
    label: str | None = None

    def describe(self) -> str:
        extra = ", ".join(f"{k}={v}" for k, v in asdict(self).items() if v is not None and k != "kind")
        return f"{self.kind}({extra})"


def parse_fault(text: str) -> Fault:
    """``KIND`` or ``KIND:key=value,...`` (keys: insurer, period, month, fraction, rows, column, label)."""
    kind, _, arg_text = text.strip().partition(":")
    if kind not in FAULT_KINDS:
        raise ValueError(f"unknown fault kind {kind!r}; known kinds: {', '.join(FAULT_KINDS)}")
    values: dict[str, object] = {}
    for part in filter(None, (p.strip() for p in arg_text.split(","))):
        key, sep, value = part.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or key not in FAULT_KEYS or not value:
            raise ValueError(f"fault {text!r}: {part!r} is not key=value with a key among {', '.join(sorted(FAULT_KEYS))}")
        values[key] = value
    known_insurers = [i.insurer_id for i in insurers()]
    if "insurer" in values and values["insurer"] not in known_insurers:
        raise ValueError(f"fault {text!r}: unknown insurer {values['insurer']!r} (known: {', '.join(known_insurers)})")
    if "period" in values and values["period"] not in periods():
        raise ValueError(f"fault {text!r}: unknown period {values['period']!r} (expected YYYY-vN)")
    if "month" in values:
        try:
            datetime.strptime(str(values["month"]), "%Y-%m")
        except ValueError:
            raise ValueError(f"fault {text!r}: month must be YYYY-MM, got {values['month']!r}") from None
    try:
        if "fraction" in values:
            values["fraction"] = float(values["fraction"])  # type: ignore[arg-type]
            if not 0 <= values["fraction"] <= 1:  # type: ignore[operator]
                raise ValueError
        if "rows" in values:
            values["rows"] = int(values["rows"])  # type: ignore[arg-type]
            if values["rows"] < 1:  # type: ignore[operator]
                raise ValueError
    except ValueError:
        raise ValueError(f"fault {text!r}: fraction must be a number from 0 to 1 and rows a whole number >= 1") from None
    if "column" in values and values["column"] not in CLAIM_COLUMNS:
        raise ValueError(f"fault {text!r}: column must be one of the contract's columns, got {values['column']!r}")
    if "label" in values and not (len(str(values["label"])) == 4 and str(values["label"]).isdigit()):
        raise ValueError(f"fault {text!r}: label must be a 4-digit UZOVI code, got {values['label']!r}")
    return Fault(kind=kind, **values)  # type: ignore[arg-type]


def _resolve_fault(fault: Fault, generated: list[str]) -> Fault:
    """Fill the defaults that depend on what is generated, and check the fault fits it."""
    period = fault.period or generated[0]
    if period not in generated:
        raise ValueError(f"fault {fault.kind}: period {period} is not among the generated periods "
                         f"({', '.join(generated)})")
    info = periods()[period]
    month = fault.month or f"{info.year}-05"
    if fault.kind in ("missing-month", "underdelivered-month") and not (
            info.period_start[:7] <= month <= info.period_end[:7]):
        raise ValueError(f"fault {fault.kind}: month {month} is not inside period {period} "
                         f"({info.period_start} to {info.period_end})")
    defaults = {"underdelivered-month": {"fraction": 0.3}, "out-of-period": {"fraction": 0.02},
                "duplicate-claim-id": {"rows": 3}, "bad-date": {"rows": 1}, "bad-amount": {"rows": 1},
                "missing-column": {"column": "therapist_agb"}, "foreign-label": {"rows": 25},
                "unknown-label": {"rows": 25}, "implausible-birth-date": {"rows": 5}}.get(fault.kind, {})
    label = _fault_label(fault, period) if fault.kind in ("foreign-label", "unknown-label") else None
    return Fault(kind=fault.kind, insurer=fault.insurer, period=period, month=month,
                 fraction=fault.fraction if fault.fraction is not None else defaults.get("fraction"),
                 rows=fault.rows if fault.rows is not None else defaults.get("rows"),
                 column=fault.column or defaults.get("column"), label=label)


def _fault_label(fault: Fault, period: str) -> str:
    """The label a label fault writes: checked against the labels seed of ``period``."""
    in_force = labels_in_force(period)
    owner = in_force[fault.label].insurer_id if fault.label in in_force else None
    if fault.kind == "foreign-label":
        if fault.label is None:
            other = next(i.insurer_id for i in insurers() if i.insurer_id != fault.insurer
                         and insurer_labels_in(i.insurer_id, period))
            return insurer_labels_in(other, period)[0]
        if owner is None or owner == fault.insurer:
            whose = f"{owner}'s" if owner else "no concern's"
            raise ValueError(f"fault foreign-label: label {fault.label} is not another concern's label in {period} "
                             f"(it is {whose})")
        return fault.label
    label = fault.label or "9999"
    if owner is not None:
        raise ValueError(f"fault unknown-label: label {label} is {owner}'s in {period}; choose one no concern has")
    return label


# --------------------------------------------------------------------------- population


@dataclass
class Population:
    """Practices and the patient pool: drawn from the seed alone, the same every year."""

    seed: int
    practice_agb: np.ndarray        # int64, 8 digits
    practice_type: np.ndarray       # 0 fysiotherapie, 1 oefentherapie, 2 both
    practice_weight: np.ndarray     # relative size (expected share of patients)
    propensity: np.ndarray          # the planted truth
    tariff_factor: np.ndarray
    therapist_first: np.ndarray     # AGB of the practice's first therapist; the others follow
    therapist_count: np.ndarray
    birth_day: np.ndarray           # int32 days since 1970-01-01
    sex: np.ndarray                 # int8: 0, 1, 2, 9
    base_insurer: np.ndarray        # int8 index into the insurer list
    home_practice: np.ndarray       # int32
    insurer_ids: list[str]

    @property
    def practices(self) -> int:
        return len(self.practice_agb)

    @property
    def pool(self) -> int:
        return len(self.birth_day)


def _insurer_shares(ids: list[str]) -> np.ndarray:
    raw = np.array([MARKET_SHARES.get(i, 0.02) for i in ids], dtype=float)
    return raw / raw.sum()


def build_population(seed: int, n_practices: int, patients_per_year: int) -> Population:
    rng = np.random.default_rng([seed, 0])
    ids = [i.insurer_id for i in insurers()]
    n = n_practices
    practice_type = rng.choice(3, size=n, p=[0.85, 0.10, 0.05]).astype(np.int8)
    weight = rng.lognormal(np.log(322.0), 0.8, size=n)
    small = rng.random(n) < 0.08                  # very small practices, many below min_patients
    weight[small] = rng.uniform(3, 35, size=int(small.sum()))
    weight[practice_type == 1] *= 0.45
    numbers = rng.choice(900_000, size=n, replace=False) + 100_000
    # AGB practice codes: 04xxxxxx for physiotherapy practices, 05xxxxxx for exercise therapy
    practice_agb = np.where(practice_type == 1, 5, 4).astype(np.int64) * 1_000_000 + numbers
    propensity = np.clip(rng.lognormal(0.0, PROPENSITY_SIGMA, size=n), 0.5, 2.0)
    tariff_factor = rng.uniform(0.9, 1.1, size=n)
    expected_patients = weight / weight.sum() * patients_per_year
    therapist_count = np.maximum(1, np.round(expected_patients / 180 + rng.random(n))).astype(np.int64)
    therapist_first = 10_000_000 + np.concatenate([[0], np.cumsum(therapist_count)[:-1]]) * 7 + 1

    pool = max(1, int(round(patients_per_year / ACTIVE_SHARE)))
    ref_day = (date(2024, 7, 1) - date(1970, 1, 1)).days
    band = rng.choice(len(AGE_BAND_SHARES), size=pool, p=AGE_BAND_SHARES)
    low = np.array((0,) + AGE_BAND_EDGES)
    high = np.array(AGE_BAND_EDGES + (95,))
    age_days = (rng.uniform(low[band], high[band]) * 365.25).astype(np.int64)
    birth_day = (ref_day - age_days).astype(np.int32)
    sex = rng.choice(np.array([1, 2, 0, 9], dtype=np.int8), size=pool, p=[0.42, 0.575, 0.003, 0.002])
    base_insurer = rng.choice(len(ids), size=pool, p=_insurer_shares(ids)).astype(np.int8)
    home_practice = rng.choice(n, size=pool, p=weight / weight.sum()).astype(np.int32)
    return Population(seed, practice_agb, practice_type, weight, propensity, tariff_factor, therapist_first,
                      therapist_count, birth_day, sex, base_insurer, home_practice, ids)


# --------------------------------------------------------------------------- episodes


@dataclass
class Episodes:
    """Every episode of one year, one array element each."""

    year: int
    patient: np.ndarray
    practice: np.ndarray
    oefen: np.ndarray               # bool: discipline oefentherapie (code list 074)
    age_band: np.ndarray
    dcsph: np.ndarray               # int16, -1 = missing
    chronic: np.ndarray
    indication: np.ndarray          # 1, 8 or 9
    sessions: np.ndarray            # drawn before the year end cuts them off
    start_day: np.ndarray           # day of year of the first session
    gap_mean: np.ndarray
    session_code: np.ndarray
    screening: np.ndarray           # bool
    therapist_agb: np.ndarray
    insurer: np.ndarray             # the patient's insurer this year (before a mid-year switch)
    switch_day: np.ndarray          # day of year from which the other insurer pays (366 = never)
    switch_to: np.ndarray
    extra_u: np.ndarray             # (episodes, 8) uniforms deciding the extra lines

    def __len__(self) -> int:
        return len(self.patient)


def _age_band(age_years: np.ndarray) -> np.ndarray:
    return np.searchsorted(np.array(AGE_BAND_EDGES), age_years, side="right")


def _session_codes(rng: np.random.Generator, oefen: np.ndarray, band: np.ndarray, region: np.ndarray,
                   sex: np.ndarray) -> np.ndarray:
    """The session prestatie code of each episode (home visits for the old, child codes, ...)."""
    n = len(oefen)
    u = rng.random(n)
    child, old = band == 0, band == 5
    pelvic = (sex == 2) & np.isin(region, (50, 60))
    spine = np.isin(region, (20, 50))
    fysio = np.full(n, 1000, dtype=np.int16)
    fysio = np.where(spine & (u < 0.25), 1100, fysio)
    fysio = np.where(pelvic & (u < 0.15), 1300, fysio)
    fysio = np.where((u > 0.97), 1400, fysio)
    fysio = np.where((u > 0.95) & (u <= 0.97), 1002, fysio)
    fysio = np.where(old & (u < 0.35), 1001, np.where(old & (u < 0.55), 1500, fysio))
    fysio = np.where(child & (u < 0.5), 1200, fysio)
    ofn = np.full(n, 2000, dtype=np.int16)
    ofn = np.where(u > 0.85, 2600, ofn)
    ofn = np.where(pelvic & (u < 0.15), 2006, ofn)
    ofn = np.where(old & (u < 0.30), 2001, ofn)
    ofn = np.where(child, np.where(u < 0.9, 2300, 2301), ofn)
    return np.where(oefen, ofn, fysio).astype(np.int16)


def draw_episodes(pop: Population, year: int) -> Episodes:
    rng = np.random.default_rng([pop.seed, year, 1])
    n_ins = len(pop.insurer_ids)
    # the patients' insurers this year: most stay with their own, some are elsewhere
    alt = rng.choice(n_ins, size=pop.pool, p=_insurer_shares(pop.insurer_ids)).astype(np.int8)
    year_insurer = np.where(rng.random(pop.pool) < YEAR_SWITCH_SHARE, alt, pop.base_insurer).astype(np.int8)
    switches = rng.random(pop.pool) < MIDYEAR_SWITCH_SHARE
    switch_day = np.where(switches, rng.integers(30, 330, size=pop.pool), 366).astype(np.int16)
    switch_to = ((year_insurer + 1 + rng.integers(0, n_ins - 1, size=pop.pool)) % n_ins).astype(np.int8)

    active = np.flatnonzero(rng.random(pop.pool) < ACTIVE_SHARE)
    per_patient = rng.choice(np.array([1, 2, 3]), size=len(active), p=[0.72, 0.21, 0.07])
    patient = np.repeat(active, per_patient).astype(np.int32)
    n = len(patient)
    weights = pop.practice_weight / pop.practice_weight.sum()
    elsewhere = rng.random(n) < 0.06
    practice = np.where(elsewhere, rng.choice(pop.practices, size=n, p=weights),
                        pop.home_practice[patient]).astype(np.int32)
    ptype = pop.practice_type[practice]
    oefen = (ptype == 1) | ((ptype == 2) & (rng.random(n) < 0.3))

    mid_year = (date(year, 7, 1) - date(1970, 1, 1)).days
    band = _age_band((mid_year - pop.birth_day[patient]) / 365.25)
    region_idx = np.zeros(n, dtype=np.int64)
    for b in range(len(AGE_BAND_SHARES)):
        members = np.flatnonzero(band == b)
        region_idx[members] = rng.choice(len(REGIONS), size=len(members), p=REGION_BY_AGE_BAND[b])
    region = REGIONS[region_idx]
    dcsph = (region * 100 + PATHOLOGIES[rng.integers(0, len(PATHOLOGIES), size=n)]).astype(np.int16)
    dcsph[rng.random(n) < MISSING_DCSPH_SHARE] = -1
    chronic = rng.random(n) < CHRONIC_BY_AGE_BAND[band]
    indication = np.where(chronic, np.where(rng.random(n) < 0.7, 1, 8), 9).astype(np.int8)

    expected = (BASE_SESSIONS * REGION_FACTOR[region_idx] * AGE_FACTOR[band]
                * np.where(chronic, CHRONIC_FACTOR, 1.0) * np.where(oefen, OEFEN_FACTOR, 1.0)
                * pop.propensity[practice])
    rate = np.maximum(expected - 1.0, 0.2) * rng.gamma(SESSION_DISPERSION, 1.0 / SESSION_DISPERSION, size=n)
    sessions = np.minimum(1 + rng.poisson(rate), MAX_SESSIONS).astype(np.int16)
    days_in_year = (date(year + 1, 1, 1) - date(year, 1, 1)).days
    # episodes start all year round, also before it (their sessions in this year count):
    # so January is as full as any month, as in a real extract
    start_day = np.where(chronic, rng.integers(-150, 300, size=n),
                         rng.integers(-45, days_in_year, size=n)).astype(np.int16)
    gap_mean = np.where(chronic, 8.0, 5.0)
    session_code = _session_codes(rng, oefen, band, region, pop.sex[patient])
    screening = rng.random(n) < np.where(chronic, P_SCREENING[1], P_SCREENING[0])
    therapist = pop.therapist_first[practice] + 7 * (rng.integers(0, 1 << 30, size=n) % pop.therapist_count[practice])
    extra_u = rng.random((n, len(EXTRA_SLOTS)), dtype=np.float32)
    return Episodes(year, patient, practice, oefen, band, dcsph, chronic, indication, sessions, start_day,
                    gap_mean, session_code, screening, therapist.astype(np.int64), year_insurer[patient],
                    switch_day[patient], switch_to[patient], extra_u)


# --------------------------------------------------------------------------- claim lines


def _claim_no(episode: np.ndarray, slot: np.ndarray, year: int) -> np.ndarray:
    key = episode.astype(np.uint64) * np.uint64(128) + slot.astype(np.uint64)
    scrambled = (key * CLAIM_NO_MULTIPLIER) & CLAIM_NO_MASK
    return (scrambled ^ np.uint64((year * 2_654_435_761) & ((1 << 40) - 1))).astype(np.int64)


def _lag_days(rng: np.random.Generator, n: int) -> np.ndarray:
    """Processing lag: mostly weeks, some months, a long tail (what makes v1 hold less of June)."""
    u, v = rng.random(n), rng.random(n)
    return np.where(u < 0.85, 5 + 30 * v, np.where(u < 0.97, 35 + 45 * v, 80 + 140 * v)).astype(np.int32)


def _weekday(day: np.ndarray) -> np.ndarray:
    return (day + 3) % 7            # 1970-01-01 was a Thursday; 0 = Monday


def _chunk_lines(pop: Population, eps: Episodes, lo: int, hi: int) -> dict[str, np.ndarray]:
    """The claim lines of episodes [lo, hi): sessions, screening, and the extra lines."""
    rng = np.random.default_rng([pop.seed, eps.year, 2, lo // CHUNK_EPISODES])
    year_start = (date(eps.year, 1, 1) - date(1970, 1, 1)).days
    year_end = (date(eps.year, 12, 31) - date(1970, 1, 1)).days
    ep_ids = np.arange(lo, hi)
    counts = eps.sessions[lo:hi].astype(np.int64)
    first = np.concatenate([[0], np.cumsum(counts)[:-1]])
    ep = np.repeat(ep_ids, counts)
    k = np.arange(len(ep)) - np.repeat(first, counts)
    gaps = np.where(k == 0, 0, np.maximum(1, np.round(eps.gap_mean[ep] * rng.gamma(3.0, 1 / 3.0, size=len(ep)))))
    cum = np.cumsum(gaps)
    day = year_start + eps.start_day[ep].astype(np.int64) + cum - np.repeat(cum[first], counts)
    # no sessions at the weekend: to the Monday after, or the Friday before at the year end
    dow = _weekday(day)
    later = day + np.where(dow == 5, 2, np.where(dow == 6, 1, 0))
    day = np.where(later <= year_end, later, day - np.where(dow == 5, 1, np.where(dow == 6, 2, 0)))
    kept = (day >= year_start) & (day <= year_end)
    kept_per_episode = np.bincount(ep[kept] - lo, minlength=hi - lo)
    before_year = np.bincount(ep[day < year_start] - lo, minlength=hi - lo)
    first_kept = first + before_year                               # index of the episode's first session this year
    # "processing": when the insurer processed the line; a credit 10 to 120 days after the
    # line it reverses ("after_previous": after the duplicate listed just before it)
    lines = [{"ep": ep[kept], "slot": (k[kept] + 1).astype(np.int16), "day": day[kept],
              "code": eps.session_code[ep[kept]], "sign": np.ones(int(kept.sum()), dtype=np.int8),
              "orig_slot": np.full(int(kept.sum()), -1, dtype=np.int16), "processing": "normal"}]

    # screening opens an episode: only for episodes whose first session is in this year
    scr = ep_ids[eps.screening[lo:hi] & (before_year == 0) & (kept_per_episode > 0)]
    scr_code = np.where(eps.oefen[scr], 2864, np.where(rng.random(len(scr)) < 0.8, 1864, 1870)).astype(np.int16)
    lines.append({"ep": scr, "slot": np.zeros(len(scr), dtype=np.int16),
                  "day": day[first_kept[scr - lo]], "code": scr_code,
                  "sign": np.ones(len(scr), dtype=np.int8), "orig_slot": np.full(len(scr), -1, dtype=np.int16),
                  "processing": "normal"})

    u = eps.extra_u[lo:hi]
    oefen = eps.oefen[lo:hi]
    child = eps.age_band[lo:hi] == 0
    probabilities = {
        "rejected": np.full(hi - lo, P_REJECTED), "duplicate": np.full(hi - lo, P_DUPLICATE),
        "partial": np.full(hi - lo, P_PARTIAL_CREDIT), "surcharge": np.full(hi - lo, P_SURCHARGE),
        "missed": np.where(oefen, 0.0, P_MISSED), "report": np.where(child, P_REPORT[1], P_REPORT[0]),
        "orphan": np.full(hi - lo, P_ORPHAN),
    }
    columns = {name: i for i, name in enumerate(EXTRA_SLOTS)}
    for name, p in probabilities.items():
        uu = u[:, columns[name]]
        present = np.flatnonzero((uu < p) & (kept_per_episode > 0))
        if not len(present):
            continue
        # given presence, uu / p is uniform: it also picks the session the line refers to
        j = np.minimum((uu[present] / p[present] * kept_per_episode[present]).astype(np.int64),
                       kept_per_episode[present] - 1)
        ref_day = day[first_kept[present] + j]
        eps_abs = present + lo
        code = eps.session_code[eps_abs]
        sign = np.ones(len(present), dtype=np.int8)
        orig = np.full(len(present), -1, dtype=np.int16)
        if name == "surcharge":
            code = np.where(oefen[present], 2900, 1900).astype(np.int16)
        elif name == "missed":
            code = np.full(len(present), 1950, dtype=np.int16)
        elif name == "report":
            code = np.where(oefen[present], 2510, 1105).astype(np.int16)
        elif name == "rejected":
            sign = np.zeros(len(present), dtype=np.int8)
        elif name == "partial":
            sign = np.full(len(present), -3, dtype=np.int8)           # -30 % of the tariff
            orig = (before_year[present] + j + 1).astype(np.int16)
        elif name == "orphan":
            sign = np.full(len(present), -10, dtype=np.int8)
            orig = np.full(len(present), SLOT_NEVER_DELIVERED, dtype=np.int16)
        lines.append({"ep": eps_abs, "slot": np.full(len(present), EXTRA_SLOTS[name], dtype=np.int16),
                      "day": ref_day, "code": code, "sign": sign, "orig_slot": orig,
                      "processing": "credit" if name in ("partial", "orphan") else "normal"})
        if name == "duplicate":   # its credit, processed weeks after the duplicate
            lines.append({"ep": eps_abs, "slot": np.full(len(present), EXTRA_SLOTS["credit"], dtype=np.int16),
                          "day": ref_day, "code": code, "sign": np.full(len(present), -10, dtype=np.int8),
                          "orig_slot": np.full(len(present), EXTRA_SLOTS["duplicate"], dtype=np.int16),
                          "processing": "after_previous"})

    processed_parts, previous_lag = [], None
    for part in lines:
        lag = _lag_days(rng, len(part["ep"]))
        if part["processing"] == "after_previous":
            lag = previous_lag + rng.integers(10, 121, size=len(lag))
        elif part["processing"] == "credit":
            lag = lag + rng.integers(10, 121, size=len(lag))
        previous_lag = lag
        processed_parts.append(part["day"] + lag)
    cat = {key: np.concatenate([p[key] for p in lines]) for key in ("ep", "slot", "day", "code", "sign", "orig_slot")}
    cat["processed"] = np.concatenate(processed_parts)
    order = np.lexsort((cat["slot"], cat["ep"]))
    cat = {key: value[order] for key, value in cat.items()}
    return _line_columns(pop, eps, cat, rng)


def born_before(birth_day: np.ndarray, year_start: int) -> np.ndarray:
    """Birth days moved back by whole 365-day steps until they lie before ``year_start``.

    The pool's ages are drawn around 1 July 2024 and the pool serves every year, so its
    youngest patients would otherwise be "treated" in a year before they were born, a
    delivery no insurer can send (delivery-contract.md, plausibility of birth dates).
    A patient born before the year keeps their birth date; the others stay babies (the
    age band 0-17, as drawn)."""
    steps = np.where(birth_day >= year_start, (birth_day - year_start) // 365 + 1, 0)
    return (birth_day - 365 * steps).astype(np.int32)


def _line_columns(pop: Population, eps: Episodes, cat: dict[str, np.ndarray],
                  rng: np.random.Generator) -> dict[str, np.ndarray]:
    ep, slot, day, code, sign = cat["ep"], cat["slot"], cat["day"], cat["code"], cat["sign"]
    year_start = (date(eps.year, 1, 1) - date(1970, 1, 1)).days
    practice = eps.practice[ep]
    tariff = np.round(TARIFF_TABLE[code] * pop.tariff_factor[practice]).astype(np.int64)
    claimed = np.where(sign < 0, np.where(sign == -3, -np.round(tariff * 0.3), -tariff), tariff).astype(np.int64)
    paid = np.where(sign == 0, 0, claimed).astype(np.int64)
    insurer = np.where(day - year_start >= eps.switch_day[ep], eps.switch_to[ep], eps.insurer[ep]).astype(np.int8)
    patient = eps.patient[ep]
    age_band = eps.age_band[ep]
    coverage = np.where((age_band == 0) | eps.chronic[ep], 0, 1).astype(np.int8)   # 0 BV, 1 AV
    orig = np.where(cat["orig_slot"] >= 0, _claim_no(ep, np.maximum(cat["orig_slot"], 0), eps.year), -1)
    return {
        "claim_no": _claim_no(ep, slot, eps.year), "orig_no": orig.astype(np.int64), "insurer": insurer,
        "practice_agb": pop.practice_agb[practice], "therapist_agb": eps.therapist_agb[ep],
        "patient_no": patient.astype(np.int32), "birth_day": born_before(pop.birth_day[patient], year_start),
        "sex": pop.sex[patient],
        "service_day": day.astype(np.int32), "code_list": np.where(eps.oefen[ep], 74, 73).astype(np.int8),
        "prestatie": code.astype(np.int16), "dcsph": eps.dcsph[ep], "indication": eps.indication[ep],
        "coverage": coverage, "claimed": claimed, "paid": paid, "processed_day": cat["processed"].astype(np.int32),
        "r": rng.random(len(ep), dtype=np.float32),
    }


LINE_TABLE_SQL = """
create or replace table lines (
    claim_no bigint, orig_no bigint, insurer tinyint, practice_agb bigint, therapist_agb bigint,
    patient_no integer, birth_date date, sex tinyint, service_date date, code_list tinyint,
    prestatie smallint, dcsph smallint, indication tinyint, coverage tinyint, claimed bigint,
    paid bigint, processed_date date, r float)
"""


def _load_year(con, pop: Population, year: int, progress: Progress) -> int:
    """Every claim line of ``year`` into the table ``lines`` of the scratch database."""
    import pyarrow as pa

    eps = draw_episodes(pop, year)
    progress(f"  {year}: {len(eps):,} episodes of {len(np.unique(eps.patient)):,} patients at "
             f"{pop.practices:,} practices")
    con.execute(LINE_TABLE_SQL)
    total = 0
    for lo in range(0, len(eps), CHUNK_EPISODES):
        cols = _chunk_lines(pop, eps, lo, min(lo + CHUNK_EPISODES, len(eps)))
        arrays = {name: pa.array(values) for name, values in cols.items()}
        for name in ("birth_day", "service_day", "processed_day"):
            arrays[name] = pa.array(cols[name], type=pa.int32()).cast(pa.date32())
        chunk = pa.table(arrays)  # noqa: F841  (scanned by DuckDB below)
        con.execute("insert into lines select * from chunk")
        total += chunk.num_rows
    return total


# --------------------------------------------------------------------------- writing


def _amount_sql(cents: str) -> str:
    return (f"(case when {cents} < 0 then '-' else '' end) || cast(abs({cents}) // 100 as varchar) || '.' || "
            f"lpad(cast(abs({cents}) % 100 as varchar), 2, '0')")


def _label_sql(pop: Population, period: str, labels: str) -> tuple[str, str]:
    """SQL of (the insurer's main label, the label a line is paid under) in ``period``.

    The main label prefixes the claim_id (unique per delivery whatever the label). With
    ``labels="mixed"`` a concern with a second label pays the lines of about half of its
    patients under it (a policy is with one label), chosen by a fixed scramble of the patient."""
    if labels not in LABEL_MODES:
        raise ValueError(f"--labels must be one of {', '.join(LABEL_MODES)}, got {labels!r}")
    own = [insurer_labels_in(i, period) or ["0000"] for i in pop.insurer_ids]
    main = "[" + ", ".join(f"'{ls[0]}'" for ls in own) + "]"
    if labels == "main" or all(len(ls) == 1 for ls in own):
        return f"{main}[insurer + 1]", f"{main}[insurer + 1]"
    second = "[" + ", ".join(f"'{ls[1] if len(ls) > 1 else ls[0]}'" for ls in own) + "]"
    return (f"{main}[insurer + 1]",
            f"(case when (cast(patient_no as bigint) * 2654435761) % 1000 < 500 then {second}[insurer + 1] "
            f"else {main}[insurer + 1] end)")


def _select_sql(pop: Population, fault: Fault | None, period: str, labels: str = DEFAULT_LABELS) -> str:
    period_start = periods()[period].period_start
    uzovi, paid_under = _label_sql(pop, period, labels)
    service = "service_date"
    if fault and fault.kind == "out-of-period":
        # lines moved into December of the previous year, before the period starts
        service = (f"(case when r < {fault.fraction} then date '{period_start}' - cast(1 + floor(r * 1000) % 28 "
                   f"as integer) else service_date end)")
    columns = {
        "claim_id": f"{uzovi} || lpad(cast(claim_no as varchar), 13, '0')",
        "original_claim_id": f"case when orig_no >= 0 then {uzovi} || lpad(cast(orig_no as varchar), 13, '0') end",
        "uzovi": paid_under,
        "practice_agb": "lpad(cast(practice_agb as varchar), 8, '0')",
        "therapist_agb": "lpad(cast(therapist_agb as varchar), 8, '0')",
        "patient_id": f"sha256('spiegel-{pop.seed}-' || cast(patient_no as varchar))",
        "birth_date": "strftime(birth_date, '%Y-%m-%d')",
        "sex": "cast(sex as varchar)",
        "service_date": f"strftime({service}, '%Y-%m-%d')",
        "code_list": "'0' || cast(code_list as varchar)",
        "prestatie_code": "cast(prestatie as varchar)",
        "dcsph_code": "case when dcsph >= 0 then lpad(cast(dcsph as varchar), 4, '0') end",
        "indication_code": "lpad(cast(indication as varchar), 3, '0')",
        "coverage": "case when coverage = 0 then 'BV' else 'AV' end",
        "claimed_amount": _amount_sql("claimed"),
        "paid_amount": _amount_sql("paid"),
        "processed_date": "strftime(processed_date, '%Y-%m-%d')",
    }
    return ", ".join(f"{expr} as {name}" for name, expr in columns.items())


def _where_sql(insurer_index: int, period: str, fault: Fault | None) -> str:
    info = periods()[period]
    conditions = [f"insurer = {insurer_index}", f"service_date <= date '{info.period_end}'",
                  f"processed_date <= date '{info.cutoff_date}'"]
    if fault and fault.kind == "missing-month":
        conditions.append(f"strftime(service_date, '%Y-%m') <> '{fault.month}'")
    if fault and fault.kind == "underdelivered-month":
        conditions.append(f"not (strftime(service_date, '%Y-%m') = '{fault.month}' and r >= {fault.fraction})")
    return " and ".join(conditions)


def delivery_id_for(period: str) -> str:
    """A delivery a week after the cutoff date, as insurers do."""
    cutoff = date.fromisoformat(periods()[period].cutoff_date)
    return f"{cutoff + timedelta(days=7):%Y%m%d}T0930"


def _chosen_lines(n_lines: int, rows: int) -> set[int]:
    """Data line numbers (1-based, header excluded) spread evenly over the file, from the second on."""
    if n_lines < 2:
        return set()
    return {max(2, int(n_lines * (i + 1) / (rows + 1))) for i in range(min(rows, n_lines - 1))}


def _rewrite_lines(path: Path, fault: Fault, n_lines: int, year: int) -> None:
    """The faults that live in the text of the file, applied by streaming it once."""
    columns = list(CLAIM_COLUMNS)
    chosen = _chosen_lines(n_lines, fault.rows or 1)
    drop = columns.index(fault.column) if fault.kind == "missing-column" else None
    tmp = path.with_name(path.name + ".part")
    with open(path, encoding="utf-8", newline="") as src, open(tmp, "w", encoding="utf-8", newline="") as dst:
        previous_claim_id = None
        for number, line in enumerate(src):
            fields = line.rstrip("\n").split(",")
            if number in chosen:
                if fault.kind == "duplicate-claim-id":
                    fields[0] = previous_claim_id
                elif fault.kind == "bad-date":
                    fields[columns.index("service_date")] = f"{year}-02-31"
                elif fault.kind == "bad-amount":
                    cents = fields[columns.index("paid_amount")].replace(".", ",")
                    fields[columns.index("paid_amount")] = f'"{cents}"'
                elif fault.kind in ("foreign-label", "unknown-label"):
                    fields[columns.index("uzovi")] = fault.label
                elif fault.kind == "implausible-birth-date":   # born the day after the treatment
                    served = date.fromisoformat(fields[columns.index("service_date")])
                    fields[columns.index("birth_date")] = (served + timedelta(days=1)).isoformat()
            previous_claim_id = fields[0]
            if drop is not None:
                del fields[drop]
            dst.write(",".join(fields) + "\n")
    os.replace(tmp, path)


def _gzip_file(plain: Path, target: Path) -> None:
    with open(plain, "rb") as src, open(target, "wb") as raw, \
            gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=1, mtime=0) as dst:
        shutil.copyfileobj(src, dst, 8 * 1024 * 1024)
    plain.unlink()


def _cents_text(cents: int) -> str:
    return f"{Decimal(cents) / 100:.2f}"


def write_delivery(con, pop: Population, data_dir: Path, period: str, insurer: str, delivery_id: str,
                   fault: Fault | None = None, labels: str = DEFAULT_LABELS) -> tuple[Path, int]:
    """Write one delivery folder (claims first, manifest last); returns its folder and line count."""
    info = periods()[period]
    idx = pop.insurer_ids.index(insurer)
    folder = data_dir / "landing" / period / insurer / delivery_id
    folder.mkdir(parents=True, exist_ok=True)
    gz = insurer in GZIP_INSURERS
    name = "claims.csv.gz" if gz else "claims.csv"
    plain = folder / "claims.csv"
    select, where = _select_sql(pop, fault, period, labels), _where_sql(idx, period, fault)
    con.execute(f"copy (select {select} from lines where {where}) to '{plain}' (header, delimiter ',')")
    rows, cents = con.execute(f"select count(*), coalesce(sum(paid), 0) from lines where {where}").fetchone()
    if fault and fault.kind in ("duplicate-claim-id", "bad-date", "bad-amount", "missing-column", "foreign-label",
                                "unknown-label", "implausible-birth-date"):
        _rewrite_lines(plain, fault, int(rows), info.year)
    data_file = folder / name
    if gz:
        _gzip_file(plain, data_file)
    sha = file_sha256(data_file)
    total = _cents_text(int(cents))
    if fault and fault.kind == "control-total-mismatch":
        total = _cents_text(int(cents) + 10_000)
    if fault and fault.kind == "checksum-mismatch":
        sha = hashlib.sha256(sha.encode()).hexdigest()
    if fault and fault.kind == "truncated-file":
        size = data_file.stat().st_size
        with open(data_file, "r+b") as f:
            f.truncate(max(1, int(size * 0.6)))
    manifest = {"contract_version": CONTRACT_VERSION, "insurer": insurer, "period": period,
                "delivery_id": delivery_id, "period_start": info.period_start, "period_end": info.period_end,
                "cutoff_date": info.cutoff_date,
                "files": [{"name": name, "sha256": sha, "rows": int(rows), "paid_amount_total": total}]}
    _write_manifest_last(data_dir, folder, manifest)
    return folder, int(rows)


def _scratch_dir(data_dir: Path) -> Path:
    """The generator's own work files (never under landing/, which only holds deliveries)."""
    scratch = data_dir / "tmp"
    scratch.mkdir(parents=True, exist_ok=True)
    return scratch


def _write_manifest_last(data_dir: Path, folder: Path, manifest: dict) -> None:
    """The manifest completes a delivery, so it appears at once or not at all."""
    tmp = _scratch_dir(data_dir) / f"manifest-{manifest['period']}-{manifest['insurer']}-{manifest['delivery_id']}.json"
    tmp.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, folder / MANIFEST_NAME)


# --------------------------------------------------------------------------- the command


@dataclass
class GenerationSummary:
    deliveries: list[Path] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)
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
    import duckdb

    path = _scratch_dir(data_dir) / f"synthetic-{os.getpid()}.duckdb"
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
        w.writerow(["practice_agb", "disciplines", "propensity", "expected_patients_per_year", "therapists",
                    "tariff_factor"])
        for i in range(pop.practices):
            w.writerow([f"{pop.practice_agb[i]:08d}", kinds[pop.practice_type[i]], f"{pop.propensity[i]:.6f}",
                        f"{expected[i]:.1f}", int(pop.therapist_count[i]), f"{pop.tariff_factor[i]:.4f}"])
    log = truth / "generation.json"
    history = json.loads(log.read_text(encoding="utf-8")) if log.exists() else {"periods": {}}
    for period in params["periods"]:
        history["periods"][period] = {k: params[k] for k in ("seed", "practices", "patients_per_year", "scale",
                                                             "labels")}
    history["last"] = params
    log.write_text(json.dumps(history, indent=2, default=str) + "\n", encoding="utf-8")


def generate(data_dir: Path | str, years: Iterable[int], practices: int | None = 300, seed: int = 7,
             scale: float | None = None, faults: Iterable[Fault] = (), periods: Iterable[str] | None = None,
             progress: Progress = print, labels: str = DEFAULT_LABELS) -> GenerationSummary:
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
    planted = [_resolve_fault(f, wanted) for f in faults]
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
            _load_year(con, pop, year, progress)
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
                    progress(f"  {period} {insurer:<18} {rows:>11,} lines" + (f"  FAULT {fault.describe()}" if fault else ""))
    summary.patients = int(patients_seen.sum())
    _write_ground_truth(data_dir, pop, {
        "seed": seed, "practices": n_practices, "patients_per_year": patients_per_year, "scale": scale,
        "labels": labels,
        "years": years, "periods": wanted, "faults": [asdict(f) for f in planted],
        "deliveries": [str(p.relative_to(data_dir)) for p in summary.deliveries]})
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
        _load_year(con, pop, periods()[period].year, progress)
        # deliveries generated before --labels existed had every line under the main label
        folder, rows = write_delivery(con, pop, data_dir, period, insurer, delivery_id,
                                      labels=params.get("labels", "main"))
    progress(f"  {period} {insurer}: {rows:,} lines in delivery {delivery_id}")
    return folder
