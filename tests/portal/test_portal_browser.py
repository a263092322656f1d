"""The whole account flow in a real browser (Playwright driving Debian's Chromium) against
the portal served by ``spiegel portal serve`` (gunicorn): sign up, verify the e-mail address
from the mail the portal wrote, request access to a practice, the manager approves, the user
downloads the PDF (bytes equal to the published file) and opens the interactive HTML report.
Screenshots of the practice page and the manager page go to test-artifacts/portal/."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support.dutch import INFORMAL
from tests.support.release_factory import index_row, make_release
from tests.support.served import REPO_ROOT, portal_mails, served_portal, spiegel_portal, spiegel_portal_batch

A, B = "12345678", "87654321"
ARTIFACTS = REPO_ROOT / "test-artifacts" / "portal"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
MANAGER, MANAGER_PASSWORD = "praktijkhouder@fysio-a.nl", "Beheer-wachtwoord-2024"
USER, USER_PASSWORD = "therapeut@fysio-a.nl", "Gebruiker-wachtwoord-2024"


def body(message) -> str:
    part = message.get_body(preferencelist=("plain",)) or message
    return part.get_content()


NAME_A, PLACE_A = "Fysiotherapie De Linde", "Utrecht"
CANCELLED, CANCELLED_REASON = "2025-v1", "de gegevens van het eerste halfjaar zijn niet vergelijkbaar"


@pytest.fixture(scope="module")
def portal_site(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("browser") / "data"
    releases = data_dir / "releases"
    releases.mkdir(parents=True)
    for period in ("2024-v2", "2024-v3"):
        make_release(
            releases,
            period,
            "r1",
            [index_row(period, "fysiotherapie", A, index=97.0), index_row(period, "fysiotherapie", B, index=105.0)],
        )
    # the practice register came with the newest release: A by name and place
    (releases / "2024-v3" / "r1" / "practices.csv").write_text(
        f"practice_agb,practice_name,place\n{A},{NAME_A},{PLACE_A}\n", encoding="utf-8"
    )
    # method.md §11: a cancelled version, which the calendar shows as vervallen
    (data_dir / "method_config").mkdir()
    (data_dir / "method_config" / "exclusion_windows.csv").write_text("first_date,last_date,reason\n")
    (data_dir / "method_config" / "cancelled_periods.csv").write_text(
        f"period,reason,decided_on\n{CANCELLED},{CANCELLED_REASON},2025-09-01\n"
    )
    created, appointed = spiegel_portal_batch(
        data_dir,
        [
            (["add-account", "--email", MANAGER, "--name", "Praktijk Houder"], MANAGER_PASSWORD + "\n"),
            (["appoint-manager", "--agb", A, "--email", MANAGER], None),
        ],
    )
    assert (created.returncode, appointed.returncode) == (0, 0), created.stderr + appointed.stderr
    with served_portal(data_dir) as base:
        yield data_dir, base


def log_in(page, base: str, address: str, password: str) -> None:
    page.goto(base + "/accounts/login/")
    page.fill("input[name=login]", address)
    page.fill("input[name=password]", password)
    page.click("form button[type=submit]:not(.inline button)")
    page.wait_for_url(re.compile(r".*/praktijk/$"))


def log_out(page, base: str) -> None:
    page.goto(base + "/praktijk/")
    page.click("header form.inline button[type=submit]")
    page.wait_for_load_state()


def test_sign_up_verify_request_approve_download(portal_site, browser):
    data_dir, base = portal_site
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(accept_downloads=True, locale="nl-NL")
    page = context.new_page()

    # sign up; the verification mail lands in the file backend
    page.goto(base + "/accounts/signup/")
    page.fill("input[name=email]", USER)
    page.fill("input[name=password1]", USER_PASSWORD)
    page.fill("input[name=password2]", USER_PASSWORD)
    page.check("input[name=consent]")  # the privacy statement's consent: unticked and required
    page.click("main form button[type=submit]")
    page.wait_for_load_state()
    (verification,) = [m for m in portal_mails(data_dir) if USER in m["To"]]
    assert verification["Subject"] == "[Mijn Spiegel] Bevestig uw e-mailadres"
    link = re.search(r"https?://[^\s]+/accounts/confirm-email/[^\s]+/", body(verification))[0]
    page.goto(link.replace(re.match(r"https?://[^/]+", link)[0], base))
    page.click("main form button[type=submit]")
    page.wait_for_load_state()

    # log in and ask for access to practice A
    log_in(page, base, USER, USER_PASSWORD)
    page.fill("input[name=agb]", A)
    page.click("form.request-form button[type=submit]")
    page.wait_for_selector("text=is geregistreerd")
    assert page.goto(f"{base}/praktijk/{A}/").status == 404  # not before the manager decides
    log_out(page, base)

    # the manager sees the request and approves it
    log_in(page, base, MANAGER, MANAGER_PASSWORD)
    page.goto(f"{base}/praktijk/{A}/toegang/")
    row = page.locator(f'table.requests tr[data-email="{USER}"]')
    assert row.count() == 1
    page.screenshot(path=str(ARTIFACTS / "manager-page.png"), full_page=True)
    row.locator("button[value=approve]").click()
    page.wait_for_selector(f'table.grants tr[data-email="{USER}"]')
    log_out(page, base)
    decision = [m for m in portal_mails(data_dir) if "toegekend" in m["Subject"]]
    assert decision and USER in decision[-1]["To"] and MANAGER in decision[-1]["To"]

    # the user downloads the PDF of the newest period
    log_in(page, base, USER, USER_PASSWORD)
    page.goto(f"{base}/praktijk/{A}/")
    page.screenshot(path=str(ARTIFACTS / "practice-page.png"), full_page=True)
    # what a Dutch practice reads: its name, whole index points with the interval, the corrected index
    assert page.locator("h1").inner_text() == f"Spiegelinformatie van {NAME_A}, {PLACE_A} (AGB {A})"
    newest = page.locator("tr[data-period='2024-v3']")
    assert newest.locator("[data-index]").inner_text() == "97 (89–105)"
    assert newest.locator("[data-corrected]").inner_text() == "89"
    text = page.locator("main").inner_text()
    assert not re.search(r"\d+\.\d{2,}", text), "a raw float on the practice page"
    assert not re.search(r"\bunknown\b|\d+k\b", text, re.I)
    assert not INFORMAL.search(text)
    with page.expect_download() as info:
        page.click(f'a[href="/praktijk/{A}/2024-v3/fysiotherapie.pdf"]')
    downloaded = Path(info.value.path()).read_bytes()
    published = data_dir / "releases" / "2024-v3" / "r1" / "reports" / "fysiotherapie" / f"{A}.pdf"
    assert downloaded == published.read_bytes()
    assert info.value.suggested_filename == f"spiegelinformatie-{A}-2024-v3-fysiotherapie.pdf"

    # the interactive report runs with its scripts and stylesheet loaded from the portal
    report = context.new_page()
    failed = []
    report.on("response", lambda r: failed.append(r.url) if r.status >= 400 else None)
    report.goto(f"{base}/praktijk/{A}/2024-v3/fysiotherapie.html")
    report.wait_for_selector("text=grafiek geladen: plotly funnel")
    assert report.evaluate("getComputedStyle(document.body).color") == "rgb(18, 52, 86)"
    assert failed == []
    # and practice B stays out of reach
    assert page.goto(f"{base}/praktijk/{B}/").status == 404
    context.close()

    audit = spiegel_portal(data_dir, "audit", "--agb", A)
    assert audit.returncode == 0
    actions = [line.split()[1] for line in audit.stdout.splitlines()]
    assert actions[:4] == ["manager_appointed", "request", "denied", "grant"]  # denied: the look before approval
    assert "download" in actions
    assert all(f"agb={A}" in line for line in audit.stdout.splitlines())


ONE_LINE = 70  # px: the header's nav is about 53 px high on one line, over 90 on two


def test_the_header_holds_one_line_at_1280_and_the_login_page_says_u(portal_site, browser):
    _, base = portal_site
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="nl-NL")
    page = context.new_page()

    # the login page: formal Dutch, "Inloggen" and "Account aanvragen", the header on one line
    page.goto(base + "/accounts/login/")
    text = page.locator("body").inner_text()
    assert not INFORMAL.search(text), INFORMAL.search(text).group(0)
    assert not re.search(r"\b(aanmeld\w*|registr\w*)\b", text, re.I)
    assert page.locator("h1").inner_text() == "Inloggen"
    assert "Heeft u nog geen account? Ga dan eerst naar Account aanvragen" in text
    assert page.locator("header nav").bounding_box()["height"] < ONE_LINE
    page.screenshot(path=str(ARTIFACTS / "login-page.png"), full_page=True)

    # logged in, the menu has two items more (the practices, the address and Uitloggen)
    log_in(page, base, MANAGER, MANAGER_PASSWORD)
    nav = page.locator("header nav")
    height = nav.bounding_box()["height"]
    tops = {round(box["y"] + box["height"] / 2) for box in (li.bounding_box() for li in nav.locator("li").all())}
    page.screenshot(path=str(ARTIFACTS / "header-logged-in-1280.png"))
    assert height < ONE_LINE, f"the header takes {height:.0f} px at 1280 px wide: more than one line"
    assert len(tops) == 1, tops  # every item centred on the same line
    assert page.locator("header .who").inner_text() == MANAGER
    assert page.locator("header form.inline button").inner_text() == "Uitloggen"
    log_out(page, base)
    context.close()


def test_the_calendar_shows_a_cancelled_version_as_vervallen_with_its_reason(portal_site, browser):
    _, base = portal_site
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="nl-NL")
    page = context.new_page()
    page.goto(base + "/kalender/")
    entry = page.locator(f"tr[data-period='{CANCELLED}']")
    assert entry.get_attribute("data-state") == "vervallen"
    text = entry.inner_text()
    page.screenshot(path=str(ARTIFACTS / "calendar-vervallen.png"), full_page=True)
    assert "Vervallen" in text and CANCELLED_REASON in text, text
    assert "zorgverzekeraars" not in text  # cancelled, not postponed because of an insurer
    context.close()
