"""Shared test setup: tests import the hand-made delivery factory by name."""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

CLEAN_PERIOD = "2024-v1"
PROCESS_SETTINGS = ("SPIEGEL_", "DAGSTER_", "DBT_")


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
    of every insurer, tests/delivery_factory.py): run, sign-off, publish, all via the CLI.

    Returns the data directory with its release ``r1`` and, for tests that continue
    from there, a copy of the data directory taken after ingestion and before the method.
    """
    from delivery_factory import land_clean_period
    from pipeline import ingest_all, spiegel

    from orchestration.config import SpiegelPaths

    root = tmp_path_factory.mktemp("clean_release")
    paths = SpiegelPaths(root / "data")
    land_clean_period(paths.landing, CLEAN_PERIOD)
    ingest_all(paths, CLEAN_PERIOD)
    shutil.copytree(paths.data_dir, root / "ingested", symlinks=True)
    assert spiegel(paths.data_dir, "run", "--period", CLEAN_PERIOD) == 0
    assert spiegel(paths.data_dir, "signoff", "--period", CLEAN_PERIOD, "--by", "anna", "--comment", "clean") == 0
    assert spiegel(paths.data_dir, "publish", "--period", CLEAN_PERIOD) == 0
    return {"data": paths.data_dir, "ingested": root / "ingested", "period": CLEAN_PERIOD,
            "release": paths.releases / CLEAN_PERIOD / "r1"}
