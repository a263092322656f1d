"""The Dagster code location loads, and the pure functions that drive it are right."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import dagster as dg

from orchestration.core.partitions import (
    delivery_key,
    delivery_partitions,
    insurer_partitions,
    period_partitions,
    split_delivery_key,
)
from orchestration.core.seeds import insurers
from orchestration.core.settings import REPO_ROOT
from orchestration.method.asset import dbt_build_invocation, dbt_period_args
from orchestration.method.translation import SpiegelDbtTranslator


def test_dbt_period_args_carry_the_period_and_overrides():
    assert dbt_period_args("build", "2024-v1") == ["build", "--vars", '{"period": "2024-v1"}']
    args = dbt_period_args("build", "2023-v3", {"min_patients": 1})
    assert args[:2] == ["build", "--vars"]
    assert json.loads(args[2]) == {"min_patients": 1, "period": "2023-v3"}


def test_the_platforms_build_passes_the_period_in_the_environment_and_unit_tests_once():
    args, env = dbt_build_invocation("2024-v2", "dev", with_unit_tests=True)
    assert args == ["build", "--target", "dev"] and env == {"SPIEGEL_PERIOD": "2024-v2"}
    args, env = dbt_build_invocation("2024-v3", "spark", with_unit_tests=False)
    assert args == ["build", "--target", "spark", "--exclude", "test_type:unit"]
    assert env == {"SPIEGEL_PERIOD": "2024-v3"}
    assert "--vars" not in args  # --vars would make dbt parse the whole project again


def test_delivery_keys_round_trip():
    key = delivery_key("2024-v2", "zilveren_kruis")
    assert split_delivery_key(key) == ("2024-v2", "zilveren_kruis")
    assert split_delivery_key(str(key)) == ("2024-v2", "zilveren_kruis")
    assert set(insurer_partitions.get_partition_keys()) == {i.insurer_id for i in insurers()}


def test_translator_maps_raw_sources_to_the_delivery_asset_per_period():
    translator = SpiegelDbtTranslator()
    source = {"resource_type": "source", "source_name": "raw", "name": "claims"}
    assert translator.get_asset_key(source) == dg.AssetKey("delivery")
    mapping = translator.get_partition_mapping({"resource_type": "model"}, source)
    assert isinstance(mapping, dg.MultiToSingleDimensionPartitionMapping)
    assert mapping.partition_dimension_name == "period"
    assert translator.get_group_name({"resource_type": "seed", "fqn": ["spiegel", "periods"]}) == "configuration"


def test_definitions_load_with_the_whole_path_of_the_data():
    from orchestration.definitions import defs

    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert {
        "delivery",
        "release_readiness",
        "signoff",
        "release",
        "marts/fct_behandelindex",
        "marts/fct_reference_strata",
    } <= keys
    assert graph.get(dg.AssetKey("delivery")).partitions_def == delivery_partitions
    assert graph.get(dg.AssetKey(["marts", "fct_behandelindex"])).partitions_def == period_partitions
    # the seeds are configuration for every period: their own assets, not partitioned, upstream of the method
    seeds = {
        "seeds/periods",
        "seeds/age_bands",
        "seeds/prestatie_codes",
        "seeds/insurer_labels",
        "seeds/required_insurers",
        "seeds/exclusion_windows",
        "seeds/cancelled_periods",
        "seeds/dcsph_regions",
    }
    assert seeds <= keys
    for seed in seeds:
        node = graph.get(dg.AssetKey.from_user_string(seed))
        assert node.partitions_def is None and node.group_name == "configuration", seed
    assert (
        dg.AssetKey(["seeds", "prestatie_codes"])
        in graph.get(dg.AssetKey(["intermediate", "int_claim_lines"])).parent_keys
    )
    assert {
        k.to_user_string() for k in defs.resolve_job_def("load_configuration").asset_layer.selected_asset_keys
    } == seeds
    # every dbt model has a description, an owner and a group for the operations team
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        if node.is_materializable:
            assert node.group_name, key
            assert node.owners, key
    check_names = {k.name for k in graph.asset_check_keys}
    assert {"delivery_contract", "delivery_contents", "delivery_completeness", "release_ready"} <= check_names
    for job in (
        "load_configuration",
        "ingest_period",
        "ingest_delivery",
        "compute_period",
        "sign_off",
        "publish_release",
    ):
        assert defs.resolve_job_def(job) is not None
    assert {s.name for s in defs.sensors} == {
        "configuration_sensor",
        "landing_sensor",
        "period_sensor",
        "alerts_sensor",
        "run_failure_alerts",
    }
    # the alerts' daily calendar check (docs/alerts.md)
    assert {s.name for s in defs.schedules} == {"release_calendar_schedule"}


def test_dagster_definitions_validate_command_passes():
    dagster = Path(sys.executable).parent / "dagster"
    result = subprocess.run(
        [str(dagster), "definitions", "validate", "-w", "workspace.yaml"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]


def _failed_step_data(raise_in_op: Exception) -> list:
    @dg.op
    def failing_op():
        raise raise_in_op

    @dg.job
    def failing_job():
        failing_op()

    result = failing_job.execute_in_process(raise_on_error=False, instance=dg.DagsterInstance.ephemeral())
    assert not result.success
    return [e.event_specific_data for e in result.all_events if e.is_step_failure]


def test_a_failed_run_reports_the_ops_own_exception_in_one_line():
    from orchestration.runs.runner import _failure_message

    message = _failure_message(_failed_step_data(ValueError("the marts are out of date\nrun the period")))
    assert message == "ValueError: the marts are out of date | run the period"


def test_a_refusal_reports_its_description_not_dagsters_wrapper():
    from orchestration.runs.runner import _failure_message

    refusal = dg.Failure(description="publish of 2024-v1 refused: no valid sign-off", allow_retries=False)
    assert _failure_message(_failed_step_data(refusal)) == "publish of 2024-v1 refused: no valid sign-off"


def test_seeds_count_as_loaded_only_for_the_recorded_version_and_an_existing_warehouse(tmp_path):
    from orchestration.core.settings import SpiegelPaths
    from orchestration.method.configuration import SEEDS_LOADED, seeds_loaded
    from orchestration.method.dbt_project import record_fingerprint, target_fingerprint

    paths = SpiegelPaths(tmp_path / "data")
    current = target_fingerprint("dev")
    assert current.startswith("dev:") and len(current) == len("dev:") + 64
    assert not seeds_loaded(paths, current)  # nothing recorded
    record_fingerprint(paths, SEEDS_LOADED, current)
    assert not seeds_loaded(paths, current)  # recorded, but no warehouse
    paths.warehouse.parent.mkdir(parents=True, exist_ok=True)
    paths.warehouse.write_bytes(b"")
    assert seeds_loaded(paths, current)
    assert not seeds_loaded(paths, "dev:" + "0" * 64)  # another version of the project
    assert not seeds_loaded(paths, "spark:" + current[len("dev:") :])  # per engine


def _run_period_with(monkeypatch, tmp_path, configured, period_done=False):
    """runner.run_period with every delivery unchanged, the seeds' run answering
    ``configured`` (None: loaded already) and the period ``period_done`` or not (the
    answer of runs/done.py): (outcomes, periods computed, lines said)."""
    from orchestration.core.settings import SpiegelPaths
    from orchestration.runs import runner

    computed, said = [], []

    def compute(period):
        computed.append(period)
        return runner.RunOutcome("compute_period", period, "run-method", True)

    monkeypatch.setattr(runner, "fail_dead_runs_once", lambda: None)  # no instance here: nothing ran before
    monkeypatch.setattr(runner, "needs_ingestion", lambda paths, period, insurer: False)
    monkeypatch.setattr(runner, "load_configuration_if_changed", lambda paths, progress: configured)
    monkeypatch.setattr(runner, "compute_period", compute)
    monkeypatch.setattr(runner, "period_needs_computing", lambda paths, period: not period_done)
    outcomes = runner.run_period(SpiegelPaths(tmp_path / "data"), "2024-v1", progress=said.append)
    return outcomes, computed, said


def test_a_failed_seeds_run_stops_the_period_before_its_method_run(monkeypatch, tmp_path):
    """The method run would only refuse stale seeds: the operator sees one failed run, the
    seeds', with its reason, and the CLI exits with it (a crashed outcome)."""
    from orchestration.runs.runner import RunOutcome

    failed = RunOutcome("load_configuration", "None", "run-seeds", False, "seed insurer_labels: 2 tests failed")
    outcomes, computed, said = _run_period_with(monkeypatch, tmp_path, failed)
    assert outcomes == [failed] and failed.crashed
    assert computed == []
    assert any("run-seeds failed: seed insurer_labels: 2 tests failed" in line for line in said)
    assert any("2024-v1: the method is not run until the seeds load" in line for line in said)


def test_loaded_or_current_seeds_go_on_to_the_method_run(monkeypatch, tmp_path):
    from orchestration.runs.runner import RunOutcome

    loaded = RunOutcome("load_configuration", "None", "run-seeds", True)
    outcomes, computed, _ = _run_period_with(monkeypatch, tmp_path, loaded)
    assert [o.job for o in outcomes] == ["load_configuration", "compute_period"] and computed == ["2024-v1"]
    outcomes, computed, _ = _run_period_with(monkeypatch, tmp_path, None)
    assert [o.job for o in outcomes] == ["compute_period"] and computed == ["2024-v1"]


def test_a_period_already_computed_on_its_deliveries_is_not_run_again(monkeypatch, tmp_path):
    from orchestration.runs.runner import RunOutcome

    outcomes, computed, said = _run_period_with(monkeypatch, tmp_path, None, period_done=True)
    assert outcomes == [] and computed == []
    assert any("2024-v1: already computed on the deliveries in force" in line for line in said)
    # the seeds changed: the period is computed again, whatever the instance says
    loaded = RunOutcome("load_configuration", "None", "run-seeds", True)
    outcomes, computed, _ = _run_period_with(monkeypatch, tmp_path, loaded, period_done=True)
    assert computed == ["2024-v1"]
