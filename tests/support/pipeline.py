"""Driving the whole platform (the CLI, hence the Dagster jobs) from tests.

In-process calls are cheap (Dagster is imported once); a step that must be killed runs
as a subprocess that leads its own process group, so ``SPIEGEL_CRASH_AT`` (see
orchestration/core/crashpoints.py) takes its dbt subprocess down with it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from orchestration import cli
from orchestration.core.settings import REPO_ROOT, SpiegelPaths, scoped_environment
from orchestration.runs.instance import use_data_dir
from tests.support import process_group

PUBLISHED_TABLES = ("behandelindex.csv", "reference_strata.csv", "excluded_lines.csv")
# what cli.main sets for its process: the data directory, its Dagster instance, and the
# engine of `spiegel run --engine` (left set, every later test ran its method on Spark)
_ENV_KEYS = ("SPIEGEL_DATA_DIR", "DAGSTER_HOME", "SPIEGEL_ENGINE")


def _restored_environment():
    """``cli.main`` points this process at its data directory; undo that afterwards."""
    return scoped_environment(restore=_ENV_KEYS)


def spiegel(data_dir: Path, command: str, *args: str) -> int:
    """``spiegel COMMAND --data-dir DATA_DIR ARGS...`` in this process; its exit code."""
    with _restored_environment():
        return cli.main([command, "--data-dir", str(data_dir), *args])


def spiegel_killed_at(
    data_dir: Path, crash_point: str, command: str, *args: str, timeout: float = 300
) -> subprocess.CompletedProcess:
    """The same command in a subprocess that SIGKILLs itself (and its children) at ``crash_point``."""
    env = {**os.environ, "SPIEGEL_CRASH_AT": crash_point}
    for key in _ENV_KEYS:
        env.pop(key, None)
    argv = [sys.executable, "-m", "orchestration.cli", command, "--data-dir", str(data_dir), *args]
    with subprocess.Popen(
        argv,
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    ) as process:
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            raise
    process_group.wait_until_gone(process.pid)
    return subprocess.CompletedProcess(argv, process.returncode, stdout, stderr)


def was_killed(result: subprocess.CompletedProcess) -> bool:
    return result.returncode == -signal.SIGKILL


def ingest_all(paths: SpiegelPaths, period: str) -> None:
    """What the first half of ``spiegel run`` does: every required insurer's delivery, in one
    Dagster run; each must pass its gates."""
    from orchestration.core.seeds import required_insurers
    from orchestration.runs import runner

    with _restored_environment():
        use_data_dir(paths)
        outcome = runner.ingest_period(period)
        assert outcome.success, outcome.message
        assert outcome.output == {insurer: "passed" for insurer in required_insurers(period)}, outcome.output


def digests(root: Path) -> dict[str, str]:
    """sha256 of every file under ``root``, by relative path."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def published_tables(revision: Path) -> dict[str, bytes]:
    return {name: (revision / name).read_bytes() for name in PUBLISHED_TABLES}


def export_tables(warehouse: Path, period: str, folder: Path) -> dict[str, bytes]:
    """The published tables of ``period`` in ``warehouse``, written by the publishing code."""
    import duckdb

    from orchestration.release.publish import read_release_tables, write_csv

    folder.mkdir(parents=True)
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        frames = read_release_tables(con, period)
    finally:
        con.close()
    for name, frame in frames.items():
        write_csv(frame, folder / name)
    return {name: (folder / name).read_bytes() for name in PUBLISHED_TABLES}


def published_text(path: Path) -> str:
    """The text a reader of a published file sees: a PDF's words (poppler's pdftotext), any
    other file decoded as UTF-8."""
    if path.suffix == ".pdf":
        return subprocess.run(
            ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
        ).stdout
    return path.read_bytes().decode("utf-8", errors="replace")


def evaluate_sensor(sensor, instance):
    """One evaluation of ``sensor`` on ``instance`` with the code location's definitions,
    as the daemon of `spiegel ui` would run it (nothing is launched)."""
    import dagster as dg

    from orchestration.definitions import defs

    return sensor(dg.build_sensor_context(instance=instance, definitions=defs, sensor_name=sensor.name))


def visible_revisions(period_dir: Path) -> list[str]:
    """The revisions a reader sees under ``releases/<period>/`` (not the hidden temporary folders)."""
    if not period_dir.is_dir():
        return []
    return sorted(p.name for p in period_dir.iterdir() if p.is_dir() and not p.name.startswith("."))


def assert_revision_complete(revision: Path) -> None:
    """Every file release.json lists is there with its checksum, and the reports are rendered."""
    meta = json.loads((revision / "release.json").read_text())
    for name, entry in meta["files"].items():
        assert hashlib.sha256((revision / name).read_bytes()).hexdigest() == entry["sha256"], name
    assert meta["reports"]["html"] >= 1 and (revision / "reports" / "national_overview.html").is_file()


# what differs between two publishes of the same figures: when, by whom, and the ids of the
# deliveries and the sign-off (a redelivery of the same rows has another delivery id)
_MOMENT_KEYS = {"published_at", "code_version", "signoff"}
_DUTCH_DATE = re.compile(
    r"\b\d{1,2} (januari|februari|maart|april|mei|juni|juli|augustus|september|oktober|november|december) \d{4}\b"
)


def _release_json_without_moments(path: Path) -> dict:
    meta = {k: v for k, v in json.loads(path.read_text(encoding="utf-8")).items() if k not in _MOMENT_KEYS}
    meta["insurers"] = [{k: v for k, v in d.items() if k != "delivery_id"} for d in meta["insurers"]]
    meta["gates"] = {k: v for k, v in meta["gates"].items() if k not in ("evaluated_at", "fingerprint")}
    meta["gates"]["results"] = [{k: v for k, v in r.items() if k != "delivery_id"} for r in meta["gates"]["results"]]
    meta["reports"] = {k: v for k, v in meta["reports"].items() if k != "seconds_per_pdf"}
    return meta


def release_as_published(revision: Path) -> dict[str, object]:
    """What two publishes of the same figures must share, file by file: the bytes of every
    file but release.json and the PDFs; release.json without its moments (when, who, the
    ids of deliveries and sign-off); a PDF's text (Chromium stamps its creation time in it).
    A date written out in the reports (the day of publishing or sign-off) is masked, so a
    comparison across midnight holds."""
    seen: dict[str, object] = {}
    for path in sorted(revision.rglob("*")):
        if not path.is_file():
            continue
        name = str(path.relative_to(revision))
        if name == "release.json":
            seen[name] = _release_json_without_moments(path)
        elif path.suffix in (".pdf", ".html"):
            seen[name] = _DUTCH_DATE.sub("<datum>", published_text(path))
        else:
            seen[name] = hashlib.sha256(path.read_bytes()).hexdigest()
    return seen


# the settings a platform process started by a test must not inherit from the test's own
PROCESS_SETTINGS = ("SPIEGEL_", "DAGSTER_", "DBT_", "DJANGO_")


@dataclass
class Done:
    """How a platform process started by a test ended, and what it wrote."""

    returncode: int
    stdout: str
    stderr: str

    @property
    def killed(self) -> bool:
        return self.returncode == -9
