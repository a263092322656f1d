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
import functools
import json
import os
import re
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from django.conf import settings

from reports import labels, movement

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
        if (
            child.is_dir()
            and not child.is_symlink()
            and REVISION_RE.match(child.name)
            and (child / "release.json").is_file()
        ):
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


def _releases_signature() -> tuple | None:
    """What ``shown_releases`` depends on, cheaply: the names in the releases folder and in
    each period folder, with their modification times. A revision appears by one rename into
    its period's folder (a new name there) and a period by a new folder (or a move out to the
    archive), so the signature changes and the releases are read again. Names, not only
    times: a folder's time has the kernel's coarse clock, and two renames can share a tick."""
    root = releases_dir()
    try:
        folders = []
        with os.scandir(root) as entries:
            for entry in entries:
                if PERIOD_RE.match(entry.name) and entry.is_dir(follow_symlinks=False):
                    names = tuple(sorted(os.listdir(entry.path)))
                    folders.append((entry.name, entry.stat(follow_symlinks=False).st_mtime_ns, names))
        return (str(root), root.stat().st_mtime_ns, tuple(sorted(folders)))
    except OSError:
        return None


_shown_cache: dict[tuple, list[Revision]] = {}


def shown_releases(limit: int = PERIODS_SHOWN) -> list[Revision]:
    """The newest revision of each of the ``limit`` most recent published periods, newest first.

    Read again whenever ``_releases_signature`` changes (every page and API call asks, so a
    publish shows at the next request); otherwise the answer of the last read."""
    signature = _releases_signature()
    key = (signature, limit)
    if signature is not None and key in _shown_cache:
        return list(_shown_cache[key])
    found = [rev for rev in (newest_revision(p) for p in published_periods()[:limit]) if rev is not None]
    if signature is not None:
        with _parse_lock:
            if len(_shown_cache) > 32:
                _shown_cache.clear()
            _shown_cache[key] = found
    return list(found)


def read_csv(revision: Revision, name: str) -> list[dict[str, str]]:
    """Rows of one of the release's CSV files (behandelindex.csv, reference_strata.csv, ...)."""
    with open(revision.file(name), newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def practice_rows(revision: Revision, agb: str) -> list[dict[str, str]]:
    """The practice's rows of behandelindex.csv in this revision (one per discipline it has)."""
    if not AGB_RE.match(agb):
        return []
    return [row for row in read_csv(revision, "behandelindex.csv") if row["practice_agb"] == agb]


# -- what a practice sees (portal/access) ------------------------------------------------
REPORT_EXTENSIONS = ("pdf", "html")
REPORT_ASSETS = ("plotly.min.js", "spiegel.js", "spiegel.css")


def period_label(period: str) -> str:
    """The period as every page and report names it (one function: reports/labels.py)."""
    return labels.period_label(period) if PERIOD_RE.match(period) else period


def shown_revision(period: str) -> Revision | None:
    """The newest revision of ``period`` if the period is one of the shown (6 most recent)."""
    if not PERIOD_RE.match(period or ""):
        return None
    for rev in shown_releases():
        if rev.period == period:
            return rev
    return None


def _inside(path: Path, root: Path) -> bool:
    try:
        path.resolve(strict=True).relative_to(root.resolve(strict=True))
    except (OSError, ValueError):
        return False
    return path.is_file() and not path.is_symlink()


def report_path(agb: str, period: str, discipline: str, extension: str) -> Path | None:
    """The published report file of the newest shown revision, or None.

    Built only from a validated AGB, a period found among the shown releases, a discipline
    of the fixed list and an extension of the fixed list; the result is checked to be a
    regular file inside that revision folder."""
    if not AGB_RE.match(agb or "") or discipline not in DISCIPLINES or extension not in REPORT_EXTENSIONS:
        return None
    rev = shown_revision(period)
    if rev is None:
        return None
    path = rev.path / "reports" / discipline / f"{agb}.{extension}"
    return path if _inside(path, rev.path) else None


def asset_path(period: str, name: str, discipline: str | None = None) -> Path | None:
    """A shared asset of a shown revision's reports: plotly.min.js, spiegel.js, spiegel.css,
    or a discipline's _funnel.js (the anonymous national cloud of that discipline)."""
    rev = shown_revision(period)
    if rev is None:
        return None
    if discipline is None:
        if name not in REPORT_ASSETS:
            return None
        path = rev.path / "reports" / name
    else:
        if discipline not in DISCIPLINES or name != "_funnel.js":
            return None
        path = rev.path / "reports" / discipline / name
    return path if _inside(path, rev.path) else None


@functools.lru_cache(maxsize=32)
def _rows_by_agb(csv_path: str, mtime_ns: int, size: int) -> dict[str, list[dict[str, str]]]:
    """behandelindex.csv of one revision by practice; a published revision never changes,
    and the key carries the file's mtime and size, so a cached entry is never stale."""
    by_agb: dict[str, list[dict[str, str]]] = {}
    with open(csv_path, newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            by_agb.setdefault(row["practice_agb"], []).append(row)
    return by_agb


_parse_lock = threading.Lock()  # gunicorn's threads share one parse of a file instead of racing


def practice_rows_cached(revision: Revision, agb: str) -> list[dict[str, str]]:
    if not AGB_RE.match(agb or ""):
        return []
    path = revision.file("behandelindex.csv")
    try:
        stat = path.stat()
    except OSError:
        return []
    with _parse_lock:
        by_agb = _rows_by_agb(str(path), stat.st_mtime_ns, stat.st_size)
    return list(by_agb.get(agb, ()))


@dataclass(frozen=True)
class PracticeName:
    """A practice as the practice register of a release names it (practices.csv)."""

    name: str
    place: str

    @property
    def label(self) -> str:
        """e.g. "Fysiotherapie De Linde, Utrecht" (the name alone when the place is empty)."""
        return f"{self.name}, {self.place}" if self.place else self.name


@functools.lru_cache(maxsize=32)
def _names_by_agb(csv_path: str, mtime_ns: int, size: int) -> dict[str, PracticeName]:
    """practices.csv of one revision by practice (named ones only); cached like ``_rows_by_agb``."""
    with open(csv_path, newline="", encoding="utf-8") as handle:
        return {
            row["practice_agb"]: PracticeName(row["practice_name"], row.get("place") or "")
            for row in csv.DictReader(handle)
            if row.get("practice_name")
        }


def practice_name(agb: str, shown: list[Revision] | None = None) -> PracticeName | None:
    """The practice's name and place from the newest shown revision whose practices.csv names
    it (docs/register-contract.md); None when none does (the practice is then addressed by its
    AGB code). Call it only after the access check: the name is the practice's own."""
    if not AGB_RE.match(agb or ""):
        return None
    for rev in shown_releases() if shown is None else shown:
        path = rev.file("practices.csv")
        try:
            stat = path.stat()
        except OSError:
            continue  # a release of before the practice register
        with _parse_lock:
            found = _names_by_agb(str(path), stat.st_mtime_ns, stat.st_size).get(agb)
        if found is not None:
            return found
    return None


def practice_in_any_release(agb: str) -> bool:
    """Whether the AGB appears in behandelindex.csv of any published revision (the shown
    periods and the older ones still under releases/)."""
    if not AGB_RE.match(agb or ""):
        return False
    return any(practice_rows_cached(rev, agb) for period in published_periods() for rev in revisions(period))


@dataclass
class PeriodEntry:
    """One shown period for one practice and discipline."""

    revision: Revision
    row: dict[str, str] | None
    has_pdf: bool
    has_html: bool

    @property
    def period(self) -> str:
        return self.revision.period

    @property
    def label(self) -> str:
        return period_label(self.revision.period)

    @property
    def ok(self) -> bool:
        return self.row is not None and self.row.get("status") == "ok"

    @property
    def index_text(self) -> str:
        """e.g. "116 (109–123)": whole index points, as the reports and the method page say."""
        return labels.index_with_interval(self.row["behandelindex"], self.row["ci_lower"], self.row["ci_upper"])

    @property
    def corrected_text(self) -> str:
        """The corrected index (the interval's lower bound), the figure insurers contract on."""
        return labels.fmt_int(labels.parse_number(self.row["corrected_index"]))

    @property
    def movement_text(self) -> str:
        """Why the index moved since the previous version (method.md §10), in the words of
        the report; empty where the release has no comparison for this practice."""
        if not self.ok:
            return ""
        rows = movement.read_movements(self.revision.path) or {}
        found = rows.get((self.row["discipline"], self.row["practice_agb"]))
        return movement.movement_sentence(found) if found else ""

    @property
    def patients(self) -> int | None:
        try:
            return int(self.row["patients"]) if self.row and self.row.get("patients") else None
        except ValueError:
            return None


def practice_overview(agb: str, shown: list[Revision] | None = None) -> dict[str, list[PeriodEntry]]:
    """Per discipline the practice has in a shown release: every shown period, newest first,
    with its row (or None: no claims in that discipline in that period) and whether the
    report files are there."""
    shown = shown_releases() if shown is None else shown
    rows = {rev.path: {row["discipline"]: row for row in practice_rows_cached(rev, agb)} for rev in shown}
    disciplines = [d for d in DISCIPLINES if any(d in per_disc for per_disc in rows.values())]
    overview: dict[str, list[PeriodEntry]] = {}
    for discipline in disciplines:
        entries = []
        for rev in shown:
            row = rows[rev.path].get(discipline)
            folder = rev.path / "reports" / discipline
            entries.append(PeriodEntry(rev, row, (folder / f"{agb}.pdf").is_file(), (folder / f"{agb}.html").is_file()))
        overview[discipline] = entries
    return overview
