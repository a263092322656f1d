"""OWASP ASVS 4.0.3 level 2, 2.2.3: the owner is mailed after a change to the account's
authentication details and after a login from a new device (docs/security.md), over HTTP to
the served portal (tests/support/served_client.py):

- allauth's notifications (``ACCOUNT_EMAIL_NOTIFICATIONS``) when an authenticator app is added
  or removed and when the primary address changes, and the portal's own when an address is added
  (portal/access/account_notices.py);
- a login from a browser and network not seen before for the account (portal/access/devices.py):
  none at the first login ever, none for a device seen before, one naming the browser for a new
  one, in formal Dutch.
"""

from __future__ import annotations

import re

import pytest
from allauth.account.models import EmailAddress
from django.core import mail

from portal.access.models import KnownDevice
from tests.release.test_four_eyes import totp_code
from tests.support.dutch import INFORMAL
from tests.support.portal_world import PASSWORD, audit, make_account
from tests.support.served_client import ServedClient

pytestmark = pytest.mark.django_db

OWNER = "eigenaar@praktijk-a.nl"
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"


@pytest.fixture(autouse=True)
def fast_hashes(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def log_in(email: str, *, browser: str = FIREFOX, ip: str = "192.0.2.10") -> ServedClient:
    """A login through allauth's form, as a browser with that user agent and address does it."""
    client = ServedClient(REMOTE_ADDR=ip, HTTP_USER_AGENT=browser)
    response = client.post("/accounts/login/", {"login": email, "password": PASSWORD})
    assert response.status_code == 302, response.content[:500]
    return client


def mails_to(address: str) -> list:
    return [m for m in mail.outbox if address in m.to]


def test_allauths_notifications_are_on():
    from django.conf import settings

    assert settings.ACCOUNT_EMAIL_NOTIFICATIONS is True


def activate_totp(client: ServedClient) -> str:
    """Set up an authenticator app on /accounts/2fa/totp/activate/ (after the password again,
    which allauth asks before a second factor is added); returns its secret."""
    form = client.get("/accounts/2fa/totp/activate/")
    if form.status_code == 302:
        assert client.post(form.headers["Location"], {"password": PASSWORD}).status_code == 302
        form = client.get("/accounts/2fa/totp/activate/")
    assert form.status_code == 200
    field = re.search(r'<input[^>]*id="authenticator_secret"[^>]*>', form.content.decode())[0]
    secret = re.search(r'value="([A-Z2-7]+)"', field)[1]
    assert client.post("/accounts/2fa/totp/activate/", {"code": totp_code(secret)}).status_code == 302
    return secret


@pytest.mark.django_db(transaction=True)  # allauth mails once the set-up is committed, as in service
def test_adding_and_removing_an_authenticator_app_mails_the_owner():
    make_account(OWNER)
    client = log_in(OWNER)
    mail.outbox.clear()
    activate_totp(client)
    added = mails_to(OWNER)
    assert [m.subject for m in added] == ["[Mijn Spiegel] Authenticator-app geactiveerd"]
    assert not INFORMAL.search(added[0].body)

    mail.outbox.clear()
    response = client.post("/accounts/2fa/totp/deactivate/")
    assert response.status_code == 302
    assert [m.subject for m in mails_to(OWNER)] == ["[Mijn Spiegel] Authenticator-app gedeactiveerd"]


def test_adding_an_address_mails_the_present_one_and_changing_the_primary_mails_the_old_one():
    user = make_account(OWNER)
    client = log_in(OWNER)
    mail.outbox.clear()
    # an address is added only after the password is given again, however fresh the login (3.7.1)
    asked = client.post("/accounts/email/", {"email": "nieuw@praktijk-a.nl", "action_add": ""})
    assert asked["Location"] == "/accounts/reauthenticate/?next=%2Faccounts%2Femail%2F"
    assert not mail.outbox and not EmailAddress.objects.filter(email="nieuw@praktijk-a.nl").exists()
    response = client.post(asked["Location"], {"password": PASSWORD})  # allauth replays the kept POST
    assert response.status_code == 302
    assert EmailAddress.objects.filter(user=user, email="nieuw@praktijk-a.nl", verified=False).exists()
    notice = mails_to(OWNER)
    assert [m.subject for m in notice] == ["[Mijn Spiegel] E-mailadres toegevoegd"]
    assert "nieuw@praktijk-a.nl" in notice[0].body and "wijzig dan uw wachtwoord" in notice[0].body
    assert not INFORMAL.search(notice[0].body)
    assert mails_to("nieuw@praktijk-a.nl")  # the new address gets only its confirmation link

    EmailAddress.objects.filter(user=user, email="nieuw@praktijk-a.nl").update(verified=True)
    mail.outbox.clear()
    response = client.post("/accounts/email/", {"email": "nieuw@praktijk-a.nl", "action_primary": ""})
    assert response.status_code == 302
    changed = mails_to(OWNER)
    assert [m.subject for m in changed] == ["[Mijn Spiegel] E-mailadres gewijzigd"]
    assert "Uw e-mailadres is gewijzigd van eigenaar@praktijk-a.nl in nieuw@praktijk-a.nl" in changed[0].body


def test_a_login_from_a_new_browser_mails_the_owner_once_and_a_known_one_never():
    make_account(OWNER)
    mail.outbox.clear()
    log_in(OWNER)
    assert mails_to(OWNER) == []  # the first login of the account: nothing to compare with
    log_in(OWNER)
    log_in(OWNER, browser=FIREFOX.replace("128.0", "129.0"))  # a browser update is the same device
    assert mails_to(OWNER) == []

    log_in(OWNER, browser=CHROME)
    notices = mails_to(OWNER)
    assert len(notices) == 1
    body = notices[0].body
    assert notices[0].subject == "[Mijn Spiegel] Ingelogd vanaf een nieuw apparaat"
    assert CHROME in body and "192.0.2.10" in body
    assert "Was u dit niet, wijzig dan uw wachtwoord" in body and not INFORMAL.search(body)
    assert re.search(r"Op \d\d-\d\d-\d{4} om \d\d:\d\d ", body)
    assert [e.detail for e in audit("new_device", subject=OWNER)] == [f"browser: {CHROME}"]

    log_in(OWNER, browser=CHROME)
    assert len(mails_to(OWNER)) == 1  # now known


def test_the_same_browser_on_another_network_is_new_and_only_digests_are_stored():
    user = make_account(OWNER)
    log_in(OWNER, ip="192.0.2.10")
    log_in(OWNER, ip="192.0.2.77")  # the same /24
    mail.outbox.clear()
    log_in(OWNER, ip="198.51.100.5")
    assert len(mails_to(OWNER)) == 1 and "198.51.100.5" in mails_to(OWNER)[0].body
    stored = list(KnownDevice.objects.filter(user=user).values_list("digest", flat=True))
    assert len(stored) == 2 and all(re.fullmatch(r"[0-9a-f]{64}", d) for d in stored)


def test_known_devices_are_in_the_export_and_go_with_the_account():
    from portal.access import personal_data

    user = make_account(OWNER)
    log_in(OWNER)
    exported = personal_data.export(user)["known_devices"]
    assert len(exported) == 1 and set(exported[0]) == {"digest", "first_seen_at", "last_seen_at"}
    personal_data.delete_account(user)
    assert not KnownDevice.objects.filter(user=user).exists()
