"""OWASP ASVS 4.0.3 level 2, 2.3.3: renewal instructions in time for the personal API tokens,
which expire (docs/security.md). The daily ``purge_expired`` (``spiegel portal purge-expired``)
mails the owner once per token that expires within 7 days (portal/access/token_notices.py)."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from portal.access import tokens
from portal.access.models import ApiToken
from tests.support.dutch import INFORMAL
from tests.support.portal_world import make_account

pytestmark = pytest.mark.django_db

OWNER = "eigenaar@praktijk-a.nl"
OTHER = "ander@praktijk-b.nl"


def token_expiring_in(user, name: str, delta: timedelta) -> ApiToken:
    token = tokens.create_token(user, name=name).token
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() + delta)
    token.refresh_from_db()
    return token


def purge() -> list[str]:
    out = io.StringIO()
    call_command("purge_expired", stdout=out)
    return out.getvalue().splitlines()


def test_the_owner_is_mailed_once_about_a_token_that_expires_within_a_week():
    owner, other = make_account(OWNER), make_account(OTHER)
    soon = token_expiring_in(owner, "rapportage-script", timedelta(days=6, hours=23))
    token_expiring_in(owner, "later", timedelta(days=8))
    token_expiring_in(owner, "verlopen", timedelta(hours=-1))
    revoked = token_expiring_in(other, "ingetrokken", timedelta(days=2))
    ApiToken.objects.filter(pk=revoked.pk).update(revoked_at=timezone.now())
    mail.outbox.clear()

    assert purge()[-1] == "API tokens expiring within 7 days: 1 owners mailed"
    (notice,) = mail.outbox
    assert notice.to == [OWNER] and notice.subject == "[Mijn Spiegel] Uw API-sleutel verloopt binnenkort"
    expiry = timezone.localtime(soon.expires_at).strftime("%d-%m-%Y")
    assert '"rapportage-script"' in notice.body and expiry in notice.body and soon.prefix in notice.body
    assert "/accounts/tokens/" in notice.body and "Maak op tijd een nieuwe sleutel" in notice.body
    assert "later" not in notice.body and not INFORMAL.search(notice.body)

    mail.outbox.clear()
    assert purge()[-1] == "API tokens expiring within 7 days: 0 owners mailed"  # never twice
    assert mail.outbox == []
    soon.refresh_from_db()
    assert soon.expiry_notice_sent_at is not None


def test_a_mail_that_fails_is_tried_again_the_next_day(monkeypatch):
    from portal.access import notify, token_notices

    owner = make_account(OWNER)
    token = token_expiring_in(owner, "", timedelta(days=3))

    def down(*args, **kwargs):
        raise OSError("mail server down")

    monkeypatch.setattr(notify, "send_mail", down)  # the owner's notices all go through notify
    assert token_notices.send() == 0
    token.refresh_from_db()
    assert token.expiry_notice_sent_at is None
    monkeypatch.undo()
    mail.outbox.clear()
    assert token_notices.send() == 1
    assert "zonder omschrijving" in mail.outbox[0].body
