"""Where everything lives: the one place that chooses the environment.

Every path the platform reads or writes derives from one data directory, chosen by
``--data-dir``, else ``SPIEGEL_DATA_DIR``, else ``./data``. The repository paths (dbt
project, seeds, expectations) derive from this file's location.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
SEEDS_DIR = DBT_PROJECT_DIR / "seeds"
EXPECTATIONS_DIR = REPO_ROOT / "expectations"

METHOD_VERSION = "2"
# who answers for the assets in the Dagster UI: the method's models, and everything the
# operations team runs (deliveries, gates, sign-off, releases)
METHOD_OWNER = "team:method"
OPERATIONS_OWNER = "team:data-stewards"
CONTRACT_VERSION = 1
DATA_DIR_ENV = "SPIEGEL_DATA_DIR"
# DuckDB would take 80 % of the machine's memory by default; with a limit it spills to
# disk instead, so a national year stays inside the benchmark's 8 GB peak. The dbt
# profile reads the same variable.
DUCKDB_MEMORY_ENV = "SPIEGEL_DUCKDB_MEMORY"
DUCKDB_MEMORY_DEFAULT = "4GB"


def duckdb_memory_limit() -> str:
    return os.environ.get(DUCKDB_MEMORY_ENV) or DUCKDB_MEMORY_DEFAULT


# PDF workers of a publish: each prints its share of the reports in its own Chromium.
# Two fill this 2-core machine when publishing alone; `spiegel demo` publishes beside
# the next period's method run and gives its publishing process one (measured: the
# demo 215 s with two, 205 s with one).
REPORT_WORKERS_ENV = "SPIEGEL_REPORT_WORKERS"
REPORT_WORKERS_DEFAULT = 2


def report_workers() -> int:
    """PDF workers per publish (``$SPIEGEL_REPORT_WORKERS``, default 2, at least 1)."""
    value = os.environ.get(REPORT_WORKERS_ENV, "").strip()
    if not value:
        return REPORT_WORKERS_DEFAULT
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"{REPORT_WORKERS_ENV} must be a whole number of at least 1, got {value!r}")
    return int(value)


# Where the method runs: the dbt target of the method. Everything around it
# (assets, checks, gates, sign-off, publishing, reports) is the same for both engines.
ENGINE_ENV = "SPIEGEL_ENGINE"
ENGINES = ("duckdb", "spark")
DBT_TARGETS = {"duckdb": "dev", "spark": "spark"}


def engine(choice: str | None = None) -> str:
    """The engine of the method: ``choice`` (a CLI flag) else ``$SPIEGEL_ENGINE`` else duckdb."""
    value = (choice or os.environ.get(ENGINE_ENV) or "duckdb").strip().lower()
    if value not in ENGINES:
        raise ValueError(f"{ENGINE_ENV} must be one of {', '.join(ENGINES)}, got {value!r}")
    return value


def dbt_target(choice: str | None = None) -> str:
    """The dbt target (dbt_project/profiles.yml) of the engine in use."""
    return DBT_TARGETS[engine(choice)]


# The method's own configuration (method.md §9 exclusion windows, §11 cancelled versions),
# dbt seeds like the others but chosen per data directory: the data directory's
# ``method_config/`` when it exists, else the repository's ``dbt_project/method_config/``
# (no window, nothing cancelled). A data directory can so replay a year such as 2020 with
# its window without editing the repository. dbt reads the folder chosen here from
# ``$SPIEGEL_METHOD_CONFIG_DIR`` (method/dbt_cli.py sets it for each data directory).
METHOD_CONFIG_ENV = "SPIEGEL_METHOD_CONFIG_DIR"
METHOD_CONFIG_FILES = ("exclusion_windows.csv", "cancelled_periods.csv")
REPO_METHOD_CONFIG_DIR = DBT_PROJECT_DIR / "method_config"


def method_config_dir(paths: SpiegelPaths | None = None) -> Path:
    """The folder whose exclusion_windows.csv and cancelled_periods.csv are in force."""
    if paths is not None and paths.method_config.is_dir():
        return paths.method_config
    return REPO_METHOD_CONFIG_DIR


def default_data_dir() -> Path:
    return Path(os.environ.get(DATA_DIR_ENV) or "data").resolve()


@dataclass(frozen=True)
class SpiegelPaths:
    """All state under one data directory (architecture.md, 'Where state lives')."""

    data_dir: Path

    @classmethod
    def from_env(cls, data_dir: str | Path | None = None) -> SpiegelPaths:
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
    def method_config(self) -> Path:
        return self.data_dir / "method_config"

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

    @property
    def spark(self) -> Path:
        """The local Spark's warehouse, metastore and scratch (SPIEGEL_ENGINE=spark)."""
        return self.data_dir / "spark"

    @property
    def raw_parquet(self) -> Path:
        """The raw layer both engines read: Parquet per period, insurer and delivery."""
        return self.data_dir / "raw"

    @property
    def logs(self) -> Path:
        return self.data_dir / "logs"

    @property
    def dbt_target(self) -> Path:
        """dbt's target folder for this data directory: one folder per dbt call (its
        compiled SQL and run_results.json), and the partial parse state the next call reuses."""
        return self.data_dir / "dbt_target"


@contextlib.contextmanager
def scoped_environment(values: Mapping[str, str] | None = None, restore: Iterable[str] = ()) -> Iterator[None]:
    """Set ``values`` in os.environ for the duration of the block, and afterwards put back
    those and the ``restore`` keys (which code inside may change, e.g. runs.instance.use_data_dir)
    as they were before it."""
    values = dict(values or {})
    saved = {key: os.environ.get(key) for key in (*values, *restore)}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
