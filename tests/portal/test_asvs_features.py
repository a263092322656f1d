"""ASVS items the portal meets by features added for them (docs/security.md)."""

from __future__ import annotations

import base64
import json
import re

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError

from tests.portal.test_asvs import KNOWN, _password_step, _totp_code, fast_hashes, known, operator  # noqa: F401
from tests.support.portal_world import PASSWORD, audit, make_account, reauthenticated


def _accepted(password: str) -> bool:
    try:
        validate_password(password)
    except ValidationError:
        return False
    return True


# -- V2.1.9: no composition rules ---------------------------------------------------------------


def test_a_password_of_digits_only_is_accepted_but_common_digit_strings_are_not():
    """No rule on the kinds of character: digits alone pass; the common list still refuses the usual ones."""
    assert _accepted("847362910573")
    assert _accepted("123456789012345")
    for common in ["1234567890123", "111111111111", "000000000000", "123123123123"]:
        assert not _accepted(common), common


@pytest.mark.parametrize("password", ["ALLEEN HOOFDLETTERS", "alleen kleine letters", "!!--==??..,,"])
def test_no_kind_of_character_is_required(password):
    assert _accepted(password)


# -- V2.9.2, V2.9.3: the security keys' challenges and algorithms (WebAuthn, fido2) ----------------

# what the portal offers of fido2 2.2's list: ES256, EdDSA, ES384, ES512, PS256, RS256 and
# ML-DSA-44/65/87; not ES256K (-47), which is no approved algorithm (portal/operators/webauthn_server.py)
OFFERED_ALGORITHMS = {-7, -8, -35, -36, -37, -257, -48, -49, -50}


def _webauthn_options(client, url: str) -> dict:
    """The options allauth's page hands its script, from the page's ``js_data`` JSON block."""
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    found = re.search(r'<script id="js_data" type="application/json">(.*?)</script>', response.content.decode(), re.S)
    return json.loads(found.group(1))


def _challenge(options: dict) -> bytes:
    return base64.urlsafe_b64decode(options["publicKey"]["challenge"] + "==")


@pytest.mark.django_db
def test_every_security_key_ceremony_gets_a_fresh_256_bit_challenge_and_offers_the_listed_algorithms():
    """Each page that asks a key to sign gets a challenge of its own (fido2: 32 bytes from
    ``os.urandom``); the session keeps only the newest, which the answer must sign."""
    from allauth.mfa.totp.internal.auth import TOTP

    from tests.support.served_client import ServedClient

    user = make_account("sleutel@fysio-a.nl")
    client = ServedClient()
    client.post("/accounts/login/", {"login": user.email, "password": PASSWORD})
    reauthenticated(client)  # allauth asks the password again before a key is added
    added = [_webauthn_options(client, "/accounts/2fa/webauthn/add/")["creation_options"] for _ in range(2)]
    challenges = [_challenge(options) for options in added]
    assert [len(c) for c in challenges] == [32, 32] and challenges[0] != challenges[1]
    assert client.session["mfa.webauthn.state"]["challenge"] == added[1]["publicKey"]["challenge"]
    assert added[0]["publicKey"]["rp"]["id"] == "testserver"  # the host the browser asked
    assert {p["alg"] for p in added[0]["publicKey"]["pubKeyCredParams"]} == OFFERED_ALGORITHMS

    # the login's second step: a challenge of its own too
    TOTP.activate(user, base64.b32encode(b"0123456789abcdefghij").decode())
    other = ServedClient()
    other.post("/accounts/login/", {"login": user.email, "password": PASSWORD})
    asked = [_webauthn_options(other, "/accounts/2fa/authenticate/")["request_options"] for _ in range(2)]
    login_challenges = [_challenge(options) for options in asked]
    assert [len(c) for c in login_challenges] == [32, 32]
    assert len(set(login_challenges + challenges)) == 4


def _registered_with(key_class, curve):
    """What fido2's ``register_complete`` returns for a new key of ``key_class`` on ``curve``."""
    from cryptography.hazmat.primitives.asymmetric import ec
    from fido2.webauthn import Aaguid, AttestedCredentialData, AuthenticatorData

    public_key = key_class.from_cryptography_key(ec.generate_private_key(curve).public_key())
    credential = AttestedCredentialData.create(Aaguid(bytes(16)), b"sleutel-id", public_key)
    flags = AuthenticatorData.FLAG.UP | AuthenticatorData.FLAG.AT
    return AuthenticatorData.create(bytes(32), flags, 0, credential)


def test_a_key_on_a_curve_that_is_not_approved_is_refused_even_when_the_answer_claims_it(monkeypatch):
    """The offer leaves ES256K out; a forged answer with such a key is refused all the same,
    and allauth's page shows that as a wrong code (its ``ValueError`` handling)."""
    from allauth.mfa.webauthn.internal import auth
    from cryptography.hazmat.primitives.asymmetric import ec
    from fido2.cose import ES256, ES256K
    from fido2.server import Fido2Server

    from portal.operators.webauthn_server import ApprovedAlgorithmsServer

    assert auth.Fido2Server is ApprovedAlgorithmsServer  # installed when the app started
    server = ApprovedAlgorithmsServer({"id": "testserver", "name": "Mijn Spiegel"})
    assert {p.alg for p in server.allowed_algorithms} == OFFERED_ALGORITHMS
    for key_class, curve, approved in ((ES256, ec.SECP256R1(), True), (ES256K, ec.SECP256K1(), False)):
        registered = _registered_with(key_class, curve)
        monkeypatch.setattr(Fido2Server, "register_complete", lambda self, *a, _r=registered, **k: _r)
        if approved:
            assert server.register_complete({}, {}) is registered
        else:
            with pytest.raises(ValueError, match="-47 is not approved"):
                server.register_complete({}, {})


# -- V2.8.5: a replayed TOTP code is refused, audited, and its holder is told -----------------------


@pytest.mark.django_db
def test_a_replayed_totp_code_is_refused_audited_and_mailed_to_the_holder(operator):  # noqa: F811
    from django.core import mail

    from tests.support.served_client import ServedClient

    secret, _ = operator
    code = _totp_code(secret)
    first = ServedClient()
    _password_step(first)
    assert first.post("/accounts/2fa/authenticate/", {"code": code}).status_code == 302
    mail.outbox.clear()
    wrong = ServedClient()
    _password_step(wrong)
    other = "000000" if code != "000000" else "111111"
    assert wrong.post("/accounts/2fa/authenticate/", {"code": other}).status_code == 200
    assert mail.outbox == []  # a wrong code is counted and audited, not mailed
    replay = ServedClient()
    _password_step(replay)
    assert replay.post("/accounts/2fa/authenticate/", {"code": code}).status_code == 200  # refused, asked again
    assert replay.get("/praktijk/")["Location"].startswith("/accounts/login/")
    (message,) = mail.outbox
    assert message.to == [KNOWN] and message.subject == "[Mijn Spiegel] Een al gebruikte code is geweigerd"
    assert "al eerder" in message.body and "wijzig" in message.body.lower() and code not in message.body
    details = [e.detail for e in audit("mfa_failed", actor=KNOWN)]
    assert details == ["wrong code (1 of 5)", "wrong code (2 of 5), a used TOTP code again: the holder was mailed"]
