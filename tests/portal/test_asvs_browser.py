"""The Content-Security-Policy in a real browser (Playwright driving Debian's Chromium) against
the served portal (docs/security.md, V14.4.3): every kind of page renders what it should with
no violation reported, among them the interactive report of a release the platform really
published (plotly, tests/conftest.py's ``clean_release``), Swagger UI, Redoc, the browsable
API, the admin and the TOTP set-up page with its QR code.

A violation is what Chromium reports through ``securitypolicyviolation`` events (listened to
by a script Playwright adds outside the page's policy) and its console's "Refused to ..."
errors; a policy too strict for a page shows up there, and in the page not rendering."""

from __future__ import annotations

import csv
import shutil

import pytest

from tests.support.csp import csp_recording_page
from tests.support.served import served_portal, spiegel_portal_batch

USER, PASSWORD = "csp@praktijk.nl", "Csp-wachtwoord-2024"


@pytest.fixture(scope="module")
def real_site(clean_release, tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("asvs_browser") / "data"
    shutil.copytree(clean_release["data"] / "releases", data_dir / "releases")
    with open(clean_release["release"] / "behandelindex.csv", newline="", encoding="utf-8") as handle:
        row = next(r for r in csv.DictReader(handle) if r["status"] == "ok")
    created, granted = spiegel_portal_batch(
        data_dir,
        [
            (["add-account", "--email", USER], PASSWORD + "\n"),
            (["grant", "--agb", row["practice_agb"], "--email", USER], None),
        ],
    )
    assert (created.returncode, granted.returncode) == (0, 0), created.stderr + granted.stderr
    with served_portal(data_dir, workers=1) as base:
        yield base, row


def test_every_kind_of_page_renders_under_its_policy_without_a_violation(real_site, browser):
    base, row = real_site
    agb, period, discipline = row["practice_agb"], row["period"], row["discipline"]
    page, violations_since = csp_recording_page(browser)
    # (path, a selector that is there only when the page rendered what it should)
    anonymous = [
        ("/", "main h1"),
        ("/kalender/", "main h1"),
        ("/contact/", "form textarea"),
        ("/accounts/login/", "input[name=login]"),
        ("/api/v1/docs/", ".swagger-ui .info .title"),
        ("/api/v1/redoc/", "redoc h1"),
        ("/admin/login/", "#login-form"),
        ("/bestaat-niet/", "body"),
    ]
    account = [
        (f"/praktijk/{agb}/", "main h1"),
        (f"/praktijk/{agb}/{period}/{discipline}.html", ".js-plotly-plot .main-svg"),
        ("/accounts/tokens/", "main form"),
        ("/api/v1/periods/?format=api", ".response-info"),
    ]
    violations = {}

    def visit(path: str, selector: str) -> None:
        page.goto(base + path)
        page.wait_for_selector(selector, timeout=20000)
        page.wait_for_load_state("networkidle")
        found = violations_since()
        if found:
            violations[path] = found

    for path, selector in anonymous:
        visit(path, selector)
    page.goto(base + "/accounts/login/")
    page.fill("input[name=login]", USER)
    page.fill("input[name=password]", PASSWORD)
    page.click("form button[type=submit]:not(.inline button)")
    page.wait_for_url("**/praktijk/")
    for path, selector in account:
        visit(path, selector)
    # the TOTP set-up asks to confirm the password first (allauth's reauthentication), then shows the QR code
    page.goto(base + "/accounts/2fa/totp/activate/")
    if page.locator("main input[name=password]").count():
        page.fill("main input[name=password]", PASSWORD)
        page.click("main form button[type=submit]")
    visit("/accounts/2fa/totp/activate/", "main img")
    page.goto(base + f"/praktijk/{agb}/{period}/{discipline}.html")
    page.wait_for_selector(".js-plotly-plot .main-svg")
    assert page.locator(".js-plotly-plot").count() >= 3  # the charts were drawn, not just one
    page.context.close()
    # Redoc's bundle shows its logo from its CDN: refused, as an image from elsewhere must be
    # (nothing leaves for a third party), and the page renders without it
    redoc = [v for v in violations.pop("/api/v1/redoc/", []) if not v.startswith("img-src https://cdn.redoc.ly/")]
    assert redoc == []
    assert violations == {}
