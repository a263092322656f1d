"""The method page (/methode/): its numbers come from the published reference
table, and each published period's table is downloadable as published.

A hand-made table here, so every number can be checked exactly; the same checks on a
table the real pipeline published are in tests/portal/test_public_pipeline.py.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re

import pytest

from tests.support.release_factory import index_row, make_release

pytestmark = pytest.mark.django_db

HEADER = (
    "period,discipline,row_type,cell_id,level,age_band,sex,body_region,chronic,episodes,mean_sessions,"
    "variance_sessions\n"
)
REFERENCE = HEADER + "".join(
    [
        # cells: the three largest fysiotherapie cells are L0/..70.., L1/30/chronic, L2/non_chronic
        "2024-v1,fysiotherapie,cell,L0/18-34/2/70/non_chronic,L0,18-34,2,70,false,400,6.25,2.5\n",
        "2024-v1,fysiotherapie,cell,L1/30/chronic,L1,,,30,true,120,30.5,66.75\n",
        "2024-v1,fysiotherapie,cell,L2/non_chronic,L2,,,,false,90,7.125,12.0\n",
        "2024-v1,fysiotherapie,cell,L3,L3,,,,,31,9.0,20.0\n",
        "2024-v1,oefentherapie,cell,L3,L3,,,,,40,11.0,30.0\n",
        # strata: which cell each L0 stratum belongs to
        "2024-v1,fysiotherapie,stratum,L0/18-34/2/70/non_chronic,L0,18-34,2,70,false,400,6.25,2.5\n",
        "2024-v1,fysiotherapie,stratum,L1/30/chronic,L1,65-74,1,30,true,70,30.5,66.75\n",
        "2024-v1,fysiotherapie,stratum,L1/30/chronic,L1,75+,2,30,true,50,30.5,66.75\n",
        "2024-v1,fysiotherapie,stratum,L2/non_chronic,L2,50-64,1,40,false,90,7.125,12.0\n",
        "2024-v1,fysiotherapie,stratum,L3,L3,0-17,U,XX,false,31,9.0,20.0\n",
        "2024-v1,oefentherapie,stratum,L3,L3,35-49,2,50,false,40,11.0,30.0\n",
    ]
)


@pytest.fixture(autouse=True)
def plain_static_files(settings):
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


def nl(value: float, digits: int) -> str:
    """Dutch notation, written independently of the page's filter."""
    whole, _, fraction = f"{value:.{digits}f}".partition(".")
    groups = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    return ".".join([whole, *groups]) + ("," + fraction if fraction else "")


def field(html: str, name: str, scope: str = "") -> str:
    match = re.search(rf'{scope}.*?data-field="{name}">([^<]*)<', html, re.S)
    assert match, name
    return match.group(1)


@pytest.fixture
def published(releases_root):
    old = make_release(
        releases_root, "2023-v3", "r1", [index_row("2023-v3", "fysiotherapie", "12345678")], reports=False
    )
    (old / "reference_strata.csv").write_text(REFERENCE.replace("2024-v1", "2023-v3"), encoding="utf-8")
    make_release(releases_root, "2024-v1", "r1", [index_row("2024-v1", "fysiotherapie", "12345678")], reports=False)
    newest = make_release(
        releases_root,
        "2024-v1",
        "r2",
        [index_row("2024-v1", "fysiotherapie", "12345678")],
        published_at="2026-11-20T08:00:00+00:00",
        reports=False,
    )
    (newest / "reference_strata.csv").write_text(REFERENCE, encoding="utf-8")
    return newest


def test_the_worked_example_is_computed_from_the_published_table(client, published):
    html = client.get("/methode/").content.decode()
    assert 'data-period="2024-v1" data-revision="r2" data-discipline="fysiotherapie"' in html
    # national figures of the discipline: all its cells
    assert field(html, "national_episodes") == "641"
    assert field(html, "national_mean") == nl((400 * 6.25 + 120 * 30.5 + 90 * 7.125 + 31 * 9.0) / 641, 2)
    # the lookup: the largest stratum of the largest cell
    assert field(html, "stratum_cell") == "L0/18-34/2/70/non_chronic"
    assert field(html, "stratum_mean") == "6,25" and field(html, "stratum_variance") == "2,50"
    # the example practice: 20, 12 and 8 episodes in the three largest cells
    cells = [
        ("L0/18-34/2/70/non_chronic", 20, 6.25, 2.5),
        ("L1/30/chronic", 12, 30.5, 66.75),
        ("L2/non_chronic", 8, 7.125, 12.0),
    ]
    for cell_id, n, mean, var in cells:
        row = re.search(rf'<tr data-cell="{re.escape(cell_id)}">(.*?)</tr>', html, re.S).group(1)
        assert field(row, "episodes") == str(n)
        assert field(row, "mean") == nl(mean, 2)
        assert field(row, "expected") == nl(n * mean, 1)
        assert field(row, "variance_sum") == nl(n * var, 1)
    expected = sum(n * mean for _, n, mean, _ in cells)  # 125 + 366 + 57 = 548
    variance = sum(n * var for _, n, _, var in cells)  # 50 + 801 + 96 = 947
    observed = round(expected * 1.10)
    index = 100 * observed / expected
    se = 100 * math.sqrt(variance) / expected
    assert expected == 548.0 and variance == 947.0 and observed == 603
    assert field(html, "expected_total") == "548,0" and field(html, "variance_total") == "947,0"
    assert field(html, "observed") == "603"
    assert field(html, "index") == nl(index, 1) == "110,0"
    assert field(html, "standard_error") == nl(se, 1)
    assert field(html, "ci_lower") == nl(index - 1.959964 * se, 1)
    assert field(html, "ci_upper") == nl(index + 1.959964 * se, 1)
    assert field(html, "corrected_index") == field(html, "ci_lower")


def test_each_published_period_links_its_newest_reference_table(client, published, releases_root):
    html = client.get("/methode/").content.decode()
    links = re.findall(r'href="(/methode/[^"]+\.csv)"', html)
    assert links == ["/methode/2024-v1/reference_strata.csv", "/methode/2023-v3/reference_strata.csv"]
    download = client.get(links[0])
    assert download.status_code == 200
    assert download["Content-Type"].startswith("text/csv")
    assert 'filename="reference_strata-2024-v1-r2.csv"' in download["Content-Disposition"]
    body = b"".join(download.streaming_content)
    assert body == (published / "reference_strata.csv").read_bytes()  # r2, not r1
    rows = list(csv.DictReader(io.StringIO(body.decode())))
    assert len(rows) == 11 and {r["period"] for r in rows} == {"2024-v1"}
    old = b"".join(client.get(links[1]).streaming_content)
    assert old == (releases_root / "2023-v3" / "r1" / "reference_strata.csv").read_bytes()


@pytest.mark.parametrize(
    "url",
    [
        "/methode/2022-v1/reference_strata.csv",  # not published
        "/methode/2024-v4/reference_strata.csv",  # not a period
        "/methode/..%2F2024-v1/reference_strata.csv",
        "/methode/2024-v1/behandelindex.csv",  # only the reference table is public
        "/methode/2024-v1/../2024-v1/reference_strata.csv",
    ],
)
def test_nothing_else_is_served(client, published, url):
    assert client.get(url).status_code == 404


def test_without_a_published_period_the_page_says_so(client, releases_root):
    html = client.get("/methode/").content.decode()
    assert "Zodra de eerste versie gepubliceerd is" in html and "Er is nog geen periode gepubliceerd." in html


def test_the_page_names_the_exclusion_window_a_published_period_left_out(client, releases_root):
    folder = make_release(
        releases_root, "2020-v3", "r1", [index_row("2020-v3", "fysiotherapie", "12345678")], reports=False
    )
    release = json.loads((folder / "release.json").read_text(encoding="utf-8"))
    release["exclusion_windows"] = [
        {"first_date": "2020-03-16", "last_date": "2020-05-24", "reason": "eerste golf COVID-19 (week 12 t/m 21)"}
    ]
    (folder / "release.json").write_text(json.dumps(release), encoding="utf-8")
    html = client.get("/methode/").content.decode()
    assert (
        "2020-v3: behandelingen van 16 maart 2020 tot en met 24 mei 2020\n    tellen niet mee "
        "(eerste golf COVID-19 (week 12 t/m 21))."
    ) in html
    assert "In de gepubliceerde versies is geen periode uitgesloten." not in html


def test_without_a_window_the_page_says_none_was_left_out(client, published):
    html = client.get("/methode/").content.decode()
    assert "In de gepubliceerde versies is geen periode uitgesloten." in html
    assert 'id="verschuiving"' in html and "uw patiëntenmix" in html
