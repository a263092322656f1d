"""The account pages (django-allauth) speak as the rest of the portal: formal "u", and one
vocabulary: "Inloggen" (never "Aanmelden"), "Account aanvragen" (never "Registreren"),
"Uitloggen" (never "Afmelden").

allauth's own Dutch is informal; the portal overrides it with its catalogue
``portal/locale/nl/LC_MESSAGES/django.po`` (LOCALE_PATHS), compiled by scripts/setup.sh.
Each page a visitor or an account can reach is fetched over HTTP (tests/support/served_client.py)
and its visible text checked; a second test reads every message of the installed allauth's
Dutch catalogue through the portal's translations, so an allauth upgrade that brings a new
informal message fails here, not on a page.
"""

from __future__ import annotations

import gettext
import html as html_lib
import re
from pathlib import Path

import allauth
import pytest
from django.conf import settings as django_settings
from django.core import mail
from django.utils import translation

from tests.support.dutch import INFORMAL
from tests.support.portal_world import PASSWORD, client_for, make_account, reauthenticated

pytestmark = pytest.mark.django_db

# the words the portal does not use for its account actions
OFF_VOCABULARY = re.compile(r"\b(aanmeld\w*|afmeld\w*|registr\w*|meld\s+u\s+aan|meld\s+u\s+af)\b", re.I)
LOCALE = Path(django_settings.BASE_DIR) / "locale" / "nl" / "LC_MESSAGES"
ADDRESS = "gebruiker@fysio-a.nl"


@pytest.fixture(autouse=True)
def plain_static_files_and_fast_hashes(settings, releases_root):
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def visible_text(html: str) -> str:
    """What a reader sees: the title and the body, without markup, scripts or styles."""
    html = re.sub(r"(?is)<(script|style)\b.*?</\1>", " ", html)
    html = re.sub(r"(?is)<!--.*?-->", " ", html)
    return " ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", html)).split())


def main_text(html: str) -> str:
    found = re.search(r"(?is)<main\b[^>]*>(.*)</main>", html)
    return visible_text(found.group(1) if found else html)


def assert_formal(url: str, response) -> str:
    assert response.status_code == 200, (url, response.status_code)
    text = visible_text(response.content.decode())
    assert not INFORMAL.search(text), (url, INFORMAL.search(text).group(0), text)
    assert not OFF_VOCABULARY.search(text), (url, OFF_VOCABULARY.search(text).group(0), text)
    return text


def test_the_portals_catalogue_is_compiled():
    po, mo = LOCALE / "django.po", LOCALE / "django.mo"
    assert po.is_file()
    assert mo.is_file(), f"{mo} is missing: run `bash scripts/setup.sh` (it compiles portal/locale)"
    assert mo.stat().st_mtime >= po.stat().st_mtime, f"{mo} is older than {po}: run `bash scripts/setup.sh`"
    assert Path(django_settings.LOCALE_PATHS[0]) == LOCALE.parent.parent


def test_every_informal_allauth_message_is_overridden():
    mo = Path(allauth.__file__).parent / "locale" / "nl" / "LC_MESSAGES" / "django.mo"
    with open(mo, "rb") as handle:
        catalogue = gettext.GNUTranslations(handle)._catalog  # noqa: SLF001 - the stdlib's parsed catalogue
    checked = 0
    with translation.override("nl"):
        for key, theirs in catalogue.items():
            if not key or not (INFORMAL.search(theirs) or OFF_VOCABULARY.search(theirs)):
                continue
            if isinstance(key, tuple):  # a plural form: (msgid, index)
                msgid, index = key
                ours = translation.ngettext(msgid, msgid, 1 if index == 0 else 2)
            else:
                ours = translation.gettext(key)
            checked += 1
            assert not INFORMAL.search(ours), (key, ours)
            assert not OFF_VOCABULARY.search(ours), (key, ours)
        assert translation.gettext("Sign In") == "Inloggen"
        assert translation.gettext("Sign Up") == "Account aanvragen"
        assert translation.gettext("Sign Out") == "Uitloggen"
    assert checked > 80  # allauth's nl catalogue has over a hundred informal messages


def test_every_account_page_a_visitor_reaches_says_u(client):
    from allauth.account.forms import default_token_generator
    from allauth.account.models import EmailAddress, EmailConfirmationHMAC
    from allauth.account.utils import user_pk_to_url_str
    from django.contrib.auth import get_user_model

    login = assert_formal("login", client.get("/accounts/login/"))
    assert "Inloggen" in main_text(client.get("/accounts/login/").content.decode())
    assert "Heeft u nog geen account? Ga dan eerst naar Account aanvragen" in login
    signup = assert_formal("signup", client.get("/accounts/signup/"))
    assert "Account aanvragen" in main_text(client.get("/accounts/signup/").content.decode())
    assert "Heeft u al een account? Ga dan naar Inloggen" in signup

    for url in (
        "/accounts/password/reset/",
        "/accounts/password/reset/done/",
        "/accounts/password/reset/key/1-not-a-key/",
        "/accounts/password/reset/key/done/",
        "/accounts/confirm-email/",
        "/accounts/confirm-email/not-a-key/",
        "/accounts/inactive/",
    ):
        assert_formal(url, client.get(url))
    assert "Vul hieronder uw e-mailadres in" in visible_text(client.get("/accounts/password/reset/").content.decode())

    # a valid reset link: the form to choose a new password
    user = make_account(ADDRESS)
    key_url = f"/accounts/password/reset/key/{user_pk_to_url_str(user)}-{default_token_generator.make_token(user)}/"
    assert_formal("reset from key", client.get(key_url, follow=True))

    # a valid confirmation link of a new, unverified address
    newcomer = get_user_model().objects.create_user(username="nieuw@fysio-b.nl", email="nieuw@fysio-b.nl")
    address = EmailAddress.objects.create(user=newcomer, email="nieuw@fysio-b.nl", verified=False, primary=True)
    assert_formal("confirm email", client.get(f"/accounts/confirm-email/{EmailConfirmationHMAC(address).key}/"))


def test_the_answers_to_what_a_visitor_sends_say_u(client):
    make_account(ADDRESS)
    # a wrong password: the form's error
    wrong = assert_formal(
        "failed login", client.post("/accounts/login/", {"login": ADDRESS, "password": "niet-het-wachtwoord"})
    )
    assert "Het opgegeven e-mailadres en/of wachtwoord is niet juist." in wrong
    # two different passwords on sign-up
    mismatch = assert_formal(
        "signup mismatch",
        client.post(
            "/accounts/signup/",
            {"email": "ander@fysio-b.nl", "password1": PASSWORD, "password2": PASSWORD + "x"},
        ),
    )
    assert "U moet twee keer hetzelfde wachtwoord invullen." in mismatch
    # a reset for an address that exists and one that does not: the done page, and the mails
    mail.outbox.clear()
    for address in (ADDRESS, "onbekend@fysio-c.nl"):
        assert_formal("password reset sent", client.post("/accounts/password/reset/", {"email": address}, follow=True))
    assert len(mail.outbox) == 2
    for message in mail.outbox:
        for text in (message.subject, message.body):
            assert not INFORMAL.search(text), text
            assert not OFF_VOCABULARY.search(text), text
    # signing up with an address that has an account: the verification page and a mail
    mail.outbox.clear()
    sent = assert_formal(
        "signup existing",
        client.post(
            "/accounts/signup/",
            {"email": ADDRESS, "password1": PASSWORD, "password2": PASSWORD, "consent": "on"},
            follow=True,
        ),
    )
    assert "Bevestig uw e-mailadres" in sent
    for message in mail.outbox:
        assert not INFORMAL.search(message.body) and not OFF_VOCABULARY.search(message.body), message.body


def test_every_account_page_an_account_reaches_says_u(client):
    user = make_account(ADDRESS)
    signed_in = client_for(user)
    for url in (
        "/accounts/logout/",
        "/accounts/email/",
        "/accounts/password/change/",
        "/accounts/password/set/",
        "/accounts/reauthenticate/",
    ):
        assert_formal(url, signed_in.get(url, follow=True))
    logout = visible_text(signed_in.get("/accounts/logout/").content.decode())
    assert "Weet u zeker dat u wilt uitloggen?" in logout

    # logging in and out through the forms: the messages shown after each
    after_login = assert_formal(
        "login", client.post("/accounts/login/", {"login": ADDRESS, "password": PASSWORD}, follow=True)
    )
    assert f"U bent ingelogd als {ADDRESS}." in after_login
    after_logout = assert_formal("logout", client.post("/accounts/logout/", follow=True))
    assert "U bent uitgelogd." in after_logout


def test_the_two_factor_pages_an_account_reaches_say_u(client):
    # allauth.mfa is the operators' second factor (docs/release-four-eyes.md): its pages
    # speak formal Dutch too (the catalogue test above covers its messages)
    assert "allauth.mfa" in django_settings.INSTALLED_APPS
    signed_in = client_for(make_account(ADDRESS))
    for url in ("/accounts/2fa/", "/accounts/2fa/totp/activate/"):
        assert_formal(url, signed_in.get(url, follow=True))


def test_the_security_key_pages_say_u_and_load_allauths_script_as_a_file(client):
    # ASVS 2.3.2: allauth's WebAuthn pages in the portal's layout and formal Dutch; the field
    # label allauth leaves to Django ("Name") is the portal's own (portal/operators/mfa.py)
    make_account(ADDRESS)
    client.post("/accounts/login/", {"login": ADDRESS, "password": PASSWORD})
    reauthenticated(client)  # allauth asks the password again before a key is added
    overview = assert_formal("2fa", client.get("/accounts/2fa/"))
    assert "Beveiligingssleutels" in overview and "Er zijn geen beveiligingssleutels gekoppeld." in overview
    listed = assert_formal("keys", client.get("/accounts/2fa/webauthn/"))
    assert "Er zijn geen beveiligingssleutels gekoppeld." in listed
    add = client.get("/accounts/2fa/webauthn/add/")
    text = assert_formal("add key", add)
    assert "Voeg beveiligingssleutel toe" in text and "Naam van de sleutel" in text, text
    assert not re.search(r"\b(Name|Add|Security)\b", text), text
    page = add.content.decode()
    assert 'class="site-header"' in page  # the portal's base template
    for script in ("mfa/js/webauthn-json.js", "mfa/js/webauthn.js", "account/js/onload.js"):
        assert f'<script src="/static/{script}"></script>' in page
    # no inline script: every <script> without src is a JSON data block, which a browser never runs
    for attributes in re.findall(r"<script\b([^>]*)>", page):
        assert "src=" in attributes or 'type="application/json"' in attributes, attributes
