"""``spiegel bench``: the national-scale benchmark (one v3 period, every stage timed).

Stages run exactly the code the Dagster assets run (contract + load, the GX gates,
``dbt build`` for the period, publishing, reports), called directly so that each one
is timed on its own; Dagster's own fixed cost per run is not part of the figures.
The *floor* is one DuckDB scan of the same files (``count(*)`` and
``sum(paid_amount)``): every stage is also reported as a multiple of it.

The benchmark keeps its own data directory (``<data dir>/bench/scale-<F>``) so it
never touches the operational one; generated deliveries are reused when present.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import duckdb

from orchestration.commands.bench_dagster import print_dagster_table
from orchestration.commands.common import data_dir_paths, say
from orchestration.core.seeds import required_insurers
from orchestration.core.settings import DBT_PROJECT_DIR, SpiegelPaths
from orchestration.core.warehouse import write_lock
from orchestration.landing.zone import complete_deliveries, find_in_force, in_force
from orchestration.release.readiness import period_state, record_readiness
from orchestration.release.signoff import record_signoff

BENCH_YEAR = 2024
BENCH_PERIOD = f"{BENCH_YEAR}-v3"


def _peak_rss_mb() -> float:
    """Peak resident memory of this process and of its finished children (dbt), in MB."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 1024.0


def tree_rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` and all its descendants now (Linux /proc), in MB."""
    total_kb, stack, seen = 0, [pid], set()
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        seen.add(current)
        try:
            with open(f"/proc/{current}/status") as f:
                total_kb += next((int(line.split()[1]) for line in f if line.startswith("VmRSS:")), 0)
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as f:
                    stack.extend(int(c) for c in f.read().split())
        except (OSError, ValueError):
            continue
    return total_kb / 1024.0


class _TreeMemorySampler:
    """Samples the RSS of the whole process tree (this process and dbt together) every
    0.2 s: ru_maxrss alone misses that they are resident at the same time."""

    def __init__(self, interval: float = 0.2):
        self.interval, self.peak_mb = interval, 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak_mb = max(self.peak_mb, tree_rss_mb(os.getpid()))
            self._stop.wait(self.interval)

    def __enter__(self) -> _TreeMemorySampler:
        if os.path.isdir("/proc/self/task"):
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()


class _Stopwatch:
    def __init__(self, progress: Callable[[str], None]):
        self.seconds: dict[str, float] = {}
        self.progress = progress

    def run(self, stage: str, func: Callable[[], object]) -> object:
        self.progress(f"bench: {stage} ...")
        started = time.monotonic()
        result = func()
        self.seconds[stage] = time.monotonic() - started
        self.progress(f"bench: {stage}: {self.seconds[stage]:.1f} s")
        return result


def in_force_claims_files(paths: SpiegelPaths, period: str) -> list[Path]:
    """The claims file (plain or gzipped) of every delivery in force for ``period``."""
    deliveries = complete_deliveries(paths.landing)
    files = []
    for insurer in required_insurers(period):
        ref = in_force(deliveries, period, insurer)
        if ref is not None:
            files += [p for p in (ref.path / "claims.csv", ref.path / "claims.csv.gz") if p.exists()]
    return files


def scan_floor(paths: SpiegelPaths, period: str) -> tuple[float, int, str]:
    """One DuckDB pass over every in-force claims file: the least any ingestion can cost."""

    files = in_force_claims_files(paths, period)
    started = time.monotonic()
    con = duckdb.connect()
    rows, total = 0, 0
    for path in files:
        r, t = con.execute(
            "select count(*), sum(cast(paid_amount as decimal(38,2))) from read_csv(?, header = true, "
            "all_varchar = true)",
            [str(path)],
        ).fetchone()
        rows += r
        total += t or 0
    con.close()
    return time.monotonic() - started, rows, str(total)


def _ingest_all(paths: SpiegelPaths, period: str) -> int:
    # deferred: Dagster, dbt, GX and pandas load only in the command that needs them (start-up time)
    from orchestration.delivery.loading import load_delivery as validate_delivery
    from orchestration.delivery.raw_tables import connect_raw, record_delivery

    lines = 0
    with connect_raw(paths) as con:
        for insurer in required_insurers(period):
            ref = find_in_force(paths.landing, period, insurer)
            if ref is None:
                continue
            verdict = validate_delivery(con, ref)
            record_delivery(con, verdict)
            if not verdict.accepted:
                raise RuntimeError(f"bench delivery rejected: {verdict.error_text()}")
            lines += verdict.row_count or 0
    return lines


def _gate_all(paths: SpiegelPaths, period: str) -> None:
    # deferred: Dagster, dbt, GX and pandas load only in the command that needs them (start-up time)
    from orchestration import gates as quality
    from orchestration.delivery.raw_tables import connect_raw

    with connect_raw(paths) as con:
        for insurer in required_insurers(period):
            for check in (quality.check_delivery_contents, quality.check_delivery_completeness):
                quality.record_gate_result(con, check(con, period, insurer, paths))


def _dbt_build(paths: SpiegelPaths, period: str) -> None:
    # deferred: the method's modules load dagster-dbt and dbt's manifest
    from orchestration.method.asset import dbt_period_args
    from orchestration.method.dbt_project import dbt_executable

    env = {**os.environ, "SPIEGEL_WAREHOUSE": str(paths.warehouse)}
    target = paths.data_dir / "dbt_target"
    with write_lock(paths):
        result = subprocess.run(
            [
                dbt_executable(),
                *dbt_period_args("build", period),
                "--project-dir",
                str(DBT_PROJECT_DIR),
                "--profiles-dir",
                str(DBT_PROJECT_DIR),
                "--target-path",
                str(target),
                "--log-path",
                str(target),
            ],
            capture_output=True,
            text=True,
            env=env,
        )
    if result.returncode != 0:
        raise RuntimeError(f"dbt build failed:\n{result.stdout[-3000:]}")


def _readiness_and_signoff(paths: SpiegelPaths, period: str) -> None:
    # deferred: Dagster, dbt, GX and pandas load only in the command that needs them (start-up time)
    from orchestration import gates as quality
    from orchestration.delivery.raw_tables import connect_raw

    with connect_raw(paths) as con:
        result = quality.check_release_readiness(con, period, paths)
        quality.record_gate_result(con, result)
        record_readiness(con, period, result.passed, result.blocking_reasons, result.warnings)
        state = period_state(con, paths, period)
    if not state.gates_passed:
        raise RuntimeError("bench period is blocked: " + " | ".join(state.blocking_reasons))
    record_signoff(paths, state, "bench", "benchmark run")


def _sample_reports(paths: SpiegelPaths, release_dir: Path, sample: int) -> dict[str, float]:
    import pandas as pd

    # deferred: Dagster, dbt, GX and pandas load only in the command that needs them (start-up time)
    from reports import render_release_reports

    index = pd.read_csv(release_dir / "behandelindex.csv", dtype={"practice_agb": str})
    ok = index[index["status"] == "ok"].sort_values(["discipline", "practice_agb"])
    practices = list(zip(ok["discipline"], ok["practice_agb"]))[:sample]
    scratch = paths.data_dir / "bench_reports"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    for name in ("behandelindex.csv", "reference_strata.csv", "excluded_lines.csv", "release.json"):
        shutil.copy2(release_dir / name, scratch / name)
    summary = render_release_reports(scratch, paths.warehouse, paths.releases, practices=practices, pdf=True)
    all_ok = int(len(ok))
    return {
        "practices_sampled": len(practices),
        "practices_ok": all_ok,
        "seconds_html": summary.seconds_html,
        "seconds_pdf": summary.seconds_pdf,
        "seconds_per_pdf": summary.seconds_per_pdf,
        "extrapolated_seconds_all_reports": (summary.seconds_html + summary.seconds_pdf)
        / max(len(practices), 1)
        * all_ok,
    }


def _measure_stages(
    paths: SpiegelPaths,
    scale: float,
    seed: int,
    report_sample: int,
    progress: Callable[[str], None],
    dagster: bool = True,
) -> dict:
    # deferred: Dagster, dbt, GX and pandas load only in the command that needs them (start-up time)
    from orchestration.commands import synthetic
    from orchestration.commands.bench_dagster import measure_through_dagster
    from orchestration.release.publish import publish_release

    bench_paths = SpiegelPaths(paths.data_dir / "bench" / f"scale-{scale:g}")
    clock = _Stopwatch(progress)
    period = BENCH_PERIOD
    reused = (bench_paths.landing / period).is_dir()
    if reused:
        progress(f"bench: reusing the deliveries under {bench_paths.landing / period}")
    else:
        clock.run(
            "generation",
            lambda: synthetic.generate(
                bench_paths.data_dir, years=[BENCH_YEAR], seed=seed, scale=scale, periods=[period], progress=progress
            ),
        )
    # a fresh warehouse, releases and sign-offs each time: the run measures all of it
    for stale in (bench_paths.warehouse, bench_paths.signoffs):
        stale.unlink(missing_ok=True)
    shutil.rmtree(bench_paths.releases, ignore_errors=True)
    shutil.rmtree(bench_paths.data_dir / "quality_docs", ignore_errors=True)

    floor_seconds, floor_rows, floor_total = scan_floor(bench_paths, period)
    progress(f"bench: scan floor {floor_seconds:.1f} s for {floor_rows:,} claim lines")
    lines = clock.run("ingestion", lambda: _ingest_all(bench_paths, period))
    clock.run("gates", lambda: _gate_all(bench_paths, period))
    clock.run("method", lambda: _dbt_build(bench_paths, period))
    clock.run("readiness_signoff", lambda: _readiness_and_signoff(bench_paths, period))
    published = clock.run("publish", lambda: publish_release(bench_paths, period, reports=False))
    report_figures = clock.run("reports_sample", lambda: _sample_reports(bench_paths, published.path, report_sample))
    through_dagster = measure_through_dagster(bench_paths, period, progress) if dagster else None

    pipeline = ["ingestion", "gates", "method", "readiness_signoff", "publish"]
    delivery_to_index = sum(clock.seconds[s] for s in pipeline)
    figures = {
        "scale": scale,
        "period": period,
        "claim_lines": int(lines),
        "deliveries_reused": reused,
        "floor_seconds": floor_seconds,
        "floor_rows": floor_rows,
        "stages": {
            s: {
                "seconds": round(v, 3),
                "x_floor": round(v / floor_seconds, 2) if floor_seconds else None,
                "seconds_per_million_lines": round(v / (lines / 1e6), 3) if lines else None,
            }
            for s, v in clock.seconds.items()
        },
        "delivery_to_published_index_seconds": round(delivery_to_index, 3),
        "delivery_to_published_index_x_floor": round(delivery_to_index / floor_seconds, 2) if floor_seconds else None,
        "reports": report_figures,
    }
    if through_dagster is not None:
        figures["dagster"] = through_dagster
    return figures


def run_benchmark(
    paths: SpiegelPaths,
    scale: float = 1.0,
    seed: int = 7,
    report_sample: int = 200,
    output: Path | None = None,
    progress: Callable[[str], None] = print,
    dagster: bool = True,
) -> dict:
    """Run every stage at ``scale``, then (``dagster``) the period through the Dagster jobs;
    print the tables and write the figures (JSON)."""
    with _TreeMemorySampler() as memory:
        figures = _measure_stages(paths, scale, seed, report_sample, progress, dagster)
    figures["peak_rss_mb"] = round(max(memory.peak_mb, _peak_rss_mb()), 1)
    figures["cpu_count"] = os.cpu_count()
    figures["python"] = sys.version.split()[0]
    figures["targets"] = _targets(figures)
    output = output or (paths.data_dir / "bench" / f"bench-{scale:g}.json")
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    _print_table(figures, progress)
    print_dagster_table(figures, progress)
    progress(f"bench: figures written to {output}")
    return figures


# the national-scale targets on a 2-core, 24 GB machine
TARGET_DELIVERY_TO_INDEX_SECONDS = 240.0  # at scale 1.0
TARGET_X_FLOOR = 10.0  # delivery -> published index, as a multiple of one scan of the files
TARGET_INGESTION_X_FLOOR = 3.0  # contract and load of every delivery
TARGET_PEAK_RSS_MB = 4 * 1024.0
TARGET_GENERATION_SECONDS = 300.0  # at scale 1.0


def _targets(figures: dict) -> dict[str, dict]:
    """Each target with the measured figure and whether it is met (None: the target is
    stated for scale 1.0 and this run is at another scale, or generation was reused)."""
    national = figures["scale"] == 1.0
    generation = figures["stages"].get("generation", {}).get("seconds")
    rows = {
        "delivery_to_published_index_seconds": (
            figures["delivery_to_published_index_seconds"],
            TARGET_DELIVERY_TO_INDEX_SECONDS,
            national,
        ),
        "delivery_to_published_index_x_floor": (figures["delivery_to_published_index_x_floor"], TARGET_X_FLOOR, True),
        "ingestion_x_floor": (figures["stages"]["ingestion"]["x_floor"], TARGET_INGESTION_X_FLOOR, True),
        "peak_rss_mb": (figures["peak_rss_mb"], TARGET_PEAK_RSS_MB, True),
        "generation_seconds": (generation, TARGET_GENERATION_SECONDS, national and generation is not None),
    }
    return {
        name: {"measured": value, "at_most": limit, "met": (value <= limit) if applies and value is not None else None}
        for name, (value, limit, applies) in rows.items()
    }


def _print_table(figures: dict, say: Callable[[str], None]) -> None:
    say("")
    say(f"scale {figures['scale']:g}: {figures['claim_lines']:,} claim lines, floor {figures['floor_seconds']:.1f} s")
    say(f"{'stage':<20}{'seconds':>10}{'x floor':>10}{'s / M lines':>14}")
    for stage, f in figures["stages"].items():
        say(
            f"{stage:<20}{f['seconds']:>10.1f}{(f['x_floor'] or 0):>10.1f}"
            f"{(f['seconds_per_million_lines'] or 0):>14.2f}"
        )
    say(
        f"{'delivery→index':<20}{figures['delivery_to_published_index_seconds']:>10.1f}"
        f"{(figures['delivery_to_published_index_x_floor'] or 0):>10.1f}"
    )
    r = figures["reports"]
    say(
        f"reports: {r['seconds_per_pdf']:.3f} s per PDF; all {r['practices_ok']:,} practices ≈ "
        f"{r['extrapolated_seconds_all_reports'] / 60:.1f} min"
    )
    say(f"peak RSS {figures['peak_rss_mb']:.0f} MB (this process, dbt and Chromium together)")
    for name, t in figures.get("targets", {}).items():
        verdict = "met" if t["met"] else "NOT met" if t["met"] is False else "n/a at this scale"
        say(f"target {name} <= {t['at_most']:g}: {t['measured']} -> {verdict}")


def cmd_bench(args: argparse.Namespace) -> int:
    paths = data_dir_paths(args)
    run_benchmark(
        paths,
        scale=args.scale,
        seed=args.seed,
        report_sample=args.report_sample,
        output=Path(args.output) if args.output else None,
        progress=say,
        dagster=not args.no_dagster,
    )
    return 0
