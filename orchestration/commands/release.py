"""``spiegel signoff`` and ``spiegel publish``: the data-quality sign-off and the release."""

from __future__ import annotations

import argparse

from orchestration.commands.common import CommandError, data_dir_paths, say


def cmd_signoff(args: argparse.Namespace) -> int:
    # deferred: Dagster, dbt, GX and pandas load only in the command that needs them (start-up time)
    from orchestration.runs import runner

    data_dir_paths(args)
    outcome = runner.sign_off(args.period, args.by, args.comment)
    if not outcome.success:
        raise CommandError(outcome.message or f"sign-off of {args.period} failed (run {outcome.run_id})")
    say(f"{args.period}: signed off by {args.by} (run {outcome.run_id})")
    return 0


def cmd_publish(args: argparse.Namespace) -> int:
    # deferred: Dagster, dbt, GX and pandas load only in the command that needs them (start-up time)
    from orchestration.release.publish import newest_revision
    from orchestration.runs import runner

    paths = data_dir_paths(args)
    say(f"{args.period}: publishing (tables, release.json, reports) ...")
    outcome = runner.publish(args.period)
    if not outcome.success:
        raise CommandError(outcome.message or f"publish of {args.period} failed (run {outcome.run_id})")
    say(f"{args.period}: published {newest_revision(paths, args.period)}")
    return 0
