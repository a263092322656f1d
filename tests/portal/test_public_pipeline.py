"""The 2022 case on the real pipeline, seen in a browser.

The generator plants the fault (VGZ's May 2022 missing from 2022-v2); the platform runs,
signs off and publishes 2022-v1 and judges 2022-v2 blocked, long past its planned date.
The calendar must then show 2022-v1 as gepubliceerd and 2022-v2 as uitgesteld without
naming the insurer; after VGZ's redelivery, a run, a sign-off and publishing, 2022-v2 is
gepubliceerd. Screenshots go to test-artifacts/portal/. The method page is checked
against the reference table the pipeline published.

Costs three period runs and two publications (a few minutes on two busy cores).
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest

from orchestration.core.seeds import insurers
from orchestration.core.settings import REPO_ROOT
from tests.support.pipeline import spiegel

pytestmark = pytest.mark.slow

ARTIFACTS = REPO_ROOT / "test-artifacts" / "portal"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
FAULT = "missing-month:insurer=vgz,period=2022-v2,month=2022-05"


@pytest.fixture(scope="session")
def world(tmp_path_factory) -> Path:
    """2022 generated with the fault; 2022-v1 run, signed off and published; 2022-v2 run (blocked).

    Session-scoped although only this module uses it: pytest-django runs the live_server
    (transactional) test after every other test, which splits this module in two, and a
    module-scoped world was built twice (about 4 minutes each)."""
    data = tmp_path_factory.mktemp("public_pipeline") / "data"
    assert spiegel(data, "generate", "--years", "2022", "--practices", "40", "--seed", "7", "--fault", FAULT) == 0
    assert spiegel(data, "run", "--period", "2022-v1") == 0
    assert spiegel(data, "signoff", "--period", "2022-v1", "--by", "anna", "--comment", "complete") == 0
    assert spiegel(data, "publish", "--period", "2022-v1") == 0
    assert spiegel(data, "run", "--period", "2022-v2") == 0  # a blocked period is a verdict, exit 0
    assert spiegel(data, "signoff", "--period", "2022-v2", "--by", "anna", "--comment", "too early") != 0
    return data


@pytest.fixture
def portal_on(settings, world):
    settings.DATA_DIR = world
    settings.RELEASES_DIR = world / "releases"
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    return world


def insurer_words() -> list[str]:
    return sorted({w for i in insurers() for w in (i.insurer_id, i.insurer_name, i.insurer_id.replace("_", " "))})


def no_insurer_named(text: str) -> None:
    for word in insurer_words():
        assert not re.search(rf"\b{re.escape(word)}\b", text, re.I), f"the page names {word!r}"


def test_the_method_page_matches_the_published_reference_table(client, portal_on):
    releases = portal_on / "releases"
    html = client.get("/methode/").content.decode()
    example = re.search(
        r'id="rekenvoorbeeld" data-period="([^"]+)" data-revision="([^"]+)" '
        r'data-discipline="([^"]+)"',
        html,
    )
    period, revision, discipline = example.groups()
    published = sorted((p.name for p in releases.iterdir() if re.match(r"^[0-9]{4}-v[1-3]$", p.name)), reverse=True)
    assert period == published[0]
    assert revision == sorted((p.name for p in (releases / period).iterdir()), key=lambda r: int(r[1:]))[-1]
    table = releases / period / revision / "reference_strata.csv"
    import csv

    with open(table, newline="", encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if r["discipline"] == discipline]
    cells = sorted((r for r in rows if r["row_type"] == "cell"), key=lambda r: (-int(r["episodes"]), r["cell_id"]))
    assert sum(int(c["episodes"]) for c in cells) > 1000  # a real national table, not a stub

    def shown(name: str, scope: str = html) -> str:
        return re.search(rf'data-field="{name}">([^<]*)<', scope).group(1)

    def nl(value: float, digits: int) -> str:
        return f"{value:,.{digits}f}".replace(",", " ").replace(".", ",").replace(" ", ".")

    national = sum(int(c["episodes"]) for c in cells)
    assert shown("national_episodes") == nl(national, 0)
    assert shown("national_mean") == nl(
        sum(int(c["episodes"]) * float(c["mean_sessions"]) for c in cells) / national, 2
    )
    expected = variance = 0.0
    for cell, n in zip(cells[:3], (20, 12, 8)):
        row = re.search(rf'<tr data-cell="{re.escape(cell["cell_id"])}">(.*?)</tr>', html, re.S).group(1)
        assert shown("mean", row) == nl(float(cell["mean_sessions"]), 2)
        assert shown("expected", row) == nl(n * float(cell["mean_sessions"]), 1)
        expected += n * float(cell["mean_sessions"])
        variance += n * float(cell["variance_sessions"])
    observed = round(expected * 1.1)
    index, se = 100 * observed / expected, 100 * math.sqrt(variance) / expected
    assert shown("expected_total") == nl(expected, 1)
    assert shown("index") == nl(index, 1)
    assert shown("ci_lower") == nl(max(0.0, index - 1.959964 * se), 1)
    assert shown("ci_upper") == nl(index + 1.959964 * se, 1)
    # the stratum used in the lookup example exists in the table with that cell's numbers
    cell_id = shown("stratum_cell")
    stratum = [r for r in rows if r["row_type"] == "stratum" and r["cell_id"] == cell_id]
    assert stratum and shown("stratum_mean") == nl(float(stratum[0]["mean_sessions"]), 2)
    # and the download is that file, byte for byte
    download = client.get(f"/methode/{period}/reference_strata.csv")
    assert download.status_code == 200 and b"".join(download.streaming_content) == table.read_bytes()


def calendar_rows(page) -> dict[str, tuple[str, str]]:
    found = {}
    for row in page.locator("tr[data-period]").all():
        found[row.get_attribute("data-period")] = (row.get_attribute("data-state"), row.inner_text())
    return found


def test_the_2022_case_in_the_browser(live_server, portal_on, monkeypatch):
    from playwright.sync_api import sync_playwright

    data = portal_on
    status = data / "releases" / "_status" / "2022-v2.json"
    record = json.loads(status.read_text(encoding="utf-8"))
    assert record["verdict"] == "blocked" and record["blocking_reasons"] >= 1
    no_insurer_named(status.read_text(encoding="utf-8"))

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's loop runs in this thread
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(java_script_enabled=False)  # the calendar needs no script
            page.goto(f"{live_server.url}/kalender/")
            assert page.locator("h1").inner_text() == "Publicatiekalender"
            rows = calendar_rows(page)
            assert rows["2022-v1"][0] == "gepubliceerd" and "Gepubliceerd" in rows["2022-v1"][1]
            assert "(revisie r1)" in rows["2022-v1"][1]
            assert rows["2022-v2"][0] == "uitgesteld" and "Uitgesteld" in rows["2022-v2"][1]
            assert (
                "de gegevens van een van de zorgverzekeraars konden nog niet worden gegarandeerd" in rows["2022-v2"][1]
            )
            no_insurer_named(page.locator("body").inner_text())
            page.screenshot(path=str(ARTIFACTS / "kalender-2022-v2-uitgesteld.png"), full_page=True)

            # VGZ redelivers; the platform runs, signs off and publishes 2022-v2
            assert spiegel(data, "generate", "--redeliver", "vgz:2022-v2") == 0
            assert spiegel(data, "run", "--period", "2022-v2") == 0
            assert json.loads(status.read_text(encoding="utf-8"))["verdict"] == "ready"
            assert spiegel(data, "signoff", "--period", "2022-v2", "--by", "anna", "--comment", "May redelivered") == 0
            assert spiegel(data, "publish", "--period", "2022-v2") == 0

            page.reload()
            rows = calendar_rows(page)
            assert rows["2022-v2"][0] == "gepubliceerd" and "(revisie r1)" in rows["2022-v2"][1]
            assert rows["2022-v1"][0] == "gepubliceerd"
            assert "Uitgesteld" not in rows["2022-v2"][1]
            page.screenshot(path=str(ARTIFACTS / "kalender-2022-v2-gepubliceerd.png"), full_page=True)
        finally:
            browser.close()
    assert (ARTIFACTS / "kalender-2022-v2-uitgesteld.png").stat().st_size > 10_000
    assert (ARTIFACTS / "kalender-2022-v2-gepubliceerd.png").stat().st_size > 10_000
