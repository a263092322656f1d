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


SPARK_LOG4J = Path(__file__).resolve().parent / "spark" / "log4j2.properties"


def dbt_env_vars(paths: SpiegelPaths) -> dict[str, str]:
    """What dbt's profile reads (dbt_project/profiles.yml): the DuckDB warehouse, and for
    SPIEGEL_ENGINE=spark the local Spark's directory and where its log goes."""
    return {
        "SPIEGEL_WAREHOUSE": str(paths.warehouse),
        "SPIEGEL_SPARK_DIR": str(paths.spark),
        "SPIEGEL_LOG_DIR": str(paths.logs),
        "SPIEGEL_SPARK_LOG4J": f"file:{SPARK_LOG4J}",
        "SPIEGEL_RAW_PARQUET": str(paths.raw_parquet),
        # the local Spark binds to the loopback interface only (and says nothing about it)
        "SPARK_LOCAL_IP": os.environ.get("SPARK_LOCAL_IP", "127.0.0.1"),
        # pyspark warns on import that it prefers pandas < 3; dbt-spark never hands it pandas
        "PYTHONWARNINGS": os.environ.get("PYTHONWARNINGS", "ignore::FutureWarning"),
    }


def dbt_environment(paths: SpiegelPaths) -> None:
    """dbt's profile reads the warehouse path from the environment of its subprocess."""
    os.environ.update(dbt_env_vars(paths))


def build_resources() -> dict[str, object]:
    return {
        "spiegel": SpiegelResource(),
        "dbt": DbtCliResource(
            project_dir=str(DBT_PROJECT_DIR),
            profiles_dir=str(DBT_PROJECT_DIR),
            dbt_executable=dbt_executable(),
        ),
    }
