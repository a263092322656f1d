"""Why an index moved (method.md §10), the exclusion windows (§9) and the cancelled
versions (§11) as the reports say them: the sentence of "Waarom uw index veranderde" in
the HTML and the PDF, its waterfall (plotly's chart data, the print version's SVG), the
sentence of a practice without a comparison, and the notes at the top of every report
and of the national overview of a period with a window or a cancelled version before it.

Two small releases of 2024-v1 (the period the marts of tests/reports/test_reports.py
are made for): one with index_movement.csv rows since 2023-v3, one whose 2023-v3 was
cancelled and whose treatment dates have an exclusion window.
"""

from __future__ import annotations

import csv
import json
import random
import re
from pathlib import Path

import pytest

from reports import render_national_overview, render_release_reports
from reports.movement import Movement, movement_sentence, shown_points
from tests.reports.test_reports import (
    PERIOD,
    PERIODS,
    _dump_dom,
    _findings,
    _index_rows,
    _visible_text,
    _warehouse,
    _write_release,
)
from tests.support.pipeline import published_text

PREVIOUS = "2023-v3"
ROSE, FELL = "01000003", "01000005"  # practices with a movement row
THIN_BEFORE = "01000007"  # fewer than 30 patients in 2023-v3: no index there
NEW = "01000011"  # no claims in 2023-v3 at all
MOVEMENT_COLUMNS = [
    "period",
    "discipline",
    "practice_agb",
    "from_period",
    "bi_from",
    "bi_to",
    "own_points",
    "case_mix_points",
    "reference_points",
]
# (bi_from, bi_to, own, case mix): the reference part is what makes the parts add up
MOVES = {
    ROSE: (71.428571, 74.766355, 4.72, 0.0),  # method.md §10's example: 71 → 75 = +5 + 0 − 1
    FELL: (110.4, 102.3, -12.6, 1.45),  # half up gives −13 + 1 + 3 = −9 ≠ 102 − 110
}
WINDOW = {"first_date": "2020-03-16", "last_date": "2020-05-24", "reason": "eerste golf COVID-19 (week 12 t/m 21)"}
CANCELLED = {"period": PREVIOUS, "reason": "de gegevens van deze versie waren onbetrouwbaar"}
WINDOW_SENTENCE = (
    "Behandelingen van 16 maart tot en met 24 mei 2020 tellen niet mee (eerste golf COVID-19 (week 12 t/m 21))."
)
CANCELLED_SENTENCE = (
    "Versie 3 van 2023 is vervallen: de gegevens van deze versie waren onbetrouwbaar. "
    "Deze versie vergelijkt daarom niet met een vorige versie."
)
ROSE_SENTENCE = (
    "Uw index steeg 4 punten sinds 2023 versie 3 (januari–december), van 71 naar 75: +5 door uw eigen aantal "
    "behandelingen per traject, 0 door uw patiëntenmix, −1 doordat het landelijk niveau steeg."
)
FELL_SENTENCE = (
    "Uw index daalde 8 punten sinds 2023 versie 3 (januari–december), van 110 naar 102: −13 door uw eigen "
    "aantal behandelingen per traject, +2 door uw patiëntenmix, +3 doordat het landelijk niveau daalde."
)


def _set_index(rows: list[dict], agb: str, bi: float) -> None:
    row = next(r for r in rows if r["practice_agb"] == agb)
    row.update(
        behandelindex=f"{bi:.6f}",
        ci_lower=f"{bi - 10:.6f}",
        ci_upper=f"{bi + 10:.6f}",
        corrected_index=f"{bi - 10:.6f}",
    )


def _amend_release_json(folder: Path, **extra) -> None:
    meta = json.loads((folder / "release.json").read_text(encoding="utf-8"))
    meta.update(extra)
    (folder / "release.json").write_text(json.dumps(meta), encoding="utf-8")


def _write_movement(folder: Path, rows: list[list]) -> None:
    with open(folder / "index_movement.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(MOVEMENT_COLUMNS)
        writer.writerows(rows)


def _render(folder: Path, warehouse: Path, releases: Path, agbs: list[str]) -> Path:
    render_release_reports(folder, warehouse, releases, practices=[("fysiotherapie", a) for a in agbs], workers=1)
    render_national_overview(folder, warehouse, releases, folder / "reports")
    return folder / "reports"


@pytest.fixture(scope="module")
def moved(tmp_path_factory) -> dict:
    """2023-v3 and 2024-v1 published; two practices have a movement row, two have none."""
    root = tmp_path_factory.mktemp("movement")
    releases = root / "releases"
    before = _index_rows(PREVIOUS, seed=5)
    rows = _index_rows(PERIOD, seed=99)
    for agb, (bi_from, bi_to, _own, _mix) in MOVES.items():
        _set_index(before, agb, bi_from)
        _set_index(rows, agb, bi_to)
    thin = next(r for r in before if r["practice_agb"] == THIN_BEFORE)
    thin.update(status="insufficient_patients", behandelindex="", ci_lower="", ci_upper="", corrected_index="")
    before = [r for r in before if r["practice_agb"] != NEW]
    _write_release(releases / PREVIOUS / "r1", PREVIOUS, "r1", before)
    folder = releases / PERIOD / "r1"
    _write_release(folder, PERIOD, "r1", rows)
    _amend_release_json(folder, exclusion_windows=[], cancelled_before=[])
    _write_movement(
        folder,
        [
            [PERIOD, "fysiotherapie", agb, PREVIOUS, bi_from, bi_to, own, mix, (bi_to - bi_from) - own - mix]
            for agb, (bi_from, bi_to, own, mix) in MOVES.items()
        ],
    )
    warehouse = root / "warehouse.duckdb"
    _warehouse(warehouse, rows)
    return {
        "reports": _render(folder, warehouse, releases, [ROSE, FELL, THIN_BEFORE, NEW]),
        "folder": folder,
        "warehouse": warehouse,
        "releases": releases,
    }


@pytest.fixture(scope="module")
def cancelled(tmp_path_factory) -> dict:
    """2023-v3 cancelled (no release folder, a half-made one at most), 2024-v1 with an
    exclusion window; its index_movement.csv has only its header."""
    root = tmp_path_factory.mktemp("cancelled")
    releases = root / "releases"
    for i, period in enumerate(PERIODS[:-1]):
        if period != PREVIOUS:
            _write_release(releases / period / "r1", period, "r1", _index_rows(period, seed=i))
    (releases / PREVIOUS / ".tmp-r1-99").mkdir(parents=True)  # never published
    rows = _index_rows(PERIOD, seed=99)
    folder = releases / PERIOD / "r1"
    _write_release(folder, PERIOD, "r1", rows)
    _amend_release_json(folder, exclusion_windows=[WINDOW], cancelled_before=[CANCELLED])
    _write_movement(folder, [])
    warehouse = root / "warehouse.duckdb"
    _warehouse(warehouse, rows)
    return {"reports": _render(folder, warehouse, releases, [ROSE]), "folder": folder}


def _text(path: Path) -> str:
    """What a reader sees, whitespace collapsed: the HTML without scripts, the PDF's words."""
    return _visible_text(path) if path.suffix == ".html" else " ".join(published_text(path).split())


def _chart_data(path: Path) -> dict:
    page = path.read_text(encoding="utf-8")
    return json.loads(re.search(r'id="spiegel-data">(.*?)</script>', page, re.S).group(1))


def _print_html(folder: Path, warehouse: Path, releases: Path, agb: str) -> str:
    """The page the PDF of ``agb`` is printed from (what render's PDF worker renders)."""
    from reports import data as D
    from reports.context import practice_context, print_charts
    from reports.render import _env

    release = D.load_release(folder, releases)
    marts = D.load_marts(warehouse, release.period, None)
    D.attach_marts(release, marts)
    row = next(r for r in release.index if r.practice_agb == agb and r.discipline == "fysiotherapie")
    ctx = practice_context(release, marts, row)
    charts = print_charts(ctx, release.funnels[row.discipline], None)
    page = _env().get_template("report.html.j2")
    return page.render(**ctx, print=True, charts=charts, data_json="", asset_prefix="", footer_css="")


# -- the sentence and the waterfall ------------------------------------------------------------
def test_a_practice_with_a_movement_row_reads_why_its_index_moved(moved):
    for agb, sentence in ((ROSE, ROSE_SENTENCE), (FELL, FELL_SENTENCE)):
        for ext in ("html", "pdf"):
            text = _text(moved["reports"] / "fysiotherapie" / f"{agb}.{ext}")
            assert "4 · Waarom uw index veranderde" in text, (agb, ext)
            assert sentence in text, (agb, ext, text.split("Waarom uw index veranderde")[1][:400])
            assert "Er is geen vergelijking" not in text


def test_the_html_draws_a_waterfall_from_the_chart_data(moved):
    data = _chart_data(moved["reports"] / "fysiotherapie" / f"{ROSE}.html")["movement"]
    assert data["measure"] == ["absolute", "relative", "relative", "relative", "total"]
    assert data["y"] == [71, 5, 0, -1, 75]
    assert data["text"] == ["71", "+5", "0", "−1", "75"]
    assert data["labels"][0] == ["2023 v3"] and data["labels"][-1] == ["2024 v1"]
    assert data["yrange"][0] < 70 and data["yrange"][1] > 75
    fell = _chart_data(moved["reports"] / "fysiotherapie" / f"{FELL}.html")["movement"]
    assert fell["y"] == [110, -13, 2, 3, 102] and fell["text"][1:4] == ["−13", "+2", "+3"]
    assert 'type: "waterfall"' in (moved["reports"] / "spiegel.js").read_text(encoding="utf-8")
    page = (moved["reports"] / "fysiotherapie" / f"{ROSE}.html").read_text(encoding="utf-8")
    assert 'id="chart-movement"' in page
    # as a browser draws it: the steps with their Dutch texts, the axis with whole numbers
    dom = _dump_dom((moved["reports"] / "fysiotherapie" / f"{ROSE}.html").as_uri())
    assert "waterfalllayer" in dom
    texts = [t for t in re.findall(r"<text[^>]*>([^<]*)</text>", dom)]
    assert {"+5", "−1", "2023 v3", "2024 v1"} <= set(texts), texts
    assert not _findings(" | ".join(texts))


def test_the_pdf_prints_the_waterfall_as_svg(moved):
    page = _print_html(moved["folder"], moved["warehouse"], moved["releases"], ROSE)
    svg = re.search(r"<svg class='chart waterfall'.*?</svg>", page, re.S)
    assert svg, "no waterfall in the print page"
    chart = svg.group(0)
    assert "<script" not in page and 'id="chart-movement"' not in page
    assert chart.count("fill='#0b4f8a'") == 2  # index A and index B
    assert chart.count("fill='#d9822b'") == 1 and chart.count("fill='#2f8f83'") == 1  # +5 up, −1 down
    assert ">+5<" in chart and ">−1<" in chart and ">71<" in chart and ">75<" in chart and ">0<" in chart
    pdf = _text(moved["reports"] / "fysiotherapie" / f"{ROSE}.pdf")
    tail = pdf.split("Waarom uw index veranderde")[1]
    assert "eigen aantal" in tail and "patiëntenmix" in tail and "landelijk niveau" in tail


def test_a_practice_without_a_movement_row_reads_why_there_is_no_comparison(moved):
    expected = {
        THIN_BEFORE: "Er is geen vergelijking met de vorige versie: uw praktijk had in 2023 versie 3 "
        "(januari–december) geen index (minder dan 30 patiënten).",
        NEW: "Er is geen vergelijking met de vorige versie: uw praktijk had in 2023 versie 3 "
        "(januari–december) geen declaraties in deze discipline.",
    }
    for agb, sentence in expected.items():
        for ext in ("html", "pdf"):
            text = _text(moved["reports"] / "fysiotherapie" / f"{agb}.{ext}")
            assert sentence in text, (agb, ext)
        page = (moved["reports"] / "fysiotherapie" / f"{agb}.html").read_text(encoding="utf-8")
        assert (
            'id="chart-movement"' not in page
            and _chart_data(moved["reports"] / "fysiotherapie" / f"{agb}.html")["movement"] is None
        )


def test_a_period_without_windows_or_cancellations_says_nothing_about_them(moved):
    for path in [*(moved["reports"] / "fysiotherapie").glob("*.html"), moved["reports"] / "national_overview.html"]:
        page = path.read_text(encoding="utf-8")
        assert "period-notes" not in page and "tellen niet mee" not in page and "vervallen" not in page, path


# -- exclusion windows and cancelled versions -------------------------------------------------
def test_a_window_and_a_cancelled_version_are_said_at_the_top_of_every_report(cancelled):
    for ext in ("html", "pdf"):
        text = _text(cancelled["reports"] / "fysiotherapie" / f"{ROSE}.{ext}")
        assert WINDOW_SENTENCE in text and CANCELLED_SENTENCE in text, ext
        # near the top, where the period is described: before the index itself
        assert text.index(WINDOW_SENTENCE) < text.index(CANCELLED_SENTENCE) < text.index("Uw praktijk gaf"), ext
        assert "Er is geen vergelijking met de vorige versie: 2023 versie 3 (januari–december) is vervallen." in text, (
            ext
        )
    overview = _visible_text(cancelled["reports"] / "national_overview.html")
    assert WINDOW_SENTENCE in overview and CANCELLED_SENTENCE in overview
    assert overview.index(WINDOW_SENTENCE) < overview.index("Praktijken per status")


def test_the_history_passes_over_a_cancelled_version(cancelled):
    page = (cancelled["reports"] / "fysiotherapie" / f"{ROSE}.html").read_text(encoding="utf-8")
    periods = re.findall(r'<tr data-period="([^"]+)"', page)
    assert PREVIOUS not in periods and periods == [p for p in PERIODS if p != PREVIOUS][-6:]
    labels = [p["label"] for p in _chart_data(cancelled["reports"] / "fysiotherapie" / f"{ROSE}.html")["history"]]
    assert "2023 v3" not in labels and labels[-2:] == ["2023 v2", "2024 v1"]


def test_the_new_texts_read_dutch(moved, cancelled):
    """The checks of test_reports.test_every_report_reads_dutch (no English, a space after
    every sentence, no number with a decimal point) on these reports and overviews."""
    problems = {}
    for reports in (moved["reports"], cancelled["reports"]):
        for path in [
            *sorted(reports.glob("*/*.html")),
            *sorted(reports.glob("*/*.pdf")),
            reports / "national_overview.html",
        ]:
            if found := _findings(_text(path)):
                problems[str(path.relative_to(reports.parent))] = found[:5]
    assert not problems, problems


# -- whole points that add up ------------------------------------------------------------------
def test_the_shown_parts_always_add_up_to_the_shown_change():
    rng = random.Random(27)
    for _ in range(5000):
        bi_from = rng.uniform(20, 250)
        bi_to = bi_from + rng.uniform(-40, 40)
        own, mix = rng.uniform(-30, 30), rng.uniform(-10, 10)
        parts = [own, mix, (bi_to - bi_from) - own - mix]
        a, b, shown = shown_points(bi_from, bi_to, parts)
        assert sum(shown) == b - a, (bi_from, bi_to, parts, shown)
        for exact, s in zip(parts, shown):  # the whole number just below or above: never past 0
            assert abs(s - exact) < 1 and (s == 0 or (s > 0) == (exact > 0)), (exact, s)


def test_the_sentence_says_a_standstill_and_a_single_point():
    still = Movement(PREVIOUS, 99.8, 100.2, 1.3, -0.9, 0.0)
    assert movement_sentence(still) == (
        "Uw index bleef sinds 2023 versie 3 (januari–december) gelijk op 100: +1 door uw eigen aantal "
        "behandelingen per traject, −1 door uw patiëntenmix, 0 doordat het landelijk niveau gelijk bleef."
    )
    one = Movement("2024-v1", 100.4, 100.6, 0.1, 0.05, 0.05)
    assert movement_sentence(one) == (
        "Uw index steeg 1 punt sinds 2024 versie 1 (januari–juni), van 100 naar 101: +1 door uw eigen aantal "
        "behandelingen per traject, 0 door uw patiëntenmix, 0 doordat het landelijk niveau vrijwel gelijk bleef."
    )
