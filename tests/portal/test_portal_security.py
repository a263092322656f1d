"""Security over HTTP with two practices and three accounts:
no access across practices by any URL, anonymous -> login, revocation at once, managers
of A cannot manage B, nobody approves their own request, CSRF on every form, lockout after
repeated failed logins; each of these leaves its audit line."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from tests.support.portal_world import PASSWORD, A, B, C, World, audit, build_releases, client_for, make_account

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fast_hashes(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def world(releases_root) -> World:
    from portal.access.actions import appoint_manager, grant

    build_releases(releases_root)
    manager_a, manager_b, user_a = (make_account(e) for e in ("beheer@a.nl", "beheer@b.nl", "gebruiker@a.nl"))
    appoint_manager(manager_a, A, actor="operator (test)")
    appoint_manager(manager_b, B, actor="operator (test)")
    grant(user_a, A, actor="operator (test)")
    return World(releases_root, manager_a, manager_b, user_a)


# URLs that user_a (access to A only) must never get anything from; every one is a 404
CROSS_URLS = [
    f"/praktijk/{B}/",  # the other practice
    f"/praktijk/{B}/2025-v1/fysiotherapie.pdf",
    f"/praktijk/{B}/2025-v1/fysiotherapie.html",
    f"/praktijk/{B}/2025-v1/spiegel.js",
    f"/praktijk/{B}/toegang/",
    f"/praktijk/{C}/",  # a practice only in an archived period
    "/praktijk/99999999/",  # a practice that does not exist
    f"/praktijk/{A}/2023-v1/fysiotherapie.pdf",  # beyond the 6 shown periods
    f"/praktijk/{A}/2026-v1/fysiotherapie.pdf",  # not published
    f"/praktijk/{A}/2024-v2/oefentherapie.pdf",  # no index, no report
    f"/praktijk/{A}/2025-v1/logopedie.pdf",  # not a discipline
    f"/praktijk/{A}/2024-v1/r1/fysiotherapie.pdf",  # a revision name
    f"/praktijk/{A}/r1/fysiotherapie.pdf",
    f"/praktijk/{A}/2024-v1/fysiotherapie.pdf/",  # trailing tricks
    f"/praktijk/{A}/2024-v1/fysiotherapie.pdf.",
    f"/praktijk/{A}/2024-v1/fysiotherapie.PDF",
    f"/praktijk/{A}/2024-v1/fysiotherapie.pdf%00",
    f"/praktijk/{A}/2024-v1/fysiotherapie.pdf%0a",
    f"/praktijk/{A}/2024-v1/fysiotherapie.pdf;.html",
    f"/praktijk/{A}/2024-v1/fysiotherapie.pdf%20",
    f"/praktijk/{A}/2024-v1/fysiotherapie",
    f"/praktijk/{A}%0a/",
    f"/praktijk/{A}0/",
    f"/praktijk/0{A}/",
    f"/praktijk/{A[:7]}/",
    f"/praktijk/{A}/2024-v1/../../{B}/2024-v1/fysiotherapie.pdf",  # dot segments, raw and encoded
    f"/praktijk/{A}/..%2F{B}/",
    f"/praktijk/{A}%2F..%2F{B}/",
    f"/praktijk/{A}/2024-v1/..%2F..%2F{B}%2F2024-v1%2Ffysiotherapie.pdf",
    f"/praktijk/{A}/2024-v1/%2e%2e/%2e%2e/{B}/2024-v1/fysiotherapie.pdf",
    f"/praktijk/{A}/2024-v1/fysiotherapie/..%2F..%2F..%2F..%2Fbehandelindex.csv",
    f"/praktijk/{A}/2024-v1/behandelindex.csv",
    f"/praktijk/{A}/2024-v1/release.json",
    f"/praktijk/{A}/2024-v1/fysiotherapie/{B}.pdf",
    f"/praktijk/{A}/2024-v1/fysiotherapie/_funnel.js/../{B}.pdf",
    f"/praktijk/{A}/2024-v1/fysiotherapie%2F{B}.pdf",
    f"/praktijk/{A}/2024-v1/oefentherapie/../fysiotherapie/{B}.pdf",
    f"/praktijk/{A}/2024-v1/%2Fetc%2Fpasswd",
    f"/praktijk/{A}/2024-v1/fysiotherapie.pdf%2F..%2F..%2F{B}",
    f"/praktijk/{A}/2024-v4/fysiotherapie.pdf",
    f"/praktijk/{A}/2024-v1/fysiotherapie.html%3F",
    f"/praktijk/{A}/toegang/",  # user_a is no manager of A
]


def _page(response) -> bytes:
    """The response body without its CSRF token (masked differently in every response)."""
    return re.sub(rb'name="csrfmiddlewaretoken" value="[^"]+"', b"", response.content)


def test_no_access_across_practices_by_any_url(world):
    client = client_for(world.user_a)
    own = client.get(f"/praktijk/{A}/2024-v1/fysiotherapie.pdf")
    assert own.status_code == 200  # the test can tell access from no access
    before = len(audit("denied"))
    reference = _page(client.get("/praktijk/99999999/"))
    for url in CROSS_URLS:
        response = client.get(url)
        assert response.status_code == 404, url
        assert _page(response) == reference, url  # the same answer whether it exists or not
        assert B.encode() not in response.content
    denied = audit("denied")
    assert len(denied) - before == len(CROSS_URLS) + 1
    assert {e.actor for e in denied} == {"gebruiker@a.nl"}
    # the audit line names the practice when the AGB in the URL was a valid one
    assert {e.agb for e in denied if e.subject == f"/praktijk/{B}/"} == {B}


def test_the_other_managers_and_outsiders_get_404_too(world):
    outsider = client_for(make_account("buiten@c.nl"))
    manager_b = client_for(world.manager_b)
    for url in [
        f"/praktijk/{A}/",
        f"/praktijk/{A}/2025-v1/fysiotherapie.pdf",
        f"/praktijk/{A}/toegang/",
        f"/praktijk/{A}/2025-v1/plotly.min.js",
        f"/praktijk/{A}/2025-v1/fysiotherapie/_funnel.js",
    ]:
        assert outsider.get(url).status_code == 404, url
        assert manager_b.get(url).status_code == 404, url
    assert manager_b.get(f"/praktijk/{B}/2025-v1/fysiotherapie.pdf").status_code == 200


ANONYMOUS_URLS = [
    "/praktijk/",
    f"/praktijk/{A}/",
    f"/praktijk/{A}/toegang/",
    f"/praktijk/{A}/2025-v1/fysiotherapie.pdf",
    f"/praktijk/{A}/2025-v1/fysiotherapie.html",
    f"/praktijk/{A}/2025-v1/plotly.min.js",
    "/praktijk/99999999/",
    "/praktijk/..%2F..%2Fetc/",
    "/praktijk/zomaar/iets",
    f"/praktijk/{A}%0a/",
]


def test_anonymous_requests_go_to_the_login_page(world):
    from tests.support.served_client import ServedClient

    client = ServedClient()
    for url in ANONYMOUS_URLS:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/accounts/login/?next="), url
    assert client.post("/praktijk/aanvragen/", {"agb": A}).status_code in (302, 403)
    assert len(audit("login_required")) >= len(ANONYMOUS_URLS)
    assert {e.actor for e in audit("login_required")} == {"anoniem"}


def test_a_revoked_user_loses_access_at_once(world):
    from portal.access.models import PracticeAccess

    user = client_for(world.user_a)  # logged in, session open
    assert user.get(f"/praktijk/{A}/2025-v1/fysiotherapie.pdf").status_code == 200
    manager = client_for(world.manager_a)
    access = PracticeAccess.objects.get(user=world.user_a, agb=A)
    assert manager.post(f"/praktijk/{A}/toegang/", {"action": "revoke", "access": access.pk}).status_code == 302
    for url in [f"/praktijk/{A}/", f"/praktijk/{A}/2025-v1/fysiotherapie.pdf", f"/praktijk/{A}/2025-v1/spiegel.css"]:
        assert user.get(url).status_code == 404, url
    assert A not in user.get("/praktijk/").content.decode().split("Mijn aanvragen")[0]
    (revocation,) = audit("revocation")
    assert (revocation.agb, revocation.actor, revocation.subject) == (A, "beheer@a.nl", "gebruiker@a.nl")
    assert len(audit("denied", actor="gebruiker@a.nl", agb=A)) == 3


def test_a_manager_of_a_cannot_manage_b(world):
    from portal.access.models import PracticeAccess, PracticeManager

    asker = make_account("vraagt@b.nl")
    client_for(asker).post("/praktijk/aanvragen/", {"agb": B})
    pending_b = PracticeAccess.objects.get(user=asker, agb=B)
    manager_b_row = PracticeManager.objects.get(agb=B)
    manager_a = client_for(world.manager_a)
    attempts = [
        ("get", f"/praktijk/{B}/toegang/", {}),
        ("post", f"/praktijk/{B}/toegang/", {"action": "approve", "access": pending_b.pk}),
        ("post", f"/praktijk/{B}/toegang/", {"action": "appoint", "email": "beheer@a.nl"}),
        ("post", f"/praktijk/{B}/toegang/", {"action": "remove", "manager": manager_b_row.pk}),
        # B's rows through A's own page: looked up within A only
        ("post", f"/praktijk/{A}/toegang/", {"action": "approve", "access": pending_b.pk}),
        ("post", f"/praktijk/{A}/toegang/", {"action": "refuse", "access": pending_b.pk}),
        ("post", f"/praktijk/{A}/toegang/", {"action": "remove", "manager": manager_b_row.pk}),
    ]
    for method, url, data in attempts:
        assert getattr(manager_a, method)(url, data).status_code == 404, (url, data)
    pending_b.refresh_from_db()
    assert pending_b.status == PracticeAccess.PENDING
    assert list(PracticeManager.objects.filter(agb=B).values_list("user__email", flat=True)) == ["beheer@b.nl"]
    assert len(audit("denied", actor="beheer@a.nl")) == len(attempts)
    assert not audit("grant", agb=B) and not audit("refusal") and not audit("manager_removed")


def test_a_user_cannot_approve_their_own_request(world):
    from portal.access.models import PracticeAccess

    asker = make_account("vraagt@a.nl")
    client = client_for(asker)
    client.post("/praktijk/aanvragen/", {"agb": A})
    own = PracticeAccess.objects.get(user=asker, agb=A)
    assert client.post(f"/praktijk/{A}/toegang/", {"action": "approve", "access": own.pk}).status_code == 404
    assert client.get(f"/praktijk/{A}/").status_code == 404
    own.refresh_from_db()
    assert own.status == PracticeAccess.PENDING
    assert len(audit("denied", actor="vraagt@a.nl", agb=A)) == 2

    # nor can a manager decide about their own access row (e.g. a manager of B with a
    # request for A who becomes manager of A later): refused, and audited
    from portal.access.actions import appoint_manager

    appoint_manager(world.manager_b, A, actor="operator (test)")
    PracticeAccess.objects.create(user=world.manager_b, agb=A, status=PracticeAccess.APPROVED)
    row = PracticeAccess.objects.get(user=world.manager_b, agb=A)
    response = client_for(world.manager_b).post(
        f"/praktijk/{A}/toegang/", {"action": "revoke", "access": row.pk}, follow=True
    )
    assert "eigen toegang" in response.content.decode()
    row.refresh_from_db()
    assert row.status == PracticeAccess.APPROVED
    assert audit("denied", actor="beheer@b.nl", agb=A)[-1].detail == "revocation of one's own access refused"


def _token(client, url: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', client.get(url).content.decode())[1]


def test_csrf_is_enforced_on_every_form(world):
    from portal.access.models import PracticeAccess
    from tests.support.served_client import ServedClient

    asker = make_account("vraagt@a.nl")
    client_for(asker).post("/praktijk/aanvragen/", {"agb": A})
    pending = PracticeAccess.objects.get(user=asker, agb=A)
    granted = PracticeAccess.objects.get(user=world.user_a, agb=A)
    manager = client_for(world.manager_a, enforce_csrf_checks=True)
    user = client_for(world.user_a, enforce_csrf_checks=True)
    anonymous = ServedClient(enforce_csrf_checks=True)
    forms = [
        (anonymous, "/accounts/login/", {"login": "beheer@a.nl", "password": PASSWORD}),
        (anonymous, "/accounts/signup/", {"email": "x@y.nl", "password1": PASSWORD, "password2": PASSWORD}),
        (anonymous, "/accounts/password/reset/", {"email": "beheer@a.nl"}),
        (user, "/praktijk/aanvragen/", {"agb": B}),
        (user, "/accounts/logout/", {}),
        (manager, f"/praktijk/{A}/toegang/", {"action": "approve", "access": pending.pk}),
        (manager, f"/praktijk/{A}/toegang/", {"action": "refuse", "access": pending.pk}),
        (manager, f"/praktijk/{A}/toegang/", {"action": "revoke", "access": granted.pk}),
        (manager, f"/praktijk/{A}/toegang/", {"action": "appoint", "email": "gebruiker@a.nl"}),
    ]
    for client, url, data in forms:
        assert client.post(url, data).status_code == 403, url
        assert client.post(url, {**data, "csrfmiddlewaretoken": "x" * 64}).status_code == 403, url
    assert len(audit("csrf_failure")) == 2 * len(forms)
    pending.refresh_from_db()
    granted.refresh_from_db()
    assert (pending.status, granted.status) == (PracticeAccess.PENDING, PracticeAccess.APPROVED)
    assert not audit("grant", actor="beheer@a.nl") and not audit("manager_appointed", actor="beheer@a.nl")
    # with the page's token the same form goes through (so the 403s above are about the token)
    token = _token(manager, f"/praktijk/{A}/toegang/")
    assert (
        manager.post(
            f"/praktijk/{A}/toegang/", {"action": "approve", "access": pending.pk, "csrfmiddlewaretoken": token}
        ).status_code
        == 302
    )
    pending.refresh_from_db()
    assert pending.status == PracticeAccess.APPROVED
    token = _token(anonymous, "/accounts/login/")
    assert (
        anonymous.post(
            "/accounts/login/", {"login": "beheer@a.nl", "password": PASSWORD, "csrfmiddlewaretoken": token}
        ).status_code
        == 302
    )


def _login(client, email: str, password: str, ip: str = "10.1.2.3"):
    return client.post("/accounts/login/", {"login": email, "password": password}, REMOTE_ADDR=ip)


def test_repeated_failed_logins_lock_the_account_until_the_lockout_ends(world, settings):
    from axes.models import AccessAttempt

    from tests.support.served_client import ServedClient

    limit = settings.AXES_FAILURE_LIMIT
    client = ServedClient()
    assert _login(client, "beheer@a.nl", PASSWORD).status_code == 302  # the password is right
    client = ServedClient()
    for attempt in range(limit):
        response = _login(client, "beheer@a.nl", "fout-wachtwoord")
        assert response.status_code in (200, 429), attempt
    response = _login(client, "beheer@a.nl", PASSWORD)
    assert response.status_code == 429
    assert "Te veel mislukte inlogpogingen" in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert client.get(f"/praktijk/{A}/").status_code == 302  # still anonymous
    failed = audit("login_failed", actor="beheer@a.nl")
    assert len(failed) == limit + 1 and {e.ip for e in failed} == {"10.1.2.3"}
    assert failed[-1].detail == "refused during lockout"
    assert audit("lockout", actor="beheer@a.nl")
    # the account is locked from any address (account lock), and the address for any
    # account (address lock)
    assert _login(ServedClient(), "BEHEER@a.nl", PASSWORD, ip="10.9.9.9").status_code == 429
    assert _login(ServedClient(), "beheer@b.nl", PASSWORD).status_code == 429
    assert _login(ServedClient(), "beheer@b.nl", PASSWORD, ip="10.9.9.8").status_code == 302
    # when the lockout has run out the right password works again
    AccessAttempt.objects.update(
        attempt_time=AccessAttempt.objects.first().attempt_time - settings.AXES_COOLOFF_TIME - timedelta(minutes=1)
    )
    client = ServedClient()
    assert _login(client, "beheer@a.nl", PASSWORD).status_code == 302
    assert client.get(f"/praktijk/{A}/").status_code == 200


def test_behind_a_proxy_the_lockout_is_per_visitor_and_a_forged_forwarded_for_is_ignored(world, settings):
    """Behind one trusted proxy every request comes from 127.0.0.1: the address locked out
    is the one the proxy saw (the right-most X-Forwarded-For entry), not the proxy's, and
    whatever a client writes left of it is not believed."""
    from tests.support.served_client import ServedClient

    settings.TRUSTED_PROXIES = 1

    def via_proxy(email, password, visitor, forged=""):
        forwarded = f"{forged}, {visitor}" if forged else visitor
        return ServedClient().post(
            "/accounts/login/",
            {"login": email, "password": password},
            REMOTE_ADDR="127.0.0.1",
            HTTP_X_FORWARDED_FOR=forwarded,
        )

    for _ in range(settings.AXES_FAILURE_LIMIT):
        # the attacker writes a fresh address each time: it must not reset their count
        via_proxy("beheer@a.nl", "fout-wachtwoord", "203.0.113.7", forged=f"10.0.0.{_}")
    assert via_proxy("beheer@b.nl", PASSWORD, "203.0.113.7", forged="10.0.0.99").status_code == 429
    # another visitor through the same proxy logs in to another account
    assert via_proxy("gebruiker@a.nl", PASSWORD, "198.51.100.4").status_code == 302
    failed = audit("login_failed", actor="beheer@a.nl")
    assert failed and {e.ip for e in failed} <= {"203.0.113.7", "127.0.0.1"}

    settings.TRUSTED_PROXIES = 0  # not behind a proxy: the header is a client's word, ignored
    from django.test import RequestFactory

    from portal.access.client_ip import client_ip

    request = RequestFactory().get("/", REMOTE_ADDR="192.0.2.1", HTTP_X_FORWARDED_FOR="10.0.0.1")
    assert client_ip(request) == "192.0.2.1"
    settings.TRUSTED_PROXIES = 2
    request = RequestFactory().get("/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9, 10.0.0.2")
    assert client_ip(request) == "203.0.113.9"
    request = RequestFactory().get("/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="not-an-ip, 10.0.0.2")
    assert client_ip(request) == "127.0.0.1"


def test_security_headers_and_cookies(world):
    client = client_for(world.user_a)
    response = client.get(f"/praktijk/{A}/")
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    from tests.support.served_client import ServedClient

    login = ServedClient().get("/accounts/login/")
    assert login.cookies["csrftoken"]["samesite"] == "Lax"


def test_control_characters_in_requests_are_audited_escaped(world):
    client = client_for(world.user_a)
    assert client.get(f"/praktijk/{A}/x%00%0ay").status_code == 404
    assert audit("denied")[-1].subject == f"/praktijk/{A}/x\\x00\\ny"
