"""OWASP ASVS 4.0.3 level 2, the items that are about the portal's own logic (docs/security.md):
over HTTP to the portal served in a thread of the test process (tests/support/served_client.py).
The items about gunicorn's HTTP behaviour (headers, cookies behind TLS, limits, methods, logs)
are in test_asvs_served.py.

- V2 authentication: no account enumeration by login, sign-up or password reset (the same
  answer, the same hashing work, a mail to the owner); the password rules (12 to 128
  characters, any character, no truncation, common passwords refused); a change needs the
  current password and is mailed to the owner; a reset link works once and for an hour; a
  TOTP code and a recovery code work once.
- V3 sessions: a new session id at login (also after the second factor), none accepted from a
  URL, 165 bits of randomness; logout and a password change end sessions on the server; the
  idle and absolute limits.
- V5 validation: every form field bounded; the contact form's fields cannot add mail headers
  and its text is escaped where it is shown; a login's ``next`` cannot leave the site.
- V7 logging: logins and logouts audited; no password, TOTP code or session id in the audit
  log or the log records.
"""

from __future__ import annotations

import logging
import math
import re
import time

import pytest
from django.core import mail

from tests.support.portal_world import PASSWORD, A, audit, build_releases, client_for, make_account
from tests.support.served_client import ServedClient

pytestmark = pytest.mark.django_db

KNOWN = "bekend@praktijk.nl"


@pytest.fixture(autouse=True)
def fast_hashes(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def known(releases_root):
    build_releases(releases_root)
    return make_account(KNOWN)


def _page(response) -> bytes:
    """The body without its CSRF token (masked differently in every response)."""
    return re.sub(rb'name="csrfmiddlewaretoken" value="[^"]+"', b"", response.content)


def _count_hashing(monkeypatch) -> list[str]:
    """Every password hashing the code does from now on (the MD5 hasher of the tests)."""
    from django.contrib.auth.hashers import MD5PasswordHasher

    calls: list[str] = []
    plain = MD5PasswordHasher.encode

    def counted(self, password, salt):
        calls.append(salt)
        return plain(self, password, salt)

    monkeypatch.setattr(MD5PasswordHasher, "encode", counted)
    return calls


# -- V2.2 / V3: no enumeration ----------------------------------------------------------------


def test_login_answers_an_unknown_address_as_a_wrong_password_with_the_same_work(known, monkeypatch):
    hashing = _count_hashing(monkeypatch)
    answers = {}
    for n, login in enumerate(["niemand@praktijk.nl", KNOWN]):
        before = len(hashing)
        response = ServedClient().post(
            "/accounts/login/", {"login": login, "password": "Fout-wachtwoord-123"}, REMOTE_ADDR=f"10.0.0.{n}"
        )
        answers[login] = (response.status_code, _page(response).replace(login.encode(), b"ADDRESS"))
        # one hash either way: an unknown address costs the same time as a wrong password
        assert len(hashing) - before == 1, login
    assert answers["niemand@praktijk.nl"] == answers[KNOWN]
    assert answers[KNOWN][0] == 200
    failed = audit("login_failed")
    assert [e.detail for e in failed] == ["wrong e-mail address or password"] * 2


def test_sign_up_with_a_taken_address_looks_like_any_sign_up_and_mails_the_owner(known):
    from django.contrib.auth import get_user_model

    new, taken = ServedClient(), ServedClient()
    fields = {"password1": "Een-nieuw-wachtwoord-1", "password2": "Een-nieuw-wachtwoord-1", "consent": "on"}
    to_new = new.post("/accounts/signup/", {"email": "nieuw@praktijk.nl", **fields})
    to_taken = taken.post("/accounts/signup/", {"email": KNOWN, **fields})
    assert to_new.status_code == to_taken.status_code == 302
    assert to_new["Location"] == to_taken["Location"]
    page_new = _page(new.get(to_new["Location"])).replace(b"nieuw@praktijk.nl", b"ADDRESS")
    page_taken = _page(taken.get(to_taken["Location"])).replace(KNOWN.encode(), b"ADDRESS")
    assert page_new == page_taken
    assert get_user_model().objects.filter(email=KNOWN).count() == 1  # no second account
    (to_owner,) = [m for m in mail.outbox if m.to == [KNOWN]]
    (confirmation,) = [m for m in mail.outbox if m.to == ["nieuw@praktijk.nl"]]
    assert "/accounts/confirm-email/" in confirmation.body
    assert "/accounts/confirm-email/" not in to_owner.body  # the owner is told, nothing to click
    assert "/accounts/password/reset/" in to_owner.body


def test_password_reset_answers_an_unknown_address_as_a_known_one(known):
    answers = []
    for address in ["niemand@praktijk.nl", KNOWN]:
        client = ServedClient()
        response = client.post("/accounts/password/reset/", {"email": address})
        answers.append((response.status_code, response["Location"], _page(client.get(response["Location"]))))
    assert answers[0] == answers[1]
    (reset,) = [m for m in mail.outbox if m.to == [KNOWN]]
    assert "/accounts/password/reset/key/" in reset.body
    assert PASSWORD not in reset.body  # V2.5.3: recovery never shows the password


# -- V2.1: the password rules --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "accepted"),
    [
        ("kort-maar-1", False),  # 11 characters
        ("precies12tkn", True),  # 12: the minimum
        ("x7" * 32, True),  # 64 characters must work
        ("Aa1-" * 32, True),  # 128: the maximum
        ("Aa1-" * 32 + "z", False),  # 129
        ("alleen kleine letters en spaties", True),  # no composition rules
        ("wachtwoord 🙂 met emoji ½", True),  # any printable character
        ("password1234", False),  # a common password
        ("847362910573", True),  # digits only: no composition rules (ASVS 2.1.9)
        ("1234567890123", False),  # a common digit string
    ],
)
def test_the_password_rules(password, accepted):
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError

    try:
        validate_password(password)
        outcome = True
    except ValidationError:
        outcome = False
    assert outcome is accepted, password


def test_a_long_unicode_password_is_kept_whole_not_truncated(known):
    password = "lang wachtwoord 🙂 " * 6 + "éïø-einde"  # over 100 characters, spaces and emoji
    known.set_password(password)
    known.save()
    for prefix in (password[:72], password[:-1]):  # bcrypt-style truncation would accept these
        assert ServedClient().post("/accounts/login/", {"login": KNOWN, "password": prefix}).status_code == 200
    assert ServedClient().post("/accounts/login/", {"login": KNOWN, "password": password}).status_code == 302


def test_a_password_change_needs_the_current_one_ends_other_sessions_and_mails_the_owner(known):
    from django.contrib.auth import get_user_model

    browser, other_device = ServedClient(), ServedClient()
    for client in (browser, other_device):
        assert client.post("/accounts/login/", {"login": KNOWN, "password": PASSWORD}).status_code == 302
    assert other_device.get(f"/praktijk/{A}/").status_code == 404  # logged in (no access to A: 404, not login)
    new = "Een-ander-wachtwoord-9"
    wrong = browser.post(
        "/accounts/password/change/", {"oldpassword": "niet-het-oude-1", "password1": new, "password2": new}
    )
    assert wrong.status_code == 200
    assert get_user_model().objects.get(email=KNOWN).check_password(PASSWORD)
    mail.outbox.clear()
    done = browser.post("/accounts/password/change/", {"oldpassword": PASSWORD, "password1": new, "password2": new})
    assert done.status_code == 302
    assert get_user_model().objects.get(email=KNOWN).check_password(new)
    # V3.3.3: the other session ends on the server (ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE ends this one too)
    assert other_device.get(f"/praktijk/{A}/")["Location"].startswith("/accounts/login/")
    # V2.2.3 / V2.5.5: the owner hears of it
    (notice,) = [m for m in mail.outbox if m.to == [KNOWN]]
    assert new not in notice.body and PASSWORD not in notice.body


def _reset_link(client: ServedClient, address: str) -> str:
    mail.outbox.clear()
    client.post("/accounts/password/reset/", {"email": address})
    (message,) = [m for m in mail.outbox if m.to == [address]]
    return re.search(r"http://testserver(/accounts/password/reset/key/[^\s]+/)", message.body)[1]


def _use_reset_link(client: ServedClient, link: str, new: str):
    """Open the link; on its form (allauth moves the key into the session first) set ``new``."""
    form = client.get(link, follow=True)
    target = form.redirect_chain[-1][0] if form.redirect_chain else link
    if b'name="password1"' not in form.content:
        return form
    return client.post(target, {"password1": new, "password2": new})


def test_a_reset_link_works_once(known):
    from django.contrib.auth import get_user_model

    client = ServedClient()
    link = _reset_link(client, KNOWN)
    assert _use_reset_link(client, link, "Eerste-nieuwe-ww-1").status_code == 302
    again = _use_reset_link(ServedClient(), link, "Tweede-nieuwe-ww-2")
    assert again.status_code == 200 and b'name="password1"' not in again.content  # the bad-key page
    user = get_user_model().objects.get(email=KNOWN)
    assert user.check_password("Eerste-nieuwe-ww-1") and not user.check_password("Tweede-nieuwe-ww-2")


def test_a_reset_link_expires_after_password_reset_timeout(known, settings, monkeypatch):
    from allauth.account.forms import default_token_generator

    assert settings.PASSWORD_RESET_TIMEOUT == 3600  # the configured hour
    client = ServedClient()
    link = _reset_link(client, KNOWN)
    later = time.time() + settings.PASSWORD_RESET_TIMEOUT + 60
    from datetime import datetime

    monkeypatch.setattr(type(default_token_generator), "_now", lambda self: datetime.fromtimestamp(later))
    expired = _use_reset_link(client, link, "Te-laat-gekozen-ww-3")
    assert expired.status_code == 200 and b'name="password1"' not in expired.content
    known.refresh_from_db()
    assert known.check_password(PASSWORD)


# -- V2.6 / V2.8: one-time codes, and a new session id after the second factor -------------------


def _totp_code(secret: str, at: float | None = None) -> str:
    from tests.release.test_four_eyes import totp_code

    return totp_code(secret, at)


@pytest.fixture
def operator(known):
    from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
    from allauth.mfa.totp.internal.auth import TOTP

    from tests.release.test_four_eyes import new_totp_secret

    known.is_staff = True
    known.save()
    secret = new_totp_secret()
    TOTP.activate(known, secret)
    codes = RecoveryCodes.activate(known).generate_codes()
    return secret, codes


def _password_step(client: ServedClient):
    response = client.post("/accounts/login/", {"login": KNOWN, "password": PASSWORD})
    assert response["Location"].startswith("/accounts/2fa/authenticate/")
    return response


def test_a_planted_session_id_is_replaced_when_the_login_completes_with_its_second_factor(operator, settings):
    from django.contrib.sessions.models import Session

    secret, _ = operator
    client = ServedClient()
    # a session planted before the login (fixation): the login must not keep it
    client.get("/accounts/login/")
    session = client.session
    session["planted"] = 1
    session.save()
    planted = session.session_key
    client.cookies[settings.SESSION_COOKIE_NAME] = planted
    _password_step(client)
    # between the password and the code the session is not logged in (allauth keeps the
    # pending login in it): whoever holds it has nothing without the code
    assert client.get("/praktijk/")["Location"].startswith("/accounts/login/")
    assert client.post("/accounts/2fa/authenticate/", {"code": _totp_code(secret)}).status_code == 302
    logged_in = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert logged_in != planted
    assert not Session.objects.filter(session_key=planted).exists()
    assert client.get("/praktijk/").status_code == 200
    fixed = ServedClient()
    fixed.cookies[settings.SESSION_COOKIE_NAME] = planted  # the planter's copy: nothing
    assert fixed.get("/praktijk/")["Location"].startswith("/accounts/login/")
    # V3.2.2: Django's session ids: 32 characters of [a-z0-9] from `secrets`, 165 bits
    assert re.fullmatch(r"[a-z0-9]{32}", logged_in)


def test_a_password_reset_leaves_the_second_factor_in_place(operator):
    """V2.2.2: the mailed link replaces the password, never the second factor: whoever holds
    the mailbox of an account with TOTP still needs the code."""
    secret, _ = operator
    client = ServedClient()
    link = _reset_link(client, KNOWN)
    assert _use_reset_link(client, link, "Na-herstel-gekozen-ww-7").status_code == 302
    assert client.get("/praktijk/")["Location"].startswith("/accounts/login/")  # the reset logs no one in
    asked = client.post("/accounts/login/", {"login": KNOWN, "password": "Na-herstel-gekozen-ww-7"})
    assert asked["Location"].startswith("/accounts/2fa/authenticate/")
    assert client.get("/praktijk/")["Location"].startswith("/accounts/login/")  # nothing without the code
    code = _totp_code(secret)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    assert client.post("/accounts/2fa/authenticate/", {"code": wrong}).status_code == 200
    assert client.get("/praktijk/")["Location"].startswith("/accounts/login/")
    assert client.post("/accounts/2fa/authenticate/", {"code": code}).status_code == 302
    assert client.get("/praktijk/").status_code == 200


def test_a_totp_code_and_a_recovery_code_work_once(operator, caplog):
    secret, codes = operator
    caplog.set_level(logging.DEBUG)
    code = _totp_code(secret)
    first = ServedClient()
    _password_step(first)
    assert first.post("/accounts/2fa/authenticate/", {"code": code}).status_code == 302
    replay = ServedClient()
    _password_step(replay)
    assert replay.post("/accounts/2fa/authenticate/", {"code": code}).status_code == 200  # asked again
    assert replay.get("/praktijk/")["Location"].startswith("/accounts/login/")
    recovery = codes[0]
    # V2.6.2: 34 digits, about 113 bits of entropy (at least 112), each code its own
    assert all(re.fullmatch(r"\d{34}", c) for c in codes) and len(set(codes)) == len(codes)
    assert 34 * math.log2(10) >= 112
    once = ServedClient()
    _password_step(once)
    assert once.post("/accounts/2fa/authenticate/", {"code": recovery}).status_code == 302
    twice = ServedClient()
    _password_step(twice)
    assert twice.post("/accounts/2fa/authenticate/", {"code": recovery}).status_code == 200
    # V2.8.5: the replayed codes are audited, V7.1.1: without the code itself
    refused = audit("mfa_failed", actor=KNOWN)
    assert len(refused) == 2
    stored = " ".join(f"{e.actor} {e.subject} {e.detail}" for e in audit())
    logged = " ".join(record.getMessage() for record in caplog.records)
    for secret_text in (code, recovery, PASSWORD, secret):
        assert secret_text not in stored and secret_text not in logged


# -- V3: sessions ---------------------------------------------------------------------------------


def test_a_session_id_in_the_url_is_not_accepted(known):
    client = client_for(known)
    key = client.session.session_key
    for url in (f"/praktijk/?sessionid={key}", f"/praktijk/;sessionid={key}"):
        response = ServedClient().get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/"), url


def test_logout_ends_the_session_on_the_server(known, settings):
    client = ServedClient()
    assert client.post("/accounts/login/", {"login": KNOWN, "password": PASSWORD}).status_code == 302
    stolen = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert client.post("/accounts/logout/").status_code == 302
    replayed = ServedClient()
    replayed.cookies[settings.SESSION_COOKIE_NAME] = stolen  # the old cookie, e.g. from a copy
    assert replayed.get("/praktijk/")["Location"].startswith("/accounts/login/")
    (logout,) = audit("logout", actor=KNOWN)
    assert logout.detail == "logged out"
    assert stolen not in " ".join(f"{e.subject} {e.detail}" for e in audit())


def _age_session(client: ServedClient, *, login_ago: float, seen_ago: float) -> None:
    from portal.access import sessions

    session = client.session
    now = time.time()
    session[sessions.STARTED] = now - login_ago
    session[sessions.SEEN] = now - seen_ago
    session.save()


def test_a_session_unused_for_the_idle_limit_is_ended(known, settings):
    assert (settings.SESSION_COOKIE_AGE, settings.SESSION_ABSOLUTE_SECONDS) == (30 * 60, 8 * 3600)
    client = client_for(known)
    _age_session(client, login_ago=3600, seen_ago=settings.SESSION_COOKIE_AGE - 30)
    assert client.get("/praktijk/").status_code == 200  # used within the limit: still in
    _age_session(client, login_ago=3600, seen_ago=settings.SESSION_COOKIE_AGE + 1)
    assert client.get("/praktijk/")["Location"].startswith("/accounts/login/")
    (expired,) = audit("logout", actor=KNOWN)
    assert expired.detail == f"session expired: {settings.SESSION_COOKIE_AGE} s without use"


def test_a_session_in_use_ends_at_the_absolute_limit(known, settings):
    client = client_for(known)
    _age_session(client, login_ago=settings.SESSION_ABSOLUTE_SECONDS - 60, seen_ago=5)
    assert client.get("/praktijk/").status_code == 200
    _age_session(client, login_ago=settings.SESSION_ABSOLUTE_SECONDS + 1, seen_ago=5)
    assert client.get("/praktijk/")["Location"].startswith("/accounts/login/")
    assert audit("logout", actor=KNOWN)[-1].detail == (
        f"session expired: {settings.SESSION_ABSOLUTE_SECONDS} s after login"
    )


def test_use_moves_the_idle_expiry_on_the_server(known, settings):
    from django.contrib.sessions.models import Session

    client = client_for(known)
    _age_session(client, login_ago=600, seen_ago=600)
    key = client.session.session_key
    Session.objects.filter(session_key=key).update(expire_date=Session.objects.get(session_key=key).expire_date)
    before = Session.objects.get(session_key=key).expire_date
    assert client.get("/praktijk/").status_code == 200
    after = Session.objects.get(session_key=key).expire_date
    assert after > before  # saved again: the idle limit counts from now
    from django.utils import timezone

    remaining = (after - timezone.now()).total_seconds()
    assert settings.SESSION_COOKIE_AGE - 60 < remaining <= settings.SESSION_COOKIE_AGE


# -- V5: validation ---------------------------------------------------------------------------------


def _forms():
    """Every form a visitor or an account fills in: the portal's own and allauth's."""
    from allauth.account import forms as account_forms

    from portal.api.pages import TokenForm
    from portal.insurers.query import IndexQueryForm
    from portal.operators.mfa import AuthenticateForm
    from portal.public.forms import ContactForm

    return [
        ContactForm(),
        TokenForm(),
        IndexQueryForm(),
        account_forms.LoginForm(),
        account_forms.SignupForm(),
        account_forms.ResetPasswordForm(),
        account_forms.AddEmailForm(),
        AuthenticateForm(user=None),
    ]


def test_every_text_field_of_every_form_is_bounded():
    """A CharField without max_length takes whatever fits in DATA_UPLOAD_MAX_MEMORY_SIZE; the
    password fields are the exception by design: bounded by the 128-character rule where a
    password is set (test_the_password_rules) and by the body limit at login."""
    from django import forms

    unbounded = []
    for form in _forms():
        for name, field in form.fields.items():
            if isinstance(field, forms.CharField) and not isinstance(field.widget, forms.PasswordInput):
                if field.max_length is None and not isinstance(field, forms.ChoiceField):
                    unbounded.append(f"{type(form).__name__}.{name}")
    assert unbounded == []


def test_contact_fields_cannot_add_mail_headers_and_are_escaped_where_shown(client, settings, admin_client):
    from portal.public.models import ContactMessage

    hostile = {
        "topic": ContactMessage.TOPICS[0][0],
        "name": "Piet\r\nBcc: iedereen@example.org",
        "email": "piet@praktijk.nl",
        "subject": "Vraag\r\nBcc: iedereen@example.org",
        "message": "<script>alert(1)</script> en een regel\r\nBcc: iedereen@example.org",
    }
    response = client.post("/contact/", hostile, REMOTE_ADDR="10.7.7.7")
    assert response.status_code == 302  # accepted: the line breaks are harmless, not refused
    assert mail.outbox
    for message in mail.outbox:
        assert "iedereen@example.org" not in message.recipients()
        assert "\n" not in message.subject and "\r" not in message.subject
        headers = message.message().as_string().split("\n\n", 1)[0]
        assert not re.search(r"(?mi)^bcc:", headers)
    stored = ContactMessage.objects.get()
    assert stored.subject == "Vraag Bcc: iedereen@example.org"  # one line
    page = admin_client.get(f"/admin/public/contactmessage/{stored.pk}/change/").content.decode()
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_a_login_cannot_send_the_visitor_off_the_site(known):
    for target in ("https://kwaad.example/", "//kwaad.example/", "/\\kwaad.example/", "https:kwaad.example"):
        response = ServedClient().post(f"/accounts/login/?next={target}", {"login": KNOWN, "password": PASSWORD})
        assert response.status_code == 302
        assert "kwaad.example" not in response["Location"], target
    inside = ServedClient().post("/accounts/login/?next=/kalender/", {"login": KNOWN, "password": PASSWORD})
    assert inside["Location"] == "/kalender/"


# -- V7: authentication decisions in the audit log, and nothing secret -----------------------------


def test_logins_are_audited_with_who_and_where_and_nothing_secret(known, caplog, settings):
    caplog.set_level(logging.DEBUG)
    client = ServedClient()
    client.post("/accounts/login/", {"login": KNOWN, "password": "Fout-wachtwoord-42"}, REMOTE_ADDR="10.3.3.3")
    client.post("/accounts/login/", {"login": KNOWN, "password": PASSWORD}, REMOTE_ADDR="10.3.3.3")
    session_id = client.cookies[settings.SESSION_COOKIE_NAME].value
    (login,) = audit("login", actor=KNOWN)
    assert (login.ip, login.subject) == ("10.3.3.3", KNOWN)
    assert audit("login_failed", actor=KNOWN)[0].ip == "10.3.3.3"
    stored = " ".join(f"{e.actor} {e.subject} {e.detail}" for e in audit())
    logged = " ".join(record.getMessage() for record in caplog.records)
    for secret_text in (PASSWORD, "Fout-wachtwoord-42", session_id):
        assert secret_text not in stored and secret_text not in logged
