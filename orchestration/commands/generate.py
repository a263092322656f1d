"""``spiegel generate``: synthetic deliveries (and redeliveries) under landing/."""

from __future__ import annotations

import argparse

from orchestration.commands.common import CommandError, check_period, data_dir_paths, say


def cmd_generate(args: argparse.Namespace) -> int:
    # deferred: Dagster, dbt, GX and pandas load only in the command that needs them (start-up time)
    from orchestration.commands import synthetic

    paths = data_dir_paths(args)
    if args.redeliver:
        insurer, _, period = args.redeliver.partition(":")
        if not insurer or not period:
            raise CommandError("--redeliver takes INSURER:PERIOD, e.g. vgz:2024-v1")
        folder = synthetic.redeliver(paths.data_dir, insurer, check_period(period), progress=say)
        say(f"redelivered {insurer} {period}: {folder}")
        return 0
    try:
        faults = [synthetic.parse_fault(text) for text in args.fault]
    except ValueError as exc:
        raise CommandError(str(exc)) from exc
    summary = synthetic.generate(
        paths.data_dir,
        years=args.years,
        practices=args.practices,
        seed=args.seed,
        scale=args.scale,
        faults=faults,
        progress=say,
        labels=args.labels,
    )
    say(
        f"wrote {len(summary.deliveries)} deliveries ({summary.claim_lines:,} claim lines, "
        f"{summary.practices:,} practices, {summary.patients:,} patients) in {summary.seconds:.1f} s "
        f"under {paths.landing}; skipped {len(summary.skipped)} that already existed"
    )
    return 0
