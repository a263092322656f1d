"""Shared test setup: tests import the hand-made delivery factory by name."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

CLEAN_PERIOD = "2024-v1"
PROCESS_SETTINGS = ("SPIEGEL_", "DAGSTER_", "DBT_")


def _give_an_xdist_worker_a_main_file() -> None:
    """CI runs the suite on two pytest-xdist workers. A worker's ``__main__`` (execnet's)
    has neither ``__spec__`` nor ``__file__``, which pyspark takes for "running its own
    doctests": importing ``pyspark.sql.connect`` then calls ``sys.exit(0)``, and Great
    Expectations imports it whenever pyspark is installed, so every gate of a worker died
    with ``SystemExit: 0``. A plain ``python -m pytest`` has a ``__main__`` with a file."""
    main = sys.modules["__main__"]
    if (
        os.environ.get("PYTEST_XDIST_WORKER")
        and getattr(main, "__spec__", None) is None
        and not hasattr(main, "__file__")
    ):
        main.__file__ = pytest.__file__


_give_an_xdist_worker_a_main_file()


@pytest.fixture(autouse=True)
def no_process_settings_leak_between_tests():
    """The CLI and the method point their process at a data directory, an engine and a dbt
    target folder through os.environ; a test calling them in-process must not hand that to
    the next test (a leaked SPIEGEL_ENGINE=spark once ran every later test's method on Spark)."""
    saved = {key: value for key, value in os.environ.items() if key.startswith(PROCESS_SETTINGS)}
    yield
    for key in [key for key in os.environ if key.startswith(PROCESS_SETTINGS) and key not in saved]:
        del os.environ[key]
    os.environ.update(saved)


@pytest.fixture(scope="session")
def clean_release(tmp_path_factory) -> dict[str, Path]:
    """One uninterrupted pass of the platform over a small clean period (hand-made deliveries
    of every insurer, tests/support/delivery_factory.py): run, sign-off, publish, all via the CLI.

    Returns the data directory with its release ``r1`` and, for tests that continue
    from there, a copy of the data directory taken after ingestion and before the method.
    Tests read it or copy it, never change it; so the pytest-xdist workers of one session
    share one (the first to need it makes it, under a lock), instead of one pass each.
    """
    from orchestration.core.locks import file_lock

    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent  # the session's folder, above each worker's own
    root = shared / "clean_release"
    with file_lock(shared / "clean_release.lock", "the clean release of the tests", timeout=1800):
        if not (root / CLEAN_RELEASE_DONE).exists():
            shutil.rmtree(root, ignore_errors=True)
            _make_clean_release(root)
            (root / CLEAN_RELEASE_DONE).write_text("", encoding="utf-8")
    data = root / "data"
    return {
        "data": data,
        "ingested": root / "ingested",
        "period": CLEAN_PERIOD,
        "release": data / "releases" / CLEAN_PERIOD / "r1",
    }


CLEAN_RELEASE_DONE = "complete"


def _make_clean_release(root: Path) -> None:
    from orchestration.core.settings import SpiegelPaths
    from tests.support.delivery_factory import land_clean_period
    from tests.support.pipeline import ingest_all, spiegel

    paths = SpiegelPaths(root / "data")
    land_clean_period(paths.landing, CLEAN_PERIOD)
    ingest_all(paths, CLEAN_PERIOD)
    shutil.copytree(paths.data_dir, root / "ingested", symlinks=True)
    assert spiegel(paths.data_dir, "run", "--period", CLEAN_PERIOD) == 0
    assert spiegel(paths.data_dir, "signoff", "--period", CLEAN_PERIOD, "--by", "anna", "--comment", "clean") == 0
    assert spiegel(paths.data_dir, "publish", "--period", CLEAN_PERIOD) == 0


# The files that take longest, longest first (CI durations, 2026-11-30). CI runs the suite
# on two pytest-xdist workers, a whole file per worker (--dist loadfile, in the order of
# collection with --no-loadscope-reorder): starting the long files first keeps one worker
# from being left with a Spark build while the other has finished. Only the order changes.
LONGEST_FILES_FIRST = (
    "test_kill_every_step.py",
    "test_service_mode.py",
    "test_spark_engine.py",
    "test_scenarios.py",
    "test_ui.py",
    "test_properties.py",
    "test_labels.py",
    "test_public_pipeline.py",
    "test_bench.py",
    "test_method_dbt.py",
    "test_crash_safety.py",
    "test_racing_operators.py",
    "test_pandas_baseline.py",
    "test_synthetic.py",
    "test_method_generated.py",
    "test_portal_access.py",
    "test_portal_postgresql.py",
    "test_sensors.py",
    "test_alerts.py",
    "test_backup.py",
    "test_four_eyes.py",
    "test_funnel_dbt.py",
)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Long files first (stable: within a file, and among the other files, the order that
    pytest and pytest-django chose stays)."""
    rank = {name: n for n, name in enumerate(LONGEST_FILES_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))


SUMMARY_PROPERTY = "summary"  # record_property(SUMMARY_PROPERTY, text): said at the end of the run


@pytest.hookimpl(trylast=True)
def pytest_terminal_summary(terminalreporter) -> None:
    """What a test recorded to be read in CI's output (the kill test's crash points and their
    count), printed at the end of the run, also from a pytest-xdist worker (its reports
    carry their user properties to the controller)."""
    for outcome in ("passed", "failed"):
        for report in terminalreporter.stats.get(outcome, []):
            for name, text in getattr(report, "user_properties", []):
                if name == SUMMARY_PROPERTY and report.when == "call":
                    terminalreporter.write_line(f"{report.nodeid}: {text}")
