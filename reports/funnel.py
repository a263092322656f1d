"""The funnel plot as the reports draw it, from the period's dbt marts.

Every number of the funnel is computed once, in dbt (``dbt_project/models/marts``):

* ``fct_funnel_parameters``: per discipline k (median of SE_p * sqrt(E_p)), the
  overdispersion factor phi (mean of the z_p^2 winsorised at their 10th and 90th
  percentiles), the additive between-practice variance tau^2 (Spiegelhalter 2005,
  "Funnel plots for comparing institutional performance", Stat Med 24:1185-1202), and the
  z of the inner limits (var ``confidence_level``, the same z as the index interval) and of
  the outer ones (var ``funnel_outer_level``);
* ``fct_funnel_limits``: the plain and adjusted limits on a grid of expected sessions;
* ``fct_funnel_points``: every practice in the plot with its plain and adjusted z.

This module only holds them and turns them into what a chart or a sentence needs: the
curves, the axis range and the zone a practice's z lies in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from reports.labels import fmt_trim

# curve tag of the charts (spiegel.js, svg.py) -> column of fct_funnel_limits
LIMIT_COLUMNS = {
    "95_lo": "inner_lower",
    "95_hi": "inner_upper",
    "95_adj_lo": "inner_adjusted_lower",
    "95_adj_hi": "inner_adjusted_upper",
    "998_lo": "outer_lower",
    "998_hi": "outer_upper",
    "998_adj_lo": "outer_adjusted_lower",
    "998_adj_hi": "outer_adjusted_upper",
}


def level_label(level: float) -> str:
    """A level as a Dutch percentage without trailing zeros: 0.95 -> "95", 0.998 -> "99,8"."""
    return fmt_trim(100 * level, 6)


@dataclass
class Funnel:
    e: list[float]  # expected sessions of the practices in the plot
    y: list[float]  # their indexes
    z_plain: list[float]  # (BI - 100) / SE
    z_adjusted: list[float]  # (BI - 100) / sqrt(SE^2 + tau^2)
    k: float
    phi: float
    tau2: float
    n: int
    inner_z: float
    outer_z: float
    inner_level: float  # two-sided levels of the limits (0.95, 0.998)
    outer_level: float
    outer_adjusted_at_smallest: tuple[float, float]
    limits: dict[str, list[float]]  # "e" and the LIMIT_COLUMNS tags, one value per grid point
    practices: dict[str, int] = field(default_factory=dict)  # practice_agb -> position in e, y, z_*

    def grid(self) -> list[float]:
        return self.limits["e"]

    def curves(self) -> dict[str, list[float]]:
        return self.limits

    def y_range(self) -> tuple[float, float]:
        """Axis range: the outer adjusted limits at the smallest practice and the bulk of
        the points; far outliers are drawn on the edge."""
        lo_outer, hi_outer = self.outer_adjusted_at_smallest
        ys = sorted(self.y)
        q_lo = ys[int(0.005 * (len(ys) - 1))]
        q_hi = ys[int(math.ceil(0.995 * (len(ys) - 1)))]
        lo = max(0.0, min(lo_outer, q_lo) - 10)
        hi = min(max(hi_outer, q_hi) + 10, 400.0)
        return math.floor(lo / 10) * 10, math.ceil(hi / 10) * 10

    def zone(self, z: float) -> str:
        inner, outer = level_label(self.inner_level), level_label(self.outer_level)
        if z > self.outer_z:
            return f"boven de {outer} %-grens"
        if z > self.inner_z:
            return f"boven de {inner} %-grens"
        if z < -self.outer_z:
            return f"onder de {outer} %-grens"
        if z < -self.inner_z:
            return f"onder de {inner} %-grens"
        return f"binnen de {inner} %-grenzen"

    def where(self, practice_agb: str) -> dict[str, object] | None:
        """Where a practice lies: against the adjusted limits and against chance alone.

        None for a practice with an index that is not a point of the plot: its standard
        error is 0 (every reference cell of its episodes without variance), so no z exists.
        """
        i = self.practices.get(practice_agb)
        if i is None:
            return None
        z, z_plain = self.z_adjusted[i], self.z_plain[i]
        return {"z": z, "zone": self.zone(z), "zone_plain": self.zone(z_plain), "z_plain": z_plain}

    def outside(self) -> dict[str, int]:
        """How many practices lie outside the inner and outer limits, adjusted and plain."""
        return {
            "95": sum(abs(z) > self.inner_z for z in self.z_adjusted),
            "998": sum(abs(z) > self.outer_z for z in self.z_adjusted),
            "95_plain": sum(abs(z) > self.inner_z for z in self.z_plain),
            "998_plain": sum(abs(z) > self.outer_z for z in self.z_plain),
        }
