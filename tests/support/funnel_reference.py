"""An independent Python reference of the funnel marts and the national medians
(dbt_project/models/marts/fct_funnel_*.sql, fct_national_medians.sql), written from
Spiegelhalter (2005), "Funnel plots for comparing institutional performance", Stat Med
24:1185-1202. Tests compare dbt against it and fill the fake warehouses of the report
tests with it.
"""

from __future__ import annotations

import math

GRID_POINTS = 90
Z95 = 1.959963986120195  # dbt's confidence_z at 0.95 (tests keep their own reference numbers)
Z998 = 3.090232304709404  # and at 0.998


def quantile(sorted_values: list[float], q: float) -> float:
    pos = q * (len(sorted_values) - 1)
    lo, hi = math.floor(pos), math.ceil(pos)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def median(values: list[float]) -> float | None:
    v = sorted(values)
    if not v:
        return None
    n = len(v)
    return float(v[n // 2]) if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2


def parameters(
    e: list[float],
    y: list[float],
    se: list[float],
    inner_z: float = Z95,
    outer_z: float = Z998,
    inner_level: float = 0.95,
    outer_level: float = 0.998,
) -> dict[str, float]:
    """k, phi (z winsorised at the 10th and 90th percentiles), tau2 and the outer adjusted
    limits at the smallest practice, for the practices (E_p, BI_p, SE_p)."""
    n = len(e)
    k = quantile(sorted(s * math.sqrt(x) for s, x in zip(se, e)), 0.5)
    z = [(v - 100) / s for v, s in zip(y, se)]
    zs = sorted(z)
    lo, hi = quantile(zs, 0.1), quantile(zs, 0.9)
    phi = math.fsum(min(max(v, lo), hi) ** 2 for v in z) / n
    w = [1 / (s * s) for s in se]
    sw = math.fsum(w)
    denom = sw - math.fsum(v * v for v in w) / sw
    tau2 = max(0.0, (n * phi - (n - 1)) / denom) if n > 1 and denom > 0 else 0.0
    s0 = k / math.sqrt(min(e))
    half = outer_z * math.sqrt(s0 * s0 + tau2)
    return {
        "practices": n,
        "k": k,
        "winsor_lower": lo,
        "winsor_upper": hi,
        "phi": phi,
        "tau2": tau2,
        "inner_z": inner_z,
        "outer_z": outer_z,
        "inner_level": inner_level,
        "outer_level": outer_level,
        "smallest_expected_sessions": min(e),
        "largest_expected_sessions": max(e),
        "outer_adjusted_lower_at_smallest": max(0.0, 100 - half),
        "outer_adjusted_upper_at_smallest": 100 + half,
    }


def limits(p: dict[str, float]) -> list[dict[str, float]]:
    """The 90 grid points with their plain and adjusted limits at the inner and outer z."""
    lo = max(p["smallest_expected_sessions"] * 0.8, 1.0)
    hi = p["largest_expected_sessions"] * 1.25
    if hi <= lo:
        hi = lo * 2
    step = (math.log(hi) - math.log(lo)) / (GRID_POINTS - 1)
    rows = []
    for i in range(GRID_POINTS):
        e = math.exp(math.log(lo) + i * step)
        s = p["k"] / math.sqrt(e)
        row = {"point": i, "expected_sessions": e, "standard_error": s}
        for name in ("inner", "outer"):
            z = p[f"{name}_z"]
            for tag, half in (("", z * s), ("_adjusted", z * math.sqrt(s * s + p["tau2"]))):
                row[f"{name}{tag}_lower"] = max(0.0, 100 - half)
                row[f"{name}{tag}_upper"] = 100 + half
        rows.append(row)
    return rows


def z_adjusted(y: float, se: float, tau2: float) -> float:
    return (y - 100) / math.sqrt(se * se + tau2)
