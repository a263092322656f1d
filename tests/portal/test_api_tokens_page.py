"""The owner's page of personal API tokens (/accounts/tokens/): login required; a new token
is shown once, in the response to the POST that made it, and stored only as its SHA-256;
an owner revokes its own tokens and nobody else's (another account's token id is the
audited 404, and that token stays valid); the days are checked; the forms carry CSRF tokens.

The tokens are checked with ``portal.access.tokens.find_token`` (what the API's
authentication calls), so these tests do not depend on the API's endpoints."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.support.dutch import INFORMAL
from tests.support.portal_world import PASSWORD, audit, client_for, make_account, reauthenticated
from tests.support.served_client import ServedClient

pytestmark = pytest.mark.django_db

URL = "/accounts/tokens/"
SECRET_RE = re.compile(r"spg_[0-9a-f]{8}_[A-Za-z0-9_-]{40}")


def _create(client, name: str = "export", days: str = "90"):
    return client.post(URL, {"action": "create", "name": name, "days": days})


def _secret(response) -> str:
    found = SECRET_RE.findall(response.content.decode())
    assert len(found) == 1, found  # on the page once
    return found[0]


def _all_stored_values() -> list[str]:
    """Every column of every token row, and of every audit line, as text."""
    from portal.access.models import ApiToken, AuditEvent

    rows = list(ApiToken.objects.values()) + list(AuditEvent.objects.values())
    return [str(value) for row in rows for value in row.values()]


def test_anonymous_is_sent_to_the_login_page():
    response = ServedClient().get(URL)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/?next=/accounts/tokens/")
    assert ServedClient().post(URL, {"action": "create", "days": "90"}).status_code in (302, 403)


def test_create_shows_the_token_once_and_stores_only_its_digest():
    from portal.access.models import ApiToken
    from portal.access.tokens import find_token

    owner = make_account("eigenaar@praktijk.nl")
    client = reauthenticated(client_for(owner))
    page = client.get(URL)
    assert page.status_code == 200 and "U heeft nog geen API-sleutels." in page.content.decode()
    assert 'name="csrfmiddlewaretoken"' in page.content.decode()

    made = _create(client, name="nachtelijke export", days="30")
    assert made.status_code == 200  # the page itself: no redirect, so no secret in a URL or the session
    assert "no-store" in made["Cache-Control"]
    secret = _secret(made)
    html = made.content.decode()
    assert "Kopieer de sleutel nu." in html
    assert 'curl -H "Authorization: Bearer &lt;token&gt;" http://testserver/api/v1/periods/' in html

    token = ApiToken.objects.get(user=owner)
    assert token.key_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret[4:12] == token.prefix and token.name == "nachtelijke export"
    assert timedelta(days=30) - (token.expires_at - timezone.now()) < timedelta(minutes=1)
    assert not any(secret in value for value in _all_stored_values())
    assert find_token(secret) == token

    # never shown again: not on the next page, not in a message
    again = client.get(URL)
    assert secret not in again.content.decode() and not SECRET_RE.search(again.content.decode())
    row = re.search(rf'<tr data-token="{token.pk}" data-state="(\w+)">(.*?)</tr>', again.content.decode(), re.S)
    assert row[1] == "geldig" and token.prefix in row[2] and "nachtelijke export" in row[2] and "nooit" in row[2]
    [created] = audit("token_created", subject="eigenaar@praktijk.nl")
    assert created.actor == "eigenaar@praktijk.nl" and token.prefix in created.detail


def test_revoke_own_token_then_it_no_longer_works():
    from portal.access.models import ApiToken
    from portal.access.tokens import find_token

    owner = make_account("eigenaar@praktijk.nl")
    client = reauthenticated(client_for(owner))
    secret = _secret(_create(client))
    token = ApiToken.objects.get(user=owner)
    response = client.post(URL, {"action": "revoke", "token": str(token.pk)})
    assert response.status_code == 302 and response["Location"] == URL
    assert find_token(secret) is None
    page = client.get(URL).content.decode()
    assert "is ingetrokken" in page
    assert re.search(rf'<tr data-token="{token.pk}" data-state="ingetrokken">', page)
    [revoked] = audit("token_revoked", subject="eigenaar@praktijk.nl")
    assert revoked.actor == "eigenaar@praktijk.nl" and token.prefix in revoked.detail


def test_another_accounts_token_is_a_404_and_stays_valid():
    from portal.access.models import ApiToken
    from portal.access.tokens import find_token

    owner, other = make_account("eigenaar@praktijk.nl"), make_account("ander@praktijk.nl")
    secret = _secret(_create(reauthenticated(client_for(owner))))
    token = ApiToken.objects.get(user=owner)
    intruder = client_for(other)
    for value in (str(token.pk), "999999", "x"):
        assert intruder.post(URL, {"action": "revoke", "token": value}).status_code == 404
    assert find_token(secret) == token
    assert ApiToken.objects.get(pk=token.pk).revoked_at is None
    denied = audit("denied", actor="ander@praktijk.nl")
    assert len(denied) == 3 and all(event.subject == URL for event in denied)
    assert not audit("token_revoked")
    # and the other account's page does not list it
    assert token.prefix not in intruder.get(URL).content.decode()


@pytest.mark.parametrize("days", ["0", "367", "-5", "veel", ""])
def test_days_out_of_range_is_an_error_and_no_token(days):
    from portal.access.models import ApiToken

    owner = make_account("eigenaar@praktijk.nl")
    response = _create(reauthenticated(client_for(owner)), days=days)
    assert response.status_code == 400
    html = response.content.decode()
    assert "Een API-sleutel is 1 tot 366 dagen geldig." in html and not SECRET_RE.search(html)
    assert not ApiToken.objects.exists() and not audit("token_created")


def test_the_bounds_are_allowed():
    from portal.access.models import ApiToken

    client = reauthenticated(client_for(make_account("eigenaar@praktijk.nl")))
    for days in ("1", "366"):
        assert _create(client, days=days).status_code == 200
    assert ApiToken.objects.count() == 2


def test_expired_tokens_are_listed_as_verlopen():
    from portal.access.tokens import create_token

    owner = make_account("eigenaar@praktijk.nl")
    made = create_token(owner, name="oud", days=1)
    type(made.token).objects.filter(pk=made.token.pk).update(expires_at=timezone.now() - timedelta(hours=1))
    page = client_for(owner).get(URL).content.decode()
    assert re.search(rf'<tr data-token="{made.token.pk}" data-state="verlopen">', page)
    assert "Intrekken" not in page  # nothing to revoke


def test_the_forms_need_their_csrf_token():
    from portal.access.models import ApiToken

    owner = make_account("eigenaar@praktijk.nl")
    strict = reauthenticated(client_for(owner, enforce_csrf_checks=True))
    assert _create(strict).status_code == 403
    assert not ApiToken.objects.exists()
    # with the page's own token it works
    page = strict.get(URL).content.decode()
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)[1]
    made = strict.post(URL, {"action": "create", "days": "90", "csrfmiddlewaretoken": csrf})
    assert made.status_code == 200 and ApiToken.objects.count() == 1


def test_making_a_token_asks_for_the_password_again_and_then_shows_the_token_once():
    """However fresh the session, a new credential needs the password once more (ASVS 3.7.1);
    the form's POST is kept meanwhile, so the token appears right after, shown once."""
    from portal.access.models import ApiToken
    from portal.access.tokens import find_token

    owner = make_account("eigenaar@praktijk.nl")
    client = client_for(owner)
    asked = _create(client, name="na herbevestiging", days="30")
    assert asked.status_code == 302 and asked["Location"] == "/accounts/reauthenticate/?next=%2Faccounts%2Ftokens%2F"
    assert not ApiToken.objects.exists() and not audit("token_created")
    page = client.get(asked["Location"])
    assert page.status_code == 200 and 'name="password"' in page.content.decode()
    main = page.content.decode().split("<main", 1)[1].split("</main>")[0]
    assert "Bevestig opnieuw dat u het bent" in main and not INFORMAL.search(re.sub(r"<[^>]+>", " ", main))
    wrong = client.post(asked["Location"], {"password": "niet-het-wachtwoord"})
    assert wrong.status_code == 200 and not SECRET_RE.search(wrong.content.decode())
    assert not ApiToken.objects.exists()
    made = client.post(asked["Location"], {"password": PASSWORD})
    assert made.status_code == 200 and "no-store" in made["Cache-Control"]
    secret = _secret(made)
    (token,) = ApiToken.objects.filter(user=owner)
    assert token.name == "na herbevestiging" and find_token(secret) == token
    assert secret not in client.get(URL).content.decode()
    # within the next minutes another token needs no second password
    assert _create(client, name="tweede").status_code == 200
    assert ApiToken.objects.filter(user=owner).count() == 2
    # revoking one takes only the session
    assert client_for(owner).post(URL, {"action": "revoke", "token": str(token.pk)}).status_code == 302
    assert find_token(secret) is None
