"""Practices, the patient pool and each year's episodes: drawn from the seed alone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from orchestration.commands.synthetic.shape import (
    ACTIVE_SHARE,
    AGE_BAND_EDGES,
    AGE_BAND_SHARES,
    AGE_FACTOR,
    BASE_SESSIONS,
    CHRONIC_BY_AGE_BAND,
    CHRONIC_FACTOR,
    EXTRA_SLOTS,
    MARKET_SHARES,
    MAX_SESSIONS,
    MIDYEAR_SWITCH_SHARE,
    MISSING_DCSPH_SHARE,
    OEFEN_FACTOR,
    P_SCREENING,
    PATHOLOGIES,
    PROPENSITY_SIGMA,
    REGION_BY_AGE_BAND,
    REGION_FACTOR,
    REGIONS,
    SESSION_DISPERSION,
    YEAR_SWITCH_SHARE,
)
from orchestration.core.seeds import insurers

# --------------------------------------------------------------------------- population


@dataclass
class Population:
    """Practices and the patient pool: drawn from the seed alone, the same every year."""

    seed: int
    practice_agb: np.ndarray  # int64, 8 digits
    practice_type: np.ndarray  # 0 fysiotherapie, 1 oefentherapie, 2 both
    practice_weight: np.ndarray  # relative size (expected share of patients)
    propensity: np.ndarray  # the planted truth
    tariff_factor: np.ndarray
    therapist_first: np.ndarray  # AGB of the practice's first therapist; the others follow
    therapist_count: np.ndarray
    birth_day: np.ndarray  # int32 days since 1970-01-01
    sex: np.ndarray  # int8: 0, 1, 2, 9
    base_insurer: np.ndarray  # int8 index into the insurer list
    home_practice: np.ndarray  # int32
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
    small = rng.random(n) < 0.08  # very small practices, many below min_patients
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
    return Population(
        seed,
        practice_agb,
        practice_type,
        weight,
        propensity,
        tariff_factor,
        therapist_first,
        therapist_count,
        birth_day,
        sex,
        base_insurer,
        home_practice,
        ids,
    )


# --------------------------------------------------------------------------- episodes


@dataclass
class Episodes:
    """Every episode of one year, one array element each."""

    year: int
    patient: np.ndarray
    practice: np.ndarray
    oefen: np.ndarray  # bool: discipline oefentherapie (code list 074)
    age_band: np.ndarray
    dcsph: np.ndarray  # int16, -1 = missing
    chronic: np.ndarray
    indication: np.ndarray  # 1, 8 or 9
    sessions: np.ndarray  # drawn before the year end cuts them off
    start_day: np.ndarray  # day of year of the first session
    gap_mean: np.ndarray
    session_code: np.ndarray
    screening: np.ndarray  # bool
    therapist_agb: np.ndarray
    insurer: np.ndarray  # the patient's insurer this year (before a mid-year switch)
    switch_day: np.ndarray  # day of year from which the other insurer pays (366 = never)
    switch_to: np.ndarray
    extra_u: np.ndarray  # (episodes, 8) uniforms deciding the extra lines

    def __len__(self) -> int:
        return len(self.patient)


def _age_band(age_years: np.ndarray) -> np.ndarray:
    return np.searchsorted(np.array(AGE_BAND_EDGES), age_years, side="right")


def _session_codes(
    rng: np.random.Generator, oefen: np.ndarray, band: np.ndarray, region: np.ndarray, sex: np.ndarray
) -> np.ndarray:
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
    practice = np.where(elsewhere, rng.choice(pop.practices, size=n, p=weights), pop.home_practice[patient]).astype(
        np.int32
    )
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

    expected = (
        BASE_SESSIONS
        * REGION_FACTOR[region_idx]
        * AGE_FACTOR[band]
        * np.where(chronic, CHRONIC_FACTOR, 1.0)
        * np.where(oefen, OEFEN_FACTOR, 1.0)
        * pop.propensity[practice]
    )
    rate = np.maximum(expected - 1.0, 0.2) * rng.gamma(SESSION_DISPERSION, 1.0 / SESSION_DISPERSION, size=n)
    sessions = np.minimum(1 + rng.poisson(rate), MAX_SESSIONS).astype(np.int16)
    days_in_year = (date(year + 1, 1, 1) - date(year, 1, 1)).days
    # episodes start all year round, also before it (their sessions in this year count):
    # so January is as full as any month, as in a real extract
    start_day = np.where(chronic, rng.integers(-150, 300, size=n), rng.integers(-45, days_in_year, size=n)).astype(
        np.int16
    )
    gap_mean = np.where(chronic, 8.0, 5.0)
    session_code = _session_codes(rng, oefen, band, region, pop.sex[patient])
    screening = rng.random(n) < np.where(chronic, P_SCREENING[1], P_SCREENING[0])
    therapist = pop.therapist_first[practice] + 7 * (rng.integers(0, 1 << 30, size=n) % pop.therapist_count[practice])
    extra_u = rng.random((n, len(EXTRA_SLOTS)), dtype=np.float32)
    return Episodes(
        year,
        patient,
        practice,
        oefen,
        band,
        dcsph,
        chronic,
        indication,
        sessions,
        start_day,
        gap_mean,
        session_code,
        screening,
        therapist.astype(np.int64),
        year_insurer[patient],
        switch_day[patient],
        switch_to[patient],
        extra_u,
    )
