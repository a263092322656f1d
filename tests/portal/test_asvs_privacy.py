"""OWASP ASVS 4.0.3 level 2, the account's own sessions and data (docs/security.md, 3.3.4 and V8.3),
over HTTP to the served portal (tests/support/served_client.py):

- 3.3.4: the account's active sessions are listed (/accounts/sessions/), and any one of them, or
  all the others, can be logged out from another; another account's session cannot be ended.
- 8.3.3: the privacy statement (/privacy/) is public, linked from every page and from sign-up,
  and names the retention periods the portal runs with; sign-up needs the unticked consent box,
  and the time of the consent is stored and audited.
- 8.3.2: "Mijn gegevens downloaden" holds the account's own data and nothing of another account;
  "Account verwijderen" needs the password, logs every device out, the address no longer logs in,
  and the audit log keeps its lines and gets the deletion's. An operator and the last manager
  of a practice cannot delete themselves.
- 8.3.8: ``purge_expired`` (``spiegel portal purge-expired``, daily by deploy/) deletes what is
  past its retention period, keeps what is not, and prints the counts.
"""

from __future__ import annotations

import io
import json
import re
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from tests.support.dutch import INFORMAL
from tests.support.portal_world import PASSWORD, A, audit, client_for, make_account
from tests.support.served import REPO_ROOT, spiegel_portal
from tests.support.served_client import ServedClient

pytestmark = pytest.mark.django_db

OWNER = "eigenaar@praktijk-a.nl"
OTHER = "ander@praktijk-b.nl"


@pytest.fixture(autouse=True)
def fast_hashes(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def log_in(email: str, *, ip: str = "127.0.0.1", browser: str = "Testbrowser/1.0") -> ServedClient:
    """A real login through allauth's form (as a browser does), from its own address and browser."""
    client = ServedClient(REMOTE_ADDR=ip, HTTP_USER_AGENT=browser)
    response = client.post("/accounts/login/", {"login": email, "password": PASSWORD})
    assert response.status_code == 302, response.content[:500]
    return client


def logged_in(client: ServedClient) -> bool:
    response = client.get("/praktijk/")
    return response.status_code == 200


def session_rows(client: ServedClient) -> list[dict]:
    page = client.get("/accounts/sessions/")
    assert page.status_code == 200
    html = page.content.decode()
    return [
        {"id": int(m[1]), "current": bool(m[2])}
        for m in re.finditer(r'<tr data-session="(\d+)"( data-current="1")?>', html)
    ]


# -- 3.3.4: active sessions ---------------------------------------------------------------------------


def test_two_logins_are_two_sessions_and_the_first_logs_the_second_out():
    make_account(OWNER)
    laptop = log_in(OWNER, ip="10.1.1.1", browser="Laptop-browser/1.0")
    phone = log_in(OWNER, ip="10.2.2.2", browser="Telefoon-browser/2.0")

    page = laptop.get("/accounts/sessions/").content.decode()
    for shown in ("10.1.1.1", "10.2.2.2", "Laptop-browser/1.0", "Telefoon-browser/2.0", "deze sessie"):
        assert shown in page
    # the session key is the cookie's secret: never on the page
    assert laptop.cookies["sessionid"].value not in page and phone.cookies["sessionid"].value not in page
    rows = session_rows(laptop)
    assert len(rows) == 2 and [r["current"] for r in rows] == [True, False]
    assert [r["current"] for r in session_rows(phone)] == [False, True]

    other = next(r["id"] for r in rows if not r["current"])
    ended = laptop.post("/accounts/sessions/", {"session": other, "action": "end"})
    assert ended.status_code == 302 and ended["Location"] == "/accounts/sessions/"
    assert not logged_in(phone)  # the phone is logged out ...
    assert phone.get("/praktijk/")["Location"].startswith("/accounts/login/")
    assert logged_in(laptop)  # ... and the laptop is not
    assert [r["current"] for r in session_rows(laptop)] == [True]
    (line,) = audit("session_ended")
    assert line.actor == OWNER and line.subject == OWNER and "10.2.2.2" in line.detail


def test_all_other_sessions_at_once_and_the_own_one_is_a_logout():
    make_account(OWNER)
    devices = [log_in(OWNER, ip=f"10.3.3.{n}") for n in range(3)]
    assert len(session_rows(devices[0])) == 3
    devices[0].post("/accounts/sessions/", {"action": "others"})
    assert [logged_in(d) for d in devices] == [True, False, False]
    assert len(audit("session_ended")) == 2

    (own,) = session_rows(devices[0])
    response = devices[0].post("/accounts/sessions/", {"session": own["id"], "action": "end"})
    assert response.status_code == 302 and response["Location"] == "/"
    assert not logged_in(devices[0])
    assert audit("logout", actor=OWNER)


def test_another_accounts_session_cannot_be_ended():
    make_account(OWNER)
    make_account(OTHER)
    mine = log_in(OWNER, ip="10.4.4.1")
    theirs = log_in(OTHER, ip="10.4.4.2")
    from allauth.usersessions.models import UserSession

    (their_session,) = UserSession.objects.filter(user__email=OTHER)
    assert their_session.pk not in [r["id"] for r in session_rows(mine)]  # not listed to me

    for data in ({"session": their_session.pk, "action": "end"}, {"session": "x"}, {"session": "99999"}, {}):
        assert mine.post("/accounts/sessions/", data).status_code == 404, data
    assert logged_in(theirs) and logged_in(mine)
    assert UserSession.objects.filter(pk=their_session.pk).exists()
    assert audit("session_ended") == []
    assert [e.detail for e in audit("denied", actor=OWNER)][:1] == [
        f"not the owner of session record '{their_session.pk}'"
    ]
    # "all the others" ends only the account's own others
    mine.post("/accounts/sessions/", {"action": "others"})
    assert logged_in(theirs)


def test_a_session_made_without_the_login_form_is_listed_and_an_expired_one_is_not():
    user = make_account(OWNER)
    client = client_for(user, REMOTE_ADDR="10.5.5.5")
    rows = session_rows(client)
    assert [r["current"] for r in rows] == [True]
    assert "10.5.5.5" in client.get("/accounts/sessions/").content.decode()
    # a session that has expired on the server is no longer a session of the account
    from django.contrib.sessions.models import Session

    gone = log_in(OWNER, ip="10.5.5.6")
    Session.objects.filter(session_key=gone.cookies["sessionid"].value).update(
        expire_date=timezone.now() - timedelta(seconds=1)
    )
    assert [r["current"] for r in session_rows(client)] == [True]


def test_the_account_page_links_its_pages_and_speaks_formal_dutch():
    user = make_account(OWNER)
    client = client_for(user)
    page = client.get("/")
    assert 'href="/accounts/"' in page.content.decode()  # the header's address leads to the account page
    account = client.get("/accounts/")
    html = account.content.decode()
    assert account.status_code == 200
    for link in ("/accounts/sessions/", "/accounts/export/", "/accounts/delete/", "/privacy/", "/accounts/email/"):
        assert f'href="{link}"' in html, link
    assert "Mijn gegevens downloaden" in html and "Account verwijderen" in html
    for url in ("/accounts/", "/accounts/sessions/", "/accounts/delete/", "/privacy/"):
        text = re.sub(r"<[^>]+>", " ", client.get(url).content.decode())
        assert not INFORMAL.search(text), (url, INFORMAL.search(text))
    # behind the login, like every account page
    for url in ("/accounts/", "/accounts/sessions/", "/accounts/export/", "/accounts/delete/"):
        response = ServedClient().get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/"), url


# -- 8.3.3: the privacy statement and consent -----------------------------------------------------------


def test_the_privacy_statement_is_public_linked_and_names_the_configured_periods(settings):
    settings.RETENTION_LOGIN_DAYS, settings.RETENTION_CONTACT_DAYS, settings.RETENTION_SIGNUP_DAYS = 45, 200, 9
    page = ServedClient().get("/privacy/")
    assert page.status_code == 200
    html = " ".join(page.content.decode().split())  # the text as read, not as wrapped in the template
    assert "<h1>Privacyverklaring</h1>" in html
    for kept in ("e-mailadres", "naam", "praktijk", "auditlog", "contactformulier", "inlogpoging", "sessie"):
        assert kept in html, kept
    assert "45 dagen" in html and "200 dagen" in html and "9 dagen" in html
    assert f"{settings.SESSION_COOKIE_AGE // 60} minuten" in html
    for right in ("Mijn gegevens downloaden", "Account verwijderen", "Autoriteit Persoonsgegevens", "/contact/"):
        assert right in html, right
    text = re.sub(r"<[^>]+>", " ", html)
    assert not INFORMAL.search(text), INFORMAL.search(text)
    # every page's footer links it, the sign-up page too
    for url in ("/", "/kalender/", "/accounts/login/", "/accounts/signup/"):
        footer = re.search(r'<footer class="site-footer">.*?</footer>', ServedClient().get(url).content.decode(), re.S)[
            0
        ]
        assert '<a href="/privacy/">Privacyverklaring</a>' in footer, url


def test_sign_up_shows_an_unticked_required_consent_box_with_the_statement():
    html = ServedClient().get("/accounts/signup/").content.decode()
    (box,) = re.findall(r'<input[^>]*name="consent"[^>]*>', html)
    assert 'type="checkbox"' in box and "required" in box and "checked" not in box
    assert "Ik heb de privacyverklaring gelezen en ga akkoord" in html
    beside_the_box = html.split('name="consent"', 1)[1].split("<footer", 1)[0]
    assert '<a href="/privacy/">privacyverklaring</a>' in beside_the_box


@pytest.mark.parametrize("box", [None, "", "false"])
def test_sign_up_without_consent_is_refused_with_a_clear_message(box):
    from django.contrib.auth import get_user_model

    from portal.access.forms import CONSENT_REQUIRED

    fields = {"email": "nieuw@praktijk-c.nl", "password1": "Een-eigen-ww-2024", "password2": "Een-eigen-ww-2024"}
    if box is not None:
        fields["consent"] = box
    response = ServedClient().post("/accounts/signup/", fields)
    assert response.status_code == 200
    assert CONSENT_REQUIRED in response.content.decode()
    assert not get_user_model().objects.filter(email="nieuw@praktijk-c.nl").exists()
    assert mail.outbox == [] and audit("consent") == []


def test_sign_up_with_consent_stores_when_it_was_given_and_audits_it():
    from django.contrib.auth import get_user_model

    from portal.access.models import PrivacyConsent
    from portal.public.privacy import STATEMENT_VERSION

    before = timezone.now()
    fields = {"email": "nieuw@praktijk-c.nl", "password1": "Een-eigen-ww-2024", "password2": "Een-eigen-ww-2024"}
    response = ServedClient(REMOTE_ADDR="10.6.6.6").post("/accounts/signup/", {**fields, "consent": "on"})
    assert response.status_code == 302
    user = get_user_model().objects.get(email="nieuw@praktijk-c.nl")
    (consent,) = PrivacyConsent.objects.filter(user=user)
    assert before <= consent.given_at <= timezone.now()
    assert consent.statement == STATEMENT_VERSION
    (line,) = audit("consent")
    assert (line.actor, line.subject, line.ip) == ("nieuw@praktijk-c.nl", "nieuw@praktijk-c.nl", "10.6.6.6")
    assert STATEMENT_VERSION in line.detail


def test_the_migrations_of_the_access_app_are_committed():
    from django.core.management import call_command

    call_command("makemigrations", "access", check=True, dry_run=True, verbosity=0)


# -- 8.3.2: export and deletion ---------------------------------------------------------------------------


def _two_accounts_with_data():
    """The owner and another account, with requests, a decision of one about the other, tokens,
    contact messages and logins from their own addresses."""
    from portal.access import actions
    from portal.access import tokens as token_store
    from portal.public.models import ContactMessage

    owner, other = make_account(OWNER), make_account(OTHER)
    owner.first_name, owner.last_name = "Olga", "Eigenaar"
    owner.save()
    actions.appoint_manager(other, A, actor="operator (test)")
    owner_client = log_in(OWNER, ip="10.7.7.1", browser="Eigen-browser/1.0")
    other_client = log_in(OTHER, ip="10.8.8.8", browser="Andere-browser/9.9")
    owner_client.post("/praktijk/aanvragen/", {"agb": A})
    from portal.access.models import PracticeAccess

    access = PracticeAccess.objects.get(user=owner, agb=A)
    other_client.post(f"/praktijk/{A}/toegang/", {"action": "approve", "access": access.pk})
    assert PracticeAccess.objects.get(pk=access.pk).status == PracticeAccess.APPROVED
    own_token = token_store.create_token(owner, name="mijn script", days=30)
    other_token = token_store.create_token(other, name="script van een ander", days=30)
    ContactMessage.objects.create(
        topic="toegang", name="Olga", email=OWNER, subject="Vraag van de eigenaar", message="Mijn vraag", user=owner
    )
    ContactMessage.objects.create(
        topic="toegang", name="Ander", email=OTHER, subject="Vraag van een ander", message="Andere vraag"
    )
    return owner, other, owner_client, other_client, own_token, other_token


def test_the_export_holds_the_accounts_own_data_and_nothing_of_another():
    owner, other, owner_client, _, own_token, other_token = _two_accounts_with_data()
    response = owner_client.get("/accounts/export/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert response["Content-Disposition"].startswith('attachment; filename="mijn-spiegel-gegevens-')
    assert "no-store" in response["Cache-Control"]
    raw = response.content.decode()
    data = json.loads(raw)

    assert data["account"]["email"] == OWNER and data["account"]["last_name"] == "Eigenaar"
    assert [e["email"] for e in data["email_addresses"]] == [OWNER]
    assert [(a["agb"], a["status"], a["decided_by"]) for a in data["practice_access"]] == [
        (A, "approved", "ander account")
    ]
    assert [t["prefix"] for t in data["api_tokens"]] == [own_token.token.prefix]
    assert [m["subject"] for m in data["contact_messages"]] == ["Vraag van de eigenaar"]
    assert [(s["ip"], s["browser"], s["this_session"]) for s in data["sessions"]] == [
        ("10.7.7.1", "Eigen-browser/1.0", True)
    ]
    assert any(r["kind"] == "login" and r["ip"] == "10.7.7.1" for r in data["login_records"])
    actions = [line["action"] for line in data["audit_log"]]
    assert "login" in actions and "request" in actions and "grant" in actions and "token_created" in actions
    grant = next(line for line in data["audit_log"] if line["action"] == "grant")
    assert grant["actor"] == "ander account" and grant["ip"] is None and grant["subject"] == OWNER

    # nothing of the other account, anywhere in the file
    for theirs in (OTHER, "10.8.8.8", "Andere-browser", other_token.token.prefix, "Vraag van een ander"):
        assert theirs not in raw, theirs
    # no secret either: no session key, no token digest, no password hash
    assert owner_client.cookies["sessionid"].value not in raw
    assert own_token.token.key_hash not in raw and owner.password not in raw and own_token.secret not in raw
    (line,) = audit("personal_export")
    assert line.actor == OWNER and line.ip == "10.7.7.1"

    # and the other account's export is its own
    theirs = json.loads(client_for(other).get("/accounts/export/").content)
    assert theirs["account"]["email"] == OTHER and OWNER not in json.dumps(theirs)


def test_deletion_needs_the_password_logs_out_everywhere_and_the_address_no_longer_logs_in():
    from allauth.account.models import EmailAddress
    from allauth.usersessions.models import UserSession

    from portal.access.models import ApiToken, AuditEvent, PracticeAccess, PrivacyConsent
    from portal.public.models import ContactMessage

    owner, other, owner_client, _, _, _ = _two_accounts_with_data()
    PrivacyConsent.objects.create(user=owner, statement="2026-12", given_at=timezone.now())
    second_device = log_in(OWNER, ip="10.7.7.2")
    page = owner_client.get("/accounts/delete/")
    assert page.status_code == 200 and 'name="password"' in page.content.decode()
    lines_before = list(AuditEvent.objects.order_by("id").values_list("id", "actor", "subject", "detail"))

    # without the password, or with a wrong one: nothing happens
    for data in ({}, {"password": ""}, {"password": "Niet-het-wachtwoord-1"}):
        response = owner_client.post("/accounts/delete/", data)
        assert response.status_code == 400, data
        owner.refresh_from_db()
        assert owner.is_active and owner.email == OWNER
    assert "Dit wachtwoord is niet juist" in response.content.decode()
    assert [e.detail for e in audit("delete_refused")] == ["wrong password"]
    assert logged_in(owner_client) and logged_in(second_device)

    mail.outbox.clear()
    response = owner_client.post("/accounts/delete/", {"password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/"
    assert not logged_in(owner_client) and not logged_in(second_device)
    # the address and the password no longer log in
    login = ServedClient().post("/accounts/login/", {"login": OWNER, "password": PASSWORD})
    assert login.status_code == 200
    owner.refresh_from_db()
    assert not owner.is_active and not owner.has_usable_password()
    assert (owner.username, owner.email, owner.first_name, owner.last_name) == (f"verwijderd-{owner.pk}", "", "", "")
    for model in (EmailAddress, ApiToken, PracticeAccess, PrivacyConsent, UserSession):
        assert not model.objects.filter(user=owner).exists(), model
    assert not ContactMessage.objects.filter(email=OWNER).exists()
    assert ContactMessage.objects.filter(email=OTHER).exists()  # the other account's data stays
    assert other.api_tokens.count() == 1 and other.is_active
    # the owner's access to the practice is gone; the manager keeps the practice
    assert PracticeAccess.objects.filter(agb=A).count() == 0 and other.managed_practices.filter(agb=A).exists()

    # the audit log: every earlier line as it was, plus the deletion's (and the access it ended)
    assert (
        list(
            AuditEvent.objects.filter(id__lte=lines_before[-1][0])
            .order_by("id")
            .values_list("id", "actor", "subject", "detail")
        )
        == lines_before
    )
    (deleted,) = audit("account_deleted")
    assert deleted.actor == OWNER and deleted.subject == OWNER and f"verwijderd-{owner.pk}" in deleted.detail
    assert audit("revocation", agb=A, detail="account deleted")
    # the owner hears of it; the address may sign up again
    assert any(m.to == [OWNER] and "verwijderd" in m.subject for m in mail.outbox)
    again = ServedClient().post(
        "/accounts/signup/",
        {"email": OWNER, "password1": "Weer-een-account-1", "password2": "Weer-een-account-1", "consent": "on"},
    )
    assert again.status_code == 302
    assert EmailAddress.objects.filter(email=OWNER).exclude(user=owner).exists()


def test_an_operator_and_the_last_manager_of_a_practice_cannot_delete_themselves():
    from portal.access import actions
    from portal.access.models import PracticeManager

    operator = make_account("operator@spiegel.nl")
    operator.is_staff = True
    operator.save()
    response = log_in("operator@spiegel.nl").post("/accounts/delete/", {"password": PASSWORD})
    assert response.status_code == 400 and "operatoraccount" in response.content.decode()
    operator.refresh_from_db()
    assert operator.is_active and operator.email == "operator@spiegel.nl"

    holder = make_account(OWNER)
    actions.appoint_manager(holder, A, actor="operator (test)")
    holder_client = log_in(OWNER)
    assert "enige autorisatiebeheerder van praktijk 11111111" in holder_client.get("/accounts/delete/").content.decode()
    assert holder_client.post("/accounts/delete/", {"password": PASSWORD}).status_code == 400
    holder.refresh_from_db()
    assert holder.is_active and PracticeManager.objects.filter(user=holder, agb=A).exists()
    assert [e.actor for e in audit("delete_refused")] == ["operator@spiegel.nl", OWNER]

    # with a second manager, the holder may go; the practice keeps the other
    second = make_account(OTHER)
    actions.appoint_manager(second, A, actor="operator (test)")
    mail.outbox.clear()
    assert holder_client.post("/accounts/delete/", {"password": PASSWORD}).status_code == 302
    assert list(PracticeManager.objects.filter(agb=A).values_list("user__email", flat=True)) == [OTHER]
    assert audit("manager_removed", agb=A, detail="account deleted")
    assert any(m.to == [OTHER] for m in mail.outbox)  # the remaining manager is told


# -- 8.3.8: retention ----------------------------------------------------------------------------------------


def _aged(queryset, field: str, days: float) -> None:
    queryset.update(**{field: timezone.now() - timedelta(days=days)})


def test_purge_deletes_what_is_past_its_period_keeps_the_rest_and_prints_the_counts(settings):
    from allauth.account.models import EmailAddress
    from axes.models import AccessAttempt, AccessLog
    from django.contrib.auth import get_user_model
    from django.contrib.sessions.models import Session
    from django.core.management import call_command

    from portal.access import actions
    from portal.public.models import ContactMessage

    settings.RETENTION_LOGIN_DAYS, settings.RETENTION_CONTACT_DAYS, settings.RETENTION_SIGNUP_DAYS = 30, 100, 5
    User = get_user_model()
    # sessions: one expired, one live
    make_account(OWNER)
    live, expired = log_in(OWNER), log_in(OWNER)
    Session.objects.filter(session_key=expired.cookies["sessionid"].value).update(
        expire_date=timezone.now() - timedelta(minutes=1)
    )
    # login records: two logins above and one failed attempt; age one of each kind past 30 days
    ServedClient().post("/accounts/login/", {"login": OWNER, "password": "Fout-wachtwoord-123"})
    assert AccessLog.objects.count() == 2 and AccessAttempt.objects.count() == 1
    _aged(AccessLog.objects.filter(pk=AccessLog.objects.order_by("id")[0].pk), "attempt_time", 31)
    _aged(AccessAttempt.objects.all(), "attempt_time", 31)
    # contact messages: 101 days and 99 days old
    for days, subject in ((101, "oud"), (99, "recent")):
        message = ContactMessage.objects.create(topic="toegang", name="N", email="n@x.nl", subject=subject, message="M")
        _aged(ContactMessage.objects.filter(pk=message.pk), "created_at", days)
    # sign-ups: unconfirmed 6 days ago (due), unconfirmed 4 days ago, confirmed 6 days ago, and an
    # unconfirmed one an operator made a manager
    for email, verified, days in (("oud@x.nl", False, 6), ("recent@x.nl", False, 4), ("bevestigd@x.nl", True, 6)):
        user = User.objects.create_user(username=email, email=email, password=PASSWORD)
        EmailAddress.objects.create(user=user, email=email, verified=verified, primary=True)
        _aged(User.objects.filter(pk=user.pk), "date_joined", days)
    kept = User.objects.create_user(username="beheer@x.nl", email="beheer@x.nl")
    EmailAddress.objects.create(user=kept, email="beheer@x.nl", verified=False, primary=True)
    actions.appoint_manager(kept, A, actor="operator (test)")
    _aged(User.objects.filter(pk=kept.pk), "date_joined", 60)

    out = io.StringIO()
    call_command("purge_expired", stdout=out)
    assert out.getvalue().splitlines() == [
        "expired sessions: 1 deleted",
        "login records (django-axes) older than 30 days: 2 deleted",
        "contact messages older than 100 days: 1 deleted",
        "unconfirmed sign-ups older than 5 days: 1 deleted",
        "API tokens expiring within 7 days: 0 owners mailed",
    ]
    assert logged_in(live) and not logged_in(expired)
    assert AccessLog.objects.count() == 1  # the recent login
    assert AccessAttempt.objects.count() == 0
    assert list(ContactMessage.objects.values_list("subject", flat=True)) == ["recent"]
    assert set(User.objects.values_list("email", flat=True)) == {
        OWNER,
        "recent@x.nl",
        "bevestigd@x.nl",
        "beheer@x.nl",
    }
    (line,) = audit("retention_purge")
    assert "contact messages older than 100 days: 1 deleted" in line.detail and "@" not in line.detail

    # a second run finds nothing more
    out = io.StringIO()
    call_command("purge_expired", stdout=out)
    assert [int(re.search(r": (\d+) (deleted|owners mailed)", x)[1]) for x in out.getvalue().splitlines()] == [0] * 5


def test_the_retention_periods_come_from_the_environment_and_must_be_whole_days(monkeypatch):
    from django.core.exceptions import ImproperlyConfigured

    from portal import settings as portal_settings

    monkeypatch.setenv("SPIEGEL_PORTAL_RETENTION_CONTACT_DAYS", "30")
    assert portal_settings._days("SPIEGEL_PORTAL_RETENTION_CONTACT_DAYS", 365) == 30
    monkeypatch.delenv("SPIEGEL_PORTAL_RETENTION_CONTACT_DAYS")
    assert portal_settings._days("SPIEGEL_PORTAL_RETENTION_CONTACT_DAYS", 365) == 365
    for bad in ("0", "-3", "1.5", "veel"):
        monkeypatch.setenv("SPIEGEL_PORTAL_RETENTION_LOGIN_DAYS", bad)
        with pytest.raises(ImproperlyConfigured):
            portal_settings._days("SPIEGEL_PORTAL_RETENTION_LOGIN_DAYS", 90)
    # the defaults the privacy statement and docs/operations.md state
    assert (portal_settings.RETENTION_LOGIN_DAYS, portal_settings.RETENTION_CONTACT_DAYS) == (90, 365)
    assert portal_settings.RETENTION_SIGNUP_DAYS == 7


def test_spiegel_portal_purge_expired_runs_on_a_data_directory_and_deploy_runs_it_daily(tmp_path):
    done = spiegel_portal(tmp_path / "data", "purge-expired")
    assert done.returncode == 0, done.stderr
    assert [line.split(":")[0] for line in done.stdout.splitlines()] == [
        "expired sessions",
        "login records (django-axes) older than 90 days",
        "contact messages older than 365 days",
        "unconfirmed sign-ups older than 7 days",
        "API tokens expiring within 7 days",
    ]
    deploy = REPO_ROOT / "deploy"
    service = (deploy / "spiegel-portal-purge.service").read_text()
    timer = (deploy / "spiegel-portal-purge.timer").read_text()
    assert "Type=oneshot" in service and "spiegel portal purge-expired" in service
    assert "EnvironmentFile=/etc/spiegel/spiegel.env" in service and "User=spiegel" in service
    assert re.search(r"^OnCalendar=.*daily|^OnCalendar=\*-\*-\* ", timer, re.M) and "Persistent=true" in timer
    assert "Unit=spiegel-portal-purge.service" in timer and "WantedBy=timers.target" in timer
    example = (deploy / "spiegel.env.example").read_text()
    for name in ("LOGIN", "CONTACT", "SIGNUP"):
        assert f"#SPIEGEL_PORTAL_RETENTION_{name}_DAYS=" in example
