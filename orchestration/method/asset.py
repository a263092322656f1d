"""The behandelindex method: the dbt project, run per period by dagster-dbt.

The method lives only in ``dbt_project/models``; this module only runs it. Every
model is partitioned by period and computes just that period (incremental
delete+insert), so one period's run leaves the others untouched. The dbt source
``raw`` is the ``delivery`` asset: a period depends on every insurer's delivery of
that period. The seeds are not partitioned: they are the ``configuration`` assets.
"""

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets

from orchestration.core.crashpoints import crash_point
from orchestration.core.partitions import period_partitions
from orchestration.core.resources import SpiegelResource
from orchestration.core.settings import SpiegelPaths, dbt_target, engine, scoped_environment
from orchestration.core.warehouse import write_lock
from orchestration.delivery.raw_tables import connect_raw
from orchestration.delivery.register import load_register
from orchestration.method import spark_engine
from orchestration.method.configuration import CONFIGURATION_JOB, seeds_loaded
from orchestration.method.dbt_cli import dbt_environment, keep_partial_parse
from orchestration.method.dbt_project import (
    DBT_PROJECT,
    dbt_manifest_path,
    fingerprint_recorded,
    record_fingerprint,
    target_fingerprint,
)
from orchestration.method.translation import translator


def dbt_period_args(command: str, period: str, extra_vars: Mapping[str, Any] | None = None) -> list[str]:
    """The dbt command line for one period (a pure function, tested on its own)."""
    variables = {"period": period, **(extra_vars or {})}
    return [command, "--vars", json.dumps(variables, sort_keys=True)]


PERIOD_ENV = "SPIEGEL_PERIOD"  # read by macros/spiegel_period.sql when no var('period') is given
UNIT_TESTS_PASSED = "unit_tests_passed.txt"  # the fingerprints whose unit tests passed here


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
    return fingerprint_recorded(paths, UNIT_TESTS_PASSED, fingerprint)


def record_unit_tests_passed(paths: SpiegelPaths, fingerprint: str) -> None:
    record_fingerprint(paths, UNIT_TESTS_PASSED, fingerprint)


@dbt_assets(
    manifest=dbt_manifest_path(),
    project=DBT_PROJECT,
    select="resource_type:model",
    dagster_dbt_translator=translator,
    partitions_def=period_partitions,
    name="method",
)
def method(context: dg.AssetExecutionContext, dbt: DbtCliResource, spiegel: SpiegelResource) -> Iterator[object]:
    """Staging, intermediate and marts of method.md for one period, with their dbt tests.

    The seeds they read are the ``configuration`` assets (method/configuration.py),
    loaded once per version of the dbt project, not per period: a period run refuses to
    start on seeds older than the repository's, so a period is never computed with a
    configuration other than the one in the repository. Before dbt it loads the practice
    register in force (``delivery/register.py``, docs/register-contract.md) for
    ``marts.dim_practices``: names only, nothing of the index reads it.
    """
    dbt_environment(spiegel.paths)
    period = context.partition_key
    chosen = engine()  # SPIEGEL_ENGINE: where the method runs; everything else is the same
    target = dbt_target(chosen)
    fingerprint = target_fingerprint(target, spiegel.paths)  # per engine and configuration
    if not seeds_loaded(spiegel.paths, fingerprint):
        raise dg.Failure(
            description=(
                f"The seeds in {target} are not those of dbt_project/ as it is now: materialize the "
                f"configuration assets first (job {CONFIGURATION_JOB}; `spiegel run` does it itself), "
                f"then run {period} again."
            )
        )
    # dbt's source raw.claims exists even before any delivery was ingested; the practice
    # register in force (addressing only, for marts.dim_practices) is loaded here, before dbt
    with connect_raw(spiegel.paths) as con:
        register = load_register(con, spiegel.paths.landing)
    (context.log.warning if register.rejected else context.log.info)(f"practice register: {register.summary()}")
    with write_lock(spiegel.paths):
        if chosen == "spark":
            spark_engine.export_raw_layer(spiegel.paths)
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
