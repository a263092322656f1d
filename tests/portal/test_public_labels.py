"""The public labels page (/labels/): per shown release, newest first, the insurers that
delivered to it and their labels (UZOVI codes) as its labels.csv records them; a release
from before labels.csv says they were not recorded; a release no longer shown is not there."""

from __future__ import annotations

import csv
import re

import pytest

from tests.support.release_factory import index_row, make_release

pytestmark = pytest.mark.django_db

COLUMNS = ["insurer_id", "insurer_name", "uzovi", "label_name"]
# the 6 most recent periods are shown; 2023-v1 is the seventh, so it is not
PERIODS = ["2023-v1", "2023-v2", "2023-v3", "2024-v1", "2024-v2", "2024-v3", "2025-v1"]


def _write_labels(folder, rows: list[tuple[str, str, str, str]]) -> None:
    """labels.csv as publish writes it (release_factory writes none)."""
    with open(folder / "labels.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(COLUMNS)
        writer.writerows(rows)


@pytest.fixture
def labelled_releases(releases_root):
    for period in PERIODS:
        folder = make_release(releases_root, period, "r1", [index_row(period, "fysiotherapie", "11111111")])
        if period == "2023-v1":  # not shown
            _write_labels(folder, [("vgz", "VGZ", "3001", "Verdwenen Label")])
        elif period == "2024-v1":  # published before releases recorded their labels: no labels.csv
            pass
        elif period == "2025-v1":
            _write_labels(
                folder,
                [
                    ("cz", "CZ", "9018", "CZ tweede label"),
                    ("cz", "CZ", "9664", "CZ"),
                    ("vgz", "VGZ", "7095", "VGZ"),
                    ("zilveren_kruis", "Zilveren Kruis", "3311", "Zilveren Kruis & Co"),
                ],
            )
        else:
            _write_labels(folder, [("vgz", "VGZ", "7095", "VGZ"), ("vgz", "VGZ", "3399", f"VGZ oud {period}")])
    # a newer revision of 2024-v3 records other labels: the newest revision is the one shown
    newer = make_release(releases_root, "2024-v3", "r2", [index_row("2024-v3", "fysiotherapie", "11111111")])
    _write_labels(newer, [("menzis", "Menzis", "3332", "Menzis")])
    return releases_root


def _sections(html: str) -> dict[str, str]:
    """The page's section per period, in page order."""
    found = re.findall(r'<section class="release-labels"[^>]*data-period="([^"]+)">(.*?)</section>', html, re.S)
    return dict(found)


def test_the_labels_of_each_shown_release_anonymously(client, labelled_releases):
    response = client.get("/labels/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "<h1>Zorgverzekeraars en hun labels</h1>" in html
    sections = _sections(html)
    assert list(sections) == ["2025-v1", "2024-v3", "2024-v2", "2024-v1", "2023-v3", "2023-v2"]  # newest first

    newest = sections["2025-v1"]
    rows = re.findall(r'data-insurer="([^"]+)" data-uzovi="([0-9]{4})"', newest)
    assert rows == [("cz", "9018"), ("cz", "9664"), ("vgz", "7095"), ("zilveren_kruis", "3311")]
    assert "CZ tweede label" in newest and "Zilveren Kruis &amp; Co" in newest  # escaped, as any text
    assert newest.count('rowspan="2"') == 1  # CZ's two labels under one name

    # the newest revision of 2024-v3 (r2), not r1's labels
    assert "Menzis" in sections["2024-v3"] and "VGZ oud 2024-v3" not in html
    assert "revisie r2" in sections["2024-v3"]
    assert "VGZ oud 2024-v2" in sections["2024-v2"] and "3399" in sections["2024-v2"]

    # a release without labels.csv says so, and shows no table
    assert "labels niet vastgelegd" in sections["2024-v1"] and "<table" not in sections["2024-v1"]

    # the seventh period is not shown, nor anything of it
    assert "2023-v1" not in html and "Verdwenen Label" not in html and "3001" not in html


def test_without_releases_the_page_says_so(client, releases_root):
    response = client.get("/labels/")
    assert response.status_code == 200
    assert "Er is nog geen versie gepubliceerd." in response.content.decode()


def test_the_method_page_links_to_it(client, releases_root):
    assert 'href="/labels/"' in client.get("/methode/").content.decode()
