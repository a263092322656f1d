"""``spiegel generate``: synthetic deliveries (and redeliveries) under landing/."""

from __future__ import annotations

import argparse
import csv
from datetime import date
from pathlib import Path

from orchestration.commands.common import CommandError, check_period, data_dir_paths, say
from orchestration.core.seeds import cancelled_periods, exclusion_windows
from orchestration.core.settings import METHOD_CONFIG_FILES, SpiegelPaths, method_config_dir


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
    if args.exclusion_window or args.cancel:
        folder = write_method_config(paths, args.exclusion_window, args.cancel)
        say(f"method configuration of this data directory: {folder}")
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
    if summary.register is not None:
        say(f"wrote the practice register {summary.register} ({summary.register_practices:,} practices)")
    return 0


def write_method_config(paths: SpiegelPaths, windows: list[str], cancellations: list[str]) -> Path:
    """Add exclusion windows (``FIRST:LAST:REASON``) and cancelled versions
    (``PERIOD:REASON``) to the data directory's own method configuration, starting from
    the configuration in force; checked by the same readers the platform uses."""
    rows_windows = [[w.first_date.isoformat(), w.last_date.isoformat(), w.reason] for w in exclusion_windows(paths)]
    rows_cancelled = [[c.period, c.reason, c.decided_on] for c in cancelled_periods(paths).values()]
    for text in windows:
        first, _, rest = text.partition(":")
        last, _, reason = rest.partition(":")
        try:
            ok = bool(reason.strip()) and date.fromisoformat(first) <= date.fromisoformat(last)
        except ValueError:
            ok = False
        if not ok:
            raise CommandError(
                f"--exclusion-window takes FIRST:LAST:REASON with dates YYYY-MM-DD in order, got {text!r}"
            )
        rows_windows.append([first, last, reason.strip()])
    for text in cancellations:
        period, _, reason = text.partition(":")
        if not reason.strip():
            raise CommandError(f"--cancel takes PERIOD:REASON, got {text!r}")
        rows_cancelled = [r for r in rows_cancelled if r[0] != period]
        rows_cancelled.append([check_period(period), reason.strip(), date.today().isoformat()])
    source = method_config_dir(paths)
    target = paths.method_config
    target.mkdir(parents=True, exist_ok=True)
    contents = {
        "exclusion_windows.csv": (["first_date", "last_date", "reason"], rows_windows),
        "cancelled_periods.csv": (["period", "reason", "decided_on"], rows_cancelled),
    }
    assert set(contents) == set(METHOD_CONFIG_FILES)
    for name, (header, rows) in contents.items():
        with open(target / name, "w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out, lineterminator="\n")
            writer.writerow(header)
            writer.writerows(rows)
    try:
        exclusion_windows(paths)
        cancelled_periods(paths)
    except ValueError as exc:
        raise CommandError(f"{exc} (configuration started from {source})") from exc
    return target
