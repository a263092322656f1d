"""OWASP ASVS 4.0.3 level 2: the secrets the portal keeps apart from its database, and the
password pages' aids (docs/security.md), over HTTP to the served portal.

- V2.4.5: every new password hash is PBKDF2 of HMAC-SHA256(pepper, password); the pepper is
  not in the database (environment, or an owner-only file beside the secret key). A hash does
  not verify with another pepper; a plain PBKDF2 hash of before logs in and is upgraded.
- V2.6.2, V2.6.3, V2.8.2, V8.3.7: the TOTP secret and the recovery-code seed are stored
  Fernet-encrypted with a key outside the database; codes still work; the database without
  the key gives neither the secret nor the codes; a plain value of before is encrypted by the
  migration, and a plain value planted afterwards is refused.
- V8.3.7: the name, subject and text of a contact message are stored Fernet-encrypted under
  the same key; the portal shows them, the database holds only tokens; messages of before are
  encrypted by the migration.
- V2.1.8, V2.1.12: the sign-up, change, set and reset pages carry the strength meter (an
  ``aria-live`` text) and the script that adds the show-password buttons; in a browser:
  test_password_ux_browser.py.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import time

import pytest

from tests.support.portal_world import PASSWORD, client_for, load_portal_settings, make_account, reauthenticated
from tests.support.served_client import ServedClient

pytestmark = pytest.mark.django_db

OPERATOR = "operator@spiegel.nl"
PEPPERED = "portal.access.passwords.PepperedPBKDF2PasswordHasher"


@pytest.fixture
def portal_hashers(settings):
    """What portal/settings.py configures (most tests of the suite use MD5 for speed)."""
    import portal.settings as configured

    settings.PASSWORD_HASHERS = configured.PASSWORD_HASHERS
    assert settings.PASSWORD_HASHERS[0] == PEPPERED
    return settings


# -- V2.4.5: the pepper ---------------------------------------------------------------------------------


def test_a_new_hash_is_peppered_and_does_not_verify_with_another_pepper(portal_hashers, releases_root):
    from django.contrib.auth.hashers import PBKDF2PasswordHasher, check_password, identify_hasher

    settings = portal_hashers
    user = make_account("gepeperd@praktijk.nl")
    user.refresh_from_db()
    algorithm, iterations, salt, digest = user.password.split("$")
    assert algorithm == "pbkdf2_sha256_peppered" and int(iterations) >= 600_000
    assert identify_hasher(user.password).__class__.__module__ == "portal.access.passwords"
    assert user.check_password(PASSWORD) and not user.check_password(PASSWORD + "x")
    # not PBKDF2 of the password itself: without the pepper the hash cannot be recomputed
    plain = PBKDF2PasswordHasher().encode(PASSWORD, salt, int(iterations))
    assert plain.split("$")[-1] != digest
    # the same stored hash with another pepper: the right password no longer verifies
    original = settings.PASSWORD_PEPPER
    settings.PASSWORD_PEPPER = "een-heel-andere-peper-van-32-tekens-of-meer"
    assert not check_password(PASSWORD, user.password)
    settings.PASSWORD_PEPPER = original
    assert check_password(PASSWORD, user.password)
    # the pepper is not in the database: it is in the environment or in an owner-only file
    assert original not in user.password
    if not os.environ.get("SPIEGEL_PORTAL_PASSWORD_PEPPER"):
        pepper_file = settings.PORTAL_DIR / "password_pepper"
        assert pepper_file.read_text() == original and pepper_file.stat().st_mode & 0o777 == 0o600
        assert len(original) >= 32


def test_an_old_plain_pbkdf2_hash_still_logs_in_and_is_upgraded_to_the_peppered_one(portal_hashers, releases_root):
    from django.contrib.auth.hashers import make_password

    user = make_account("oud@praktijk.nl")
    user.password = make_password(PASSWORD, hasher="pbkdf2_sha256")  # as stored before the pepper
    user.save(update_fields=["password"])
    assert user.password.startswith("pbkdf2_sha256$")
    response = ServedClient().post("/accounts/login/", {"login": "oud@praktijk.nl", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/praktijk/"
    user.refresh_from_db()
    assert user.password.startswith("pbkdf2_sha256_peppered$")  # rehashed at the login
    assert user.check_password(PASSWORD)
    again = ServedClient().post("/accounts/login/", {"login": "oud@praktijk.nl", "password": PASSWORD})
    assert again.status_code == 302 and again["Location"] == "/praktijk/"


# -- the settings: generated owner-only, or configured; weak or malformed values refused -------------------


def test_the_pepper_and_the_mfa_key_are_generated_once_owner_only_or_configured(tmp_path, monkeypatch):
    from cryptography.fernet import Fernet
    from django.core.exceptions import ImproperlyConfigured

    first = load_portal_settings(tmp_path, monkeypatch)
    portal_dir = tmp_path / "data" / "portal"
    for name, value in (("password_pepper", first.PASSWORD_PEPPER), ("mfa_key", first.MFA_ENCRYPTION_KEYS[0])):
        path = portal_dir / name
        assert path.read_text() == value and path.stat().st_mode & 0o777 == 0o600, name
    assert len(first.PASSWORD_PEPPER) >= 43 and len(first.MFA_ENCRYPTION_KEYS) == 1
    Fernet(first.MFA_ENCRYPTION_KEYS[0])  # a valid key
    assert sorted(p.name for p in portal_dir.iterdir() if p.name.startswith(".")) == []  # no draft left
    again = load_portal_settings(tmp_path, monkeypatch)  # kept: the same on every start
    assert (again.PASSWORD_PEPPER, again.MFA_ENCRYPTION_KEYS) == (first.PASSWORD_PEPPER, first.MFA_ENCRYPTION_KEYS)
    assert first.PASSWORD_PEPPER not in (first.SECRET_KEY, first.MFA_ENCRYPTION_KEYS[0])

    pepper = "p3per-" + "".join(chr(ord("a") + (n * 11) % 26) for n in range(40))
    new_key, old_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    configured = load_portal_settings(
        tmp_path / "other",
        monkeypatch,
        SPIEGEL_PORTAL_PASSWORD_PEPPER=pepper,
        SPIEGEL_PORTAL_MFA_KEY=f"{new_key}, {old_key}",
    )
    assert configured.PASSWORD_PEPPER == pepper and configured.MFA_ENCRYPTION_KEYS == [new_key, old_key]
    assert not (tmp_path / "other" / "data" / "portal" / "password_pepper").exists()
    assert not (tmp_path / "other" / "data" / "portal" / "mfa_key").exists()
    for weak in ("kort-peper", "ab" * 30, "CHANGE-ME-to-32-random-characters-or-more"):
        with pytest.raises(ImproperlyConfigured, match="PASSWORD_PEPPER"):
            load_portal_settings(tmp_path, monkeypatch, SPIEGEL_PORTAL_PASSWORD_PEPPER=weak)
    for bad in ("geen-fernet-sleutel", new_key[:-4], f"{new_key},kapot"):
        with pytest.raises(ImproperlyConfigured, match="SPIEGEL_PORTAL_MFA_KEY") as refused:
            load_portal_settings(tmp_path, monkeypatch, SPIEGEL_PORTAL_MFA_KEY=bad)
        assert new_key not in str(refused.value)  # the message names the setting, not the key


# -- V2.6.2, V2.6.3, V2.8.2: the second factor's secrets ---------------------------------------------------


def _raw_rows() -> str:
    """The mfa_authenticator table as a reader of the database file or a dump sees it."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT type, data FROM mfa_authenticator")
        return json.dumps(cursor.fetchall())


def _totp_code(secret: str, at: float | None = None) -> str:
    from tests.release.test_four_eyes import totp_code

    return totp_code(secret, at)


def _password_step(client: ServedClient) -> None:
    response = client.post("/accounts/login/", {"login": OPERATOR, "password": PASSWORD})
    assert response["Location"].startswith("/accounts/2fa/authenticate/"), response


@pytest.fixture
def operator_with_totp(releases_root):
    """An operator who set up TOTP on allauth's page, as tests/release/test_four_eyes.py does."""
    from allauth.mfa.models import Authenticator
    from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes

    user = make_account(OPERATOR)
    user.is_staff = True
    user.save()
    client = reauthenticated(client_for(user))  # allauth asks the password again before a factor is set up
    form = client.get("/accounts/2fa/totp/activate/")
    assert form.status_code == 200
    html = form.content.decode()
    field = re.search(r'<input[^>]*id="authenticator_secret"[^>]*>', html)[0]
    secret = re.search(r'value="([A-Z2-7]+)"', field)[1]
    assert client.post("/accounts/2fa/totp/activate/", {"code": _totp_code(secret)}).status_code == 302
    if not Authenticator.objects.filter(user=user, type=Authenticator.Type.RECOVERY_CODES).exists():
        assert client.post("/accounts/2fa/recovery-codes/generate/").status_code == 302
    recovery = Authenticator.objects.get(user=user, type=Authenticator.Type.RECOVERY_CODES)
    codes = RecoveryCodes(recovery).generate_codes()
    return user, secret, codes


def test_the_totp_secret_and_the_recovery_seed_are_encrypted_in_the_database(operator_with_totp, settings):
    from allauth.mfa.models import Authenticator
    from cryptography.fernet import Fernet, InvalidToken

    user, secret, codes = operator_with_totp
    totp = Authenticator.objects.get(user=user, type=Authenticator.Type.TOTP)
    recovery = Authenticator.objects.get(user=user, type=Authenticator.Type.RECOVERY_CODES)
    stored_secret, stored_seed = totp.data["secret"], recovery.data["seed"]
    assert stored_secret.startswith("gAAAAA") and stored_seed.startswith("gAAAAA")  # Fernet tokens
    key = Fernet(settings.MFA_ENCRYPTION_KEYS[0])
    assert key.decrypt(stored_secret.encode()).decode() == secret
    seed = key.decrypt(stored_seed.encode()).decode()
    assert re.fullmatch(r"[0-9a-f]{80}", seed)  # allauth's 320-bit seed, encrypted
    raw = _raw_rows()
    for plain in [secret, secret.lower(), seed, *codes]:
        assert plain not in raw, plain
    # the key is not in the database either
    assert settings.MFA_ENCRYPTION_KEYS[0] not in raw
    # without the key: another key does not open the tokens
    other = Fernet(Fernet.generate_key())
    for token in (stored_secret, stored_seed):
        with pytest.raises(InvalidToken):
            other.decrypt(token.encode())


def test_a_totp_code_and_a_recovery_code_still_work_once(operator_with_totp):
    _, secret, codes = operator_with_totp
    # the code of the next step (one step of drift is accepted): never the one the activation used,
    # even when a 30-second boundary passed since; the step before would be that one then
    code = _totp_code(secret, time.time() + 30)
    first = ServedClient()
    _password_step(first)
    assert first.post("/accounts/2fa/authenticate/", {"code": code})["Location"] == "/praktijk/"
    replay = ServedClient()
    _password_step(replay)
    assert replay.post("/accounts/2fa/authenticate/", {"code": code}).status_code == 200  # refused, asked again
    once = ServedClient()
    _password_step(once)
    assert once.post("/accounts/2fa/authenticate/", {"code": codes[0]})["Location"] == "/praktijk/"
    twice = ServedClient()
    _password_step(twice)
    assert twice.post("/accounts/2fa/authenticate/", {"code": codes[0]}).status_code == 200


def test_the_database_without_the_key_gives_no_usable_secret(operator_with_totp, settings):
    """What a copy of the database alone gives: allauth's code run on the stored values without
    the portal's key, i.e. with allauth's default adapter (which takes them as they are), or the
    portal's adapter with another key."""
    from allauth.mfa.models import Authenticator
    from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
    from allauth.mfa.totp.internal.auth import TOTP
    from cryptography.fernet import Fernet

    from portal.access.mfa_adapter import UndecryptableSecret

    user, secret, codes = operator_with_totp
    totp = Authenticator.objects.get(user=user, type=Authenticator.Type.TOTP)
    recovery = Authenticator.objects.get(user=user, type=Authenticator.Type.RECOVERY_CODES)
    right = _totp_code(secret, time.time() + 30)
    settings.MFA_ADAPTER = "allauth.mfa.adapter.DefaultMFAAdapter"
    derived = RecoveryCodes(recovery).generate_codes()  # the token taken for the seed
    assert len(derived) == len(codes) and not set(derived) & set(codes)
    try:
        accepted = TOTP(totp).validate_code(right)
    except ValueError:  # the token is no base32 secret at all (binascii.Error)
        accepted = False
    assert not accepted
    settings.MFA_ADAPTER = "portal.access.mfa_adapter.MFAAdapter"
    real_keys = settings.MFA_ENCRYPTION_KEYS
    settings.MFA_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(UndecryptableSecret):
        TOTP(totp).validate_code(right)
    with pytest.raises(UndecryptableSecret):
        RecoveryCodes(recovery).generate_codes()
    settings.MFA_ENCRYPTION_KEYS = real_keys
    assert TOTP(totp).validate_code(right)  # the right key: the code of the next step is accepted


def test_plain_secrets_of_before_are_encrypted_by_the_migration_and_planted_ones_refused(releases_root, settings):
    from allauth.mfa.models import Authenticator
    from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
    from allauth.mfa.totp.internal.auth import TOTP
    from cryptography.fernet import Fernet
    from django.apps import apps

    from portal.access.mfa_adapter import UndecryptableSecret, encrypt_secret, reencrypt
    from tests.release.test_four_eyes import new_totp_secret

    migration = importlib.import_module("portal.access.migrations.0007_encrypt_mfa_secrets")
    user = make_account("voorheen@spiegel.nl")
    secret, seed = new_totp_secret(), RecoveryCodes.generate_seed()
    # rows as allauth's default adapter wrote them before the portal's adapter
    totp = Authenticator.objects.create(user=user, type=Authenticator.Type.TOTP, data={"secret": secret})
    recovery = Authenticator.objects.create(
        user=user, type=Authenticator.Type.RECOVERY_CODES, data={"seed": seed, "used_mask": 1}
    )
    settings.MFA_ADAPTER = "allauth.mfa.adapter.DefaultMFAAdapter"
    codes_before = RecoveryCodes(recovery).generate_codes()
    settings.MFA_ADAPTER = "portal.access.mfa_adapter.MFAAdapter"
    with pytest.raises(UndecryptableSecret):  # a plain value is not taken as it is
        TOTP(totp).validate_code(_totp_code(secret))
    migration.encrypt_plain_secrets(apps, None)
    migration.encrypt_plain_secrets(apps, None)  # twice: tokens are left as they are
    totp.refresh_from_db()
    recovery.refresh_from_db()
    assert totp.data["secret"].startswith("gAAAAA") and recovery.data["seed"].startswith("gAAAAA")
    assert recovery.data["used_mask"] == 1
    assert secret not in _raw_rows() and seed not in _raw_rows()
    assert TOTP(totp).validate_code(_totp_code(secret))
    assert RecoveryCodes(recovery).generate_codes() == codes_before
    assert RecoveryCodes(recovery).get_unused_codes() == codes_before[1:]  # the used one stays used
    # backwards: the plain values again (for a portal version without the adapter)
    migration.decrypt_secrets(apps, None)
    totp.refresh_from_db()
    assert totp.data["secret"] == secret
    # key rotation: a new key in front, the old one still opens, reencrypt moves a value onto the new one
    old = settings.MFA_ENCRYPTION_KEYS
    token = encrypt_secret(secret)
    new = Fernet.generate_key().decode()
    settings.MFA_ENCRYPTION_KEYS = [new, *old]
    from portal.access.mfa_adapter import decrypt_secret

    assert decrypt_secret(token) == secret
    moved = reencrypt(token)
    assert decrypt_secret(moved, [new]) == secret
    with pytest.raises(UndecryptableSecret):
        decrypt_secret(moved, old)


# -- V2.1.8, V2.1.12: the meter and the show-password script on the password pages ------------------------


def _reset_from_key_url(user) -> str:
    from allauth.account.forms import default_token_generator
    from allauth.account.utils import user_pk_to_url_str

    return f"/accounts/password/reset/key/{user_pk_to_url_str(user)}-{default_token_generator.make_token(user)}/"


def test_the_password_pages_carry_the_strength_meter_and_the_show_password_script(releases_root, settings):
    from django.contrib.staticfiles import finders

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    user = make_account("meter@praktijk.nl")
    without = make_account("zonder@praktijk.nl")
    without.set_unusable_password()
    without.save()
    forgot = make_account("vergeten@praktijk.nl")
    pages = {
        "/accounts/signup/": ServedClient(),
        "/accounts/password/change/": client_for(user),
        "/accounts/password/set/": client_for(without),
    }
    reset = ServedClient()
    landing = reset.get(_reset_from_key_url(forgot))  # allauth moves the key into the session first
    assert landing.status_code == 302 and landing["Location"].endswith("-set-password/")
    pages[landing["Location"]] = reset
    (minimum,) = [
        v["OPTIONS"]["min_length"]
        for v in settings.AUTH_PASSWORD_VALIDATORS
        if v["NAME"].endswith("MinimumLengthValidator")
    ]
    for path, client in pages.items():
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        html = response.content.decode()
        assert 'name="password1"' in html, path  # the form with the new password
        box = re.search(r'<div class="password-strength" data-password-strength data-min-length="(\d+)" hidden>', html)
        assert box and int(box[1]) == minimum, path
        assert re.search(r'<meter id="wachtwoord-sterkte-meter"[^>]*>', html), path
        assert re.search(r'<p id="wachtwoord-sterkte" aria-live="polite">', html), path
        assert re.findall(r"<script\b[^>]*>", html) == ['<script src="/static/portal/password.js" defer>'], path
        assert not re.search(r"<script\b[^>]*>(?!\s*</script>)", html), path  # no inline script (the CSP forbids it)
    # the login and the re-authentication: the show-password script, no meter (no new password)
    login = ServedClient().get("/accounts/login/").content.decode()
    assert '<script src="/static/portal/password.js" defer>' in login and "data-password-strength" not in login
    script = open(finders.find("portal/password.js"), encoding="utf-8").read()
    assert "Toon wachtwoord" in script and "aria-pressed" in script and "aria-live" in script


# -- V8.3.7: what a contact message's sender typed is stored encrypted ---------------------------------


def _raw_contact_rows() -> list[tuple]:
    """The public_contactmessage table as a reader of the database file or a dump sees it."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT name, email, subject, message FROM public_contactmessage ORDER BY id")
        return cursor.fetchall()


def test_a_contact_message_is_stored_encrypted_and_read_back_where_it_is_shown(client, admin_client, mailoutbox):
    from portal.public.models import ContactMessage

    typed = {
        "topic": ContactMessage.TOPIC_ACCESS,
        "name": "Anna de Vries",
        "email": "anna@praktijk.nl",
        "subject": "Knieklachten van mijn patient",
        "message": "Mijn patient met artrose vraagt naar de index.",
    }
    assert client.post("/contact/", typed, REMOTE_ADDR="10.8.8.8").status_code == 302
    ((name, email, subject, message),) = _raw_contact_rows()
    raw = f"{name} {subject} {message}"
    assert all(value.startswith("gAAAAA") for value in (name, subject, message))
    assert "Anna" not in raw and "Knie" not in raw and "artrose" not in raw
    assert email == "anna@praktijk.nl"  # found by it for a person's export and deletion
    stored = ContactMessage.objects.get()
    assert (stored.name, stored.subject, stored.message) == (typed["name"], typed["subject"], typed["message"])
    assert ContactMessage.objects.filter(email="anna@praktijk.nl").count() == 1
    page = admin_client.get(f"/admin/public/contactmessage/{stored.pk}/change/").content.decode()
    assert "Mijn patient met artrose vraagt naar de index." in page
    assert "artrose" in mailoutbox[0].body  # the mail to the team carries the text itself
    privacy = " ".join(client.get("/privacy/").content.decode().split())  # and the privacy statement says so
    assert "wat u in een contactbericht schrijft (naam, onderwerp en bericht) worden versleuteld opgeslagen" in privacy


def test_plain_contact_messages_of_before_are_encrypted_by_the_migration_and_planted_ones_refused(releases_root):
    from django.apps import apps
    from django.db import connection

    from portal.access.mfa_adapter import UndecryptableSecret
    from portal.public.models import ContactMessage

    migration = importlib.import_module("portal.public.migrations.0002_encrypt_contact_messages")
    with connection.cursor() as cursor:  # a row as the portal wrote it before the encryption
        cursor.execute(
            "INSERT INTO public_contactmessage (created_at, topic, insurer, name, email, practice_agb, subject, "
            "message, mailed_to, mail_error) VALUES (%s, 'toegang', '', 'Piet', 'piet@praktijk.nl', '', "
            "'Vraag', 'Mijn rug', '', '')",
            ["2026-01-05 10:00:00"],
        )
    with pytest.raises(UndecryptableSecret, match="contact message is not encrypted"):
        ContactMessage.objects.get()  # a plain value is not shown as it is
    migration.encrypt_plain_messages(apps, None)
    migration.encrypt_plain_messages(apps, None)  # twice: tokens are left as they are
    ((name, _, subject, message),) = _raw_contact_rows()
    assert all(value.startswith("gAAAAA") for value in (name, subject, message))
    stored = ContactMessage.objects.get()
    assert (stored.name, stored.subject, stored.message) == ("Piet", "Vraag", "Mijn rug")
    migration.decrypt_messages(apps, None)  # backwards: the plain text again
    assert _raw_contact_rows() == [("Piet", "piet@praktijk.nl", "Vraag", "Mijn rug")]
