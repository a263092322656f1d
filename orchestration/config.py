"""Where everything lives: the one place that chooses the environment.

Every path the platform reads or writes derives from one data directory, chosen by
``--data-dir``, else ``SPIEGEL_DATA_DIR``, else ``./data``. The repository paths (dbt
project, seeds, expectations) derive from this file's location.
"""
from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
SEEDS_DIR = DBT_PROJECT_DIR / "seeds"
EXPECTATIONS_DIR = REPO_ROOT / "expectations"

METHOD_VERSION = "1"
CONTRACT_VERSION = 1
DATA_DIR_ENV = "SPIEGEL_DATA_DIR"
# DuckDB would take 80 % of the machine's memory by default; with a limit it spills to
# disk instead, so a national year stays inside the benchmark's 8 GB peak. The dbt
# profile reads the same variable.
DUCKDB_MEMORY_ENV = "SPIEGEL_DUCKDB_MEMORY"
DUCKDB_MEMORY_DEFAULT = "4GB"


def duckdb_memory_limit() -> str:
    return os.environ.get(DUCKDB_MEMORY_ENV) or DUCKDB_MEMORY_DEFAULT


def default_data_dir() -> Path:
    return Path(os.environ.get(DATA_DIR_ENV) or "data").resolve()


@dataclass(frozen=True)
class SpiegelPaths:
    """All state under one data directory (architecture.md, 'Where state lives')."""

    data_dir: Path

    @classmethod
    def from_env(cls, data_dir: str | Path | None = None) -> "SpiegelPaths":
        return cls(Path(data_dir).resolve() if data_dir else default_data_dir())

    @property
    def landing(self) -> Path:
        return self.data_dir / "landing"

    @property
    def ground_truth(self) -> Path:
        return self.data_dir / "ground_truth"

    @property
    def warehouse(self) -> Path:
        return self.data_dir / "warehouse.duckdb"

    @property
    def warehouse_lock(self) -> Path:
        return self.data_dir / "warehouse.lock"

    @property
    def releases(self) -> Path:
        return self.data_dir / "releases"

    @property
    def archive(self) -> Path:
        return self.data_dir / "archive"

    @property
    def signoffs(self) -> Path:
        return self.data_dir / "signoffs.jsonl"

    @property
    def dagster_home(self) -> Path:
        return self.data_dir / "dagster_home"

    @property
    def gx_docs(self) -> Path:
        return self.data_dir / "gx_docs"

    @property
    def overview(self) -> Path:
        return self.data_dir / "overview"


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
                r["period"], int(r["year"]), int(r["version"]),
                r["period_start"], r["period_end"], r["cutoff_date"],
            )
            for r in csv.DictReader(f)
        }


@dataclass(frozen=True)
class InsurerInfo:
    insurer_id: str
    insurer_name: str
    uzovi: str
    first_period: str
    last_period: str | None


@lru_cache(maxsize=1)
def insurers() -> list[InsurerInfo]:
    """The required-insurers seed (an insurer can join or leave by editing it)."""
    with open(SEEDS_DIR / "required_insurers.csv", newline="", encoding="utf-8") as f:
        return [
            InsurerInfo(r["insurer_id"], r["insurer_name"], r["uzovi"],
                        r["first_period"], r["last_period"] or None)
            for r in csv.DictReader(f)
        ]


def period_sort_key(period: str) -> tuple[int, int]:
    year, version = period.split("-v")
    return int(year), int(version)


def required_insurers(period: str) -> list[str]:
    """Insurers that must deliver for ``period`` before it can be released."""
    key = period_sort_key(period)
    return [
        i.insurer_id for i in insurers()
        if period_sort_key(i.first_period) <= key
        and (i.last_period is None or key <= period_sort_key(i.last_period))
    ]
