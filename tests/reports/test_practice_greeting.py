"""A report greets its practice by the name and place of the release's practices.csv
("Fysiotherapie De Linde, Utrecht (AGB 01000001)"), and a practice the register does not
know by its AGB code ("Praktijk met AGB-code 01000002"); a release without practices.csv
(published before the register) greets every practice by its AGB code."""

from __future__ import annotations

import csv
import html as htmlmod
import re
from pathlib import Path

import pytest

from reports import render_release_reports
from reports.context import practice_identity
from tests.reports.test_reports import PERIOD, _index_rows, _warehouse, _write_release

NAMED, UNNAMED = "01000001", "01000002"


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("greeting")
    rows = _index_rows(PERIOD, seed=99)
    folder = root / "releases" / PERIOD / "r1"
    _write_release(folder, PERIOD, "r1", rows)
    with open(folder / "practices.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["practice_agb", "practice_name", "place"])
        writer.writerow([NAMED, "Fysiotherapie De Linde", "Utrecht"])
        writer.writerow([UNNAMED, "", ""])  # in the index, not in the register
    _warehouse(root / "warehouse.duckdb", rows)
    render_release_reports(
        folder,
        root / "warehouse.duckdb",
        root / "releases",
        practices=[("fysiotherapie", NAMED), ("fysiotherapie", UNNAMED)],
        pdf=False,
    )
    return folder / "reports" / "fysiotherapie"


def _heading(path: Path) -> str:
    match = re.search(r"<h1>(.*?)</h1>", path.read_text(encoding="utf-8"), re.S)
    assert match, path
    return " ".join(htmlmod.unescape(re.sub(r"<[^>]+>", "", match.group(1))).split())


def test_a_report_greets_its_practice_by_name_and_place(rendered):
    assert _heading(rendered / f"{NAMED}.html") == f"Fysiotherapie De Linde, Utrecht (AGB {NAMED})"
    page = (rendered / f"{NAMED}.html").read_text(encoding="utf-8")
    assert f'data-field="practice_agb">{NAMED}<' in page  # the AGB stays where scripts read it


def test_a_practice_missing_from_the_register_is_greeted_by_its_agb(rendered):
    assert _heading(rendered / f"{UNNAMED}.html") == f"Praktijk met AGB-code {UNNAMED}"
    assert "Fysiotherapie De Linde" not in (rendered / f"{UNNAMED}.html").read_text(encoding="utf-8")


def test_a_release_without_practices_csv_greets_by_agb(tmp_path):
    assert practice_identity(tmp_path, NAMED)["greeting"] == f"Praktijk met AGB-code {NAMED}"
    (tmp_path / "practices.csv").write_text(f"practice_agb,practice_name,place\n{NAMED},De Eik,\n", encoding="utf-8")
    assert practice_identity(tmp_path, NAMED)["greeting"] == f"De Eik (AGB {NAMED})"  # no place: the name alone
