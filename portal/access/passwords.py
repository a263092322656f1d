"""Passwords: the one rule Django does not ship, and the peppered hash.

- ``MaximumLengthValidator``: an upper bound on the length (ASVS 2.1.2: passwords of 64
  characters must work, those over 128 are refused). Any printable character counts, spaces
  and emoji included; nothing is truncated (PBKDF2 hashes the whole text).
- ``PepperedPBKDF2PasswordHasher`` (ASVS 2.4.5): before Django's PBKDF2 (its own random salt
  per hash, its iterations) the password goes through HMAC-SHA256 keyed with
  ``settings.PASSWORD_PEPPER``, a secret that is not in the database (the environment, or an
  owner-only file beside the secret key: portal/settings.py). A copy of the database alone is
  no use for guessing passwords offline. Its hashes carry their own algorithm name, so that
  Django tells them from the plain PBKDF2 hashes of before: those still verify (the plain
  hasher stays in ``PASSWORD_HASHERS``) and are replaced by a peppered hash at the next login.
"""

from __future__ import annotations

import hashlib
import hmac

from django.conf import settings
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.core.exceptions import ImproperlyConfigured, ValidationError


class MaximumLengthValidator:
    def __init__(self, max_length: int = 128):
        self.max_length = max_length

    def validate(self, password: str, user=None) -> None:
        if len(password) > self.max_length:
            raise ValidationError(
                f"Dit wachtwoord is te lang: gebruik ten hoogste {self.max_length} tekens.",
                code="password_too_long",
                params={"max_length": self.max_length},
            )

    def get_help_text(self) -> str:
        return f"Uw wachtwoord mag niet meer dan {self.max_length} tekens bevatten."


class PepperedPBKDF2PasswordHasher(PBKDF2PasswordHasher):
    """PBKDF2-SHA256 (Django's iterations) of HMAC-SHA256(pepper, password).

    The HMAC's hex digest (64 characters) is what PBKDF2 hashes, so every password, however
    long, costs the same. ``verify`` and ``harden_runtime`` go through ``encode``: both pepper."""

    algorithm = "pbkdf2_sha256_peppered"

    @staticmethod
    def _pepper() -> bytes:
        pepper = getattr(settings, "PASSWORD_PEPPER", "")
        if not pepper:
            raise ImproperlyConfigured("PASSWORD_PEPPER is not set (portal/settings.py makes one)")
        return pepper.encode("utf-8")

    def peppered(self, password: str | bytes) -> str:
        raw = password.encode("utf-8") if isinstance(password, str) else bytes(password)
        return hmac.new(self._pepper(), raw, hashlib.sha256).hexdigest()

    def encode(self, password, salt, iterations=None):
        self._check_encode_args(password, salt)
        return super().encode(self.peppered(password), salt, iterations)
