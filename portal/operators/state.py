"""What the release page shows of a period, from files the platform writes (the portal never
opens the warehouse, portal.md):

- ``releases/_status/<period>.json``: the readiness verdict (``blocked``/``ready``), when it
  was reached and how many reasons block (the reasons themselves are in Dagster, linked);
- ``signoffs.jsonl`` in the data directory: the append-only sign-off log;
- ``releases/<period>/r<N>/release.json``: what was published, signed off by whom and
  published by whom.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils.dateparse import parse_datetime

from orchestration.core.seeds import period_sort_key
from orchestration.release.operators import Operator

log = logging.getLogger(__name__)


def moment(text: str):
    """An ISO time of the platform's files as an aware datetime (shown in local time), or None."""
    try:
        return parse_datetime(text or "")
    except ValueError:
        return None


PERIOD_RE = re.compile(r"^[0-9]{4}-v[1-3]\Z")
REVISION_RE = re.compile(r"^r([0-9]+)\Z")
STATUS_DIR_NAME = "_status"  # orchestration/release/calendar_state.py


@dataclass
class Signoff:
    """A line of the sign-off log as the page shows it."""

    signoff_id: str
    account: str
    account_id: int | None
    authenticated: bool
    at: str
    comment: str
    deliveries: list[dict[str, Any]]

    @property
    def operator(self) -> Operator:
        return Operator(self.account, self.account_id, self.authenticated)

    @property
    def at_time(self):
        return moment(self.at)


@dataclass
class Revision:
    name: str
    published_at: str
    signoff_id: str
    signed_off_by: str
    published_by: str
    published_by_authenticated: bool

    @property
    def published_time(self):
        return moment(self.published_at)


@dataclass
class PeriodRelease:
    period: str
    verdict: str | None = None  # ready | blocked | None (not judged yet)
    evaluated_at: str = ""
    blocking_reasons: int = 0
    signoffs: list[Signoff] = field(default_factory=list)  # oldest first
    revisions: list[Revision] = field(default_factory=list)  # oldest first

    @property
    def signoff(self) -> Signoff | None:
        """The newest sign-off (the one a publish uses, if it still covers the deliveries)."""
        return self.signoffs[-1] if self.signoffs else None

    @property
    def evaluated_time(self):
        return moment(self.evaluated_at)

    @property
    def newest(self) -> Revision | None:
        return self.revisions[-1] if self.revisions else None

    @property
    def signoff_published(self) -> bool:
        return bool(self.signoff and self.newest and self.newest.signoff_id == self.signoff.signoff_id)


def _releases() -> Path:
    return Path(settings.RELEASES_DIR)


def _signoff_log() -> Path:
    return Path(settings.DATA_DIR) / "signoffs.jsonl"


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _signoffs() -> list[dict[str, Any]]:
    try:
        lines = _signoff_log().read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    out = []
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and PERIOD_RE.match(str(record.get("period", ""))):
            out.append(record)
    return out


def _signoff(record: dict[str, Any]) -> Signoff:
    account_id = record.get("account_id")
    return Signoff(
        signoff_id=str(record.get("signoff_id", "")),
        account=str(record.get("account") or record.get("by") or ""),
        account_id=int(account_id) if isinstance(account_id, int) else None,
        authenticated=bool(record.get("authenticated", False)),
        at=str(record.get("at", "")),
        comment=str(record.get("comment", "")),
        deliveries=[d for d in record.get("deliveries", []) if isinstance(d, dict)],
    )


def _revisions(period: str) -> list[Revision]:
    folder = _releases() / period
    if not folder.is_dir():
        return []
    found = []
    for child in folder.iterdir():
        match = REVISION_RE.match(child.name)
        if not (match and child.is_dir() and not child.is_symlink()):
            continue
        data = _read_json(child / "release.json") or {}
        signoff = data.get("signoff") or {}
        published_by = data.get("published_by") or {}
        found.append(
            (
                int(match.group(1)),
                Revision(
                    name=child.name,
                    published_at=str(data.get("published_at", "")),
                    signoff_id=str(signoff.get("signoff_id", "")),
                    signed_off_by=str(signoff.get("account") or signoff.get("by") or ""),
                    published_by=str(published_by.get("account") or ""),
                    published_by_authenticated=bool(published_by.get("authenticated", False)),
                ),
            )
        )
    return [revision for _, revision in sorted(found, key=lambda pair: pair[0])]


def period_release(period: str) -> PeriodRelease:
    state = PeriodRelease(period)
    status = _read_json(_releases() / STATUS_DIR_NAME / f"{period}.json") if PERIOD_RE.match(period) else None
    if status and status.get("verdict") in ("ready", "blocked"):
        state.verdict = status["verdict"]
        state.evaluated_at = str(status.get("evaluated_at", ""))
        state.blocking_reasons = int(status.get("blocking_reasons") or 0)
    state.signoffs = [_signoff(r) for r in _signoffs() if r["period"] == period]
    state.revisions = _revisions(period)
    return state


def release_periods() -> list[PeriodRelease]:
    """Every period the platform judged, signed off or published; newest first."""
    periods: set[str] = {str(r["period"]) for r in _signoffs()}
    status_dir = _releases() / STATUS_DIR_NAME
    if status_dir.is_dir():
        periods |= {p.stem for p in status_dir.glob("*.json") if PERIOD_RE.match(p.stem)}
    if _releases().is_dir():
        periods |= {p.name for p in _releases().iterdir() if p.is_dir() and PERIOD_RE.match(p.name)}
    return [period_release(p) for p in sorted(periods, key=period_sort_key, reverse=True)]
