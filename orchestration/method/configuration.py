"""The configuration: the dbt seeds (dbt_project/seeds), one asset each, not partitioned.

Periods, age bands, prestatie codes, insurer labels and the required insurers hold for
every period, so they are loaded once per version of the dbt project into the engine's
warehouse (with their dbt tests), not again in each period's run. A period's method
run refuses to start on seeds older than the repository's (method/asset.py); the CLI
(runner.py) and the configuration sensor load them first when the project changed.
"""

from collections.abc import Iterator

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets

from orchestration.core.resources import SpiegelResource
from orchestration.core.settings import SpiegelPaths, dbt_target, engine
from orchestration.core.warehouse import write_lock
from orchestration.method import spark_engine
from orchestration.method.dbt_cli import dbt_environment, keep_partial_parse
from orchestration.method.dbt_project import (
    DBT_PROJECT,
    dbt_manifest_path,
    fingerprint_recorded,
    record_fingerprint,
    target_fingerprint,
)
from orchestration.method.translation import translator

CONFIGURATION_JOB = "load_configuration"
SEEDS_LOADED = "seeds_loaded.txt"  # the fingerprints (target:project) whose seeds are loaded here


def seeds_loaded(paths: SpiegelPaths, fingerprint: str) -> bool:
    """Loaded for this version of the project, into a warehouse that still exists (a data
    directory whose warehouse file was removed starts again from nothing)."""
    warehouse_gone = fingerprint.startswith(f"{dbt_target('duckdb')}:") and not paths.warehouse.exists()
    return not warehouse_gone and fingerprint_recorded(paths, SEEDS_LOADED, fingerprint)


def configuration_needed(paths: SpiegelPaths) -> bool:
    """The seeds of the engine in use are not those of the project as it is now."""
    return not seeds_loaded(paths, target_fingerprint(dbt_target(engine()), paths))


@dbt_assets(
    manifest=dbt_manifest_path(),
    project=DBT_PROJECT,
    select="resource_type:seed",
    dagster_dbt_translator=translator,
    name="configuration",
)
def configuration(context: dg.AssetExecutionContext, dbt: DbtCliResource, spiegel: SpiegelResource) -> Iterator[object]:
    """Load the seeds into the warehouse of the engine in use and run their dbt tests."""
    dbt_environment(spiegel.paths)
    chosen = engine()
    target = dbt_target(chosen)
    fingerprint = target_fingerprint(target, spiegel.paths)  # the version loaded, taken before dbt reads it
    with write_lock(spiegel.paths):
        if chosen == "spark":  # every dbt call on Spark registers the raw layer first
            spark_engine.export_raw_layer(spiegel.paths)
        # cautious: only the tests of the seeds alone; a test that also reads a model of the
        # method (assert_period_is_known, relationships of int_episodes) runs with the method
        invocation = dbt.cli(["build", "--target", target, "--indirect-selection", "cautious"], context=context)
        yield from invocation.stream()
        keep_partial_parse(spiegel.paths, invocation.target_path)
    record_fingerprint(spiegel.paths, SEEDS_LOADED, fingerprint)
