"""The spiegelinformatie reports: numbers, history, suppression, PDF and HTML in Chromium.

Builds a small fake release (seven periods of behandelindex.csv, one with revisions r1,
r2 and r10; a DuckDB warehouse with the marts the reports read for ~45 practices, the
funnel's and the medians from the reference in tests/support/funnel_reference.py) and renders it.
"""

from __future__ import annotations

import csv
import html as htmlmod
import json
import math
import random
import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import duckdb
import pytest

import tests.support.funnel_reference as funnel_reference
from reports import render_national_overview, render_release_reports
from reports.browser import CHROMIUM_FLAGS, find_chromium

PERIOD = "2024-v1"
PERIODS = ["2022-v1", "2022-v2", "2022-v3", "2023-v1", "2023-v2", "2023-v3", "2024-v1"]
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
SMALL = "01000007"  # the practice with tiny case-mix cells
REGIONS = ["31", "33", "45", "70", "XX"]
AGES = ["0-17", "18-34", "35-49", "50-64", "65-74", "75+"]


def _practices() -> list[tuple[str, str, int]]:
    """(discipline, agb, patients); three have fewer than 30 patients."""
    out = [("fysiotherapie", f"0100{i:04d}", 40 + 37 * i) for i in range(36)]
    out += [("oefentherapie", f"0200{i:04d}", 35 + 20 * i) for i in range(8)]
    out += [("fysiotherapie", "01009990", 12), ("fysiotherapie", "01009991", 29), ("oefentherapie", "02009990", 8)]
    return out


def _index_rows(period: str, seed: int) -> list[dict]:
    rng = random.Random(seed)
    rows = []
    for disc, agb, patients in _practices():
        episodes = int(patients * 1.3)
        expected = episodes * 8.7
        ok = patients >= 30
        bi = 100 * math.exp(rng.gauss(0, 0.18)) if ok else None
        sessions = round(expected * (bi if bi else 100) / 100)
        bi = 100 * sessions / expected
        se = 100 * math.sqrt(episodes * 30.0) / expected
        row = {
            "period": period,
            "discipline": disc,
            "practice_agb": agb,
            "status": "ok" if ok else "insufficient_patients",
            "patients": patients,
            "episodes": episodes,
            "sessions": sessions,
            "expected_sessions": f"{expected:.6f}",
            "behandelindex": "",
            "ci_lower": "",
            "ci_upper": "",
            "corrected_index": "",
        }
        if ok:
            lo = max(0.0, bi - 1.959964 * se)
            row.update(
                behandelindex=f"{bi:.6f}",
                ci_lower=f"{lo:.6f}",
                ci_upper=f"{bi + 1.959964 * se:.6f}",
                corrected_index=f"{lo:.6f}",
            )
        rows.append(row)
    return rows


def _write_release(folder: Path, period: str, revision: str, rows: list[dict]) -> None:
    folder.mkdir(parents=True)
    with open(folder / "behandelindex.csv", "w", newline="") as f:
        w = csv.DictWriter(f, COLUMNS)
        w.writeheader()
        w.writerows(rows)
    with open(folder / "reference_strata.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(
            [
                "period",
                "discipline",
                "row_type",
                "cell_id",
                "level",
                "age_band",
                "sex",
                "body_region",
                "chronic",
                "episodes",
                "mean_sessions",
                "variance_sessions",
            ]
        )
        w.writerow([period, "fysiotherapie", "cell", "c1", "L3", "", "", "", "", 1000, 8.7, 30.0])
    with open(folder / "excluded_lines.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["period", "insurer_id", "reason", "lines", "paid_amount"])
        w.writerow([period, "cz", "rejected_zero_paid", 12, 0])
    (folder / "release.json").write_text(
        json.dumps(
            {
                "period": period,
                "revision": revision,
                "published_at": "2024-10-15T09:30:00Z",
                "method_version": "1",
                "contract_version": 1,
                "code_version": "abc1234",
                "insurers": [
                    {
                        "insurer": i,
                        "delivery_id": "d1",
                        "file": "claims.csv",
                        "sha256": "0" * 64,
                        "rows": 10,
                        "paid_amount_total": 1.0,
                    }
                    for i in ("cz", "vgz", "zilveren_kruis")
                ],
                "gates": {"verdict": "passed"},
                "signoff": {"by": "tester", "at": "2024-10-14T12:00:00Z", "comment": "ok"},
            }
        )
    )


def _split(total: int, weights: list[float], rng: random.Random) -> list[int]:
    raw = [w * (0.7 + 0.6 * rng.random()) for w in weights]
    s = sum(raw)
    parts = [int(total * r / s) for r in raw]
    parts[0] += total - sum(parts)
    return parts


def _warehouse(path: Path, rows: list[dict]) -> None:
    rng = random.Random(3)
    con = duckdb.connect(str(path))
    con.execute("create schema marts")
    con.execute(
        "create table marts.fct_practice_profile (period varchar, discipline varchar, practice_agb varchar, "
        "patients bigint, episodes bigint, sessions bigint, therapists bigint)"
    )
    con.execute(
        "create table marts.fct_practice_casemix (period varchar, discipline varchar, practice_agb varchar, "
        "dimension varchar, category varchar, practice_episodes bigint, national_episodes bigint)"
    )
    con.execute(
        "create table marts.fct_practice_drivers (period varchar, discipline varchar, practice_agb varchar, "
        "body_region varchar, chronic boolean, episodes bigint, observed_sessions double, "
        "expected_sessions double)"
    )
    con.execute(
        "create table marts.fct_insurer_monthly_sessions (period varchar, insurer_id varchar, month varchar, "
        "claim_lines bigint, counted_sessions bigint, paid_amount decimal(18,2))"
    )
    casemix, drivers = [], []
    for r in rows:
        d, agb, ep = r["discipline"], r["practice_agb"], r["episodes"]
        con.execute(
            "insert into marts.fct_practice_profile values (?,?,?,?,?,?,?)",
            [PERIOD, d, agb, r["patients"], ep, r["sessions"], 1 + r["patients"] // 60],
        )
        if agb == SMALL:  # tiny cells: sex U = 3, region XX = 2, age 0-17 = 4
            dims = {
                "sex": {"1": ep - 60, "2": 57, "U": 3},
                "body_region": {"31": ep - 32, "33": 30, "XX": 2},
                "age_band": {"0-17": 4, "18-34": 40, "35-49": ep - 44},
                "chronic": {"true": 20, "false": ep - 20},
            }
        else:
            dims = {
                "sex": dict(zip(["1", "2"], _split(ep, [0.4, 0.6], rng))),
                "body_region": dict(zip(REGIONS[:4], _split(ep, [0.3, 0.3, 0.25, 0.15], rng))),
                "age_band": dict(zip(AGES, _split(ep, [0.05, 0.2, 0.25, 0.25, 0.15, 0.1], rng))),
                "chronic": dict(zip(["true", "false"], _split(ep, [0.2, 0.8], rng))),
            }
        for dim, cats in dims.items():
            for cat, n in cats.items():
                casemix.append((PERIOD, d, agb, dim, cat, n))
        o_total, e_total = r["sessions"], float(r["expected_sessions"])
        groups = [("31", False, 0.4), ("33", True, 0.3), ("45", False, 0.3)]
        eps = _split(ep, [g[2] for g in groups], rng)
        if agb == SMALL:
            groups.append(("70", True, 0))
            eps = [eps[0] - 3, eps[1], eps[2], 3]
        for (region, chronic, _), n in zip(groups, eps):
            drivers.append((PERIOD, d, agb, region, chronic, n, o_total * n / ep, e_total * n / ep))
    national: dict[tuple, int] = {}
    for _period, d, _agb, dim, cat, n in casemix:
        national[(d, dim, cat)] = national.get((d, dim, cat), 0) + n
    con.executemany(
        "insert into marts.fct_practice_casemix values (?,?,?,?,?,?,?)",
        [(p, d, agb, dim, cat, n, national[(d, dim, cat)]) for p, d, agb, dim, cat, n in casemix],
    )
    con.executemany("insert into marts.fct_practice_drivers values (?,?,?,?,?,?,?,?)", drivers)
    _funnel_and_median_marts(con, rows)
    for ins, base in (("cz", 5000), ("vgz", 4200), ("zilveren_kruis", 6100)):
        for m in range(1, 7):
            n = base if not (ins == "vgz" and m == 4) else base // 3
            con.execute(
                "insert into marts.fct_insurer_monthly_sessions values (?,?,?,?,?,?)",
                [PERIOD, ins, f"2024-{m:02d}", n + 40, n, n * 36.5],
            )
    con.close()


FUNNEL_PARAMETERS = [
    "practices",
    "k",
    "winsor_lower",
    "winsor_upper",
    "phi",
    "tau2",
    "inner_z",
    "outer_z",
    "inner_level",
    "outer_level",
    "smallest_expected_sessions",
    "largest_expected_sessions",
    "outer_adjusted_lower_at_smallest",
    "outer_adjusted_upper_at_smallest",
]
FUNNEL_LIMITS = [
    "point",
    "expected_sessions",
    "standard_error",
    "inner_lower",
    "inner_upper",
    "inner_adjusted_lower",
    "inner_adjusted_upper",
    "outer_lower",
    "outer_upper",
    "outer_adjusted_lower",
    "outer_adjusted_upper",
]


def _funnel_and_median_marts(con: duckdb.DuckDBPyConnection, rows: list[dict]) -> None:
    """fct_funnel_parameters, fct_funnel_limits, fct_funnel_points and fct_national_medians
    as dbt computes them (the independent reference of tests/support/funnel_reference.py)."""
    con.execute(
        "create table marts.fct_funnel_parameters (period varchar, discipline varchar, "
        + ", ".join(f"{c} {'bigint' if c == 'practices' else 'double'}" for c in FUNNEL_PARAMETERS)
        + ")"
    )
    con.execute(
        "create table marts.fct_funnel_limits (period varchar, discipline varchar, "
        + ", ".join(f"{c} {'integer' if c == 'point' else 'double'}" for c in FUNNEL_LIMITS)
        + ")"
    )
    con.execute(
        "create table marts.fct_funnel_points (period varchar, discipline varchar, practice_agb varchar, "
        "expected_sessions double, behandelindex double, standard_error double, z_plain double, "
        "z_adjusted double)"
    )
    con.execute(
        "create table marts.fct_national_medians (period varchar, discipline varchar, "
        "practices_with_index bigint, median_patients double, median_episodes double, median_sessions double, "
        "median_sessions_per_episode double, median_behandelindex double, median_therapists double)"
    )
    for disc in ("fysiotherapie", "oefentherapie"):
        ok = [r for r in rows if r["discipline"] == disc and r["status"] == "ok"]
        e = [float(r["expected_sessions"]) for r in ok]
        y = [float(r["behandelindex"]) for r in ok]
        se = [(float(r["ci_upper"]) - b) / 1.959964 for r, b in zip(ok, y)]  # as _index_rows made them
        p = funnel_reference.parameters(e, y, se)
        con.execute(
            f"insert into marts.fct_funnel_parameters values ({', '.join('?' * (2 + len(FUNNEL_PARAMETERS)))})",
            [PERIOD, disc] + [p[c] for c in FUNNEL_PARAMETERS],
        )
        con.executemany(
            f"insert into marts.fct_funnel_limits values ({', '.join('?' * (2 + len(FUNNEL_LIMITS)))})",
            [[PERIOD, disc] + [g[c] for c in FUNNEL_LIMITS] for g in funnel_reference.limits(p)],
        )
        con.executemany(
            "insert into marts.fct_funnel_points values (?,?,?,?,?,?,?,?)",
            [
                [PERIOD, disc, r["practice_agb"], x, b, s, (b - 100) / s, funnel_reference.z_adjusted(b, s, p["tau2"])]
                for r, x, b, s in zip(ok, e, y, se)
            ],
        )
        med = funnel_reference.median
        con.execute(
            "insert into marts.fct_national_medians values (?,?,?,?,?,?,?,?,?)",
            [
                PERIOD,
                disc,
                len(ok),
                med([r["patients"] for r in ok]),
                med([r["episodes"] for r in ok]),
                med([r["sessions"] for r in ok]),
                med([r["sessions"] / r["episodes"] for r in ok]),
                med(y),
                med([1 + r["patients"] // 60 for r in ok]),
            ],
        )


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    releases = root / "releases"
    for i, period in enumerate(PERIODS[:-1]):
        _write_release(releases / period / "r1", period, "r1", _index_rows(period, seed=i))
    # 2023-v2 has three revisions; r10 is the newest (numeric order, not text order)
    _write_release(releases / "2023-v2" / "r2", "2023-v2", "r2", _index_rows("2023-v2", seed=102))
    _write_release(releases / "2023-v2" / "r10", "2023-v2", "r10", _index_rows("2023-v2", seed=110))
    rows = _index_rows(PERIOD, seed=99)
    current = releases / PERIOD / "r1"
    _write_release(current, PERIOD, "r1", rows)
    (releases / PERIOD / ".tmp-r2-1234").mkdir()  # a half-made revision is ignored
    warehouse = root / "warehouse.duckdb"
    _warehouse(warehouse, rows)
    summary = render_release_reports(current, warehouse, releases, workers=2)
    overview = render_national_overview(current, warehouse, releases, current / "reports")
    return {
        "root": root,
        "releases": releases,
        "dir": current,
        "warehouse": warehouse,
        "rows": rows,
        "summary": summary,
        "overview": overview,
    }


def _text(path: Path) -> str:
    return htmlmod.unescape(re.sub(r"<[^>]+>", " ", path.read_text(encoding="utf-8")))


def _field(html: str, name: str) -> str:
    m = re.search(rf'data-field="{name}">([^<]*)<', html)
    assert m, name
    return htmlmod.unescape(m.group(1)).strip()


def _round(text: str) -> int:
    return math.floor(float(text) + 0.5)


def test_summary_counts(release):
    ok = [r for r in release["rows"] if r["status"] == "ok"]
    s = release["summary"]
    assert s.html_count == len(ok) and s.pdf_count == len(ok)
    assert s.seconds_per_pdf > 0
    files = sorted((release["dir"] / "reports").rglob("*.html"))
    assert len([f for f in files if f.parent.name in ("fysiotherapie", "oefentherapie")]) == len(ok)
    assert (release["dir"] / "reports" / "plotly.min.js").stat().st_size > 1_000_000


def test_numbers_equal_release_table(release):
    for r in release["rows"]:
        if r["status"] != "ok":
            continue
        html = (release["dir"] / "reports" / r["discipline"] / f"{r['practice_agb']}.html").read_text()
        assert _field(html, "practice_agb") == r["practice_agb"]
        for col in ("behandelindex", "ci_lower", "ci_upper", "corrected_index"):
            assert int(_field(html, col)) == _round(r[col]), (r["practice_agb"], col)
        assert _field(html, "period") == "2024 versie 1 (januari–juni)"
        assert "Zilveren Kruis" in _field(html, "insurers")
        # the plotly script is referenced, not inlined
        assert '<script src="../plotly.min.js"></script>' in html and len(html) < 150_000


def test_insufficient_patients_get_no_report(release):
    for r in release["rows"]:
        if r["status"] != "ok":
            for ext in ("html", "pdf"):
                assert not (release["dir"] / "reports" / r["discipline"] / f"{r['practice_agb']}.{ext}").exists()


def test_history_six_most_recent_newest_revision(release):
    html = (release["dir"] / "reports" / "fysiotherapie" / "01000003.html").read_text()
    periods = re.findall(r'<tr data-period="([^"]+)"', html)
    assert periods == PERIODS[-6:]
    r10 = {r["practice_agb"]: r for r in _index_rows("2023-v2", seed=110)}["01000003"]
    row = re.search(r'<tr data-period="2023-v2".*?</tr>', html, re.S).group(0)
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", row)
    assert int(cells[0]) == _round(r10["behandelindex"])
    assert int(cells[2]) == _round(r10["corrected_index"])


def test_small_cells_suppressed(release):
    html = (release["dir"] / "reports" / "fysiotherapie" / f"{SMALL}.html").read_text()

    def row(dimension: str, label: str) -> list[str]:
        table = re.search(rf'data-dimension="{dimension}".*?</table>', html, re.S).group(0)
        tr = re.search(rf"<tr[^>]*><th>{re.escape(label)}</th>(.*?)</tr>", table, re.S).group(1)
        return [htmlmod.unescape(c) for c in re.findall(r"<td>([^<]*)</td>", tr)]

    assert row("sex", "Onbekend") == ["< 5", "–", "0\u00a0%"] or row("sex", "Onbekend")[:2] == ["< 5", "–"]
    assert row("body_region", "Onbekende lokalisatie")[:2] == ["< 5", "–"]
    assert row("age_band", "0–17 jaar")[:2] == ["< 5", "–"]
    # one suppressed cell in a dimension is derivable from the total: a second one is hidden
    assert row("chronic", "Chronisch")[0] not in ("< 5", "verborgen")
    assert "verborgen" not in row("chronic", "Chronisch")
    sex = [row("sex", "Man")[0], row("sex", "Vrouw")[0]]
    assert "verborgen" in sex
    # every hidden cell says why, in one sentence, after the actual reason
    second = "Man" if sex[0] == "verborgen" else "Vrouw"
    text = " ".join(_text(release["dir"] / "reports" / "fysiotherapie" / f"{SMALL}.html").split())
    assert "‘Onbekend’: verborgen, want minder dan 5 trajecten; zo blijft een patiënt onherkenbaar." in text
    assert (
        f"‘{second}’: verborgen omdat anders het verborgen aantal van ‘Onbekend’ uit het totaal af te leiden is."
        in text
    )
    assert (
        "‘0–17 jaar’, ‘50–64 jaar’, ‘65–74 jaar’ en ‘75+ jaar’: verborgen, want minder dan 5 trajecten per groep; "
        "zo blijft een patiënt onherkenbaar." in text
    )
    # three small regions (two of them empty at this practice): named together, no second cell needed
    assert (
        "‘Lokalisatie 45’, ‘Lokalisatie 70’ en ‘Onbekende lokalisatie’: verborgen, want minder dan 5 trajecten "
        "per groep" in text
    )
    assert "uit het totaal af te leiden is" not in text.split("Chronisch of niet")[1].split("6 · ")[0]
    # the drivers' small group is pooled, never shown on its own
    assert "Lokalisatie 70, chronisch" not in html
    # the chart data carry no number for a suppressed cell
    data = json.loads(re.search(r'id="spiegel-data">(.*?)</script>', html, re.S).group(1))
    sex_chart = next(c for c in data["casemix"] if c["title"] == "Geslacht")
    assert sex_chart["practice"][sex_chart["labels"].index("Onbekend")] is None


def _png_nonwhite_share(png: bytes) -> float:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, height, ctype = 8, b"", 0, 0, 2
    while pos < len(png):
        length, kind = struct.unpack(">I4s", png[pos : pos + 8])
        body = png[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, _depth, ctype = struct.unpack(">IIBB", body[:10])
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    channels = {2: 3, 6: 4, 0: 1}[ctype]
    raw = zlib.decompress(idat)
    stride = width * channels
    prev = bytearray(stride)
    nonwhite = 0
    for y in range(height):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for i in range(stride):  # undo the PNG row filter
            a = line[i - channels] if i >= channels else 0
            b = prev[i]
            c = prev[i - channels] if i >= channels else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        nonwhite += sum(1 for x in range(0, stride, channels) if min(line[x : x + min(channels, 3)]) < 235)
        prev = line
    return nonwhite / (width * height)


def test_pdf_renders(release, tmp_path):
    r = next(r for r in release["rows"] if r["status"] == "ok" and r["practice_agb"] == "01000005")
    pdf = release["dir"] / "reports" / r["discipline"] / f"{r['practice_agb']}.pdf"
    assert pdf.read_bytes()[:5] == b"%PDF-"
    subprocess.run(["pdftoppm", "-png", "-r", "50", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "page")], check=True)
    png = next(tmp_path.glob("page*.png")).read_bytes()
    assert _png_nonwhite_share(png) > 0.04
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    assert r["practice_agb"] in text
    assert str(_round(r["behandelindex"])) in text and str(_round(r["corrected_index"])) in text
    small = subprocess.run(
        ["pdftotext", str(pdf.parent / f"{SMALL}.pdf"), "-"], check=True, capture_output=True, text=True
    ).stdout
    assert "< 5" in small


def _chromium_errors(url: str) -> str:
    profile = Path(subprocess.run(["mktemp", "-d"], capture_output=True, text=True).stdout.strip())
    try:
        proc = subprocess.run(
            [
                find_chromium(),
                *CHROMIUM_FLAGS,
                f"--user-data-dir={profile}",
                "--enable-logging=stderr",
                "--v=0",
                "--virtual-time-budget=5000",
                "--dump-dom",
                url,
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    assert "main-svg" in proc.stdout, proc.stderr[-2000:]
    return "\n".join(
        line
        for line in proc.stderr.splitlines()
        if "CONSOLE" in line or "Uncaught" in line or "ERR_FILE_NOT_FOUND" in line
    )


def test_html_loads_without_console_errors(release):
    page = release["dir"] / "reports" / "fysiotherapie" / "01000005.html"
    errors = _chromium_errors(page.as_uri())
    assert errors == ""
    errors = _chromium_errors(release["overview"].as_uri())
    assert errors == ""


def test_reports_show_the_marts_medians_and_funnel(release):
    """The median column and the funnel come from the marts (fct_national_medians,
    fct_funnel_*), not from arithmetic in the reports."""
    con = duckdb.connect(str(release["warehouse"]), read_only=True)
    try:
        med = con.execute(
            "select median_patients, median_sessions, median_therapists from marts.fct_national_medians "
            "where discipline = 'fysiotherapie'"
        ).fetchone()
        k, phi = con.execute(
            "select k, phi from marts.fct_funnel_parameters where discipline = 'fysiotherapie'"
        ).fetchone()
        limits = con.execute(
            "select inner_upper, outer_adjusted_lower from marts.fct_funnel_limits "
            "where discipline = 'fysiotherapie' order by point"
        ).fetchall()
        where = dict(
            con.execute(
                "select practice_agb, z_adjusted from marts.fct_funnel_points where discipline = 'fysiotherapie'"
            ).fetchall()
        )
    finally:
        con.close()
    html = (release["dir"] / "reports" / "fysiotherapie" / "01000003.html").read_text(encoding="utf-8")
    rows = dict(re.findall(r"<tr><th>([^<]*)</th><td class=\"you\">[^<]*</td><td>([^<]*)</td>", html))
    assert rows["Patiënten"] == f"{math.floor(med[0] + 0.5):,}".replace(",", ".")
    assert rows["Behandelingen (zittingen)"] == f"{math.floor(med[1] + 0.5):,}".replace(",", ".")
    assert rows["Therapeuten"] == str(math.floor(med[2] + 0.5))
    assert f"k = {math.floor(k + 0.5)}" in html and f"φ = {f'{phi:.2f}'.replace('.', ',')}" in html
    zones = {}
    for agb, z in where.items():
        side = "boven" if z > 0 else "onder"
        expected = (
            f"{side} de 99,8 %-grens"
            if abs(z) > funnel_reference.Z998
            else f"{side} de 95 %-grens"
            if abs(z) > funnel_reference.Z95
            else "binnen de 95 %-grenzen"
        )
        page = (release["dir"] / "reports" / "fysiotherapie" / f"{agb}.html").read_text(encoding="utf-8")
        assert _field(page, "funnel_zone") == expected, agb
        zones[expected] = zones.get(expected, 0) + 1
    assert len(zones) >= 2, zones  # the fixture has practices inside and outside the limits
    script = (release["dir"] / "reports" / "fysiotherapie" / "_funnel.js").read_text(encoding="utf-8")
    payload = json.loads(script.split("=", 1)[1].strip().rstrip(";"))
    assert payload["limits"]["95_hi"] == [round(a, 3) for a, _ in limits]
    assert payload["limits"]["998_adj_lo"] == [round(b, 3) for _, b in limits]
    assert payload["k"] == k and payload["phi"] == phi


def test_levels_and_z_in_the_texts_come_from_the_marts(release, tmp_path):
    """At confidence_level 0.9 the marts say so, and the report's texts follow: no level or z
    is written in a template or in Python."""
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copyfile(release["warehouse"], warehouse)
    con = duckdb.connect(str(warehouse))
    con.execute("update marts.fct_funnel_parameters set inner_level = 0.9, inner_z = 1.6448536269514729")
    con.close()
    folder = tmp_path / "releases" / PERIOD / "r1"
    shutil.copytree(release["dir"], folder, ignore=shutil.ignore_patterns("reports"))
    render_release_reports(
        folder, warehouse, tmp_path / "releases", practices=[("fysiotherapie", "01000003")], pdf=False
    )
    text = " ".join(_text(folder / "reports" / "fysiotherapie" / "01000003.html").split())
    assert "90 %-betrouwbaarheidsinterval" in text and "95 %-" not in text and "90 %-grenzen" in text
    assert "index ± 1,64 × SE" in text and "100 ± 1,64 en ± 3,09 keer" in text and "met 95 % zekerheid" in text
    assert "99,8 %-grenzen" in text


def test_reports_do_not_depend_on_the_row_order_of_the_marts(release, tmp_path):
    """The same mart rows stored in another order (as another dbt run may write them) give
    byte-identical reports: a tie between two breakdown groups of 5 episodes, one of which
    must join the pooled small group, is broken the same way."""
    agb = "01000003"
    groups = [
        ("31", False, 40, 300.0, 280.0),
        ("45", False, 5, 41.0, 37.5),
        ("70", True, 5, 33.0, 36.25),
        ("33", True, 2, 15.0, 14.5),
    ]
    pages = []
    for n, order in enumerate((groups, groups[::-1])):
        warehouse = tmp_path / f"warehouse{n}.duckdb"
        shutil.copyfile(release["warehouse"], warehouse)
        con = duckdb.connect(str(warehouse))
        con.execute("delete from marts.fct_practice_drivers where practice_agb = ?", [agb])
        con.executemany(
            "insert into marts.fct_practice_drivers values (?,?,?,?,?,?,?,?)",
            [(PERIOD, "fysiotherapie", agb, *g) for g in order],
        )
        con.close()
        root = tmp_path / f"releases{n}"
        shutil.copytree(release["releases"], root, ignore=shutil.ignore_patterns("reports"))
        folder = root / PERIOD / "r1"
        render_release_reports(folder, warehouse, root, practices=[("fysiotherapie", agb)], pdf=False)
        pages.append((folder / "reports" / "fysiotherapie" / f"{agb}.html").read_text(encoding="utf-8"))
    assert "Overige groepen (2 kleine groepen samen)" in pages[0]
    assert pages[0] == pages[1]


def test_a_practice_with_an_index_but_no_funnel_point_gets_its_report(release, tmp_path):
    """A practice whose standard error is 0 (every reference cell of its episodes without
    variance) has an index but is no point of the funnel (fct_funnel_points keeps SE > 0):
    its report says so instead of failing the whole publication."""
    agb = "01000003"
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copyfile(release["warehouse"], warehouse)
    con = duckdb.connect(str(warehouse))
    assert con.execute("select count(*) from marts.fct_funnel_points where practice_agb = ?", [agb]).fetchone()[0] == 1
    con.execute("delete from marts.fct_funnel_points where practice_agb = ?", [agb])
    con.close()
    folder = tmp_path / "releases" / PERIOD / "r1"
    shutil.copytree(release["dir"], folder, ignore=shutil.ignore_patterns("reports"))
    render_release_reports(folder, warehouse, tmp_path / "releases", practices=[("fysiotherapie", agb)], pdf=False)
    text = " ".join(_text(folder / "reports" / "fysiotherapie" / f"{agb}.html").split())
    assert "staat niet in het trechterdiagram" in text
    assert "Uw index ligt" not in text


def test_national_overview(release):
    text = _text(release["overview"])
    assert "Praktijken per status" in text and "Trechterdiagram" in text
    row = re.search(r'data-discipline="fysiotherapie">(.*?)</tr>', release["overview"].read_text(), re.S).group(1)
    cells = re.findall(r"<td>([^<]*)</td>", row)
    assert cells[:3] == ["38", "36", "2"]


def test_missing_chromium_is_a_clear_error(release, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("SPIEGEL_CHROMIUM", raising=False)
    monkeypatch.delenv("BROWSER_PATH", raising=False)
    with pytest.raises(RuntimeError, match="chromium"):
        render_release_reports(
            release["dir"],
            release["warehouse"],
            release["releases"],
            practices=[("fysiotherapie", "01000003")],
            pdf=True,
        )


def test_overview_of_a_discipline_without_any_index(release, tmp_path):
    """oefentherapie with only practices below 30 patients: no funnel, but the overview renders."""
    rows = [dict(r) for r in release["rows"]]
    for r in rows:
        if r["discipline"] == "oefentherapie":
            r.update(status="insufficient_patients", behandelindex="", ci_lower="", ci_upper="", corrected_index="")
    folder = tmp_path / "releases" / PERIOD / "r1"
    _write_release(folder, PERIOD, "r1", rows)
    overview = render_national_overview(folder, release["warehouse"], tmp_path / "releases", folder / "reports")
    text = overview.read_text()
    assert 'id="chart-funnel-0"' in text and 'id="chart-funnel-1"' not in text
    row = re.search(r'data-discipline="oefentherapie">(.*?)</tr>', text, re.S).group(1)
    assert re.findall(r"<td>([^<]*)</td>", row)[:3] == ["9", "0", "9"]


# -- what a Dutch practice reads ---------------------------------------------------------
ENGLISH = re.compile(
    r"\b(unknown|male|female|chronic|non-chronic|regions?|sessions?|episodes?|missing|other|none|hidden|"
    r"release|gates?|pass|passed|blocked|ok|the|and|expected|observed|practices?|national|total)\b",
    re.I,
)
SI_SUFFIX = re.compile(r"\d+\s?[kKM]\b")  # 10k, 2 k, 1M: an axis unit a Dutch reader does not use
RUN_ON = re.compile(r"[a-zà-ÿ0-9%\)][.!?][A-ZÀ-Ý]")  # "behandelingen).Het": two sentences without a space
NUMBER = re.compile(r"\d[\d.,]*\d|\d")
DUTCH_NUMBER = re.compile(r"^\d{1,3}(\.\d{3})*(,\d+)?$|^\d+(,\d+)?$")


def _visible_text(path: Path) -> str:
    """What a reader sees of an HTML page: no script, style or title, tags as spaces."""
    page = path.read_text(encoding="utf-8")
    page = re.sub(r"(?is)<(script|style|title)\b[^>]*>.*?</\1>", " ", page)
    return " ".join(htmlmod.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def _findings(text: str) -> list[str]:
    found = [f"English {m.group(0)!r}" for m in ENGLISH.finditer(text)]
    found += [f"SI suffix {m.group(0)!r}" for m in SI_SUFFIX.finditer(text)]
    found += [f"no space {text[max(0, m.start() - 20) : m.end() + 5]!r}" for m in RUN_ON.finditer(text)]
    found += [
        f"raw number {m.group(0)!r}"
        for m in NUMBER.finditer(text)
        if "." in m.group(0) and not DUTCH_NUMBER.match(m.group(0))
    ]
    return found


def test_every_report_reads_dutch(release):
    """Every report's visible text (HTML without scripts, the PDF's words) and the national
    overview: no English word, no SI suffix, every sentence followed by a space and no
    number with a decimal point (Dutch: 1.234,5)."""
    from tests.support.pipeline import published_text

    reports = release["dir"] / "reports"
    pages = sorted(reports.glob("*/*.html")) + [release["overview"]]
    pdfs = sorted(reports.glob("*/*.pdf"))
    assert len(pages) > 40 and len(pdfs) > 40
    problems = {}
    for path in pages:
        if found := _findings(_visible_text(path)):
            problems[path.name] = found[:5]
    for path in pdfs:
        text = " ".join(published_text(path).split())
        if found := _findings(text):
            problems[path.name] = found[:5]
    assert not problems, problems
    # the end of the report and every printed page name the release as a practice does,
    # never the code version (that stays in release.json)
    text = _visible_text(reports / "fysiotherapie" / "01000003.html")
    assert (
        "Spiegelinformatie 2024 versie 1 (januari–juni), revisie 1 · gepubliceerd op 15 oktober 2024 · "
        "rekenmethode versie 1 · datakwaliteit goedgekeurd op 14 oktober 2024." in text
    )
    pdf = " ".join(published_text(reports / "fysiotherapie" / "01000003.pdf").split())
    assert "AGB 01000003 · 2024 versie 1 (januari–juni), revisie 1 · gepubliceerd op 15 oktober 2024" in pdf
    for path in [*pages, *pdfs]:
        assert "abc1234" not in published_text(path), path
    # the print version's practice label is printed once (no stroked twin of the text)
    assert pdf.count("Uw praktijk: ") == 1


def _dump_dom(url: str) -> str:
    profile = Path(subprocess.run(["mktemp", "-d"], capture_output=True, text=True).stdout.strip())
    try:
        proc = subprocess.run(
            [
                find_chromium(),
                *CHROMIUM_FLAGS,
                f"--user-data-dir={profile}",
                "--virtual-time-budget=5000",
                "--dump-dom",
                url,
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    assert "main-svg" in proc.stdout, proc.stderr[-2000:]
    return proc.stdout


def test_interactive_charts_speak_dutch(release):
    """The plotly charts as a browser draws them: axis numbers with a thousands dot and no
    SI suffix (10.000, never 10k), percentages as "20 %", the modebar's buttons in Dutch."""
    for page in (release["dir"] / "reports" / "fysiotherapie" / "01000005.html", release["overview"]):
        dom = _dump_dom(page.as_uri())
        texts = [
            " ".join(htmlmod.unescape(re.sub(r"<[^>]+>", "", t)).split())
            for t in re.findall(r"<text[^>]*>(.*?)</text>", dom, re.S)
        ]
        assert len(texts) > 20, page
        joined = " | ".join(texts)
        assert not [t for t in texts if SI_SUFFIX.search(t)], joined
        assert not [t for t in texts if re.fullmatch(r"\d{4,}", t.replace("\u2212", ""))], joined  # 1.000, not 1000
        assert not _findings(joined), _findings(joined)
        titles = re.findall(r'data-title="([^"]+)"', dom)
        assert (
            titles and "Zoomen" in titles and not [t for t in titles if re.search(r"Download|Zoom |Reset|Share", t)]
        ), titles
    dom = _dump_dom((release["dir"] / "reports" / "fysiotherapie" / "01000005.html").as_uri())
    texts = [htmlmod.unescape(t) for t in re.findall(r"<text[^>]*>([^<]*)</text>", dom)]
    assert "1.000" in texts  # the funnel's log axis, 1-2-5 series
    assert any(re.fullmatch(r"\d+\u00a0%", t) for t in texts)  # the case-mix axes


def test_region_names_come_from_the_dcsph_seed(monkeypatch):
    """A region with a verified name reads "Lokalisatie 31: <name>", one without the code
    alone; XX is "onbekende lokalisatie". The seed holds two-digit codes, each once."""
    import orchestration.core.seeds as seeds
    from orchestration.core.settings import SEEDS_DIR
    from reports.labels import category_label, region_label

    with open(SEEDS_DIR / "dcsph_regions.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    codes = [r["region_code"] for r in rows]
    assert rows and all(re.fullmatch(r"[0-9]{2}", c) for c in codes) and len(set(codes)) == len(codes)
    assert seeds.dcsph_region_names() == {r["region_code"]: r["region_name"] for r in rows if r["region_name"]}
    monkeypatch.setattr(seeds, "dcsph_region_names", lambda: {"31": "Voorbeeldregio"})
    assert category_label("body_region", "31") == "Lokalisatie 31: Voorbeeldregio"
    assert category_label("body_region", "33") == "Lokalisatie 33"
    assert category_label("body_region", "XX") == "Onbekende lokalisatie"
    assert region_label("XX", capital=False) == "onbekende lokalisatie"


def test_numbers_on_the_printed_axes_are_dutch():
    from reports import svg
    from reports.labels import fmt_tick, fmt_trim

    assert fmt_tick(10000) == "10.000" and fmt_tick(2.5, 2.5) == "2,5" and fmt_tick(5, 2.5) == "5,0"
    assert fmt_trim(99.8) == "99,8" and fmt_trim(95.0) == "95" and fmt_trim(-0.5) == "-0,5"
    assert [t for _, t in svg._tick_labels(0, 12000, 6)] == [
        "0",
        "2.000",
        "4.000",
        "6.000",
        "8.000",
        "10.000",
        "12.000",
    ]
    assert [t for _, t in svg._tick_labels(0, 10, 4)] == ["0,0", "2,5", "5,0", "7,5", "10,0"]
    chart = svg.history(
        [
            {"label": "2024 v1", "bi": 118.5, "lo": 100.0, "hi": 137.0, "corrected": 100.0},
            {"label": "2024 v2", "bi": None, "lo": None, "hi": None, "corrected": None},
        ]
    )
    assert ">119<" in chart  # whole points rounded half up, as the texts say them
