"""Encrypt the second factors' secrets stored before portal/access/mfa_adapter.py (ASVS 2.6.3, 2.8.2).

allauth kept the TOTP secret (``data["secret"]``) and the recovery-code seed (``data["seed"]``,
and a django-allauth-2fa import's ``data["migrated_codes"]``) as they were. From now on the
MFA adapter reads Fernet tokens only, so every plain value is encrypted here, once, with the
configured key (``settings.MFA_ENCRYPTION_KEYS``). Values that are tokens already are left as
they are, so the migration may run on a database that already has encrypted rows. Backwards,
the values are decrypted again (for a portal version without the adapter)."""

from django.db import migrations

from portal.access.mfa_adapter import decrypt_secret, encrypt_secret, is_encrypted

FIELDS = {"totp": ("secret",), "recovery_codes": ("seed",)}


def _convert(apps, change, wanted) -> None:
    Authenticator = apps.get_model("mfa", "Authenticator")
    for authenticator in Authenticator.objects.filter(type__in=list(FIELDS)).order_by("pk"):
        data = dict(authenticator.data or {})
        changed = False
        for field in FIELDS[authenticator.type]:
            value = data.get(field)
            if isinstance(value, str) and is_encrypted(value) != wanted:
                data[field] = change(value)
                changed = True
        codes = data.get("migrated_codes")
        if isinstance(codes, list) and any(is_encrypted(c) != wanted for c in codes):
            data["migrated_codes"] = [change(c) if is_encrypted(c) != wanted else c for c in codes]
            changed = True
        if changed:
            authenticator.data = data
            authenticator.save(update_fields=["data"])


def encrypt_plain_secrets(apps, schema_editor):  # noqa: ARG001
    _convert(apps, encrypt_secret, wanted=True)


def decrypt_secrets(apps, schema_editor):  # noqa: ARG001
    _convert(apps, decrypt_secret, wanted=False)


class Migration(migrations.Migration):
    dependencies = [
        ("access", "0006_privacy_consent_and_account_actions"),
        ("mfa", "0003_authenticator_type_uniq"),
    ]

    operations = [migrations.RunPython(encrypt_plain_secrets, decrypt_secrets)]
