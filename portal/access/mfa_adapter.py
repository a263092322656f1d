"""allauth's MFA adapter, with the second factors' secrets encrypted at rest (ASVS 2.6.3, 2.8.2).

allauth stores an operator's TOTP secret (``Authenticator.data["secret"]``) and the seed the
recovery codes are derived from (``data["seed"]``) through the adapter's ``encrypt()`` and
reads them through ``decrypt()`` (allauth/mfa/totp/internal/auth.py,
allauth/mfa/recovery_codes/internal/auth.py). Its default adapter returns the text as it is;
this one uses Fernet (AES-128-CBC with HMAC-SHA256: confidentiality and integrity) from
``cryptography`` with ``settings.MFA_ENCRYPTION_KEYS``, which are not in the database (the
environment ``SPIEGEL_PORTAL_MFA_KEY``, or an owner-only file beside the secret key:
portal/settings.py). Who reads the database without the key gets neither the TOTP secret nor
the recovery codes.

Key rotation: ``SPIEGEL_PORTAL_MFA_KEY`` may hold several comma-separated keys; the first
encrypts, each decrypts (``MultiFernet``). ``reencrypt()`` moves a value onto the first key.

Secrets stored before this adapter (plain base32 TOTP secrets, hex seeds): migration
``portal/access/migrations/0007_encrypt_mfa_secrets.py`` encrypts them once (``spiegel portal
serve`` migrates before it serves). ``decrypt()`` then accepts only Fernet tokens: a plain
value planted in the database is refused, not used, and so is a token made with another key
(a wrong or lost ``SPIEGEL_PORTAL_MFA_KEY`` is an error the operator sees, not a silently
failing second factor).
"""

from __future__ import annotations

import logging

from allauth.mfa.adapter import DefaultMFAAdapter
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

log = logging.getLogger(__name__)

# every Fernet token starts with its version byte 0x80, in url-safe base64 "gAAAAA"; a TOTP
# secret is upper-case base32 and a seed lower-case hex, so neither can look like a token
TOKEN_PREFIX = "gAAAAA"


class UndecryptableSecret(ImproperlyConfigured):
    """A stored second-factor secret that the configured keys do not open."""


def _fernet(keys: list[str] | None = None) -> MultiFernet:
    keys = keys if keys is not None else getattr(settings, "MFA_ENCRYPTION_KEYS", None)
    if not keys:
        raise ImproperlyConfigured("MFA_ENCRYPTION_KEYS is not set (portal/settings.py makes one)")
    return MultiFernet([Fernet(key) for key in keys])


def is_encrypted(value: str) -> bool:
    return isinstance(value, str) and value.startswith(TOKEN_PREFIX)


def encrypt_secret(text: str, keys: list[str] | None = None) -> str:
    return _fernet(keys).encrypt(text.encode("utf-8")).decode("ascii")


def decrypt_secret(token: str, keys: list[str] | None = None, what: str = "second-factor secret") -> str:
    """The text of ``token``; ``what`` names the stored value in the error (and the log)."""
    if not is_encrypted(token):
        log.error("a %s in the database is not encrypted: refused", what)
        raise UndecryptableSecret(f"a stored {what} is not encrypted (migrate the portal's database)")
    try:
        return _fernet(keys).decrypt(token.encode("ascii")).decode("utf-8")
    except InvalidToken:
        log.error("a %s does not decrypt with SPIEGEL_PORTAL_MFA_KEY: wrong or lost key?", what)
        raise UndecryptableSecret(
            f"a stored {what} does not decrypt with the configured MFA key "
            "(SPIEGEL_PORTAL_MFA_KEY, or <data dir>/portal/mfa_key)"
        ) from None


def reencrypt(token: str, keys: list[str] | None = None) -> str:
    """The same secret under the first key (after a new key was put in front)."""
    return _fernet(keys).rotate(token.encode("ascii")).decode("ascii")


class MFAAdapter(DefaultMFAAdapter):
    def encrypt(self, text: str) -> str:
        return encrypt_secret(text)

    def decrypt(self, encrypted_text: str) -> str:
        return decrypt_secret(encrypted_text)
