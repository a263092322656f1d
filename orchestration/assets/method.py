"""The behandelindex method: the dbt project, run per period by dagster-dbt.

The method lives only in ``dbt_project/models``; this module only runs it. Every
model is partitioned by period and computes just ``var('period')`` (incremental delete+insert), so one period's run leaves the others
untouched. The dbt source ``raw`` is the ``delivery`` asset: a period depends on
every insurer's delivery of that period.
"""

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Iterator

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets

from orchestration.config import SpiegelPaths, dbt_target, engine, scoped_environment
from orchestration.crashpoints import crash_point
from orchestration.dbt_manifest import dbt_manifest_path, project_fingerprint
from orchestration.partitions import period_of_delivery, period_partitions
from orchestration.resources import SpiegelResource, dbt_environment, keep_partial_parse
from orchestration.warehouse import write_lock

OWNER = "team:method"


def dbt_period_args(command: str, period: str, extra_vars: Mapping[str, Any] | None = None) -> list[str]:
    """The dbt command line for one period (a pure function, tested on its own)."""
    variables = {"period": period, **(extra_vars or {})}
    return [command, "--vars", json.dumps(variables, sort_keys=True)]


PERIOD_ENV = "SPIEGEL_PERIOD"  # read by macros/spiegel_period.sql when no var('period') is given
UNIT_TESTS_PASSED = "unit_tests_passed.txt"


def dbt_build_invocation(period: str, target: str, with_unit_tests: bool) -> tuple[list[str], dict[str, str]]:
    """The platform's dbt build of one period: its arguments and the environment it adds
    (a pure function, tested on its own).

    The period travels in ``SPIEGEL_PERIOD``, not in ``--vars``: dbt throws its whole parse
    away whenever ``--vars`` change, and re-reads only the files that use an environment
    variable whose value changed. Unit tests do not depend on the period: they run once
    per version of the dbt project in a data directory (``with_unit_tests``).
    """
    args = ["build", "--target", target]
    if not with_unit_tests:
        args += ["--exclude", "test_type:unit"]
    return args, {PERIOD_ENV: period}


def unit_tests_passed(paths: SpiegelPaths, fingerprint: str) -> bool:
    record = paths.dbt_target / UNIT_TESTS_PASSED
    return record.exists() and fingerprint in record.read_text(encoding="utf-8").split()


def record_unit_tests_passed(paths: SpiegelPaths, fingerprint: str) -> None:
    with open(paths.dbt_target / UNIT_TESTS_PASSED, "a", encoding="utf-8") as record:
        record.write(fingerprint + "\n")


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
        target = dbt_target(chosen)
        fingerprint = f"{target}:{project_fingerprint()}"   # per engine too
        with_unit_tests = not unit_tests_passed(spiegel.paths, fingerprint)
        args, env = dbt_build_invocation(period, target, with_unit_tests)
        with scoped_environment(env):
            invocation = dbt.cli(args, context=context)
            for event in invocation.stream():
                yield event
                crash_point("dbt_event")
        keep_partial_parse(spiegel.paths, Path(invocation.target_path))
        if with_unit_tests:  # the build succeeded, so did its unit tests
            record_unit_tests_passed(spiegel.paths, fingerprint)
        if chosen == "spark":
            loaded = spark_engine.load_marts_into_warehouse(spiegel.paths, period)
            context.log.info(f"Spark's marts of {period} loaded into the warehouse: {loaded}")
