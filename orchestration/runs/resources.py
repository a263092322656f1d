"""The code location's resources: the data directory and dbt, configured from the
environment in one place."""

from __future__ import annotations

from orchestration.core.resources import SpiegelResource
from orchestration.method.dbt_cli import SpiegelDbtCliResource
from orchestration.method.dbt_project import DBT_PROJECT, dbt_executable


def build_resources() -> dict[str, object]:
    return {
        "spiegel": SpiegelResource(),
        "dbt": SpiegelDbtCliResource(
            project_dir=DBT_PROJECT,
            dbt_executable=dbt_executable(),
        ),
    }
