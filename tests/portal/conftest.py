"""Set-up of the portal's tests (tests/portal/): Django on a throwaway data directory.

Django reads its settings once, at import, and ``portal/settings.py`` takes the data
directory from ``SPIEGEL_DATA_DIR``; so this conftest points that variable at a fresh
temporary folder *before* Django is set up, sets it up itself (pytest-django only does
so on its own when ``DJANGO_SETTINGS_MODULE`` is known at start-up, which it is not
when the whole suite is collected from the repository root), and then restores the
environment, so that the other tests of the suite see the variables they had.

With ``SPIEGEL_PORTAL_DATABASE_URL`` set (tests/portal/test_postgresql.py does so in a
subprocess) the same tests run on PostgreSQL; otherwise on SQLite (pytest-django's
test database).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

PORTAL_TEST_DATA_DIR = Path(tempfile.mkdtemp(prefix="spiegel-portal-tests-"))

_saved = {key: os.environ.get(key) for key in ("SPIEGEL_DATA_DIR", "DJANGO_SETTINGS_MODULE")}
os.environ["SPIEGEL_DATA_DIR"] = str(PORTAL_TEST_DATA_DIR)
os.environ["DJANGO_SETTINGS_MODULE"] = "portal.settings"
import django  # noqa: E402
from django.conf import settings  # noqa: E402

# the manifest storage needs `collectstatic` (which `spiegel portal serve` runs, and the
# tests that serve the portal with gunicorn go through); in-process tests use the files as they are
(PORTAL_TEST_DATA_DIR / "portal" / "static").mkdir(parents=True)
settings.STORAGES = {
    **settings.STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
django.setup()
if Path(settings.DATA_DIR) != PORTAL_TEST_DATA_DIR.resolve():
    # settings imported earlier with another data directory: every test below would read
    # the wrong releases and write the wrong files; refuse rather than test the wrong thing
    raise RuntimeError(f"portal settings were loaded before tests/portal/conftest.py (data dir {settings.DATA_DIR})")
for _key, _value in _saved.items():
    if _value is None:
        os.environ.pop(_key, None)
    else:
        os.environ[_key] = _value


def pytest_sessionfinish(session, exitstatus):  # noqa: ARG001
    shutil.rmtree(PORTAL_TEST_DATA_DIR, ignore_errors=True)


@pytest.fixture(autouse=True)
def no_rate_counts_from_earlier_tests():
    """allauth's and the read API's rate counters live in the (file) cache, shared by every
    test of a worker: without this, one file's logins throttle the next file's (429)."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def releases_root(settings, tmp_path) -> Path:
    """An empty ``releases/`` of this test's own, read by the catalog (settings.RELEASES_DIR)."""
    root = tmp_path / "releases"
    root.mkdir()
    settings.RELEASES_DIR = root
    return root


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium driven by Playwright, one per test module (the browser journeys)."""
    from playwright.sync_api import sync_playwright

    from tests.portal.test_portal_browser import CHROMIUM, CHROMIUM_ARGS

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def client():
    """pytest-django's ``client``, but over HTTP to the served portal (tests/support/served_client.py)."""
    from tests.support.served_client import ServedClient

    return ServedClient()


@pytest.fixture
def admin_client(db, admin_user):  # noqa: ARG001
    """pytest-django's ``admin_client``, over HTTP to the served portal."""
    from tests.support.served_client import ServedClient

    client = ServedClient()
    client.force_login(admin_user)
    return client
