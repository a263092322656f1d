"""A bounded load test on localhost: concurrent logged-in clients against the
portal served by gunicorn, on a national-scale release (9,000 practices in each of six
periods); no errors, and every response belongs to the account that asked (portal/loadtest.py
checks each page for the account's own practice and no other, each PDF byte for byte).
CI runs a smaller version than the README's figures (python -m portal.loadtest)."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.support.served import REPO_ROOT, portal_env


def test_concurrent_clients_get_only_their_own_practices(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "portal.loadtest",
            "--data-dir",
            str(tmp_path / "data"),
            "--clients",
            "10",
            "--requests",
            "300",
            "--accounts",
            "4",
            "--practices",
            "9000",
            "--report-practices",
            "60",
            "--pdf-kb",
            "60",
            "--json",
        ],
        cwd=REPO_ROOT,
        env=portal_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert result.returncode == 0, figures["first_problems"] or result.stderr[-2000:]
    assert figures["requests"] == 300 and figures["errors_or_wrong_responses"] == 0
    assert figures["server_exit_code"] == 0
    # every kind of request was exercised, the 404s of other accounts' practices included
    assert set(figures["per_kind"]) == {"cross", "html", "list", "page", "pdf"}
    assert figures["per_kind"]["pdf"]["n"] > 50 and figures["per_kind"]["cross"]["n"] > 10


def test_concurrent_api_clients_get_only_what_their_tokens_may_read(tmp_path):
    """The read API under load (python -m portal.loadtest --api): insurer and practice users'
    tokens, mixed endpoints; every row served is one the caller may read, and an insurer's
    filtered page holds exactly the rows the filter selects from the published file."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "portal.loadtest",
            "--api",
            "--data-dir",
            str(tmp_path / "data"),
            "--clients",
            "10",
            "--requests",
            "400",
            "--accounts",
            "8",
            "--practices",
            "8800",
            "--json",
        ],
        cwd=REPO_ROOT,
        env=portal_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert result.returncode == 0, figures["first_problems"] or result.stderr[-2000:]
    assert figures["mode"] == "api" and figures["requests"] == 400
    assert figures["errors_or_wrong_responses"] == 0 and figures["server_exit_code"] == 0
    assert set(figures["per_kind"]) == {"cross", "index_csv", "index_page", "periods", "practice", "reference"}
    assert figures["per_kind"]["index_page"]["n"] > 100 and figures["per_kind"]["cross"]["n"] > 10
