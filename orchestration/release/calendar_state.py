"""A period's readiness verdict as a file, for the portal's release calendar.

The portal never opens the warehouse (portal.md, "Rules that hold everywhere"). To show
a period that is late *because it is blocked*, the calendar needs the verdict the
platform reached; the ``release_readiness`` asset hands it over here, each time it
judges a period, as ``<data dir>/releases/_status/<period>.json``:

    {"period": "2022-v2", "verdict": "blocked", "evaluated_at": "2026-11-30T13:40:02Z",
     "blocking_reasons": 2}

Only the verdict (``blocked`` or ``ready``), when it was reached and how many reasons
block: never the reasons themselves, which name insurers, files and rules. The file is
written beside its final name and renamed into place, so a reader sees the old verdict
or the new one, whole. ``_status`` does not match the period pattern, so nothing that
lists published periods under ``releases/`` mistakes it for one.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from orchestration.core.settings import SpiegelPaths

STATUS_DIR_NAME = "_status"
VERDICTS = ("blocked", "ready")
_PERIOD = re.compile(r"^[0-9]{4}-v[1-3]$")


def status_dir(paths: SpiegelPaths) -> Path:
    return paths.releases / STATUS_DIR_NAME


def status_file(paths: SpiegelPaths, period: str) -> Path:
    if not _PERIOD.match(period):
        raise ValueError(f"not a period: {period!r}")
    return status_dir(paths) / f"{period}.json"


def write_period_status(
    paths: SpiegelPaths, period: str, gates_passed: bool, blocking_reasons: int, evaluated_at: datetime | None = None
) -> Path:
    """Write the verdict of ``period`` for the portal, atomically; returns the file."""
    target = status_file(paths, period)
    target.parent.mkdir(parents=True, exist_ok=True)
    at = (evaluated_at or datetime.now(UTC)).astimezone(UTC)
    record = {
        "period": period,
        "verdict": "ready" if gates_passed else "blocked",
        "evaluated_at": at.replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        "blocking_reasons": int(blocking_reasons),
    }
    fd, tmp = tempfile.mkstemp(prefix=f".{period}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(record, handle, indent=1)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target
