"""What one practice's report shows: its context (the index, the funnel, the case mix, the
drivers, the history) cut from a release's figures, and the chart data of its HTML and
its print version."""

from __future__ import annotations

import csv
import functools
import math
from pathlib import Path
from typing import Any

from reports import data as D
from reports import labels as L
from reports import svg
from reports.funnel import Funnel, level_label
from reports.movement import movement_context, period_notes


# -- contexts ----------------------------------------------------------------------------
@functools.lru_cache(maxsize=8)
def _practice_names(path: str, mtime_ns: int, size: int) -> dict[str, tuple[str, str]]:
    """practice_agb -> (practice_name, place) of a release's practices.csv, read once per file."""
    with open(path, newline="", encoding="utf-8") as f:
        return {r["practice_agb"]: (r["practice_name"], r["place"]) for r in csv.DictReader(f) if r["practice_name"]}


PRACTICES_FILE = "practices.csv"  # the release's practices by name and place (docs/register-contract.md)


def practice_identity(release_dir: Path, agb: str) -> dict[str, str]:
    """How the report greets the practice: "Fysiotherapie De Linde, Utrecht (AGB 04112615)"
    by the release's practices.csv, or "Praktijk met AGB-code 04112615" for a practice the
    register does not know (or a release without the file)."""
    path = Path(release_dir) / PRACTICES_FILE
    try:
        stat = path.stat()
        name, place = _practice_names(str(path), stat.st_mtime_ns, stat.st_size).get(agb, ("", ""))
    except OSError:
        name, place = "", ""
    label = f"{name}, {place}" if name and place else name
    greeting = f"{label} (AGB {agb})" if label else f"Praktijk met AGB-code {agb}"
    return {"practice_name": name, "practice_place": place, "practice_label": label, "greeting": greeting}


def _signed_pct(bi: float) -> str:
    diff = L.round_half_up(bi) - 100
    if diff == 0:
        return "precies het landelijk niveau"
    return f"{abs(diff)}\u00a0% {'meer' if diff > 0 else 'minder'} behandelingen dan verwacht"


def practice_context(release: D.Release, marts: D.Marts, row: D.IndexRow) -> dict[str, Any]:
    key = (row.discipline, row.practice_agb)
    nat = release.national[row.discipline]
    fn: Funnel = release.funnels[row.discipline]
    bi, lo, hi, corr = row.behandelindex, row.ci_lower, row.ci_upper, row.corrected_index
    where = fn.where(row.practice_agb)
    if corr > 100 and L.round_half_up(corr) >= 100:
        verdict = (
            "Ook de ondergrens van het interval ligt boven 100: uw praktijk geeft meer behandelingen "
            "per traject dan landelijk gebruikelijk is voor uw patiëntenmix, en dat verschil is niet "
            "door toeval te verklaren."
        )
        tone = "high"
    elif hi < 100:
        verdict = (
            "Ook de bovengrens van het interval ligt onder 100: uw praktijk geeft minder behandelingen "
            "per traject dan landelijk gebruikelijk is voor uw patiëntenmix, en dat verschil is niet "
            "door toeval te verklaren."
        )
        tone = "low"
    else:
        verdict = "Het interval omvat 100: het verschil met het landelijk niveau valt binnen wat toeval kan verklaren."
        tone = "neutral"
    therapists = marts.therapists.get(key)
    hist = []
    for p in release.history_periods:
        h = release.history.get(key, {}).get(p)
        ok = h is not None and h.status == "ok" and h.behandelindex is not None
        hist.append(
            {
                "period": p,
                "label": L.period_short(p),
                "long_label": L.period_label(p),
                "current": p == release.period,
                "bi": h.behandelindex if ok else None,
                "lo": h.ci_lower if ok else None,
                "hi": h.ci_upper if ok else None,
                "corrected": h.corrected_index if ok else None,
                "patients": h.patients if h is not None else None,
                "note": ""
                if ok
                else (
                    "minder dan 30 patiënten: geen index" if h is not None else "geen declaraties in deze discipline"
                ),
            }
        )
    casemix = D.casemix_context(marts.casemix.get(key, []), marts.national_casemix.get(row.discipline, {}))
    drivers = D.drivers_context(marts.drivers.get(key, []))
    spe = row.sessions / row.episodes if row.episodes else None
    return {
        "agb": row.practice_agb,
        **practice_identity(release.release_dir, row.practice_agb),
        "discipline": row.discipline,
        "discipline_label": L.DISCIPLINE_LABEL.get(row.discipline, row.discipline.title()),
        "h": release.header,
        "row": row,
        "bi": bi,
        "lo": lo,
        "hi": hi,
        "corrected": corr,
        "bi_label": L.fmt_int(bi),
        "lo_label": L.fmt_int(lo),
        "hi_label": L.fmt_int(hi),
        "corrected_label": L.fmt_int(corr),
        "difference_text": _signed_pct(bi),
        "verdict": verdict,
        "tone": tone,
        "where": where,
        "key_figures": [
            {
                "label": "Patiënten",
                "practice": L.fmt_int(row.patients),
                "median": L.fmt_int(nat["median_patients"]),
                "national": L.fmt_int(nat["patients"]),
            },
            {
                "label": "Behandeltrajecten",
                "practice": L.fmt_int(row.episodes),
                "median": L.fmt_int(nat["median_episodes"]),
                "national": L.fmt_int(nat["episodes"]),
            },
            {
                "label": "Behandelingen (zittingen)",
                "practice": L.fmt_int(row.sessions),
                "median": L.fmt_int(nat["median_sessions"]),
                "national": L.fmt_int(nat["sessions"]),
            },
            {
                "label": "Behandelingen per traject",
                "practice": L.fmt_dec(spe),
                "median": L.fmt_dec(nat["median_spe"]),
                "national": L.fmt_dec(nat["sessions_per_episode"]),
            },
            {
                "label": "Verwachte behandelingen (uw mix)",
                "practice": L.fmt_int(row.expected_sessions),
                "median": "",
                "national": L.fmt_int(nat["expected_sessions"]),
            },
            {
                "label": "Verwachte behandelingen per traject",
                "practice": L.fmt_dec(row.expected_sessions / row.episodes if row.episodes else None),
                "median": "",
                "national": L.fmt_dec(nat["sessions_per_episode"]),
            },
            {
                "label": "Therapeuten",
                "practice": L.fmt_int(therapists) if therapists is not None else "–",
                "median": L.fmt_int(marts.median_therapists.get(row.discipline)),
                "national": "",
            },
        ],
        "history": hist,
        "movement": movement_context(release, row.discipline, row.practice_agb),
        "notes": period_notes(release.meta),
        "casemix": casemix,
        "drivers": drivers,
        "funnel": {
            "n": fn.n,
            "k": fn.k,
            "phi": fn.phi,
            "tau": math.sqrt(fn.tau2),
            "k_label": L.fmt_dec(fn.k, 0),
            "phi_label": L.fmt_dec(fn.phi, 2),
            "tau_label": L.fmt_dec(math.sqrt(fn.tau2), 1),
            **level_labels(fn),
        },
        "national": nat,
    }


def level_labels(fn: Funnel) -> dict[str, str]:
    """The levels and z of the interval and the limits as the texts say them (95, 99,8;
    1,96, 3,09; the one-sided 97,5), from the marts: no level or z is written in a template."""
    return {
        "inner_pct": level_label(fn.inner_level),
        "outer_pct": level_label(fn.outer_level),
        "inner_z_label": L.fmt_dec(fn.inner_z, 2),
        "outer_z_label": L.fmt_dec(fn.outer_z, 2),
        "one_sided_pct": level_label((1 + fn.inner_level) / 2),
    }


def chart_data(ctx: dict[str, Any]) -> dict[str, Any]:
    """The numbers spiegel.js draws with plotly (suppressed cells arrive as null)."""
    return {
        "agb": ctx["agb"],
        "discipline": ctx["discipline"],
        "index": {"bi": ctx["bi"], "lo": ctx["lo"], "hi": ctx["hi"], "corrected": ctx["corrected"]},
        "practice": {"e": ctx["row"].expected_sessions, "y": ctx["bi"]},
        "history": [{k: p[k] for k in ("label", "bi", "lo", "hi", "corrected")} for p in ctx["history"]],
        "casemix": [
            {
                "title": d["title"],
                "labels": [c["label"] for c in d["cells"]],
                "practice": [c["share"] for c in d["cells"]],
                "national": [c["national_share"] for c in d["cells"]],
            }
            for d in ctx["casemix"]
        ],
        "drivers": [
            {"label": g["label"], "observed": g["observed"], "expected": g["expected"]}
            for g in ctx["drivers"]["groups"][:12]
        ],
        "movement": ctx["movement"]["chart"],  # the waterfall (method.md §10); null without a movement row
    }


def print_charts(ctx: dict[str, Any], fn: Funnel, background: str | None) -> dict[str, str]:
    return {
        "scale": svg.index_scale(ctx["bi"], ctx["lo"], ctx["hi"], ctx["corrected"]),
        "funnel": svg.funnel(
            fn, background, ctx["row"].expected_sessions, ctx["bi"], f"Uw praktijk: {ctx['bi_label']}"
        ),
        "history": svg.history(ctx["history"]),
        "movement": svg.waterfall(ctx["movement"]["chart"]) if ctx["movement"]["chart"] else "",
    }


def funnel_payload(fn: Funnel) -> dict[str, Any]:
    curves = fn.curves()
    return {
        "x": [round(v, 2) for v in fn.e],
        "y": [round(v, 2) for v in fn.y],
        "limits": {k: [round(v, 3) for v in vals] for k, vals in curves.items()},
        "yrange": list(fn.y_range()),
        "n": fn.n,
        "k": fn.k,
        "phi": fn.phi,
        "tau2": fn.tau2,
    }
