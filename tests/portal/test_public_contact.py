"""The contact form (/contact/, portal.md "Contact"): stored, mailed to the
address of its topic or insurer, rate-limited per sender address, CSRF-protected."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core import mail

from portal.public.models import ContactMessage
from tests.support.served_client import ServedClient

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def plain_static_files(settings):
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


def message(**overrides) -> dict:
    data = {
        "topic": "toegang",
        "insurer": "",
        "name": "Fenna Fysio",
        "email": "fenna@praktijk.nl",
        "practice_agb": "",
        "subject": "Toegang kwijt",
        "message": "Ik kan niet meer inloggen.",
    }
    return {**data, **overrides}


def test_a_message_on_each_topic_is_stored_and_mailed_to_its_address(client, settings):
    settings.SPIEGEL_PORTAL_CONTACT_METHOD = "rekenmethodiek@spiegel.example"
    settings.SPIEGEL_PORTAL_CONTACT_POLICY_VGZ = "spiegel@vgz.example"
    cases = [
        (message(topic="toegang"), "toegang@spiegel.localhost", ""),  # default address
        (message(topic="methode", subject="Variantie"), "rekenmethodiek@spiegel.example", ""),
        (message(topic="beleid", insurer="vgz", subject="Contractering"), "spiegel@vgz.example", "vgz"),
        (
            message(topic="beleid", insurer="zilveren_kruis", subject="Inkoop"),
            "beleid-zilveren-kruis@spiegel.localhost",
            "zilveren_kruis",
        ),
    ]
    for n, (data, address, insurer) in enumerate(cases, 1):
        response = client.post("/contact/", data)
        assert response.status_code == 302 and response["Location"] == "/contact/verzonden/"
        stored = ContactMessage.objects.order_by("-id").first()
        assert ContactMessage.objects.count() == n
        assert (stored.topic, stored.insurer, stored.subject, stored.email) == (
            data["topic"],
            insurer,
            data["subject"],
            "fenna@praktijk.nl",
        )
        assert stored.mailed_to == address and stored.mailed_at is not None and stored.mail_error == ""
        sent = mail.outbox[-1]
        assert len(mail.outbox) == n
        assert sent.to == [address] and sent.reply_to == ["fenna@praktijk.nl"]
        assert data["subject"] in sent.subject and data["message"] in sent.body
    assert "VGZ" in mail.outbox[2].subject and "Zilveren Kruis" in mail.outbox[3].subject
    assert client.get("/contact/verzonden/").status_code == 200


def test_policy_and_content_needs_the_insurer(client):
    response = client.post("/contact/", message(topic="beleid", insurer=""))
    assert response.status_code == 400
    assert "Kies de zorgverzekeraar" in response.content.decode()
    assert ContactMessage.objects.count() == 0 and mail.outbox == []
    # an insurer that is not in the seed is not a choice
    assert client.post("/contact/", message(topic="beleid", insurer="acme")).status_code == 400
    # the insurer is dropped for the other topics
    assert client.post("/contact/", message(topic="methode", insurer="vgz")).status_code == 302
    assert ContactMessage.objects.get().insurer == ""


def test_the_eleventh_message_from_one_address_within_the_window_is_refused(client):
    for n in range(10):
        sender = "Fenna@Praktijk.nl" if n % 2 else "fenna@praktijk.nl"  # one address, any case
        assert client.post("/contact/", message(email=sender, subject=f"vraag {n}")).status_code == 302
    refused = client.post("/contact/", message(subject="vraag 11"))
    assert refused.status_code == 429
    html = refused.content.decode()
    assert "Uw bericht is niet verstuurd" in html and "al 10 berichten" in html
    assert 0 < int(refused["Retry-After"]) <= 3600
    assert ContactMessage.objects.count() == 10 and len(mail.outbox) == 10
    assert not ContactMessage.objects.filter(subject="vraag 11").exists()
    # another address is not affected
    assert client.post("/contact/", message(email="ander@praktijk.nl")).status_code == 302
    # once the oldest message leaves the window, one more is accepted
    oldest = ContactMessage.objects.filter(email__iexact="fenna@praktijk.nl").order_by("created_at").first()
    oldest.created_at -= timedelta(minutes=61)
    oldest.save()
    assert client.post("/contact/", message(subject="vraag 12")).status_code == 302
    assert client.post("/contact/", message(subject="vraag 13")).status_code == 429


def test_the_form_needs_its_csrf_token():
    strict = ServedClient(enforce_csrf_checks=True)
    assert strict.post("/contact/", message()).status_code == 403
    page = strict.get("/contact/")
    assert 'name="csrfmiddlewaretoken"' in page.content.decode()
    token = page.cookies["csrftoken"].value
    assert strict.post("/contact/", {**message(), "csrfmiddlewaretoken": token}).status_code == 302
    assert ContactMessage.objects.count() == 1


def test_every_field_has_a_label(client):
    html = client.get("/contact/").content.decode()
    for field in ("insurer", "name", "email", "practice_agb", "subject", "message"):
        assert f'<label for="id_{field}">' in html, field
        assert f'id="id_{field}"' in html, field
    for n in range(3):
        assert f'<label for="id_topic_{n}" class="inline">' in html
    assert "<legend>" in html


def test_a_logged_in_senders_practice_is_filled_in(client, settings):
    from portal.access.models import PracticeAccess

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    user = get_user_model().objects.create_user("therapeut", "therapeut@praktijk.nl", "geheim-wachtwoord-1")
    PracticeAccess.objects.create(user=user, agb="12345678", status=PracticeAccess.APPROVED)
    PracticeAccess.objects.create(user=user, agb="87654321", status=PracticeAccess.PENDING)  # not granted
    client.force_login(user)
    form = client.get("/contact/").content.decode()
    assert 'value="12345678"' in form and "87654321" not in form
    assert 'value="therapeut@praktijk.nl"' in form
    assert client.post("/contact/", message(email="therapeut@praktijk.nl")).status_code == 302
    stored = ContactMessage.objects.get()
    assert stored.practice_agb == "12345678" and stored.user == user
    assert "12345678" in mail.outbox[0].body
    # a practice the account has no access to is not recorded as theirs
    client.post("/contact/", message(email="therapeut@praktijk.nl", practice_agb="87654321"))
    assert ContactMessage.objects.order_by("-id").first().practice_agb == "12345678"


def test_operators_read_messages_in_the_admin(client, admin_client):
    client.post("/contact/", message(topic="beleid", insurer="cz", subject="Vraag over CZ-beleid"))
    listing = admin_client.get("/admin/public/contactmessage/")
    assert listing.status_code == 200 and "Vraag over CZ-beleid" in listing.content.decode()
    stored = ContactMessage.objects.get()
    detail = admin_client.get(f"/admin/public/contactmessage/{stored.pk}/change/")
    assert detail.status_code == 200 and "Ik kan niet meer inloggen." in detail.content.decode()
    assert admin_client.get("/admin/public/contactmessage/add/").status_code == 403
