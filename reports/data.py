"""Everything a report shows, read once per release and cut into one context per practice.

Sources: the release folder (``behandelindex.csv`` is the authority for every index
number), the warehouse marts of the period (read-only, in a fixed order: the per-practice
breakdowns, the funnel's statistics and the national medians, all computed by dbt) and
the newest revision of earlier periods' releases (history). No patient-level data is read
anywhere: the marts are aggregates per practice, and every breakdown cell below
``MIN_CELL`` episodes is suppressed here, before any template sees it.
"""

from __future__ import annotations

import csv
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from reports.funnel import LIMIT_COLUMNS, Funnel
from reports.labels import (
    _PERIOD,
    DISCIPLINES,
    _category_order,
    category_label,
    chronic_flag,
    date_label,
    fmt_int,
    fmt_pct,
    insurer_names,
    period_key,
    period_label,
    release_label,
    revision_label,
    round_half_up,
)

MIN_CELL = 5  # breakdown cells with fewer episodes are shown as "< 5"
HISTORY_PERIODS = 6  # the period itself and up to five earlier ones
_REVISION = re.compile(r"^r([0-9]+)$")


def _num(text: str) -> float | None:
    return float(text) if text not in ("", None) else None


# -- the release and its history --------------------------------------------------------
@dataclass
class IndexRow:
    period: str
    discipline: str
    practice_agb: str
    status: str
    patients: int
    episodes: int
    sessions: int
    expected_sessions: float
    behandelindex: float | None
    ci_lower: float | None
    ci_upper: float | None
    corrected_index: float | None


def read_index(path: Path) -> list[IndexRow]:
    with open(path, newline="", encoding="utf-8") as f:
        return [
            IndexRow(
                r["period"],
                r["discipline"],
                r["practice_agb"],
                r["status"],
                int(float(r["patients"])),
                int(float(r["episodes"])),
                int(float(r["sessions"])),
                float(r["expected_sessions"] or "nan"),
                _num(r["behandelindex"]),
                _num(r["ci_lower"]),
                _num(r["ci_upper"]),
                _num(r["corrected_index"]),
            )
            for r in csv.DictReader(f)
        ]


def newest_revision(period_dir: Path) -> Path | None:
    """The revision in force: highest r<N>, compared as numbers (r10 > r9)."""
    found = [
        (int(m.group(1)), p)
        for p in period_dir.iterdir()
        if p.is_dir() and (m := _REVISION.match(p.name)) and (p / "behandelindex.csv").is_file()
    ]
    return max(found)[1] if found else None


def history_sources(release_dir: Path, releases_root: Path, period: str) -> list[tuple[str, Path]]:
    """(period, behandelindex.csv) of the ``HISTORY_PERIODS`` most recent periods up to and
    including ``period``, oldest first: this release's own table for its period, the newest
    revision's table for the others."""
    sources = {period: release_dir / "behandelindex.csv"}
    if releases_root.is_dir():
        for p in releases_root.iterdir():
            if p.is_dir() and _PERIOD.match(p.name) and p.name != period and period_key(p.name) < period_key(period):
                rev = newest_revision(p)
                if rev is not None:
                    sources[p.name] = rev / "behandelindex.csv"
    ordered = sorted(sources, key=period_key)[-HISTORY_PERIODS:]
    return [(p, sources[p]) for p in ordered]


@dataclass
class Release:
    release_dir: Path
    meta: dict[str, Any]
    period: str
    index: list[IndexRow]
    history_periods: list[str]
    history: dict[tuple[str, str], dict[str, IndexRow]]  # (discipline, agb) -> period -> row
    national: dict[str, dict[str, Any]] = field(default_factory=dict)
    funnels: dict[str, Funnel] = field(default_factory=dict)  # set by attach_marts

    @property
    def header(self) -> dict[str, Any]:
        m = self.meta
        revision = str(m.get("revision", self.release_dir.name))
        rev_m = _REVISION.match(revision)
        signoff = m.get("signoff") or {}
        release = release_label(self.period, revision)
        published = date_label(m.get("published_at"))
        method_version = m.get("method_version", "–")
        # what a practice reads at the end of its report and on every printed page: the
        # release, when it was published and the method; the code version stays in release.json
        colophon = f"Spiegelinformatie {release} · gepubliceerd op {published} · rekenmethode versie {method_version}"
        if signoff.get("at"):
            colophon += f" · datakwaliteit goedgekeurd op {date_label(signoff.get('at'))}"
        return {
            "period": self.period,
            "period_label": period_label(self.period),
            "revision": revision,
            "revision_label": revision_label(revision) if rev_m else revision,
            "release_label": release,
            "colophon": colophon + ".",
            "page_footer": f"{release} · gepubliceerd op {published}",
            "published_at": m.get("published_at"),
            "published_label": published,
            "method_version": method_version,
            "contract_version": m.get("contract_version", "–"),
            "code_version": m.get("code_version", "–"),
            "insurers": insurer_names([i.get("insurer", "?") for i in m.get("insurers", [])]),
            "signoff_by": signoff.get("by"),
            "signoff_at": date_label(signoff.get("at")),
        }


def load_release(release_dir: Path, releases_root: Path) -> Release:
    meta = json.loads((release_dir / "release.json").read_text(encoding="utf-8"))
    index = read_index(release_dir / "behandelindex.csv")
    period = meta.get("period") or (index[0].period if index else release_dir.parent.name)
    history: dict[tuple[str, str], dict[str, IndexRow]] = {}
    sources = history_sources(release_dir, releases_root, period)
    for p, path in sources:
        rows = index if p == period else read_index(path)
        for row in rows:
            history.setdefault((row.discipline, row.practice_agb), {})[p] = row
    release = Release(release_dir, meta, period, index, [p for p, _ in sources], history)
    for discipline in DISCIPLINES:
        rows = [r for r in index if r.discipline == discipline]
        if not rows:
            continue
        ok = [r for r in rows if r.status == "ok" and r.behandelindex is not None]
        release.national[discipline] = _national_figures(rows, ok)
    return release


def _national_figures(rows: list[IndexRow], ok: list[IndexRow]) -> dict[str, Any]:
    episodes = sum(r.episodes for r in rows)
    sessions = sum(r.sessions for r in rows)
    statuses: dict[str, int] = {}
    for r in rows:
        statuses[r.status] = statuses.get(r.status, 0) + 1
    return {
        "practices": len(rows),
        "practices_ok": len(ok),
        "statuses": statuses,
        "patients": sum(r.patients for r in rows),
        "episodes": episodes,
        "sessions": sessions,
        "expected_sessions": sum(r.expected_sessions for r in rows if not math.isnan(r.expected_sessions)),
        "sessions_per_episode": sessions / episodes if episodes else None,
        # the medians come from marts.fct_national_medians (attach_marts)
        "median_patients": None,
        "median_episodes": None,
        "median_sessions": None,
        "median_spe": None,
        "median_index": None,
    }


def attach_marts(release: Release, marts: Marts) -> None:
    """The national medians and the funnels of the period's marts, for the disciplines in
    which the release has practices with an index."""
    for discipline, nat in release.national.items():
        nat.update(marts.medians.get(discipline, {}))
        if nat["practices_ok"] and discipline in marts.funnels:
            release.funnels[discipline] = marts.funnels[discipline]


# -- the warehouse marts -------------------------------------------------------------
@dataclass
class Marts:
    therapists: dict[tuple[str, str], int]
    median_therapists: dict[str, float | None]
    medians: dict[str, dict[str, float | None]]  # disc -> median_patients, ... median_index
    funnels: dict[str, Funnel]
    casemix: dict[tuple[str, str], list[tuple[str, str, int]]]  # (disc, agb) -> (dimension, category, episodes)
    national_casemix: dict[str, dict[str, dict[str, int]]]  # disc -> dimension -> category -> episodes
    drivers: dict[tuple[str, str], list[tuple[str, bool, int, float, float]]]
    monthly: list[tuple[str, str, int, int, float]]  # insurer, month, lines, sessions, paid


def load_marts(warehouse: Path, period: str, wanted: set[tuple[str, str]] | None) -> Marts:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        therapists: dict[tuple[str, str], int] = {}
        for disc, agb, n in con.execute(
            "select discipline, practice_agb, therapists from marts.fct_practice_profile where period = ?", [period]
        ).fetchall():
            therapists[(disc, str(agb))] = int(n or 0)
        medians: dict[str, dict[str, float | None]] = {}
        median_therapists: dict[str, float | None] = {}
        for disc, pa, ep, se, spe, bi, th in con.execute(
            "select discipline, median_patients, median_episodes, median_sessions, median_sessions_per_episode, "
            "median_behandelindex, median_therapists from marts.fct_national_medians where period = ?",
            [period],
        ).fetchall():
            medians[disc] = {
                "median_patients": pa,
                "median_episodes": ep,
                "median_sessions": se,
                "median_spe": spe,
                "median_index": bi,
            }
            median_therapists[disc] = th
        funnels = _read_funnels(con, period)
        casemix: dict[tuple[str, str], list[tuple[str, str, int]]] = {}
        national: dict[str, dict[str, dict[str, int]]] = {}
        for disc, agb, dim, cat, pe, ne in con.execute(
            "select discipline, practice_agb, dimension, category, practice_episodes, national_episodes "
            "from marts.fct_practice_casemix where period = ? "
            "order by discipline, practice_agb, dimension, category",
            [period],
        ).fetchall():
            cat = str(cat)
            slot = national.setdefault(disc, {}).setdefault(dim, {})
            slot[cat] = max(slot.get(cat, 0), int(ne or 0))
            key = (disc, str(agb))
            if wanted is None or key in wanted:
                casemix.setdefault(key, []).append((dim, cat, int(pe or 0)))
        drivers: dict[tuple[str, str], list[tuple[str, bool, int, float, float]]] = {}
        for disc, agb, region, chronic, ep, obs, exp in con.execute(
            "select discipline, practice_agb, body_region, chronic, episodes, observed_sessions, "
            "expected_sessions from marts.fct_practice_drivers where period = ? "
            "order by discipline, practice_agb, body_region, chronic",
            [period],
        ).fetchall():
            key = (disc, str(agb))
            if wanted is None or key in wanted:
                drivers.setdefault(key, []).append(
                    (str(region), chronic_flag(chronic), int(ep or 0), float(obs or 0), float(exp or 0))
                )
        monthly = [
            (str(i), str(m), int(cl or 0), int(cs or 0), float(pa or 0))
            for i, m, cl, cs, pa in con.execute(
                "select insurer_id, month, claim_lines, counted_sessions, paid_amount "
                "from marts.fct_insurer_monthly_sessions where period = ? order by insurer_id, month",
                [period],
            ).fetchall()
        ]
    finally:
        con.close()
    return Marts(therapists, median_therapists, medians, funnels, casemix, national, drivers, monthly)


def _read_funnels(con: duckdb.DuckDBPyConnection, period: str) -> dict[str, Funnel]:
    """fct_funnel_parameters, fct_funnel_points and fct_funnel_limits of the period, per discipline."""
    points: dict[str, list[tuple]] = {}
    for disc, agb, e, y, zp, za in con.execute(
        "select discipline, practice_agb, expected_sessions, behandelindex, z_plain, z_adjusted "
        "from marts.fct_funnel_points where period = ? order by discipline, practice_agb",
        [period],
    ).fetchall():
        points.setdefault(disc, []).append((str(agb), e, y, zp, za))
    columns = list(LIMIT_COLUMNS.values())
    limits: dict[str, dict[str, list[float]]] = {}
    for disc, e, *values in con.execute(
        f"select discipline, expected_sessions, {', '.join(columns)} from marts.fct_funnel_limits "
        "where period = ? order by discipline, point",
        [period],
    ).fetchall():
        curves = limits.setdefault(disc, {"e": [], **{tag: [] for tag in LIMIT_COLUMNS}})
        curves["e"].append(e)
        for tag, v in zip(LIMIT_COLUMNS, values):
            curves[tag].append(v)
    funnels: dict[str, Funnel] = {}
    for disc, n, k, phi, tau2, inner_z, outer_z, inner_level, outer_level, lo, hi in con.execute(
        "select discipline, practices, k, phi, tau2, inner_z, outer_z, inner_level, outer_level, "
        "outer_adjusted_lower_at_smallest, outer_adjusted_upper_at_smallest "
        "from marts.fct_funnel_parameters where period = ?",
        [period],
    ).fetchall():
        rows = points.get(disc, [])
        funnels[disc] = Funnel(
            e=[r[1] for r in rows],
            y=[r[2] for r in rows],
            z_plain=[r[3] for r in rows],
            z_adjusted=[r[4] for r in rows],
            k=k,
            phi=phi,
            tau2=tau2,
            n=int(n),
            inner_z=inner_z,
            outer_z=outer_z,
            inner_level=inner_level,
            outer_level=outer_level,
            outer_adjusted_at_smallest=(lo, hi),
            limits=limits.get(disc, {}),
            practices={r[0]: i for i, r in enumerate(rows)},
        )
    return funnels


# -- suppression --------------------------------------------------------------------------
SMALL_REASON = f"minder dan {MIN_CELL} trajecten"  # why a cell is hidden, as the notes say it


def suppress_dimension(cells: list[dict[str, Any]]) -> None:
    """Mark cells with fewer than ``MIN_CELL`` episodes as suppressed ("< 5"). When exactly
    one cell is suppressed (and it is not empty) its number would follow from the practice's total, so the next
    smallest cell is hidden too (secondary suppression). Each hidden cell keeps why:
    ``hidden_because`` is None for a small cell and the label of the small cell whose
    number it protects for a secondary one."""
    for c in cells:
        c["suppressed"] = c["episodes"] < MIN_CELL
        c["secondary"] = False
        c["hidden_because"] = None
    hidden = [c for c in cells if c["suppressed"]]
    shown = sorted((c for c in cells if not c["suppressed"]), key=lambda c: c["episodes"])
    # a lone suppressed cell of 0 episodes gives nothing away; one of 1-4 would
    if len(hidden) == 1 and hidden[0]["episodes"] > 0 and shown:
        shown[0]["suppressed"] = shown[0]["secondary"] = True
        shown[0]["hidden_because"] = hidden[0]["label"]


def _quoted(label: str) -> str:
    return f"‘{label}’"


def _joined(labels: list[str]) -> str:
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " en " + labels[-1]


def suppression_notes(cells: list[dict[str, Any]]) -> list[str]:
    """One plain sentence per reason a cell of the table is hidden, naming the cells: the
    small cells together, then every cell hidden so that a small one cannot be derived."""
    notes = []
    small = [_quoted(c["label"]) for c in cells if c["suppressed"] and not c["secondary"]]
    if small:
        notes.append(
            f"{_joined(small)}: verborgen, want {SMALL_REASON}"
            + (" per groep" if len(small) > 1 else "")
            + "; zo blijft een patiënt onherkenbaar."
        )
    for c in cells:
        if c["secondary"]:
            notes.append(
                f"{_quoted(c['label'])}: verborgen omdat anders het verborgen aantal van "
                f"{_quoted(c['hidden_because'])} uit het totaal af te leiden is."
            )
    return notes


def casemix_context(rows: list[tuple[str, str, int]], national: dict[str, dict[str, int]]) -> list[dict[str, Any]]:
    practice: dict[str, dict[str, int]] = {}
    for dim, cat, n in rows:
        practice.setdefault(dim, {})[cat] = practice.get(dim, {}).get(cat, 0) + n
    out = []
    for dim, title in (
        ("body_region", "Lokalisatie (lichaamsregio, DCSPH)"),
        ("age_band", "Leeftijd"),
        ("sex", "Geslacht"),
        ("chronic", "Chronisch of niet"),
    ):
        nat = national.get(dim, {})
        prac = practice.get(dim, {})
        cats = sorted(set(nat) | set(prac), key=lambda c: _category_order(dim, c))
        p_total = sum(prac.values())
        n_total = sum(nat.values())
        cells = [
            {
                "category": c,
                "label": category_label(dim, c),
                "episodes": prac.get(c, 0),
                "national_share": nat.get(c, 0) / n_total if n_total else None,
            }
            for c in cats
        ]
        if dim == "body_region" and len(cells) > 12:
            # the twelve regions that matter most for this practice or nationally; the rest pooled
            cells.sort(key=lambda c: -max(c["episodes"] / p_total if p_total else 0, c["national_share"] or 0))
            keep, rest = cells[:11], cells[11:]
            keep.sort(key=lambda c: _category_order(dim, c["category"]))
            keep.append(
                {
                    "category": "other",
                    "label": "Overige lokalisaties",
                    "episodes": sum(c["episodes"] for c in rest),
                    "national_share": sum(c["national_share"] or 0 for c in rest),
                }
            )
            cells = keep
        suppress_dimension(cells)
        for c in cells:
            c["share"] = None if c["suppressed"] or not p_total else c["episodes"] / p_total
            c["episodes_label"] = (
                ("< 5" if not c["secondary"] else "verborgen") if c["suppressed"] else fmt_int(c["episodes"])
            )
            c["share_label"] = "–" if c["share"] is None else fmt_pct(c["share"])
            c["national_label"] = fmt_pct(c["national_share"])
            if c["suppressed"]:
                c["episodes"] = None  # the number leaves this function only as "< 5"
        out.append(
            {
                "dimension": dim,
                "title": title,
                "cells": cells,
                "any_secondary": any(c["secondary"] for c in cells),
                "notes": suppression_notes(cells),
            }
        )
    return out


def drivers_context(rows: list[tuple[str, bool, int, float, float]]) -> dict[str, Any]:
    """Observed and expected sessions per body region × chronic group. Groups below
    ``MIN_CELL`` episodes are pooled into "overige groepen"; if that pool is itself below
    ``MIN_CELL``, the smallest remaining groups join it until it is not (else its numbers
    would follow from the total)."""
    groups = [{"region": r, "chronic": c, "episodes": e, "observed": o, "expected": x} for r, c, e, o, x in rows]
    small = [g for g in groups if g["episodes"] < MIN_CELL]
    big = sorted((g for g in groups if g["episodes"] >= MIN_CELL), key=lambda g: g["episodes"])
    while small and sum(g["episodes"] for g in small) < MIN_CELL and big:
        small.append(big.pop(0))
    out = []
    for g in big:
        out.append(
            {
                "label": category_label("body_region", g["region"]) + (", chronisch" if g["chronic"] else ""),
                "episodes": g["episodes"],
                "observed": g["observed"],
                "expected": g["expected"],
                "pooled": False,
            }
        )
    if small:
        n = sum(g["episodes"] for g in small)
        out.append(
            {
                "label": f"Overige groepen ({len(small)} kleine groepen samen)",
                "pooled": True,
                "episodes": n,
                "observed": sum(g["observed"] for g in small),
                "expected": sum(g["expected"] for g in small),
            }
        )
    for g in out:
        g["suppressed"] = g["episodes"] < MIN_CELL
        g["note"] = (
            f"{_quoted(g['label'])}: verborgen, want {SMALL_REASON}; zo blijft een patiënt onherkenbaar."
            if g["suppressed"]
            else None
        )
        g["difference"] = g["observed"] - g["expected"]
        g["ratio"] = 100 * g["observed"] / g["expected"] if g["expected"] else None
    out.sort(key=lambda g: (g["pooled"], -abs(g["difference"])))
    for g in out:
        g["episodes_label"] = "< 5" if g["suppressed"] else fmt_int(g["episodes"])
        for k in ("observed", "expected", "difference"):
            g[k + "_label"] = (
                "–"
                if g["suppressed"]
                else (("+" if k == "difference" and round_half_up(g[k]) > 0 else "") + fmt_int(g[k]))
            )
        g["ratio_label"] = "–" if g["suppressed"] or g["ratio"] is None else fmt_int(g["ratio"])
        if g["suppressed"]:
            g["episodes"] = g["observed"] = g["expected"] = g["difference"] = g["ratio"] = None
    shown = [g for g in out if not g["suppressed"]]
    total_o = sum(g["observed"] for g in shown)
    total_e = sum(g["expected"] for g in shown)
    top_up = max(shown, key=lambda g: g["difference"], default=None)
    top_down = min(shown, key=lambda g: g["difference"], default=None)
    return {
        "groups": out,
        "notes": [g["note"] for g in out if g["note"]],
        "total_observed": total_o,
        "total_expected": total_e,
        "top_up": top_up if top_up and top_up["difference"] > 0.5 else None,
        "top_down": top_down if top_down and top_down["difference"] < -0.5 else None,
    }
