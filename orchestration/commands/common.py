"""What every command shares: its data directory, its words on stdout, and the one-line
refusal (:class:`CommandError`) that the CLI prints on stderr with exit code 1."""

from __future__ import annotations

import argparse

from orchestration.core.seeds import periods
from orchestration.core.settings import SpiegelPaths
from orchestration.runs.instance import use_data_dir


class CommandError(Exception):
    """A refusal or failure to report as one line on stderr (exit 1)."""


def say(message: str) -> None:
    print(message, flush=True)


def data_dir_paths(args: argparse.Namespace) -> SpiegelPaths:
    """The command's data directory, with this process pointed at its Dagster instance."""
    paths = SpiegelPaths.from_env(args.data_dir)
    use_data_dir(paths)
    return paths


def check_period(period: str) -> str:
    if period not in periods():
        raise argparse.ArgumentTypeError(
            f"unknown period {period!r}: expected YYYY-vN with N in 1..3 "
            "(known periods are listed in dbt_project/seeds/periods.csv)"
        )
    return period
