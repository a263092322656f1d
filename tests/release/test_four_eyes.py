"""A release by proven operators, four eyes (docs/release-four-eyes.md).

On a copy of the clean period (``clean_release``: computed, gates passed), with portal
accounts of every kind: an operator A and an operator B (staff with TOTP), a staff account
without TOTP and an ordinary account, each with a personal token.

- the tickets (orchestration/release/operators.py) in this process: signature, expiry,
  action and period, once only;
- the CLI in service mode, the real entry point in a subprocess (Django, set up for the
  data directory, belongs to that process): no token, a typed name, a non-staff token and a
  staff token without TOTP are refused; A signs off; A's publish is refused (four eyes); B
  publishes; the records name both accounts and the audit log has every step; a Dagster run
  with a typed name or a used ticket is refused; outside service mode ``--by`` still works
  and says it was not authenticated;
- over HTTP against the served portal (gunicorn) with a stand-in for the Dagster webserver
  (``StubDagster``: it checks each request against Dagster's own GraphQL schema and, where
  asked, runs the launched job with its run config, as Dagster's run launcher would):
  anonymous, non-staff, staff without TOTP and a login without its code are refused; A signs
  off from the release page, A's publish is refused with its reason, B's publish is launched
  with a ticket for B; a staff account sets TOTP up and is then asked its code.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import shutil
import struct
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from orchestration.core.settings import SpiegelPaths
from orchestration.release import operators
from orchestration.release.operators import Operator, OperatorRefused
from tests.support.served import REPO_ROOT, free_port, portal_env, served_portal

PERIOD = "2024-v1"
PASSWORD = "Operator-wachtwoord-2024"
A, B = "anna@spiegel.example", "bram@spiegel.example"
STAFF_NO_TOTP, PLAIN = "sanne@spiegel.example", "piet@praktijk.example"
GUESSED = "gerrit@spiegel.example"  # an operator whose password is known to someone guessing codes
SERVICE = {"SPIEGEL_SERVICE_MODE": "1"}
FOUR_EYES_A = (
    f"publish of {PERIOD} refused: four eyes: {A} signed this period off and may not also publish it; "
    "another operator must publish"
)


# -- helpers (the browser test uses them too) -------------------------------------------------


def totp_code(secret: str, at: float | None = None) -> str:
    """RFC 6238 (SHA-1, 6 digits, 30 s), as an authenticator app computes it."""
    counter = int((time.time() if at is None else at) // 30)
    digest = hmac.new(base64.b32decode(secret, casefold=True), struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 1_000_000:06d}"


def new_totp_secret() -> str:
    return base64.b32encode(secrets.token_bytes(20)).decode("ascii")


def copy_of_clean_period(clean_release, target: Path) -> Path:
    """The computed clean period without its release: ready to be signed off and published."""
    shutil.copytree(clean_release["data"], target, symlinks=True, ignore=shutil.ignore_patterns("releases"))
    shutil.copytree(clean_release["data"] / "releases" / "_status", target / "releases" / "_status", dirs_exist_ok=True)
    return target


_ACCOUNTS = r"""
import json, sys
from pathlib import Path
from portal import operations
data_dir = Path(sys.argv[1])
operations._setup(data_dir)
from allauth.mfa.totp.internal.auth import TOTP
from django.contrib.auth import get_user_model
tokens = {}
for account in json.loads(sys.stdin.read()):
    operations.add_account(data_dir, email=account["email"], password=account["password"])
    user = get_user_model().objects.get(email=account["email"])
    if account.get("staff"):
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    if account.get("totp"):
        TOTP.activate(user, account["totp"])
    tokens[account["email"]] = operations.create_token(data_dir, email=account["email"]).secret
print(json.dumps(tokens))
"""


def make_accounts(data_dir: Path, accounts: list[dict]) -> dict[str, str]:
    """Portal accounts (staff and TOTP as asked), each with a personal token: email -> token.
    (No command makes an account staff: an operator does that in the admin.)"""
    result = subprocess.run(
        [sys.executable, "-c", _ACCOUNTS, str(data_dir)],
        cwd=REPO_ROOT,
        env=portal_env(),
        input=json.dumps(accounts),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


_CALLS = r"""
import contextlib, io, json, sys
from orchestration import cli
results = []
for call in json.loads(sys.stdin.read()):
    if call[0] == "@run":  # a Dagster run as the launchpad or the webserver would start it
        from orchestration.core.settings import SpiegelPaths
        from orchestration.runs import runner
        from orchestration.runs.instance import use_data_dir
        _, data_dir, job, period, config = call
        use_data_dir(SpiegelPaths.from_env(data_dir))
        runner.ensure_period_partition(period)
        out = runner._execute(job, period, run_config=config, tags={"spiegel/trigger": "test"})
        results.append([0 if out.success else 1, out.run_id, out.message])
        continue
    if call[0] == "@metadata":  # what the Dagster UI shows of an asset's newest materialisation
        import dagster as dg
        from orchestration.core.settings import SpiegelPaths
        from orchestration.runs.instance import use_data_dir
        _, data_dir, asset = call
        use_data_dir(SpiegelPaths.from_env(data_dir))
        event = dg.DagsterInstance.get().get_latest_materialization_event(dg.AssetKey(asset))
        metadata = event.asset_materialization.metadata
        results.append([0, {k: str(getattr(v, "value", v)) for k, v in metadata.items()}, ""])
        continue
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = cli.main(call)
        except SystemExit as exc:
            code = exc.code
    results.append([code, out.getvalue(), err.getvalue()])
sys.__stdout__.write("\n@@RESULTS@@" + json.dumps(results))
"""


def platform_calls(calls: list[list], env: dict[str, str] | None = None, timeout: float = 900) -> list[list]:
    """``spiegel ...`` commands (argv lists) and Dagster runs (``["@run", data_dir, job, period,
    run_config]``) in one subprocess (Dagster and the definitions load once): [code, out, err]."""
    result = subprocess.run(
        [sys.executable, "-c", _CALLS],
        cwd=REPO_ROOT,
        env={**portal_env(), **(env or {})},
        input=json.dumps(calls),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0 and "@@RESULTS@@" in result.stdout, result.stderr[-3000:]
    return json.loads(result.stdout.split("@@RESULTS@@")[-1])


def audit_lines(data_dir: Path) -> list[str]:
    ((code, out, err),) = platform_calls([["portal", "audit", "--data-dir", str(data_dir)]])
    assert code == 0, err
    return out.splitlines()


def release_json(data_dir: Path, revision: str = "r1") -> dict:
    return json.loads((data_dir / "releases" / PERIOD / revision / "release.json").read_text(encoding="utf-8"))


def signoff_lines(data_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (data_dir / "signoffs.jsonl").read_text().splitlines() if line.strip()]


class StubDagster:
    """The Dagster webserver's GraphQL endpoint as the portal uses it: every request is
    validated against Dagster's own schema (dagster_graphql) and answered like Dagster
    answers a launched run; with ``execute`` the launched job then runs, in a process of its
    own in service mode, with the run config the portal sent (what Dagster's run launcher
    does with it)."""

    def __init__(self, data_dir: Path, execute: bool = True):
        from dagster_graphql.schema import create_schema

        self.schema = create_schema().graphql_schema
        self.data_dir, self.execute = data_dir, execute
        self.launches: list[dict] = []
        self.outcomes: dict[str, list] = {}
        self.threads: list[threading.Thread] = []
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"  # the webserver (SPIEGEL_DAGSTER_URL); GraphQL at /graphql
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                if self.path != "/graphql":
                    self.send_error(404)
                    return
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                answer = stub.answer(body)
                data = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def answer(self, body: dict) -> dict:
        import graphql
        from graphql.execution.values import get_variable_values

        document = graphql.parse(body["query"])
        errors = graphql.validate(self.schema, document)
        if errors:
            return {"errors": [{"message": e.message} for e in errors]}
        (operation,) = document.definitions
        coerced = get_variable_values(self.schema, operation.variable_definitions, body.get("variables") or {})
        if isinstance(coerced, list):
            return {"errors": [{"message": e.message} for e in coerced]}
        params = body["variables"]["executionParams"]
        tags = {t["key"]: t["value"] for t in params["executionMetadata"]["tags"]}
        run_id = str(uuid.uuid4())
        launch = {
            "run_id": run_id,
            "location": params["selector"]["repositoryLocationName"],
            "job": params["selector"]["jobName"],
            "period": tags["dagster/partition"],
            "tags": tags,
            "run_config": params["runConfigData"],
        }
        self.launches.append(launch)
        if self.execute:
            thread = threading.Thread(target=self._run, args=(launch,), daemon=True)
            thread.start()
            self.threads.append(thread)
        return {"data": {"launchRun": {"__typename": "LaunchRunSuccess", "run": {"runId": run_id}}}}

    def _run(self, launch: dict) -> None:
        self.outcomes[launch["run_id"]] = platform_calls(
            [["@run", str(self.data_dir), launch["job"], launch["period"], launch["run_config"]]], env=SERVICE
        )[0]

    def wait(self, timeout: float = 600) -> None:
        for thread in self.threads:
            thread.join(timeout)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# -- the tickets ------------------------------------------------------------------------------


@pytest.fixture
def paths(tmp_path):
    return SpiegelPaths(tmp_path / "data")


OPERATOR_A = Operator(A, 7, True)


def test_a_ticket_is_signed_for_one_act_on_one_period_and_redeemed_once(paths):
    ticket = operators.issue_ticket(paths, OPERATOR_A, action="signoff", period=PERIOD, comment="checked")
    key = paths.data_dir / "operators" / "ticket.key"
    assert key.stat().st_mode & 0o777 == 0o600
    read = operators.read_ticket(paths, ticket, action="signoff", period=PERIOD)
    assert (read.operator, read.comment) == (OPERATOR_A, "checked")
    with pytest.raises(OperatorRefused, match="is for sign-off of 2024-v1"):
        operators.read_ticket(paths, ticket, action="publish", period=PERIOD)
    with pytest.raises(OperatorRefused, match="is for sign-off of 2024-v1"):
        operators.read_ticket(paths, ticket, action="signoff", period="2024-v2")
    operators.redeem_ticket(paths, ticket, action="signoff", period=PERIOD)
    with pytest.raises(OperatorRefused, match="used already"):
        operators.redeem_ticket(paths, ticket, action="signoff", period=PERIOD)


def test_a_forged_changed_expired_or_long_lived_ticket_is_refused(paths):
    ticket = operators.issue_ticket(paths, OPERATOR_A, action="publish", period=PERIOD)
    prefix, body, mac = ticket.split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    claims["account_id"] = 8  # another account, same signature
    changed = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    with pytest.raises(OperatorRefused, match="no valid signature"):
        operators.read_ticket(paths, f"{prefix}.{changed}.{mac}", action="publish", period=PERIOD)
    with pytest.raises(OperatorRefused, match="not a Spiegel operator ticket"):
        operators.read_ticket(paths, "by=anna", action="publish", period=PERIOD)
    with pytest.raises(OperatorRefused, match="expired"):
        operators.read_ticket(paths, ticket, action="publish", period=PERIOD, now=time.time() + 301)
    long_lived = operators.issue_ticket(paths, OPERATOR_A, action="publish", period=PERIOD, seconds=3600)
    with pytest.raises(OperatorRefused, match="more than 10 minutes"):
        operators.read_ticket(paths, long_lived, action="publish", period=PERIOD)
    # another data directory's key signs nothing here
    other = SpiegelPaths(paths.data_dir.parent / "other")
    foreign = operators.issue_ticket(other, OPERATOR_A, action="publish", period=PERIOD)
    with pytest.raises(OperatorRefused, match="no valid signature"):
        operators.read_ticket(paths, foreign, action="publish", period=PERIOD)
    with pytest.raises(ValueError):
        operators.issue_ticket(paths, Operator.typed("anna"), action="publish", period=PERIOD)


def test_four_eyes_and_service_mode_switches(monkeypatch):
    from orchestration.core.service import four_eyes, service_mode

    monkeypatch.delenv("SPIEGEL_SERVICE_MODE", raising=False)
    monkeypatch.delenv("SPIEGEL_FOUR_EYES", raising=False)
    assert (service_mode(), four_eyes()) == (False, False)
    monkeypatch.setenv("SPIEGEL_SERVICE_MODE", "1")
    assert (service_mode(), four_eyes()) == (True, True)
    monkeypatch.setenv("SPIEGEL_FOUR_EYES", "0")  # an explicit value wins
    assert four_eyes() is False
    monkeypatch.delenv("SPIEGEL_SERVICE_MODE")
    monkeypatch.setenv("SPIEGEL_FOUR_EYES", "1")
    assert four_eyes() is True
    refusal = operators.publish_refusal(PERIOD, Operator.typed("anna"), Operator.typed("Anna "))
    assert refusal and "four eyes: anna signed this period off" in refusal
    assert operators.publish_refusal(PERIOD, Operator.typed("anna"), Operator.typed("bram")) is None
    assert "say who publishes" in operators.publish_refusal(PERIOD, Operator.typed("anna"), Operator.typed(""))
    # accounts compare by id, whatever their address says
    assert operators.publish_refusal(PERIOD, Operator("a@x", 3, True), Operator("a-new@x", 3, True))
    monkeypatch.setenv("SPIEGEL_FOUR_EYES", "maybe")
    with pytest.raises(ValueError, match="SPIEGEL_FOUR_EYES must be 0 or 1"):
        four_eyes()


# -- the CLI ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cli_world(clean_release, tmp_path_factory):
    data = copy_of_clean_period(clean_release, tmp_path_factory.mktemp("four_eyes_cli") / "data")
    tokens = make_accounts(
        data,
        [
            {"email": A, "password": PASSWORD, "staff": True, "totp": new_totp_secret()},
            {"email": B, "password": PASSWORD, "staff": True, "totp": new_totp_secret()},
            {"email": STAFF_NO_TOTP, "password": PASSWORD, "staff": True},
            {"email": PLAIN, "password": PASSWORD},
        ],
    )
    return data, tokens


def test_outside_service_mode_by_still_works_and_says_it_was_not_authenticated(clean_release):
    # clean_release signed off with `spiegel signoff --by anna` and published without a name
    (line,) = [s for s in signoff_lines(clean_release["data"]) if s["period"] == PERIOD]
    assert (line["by"], line["account"], line["account_id"], line["authenticated"]) == ("anna", "anna", None, False)
    release = json.loads((clean_release["release"] / "release.json").read_text())
    assert release["signoff"]["account"] == "anna" and release["signoff"]["authenticated"] is False
    assert release["published_by"] == {"account": "", "account_id": None, "authenticated": False}


def test_in_service_mode_only_operators_sign_off_and_another_operator_publishes(cli_world):
    data, tokens = cli_world
    d = ["--data-dir", str(data)]
    signoff = ["signoff", *d, "--period", PERIOD, "--comment", "volumes per insurer checked"]
    publish = ["publish", *d, "--period", PERIOD]
    (
        no_token,
        typed,
        plain,
        staff_without_totp,
        on_a_typed_signoff,
        by_a,
        a_publishes,
        b_publishes,
    ) = platform_calls(
        [
            signoff,
            [*signoff, "--by", "anna"],
            [*signoff, "--token", tokens[PLAIN]],
            [*signoff, "--token", tokens[STAFF_NO_TOTP]],
            [*publish, "--token", tokens[B]],  # the copy's sign-off is clean_release's `--by anna`
            [*signoff, "--token", tokens[A]],
            [*publish, "--token", tokens[A]],
            [*publish, "--token", tokens[B]],
        ],
        env=SERVICE,
    )
    assert no_token[0] == 1 and "service mode: an operator's personal token is needed" in no_token[2], no_token
    assert typed[0] == 1 and "--by is a typed name and is not accepted" in typed[2], typed
    assert plain[0] == 1 and f"{PLAIN} is not an operator: the account is not one of the portal's staff" in plain[2]
    assert staff_without_totp[0] == 1 and "has no second factor (TOTP)" in staff_without_totp[2], staff_without_totp
    assert on_a_typed_signoff[0] == 1, on_a_typed_signoff
    assert "its sign-off (by anna) was not made by an authenticated operator" in on_a_typed_signoff[2]
    assert by_a[0] == 0, by_a
    assert f"signed off by {A} (authenticated account" in by_a[1]
    assert a_publishes[0] == 1 and FOUR_EYES_A in a_publishes[2], a_publishes
    assert b_publishes[0] == 0, b_publishes

    newest = signoff_lines(data)[-1]
    assert (newest["account"], newest["authenticated"], newest["comment"]) == (A, True, "volumes per insurer checked")
    assert isinstance(newest["account_id"], int) and {d["insurer"] for d in newest["deliveries"]}
    release = release_json(data)
    assert release["signoff"]["account"] == A and release["signoff"]["authenticated"] is True
    assert release["signoff"]["signoff_id"] == newest["signoff_id"]
    assert release["published_by"]["account"] == B and release["published_by"]["authenticated"] is True
    assert release["published_by"]["account_id"] != newest["account_id"]

    used = [json.loads(line) for line in (data / "operators" / "used_tickets.jsonl").read_text().splitlines()]
    assert [(u["action"], u["account"]) for u in used] == [
        ("publish", B),
        ("signoff", A),
        ("publish", A),
        ("publish", B),
    ]

    lines = audit_lines(data)
    steps = [(m.group(1), m.group(2)) for m in (re.search(r" (\w+) agb=- by=(\S+)", line) for line in lines) if m]
    release_steps = [s for s in steps if s[0] in RELEASE_ACTIONS]
    assert release_steps == [
        ("operator_refused", PLAIN),
        ("operator_refused", STAFF_NO_TOTP),
        ("publish_requested", B),
        ("publish_refused", B),
        ("signoff_requested", A),
        ("signoff_recorded", A),
        ("publish_requested", A),
        ("publish_refused", A),
        ("publish_requested", B),
        ("published", B),
    ], lines
    assert any("publish_refused" in line and "four eyes" in line for line in lines)
    assert all("subject=periode 2024-v1" in line for line in lines if any(a in line for a in RELEASE_ACTIONS))

    # the Dagster UI shows who signed and who published, and links to the release page
    readiness, signed, released = (
        result[1]
        for result in platform_calls(
            [["@metadata", str(data), asset] for asset in ("release_readiness", "signoff", "release")]
        )
    )
    assert readiness["release page"] == "http://127.0.0.1:8000/beheer/vrijgave/2024-v1/"
    assert (signed["signed off by"], signed["authenticated"]) == (A, "True")
    assert (released["published by"], released["signed off by"], released["authenticated"]) == (B, A, "True")
    assert released["release page"] == readiness["release page"]


RELEASE_ACTIONS = {
    "operator_refused",
    "signoff_requested",
    "signoff_recorded",
    "signoff_refused",
    "publish_requested",
    "publish_refused",
    "published",
}


def test_a_dagster_run_needs_a_fresh_ticket_in_service_mode(cli_world):
    """The launchpad (or anyone reaching the webserver) with a typed name, or a ticket that was
    used already, is refused by the step itself."""
    data, _ = cli_world
    paths = SpiegelPaths(data)
    before = signoff_lines(data) if (data / "signoffs.jsonl").exists() else []
    replayed = operators.issue_ticket(paths, OPERATOR_A, action="signoff", period=PERIOD, comment="again")
    operators.redeem_ticket(paths, replayed, action="signoff", period=PERIOD)
    typed, used_again = platform_calls(
        [
            ["@run", str(data), "sign_off", PERIOD, {"ops": {"signoff": {"config": {"by": "anna", "comment": "x"}}}}],
            ["@run", str(data), "sign_off", PERIOD, {"ops": {"signoff": {"config": {"ticket": replayed}}}}],
        ],
        env=SERVICE,
    )
    assert typed[0] == 1 and "service mode: only an authenticated operator may sign off" in typed[2], typed
    assert used_again[0] == 1 and "the operator ticket was used already" in used_again[2], used_again
    assert signoff_lines(data) == before  # nothing recorded


# -- over HTTP: the portal's release page -----------------------------------------------------


class Browserless:
    """A ``requests`` session against the served portal: forms with their CSRF token."""

    def __init__(self, base: str):
        import requests

        self.base = base
        self.session = requests.Session()

    def get(self, path: str, **kwargs):
        return self.session.get(self.base + path, allow_redirects=False, timeout=30, **kwargs)

    def post(self, path: str, data: dict | None = None, referer: str | None = None):
        token = self.session.cookies.get("csrftoken")
        if token is None:
            self.get("/accounts/login/")
            token = self.session.cookies.get("csrftoken")
        return self.session.post(
            self.base + path,
            data={**(data or {}), "csrfmiddlewaretoken": token},
            headers={"Referer": self.base + (referer or path)},
            allow_redirects=False,
            timeout=60,
        )

    def log_in(self, email: str, password: str = PASSWORD, secret: str | None = None, next_path: str = ""):
        self.get("/accounts/login/")
        login = "/accounts/login/" + (f"?next={next_path}" if next_path else "")
        response = self.post(login, {"login": email, "password": password})
        assert response.status_code == 302, response.text[-2000:]
        if secret is not None:
            assert response.headers["Location"].startswith("/accounts/2fa/authenticate/"), response.headers
            response = self.post("/accounts/2fa/authenticate/", {"code": totp_code(secret)})
            assert response.status_code == 302, response.text[-2000:]
        return response


def release_page(period: str = PERIOD) -> str:
    return f"/beheer/vrijgave/{period}/"


@pytest.fixture(scope="module")
def http_world(clean_release, tmp_path_factory):
    data = copy_of_clean_period(clean_release, tmp_path_factory.mktemp("four_eyes_http") / "data")
    secrets_ = {A: new_totp_secret(), B: new_totp_secret(), GUESSED: new_totp_secret()}
    make_accounts(
        data,
        [
            {"email": A, "password": PASSWORD, "staff": True, "totp": secrets_[A]},
            {"email": B, "password": PASSWORD, "staff": True, "totp": secrets_[B]},
            {"email": GUESSED, "password": PASSWORD, "staff": True, "totp": secrets_[GUESSED]},
            {"email": STAFF_NO_TOTP, "password": PASSWORD, "staff": True},
            {"email": PLAIN, "password": PASSWORD},
        ],
    )
    dagster = StubDagster(data)
    env = {**SERVICE, "SPIEGEL_DAGSTER_URL": dagster.url}
    try:
        with served_portal(data, workers=1, extra_env=env) as base:
            yield data, base, secrets_, dagster
    finally:
        dagster.close()


def test_anonymous_non_staff_and_staff_without_a_second_factor_are_refused(http_world):
    data, base, secrets_, dagster = http_world
    anonymous = Browserless(base)
    page = anonymous.get(release_page())
    assert page.status_code == 302 and page.headers["Location"].startswith("/accounts/login/?next=/beheer/vrijgave/")
    assert anonymous.post(release_page() + "aftekenen/", {"comment": "x"}).status_code in (302, 403)

    plain = Browserless(base)
    plain.log_in(PLAIN)
    assert plain.get("/beheer/vrijgave/").status_code == 404
    assert plain.get(release_page()).status_code == 404
    assert plain.post(release_page() + "aftekenen/", {"comment": "x"}).status_code == 404
    assert plain.post(release_page() + "publiceren/").status_code == 404

    staff = Browserless(base)
    staff.log_in(STAFF_NO_TOTP)  # no TOTP: allauth asks no code, the staff pages send it to set one up
    for response in (staff.get(release_page()), staff.post(release_page() + "aftekenen/", {"comment": "x"})):
        assert response.status_code == 302 and response.headers["Location"] == "/accounts/2fa/totp/activate/"
    admin = staff.get("/admin/")
    assert admin.status_code == 302
    assert staff.get(admin.headers["Location"]).headers["Location"] == "/accounts/2fa/totp/activate/"

    # an operator's password without the code is no login: the code page, and nothing else
    halfway = Browserless(base)
    response = halfway.post("/accounts/login/", {"login": A, "password": PASSWORD})
    assert response.headers["Location"].startswith("/accounts/2fa/authenticate/")
    assert halfway.get(release_page()).headers["Location"].startswith("/accounts/login/")
    # ... nor is the admin's own password form: in service mode it sends to the portal's login
    admin_login = halfway.get("/admin/login/?next=/admin/")
    assert admin_login.status_code == 302 and admin_login.headers["Location"].startswith("/accounts/login/")
    wrong = Browserless(base)
    wrong.post("/accounts/login/", {"login": B, "password": PASSWORD})
    bad_code = "000000" if totp_code(secrets_[B]) != "000000" else "111111"
    assert wrong.post("/accounts/2fa/authenticate/", {"code": bad_code}).status_code == 200  # asked again
    assert wrong.get(release_page()).status_code == 302
    assert dagster.launches == []
    lines = audit_lines(data)
    assert any(" mfa_failed " in line and f"by={B}" in line for line in lines)
    assert any(" denied " in line and f"by={PLAIN}" in line and "/beheer/vrijgave/" in line for line in lines)
    assert any(" operator_refused " in line and f"by={STAFF_NO_TOTP}" in line for line in lines)


def test_operator_a_signs_off_a_may_not_publish_b_publishes(http_world):
    data, base, secrets_, dagster = http_world
    a = Browserless(base)
    a.log_in(A, secret=secrets_[A])
    page = a.get(release_page())
    assert page.status_code == 200, page.text[-2000:]
    assert 'data-verdict="ready"' in page.text and "/assets/release_readiness" in page.text
    overview = a.get("/beheer/vrijgave/")
    assert overview.status_code == 200 and f'<tr data-period="{PERIOD}">' in overview.text
    assert a.get("/admin/").status_code == 200  # the admin too, with the second factor
    assert a.post(release_page() + "aftekenen/", {"comment": ""}).status_code == 302
    assert dagster.launches == []  # a sign-off needs a comment
    response = a.post(release_page() + "aftekenen/", {"comment": "Volumes per verzekeraar gecontroleerd"})
    assert response.status_code == 302 and response.headers["Location"] == release_page()
    (launch,) = dagster.launches
    assert (launch["location"], launch["job"], launch["period"]) == ("spiegel", "sign_off", PERIOD)
    assert launch["tags"]["spiegel/operator"] == A
    config = launch["run_config"]["ops"]["signoff"]["config"]
    assert config["comment"] == "Volumes per verzekeraar gecontroleerd"
    dagster.wait()
    assert dagster.outcomes[launch["run_id"]][0] == 0, dagster.outcomes
    newest = signoff_lines(data)[-1]
    assert (newest["account"], newest["authenticated"], newest["comment"]) == (
        A,
        True,
        "Volumes per verzekeraar gecontroleerd",
    )
    page = a.get(release_page())
    assert f'data-account="{A}" data-authenticated="true"' in page.text
    assert "Vier ogen: u heeft deze periode zelf afgetekend" in page.text

    refused = a.post(release_page() + "publiceren/")
    assert refused.status_code == 302
    page = a.get(release_page())
    assert "Publiceren geweigerd (vier ogen): u heeft deze periode zelf afgetekend." in page.text
    assert len(dagster.launches) == 1  # nothing launched

    b = Browserless(base)
    b.log_in(B, secret=secrets_[B])
    dagster.execute = False  # the publish run itself (with its reports) runs in the CLI test and the browser test
    assert b.post(release_page() + "publiceren/").status_code == 302
    publish = dagster.launches[-1]
    assert (publish["job"], publish["tags"]["spiegel/operator"]) == ("publish_release", B)
    ticket = operators.read_ticket(
        SpiegelPaths(data), publish["run_config"]["ops"]["release"]["config"]["ticket"], action="publish", period=PERIOD
    )
    assert ticket.account == B and ticket.account_id != newest["account_id"]
    assert "run " + publish["run_id"][:8] in b.get(release_page()).text

    lines = audit_lines(data)
    assert any(" signoff_requested " in line and f"by={A}" in line and "run " in line for line in lines)
    assert any(" signoff_recorded " in line and f"by={A}" in line for line in lines)
    assert any(" publish_refused " in line and f"by={A}" in line and "four eyes" in line for line in lines)
    assert any(" publish_requested " in line and f"by={B}" in line for line in lines)


def test_staff_sets_up_totp_and_is_then_asked_for_its_code(http_world):
    data, base, _, dagster = http_world
    staff = Browserless(base)
    staff.log_in(STAFF_NO_TOTP)
    # however fresh the login, the password is asked again before a second factor is set up
    asked = staff.get("/accounts/2fa/totp/activate/")
    assert asked.status_code == 302 and asked.headers["Location"].startswith("/accounts/reauthenticate/?next=")
    assert staff.post(asked.headers["Location"], {"password": "Niet-het-wachtwoord-1"}).status_code == 200  # again
    assert staff.get("/accounts/2fa/totp/activate/").status_code == 302
    assert staff.post(asked.headers["Location"], {"password": PASSWORD}).status_code == 302
    form = staff.get("/accounts/2fa/totp/activate/")
    assert form.status_code == 200, form.text[-2000:]
    main = re.sub(r"(?s)<(script|style)\b.*?</\1>|<[^>]+>", " ", form.text.split("<main", 1)[1].split("</main>")[0])
    assert not re.search(r"\b(je|jij|jou|jouw)\b", main, re.I), main  # allauth's page in the portal's formal Dutch
    field = re.search(r'<input[^>]*id="authenticator_secret"[^>]*>', form.text)[0]
    secret = re.search(r'value="([A-Z2-7]+)"', field)[1]
    assert staff.post("/accounts/2fa/totp/activate/", {"code": totp_code(secret)}).status_code == 302
    # the session began without the second factor: asked for the code, then in
    page = staff.get(release_page())
    assert page.status_code == 302 and page.headers["Location"].startswith("/accounts/2fa/reauthenticate/")
    answered = staff.post(page.headers["Location"], {"code": totp_code(secret)})
    assert answered.status_code == 302 and answered.headers["Location"] == release_page()
    assert staff.get(release_page()).status_code == 200


def test_guessing_codes_locks_the_second_factor_for_a_while(http_world):
    data, base, secrets_, dagster = http_world
    guesser = Browserless(base)
    guesser.post("/accounts/login/", {"login": GUESSED, "password": PASSWORD})
    right = totp_code(secrets_[GUESSED])
    wrong = [f"{n:06d}" for n in range(1000000) if f"{n:06d}" != right][:5]
    for code in wrong:
        assert guesser.post("/accounts/2fa/authenticate/", {"code": code}).status_code == 200
    locked = guesser.post("/accounts/2fa/authenticate/", {"code": right})  # even the right one, for now
    assert locked.status_code == 200 and "Te veel onjuiste codes." in locked.text
    assert guesser.get(release_page()).headers["Location"].startswith("/accounts/login/")
    lines = [line for line in audit_lines(data) if " mfa_failed " in line and f"by={GUESSED}" in line]
    assert len(lines) == 6 and "wrong code (5 of 5)" in lines[4] and "locked" in lines[5], lines
