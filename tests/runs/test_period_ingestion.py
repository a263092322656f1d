"""One ingestion run per period: the landing sensor asks for one run for all the period's new
deliveries; that run records each delivery partition as the asset would (the UI's grid and
checks), "done" reads it alike, and one insurer can still be rerun alone."""

from __future__ import annotations

import dagster as dg
import pytest

from orchestration.core.partitions import delivery_key
from orchestration.core.seeds import required_insurers
from orchestration.core.settings import SpiegelPaths
from orchestration.runs import runner
from orchestration.runs.done import DELIVERY_ASSET, DELIVERY_CHECK_NAMES, delivery_done
from orchestration.runs.instance import use_data_dir
from tests.support.delivery_factory import clean_period, land_clean_period, write_delivery
from tests.support.pipeline import _restored_environment, evaluate_sensor

PERIOD = "2024-v1"
BROKEN = "cz"  # its manifest's control total is wrong: the contract rejects it


@pytest.fixture(scope="module")
def landed(tmp_path_factory):
    paths = SpiegelPaths(tmp_path_factory.mktemp("period_ingestion") / "data")
    land_clean_period(paths.landing, PERIOD)
    rows = clean_period(PERIOD)[BROKEN]
    write_delivery(
        paths.landing, PERIOD, BROKEN, "20241006T0930", rows=rows, file_overrides={"paid_amount_total": "1.00"}
    )
    return paths


def _evaluations(instance, run_id: str) -> dict[str, dict[str, bool]]:
    """partition -> check name -> passed, of the run's check evaluations."""
    found: dict[str, dict[str, bool]] = {}
    for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION):
        evaluation = entry.dagster_event.event_specific_data
        found.setdefault(evaluation.partition, {})[evaluation.check_name] = evaluation.passed
    return found


def test_a_period_of_seven_deliveries_is_ingested_in_one_run_with_a_grid_per_delivery(landed):
    from orchestration.runs.sensors import landing_sensor, period_sensor

    paths = landed
    insurers = required_insurers(PERIOD)
    assert len(insurers) == 7
    with _restored_environment():
        use_data_dir(paths)
        instance = dg.DagsterInstance.get()

        [request] = evaluate_sensor(landing_sensor, instance).run_requests
        assert request.partition_key == PERIOD
        asked = request.run_config["ops"]["ingest_period_deliveries"]["config"]["insurers"]
        assert sorted(asked) == sorted(insurers)

        outcome = runner.ingest_period(PERIOD, asked)  # what the daemon launches for the request
        assert outcome.success, outcome.message
        [run] = instance.get_runs(filters=dg.RunsFilter(job_name="ingest_period"))
        assert run.tags["spiegel/warehouse"] == "write" and run.tags["dagster/partition"] == PERIOD
        assert instance.get_runs(filters=dg.RunsFilter(job_name="ingest_delivery")) == []

        # each delivery partition has its materialisation and its three checks, from the one run
        evaluations = _evaluations(instance, run.run_id)
        assert set(evaluations) == {str(delivery_key(PERIOD, i)) for i in insurers}
        assert all(set(checks) == DELIVERY_CHECK_NAMES for checks in evaluations.values())
        broken = str(delivery_key(PERIOD, BROKEN))
        assert evaluations[broken]["delivery_contract"] is False
        assert all(all(checks.values()) for key, checks in evaluations.items() if key != broken)
        materialized = instance.get_materialized_partitions(DELIVERY_ASSET)
        assert {str(delivery_key(PERIOD, i)) for i in insurers} <= set(materialized)
        record = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=DELIVERY_ASSET, asset_partitions=[broken]), limit=1
        ).records[0]
        metadata = record.asset_materialization.metadata
        assert metadata["status"].value == "rejected" and metadata["delivery_id"].value == "20241006T0930"
        assert "paid_amount_total" in metadata["rejection"].value or "control" in metadata["rejection"].value

        # done is read per partition, whoever gated it: nothing more to ingest, the period next
        assert all(
            delivery_done(instance, PERIOD, i, "20241006T0930" if i == BROKEN else "20241005T0930") for i in insurers
        )
        assert evaluate_sensor(landing_sensor, instance).run_requests == []
        assert runner.load_configuration_if_changed(paths, progress=lambda _m: None).success  # the seeds first
        [computation] = evaluate_sensor(period_sensor, instance).run_requests
        assert computation.partition_key == PERIOD

        # the insurer redelivers: its rerun alone, as before, by the one-delivery job
        write_delivery(paths.landing, PERIOD, BROKEN, "20241007T0930", rows=clean_period(PERIOD)[BROKEN])
        [request] = evaluate_sensor(landing_sensor, instance).run_requests
        assert request.run_config["ops"]["ingest_period_deliveries"]["config"]["insurers"] == [BROKEN]
        rerun = runner.ingest(PERIOD, BROKEN)
        assert rerun.success, rerun.message
        assert delivery_done(instance, PERIOD, BROKEN, "20241007T0930")
        assert evaluate_sensor(landing_sensor, instance).run_requests == []

        # with nothing left to do, a period run gates nothing and says so; an unknown insurer is refused
        idle = runner.ingest_period(PERIOD)
        assert idle.success
        [idle_run] = [
            r for r in instance.get_runs(filters=dg.RunsFilter(job_name="ingest_period")) if r.run_id == idle.run_id
        ]
        assert _evaluations(instance, idle_run.run_id) == {}
        refused = runner.ingest_period(PERIOD, ["achmea"])
        assert not refused.success and "not a required insurer of the period: achmea" in refused.message
