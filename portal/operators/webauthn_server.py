"""The security keys' server (WebAuthn, fido2) narrowed to approved signature algorithms.

fido2's server offers, and accepts, every algorithm its ``CoseKey`` knows, ES256K (ECDSA on
secp256k1) among them; NIST SP 800-186 admits that curve for blockchain use only, so it is no
approved algorithm for authentication (ASVS 2.9.3). allauth builds the server in one function
of its own, ``allauth.mfa.webauthn.internal.auth.get_server``, and has no setting for the
list, so the operators' app points that module's ``Fido2Server`` at a subclass when it starts
(``apps.py``). The server it then builds leaves ES256K out of what a key is offered, and
refuses a registration whose key uses it anyway (an offer binds the browser, not whoever
forges the answer); allauth turns that refusal into its usual "incorrect code" form error.
If an upgrade of allauth changes how it builds the server, :func:`install` fails at start
instead of leaving the full list in place.
"""

from __future__ import annotations

from fido2.cose import ES256K
from fido2.server import Fido2Server

NOT_APPROVED = frozenset({ES256K.ALGORITHM})


class ApprovedAlgorithmsServer(Fido2Server):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.allowed_algorithms = [p for p in self.allowed_algorithms if p.alg not in NOT_APPROVED]

    def register_complete(self, *args, **kwargs):
        authenticator_data = super().register_complete(*args, **kwargs)
        credential = authenticator_data.credential_data
        algorithm = credential.public_key.ALGORITHM if credential is not None else None
        if algorithm in NOT_APPROVED or algorithm not in {p.alg for p in self.allowed_algorithms}:
            raise ValueError(f"the key's signature algorithm {algorithm} is not approved")
        return authenticator_data


def install() -> None:
    """Make allauth's ``get_server`` build an :class:`ApprovedAlgorithmsServer`: it constructs
    the class its module imported as ``Fido2Server``, so that name is pointed at ours."""
    from allauth.mfa.webauthn.internal import auth

    if auth.Fido2Server is ApprovedAlgorithmsServer:
        return
    if auth.Fido2Server is not Fido2Server or not callable(getattr(auth, "get_server", None)):
        raise RuntimeError("allauth's WebAuthn no longer builds fido2's Fido2Server: review webauthn_server.py")
    auth.Fido2Server = ApprovedAlgorithmsServer
