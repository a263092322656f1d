"""An insurer user in a real browser (Playwright driving Debian's Chromium) against the portal
served by ``spiegel portal serve`` (gunicorn): a visitor writes to two insurers through the
contact form; the insurer user logs in, opens /verzekeraar/ from the header, filters the
index table, downloads it as CSV (the bytes the release published, or its matching lines),
opens the national overview with its assets, and reads the message addressed to their
insurer, not the other one. Screenshots go to test-artifacts/portal/."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.dutch import INFORMAL
from tests.support.release_factory import index_row, make_release
from tests.support.served import REPO_ROOT, portal_env, served_portal, spiegel_portal_batch

ARTIFACTS = REPO_ROOT / "test-artifacts" / "portal"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
INSURER, INSURER_PASSWORD = "inkoop@cz.nl", "Inkoop-wachtwoord-2024"
PERIOD = "2024-v3"
ONE_LINE = 70  # px, as in test_portal_browser: the header's nav on one line

# the operators' act (actions.appoint_insurer_user) in a process of its own on the served data
# directory: this test process's Django belongs to the in-process tests
APPOINT = """
import sys
from pathlib import Path
from portal import operations
operations._setup(Path(sys.argv[1]))
from django.contrib.auth import get_user_model
from portal.access import actions
user = get_user_model().objects.get(email=sys.argv[2])
assert actions.appoint_insurer_user(user, sys.argv[3], actor="operator (test)")
"""

OVERVIEW = (
    '<!DOCTYPE html>\n<html lang="nl"><head><meta charset="utf-8"><title>Landelijk overzicht</title>\n'
    '<link rel="stylesheet" href="spiegel.css">\n</head><body class="screen">\n'
    f'<h1>Landelijke behandelindex · {PERIOD}</h1><div id="chart"></div>\n'
    '<script src="plotly.min.js"></script>\n<script src="spiegel.js"></script>\n</body></html>\n'
)


def practices(period: str) -> list[dict]:
    rows = []
    for i in range(12):
        agb = f"{50000000 + i * 11}"
        rows.append(index_row(period, "fysiotherapie", agb, index=85.0 + 3 * i, patients=40 + 5 * i))
        if i % 3 == 0:
            rows.append(index_row(period, "oefentherapie", agb, index=100.0 + i, patients=20 if i == 9 else 60))
    return rows


@pytest.fixture(scope="module")
def insurer_site(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("insurer-browser") / "data"
    releases = data_dir / "releases"
    releases.mkdir(parents=True)
    for period in ("2024-v2", PERIOD):
        make_release(releases, period, "r1", practices(period))
    (releases / PERIOD / "r1" / "reports" / "national_overview.html").write_text(OVERVIEW, encoding="utf-8")
    (created,) = spiegel_portal_batch(
        data_dir, [(["add-account", "--email", INSURER, "--name", "Inkoper CZ"], INSURER_PASSWORD + "\n")]
    )
    assert created.returncode == 0, created.stderr
    appointed = subprocess.run(
        [sys.executable, "-c", APPOINT, str(data_dir), INSURER, "cz"],
        cwd=REPO_ROOT,
        env=portal_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert appointed.returncode == 0, appointed.stderr
    with served_portal(data_dir, log_name="serve-insurer.log") as base:
        yield data_dir, base


def send_policy_message(page, base: str, insurer: str, subject: str, text: str) -> None:
    """What a practice does on /contact/: a question on policy and content for one insurer."""
    page.goto(base + "/contact/")
    page.check("input[name=topic][value=beleid]")
    page.select_option("select[name=insurer]", insurer)
    page.fill("input[name=name]", "Els Bakker")
    page.fill("input[name=email]", "els@fysio-bakker.nl")
    page.fill("input[name=practice_agb]", "50000011")
    page.fill("input[name=subject]", subject)
    page.fill("textarea[name=message]", text)
    page.click("form.contact-form button[type=submit]")
    page.wait_for_url(re.compile(r".*/contact/.+"))


def table_rows(page) -> list[tuple[str, str]]:
    return [
        (row.get_attribute("data-agb"), row.get_attribute("data-discipline"))
        for row in page.locator("table.index-rows tbody tr").all()
    ]


def test_an_insurer_user_filters_downloads_and_reads_their_messages(insurer_site, browser):
    data_dir, base = insurer_site
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    published = data_dir / "releases" / PERIOD / "r1" / "behandelindex.csv"

    # a practice writes to CZ and to VGZ
    visitor = browser.new_context(locale="nl-NL")
    page = visitor.new_page()
    send_policy_message(page, base, "cz", "Contractering fysiotherapie 2025", "Hoe telt de index mee?")
    send_policy_message(page, base, "vgz", "Vraag voor VGZ", "Dit bericht is niet voor CZ.")
    visitor.close()

    context = browser.new_context(accept_downloads=True, locale="nl-NL", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(base + "/accounts/login/")
    page.fill("input[name=login]", INSURER)
    page.fill("input[name=password]", INSURER_PASSWORD)
    page.click("form button[type=submit]:not(.inline button)")
    # an insurer user lands on their own page after logging in
    page.wait_for_url(re.compile(r".*/verzekeraar/$"))

    # the header leads an insurer user to their page too, on one line at 1280 px
    nav = page.locator("header nav")
    assert nav.locator("a", has_text="Mijn praktijken").count() == 0
    assert nav.locator('a[href="/accounts/tokens/"]').inner_text() == "API-sleutels"
    assert nav.bounding_box()["height"] < ONE_LINE
    nav.locator('a[href="/verzekeraar/"]').click()
    page.wait_for_url(re.compile(r".*/verzekeraar/$"))
    assert page.locator("h1").inner_text() == "Spiegelinformatie voor CZ"
    text = page.locator("main").inner_text()
    assert not INFORMAL.search(text)
    assert [r.get_attribute("data-period") for r in page.locator("table.periods tbody tr").all()] == [PERIOD, "2024-v2"]
    every = practices(PERIOD)
    assert table_rows(page) == sorted((r["practice_agb"], r["discipline"]) for r in every)
    assert page.locator("p.count").get_attribute("data-total") == str(len(every))

    # filter: oefentherapie, sorted by the corrected index, highest first
    page.select_option("select[name=discipline]", "oefentherapie")
    page.select_option("select[name=sort]", "corrected_index")
    page.select_option("select[name=order]", "desc")
    page.click("form.index-filter button[type=submit]")
    page.wait_for_url(re.compile(r".*discipline=oefentherapie.*"))
    oefen = [r for r in every if r["discipline"] == "oefentherapie"]
    with_index = sorted((r for r in oefen if r["corrected_index"]), key=lambda r: -float(r["corrected_index"]))
    without = [r for r in oefen if not r["corrected_index"]]
    assert table_rows(page) == [(r["practice_agb"], "oefentherapie") for r in with_index + without]
    assert page.locator("p.count").inner_text().startswith(f"{len(oefen)} van de {len(every)} rijen")
    first = page.locator("table.index-rows tbody tr").first
    assert first.locator("[data-index]").inner_text() == "106 (98–114)"  # index 106.0, whole points
    assert first.locator("[data-corrected]").inner_text() == "98"
    page.screenshot(path=str(ARTIFACTS / "insurer-index-table.png"), full_page=True)

    # the download of the selection: the published file's header and matching lines, sorted as shown
    with page.expect_download() as info:
        page.click("a[data-download=csv]")
    assert info.value.suggested_filename == f"behandelindex-{PERIOD}-r1-selectie.csv"
    lines = published.read_text(encoding="utf-8").splitlines(keepends=True)
    by_key = {(r["practice_agb"], r["discipline"]): line for r, line in zip(every, lines[1:])}
    expected = lines[0] + "".join(by_key[(r["practice_agb"], "oefentherapie")] for r in with_index + without)
    assert Path(info.value.path()).read_text(encoding="utf-8") == expected

    # the whole table: the published file byte for byte
    page.click("text=Filter wissen")
    page.wait_for_url(re.compile(rf".*/verzekeraar/{PERIOD}/$"))
    assert len(table_rows(page)) == len(every)
    with page.expect_download() as info:
        page.click("a[data-download=csv]")
    assert info.value.suggested_filename == f"behandelindex-{PERIOD}-r1.csv"
    assert Path(info.value.path()).read_bytes() == published.read_bytes()

    # the national overview runs with its stylesheet and scripts served behind the insurer check
    with context.expect_page() as opened:
        page.locator("section.index-table a", has_text="Het landelijk overzicht").click()
    overview = opened.value
    failed = []
    overview.on("response", lambda r: failed.append(r.url) if r.status >= 400 else None)
    overview.wait_for_selector("text=grafiek geladen: plotly")
    assert overview.url == f"{base}/verzekeraar/{PERIOD}/landelijk.html"
    assert overview.evaluate("getComputedStyle(document.body).color") == "rgb(18, 52, 86)"
    assert failed == []
    overview.close()

    # the messages: the one to CZ, not the one to VGZ
    page.click("text=Berichten aan CZ")
    page.wait_for_url(re.compile(r".*/verzekeraar/berichten/$"))
    articles = page.locator("article.contact-message")
    assert articles.count() == 1
    message = articles.first
    assert message.locator("[data-subject]").inner_text() == "Contractering fysiotherapie 2025"
    assert message.locator("[data-sender]").inner_text() == "Els Bakker"
    assert message.locator("[data-email]").inner_text() == "els@fysio-bakker.nl"
    assert message.locator("[data-agb]").inner_text() == "50000011"
    assert message.locator("[data-text]").inner_text().strip() == "Hoe telt de index mee?"
    assert "Vraag voor VGZ" not in page.locator("main").inner_text()
    page.screenshot(path=str(ARTIFACTS / "insurer-messages.png"), full_page=True)

    # and a practice's report stays out of reach
    assert page.goto(f"{base}/praktijk/50000011/{PERIOD}/fysiotherapie.pdf").status == 404
    assert page.goto(f"{base}/praktijk/50000011/{PERIOD}/fysiotherapie.html").status == 404
    context.close()
