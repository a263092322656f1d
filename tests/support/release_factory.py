"""Hand-made published releases for the portal's tests, in the layout of cli.md.

The portal reads only files under ``releases/``, so a test builds exactly the periods,
revisions, practices and report files it needs; every report file has bytes of its
own (the practice, period, revision and discipline are written into it) so a test can
tell which file was served.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

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


def pdf_bytes(agb: str, period: str, revision: str, discipline: str) -> bytes:
    """A small, valid-looking PDF whose bytes name what it is."""
    return (
        b"%PDF-1.4\n% Spiegel test report\n"
        + f"% {agb} {period} {revision} {discipline}\n".encode()
        + bytes(range(256))
        + b"\n%%EOF\n"
    )


def html_text(agb: str, period: str, revision: str, discipline: str) -> str:
    """A report page shaped like reports/templates/report.html.j2 (same asset references)."""
    return (
        f'<!DOCTYPE html>\n<html lang="nl"><head><meta charset="utf-8">'
        f"<title>Spiegelinformatie {discipline} · AGB {agb} · {period}</title>\n"
        f'<link rel="stylesheet" href="../spiegel.css">\n</head><body class="screen">'
        f'<h1>{discipline} · praktijk <span data-field="practice_agb">{agb}</span></h1>'
        f'<p data-field="release">{period} {revision}</p>\n'
        f'<div id="chart"></div>\n'
        f'<script type="application/json" id="spiegel-data">{{"agb": "{agb}"}}</script>\n'
        f'<script src="../plotly.min.js"></script>\n<script src="_funnel.js"></script>\n'
        f'<script src="../spiegel.js"></script>\n</body></html>\n'
    )


def index_row(period: str, discipline: str, agb: str, *, patients: int = 120, index: float = 100.0) -> dict:
    """A row of behandelindex.csv with the full precision the method publishes (the
    interval 7.6123… points either side; the corrected index is its lower bound)."""
    ok = patients >= 30
    half_width = 7.612345678901
    return {
        "period": period,
        "discipline": discipline,
        "practice_agb": agb,
        "status": "ok" if ok else "insufficient_patients",
        "patients": str(patients),
        "episodes": str(patients + 10),
        "sessions": str(patients * 9),
        "expected_sessions": f"{patients * 9 / index:.2f}" if ok else "",
        "behandelindex": repr(float(index)) if ok else "",
        "ci_lower": repr(index - half_width) if ok else "",
        "ci_upper": repr(index + half_width) if ok else "",
        "corrected_index": repr(index - half_width) if ok else "",
    }


def make_release(
    releases: Path,
    period: str,
    revision: str,
    rows: list[dict],
    *,
    published_at: str = "2026-11-01T10:00:00+00:00",
    reports: bool = True,
) -> Path:
    """``releases/<period>/<revision>/`` with behandelindex.csv, release.json and, for every
    row with status ok, the practice's PDF and HTML report (plus the shared assets)."""
    folder = releases / period / revision
    reports_dir = folder / "reports"
    reports_dir.mkdir(parents=True)
    with open(folder / "behandelindex.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    (folder / "reference_strata.csv").write_text("period,discipline\n", encoding="utf-8")
    if reports:
        (reports_dir / "plotly.min.js").write_text("window.Plotly = {newPlot: function () {}};\n", encoding="utf-8")
        (reports_dir / "spiegel.js").write_text(
            "document.getElementById('chart').textContent = 'grafiek geladen: ' + "
            "(window.Plotly ? 'plotly' : '-') + (window.SPIEGEL_FUNNEL ? ' funnel' : '');\n",
            encoding="utf-8",
        )
        (reports_dir / "spiegel.css").write_text("body.screen { color: #123456; }\n", encoding="utf-8")
        for row in rows:
            disc_dir = reports_dir / row["discipline"]
            disc_dir.mkdir(exist_ok=True)
            (disc_dir / "_funnel.js").write_text("window.SPIEGEL_FUNNEL = {n: 1};\n", encoding="utf-8")
            if row["status"] != "ok":
                continue
            agb, disc = row["practice_agb"], row["discipline"]
            (disc_dir / f"{agb}.pdf").write_bytes(pdf_bytes(agb, period, revision, disc))
            (disc_dir / f"{agb}.html").write_text(html_text(agb, period, revision, disc), encoding="utf-8")
    (folder / "release.json").write_text(
        json.dumps({"period": period, "revision": revision, "published_at": published_at}), encoding="utf-8"
    )
    return folder
