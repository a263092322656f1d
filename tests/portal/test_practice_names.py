"""The portal names a practice by its release's practices.csv (docs/register-contract.md),
to whoever may see the practice and to nobody else: a user without access gets the usual
404 without the name, and an access request shows the AGB code only."""

from __future__ import annotations

import csv

import pytest
from django.core import mail

from tests.support.portal_world import A, B, C, build_releases, client_for, make_account

pytestmark = pytest.mark.django_db

NAME_A, PLACE_A = "Fysiotherapie De Linde", "Utrecht"
NAME_B = "Praktijk voor Fysiotherapie Jansen"


@pytest.fixture(autouse=True)
def fast_hashes(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def world(releases_root):
    from portal.access.actions import appoint_manager, grant

    build_releases(releases_root)
    # the register came with the newest release: A and B named, C (only in an old period) not
    with open(releases_root / "2025-v1" / "r1" / "practices.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerows([("practice_agb", "practice_name", "place"), (A, NAME_A, PLACE_A), (B, NAME_B, "Zwolle")])
    manager_a, user_a, outsider = (make_account(e) for e in ("beheer@a.nl", "gebruiker@a.nl", "buiten@x.nl"))
    appoint_manager(manager_a, A, actor="operator (test)")
    grant(user_a, A, actor="operator (test)")
    appoint_manager(make_account("beheer@c.nl"), C, actor="operator (test)")
    mail.outbox.clear()
    return {"manager_a": manager_a, "user_a": user_a, "outsider": outsider}


def test_a_user_with_access_sees_the_name_on_the_practice_page_and_the_list(world):
    client = client_for(world["user_a"])
    page = client.get(f"/praktijk/{A}/").content.decode()
    assert f"<span data-practice-name>{NAME_A}, {PLACE_A}</span> (AGB <span data-agb>{A}</span>)" in page
    assert NAME_B not in page
    listing = client.get("/praktijk/").content.decode()
    assert f"{NAME_A}, {PLACE_A}</span> (AGB {A})" in listing and NAME_B not in listing


def test_a_manager_sees_the_name_on_the_access_page(world):
    page = client_for(world["manager_a"]).get(f"/praktijk/{A}/toegang/").content.decode()
    assert f"{NAME_A}, {PLACE_A}" in page


def test_a_user_without_access_gets_404_without_the_name(world):
    outsider = client_for(world["outsider"])
    for url in (f"/praktijk/{A}/", f"/praktijk/{A}/toegang/", f"/praktijk/{B}/", f"/praktijk/{A}/2025-v1/x"):
        response = outsider.get(url)
        assert response.status_code == 404, url
        body = response.content.decode()
        assert NAME_A not in body and NAME_B not in body and PLACE_A not in body, url
    # nor does the user with access to A learn B's name
    response = client_for(world["user_a"]).get(f"/praktijk/{B}/")
    assert response.status_code == 404 and NAME_B not in response.content.decode()


def test_an_access_request_shows_the_agb_only_until_it_is_granted(world):
    from portal.access.actions import approve
    from portal.access.models import PracticeAccess

    outsider = client_for(world["outsider"])
    answer = outsider.post("/praktijk/aanvragen/", {"agb": A}, follow=True).content.decode()
    assert f"praktijk {A}" in answer and NAME_A not in answer and PLACE_A not in answer
    assert all(NAME_A not in m.body and NAME_A not in m.subject for m in mail.outbox)
    listing = outsider.get("/praktijk/").content.decode()
    assert f"<td>{A}</td>" in listing and NAME_A not in listing
    approve(PracticeAccess.objects.get(agb=A, user=world["outsider"]), actor="beheer@a.nl")
    assert f"{NAME_A}, {PLACE_A}" in outsider.get("/praktijk/").content.decode()


def test_a_practice_the_register_does_not_name_is_addressed_by_its_agb(world):
    from portal.access.models import PracticeManager

    manager_c = PracticeManager.objects.get(agb=C).user
    page = client_for(manager_c).get(f"/praktijk/{C}/").content.decode()
    assert f"Spiegelinformatie van praktijk met AGB-code <span data-agb>{C}</span>" in page
    assert f"Praktijk met AGB-code {C}" in client_for(manager_c).get("/praktijk/").content.decode()


def test_the_practice_page_says_why_the_index_moved_and_only_for_the_own_practice(world, releases_root):
    """method.md §10 on the practice page: the sentence of the report, from the release's
    index_movement.csv, for the practice shown and never another's."""
    with open(releases_root / "2025-v1" / "r1" / "index_movement.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(
            ["period", "discipline", "practice_agb", "from_period", "bi_from", "bi_to", "own_points"]
            + ["case_mix_points", "reference_points"]
        )
        writer.writerow(
            ["2025-v1", "fysiotherapie", A, "2024-v3", 71.42857142857143, 74.76635514018692]
            + [4.716782371154006, 0.0, -1.3789986595385133]
        )
        writer.writerow(["2025-v1", "fysiotherapie", B, "2024-v3", 110.0, 120.0, 12.0, -1.0, -1.0])
    page = client_for(world["user_a"]).get(f"/praktijk/{A}/").content.decode()
    assert (
        "Uw index steeg 4 punten sinds 2024 versie 3 (januari–december), van 71 naar 75: +5 door uw eigen "
        "aantal behandelingen per traject, 0 door uw patiëntenmix, −1 doordat het landelijk niveau steeg."
    ) in page
    assert page.count('class="movement"') == 1  # B's row is not A's, older periods have none
