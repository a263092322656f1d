"""OWASP ASVS 4.0.3 level 2 over HTTP: the items of docs/security.md that were "not yet tested"
and are about what the served portal (``spiegel portal serve``: gunicorn, WhiteNoise, the whole
middleware stack) answers, or about its configuration and deployment files, checked from
outside the test process's Django. The in-process items are in test_asvs_items.py.

- V4.3.2: no directory listing, no ``.git`` or ``.DS_Store``, nothing of the data directory;
  no dotfile among WhiteNoise's files.
- V13.1.1: the path tricks get the same answer through gunicorn as through Django alone; the
  example nginx passes the URI on unchanged.
- V14.3.2: DEBUG is off: no technical 404 or 400 page.
- V14.5.2: a matching ``Origin`` gains nothing without the CSRF token or a session.
- V14.1.3: ``check --deploy`` and the systemd unit.
- V2.10.4: no secret in the repository; a weak configured secret key stops the settings.
- V2.5.4: a fresh data directory has no account.
- V8.2.2: after a session in a real browser, no storage holds anything of the account.
"""

from __future__ import annotations

import http.client
import re
import sqlite3
import subprocess
import sys
from urllib.parse import urlsplit

import pytest
import requests

from tests.portal.test_asvs_served import Visitor
from tests.portal.test_portal_security import CROSS_URLS
from tests.support.portal_world import A, B, build_releases, load_portal_settings
from tests.support.served import REPO_ROOT, portal_env, served_portal, spiegel_portal, spiegel_portal_batch

USER, PASSWORD = "items@fysio-a.nl", "Items-wachtwoord-2024"
PLANTED = [".git/HEAD", ".git/config", ".DS_Store", ".env", "Thumbs.db"]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The releases of tests/support/portal_world.py, a user of A; metadata files planted in the
    data directory and the releases (as a copy made on a Mac, or a git checkout of it, would have)."""
    data_dir = tmp_path_factory.mktemp("asvs_items") / "data"
    build_releases(data_dir / "releases")
    for folder in (data_dir, data_dir / "releases", data_dir / "releases" / "2024-v1" / "r1"):
        for name in PLANTED:
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).write_text("ref: refs/heads/main\nGEPLANT-xq9\n")
    results = spiegel_portal_batch(
        data_dir,
        [(["add-account", "--email", USER], PASSWORD + "\n"), (["grant", "--agb", A, "--email", USER], None)],
    )
    assert [r.returncode for r in results] == [0, 0], [r.stderr for r in results]
    with served_portal(data_dir, workers=1, log_name="serve-items.log") as base:
        yield data_dir, base


def _raw_get(base: str, path: str, cookie: str = "") -> tuple[int, bytes]:
    """A GET with the path exactly as written (``requests`` would re-quote %2e and the like)."""
    parts = urlsplit(base)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        connection.request("GET", path, headers={"Cookie": cookie} if cookie else {})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


# -- V4.3.2 -------------------------------------------------------------------------------------------------


def test_no_directory_is_listed_and_no_metadata_file_is_served(site):
    data_dir, base = site
    visitor = Visitor(base)
    visitor.log_in(USER, PASSWORD)
    cookie = f"sessionid={visitor.session_id()}"
    paths = ["/", "/static/", "/static/portal/", "/static/admin/", "/static/admin/js/", "/releases/", "/portal/"]
    paths += ["/praktijk/", f"/praktijk/{A}/2024-v1/", "/verzekeraar/2024-v1/", "/api/v1/", "/methode/2024-v1/"]
    for folder in ("", "/static", "/releases", "/releases/2024-v1/r1", "/praktijk", f"/praktijk/{A}/2024-v1"):
        paths += [f"{folder}/{name}" for name in PLANTED + [".git/", ".git/index", ".svn/entries", ".hg/"]]
    paths += ["/static/%2e%2e/.git/HEAD", "/static/..%2f.git/HEAD", "/%2egit/HEAD", "/static/portal/.DS_Store"]
    paths += ["/portal/settings.py", "/portal.sqlite3", "/portal/secret_key", "/serve-items.log"]
    listing = re.compile(rb"(?i)index of|directory listing|parent directory|<title>[^<]*/</title>")
    for path in paths:
        for who in ("", cookie):
            status, body = _raw_get(base, path, who)
            if path in ("/", "/praktijk/"):  # pages, not folders: the test can tell a page from a 404
                assert status in (200, 302) and not listing.search(body), path
                continue
            assert status in (301, 302, 400, 404), (path, who, status)
            assert b"GEPLANT-xq9" not in body and b"ref: refs/" not in body and not listing.search(body), path
            assert b"secret_key" not in body and b"SQLite format" not in body, path
    assert _raw_get(base, "/kalender/")[0] == 200


def test_whitenoise_has_no_dotfile_or_directory_among_the_files_it_serves():
    """WhiteNoise serves every file of the static folders (the finders' too), dotfiles included:
    so none may be there (collectstatic leaves dotfiles out; the finders read the checkout)."""
    from whitenoise.middleware import WhiteNoiseMiddleware

    served = list(WhiteNoiseMiddleware(lambda request: None).files)
    assert any(url.startswith("/static/portal/") for url in served) and any("/admin/" in url for url in served)
    assert [url for url in served if re.search(r"/\.", url) or url.endswith("/")] == []


# -- V13.1.1 ------------------------------------------------------------------------------------------------


def test_the_path_tricks_get_the_same_404_through_gunicorn_and_nginx_passes_the_uri_unchanged(site):
    _, base = site
    visitor = Visitor(base)
    visitor.log_in(USER, PASSWORD)
    cookie = f"sessionid={visitor.session_id()}"
    own_status, own = _raw_get(base, f"/praktijk/{A}/2024-v1/fysiotherapie.pdf", cookie)
    assert own_status == 200 and own.startswith(b"%PDF")  # the test can tell access from no access
    reference = _raw_get(base, "/praktijk/99999999/", cookie)
    assert reference[0] == 404
    strip_csrf = re.compile(rb'name="csrfmiddlewaretoken" value="[^"]+"')
    for url in CROSS_URLS:  # the in-process test's list: each there a 404 identical to the unknown practice's
        status, body = _raw_get(base, url, cookie)
        assert status == 404, url
        assert strip_csrf.sub(b"", body) == strip_csrf.sub(b"", reference[1]), url
        assert B.encode() not in body and b"%PDF" not in body, url
    # the example proxy: every proxy_pass names an upstream without a URI part, so the request URI
    # reaches gunicorn as the client sent it (no decoding, no dot-segment merging by nginx)
    nginx = (REPO_ROOT / "deploy" / "nginx.conf.example").read_text()
    passes = re.findall(r"^\s*(?:#\s*)?proxy_pass\s+([^;]+);", nginx, re.M)
    assert passes and all(re.fullmatch(r"http://[A-Za-z0-9_.-]+(:\d+)?", p.strip()) for p in passes), passes
    assert "merge_slashes off" not in nginx and "rewrite " not in nginx


# -- V14.3.2 ------------------------------------------------------------------------------------------------


def test_the_served_portal_runs_with_debug_off(site):
    _, base = site
    technical = re.compile(
        rb"(?i)Using the URLconf defined in|You're seeing this error because you have|DEBUG = True"
        rb"|Traceback|technical_404|Django Version|Request Method:|Exception Value"
    )
    for path in ("/bestaat-niet/", "/static/bestaat-niet.css", "/api/v1/zomaar/", "/praktijk/../etc/passwd"):
        response = requests.get(base + path, timeout=30)
        assert response.status_code == 404, path
        assert not technical.search(response.content), path
    bad_host = requests.get(base + "/", headers={"Host": "kwaad.example"}, timeout=30)  # DisallowedHost
    assert bad_host.status_code == 400 and not technical.search(bad_host.content)
    assert "kwaad.example" not in bad_host.text
    # the gunicorn of `spiegel portal serve` (the same command as the unit's): no reload, no debug mode
    command = REPO_ROOT / "portal" / "operations.py"
    assert not re.search(r"--reload|--debug|--spew", command.read_text())
    unit = (REPO_ROOT / "deploy" / "spiegel-portal.service").read_text()
    environment = (REPO_ROOT / "deploy" / "spiegel.env.example").read_text()
    assert "SPIEGEL_PORTAL_DEBUG" not in unit
    assert not re.search(r"(?m)^\s*SPIEGEL_PORTAL_DEBUG\s*=\s*(1|true|yes|on)", environment, re.I)


# -- V14.5.2 ------------------------------------------------------------------------------------------------


def test_a_matching_origin_gains_nothing_without_the_csrf_token_or_a_session(site):
    _, base = site
    same = {"Origin": base, "Referer": base + "/"}
    # no CSRF token, from the portal's own origin: refused
    login = requests.post(
        base + "/accounts/login/",
        data={"login": USER, "password": PASSWORD},
        headers=same,
        allow_redirects=False,
        timeout=30,
    )
    assert login.status_code == 403 and "sessionid" not in login.cookies
    visitor = Visitor(base)
    visitor.log_in(USER, PASSWORD)
    request = visitor.session.post(
        base + "/praktijk/aanvragen/", data={"agb": B}, headers=same, allow_redirects=False, timeout=30
    )
    assert request.status_code == 403
    assert B not in visitor.get("/praktijk/").text  # no request for B was recorded
    # no session or token, from the portal's own origin: the login page and the API's 401
    for path, expected in ((f"/praktijk/{A}/", 302), ("/api/v1/periods/2024-v1/index/", 401)):
        response = requests.get(base + path, headers=same, allow_redirects=False, timeout=30)
        assert response.status_code == expected, path
    # and the portal's own code never reads the header (Django's CSRF check is the only reader)
    reads_origin = re.compile(r"(?i)HTTP_ORIGIN|headers\s*(\.get\(|\[)\s*['\"]origin['\"]")
    sources = sorted((REPO_ROOT / "portal").rglob("*.py"))
    assert len(sources) > 30 and [p.name for p in sources if reads_origin.search(p.read_text())] == []


# -- V14.1.3 ------------------------------------------------------------------------------------------------


def test_the_deploy_check_finds_only_the_hsts_preload_choice_and_the_unit_is_confined(tmp_path):
    env = {
        **portal_env(),
        "SPIEGEL_DATA_DIR": str(tmp_path / "data"),
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "SPIEGEL_PORTAL_HTTPS": "1",
        "SPIEGEL_SERVICE_MODE": "1",
    }
    env.pop("SPIEGEL_PORTAL_DEBUG", None)
    check = subprocess.run(
        [sys.executable, "-m", "django", "check", "--deploy"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert check.returncode == 0, check.stderr
    found = set(re.findall(r"\((\w+\.[EW]\d+)\)", check.stdout + check.stderr))
    # preload commits the whole domain to the browsers' list: the operator's decision, not the portal's
    assert found == {"security.W021"}, check.stdout + check.stderr
    unit = (REPO_ROOT / "deploy" / "spiegel-portal.service").read_text()
    settings_ = dict(re.findall(r"(?m)^(\w+)=(.*)$", unit))
    assert settings_["User"] == "spiegel" and settings_["User"] != "root"
    expected = {"NoNewPrivileges": "yes", "PrivateTmp": "yes", "ProtectSystem": "strict", "ProtectHome": "yes"}
    assert {k: settings_.get(k) for k in expected} == expected and settings_["UMask"] == "0077"
    assert "--host 127.0.0.1" in settings_["ExecStart"]  # behind the proxy only


# -- V2.10.4: no secret in the source, and a weak key refused ------------------------------------------------


def test_a_weak_or_placeholder_secret_key_stops_the_settings_and_none_is_in_the_repository(tmp_path, monkeypatch):
    from django.core.exceptions import ImproperlyConfigured

    strong = "q7Zr" + "".join(chr(ord("a") + (n * 7) % 26) + str(n % 10) for n in range(30))
    for weak in ("CHANGE-ME-to-50-random-characters" + "x" * 30, "django-insecure-" + strong, "ab" * 40, strong[:49]):
        with pytest.raises(ImproperlyConfigured):
            load_portal_settings(tmp_path, monkeypatch, SPIEGEL_PORTAL_SECRET_KEY=weak)
    assert load_portal_settings(tmp_path, monkeypatch, SPIEGEL_PORTAL_SECRET_KEY=strong).SECRET_KEY == strong
    generated = load_portal_settings(tmp_path, monkeypatch).SECRET_KEY  # none set: made once, kept owner-only
    key_file = tmp_path / "data" / "portal" / "secret_key"
    assert len(generated) >= 50 and key_file.read_text() == generated
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert load_portal_settings(tmp_path, monkeypatch).SECRET_KEY == generated
    # the repository: no key material, no Django key, no API token of the portal's shape
    files = subprocess.run(["git", "ls-files", "-z"], cwd=REPO_ROOT, capture_output=True, check=True).stdout
    paths = [p for p in files.decode().split("\0") if p]
    assert "portal/settings.py" in paths
    secret_shapes = re.compile(
        "|".join(
            [
                "-----BEGIN " + r"[A-Z ]*PRIVATE KEY-----",
                "AKIA" + r"[0-9A-Z]{16}",
                "django-" + r"insecure-[^\s\"']{10,}",
                "spg_" + r"[0-9a-f]{8}_[A-Za-z0-9_-]{40}",
                r"SECRET_KEY\s*=\s*['\"]",
            ]
        )
    )
    # literal passwords outside tests/: only the load test's, for accounts on its own throwaway data dir
    literal_password = re.compile(r"(?i)\b\w*(password|secret|passwd)\w*\s*[:=]\s*['\"][^'\"\s]{8,}['\"]")
    found = []
    for path in paths:
        full = REPO_ROOT / path
        if not full.is_file() or full.stat().st_size > 2_000_000:
            continue
        try:
            text = full.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        found += [f"{path}: {m[0]}" for m in secret_shapes.finditer(text)]
        if not path.startswith("tests/") and path != "portal/loadtest.py":
            found += [f"{path}: {m[0]}" for m in literal_password.finditer(text)]
    assert found == []


# -- V2.5.4 -------------------------------------------------------------------------------------------------


def test_a_fresh_data_directory_has_no_account(tmp_path):
    data_dir = tmp_path / "data"
    (data_dir / "releases").mkdir(parents=True)
    audit = spiegel_portal(data_dir, "audit")  # applies the migrations to a new database
    assert audit.returncode == 0, audit.stderr
    with sqlite3.connect(data_dir / "portal" / "portal.sqlite3") as db:
        tables = {row[0] for row in db.execute("select name from sqlite_master where type = 'table'")}
        assert {"auth_user", "django_migrations", "account_emailaddress"} <= tables
        assert db.execute("select count(*) from django_migrations").fetchone()[0] > 10
        assert db.execute("select count(*) from auth_user").fetchone()[0] == 0
        assert db.execute("select count(*) from account_emailaddress").fetchone()[0] == 0


# -- V8.2.2 -------------------------------------------------------------------------------------------------

STORAGE = """async () => ({
  local: Object.entries(localStorage), session: Object.entries(sessionStorage),
  indexed: indexedDB.databases ? (await indexedDB.databases()).map(d => d.name) : [],
  cookie: document.cookie,
})"""


def test_a_pasted_password_logs_in_and_browser_storage_holds_nothing_of_the_account(site, browser):
    _, base = site
    context = browser.new_context(permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()
    page.goto(base + "/accounts/login/")
    page.fill("input[name=login]", USER)
    # V2.1.11: the password pasted from the clipboard, as from a password manager, and nothing blocks it
    page.evaluate("password => navigator.clipboard.writeText(password)", PASSWORD)
    page.focus("input[name=password]")
    page.keyboard.press("Control+V")
    assert page.input_value("input[name=password]") == PASSWORD
    page.click("form button[type=submit]:not(.inline button)")
    page.wait_for_url("**/praktijk/")
    own_pages = [f"/praktijk/{A}/", f"/praktijk/{A}/2025-v1/fysiotherapie.html", "/accounts/tokens/", "/kalender/"]
    for path in own_pages:
        page.goto(base + path)
        page.wait_for_load_state("networkidle")
        stored = page.evaluate(STORAGE)
        # the portal's own pages store nothing at all; the page's script sees only the CSRF cookie
        assert (stored["local"], stored["session"], stored["indexed"]) == ([], [], []), (path, stored)
        assert re.fullmatch(r"csrftoken=[A-Za-z0-9]+", stored["cookie"]), (path, stored["cookie"])
    session_id = next(c["value"] for c in context.cookies() if c["name"] == "sessionid")
    # third-party pages (Swagger UI, Redoc, the admin) may keep their own preferences, never the account's
    for path in ("/api/v1/docs/", "/api/v1/redoc/", "/api/v1/periods/?format=api", "/admin/login/"):
        page.goto(base + path)
        page.wait_for_load_state("networkidle")
        stored = page.evaluate(STORAGE)
        kept = repr(stored["local"]) + repr(stored["session"]) + repr(stored["indexed"])
        for secret in (USER, session_id, "spg_", "Bearer", PASSWORD):
            assert secret not in kept, (path, secret, kept)
    cookies = {c["name"]: c for c in context.cookies()}
    assert set(cookies) == {"sessionid", "csrftoken"} and cookies["sessionid"]["httpOnly"]
    assert USER not in repr(cookies)  # the cookies are random ids, not the account
    context.close()
