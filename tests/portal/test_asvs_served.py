"""OWASP ASVS 4.0.3 level 2 over HTTP: the portal as ``spiegel portal serve`` runs it (gunicorn,
WhiteNoise, the whole middleware stack) on a data directory of this module's own
(docs/security.md). The logic-only items are in test_asvs.py.

- V14.4 headers on every kind of response: public, account, practice pages and reports, the
  insurer page, API JSON and docs, static files, the favicon, 404, the admin; behind TLS
  (``SPIEGEL_PORTAL_HTTPS=1``) also HSTS and ``__Host-`` cookies; no version banner.
- V2 no account enumeration: login, sign-up and password reset answer an unknown address as a
  known one; a mailed reset link (read from the served portal's mail files) works once, and a
  link older than the reset timeout (made by the portal's own code, back-dated) is refused.
- V4 access: nothing of another practice (the 404 of a practice that does not exist), no
  report for an insurer user, no insurer page for a practice user, the API within the
  caller's rows, nothing without a login.
- V2.2.1 behind a trusted proxy, five wrong passwords lock out the account (from any address)
  and the visitor's address (for any account); everyone else still logs in.
- V8.3.2 an account exports its own data (nothing of another) and deletes itself with its
  password, which logs it out everywhere.
- V3 the session cookie changes at login and is dead after logout; one session of an account
  ends another (listed without its key), another account cannot.
- V5/V13 limits: an oversized body, too many fields, an over-long URL or header get 4xx, never 5xx.
- V13/V14.5 the API: JSON errors, only GET/HEAD/OPTIONS, 406 for a format it does not make,
  no token from a query string, no CORS; the pages refuse methods they do not take.
- V7 no password, token, session id or reset key in the server's log or the audit log.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.support.release_factory import index_row, make_release
from tests.support.served import (
    REPO_ROOT,
    portal_env,
    portal_mails,
    served_portal,
    spiegel_portal,
    spiegel_portal_batch,
)

A, B = "12345678", "87654321"
PERIOD = "2024-v3"
USER, USER_PASSWORD = "therapeut@fysio-a.nl", "Gebruiker-wachtwoord-2024"
INSURER, INSURER_PASSWORD = "inkoop@cz.nl", "Inkoop-wachtwoord-2024"
WRONG_PASSWORD = "Verkeerd-wachtwoord-77"


def build_site(data_dir: Path) -> str:
    """Two practices in one published period, a user of A, an insurer user; returns A's user's token."""
    releases = data_dir / "releases"
    releases.mkdir(parents=True)
    make_release(
        releases,
        PERIOD,
        "r1",
        [index_row(PERIOD, "fysiotherapie", A, index=97.0), index_row(PERIOD, "fysiotherapie", B, index=105.0)],
    )
    results = spiegel_portal_batch(
        data_dir,
        [
            (["add-account", "--email", USER], USER_PASSWORD + "\n"),
            (["grant", "--agb", A, "--email", USER], None),
            (["add-account", "--email", INSURER], INSURER_PASSWORD + "\n"),
            (["appoint-insurer-user", "--insurer", "cz", "--email", INSURER], None),
            (["create-token", "--email", USER], None),
        ],
    )
    assert [r.returncode for r in results] == [0] * 5, [r.stderr for r in results]
    return results[-1].stdout.strip()


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("asvs") / "data"
    token = build_site(data_dir)
    with served_portal(data_dir, workers=1) as base:
        yield data_dir, base, token


class Visitor:
    """A ``requests`` session that fills in forms with their CSRF token, as a browser would."""

    def __init__(self, base: str, cookie_prefix: str = "", **headers: str):
        self.base, self.prefix = base, cookie_prefix
        self.session = requests.Session()
        # a fresh connection per request: reusing a kept-alive one races gunicorn closing it when
        # idle (seen on a busy machine: "Remote end closed connection without response")
        self.session.headers.update({"Connection": "close", **headers})

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.session.get(self.base + path, allow_redirects=False, timeout=30, **kwargs)

    def csrf(self) -> str:
        token = self.session.cookies.get(self.prefix + "csrftoken")
        if token is None:
            self.get("/accounts/login/")
            token = self.session.cookies.get(self.prefix + "csrftoken")
        return token

    def post(self, path: str, data: dict | None = None, **kwargs) -> requests.Response:
        return self.session.post(
            self.base + path,
            data={**(data or {}), "csrfmiddlewaretoken": self.csrf()},
            headers={"Referer": self.base + path, **kwargs.pop("headers", {})},
            allow_redirects=False,
            timeout=30,
            **kwargs,
        )

    def log_in(self, email: str, password: str) -> requests.Response:
        response = self.post("/accounts/login/", {"login": email, "password": password})
        assert response.status_code == 302, response.text[-1500:]
        return response

    def session_id(self) -> str | None:
        return self.session.cookies.get(self.prefix + "sessionid")


def _static_url(base: str) -> str:
    home = requests.get(base + "/", timeout=30).text
    return re.search(r'href="(/static/portal/portal[^"]*\.css)"', home)[1]


# which responses may carry inline styles (third-party HTML: the admin, DRF, Swagger UI,
# Redoc, the plotly report); every other response gets the strict policy
THIRD_PARTY_PAGES = {"report html", "api docs", "api redoc", "api browsable", "admin login"}


def _kinds_of_response(base: str, token: str) -> dict[str, tuple[Visitor, str]]:
    anonymous = Visitor(base)
    user = Visitor(base)
    user.log_in(USER, USER_PASSWORD)
    insurer = Visitor(base)
    insurer.log_in(INSURER, INSURER_PASSWORD)
    api = Visitor(base, Authorization=f"Bearer {token}")
    return {
        "home": (anonymous, "/"),
        "calendar": (anonymous, "/kalender/"),
        "method": (anonymous, "/methode/"),
        "contact": (anonymous, "/contact/"),
        "labels": (anonymous, "/labels/"),
        "login": (anonymous, "/accounts/login/"),
        "signup": (anonymous, "/accounts/signup/"),
        "password reset": (anonymous, "/accounts/password/reset/"),
        "404": (anonymous, "/bestaat-niet/"),
        "static": (anonymous, _static_url(base)),
        "favicon": (anonymous, "/favicon.ico"),
        "admin login": (anonymous, "/admin/login/"),
        "practices": (user, "/praktijk/"),
        "practice": (user, f"/praktijk/{A}/"),
        "report pdf": (user, f"/praktijk/{A}/{PERIOD}/fysiotherapie.pdf"),
        "report html": (user, f"/praktijk/{A}/{PERIOD}/fysiotherapie.html"),
        "report script": (user, f"/praktijk/{A}/{PERIOD}/spiegel.js"),
        "practice 404": (user, f"/praktijk/{B}/"),
        "tokens": (user, "/accounts/tokens/"),
        "insurer": (insurer, "/verzekeraar/"),
        "api json": (api, f"/api/v1/periods/{PERIOD}/index/"),
        "api csv": (api, f"/api/v1/periods/{PERIOD}/index/?format=csv"),
        "api 404": (api, "/api/v1/practices/99999999/"),
        "api 401": (anonymous, f"/api/v1/periods/{PERIOD}/index/"),
        "api schema": (anonymous, "/api/v1/schema/"),
        "api docs": (anonymous, "/api/v1/docs/"),
        "api redoc": (anonymous, "/api/v1/redoc/"),
        "api browsable": (user, "/api/v1/periods/?format=api"),
    }


def test_every_kind_of_response_carries_the_security_headers(site):
    _, base, token = site
    seen = {}
    for kind, (visitor, path) in _kinds_of_response(base, token).items():
        response = visitor.get(path)
        headers = response.headers
        seen[kind] = response.status_code
        assert response.status_code < 500, (kind, path)
        csp = headers.get("Content-Security-Policy", "")
        directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
        assert directives["frame-ancestors"] == "'none'", kind
        assert directives["script-src"] == "'self'", kind  # never inline script, never eval
        assert directives["object-src"] == "'none'" and directives["base-uri"] == "'none'", kind
        inline_styles = "'unsafe-inline'" in directives["style-src"]
        assert inline_styles == (kind in THIRD_PARTY_PAGES), (kind, csp)
        assert headers["X-Frame-Options"] == "DENY", kind
        assert headers["X-Content-Type-Options"] == "nosniff", kind
        assert headers["Referrer-Policy"] == "same-origin", kind
        assert headers["Cross-Origin-Opener-Policy"] == "same-origin", kind
        assert headers["Cross-Origin-Resource-Policy"] == "same-origin", kind
        assert "camera=()" in headers["Permissions-Policy"] and "geolocation=()" in headers["Permissions-Policy"]
        assert "Strict-Transport-Security" not in headers, kind  # plain http: HSTS only behind TLS
        # V14.3.3: no version of gunicorn, Django or Python anywhere in the headers
        assert headers.get("Server") == "gunicorn", kind
        assert "X-Powered-By" not in headers
        assert not re.search(
            r"\d+\.\d+",
            " ".join(
                f"{k} {v}"
                for k, v in headers.items()
                if k != "Date"
                and k not in ("Content-Length", "Last-Modified", "Expires", "ETag", "Content-Disposition", "Set-Cookie")
            ),
        )
        # V14.4.1: a content type, with its character set for text
        content_type = headers["Content-Type"]
        if content_type.startswith("text/") or "json" in content_type:
            assert re.search(r'charset="?utf-8', content_type, re.I) or content_type == "application/json", kind
        if visitor.session_id():  # V8.2.1: what an account reads is not kept by any cache
            cache = headers.get("Cache-Control", "")
            assert "private" in cache or "no-store" in cache, (kind, cache)
    assert seen["home"] == seen["practice"] == seen["api json"] == seen["static"] == 200
    assert seen["404"] == seen["practice 404"] == seen["api 404"] == 404 and seen["api 401"] == 401


def test_api_answers_are_files_and_json_errors_say_so(site):
    _, base, token = site
    api = Visitor(base, Authorization=f"Bearer {token}")
    for path in (f"/api/v1/periods/{PERIOD}/index/", "/api/v1/practices/99999999/", "/api/v1/zomaar/"):
        response = api.get(path)
        assert response.headers["Content-Type"] == "application/json", path
        assert response.headers["Content-Disposition"] == 'attachment; filename="api.json"', path
        assert isinstance(response.json(), dict), path
    csv = api.get(f"/api/v1/periods/{PERIOD}/index/", headers={"Accept": "text/csv"})
    assert csv.headers["Content-Disposition"] == 'attachment; filename="api.csv"'
    # V13.1.5: a format the API does not make is 406, in JSON
    xml = api.get(f"/api/v1/periods/{PERIOD}/index/", headers={"Accept": "application/xml"})
    assert xml.status_code == 406 and xml.headers["Content-Type"] == "application/json" and "detail" in xml.json()


def test_the_api_takes_only_get_and_no_token_from_the_url(site):
    data_dir, base, token = site
    api = Visitor(base, Authorization=f"Bearer {token}")
    paths = ["/api/v1/periods/", f"/api/v1/periods/{PERIOD}/index/", f"/api/v1/practices/{A}/"]
    for path in paths:
        for method in ("POST", "PUT", "PATCH", "DELETE"):
            response = api.session.request(
                method, base + path, json={"status": "ok"}, timeout=30, allow_redirects=False
            )
            assert response.status_code == 405, (method, path)
            assert response.headers["Content-Type"] == "application/json" and "detail" in response.json()
            assert "GET" in response.headers["Allow"] and "POST" not in response.headers["Allow"]
        assert api.session.request("TRACE", base + path, timeout=30).status_code in (400, 405)
    # V13.1.3 / V8.3.1: a token is read from the Authorization header only
    for parameter in ("token", "access_token", "api_key", "bearer"):
        response = requests.get(f"{base}/api/v1/periods/{PERIOD}/index/?{parameter}={token}", timeout=30)
        assert response.status_code == 401, parameter
        assert response.headers["WWW-Authenticate"] == 'Bearer realm="api"'
    # V4.2.1: the token's owner reads A; B and an unknown practice are the same 404
    assert api.get(f"/api/v1/practices/{A}/").status_code == 200
    assert api.get(f"/api/v1/practices/{B}/").json() == api.get("/api/v1/practices/99999999/").json()
    assert api.get(f"/api/v1/practices/{B}/").status_code == 404
    assert api.get(f"/api/v1/periods/{PERIOD}/index/?practice_agb={B}").json()["results"] == []
    rows = api.get(f"/api/v1/periods/{PERIOD}/index/?practice_agb={B}&practice_agb={A}").json()["results"]
    assert {row["practice_agb"] for row in rows} <= {A}  # V5.1.1: a repeated parameter leaks nothing


def test_cors_is_not_open(site):
    _, base, token = site
    evil = "https://kwaad.example"
    preflight = requests.options(
        f"{base}/api/v1/periods/",
        headers={
            "Origin": evil,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization",
        },
        timeout=30,
    )
    assert preflight.status_code in (200, 405)
    cross = requests.get(
        f"{base}/api/v1/periods/{PERIOD}/index/",
        headers={"Origin": evil, "Authorization": f"Bearer {token}"},
        timeout=30,
    )
    for response in (preflight, cross):
        assert not [h for h in response.headers if h.lower().startswith("access-control-")], response.headers
    for origin in ("null", evil):  # V14.5.2: a cookie-bearing form from another origin is refused
        visitor = Visitor(base)
        token = visitor.csrf()
        refused = visitor.session.post(
            base + "/accounts/login/",
            data={"login": USER, "password": USER_PASSWORD, "csrfmiddlewaretoken": token},
            headers={"Origin": origin},
            allow_redirects=False,
            timeout=30,
        )
        assert refused.status_code == 403, origin


def test_pages_refuse_the_methods_they_do_not_take(site):
    data_dir, base, _ = site
    user = Visitor(base)
    user.log_in(USER, USER_PASSWORD)
    token = user.csrf()
    for path in ("/", "/kalender/", "/methode/", f"/praktijk/{A}/", f"/praktijk/{A}/{PERIOD}/fysiotherapie.pdf"):
        for method in ("PUT", "DELETE", "PATCH"):
            response = user.session.request(
                method,
                base + path,
                headers={"X-CSRFToken": token, "Referer": base + path},
                timeout=30,
                allow_redirects=False,
            )
            assert response.status_code == 405, (method, path)
        # a POST with a valid CSRF token where only GET is served
        posted = user.session.post(
            base + path,
            data={"csrfmiddlewaretoken": token},
            headers={"Referer": base + path},
            timeout=30,
            allow_redirects=False,
        )
        assert posted.status_code == 405, path
    # each refusal is logged as an invalid request, with its method and path (V14.5.1)
    log = (data_dir / "serve.log").read_text()
    for path in ("/kalender/", f"/praktijk/{A}/{PERIOD}/fysiotherapie.pdf"):
        for method in ("PUT", "DELETE", "PATCH", "POST"):
            assert f"Method Not Allowed ({method}): {path}" in log, (method, path)


def test_oversized_requests_are_refused_without_a_server_error(site):
    data_dir, base, _ = site
    visitor = Visitor(base)
    # refused by Django before the form is read (DATA_UPLOAD_MAX_*): its plain 400, not the form's
    too_big = visitor.post("/contact/", {"message": "x" * (300 * 1024)})
    assert too_big.status_code == 400 and "<form" not in too_big.text, too_big.text[:300]
    too_many = visitor.post("/contact/", {f"veld{n}": "1" for n in range(1100)})
    assert too_many.status_code == 400 and "<form" not in too_many.text
    long_url = requests.get(base + "/" + "a" * 9000, timeout=30)
    assert 400 <= long_url.status_code < 500
    long_header = requests.get(base + "/", headers={"X-Veel": "b" * 10000}, timeout=30)
    assert 400 <= long_header.status_code < 500
    # a field over its max_length is the form's error, nothing stored
    contact = visitor.post(
        "/contact/",
        {"topic": "account", "name": "n" * 201, "email": "a@b.nl", "subject": "s", "message": "m" * 5001},
    )
    assert contact.status_code == 400 and "<form" in contact.text and "tekens" in contact.text
    assert requests.get(base + "/", timeout=30).status_code == 200  # still serving
    log = (data_dir / "serve.log").read_text()
    assert '" 500 ' not in log  # (Django logs the refusals themselves: django.security, V7.1.3)
    assert "RequestDataTooBig" in log and "TooManyFieldsSent" in log


def test_the_session_id_changes_at_login_and_is_dead_after_logout(site):
    _, base, _ = site
    visitor = Visitor(base)
    visitor.post("/accounts/login/", {"login": USER, "password": WRONG_PASSWORD})
    before = visitor.session_id()
    visitor.log_in(USER, USER_PASSWORD)
    after = visitor.session_id()
    assert after and after != before
    assert visitor.get(f"/praktijk/{A}/").status_code == 200
    cookie = next(c for c in visitor.session.cookies if c.name == "sessionid")
    assert cookie.has_nonstandard_attr("HttpOnly") and cookie.expires is None  # gone at browser close
    logout = visitor.post("/accounts/logout/")
    assert logout.status_code == 302
    assert logout.headers["Clear-Site-Data"] == '"cache", "storage"'
    replay = requests.get(f"{base}/praktijk/{A}/", cookies={"sessionid": after}, allow_redirects=False, timeout=30)
    assert replay.status_code == 302 and replay.headers["Location"].startswith("/accounts/login/")


def test_no_secret_reaches_the_logs(site):
    data_dir, base, token = site
    visitor = Visitor(base)
    visitor.post("/accounts/login/", {"login": USER, "password": WRONG_PASSWORD})
    visitor.log_in(USER, USER_PASSWORD)
    session_id = visitor.session_id()
    assert visitor.post("/accounts/reauthenticate/", {"password": USER_PASSWORD}).status_code == 302
    page = visitor.post("/accounts/tokens/", {"action": "create", "name": "logtest", "days": "7"})
    (new_token,) = set(re.findall(r"spg_[0-9a-f]{8}_[A-Za-z0-9_-]{40}", page.text))  # shown once
    for secret in (token, new_token):
        assert (
            requests.get(
                f"{base}/api/v1/periods/{PERIOD}/index/", headers={"Authorization": f"Bearer {secret}"}, timeout=30
            ).status_code
            == 200
        )
        requests.get(f"{base}/api/v1/periods/?token={secret}", timeout=30)  # by mistake in the URL
    requests.get(f"{base}/api/v1/periods/", headers={"Authorization": "Bearer sp_fout_ongeldig"}, timeout=30)
    # a password reset, with its key in the URL of the mail
    anonymous = Visitor(base)
    anonymous.post("/accounts/password/reset/", {"email": USER})
    mails = "".join(_mails_to(data_dir, USER))
    key_url = re.findall(r"http://[^/\s]+(/accounts/password/reset/key/[^\s]+/)", mails)[-1]
    key = key_url.rstrip("/").rsplit("/", 1)[1]
    anonymous.get(key_url)
    # a POST of a password to a page that does not exist: the 404 does not echo it
    lost = visitor.post("/bestaat-niet/", {"password": USER_PASSWORD})
    assert USER_PASSWORD not in lost.text
    secrets_ = {
        "password": USER_PASSWORD,
        "wrong password": WRONG_PASSWORD,
        "token": token,
        "new token": new_token,
        # spg_<prefix>_<secret>: the secret's own alphabet has "_", so split from the left
        "token secret part": token.split("_", 2)[2][:20],
        "session id": session_id,
        "csrf token": visitor.csrf(),
        "reset key": key,
    }
    audit = spiegel_portal(data_dir, "audit")
    assert audit.returncode == 0
    log = (data_dir / "serve.log").read_text()
    assert " login " in audit.stdout and " api_call " in audit.stdout and " token_refused " in audit.stdout
    assert "/api/v1/periods/?token=[redacted]" in log and "/accounts/password/reset/key/[redacted]/" in log
    for name, secret in secrets_.items():
        assert secret not in log, name
        assert secret not in audit.stdout, name


def _page(response: requests.Response, *addresses: str) -> str:
    """The body without its CSRF token (masked differently in every response) and with the
    typed addresses as ADDRESS: what tells one answer from another, if anything does."""
    text = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", response.text)
    for address in addresses:
        text = text.replace(address, "ADDRESS")
    return text


def _mails_to(data_dir: Path, address: str) -> list[str]:
    """The mails the served portal wrote (its file backend, DIR/portal/mail) to ``address``."""
    return [message.as_string() for message in portal_mails(data_dir) if message["To"] == address]


def _add_account(data_dir: Path, address: str, password: str = USER_PASSWORD) -> None:
    """An account of its own for a test that changes it (``spiegel portal add-account``)."""
    added = spiegel_portal(data_dir, "add-account", "--email", address, stdin=password + "\n")
    assert added.returncode == 0, added.stderr


def test_login_sign_up_and_reset_answer_an_unknown_address_as_a_known_one(site):
    data_dir, base, _ = site
    unknown = "niemand@fysio-z.nl"
    # login: a wrong password for an account and any password for no account, the same page
    login = {
        address: Visitor(base).post("/accounts/login/", {"login": address, "password": WRONG_PASSWORD})
        for address in (USER, unknown)
    }
    assert login[USER].status_code == login[unknown].status_code == 200
    assert _page(login[USER], USER) == _page(login[unknown], unknown)
    assert "Het opgegeven e-mailadres en/of wachtwoord is niet juist." in login[unknown].text
    Visitor(base).log_in(USER, USER_PASSWORD)  # a success clears the failures (django-axes)
    # sign-up: a taken address gets the same answer as a new one, and no second account
    fields = {"password1": "Een-nieuw-wachtwoord-1", "password2": "Een-nieuw-wachtwoord-1", "consent": "on"}
    new_address = "nieuw@fysio-z.nl"
    answers = {}
    for address in (USER, new_address):
        visitor = Visitor(base)
        sent = visitor.post("/accounts/signup/", {"email": address, **fields})
        assert sent.status_code == 302, sent.text[-1500:]
        answers[address] = (sent.headers["Location"], _page(visitor.get(sent.headers["Location"]), address))
    assert answers[USER] == answers[new_address]
    # the owner is told, with the way to a new password (not a reset key) and nothing to confirm
    (to_owner,) = [m for m in _mails_to(data_dir, USER) if "/accounts/password/reset/" in m and "/key/" not in m]
    assert "/accounts/confirm-email/" not in to_owner
    assert any("/accounts/confirm-email/" in m for m in _mails_to(data_dir, new_address))
    # password reset: the same redirect and page whether or not the address has an account
    reset = {}
    for address in (USER, unknown):
        visitor = Visitor(base)
        sent = visitor.post("/accounts/password/reset/", {"email": address})
        assert sent.status_code == 302
        reset[address] = (sent.headers["Location"], _page(visitor.get(sent.headers["Location"]), address))
    assert reset[USER] == reset[unknown]
    assert not any("/accounts/password/reset/key/" in m for m in _mails_to(data_dir, unknown))


def test_no_access_across_practices_or_roles_over_http(site):
    """portal.md's rules, tried over HTTP: nothing of another practice (the same 404 as a
    practice that does not exist), no practice report for an insurer user, no insurer page
    for a practice user, the API only within the caller's rows, and nothing without login."""
    _, base, token = site
    user, insurer, anonymous = Visitor(base), Visitor(base), Visitor(base)
    user.log_in(USER, USER_PASSWORD)
    insurer.log_in(INSURER, INSURER_PASSWORD)
    own = [f"/praktijk/{A}/", f"/praktijk/{A}/{PERIOD}/fysiotherapie.pdf", f"/praktijk/{A}/{PERIOD}/fysiotherapie.html"]
    assert [user.get(path).status_code for path in own] == [200, 200, 200]  # access can be told from none
    nowhere = _page(user.get("/praktijk/99999999/"))
    for path in [path.replace(A, B) for path in own] + [
        f"/praktijk/{B}/toegang/",
        f"/praktijk/{B}/{PERIOD}/spiegel.js",
    ]:
        answer = user.get(path)
        assert answer.status_code == 404 and _page(answer) == nowhere, path
        assert B not in answer.text, path
    for path in own:  # an insurer reads index tables, never a practice's report
        answer = insurer.get(path)
        assert answer.status_code == 404 and "fysiotherapie.pdf" not in answer.text, path
    assert insurer.get("/verzekeraar/").status_code == 200
    for path in ["/verzekeraar/", f"/verzekeraar/{PERIOD}/behandelindex.csv", "/verzekeraar/berichten/"]:
        assert user.get(path).status_code == 404, path
    for path in own + ["/verzekeraar/", "/accounts/tokens/"]:
        answer = anonymous.get(path)
        assert answer.status_code == 302 and answer.headers["Location"].startswith("/accounts/login/"), path
    api = Visitor(base, Authorization=f"Bearer {token}")  # a token of A's user
    rows = api.get(f"/api/v1/periods/{PERIOD}/index/").json()["results"]
    assert {row["practice_agb"] for row in rows} == {A}  # B's row is in the period, not in the answer
    assert api.get(f"/api/v1/practices/{A}/").status_code == 200
    other, missing = api.get(f"/api/v1/practices/{B}/"), api.get("/api/v1/practices/99999999/")
    assert other.status_code == missing.status_code == 404 and other.json() == missing.json()
    assert anonymous.get(f"/api/v1/practices/{A}/").status_code == 401


def _sessions_listed(visitor: Visitor) -> list[tuple[int, bool]] | None:
    """The rows of /accounts/sessions/ as (id, is this session); None when not logged in."""
    page = visitor.get("/accounts/sessions/")
    if page.status_code == 302:
        return None
    assert page.status_code == 200
    return [(int(m[1]), bool(m[2])) for m in re.finditer(r'<tr data-session="(\d+)"( data-current="1")?>', page.text)]


def test_one_session_of_an_account_logs_out_another_and_no_one_else_can(site):
    data_dir, base, _ = site
    address = "sessies@fysio-a.nl"
    _add_account(data_dir, address)
    laptop = Visitor(base, **{"User-Agent": "Laptop-browser/1.0"})
    phone = Visitor(base, **{"User-Agent": "Telefoon-browser/2.0"})
    laptop.log_in(address, USER_PASSWORD)
    phone.log_in(address, USER_PASSWORD)
    rows = _sessions_listed(laptop)
    assert len(rows) == 2 and sorted(current for _, current in rows) == [False, True]
    page = laptop.get("/accounts/sessions/").text
    assert "Laptop-browser/1.0" in page and "Telefoon-browser/2.0" in page
    assert phone.session_id() not in page and laptop.session_id() not in page  # the cookie's secret is not shown
    (phone_row,) = [row for row, current in rows if not current]
    # another account cannot end it, nor learn whether it exists
    stranger = Visitor(base)
    stranger.log_in(USER, USER_PASSWORD)
    for data in ({"session": phone_row, "action": "end"}, {"session": "99999", "action": "end"}):
        assert stranger.post("/accounts/sessions/", data).status_code == 404, data
    assert _sessions_listed(phone) is not None
    ended = laptop.post("/accounts/sessions/", {"session": phone_row, "action": "end"})
    assert ended.status_code == 302 and ended.headers["Location"] == "/accounts/sessions/"
    assert _sessions_listed(phone) is None  # the phone is logged out, the laptop is not
    assert [current for _, current in _sessions_listed(laptop)] == [True]


def test_an_account_exports_its_own_data_and_deletes_itself_with_its_password(site):
    data_dir, base, _ = site
    address, password = "weg@fysio-a.nl", USER_PASSWORD
    _add_account(data_dir, address, password)
    laptop, phone = Visitor(base), Visitor(base)
    laptop.log_in(address, password)
    phone.log_in(address, password)
    text = "Mijn vraag over de index van 2024."
    contact = {"topic": "toegang", "name": "Wim Weg", "email": address, "subject": "Vraag", "message": text}
    assert laptop.post("/contact/", contact).status_code == 302
    export = laptop.get("/accounts/export/")
    assert export.status_code == 200 and export.headers["Content-Type"].startswith("application/json")
    assert (
        export.headers["Content-Disposition"].startswith("attachment;")
        and "no-store" in export.headers["Cache-Control"]
    )
    data = export.json()
    assert data["account"]["email"] == address
    assert [m["message"] for m in data["contact_messages"]] == [text]  # read back from its encrypted form
    assert USER not in export.text and INSURER not in export.text  # nothing of another account
    for wrong in ({"password": ""}, {"password": WRONG_PASSWORD}):
        assert laptop.post("/accounts/delete/", wrong).status_code == 400
    assert _sessions_listed(laptop) is not None and _sessions_listed(phone) is not None
    deleted = laptop.post("/accounts/delete/", {"password": password})
    assert deleted.status_code == 302 and deleted.headers["Location"] == "/"
    assert _sessions_listed(laptop) is None and _sessions_listed(phone) is None  # logged out everywhere
    again = Visitor(base).post("/accounts/login/", {"login": address, "password": password})
    assert again.status_code == 200 and "sessionid" not in again.cookies


def _set_password_through(visitor: Visitor, key_path: str, password: str) -> requests.Response:
    """Open a mailed reset link (allauth moves its key into the session and redirects to the
    form) and, if the form is there, set ``password``; the last answer."""
    page = visitor.get(key_path)
    if page.status_code == 302:
        page = visitor.get(page.headers["Location"])
    if 'name="password1"' not in page.text:
        return page
    return visitor.post(page.url.removeprefix(visitor.base), {"password1": password, "password2": password})


def test_a_mailed_reset_link_works_once(site):
    data_dir, base, _ = site
    address, first, second = "herstel@fysio-a.nl", "Eerste-nieuwe-ww-1", "Tweede-nieuwe-ww-2"
    _add_account(data_dir, address)
    assert Visitor(base).post("/accounts/password/reset/", {"email": address}).status_code == 302
    (mail,) = _mails_to(data_dir, address)
    key_path = re.search(r"http://[^/\s]+(/accounts/password/reset/key/[^\s]+/)", mail)[1]
    assert _set_password_through(Visitor(base), key_path, first).status_code == 302
    again = _set_password_through(Visitor(base), key_path, second)  # the same link, once more
    assert again.status_code == 200 and 'name="password1"' not in again.text
    assert Visitor(base).log_in(address, first)
    refused = Visitor(base).post("/accounts/login/", {"login": address, "password": second})
    assert refused.status_code == 200 and "sessionid" not in refused.cookies


_RESET_LINKS = r"""
import sys
from datetime import datetime, timedelta

import django

django.setup()
from allauth.account.forms import default_token_generator
from allauth.account.utils import user_pk_to_url_str
from django.conf import settings
from django.contrib.auth import get_user_model

user = get_user_model().objects.get(email=sys.argv[1])
made = datetime.now() - timedelta(seconds=int(sys.argv[2]))
type(default_token_generator)._now = lambda self: made  # the moment the link is made
print(f"/accounts/password/reset/key/{user_pk_to_url_str(user)}-{default_token_generator.make_token(user)}/")
print(settings.PASSWORD_RESET_TIMEOUT)
"""


def _reset_link_made_ago(data_dir: Path, address: str, seconds: int) -> tuple[str, int]:
    """A reset link as the portal of ``data_dir`` makes it (its own settings and secret key, in
    a process of its own), made ``seconds`` ago; and the portal's reset timeout."""
    env = {**portal_env(), "SPIEGEL_DATA_DIR": str(data_dir), "DJANGO_SETTINGS_MODULE": "portal.settings"}
    made = subprocess.run(
        [sys.executable, "-c", _RESET_LINKS, address, str(seconds)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert made.returncode == 0, made.stderr[-2000:]
    link, timeout = made.stdout.split()
    return link, int(timeout)


def test_a_reset_link_older_than_the_reset_timeout_is_refused(site):
    data_dir, base, _ = site
    address = "verlopen@fysio-a.nl"
    _add_account(data_dir, address)
    late, timeout = _reset_link_made_ago(data_dir, address, 3600 + 60)
    assert timeout == 3600  # the configured hour, so that link is a minute past it
    expired = _set_password_through(Visitor(base), late, "Te-laat-gekozen-ww-3")
    assert expired.status_code == 200 and 'name="password1"' not in expired.text
    assert Visitor(base).log_in(address, USER_PASSWORD)  # the password did not change
    # a link of 59 minutes ago, made the same way, still works: the refusal was the age alone
    # (made after that login: a login changes what every older link was made of)
    in_time, _ = _reset_link_made_ago(data_dir, address, timeout - 60)
    assert _set_password_through(Visitor(base), in_time, "Op-tijd-gekozen-ww-4").status_code == 302
    assert Visitor(base).log_in(address, "Op-tijd-gekozen-ww-4")


@pytest.fixture(scope="module")
def proxied_site(tmp_path_factory):
    """The portal behind one trusted proxy (``SPIEGEL_PORTAL_TRUSTED_PROXIES=1``): a visitor's
    address is the right-most ``X-Forwarded-For`` entry, so a test can be several visitors."""
    data_dir = tmp_path_factory.mktemp("asvs_proxied") / "data"
    build_site(data_dir)
    extra = {"SPIEGEL_PORTAL_TRUSTED_PROXIES": "1"}
    with served_portal(data_dir, workers=1, log_name="serve-proxied.log", extra_env=extra) as base:
        yield data_dir, base


def test_failed_logins_lock_out_the_account_and_the_address_over_http(proxied_site):
    data_dir, base = proxied_site
    attacker, elsewhere = "203.0.113.7", "198.51.100.4"

    def login(address: str, password: str, visitor: str) -> requests.Response:
        return Visitor(base, **{"X-Forwarded-For": visitor}).post(
            "/accounts/login/", {"login": address, "password": password}
        )

    failures = [login(USER, WRONG_PASSWORD, attacker).status_code for _ in range(5)]  # the limit: 5
    assert failures[:4] == [200] * 4 and failures[4] in (200, 429)  # the form again, then the lockout page
    refused = login(USER, USER_PASSWORD, attacker)  # now even the right password
    assert refused.status_code == 429 and "Te veel mislukte inlogpogingen" in refused.text
    assert "sessionid" not in refused.cookies
    assert login(USER, USER_PASSWORD, elsewhere).status_code == 429  # the account, from any address
    assert login(INSURER, INSURER_PASSWORD, attacker).status_code == 429  # the address, for any account
    assert login(INSURER, INSURER_PASSWORD, elsewhere).status_code == 302  # everyone else logs in
    audit = spiegel_portal(data_dir, "audit")
    assert audit.returncode == 0 and " lockout " in audit.stdout and attacker in audit.stdout


@pytest.fixture(scope="module")
def tls_site(tmp_path_factory):
    """The portal as behind a TLS proxy: SPIEGEL_PORTAL_HTTPS=1, the proxy's X-Forwarded-Proto."""
    data_dir = tmp_path_factory.mktemp("asvs_tls") / "data"
    build_site(data_dir)
    with served_portal(data_dir, workers=1, log_name="serve-tls.log", extra_env={"SPIEGEL_PORTAL_HTTPS": "1"}) as base:
        yield base


def test_behind_tls_hsts_and_host_only_secure_cookies(tls_site):
    base = tls_site
    plain = requests.get(base + "/kalender/", allow_redirects=False, timeout=30)
    assert plain.status_code == 301 and plain.headers["Location"].startswith("https://")
    visitor = Visitor(base, cookie_prefix="__Host-", **{"X-Forwarded-Proto": "https"})
    page = visitor.get("/accounts/login/")
    assert page.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    https_base = base.replace("http://", "https://")
    csrf_token = visitor.session.cookies.get("__Host-csrftoken")
    # the cookie is Secure: a client sends it over TLS only, so here (plain http to the
    # proxy's side of the portal) it is sent by hand, as the proxy would pass it on
    login = requests.post(
        base + "/accounts/login/",
        data={"login": USER, "password": USER_PASSWORD, "csrfmiddlewaretoken": csrf_token},
        headers={
            "X-Forwarded-Proto": "https",
            "Referer": https_base + "/accounts/login/",
            "Origin": https_base,
            "Cookie": f"__Host-csrftoken={csrf_token}",
        },
        allow_redirects=False,
        timeout=30,
    )
    assert login.status_code == 302, login.text[-1000:]
    assert login.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    set_cookies = login.raw.headers.getlist("Set-Cookie")
    session = next(c for c in set_cookies if c.startswith("__Host-sessionid="))
    for attribute in ("Secure", "HttpOnly", "SameSite=Lax", "Path=/"):
        assert attribute in session, (attribute, session)
    assert "Domain=" not in session
    csrf = next(c for c in page.raw.headers.getlist("Set-Cookie") if c.startswith("__Host-csrftoken="))
    assert "Secure" in csrf and "Path=/" in csrf
