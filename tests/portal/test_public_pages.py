"""The FAQ and the method page's text: the questions practices ask, answered."""

from __future__ import annotations

import re

import pytest

from portal.releases.catalog import PERIODS_SHOWN

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def plain_static_files(settings, releases_root):
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


def text_of(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_the_faq_answers_the_usual_questions(client):
    html = client.get("/vragen/").content.decode()
    questions = dict(re.findall(r'<h2 id="([a-z-]+)">([^<]+)</h2>', html))
    assert questions == {
        "wat": "Wat is spiegelinformatie?",
        "declaraties": "Welke declaraties tellen mee?",
        "versies": "Wat zijn de versies en waarin verschillen ze?",
        "correctie": "Wat is een correctie (een nieuwe revisie)?",
        "uitstel": "Waarom is een versie uitgesteld?",
        "geen-rapport": "Waarom heb ik geen rapport?",
        "toegang": "Hoe krijg ik toegang tot de rapporten van mijn praktijk?",
        "bewaren": "Hoe lang blijven versies beschikbaar?",
        "gebruik": "Wat doen zorgverzekeraars met de index?",
        "vraag": "Mijn vraag staat er niet bij",
    }
    # every question is linked from the list at the top
    for anchor in questions:
        assert f'href="#{anchor}"' in html
    text = text_of(html)
    assert f"de versies van de {PERIODS_SHOWN} meest recente perioden" in text
    assert "minder dan 30 patiënten" in text
    assert (
        "standaard versie 1 op 15 oktober van hetzelfde jaar, versie 2 op 15 januari van het volgende jaar "
        "en versie 3 op 15 april van het volgende jaar" in text
    )


def test_the_method_page_explains_what_the_method_counts(client):
    text = text_of(client.get("/methode/").content.decode())
    for phrase in (
        "betaalde",
        "Screening, intake en onderzoek, toeslagen",
        "creditering",
        "Behandeltrajecten",
        "leeftijdsgroep",
        "lichaamsregio",
        "chronisch",
        "verwachte behandelingen",
        "betrouwbaarheidsmarge",
        "gecorrigeerde behandelindex",
        "30 patiënten",
        "1,96",
    ):
        assert phrase in text, phrase


def test_the_portal_has_a_favicon(client):
    from django.contrib.staticfiles import finders

    answer = client.get("/favicon.ico")
    assert answer.status_code == 301 and answer["Location"].endswith("/portal/favicon.ico")
    icon = finders.find("portal/favicon.ico")
    with open(icon, "rb") as f:
        assert f.read(4) == b"\x00\x00\x01\x00"  # an ICO file
    assert 'rel="icon"' in client.get("/").content.decode()
