"""The read API over HTTP (portal.md, "The read API"): who reads what, tokens, the rate
limit, CSV, conditional requests, pagination and the audit log."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from tests.support.portal_world import SHOWN, A, B, C, World, audit, build_releases, make_account
from tests.support.served_client import ServedClient

pytestmark = pytest.mark.django_db

INSURER = "zilveren_kruis"
NEWEST = SHOWN[0]  # 2025-v1
OLDEST_PUBLISHED = "2023-v1"  # the 7th period: published, no longer shown


@pytest.fixture(autouse=True)
def fast_hashes_and_fresh_counters(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    cache.clear()  # the rate counters of another test
    yield
    cache.clear()


@pytest.fixture
def world(releases_root) -> World:
    from portal.access.actions import appoint_insurer_user, appoint_manager, grant
    from portal.access.tokens import create_token

    build_releases(releases_root)
    manager_a, manager_b, user_a = (make_account(e) for e in ("beheer@a.nl", "beheer@b.nl", "gebruiker@a.nl"))
    appoint_manager(manager_a, A, actor="operator (test)")
    appoint_manager(manager_b, B, actor="operator (test)")
    grant(user_a, A, actor="operator (test)")
    insurer_user = make_account("analist@zk.example")
    appoint_insurer_user(insurer_user, INSURER, actor="operator (test)")
    world = World(releases_root, manager_a, manager_b, user_a)
    world.extra["tokens"] = {
        "user_a": create_token(user_a).secret,
        "insurer": create_token(insurer_user).secret,
    }
    revoked = create_token(user_a)
    from portal.access.tokens import revoke_token

    revoke_token(revoked.token, actor="gebruiker@a.nl")
    expired = create_token(insurer_user)
    type(expired.token).objects.filter(pk=expired.token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    world.extra["tokens"].update(revoked=revoked.secret, expired=expired.secret)
    world.extra["insurer_user"] = insurer_user
    return world


def get(path: str, token: str | None = None, **headers):
    if token:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return ServedClient().get(path, **headers)


def agbs_of(response) -> list[str]:
    return sorted({row["practice_agb"] for row in response.json()["results"]})


def published_csv(world: World, period: str) -> bytes:
    from portal.releases import catalog

    return catalog.newest_revision(period).file("behandelindex.csv").read_bytes()


# -- who reads what -------------------------------------------------------------------
CALLERS = ["anonymous", "user_a", "insurer", "revoked", "expired"]


@pytest.mark.parametrize("caller", CALLERS)
def test_the_periods_reference_and_schema_are_public_but_a_bad_token_is_refused(world, caller):
    token = None if caller == "anonymous" else world.extra["tokens"][caller]
    for path in ("/api/v1/periods/", f"/api/v1/periods/{NEWEST}/reference/", "/api/v1/schema/"):
        response = get(path, token)
        if caller in ("revoked", "expired"):
            assert response.status_code == 401, path
            assert "ingetrokken" in response.content.decode()
            assert response["WWW-Authenticate"].startswith("Bearer")
        else:
            assert response.status_code == 200, (path, response.content[:200])


def test_the_periods_list_says_state_revision_and_dates(world):
    body = get("/api/v1/periods/").json()
    by_period = {p["period"]: p for p in body["results"]}
    assert body["count"] == len(body["results"])
    assert by_period["2024-v1"]["state"] == "gepubliceerd"
    assert by_period["2024-v1"]["revision"] == "r2"
    assert by_period["2024-v1"]["first_published_on"] != by_period["2024-v1"]["published_on"]
    assert by_period["2025-v1"]["planned_date"] == "2025-10-15"


@pytest.mark.parametrize(
    ("caller", "expected"),
    [("anonymous", 401), ("revoked", 401), ("expired", 401), ("user_a", 200), ("insurer", 200)],
)
def test_index_access_by_caller(world, caller, expected):
    token = None if caller == "anonymous" else world.extra["tokens"][caller]
    response = get(f"/api/v1/periods/{NEWEST}/index/", token)
    assert response.status_code == expected
    if caller == "user_a":
        assert agbs_of(response) == [A]  # its own practice's rows only, never B's
    elif caller == "insurer":
        assert agbs_of(response) == [A, B]  # every practice
    else:
        assert "results" not in response.json()


def test_a_practice_user_never_reads_another_practice_whatever_the_filter(world):
    token = world.extra["tokens"]["user_a"]
    response = get(f"/api/v1/periods/{NEWEST}/index/?practice_agb={B}", token)
    assert response.status_code == 200 and response.json()["count"] == 0
    csv_text = get(f"/api/v1/periods/{NEWEST}/index/", token, HTTP_ACCEPT="text/csv").content.decode()
    assert B not in csv_text and A in csv_text
    assert get(f"/api/v1/practices/{B}/", token).status_code == 404
    assert get(f"/api/v1/practices/{C}/", token).status_code == 404  # exists in an old release only
    assert get("/api/v1/practices/99999999/", token).status_code == 404  # does not exist: same answer


@pytest.mark.parametrize(
    ("caller", "agb", "expected"),
    [
        ("anonymous", A, 401),
        ("revoked", A, 401),
        ("expired", A, 401),
        ("user_a", A, 200),
        ("user_a", B, 404),
        ("insurer", A, 200),
        ("insurer", B, 200),
        ("insurer", "1234", 404),
        ("insurer", "99999999", 404),
    ],
)
def test_practice_access_by_caller(world, caller, agb, expected):
    token = None if caller == "anonymous" else world.extra["tokens"][caller]
    response = get(f"/api/v1/practices/{agb}/", token)
    assert response.status_code == expected
    if expected == 200:
        body = response.json()
        assert body["practice_agb"] == agb
        assert {r["practice_agb"] for r in body["results"]} == {agb}
        assert [r["period"] for r in body["results"] if r["discipline"] == "fysiotherapie"] == SHOWN


def test_a_practice_row_carries_its_movement(world):
    from tests.support.release_factory import index_row  # noqa: F401  (the rows' shape)

    folder = world.releases / NEWEST / "r1"
    (folder / "index_movement.csv").write_text(
        "period,discipline,practice_agb,from_period,bi_from,bi_to,own_points,case_mix_points,reference_points\n"
        f"{NEWEST},fysiotherapie,{A},2024-v3,95.0,96.0,2.5,-1.0,-0.5\n",
        encoding="utf-8",
    )
    body = get(f"/api/v1/practices/{A}/", world.extra["tokens"]["insurer"]).json()
    newest = next(r for r in body["results"] if r["period"] == NEWEST and r["discipline"] == "fysiotherapie")
    assert newest["movement"] == {
        "from_period": "2024-v3",
        "bi_from": 95.0,
        "bi_to": 96.0,
        "own_points": 2.5,
        "case_mix_points": -1.0,
        "reference_points": -0.5,
    }
    assert newest["behandelindex"] == 96.0 and newest["revision"] == "r1"
    older = next(r for r in body["results"] if r["period"] == SHOWN[1] and r["discipline"] == "fysiotherapie")
    assert older["movement"] is None


def test_unknown_and_older_periods_are_404(world):
    token = world.extra["tokens"]["insurer"]
    assert get(f"/api/v1/periods/{OLDEST_PUBLISHED}/index/", token).status_code == 404  # not among the 6 shown
    assert get("/api/v1/periods/2031-v1/index/", token).status_code == 404
    assert get("/api/v1/periods/nonsense/index/", token).status_code == 404
    assert get("/api/v1/periods/2031-v1/reference/").status_code == 404
    response = get("/api/v1/no/such/thing/", token)
    assert response.status_code == 404 and response["Content-Type"].startswith("application/json")


def test_a_token_stops_working_at_once_when_revoked(world):
    from portal.access.models import ApiToken
    from portal.access.tokens import create_token, revoke_token

    new = create_token(world.user_a)
    assert get(f"/api/v1/periods/{NEWEST}/index/", new.secret).status_code == 200
    revoke_token(ApiToken.objects.get(pk=new.token.pk), actor="gebruiker@a.nl")
    assert get(f"/api/v1/periods/{NEWEST}/index/", new.secret).status_code == 401


def test_a_blocked_account_loses_its_tokens(world):
    token = world.extra["tokens"]["user_a"]
    world.user_a.is_active = False
    world.user_a.save(update_fields=["is_active"])
    assert get(f"/api/v1/periods/{NEWEST}/index/", token).status_code == 401


def test_the_61st_request_in_a_minute_gets_429(world, settings):
    settings.API_RATE = "60/minute"
    token = world.extra["tokens"]["insurer"]
    codes = [get("/api/v1/periods/", token).status_code for _ in range(60)]
    assert codes == [200] * 60
    response = get("/api/v1/periods/", token)
    assert response.status_code == 429
    assert "Te veel verzoeken" in response.json()["detail"]
    assert 1 <= int(response["Retry-After"]) <= 60
    # another token has a limit of its own
    assert get("/api/v1/periods/", world.extra["tokens"]["user_a"]).status_code == 200


# -- what comes back -----------------------------------------------------------------
@pytest.mark.parametrize("period", [NEWEST, "2024-v1"])  # 2024-v1: r2 is the revision in force
def test_the_csv_is_the_published_behandelindex(world, period):
    token = world.extra["tokens"]["insurer"]
    response = get(f"/api/v1/periods/{period}/index/", token, HTTP_ACCEPT="text/csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response.content == published_csv(world, period)
    assert get(f"/api/v1/periods/{period}/index/?format=csv", token).content == published_csv(world, period)


def test_the_filtered_csv_and_the_json_rows_hold_the_published_values(world):
    token = world.extra["tokens"]["insurer"]
    published = list(csv.DictReader(io.StringIO(published_csv(world, NEWEST).decode())))
    filtered = get(
        f"/api/v1/periods/{NEWEST}/index/?discipline=oefentherapie", token, HTTP_ACCEPT="text/csv"
    ).content.decode()
    assert list(csv.DictReader(io.StringIO(filtered))) == [r for r in published if r["discipline"] == "oefentherapie"]
    rows = get(f"/api/v1/periods/{NEWEST}/index/", token).json()["results"]
    assert len(rows) == len(published)
    for row, source in zip(rows, published):
        assert row["practice_agb"] == source["practice_agb"]
        assert row["patients"] == int(source["patients"])
        assert row["corrected_index"] == float(source["corrected_index"])
        assert row["ci_upper"] == float(source["ci_upper"])


def test_filters_and_pagination(world):
    token = world.extra["tokens"]["insurer"]
    base = f"/api/v1/periods/{NEWEST}/index/"
    first = get(base + "?page_size=1", token).json()
    assert (first["count"], first["pages"], first["page"], first["previous"]) == (3, 3, 1, None)
    assert first["next"].endswith("page=2") or "page=2" in first["next"]
    second = get(base + "?page_size=1&page=2", token).json()
    assert second["results"] != first["results"] and second["previous"]
    assert get(base + "?page_size=1&page=4", token).status_code == 404
    assert get(base + "?status=ok&discipline=fysiotherapie", token).json()["count"] == 2
    for bad in ("?discipline=yoga", "?status=maybe", "?practice_agb=12", "?page=0", "?page_size=5000", "?page=x"):
        response = get(base + bad, token)
        assert response.status_code == 400, bad
        assert "Ongeldige waarde" in str(response.json())


def test_conditional_requests_get_304(world):
    token = world.extra["tokens"]["insurer"]
    path = f"/api/v1/periods/{NEWEST}/index/"
    first = get(path, token)
    etag, modified = first["ETag"], first["Last-Modified"]
    assert etag.startswith('"') and modified.endswith("GMT")
    assert first["Cache-Control"] == "private, no-cache"  # a shared cache keeps no token's rows (ASVS 8.1.1)
    assert get(path, token, HTTP_IF_NONE_MATCH=etag).status_code == 304
    assert get(path, token, HTTP_IF_MODIFIED_SINCE=modified).status_code == 304
    # another representation or other rows: another ETag
    assert get(path, token, HTTP_ACCEPT="text/csv")["ETag"] != etag
    assert get(path, world.extra["tokens"]["user_a"])["ETag"] != etag
    assert get(path, token, HTTP_IF_NONE_MATCH='"something-else"').status_code == 200
    for public in ("/api/v1/periods/", f"/api/v1/periods/{NEWEST}/reference/"):
        tag = get(public)["ETag"]
        assert get(public, HTTP_IF_NONE_MATCH=tag).status_code == 304


def test_every_authenticated_call_is_audited_and_anonymous_ones_are_not(world):
    from portal.access.models import ApiToken

    before = len(audit("api_call"))
    get("/api/v1/periods/")
    assert len(audit("api_call")) == before
    token = world.extra["tokens"]["user_a"]
    get(f"/api/v1/periods/{NEWEST}/index/?status=ok", token)
    get(f"/api/v1/practices/{B}/", token)
    calls = audit("api_call")[before:]
    prefix = ApiToken.objects.filter(user=world.user_a, revoked_at=None).first().prefix
    assert [(c.actor, c.subject, c.detail) for c in calls] == [
        ("gebruiker@a.nl", f"/api/v1/periods/{NEWEST}/index/?status=ok", f"200 via token {prefix}"),
        ("gebruiker@a.nl", f"/api/v1/practices/{B}/", f"404 via token {prefix}"),
    ]
    assert audit("denied", agb=B)  # the refusal itself, as for pages
    get("/api/v1/periods/", world.extra["tokens"]["revoked"])
    assert audit("token_refused")


def test_a_logged_in_session_reads_the_api_as_its_account(world):
    from tests.support.portal_world import client_for

    client = client_for(world.user_a)
    response = client.get(f"/api/v1/periods/{NEWEST}/index/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200 and agbs_of(response) == [A]
    # read-only (with the session's CSRF token sent): no method but GET, and no body is parsed at all
    url = f"/api/v1/periods/{NEWEST}/index/"
    assert client.generic("POST", url).status_code == 405
    assert client.post(url, {"index": "1"}).status_code == 415
    assert client.post(url, {"index": 1}, content_type="application/json").status_code == 415


def test_the_docs_pages_are_served_without_a_cdn(world):
    docs = ServedClient().get("/api/v1/docs/")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "swagger-ui" in html and "cdn." not in html and "unpkg" not in html
    schema = ServedClient().get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    assert set(schema["paths"]) == {
        "/api/v1/periods/",
        "/api/v1/periods/{period}/reference/",
        "/api/v1/periods/{period}/index/",
        "/api/v1/practices/{agb}/",
    }
    assert schema["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
