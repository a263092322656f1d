"""A lost second factor is removed only after the holder's identity was checked (ASVS 2.5.7):
``spiegel portal reset-second-factor`` names who checked and how, removes every authenticator,
ends the sessions, audits and mails the holder; the admin lists second factors and cannot
delete or change them; and the holder then logs in with the password and must set up a new one
before acting as an operator."""

from __future__ import annotations

import pytest
from django.core import mail

from tests.support.dutch import INFORMAL
from tests.support.portal_world import PASSWORD, audit, client_for, make_account
from tests.support.served_client import ServedClient

pytestmark = pytest.mark.django_db

HOLDER = "operator@spiegel.test"


@pytest.fixture
def holder():
    """An operator with TOTP, recovery codes and a logged-in session."""
    from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
    from allauth.mfa.totp.internal.auth import TOTP

    from tests.release.test_four_eyes import new_totp_secret, totp_code

    user = make_account(HOLDER)
    user.is_staff = True
    user.save()
    secret = new_totp_secret()
    TOTP.activate(user, secret)
    RecoveryCodes.activate(user)
    session = ServedClient()
    assert session.post("/accounts/login/", {"login": HOLDER, "password": PASSWORD}).status_code == 302
    assert session.post("/accounts/2fa/authenticate/", {"code": totp_code(secret)}).status_code == 302
    assert session.get("/praktijk/").status_code == 200
    return user, session


def test_a_reset_needs_who_checked_and_how_and_then_removes_every_factor_and_session(holder):
    from allauth.mfa.models import Authenticator

    from portal.access import actions

    user, session = holder
    for checked_by, evidence in (("", "in persoon, paspoort gezien"), ("Anna", ""), ("Anna", "ok")):
        with pytest.raises(actions.ActionRefused):
            actions.reset_second_factor(user, actor="operator (test)", checked_by=checked_by, evidence=evidence)
    assert Authenticator.objects.filter(user=user).count() == 2 and not audit("second_factor_reset")

    mail.outbox.clear()
    removed, ended = actions.reset_second_factor(
        user, actor="operator (test)", checked_by="Anna de Vries", evidence="in persoon,  paspoort gezien"
    )
    assert (removed, ended) == (2, 1)
    assert not Authenticator.objects.filter(user=user).exists()
    assert session.get("/praktijk/")["Location"].startswith("/accounts/login/")  # the session is over
    (line,) = audit("second_factor_reset", subject=HOLDER)
    assert line.actor == "operator (test)"
    assert (
        line.detail
        == "identity checked by Anna de Vries: in persoon, paspoort gezien; 2 authenticator(s), 1 session(s)"
    )
    (notice,) = mail.outbox
    assert notice.to == [HOLDER] and notice.subject == "[Mijn Spiegel] Uw tweede factor is verwijderd"
    assert "Anna de Vries" in notice.body and not INFORMAL.search(notice.body)
    # nothing left to remove: said so, nothing audited again
    with pytest.raises(actions.ActionRefused, match="heeft geen tweede factor"):
        actions.reset_second_factor(user, actor="operator (test)", checked_by="Anna", evidence="nog een keer gebeld")
    assert len(audit("second_factor_reset")) == 1


def test_after_a_reset_the_operator_must_set_up_a_new_factor_before_the_release_page(holder):
    from portal.access import actions

    user, _ = holder
    actions.reset_second_factor(
        user, actor="operator (test)", checked_by="Anna", evidence="teruggebeld op bekend nummer"
    )
    client = ServedClient()
    response = client.post("/accounts/login/", {"login": HOLDER, "password": PASSWORD})
    assert response.status_code == 302 and not response["Location"].startswith("/accounts/2fa/authenticate/")
    release = client.get("/beheer/vrijgave/")
    assert release.status_code == 302 and release["Location"].startswith("/accounts/2fa/totp/activate/")


def test_the_admin_lists_second_factors_but_cannot_delete_or_change_them(holder):
    from allauth.mfa.models import Authenticator

    user, _ = holder
    admin = make_account("beheer@spiegel.test")
    admin.is_staff = admin.is_superuser = True
    admin.save()
    client = client_for(admin)
    listing = client.get("/admin/mfa/authenticator/")
    assert listing.status_code == 200 and HOLDER in listing.content.decode()
    factor = Authenticator.objects.filter(user=user).first()
    page = client.get(f"/admin/mfa/authenticator/{factor.pk}/change/").content.decode()
    assert "secret" not in page and '"data"' not in page and 'name="_save"' not in page  # view only, no data
    assert client.post(f"/admin/mfa/authenticator/{factor.pk}/delete/", {"post": "yes"}).status_code == 403
    bulk = client.post(
        "/admin/mfa/authenticator/", {"action": "delete_selected", "_selected_action": [factor.pk], "post": "yes"}
    )
    assert bulk.status_code in (200, 302)
    assert client.get("/admin/mfa/authenticator/add/").status_code == 403
    assert Authenticator.objects.filter(user=user).count() == 2
