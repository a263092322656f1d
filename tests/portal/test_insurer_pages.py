"""The insurers' pages under /verzekeraar/ (portal.md, role "insurer user"): every practice's
index rows of the shown periods, filtered, sorted and paginated; the downloads (CSV equal to
the published file, XLSX and Parquet with the same values); the national overview; the
contact messages addressed to the insurer; and never a practice's report."""

from __future__ import annotations

import csv
import io
import math
import re
from datetime import UTC, datetime

import pandas as pd
import pytest

from tests.support.portal_world import PASSWORD, SHOWN, A, B, audit, build_releases, client_for, make_account
from tests.support.release_factory import index_row, make_release

pytestmark = pytest.mark.django_db

NEWEST = SHOWN[0]  # 2025-v1
OLDEST = "2023-v1"  # the 7th period: published, not shown
ROW_RE = re.compile(r'<tr data-agb="([0-9]{8})" data-discipline="(\w+)" data-status="(\w+)">')


@pytest.fixture(autouse=True)
def fast_hashes(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def world(releases_root):
    from portal.access.actions import appoint_insurer_user, appoint_manager

    build_releases(releases_root)
    insurer_user, other_insurer, manager = (make_account(e) for e in ("inkoop@cz.nl", "inkoop@vgz.nl", "beheer@a.nl"))
    appoint_insurer_user(insurer_user, "cz", actor="operator (test)")
    appoint_insurer_user(other_insurer, "vgz", actor="operator (test)")
    appoint_manager(manager, A, actor="operator (test)")
    return {"releases": releases_root, "insurer": insurer_user, "other_insurer": other_insurer, "manager": manager}


def rows_on(html: str) -> list[tuple[str, str, str]]:
    return ROW_RE.findall(html)


def published_csv(releases, period: str, revision: str = "r1") -> bytes:
    return (releases / period / revision / "behandelindex.csv").read_bytes()


def big_release(releases, period: str = "2025-v2", n: int = 230) -> list[dict]:
    """A newest period with ``n`` rows: both disciplines, every tenth practice too small for an index."""
    rows = [
        index_row(
            period,
            "fysiotherapie" if i % 2 == 0 else "oefentherapie",
            f"{40000000 + i * 3}",
            patients=12 if i % 10 == 0 else 40 + i,
            index=80.0 + (i * 7) % 53,
        )
        for i in range(n)
    ]
    rows.reverse()  # the file's order is not the AGB order: the page sorts, a plain download does not
    make_release(releases, period, "r1", rows, reports=False)
    return rows


def corrected(row: dict) -> float | None:
    return float(row["corrected_index"]) if row["corrected_index"] else None


# -- who gets in -------------------------------------------------------------------------------
INSURER_URLS = [
    "/verzekeraar/",
    f"/verzekeraar/{NEWEST}/",
    f"/verzekeraar/{NEWEST}/behandelindex.csv",
    f"/verzekeraar/{NEWEST}/behandelindex.xlsx",
    f"/verzekeraar/{NEWEST}/behandelindex.parquet",
    f"/verzekeraar/{NEWEST}/landelijk.html",
    f"/verzekeraar/{NEWEST}/plotly.min.js",
    "/verzekeraar/berichten/",
    "/verzekeraar/iets-anders/",
]


def test_anonymous_requests_go_to_the_login_page(world):
    from tests.support.served_client import ServedClient

    client = ServedClient()
    for url in INSURER_URLS:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/accounts/login/?next="), url
    assert len(audit("login_required")) == len(INSURER_URLS)


def test_practice_users_and_other_accounts_get_the_same_404(world):
    manager = client_for(world["manager"])
    plain = client_for(make_account("iemand@example.nl"))
    for client in (manager, plain):
        for url in INSURER_URLS:
            response = client.get(url)
            assert response.status_code == 404, url
            assert b"11111111" not in response.content and b"behandelindex" not in response.content
    assert len(audit("denied")) == 2 * len(INSURER_URLS)
    assert not audit("export")
    # the practice user still has their own practice page
    assert manager.get(f"/praktijk/{A}/").status_code == 200


def test_a_blocked_insurer_user_loses_access(world):
    client = client_for(world["insurer"])
    assert client.get("/verzekeraar/").status_code == 200
    world["insurer"].is_active = False
    world["insurer"].save(update_fields=["is_active"])
    assert client.get("/verzekeraar/").status_code in (302, 404)


# -- the page -----------------------------------------------------------------------------------
def test_before_the_first_publication_the_page_says_so(releases_root):
    from portal.access.actions import appoint_insurer_user

    user = make_account("inkoop@cz.nl")
    appoint_insurer_user(user, "cz", actor="operator (test)")
    response = client_for(user).get("/verzekeraar/?discipline=fysiotherapie&page=2")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Er is nog geen periode gepubliceerd." in html and "index-rows" not in html
    assert client_for(user).get("/verzekeraar/2025-v1/").status_code == 404


def test_the_page_shows_every_practice_of_the_newest_shown_period(world):
    response = client_for(world["insurer"]).get("/verzekeraar/")
    assert response.status_code == 200
    html = response.content.decode()
    assert '<span data-insurer="cz">CZ</span>' in html  # the insurer by its name (the seed)
    # the published periods: the six most recent, newest first, in their newest revision
    assert re.findall(r'<tr data-period="([0-9]{4}-v[1-3])"', html) == SHOWN
    assert OLDEST not in html
    period_rows = dict(re.findall(r'<tr data-period="([0-9-v]+)"[^>]*>\s*<td>[^<]+</td>\s*<td>(r[0-9]+)</td>', html))
    assert period_rows["2024-v1"] == "r2" and period_rows[NEWEST] == "r1"
    assert "2025 versie 1 (januari–juni)" in html and "15 januari 2025" in html
    # every practice's row of the newest period, in AGB order
    assert rows_on(html) == [(A, "fysiotherapie", "ok"), (A, "oefentherapie", "ok"), (B, "fysiotherapie", "ok")]
    a_fysio = re.search(rf'<tr data-agb="{A}" data-discipline="fysiotherapie".*?</tr>', html, re.S)[0]
    assert '<td class="num" data-index>96 (88–104)</td>' in a_fysio  # index_row(index=96.0)
    assert '<td class="num" data-corrected>88</td>' in a_fysio and "data-patients>120<" in a_fysio
    assert "88.387" not in html and "96.0" not in html  # whole points, no raw floats
    assert 'data-matching="3" data-total="3"' in html
    # the national summary per discipline (the whole table)
    fysio = re.search(r'<tr data-discipline="fysiotherapie"><th scope="row">Fysiotherapie</th>(.*?)</tr>', html)[1]
    assert re.findall(r"<td data-\w+>([0-9]+)</td>", fysio) == ["2", "2", "0"]
    # no link to any practice's report
    assert "/praktijk/" + A not in html and ".pdf" not in html


def test_each_shown_period_has_its_own_page_and_older_or_unknown_periods_404(world):
    client = client_for(world["insurer"])
    html = client.get("/verzekeraar/2024-v2/").content.decode()
    # 2024-v2: oefentherapie A has 12 patients, a row without an index
    assert (A, "oefentherapie", "insufficient_patients") in rows_on(html)
    a_oefen = re.search(rf'<tr data-agb="{A}" data-discipline="oefentherapie".*?</tr>', html, re.S)[0]
    assert "minder dan 30 patiënten" in a_oefen and "data-index>–<" in a_oefen and "data-patients>12<" in a_oefen
    oefen = re.search(r'<tr data-discipline="oefentherapie"><th scope="row">Oefentherapie</th>(.*?)</tr>', html)[1]
    assert re.findall(r"<td data-\w+>([0-9]+)</td>", oefen) == ["1", "0", "1"]
    for period in SHOWN:
        assert client.get(f"/verzekeraar/{period}/").status_code == 200, period
    for url in [
        f"/verzekeraar/{OLDEST}/",
        f"/verzekeraar/{OLDEST}/behandelindex.csv",
        f"/verzekeraar/{OLDEST}/landelijk.html",
        f"/verzekeraar/{OLDEST}/spiegel.css",
        "/verzekeraar/2019-v1/",
        "/verzekeraar/2019-v1/behandelindex.xlsx",
        "/verzekeraar/2024-v4/",
        "/verzekeraar/2024-v1/behandelindex.json",
        "/verzekeraar/2024-v1/../2023-v1/",
        "/verzekeraar/2024-v1/fysiotherapie/_funnel.js",
    ]:
        assert client.get(url).status_code == 404, url
    assert not audit("export")


def test_filters_and_sort(world):
    rows = big_release(world["releases"])
    client = client_for(world["insurer"])

    # discipline + status + a band of the corrected index, sorted by it, highest first
    query = "discipline=oefentherapie&status=ok&min_corrected=85,5&max_corrected=110&sort=corrected_index&order=desc"
    html = client.get(f"/verzekeraar/2025-v2/?{query}").content.decode()
    expected = sorted(
        (r for r in rows if r["discipline"] == "oefentherapie" and r["status"] == "ok" and 85.5 <= corrected(r) <= 110),
        key=lambda r: (-corrected(r), r["practice_agb"]),
    )
    assert 0 < len(expected) < 100
    assert [agb for agb, _, _ in rows_on(html)] == [r["practice_agb"] for r in expected]
    assert f'data-matching="{len(expected)}" data-total="230"' in html
    assert '<option value="oefentherapie" selected>' in html and 'value="85,5"' in html  # the form keeps them

    # one practice by AGB
    agb = rows[17]["practice_agb"]
    html = client.get(f"/verzekeraar/2025-v2/?practice_agb={agb}").content.decode()
    assert rows_on(html) == [(agb, rows[17]["discipline"], rows[17]["status"])]

    # patients ascending; rows without a number for a numeric key come last
    html = client.get("/verzekeraar/2025-v2/?status=insufficient_patients&sort=behandelindex").content.decode()
    small = sorted(r["practice_agb"] for r in rows if r["status"] == "insufficient_patients")
    assert [agb for agb, _, _ in rows_on(html)] == small
    html = client.get("/verzekeraar/2025-v2/?sort=patients&order=asc&discipline=fysiotherapie").content.decode()
    fysio = sorted(
        (r for r in rows if r["discipline"] == "fysiotherapie"), key=lambda r: (int(r["patients"]), r["practice_agb"])
    )
    assert [agb for agb, _, _ in rows_on(html)] == [r["practice_agb"] for r in fysio[:100]]
    # the column header of the sorted column flips the order and keeps the filter
    flip = "/verzekeraar/2025-v2/?discipline=fysiotherapie&amp;sort=patients&amp;order=desc"
    assert f'aria-sort="ascending"><a href="{flip}"' in html

    # AGB descending
    html = client.get("/verzekeraar/2025-v2/?sort=practice_agb&order=desc").content.decode()
    agbs = [agb for agb, _, _ in rows_on(html)]
    assert agbs == sorted((r["practice_agb"] for r in rows), reverse=True)[:100]


def test_bad_parameters_are_ignored_with_a_message_never_an_error(world):
    big_release(world["releases"])
    client = client_for(world["insurer"])
    everything = sorted(f"{40000000 + i * 3}" for i in range(230))[:100]
    for query in [
        "discipline=tandarts",
        "status=geweldig",
        "practice_agb=1234",
        "practice_agb=1234567890123",
        "min_corrected=abc",
        "max_corrected=1e5",
        "min_corrected=nan",
        "max_corrected=inf",
        "min_corrected=%00",
        "sort=__class__",
        "order=sideways",
        "page=abc",
        "page=-1",
        "page=99999999999999999999",
        "discipline=fysiotherapie&discipline=%ff%fe",
        "min_corrected=120&max_corrected=90",
    ]:
        response = client.get(f"/verzekeraar/2025-v2/?{query}")
        assert response.status_code == 200, query
        html = response.content.decode()
        if query.startswith("page="):
            continue  # a page out of range is the nearest page (below)
        assert [agb for agb, _, _ in rows_on(html)] == everything, query
        assert "niet toegepast" in html or "De standaardvolgorde is gebruikt." in html, query
        assert "__class__" not in html and "geweldig" not in html  # the request's text is not echoed
    html = client.get("/verzekeraar/2025-v2/?min_corrected=120&max_corrected=90").content.decode()
    assert "De ondergrens van de gecorrigeerde index is groter dan de bovengrens" in html
    html = client.get("/verzekeraar/2025-v2/?sort=__class__").content.decode()
    assert "Sorteren op: deze waarde staat niet in de lijst. De standaardvolgorde is gebruikt." in html
    html = client.get("/verzekeraar/2025-v2/?practice_agb=1234").content.decode()
    assert "AGB-code: een AGB-code bestaat uit 8 cijfers. Dit filter is niet toegepast." in html
    # the downloads take the same validated filters: a bad value filters nothing
    bad = client.get("/verzekeraar/2025-v2/behandelindex.csv?status=geweldig&sort=nonsense")
    assert bad.status_code == 200 and bad.content == published_csv(world["releases"], "2025-v2")
    # a POST is refused, not an error
    assert client.post("/verzekeraar/2025-v2/").status_code == 405


def test_pagination_shows_100_rows_a_page_with_the_count(world):
    rows = big_release(world["releases"])
    client = client_for(world["insurer"])
    agbs = sorted(r["practice_agb"] for r in rows)
    first = client.get("/verzekeraar/").content.decode()  # 2025-v2 is now the newest period
    assert [agb for agb, _, _ in rows_on(first)] == agbs[:100]
    assert "230 rijen: alle praktijken in alle disciplines." in first and "Pagina 1 van 3" in first
    assert '<a rel="next" href="/verzekeraar/2025-v2/?page=2">' in first and 'rel="prev"' not in first
    second = client.get("/verzekeraar/2025-v2/?page=2").content.decode()
    assert [agb for agb, _, _ in rows_on(second)] == agbs[100:200]
    third = client.get("/verzekeraar/2025-v2/?page=3").content.decode()
    assert [agb for agb, _, _ in rows_on(third)] == agbs[200:]
    assert 'rel="next"' not in third and '<a rel="prev" href="/verzekeraar/2025-v2/?page=2">' in third
    assert [agb for agb, _, _ in rows_on(client.get("/verzekeraar/2025-v2/?page=999").content.decode())] == agbs[200:]
    # a filter is kept across the pages
    html = client.get("/verzekeraar/2025-v2/?discipline=fysiotherapie&sort=patients").content.decode()
    assert "115 van de 230 rijen voldoen aan het filter." in html and "Pagina 1 van 2" in html
    assert '<a rel="next" href="/verzekeraar/2025-v2/?discipline=fysiotherapie&amp;sort=patients&amp;page=2">' in html
    # the pushed-out period (2023-v2 is now the 7th) is gone
    assert client.get("/verzekeraar/2023-v2/").status_code == 404


# -- downloads ----------------------------------------------------------------------------------
def test_the_csv_of_the_whole_table_is_the_published_file_and_is_audited(world):
    client = client_for(world["insurer"])
    response = client.get(f"/verzekeraar/{NEWEST}/behandelindex.csv")
    assert response.status_code == 200
    assert response.content == published_csv(world["releases"], NEWEST)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="behandelindex-{NEWEST}-r1.csv"'
    assert response["Cache-Control"] == "private, no-store"
    # the second revision of 2024-v1 is the one served
    r2 = client.get("/verzekeraar/2024-v1/behandelindex.csv")
    assert r2.content == published_csv(world["releases"], "2024-v1", "r2")
    assert r2["Content-Disposition"] == 'attachment; filename="behandelindex-2024-v1-r2.csv"'
    first, second = audit("export")
    assert (first.actor, first.subject, first.detail, first.ip) == (
        "inkoop@cz.nl",
        f"{NEWEST}/r1/behandelindex.csv",
        "no filter; 3 rows",
        "127.0.0.1",
    )
    assert second.subject == "2024-v1/r2/behandelindex.csv"


def test_a_filtered_csv_has_only_the_matching_rows(world):
    rows = big_release(world["releases"])
    client = client_for(world["insurer"])
    response = client.get("/verzekeraar/2025-v2/behandelindex.csv?discipline=fysiotherapie&min_corrected=100")
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="behandelindex-2025-v2-r1-selectie.csv"'
    lines = published_csv(world["releases"], "2025-v2").decode().splitlines(keepends=True)
    header, body = lines[0], lines[1:]
    # the file's own lines, in the file's order, of the matching rows
    wanted = [
        line for line, row in zip(body, rows) if row["discipline"] == "fysiotherapie" and (corrected(row) or 0) >= 100
    ]
    assert 0 < len(wanted) < len(body)
    assert response.content.decode() == header + "".join(wanted)
    # sorted when a sort is asked for
    sorted_csv = client.get("/verzekeraar/2025-v2/behandelindex.csv?status=ok&sort=corrected_index&order=desc")
    got = [r["practice_agb"] for r in csv.DictReader(io.StringIO(sorted_csv.content.decode()))]
    assert got == [
        r["practice_agb"]
        for r in sorted((r for r in rows if r["status"] == "ok"), key=lambda r: (-corrected(r), r["practice_agb"]))
    ]
    # one practice, and the audit line says which filter and which practice
    one = client.get(f"/verzekeraar/2025-v2/behandelindex.csv?practice_agb={rows[3]['practice_agb']}")
    assert one.content.decode() == header + body[3]
    events = audit("export")
    assert [e.detail for e in events] == [
        f"discipline=fysiotherapie min_corrected=100; {len(wanted)} rows",
        f"status=ok sort=corrected_index desc; {len(got)} rows",
        f"practice_agb={rows[3]['practice_agb']}; 1 rows",
    ]
    assert events[2].agb == rows[3]["practice_agb"] and events[0].agb == ""


def _published_frame(releases, period: str) -> pd.DataFrame:
    return pd.read_csv(
        releases / period / "r1" / "behandelindex.csv",
        dtype={"practice_agb": str, "period": str},
    )


def test_xlsx_holds_the_same_values_as_the_published_csv(world):
    big_release(world["releases"], n=40)
    response = client_for(world["insurer"]).get("/verzekeraar/2025-v2/behandelindex.xlsx")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert response["Content-Disposition"] == 'attachment; filename="behandelindex-2025-v2-r1.xlsx"'
    # (pandas would read the AGB code's text cells as numbers, as it does the CSV's, unless told)
    sheet = pd.read_excel(io.BytesIO(response.content), dtype={"practice_agb": str, "period": str})
    published = _published_frame(world["releases"], "2025-v2")
    assert list(sheet.columns) == list(published.columns)
    pd.testing.assert_frame_equal(sheet, published, check_dtype=False)
    # numbers are numbers in the workbook (and the AGB code stays text)
    from openpyxl import load_workbook

    sheet_rows = list(load_workbook(io.BytesIO(response.content), read_only=True).active.values)
    assert list(sheet_rows[0]) == list(published.columns)
    for cells in sheet_rows[1:]:
        row = tuple(cells) + (None,) * (12 - len(cells))  # a row may end before its empty cells
        assert isinstance(row[2], str) and isinstance(row[4], int)  # the AGB code text, patients a number
        if row[3] == "ok":
            assert isinstance(row[11], float)  # the corrected index, with its decimals
        else:
            assert row[8] is None and row[11] is None  # an empty cell, not "" or 0
    (event,) = audit("export")
    assert event.subject == "2025-v2/r1/behandelindex.xlsx"


def test_parquet_holds_the_same_values_as_the_published_csv(world):
    big_release(world["releases"], n=40)
    client = client_for(world["insurer"])
    response = client.get("/verzekeraar/2025-v2/behandelindex.parquet")
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="behandelindex-2025-v2-r1.parquet"'
    frame = pd.read_parquet(io.BytesIO(response.content))
    published = _published_frame(world["releases"], "2025-v2")
    pd.testing.assert_frame_equal(frame, published, check_dtype=False)
    assert str(frame["patients"].dtype) == "int64" and str(frame["behandelindex"].dtype) == "float64"
    assert frame["practice_agb"].map(type).eq(str).all()
    # exact floats: the full precision of the published file
    assert frame["corrected_index"].dropna().tolist() == published["corrected_index"].dropna().tolist()
    # filtered: only the matching rows
    ok = pd.read_parquet(io.BytesIO(client.get("/verzekeraar/2025-v2/behandelindex.parquet?status=ok").content))
    assert set(ok["status"]) == {"ok"} and len(ok) == (published["status"] == "ok").sum()
    empty = client.get("/verzekeraar/2025-v2/behandelindex.parquet?practice_agb=99999999")
    assert len(pd.read_parquet(io.BytesIO(empty.content))) == 0
    assert [e.subject for e in audit("export")] == ["2025-v2/r1/behandelindex.parquet"] * 3


# -- the national overview ---------------------------------------------------------------------------
OVERVIEW = (
    '<!DOCTYPE html>\n<html lang="nl"><head><meta charset="utf-8"><title>Landelijk overzicht</title>\n'
    '<link rel="stylesheet" href="spiegel.css">\n</head><body class="screen"><div id="chart"></div>\n'
    "<h1>Landelijke behandelindex · {period}</h1>\n"
    '<script src="plotly.min.js"></script>\n<script src="spiegel.js"></script>\n</body></html>\n'
)


def test_the_national_overview_is_served_to_insurer_users_only(world):
    reports = world["releases"] / NEWEST / "r1" / "reports"
    (reports / "national_overview.html").write_text(OVERVIEW.format(period=NEWEST), encoding="utf-8")
    client = client_for(world["insurer"])
    page = client.get("/verzekeraar/").content.decode()
    assert f'href="/verzekeraar/{NEWEST}/landelijk.html"' in page
    assert 'href="/verzekeraar/2024-v3/landelijk.html"' not in page  # that release has none

    response = client.get(f"/verzekeraar/{NEWEST}/landelijk.html")
    assert response.status_code == 200 and response["Cache-Control"] == "private, no-store"
    html = response.content.decode()
    assert f"Landelijke behandelindex · {NEWEST}" in html
    urls = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert urls == [f"/verzekeraar/{NEWEST}/{name}" for name in ("spiegel.css", "plotly.min.js", "spiegel.js")]
    for url, name in zip(urls, ("spiegel.css", "plotly.min.js", "spiegel.js")):
        asset = client.get(url)
        assert asset.status_code == 200, url
        assert b"".join(asset.streaming_content) == (reports / name).read_bytes()
    assert client.get(urls[0])["Content-Type"].startswith("text/css")
    (event,) = audit("download")
    assert (event.actor, event.agb, event.subject) == ("inkoop@cz.nl", "", f"{NEWEST}/r1/national_overview.html")

    # a release without one: 404
    assert client.get("/verzekeraar/2024-v3/landelijk.html").status_code == 404
    # a practice user gets none of it
    manager = client_for(world["manager"])
    for url in [f"/verzekeraar/{NEWEST}/landelijk.html", *urls]:
        assert manager.get(url).status_code == 404, url


def test_a_symlinked_overview_is_not_served(world, tmp_path):
    outside = tmp_path / "geheim.html"
    outside.write_text("<p>buiten de release</p>", encoding="utf-8")
    (world["releases"] / NEWEST / "r1" / "reports" / "national_overview.html").symlink_to(outside)
    client = client_for(world["insurer"])
    assert client.get(f"/verzekeraar/{NEWEST}/landelijk.html").status_code == 404
    assert "landelijk.html" not in client.get("/verzekeraar/").content.decode()


# -- messages -----------------------------------------------------------------------------------------
def _message(insurer: str, subject: str, when: str, topic: str = "beleid", **extra):
    from portal.public.models import ContactMessage

    return ContactMessage.objects.create(
        topic=topic,
        insurer=insurer,
        name=extra.pop("name", "Jan de Vries"),
        email=extra.pop("email", "jan@fysio.nl"),
        subject=subject,
        message=extra.pop("message", f"Tekst van {subject}.\nTweede regel."),
        created_at=datetime.fromisoformat(when).replace(tzinfo=UTC),
        **extra,
    )


def test_messages_are_only_those_addressed_to_the_users_insurer_newest_first(world):
    _message(
        "cz", "Contractering 2026", "2025-03-01T09:00:00", practice_agb=A, name="Els Bakker", email="els@fysio-a.nl"
    )
    _message("cz", "Vraag over <b>de index</b>", "2025-04-02T14:30:00")
    _message("vgz", "Voor VGZ bestemd", "2025-04-03T10:00:00")
    _message("", "Over de methode", "2025-04-04T10:00:00", topic="methode")
    _message("cz", "Toegang (zonder beleid)", "2025-04-05T10:00:00", topic="toegang")  # not a policy message

    client = client_for(world["insurer"])
    assert "2 berichten over beleid en inhoud" in client.get("/verzekeraar/").content.decode()
    response = client.get("/verzekeraar/berichten/")
    assert response.status_code == 200
    html = response.content.decode()
    subjects = re.findall(r"<h2 data-subject>(.*?)</h2>", html)
    assert subjects == ["Vraag over &lt;b&gt;de index&lt;/b&gt;", "Contractering 2026"]  # newest first, escaped
    assert "Voor VGZ bestemd" not in html and "Over de methode" not in html and "Toegang (zonder beleid)" not in html
    older = re.search(
        r'<article class="contact-message" data-message="\d+">\s*<h2 data-subject>Contractering 2026.*?</article>',
        html,
        re.S,
    )[0]
    assert "<span data-sender>Els Bakker</span>" in older and 'href="mailto:els@fysio-a.nl"' in older
    assert f"AGB-code <span data-agb>{A}</span>" in older
    assert "1 maart 2025, 10:00" in older  # 09:00 UTC is 10:00 in Amsterdam
    assert "<p>Tekst van Contractering 2026.<br>Tweede regel.</p>" in older

    other = client_for(world["other_insurer"]).get("/verzekeraar/berichten/").content.decode()
    assert re.findall(r"<h2 data-subject>(.*?)</h2>", other) == ["Voor VGZ bestemd"]
    assert client_for(world["manager"]).get("/verzekeraar/berichten/").status_code == 404


def test_messages_are_paginated(world):
    for day in range(1, 31):
        _message("cz", f"Bericht {day:02d}", f"2025-05-{day:02d}T10:00:00")
    client = client_for(world["insurer"])
    first = client.get("/verzekeraar/berichten/").content.decode()
    assert re.findall(r"<h2 data-subject>Bericht (\d+)</h2>", first) == [f"{d:02d}" for d in range(30, 5, -1)]
    second = client.get("/verzekeraar/berichten/?page=2").content.decode()
    assert re.findall(r"<h2 data-subject>Bericht (\d+)</h2>", second) == ["05", "04", "03", "02", "01"]
    assert client.get("/verzekeraar/berichten/?page=zz").status_code == 200


# -- never a practice's report --------------------------------------------------------------------
def test_an_insurer_user_never_gets_a_practices_report(world):
    client = client_for(world["insurer"])
    reports = world["releases"] / NEWEST / "r1" / "reports"
    assert (reports / "fysiotherapie" / f"{A}.pdf").is_file()  # the files are there
    urls = [
        f"/praktijk/{A}/",
        f"/praktijk/{A}/{NEWEST}/fysiotherapie.pdf",
        f"/praktijk/{A}/{NEWEST}/fysiotherapie.html",
        f"/praktijk/{A}/{NEWEST}/oefentherapie.pdf",
        f"/praktijk/{B}/{NEWEST}/fysiotherapie.html",
        f"/praktijk/{A}/{NEWEST}/plotly.min.js",
        f"/praktijk/{A}/{NEWEST}/spiegel.js",
        f"/praktijk/{A}/{NEWEST}/spiegel.css",
        f"/praktijk/{A}/{NEWEST}/fysiotherapie/_funnel.js",
        f"/praktijk/{A}/toegang/",
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 404, url
        assert b"%PDF" not in response.content and b"data-field" not in response.content
    assert not audit("download")
    assert len(audit("denied")) == len(urls)
    # the insurer's pages have no report URL either
    for url in ["/verzekeraar/fysiotherapie/11111111.pdf", f"/verzekeraar/{NEWEST}/fysiotherapie/{A}.html"]:
        assert client.get(url).status_code == 404, url


# -- the header and the admin ---------------------------------------------------------------------
def test_the_header_links_insurer_users_to_their_page_and_everyone_to_the_tokens(world):
    def header(client) -> str:
        return re.search(r"<header.*?</header>", client.get("/").content.decode(), re.S)[0]

    insurer_page = header(client_for(world["insurer"]))
    assert '<a href="/verzekeraar/">Zorgverzekeraar</a>' in insurer_page
    assert '<a href="/praktijk/">Mijn praktijken</a>' not in insurer_page
    assert '<a href="/accounts/tokens/">API-sleutels</a>' in insurer_page
    practice_page = header(client_for(world["manager"]))
    assert '<a href="/praktijk/">Mijn praktijken</a>' in practice_page and "/verzekeraar/" not in practice_page
    assert '<a href="/accounts/tokens/">API-sleutels</a>' in practice_page
    from tests.support.served_client import ServedClient

    anonymous = header(ServedClient())
    assert "/accounts/tokens/" not in anonymous and "/verzekeraar/" not in anonymous


def test_operators_appoint_and_remove_insurer_staff_in_the_admin(world):
    from django.contrib.auth import get_user_model
    from django.urls import reverse

    from portal.access.models import InsurerStaff

    admin = get_user_model().objects.create_superuser("ops", "ops@spiegel.nl", PASSWORD)
    client = client_for(admin)
    newcomer = make_account("analist@menzis.nl")
    add_url = reverse("admin:access_insurerstaff_add")
    assert add_url == "/admin/access/insurerstaff/add/" and client.get(add_url).status_code == 200
    response = client.post(add_url, {"insurer_id": "menzis", "user": newcomer.pk})
    assert response.status_code == 302, response.content.decode()[:2000]
    staff = InsurerStaff.objects.get(user=newcomer)
    assert (staff.insurer_id, staff.appointed_by) == ("menzis", "operator ops (admin)")
    (event,) = audit("insurer_appointed", subject="analist@menzis.nl")
    assert (event.actor, event.detail) == ("operator ops (admin)", "insurer menzis")
    assert client_for(newcomer).get("/verzekeraar/").status_code == 200
    # an insurer outside the seed cannot be picked
    other = make_account("x@example.nl")
    assert client.post(add_url, {"insurer_id": "nep", "user": other.pk}).status_code == 200
    assert not InsurerStaff.objects.filter(user=other).exists()
    # no change form; deletion goes through the audited action
    change_url = reverse("admin:access_insurerstaff_change", args=[staff.pk])
    client.post(change_url, {"insurer_id": "cz", "user": newcomer.pk})
    assert InsurerStaff.objects.get(user=newcomer).insurer_id == "menzis"
    delete_url = reverse("admin:access_insurerstaff_delete", args=[staff.pk])
    assert client.post(delete_url, {"post": "yes"}).status_code == 302
    assert not InsurerStaff.objects.filter(user=newcomer).exists()
    (removed,) = audit("insurer_removed")
    assert (removed.actor, removed.subject, removed.detail) == (
        "operator ops (admin)",
        "analist@menzis.nl",
        "insurer menzis",
    )
    assert client_for(newcomer).get("/verzekeraar/").status_code == 404


def test_numbers_in_the_downloads_are_not_rounded(world):
    """The page shows whole points; the files keep every digit the release published."""
    client = client_for(world["insurer"])
    text = client.get(
        f"/verzekeraar/{NEWEST}/behandelindex.csv?practice_agb={A}&discipline=fysiotherapie"
    ).content.decode()
    (row,) = csv.DictReader(io.StringIO(text))
    assert math.isclose(float(row["corrected_index"]), 96.0 - 7.612345678901, rel_tol=0, abs_tol=1e-12)
    assert row["corrected_index"] == repr(96.0 - 7.612345678901)


def test_an_insurer_user_lands_on_the_index_tables_after_logging_in(world):
    from tests.support.served_client import ServedClient

    def log_in(email: str, next_url: str = "") -> str:
        client = ServedClient()
        response = client.post(
            "/accounts/login/" + (f"?next={next_url}" if next_url else ""), {"login": email, "password": PASSWORD}
        )
        assert response.status_code == 302, response.content[:300]
        return response["Location"]

    assert log_in("inkoop@cz.nl") == "/verzekeraar/"
    assert log_in("beheer@a.nl") == "/praktijk/"
    assert log_in("inkoop@cz.nl", "/api/v1/docs/") == "/api/v1/docs/"  # an explicit next still wins
    # and their 404 page points back to their own page, not to practices they have none of
    client = client_for(world["insurer"])
    page = client.get(f"/praktijk/{A}/2025-v1/fysiotherapie.pdf")
    assert page.status_code == 404 and 'href="/verzekeraar/"' in page.content.decode()
