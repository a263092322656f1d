"""Resources: the data directory and dbt, configured from the environment in one place."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource

from orchestration.config import DBT_PROJECT_DIR, SpiegelPaths, default_data_dir


class SpiegelResource(dg.ConfigurableResource):
    """Where the platform's state lives.

    Empty ``data_dir`` (the default) means: resolve ``SPIEGEL_DATA_DIR`` (else ``./data``)
    when a run starts, so the CLI, ``spiegel ui`` and the tests point the same
    definitions at their own data directory.
    """

    data_dir: str = ""

    @property
    def paths(self) -> SpiegelPaths:
        return SpiegelPaths(Path(self.data_dir).resolve() if self.data_dir else default_data_dir())


def dbt_executable() -> str:
    """dagster-dbt runs ``dbt`` from PATH; pin it to this environment's dbt."""
    candidate = Path(sys.executable).parent / "dbt"
    return str(candidate) if candidate.exists() else "dbt"


def dbt_environment(paths: SpiegelPaths) -> None:
    """dbt's profile reads the warehouse path from the environment of its subprocess."""
    os.environ["SPIEGEL_WAREHOUSE"] = str(paths.warehouse)


def build_resources() -> dict[str, object]:
    return {
        "spiegel": SpiegelResource(),
        "dbt": DbtCliResource(
            project_dir=str(DBT_PROJECT_DIR),
            profiles_dir=str(DBT_PROJECT_DIR),
            dbt_executable=dbt_executable(),
        ),
    }
