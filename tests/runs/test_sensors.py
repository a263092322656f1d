"""The sensors start no work that is done, whoever did it, and still start new work."""

from __future__ import annotations

import shutil
import uuid

import dagster as dg
import pytest

from orchestration.core.partitions import delivery_key
from orchestration.core.seeds import gate_configuration_changed_at
from orchestration.core.settings import SpiegelPaths
from orchestration.runs import runner
from orchestration.runs.instance import use_data_dir
from orchestration.runs.stale_runs import process_tags
from tests.support.delivery_factory import clean_period, land_clean_period, write_delivery
from tests.support.pipeline import _restored_environment, evaluate_sensor, spiegel

FIRST, SECOND = "2024-v1", "2024-v2"
NEW_DELIVERY = "20241112T0930"


@pytest.fixture(scope="module")
def two_published_periods(clean_release, tmp_path_factory):
    """The clean 2024-v1 release plus 2024-v2, both run, signed off and published by the CLI."""
    data = tmp_path_factory.mktemp("sensors") / "data"
    shutil.copytree(clean_release["data"], data, symlinks=True)
    land_clean_period(SpiegelPaths(data).landing, SECOND)
    assert spiegel(data, "run", "--period", SECOND) == 0
    assert spiegel(data, "signoff", "--period", SECOND, "--by", "anna", "--comment", "clean") == 0
    assert spiegel(data, "publish", "--period", SECOND) == 0
    return data


def _requests(sensor, instance) -> list[tuple[str, str]]:
    return sorted((str(r.partition_key), r.run_key) for r in evaluate_sensor(sensor, instance).run_requests)


def test_sensors_start_nothing_after_the_cli_and_exactly_the_new_work_after_a_redelivery(two_published_periods):
    from orchestration.runs.sensors import configuration_sensor, landing_sensor, period_sensor

    data = two_published_periods
    paths = SpiegelPaths(data)
    assert [p.name for p in (paths.releases / FIRST).iterdir()] == ["r1"]
    assert [p.name for p in (paths.releases / SECOND).iterdir()] == ["r1"]
    with _restored_environment():
        use_data_dir(paths)
        instance = dg.DagsterInstance.get()
        runs_before = len(instance.get_runs())

        # what `spiegel ui` starts: the daemon evaluating the sensors on the CLI's instance
        assert _requests(landing_sensor, instance) == []
        assert _requests(period_sensor, instance) == []
        assert _requests(configuration_sensor, instance) == []  # the CLI loaded the seeds

        # a redelivery lands: exactly its ingestion, in the period's ingestion run
        write_delivery(paths.landing, SECOND, "vgz", NEW_DELIVERY, rows=clean_period(SECOND)["vgz"])
        configured = int(gate_configuration_changed_at().timestamp())  # the key names the gates' configuration
        [request] = evaluate_sensor(landing_sensor, instance).run_requests
        assert (request.partition_key, request.run_key) == (SECOND, f"{SECOND}|vgz={NEW_DELIVERY}|{configured}")
        assert request.run_config == {"ops": {"ingest_period_deliveries": {"config": {"insurers": ["vgz"]}}}}
        assert _requests(period_sensor, instance) == []  # not before the delivery is ingested

        # the ingestion runs (the job the sensor requested): then exactly the period's computation
        assert runner.ingest_period(SECOND, ["vgz"]).success
        assert _requests(landing_sensor, instance) == []
        [(partition, _run_key)] = _requests(period_sensor, instance)
        assert partition == SECOND
        assert len(instance.get_runs()) == runs_before + 1  # evaluating launched nothing by itself


def test_a_delivery_whose_ingestion_is_in_progress_is_not_requested_again(two_published_periods):
    from orchestration.runs.sensors import landing_sensor

    paths = SpiegelPaths(two_published_periods)
    with _restored_environment():
        use_data_dir(paths)
        instance = dg.DagsterInstance.get()
        write_delivery(paths.landing, SECOND, "cz", "20241113T0930", rows=clean_period(SECOND)["cz"])
        assert [p for p, _ in _requests(landing_sensor, instance)] == [SECOND]
        # a run of this process (alive, so not failed as stale) ingesting cz right now
        run = instance.add_run(
            dg.DagsterRun(
                job_name="ingest_delivery",
                run_id=str(uuid.uuid4()),
                status=dg.DagsterRunStatus.STARTED,
                tags={"dagster/partition/period": SECOND, "dagster/partition/insurer": "cz", **process_tags()},
            )
        )
        assert _requests(landing_sensor, instance) == []
        instance.report_run_failed(run, "test: the run ends")
        assert [p for p, _ in _requests(landing_sensor, instance)] == [SECOND]
        # nor while the period's ingestion run is in progress
        run = instance.add_run(
            dg.DagsterRun(
                job_name="ingest_period",
                run_id=str(uuid.uuid4()),
                status=dg.DagsterRunStatus.STARTED,
                tags={"dagster/partition": SECOND, **process_tags()},
            )
        )
        assert _requests(landing_sensor, instance) == []
        instance.report_run_failed(run, "test: the run ends")


def test_a_period_counts_as_computed_on_the_deliveries_and_method_its_readiness_names():
    from orchestration.runs.done import period_done, period_inputs_key

    def period_computed_on(instance, period, deliveries, method="M1"):
        return period_done(instance, period, deliveries, method)

    def materialize(instance, asset, partition, **metadata):
        instance.report_runless_asset_event(
            dg.AssetMaterialization(asset_key=asset, partition=partition, metadata=metadata)
        )

    with dg.DagsterInstance.ephemeral() as instance:
        for insurer in ("cz", "vgz"):
            materialize(instance, "delivery", str(delivery_key(FIRST, insurer)), delivery_id="D1")
        assert not period_computed_on(instance, FIRST, {"cz": "D1", "vgz": "D1"})  # never computed
        materialize(
            instance,
            "release_readiness",
            FIRST,
            deliveries=dg.MetadataValue.json({"cz": "D1", "vgz": "D1"}),
            method_version="M1",
        )
        assert period_computed_on(instance, FIRST, {"cz": "D1", "vgz": "D1"})
        assert not period_computed_on(instance, FIRST, {"cz": "D1", "vgz": "D1"}, method="M2")  # dbt_project/ changed
        assert not period_computed_on(instance, FIRST, {"cz": "D1", "vgz": "D2"})  # vgz redelivered
        assert not period_computed_on(instance, FIRST, {"cz": "D1"})  # vgz's delivery withdrawn

        # a readiness that does not say what it used is not trusted: the period is computed once more
        for insurer in ("cz", "vgz"):
            materialize(instance, "delivery", str(delivery_key(SECOND, insurer)), delivery_id="D1")
        materialize(instance, "release_readiness", SECOND, verdict="pass")
        assert not period_computed_on(instance, SECOND, {"cz": "D1", "vgz": "D1"})
        both = dg.MetadataValue.json({"cz": "D1", "vgz": "D1"})
        materialize(instance, "release_readiness", SECOND, deliveries=both, method_version="M1")
        assert period_computed_on(instance, SECOND, {"cz": "D1", "vgz": "D1"})
        # the same delivery gated again after it (an operator changed the labels): computed again
        materialize(instance, "delivery", str(delivery_key(SECOND, "cz")), delivery_id="D1")
        assert not period_computed_on(instance, SECOND, {"cz": "D1", "vgz": "D1"})
        materialize(instance, "release_readiness", SECOND, deliveries=both, method_version="M1")
        assert period_computed_on(instance, SECOND, {"cz": "D1", "vgz": "D1"})
        assert not period_computed_on(instance, SECOND, {"cz": "D1", "vgz": "D2"})

        # the previous version computed again (a redelivery of FIRST): SECOND's index movement
        # (method.md §10) read FIRST's index as it was, so SECOND is computed again, once
        key_before = period_inputs_key(instance, SECOND, {"cz": "D1", "vgz": "D1"}, "M1")
        materialize(
            instance, "release_readiness", FIRST, deliveries=dg.MetadataValue.json({"cz": "D1"}), method_version="M1"
        )
        assert not period_computed_on(instance, SECOND, {"cz": "D1", "vgz": "D1"})
        assert period_inputs_key(instance, SECOND, {"cz": "D1", "vgz": "D1"}, "M1") != key_before  # a new run key
        materialize(instance, "release_readiness", SECOND, deliveries=both, method_version="M1")
        assert period_computed_on(instance, SECOND, {"cz": "D1", "vgz": "D1"})


def test_a_changed_dbt_project_loads_the_seeds_once_and_periods_wait_for_them(two_published_periods, tmp_path):
    """The seeds are configuration, loaded once per version of dbt_project/: after a change
    the configuration sensor asks for exactly one load (its run key is the version), the
    period sensor waits for it, and a period's method run refuses stale seeds by name."""
    from orchestration.method.configuration import SEEDS_LOADED
    from orchestration.runs.sensors import configuration_sensor, period_sensor

    data = tmp_path / "data"
    shutil.copytree(two_published_periods, data, symlinks=True)
    paths = SpiegelPaths(data)
    record = paths.dbt_target / SEEDS_LOADED
    loaded = record.read_text(encoding="utf-8").split()
    assert len(loaded) == 1 and loaded[0].startswith("dev:")
    record.write_text("dev:an-older-version-of-the-project\n", encoding="utf-8")  # as after an edit
    with _restored_environment():
        use_data_dir(paths)
        instance = dg.DagsterInstance.get()
        assert _requests(configuration_sensor, instance) == [("None", loaded[0])]
        result = evaluate_sensor(period_sensor, instance)
        assert result.run_requests == [] and "configuration" in result.skip_reason.skip_message

        refused = runner.compute_period(SECOND)
        assert not refused.success and not refused.blocked_by_check
        assert "load_configuration" in refused.message and SECOND in refused.message

        outcomes = runner.run_period(paths, SECOND, progress=lambda _m: None)
        jobs = [o.job for o in outcomes]
        # deliveries an earlier test of this module landed are ingested first, in at most
        # one run; then the seeds, once, and the method
        assert jobs[-2:] == ["load_configuration", "compute_period"] and jobs.count("load_configuration") == 1
        assert jobs[:-2] in ([], ["ingest_period"])
        assert all(o.success for o in outcomes)
        assert loaded[0] in record.read_text(encoding="utf-8").split()
        assert _requests(configuration_sensor, instance) == []
        # loaded again: no second load for the same version
        assert runner.load_configuration_if_changed(paths, progress=lambda _m: None) is None
