"""The password pages in a real browser (Playwright driving Debian's Chromium) against the served
portal (``spiegel portal serve``: collected static files, the whole middleware stack and its
Content-Security-Policy): docs/security.md, ASVS 2.1.8 and 2.1.12.

- 2.1.8: typing a weak and then a strong password changes the strength meter's text, which is
  an ``aria-live`` region the new-password field is described by.
- 2.1.12: every password field has a "Toon wachtwoord" button that switches it between hidden
  and readable; before the form is sent every field is hidden again.
- The script runs under the portal's strict policy (no inline script): no violation reported.

The pages' markup is checked in-process in test_asvs_secrets.py.
"""

from __future__ import annotations

import pytest

from tests.support.csp import csp_recording_page
from tests.support.served import served_portal, spiegel_portal_batch

USER, PASSWORD = "sterkte@praktijk.nl", "Sterkte-wachtwoord-2024"
WEAK, STRONG = "wachtwoord", "Kalm-Rivier-Tulp-93!"
# registered after the page's own submit handler: records the fields' types as sent, and keeps
# the page (the test's own code may cancel the submission; the portal's script never does)
TYPES_AT_SUBMIT = """() => {
  const form = document.querySelector("input[name=password1]").form;
  form.addEventListener("submit", (e) => {
    const fields = form.querySelectorAll("input[name^=password], input[name=oldpassword]");
    window.__typesAtSubmit = [...fields].map(i => i.type);
    e.preventDefault();
  });
}"""


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("password_ux") / "data"
    (data_dir / "releases").mkdir(parents=True)
    (created,) = spiegel_portal_batch(data_dir, [(["add-account", "--email", USER], PASSWORD + "\n")])
    assert created.returncode == 0, created.stderr
    with served_portal(data_dir, workers=1, log_name="serve-password-ux.log") as base:
        yield base


@pytest.fixture
def page(browser):
    page, violations = csp_recording_page(browser)
    yield page
    assert violations() == []
    page.context.close()


def _meter_text(page) -> str:
    return page.locator("#wachtwoord-sterkte").inner_text()


def _check_meter(page, field: str = "input[name=password1]") -> None:
    box = page.locator("[data-password-strength]")
    box.wait_for(state="visible")  # shown by the script, under the new password
    live = page.locator("#wachtwoord-sterkte")
    assert live.get_attribute("aria-live") == "polite"
    assert "wachtwoord-sterkte" in page.get_attribute(field, "aria-describedby").split()
    empty = _meter_text(page)
    assert "Nog geen wachtwoord" in empty
    page.click(field)
    page.keyboard.type(WEAK, delay=5)
    weak = _meter_text(page)
    assert "zeer zwak" in weak and "12" in weak, weak  # too short, and a common word
    assert page.locator("[data-password-strength] meter").evaluate("m => m.value") == 1
    page.fill(field, "")
    page.click(field)
    page.keyboard.type(STRONG, delay=5)
    strong = _meter_text(page)
    assert "zeer sterk" in strong and strong != weak, strong
    assert page.locator("[data-password-strength] meter").evaluate("m => m.value") == 5


def _check_toggles(page, names: list[str]) -> None:
    buttons = page.get_by_role("button", name="Toon wachtwoord")
    assert buttons.count() == len(names)
    for index, name in enumerate(names):
        field = page.locator(f"input[name={name}]")
        button = buttons.nth(index)
        assert button.get_attribute("aria-controls") == field.get_attribute("id")
        assert field.get_attribute("type") == "password" and button.get_attribute("aria-pressed") == "false"
        button.click()
        assert field.get_attribute("type") == "text" and button.get_attribute("aria-pressed") == "true"
        button.click()
        assert field.get_attribute("type") == "password" and button.get_attribute("aria-pressed") == "false"
        button.click()  # left readable: the submission hides it again
    page.evaluate(TYPES_AT_SUBMIT)
    page.locator("main form button[type=submit]").first.click()
    page.wait_for_function("() => window.__typesAtSubmit !== undefined")
    assert page.evaluate("window.__typesAtSubmit") == ["password"] * len(names)


def test_the_sign_up_page_rates_a_weak_and_a_strong_password_and_shows_them_on_request(site, page):
    page.goto(site + "/accounts/signup/")
    page.fill("input[name=email]", "nieuw@praktijk.nl")
    _check_meter(page)
    page.fill("input[name=password2]", STRONG)
    if page.locator("input[name=consent]").count():  # the privacy statement's box, when the form has it
        page.check("input[name=consent]")
    _check_toggles(page, ["password1", "password2"])
    # the e-mail address counts as a word a guesser tries first
    page.fill("input[name=password1]", "")
    page.click("input[name=password1]")
    page.keyboard.type("nieuw-praktijk-nieuw", delay=5)
    assert "e-mailadres" in _meter_text(page)


def test_the_password_change_page_has_the_meter_and_a_toggle_on_each_of_its_three_fields(site, page):
    page.goto(site + "/accounts/login/")
    assert page.get_by_role("button", name="Toon wachtwoord").count() == 1  # the login's field too
    page.fill("input[name=login]", USER)
    page.fill("input[name=password]", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_url("**/praktijk/")
    page.goto(site + "/accounts/password/change/")
    _check_meter(page)
    page.fill("input[name=oldpassword]", PASSWORD)
    page.fill("input[name=password2]", STRONG)
    _check_toggles(page, ["oldpassword", "password1", "password2"])
