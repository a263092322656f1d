"""``spiegel demo``: synthetic data to published releases and a portal, end to end."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from orchestration.commands.common import CommandError, data_dir_paths, say
from orchestration.commands.status import period_status
from orchestration.landing.zone import landed_periods

DEMO_YEARS = (2023, 2024)


DEMO_PRACTICES = 300


DEMO_SEED = 7


def cmd_demo(args: argparse.Namespace) -> int:
    # deferred: Dagster, dbt, GX and pandas load only in the command that needs them (start-up time)
    from orchestration.commands import synthetic
    from orchestration.commands.demo_publisher import Publisher
    from orchestration.runs import runner

    paths = data_dir_paths(args)
    started = time.monotonic()
    published: list[Path] = []
    # the publishing process starts (and imports) while the data is generated
    with Publisher(paths) as publisher:
        if not landed_periods(paths.landing):
            say(
                f"generating synthetic deliveries for {', '.join(map(str, args.years))} "
                f"({args.practices} practices, seed {args.seed}) ..."
            )
            summary = synthetic.generate(
                paths.data_dir, years=list(args.years), practices=args.practices, seed=args.seed, progress=say
            )
            say(
                f"  {len(summary.deliveries)} deliveries, {summary.claim_lines:,} claim lines "
                f"in {summary.seconds:.1f} s"
            )
        else:
            say(f"using the deliveries already under {paths.landing}")

        def collect_published() -> None:
            outcome = publisher.result()
            if not outcome.success:
                raise CommandError(f"demo publish of {outcome.period} failed: {outcome.message}")
            say(f"{outcome.period}: published {outcome.revision} ({outcome.seconds:.0f} s, reports included)")
            published.append(Path(outcome.revision))

        for period in landed_periods(paths.landing):
            runner.run_period(paths, period, progress=say)
            status = period_status(paths, period)
            if status["verdict"] != "pass":
                say(f"{period}: BLOCKED, not published: " + " | ".join(status["blocking_reasons"]))
                continue
            if status["signoff"] is None:
                outcome = runner.sign_off(period, "demo", "demo run: synthetic data, signed off automatically")
                if not outcome.success:
                    raise CommandError(f"demo sign-off of {period} failed: {outcome.message}")
            if publisher.busy:
                collect_published()  # a period's reports show the periods before it: in order
            say(f"{period}: publishing (tables, release.json, reports) beside the next period ...")
            publisher.submit(period)
        while publisher.busy:
            collect_published()
    say("")
    say(f"demo finished in {time.monotonic() - started:.0f} s; published {len(published)} period(s):")
    for rev in published:
        say(f"  {rev}  (reports: {rev / 'reports'})")
    if published:
        say(f"national overview: {published[-1] / 'reports' / 'national_overview.html'}")
    say(f"status:   spiegel status --data-dir {paths.data_dir}")
    say(f"the UI:   spiegel ui --data-dir {paths.data_dir}   (then open http://127.0.0.1:3000)")
    # deferred: Dagster, dbt, GX and pandas load only in the command that needs them (start-up time)
    from portal import operations

    say("")
    say("the practice portal:")
    for line in operations.setup_demo(paths.data_dir):
        say(f"  {line}")
    return 0
