"""The dbt project as dagster-dbt sees it, and the manifest it builds the asset graph from.

``DBT_PROJECT`` is dagster-dbt's ``DbtProject`` (project, profiles and target folder),
handed to the assets and to the dbt resource. Its own preparation
(``prepare_if_dev``) is not used: it parses only under ``dagster dev``, while the CLI,
the tests and ``spiegel ui`` need a fresh manifest too, and two processes parsing into
the same folder at once can leave a half-written manifest. So the manifest is kept
fresh here instead: derived from the project, never committed, parsed again (a few
seconds) when it is missing or older than any file of the project, and replaced in one
rename.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from dagster_dbt import DbtProject

from orchestration.core.settings import (
    DBT_PROJECT_DIR,
    METHOD_CONFIG_FILES,
    REPO_METHOD_CONFIG_DIR,
    SpiegelPaths,
    method_config_dir,
)

DBT_PROJECT = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
MANIFEST = DBT_PROJECT.manifest_path
PARTIAL_PARSE = "partial_parse.msgpack"
_SOURCES = ("models", "seeds", "method_config", "macros", "tests", "dbt_project.yml", "profiles.yml")


def _source_files() -> list[Path]:
    files = []
    for name in _SOURCES:
        root = DBT_PROJECT_DIR / name
        if root.is_file():
            files.append(root)
        elif root.is_dir():
            files.extend(path for path in root.rglob("*") if path.is_file())
    return sorted(files)


def project_fingerprint(paths: SpiegelPaths | None = None) -> str:
    """sha256 over the dbt project's files (names and contents) and the method's
    configuration in force for ``paths`` (core.settings.method_config_dir): the
    method's version. Without a data directory's own configuration, the repository's."""
    digest = hashlib.sha256()
    config_dir = method_config_dir(paths)
    own_config = config_dir != REPO_METHOD_CONFIG_DIR
    for path in _source_files():
        relative = path.relative_to(DBT_PROJECT_DIR)
        if own_config and relative.parts[0] == REPO_METHOD_CONFIG_DIR.name:
            continue  # another folder's configuration is in force (below)
        digest.update(str(relative).encode() + b"\0" + path.read_bytes() + b"\0")
    if own_config:
        for name in METHOD_CONFIG_FILES:
            path = config_dir / name
            content = path.read_bytes() if path.is_file() else b"<missing>"
            digest.update(f"method_config/{name}".encode() + b"\0" + content + b"\0")
    return digest.hexdigest()


def target_fingerprint(target: str, paths: SpiegelPaths | None = None) -> str:
    """The version of the project on one dbt target (``target:sha256``), with the method
    configuration in force for ``paths``: what the records below are kept per (seeds
    loaded, unit tests passed), and what a computed period is recorded against."""
    return f"{target}:{project_fingerprint(paths)}"


def fingerprint_recorded(paths: SpiegelPaths, record: str, fingerprint: str) -> bool:
    """Whether ``fingerprint`` (a version of the project, per target) is in the data
    directory's record ``record``: what was done once for that version (unit tests
    passed, seeds loaded) need not be done again."""
    path = paths.dbt_target / record
    return path.exists() and fingerprint in path.read_text(encoding="utf-8").split()


def record_fingerprint(paths: SpiegelPaths, record: str, fingerprint: str) -> None:
    paths.dbt_target.mkdir(parents=True, exist_ok=True)
    with open(paths.dbt_target / record, "a", encoding="utf-8") as out:
        out.write(fingerprint + "\n")


def dbt_executable() -> str:
    """dagster-dbt runs ``dbt`` from PATH; pin it to this environment's dbt."""
    candidate = Path(sys.executable).parent / "dbt"
    return str(candidate) if candidate.exists() else "dbt"


def _newest_source_mtime() -> float:
    return max((path.stat().st_mtime for path in _source_files()), default=0.0)


def dbt_manifest_path() -> Path:
    """Path of an up-to-date manifest.json (parses the project when needed).

    Each parse writes into a folder of its own and the manifest replaces the shared one
    in one rename: two processes that parse at once (the UI's code server and a CLI run
    after an operator edited a seed) never leave a manifest half-written by the other."""
    if MANIFEST.exists() and MANIFEST.stat().st_mtime >= _newest_source_mtime():
        return MANIFEST
    MANIFEST.parent.mkdir(parents=True, exist_ok=True)
    target = Path(tempfile.mkdtemp(prefix=".parse-", dir=MANIFEST.parent))
    partial = MANIFEST.parent / PARTIAL_PARSE
    try:
        if partial.exists():  # dbt then re-reads only the files that changed
            shutil.copy2(partial, target / PARTIAL_PARSE)
        # the same profile as every earlier parse, or dbt would not reuse its partial parse
        env = {
            **os.environ,
            "SPIEGEL_WAREHOUSE": os.environ.get("SPIEGEL_WAREHOUSE", str(MANIFEST.parent / "parse.duckdb")),
        }
        result = subprocess.run(
            [
                dbt_executable(),
                "parse",
                "--quiet",
                "--project-dir",
                str(DBT_PROJECT_DIR),
                "--profiles-dir",
                str(DBT_PROJECT_DIR),
                "--target-path",
                str(target),
            ],
            capture_output=True,
            text=True,
            env=env,
        )
        if result.returncode != 0 or not (target / "manifest.json").exists():
            raise RuntimeError(
                f"dbt parse failed for {DBT_PROJECT_DIR}:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
            )
        os.replace(target / "manifest.json", MANIFEST)
        if (target / PARTIAL_PARSE).exists():
            os.replace(target / PARTIAL_PARSE, partial)
    finally:
        shutil.rmtree(target, ignore_errors=True)
    return MANIFEST
