"""The portal's tests once more against a real PostgreSQL (the docs may claim
PostgreSQL support only because of this). A throwaway cluster (tests/support/pg_cluster.py) on a Unix
socket; the in-process portal test modules run in a subprocess with
SPIEGEL_PORTAL_DATABASE_URL pointing at it (Django reads its settings once per process).
The tests that serve the portal with gunicorn (browser, load) run on SQLite only."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.support.pg_cluster import throwaway_cluster
from tests.support.served import REPO_ROOT, portal_env

MODULES = [
    "tests/portal/test_portal_access.py",
    "tests/portal/test_portal_security.py",
    "tests/portal/test_portal_operations.py",
]


def test_portal_tests_pass_on_postgresql():
    with throwaway_cluster() as url:
        # the caller's pytest options (CI's -n 2 of pytest-xdist) would change the output read below
        env = {
            key: value
            for key, value in {**portal_env(), "SPIEGEL_PORTAL_DATABASE_URL": url}.items()
            if key != "PYTEST_ADDOPTS" and not key.startswith("PYTEST_XDIST")
        }
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-v",
                "-p",
                "no:cacheprovider",
                "-p",
                "no:xdist",
                *MODULES,
                # the real-release check runs the pipeline first: once, on SQLite, is enough
                "-k",
                "not a_real_published_release",
            ],
            cwd=REPO_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else result.stderr[-2000:]
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    passed = int(re.search(r"([0-9]+) passed", summary)[1])
    assert passed >= 20 and "skipped" not in summary and "failed" not in summary, summary
    # and it really was PostgreSQL: this test asserts connection.vendor == "postgresql" when
    # SPIEGEL_PORTAL_DATABASE_URL is set
    assert "test_portal_operations.py::test_database_is_the_configured_one PASSED" in result.stdout
