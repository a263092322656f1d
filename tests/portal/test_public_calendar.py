"""The release calendar (/kalender/, portal.md "Release calendar and notices").

Hand-made releases, status files, landing period folders and cancelled-period
configuration: the calendar reads nothing else. The browser test on the real pipeline is
tests/portal/test_public_pipeline.py.
"""

from __future__ import annotations

import json
import re
from datetime import date, timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured
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
    found = {}
    for period, state, body in ROW.findall(html):
        body = re.sub(r"</?time\b[^>]*>", "", body)  # inline: no space where a date starts or ends
        found[period] = (state, " ".join(re.sub(r"<[^>]+>", " ", body).split()))
    return found


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
    # v2 is planned on 15 January of the next year: long past, no release, and judged
    assert state == "uitgesteld"
    assert "15 januari 2023" in text
    assert cal.DEFAULT_POSTPONED_TEXT in text
    assert "na de geplande datum" not in found["2022-v1"][1]  # 27 days after 15 October: no remark
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


def deliveries(data_dir, *periods: str) -> None:
    """landing/<period>/<insurer>/ folders, as the landing zone keeps them (the calendar reads
    the period folders' names only)."""
    for period in periods:
        (data_dir / "landing" / period / "cz").mkdir(parents=True)


def publish(data_dir, period: str, on: str, revision: str = "r1") -> None:
    make_release(
        data_dir / "releases",
        period,
        revision,
        [index_row(period, "fysiotherapie", "12345678")],
        published_at=f"{on}T10:00:00+00:00",
        reports=False,
    )


def by_period(entries) -> dict[str, cal.CalendarEntry]:
    return {e.period: e for e in entries}


def test_the_default_schedule_is_the_national_bodys():
    periods = cal.seed_periods()
    schedule = {v: cal.conf.planned_month_day(v) for v in (1, 2, 3)}
    assert cal.default_planned_date(periods["2024-v1"], schedule) == date(2024, 10, 15)
    assert cal.default_planned_date(periods["2024-v2"], schedule) == date(2025, 1, 15)
    assert cal.default_planned_date(periods["2024-v3"], schedule) == date(2025, 4, 15)
    assert cal.planned_date("2024-v2") == date(2025, 1, 15)
    assert cal.planned_date("2024-v2", {"2024-v2": date(2025, 3, 1)}) == date(2025, 3, 1)  # the operators' date


def test_the_schedule_is_configuration(settings, data_dir):
    settings.SPIEGEL_PORTAL_PLANNED_V1 = "11-01"
    settings.SPIEGEL_PORTAL_PLANNED_V3 = "03-31"
    entries = by_period(cal.calendar(today=date(2026, 10, 20)))
    assert entries["2026-v1"].planned == date(2026, 11, 1) and entries["2026-v1"].state == "voorbereiding"
    assert cal.planned_date("2025-v3") == date(2026, 3, 31)
    assert cal.planned_date("2025-v2") == date(2026, 1, 15)  # unchanged
    assert "versie 1 op 1 november van hetzelfde jaar" in cal.default_schedule_text()
    for wrong in ("15-10", "02-29", "1015", ""):
        settings.SPIEGEL_PORTAL_PLANNED_V1 = wrong
        with pytest.raises(ImproperlyConfigured):
            cal.conf.planned_month_day(1)


def test_without_data_only_the_next_period_is_shown(data_dir):
    entries = cal.calendar(today=date(2026, 12, 2))
    assert [(e.period, e.state) for e in entries] == [("2026-v2", "voorbereiding")]
    assert entries[0].planned == date(2027, 1, 15)
    # on the planned date itself a period is still in preparation
    assert [e.period for e in cal.calendar(today=date(2026, 10, 15))] == ["2026-v1"]


def test_data_of_2023_and_2024_today_in_2026_blames_no_insurer_for_2025_or_2026(client, data_dir, monkeypatch):
    deliveries(data_dir, "2023-v1", "2023-v2", "2023-v3", "2024-v1", "2024-v2", "2024-v3")
    for period in ("2023-v1", "2023-v2", "2023-v3", "2024-v1", "2024-v2", "2024-v3"):
        write_period_status(SpiegelPaths(data_dir), period, gates_passed=True, blocking_reasons=0)
        publish(data_dir, period, cal.planned_date(period).isoformat())
    today = date(2026, 12, 2)

    entries = cal.calendar(today=today)
    assert [e.period for e in entries] == [
        "2026-v2",
        "2026-v1",
        "2025-v3",
        "2025-v2",
        "2025-v1",
        "2024-v3",
        "2024-v2",
        "2024-v1",
        "2023-v3",
        "2023-v2",
        "2023-v1",
    ]  # nothing before the first delivery; up to the next period ahead
    found = by_period(entries)
    assert found["2026-v2"].state == "voorbereiding"
    for period in ("2025-v1", "2025-v2", "2025-v3", "2026-v1"):
        entry = found[period]
        assert entry.state == "uitgesteld" and entry.postponement == cal.LATE_NOT_DELIVERED, period
        assert entry.notice == cal.NOT_DELIVERED_TEXT
    assert all(found[p].state == "gepubliceerd" and not found[p].late_by for p in found if p < "2025")

    # the page as it is that day: no 2025 or 2026 row carries the insurer text
    monkeypatch.setattr(cal.timezone, "localdate", lambda *args: today)
    shown = rows(calendar_page(client))
    assert set(shown) == set(found)
    for period, (state, text) in shown.items():
        assert "zorgverzekeraars konden nog niet worden gegarandeerd" not in text, period
        if period.startswith(("2025", "2026-v1")):
            assert state == "uitgesteld" and "De gegevens voor deze versie zijn nog niet aangeleverd." in text


def test_deliveries_without_a_verdict_past_the_planned_date_are_postponed_for_an_insurer(data_dir):
    deliveries(data_dir, "2024-v1", "2024-v2", "2024-v3")
    publish(data_dir, "2024-v1", "2024-10-15")
    publish(data_dir, "2024-v2", "2025-01-14")
    found = by_period(cal.calendar(today=date(2025, 6, 1)))
    assert found["2024-v3"].state == "uitgesteld"
    assert found["2024-v3"].postponement == cal.LATE_INSURER_DATA
    assert found["2024-v3"].notice == cal.DEFAULT_POSTPONED_TEXT
    assert found["2025-v1"].state == "voorbereiding"  # the next one ahead (15 October 2025)
    assert set(found) == {"2024-v1", "2024-v2", "2024-v3", "2025-v1"}


def test_a_configured_first_period_starts_the_calendar(settings, data_dir):
    settings.SPIEGEL_CALENDAR_FIRST_PERIOD = "2025-v2"
    found = by_period(cal.calendar(today=date(2026, 2, 1)))
    assert list(found) == ["2025-v3", "2025-v2"]  # 2025-v3 (15 April 2026) is the next one ahead
    assert found["2025-v2"].state == "uitgesteld" and found["2025-v2"].notice == cal.NOT_DELIVERED_TEXT
    # an earlier delivery moves the start back; the setting never hides data
    deliveries(data_dir, "2025-v1")
    assert sorted(by_period(cal.calendar(today=date(2026, 2, 1)))) == ["2025-v1", "2025-v2", "2025-v3"]
    settings.SPIEGEL_CALENDAR_FIRST_PERIOD = "2025-v4"
    with pytest.raises(ImproperlyConfigured):
        cal.calendar(today=date(2026, 2, 1))


def test_periods_before_the_first_delivery_are_not_shown(data_dir):
    deliveries(data_dir, "2023-v2")
    shown = [e.period for e in cal.calendar(today=date(2024, 2, 1))]
    assert shown == ["2023-v3", "2023-v2"]  # 2023-v1 (planned 15 October 2023) is before the data


def test_a_cancelled_period_is_vervallen_with_its_reason(client, data_dir):
    config = data_dir / "method_config"
    config.mkdir()
    (config / "exclusion_windows.csv").write_text("first_date,last_date,reason\n", encoding="utf-8")
    (config / "cancelled_periods.csv").write_text(
        "period,reason,decided_on\n"
        "2020-v1,De eerste golf van COVID-19 maakte de gegevens over deze maanden onbetrouwbaar.,2020-09-01\n",
        encoding="utf-8",
    )
    deliveries(data_dir, "2020-v1", "2020-v2")  # its deliveries are still accepted and checked
    write_period_status(SpiegelPaths(data_dir), "2020-v1", gates_passed=True, blocking_reasons=0)
    entry = by_period(cal.calendar(today=date(2021, 2, 1)))["2020-v1"]
    assert entry.state == "vervallen" and entry.state_label == "Vervallen"
    assert entry.cancelled_reason.startswith("De eerste golf van COVID-19")
    assert entry.cancelled_on == date(2020, 9, 1)
    assert entry.notice == "" and entry.postponement == ""

    state, text = rows(calendar_page(client))["2020-v1"]
    assert state == "vervallen"
    assert "Vervallen" in text and "Uitgesteld" not in text
    assert "Deze versie verschijnt niet: De eerste golf van COVID-19 maakte de gegevens" in text
    assert "(besloten op 1 september 2020)" in text
    assert cal.DEFAULT_POSTPONED_TEXT not in text
    assert rows(calendar_page(client))["2020-v2"][0] == "uitgesteld"  # the next version is only late


def test_an_unreadable_cancellation_file_leaves_the_page_up(client, data_dir):
    config = data_dir / "method_config"
    config.mkdir()
    (config / "cancelled_periods.csv").write_text("periode;reden\n", encoding="utf-8")
    deliveries(data_dir, "2020-v1")
    assert rows(calendar_page(client))["2020-v1"][0] == "uitgesteld"


def test_a_publication_long_after_its_planned_date_says_so(client, data_dir):
    publish(data_dir, "2023-v2", "2025-03-03")  # planned 15 January 2024
    publish(data_dir, "2023-v3", "2024-05-20")  # planned 15 April 2024: 35 days
    publish(data_dir, "2023-v1", "2023-11-14")  # planned 15 October 2023: 30 days, no remark
    found = by_period(cal.calendar(today=date(2026, 12, 2)))
    assert found["2023-v2"].late_by == "13 maanden" and found["2023-v2"].days_late == 413
    assert found["2023-v3"].late_by == "1 maand"
    assert found["2023-v1"].late_by == "" and found["2023-v1"].days_late == 30
    shown = rows(calendar_page(client))
    assert (
        "Gepubliceerd op 3 maart 2025 (revisie r1), 13 maanden na de geplande datum (15 januari 2024)."
        in shown["2023-v2"][1]
    )
    assert (
        "Gepubliceerd op 20 mei 2024 (revisie r1), 1 maand na de geplande datum (15 april 2024)." in shown["2023-v3"][1]
    )
    assert "Gepubliceerd op 14 november 2023 (revisie r1)." in shown["2023-v1"][1]
    assert "na de geplande datum" not in shown["2023-v1"][1]


def test_late_words():
    assert cal.late_words(date(2024, 1, 15), date(2024, 2, 14)) == ""
    assert cal.late_words(date(2024, 1, 15), date(2024, 2, 16)) == "1 maand"
    assert cal.late_words(date(2024, 1, 31), date(2024, 3, 2)) == "1 maand"  # 31 days
    assert cal.late_words(date(2023, 11, 15), date(2025, 3, 3)) == "15 maanden"
    assert cal.late_words(date(2024, 1, 15), date(2023, 12, 1)) == ""  # early


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
    html = html.replace(" ,", ",")  # a tag replaced by a space before a comma
    # one period label everywhere (reports.labels.period_label)
    assert "2022 versie 2 (januari–september) is uitgesteld." in html and cal.DEFAULT_POSTPONED_TEXT in html
    assert "Nieuwste versie: 2022 versie 1 (januari–juni), gepubliceerd op 11 november 2022" in html
    upcoming = next(e for e in reversed(cal.calendar()) if e.state == "voorbereiding")
    assert f"Volgende versie: {upcoming.label}, gepland" in html


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
