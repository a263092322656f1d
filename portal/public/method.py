"""The numbers of the method page, read from the published files (never from text).

- ``reference_downloads``: per published period, its newest revision's
  ``reference_strata.csv``, served by ``views.reference_table``;
- ``worked_example``: a hypothetical practice whose episodes fall in real reference cells
  of the newest published period. Its expected sessions, their variance, the index and
  the interval follow the arithmetic of method.md §5 from the cells' published mean and
  variance: the same sums a therapist makes by hand with the downloaded table (the
  observed sessions of the example are invented and said to be). The published indexes
  of real practices come from the platform's method (dbt), never from here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from statistics import NormalDist

import yaml
from django.utils import timezone

from orchestration.core.settings import DBT_PROJECT_DIR
from portal.releases import catalog


@lru_cache(maxsize=1)
def interval_z() -> float:
    """z of the index's two-sided interval (method.md §5), from the method's one setting:
    the dbt var ``confidence_level`` that dbt's ``confidence_z`` macro reads as well, so the
    example and the published intervals cannot disagree (1.96 at 0.95)."""
    project = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text(encoding="utf-8"))
    level = float(project["vars"]["confidence_level"])
    return NormalDist().inv_cdf((1 + level) / 2)


EXAMPLE_EPISODES = (20, 12, 8)  # episodes of the example practice in its three cells
EXAMPLE_PATIENTS = 34  # distinct patients of those 40 episodes (>= 30: it gets an index)
EXAMPLE_OBSERVED_FACTOR = 1.10  # the example practice treats 10 % more than expected
REFERENCE_FILE = "reference_strata.csv"
LEVEL_WORDS = {
    "L0": "leeftijdsgroep × geslacht × lichaamsregio × chronisch",
    "L1": "lichaamsregio × chronisch (leeftijd en geslacht samengenomen)",
    "L2": "alleen chronisch of niet-chronisch",
    "L3": "alle trajecten van de discipline samen",
}
SEX_WORDS = {"1": "man", "2": "vrouw", "U": "onbekend"}


@dataclass(frozen=True)
class Download:
    period: str
    revision: str
    published_on: date | None

    @property
    def filename(self) -> str:
        return f"reference_strata-{self.period}-{self.revision}.csv"


def reference_downloads() -> list[Download]:
    """Every published period whose newest revision has a reference table, newest first."""
    found = []
    for period in catalog.published_periods():
        rev = catalog.newest_revision(period)
        if rev is not None and rev.file(REFERENCE_FILE).is_file():
            published = timezone.localtime(rev.published_at).date() if rev.published_at else None
            found.append(Download(period, rev.revision, published))
    return found


@dataclass(frozen=True)
class LeftOutWindow:
    """An exclusion window (method.md §9) as a published release names it."""

    period: str
    first_date: date
    last_date: date
    reason: str


def left_out_windows() -> list[LeftOutWindow]:
    """The exclusion windows of every published period (newest revision), newest period
    first: from release.json, so the page says what the release itself says."""
    found = []
    for period in catalog.published_periods():
        rev = catalog.newest_revision(period)
        if rev is None:
            continue
        try:
            windows = rev.release_json().get("exclusion_windows") or []
        except (OSError, ValueError):
            continue
        for w in windows:
            try:
                found.append(
                    LeftOutWindow(
                        period,
                        date.fromisoformat(w["first_date"]),
                        date.fromisoformat(w["last_date"]),
                        str(w["reason"]),
                    )
                )
            except (KeyError, TypeError, ValueError):
                continue
    return found


@dataclass(frozen=True)
class Cell:
    cell_id: str
    level: str
    age_band: str
    sex: str
    body_region: str
    chronic: str
    episodes: int
    mean: float
    variance: float

    @property
    def description(self) -> str:
        parts = []
        if self.age_band:
            parts.append(f"leeftijd {self.age_band}")
        if self.sex:
            parts.append(SEX_WORDS.get(self.sex, self.sex))
        if self.body_region:
            parts.append(f"lichaamsregio {self.body_region}")
        if self.chronic:
            parts.append("chronisch" if self.chronic == "true" else "niet-chronisch")
        return ", ".join(parts) or "alle overige trajecten"

    @property
    def level_words(self) -> str:
        return LEVEL_WORDS.get(self.level, self.level)


@dataclass(frozen=True)
class ExampleLine:
    cell: Cell
    episodes: int

    @property
    def expected(self) -> float:
        return self.episodes * self.cell.mean

    @property
    def variance(self) -> float:
        return self.episodes * self.cell.variance


@dataclass(frozen=True)
class WorkedExample:
    period: str
    revision: str
    discipline: str
    national_episodes: int
    national_mean: float
    cells_per_level: dict[str, int]
    stratum: dict[str, str]  # one L0 stratum row, to show how a practice finds its cell
    stratum_cell: Cell
    lines: list[ExampleLine]
    patients: int
    observed: int

    @property
    def episodes(self) -> int:
        return sum(line.episodes for line in self.lines)

    @property
    def expected(self) -> float:
        return sum(line.expected for line in self.lines)

    @property
    def variance(self) -> float:
        return sum(line.variance for line in self.lines)

    @property
    def index(self) -> float:
        return 100 * self.observed / self.expected

    @property
    def standard_error(self) -> float:
        return 100 * math.sqrt(self.variance) / self.expected

    @property
    def ci_lower(self) -> float:
        return max(0.0, self.index - interval_z() * self.standard_error)

    @property
    def ci_upper(self) -> float:
        return self.index + interval_z() * self.standard_error

    @property
    def stratum_description(self) -> str:
        s = self.stratum
        return Cell("", "L0", s["age_band"], s["sex"], s["body_region"], s["chronic"], 0, 0.0, 0.0).description


def _cell(row: dict[str, str]) -> Cell:
    return Cell(
        row["cell_id"],
        row["level"],
        row["age_band"],
        row["sex"],
        row["body_region"],
        row["chronic"],
        int(row["episodes"]),
        float(row["mean_sessions"]),
        float(row["variance_sessions"]),
    )


def example_cells(rows: list[dict[str, str]], discipline: str) -> list[Cell]:
    """The example's cells: the three reference cells of ``discipline`` with the most episodes."""
    cells = [_cell(r) for r in rows if r["discipline"] == discipline and r["row_type"] == "cell"]
    return sorted(cells, key=lambda c: (-c.episodes, c.cell_id))[: len(EXAMPLE_EPISODES)]


def worked_example() -> WorkedExample | None:
    """The example on the newest published period's reference table (fysiotherapie when it has
    enough cells, else oefentherapie); None when nothing usable is published."""
    for period in catalog.published_periods():
        rev = catalog.newest_revision(period)
        if rev is None or not rev.file(REFERENCE_FILE).is_file():
            continue
        try:
            rows = catalog.read_csv(rev, REFERENCE_FILE)
            for discipline in catalog.DISCIPLINES:
                cells = example_cells(rows, discipline)
                if len(cells) < len(EXAMPLE_EPISODES):
                    continue
                return _example(period, rev.revision, discipline, rows, cells)
        except (KeyError, ValueError, OSError):
            continue
    return None


def _example(
    period: str, revision: str, discipline: str, rows: list[dict[str, str]], cells: list[Cell]
) -> WorkedExample:
    all_cells = [_cell(r) for r in rows if r["discipline"] == discipline and r["row_type"] == "cell"]
    national_episodes = sum(c.episodes for c in all_cells)
    national_mean = sum(c.episodes * c.mean for c in all_cells) / national_episodes
    per_level: dict[str, int] = {}
    for c in all_cells:
        per_level[c.level] = per_level.get(c.level, 0) + 1
    strata = [r for r in rows if r["discipline"] == discipline and r["row_type"] == "stratum"]
    # the largest L0 stratum of the largest cell: shows the lookup from a patient's own
    # characteristics to the cell whose mean counts for them
    top = cells[0]
    stratum = sorted(
        (r for r in strata if r["cell_id"] == top.cell_id),
        key=lambda r: (-int(r["episodes"]), r["age_band"], r["sex"], r["body_region"], r["chronic"]),
    )[0]
    lines = [ExampleLine(cell, n) for cell, n in zip(cells, EXAMPLE_EPISODES)]
    expected = sum(line.expected for line in lines)
    return WorkedExample(
        period,
        revision,
        discipline,
        national_episodes,
        national_mean,
        dict(sorted(per_level.items())),
        stratum,
        top,
        lines,
        EXAMPLE_PATIENTS,
        round(expected * EXAMPLE_OBSERVED_FACTOR),
    )
