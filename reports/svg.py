"""Static charts for the printed report, as inline SVG built from numbers.

No browser renders a chart on its own: these strings go into the print page that the
one long-lived Chromium turns into the PDF. The funnel's cloud of anonymous practices
is the same for every practice of a discipline, so it is written once per release as an
SVG file (``funnel_background``) that every print page shows under its own limits and
point.
"""

from __future__ import annotations

import math
from html import escape

from reports.funnel import Funnel
from reports.labels import fmt_int, fmt_tick

PRACTICE = "#0b4f8a"
EXPECTED = "#8d99a6"
CORRECTED = "#d9822b"
LIMIT95 = "#2f8f83"
LIMIT998 = "#b54a4a"
GRID = "#e3e7ec"
TEXT = "#2b3440"
FONT = "font-family='Liberation Sans, DejaVu Sans, Arial, sans-serif'"


def _n(v: float) -> str:
    return f"{v:.1f}".rstrip("0").rstrip(".")


def _step(lo: float, hi: float, count: int) -> float:
    raw = max(hi - lo, 1e-9) / count
    mag = 10 ** math.floor(math.log10(raw))
    return next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)


def _tick_labels(lo: float, hi: float, count: int = 5) -> list[tuple[float, str]]:
    """The ticks of a linear axis with their Dutch labels (labels.fmt_tick: 1.000, 2,5)."""
    step = _step(lo, hi, count)
    return [(t, fmt_tick(t, step)) for t in _nice_ticks(lo, hi, count)]


def _nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    step = _step(lo, hi, count)
    start = math.ceil(lo / step) * step
    ticks = []
    t = start
    while t <= hi + 1e-9:
        ticks.append(round(t, 6))
        t += step
    return ticks


# -- funnel -----------------------------------------------------------------------------
class FunnelFrame:
    """Shared geometry of the funnel (log x) so background and overlay line up."""

    W, H = 700, 330
    L, R, T, B = 58, 16, 14, 44

    def __init__(self, fn: Funnel):
        self.fn = fn
        grid = fn.grid()
        self.x0, self.x1 = math.log10(grid[0]), math.log10(grid[-1])
        self.y0, self.y1 = fn.y_range()

    def px(self, e: float) -> float:
        return self.L + (math.log10(e) - self.x0) / (self.x1 - self.x0) * (self.W - self.L - self.R)

    def py(self, y: float) -> float:
        y = min(max(y, self.y0), self.y1)
        return self.T + (self.y1 - y) / (self.y1 - self.y0) * (self.H - self.T - self.B)


def _x_ticks(f: FunnelFrame) -> list[float]:
    lo, hi = 10**f.x0, 10**f.x1
    decade = 10 ** math.floor(f.x0)
    ticks = []
    while decade <= hi:
        for m in (1, 2, 5):
            if lo <= m * decade <= hi:
                ticks.append(m * decade)
        decade *= 10
    return ticks


def _funnel_grid(f: FunnelFrame) -> str:
    out = [
        f"<line x1='{f.L}' x2='{f.W - f.R}' y1='{_n(f.py(t))}' y2='{_n(f.py(t))}' stroke='{GRID}'/>"
        for t in _nice_ticks(f.y0, f.y1, 6)
    ]
    out += [
        f"<line x1='{_n(f.px(v))}' x2='{_n(f.px(v))}' y1='{f.T}' y2='{f.H - f.B}' stroke='{GRID}'/>"
        for v in _x_ticks(f)
    ]
    return "".join(out)


def funnel_background(fn: Funnel) -> str:
    """White plot area, grid and the anonymous practices: one image per discipline (a
    JPEG in the PDFs: embedded as is, where thousands of vector dots would be slow and big)."""
    f = FunnelFrame(fn)
    dots = "".join(f"<circle cx='{_n(f.px(e))}' cy='{_n(f.py(y))}' r='2.1'/>" for e, y in zip(fn.e, fn.y))
    return (
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{f.W}' height='{f.H}' viewBox='0 0 {f.W} {f.H}'>"
        f"<rect width='{f.W}' height='{f.H}' fill='white'/>{_funnel_grid(f)}"
        f"<g fill='#7d8792' fill-opacity='0.55'>{dots}</g></svg>"
    )


def funnel(
    fn: Funnel, background_href: str | None, e_p: float | None = None, y_p: float | None = None, label: str = ""
) -> str:
    f = FunnelFrame(fn)
    W, H, L, R, T, B = f.W, f.H, f.L, f.R, f.T, f.B
    out = [f"<svg class='chart' xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {W} {H}' {FONT} font-size='11'>"]
    if background_href:  # grid and dots come with the shared image
        out.append(f"<image href='{escape(background_href)}' x='0' y='0' width='{W}' height='{H}'/>")
    else:
        out.append(_funnel_grid(f))
    for t, text in _tick_labels(f.y0, f.y1, 6):
        out.append(f"<text x='{L - 6}' y='{_n(f.py(t) + 4)}' text-anchor='end' fill='{TEXT}'>{text}</text>")
    for v in _x_ticks(f):  # log axis: 1-2-5 series
        out.append(
            f"<text x='{_n(f.px(v))}' y='{H - B + 15}' text-anchor='middle' fill='{TEXT}'>{fmt_tick(v, v)}</text>"
        )
    curves = fn.curves()
    for tag, color, dash, width in (
        ("998", LIMIT998, "5 4", 1),
        ("95", LIMIT95, "5 4", 1),
        ("998_adj", LIMIT998, "", 1.8),
        ("95_adj", LIMIT95, "", 1.8),
    ):
        for side in ("lo", "hi"):
            pts = " ".join(f"{_n(f.px(e))},{_n(f.py(v))}" for e, v in zip(curves["e"], curves[f"{tag}_{side}"]))
            out.append(
                f"<polyline points='{pts}' fill='none' stroke='{color}' stroke-width='{width}'"
                + (f" stroke-dasharray='{dash}'" if dash else "")
                + "/>"
            )
    out.append(
        f"<line x1='{L}' x2='{W - R}' y1='{_n(f.py(100))}' y2='{_n(f.py(100))}' stroke='{TEXT}' stroke-width='1.2'/>"
    )
    out.append(f"<rect x='{L}' y='{T}' width='{W - L - R}' height='{H - T - B}' fill='none' stroke='#c5ccd4'/>")
    if e_p is not None and y_p is not None:
        x, y = f.px(e_p), f.py(y_p)
        out.append(f"<circle cx='{_n(x)}' cy='{_n(y)}' r='7' fill='{PRACTICE}' stroke='white' stroke-width='2'/>")
        clipped = y_p > f.y1 or y_p < f.y0
        anchor = "end" if x > W * 0.7 else "start"
        dx = -11 if anchor == "end" else 11
        text = label + (" (buiten de as)" if clipped else "")
        # a white box behind the label, not a white text stroke: a stroked text is printed
        # twice in the PDF, and a reader (or pdftotext) would see the label twice
        width = 6.6 * len(text) + 6
        box_x = x + dx - (width - 3 if anchor == "end" else 3)
        out.append(
            f"<rect x='{_n(box_x)}' y='{_n(y - 21)}' width='{_n(width)}' height='16' rx='3' "
            "fill='white' fill-opacity='0.85'/>"
            f"<text x='{_n(x + dx)}' y='{_n(y - 9)}' text-anchor='{anchor}' font-weight='bold' "
            f"fill='{PRACTICE}'>{escape(text)}</text>"
        )
    out.append(
        f"<text x='{(L + W - R) / 2}' y='{H - 8}' text-anchor='middle' fill='{TEXT}'>"
        "Verwacht aantal behandelingen (logaritmische schaal)</text>"
    )
    out.append(
        f"<text transform='translate(14 {(T + H - B) / 2}) rotate(-90)' text-anchor='middle' "
        f"fill='{TEXT}'>Behandelindex</text></svg>"
    )
    return "".join(out)


# -- the index on its scale ------------------------------------------------------------
def index_scale(bi: float, lo: float, hi: float, corrected: float) -> str:
    W, H, L, R = 700, 78, 20, 20
    top = max(200.0, math.ceil((hi + 10) / 50) * 50)

    def px(v: float) -> float:
        return L + min(max(v, 0), top) / top * (W - L - R)

    out = [f"<svg class='chart scale' xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {W} {H}' {FONT} font-size='11'>"]
    out.append(f"<rect x='{L}' y='30' width='{W - L - R}' height='10' rx='5' fill='#edf1f5'/>")
    for t, text in _tick_labels(0, top, 8):
        out.append(f"<text x='{_n(px(t))}' y='58' text-anchor='middle' fill='#6b7682'>{text}</text>")
    out.append(
        f"<line x1='{_n(px(100))}' x2='{_n(px(100))}' y1='22' y2='48' stroke='{TEXT}' stroke-width='1.5'/>"
        f"<text x='{_n(px(100))}' y='73' text-anchor='middle' fill='{TEXT}' font-weight='bold'>"
        "landelijk = 100</text>"
    )
    out.append(
        f"<rect x='{_n(px(lo))}' y='29' width='{_n(max(px(hi) - px(lo), 2))}' height='12' rx='6' "
        f"fill='{PRACTICE}' fill-opacity='0.28'/>"
    )
    out.append(
        f"<line x1='{_n(px(corrected))}' x2='{_n(px(corrected))}' y1='24' y2='46' stroke='{CORRECTED}' "
        "stroke-width='3'/>"
    )
    out.append(f"<circle cx='{_n(px(bi))}' cy='35' r='7' fill='{PRACTICE}' stroke='white' stroke-width='2'/>")
    out.append(
        f"<text x='{_n(px(bi))}' y='18' text-anchor='middle' fill='{PRACTICE}' font-weight='bold' "
        f"font-size='12'>{fmt_int(bi)}</text></svg>"
    )
    return "".join(out)


# -- history ---------------------------------------------------------------------------
def history(points: list[dict]) -> str:
    """points: label, bi, lo, hi, corrected (None when no index that period)."""
    W, H, L, R, T, B = 700, 210, 50, 16, 14, 34
    vals = [v for p in points for v in (p.get("lo"), p.get("hi"), p.get("bi")) if v is not None] + [100]
    y0 = max(0.0, math.floor((min(vals) - 10) / 10) * 10)
    y1 = math.ceil((max(vals) + 10) / 10) * 10
    n = len(points)

    def px(i: int) -> float:
        return L + (i + 0.5) * (W - L - R) / max(n, 1)

    def py(v: float) -> float:
        return T + (y1 - v) / (y1 - y0) * (H - T - B)

    out = [f"<svg class='chart' xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {W} {H}' {FONT} font-size='11'>"]
    for t, text in _tick_labels(y0, y1, 5):
        out.append(
            f"<line x1='{L}' x2='{W - R}' y1='{_n(py(t))}' y2='{_n(py(t))}' stroke='{GRID}'/>"
            f"<text x='{L - 6}' y='{_n(py(t) + 4)}' text-anchor='end' fill='{TEXT}'>{text}</text>"
        )
    out.append(f"<line x1='{L}' x2='{W - R}' y1='{_n(py(100))}' y2='{_n(py(100))}' stroke='{TEXT}'/>")
    line = [(px(i), py(p["bi"])) for i, p in enumerate(points) if p.get("bi") is not None]
    if len(line) > 1:
        out.append(
            "<polyline points='"
            + " ".join(f"{_n(x)},{_n(y)}" for x, y in line)
            + f"' fill='none' stroke='{PRACTICE}' stroke-width='1.5' stroke-opacity='0.5'/>"
        )
    for i, p in enumerate(points):
        x = px(i)
        out.append(f"<text x='{_n(x)}' y='{H - 12}' text-anchor='middle' fill='{TEXT}'>{escape(p['label'])}</text>")
        if p.get("bi") is None:
            out.append(
                f"<text x='{_n(x)}' y='{_n(py(100) - 8)}' text-anchor='middle' fill='#8a949e' "
                "font-style='italic'>geen index</text>"
            )
            continue
        out.append(
            f"<line x1='{_n(x)}' x2='{_n(x)}' y1='{_n(py(p['hi']))}' y2='{_n(py(p['lo']))}' "
            f"stroke='{PRACTICE}' stroke-width='2' stroke-opacity='0.45'/>"
        )
        out.append(
            f"<rect x='{_n(x - 6)}' y='{_n(py(p['corrected']) - 1.5)}' width='12' height='3' fill='{CORRECTED}'/>"
        )
        out.append(
            f"<circle cx='{_n(x)}' cy='{_n(py(p['bi']))}' r='5.5' fill='{PRACTICE}'/>"
            f"<text x='{_n(x + 9)}' y='{_n(py(p['bi']) + 4)}' fill='{PRACTICE}' font-weight='bold'>"
            f"{fmt_int(p['bi'])}</text>"
        )
    out.append("</svg>")
    return "".join(out)


# -- why the index moved -----------------------------------------------------------------
def waterfall(chart: dict) -> str:
    """The waterfall of method.md §10 (movement.waterfall_data): index A, the three parts as
    steps up (orange) or down (green) and index B, in the whole points the sentence says."""
    W, H, L, R, T, B = 700, 230, 50, 16, 18, 56
    y0, y1 = chart["yrange"]
    n = len(chart["y"])
    slot = (W - L - R) / max(n, 1)
    bar = slot * 0.56

    def py(v: float) -> float:
        return T + (y1 - min(max(v, y0), y1)) / (y1 - y0) * (H - T - B)

    out = [
        f"<svg class='chart waterfall' xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {W} {H}' {FONT} font-size='11'>"
    ]
    for t, text in _tick_labels(y0, y1, 5):
        out.append(
            f"<line x1='{L}' x2='{W - R}' y1='{_n(py(t))}' y2='{_n(py(t))}' stroke='{GRID}'/>"
            f"<text x='{L - 6}' y='{_n(py(t) + 4)}' text-anchor='end' fill='{TEXT}'>{text}</text>"
        )
    out.append(f"<line x1='{L}' x2='{W - R}' y1='{_n(py(y0))}' y2='{_n(py(y0))}' stroke='#c5ccd4'/>")
    level = 0.0
    for i, (measure, value, text, lines) in enumerate(
        zip(chart["measure"], chart["y"], chart["text"], chart["labels"])
    ):
        x = L + i * slot + (slot - bar) / 2
        if measure == "relative":
            start, level = level, level + value
            color = CORRECTED if value > 0 else LIMIT95
        else:  # absolute (index A) or total (index B): a bar from the bottom of the axis
            level = value if measure == "absolute" else level
            start, color = y0, PRACTICE
        top, bottom = py(max(start, level)), py(min(start, level))
        if measure == "relative" and value == 0:
            out.append(
                f"<line x1='{_n(x)}' x2='{_n(x + bar)}' y1='{_n(top)}' y2='{_n(top)}' "
                f"stroke='{EXPECTED}' stroke-width='2'/>"
            )
        else:
            out.append(
                f"<rect x='{_n(x)}' y='{_n(top)}' width='{_n(bar)}' height='{_n(max(bottom - top, 1))}' "
                f"fill='{color}'/>"
            )
        weight = " font-weight='bold'" if measure != "relative" else ""
        out.append(
            f"<text x='{_n(x + bar / 2)}' y='{_n(top - 5)}' text-anchor='middle' fill='{TEXT}'{weight}>"
            f"{escape(text)}</text>"
        )
        if i + 1 < n:  # the connector to the next step, at the level reached
            out.append(
                f"<line x1='{_n(x + bar)}' x2='{_n(x + slot)}' y1='{_n(py(level))}' y2='{_n(py(level))}' "
                f"stroke='{EXPECTED}' stroke-dasharray='3 3'/>"
            )
        label = "".join(
            f"<tspan x='{_n(x + bar / 2)}' dy='{0 if k == 0 else 13}'>{escape(line)}</tspan>"
            for k, line in enumerate(lines)
        )
        out.append(f"<text y='{H - B + 16}' text-anchor='middle' fill='{TEXT}'>{label}</text>")
    out.append("</svg>")
    return "".join(out)
