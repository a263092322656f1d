"""An independent, small-data reference implementation of method.md (version 1).

Tests only: plain Python over pandas frames shaped like ``raw.claims`` and
``raw.deliveries`` (docs/design.md) and the dbt seeds, written from method.md without
looking at the SQL. It returns the published index table (method.md §7), so the dbt
marts can be compared with it number by number.

Where method.md leaves a detail open, this follows the documented choices of the dbt
project: a line whose birth_date is after its service_date (a blocked period) is not counted; birth
date and sex of an episode from its first counted session (ties: insurer, claim_id);
sex '1'/'2'/'U'; z by Acklam's approximation of the inverse normal.
"""

from __future__ import annotations

import csv
import math
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pandas as pd

SEEDS = Path(__file__).resolve().parents[2] / "dbt_project" / "seeds"
DISCIPLINES = {"073": "fysiotherapie", "074": "oefentherapie"}
COLUMNS = [
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


def acklam_inverse_normal(p: float) -> float:
    """Φ⁻¹(p), Peter Acklam's rational approximation (relative error < 1.15e-9)."""
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
    low = 0.02425
    if p < low:
        q = math.sqrt(-2 * math.log(p))
        return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / (
            (((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1
        )
    if p > 1 - low:
        q = math.sqrt(-2 * math.log(1 - p))
        return -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / (
            (((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1
        )
    q = p - 0.5
    r = q * q
    return (
        (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5])
        * q
        / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
    )


def _seed(name: str) -> list[dict[str, str]]:
    with open(SEEDS / f"{name}.csv", newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _date(value) -> date | None:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def _text(value) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value)
    return None if text == "" else text


@dataclass
class Session:
    insurer: str
    claim_id: str
    service_date: date
    birth_date: date | None
    sex: str | None
    indication: str | None


def counted_sessions(
    claims: pd.DataFrame, deliveries: pd.DataFrame, period: str, windows: Sequence[tuple[date, date]] = ()
) -> list[dict]:
    """method.md §2: the counted sessions of the period, as dicts of the raw columns;
    ``windows`` are the exclusion windows (§9, bounds inclusive)."""
    periods = {r["period"]: r for r in _seed("periods")}[period]
    start, end = date.fromisoformat(periods["period_start"]), date.fromisoformat(periods["period_end"])
    categories = {(r["code_list"], r["prestatie_code"]): r["category"] for r in _seed("prestatie_codes")}
    in_force = {}
    for d in deliveries.to_dict("records"):
        if d["period"] == period and d["status"] == "accepted":
            in_force[d["insurer"]] = (d["delivery_id"], _date(d["cutoff_date"]))
    lines = [
        r
        for r in claims.to_dict("records")
        if r["period"] == period and r["insurer"] in in_force and r["delivery_id"] == in_force[r["insurer"]][0]
    ]
    credited: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for r in lines:
        paid = Decimal(str(r["paid_amount"]))
        original = _text(r["original_claim_id"])
        if paid < 0 and original is not None:
            credited[(r["insurer"], original)] += paid
    out = []
    for r in lines:
        if r["code_list"] not in DISCIPLINES:
            continue
        if categories.get((r["code_list"], r["prestatie_code"])) != "session":
            continue
        if r["coverage"] not in ("BV", "AV"):
            continue
        service, processed = _date(r["service_date"]), _date(r["processed_date"])
        cutoff = in_force[r["insurer"]][1]
        if service is None or not (start <= service <= end):
            continue
        if processed is None or cutoff is None or processed > cutoff:
            continue
        if any(first <= service <= last for first, last in windows):
            continue
        paid = Decimal(str(r["paid_amount"]))
        if paid <= 0:
            continue
        if paid + credited[(r["insurer"], r["claim_id"])] <= 0:
            continue
        born = _date(r["birth_date"])
        if born is None or born > service or born < date(1900, 1, 1):  # no age: never guessed
            continue
        out.append(r)
    return out


def _age(birth: date | None, on: date) -> int | None:
    if birth is None:
        return None
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def episodes(
    claims: pd.DataFrame, deliveries: pd.DataFrame, period: str, windows: Sequence[tuple[date, date]] = ()
) -> list[dict]:
    """method.md §3: episodes with O_t and the case mix."""
    bands = [
        (r["age_band"], int(r["min_age"]), int(r["max_age"]) if r["max_age"] else None) for r in _seed("age_bands")
    ]
    grouped: dict[tuple, list[Session]] = defaultdict(list)
    for r in counted_sessions(claims, deliveries, period, windows):
        key = (DISCIPLINES[r["code_list"]], r["practice_agb"], r["patient_id"], _text(r["dcsph_code"]))
        grouped[key].append(
            Session(
                r["insurer"],
                r["claim_id"],
                _date(r["service_date"]),
                _date(r["birth_date"]),
                _text(r["sex"]),
                _text(r["indication_code"]),
            )
        )
    result = []
    for (discipline, practice, patient, dcsph), sessions in grouped.items():
        first = min(sessions, key=lambda s: (s.service_date, s.insurer, s.claim_id))
        age = _age(first.birth_date, first.service_date)
        band = next(
            (name for name, lo, hi in bands if age is not None and age >= lo and (hi is None or age <= hi)), None
        )
        result.append(
            {
                "discipline": discipline,
                "practice_agb": practice,
                "patient_id": patient,
                "dcsph_code": dcsph,
                "observed": len(sessions),
                "age_band": band,
                "sex": first.sex if first.sex in ("1", "2") else "U",
                "body_region": dcsph[:2] if dcsph is not None and re.fullmatch(r"[0-9]{4}", dcsph) else "XX",
                "chronic": any(s.indication in ("001", "008") for s in sessions),
            }
        )
    return result


def assign_cells(eps: list[dict], min_stratum_episodes: int) -> dict[tuple, tuple[str, str]]:
    """method.md §4 pooling: L0 stratum key -> (level, cell key) per discipline."""
    strata: dict[tuple, int] = defaultdict(int)
    for e in eps:
        strata[(e["discipline"], e["age_band"], e["sex"], e["body_region"], e["chronic"])] += 1
    cell_of: dict[tuple, tuple[str, tuple]] = {}
    left = []
    for key, n in strata.items():
        if n >= min_stratum_episodes:
            cell_of[key] = ("L0", key)
        else:
            left.append(key)
    l1: dict[tuple, int] = defaultdict(int)
    for key in left:
        l1[(key[0], key[3], key[4])] += strata[key]
    still = []
    for key in left:
        k1 = (key[0], key[3], key[4])
        if l1[k1] >= min_stratum_episodes:
            cell_of[key] = ("L1", k1)
        else:
            still.append(key)
    l2: dict[tuple, int] = defaultdict(int)
    for key in still:
        l2[(key[0], key[4])] += strata[key]
    for key in still:
        k2 = (key[0], key[4])
        cell_of[key] = ("L2", k2) if l2[k2] >= min_stratum_episodes else ("L3", (key[0],))
    return cell_of


def reference(
    claims: pd.DataFrame,
    deliveries: pd.DataFrame,
    period: str,
    min_stratum_episodes: int = 30,
    min_patients: int = 30,
    confidence_level: float = 0.95,
    windows: Sequence[tuple[date, date]] = (),
) -> tuple[pd.DataFrame, list[dict]]:
    """The published index table (method.md §7) and the episodes with E_t, V_t and cell."""
    eps = episodes(claims, deliveries, period, windows)
    cell_of = assign_cells(eps, min_stratum_episodes)
    members: dict[tuple, list[int]] = defaultdict(list)
    for e in eps:
        e["cell"] = cell_of[(e["discipline"], e["age_band"], e["sex"], e["body_region"], e["chronic"])]
        members[e["cell"]].append(e["observed"])
    stats = {}
    for cell, values in members.items():
        n, s, ss = len(values), sum(values), sum(v * v for v in values)
        stats[cell] = (float(Fraction(s, n)), float(Fraction(n * ss - s * s, n * (n - 1))) if n > 1 else 0.0)
    for e in eps:
        e["expected"], e["variance"] = stats[e["cell"]]
    z = acklam_inverse_normal(1 - (1 - confidence_level) / 2)
    practices: dict[tuple, list[dict]] = defaultdict(list)
    for e in eps:
        practices[(e["discipline"], e["practice_agb"])].append(e)
    rows = []
    for (discipline, practice), pe in sorted(practices.items()):
        observed = sum(e["observed"] for e in pe)
        expected = math.fsum(e["expected"] for e in pe)
        variance = math.fsum(e["variance"] for e in pe)
        patients = len({e["patient_id"] for e in pe})
        bi = 100 * observed / expected
        se = 100 * math.sqrt(variance) / expected
        lower, upper = max(bi - z * se, 0.0), bi + z * se
        ok = patients >= min_patients
        rows.append(
            {
                "period": period,
                "discipline": discipline,
                "practice_agb": practice,
                "status": "ok" if ok else "insufficient_patients",
                "patients": patients,
                "episodes": len(pe),
                "sessions": observed,
                "expected_sessions": expected,
                "behandelindex": bi if ok else None,
                "ci_lower": lower if ok else None,
                "ci_upper": upper if ok else None,
                "corrected_index": lower if ok else None,
            }
        )
    return pd.DataFrame(rows, columns=COLUMNS), eps


def movement(index_a: pd.DataFrame, eps_a: list[dict], index_b: pd.DataFrame, eps_b: list[dict]) -> pd.DataFrame:
    """method.md §10 from A's and B's index tables and episodes (as ``reference`` returns
    them): one row per practice and discipline with status ok in both."""
    stratum_mean_a = {
        (e["discipline"], e["age_band"], e["sex"], e["body_region"], e["chronic"]): e["expected"] for e in eps_a
    }
    cell_mean_a = {e["cell"]: e["expected"] for e in eps_a}
    star: dict[tuple[str, str], list[float]] = defaultdict(list)
    for e in eps_b:
        d = e["discipline"]
        candidates = [
            stratum_mean_a.get((d, e["age_band"], e["sex"], e["body_region"], e["chronic"])),
            cell_mean_a.get(("L1", (d, e["body_region"], e["chronic"]))),
            cell_mean_a.get(("L2", (d, e["chronic"]))),
            cell_mean_a.get(("L3", (d,))),
            e["expected"],
        ]
        star[(d, e["practice_agb"])].append(next(m for m in candidates if m is not None))
    a = {(r["discipline"], r["practice_agb"]): r for r in index_a.to_dict("records") if r["status"] == "ok"}
    rows = []
    for r in index_b.to_dict("records"):
        key = (r["discipline"], r["practice_agb"])
        if r["status"] != "ok" or key not in a:
            continue
        ra = a[key]
        e_star = math.fsum(star[key])
        own = math.log(r["sessions"] / r["episodes"]) - math.log(ra["sessions"] / ra["episodes"])
        case_mix = -(math.log(e_star / r["episodes"]) - math.log(ra["expected_sessions"] / ra["episodes"]))
        ref = -math.log(r["expected_sessions"] / e_star)
        bi_a, bi_b = ra["behandelindex"], r["behandelindex"]
        factor = bi_a if bi_a == bi_b else (bi_b - bi_a) / math.log(bi_b / bi_a)
        rows.append(
            {
                "period": r["period"],
                "discipline": r["discipline"],
                "practice_agb": r["practice_agb"],
                "from_period": ra["period"],
                "bi_from": bi_a,
                "bi_to": bi_b,
                "own_points": own * factor,
                "case_mix_points": case_mix * factor,
                "reference_points": ref * factor,
            }
        )
    return pd.DataFrame(rows)
