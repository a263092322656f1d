"""``spiegel run``: ingest and gate the deliveries in force, then compute each period."""

from __future__ import annotations

import argparse
import os
import time

from orchestration.commands.common import CommandError, data_dir_paths, say
from orchestration.core.settings import ENGINE_ENV, SpiegelPaths
from orchestration.core.warehouse import connect_read
from orchestration.landing.zone import landed_periods
from orchestration.release.readiness import period_state


def _periods_to_run(args: argparse.Namespace, paths: SpiegelPaths) -> list[str]:
    if args.period:
        return args.period
    found = landed_periods(paths.landing)
    if not found:
        raise CommandError(f"no complete deliveries under {paths.landing}; run `spiegel generate` first")
    return found


def cmd_run(args: argparse.Namespace) -> int:
    # deferred: Dagster, dbt, GX and pandas load only in the command that needs them (start-up time)
    from orchestration.runs import runner

    paths = data_dir_paths(args)
    if args.engine:  # the one engine setting (config.engine) for this run and its dbt
        os.environ[ENGINE_ENV] = args.engine
    failures = []
    for period in _periods_to_run(args, paths):
        started = time.monotonic()
        outcomes = runner.run_period(paths, period, force=args.force, progress=say)
        failures += [o for o in outcomes if o.crashed]
        say(f"{period}: runs finished in {time.monotonic() - started:.1f} s")
        _print_verdict(paths, period)
    if failures:
        first = failures[0]
        raise CommandError(
            f"{len(failures)} run(s) failed; first: {first.job} {first.partition} "
            f"(run {first.run_id}): {first.message or 'see the run in the Dagster UI'}"
        )
    return 0


def _print_verdict(paths: SpiegelPaths, period: str) -> None:
    with connect_read(paths) as con:
        state = period_state(con, paths, period)
    if state.gates_passed:
        say(f"{period}: gates PASS — ready for sign-off (spiegel signoff --period {period} --by NAME --comment TEXT)")
    else:
        say(f"{period}: BLOCKED — {len(state.blocking_reasons)} reason(s):")
        for reason in state.blocking_reasons:
            say(f"  - {reason}")
