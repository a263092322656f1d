"""Four eyes in a real browser (Playwright driving Debian's Chromium) against the portal served
by ``spiegel portal serve`` in service mode: operator A logs in with password and TOTP code
and signs the clean period off on the release page; A's publish is refused (four eyes);
operator B logs in and publishes. The page launches the platform's jobs through Dagster's
GraphQL; here a stand-in for the webserver (tests/release/test_four_eyes.py ``StubDagster``)
checks each request against Dagster's schema and runs the launched job for real, with the run
config the page sent, in service mode. Screenshots go to test-artifacts/portal/."""

from __future__ import annotations

import json
import re
import time

import pytest

from tests.portal.test_portal_browser import ARTIFACTS
from tests.release.test_four_eyes import (
    PASSWORD,
    PERIOD,
    SERVICE,
    StubDagster,
    audit_lines,
    copy_of_clean_period,
    make_accounts,
    new_totp_secret,
    release_json,
    signoff_lines,
    totp_code,
)
from tests.support.dutch import INFORMAL
from tests.support.served import served_portal

A, B = "anna.operator@spiegel.example", "bram.operator@spiegel.example"
PAGE = f"/beheer/vrijgave/{PERIOD}/"


@pytest.fixture(scope="module")
def release_site(clean_release, tmp_path_factory):
    data = copy_of_clean_period(clean_release, tmp_path_factory.mktemp("four_eyes_browser") / "data")
    secrets_ = {A: new_totp_secret(), B: new_totp_secret()}
    make_accounts(
        data,
        [
            {"email": A, "password": PASSWORD, "staff": True, "totp": secrets_[A]},
            {"email": B, "password": PASSWORD, "staff": True, "totp": secrets_[B]},
        ],
    )
    dagster = StubDagster(data)
    try:
        with served_portal(data, extra_env={**SERVICE, "SPIEGEL_DAGSTER_URL": dagster.url}) as base:
            yield data, base, secrets_, dagster
    finally:
        dagster.close()


def log_in_with_code(page, base: str, address: str, secret: str) -> None:
    """The staff page sends to the login; password, then the authenticator's code, then back."""
    page.goto(base + PAGE)
    page.wait_for_url(re.compile(r".*/accounts/login/\?next=.*"))
    page.fill("input[name=login]", address)
    page.fill("input[name=password]", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_url(re.compile(r".*/accounts/2fa/authenticate/$"))
    text = page.locator("main").inner_text()  # allauth's page, in the portal's formal Dutch
    assert not INFORMAL.search(text), (INFORMAL.search(text), text)
    if address == A:
        page.screenshot(path=str(ARTIFACTS / "release-login-code.png"), full_page=True)
    page.fill("input[name=code]", totp_code(secret))
    page.click("main form button[type=submit]:not([form])")
    page.wait_for_url(re.compile(rf".*{re.escape(PAGE)}$"))


def log_out(page) -> None:
    page.click("header form.inline button[type=submit]")
    page.wait_for_load_state()


def wait_for_text(page, base: str, text: str, timeout: float = 600) -> None:
    """The run takes its time in Dagster: the operator refreshes the page until it shows."""
    deadline = time.monotonic() + timeout
    while text not in page.locator("main").inner_text():
        assert time.monotonic() < deadline, f"{text!r} did not appear on {page.url}"
        time.sleep(2)
        page.goto(base + PAGE)


def test_operator_a_signs_off_and_operator_b_publishes_in_the_browser(release_site, browser):
    data, base, secrets_, dagster = release_site
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    # operator A: password and code, the release page with the verdict and the links to Dagster
    context = browser.new_context(viewport={"width": 1280, "height": 1000}, locale="nl-NL")
    page = context.new_page()
    log_in_with_code(page, base, A, secrets_[A])
    assert page.locator("h1").inner_text() == f"Vrijgave van periode {PERIOD}"
    assert page.locator(".verdict").get_attribute("data-verdict") == "ready"
    assert page.locator(".dagster-links a").count() == 3
    assert page.locator("header a[href='/beheer/vrijgave/']").inner_text() == "Vrijgave"
    text = page.locator("main").inner_text()
    assert not INFORMAL.search(text), INFORMAL.search(text)
    page.screenshot(path=str(ARTIFACTS / "release-page-ready.png"), full_page=True)

    page.fill("textarea[name=comment]", "Leveringen en volumes per verzekeraar gecontroleerd")
    page.click("form.signoff-form button[type=submit]")
    page.wait_for_selector("text=De aftekening is gestart in Dagster")
    (launch,) = dagster.launches
    assert (launch["job"], launch["tags"]["spiegel/operator"]) == ("sign_off", A)
    wait_for_text(page, base, "Leveringen en volumes per verzekeraar gecontroleerd")
    dagster.wait()  # the run's process ends a moment after the sign-off is written
    assert dagster.outcomes[launch["run_id"]][0] == 0, dagster.outcomes
    signed = page.locator(".current-signoff")
    assert (signed.get_attribute("data-account"), signed.get_attribute("data-authenticated")) == (A, "true")
    assert page.locator(".four-eyes").count() == 1
    page.screenshot(path=str(ARTIFACTS / "release-page-signed-off.png"), full_page=True)

    # A may not publish what A signed off: refused at once, with the reason, nothing launched
    page.click("form.publish-form button[type=submit]")
    page.wait_for_selector("text=Publiceren geweigerd (vier ogen)")
    assert "Een andere operator moet haar publiceren." in page.locator(".messages").inner_text()
    assert len(dagster.launches) == 1
    page.screenshot(path=str(ARTIFACTS / "release-page-four-eyes-refused.png"), full_page=True)
    log_out(page)
    context.close()

    # operator B publishes
    context = browser.new_context(viewport={"width": 1280, "height": 1000}, locale="nl-NL")
    page = context.new_page()
    log_in_with_code(page, base, B, secrets_[B])
    assert page.locator(".four-eyes").count() == 0
    page.click("form.publish-form button[type=submit]")
    page.wait_for_selector("text=De publicatie is gestart in Dagster")
    publish = dagster.launches[-1]
    assert (publish["job"], publish["tags"]["spiegel/operator"]) == ("publish_release", B)
    wait_for_text(page, base, "De huidige aftekening is gepubliceerd als r1", timeout=900)
    dagster.wait()
    assert dagster.outcomes[publish["run_id"]][0] == 0, dagster.outcomes
    row = page.locator("table.revisions tr[data-revision='r1']").inner_text()
    assert A in row and B in row, row
    page.screenshot(path=str(ARTIFACTS / "release-page-published.png"), full_page=True)
    context.close()

    # the record names both accounts; the audit log has every step
    release = release_json(data)
    assert (release["signoff"]["account"], release["signoff"]["authenticated"]) == (A, True)
    assert (release["published_by"]["account"], release["published_by"]["authenticated"]) == (B, True)
    assert signoff_lines(data)[-1]["signoff_id"] == release["signoff"]["signoff_id"]
    steps = [
        (line.split()[1], re.search(r" by=(\S+)", line)[1])
        for line in audit_lines(data)
        if line.split()[1].startswith(("signoff_", "publish")) or line.split()[1] == "published"
    ]
    assert steps == [
        ("signoff_requested", A),
        ("signoff_recorded", A),
        ("publish_refused", A),
        ("publish_requested", B),
        ("published", B),
    ], steps
    assert json.loads((data / "releases" / PERIOD / "r1" / "release.json").read_text())["revision"] == "r1"
