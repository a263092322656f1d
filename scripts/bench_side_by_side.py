"""Side by side on the same files: the scan floor, plain pandas and Polars scripts, ``spiegel run``.

    .venv/bin/python scripts/bench_side_by_side.py [--scale 0.07] [--data-dir DIR]

One v3 period at ``--scale`` (0.07: about 3.1 million claim lines; 1.0 is a national
year of about 45 million) is generated into ``DIR/bench/scale-<F>``, the folder that
``spiegel bench`` uses, or reused when its deliveries are there. Then, one after the
other on those files (the first scan warms the page cache for all):

1. the floor: one DuckDB scan of every claims file in force (``orchestration.bench.scan_floor``);
2. ``scripts/pandas_baseline.py`` in a subprocess, once per ``--pandas-engines`` CSV
   parser: wall time and peak RSS of that process (sampled, and the kernel's
   ``ru_maxrss``); a run killed by the kernel or by ``--pandas-memory-limit-gb`` is
   reported as not fitting, with the memory it had reached;
3. ``scripts/polars_baseline.py`` (lazy Polars, streaming engine) in a subprocess, measured
   the same way (``--skip-polars`` leaves it out);
4. ``spiegel run --period P --engine E`` in a subprocess on a fresh data directory whose
   landing zone hard-links the same files, once per ``--engines`` (default duckdb; spark
   is the local Spark of SPIEGEL_ENGINE=spark): wall time and peak RSS of its whole process tree.

Then the platform's index (``marts.fct_behandelindex`` of each run) is compared with
the pandas and Polars results and with the other engine's row by row, so the figures are known to be
for the same answer. Last, what no ``spiegel run`` can avoid, whatever its data: the
fixed stack's imports (Dagster with the definitions, Great Expectations, dbt), each
timed in a fresh interpreter, and the time dbt's nodes spent executing in the method
run (from its ``run_results.json``). It
prints a table (wall time, × floor, peak RSS, and "spiegel faster": the pandas wall
or Polars wall time divided by spiegel's), the time a 3 × target leaves ``spiegel run``
against each pandas run, and writes the figures as JSON (default
``DIR/bench/side-by-side-<F>.json``). Nothing here tunes either side: run it on an idle
machine, the load average before and after is in the JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

import pandas as pd  # noqa: E402

from orchestration.commands.bench import BENCH_PERIOD, scan_floor, tree_rss_mb  # noqa: E402
from orchestration.commands.bench_dagster import dbt_call_results  # noqa: E402
from orchestration.core.settings import SpiegelPaths, default_data_dir  # noqa: E402

BASELINE = REPO_ROOT / "scripts" / "pandas_baseline.py"
POLARS_BASELINE = REPO_ROOT / "scripts" / "polars_baseline.py"
POLARS_NAME = "polars baseline (lazy, streaming)"
DEFAULT_SCALE = 0.07  # about 3.1 million lines in one v3 period
NATIONAL_LINES = 45_000_000  # a year at scale 1.0 (docs/benchmarks.md)
EXTRAPOLATE_FROM_LINES = 1_000_000
ENV_OF_THE_CALLER = ("SPIEGEL_DATA_DIR", "DAGSTER_HOME", "SPIEGEL_PERIOD")
INDEX_KEY = ["discipline", "practice_agb"]
FLOAT_TOLERANCE = 1e-9
TARGET_SPEEDUP = 3.0  # the goal set: spiegel run at least 3 x faster than the pandas script
# What every `spiegel run` pays before it reads a line, whatever it is given: the fixed
# stack's imports. The CLI process imports Dagster with the platform's definitions (and
# dagster-dbt) and, for the gates, Great Expectations; each dbt run is a subprocess of
# dagster-dbt that imports dbt again.
STACK_IMPORTS = {
    "dagster, dagster-dbt and the definitions (the CLI process)": "orchestration.definitions",
    "Great Expectations (the gates, in the CLI process)": "great_expectations",
    "dbt (the subprocess of every dbt run)": "dbt.cli.main",
}
# Run as a file, not with -c: pyspark (a Great Expectations import) exits a process
# whose __main__ has no file, taking it for a doctest run.
IMPORT_PROBE = """\
import importlib, sys, time
sys.path.insert(0, sys.argv[2])
started = time.perf_counter()
importlib.import_module(sys.argv[1])
print(f"import_seconds={time.perf_counter() - started:.4f}")
"""


# ---------------------------------------------------------------- measuring a subprocess


@dataclass
class Measured:
    """One subprocess: wall time, peak RSS of its tree, and how it ended."""

    command: list[str]
    seconds: float = 0.0
    peak_rss_mb: float = 0.0
    returncode: int | None = None
    killed_over_limit_mb: float | None = None
    stdout_tail: str = ""
    stderr_tail: str = ""

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def failure(self) -> str | None:
        """Why it did not finish, in words (None when it did)."""
        if self.killed_over_limit_mb is not None:
            return (
                f"does not fit in {self.killed_over_limit_mb / 1024:.3g} GB: stopped at "
                f"{self.peak_rss_mb / 1024:.1f} GB after {self.seconds:.0f} s"
            )
        if self.returncode == -signal.SIGKILL:
            return (
                f"killed (SIGKILL, most likely out of memory) at {self.peak_rss_mb / 1024:.1f} GB "
                f"after {self.seconds:.0f} s"
            )
        if self.returncode != 0:
            last = (self.stderr_tail.strip().splitlines() or ["no message"])[-1]
            memory = " (out of memory)" if "MemoryError" in self.stderr_tail else ""
            return f"failed with exit code {self.returncode}{memory}: {last}"
        return None


def measure(
    command: list[str], env: dict[str, str] | None = None, memory_limit_mb: float | None = None, interval: float = 0.1
) -> Measured:
    """Run ``command`` in its own process group and measure it from outside.

    Peak RSS is the larger of the tree's sampled RSS (children that are resident at the
    same time add up) and the kernel's ``ru_maxrss`` of the process (exact, but for one
    process at a time). Above ``memory_limit_mb`` the whole group is killed."""
    result = Measured(command)
    started = time.monotonic()
    with open(os.devnull, "rb") as stdin:
        process = subprocess.Popen(
            command,
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            cwd=REPO_ROOT,
            start_new_session=True,
            text=True,
        )
    output: dict[str, str] = {}
    readers = [
        threading.Thread(target=lambda name=name, pipe=pipe: output.__setitem__(name, pipe.read()), daemon=True)
        for name, pipe in (("stdout", process.stdout), ("stderr", process.stderr))
    ]
    for reader in readers:
        reader.start()
    # wait4 reaps the child with its resource usage (ru_maxrss in KB on Linux); Popen.poll
    # would reap it first and lose that
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            break
        result.peak_rss_mb = max(result.peak_rss_mb, tree_rss_mb(process.pid))
        if memory_limit_mb is not None and result.peak_rss_mb > memory_limit_mb:
            result.killed_over_limit_mb = memory_limit_mb
            os.killpg(process.pid, signal.SIGKILL)
            _, status, usage = os.wait4(process.pid, 0)
            break
        time.sleep(interval)
    result.seconds = time.monotonic() - started
    result.returncode = process.returncode = os.waitstatus_to_exitcode(status)
    result.peak_rss_mb = max(result.peak_rss_mb, usage.ru_maxrss / 1024.0)
    for reader in readers:
        reader.join()
    result.stdout_tail, result.stderr_tail = output.get("stdout", "")[-3000:], output.get("stderr", "")[-3000:]
    return result


# ---------------------------------------------------------------- the three contenders


def ensure_deliveries(bench: SpiegelPaths, scale: float, seed: int, period: str) -> float | None:
    """Generate the period at ``scale`` unless every required insurer's delivery is there
    (the generator only writes the missing ones); seconds, or None if all were reused."""
    from orchestration.commands import synthetic
    from orchestration.core.seeds import required_insurers
    from orchestration.landing.zone import find_in_force

    if all(find_in_force(bench.landing, period, insurer) for insurer in required_insurers(period)):
        print(f"side-by-side: reusing the deliveries under {bench.landing / period}")
        return None

    started = time.monotonic()
    synthetic.generate(
        bench.data_dir, years=[int(period[:4])], seed=seed, scale=scale, periods=[period], progress=lambda message: None
    )
    seconds = time.monotonic() - started
    print(f"side-by-side: generated {period} at scale {scale:g} in {seconds:.1f} s")
    return seconds


def measure_floor(bench: SpiegelPaths, period: str) -> tuple[float, int]:
    """(seconds, lines) of the DuckDB scan; the first, discarded scan warms the page cache,
    so the floor and the contenders after it all read from memory."""
    scan_floor(bench, period)
    seconds, rows, _ = scan_floor(bench, period)
    return seconds, rows


def run_pandas(bench: SpiegelPaths, period: str, engine: str, output: Path, limit_mb: float | None) -> Measured:
    command = [
        sys.executable,
        str(BASELINE),
        "--data-dir",
        str(bench.data_dir),
        "--period",
        period,
        "--output",
        str(output),
        "--csv-engine",
        engine,
    ]
    return measure(command, memory_limit_mb=limit_mb)


def run_polars(bench: SpiegelPaths, period: str, output: Path) -> Measured:
    command = [
        sys.executable,
        str(POLARS_BASELINE),
        "--data-dir",
        str(bench.data_dir),
        "--period",
        period,
        "--output",
        str(output),
    ]
    return measure(command)


def fresh_run_dir(bench: SpiegelPaths, period: str, run_dir: Path) -> SpiegelPaths:
    """An empty data directory whose landing zone hard-links the period's files (a copy
    where hard links are not possible): the platform starts from nothing on the same bytes."""
    shutil.rmtree(run_dir, ignore_errors=True)

    def link_or_copy(source: str, target: str) -> None:
        try:
            os.link(source, target)
        except OSError:
            shutil.copy2(source, target)

    shutil.copytree(bench.landing / period, run_dir / "landing" / period, copy_function=link_or_copy)
    return SpiegelPaths(run_dir)


def env_without_callers_data() -> dict[str, str]:
    """This environment without the caller's data directory, Dagster home and period: a
    subprocess here works on the directory it is given, nothing else."""
    return {k: v for k, v in os.environ.items() if k not in ENV_OF_THE_CALLER}


def run_spiegel(run: SpiegelPaths, period: str, engine: str = "duckdb") -> Measured:
    env = env_without_callers_data()
    command = [
        sys.executable,
        "-m",
        "orchestration.cli",
        "run",
        "--data-dir",
        str(run.data_dir),
        "--period",
        period,
        "--engine",
        engine,
    ]
    return measure(command, env=env)


# ---------------------------------------------------------------- what no run can avoid


def stack_import_seconds(work: Path, repeats: int = 3) -> dict[str, float]:
    """Seconds to import each part of the fixed stack in a fresh interpreter (the fastest
    of ``repeats``, with warm file caches): a floor under any ``spiegel run``."""
    probe = work / "import_probe.py"
    probe.write_text(IMPORT_PROBE, encoding="utf-8")
    env = {**env_without_callers_data(), "SPIEGEL_DATA_DIR": str(work / "import-probe")}
    seconds = {}
    for what, module in STACK_IMPORTS.items():
        runs = []
        for _ in range(repeats):
            done = subprocess.run(
                [sys.executable, str(probe), module, str(REPO_ROOT)],
                cwd=REPO_ROOT,
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
            found = re.search(r"import_seconds=([0-9.]+)", done.stdout)
            if done.returncode != 0 or not found:
                raise RuntimeError(f"importing {module} failed (exit {done.returncode}): {done.stderr[-800:]}")
            runs.append(float(found.group(1)))
        seconds[what] = round(min(runs), 3)
    return seconds


def dbt_node_seconds(run: SpiegelPaths) -> dict[str, float] | None:
    """Time dbt's nodes spent executing in the run's method (run_results.json of the
    period's dbt run): the engine's own work for the models and their tests, without
    dbt's start-up and per-node bookkeeping; unit tests (once per project version) apart."""
    call = dbt_call_results(run)
    if call is None:
        return None
    kinds = {"model": "models", "test": "data_tests", "unit_test": "unit_tests"}
    seconds = dict.fromkeys(kinds.values(), 0.0)
    for node in call["results"]:
        kind = kinds.get(node["unique_id"].split(".")[0])
        if kind:
            seconds[kind] += node.get("execution_time") or 0.0
    return {kind: round(value, 3) for kind, value in seconds.items()}


# ---------------------------------------------------------------- same answer?


def platform_index(run: SpiegelPaths, period: str) -> pd.DataFrame:
    """The platform's published index table (marts.fct_behandelindex) of the run."""
    import duckdb

    with duckdb.connect(str(run.warehouse), read_only=True) as con:
        return con.execute(
            "select * from marts.fct_behandelindex where period = ? order by discipline, practice_agb", [period]
        ).df()


def index_differences(ours: pd.DataFrame, theirs: pd.DataFrame, limit: int = 5) -> list[str]:
    """Where two index tables differ: text and integers exactly, floats within 1e-9
    (relative, or absolute below 1); rows matched on (discipline, practice_agb)."""
    if list(ours.columns) != list(theirs.columns):
        return [f"columns differ: {list(ours.columns)} vs {list(theirs.columns)}"]
    keys = ours[INDEX_KEY].merge(theirs[INDEX_KEY], how="outer", indicator="side")
    only = {"left_only": "the first", "right_only": "the second"}
    problems = [
        f"{row.discipline}/{row.practice_agb}: only in {only[row.side]}"
        for row in keys[keys["side"] != "both"].head(limit).itertuples()
    ]
    both = ours.merge(theirs, on=INDEX_KEY, how="inner", suffixes=("_a", "_b"))
    for column in [c for c in ours.columns if c not in INDEX_KEY]:
        a, b = both[f"{column}_a"], both[f"{column}_b"]
        if pd.api.types.is_float_dtype(a) or pd.api.types.is_float_dtype(b):
            a, b = a.astype("float64"), b.astype("float64")
            close = (a - b).abs() <= FLOAT_TOLERANCE * b.abs().clip(lower=1)
            same = (a.isna() & b.isna()) | close.fillna(False)
        else:
            same = a.astype(str) == b.astype(str)
        for row in both[~same.to_numpy()].head(limit).itertuples():
            problems.append(
                f"{row.discipline}/{row.practice_agb} {column}: "
                f"{getattr(row, column + '_a')!r} vs {getattr(row, column + '_b')!r}"
            )
    return problems[:limit]


# ---------------------------------------------------------------- report


def installed_version(package: str) -> str | None:
    try:
        return version(package)
    except PackageNotFoundError:
        return None


@dataclass
class Contender:
    name: str
    seconds: float | None
    peak_rss_mb: float | None
    note: str | None = None
    details: dict = field(default_factory=dict)


def contender(name: str, measured: Measured, **details) -> Contender:
    if measured.ok:
        return Contender(name, round(measured.seconds, 3), round(measured.peak_rss_mb, 1), None, details)
    return Contender(
        name,
        None,
        round(measured.peak_rss_mb, 1),
        measured.failure(),
        {**details, "seconds_until_stopped": round(measured.seconds, 3)},
    )


def runs_seconds(stdout: str) -> float | None:
    """The CLI's own 'runs finished in N s' (the Dagster runs without Python start-up)."""
    found = re.findall(r"runs finished in ([0-9.]+) s", stdout)
    return float(found[-1]) if found else None


def national_rss_estimate_gb(measured: Contender, lines: int, import_rss_mb: float) -> float | None:
    """An estimate, not a measurement: the memory above an idle ``import pandas`` grows
    linearly in lines to a national year. Only from runs of at least a million lines,
    where per-line memory dominates (below, fixed buffers make it meaningless)."""
    if not measured.peak_rss_mb or measured.seconds is None or lines < EXTRAPOLATE_FROM_LINES:
        return None
    above = max(measured.peak_rss_mb - import_rss_mb, 0.0)
    return round((import_rss_mb + above * NATIONAL_LINES / lines) / 1024, 1)


def figures_of(
    args: argparse.Namespace,
    lines: int,
    floor: float,
    generation: float | None,
    contenders: list[Contender],
    same_index: dict,
    import_rss_mb: float,
    stack_imports: dict[str, float] | None = None,
    dbt_nodes: dict[str, float] | None = None,
) -> dict:
    spiegel = next(c for c in contenders if c.name.startswith("spiegel run"))  # the first engine asked
    rows = []
    for c in contenders:
        row = asdict(c)
        row["x_floor"] = round(c.seconds / floor, 2) if c.seconds and floor else None
        if not c.name.startswith("spiegel run"):
            row["spiegel_speedup"] = round(c.seconds / spiegel.seconds, 2) if c.seconds and spiegel.seconds else None
            # pandas holds every line in memory; Polars' streaming engine does not grow that way
            row["peak_rss_gb_extrapolated_to_national_year"] = (
                national_rss_estimate_gb(c, lines, import_rss_mb) if c.name.startswith("pandas") else None
            )
            row["spiegel_seconds_for_target"] = round(c.seconds / TARGET_SPEEDUP, 3) if c.seconds else None
            row["target_met"] = bool(row["spiegel_speedup"] and row["spiegel_speedup"] >= TARGET_SPEEDUP)
        rows.append(row)
    return {
        "scale": args.scale,
        "period": args.period,
        "claim_lines": lines,
        "seed": args.seed,
        "generation_seconds": round(generation, 3) if generation is not None else None,
        "deliveries_reused": generation is None,
        "floor_seconds": round(floor, 3),
        "python_pandas_import_rss_mb": round(import_rss_mb, 1),
        "contenders": rows,
        "same_index": same_index,
        "target_speedup": TARGET_SPEEDUP,
        "stack_import_seconds": stack_imports,
        "stack_import_seconds_total": round(sum(stack_imports.values()), 3) if stack_imports else None,
        "dbt_node_seconds": dbt_nodes,
        "cpu_count": os.cpu_count(),
        "load_average_before": args.load_before,
        "load_average_after": os.getloadavg(),
        "python": sys.version.split()[0],
        "pandas": pd.__version__,
        "polars": installed_version("polars"),
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def print_table(figures: dict) -> None:
    print()
    print(
        f"scale {figures['scale']:g}, {figures['period']}: {figures['claim_lines']:,} claim lines "
        f"(load average before {figures['load_average_before'][0]:.1f})"
    )
    print(f"{'what':<44}{'wall time':>11}{'x floor':>9}{'peak RSS':>11}{'spiegel faster':>16}")
    print(f"{'one DuckDB scan of the files (the floor)':<44}{figures['floor_seconds']:>9.1f} s{1:>9.1f}")
    for c in figures["contenders"]:
        seconds = f"{c['seconds']:>9.1f} s" if c["seconds"] is not None else f"{'—':>11}"
        x_floor = f"{c['x_floor']:>9.1f}" if c["x_floor"] is not None else f"{'—':>9}"
        rss = f"{c['peak_rss_mb'] / 1024:>8.2f} GB" if c["peak_rss_mb"] else f"{'—':>11}"
        speedup = f"{c['spiegel_speedup']:>15.2f}x" if c.get("spiegel_speedup") else ""
        print(f"{c['name']:<44}{seconds}{x_floor}{rss}{speedup}")
        if c["note"]:
            print(f"    {c['note']}")
        if c.get("peak_rss_gb_extrapolated_to_national_year"):
            print(
                f"    a national year ({NATIONAL_LINES / 1e6:.0f} M lines) would need about "
                f"{c['peak_rss_gb_extrapolated_to_national_year']:g} GB (linear estimate from this run)"
            )
    same = figures["same_index"]
    verdict = "yes" if same["equal"] else "NO: " + "; ".join(same["differences"])
    print(
        f"same index from {', '.join(same.get('compared', ['pandas', 'spiegel']))} "
        f"({same['rows']:,} practice rows): {verdict}"
    )
    print_floor_under_spiegel(figures)


def print_floor_under_spiegel(figures: dict) -> None:
    """What every run pays whatever its data, against what the 3 x target leaves it."""
    imports = figures.get("stack_import_seconds")
    if imports:
        print("what every spiegel run pays before it reads a line (imports, each in a fresh interpreter):")
        for what, seconds in imports.items():
            print(f"    {what:<62}{seconds:>6.1f} s")
        print(f"    {'together':<62}{figures['stack_import_seconds_total']:>6.1f} s")
    nodes = figures.get("dbt_node_seconds")
    if nodes:
        print(
            f"dbt's nodes executing in the method run: models {nodes['models']:.1f} s, data tests "
            f"{nodes['data_tests']:.1f} s (unit tests {nodes['unit_tests']:.1f} s, once per project version)"
        )
    for c in figures["contenders"]:
        if c.get("spiegel_seconds_for_target") is None:
            continue
        verdict = "met" if c["target_met"] else "NOT met"
        print(
            f"{figures['target_speedup']:g} x faster than {c['name']}: spiegel run within "
            f"{c['spiegel_seconds_for_target']:.1f} s, {verdict}"
        )


# ---------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="data directory (default: $SPIEGEL_DATA_DIR, else ./data); the files go to DIR/bench/scale-<F>",
    )
    parser.add_argument(
        "--scale",
        type=float,
        default=DEFAULT_SCALE,
        help=f"fraction of a national year (default {DEFAULT_SCALE}: about 3.1 million lines)",
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--period", default=BENCH_PERIOD, help=f"period to measure (default {BENCH_PERIOD})")
    parser.add_argument(
        "--pandas-engines",
        nargs="+",
        choices=["c", "pyarrow"],
        default=["c", "pyarrow"],
        help="read_csv parsers to run the baseline with, one run each (default both)",
    )
    parser.add_argument(
        "--pandas-memory-limit-gb",
        type=float,
        default=None,
        help="stop the pandas baseline when its RSS passes this (reported as not fitting)",
    )
    parser.add_argument("--skip-pandas", action="store_true", help="leave the pandas baseline out")
    parser.add_argument("--skip-polars", action="store_true", help="leave the Polars baseline out")
    parser.add_argument(
        "--engines",
        nargs="+",
        choices=["duckdb", "spark"],
        default=["duckdb"],
        help="engines to run `spiegel run` with, one run each (default duckdb); the first is the "
        "one 'spiegel faster' compares pandas with",
    )
    parser.add_argument(
        "--import-repeats",
        type=int,
        default=3,
        help="fresh interpreters per part of the fixed stack whose import is timed; the fastest counts (default 3)",
    )
    parser.add_argument(
        "--output", type=Path, default=None, help="JSON figures (default DIR/bench/side-by-side-<F>.json)"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.load_before = os.getloadavg()
    data_dir = (args.data_dir or default_data_dir()).resolve()
    bench = SpiegelPaths(data_dir / "bench" / f"scale-{args.scale:g}")
    work = data_dir / "bench" / f"side-by-side-{args.scale:g}"
    work.mkdir(parents=True, exist_ok=True)

    generation = ensure_deliveries(bench, args.scale, args.seed, args.period)
    floor, lines = measure_floor(bench, args.period)
    print(f"side-by-side: floor {floor:.2f} s for {lines:,} claim lines")

    contenders: list[Contender] = []
    results: dict[str, Path] = {}
    limit_mb = args.pandas_memory_limit_gb * 1024 if args.pandas_memory_limit_gb else None
    for engine in [] if args.skip_pandas else args.pandas_engines:
        output = work / f"pandas-{engine}.csv"
        output.unlink(missing_ok=True)
        print(f"side-by-side: pandas baseline ({engine} parser) ...")
        measured = run_pandas(bench, args.period, engine, output, limit_mb)
        contenders.append(contender(f"pandas baseline ({engine} parser)", measured, csv_engine=engine))
        if measured.ok:
            results[engine] = output

    if not args.skip_polars:
        output = work / "polars.csv"
        output.unlink(missing_ok=True)
        print("side-by-side: polars baseline ...")
        measured = run_polars(bench, args.period, output)
        contenders.append(contender(POLARS_NAME, measured))
        if measured.ok:
            results["polars"] = output

    indexes: dict[str, pd.DataFrame] = {
        (name if name == "polars" else f"pandas {name}"): pd.read_csv(path, dtype={"practice_agb": str})
        for name, path in results.items()
    }
    failed: list[Measured] = []
    for engine in args.engines:
        print(f"side-by-side: spiegel run --period {args.period} --engine {engine} ...")
        run = fresh_run_dir(bench, args.period, work / ("run" if engine == "duckdb" else f"run-{engine}"))
        measured = run_spiegel(run, args.period, engine)
        contenders.append(
            contender(
                f"spiegel run --period {args.period} --engine {engine}",
                measured,
                engine=engine,
                runs_seconds=runs_seconds(measured.stdout_tail),
            )
        )
        if measured.ok:
            indexes[f"spiegel {engine}"] = platform_index(run, args.period)
        else:
            failed.append(measured)

    same_index = {"equal": False, "rows": 0, "differences": ["nothing to compare"]}
    spiegels = [name for name in indexes if name.startswith("spiegel")]
    if spiegels and len(indexes) > 1:
        ours = indexes[spiegels[0]]
        differences = [
            f"{name}: {d}"
            for name, theirs in indexes.items()
            if name != spiegels[0]
            for d in index_differences(theirs, ours)
        ]
        same_index = {
            "equal": not differences and len(ours) > 0,
            "rows": len(ours),
            "differences": differences,
            "compared": sorted(indexes),
        }

    import_rss_mb = measure([sys.executable, "-c", "import numpy, pandas"]).peak_rss_mb
    print("side-by-side: the fixed stack's imports, each in a fresh interpreter ...")
    stack_imports = stack_import_seconds(work, repeats=args.import_repeats)
    dbt_nodes = dbt_node_seconds(SpiegelPaths(work / "run")) if "duckdb" in args.engines else None
    figures = figures_of(
        args, lines, floor, generation, contenders, same_index, import_rss_mb, stack_imports, dbt_nodes
    )
    output = args.output or data_dir / "bench" / f"side-by-side-{args.scale:g}.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    print_table(figures)
    print(f"side-by-side: figures written to {output}")
    for measured in failed:
        print(f"side-by-side: spiegel run {measured.failure()}\n{measured.stderr_tail[-1500:]}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
