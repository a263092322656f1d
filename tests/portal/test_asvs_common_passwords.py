"""OWASP ASVS 4.0.3 level 2, 2.1.7: a common password is refused on every path that sets one
(sign-up, change, reset, ``spiegel portal add-account``), and a right password that the rules
refuse now must be changed at login (portal/access/password_renewal.py; docs/security.md).
Over HTTP to the served portal (tests/support/served_client.py), and the real CLI in a subprocess."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from portal.access.password_renewal import CHANGE_URL
from tests.portal.test_asvs import _reset_link, _use_reset_link
from tests.support.portal_world import PASSWORD, make_account
from tests.support.served import spiegel_portal
from tests.support.served_client import ServedClient

pytestmark = pytest.mark.django_db

COMMON = "password1234"  # on Django's list of 20,000 common passwords, and 12 characters
OWNER = "eigenaar@praktijk-a.nl"
NEW = "Een-heel-nieuw-wachtwoord-7"


@pytest.fixture(autouse=True)
def fast_hashes(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def refused_on_page(response) -> bool:
    """The form came back (200) with Django's message about a common password."""
    return response.status_code == 200 and "Dit wachtwoord is te algemeen." in response.content.decode()


def test_sign_up_refuses_a_common_password():
    fields = {"email": "nieuw@praktijk-a.nl", "password1": COMMON, "password2": COMMON, "consent": "on"}
    response = ServedClient().post("/accounts/signup/", fields)
    assert refused_on_page(response), response.content.decode()[-3000:]
    assert not get_user_model().objects.filter(email="nieuw@praktijk-a.nl").exists()


def test_a_password_change_refuses_a_common_password():
    make_account(OWNER)
    client = ServedClient()
    assert client.post("/accounts/login/", {"login": OWNER, "password": PASSWORD}).status_code == 302
    fields = {"oldpassword": PASSWORD, "password1": COMMON, "password2": COMMON}
    assert refused_on_page(client.post(CHANGE_URL, fields))
    assert get_user_model().objects.get(email=OWNER).check_password(PASSWORD)


def test_a_password_reset_refuses_a_common_password():
    make_account(OWNER)
    client = ServedClient()
    response = _use_reset_link(client, _reset_link(client, OWNER), COMMON)
    assert refused_on_page(response)
    assert get_user_model().objects.get(email=OWNER).check_password(PASSWORD)


def test_add_account_refuses_a_common_password(tmp_path):
    result = spiegel_portal(tmp_path / "data", "add-account", "--email", OWNER, stdin=COMMON + "\n")
    assert result.returncode == 1 and "password refused" in result.stderr, result.stderr
    assert "Dit wachtwoord is te algemeen." in result.stderr


def test_a_login_with_a_password_the_rules_now_refuse_leads_to_the_change_page():
    user = make_account(OWNER)
    user.set_password(COMMON)  # set before it was refused: stored as it was
    user.save()
    client = ServedClient()
    assert client.post("/accounts/login/", {"login": OWNER, "password": COMMON}).status_code == 302
    for page in ("/praktijk/", "/accounts/tokens/", "/"):
        response = client.get(page)
        assert response.status_code == 302 and response.headers["Location"] == CHANGE_URL, page
    change = client.get(CHANGE_URL)
    assert change.status_code == 200
    assert "Uw wachtwoord voldoet niet meer aan de eisen" in change.content.decode()

    fields = {"oldpassword": COMMON, "password1": NEW, "password2": NEW}
    assert client.post(CHANGE_URL, fields).status_code == 302
    assert get_user_model().objects.get(email=OWNER).check_password(NEW)
    again = ServedClient()
    assert again.post("/accounts/login/", {"login": OWNER, "password": NEW}).status_code == 302
    assert again.get("/praktijk/").status_code == 200  # a good password: no detour


def test_a_login_with_a_good_password_is_not_sent_to_the_change_page():
    make_account(OWNER)
    client = ServedClient()
    assert client.post("/accounts/login/", {"login": OWNER, "password": PASSWORD}).status_code == 302
    assert client.get("/praktijk/").status_code == 200
