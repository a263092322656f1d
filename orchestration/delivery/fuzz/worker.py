"""The validator in a process of its own, for the fuzzer: one request a line on stdin
(``{"landing": path}``), one answer a line (JSON) on the process's original stdout.

The landing zone is scanned as the platform scans it (``scan_landing``) and its delivery
validated as the delivery asset validates it (``validate_delivery``); an accepted
delivery's typed rows come back, so that the oracle can compare them with what the
insurer meant. The process has a bound on its address space (a delivery that makes the
validator allocate without end ends in a MemoryError here, reported, not in the machine
swapping), DuckDB a memory limit, and each answer says the peak resident memory of its
validation.

    python -m orchestration.delivery.fuzz.worker MEMORY_MB
"""

from __future__ import annotations

import json
import os
import resource
import sys
import traceback
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

DUCKDB_MEMORY = "1GB"


def _limit_memory(megabytes: int) -> None:
    limit = megabytes * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _reset_peak() -> None:
    """Linux: writing 5 to clear_refs resets the peak resident memory (VmHWM) to the current."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def _peak_rss_mb() -> float:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _plain(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def validate_landing(landing: Path) -> dict[str, Any]:
    """Scan ``landing`` and validate the one delivery in it, as the platform does."""
    from orchestration.delivery.contract import CLAIM_COLUMNS, ParsedLines, validate_delivery
    from orchestration.landing.zone import scan_landing

    class KeptLines(ParsedLines):
        def accept(self, ref, blank_lines) -> None:  # keep the typed rows to send them back
            pass

    deliveries, _anomalies = scan_landing(landing)
    if not deliveries:
        return {"seen": False}
    lines = KeptLines()
    try:
        verdict = validate_delivery(deliveries[0], lines)
        answer: dict[str, Any] = {
            "seen": True,
            "accepted": verdict.accepted,
            "violations": [{"rule": v.rule, "message": v.message, "rows": v.rows} for v in verdict.violations],
            "error_text": verdict.error_text(),
        }
        if verdict.accepted:
            found = lines.con.execute(f"select {', '.join(CLAIM_COLUMNS)} from {lines.table} order by rowid")
            answer["rows"] = [[_plain(v) for v in row] for row in found.fetchall()]
        return answer
    finally:
        lines.con.close()


def main() -> int:
    memory_mb = int(sys.argv[1]) if len(sys.argv) > 1 else 4096
    os.environ["SPIEGEL_DUCKDB_MEMORY"] = DUCKDB_MEMORY
    channel = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # whatever else prints goes to stderr, never into the answers
    import orchestration.delivery.contract  # noqa: F401  (imported before the limit: its start-up is not a case)

    _limit_memory(memory_mb)
    for line in sys.stdin:
        request = json.loads(line)
        _reset_peak()
        try:
            answer = validate_landing(Path(request["landing"]))
        except BaseException as exc:  # everything but a verdict is what the fuzzer looks for
            if isinstance(exc, KeyboardInterrupt):
                raise
            answer = {"error": "".join(traceback.format_exception(exc))[-4000:]}
        answer["peak_rss_mb"] = _peak_rss_mb()
        channel.write(json.dumps(answer, default=str) + "\n")
        channel.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
