"""Abnormal numbers of requests reach the operations team (ASVS 8.1.4; portal/access/alarms.py):
each limit that refuses a caller sends the platform's alert (docs/alerts.md) once per limit,
caller and hour, as the alerts' own mail file (no SMTP host here) and a sent-log line; the
refusal itself is the same whether the alert goes out or fails."""

from __future__ import annotations

import logging

import pytest

from orchestration.core.settings import SpiegelPaths
from tests.support.alert_mail import mails, sent_log
from tests.support.portal_world import PASSWORD, make_account
from tests.support.served_client import ServedClient

pytestmark = pytest.mark.django_db

OPS = "dienst@spiegel.test"
OWNER = "eigenaar@praktijk-a.nl"
WRONG = "Een-fout-wachtwoord-9"


@pytest.fixture
def alerts(tmp_path, settings, monkeypatch) -> SpiegelPaths:
    """The portal's data directory for these tests: where the alerts land; the hour held still,
    so a test that runs across a full hour still sees one window."""
    from portal.access import alarms

    settings.DATA_DIR = tmp_path
    monkeypatch.setattr(alarms, "current_hour", lambda: "2026-12-04T10")
    monkeypatch.setenv("SPIEGEL_ALERT_TO", OPS)
    for name in ("SPIEGEL_PORTAL_EMAIL_HOST", "SPIEGEL_ALERT_WEBHOOK_URL"):
        monkeypatch.delenv(name, raising=False)
    return SpiegelPaths(tmp_path)


def _sent_keys(paths: SpiegelPaths) -> list[str]:
    return [line["key"] for line in sent_log(paths)]


def _fail_logins(n: int, login: str = OWNER, ip: str = "10.7.7.7") -> list[int]:
    return [
        ServedClient().post("/accounts/login/", {"login": login, "password": WRONG}, REMOTE_ADDR=ip).status_code
        for _ in range(n)
    ]


def test_a_lockout_is_told_once_per_account_and_hour_without_any_password(alerts, settings):
    make_account(OWNER)
    assert mails(alerts) == []
    codes = _fail_logins(settings.AXES_FAILURE_LIMIT + 3)
    assert codes[-1] == 429
    (message,) = mails(alerts)
    assert message["To"] == OPS
    assert message["Subject"] == (f"[Spiegel] portal: logins locked after repeated failed attempts ({OWNER})")
    body = message.get_content()
    assert "10.7.7.7" in body and "spiegel portal audit" in body
    assert WRONG not in message.as_string() and PASSWORD not in message.as_string()
    (key,) = _sent_keys(alerts)
    assert key.startswith("portal_requests:lockout:") and message["X-Spiegel-Alert"] == key
    assert key.endswith(":2026-12-04T10")
    # another account locked in the same hour is news of its own
    make_account("ander@praktijk-b.nl")
    _fail_logins(settings.AXES_FAILURE_LIMIT + 1, login="ander@praktijk-b.nl", ip="10.8.8.8")
    assert [m["Subject"].rsplit("(", 1)[1] for m in mails(alerts)] == [f"{OWNER})", "ander@praktijk-b.nl)"]


def test_the_same_caller_is_told_again_in_the_next_hour(alerts, monkeypatch):
    from portal.access import alarms

    assert alarms.limit_reached("contact_rate", "veel@afzender.nl") is True
    assert alarms.limit_reached("contact_rate", "veel@afzender.nl") is False  # the same hour
    monkeypatch.setattr(alarms, "current_hour", lambda: "2026-12-04T11")
    assert alarms.limit_reached("contact_rate", "veel@afzender.nl") is True
    assert [k.rsplit(":", 1)[1] for k in _sent_keys(alerts)] == ["2026-12-04T10", "2026-12-04T11"]


def test_the_read_apis_rate_limit_is_told_once_by_token_prefix_not_the_secret(alerts, settings):
    from portal.access.tokens import create_token

    settings.API_RATE = "3/minute"
    made = create_token(make_account(OWNER), name="export", days=7)
    codes = [
        ServedClient().get("/api/v1/periods/", HTTP_AUTHORIZATION=f"Bearer {made.secret}").status_code for _ in range(6)
    ]
    assert codes == [200, 200, 200, 429, 429, 429]
    (message,) = mails(alerts)
    assert message["Subject"] == (
        f"[Spiegel] portal: read API rate limit reached (token spg_{made.token.prefix}… of {OWNER})"
    )
    secret_part = made.secret.split("_", 2)[2]
    assert secret_part not in message.as_string()
    assert "GET /api/v1/periods/" in message.get_content()


def test_the_contact_forms_limit_is_told_once(alerts, settings):
    from tests.portal.test_public_contact import message

    client = ServedClient()
    sender = "veel@afzender.nl"
    codes = [client.post("/contact/", message(email=sender, subject=f"vraag {n}")).status_code for n in range(12)]
    assert codes == [302] * 10 + [429, 429]
    (alert,) = mails(alerts)
    assert alert["Subject"] == f"[Spiegel] portal: contact form limit reached ({sender})"


def test_a_locked_second_factor_is_told_once(alerts, settings):
    from allauth.mfa.totp.internal.auth import TOTP

    from tests.release.test_four_eyes import new_totp_secret, totp_code

    user = make_account(OWNER)
    secret = new_totp_secret()
    TOTP.activate(user, secret)
    client = ServedClient()
    assert client.post("/accounts/login/", {"login": OWNER, "password": PASSWORD}).status_code == 302
    right = totp_code(secret)
    wrong = f"{(int(right) + 1) % 10**6:06d}"
    for _ in range(settings.MFA_FAILURE_LIMIT + 2):
        assert client.post("/accounts/2fa/authenticate/", {"code": wrong}).status_code == 200
    (alert,) = mails(alerts)
    assert alert["Subject"] == f"[Spiegel] portal: second factor locked after repeated wrong codes ({OWNER})"
    assert right not in alert.get_content() and wrong not in alert.get_content()


def test_an_alert_that_cannot_be_sent_leaves_the_refusal_as_it_is(alerts, settings, monkeypatch, caplog):
    from orchestration.runs.alerts import sending

    def broken(*args, **kwargs):
        raise OSError("no space left on device")

    monkeypatch.setattr(sending, "dispatch", broken)
    make_account(OWNER)
    caplog.set_level(logging.WARNING, logger="spiegel.portal.alarms")
    codes = _fail_logins(settings.AXES_FAILURE_LIMIT + 1)
    assert codes[-1] == 429  # locked out all the same
    assert mails(alerts) == [] and _sent_keys(alerts) == []
    assert "the alert could not be made or sent" in caplog.text and "no space left on device" in caplog.text


def test_at_most_so_many_alerts_an_hour_whatever_the_callers(alerts, monkeypatch, caplog):
    """Sending waits in the request; an attack on many accounts must not hold every worker."""
    from portal.access import alarms

    monkeypatch.setattr(alarms, "MAX_ALERTS_PER_HOUR", 2)
    caplog.set_level(logging.WARNING, logger="spiegel.portal.alarms")
    told = [alarms.limit_reached("lockout", f"account{n}@praktijk.nl") for n in range(4)]
    assert told == [True, True, False, False] and len(mails(alerts)) == 2
    assert "account2@praktijk.nl: not sent, 2 alerts this hour already" in caplog.text
    monkeypatch.setattr(alarms, "current_hour", lambda: "2026-12-04T11")  # a new hour, a new count
    assert alarms.limit_reached("lockout", "account9@praktijk.nl") is True
