"""A seeded run of N generated cases through the oracle, with its counts (``spiegel fuzz``).

Hypothesis generates the cases (its generate phase only: a long run counts failures and
goes on, instead of stopping at the first to shrink it; the CI test shrinks). Every case
is judged by ``oracle.run_case``; the tally counts rejections by rule, the tolerated and
the value changes, the cases that are no delivery, and every failure with its case.
"""

from __future__ import annotations

import shutil
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from orchestration.delivery.fuzz.model import HARMLESS, REJECT, UNSEEN, VALUE_CHANGE, Case
from orchestration.delivery.fuzz.oracle import (
    CRASH,
    DEFAULT_MEMORY_MB,
    DEFAULT_TIMEOUT,
    HANG,
    Outcome,
    Worker,
    run_case,
)

MISSING_HYPOTHESIS = "the fuzzer needs hypothesis (a test dependency): pip install -e '.[test]'"


def require_hypothesis() -> None:
    """Import hypothesis, or say in one line how to get it."""
    try:
        import hypothesis  # noqa: F401
    except ImportError as exc:
        raise RuntimeError(MISSING_HYPOTHESIS) from exc


@dataclass
class Tally:
    examples: int = 0
    kinds: Counter = field(default_factory=Counter)  # reject, harmless, value_change, unseen, crash, hang
    rejected_by_rule: Counter = field(default_factory=Counter)  # the first rule of each rejection
    families: Counter = field(default_factory=Counter)
    failures: list[tuple[str, list[str]]] = field(default_factory=list)
    peak_rss_mb: float = 0.0
    slowest_seconds: float = 0.0
    seconds: float = 0.0

    def add(self, case: Case, outcome: Outcome) -> None:
        self.examples += 1
        self.families[case.family.split(".")[0]] += 1
        self.kinds[outcome.kind] += 1
        if outcome.kind == REJECT and outcome.rule and not outcome.problems:
            self.rejected_by_rule[outcome.rule] += 1
        if outcome.problems:
            self.kinds["failed"] += 1
            self.failures.append((case.describe()[:600], outcome.problems))
        self.peak_rss_mb = max(self.peak_rss_mb, outcome.peak_rss_mb)
        self.slowest_seconds = max(self.slowest_seconds, outcome.seconds)

    @property
    def failed(self) -> int:
        return len(self.failures)

    def summary(self) -> str:
        lines = [
            f"examples: {self.examples} in {self.seconds:.0f} s "
            f"(families: {', '.join(f'{k} {v}' for k, v in sorted(self.families.items()))})",
            f"rejected: {self.kinds[REJECT]}",
        ]
        lines += [f"  {rule}: {n}" for rule, n in sorted(self.rejected_by_rule.items(), key=lambda kv: (-kv[1], kv[0]))]
        lines += [
            f"harmless, accepted with the same typed rows: {self.kinds[HARMLESS]}",
            f"value changes the contract leaves to the contents gate, accepted verbatim: {self.kinds[VALUE_CHANGE]}",
            f"no delivery (upload in progress, unknown folder), not read: {self.kinds[UNSEEN]}",
            f"crashes: {self.kinds[CRASH]}",
            f"hangs: {self.kinds[HANG]}",
            f"failures (crash, hang or a verdict against the contract): {self.failed}",
            f"peak memory of one validation: {self.peak_rss_mb:.0f} MB; slowest case: {self.slowest_seconds:.1f} s",
        ]
        return "\n".join(lines)


def run_campaign(
    examples: int,
    seed: int,
    timeout: float = DEFAULT_TIMEOUT,
    memory_mb: int = DEFAULT_MEMORY_MB,
    progress: Callable[[Tally], None] | None = None,
    every: int = 250,
) -> Tally:
    """Generate and judge ``examples`` cases from ``seed``."""
    import time

    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as seeded

    from orchestration.delivery.fuzz.strategies import cases

    tally = Tally()
    root = Path(tempfile.mkdtemp(prefix="spiegel-fuzz-"))
    started = time.monotonic()
    with Worker(memory_mb) as worker:

        @seeded(seed)
        @settings(
            max_examples=examples,
            deadline=None,
            database=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(cases())
        def one(case: Case) -> None:
            tally.add(case, run_case(case, worker, root, timeout))
            tally.seconds = time.monotonic() - started
            if progress is not None and tally.examples % every == 0:
                progress(tally)

        try:
            one()
        finally:
            shutil.rmtree(root, ignore_errors=True)
    tally.seconds = time.monotonic() - started
    return tally


def sample_cases(count: int, seed: int, keep: Callable[[Case], bool], **strategy_kwargs) -> list[Case]:
    """The first ``count`` generated cases from ``seed`` that ``keep`` wants (for a test that
    takes a few through the whole platform)."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as seeded

    from orchestration.delivery.fuzz.strategies import cases

    found: list[Case] = []

    @seeded(seed)
    @settings(
        max_examples=50 * count,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(cases(**strategy_kwargs))
    def one(case: Case) -> None:
        if len(found) < count and keep(case):
            found.append(case)

    one()
    return found
