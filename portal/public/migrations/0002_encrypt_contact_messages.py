"""Store what a contact message's sender typed encrypted (ASVS 8.3.7).

The name, subject and message become ``EncryptedTextField`` columns
(portal/access/encrypted_fields.py). The rows of before hold plain text, which the field
refuses to read, so they are encrypted here, once, with the configured key
(``settings.MFA_ENCRYPTION_KEYS``), in SQL: the model's own field would try to decrypt
them. Values that are tokens already are left as they are; backwards, they are decrypted."""

import portal.access.encrypted_fields
from django.db import connection, migrations

from portal.access.mfa_adapter import decrypt_secret, encrypt_secret, is_encrypted

COLUMNS = ("name", "subject", "message")


def _convert(apps, change, wanted: bool) -> None:
    table = apps.get_model("public", "ContactMessage")._meta.db_table
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(f"select id, {', '.join(quote(c) for c in COLUMNS)} from {quote(table)} order by id")
        rows = cursor.fetchall()
        for pk, *values in rows:
            if all(is_encrypted(v) == wanted for v in values):
                continue
            new = [v if is_encrypted(v) == wanted else change(v) for v in values]
            assignments = ", ".join(f"{quote(c)} = %s" for c in COLUMNS)
            cursor.execute(f"update {quote(table)} set {assignments} where id = %s", [*new, pk])


def encrypt_plain_messages(apps, schema_editor):  # noqa: ARG001
    _convert(apps, encrypt_secret, wanted=True)


def decrypt_messages(apps, schema_editor):  # noqa: ARG001
    _convert(apps, lambda token: decrypt_secret(token, what="contact message"), wanted=False)


class Migration(migrations.Migration):
    dependencies = [
        ("public", "0001_initial"),
    ]

    operations = [
        migrations.AlterField(
            model_name="contactmessage",
            name="name",
            field=portal.access.encrypted_fields.EncryptedTextField(
                max_length=200, stored_as="contact message", verbose_name="naam"
            ),
        ),
        migrations.AlterField(
            model_name="contactmessage",
            name="subject",
            field=portal.access.encrypted_fields.EncryptedTextField(
                max_length=200, stored_as="contact message", verbose_name="kort onderwerp"
            ),
        ),
        migrations.AlterField(
            model_name="contactmessage",
            name="message",
            field=portal.access.encrypted_fields.EncryptedTextField(
                stored_as="contact message", verbose_name="bericht"
            ),
        ),
        migrations.RunPython(encrypt_plain_messages, decrypt_messages),
    ]
