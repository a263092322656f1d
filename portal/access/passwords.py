"""The one password rule Django does not ship: an upper bound on the length (ASVS 2.1.2:
passwords of 64 characters must work, those over 128 are refused). Any printable character
counts, spaces and emoji included; nothing is truncated (PBKDF2 hashes the whole text)."""

from __future__ import annotations

from django.core.exceptions import ValidationError


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
