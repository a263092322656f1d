"""A security key (WebAuthn, docs/security.md ASVS 2.3.2 and 2.9.1) in a real browser: Playwright
drives Debian's Chromium, with a virtual authenticator of Chromium's DevTools protocol as the
key, against the portal served by ``spiegel portal serve`` in service mode (the staff pages
need a second factor).

An operator logs in with password and TOTP code, confirms the password again (allauth asks it
before a second factor is added), adds a security key on allauth's page (formal Dutch, under the
portal's strict Content-Security-Policy: allauth's WebAuthn script is a static file), logs out,
and logs in again with the password and the key alone: the staff page opens, and the audit log
names the factors of each login. The database then holds the key's public
key, which verifies what the authenticator's private key signs, and nothing of that private key.

The browser opens the portal as ``http://localhost:PORT``: a WebAuthn relying party is a host
name, never an IP address, and fido2 accepts ``http://localhost`` as the one origin without TLS.
"""

from __future__ import annotations

import base64
import json
import re
import sqlite3
from pathlib import Path

import pytest

from tests.release.test_four_eyes import PASSWORD, SERVICE, audit_lines, make_accounts, new_totp_secret, totp_code
from tests.support.csp import csp_recording_page
from tests.support.dutch import INFORMAL
from tests.support.served import served_portal

OPERATOR = "sleutel.operator@spiegel.example"
KEY_NAME = "Sleutel van de test"
STAFF_PAGE = "/beheer/vrijgave/"
VIRTUAL_KEY = {
    "protocol": "ctap2",
    "transport": "usb",
    "hasResidentKey": True,
    "hasUserVerification": True,
    "isUserVerified": True,
}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    data = tmp_path_factory.mktemp("webauthn_browser") / "data"
    (data / "releases").mkdir(parents=True)
    secret = new_totp_secret()
    make_accounts(data, [{"email": OPERATOR, "password": PASSWORD, "staff": True, "totp": secret}])
    with served_portal(data, workers=1, log_name="serve-webauthn.log", extra_env=SERVICE) as base:
        yield data, base.replace("http://127.0.0.1:", "http://localhost:"), secret


@pytest.fixture
def page(browser):
    """A page that records every CSP violation; none may happen."""
    page, violations = csp_recording_page(browser, viewport={"width": 1280, "height": 1000}, locale="nl-NL")
    yield page
    assert violations() == []
    page.context.close()


def main_text(page) -> str:
    """The page's main text, in the portal's formal Dutch."""
    text = page.locator("main").inner_text()
    assert not INFORMAL.search(text), (page.url, INFORMAL.search(text), text)
    return text


def log_in_with_password(page, base: str) -> None:
    """The staff page sends to the login; after the password, allauth asks the second factor."""
    page.goto(base + STAFF_PAGE)
    page.wait_for_url(re.compile(r".*/accounts/login/\?next=.*"))
    page.fill("input[name=login]", OPERATOR)
    page.fill("input[name=password]", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_url(re.compile(r".*/accounts/2fa/authenticate/$"))
    text = main_text(page)
    assert "Gebruik een beveiligingssleutel" in text, text


def wait_for_staff_page(page) -> None:
    page.wait_for_url(re.compile(rf".*{re.escape(STAFF_PAGE)}$"))
    assert page.locator("h1").inner_text() == "Vrijgave van de perioden"
    assert page.locator("header .who").inner_text() == OPERATOR


def add_security_key(page, base: str) -> None:
    """allauth's page: a name, then the button; the browser asks the key, the form is sent."""
    page.goto(base + "/accounts/2fa/webauthn/add/")
    # allauth asks the password again before a second factor is added, however fresh the login
    page.wait_for_url(re.compile(r".*/accounts/reauthenticate/\?next=.*"))
    assert "Toegang bevestigen" in main_text(page)
    page.fill("input[name=password]", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_url(re.compile(r".*/accounts/2fa/webauthn/add/$"))
    assert page.locator("h1").inner_text() == "Voeg beveiligingssleutel toe"
    assert "Naam van de sleutel" in main_text(page)
    page.fill("input[name=name]", KEY_NAME)
    page.click("#mfa_webauthn_add")
    page.wait_for_url(lambda url: "/webauthn/add/" not in url)
    assert "Beveiligingssleutel toegevoegd." in page.locator(".messages").inner_text()
    page.goto(base + "/accounts/2fa/webauthn/")
    listed = main_text(page)
    assert KEY_NAME in listed and "Niet gebruikt." in listed, listed
    assert "Not used" not in listed and "Name" not in listed, listed


def stored_keys(data: Path) -> list[dict]:
    """The security keys' rows of the served portal's database, as allauth stored them."""
    with sqlite3.connect(data / "portal" / "portal.sqlite3") as db:
        rows = db.execute("SELECT data FROM mfa_authenticator WHERE type = 'webauthn'").fetchall()
    return [json.loads(data_) for (data_,) in rows]


def database_bytes(data: Path) -> bytes:
    """The database file and its write-ahead log: everything SQLite holds on disk."""
    return b"".join(p.read_bytes() for p in (data / "portal").glob("portal.sqlite3*"))


def assert_only_the_public_key_is_stored(data: Path, credential: dict) -> None:
    """ASVS 2.9.1: the private key stays in the authenticator; the portal's stored public key
    verifies a signature the private key makes, and no encoding of the private key is stored."""
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from fido2.webauthn import RegistrationResponse

    (stored,) = stored_keys(data)
    assert stored["name"] == KEY_NAME
    response = RegistrationResponse.from_dict(stored["credential"])
    public_key = response.response.attestation_object.auth_data.credential_data.public_key
    der = base64.b64decode(credential["privateKey"])
    private_key = serialization.load_der_private_key(der, password=None)
    assert isinstance(private_key, ec.EllipticCurvePrivateKey)  # ES256, the key fido2 asks first
    message = b"Mijn Spiegel: de publieke sleutel hoort bij deze sleutel"
    public_key.verify(message, private_key.sign(message, ec.ECDSA(hashes.SHA256())))  # raises if not
    scalar = private_key.private_numbers().private_value.to_bytes(32, "big")
    on_disk = database_bytes(data)
    for encoded in (
        scalar,
        der,
        credential["privateKey"].encode(),
        base64.urlsafe_b64encode(scalar).rstrip(b"="),
        base64.b64encode(scalar),
    ):
        assert encoded not in on_disk


def test_an_operator_adds_a_security_key_and_logs_in_with_password_and_key(site, page):
    data, base, secret = site
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    authenticator = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": VIRTUAL_KEY})["authenticatorId"]

    # the operator's first login: password and TOTP code; then a security key is added
    log_in_with_password(page, base)
    page.fill("input[name=code]", totp_code(secret))
    page.click("main form button[type=submit]:not([form])")
    wait_for_staff_page(page)
    add_security_key(page, base)
    (credential,) = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"]
    with page.expect_navigation():
        page.click("header form.inline button[type=submit]")
    assert page.locator("header a[href='/accounts/login/']").count() == 1  # logged out

    # the next login: the password, then the key instead of a code; the staff page opens
    log_in_with_password(page, base)
    page.click("#mfa_webauthn_authenticate")
    wait_for_staff_page(page)
    (used,) = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"]
    assert used["credentialId"] == credential["credentialId"] and used["signCount"] > credential["signCount"]
    page.goto(base + "/accounts/2fa/webauthn/")
    assert "Laatst gebruikt" in main_text(page)

    # the audit log names each login's factors; the database holds the public key only
    logins = [line for line in audit_lines(data) if line.split()[1] == "login" and f"by={OPERATOR}" in line]
    assert len(logins) == 2, logins
    assert logins[0].endswith("detail=factors: password, totp"), logins
    assert logins[1].endswith("detail=factors: password, webauthn"), logins
    assert_only_the_public_key_is_stored(data, credential)
