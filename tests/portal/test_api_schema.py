"""The read API tested from its own OpenAPI schema (schemathesis, property-based): against
the portal served for real (gunicorn), every generated request of every operation, as an
insurer user, a practice user and an anonymous caller, gets no 5xx and a response that the
schema describes (status code, content type, body)."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.support.portal_world import A, B
from tests.support.release_factory import index_row, make_release
from tests.support.served import served_portal, spiegel_portal_batch

PERIODS = ("2024-v2", "2024-v3")
PASSWORD = "Geheim-wachtwoord-2024"
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(scope="module")
def api_site(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("api-schema") / "data"
    releases = data_dir / "releases"
    releases.mkdir(parents=True)
    for period in PERIODS:
        folder = make_release(
            releases,
            period,
            "r1",
            [
                index_row(period, "fysiotherapie", A, index=97.0),
                index_row(period, "fysiotherapie", B, index=105.0),
                index_row(period, "oefentherapie", B, patients=12),
            ],
            reports=False,
        )
        (folder / "reference_strata.csv").write_text(
            "period,discipline,row_type,cell_id,episodes,mean_sessions\n"
            f"{period},fysiotherapie,cell,1,120,9.5\n{period},fysiotherapie,national,,400,8.25\n",
            encoding="utf-8",
        )
    (releases / "2024-v3" / "r1" / "index_movement.csv").write_text(
        "period,discipline,practice_agb,from_period,bi_from,bi_to,own_points,case_mix_points,reference_points\n"
        f"2024-v3,fysiotherapie,{A},2024-v2,97.0,97.0,0.5,-0.25,-0.25\n",
        encoding="utf-8",
    )
    results = spiegel_portal_batch(
        data_dir,
        [
            (["add-account", "--email", "analist@zk.example"], PASSWORD + "\n"),
            (["add-account", "--email", "gebruiker@a.nl"], PASSWORD + "\n"),
            (["appoint-insurer-user", "--insurer", "zilveren_kruis", "--email", "analist@zk.example"], None),
            (["grant", "--agb", A, "--email", "gebruiker@a.nl"], None),
            (["create-token", "--email", "analist@zk.example"], None),
            (["create-token", "--email", "gebruiker@a.nl", "--days", "7"], None),
        ],
    )
    assert [r.returncode for r in results] == [0] * 6, [r.stderr for r in results]
    tokens = {"insurer": results[4].stdout.strip(), "practice": results[5].stdout.strip()}
    # the generated requests are many more than a token's default limit a minute
    with served_portal(data_dir, extra_env={"SPIEGEL_API_RATE": "100000/minute"}) as base:
        yield base, tokens


OPERATIONS = [
    "/api/v1/periods/",
    "/api/v1/periods/{period}/reference/",
    "/api/v1/periods/{period}/index/",
    "/api/v1/practices/{agb}/",
]


@pytest.fixture(scope="module")
def api_schema(api_site):
    base, _ = api_site
    return schemathesis.openapi.from_url(base + "/api/v1/schema/")


def test_the_schema_lists_exactly_the_operations_tested_here(api_schema):
    found = sorted(result.ok().path for result in api_schema.get_all_operations())
    assert found == sorted(OPERATIONS)


# (schemathesis' own pytest loader, schemathesis.pytest.from_fixture, fails on pytest 9:
# 'Function' object has no attribute '_nodeid'; its strategies with @given work)
# Generated path parameters almost never name a published period or a practice, so each
# operation is also run with the real ones fixed (and its query parameters generated).
REAL_PATH_PARAMETERS = {
    "/api/v1/periods/{period}/reference/": {"period": "2024-v3"},
    "/api/v1/periods/{period}/index/": {"period": "2024-v3"},
    "/api/v1/practices/{agb}/": {"agb": A},
}


@pytest.mark.parametrize(
    ("mode", "path", "fixed"),
    [(GenerationMode.POSITIVE, path, None) for path in OPERATIONS]
    + [(GenerationMode.POSITIVE, path, fixed) for path, fixed in REAL_PATH_PARAMETERS.items()]
    # the periods list takes no parameter at all: no request can break its schema
    + [(GenerationMode.NEGATIVE, path, None) for path in OPERATIONS if "{" in path]
    + [(GenerationMode.NEGATIVE, "/api/v1/periods/{period}/index/", {"period": "2024-v3"})],
)
def test_every_response_is_in_the_schema_and_none_is_a_server_error(api_schema, api_site, path, mode, fixed):
    base, tokens = api_site
    operation = api_schema[path]["GET"]
    statuses: list[int] = []
    # generated data that breaks the schema is to be refused (4xx), never a 5xx; the answer to
    # it need not be one the schema lists for valid requests
    checks = CHECKS if mode is GenerationMode.POSITIVE else [not_a_server_error, content_type_conformance]

    @given(case=operation.as_strategy(generation_mode=mode, path_parameters=fixed))
    @hypothesis_settings(
        max_examples=25,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    def call_as_every_caller(case):
        for token in (tokens["insurer"], tokens["practice"], None):
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            response = case.call_and_validate(base_url=base, headers=headers, checks=checks)
            statuses.append(response.status_code)

    call_as_every_caller()
    if fixed and mode is GenerationMode.POSITIVE:
        assert 200 in statuses  # the real resources were reached, not only their 404s


def test_the_schema_drives_real_requests(api_site):
    """The generated tests above reach the real data: a valid token reads the seeded rows."""
    import json
    import urllib.request

    base, tokens = api_site
    request = urllib.request.Request(
        base + "/api/v1/periods/2024-v3/index/", headers={"Authorization": f"Bearer {tokens['insurer']}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        body = json.load(response)
    assert body["count"] == 3 and {r["practice_agb"] for r in body["results"]} == {A, B}
