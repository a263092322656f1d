"""Funnel plot statistics: control limits around the national level 100.

Standard error per practice. The release gives each ok practice its expected sessions
E_p, its index and its interval; the method's standard error follows exactly from the
interval's upper bound (the lower bound is floored at 0, the upper one is not):

    SE_p = (ci_upper_p - BI_p) / 1.959964

Limits as a function of E. The method has SE_p = 100 * sqrt(sum V_t) / E_p. If a
practice's episodes have, on average, variance-to-mean ratio d (= sum V_t / E_p), then
SE_p = 100 * sqrt(d) / sqrt(E_p) = k / sqrt(E_p). So the natural curve is k / sqrt(E)
with one constant k. We fit k as the **median** of SE_p * sqrt(E_p) over the ok
practices of the discipline: one number, robust against the few practices whose case
mix has an unusual variance-to-mean ratio, and (unlike interpolating neighbours) a
smooth funnel that does not wiggle with the chance placement of practices. The spread
of SE_p * sqrt(E_p) around k is small because d is a national property of the cells.

Overdispersion (Spiegelhalter 2005, "Funnel plots for comparing institutional
performance", Stat Med 24:1185-1202). With thousands of practices, true differences
between practices (not only chance) make many more points fall outside the limits than
the 5 % / 0.2 % that chance alone explains. Following the paper:

    z_p   = (BI_p - 100) / SE_p
    z_p winsorised at the 10th and 90th percentiles (so real outliers do not inflate it)
    phi   = mean(z_w^2)                           the overdispersion factor
    tau^2 = max(0, (n*phi - (n-1)) / (sum w - sum w^2 / sum w)),  w_p = 1 / SE_p^2

tau^2 is the DerSimonian-Laird style additive between-practice variance. We use the
**additive** model for the adjusted limits, 100 +/- z * sqrt(SE(E)^2 + tau^2), because
the multiplicative one (sqrt(phi) * SE) narrows with E just like the plain limits and so
still flags large practices for differences that are clinically small; the paper
recommends the additive random-effects model for this reason. phi is shown alongside.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

Z95 = 1.959964
Z998 = 3.090232


@dataclass
class Funnel:
    e: list[float]              # expected sessions of the ok practices
    y: list[float]              # their indexes
    se: list[float]             # their standard errors
    k: float
    phi: float
    tau2: float
    n: int

    def se_at(self, e: float) -> float:
        return self.k / math.sqrt(e)

    def limit(self, e: float, z: float, adjusted: bool) -> tuple[float, float]:
        s = self.se_at(e)
        half = z * (math.sqrt(s * s + self.tau2) if adjusted else s)
        return max(0.0, 100 - half), 100 + half

    def grid(self, points: int = 90) -> list[float]:
        lo = max(min(self.e) * 0.8, 1.0)
        hi = max(self.e) * 1.25
        if hi <= lo:
            hi = lo * 2
        step = (math.log(hi) - math.log(lo)) / (points - 1)
        return [math.exp(math.log(lo) + i * step) for i in range(points)]

    def curves(self, points: int = 90) -> dict[str, list[float]]:
        g = self.grid(points)
        out: dict[str, list[float]] = {"e": g}
        for name, z in (("95", Z95), ("998", Z998)):
            for adj in (False, True):
                tag = name + ("_adj" if adj else "")
                lims = [self.limit(e, z, adj) for e in g]
                out[tag + "_lo"] = [a for a, _ in lims]
                out[tag + "_hi"] = [b for _, b in lims]
        return out

    def y_range(self) -> tuple[float, float]:
        """Axis range: the 99.8 % adjusted limits at the smallest practice and the bulk of
        the points; far outliers are drawn on the edge."""
        e0 = min(self.e)
        lo998, hi998 = self.limit(e0, Z998, True)
        ys = sorted(self.y)
        q_lo = ys[int(0.005 * (len(ys) - 1))]
        q_hi = ys[int(math.ceil(0.995 * (len(ys) - 1)))]
        lo = max(0.0, min(lo998, q_lo) - 10)
        hi = min(max(hi998, q_hi) + 10, 400.0)
        return math.floor(lo / 10) * 10, math.ceil(hi / 10) * 10

    def classify(self, y: float, se: float) -> dict[str, object]:
        """Where a practice lies, judged with its own SE and the adjusted limits."""
        z = (y - 100) / math.sqrt(se * se + self.tau2) if se > 0 or self.tau2 > 0 else 0.0
        z_plain = (y - 100) / se if se > 0 else 0.0
        def zone(v: float) -> str:
            if v > Z998:
                return "boven de 99,8 %-grens"
            if v > Z95:
                return "boven de 95 %-grens"
            if v < -Z998:
                return "onder de 99,8 %-grens"
            if v < -Z95:
                return "onder de 95 %-grens"
            return "binnen de 95 %-grenzen"
        return {"z": z, "zone": zone(z), "zone_plain": zone(z_plain), "z_plain": z_plain}


def _quantile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return 0.0
    pos = q * (len(sorted_values) - 1)
    lo = math.floor(pos)
    hi = math.ceil(pos)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def fit(expected: list[float], index: list[float], ci_upper: list[float]) -> Funnel:
    e, y, se = [], [], []
    for ex, bi, up in zip(expected, index, ci_upper):
        if ex and ex > 0 and bi is not None and up is not None:
            s = (up - bi) / Z95
            if s > 0:
                e.append(ex)
                y.append(bi)
                se.append(s)
    if not e:  # nothing to fit: a degenerate funnel
        return Funnel(list(expected) or [1.0], list(index) or [100.0], [0.0] * max(len(expected), 1), 0.0, 1.0, 0.0,
                      0)
    scaled = sorted(s * math.sqrt(x) for s, x in zip(se, e))
    k = _quantile(scaled, 0.5)
    z = [(yy - 100) / s for yy, s in zip(y, se)]
    zs = sorted(z)
    lo, hi = _quantile(zs, 0.10), _quantile(zs, 0.90)
    zw = [min(max(v, lo), hi) for v in z]
    n = len(zw)
    phi = sum(v * v for v in zw) / n
    w = [1 / (s * s) for s in se]
    sw = sum(w)
    denom = sw - sum(v * v for v in w) / sw
    tau2 = max(0.0, (n * phi - (n - 1)) / denom) if denom > 0 and n > 1 else 0.0
    return Funnel(e, y, se, k, phi, tau2, n)
