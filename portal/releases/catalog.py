"""What has been published: the portal's read-only view of ``<data dir>/releases/``.

The portal never opens the warehouse (portal.md, "Rules that hold everywhere"); every
number it shows about a period comes from the files of a published revision. Nothing
is cached across requests, so a revision published by ``spiegel publish`` is visible
at the next request, without a restart.

A revision folder is ``releases/<period>/r<N>/`` with ``release.json`` (written last
inside the folder, and the folder itself appears by one atomic rename), so a folder
that matches the pattern is whole.
"""
from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from django.conf import settings

PERIOD_RE = re.compile(r"^(?P<year>[0-9]{4})-v(?P<version>[1-3])$")
REVISION_RE = re.compile(r"^r(?P<n>[1-9][0-9]{0,5})$")
AGB_RE = re.compile(r"^[0-9]{8}$")
DISCIPLINES = ("fysiotherapie", "oefentherapie")
PERIODS_SHOWN = 6


def releases_dir() -> Path:
    return Path(settings.RELEASES_DIR)


def period_key(period: str) -> tuple[int, int]:
    match = PERIOD_RE.match(period)
    if not match:
        raise ValueError(f"not a period: {period!r}")
    return int(match["year"]), int(match["version"])


@dataclass(frozen=True)
class Revision:
    """One published revision of a period."""

    period: str
    revision: str
    path: Path
    published_at: datetime | None

    @property
    def number(self) -> int:
        return int(self.revision[1:])

    def file(self, name: str) -> Path:
        return self.path / name

    def release_json(self) -> dict:
        return json.loads((self.path / "release.json").read_text(encoding="utf-8"))


def _published_at(folder: Path) -> datetime | None:
    try:
        text = json.loads((folder / "release.json").read_text(encoding="utf-8")).get("published_at")
    except (OSError, ValueError):
        return None
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def revisions(period: str) -> list[Revision]:
    """Every whole revision of ``period`` under releases/, oldest first (r2 before r10)."""
    if not PERIOD_RE.match(period):
        return []
    folder = releases_dir() / period
    if not folder.is_dir():
        return []
    found = []
    for child in folder.iterdir():
        if child.is_dir() and not child.is_symlink() and REVISION_RE.match(child.name) \
                and (child / "release.json").is_file():
            found.append(Revision(period, child.name, child, _published_at(child)))
    return sorted(found, key=lambda r: r.number)


def published_periods() -> list[str]:
    """Periods with at least one revision under releases/, newest first."""
    root = releases_dir()
    if not root.is_dir():
        return []
    names = [p.name for p in root.iterdir() if p.is_dir() and PERIOD_RE.match(p.name) and revisions(p.name)]
    return sorted(names, key=period_key, reverse=True)


def newest_revision(period: str) -> Revision | None:
    found = revisions(period)
    return found[-1] if found else None


def shown_releases(limit: int = PERIODS_SHOWN) -> list[Revision]:
    """The newest revision of each of the ``limit`` most recent published periods, newest first."""
    return [rev for rev in (newest_revision(p) for p in published_periods()[:limit]) if rev is not None]


def read_csv(revision: Revision, name: str) -> list[dict[str, str]]:
    """Rows of one of the release's CSV files (behandelindex.csv, reference_strata.csv, ...)."""
    with open(revision.file(name), newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def practice_rows(revision: Revision, agb: str) -> list[dict[str, str]]:
    """The practice's rows of behandelindex.csv in this revision (one per discipline it has)."""
    if not AGB_RE.match(agb):
        return []
    return [row for row in read_csv(revision, "behandelindex.csv") if row["practice_agb"] == agb]
