"""``spiegel demo`` end to end on a small population, and its publishing process.

The demo publishes one period in a child process (orchestration/commands/demo_publisher.py) while
the next period is ingested and computed; a period's reports show the periods before
it, so the publishes must still happen in order, each complete with its reports.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from orchestration.commands.demo_publisher import Publisher
from orchestration.core.settings import REPO_ROOT, SpiegelPaths
from tests.support.pipeline import published_text

PERIODS = ("2024-v1", "2024-v2", "2024-v3")


def test_the_demo_publishes_every_period_in_order_with_its_reports(tmp_path):
    # a process of its own: the demo ends by setting up the portal (Django) for its data
    # directory, which a test worker that already ran portal tests cannot do again
    data = tmp_path / "data"
    env = {
        k: v for k, v in os.environ.items() if k not in ("SPIEGEL_DATA_DIR", "DAGSTER_HOME", "DJANGO_SETTINGS_MODULE")
    }
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "orchestration.cli",
            "demo",
            "--data-dir",
            str(data),
            "--years",
            "2024",
            "--practices",
            "20",
            "--seed",
            "3",
        ],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    for period in PERIODS:
        release = json.loads((data / "releases" / period / "r1" / "release.json").read_text())
        ok = [
            line
            for line in (data / "releases" / period / "r1" / "behandelindex.csv").read_text().splitlines()
            if ",ok," in line
        ]
        assert release["reports"]["html"] == release["reports"]["pdf"] == len(ok) > 10
        assert f"{period}: published {data / 'releases' / period / 'r1'}" in out
    # the last period's reports show the two before it: they were published first
    report = next((data / "releases" / "2024-v3" / "r1" / "reports" / "fysiotherapie").glob("*.html"))
    html = report.read_text(encoding="utf-8")
    assert all(label in html for label in ("2024 v1", "2024 v2", "2024 v3"))
    assert out.index("2024-v1: published") < out.index("2024-v2: published") < out.index("2024-v3: published")
    # method.md §3 has six age bands and no other: no report shows an "unknown" one
    reports = sorted((data / "releases").rglob("reports/*/*.html")) + sorted((data / "releases").rglob("*.pdf"))
    assert len(reports) > 60
    for path in reports:
        assert "unknown" not in published_text(path).lower(), path


def test_the_publishing_process_answers_each_period_in_order_and_reports_refusals(tmp_path):
    paths = SpiegelPaths(tmp_path / "data")
    with Publisher(paths) as publisher:
        publisher.submit("2024-v2")
        publisher.submit("2024-v1")
        assert publisher.busy
        first, second = publisher.result(), publisher.result()
        assert not publisher.busy
    assert (first.period, second.period) == ("2024-v2", "2024-v1")
    for answer in (first, second):
        assert not answer.success and answer.revision is None
        assert f"publish of {answer.period} refused" in answer.message
    assert "2024-v1: FAILED" in (paths.data_dir / "logs" / "publisher.log").read_text()
    assert not (paths.releases / "2024-v1").exists()


def test_the_number_of_pdf_workers_comes_from_the_environment(monkeypatch):
    import pytest

    from orchestration.core.settings import REPORT_WORKERS_ENV, report_workers

    monkeypatch.delenv(REPORT_WORKERS_ENV, raising=False)
    assert report_workers() == 2
    monkeypatch.setenv(REPORT_WORKERS_ENV, "1")
    assert report_workers() == 1
    for bad in ("0", "two", "-1"):
        monkeypatch.setenv(REPORT_WORKERS_ENV, bad)
        with pytest.raises(ValueError, match="SPIEGEL_REPORT_WORKERS must be a whole number of at least 1"):
            report_workers()
