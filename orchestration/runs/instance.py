"""Which Dagster instance a process uses: the data directory's own (``<data dir>/dagster_home``),
written on first use. Light to import: every command points its process here first."""

from __future__ import annotations

import os
from pathlib import Path

from orchestration.core.settings import SpiegelPaths
from orchestration.core.warehouse import ensure_data_dir

DAGSTER_YAML = """\
# Written by Spiegel on first use; edit freely.
run_queue:
  max_concurrent_runs: 1     # DuckDB has one writer: runs queue instead of waiting on the lock
telemetry:
  enabled: false
"""


def use_data_dir(paths: SpiegelPaths) -> None:
    """Point this process (and the definitions it loads) at ``paths``."""
    ensure_data_dir(paths)
    os.environ["SPIEGEL_DATA_DIR"] = str(paths.data_dir)
    # DAGSTER_HOME defaults to the data directory's own instance; an explicit
    # SPIEGEL_DAGSTER_HOME points every data directory at one shared instance instead.
    os.environ["DAGSTER_HOME"] = os.environ.get("SPIEGEL_DAGSTER_HOME") or str(paths.dagster_home)
    home = Path(os.environ["DAGSTER_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    if not (home / "dagster.yaml").exists():
        (home / "dagster.yaml").write_text(DAGSTER_YAML, encoding="utf-8")
