"""The dbt manifest dagster-dbt builds the asset graph from.

It is derived from the project, never committed: when it is missing or older than any
file of the project, ``dbt parse`` writes it again (a few seconds), so a fresh clone,
the CLI, the tests and ``dagster dev`` all see the models as they are on disk.
"""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

from orchestration.config import DBT_PROJECT_DIR

MANIFEST = DBT_PROJECT_DIR / "target" / "manifest.json"
_SOURCES = ("models", "seeds", "macros", "tests", "dbt_project.yml", "profiles.yml")


def _newest_source_mtime() -> float:
    newest = 0.0
    for name in _SOURCES:
        root = DBT_PROJECT_DIR / name
        if root.is_file():
            newest = max(newest, root.stat().st_mtime)
        elif root.is_dir():
            for path in root.rglob("*"):
                if path.is_file():
                    newest = max(newest, path.stat().st_mtime)
    return newest


def dbt_manifest_path() -> Path:
    """Path of an up-to-date manifest.json (parses the project when needed)."""
    if MANIFEST.exists() and MANIFEST.stat().st_mtime >= _newest_source_mtime():
        return MANIFEST
    from orchestration.resources import dbt_executable

    env = {**os.environ, "SPIEGEL_WAREHOUSE": os.environ.get("SPIEGEL_WAREHOUSE", str(DBT_PROJECT_DIR / "target" / "parse.duckdb"))}
    result = subprocess.run(
        [dbt_executable(), "parse", "--quiet", "--project-dir", str(DBT_PROJECT_DIR),
         "--profiles-dir", str(DBT_PROJECT_DIR), "--target-path", str(MANIFEST.parent)],
        capture_output=True, text=True, env=env,
    )
    if result.returncode != 0 or not MANIFEST.exists():
        raise RuntimeError(f"dbt parse failed for {DBT_PROJECT_DIR}:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    return MANIFEST
