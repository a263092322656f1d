"""OWASP ASVS 4.0.3 level 2: the items of docs/security.md that were "not yet tested" and can be
shown over HTTP to the portal served in a thread (tests/support/served_client.py). The items
about what gunicorn's portal sends are in test_asvs_items_served.py.

- V2: the password fields let paste and password managers work; the e-mail confirmation link
  expires; every hash has a salt of its own; a migrated database has no account; a TOTP code
  is accepted for three 30-second steps only.
- V3: session ids come from the operating system's CSPRNG (``secrets``).
- V4/V7: an exception inside an access check is a bare 500 that shows nothing and is logged.
- V5: extra form fields are ignored (no mass assignment); non-ASCII names and an apostrophe
  survive a page, the API and a mail; a tampered messages cookie or session cookie is ignored.
- V7: the text of a contact message and a practice's figures stay out of the logs.
- V14.2.2: the URLs the portal serves are exactly the listed ones, and no sample or debug app.
"""

from __future__ import annotations

import logging
import re
import time
from email import message_from_bytes
from email.header import decode_header, make_header

import pytest
from django.core import mail

from tests.portal.test_asvs import KNOWN, _password_step, fast_hashes, known, operator  # noqa: F401
from tests.support.portal_world import PASSWORD, A, B, audit, build_releases, client_for, make_account, reauthenticated
from tests.support.served_client import ServedClient

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(releases_root):
    """A and B published; a user of A (who may read A's reports) and an outsider."""
    from portal.access.actions import grant

    build_releases(releases_root)
    user_a = make_account("gebruiker@a.nl")
    grant(user_a, A, actor="operator (test)")
    mail.outbox.clear()
    return user_a


# -- V2.1.11: paste and password managers ---------------------------------------------------------


def test_password_fields_are_plain_and_let_paste_and_password_managers_work(known):  # noqa: F811
    anonymous, logged_in = ServedClient(), client_for(known)
    pages = {
        "/accounts/login/": (anonymous, {"password": "current-password"}),
        "/accounts/signup/": (anonymous, {"password1": "new-password", "password2": "new-password"}),
        "/accounts/password/change/": (
            logged_in,
            {"oldpassword": "current-password", "password1": "new-password", "password2": "new-password"},
        ),
    }
    for path, (client, expected) in pages.items():
        html = client.get(path).content.decode()
        fields = {
            re.search(r'name="([^"]+)"', tag)[1]: tag for tag in re.findall(r"<input[^>]*type=\"password\"[^>]*>", html)
        }
        assert set(fields) == set(expected), (path, fields)
        for name, tag in fields.items():
            assert f'autocomplete="{expected[name]}"' in tag, (path, tag)
            assert not re.search(r"\son\w+=", tag), (path, tag)  # no onpaste, oncopy, ...
            assert "readonly" not in tag and "maxlength" not in tag, (path, tag)
        assert not re.search(r"on(paste|copy|cut|drop)=|autocomplete=\"off\"", html), path
        # no script that could intercept paste: the one script is the portal's password.js (the
        # show-password button and the strength meter, ASVS 2.1.12 and 2.1.8), which handles none
        assert re.findall(r"<script\b[^>]*>", html) == ['<script src="/static/portal/password.js" defer>'], path
    from django.contrib.staticfiles import finders

    script = open(finders.find("portal/password.js"), encoding="utf-8").read()
    assert not re.search(r"\b(paste|copy|cut|drop)\b|preventDefault|stopPropagation|returnValue", script)
    # what a password manager or a paste fills in is posted as it is, and logs in
    assert ServedClient().post("/accounts/login/", {"login": KNOWN, "password": PASSWORD}).status_code == 302


# -- V2.3.1: activation codes expire ----------------------------------------------------------------


def _sign_up_and_get_link(address: str) -> str:
    fields = {"email": address, "password1": "Eigen-gekozen-ww-11", "password2": "Eigen-gekozen-ww-11", "consent": "on"}
    assert ServedClient().post("/accounts/signup/", fields).status_code == 302
    (message,) = [m for m in mail.outbox if m.to == [address]]
    return re.search(r"http://testserver(/accounts/confirm-email/[^\s]+/)", message.body)[1]


def test_the_confirmation_link_expires_after_three_days_and_the_password_is_the_users_own(monkeypatch):
    from allauth.account import app_settings as account_settings
    from allauth.account.models import EmailAddress
    from django.contrib.auth import get_user_model
    from django.core import signing

    assert account_settings.EMAIL_CONFIRMATION_EXPIRE_DAYS == 3
    late, in_time = "laat@praktijk.nl", "optijd@praktijk.nl"
    late_link, in_time_link = _sign_up_and_get_link(late), _sign_up_and_get_link(in_time)
    key = late_link.rstrip("/").rsplit("/", 1)[1]
    assert len(key) >= 20  # a signed key, not a short code
    real_time = time.time

    class Later:
        @staticmethod
        def time():
            return real_time() + 3 * 24 * 3600 + 60

    monkeypatch.setattr(signing, "time", Later)
    client = ServedClient()
    client.get(late_link)
    client.post(late_link)
    assert not EmailAddress.objects.get(email=late).verified
    monkeypatch.undo()
    client = ServedClient()
    client.get(in_time_link)
    assert client.post(in_time_link).status_code == 302
    assert EmailAddress.objects.get(email=in_time).verified
    # no generated initial password: the account has the password its owner chose at sign-up
    assert get_user_model().objects.get(email=in_time).check_password("Eigen-gekozen-ww-11")


# -- V2.4.2: a salt of its own for every hash ---------------------------------------------------------


def test_every_stored_hash_has_a_random_salt_of_its_own(settings):
    import portal.settings as configured

    settings.PASSWORD_HASHERS = configured.PASSWORD_HASHERS  # what the portal configures, not the tests' MD5
    same = "Hetzelfde-wachtwoord-2024"
    users = [make_account(f"zout{n}@praktijk.nl", password=same) for n in range(3)]
    salts = set()
    for user in users:
        user.refresh_from_db()
        algorithm, iterations, salt, digest = user.password.split("$")
        # PBKDF2-SHA256 of the peppered password (portal/access/passwords.py, ASVS 2.4.5)
        assert algorithm == "pbkdf2_sha256_peppered" and int(iterations) >= 600_000
        # 22 characters of [A-Za-z0-9]: about 131 bits, far over the 32 asked
        assert re.fullmatch(r"[A-Za-z0-9]{22,}", salt), salt
        salts.add(salt)
    assert len(salts) == len(users)  # the same password, three different salts and hashes
    assert len({u.password for u in users}) == len(users)


# -- V2.5.4: no default accounts ------------------------------------------------------------------------


def test_the_migrated_database_has_no_account_and_no_default_login_works():
    from axes.utils import reset
    from django.contrib.auth import get_user_model

    assert get_user_model().objects.count() == 0  # pytest-django's database is made by the migrations
    for login in ("admin", "root", "administrator", "admin@localhost", "admin@example.com"):
        for password in ("admin", "root", "password", "changeme", login):
            client = ServedClient()
            response = client.post("/accounts/login/", {"login": login, "password": password})
            assert response.status_code == 200 and "_auth_user_id" not in client.session, (login, password)
            reset()  # no lockout: each guess must fail on its own


# -- V2.8.1: a TOTP code has a defined lifetime ------------------------------------------------------------


def test_a_totp_code_is_accepted_for_three_steps_only(operator, settings, monkeypatch):  # noqa: F811
    from allauth.mfa import app_settings as mfa_settings
    from allauth.mfa.totp.internal import auth as totp_auth

    from tests.release.test_four_eyes import totp_code

    assert (mfa_settings.TOTP_PERIOD, mfa_settings.TOTP_TOLERANCE) == (30, 1)
    secret, _ = operator
    step = (int(time.time()) // 30) * 30 - 600  # a step in the past, whole: no boundary can pass in the test
    code = totp_code(secret, step + 1)

    def attempt(now: float) -> int:
        monkeypatch.setattr(totp_auth, "time", type("Clock", (), {"time": staticmethod(lambda: now)}))
        client = ServedClient()
        _password_step(client)
        return client.post("/accounts/2fa/authenticate/", {"code": code}).status_code

    assert attempt(step - 31) == 200  # two steps early: refused
    assert attempt(step + 2 * 30 + 1) == 200  # two steps late: expired
    settings.MFA_FAILURE_LIMIT = 99  # the refusals above must not lock the second factor
    assert attempt(step + 30 + 29) == 302  # the last second of the step after: still accepted


# -- V3.2.4: session ids from the CSPRNG --------------------------------------------------------------------


def test_the_session_id_is_drawn_from_the_operating_systems_csprng(known, settings, monkeypatch):  # noqa: F811
    import random
    import secrets

    from django.utils import crypto

    choice = secrets.choice
    assert crypto.secrets is secrets and isinstance(choice.__self__, random.SystemRandom)  # os.urandom
    drawn: list[str] = []

    def recorded(sequence):
        drawn.append(choice(sequence))
        return drawn[-1]

    monkeypatch.setattr(crypto.secrets, "choice", recorded)
    client = ServedClient()
    assert client.post("/accounts/login/", {"login": KNOWN, "password": PASSWORD}).status_code == 302
    session_id = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert "".join(drawn).find(session_id) >= 0  # every character of it came from secrets.choice


# -- V4.1.5 / V7.4.3: an exception inside a check ------------------------------------------------------------


def test_an_access_check_that_raises_gives_a_500_with_only_a_reference_and_is_logged(world, monkeypatch, caplog):
    from portal.access import permissions

    client = client_for(world, raise_request_exception=False)
    own = client.get(f"/praktijk/{A}/2024-v1/fysiotherapie.pdf")
    assert own.status_code == 200 and b"Spiegel test report" in b"".join(own.streaming_content)

    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    for name in ("can_view", "can_read_practice_figures", "index_scope"):
        monkeypatch.setattr(permissions, name, broken)
    caplog.set_level(logging.ERROR)
    urls = [
        f"/praktijk/{A}/",
        f"/praktijk/{A}/2024-v1/fysiotherapie.pdf",
        f"/praktijk/{A}/2024-v1/fysiotherapie.html",
        f"/api/v1/practices/{A}/",
        "/api/v1/periods/2024-v1/index/",
    ]
    references = []
    for url in urls:
        response = client.get(url)
        assert response.status_code == 500, url
        body = response.content.decode()
        # ASVS 7.4.1: the generic message in Dutch, with a reference to quote to support
        assert "Er is iets misgegaan" in body and "Vermeld dan deze referentie" in body, url
        references.append(re.search(r'<code class="error-reference">([0-9a-f]{8})</code>', body).group(1))
        for leak in ("Spiegel test report", "%PDF", A, B, "database went away", "Traceback", "RuntimeError"):
            assert leak not in body, (url, leak)
    assert len(set(references)) == len(urls)  # one reference per error
    logged = [r for r in caplog.records if r.name == "django.request" and r.levelno == logging.ERROR]
    assert len(logged) == len(urls) and all(r.exc_info and isinstance(r.exc_info[1], RuntimeError) for r in logged)
    ours = [r for r in caplog.records if r.name == "portal.errors"]  # the reference, with the traceback
    assert [r.getMessage().split()[3] for r in ours] == references
    assert all(r.exc_info and isinstance(r.exc_info[1], RuntimeError) for r in ours)
    assert ServedClient(raise_request_exception=False).get("/").status_code == 200  # the rest keeps working


# -- V5.1.2: no mass assignment ----------------------------------------------------------------------------


def test_extra_fields_posted_to_a_form_change_nothing_they_name(world, settings):
    from django.contrib.auth import get_user_model

    from portal.access.models import ApiToken, PracticeAccess
    from portal.public.models import ContactMessage

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    outsider = make_account("buiten@x.nl")
    client = client_for(outsider)
    extra = {"status": "approved", "user": str(world.pk), "decided_by": "ikzelf", "is_staff": "on", "id": "1"}
    assert client.post("/praktijk/aanvragen/", {"agb": B, **extra}).status_code == 302
    (access,) = PracticeAccess.objects.filter(agb=B)
    assert (access.user, access.status, access.decided_by) == (outsider, PracticeAccess.PENDING, "")
    assert client.get(f"/praktijk/{B}/").status_code == 404
    # a token for oneself, valid as long as the form's days say, whatever else is posted
    reauthenticated(client)
    client.post(
        "/accounts/tokens/",
        {"action": "create", "name": "t", "days": "7", "user": str(world.pk), "expires_at": "2099-01-01", **extra},
    )
    (token,) = ApiToken.objects.all()
    assert token.user == outsider and round((token.expires_at - token.created_at).total_seconds() / 86400) == 7
    # sign-up takes the address and the password, never a role
    fields = {
        "email": "nieuw@x.nl",
        "password1": "Een-nieuw-ww-2024",
        "password2": "Een-nieuw-ww-2024",
        "consent": "on",
    }
    ServedClient().post("/accounts/signup/", {**fields, "is_superuser": "on", "is_staff": "on", "is_active": "on"})
    new = get_user_model().objects.get(email="nieuw@x.nl")
    assert not (new.is_staff or new.is_superuser)
    # the contact form: the portal's own fields (where it came from, where it was mailed) stay its own
    message = {"topic": "toegang", "name": "N", "email": "n@x.nl", "subject": "S", "message": "M"}
    own_fields = {
        "ip_address": "1.2.3.4",
        "mailed_to": "kwaad@example.org",
        "mail_error": "x",
        "created_at": "2000-01-01",
    }
    ServedClient().post("/contact/", {**message, **own_fields}, REMOTE_ADDR="10.4.4.4")
    stored = ContactMessage.objects.get()
    assert (stored.ip_address, stored.mail_error) == ("10.4.4.4", "") and "kwaad" not in stored.mailed_to
    assert stored.created_at.year > 2000 and all("kwaad" not in " ".join(m.recipients()) for m in mail.outbox)


# -- V5.3.2: any character survives ----------------------------------------------------------------------------

NAME, PLACE = "Fysio O'Hara & ねこ 🐈 Zoë", "Ĳsselstein"


def test_a_name_with_an_apostrophe_kana_and_emoji_survives_the_page_the_api_and_a_mail(world, settings, admin_client):
    import csv
    import html

    from portal.public.models import ContactMessage

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    newest = settings.RELEASES_DIR / "2025-v1" / "r1"
    assert newest.is_dir()
    with open(newest / "practices.csv", "w", newline="", encoding="utf-8") as handle:  # the register, in UTF-8
        csv.writer(handle, lineterminator="\n").writerows(
            [("practice_agb", "practice_name", "place"), (A, NAME, PLACE)]
        )
    client = client_for(world)
    page = client.get(f"/praktijk/{A}/")
    assert page["Content-Type"] == "text/html; charset=utf-8"
    text = page.content.decode("utf-8")
    assert "Fysio O&#x27;Hara &amp; ねこ 🐈 Zoë" in text  # escaped for HTML, every code point kept
    assert f"{NAME}, {PLACE}" in html.unescape(text)
    api = client.get(f"/api/v1/practices/{A}/")
    assert api.json()["practice_name"] == NAME and api.json()["place"] == PLACE
    assert NAME.encode("utf-8") in api.content  # raw UTF-8, not \\u escapes
    # a mail: the contact form's name, subject and text, in the body and the encoded headers
    subject, body = "Vraag van ねこ 🐈", "Groet, Siobhán O'Hara — ½ € ✓"
    message = {"topic": "toegang", "name": NAME, "email": "ohara@x.nl", "subject": subject, "message": body}
    assert ServedClient().post("/contact/", message, REMOTE_ADDR="10.5.5.5").status_code == 302
    (sent,) = mail.outbox
    wire = message_from_bytes(sent.message().as_bytes())  # the bytes sent over SMTP
    assert str(make_header(decode_header(wire["Subject"]))).endswith(subject)
    payload = wire.get_payload(decode=True).decode(wire.get_content_charset())
    assert NAME in payload and body in payload
    stored = ContactMessage.objects.get()
    assert (stored.name, stored.subject, stored.message) == (NAME, subject, body)
    shown = admin_client.get(f"/admin/public/contactmessage/{stored.pk}/change/").content.decode("utf-8")
    assert "Siobhán O&#x27;Hara — ½ € ✓" in shown


# -- V5.5.1: serialised state has integrity checks ------------------------------------------------------------


def test_a_tampered_session_or_messages_cookie_is_ignored(world, settings):
    from django.contrib.messages import constants
    from django.contrib.messages.storage.base import Message
    from django.contrib.messages.storage.cookie import CookieStorage
    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session
    from django.core import signing
    from django.test import RequestFactory

    assert settings.SESSION_ENGINE == "django.contrib.sessions.backends.db"  # kept on the server
    assert settings.SESSION_SERIALIZER == "django.contrib.sessions.serializers.JSONSerializer"  # no pickle
    admin = make_account("admin@x.nl")
    client = client_for(world)
    key = client.session.session_key
    row = Session.objects.get(session_key=key)
    data = SessionStore().decode(row.session_data)
    assert data["_auth_user_id"] == str(world.pk)
    # whoever writes the session table without the secret key cannot forge a login as another account
    forged = {**data, "_auth_user_id": str(admin.pk)}
    row.session_data = signing.dumps(forged, key="x" * 50, salt="django.contrib.sessions.SessionStore", compress=True)
    row.save()
    assert client.get("/praktijk/")["Location"].startswith("/accounts/login/")
    # the messages cookie: the one signed with the portal's key is shown, a changed or foreign one is not
    request = RequestFactory().get("/")
    storage = CookieStorage(request)
    signed = storage._encode([Message(constants.ERROR, "Echt bericht xk1")])
    real_key, settings.SECRET_KEY = settings.SECRET_KEY, "y" * 50  # a forger's key
    foreign = CookieStorage(request)._encode([Message(constants.ERROR, "Vals bericht xk2")])
    settings.SECRET_KEY = real_key
    payload, signature = signed.rsplit(":", 1)
    changed = payload.replace(payload[5], "A" if payload[5] != "A" else "B", 1) + ":" + signature
    seen = {}
    for name, value in {"signed": signed, "foreign": foreign, "changed": changed}.items():
        visitor = ServedClient()
        visitor.cookies[CookieStorage.cookie_name] = value
        seen[name] = visitor.get("/").content.decode()
    assert "Echt bericht xk1" in seen["signed"]
    assert "Vals bericht xk2" not in seen["foreign"] and "Echt bericht xk1" not in seen["changed"]


# -- V7.1.2: no other sensitive data in the logs ----------------------------------------------------------


def test_a_contact_message_and_a_practices_figures_stay_out_of_the_logs(world, settings, caplog):
    from portal.releases import catalog

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    caplog.set_level(logging.DEBUG)  # every logger, every level: more than the served portal writes
    text = "Mijn knie doet pijn sinds de operatie van 12 maart, kenmerk qz81"
    message = {"topic": "toegang", "name": "Karel", "email": "karel@x.nl", "subject": "Knie qz82", "message": text}
    assert ServedClient().post("/contact/", message, REMOTE_ADDR="10.6.6.6").status_code == 302
    client = client_for(world)
    rows = catalog.practice_rows(catalog.newest_revision("2025-v1"), A)
    # the published full-precision bounds (e.g. 103.612345678901): no log line can hold them by chance
    figures = {row[column] for row in rows for column in ("ci_lower", "ci_upper", "corrected_index")}
    assert len(figures) >= 4 and all(len(f) >= 12 for f in figures)
    for url in (
        f"/praktijk/{A}/",
        f"/api/v1/practices/{A}/",
        "/api/v1/periods/2025-v1/index/",
        "/api/v1/periods/2025-v1/index/?format=csv",
    ):
        response = client.get(url)
        assert response.status_code == 200, url
    assert any(f.encode() in response.content for f in figures)  # the figures were read
    report = client.get(f"/praktijk/{A}/2025-v1/fysiotherapie.pdf")
    assert report.status_code == 200
    events = audit()
    assert {"api_call", "download"} <= {e.action for e in events}  # reads are audited, by what was read
    stored = " ".join(f"{e.actor} {e.subject} {e.detail}" for e in events)
    logged = " ".join(record.getMessage() for record in caplog.records)
    for secret in (text, "qz81", "qz82", "Knie qz82", *figures):
        assert secret not in stored and secret not in logged, secret


# -- V14.2.2: exactly the listed URLs --------------------------------------

AGB, PERIOD = r"(?P<agb>[0-9]{8})", r"(?P<period>[0-9]{4}-v[1-3])"
DISCIPLINE, ASSET = (
    r"(?P<discipline>fysiotherapie|oefentherapie)",
    r"(?P<name>plotly\.min\.js|spiegel\.js|spiegel\.css)",
)
REST = r"^(?P<rest>[\s\S]*)\Z"


def _under(prefix: str, patterns: str) -> set[str]:
    return {prefix + pattern for pattern in patterns.split()}


# every URL pattern outside the admin (portal.md's pages, allauth's account pages, the API)
SERVED_PATTERNS = (
    {"", "favicon.ico", "kalender/", "methode/", "labels/", "vragen/", "contact/", "contact/verzonden/", "privacy/"}
    | {rf"^methode/{PERIOD}/reference_strata\.csv$"}
    | _under(
        "accounts/",
        r"""tokens/ sessions/ export/ delete/ login/ logout/ inactive/ signup/ reauthenticate/ reauthenticate/code/
        reauthenticate/code/confirm/ email/ confirm-email/ password/change/ password/set/ password/reset/
        login/code/confirm/ ^confirm-email/(?P<key>[-:\w]+)/$ password/reset/key/done/
        ^password/reset/key/(?P<uidb36>[0-9A-Za-z]+)-(?P<key>.+)/$ password/reset/done/ 2fa/
        2fa/authenticate/ 2fa/reauthenticate/ 2fa/totp/activate/ 2fa/totp/deactivate/ 2fa/recovery-codes/
        2fa/recovery-codes/generate/ 2fa/recovery-codes/download/ 2fa/webauthn/ 2fa/webauthn/add/
        2fa/webauthn/reauthenticate/ 2fa/webauthn/keys/<int:pk>/remove/ 2fa/webauthn/keys/<int:pk>/edit/""",
    )
    | {"accounts/"}  # the account's overview (portal/access/account_urls.py)
    | {"praktijk/", "praktijk/aanvragen/", "praktijk/" + REST}
    | _under("praktijk/^", rf"{AGB}/\Z {AGB}/toegang/\Z {AGB}/{PERIOD}/{DISCIPLINE}\.(?P<extension>pdf|html)\Z")
    | _under("praktijk/^", rf"{AGB}/{PERIOD}/{ASSET}\Z {AGB}/{PERIOD}/{DISCIPLINE}/(?P<name>_funnel\.js)\Z")
    | {"verzekeraar/", "verzekeraar/berichten/", "verzekeraar/" + REST}
    | _under("verzekeraar/^", rf"{PERIOD}/\Z {PERIOD}/behandelindex\.(?P<extension>csv|parquet|xlsx)\Z")
    | _under("verzekeraar/^", rf"{PERIOD}/landelijk\.html\Z {PERIOD}/{ASSET}\Z")
    | _under("api/", "v1/schema/ v1/docs/ v1/redoc/ v1/periods/ " + REST)
    | _under("api/^v1/", r"periods/(?P<period>[^/]+)/reference/\Z periods/(?P<period>[^/]+)/index/\Z")
    | {r"api/^v1/practices/(?P<agb>[^/]+)/\Z"}
    | {"beheer/vrijgave/"}
    | _under("beheer/^vrijgave/", rf"{PERIOD}/\Z {PERIOD}/aftekenen/\Z {PERIOD}/publiceren/\Z")
)
ADMIN_MODELS = _under(
    "",
    """access.auditevent access.insurerstaff access.practiceaccess access.practicemanager account.emailaddress
    auth.group auth.user axes.accessattempt axes.accessfailurelog axes.accesslog mfa.authenticator
    public.contactmessage public.newsitem public.periodnotice usersessions.usersession""",
)


def _patterns(resolver, prefix=""):
    from django.urls import URLResolver

    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            yield from _patterns(pattern, prefix + str(pattern.pattern))
        else:
            yield prefix + str(pattern.pattern)


def test_the_portal_serves_exactly_the_listed_urls_and_no_sample_or_debug_app(settings, known):  # noqa: F811
    from django.contrib import admin
    from django.urls import get_resolver

    patterns = set(_patterns(get_resolver()))
    assert {p for p in patterns if not p.startswith("admin/")} == SERVED_PATTERNS
    assert {f"{m._meta.app_label}.{m._meta.model_name}" for m in admin.site._registry} == ADMIN_MODELS
    samples = ("admindocs", "flatpages", "sitemaps", "redirects", "debug_toolbar", "django_extensions", "silk")
    assert not [app for app in settings.INSTALLED_APPS if any(s in app for s in samples)]
    # allauth's login and re-authentication by a mailed code are off: nothing to confirm, no mail
    for client in (ServedClient(), client_for(known)):
        response = client.get("/accounts/login/code/confirm/")
        assert response.status_code in (302, 404) and b'name="code"' not in response.content
    mail.outbox.clear()
    reauthenticate = client_for(known).post("/accounts/reauthenticate/code/")
    assert reauthenticate.status_code in (302, 403, 404) and mail.outbox == []
    page = client_for(known).get("/accounts/reauthenticate/")
    assert b"/accounts/reauthenticate/code/" not in page.content
    # a password cannot be "set" over the one an account has: the page sends it to the change page
    assert client_for(known).get("/accounts/password/set/")["Location"] == "/accounts/password/change/"
