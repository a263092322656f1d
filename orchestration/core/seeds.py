"""The configuration that lives in the dbt project's seeds, read by Python too: the
periods, the required insurers, and the labels (UZOVI codes) each insurer pays under.

The dbt models read the same files as seeds; this module is how the gates, the
landing zone and the commands see them, so both sides judge against one configuration.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from pathlib import Path

from orchestration.core.settings import EXPECTATIONS_DIR, REPO_ROOT, SEEDS_DIR, SpiegelPaths, method_config_dir


@dataclass(frozen=True)
class PeriodInfo:
    period: str
    year: int
    version: int
    period_start: str
    period_end: str
    cutoff_date: str


@lru_cache(maxsize=1)
def periods() -> dict[str, PeriodInfo]:
    """The periods seed: every known period with its bounds and default cutoff."""
    with open(SEEDS_DIR / "periods.csv", newline="", encoding="utf-8") as f:
        return {
            r["period"]: PeriodInfo(
                r["period"],
                int(r["year"]),
                int(r["version"]),
                r["period_start"],
                r["period_end"],
                r["cutoff_date"],
            )
            for r in csv.DictReader(f)
        }


@dataclass(frozen=True)
class InsurerInfo:
    insurer_id: str
    insurer_name: str
    first_period: str
    last_period: str | None


@lru_cache(maxsize=1)
def insurers() -> list[InsurerInfo]:
    """The required-insurers seed (an insurer can join or leave by editing it). Its labels
    (UZOVI codes) are in the labels seed, :func:`insurer_labels`."""
    with open(SEEDS_DIR / "required_insurers.csv", newline="", encoding="utf-8") as f:
        return [
            InsurerInfo(r["insurer_id"], r["insurer_name"], r["first_period"], r["last_period"] or None)
            for r in csv.DictReader(f)
        ]


def period_sort_key(period: str) -> tuple[int, int]:
    year, version = period.split("-v")
    return int(year), int(version)


def previous_period(period: str) -> str:
    """The version before ``period`` (method.md §10): v1 → v2 → v3, a v1 after the year
    before's v3. The dbt macro spiegel_previous_period says the same for the method."""
    year, version = period_sort_key(period)
    return f"{year - 1}-v3" if version == 1 else f"{year}-v{version - 1}"


def required_insurers(period: str) -> list[str]:
    """Insurers that must deliver for ``period`` before it can be released."""
    key = period_sort_key(period)
    return [
        i.insurer_id
        for i in insurers()
        if period_sort_key(i.first_period) <= key and (i.last_period is None or key <= period_sort_key(i.last_period))
    ]


LABELS_SEED_ENV = "SPIEGEL_INSURER_LABELS"


LABELS_SEED = SEEDS_DIR / "insurer_labels.csv"


def labels_seed_path() -> Path:
    """The labels seed in use: ``$SPIEGEL_INSURER_LABELS`` when set (operations keeping their
    configuration elsewhere, tests), else ``dbt_project/seeds/insurer_labels.csv``."""
    override = os.environ.get(LABELS_SEED_ENV)
    return Path(override).resolve() if override else LABELS_SEED


def gate_configuration_files() -> list[Path]:
    """What the delivery gates judge against besides the delivery itself: the labels seed in
    use, the required insurers and the GX suites with their thresholds."""
    return [labels_seed_path(), SEEDS_DIR / "required_insurers.csv", *sorted(EXPECTATIONS_DIR.glob("*.json"))]


def gate_configuration_changed_at() -> datetime:
    """When the gates' configuration last changed (UTC): a delivery gated before then is
    gated again by the next ``spiegel run`` (an operator who adds a label reruns the period)."""
    newest = max((f.stat().st_mtime for f in gate_configuration_files() if f.exists()), default=0.0)
    return datetime.fromtimestamp(newest, tz=UTC)


def labels_seed_name() -> str:
    """How messages name the labels seed: relative to the repository when it lies in it."""
    path = labels_seed_path()
    try:
        return str(path.relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


@dataclass(frozen=True)
class LabelInfo:
    """One label (UZOVI code) of a concern, in force from ``first_period`` to ``last_period``."""

    uzovi: str
    insurer_id: str
    label_name: str
    first_period: str
    last_period: str | None

    def in_force(self, period: str) -> bool:
        key = period_sort_key(period)
        return period_sort_key(self.first_period) <= key and (
            self.last_period is None or key <= period_sort_key(self.last_period)
        )

    def validity(self) -> str:
        return f"{self.first_period} to {self.last_period}" if self.last_period else f"from {self.first_period} on"


_LABELS_CACHE: dict[tuple[str, int, int], list[LabelInfo]] = {}


def insurer_labels() -> list[LabelInfo]:
    """The labels seed, checked: every label 4 digits, of a known insurer, with known periods in
    order, and never of two concerns in the same period. It is configuration an operator edits,
    so it is read again whenever the file changes. A broken seed raises ValueError naming the
    file, the line and what to fix."""
    path = labels_seed_path()
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise ValueError(
            f"{path}: the labels seed does not exist (uzovi,insurer_id,label_name,first_period,"
            f"last_period; see {LABELS_SEED_ENV})"
        ) from None
    key = (str(path), stat.st_mtime_ns, stat.st_size)
    if key not in _LABELS_CACHE:
        _LABELS_CACHE.clear()
        _LABELS_CACHE[key] = _read_labels(path)
    return list(_LABELS_CACHE[key])


_LABEL_COLUMNS = ["uzovi", "insurer_id", "label_name", "first_period", "last_period"]


def _read_labels(path: Path) -> list[LabelInfo]:
    known_insurers = {i.insurer_id for i in insurers()}
    known_periods = periods()
    labels: list[tuple[int, LabelInfo]] = []
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        if reader.fieldnames != _LABEL_COLUMNS:
            raise ValueError(
                f"{path}: the header must be {','.join(_LABEL_COLUMNS)}, found {','.join(reader.fieldnames or [])}"
            )
        for line, r in enumerate(reader, start=2):
            values = {k: (r.get(k) or "").strip() for k in _LABEL_COLUMNS}
            where = f"{path}, line {line}"
            if not (len(values["uzovi"]) == 4 and values["uzovi"].isascii() and values["uzovi"].isdigit()):
                raise ValueError(f"{where}: uzovi {values['uzovi']!r} is not 4 digits")
            if values["insurer_id"] not in known_insurers:
                raise ValueError(
                    f"{where}: insurer_id {values['insurer_id']!r} is not in "
                    f"seeds/required_insurers.csv (known: {', '.join(sorted(known_insurers))})"
                )
            for column in ("first_period", "last_period"):
                if values[column] and values[column] not in known_periods:
                    raise ValueError(f"{where}: {column} {values[column]!r} is not a period of seeds/periods.csv")
            if not values["first_period"]:
                raise ValueError(f"{where}: first_period is empty")
            if values["last_period"] and period_sort_key(values["last_period"]) < period_sort_key(
                values["first_period"]
            ):
                raise ValueError(
                    f"{where}: last_period {values['last_period']} is before first_period {values['first_period']}"
                )
            labels.append(
                (
                    line,
                    LabelInfo(
                        values["uzovi"],
                        values["insurer_id"],
                        values["label_name"],
                        values["first_period"],
                        values["last_period"] or None,
                    ),
                )
            )
    for i, (line_a, a) in enumerate(labels):
        for line_b, b in labels[i + 1 :]:
            if a.uzovi == b.uzovi and _overlap(a, b):
                raise ValueError(
                    f"{path}, lines {line_a} and {line_b}: label {a.uzovi} is in force for "
                    f"{a.insurer_id} ({a.validity()}) and for {b.insurer_id} ({b.validity()}) at the "
                    f"same time; a label belongs to one concern in a period"
                )
    return [label for _, label in labels]


def _overlap(a: LabelInfo, b: LabelInfo) -> bool:
    def end(x: LabelInfo) -> tuple[int, int]:
        return period_sort_key(x.last_period) if x.last_period else (10**9, 0)

    return period_sort_key(a.first_period) <= end(b) and period_sort_key(b.first_period) <= end(a)


def labels_in_force(period: str) -> dict[str, LabelInfo]:
    """Every label in force in ``period``, by UZOVI code."""
    return {label.uzovi: label for label in insurer_labels() if label.in_force(period)}


def insurer_labels_in(insurer: str, period: str) -> list[str]:
    """The labels ``insurer`` pays under in ``period``, its main label first (seed order)."""
    return [label.uzovi for label in insurer_labels() if label.insurer_id == insurer and label.in_force(period)]


# -- the method's own configuration (method.md §9, §11) ---------------------------------
@dataclass(frozen=True)
class ExclusionWindow:
    """Treatment dates left out of every period they overlap (method.md §9)."""

    first_date: date
    last_date: date
    reason: str

    def overlaps(self, period: str) -> bool:
        info = periods()[period]
        return self.first_date <= date.fromisoformat(info.period_end) and self.last_date >= date.fromisoformat(
            info.period_start
        )


@dataclass(frozen=True)
class CancelledPeriod:
    """A version that is never published (method.md §11)."""

    period: str
    reason: str
    decided_on: str


def _config_rows(name: str, columns: list[str], paths: SpiegelPaths | None) -> list[tuple[str, dict[str, str]]]:
    path = method_config_dir(paths) / name
    if not path.is_file():
        raise ValueError(f"{path}: missing (header {','.join(columns)}; see dbt_project/method_config/)")
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        if reader.fieldnames != columns:
            raise ValueError(
                f"{path}: the header must be {','.join(columns)}, found {','.join(reader.fieldnames or [])}"
            )
        return [
            (f"{path}, line {line}", {k: (r.get(k) or "").strip() for k in columns}) for line, r in enumerate(reader, 2)
        ]


def _config_date(where: str, column: str, text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{where}: {column} {text!r} is not a date (YYYY-MM-DD)") from None


def exclusion_windows(paths: SpiegelPaths | None = None) -> list[ExclusionWindow]:
    """The exclusion windows in force for ``paths`` (method.md §9), checked: dates in order
    and a reason, which every report of an affected period shows."""
    windows = []
    for where, row in _config_rows("exclusion_windows.csv", ["first_date", "last_date", "reason"], paths):
        first = _config_date(where, "first_date", row["first_date"])
        last = _config_date(where, "last_date", row["last_date"])
        if last < first:
            raise ValueError(f"{where}: last_date {last} is before first_date {first}")
        if not row["reason"]:
            raise ValueError(f"{where}: the reason is empty (reports say why a window is left out)")
        windows.append(ExclusionWindow(first, last, row["reason"]))
    return sorted(windows, key=lambda w: (w.first_date, w.last_date))


def windows_of(period: str, paths: SpiegelPaths | None = None) -> list[ExclusionWindow]:
    return [w for w in exclusion_windows(paths) if w.overlaps(period)]


def cancelled_periods(paths: SpiegelPaths | None = None) -> dict[str, CancelledPeriod]:
    """The cancelled versions in force for ``paths`` (method.md §11), by period."""
    known = periods()
    found: dict[str, CancelledPeriod] = {}
    for where, row in _config_rows("cancelled_periods.csv", ["period", "reason", "decided_on"], paths):
        if row["period"] not in known:
            raise ValueError(f"{where}: period {row['period']!r} is not a period of seeds/periods.csv")
        if row["period"] in found:
            raise ValueError(f"{where}: period {row['period']} is cancelled twice")
        if not row["reason"]:
            raise ValueError(f"{where}: the reason is empty (sign-off and the calendar name it)")
        _config_date(where, "decided_on", row["decided_on"])
        found[row["period"]] = CancelledPeriod(row["period"], row["reason"], row["decided_on"])
    return found


# -- the DCSPH body regions (method.md §3), for the reports' labels -----------------------
@lru_cache(maxsize=1)
def dcsph_region_names() -> dict[str, str]:
    """The dcsph_regions seed: two-digit body-region code -> its official Dutch name, only
    for the codes whose name is filled in (an empty name is not verified: the reports show
    the code alone)."""
    path = SEEDS_DIR / "dcsph_regions.csv"
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        if reader.fieldnames != ["region_code", "region_name"]:
            raise ValueError(f"{path}: the header must be region_code,region_name")
        names: dict[str, str] = {}
        for line, r in enumerate(reader, 2):
            code, name = (r["region_code"] or "").strip(), (r["region_name"] or "").strip()
            if len(code) != 2 or not code.isdigit():
                raise ValueError(f"{path}, line {line}: region_code {code!r} is not two digits")
            if code in names:
                raise ValueError(f"{path}, line {line}: region_code {code} is listed twice")
            names[code] = name
    return {code: name for code, name in names.items() if name}
