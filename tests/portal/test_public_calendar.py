"""The release calendar (/kalender/, portal.md "Release calendar and notices").

Hand-made releases and status files: the calendar reads nothing else. The browser test on
the real pipeline is tests/portal/test_public_pipeline.py.
"""

from __future__ import annotations

import json
import re
from datetime import date, timedelta

import pytest
from django.utils import timezone

from orchestration.core.seeds import insurers
from orchestration.core.settings import SpiegelPaths
from orchestration.release.calendar_state import write_period_status
from portal.public import calendar as cal
from portal.public.models import NewsItem, PeriodNotice
from tests.support.release_factory import index_row, make_release

pytestmark = pytest.mark.django_db

ROW = re.compile(r'<tr id="periode-([0-9]{4}-v[1-3])" data-period="[^"]+" data-state="([a-z]+)">(.*?)</tr>', re.S)


@pytest.fixture(autouse=True)
def plain_static_files(settings):
    # no collectstatic in tests: the manifest storage would refuse {% static %}
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture
def data_dir(settings, tmp_path):
    """A data directory of this test's own: releases/, releases/_status/ and archive/."""
    root = tmp_path / "data"
    (root / "releases").mkdir(parents=True)
    settings.DATA_DIR = root
    settings.RELEASES_DIR = root / "releases"
    return root


def rows(html: str) -> dict[str, tuple[str, str]]:
    """period -> (state, the row's text without tags)."""
    return {p: (state, " ".join(re.sub(r"<[^>]+>", " ", body).split())) for p, state, body in ROW.findall(html)}


def insurer_words() -> list[str]:
    words = set()
    for i in insurers():
        words |= {i.insurer_id, i.insurer_name, i.insurer_id.replace("_", " ")}
    return sorted(words)


def calendar_page(client) -> str:
    response = client.get("/kalender/")
    assert response.status_code == 200
    return response.content.decode()


def test_published_period_with_a_correction_and_a_postponed_one_without_the_insurers_name(client, data_dir):
    releases = data_dir / "releases"
    make_release(
        releases,
        "2022-v1",
        "r1",
        [index_row("2022-v1", "fysiotherapie", "12345678")],
        published_at="2022-11-11T09:00:00+00:00",
        reports=False,
    )
    make_release(
        releases,
        "2022-v1",
        "r2",
        [index_row("2022-v1", "fysiotherapie", "12345678")],
        published_at="2022-12-02T15:30:00+00:00",
        reports=False,
    )
    write_period_status(SpiegelPaths(data_dir), "2022-v2", gates_passed=False, blocking_reasons=3)

    html = calendar_page(client)
    found = rows(html)
    state, text = found["2022-v1"]
    assert state == "gepubliceerd"
    assert "Gepubliceerd op 11 november 2022 (revisie r1)" in text
    assert "Correctie: revisie r2 op 2 december 2022" in text
    state, text = found["2022-v2"]
    # cutoff 2022-12-31 + 6 weeks = 2023-02-11, long past, no release
    assert state == "uitgesteld"
    assert "11 februari 2023" in text
    assert cal.DEFAULT_POSTPONED_TEXT in text
    page_text = re.sub(r"<[^>]+>", " ", html)
    for word in insurer_words():
        assert not re.search(rf"\b{re.escape(word)}\b", page_text, re.I), word


def test_operators_text_replaces_the_default_and_their_date_moves_the_state(client, data_dir):
    write_period_status(SpiegelPaths(data_dir), "2022-v2", gates_passed=False, blocking_reasons=1)
    write_period_status(SpiegelPaths(data_dir), "2022-v3", gates_passed=False, blocking_reasons=1)
    PeriodNotice.objects.create(period="2022-v2", postponement_text="Verwacht in mei; zie het nieuws.")
    later = timezone.localdate() + timedelta(days=30)
    PeriodNotice.objects.create(period="2022-v3", planned_date=later)

    found = rows(calendar_page(client))
    assert found["2022-v2"][0] == "uitgesteld"
    assert "Verwacht in mei; zie het nieuws." in found["2022-v2"][1]
    assert cal.DEFAULT_POSTPONED_TEXT not in found["2022-v2"][1]
    assert found["2022-v3"][0] == "voorbereiding"
    assert cal.DEFAULT_POSTPONED_TEXT not in found["2022-v3"][1]


def test_a_late_period_whose_data_is_complete_says_so_instead_of_blaming_an_insurer(client, data_dir):
    write_period_status(SpiegelPaths(data_dir), "2022-v2", gates_passed=True, blocking_reasons=0)
    state, text = rows(calendar_page(client))["2022-v2"]
    assert state == "uitgesteld"
    assert cal.READY_POSTPONED_TEXT in text and cal.DEFAULT_POSTPONED_TEXT not in text


def test_every_period_of_the_last_two_years_and_the_next_one(data_dir):
    entries = cal.calendar(today=date(2026, 11, 30))
    # planned = cutoff + 42 days: 2024-v2 (2025-02-11) is the oldest within two years,
    # 2026-v2 (2027-02-11) the next one; 2026-v3 (2027-05-12) is not shown yet
    assert [e.period for e in entries] == ["2026-v2", "2026-v1", "2025-v3", "2025-v2", "2025-v1", "2024-v3", "2024-v2"]
    assert entries[0].state == "voorbereiding" and entries[0].planned == date(2027, 2, 11)
    assert all(e.state == "uitgesteld" for e in entries[1:])  # nothing published here
    assert entries[1].planned == date(2026, 11, 11)
    # on the planned date itself a period is still in preparation
    on_the_day = {e.period: e.state for e in cal.calendar(today=date(2026, 11, 11))}
    assert on_the_day["2026-v1"] == "voorbereiding"


def test_the_offset_is_configuration(settings, data_dir):
    settings.SPIEGEL_PORTAL_PLANNED_WEEKS = 10
    entry = next(e for e in cal.calendar(today=date(2026, 11, 30)) if e.period == "2026-v1")
    assert entry.planned == date(2026, 9, 30) + timedelta(weeks=10)
    assert entry.state == "voorbereiding"


def test_an_archived_period_stays_published(data_dir):
    make_release(
        data_dir / "archive",
        "2024-v2",
        "r1",
        [index_row("2024-v2", "fysiotherapie", "12345678")],
        published_at="2025-02-10T10:00:00+00:00",
        reports=False,
    )
    entry = next(e for e in cal.calendar(today=date(2026, 11, 30)) if e.period == "2024-v2")
    assert entry.state == "gepubliceerd"
    assert entry.first.revision == "r1" and entry.first.published_on == date(2025, 2, 10)


def test_news_items_show_on_the_calendar_and_the_home_page_when_due(client, data_dir):
    NewsItem.objects.create(title="Versie 2 van 2022 later", body="De publicatie volgt in mei.")
    NewsItem.objects.create(title="Nog niet zichtbaar", body="x", published_at=timezone.now() + timedelta(days=2))
    NewsItem.objects.create(title="Verborgen", body="x", visible=False)
    for url in ("/kalender/", "/"):
        html = client.get(url).content.decode()
        assert "Versie 2 van 2022 later" in html and "De publicatie volgt in mei." in html
        assert "Nog niet zichtbaar" not in html and "Verborgen" not in html


def test_operators_manage_notices_and_news_in_the_admin(admin_client, data_dir):
    response = admin_client.post(
        "/admin/public/periodnotice/add/",
        {"period": "2022-v2", "planned_date": "2023-05-15", "postponement_text": "Verwacht half mei."},
    )
    assert response.status_code == 302
    assert PeriodNotice.objects.get(period="2022-v2").planned_date == date(2023, 5, 15)
    for period in ("2022-v4", "1999-v1"):  # not a period; not in the periods seed
        bad = admin_client.post("/admin/public/periodnotice/add/", {"period": period, "postponement_text": ""})
        assert bad.status_code == 200 and not PeriodNotice.objects.filter(period=period).exists()
    assert admin_client.get("/admin/public/newsitem/add/").status_code == 200


def test_the_status_file_holds_the_verdict_only(tmp_path):
    paths = SpiegelPaths(tmp_path / "data")
    target = write_period_status(paths, "2022-v2", gates_passed=False, blocking_reasons=2)
    assert target == paths.releases / "_status" / "2022-v2.json"
    record = json.loads(target.read_text(encoding="utf-8"))
    assert set(record) == {"period", "verdict", "evaluated_at", "blocking_reasons"}
    assert record["period"] == "2022-v2" and record["verdict"] == "blocked" and record["blocking_reasons"] == 2
    write_period_status(paths, "2022-v2", gates_passed=True, blocking_reasons=0)
    assert json.loads(target.read_text(encoding="utf-8"))["verdict"] == "ready"
    assert [p.name for p in target.parent.iterdir()] == ["2022-v2.json"]  # no temp file left
    with pytest.raises(ValueError):
        write_period_status(paths, "../2022-v2", gates_passed=True, blocking_reasons=0)


def test_every_public_page_has_one_h1_and_works_without_scripts(client, data_dir):
    for url in ("/", "/kalender/", "/methode/", "/vragen/", "/contact/"):
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        assert html.count("<h1") == 1, url
        assert "<script" not in html, url
        assert '<html lang="nl">' in html


def test_the_home_page_names_the_next_version_and_any_postponement(client, data_dir):
    make_release(
        data_dir / "releases",
        "2022-v1",
        "r1",
        [index_row("2022-v1", "fysiotherapie", "12345678")],
        published_at="2022-11-11T09:00:00+00:00",
        reports=False,
    )
    write_period_status(SpiegelPaths(data_dir), "2022-v2", gates_passed=False, blocking_reasons=1)
    html = " ".join(re.sub(r"<[^>]+>", " ", client.get("/").content.decode()).split())
    assert "2022 versie 2 (2022-v2) is uitgesteld." in html and cal.DEFAULT_POSTPONED_TEXT in html
    assert "Nieuwste versie: 2022 versie 1 (2022-v1), gepubliceerd op 11 november 2022" in html
    upcoming = next(e for e in reversed(cal.calendar()) if e.state == "voorbereiding")
    assert f"Volgende versie: {upcoming.label} ({upcoming.period})" in html


def test_text_colours_meet_wcag_aa_on_white():
    from orchestration.core.settings import REPO_ROOT

    css = (REPO_ROOT / "portal" / "static" / "portal" / "portal.css").read_text(encoding="utf-8")
    colours = dict(re.findall(r"--([a-z]+):\s*(#[0-9a-fA-F]{6})", css))

    def luminance(hex_colour: str) -> float:
        channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    for name in ("ink", "muted", "accent", "warn", "ok"):
        ratio = (1.05) / (luminance(colours[name]) + 0.05)
        assert ratio >= 4.5, (name, colours[name], round(ratio, 2))
    # the header's white text on the accent colour
    assert 1.05 / (luminance(colours["accent"]) + 0.05) >= 4.5
