"""Where a data directory keeps its alerts: the sent log, its lock and the file mail backend.

In core because two stages use the same places: ``runs/alerts`` sends an event and records
it under the lock, and ``release/backup`` copies the folder under that same lock, so a
backup never holds a line that is half written or an event sent but not yet recorded.
"""

from __future__ import annotations

from pathlib import Path

from orchestration.core.settings import SpiegelPaths


def alerts_dir(paths: SpiegelPaths) -> Path:
    return paths.data_dir / "alerts"


def mail_dir(paths: SpiegelPaths) -> Path:
    """Where the file backend writes one ``.eml`` per message (no SMTP host configured)."""
    return alerts_dir(paths) / "mail"


def sent_log_path(paths: SpiegelPaths) -> Path:
    return alerts_dir(paths) / "sent.jsonl"


def sent_lock_path(paths: SpiegelPaths) -> Path:
    """Held while an event is checked against the sent log, sent and recorded."""
    return alerts_dir(paths) / ".sent.lock"
