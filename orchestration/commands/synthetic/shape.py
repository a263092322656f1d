"""The national shape the generator draws from: sizes, shares, case-mix factors, claim
noise and tariffs (one place for every number that makes the data look real)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

# --------------------------------------------------------------------------- national shape

NATIONAL_PRACTICES = 9_000
NATIONAL_PATIENTS = 4_000_000  # distinct patients with a claim in a year
PATIENTS_PER_PRACTICE = NATIONAL_PATIENTS / NATIONAL_PRACTICES
ACTIVE_SHARE = 0.8  # share of the patient pool treated in a given year
CHUNK_EPISODES = 250_000  # fixed: the random streams depend on it

# market shares by number of insured (approximate, 2024); an insurer missing from the
# seed gets none, a new one in the seed gets a small share
MARKET_SHARES = {
    "zilveren_kruis": 0.29,
    "vgz": 0.25,
    "cz": 0.23,
    "menzis": 0.12,
    "zorg_en_zekerheid": 0.045,
    "de_friesland": 0.04,
    "eno": 0.025,
}
GZIP_INSURERS = frozenset({"de_friesland"})  # one insurer delivers claims.csv.gz
YEAR_SWITCH_SHARE = 0.07
MIDYEAR_SWITCH_SHARE = 0.01

AGE_BAND_EDGES = (18, 35, 50, 65, 75)  # the age_bands seed: 0-17 ... 75+
AGE_BAND_SHARES = (0.08, 0.18, 0.22, 0.26, 0.15, 0.11)
REGIONS = np.array([10, 20, 30, 40, 50, 60, 70, 80, 90], dtype=np.int16)  # first two DCSPH digits
REGION_BY_AGE_BAND = np.array(
    [  # P(region | age band)
        [0.05, 0.05, 0.05, 0.03, 0.07, 0.10, 0.20, 0.20, 0.25],
        [0.04, 0.12, 0.12, 0.05, 0.20, 0.07, 0.20, 0.12, 0.08],
        [0.03, 0.16, 0.16, 0.06, 0.22, 0.07, 0.14, 0.08, 0.08],
        [0.02, 0.15, 0.20, 0.05, 0.20, 0.09, 0.15, 0.06, 0.08],
        [0.02, 0.10, 0.16, 0.05, 0.17, 0.15, 0.17, 0.05, 0.13],
        [0.02, 0.07, 0.10, 0.05, 0.14, 0.20, 0.14, 0.05, 0.23],
    ]
)
PATHOLOGIES = np.array([1, 11, 21, 32, 41, 51, 60, 71, 80], dtype=np.int16)  # last two DCSPH digits
MISSING_DCSPH_SHARE = 0.003
CHRONIC_BY_AGE_BAND = np.array([0.05, 0.04, 0.07, 0.10, 0.16, 0.22])

# expected sessions of an episode = BASE x region x age x chronic x discipline x propensity
BASE_SESSIONS = 6.1
REGION_FACTOR = np.array([0.8, 1.0, 1.15, 0.9, 1.0, 1.1, 1.2, 0.85, 1.3])
AGE_FACTOR = np.array([0.85, 0.9, 1.0, 1.05, 1.15, 1.3])
CHRONIC_FACTOR = 3.2
OEFEN_FACTOR = 1.1
SESSION_DISPERSION = 6.0  # gamma shape of the per-episode rate (CV 0.4)
MAX_SESSIONS = 60
PROPENSITY_SIGMA = 0.25

# claim noise, per episode
P_SCREENING = (0.75, 0.30)  # (non-chronic, chronic)
P_REJECTED = 0.10  # a session line rejected (paid 0), the paid one stands
P_DUPLICATE = 0.08  # an erroneous duplicate session, reversed by a credit
P_PARTIAL_CREDIT = 0.02  # a partial credit on a real session (it still counts)
P_SURCHARGE = 0.04
P_MISSED = 0.02  # fysiotherapie only (no 074 code)
P_REPORT = (0.005, 0.30)  # (adult, child)
P_ORPHAN = 0.0008  # a credit against a line the insurer never delivered

# slots: a claim line is identified by (episode, slot); claim_id is a bijective
# scramble of it, so the same line keeps its claim_id in every version
SLOT_SCREENING = 0  # sessions are slots 1..MAX_SESSIONS
EXTRA_SLOTS = {
    "rejected": 61,
    "duplicate": 62,
    "credit": 63,
    "partial": 64,
    "surcharge": 65,
    "missed": 66,
    "report": 67,
    "orphan": 68,
}
SLOT_NEVER_DELIVERED = 127
CLAIM_NO_MULTIPLIER = np.uint64(0x9E3779B97)  # odd: multiplication mod 2^40 is a bijection
CLAIM_NO_MASK = np.uint64((1 << 40) - 1)

# tariffs in cents (practices differ by a contracted factor)
TARIFFS = {
    "073": {
        1000: 3653,
        1001: 4620,
        1002: 4100,
        1100: 4650,
        1200: 5150,
        1300: 4890,
        1400: 4400,
        1500: 5010,
        1864: 5500,
        1870: 5500,
        1900: 1400,
        1901: 900,
        1950: 2000,
        1105: 6500,
    },
    "074": {
        2000: 3420,
        2001: 4300,
        2002: 3900,
        2006: 4700,
        2008: 5500,
        2300: 4900,
        2301: 5800,
        2302: 5300,
        2600: 4500,
        2601: 5400,
        2602: 5000,
        2864: 5000,
        2900: 1400,
        2510: 6000,
    },
}


def _tariff_table() -> np.ndarray:
    """Cents by prestatie code (the codes of both lists are distinct 4-digit numbers)."""
    table = np.zeros(3000, dtype=np.int64)
    for codes in TARIFFS.values():
        for code, cents in codes.items():
            table[code] = cents
    return table


TARIFF_TABLE = _tariff_table()


Progress = Callable[[str], None]  # where each step reports what it is doing
