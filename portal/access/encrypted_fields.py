"""A text column stored encrypted (ASVS 8.3.7): free text a person typed, which may hold
health or personal details nobody asked for, is unreadable to whoever reads the database
or a backup of it without the key.

The values are Fernet tokens (AES-128-CBC with HMAC-SHA256: confidentiality and
integrity) under the same keys as the second factors' secrets (``MFA_ENCRYPTION_KEYS``:
``SPIEGEL_PORTAL_MFA_KEY`` or an owner-only file beside the secret key, never in the
database), so key rotation works the same way. The model sees plain text; the database
only tokens. Such a column cannot be searched or filtered in SQL: only columns the portal
never looks up by are encrypted (a contact message's e-mail address stays plain because
the export and deletion of a person's data find the messages by it).
"""

from __future__ import annotations

from django.db import models

from portal.access.mfa_adapter import decrypt_secret, encrypt_secret


class EncryptedTextField(models.TextField):
    """Text encrypted on the way into the database and decrypted on the way out. A value
    in the database that is not a token of the configured keys is an error, not shown."""

    description = "text, stored Fernet-encrypted"

    def __init__(self, *args, stored_as: str = "text", **kwargs):
        self.stored_as = stored_as  # names the value in an error ("contact message")
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        if self.stored_as != "text":
            kwargs["stored_as"] = self.stored_as
        return name, path, args, kwargs

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        return None if value is None else encrypt_secret(str(value))

    def from_db_value(self, value, expression, connection):
        return None if value is None else decrypt_secret(value, what=self.stored_as)
