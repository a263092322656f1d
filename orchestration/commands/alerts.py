"""``spiegel alerts check``: the alerts' checks once, without the Dagster daemon (docs/alerts.md).

Everything the sensors and the daily schedule look for (gate blocks, failed runs of the
last days, the calendar, sign-offs, publishes), as of ``--today`` (default: today), and
sends what was not sent before: the same sent log, so a cron job beside ``spiegel ui``
never repeats a message either. Prints one line per message sent.
"""

from __future__ import annotations

import argparse
from datetime import date

from orchestration.commands.common import CommandError, data_dir_paths, say


def check_day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date: {text!r} (expected YYYY-MM-DD)") from None


def cmd_alerts(args: argparse.Namespace) -> int:
    # deferred: Dagster (the failed runs) and the gates load only when the command runs
    import dagster as dg

    from orchestration.runs.alerts.check import ALL_KINDS, run_check
    from orchestration.runs.alerts.sending import sent_log_path
    from orchestration.runs.alerts.settings import AlertSettings

    paths = data_dir_paths(args)
    today = args.today or date.today()
    try:
        settings = AlertSettings.from_env()
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    result = run_check(paths, ALL_KINDS, today=today, instance=dg.DagsterInstance.get(), settings=settings)
    for sent in result.sent:
        say(f"sent: {sent.alert.subject}")
        say(f"  key {sent.alert.key}; mail: {sent.mail}; webhook: {sent.webhook}")
    if not result.sent:
        say(f"alerts as of {today.isoformat()}: nothing new to send ({result.already} sent before)")
    else:
        say(f"alerts as of {today.isoformat()}: {len(result.sent)} sent, {result.already} sent before")
    say(f"sent log: {sent_log_path(paths)}")
    if result.failed:
        raise CommandError(
            f"{len(result.failed)} alert(s) not sent (tried again at the next check): "
            + "; ".join(w for _, w in result.failed)
        )
    return 0
