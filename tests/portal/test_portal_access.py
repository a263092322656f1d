"""The practice pages, downloads and the managers' decisions (portal.md)."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.core import mail

from tests.support.portal_world import PASSWORD, SHOWN, A, B, World, audit, build_releases, client_for, make_account
from tests.support.release_factory import index_row, make_release, pdf_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fast_hashes(settings):
    # PBKDF2's 1,000,000 rounds make every account cost ~0.5 s; the hasher itself is
    # checked in test_passwords_are_stored_as_slow_hashes
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def world(releases_root) -> World:
    from portal.access.actions import appoint_manager, grant

    build_releases(releases_root)
    manager_a, manager_b, user_a = (make_account(e) for e in ("beheer@a.nl", "beheer@b.nl", "gebruiker@a.nl"))
    appoint_manager(manager_a, A, actor="operator (test)")
    appoint_manager(manager_b, B, actor="operator (test)")
    grant(user_a, A, actor="operator (test)")
    mail.outbox.clear()
    return World(releases_root, manager_a, manager_b, user_a)


def test_practice_page_shows_the_newest_revision_of_the_six_most_recent_periods(world):
    page = client_for(world.user_a).get(f"/praktijk/{A}/")
    assert page.status_code == 200
    html = page.content.decode()
    shown = re.findall(r'<tr data-period="([0-9]{4}-v[1-3])">', html)
    # fysiotherapie and oefentherapie, each with the 6 shown periods, newest first
    assert shown == SHOWN + SHOWN
    assert "2023-v1" not in html  # the 7th period is not offered
    assert f"/praktijk/{A}/2024-v1/fysiotherapie.pdf" in html
    assert ">r2<" in html and ">r1</td>" in html  # 2024-v1 shows r2; the other periods r1
    assert html.count("<td>r2</td>") == 2  # one per discipline
    # index and interval of 2025-v1 (index_row(index=96.0): 96.0, 88.387…, 103.612…) in whole
    # points as the reports say them, and the corrected index insurers contract on
    assert "<td data-index>96 (88–104)</td>" in html and "<td data-corrected>88</td>" in html
    assert "88.387" not in html and "103.61" not in html and "96.0" not in html  # no raw floats
    assert "2025 versie 1 (januari–juni)" in html  # the period as the reports name it
    # oefentherapie 2024-v2: 12 patients, an explanation instead of a report
    assert "12 patiënten" in html and f"/praktijk/{A}/2024-v2/oefentherapie.pdf" not in html
    # oefentherapie in periods without claims: the other explanation
    assert html.count("geen declaraties in deze discipline aangeleverd") == 3
    assert B not in html


def test_pdf_download_is_the_published_file_and_is_audited(world):
    client = client_for(world.user_a)
    response = client.get(f"/praktijk/{A}/2024-v1/fysiotherapie.pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    body = b"".join(response.streaming_content)
    published = (world.releases / "2024-v1" / "r2" / "reports" / "fysiotherapie" / f"{A}.pdf").read_bytes()
    assert body == published == pdf_bytes(A, "2024-v1", "r2", "fysiotherapie")
    assert "attachment" in response["Content-Disposition"]
    (event,) = audit("download")
    assert (event.agb, event.actor, event.subject, event.ip) == (
        A,
        "gebruiker@a.nl",
        "2024-v1/fysiotherapie.pdf",
        "127.0.0.1",
    )


def test_html_report_loads_its_assets_from_the_portal(world):
    client = client_for(world.user_a)
    response = client.get(f"/praktijk/{A}/2025-v1/oefentherapie.html")
    assert response.status_code == 200
    html = response.content.decode()
    urls = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert urls == [
        f"/praktijk/{A}/2025-v1/spiegel.css",
        f"/praktijk/{A}/2025-v1/plotly.min.js",
        f"/praktijk/{A}/2025-v1/oefentherapie/_funnel.js",
        f"/praktijk/{A}/2025-v1/spiegel.js",
    ]
    for url in urls:
        asset = client.get(url)
        assert asset.status_code == 200, url
        assert b"".join(asset.streaming_content)
    css = client.get(f"/praktijk/{A}/2025-v1/spiegel.css")
    assert css["Content-Type"].startswith("text/css") and css["Cache-Control"] == "private, max-age=3600"
    assert response["Cache-Control"] == "private, no-store"
    # someone without access to A gets none of it
    outsider = client_for(make_account("buiten@c.nl"))
    for url in [f"/praktijk/{A}/2025-v1/oefentherapie.html", *urls]:
        assert outsider.get(url).status_code == 404, url


def test_a_new_revision_is_visible_without_a_restart_and_replaces_the_old_one(world):
    client = client_for(world.user_a)
    assert b"".join(client.get(f"/praktijk/{A}/2025-v1/fysiotherapie.pdf").streaming_content) == pdf_bytes(
        A, "2025-v1", "r1", "fysiotherapie"
    )
    make_release(world.releases, "2025-v1", "r2", [index_row("2025-v1", "fysiotherapie", A, index=123.4)])
    html = client.get(f"/praktijk/{A}/").content.decode()
    assert "123 (116–131)" in html
    assert b"".join(client.get(f"/praktijk/{A}/2025-v1/fysiotherapie.pdf").streaming_content) == pdf_bytes(
        A, "2025-v1", "r2", "fysiotherapie"
    )
    # a new period pushes the oldest shown one out
    make_release(world.releases, "2025-v2", "r1", [index_row("2025-v2", "fysiotherapie", A)])
    html = client.get(f"/praktijk/{A}/").content.decode()
    assert 'data-period="2025-v2"' in html and 'data-period="2023-v2"' not in html
    assert client.get(f"/praktijk/{A}/2023-v2/fysiotherapie.pdf").status_code == 404


def test_request_approve_and_the_emails_of_each_decision(world):
    newcomer = make_account("nieuw@a.nl")
    client = client_for(newcomer)
    response = client.post("/praktijk/aanvragen/", {"agb": A}, follow=True)
    assert "is geregistreerd" in response.content.decode()
    assert client.get(f"/praktijk/{A}/").status_code == 404  # not before approval
    assert [m.to for m in mail.outbox] == [["beheer@a.nl"]]  # the managers hear of the request
    (request_event,) = audit("request")
    assert (request_event.agb, request_event.actor) == (A, "nieuw@a.nl")

    manager = client_for(world.manager_a)
    page = manager.get(f"/praktijk/{A}/toegang/").content.decode()
    assert 'data-email="nieuw@a.nl"' in page
    access_id = re.search(
        r'name="access" value="([0-9]+)">\s*<button type="submit" name="action" value="approve"', page
    )[1]
    mail.outbox.clear()
    assert manager.post(f"/praktijk/{A}/toegang/", {"action": "approve", "access": access_id}).status_code == 302
    assert client.get(f"/praktijk/{A}/").status_code == 200
    assert sorted(mail.outbox[0].to) == ["beheer@a.nl", "nieuw@a.nl"]
    assert "toegekend" in mail.outbox[0].subject
    (grant_event,) = audit("grant", actor="beheer@a.nl")
    assert (grant_event.agb, grant_event.subject) == (A, "nieuw@a.nl")

    mail.outbox.clear()
    manager.post(f"/praktijk/{A}/toegang/", {"action": "revoke", "access": access_id})
    assert client.get(f"/praktijk/{A}/").status_code == 404
    assert sorted(mail.outbox[0].to) == ["beheer@a.nl", "nieuw@a.nl"] and "ingetrokken" in mail.outbox[0].subject

    # asked again, and refused this time
    client.post("/praktijk/aanvragen/", {"agb": A})
    mail.outbox.clear()
    manager.post(f"/praktijk/{A}/toegang/", {"action": "refuse", "access": access_id})
    assert client.get(f"/praktijk/{A}/").status_code == 404
    assert sorted(mail.outbox[0].to) == ["beheer@a.nl", "nieuw@a.nl"] and "geweigerd" in mail.outbox[0].subject
    actions = [e.action for e in audit(agb=A) if e.action in ("request", "grant", "revocation", "refusal")]
    assert actions[-5:] == ["request", "grant", "revocation", "request", "refusal"]


def test_managers_appoint_and_remove_managers_and_a_practice_keeps_one(world):
    manager = client_for(world.manager_a)
    # the only manager cannot remove themselves
    from portal.access.models import PracticeManager

    only = PracticeManager.objects.get(agb=A)
    response = manager.post(f"/praktijk/{A}/toegang/", {"action": "remove", "manager": only.pk}, follow=True)
    assert "ten minste één" in response.content.decode()
    assert PracticeManager.objects.filter(agb=A).count() == 1
    # appoint the user of A, who then may remove the first manager
    mail.outbox.clear()
    manager.post(f"/praktijk/{A}/toegang/", {"action": "appoint", "email": "gebruiker@a.nl"})
    assert set(PracticeManager.objects.filter(agb=A).values_list("user__email", flat=True)) == {
        "beheer@a.nl",
        "gebruiker@a.nl",
    }
    assert sorted(mail.outbox[0].to) == ["beheer@a.nl", "gebruiker@a.nl"]
    second = client_for(world.user_a)
    assert second.get(f"/praktijk/{A}/toegang/").status_code == 200
    second.post(f"/praktijk/{A}/toegang/", {"action": "remove", "manager": only.pk})
    assert list(PracticeManager.objects.filter(agb=A).values_list("user__email", flat=True)) == ["gebruiker@a.nl"]
    assert manager.get(f"/praktijk/{A}/toegang/").status_code == 404
    assert [(e.action, e.actor, e.subject) for e in audit(agb=A) if e.action.startswith("manager")][-2:] == [
        ("manager_appointed", "beheer@a.nl", "gebruiker@a.nl"),
        ("manager_removed", "gebruiker@a.nl", "beheer@a.nl"),
    ]


def test_an_unknown_practice_gets_the_same_answer_as_a_known_one(world):
    client = client_for(make_account("vraag@x.nl"))
    known = client.post("/praktijk/aanvragen/", {"agb": B}, follow=True).content.decode()
    unknown = client.post("/praktijk/aanvragen/", {"agb": "99999999"}, follow=True).content.decode()
    message = re.compile(r"Uw aanvraag voor praktijk [0-9]{8} is geregistreerd[^<]*")
    assert message.search(known)[0].replace(B, "X") == message.search(unknown)[0].replace("99999999", "X")
    assert sorted(e.agb for e in audit("request")) == [B, "99999999"]
    bad = client.post("/praktijk/aanvragen/", {"agb": "1234"}, follow=True).content.decode()
    assert "8 cijfers" in bad and len(audit("request")) == 2


def test_a_practice_without_an_index_gets_an_explanation(world, releases_root):
    from portal.access.actions import grant

    make_release(releases_root, "2025-v2", "r1", [index_row("2025-v2", "oefentherapie", "44444444", patients=7)])
    grant(world.user_a, "44444444", actor="operator (test)")
    html = client_for(world.user_a).get("/praktijk/44444444/").content.decode()
    assert "7 patiënten" in html and "minder dan de 30" in html and ".pdf" not in html


def test_passwords_are_stored_as_slow_hashes():
    from django.conf import settings as django_settings
    from django.contrib.auth.hashers import PBKDF2PasswordHasher

    # the settings module itself (the fixture above only speeds up the other tests)
    import portal.settings as portal_settings

    assert portal_settings.PASSWORD_HASHERS[0].endswith("PBKDF2PasswordHasher")
    assert PBKDF2PasswordHasher.iterations >= 600_000
    assert django_settings.SESSION_COOKIE_AGE <= 12 * 3600 and django_settings.SESSION_COOKIE_HTTPONLY


def test_audit_log_is_append_only(world):
    from portal.access.models import AuditEvent

    event = audit()[0]
    event.detail = "changed"
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        event.delete()
    with pytest.raises(PermissionError):
        AuditEvent.objects.filter(pk=event.pk).update(detail="changed")
    with pytest.raises(PermissionError):
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.get(pk=event.pk).detail == ""


def test_admin_reads_the_audit_log_but_cannot_change_it(world):
    from django.contrib.auth import get_user_model

    from portal.access.models import AuditEvent

    admin = get_user_model().objects.create_superuser("ops", "ops@spiegel.nl", PASSWORD)
    client = client_for(admin)
    listing = client.get("/admin/access/auditevent/")
    assert listing.status_code == 200 and "beheer@a.nl" in listing.content.decode()
    event = AuditEvent.objects.first()
    assert client.get(f"/admin/access/auditevent/{event.pk}/delete/").status_code == 403
    before = AuditEvent.objects.count()
    client.post(f"/admin/access/auditevent/{event.pk}/change/", {"detail": "x"})
    assert AuditEvent.objects.count() == before and AuditEvent.objects.get(pk=event.pk).detail == event.detail


def test_a_blocked_account_loses_access(world):
    client = client_for(world.user_a)
    assert client.get(f"/praktijk/{A}/").status_code == 200
    world.user_a.is_active = False  # an operator blocks the account in the admin
    world.user_a.save(update_fields=["is_active"])
    response = client.get(f"/praktijk/{A}/2025-v1/fysiotherapie.pdf")
    assert response.status_code in (302, 404)
    assert client.get(f"/praktijk/{A}/").status_code in (302, 404)


def test_a_real_published_release_is_served(clean_release, settings):
    """One end-to-end check on a release the platform published (tests/conftest.py): the
    PDF byte for byte, and every asset the real report HTML refers to loads from the portal."""
    import csv

    from portal.access.actions import grant

    settings.RELEASES_DIR = clean_release["data"] / "releases"
    release = clean_release["release"]
    with open(release / "behandelindex.csv", newline="", encoding="utf-8") as handle:
        row = next(r for r in csv.DictReader(handle) if r["status"] == "ok")
    agb, discipline, period = row["practice_agb"], row["discipline"], row["period"]
    user = make_account("echt@praktijk.nl")
    grant(user, agb, actor="operator (test)")
    client = client_for(user)
    page = client.get(f"/praktijk/{agb}/").content.decode()
    points = {
        k: int(Decimal(row[k]).quantize(Decimal(1), ROUND_HALF_UP)) for k in ("behandelindex", "ci_lower", "ci_upper")
    }
    shown = f"{points['behandelindex']} ({points['ci_lower']}–{points['ci_upper']})"
    assert f"/praktijk/{agb}/{period}/{discipline}.pdf" in page and shown in page, shown
    assert row["behandelindex"] not in page  # whole points on the page; full precision in the CSV
    pdf = client.get(f"/praktijk/{agb}/{period}/{discipline}.pdf")
    assert b"".join(pdf.streaming_content) == (release / "reports" / discipline / f"{agb}.pdf").read_bytes()
    html = client.get(f"/praktijk/{agb}/{period}/{discipline}.html").content.decode()
    refs = re.findall(r'<(?:script|link)[^>]*(?:src|href)="([^"]+)"', html)
    assert len(refs) == 4 and all(ref.startswith(f"/praktijk/{agb}/{period}/") for ref in refs), refs
    for ref in refs:
        asset = client.get(ref)
        assert asset.status_code == 200, ref
        assert len(b"".join(asset.streaming_content)) > 10, ref


def test_password_reset_by_mail(world):
    from tests.support.served_client import ServedClient

    client = ServedClient()
    assert client.post("/accounts/password/reset/", {"email": "gebruiker@a.nl"}).status_code == 302
    (message,) = [m for m in mail.outbox if "gebruiker@a.nl" in m.to]
    link = re.search(r"http://testserver(/accounts/password/reset/key/[^\s]+/)", message.body)[1]
    form = client.get(link, follow=True)
    assert form.status_code == 200
    new = "Nieuw-wachtwoord-2025"
    done = client.post(
        form.redirect_chain[-1][0] if form.redirect_chain else link, {"password1": new, "password2": new}
    )
    assert done.status_code == 302
    fresh = ServedClient()
    assert fresh.post("/accounts/login/", {"login": "gebruiker@a.nl", "password": PASSWORD}).status_code == 200
    assert fresh.post("/accounts/login/", {"login": "gebruiker@a.nl", "password": new}).status_code == 302


def test_operators_appoint_the_first_manager_in_the_admin(world):
    from django.contrib.auth import get_user_model

    from portal.access.models import PracticeManager

    admin = get_user_model().objects.create_superuser("ops", "ops@spiegel.nl", PASSWORD)
    client = client_for(admin)
    holder = make_account("houder@c.nl")
    response = client.post("/admin/access/practicemanager/add/", {"agb": "33333333", "user": holder.pk})
    assert response.status_code == 302
    assert list(PracticeManager.objects.filter(agb="33333333").values_list("user__email", flat=True)) == ["houder@c.nl"]
    (event,) = audit("manager_appointed", agb="33333333")
    assert (event.actor, event.subject) == ("operator ops (admin)", "houder@c.nl")
    assert "houder@c.nl" in mail.outbox[-1].to
