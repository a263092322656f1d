"""Why a practice's index moved since the previous version (method.md §10), and what a
release says about its period (§9 exclusion windows, §11 cancelled versions), in the
words and whole numbers a report shows.

The figures come from the release folder only: ``index_movement.csv`` (full precision;
own + case mix + reference = bi_to − bi_from) and ``release.json``
(``exclusion_windows``, ``cancelled_before``), both written before the reports.
"""

from __future__ import annotations

import csv
import functools
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestration.core.seeds import previous_period
from reports import labels as L

MOVEMENT_FILE = "index_movement.csv"

# the three parts of §10, in the order the sentence and the waterfall name them
OWN = "door uw eigen aantal behandelingen per traject"
CASE_MIX = "door uw patiëntenmix"
BAR_LABELS = (["eigen aantal", "behandelingen", "per traject"], ["patiëntenmix"], ["landelijk", "niveau"])
HOVER_LABELS = ("eigen aantal behandelingen per traject", "patiëntenmix", "landelijk niveau")


@dataclass(frozen=True)
class Movement:
    from_period: str
    bi_from: float
    bi_to: float
    own: float
    case_mix: float
    reference: float


@functools.lru_cache(maxsize=8)
def _movements(path: str, mtime_ns: int, size: int) -> dict[tuple[str, str], Movement]:
    """(discipline, practice_agb) -> its row of a release's index_movement.csv, read once per file."""
    with open(path, newline="", encoding="utf-8") as f:
        return {
            (r["discipline"], r["practice_agb"]): Movement(
                r["from_period"],
                float(r["bi_from"]),
                float(r["bi_to"]),
                float(r["own_points"]),
                float(r["case_mix_points"]),
                float(r["reference_points"]),
            )
            for r in csv.DictReader(f)
        }


def read_movements(release_dir: Path) -> dict[tuple[str, str], Movement] | None:
    """The release's movement rows; None for a release without the file (published before
    method version 2), an empty dict for one whose file has only its header."""
    path = Path(release_dir) / MOVEMENT_FILE
    try:
        stat = path.stat()
    except OSError:
        return None
    return _movements(str(path), stat.st_mtime_ns, stat.st_size)


# -- whole points that add up ------------------------------------------------------------
def shown_points(bi_from: float, bi_to: float, parts: list[float]) -> tuple[int, int, list[int]]:
    """The two indexes and the three parts in the whole points the report shows, such that
    the shown parts always add up to the shown change.

    The decision: the report shows every index in whole points, rounded half up (the
    headline, the history table), so the change it states is the difference of those two
    whole numbers, ``round(bi_to) − round(bi_from)``, never a rounded difference that could
    disagree with them. The parts are rounded half up (labels.round_half_up) and, when
    their sum misses that change (rounding three parts can be off by up to 2), the part
    that rounding moved farthest the other way is moved one point towards the change, one
    point at a time (largest remainder). Every part so stays the whole number just below
    or just above its exact value (never on the other side of 0), and index A + the three
    parts = index B, in the sentence and in the waterfall alike. No decimals are needed.

    Example (method.md §10): 71.429 → 74.766 with +4.72, 0.00, −1.38 shows 71 → 75, a
    change of 4 = +5 + 0 − 1; the rounded exact change (3) would not add up."""
    a, b = L.round_half_up(bi_from), L.round_half_up(bi_to)
    shown = [L.round_half_up(p) for p in parts]
    gap = (b - a) - sum(shown)
    while gap:
        step = 1 if gap > 0 else -1
        i = max(range(len(parts)), key=lambda j: step * (parts[j] - shown[j]))
        shown[i] += step
        gap -= step
    return a, b, shown


def _points(n: int) -> str:
    return f"{L.fmt_int(abs(n))} {'punt' if abs(n) == 1 else 'punten'}"


def _reference_words(shown: int, exact: float) -> str:
    # a national level that rose lowers the index (reference_points < 0), and the other way round
    if shown < 0:
        return "doordat het landelijk niveau steeg"
    if shown > 0:
        return "doordat het landelijk niveau daalde"
    return "doordat het landelijk niveau vrijwel gelijk bleef" if exact else "doordat het landelijk niveau gelijk bleef"


def movement_sentence(m: Movement) -> str:
    """ "Uw index steeg 4 punten sinds 2020 versie 2 (januari–september), van 71 naar 75: +5 door
    uw eigen aantal behandelingen per traject, 0 door uw patiëntenmix, −1 doordat het
    landelijk niveau steeg." (whole points: see shown_points)"""
    a, b, (own, mix, ref) = shown_points(m.bi_from, m.bi_to, [m.own, m.case_mix, m.reference])
    since = L.period_label(m.from_period)
    change = b - a
    if change > 0:
        head = f"Uw index steeg {_points(change)} sinds {since}, van {L.fmt_int(a)} naar {L.fmt_int(b)}"
    elif change < 0:
        head = f"Uw index daalde {_points(change)} sinds {since}, van {L.fmt_int(a)} naar {L.fmt_int(b)}"
    else:
        head = f"Uw index bleef sinds {since} gelijk op {L.fmt_int(b)}"
    return (
        f"{head}: {L.fmt_signed(own)} {OWN}, {L.fmt_signed(mix)} {CASE_MIX}, "
        f"{L.fmt_signed(ref)} {_reference_words(ref, m.reference)}."
    )


def waterfall_data(m: Movement, period: str) -> dict[str, Any]:
    """What the waterfall draws (plotly in the HTML, svg.waterfall in the PDF): index A, the
    three parts as relative bars and index B as the total, all in the shown whole points,
    with their Dutch texts and a value range that makes a few points visible."""
    a, b, parts = shown_points(m.bi_from, m.bi_to, [m.own, m.case_mix, m.reference])
    levels = [a, a + parts[0], a + parts[0] + parts[1], b]
    lo, hi = min(levels), max(levels)
    pad = max(3.0, 0.25 * (hi - lo))
    y0 = max(0, math.floor((lo - pad) / 5) * 5)
    y1 = math.ceil((hi + pad) / 5) * 5
    return {
        "labels": [[L.period_short(m.from_period)], *[list(x) for x in BAR_LABELS], [L.period_short(period)]],
        "measure": ["absolute", "relative", "relative", "relative", "total"],
        "y": [a, *parts, b],
        "text": [L.fmt_int(a), *[L.fmt_signed(p) for p in parts], L.fmt_int(b)],
        "hover": [
            f"{L.period_label(m.from_period)}: index {L.fmt_int(a)}",
            *[f"{name}: {L.fmt_signed(p)}" for name, p in zip(HOVER_LABELS, parts)],
            f"{L.period_label(period)}: index {L.fmt_int(b)}",
        ],
        "yrange": [y0, y1],
        "y0_label": L.fmt_int(y0),
    }


def _no_comparison(release: Any, discipline: str, agb: str, movements: dict | None) -> str:
    """Why a practice without a movement row has no comparison, in one sentence."""
    period = release.period
    previous = previous_period(period)
    cancelled = release.meta.get("cancelled_before") or []
    earlier = [p for p in release.history_periods if L.period_key(p) < L.period_key(period)]
    if cancelled:
        why = f"{L.period_label(cancelled[0]['period'])} is vervallen"
    elif movements is None:
        why = "deze publicatie bevat nog geen uitsplitsing van de verandering"
    elif not earlier:
        why = "dit is de eerste gepubliceerde versie"
    elif previous not in release.history_periods:
        why = f"{L.period_label(previous)} is niet gepubliceerd"
    else:
        h = release.history.get((discipline, agb), {}).get(previous)
        if h is None:
            why = f"uw praktijk had in {L.period_label(previous)} geen declaraties in deze discipline"
        elif h.status != "ok" or h.behandelindex is None:
            why = f"uw praktijk had in {L.period_label(previous)} geen index (minder dan 30 patiënten)"
        else:
            why = f"voor uw praktijk is geen uitsplitsing van de verandering sinds {L.period_label(previous)} berekend"
    return f"Er is geen vergelijking met de vorige versie: {why}."


def movement_context(release: Any, discipline: str, agb: str) -> dict[str, Any]:
    """The section "Waarom uw index veranderde": its sentence and, with a movement row, the
    waterfall's data (``chart``; None without a row)."""
    movements = read_movements(release.release_dir)
    m = (movements or {}).get((discipline, agb))
    if m is None:
        return {"sentence": _no_comparison(release, discipline, agb, movements), "chart": None}
    return {"sentence": movement_sentence(m), "chart": waterfall_data(m, release.period)}


# -- the period: exclusion windows and cancelled versions -----------------------------------
def _reason(text: Any) -> str:
    return str(text or "").strip().rstrip(".").strip()


def window_sentence(window: dict[str, Any]) -> str:
    """ "Behandelingen van 16 maart tot en met 24 mei 2020 tellen niet mee (eerste golf COVID-19
    (week 12 t/m 21))." (method.md §9)"""
    first, last = str(window["first_date"]), str(window["last_date"])
    when = f"op {L.date_label(first)}" if first == last else f"van {L.date_range_label(first, last)}"
    reason = _reason(window.get("reason"))
    return f"Behandelingen {when} tellen niet mee" + (f" ({reason})." if reason else ".")


def cancelled_sentence(cancelled: list[dict[str, Any]]) -> str:
    """ "Versie 1 van 2020 is vervallen: <reden>. Deze versie vergelijkt daarom niet met een
    vorige versie." (method.md §11; empty without cancelled versions)"""
    if not cancelled:
        return ""
    parts = []
    for c in cancelled:
        year, version = L.period_key(str(c["period"]))
        reason = _reason(c.get("reason"))
        parts.append(f"Versie {version} van {year} is vervallen" + (f": {reason}." if reason else "."))
    return " ".join(parts) + " Deze versie vergelijkt daarom niet met een vorige versie."


def period_notes(meta: dict[str, Any]) -> dict[str, Any]:
    """What the top of every report (and the national overview) of the period says about it:
    one sentence per exclusion window and one paragraph on the cancelled versions before it."""
    return {
        "windows": [window_sentence(w) for w in meta.get("exclusion_windows") or []],
        "cancelled": cancelled_sentence(meta.get("cancelled_before") or []),
    }
