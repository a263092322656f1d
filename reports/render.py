"""Rendering the spiegelinformatie of a release: HTML for every practice, PDF for print.

Flow (``render_release_reports``):

1. read the release, its history and the period's marts once, and build one small
   context per practice (suppression applied there, in ``reports.data``);
2. write the shared assets once per release: ``reports/plotly.min.js`` (plotly's own
   bundled file), ``reports/spiegel.js`` + ``spiegel.css`` (draws the charts from the JSON
   in each page) and ``reports/<discipline>/_funnel.js`` (the anonymous cloud of the
   funnel plot, the same for every practice of a discipline);
3. fork ``workers`` processes; each writes the interactive HTML of its share of the
   practices, then starts **one** headless Chromium and prints the print version of each
   (inline SVG charts, no scripts) with ``Page.printToPDF``.

So a report costs one Jinja render for the HTML and one Jinja render plus one print for
the PDF; no browser is ever started per chart or per report.
"""

from __future__ import annotations

import json
import math
import multiprocessing as mp
import shutil
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from reports import data as D
from reports import labels as L
from reports import svg
from reports.browser import Chromium, find_chromium
from reports.context import chart_data, funnel_payload, level_labels, practice_context, print_charts
from reports.movement import period_notes

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"


@dataclass
class ReportSummary:
    html_count: int
    pdf_count: int
    seconds_html: float
    seconds_pdf: float
    seconds_per_pdf: float


def _env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["int"] = L.fmt_int
    env.filters["dec"] = L.fmt_dec
    env.filters["pct"] = L.fmt_pct
    env.globals["inline_css"] = (STATIC / "spiegel.css").read_text(encoding="utf-8")
    return env


# -- shared assets ----------------------------------------------------------------------
def plotly_js_path() -> Path:
    import plotly

    path = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    if not path.is_file():
        raise FileNotFoundError(f"plotly's bundled plotly.min.js is missing at {path}")
    return path


def write_shared_assets(reports_dir: Path, release: D.Release) -> None:
    reports_dir.mkdir(parents=True, exist_ok=True)
    target = reports_dir / "plotly.min.js"
    if not target.exists():
        shutil.copyfile(plotly_js_path(), target)
    for name in ("spiegel.js", "spiegel.css"):
        shutil.copyfile(STATIC / name, reports_dir / name)
    for discipline, fn in release.funnels.items():
        folder = reports_dir / discipline
        folder.mkdir(parents=True, exist_ok=True)
        payload = funnel_payload(fn)
        (folder / "_funnel.js").write_text(
            "window.SPIEGEL_FUNNEL = " + json.dumps(payload, separators=(",", ":")) + ";\n", encoding="utf-8"
        )


# -- workers -----------------------------------------------------------------------------
_JOB: dict[str, Any] = {}  # set before forking; the workers inherit it


def _render_share(worker: int, contexts: list[dict[str, Any]], queue) -> None:
    try:
        result = _render_contexts(worker, contexts, queue)
        queue.put(("done", worker, result))
    except BaseException:
        queue.put(("error", worker, traceback.format_exc()))


def _render_contexts(worker: int, contexts: list[dict[str, Any]], queue) -> dict[str, Any]:
    env = _env()
    page = env.get_template("report.html.j2")
    reports_dir: Path = _JOB["reports_dir"]
    t0 = time.monotonic()
    for i, ctx in enumerate(contexts):
        folder = reports_dir / ctx["discipline"]
        html = page.render(
            **ctx,
            print=False,
            charts={},
            data_json=_json_for_script(chart_data(ctx)),
            asset_prefix="../",
            footer_css="",
        )
        (folder / f"{ctx['agb']}.html").write_text(html, encoding="utf-8")
        if queue is not None and (i + 1) % 250 == 0:
            queue.put(("progress", worker, f"html {i + 1}/{len(contexts)}"))
    t_html = time.monotonic() - t0
    pdfs = 0
    t_pdf = 0.0
    if _JOB["pdf"] and contexts:
        t1 = time.monotonic()
        scratch = Path(tempfile.mkdtemp(prefix=f"spiegel-print-{worker}-"))
        try:
            with Chromium(_JOB["chromium"], print_only=True) as browser:
                base = scratch / "page.html"  # the page every report is written into (file:// images resolve)
                base.write_text("<!doctype html><title>Spiegel</title>", encoding="utf-8")
                for i, ctx in enumerate(contexts):
                    fn = _JOB["funnels"][ctx["discipline"]]
                    charts = print_charts(ctx, fn, _JOB["backgrounds"].get(ctx["discipline"]))
                    html = page.render(
                        **ctx, print=True, charts=charts, data_json="", asset_prefix="", footer_css=_footer_css(ctx)
                    )
                    browser.print_html(html, base.as_uri(), reports_dir / ctx["discipline"] / f"{ctx['agb']}.pdf")
                    pdfs += 1
                    if queue is not None and (i + 1) % 100 == 0:
                        queue.put(("progress", worker, f"pdf {i + 1}/{len(contexts)}"))
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        t_pdf = time.monotonic() - t1
    return {"html": len(contexts), "pdf": pdfs, "t_html": t_html, "t_pdf": t_pdf}


def _footer_css(ctx: dict[str, Any]) -> str:
    """Page footer as CSS page-margin boxes (Chromium's own header/footer templates cost
    ~0.07 s more per PDF, measured)."""
    h = ctx["h"]
    text = f"Spiegelinformatie {ctx['discipline_label'].lower()} · AGB {ctx['agb']} · {h['page_footer']}".replace(
        "\\", ""
    ).replace('"', "")
    box = "font-family: 'Liberation Sans', 'DejaVu Sans', Arial, sans-serif; font-size: 7pt; color: #6b7682;"
    return (
        f'@page {{ @bottom-left {{ content: "{text}"; {box} }} '
        f'@bottom-right {{ content: "pagina " counter(page) " van " counter(pages); {box} }} }}'
    )


def _json_for_script(obj: Any) -> str:
    # safe inside <script type="application/json">: no "</" can close the element
    return json.dumps(obj, separators=(",", ":"), allow_nan=False).replace("</", "<\\/")


def render_release_reports(
    release_dir: Path,
    warehouse: Path,
    releases_root: Path,
    practices: list[tuple[str, str]] | None = None,
    pdf: bool = True,
    workers: int = 2,
    progress: Callable[[str], None] | None = None,
    marts: D.Marts | None = None,
) -> ReportSummary:
    """Write ``release_dir/reports/<discipline>/<practice_agb>.html`` (and ``.pdf``) for every
    status-ok practice of the release, or for the given (discipline, practice_agb) pairs
    among them. Practices without an index (status not ok) never get a report.

    The figures come from ``marts`` when given (read by the caller, e.g. under the
    warehouse lock), else from ``warehouse``."""
    say = progress or (lambda _m: None)
    release_dir, warehouse, releases_root = Path(release_dir), Path(warehouse), Path(releases_root)
    chromium = find_chromium() if pdf else None  # fail before any work when Chromium is missing
    release = D.load_release(release_dir, releases_root)
    ok_rows = [r for r in release.index if r.status == "ok" and r.behandelindex is not None]
    if practices is not None:
        wanted = {(d, str(a)) for d, a in practices}
        ok_rows = [r for r in ok_rows if (r.discipline, r.practice_agb) in wanted]
    keys = {(r.discipline, r.practice_agb) for r in ok_rows}
    if marts is None:
        marts = D.load_marts(warehouse, release.period, keys)
    D.attach_marts(release, marts)
    contexts = [practice_context(release, marts, r) for r in ok_rows]
    reports_dir = release_dir / "reports"
    write_shared_assets(reports_dir, release)
    for discipline in {c["discipline"] for c in contexts}:
        (reports_dir / discipline).mkdir(parents=True, exist_ok=True)
    say(f"reports: {len(contexts)} practices, {workers} worker(s), pdf={'yes' if pdf else 'no'}")
    if not contexts:
        return ReportSummary(0, 0, 0.0, 0.0, 0.0)

    scratch = Path(tempfile.mkdtemp(prefix="spiegel-reports-"))
    try:
        backgrounds = _funnel_backgrounds(release, scratch, chromium) if pdf else {}
        _JOB.clear()
        _JOB.update(
            reports_dir=reports_dir, pdf=pdf, chromium=chromium, funnels=release.funnels, backgrounds=backgrounds
        )
        n = max(1, min(workers, math.ceil(len(contexts) / 10)))
        shares = [contexts[i::n] for i in range(n)]
        if n == 1:
            results = [_render_contexts(0, shares[0], None)]
        else:
            results = _run_forked(shares, say)
    finally:
        _JOB.clear()
        shutil.rmtree(scratch, ignore_errors=True)
    html_count = sum(r["html"] for r in results)
    pdf_count = sum(r["pdf"] for r in results)
    seconds_html = max(r["t_html"] for r in results)  # workers run side by side: wall time
    seconds_pdf = max(r["t_pdf"] for r in results)
    summary = ReportSummary(
        html_count, pdf_count, seconds_html, seconds_pdf, seconds_pdf / pdf_count if pdf_count else 0.0
    )
    say(
        f"reports: {html_count} HTML in {seconds_html:.1f} s, {pdf_count} PDF in {seconds_pdf:.1f} s "
        f"({summary.seconds_per_pdf:.3f} s per PDF)"
    )
    return summary


def _funnel_backgrounds(release: D.Release, scratch: Path, chromium: str) -> dict[str, str]:
    """discipline -> file:// URI of a JPEG of its funnel's cloud of practices, taken once
    here for every PDF worker (whose print-only browsers cannot take screenshots)."""
    backgrounds = {}
    if not release.funnels:
        return backgrounds
    with Chromium(chromium) as browser:
        for discipline, fn in release.funnels.items():
            source = scratch / f"funnel-{discipline}.svg"
            source.write_text(svg.funnel_background(fn), encoding="utf-8")
            image = scratch / f"funnel-{discipline}.jpg"
            image.write_bytes(browser.screenshot(source.as_uri(), svg.FunnelFrame.W, svg.FunnelFrame.H))
            backgrounds[discipline] = image.as_uri()
    return backgrounds


def _run_forked(shares: list[list[dict[str, Any]]], say: Callable[[str], None]) -> list[dict[str, Any]]:
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_render_share, args=(i, share, queue), daemon=True) for i, share in enumerate(shares)]
    for p in procs:
        p.start()
    results: dict[int, dict[str, Any]] = {}
    error = None
    try:
        while len(results) < len(procs) and error is None:
            try:
                kind, worker, payload = queue.get(timeout=5)
            except Exception:
                dead = [p for i, p in enumerate(procs) if i not in results and not p.is_alive() and p.exitcode]
                if dead:
                    error = f"a report worker died (exit code {dead[0].exitcode})"
                continue
            if kind == "done":
                results[worker] = payload
            elif kind == "error":
                error = payload
            else:
                say(f"reports: worker {worker}: {payload}")
    finally:
        if error is not None:
            for p in procs:
                if p.is_alive():
                    p.terminate()
        for p in procs:
            p.join()
    if error is not None:
        raise RuntimeError(f"rendering the reports failed:\n{error}")
    return [results[i] for i in sorted(results)]


# -- national overview ----------------------------------------------------------------------
def render_national_overview(
    release_dir: Path, warehouse: Path, releases_root: Path, out_dir: Path, marts: D.Marts | None = None
) -> Path:
    release_dir, out_dir = Path(release_dir), Path(out_dir)
    release = D.load_release(release_dir, Path(releases_root))
    if marts is None:
        marts = D.load_marts(Path(warehouse), release.period, set())
    D.attach_marts(release, marts)
    out_dir.mkdir(parents=True, exist_ok=True)
    if not (out_dir / "plotly.min.js").exists():
        shutil.copyfile(plotly_js_path(), out_dir / "plotly.min.js")
    for name in ("spiegel.js", "spiegel.css"):
        shutil.copyfile(STATIC / name, out_dir / name)
    excluded = []
    path = release_dir / "excluded_lines.csv"
    if path.is_file():
        import csv

        with open(path, newline="", encoding="utf-8") as f:
            for r in csv.DictReader(f):
                excluded.append(
                    {
                        "insurer": L.insurer_names([r["insurer_id"]])[0],
                        "reason": L.exclusion_reason_label(r["reason"]),
                        "lines": L.fmt_int(float(r["lines"] or 0)),
                        "paid": L.fmt_dec(float(r["paid_amount"] or 0), 2),
                    }
                )
    disciplines = []
    for d in L.DISCIPLINES:
        if d not in release.national:
            continue
        nat = release.national[d]
        fn = release.funnels.get(d)
        entry = {
            "discipline": d,
            "label": L.DISCIPLINE_LABEL[d],
            "nat": nat,
            "statuses": sorted(nat["statuses"].items()),
            "funnel": None,
        }  # a discipline without any practice with an index has no funnel
        if fn is not None:
            entry.update(
                funnel=funnel_payload(fn),
                outside=fn.outside(),
                k=L.fmt_dec(fn.k, 0),
                phi=L.fmt_dec(fn.phi, 2),
                tau=L.fmt_dec(math.sqrt(fn.tau2), 1),
                **level_labels(fn),
            )
        disciplines.append(entry)
    months = sorted({m for _, m, *_ in marts.monthly})
    insurers = sorted({i for i, *_ in marts.monthly})
    monthly = {
        "months": months,
        "series": [
            {
                "name": L.insurer_names([i])[0],
                "sessions": [
                    next((cs for ii, mm, _, cs, _ in marts.monthly if ii == i and mm == m), None) for m in months
                ],
            }
            for i in insurers
        ],
    }
    monthly_table = [
        {"insurer": s["name"], "values": [L.fmt_int(v) if v is not None else "–" for v in s["sessions"]]}
        for s in monthly["series"]
    ]
    data = {
        "disciplines": [
            {
                "label": e["label"],
                "funnel": e.get("funnel"),
                "index": [
                    r.behandelindex for r in release.index if r.discipline == e["discipline"] and r.status == "ok"
                ],
            }
            for e in disciplines
        ],
        "monthly": monthly,
    }
    html = (
        _env()
        .get_template("overview.html.j2")
        .render(
            h=release.header,
            notes=period_notes(release.meta),
            disciplines=disciplines,
            excluded=excluded,
            months=months,
            monthly_table=monthly_table,
            gates_verdict=L.verdict_label((release.meta.get("gates") or {}).get("verdict")),
            data_json=_json_for_script(data),
        )
    )
    target = out_dir / "national_overview.html"
    target.write_text(html, encoding="utf-8")
    return target
