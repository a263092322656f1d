"""The behandelindex method: the dbt project, run per period by dagster-dbt.

The method lives only in ``dbt_project/models``; this module only runs it. Every
model is partitioned by period and computes just ``var('period')`` (incremental delete+insert), so one period's run leaves the others
untouched. The dbt source ``raw`` is the ``delivery`` asset: a period depends on
every insurer's delivery of that period.
"""

import json
from collections.abc import Mapping
from typing import Any, Iterator

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets

from orchestration.config import dbt_target, engine
from orchestration.crashpoints import crash_point
from orchestration.dbt_manifest import dbt_manifest_path
from orchestration.partitions import period_of_delivery, period_partitions
from orchestration.resources import SpiegelResource, dbt_environment
from orchestration.warehouse import write_lock

OWNER = "team:method"


def dbt_period_args(command: str, period: str, extra_vars: Mapping[str, Any] | None = None) -> list[str]:
    """The dbt command line for one period (a pure function, tested on its own)."""
    variables = {"period": period, **(extra_vars or {})}
    return [command, "--vars", json.dumps(variables, sort_keys=True)]


class SpiegelDbtTranslator(DagsterDbtTranslator):
    """Raw sources are the ``delivery`` asset; groups follow the dbt layer."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source" and dbt_resource_props["source_name"] == "raw":
            return dg.AssetKey("delivery")
        return super().get_asset_key(dbt_resource_props)

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "seed":
            return "configuration"
        fqn = dbt_resource_props.get("fqn", [])
        layer = fqn[1] if len(fqn) > 2 else "method"
        return f"method_{layer}"

    def get_owners(self, dbt_resource_props: Mapping[str, Any]):
        return [OWNER]

    def get_partition_mapping(self, dbt_resource_props, dbt_parent_resource_props):
        if dbt_parent_resource_props.get("resource_type") == "source":
            return period_of_delivery
        return None


translator = SpiegelDbtTranslator(
    settings=DagsterDbtTranslatorSettings(enable_duplicate_source_asset_keys=True)
)


@dbt_assets(
    manifest=dbt_manifest_path(),
    select="resource_type:seed resource_type:model",
    dagster_dbt_translator=translator,
    partitions_def=period_partitions,
    name="method",
)
def method(context: dg.AssetExecutionContext, dbt: DbtCliResource,
           spiegel: SpiegelResource) -> Iterator[object]:
    """Seeds, staging, intermediate and marts of method.md for one period, with their dbt tests.

    The seeds are (re)loaded in every period run: they are tiny, and the configuration a
    period was computed with is then always the configuration in the repository.
    """
    dbt_environment(spiegel.paths)
    period = context.partition_key
    chosen = engine()   # SPIEGEL_ENGINE: where the method runs; everything else is the same
    with write_lock(spiegel.paths):
        if chosen == "spark":
            from orchestration import spark_engine
            spark_engine.export_raw_layer(spiegel.paths)
        args = dbt_period_args("build", period) + ["--target", dbt_target(chosen)]
        for event in dbt.cli(args, context=context).stream():
            yield event
            crash_point("dbt_event")
        if chosen == "spark":
            loaded = spark_engine.load_marts_into_warehouse(spiegel.paths, period)
            context.log.info(f"Spark's marts of {period} loaded into the warehouse: {loaded}")
