"""How the method's dbt calls run: their environment (the warehouse, the local Spark),
the parse state kept between calls, and dagster-dbt's resource without the fixed
costs the platform does not need."""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import shutil
from functools import cached_property
from pathlib import Path

from dagster_dbt import DbtCliResource
from packaging import version

from orchestration.core.settings import (
    DBT_PROJECT_DIR,
    METHOD_CONFIG_ENV,
    METHOD_CONFIG_FILES,
    REPO_METHOD_CONFIG_DIR,
    SpiegelPaths,
    method_config_dir,
)
from orchestration.method.dbt_project import PARTIAL_PARSE

SPARK_LOG4J = Path(__file__).resolve().parent / "spark" / "log4j2.properties"


LOCAL_METHOD_CONFIG = "method_config_local"  # git-ignored, inside the dbt project


def dbt_method_config_path(paths: SpiegelPaths) -> str:
    """The seed folder of the method's configuration for dbt_project.yml, relative to the
    project: ``method_config``, or a copy of the data directory's own configuration under
    ``method_config_local/<key>/``.

    Why a copy and not the data directory's folder itself: dbt writes each seed's
    compiled statement to ``<target>/run/<project>/<seed path>``, and for a seed path
    outside the project that is the seed file itself (measured: it overwrote the CSV).
    """
    source = method_config_dir(paths)
    if source == REPO_METHOD_CONFIG_DIR:
        return REPO_METHOD_CONFIG_DIR.name
    key = hashlib.sha256(str(paths.data_dir).encode()).hexdigest()[:16]
    target = DBT_PROJECT_DIR / LOCAL_METHOD_CONFIG / key
    target.mkdir(parents=True, exist_ok=True)
    for name in METHOD_CONFIG_FILES:
        chosen = source / name if (source / name).is_file() else REPO_METHOD_CONFIG_DIR / name
        content = chosen.read_bytes()
        copy = target / name
        if not copy.is_file() or copy.read_bytes() != content:
            temporary = target / f".{name}.{os.getpid()}"
            temporary.write_bytes(content)
            os.replace(temporary, copy)
    return f"{LOCAL_METHOD_CONFIG}/{key}"


def dbt_env_vars(paths: SpiegelPaths) -> dict[str, str]:
    """What dbt's profile reads (dbt_project/profiles.yml): the DuckDB warehouse, and for
    SPIEGEL_ENGINE=spark the local Spark's directory and where its log goes; and
    dbt_project.yml the folder of the method's configuration seeds in force."""
    return {
        "SPIEGEL_WAREHOUSE": str(paths.warehouse),
        METHOD_CONFIG_ENV: dbt_method_config_path(paths),
        "SPIEGEL_SPARK_DIR": str(paths.spark),
        "SPIEGEL_LOG_DIR": str(paths.logs),
        "SPIEGEL_SPARK_LOG4J": f"file:{SPARK_LOG4J}",
        "SPIEGEL_RAW_PARQUET": str(paths.raw_parquet),
        # the local Spark binds to the loopback interface only (and says nothing about it)
        "SPARK_LOCAL_IP": os.environ.get("SPARK_LOCAL_IP", "127.0.0.1"),
        # pyspark warns on import that it prefers pandas < 3; dbt-spark never hands it pandas
        "PYTHONWARNINGS": os.environ.get("PYTHONWARNINGS", "ignore::FutureWarning"),
    }


def dbt_environment(paths: SpiegelPaths) -> None:
    """dbt's profile reads the warehouse path from the environment of its subprocess, and
    dagster-dbt puts each call's target folder under ``DBT_TARGET_PATH``."""
    os.environ.update(dbt_env_vars(paths))
    paths.dbt_target.mkdir(parents=True, exist_ok=True)
    os.environ["DBT_TARGET_PATH"] = str(paths.dbt_target)


KEPT_DBT_CALLS = 3  # target folders of the latest calls kept for reading their compiled SQL


def keep_partial_parse(paths: SpiegelPaths, call_target: Path) -> None:
    """Keep the parse state of a finished dbt call for the next one in this data directory.

    dagster-dbt copies ``<DBT_TARGET_PATH>/partial_parse.msgpack`` into each call's own
    target folder; dbt then re-reads only what changed (about 6 s less per call on this
    machine). The state depends on the profile, which names this data directory's
    warehouse, so it lives here and not in the repository. Older call folders go.
    """
    state = call_target / PARTIAL_PARSE
    if state.exists():
        temporary = paths.dbt_target / f".{PARTIAL_PARSE}.{os.getpid()}"
        shutil.copy2(state, temporary)
        os.replace(temporary, paths.dbt_target / PARTIAL_PARSE)
    calls = sorted((p for p in paths.dbt_target.iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime)
    for old in calls[:-KEPT_DBT_CALLS]:
        shutil.rmtree(old, ignore_errors=True)


class SpiegelDbtCliResource(DbtCliResource):
    """dagster-dbt's resource without two fixed costs per call that buy us nothing.

    - ``dbt --version`` in a subprocess (about 4 s) tells dagster-dbt whether dbt is the
      Fusion engine; ours is dbt-core, pinned in pyproject.toml, so the installed package
      says the same.
    - An in-process dbt adapter (about 6 s: dbt's imports and the profile) serves only
      ``fetch_row_counts`` and ``fetch_column_metadata``, which the platform does not use.
    """

    @cached_property
    def _cli_version(self) -> version.Version:
        return version.parse(importlib.metadata.version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args):
        return None
