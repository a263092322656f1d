"""``spiegel fuzz``: generated bad deliveries through the delivery contract, counted.

Each example is a generated delivery (``orchestration/delivery/fuzz``): a clean one with a
mutation of its values, bytes, manifest or folder, validated in a worker process with a
time limit and a bound on its memory, and judged by the oracle. Progress is printed as it
goes; at the end the counts: rejected by rule, harmless accepted, value changes left to
the contents gate, no delivery, crashes, hangs, failures, peak memory. Exit 1 when any
case failed (each failure is printed with its case).
"""

from __future__ import annotations

import argparse

from orchestration.commands.common import CommandError, say


def cmd_fuzz(args: argparse.Namespace) -> int:
    from orchestration.delivery.fuzz.campaign import MISSING_HYPOTHESIS, require_hypothesis

    try:
        require_hypothesis()
    except RuntimeError:
        raise CommandError(MISSING_HYPOTHESIS) from None
    if args.examples < 1:
        raise CommandError("--examples must be at least 1")
    from orchestration.delivery.fuzz.campaign import run_campaign

    say(f"fuzz: {args.examples} generated deliveries, seed {args.seed}, at most {args.timeout:.0f} s each")

    def progress(tally) -> None:
        say(
            f"  {tally.examples} examples in {tally.seconds:.0f} s: {tally.kinds['reject']} rejected, "
            f"{tally.kinds['harmless']} harmless, {tally.kinds['value_change']} value changes, "
            f"{tally.kinds['unseen']} no delivery, {tally.failed} failed"
        )

    tally = run_campaign(args.examples, args.seed, timeout=args.timeout, progress=progress, every=args.every)
    say(tally.summary())
    for described, problems in tally.failures[: args.show]:
        say(f"FAILED {described}")
        for problem in problems:
            say(f"    {problem[:1500]}")
    if tally.failed:
        raise CommandError(f"{tally.failed} of {tally.examples} generated deliveries failed (listed above)")
    return 0


def add_fuzz_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--examples", type=int, default=1000, help="generated deliveries to try (default 1000)")
    p.add_argument("--seed", type=int, default=0, help="random seed: the same seed tries the same deliveries")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds one validation may take (default 60)")
    p.add_argument("--every", type=int, default=250, help="print progress every N examples (default 250)")
    p.add_argument("--show", type=int, default=20, help="failures to print in full (default 20)")
