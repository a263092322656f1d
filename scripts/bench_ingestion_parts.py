"""What ingestion's one pass costs, part by part, against the scan floor, on the same files.

    .venv/bin/python scripts/bench_ingestion_parts.py [--scale 1.0] [--data-dir DIR] [--repeat 1]

Runs on the in-force claims files of the v3 period that ``spiegel bench --scale F`` generated
(``DIR/bench/scale-<F>``; run that first). Each variant runs over all files, one after the
other, in one process, after a warming scan, with wall time and the process's CPU time
(DuckDB's threads included):

1. ``floor``: the floor of ``spiegel bench`` (``count(*)``, ``sum(paid_amount)``, text columns);
2. ``sha256``: the checksum of the bytes alone (ingestion runs it in a thread beside the parse);
3. ``rules, storing nothing``: ingestion's own parse (``contract.lines.typed_select``: every
   column typed, every cheap format rule as ``breaks_contract``), reduced to the counts the
   contract compares (rows, breaking lines, control total) and kept nowhere;
4. ``+ unique claim_id (hashes)``: 3 with the uniqueness count ingestion uses;
5. ``+ unique claim_id (strings)``: 3 with the exact ``count(distinct claim_id)`` of before;
6. ``rules, stored``: 4 as ingestion does it, into a table of a DuckDB file (the warehouse).

So it shows how far any ingestion that keeps every rule can get on this machine: variant 4
(plus the checksum beside it) is the least a pass with every rule costs, even when it
stores nothing.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import duckdb

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from orchestration.commands.bench import in_force_claims_files, scan_floor  # noqa: E402
from orchestration.core.settings import SpiegelPaths, duckdb_memory_limit  # noqa: E402
from orchestration.delivery.contract.lines import typed_select  # noqa: E402

PERIOD = "2024-v3"


def timed(run: Callable[[], int | None]) -> tuple[float, float, int | None]:
    """Wall and CPU seconds of ``run``, and the lines it read (None: it reads bytes, not lines)."""
    wall, cpu = time.monotonic(), time.process_time()
    lines = run()
    return time.monotonic() - wall, time.process_time() - cpu, lines


def sha256_of(files: list[Path]) -> None:
    for path in files:
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)


def aggregate(files: list[Path], uniqueness: str | None) -> int:
    con = duckdb.connect(config={"memory_limit": duckdb_memory_limit()})
    extra = f", {uniqueness}" if uniqueness else ""
    lines = 0
    for path in files:
        lines += con.execute(
            f"select count(*), count_if(breaks_contract), sum(paid_amount){extra} from ({typed_select(path)})"
        ).fetchone()[0]
    con.close()
    return lines


def stored(files: list[Path]) -> int:
    lines = 0
    with tempfile.TemporaryDirectory() as folder:
        con = duckdb.connect(str(Path(folder) / "warehouse.duckdb"), config={"memory_limit": duckdb_memory_limit()})
        for number, path in enumerate(files):
            con.execute(f"create table lines_{number} as {typed_select(path)}")
            lines += con.execute(
                f"select count(*), count_if(breaks_contract), sum(paid_amount), count(distinct hash(claim_id)) "
                f"from lines_{number}"
            ).fetchone()[0]
        con.close()
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--repeat", type=int, default=1, help="runs of each variant (the fastest is shown)")
    args = parser.parse_args(argv)
    paths = SpiegelPaths(SpiegelPaths.from_env(args.data_dir).data_dir / "bench" / f"scale-{args.scale:g}")
    files = in_force_claims_files(paths, PERIOD)
    if not files:
        print(f"no deliveries of {PERIOD} under {paths.landing}: run `spiegel bench --scale {args.scale:g}` first")
        return 2
    size = sum(p.stat().st_size for p in files)
    print(f"{len(files)} files, {size / 1e9:.2f} GB, under {paths.landing}")
    scan_floor(paths, PERIOD)  # warms the page cache
    variants: list[tuple[str, Callable[[], object]]] = [
        ("floor (one scan, text columns)", lambda: scan_floor(paths, PERIOD)[1]),
        ("sha256 of the bytes", lambda: sha256_of(files)),
        ("rules, storing nothing", lambda: aggregate(files, None)),
        ("+ unique claim_id (hashes)", lambda: aggregate(files, "count(distinct hash(claim_id))")),
        ("+ unique claim_id (strings)", lambda: aggregate(files, "count(distinct claim_id)")),
        ("rules + unique (hashes), stored", lambda: stored(files)),
    ]
    results = []
    for name, run in variants:
        wall, cpu, lines = min((timed(run) for _ in range(args.repeat)), key=lambda t: t[0])
        results.append((name, wall, cpu, lines))
        print(f"  {name}: {wall:.2f} s", flush=True)
    counts = {lines for *_, lines in results if lines is not None}
    if len(counts) != 1:  # a variant that read fewer lines would flatter its figure
        print(f"the variants read different numbers of lines: {sorted(counts)}")
        return 1
    print(f"every variant read the same {counts.pop():,} claim lines")
    floor_wall, floor_cpu = results[0][1], results[0][2]
    print("\n| part | wall s | × floor | CPU s | × floor's CPU |\n|---|---|---|---|---|")
    for name, wall, cpu, _ in results:
        print(f"| {name} | {wall:.2f} | {wall / floor_wall:.1f} | {cpu:.2f} | {cpu / floor_cpu:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
