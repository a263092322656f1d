"""``spiegel bench``, second part: the period through the Dagster jobs the CLI and the UI
launch, and where each run's fixed cost goes.

The staged figures (orchestration/commands/bench.py) call each stage's code directly; an operator
meets the same work wrapped in Dagster runs (run creation, event storage, one run per
period's ingestion, dbt as a subprocess). This part runs ``spiegel run --period`` (runner.run_period)
on the same deliveries in a data directory of its own, then the method job once more
(the steady state: dbt's parse kept, unit tests already passed), and reads the timings
back from Dagster's event log and dbt's run_results.json:

- per run: creation to first step, last step to run end (Dagster's own overhead);
- ingestion: contract and load, then the gates (Great Expectations and Data Docs);
- the method: dbt start-up (step start to dbt's first node), the nodes (count, time,
  mean per node) and what follows dbt's last node (dagster-dbt storing the events).
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from datetime import datetime

from orchestration.core.settings import SpiegelPaths, scoped_environment
from orchestration.runs.instance import use_data_dir


def dagster_paths(bench_paths: SpiegelPaths) -> SpiegelPaths:
    """A data directory of its own that reads the benchmark's landed deliveries (a link)."""
    paths = SpiegelPaths(bench_paths.data_dir.parent / f"{bench_paths.data_dir.name}-dagster")
    if paths.data_dir.exists():
        shutil.rmtree(paths.data_dir)  # a fresh warehouse and Dagster instance: a first run
    paths.data_dir.mkdir(parents=True)
    paths.landing.symlink_to(bench_paths.landing.resolve(), target_is_directory=True)
    return paths


def _timestamp(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def run_timeline(instance, run_id: str) -> dict:
    """A run's phases in seconds, from its record and its stored events."""
    import dagster as dg

    kinds = dg.DagsterEventType
    run_end_kinds = {kinds.RUN_SUCCESS, kinds.RUN_FAILURE, kinds.RUN_CANCELED}
    record = instance.get_run_records(filters=dg.RunsFilter(run_ids=[run_id]))[0]
    created = record.create_timestamp.timestamp()
    steps: dict[str, dict[str, float]] = {}
    run_end = created
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        if event is None:
            if entry.step_key:  # a log line of the step's own (the gates mark their phases)
                steps.setdefault(entry.step_key, {}).setdefault("messages", []).append(
                    (entry.timestamp, entry.user_message)
                )
            continue
        kind = event.event_type
        if kind in run_end_kinds:
            run_end = entry.timestamp
        elif entry.step_key:
            step = steps.setdefault(entry.step_key, {})
            if kind == kinds.STEP_START:
                step["start"] = entry.timestamp
            elif kind in (kinds.STEP_SUCCESS, kinds.STEP_FAILURE):
                step["end"] = entry.timestamp
            elif kind == kinds.ASSET_MATERIALIZATION:
                step.setdefault("materializations", []).append(entry.timestamp)
    started = [s["start"] for s in steps.values() if "start" in s]
    ended = [s["end"] for s in steps.values() if "end" in s]
    return {
        "run_id": run_id,
        "job": record.dagster_run.job_name,
        "partition": record.dagster_run.tags.get("dagster/partition", ""),
        "seconds": run_end - created,
        "before_first_step": (min(started) - created) if started else 0.0,
        "after_last_step": (run_end - max(ended)) if ended else 0.0,
        "steps": steps,
    }


def _ingestion_split(timeline: dict) -> tuple[float, float]:
    """(contract and load, gates) of an ingestion run's step, summed over the deliveries it
    gated: from each delivery's "validating" log line to its "running the gates" line, and
    from there to its ``delivery`` materialisation (logged once its gates are done)."""
    from orchestration.gates.delivery_asset import GATING_MARK, VALIDATING_MARK

    load = gates = 0.0
    for step in timeline["steps"].values():
        marks = [(t, "start") for t, m in step.get("messages", []) if m.startswith(VALIDATING_MARK)]
        marks += [(t, "loaded") for t, m in step.get("messages", []) if m.endswith(GATING_MARK)]
        marks += [(t, "gated") for t in step.get("materializations", [])]
        started = loaded = None
        for t, mark in sorted(marks, key=lambda m: m[0]):
            if mark == "start":
                started, loaded = t, None
            elif mark == "loaded" and started is not None:
                loaded = t
            elif mark == "gated" and started is not None and loaded is not None:
                load, gates = load + loaded - started, gates + t - loaded
                started = loaded = None
    return load, gates


def dbt_call_results(paths: SpiegelPaths, run_id: str = "") -> dict | None:
    """run_results.json of the method's dbt call made by ``run_id`` (dagster-dbt names its
    folder after the run), or of any method call when no run is named (a data directory
    with one period's run)."""
    pattern = f"method-{run_id[:7]}-*" if run_id else "method-*"
    calls = sorted(paths.dbt_target.glob(f"{pattern}/run_results.json"))
    return json.loads(calls[-1].read_text(encoding="utf-8")) if calls else None


def method_split(paths: SpiegelPaths, timeline: dict) -> dict:
    """The method step: dbt's start-up, its nodes, and the time after dbt's last node."""
    step = timeline["steps"].get("method", {})
    results = dbt_call_results(paths, timeline["run_id"])
    if not results or "start" not in step or "end" not in step:
        return {}
    starts, ends = [], []
    for node in results["results"]:
        for phase in node.get("timing", []):
            if phase.get("started_at") and phase.get("completed_at"):
                starts.append(_timestamp(phase["started_at"]))
                ends.append(_timestamp(phase["completed_at"]))
    nodes = len(results["results"])
    node_seconds = (max(ends) - min(starts)) if starts else 0.0
    return {
        "step_seconds": round(step["end"] - step["start"], 3),
        "dbt_startup_seconds": round((min(starts) - step["start"]) if starts else 0.0, 3),
        "dbt_nodes": nodes,
        "dbt_unit_tests": sum(1 for n in results["results"] if n["unique_id"].startswith("unit_test.")),
        "dbt_nodes_seconds": round(node_seconds, 3),
        "dbt_seconds_per_node": round(node_seconds / nodes, 4) if nodes else None,
        "after_dbt_seconds": round((step["end"] - max(ends)) if ends else 0.0, 3),
    }


def measure_through_dagster(bench_paths: SpiegelPaths, period: str, progress: Callable[[str], None] = print) -> dict:
    """``spiegel run --period`` on the benchmark's deliveries, then the method job again."""
    # deferred: Dagster, dbt, GX and pandas load only in the command that needs them (start-up time)
    from orchestration.runs import runner

    paths = dagster_paths(bench_paths)
    with scoped_environment(restore=("SPIEGEL_DATA_DIR", "DAGSTER_HOME")):
        use_data_dir(paths)
        started = time.monotonic()
        outcomes = runner.run_period(paths, period, force=True, progress=lambda m: progress(f"bench: {m}"))
        wall = time.monotonic() - started
        progress("bench: the method job once more (dbt's parse kept, unit tests passed)")
        warm_started = time.monotonic()
        warm = runner.compute_period(period)
        warm_wall = time.monotonic() - warm_started
        instance = runner.instance()
        timelines = [run_timeline(instance, o.run_id) for o in outcomes]
        warm_timeline = run_timeline(instance, warm.run_id)
    failed = [f"{o.job} {o.partition}: {o.message}" for o in [*outcomes, warm] if not o.success]
    if failed:
        raise RuntimeError("bench: a Dagster run did not succeed: " + " | ".join(failed))
    ingestions = [t for t in timelines if t["job"] in ("ingest_period", "ingest_delivery")]
    configurations = [t for t in timelines if t["job"] == "load_configuration"]
    method_run = next(t for t in timelines if t["job"] == "compute_period")
    splits = [_ingestion_split(t) for t in ingestions]
    runs_seconds = sum(t["seconds"] for t in timelines)
    overhead = sum(t["before_first_step"] + t["after_last_step"] for t in timelines)
    readiness = method_run["steps"].get("release_readiness", {})
    return {
        "data_dir": str(paths.data_dir),
        "spiegel_run_seconds": round(wall, 3),
        "runs": len(timelines),
        "runs_seconds": round(runs_seconds, 3),
        "between_runs_seconds": round(wall - runs_seconds, 3),
        "run_overhead_seconds": round(overhead, 3),
        "run_overhead_seconds_per_run": round(overhead / len(timelines), 3),
        "configuration_runs": len(configurations),  # 1 when the dbt project changed since the last load
        "configuration_seconds": round(sum(t["seconds"] for t in configurations), 3),
        "ingestion_runs": len(ingestions),
        "ingestion_seconds": round(sum(t["seconds"] for t in ingestions), 3),
        "contract_and_load_seconds": round(sum(s[0] for s in splits), 3),
        "gates_gx_and_data_docs_seconds": round(sum(s[1] for s in splits), 3),
        "method_run_seconds": round(method_run["seconds"], 3),
        "method_first": method_split(paths, method_run),
        "readiness_seconds": round(readiness.get("end", 0.0) - readiness.get("start", 0.0), 3),
        "method_again_seconds": round(warm_wall, 3),
        "method_again": method_split(paths, warm_timeline),
    }


def print_dagster_table(figures: dict, say: Callable[[str], None]) -> None:
    d = figures.get("dagster")
    if not d:
        return
    say("")
    say(
        f"through Dagster (spiegel run --period {figures['period']}): {d['spiegel_run_seconds']:.1f} s, "
        f"{d['runs']} runs ({d['runs_seconds']:.1f} s), {d['between_runs_seconds']:.1f} s between runs"
    )
    say(
        f"  Dagster per run (creation to first step, last step to end): {d['run_overhead_seconds_per_run']:.2f} s "
        f"({d['run_overhead_seconds']:.1f} s in all)"
    )
    say(
        f"  ingestion: {d['ingestion_runs']} runs {d['ingestion_seconds']:.1f} s = contract and load "
        f"{d['contract_and_load_seconds']:.1f} s + gates (GX, Data Docs) {d['gates_gx_and_data_docs_seconds']:.1f} s"
        " + Dagster"
    )
    if d.get("configuration_runs"):
        say(f"  configuration (the seeds, once per version of dbt_project/): {d['configuration_seconds']:.1f} s")
    for label, key in (("method, first run", "method_first"), ("method, again", "method_again")):
        m = d.get(key) or {}
        if m:
            say(
                f"  {label}: step {m['step_seconds']:.1f} s = dbt start-up {m['dbt_startup_seconds']:.1f} s + "
                f"{m['dbt_nodes']} nodes ({m['dbt_unit_tests']} unit tests) {m['dbt_nodes_seconds']:.1f} s "
                f"({m['dbt_seconds_per_node']:.3f} s each) + after dbt {m['after_dbt_seconds']:.1f} s"
            )
    say(f"  readiness gate: {d['readiness_seconds']:.1f} s")
