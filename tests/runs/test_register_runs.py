"""The practice register through the runs (docs/register-contract.md): the method's period
run loads the register in force before dbt, for `spiegel run` and the sensors' job alike;
a newer register makes a computed period not done, so it is computed again and the next
revision names the practices."""

from __future__ import annotations

import csv
import shutil

import dagster as dg
import duckdb

from orchestration.core.partitions import delivery_key
from orchestration.core.settings import SpiegelPaths
from orchestration.runs import runner
from orchestration.runs.instance import use_data_dir
from tests.support.pipeline import _restored_environment, evaluate_sensor, spiegel
from tests.support.register_factory import write_register


def test_a_period_is_done_only_for_the_register_its_computation_saw():
    from orchestration.runs.done import period_done

    with dg.DagsterInstance.ephemeral() as instance:
        instance.report_runless_asset_event(
            dg.AssetMaterialization(asset_key="delivery", partition=str(delivery_key("2024-v1", "cz")))
        )
        used = {"deliveries": dg.MetadataValue.json({"cz": "D1"}), "method_version": "M1"}
        instance.report_runless_asset_event(  # computed before any register landed (or before the register existed)
            dg.AssetMaterialization(asset_key="release_readiness", partition="2024-v1", metadata=used)
        )
        assert period_done(instance, "2024-v1", {"cz": "D1"}, "M1")
        assert period_done(instance, "2024-v1", {"cz": "D1"}, "M1", None)
        assert not period_done(instance, "2024-v1", {"cz": "D1"}, "M1", "R1")  # a register landed since
        instance.report_runless_asset_event(
            dg.AssetMaterialization(
                asset_key="release_readiness", partition="2024-v1", metadata={**used, "practice_register": "R1"}
            )
        )
        assert period_done(instance, "2024-v1", {"cz": "D1"}, "M1", "R1")
        assert not period_done(instance, "2024-v1", {"cz": "D1"}, "M1", "R2")  # a newer one


def test_a_new_register_is_loaded_by_the_next_period_run_and_named_in_the_next_revision(clean_release, tmp_path):
    from orchestration.runs.sensors import period_sensor

    data = tmp_path / "data"
    shutil.copytree(clean_release["data"], data, symlinks=True)
    paths, period = SpiegelPaths(data), clean_release["period"]
    with open(clean_release["release"] / "behandelindex.csv", newline="", encoding="utf-8") as f:
        index = list(csv.DictReader(f))
    agbs = sorted({r["practice_agb"] for r in index})
    named = min(r["practice_agb"] for r in index if r["status"] == "ok")  # it has a report
    unnamed = max(a for a in agbs if a != named)
    with _restored_environment():
        use_data_dir(paths)
        instance = dg.DagsterInstance.get()
        assert not runner.period_needs_computing(paths, period)
        assert evaluate_sensor(period_sensor, instance).run_requests == []
        write_register(paths.landing, "20241101T0800", [(named, "Fysiotherapie De Linde", "Utrecht")])
        assert runner.period_needs_computing(paths, period)
        [request] = evaluate_sensor(period_sensor, instance).run_requests  # the UI's path: the same job
        assert request.partition_key == period
    assert spiegel(data, "run", "--period", period) == 0  # computes the period again, loading the register
    with _restored_environment():
        use_data_dir(paths)
        assert not runner.period_needs_computing(paths, period)
    con = duckdb.connect(str(paths.warehouse), read_only=True)
    rows = dict(
        con.execute("select practice_agb, practice_name from marts.dim_practices where period = ?", [period]).fetchall()
    )
    con.close()
    assert rows[named] == "Fysiotherapie De Linde" and rows[unnamed] is None and sorted(rows) == agbs
    # the sign-off is about the claims: a new one publishes r2, with the names
    assert spiegel(data, "signoff", "--period", period, "--by", "anna", "--comment", "register") == 0
    assert spiegel(data, "publish", "--period", period) == 0
    lines = (paths.releases / period / "r2" / "practices.csv").read_text(encoding="utf-8").splitlines()
    assert f"{named},Fysiotherapie De Linde,Utrecht" in lines and f"{unnamed},," in lines
    report = next((paths.releases / period / "r2" / "reports").glob(f"*/{named}.html"))
    assert "Fysiotherapie De Linde, Utrecht</span> (AGB" in report.read_text(encoding="utf-8")
