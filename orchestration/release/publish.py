"""Publishing a period: ``releases/<period>/<revision>/``, atomic and immutable.

A revision is rendered completely into a hidden temporary folder next to its final
place (CSVs, release.json, reports), flushed to disk, and then renamed into place in
one step, so a reader (or a crash) never sees half a release. A revision is never
written again: a redelivery, a new sign-off and a new ``spiegel publish`` make the
next revision. Publishing again with the same sign-off is a no-op that names the
revision already published.

The warehouse is read once, at the start, under its shared lock (the tables, the gate
results and every figure the reports show); the reports are rendered after the lock
is released, so a method run of another period need not wait for a publish's PDFs.
Two publishes never overlap (``releases/.publish.lock``).

The work goes in stages (:data:`PUBLISH_STAGES`), each a crash point where it starts
(``core/crashpoints.py``): a kill at any of them leaves at most a hidden temporary folder,
which the next publish removes. A file system that fills up (``ENOSPC``, a quota) stops
the publish with :class:`PublishFailed`, one line naming the file system and the stage,
after the partial revision is removed: publishing again once there is space makes the
same revision.

The published numbers are the dbt marts, written as they are: Python formats, it
never computes the index.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from orchestration.core.crashpoints import at_stage
from orchestration.core.locks import file_lock
from orchestration.core.release_layout import BEHANDELINDEX_COLUMNS, MOVEMENT_COLUMNS, PRACTICE_COLUMNS
from orchestration.core.seeds import (
    cancelled_periods,
    insurer_labels,
    insurers,
    period_sort_key,
    previous_period,
    required_insurers,
    windows_of,
)
from orchestration.core.settings import CONTRACT_VERSION, METHOD_VERSION, REPO_ROOT, SpiegelPaths, report_workers
from orchestration.core.warehouse import connect_locked, connect_write, has_table, write_lock
from orchestration.release.full_disk import PublishFailed, no_space_error, no_space_message, tree_bytes
from orchestration.release.operators import Operator, publish_refusal
from orchestration.release.readiness import PeriodState, period_state
from orchestration.release.signoff import Signoff, valid_signoff

RELEASE_TABLES = {
    "behandelindex.csv": ("marts.fct_behandelindex", BEHANDELINDEX_COLUMNS, ["discipline", "practice_agb"]),
    "reference_strata.csv": (
        "marts.fct_reference_strata",
        None,
        ["discipline", "row_type", "cell_id", "level", "age_band", "sex", "body_region", "chronic"],
    ),
    "excluded_lines.csv": ("marts.fct_excluded_lines", None, ["insurer_id", "reason"]),
    "index_movement.csv": ("marts.fct_index_movement", MOVEMENT_COLUMNS, ["discipline", "practice_agb"]),
    "practices.csv": ("marts.dim_practices", PRACTICE_COLUMNS, ["practice_agb"]),
}
# the labels (UZOVI codes) in force for the period of the insurers that delivered to it, for the
# portal's public /labels/ page (portal.md): a release says under which labels it was computed
LABEL_COLUMNS = ["insurer_id", "insurer_name", "uzovi", "label_name"]
LABELS_FILE = "labels.csv"
PERIODS_KEPT_IN_RELEASES = 6
_REVISION = re.compile(r"^r([0-9]+)$")


# The stages of a publish, in order; each is a crash point where it starts ("stage:publish:<stage>").
PUBLISH_STAGES = ("read_warehouse", "write_tables", "render_reports", "flush", "rename", "archive")


class PublishRefused(RuntimeError):
    pass


class _Stages:
    """Passes each stage's crash point as it starts, and remembers which one runs."""

    def __init__(self) -> None:
        self.current = ""

    def start(self, stage: str) -> None:
        at_stage("publish", stage, PUBLISH_STAGES)
        self.current = stage


@dataclass
class PublishResult:
    period: str
    revision: str
    path: Path
    created: bool
    seconds: dict[str, float] = field(default_factory=dict)
    report_counts: dict[str, int] = field(default_factory=dict)


def revisions(paths: SpiegelPaths, period: str) -> list[str]:
    """Published revisions of ``period``, oldest first (r2 < r10)."""
    folder = paths.releases / period
    if not folder.is_dir():
        return []
    found = [p.name for p in folder.iterdir() if p.is_dir() and _REVISION.match(p.name)]
    return sorted(found, key=lambda r: int(r[1:]))


def _remove_abandoned_temp_folders(folder: Path) -> None:
    """A publisher killed mid-way leaves ``.tmp-rN-<pid>``; it was never visible as a
    release. We hold the publish lock, so no living publisher owns one: remove them."""
    if folder.is_dir():
        for leftover in folder.glob(".tmp-*"):
            shutil.rmtree(leftover, ignore_errors=True)


def _archived_revisions(paths: SpiegelPaths, period: str) -> list[str]:
    """Revisions of ``period`` moved to ``archive/`` (archive_old_periods), in no order."""
    archived = paths.archive / period
    return [p.name for p in archived.iterdir() if _REVISION.match(p.name)] if archived.is_dir() else []


def _next_revision(paths: SpiegelPaths, period: str) -> str:
    """Numbers continue across releases/ and archive/, so a revision name is never reused."""
    used = [int(r[1:]) for r in revisions(paths, period) + _archived_revisions(paths, period)]
    return f"r{max(used, default=0) + 1}"


def newest_revision(paths: SpiegelPaths, period: str) -> Path | None:
    revs = revisions(paths, period)
    return paths.releases / period / revs[-1] if revs else None


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """Deterministic CSV: fixed order, full float precision (shortest round-trip), LF."""
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == bool or str(out[column].dtype) == "boolean":
            out[column] = out[column].map({True: "true", False: "false"})
    out.to_csv(path, index=False, lineterminator="\n", na_rep="")


def _read_mart(con, table: str, columns: list[str] | None, order: list[str], period: str) -> pd.DataFrame:
    schema, name = table.split(".")
    if columns is not None and not has_table(con, schema, name):
        # a mart that never had a row is not a table on every engine: the Spark engine loads
        # only the partitions Spark wrote (index movement before any second period)
        return pd.DataFrame({c: pd.Series(dtype="object") for c in columns})
    frame = con.execute(f"select * from {table} where period = ?", [period]).df()
    if columns is not None:
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise PublishRefused(f"{table} lacks column(s) {missing}: the method's marts are out of date")
        frame = frame[columns]
    sort_by = [c for c in order if c in frame.columns]
    return frame.sort_values(sort_by, kind="mergesort", na_position="first").reset_index(drop=True)


def read_release_tables(con, period: str) -> dict[str, pd.DataFrame]:
    """The published tables of ``period`` as the marts hold them, each in its fixed row order."""
    return {name: _read_mart(con, table, cols, order, period) for name, (table, cols, order) in RELEASE_TABLES.items()}


def labels_table(period: str, delivered: list[str]) -> pd.DataFrame:
    """The labels in force in ``period`` of the insurers in ``delivered`` (the required insurers
    when nothing is named), sorted by insurer and UZOVI code. Read from the labels seed at publish
    time and frozen in the release, so the page of an old period keeps saying what was in force
    then, even after the seed changed."""
    wanted = set(delivered) or set(required_insurers(period))
    names = {i.insurer_id: i.insurer_name for i in insurers()}
    rows = sorted(
        (
            (label.insurer_id, names.get(label.insurer_id, ""), label.uzovi, label.label_name)
            for label in insurer_labels()
            if label.insurer_id in wanted and label.in_force(period)
        ),
        key=lambda row: (row[0], row[2]),
    )
    return pd.DataFrame(rows, columns=LABEL_COLUMNS, dtype="object")


def movement_from_published(paths: SpiegelPaths, movement: pd.DataFrame) -> pd.DataFrame:
    """The rows of §10 whose earlier period was published (in releases/ or archived): a
    practice is told why its index moved since a version it could read, never since one
    that was computed but not released. The mart already leaves out a cancelled one."""
    published = {p for p in set(movement["from_period"]) if _published(paths, p)}
    return movement[movement["from_period"].isin(published)].reset_index(drop=True)


def _published(paths: SpiegelPaths, period: str) -> bool:
    return bool(revisions(paths, period) or _archived_revisions(paths, period))


def _method_notes(paths: SpiegelPaths, period: str) -> dict[str, Any]:
    """What release.json says about the method's configuration for this period: the
    exclusion windows left out (§9) and the cancelled versions passed over before it (§11)."""
    cancelled = cancelled_periods(paths)
    skipped = []
    previous = previous_period(period)
    while previous in cancelled:
        skipped.append({"period": previous, "reason": cancelled[previous].reason})
        previous = previous_period(previous)
    return {
        "exclusion_windows": [
            {"first_date": w.first_date.isoformat(), "last_date": w.last_date.isoformat(), "reason": w.reason}
            for w in windows_of(period, paths)
        ],
        "cancelled_before": skipped,
    }


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def code_version() -> str:
    try:
        out = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5
        )
        if out.returncode == 0:
            return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        pass
    return "unknown"


def _fsync_tree(root: Path) -> None:
    for path in sorted(root.rglob("*")):
        if path.is_file():
            with open(path, "rb") as f:
                os.fsync(f.fileno())
    for folder in [root, *[p for p in root.rglob("*") if p.is_dir()]]:
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _release_json(
    state: PeriodState,
    signoff: Signoff,
    revision: str,
    gate_results: list[dict[str, Any]],
    files: dict[str, Any],
    reports: dict[str, Any],
    method_notes: dict[str, Any],
    publisher: Operator,
) -> dict[str, Any]:
    return {
        **method_notes,
        "period": state.period,
        "revision": revision,
        "published_at": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "method_version": METHOD_VERSION,
        "contract_version": CONTRACT_VERSION,
        "code_version": code_version(),
        "insurers": [
            {
                "insurer": d["insurer"],
                "delivery_id": d["delivery_id"],
                "file": d.get("file_name"),
                "sha256": d["sha256"],
                "rows": d["row_count"],
                "paid_amount_total": d["paid_amount_total"],
            }
            for d in state.deliveries
        ],
        "gates": {
            "verdict": state.verdict,
            "fingerprint": state.fingerprint,
            "evaluated_at": (state.readiness or {}).get("evaluated_at"),
            "warnings": state.warnings,
            "results": gate_results,
        },
        "signoff": {
            "by": signoff.by,
            "at": signoff.at,
            "comment": signoff.comment,
            "signoff_id": signoff.signoff_id,
            **signoff.operator.record(),
        },
        # who published (docs/release-four-eyes.md): an account, or a typed name outside service mode
        "published_by": publisher.record(),
        "files": files,
        "reports": reports,
    }


def _gate_summaries(con, period: str) -> list[dict[str, Any]]:
    try:
        # deferred: the gates load Great Expectations (seconds); only a gate run needs it
        from orchestration import gates

        results = gates.latest_gate_results(con, period)
    except Exception:  # the gate log is evidence, not a precondition of the file layout
        return []
    return [
        {
            "suite": r.suite,
            "insurer": r.insurer,
            "delivery_id": r.delivery_id,
            "passed": r.passed,
            "warnings": r.warnings,
        }
        for r in results
    ]


def publish_release(
    paths: SpiegelPaths,
    period: str,
    *,
    reports: bool = True,
    report_practices: list[tuple[str, str]] | None = None,
    progress: Callable[[str], None] | None = None,
    publisher: Operator | None = None,
) -> PublishResult:
    """Publish ``period`` if its gates pass and a valid sign-off covers its deliveries, and
    ``publisher`` may (``operators.publish_refusal``: service mode, four eyes)."""
    say = progress or (lambda _msg: None)
    publisher = publisher or Operator.typed("")
    timings: dict[str, float] = {}
    started = time.monotonic()
    if not paths.warehouse.exists():
        # Nothing ingested yet: create the empty warehouse (as ``connect_read`` does) so
        # that the refusal below gives the same reasons as ``spiegel status``.
        with connect_write(paths):
            pass
    paths.releases.mkdir(parents=True, exist_ok=True)
    stages = _Stages()
    stages.start("read_warehouse")
    with file_lock(paths.releases / ".publish.lock", f"publishing under {paths.releases}"):
        with write_lock(paths, shared=True):
            con = connect_locked(paths)
            try:
                state = period_state(con, paths, period)
                if state.cancelled_reason:
                    raise PublishRefused(f"publish of {period} refused: {state.cancelled_reason}")
                if not state.gates_passed:
                    raise PublishRefused(
                        f"publish of {period} refused: the gates do not pass: " + " | ".join(state.blocking_reasons)
                    )
                signoff = valid_signoff(paths, state)
                if signoff is None:
                    raise PublishRefused(
                        f"publish of {period} refused: no valid sign-off covers its current deliveries; "
                        f"record one with `spiegel signoff --period {period} --by NAME --comment TEXT`"
                    )
                refusal = publish_refusal(period, signoff.operator, publisher)
                if refusal is not None:
                    raise PublishRefused(refusal)
                newest = newest_revision(paths, period)
                if newest is not None:
                    previous = json.loads((newest / "release.json").read_text(encoding="utf-8"))
                    if previous.get("signoff", {}).get("signoff_id") == signoff.signoff_id:
                        say(f"{period}: already published as {newest.name} with this sign-off; nothing to do")
                        return PublishResult(period, newest.name, newest, created=False)
                frames = read_release_tables(con, period)
                frames["index_movement.csv"] = movement_from_published(paths, frames["index_movement.csv"])
                frames[LABELS_FILE] = labels_table(period, [d["insurer"] for d in state.deliveries])
                gate_results = _gate_summaries(con, period)
            finally:
                con.close()
            # the reports' figures too, so that nothing after this reads the warehouse: a
            # period's method run may write it while this one renders its reports
            report_marts = _read_report_marts(paths, period, report_practices) if reports else None
            timings["read_marts"] = time.monotonic() - started

        _remove_abandoned_temp_folders(paths.releases / period)
        revision = _next_revision(paths, period)
        final = paths.releases / period / revision
        tmp = paths.releases / period / f".tmp-{revision}-{os.getpid()}"
        if tmp.exists():
            shutil.rmtree(tmp)
        try:
            stages.start("write_tables")
            tmp.mkdir(parents=True)
            t0 = time.monotonic()
            files: dict[str, Any] = {}
            for name, frame in frames.items():
                write_csv(frame, tmp / name)
                files[name] = {"sha256": _sha256(tmp / name), "rows": int(len(frame))}
            timings["write_tables"] = time.monotonic() - t0
            release = _release_json(
                state, signoff, revision, gate_results, files, {}, _method_notes(paths, period), publisher
            )
            (tmp / "release.json").write_text(json.dumps(release, indent=2, sort_keys=True) + "\n", encoding="utf-8")
            stages.start("render_reports")
            report_counts: dict[str, int] = {}
            if reports:
                t0 = time.monotonic()
                report_counts = _render_reports(tmp, paths, report_practices, report_marts, say)
                timings["reports"] = time.monotonic() - t0
                release["reports"] = report_counts
                (tmp / "release.json").write_text(
                    json.dumps(release, indent=2, sort_keys=True) + "\n", encoding="utf-8"
                )
            stages.start("flush")
            _fsync_tree(tmp)
            stages.start("rename")
            os.rename(tmp, final)  # the one step that makes the revision visible
        except BaseException as exc:
            full = no_space_error(exc)
            written = tree_bytes(tmp) if full is not None else 0
            shutil.rmtree(tmp, ignore_errors=True)
            if full is not None:
                raise PublishFailed(
                    no_space_message(period, revision, paths.releases, stages.current, written, full)
                ) from exc
            raise
        stages.start("archive")
        _fsync_tree(final.parent)
        archive_old_periods(paths)
    timings["total"] = time.monotonic() - started
    say(f"{period}: published {revision} at {final}")
    return PublishResult(period, revision, final, True, timings, report_counts)


def _read_report_marts(paths: SpiegelPaths, period: str, practices):
    """The period's figures every report and the national overview show (``reports.data.Marts``),
    read while the caller holds the warehouse lock."""
    # deferred: the reports load plotly and jinja; only a publish with reports needs them
    from reports.data import load_marts

    wanted = None if practices is None else {(d, str(a)) for d, a in practices}
    return load_marts(paths.warehouse, period, wanted)


def _render_reports(release_dir: Path, paths: SpiegelPaths, practices, marts, say) -> dict[str, int]:
    # deferred: the reports load plotly and jinja; only a publish with reports needs them
    from reports import render_national_overview, render_release_reports

    summary = render_release_reports(
        release_dir,
        paths.warehouse,
        paths.releases,
        practices=practices,
        pdf=True,
        workers=report_workers(),
        progress=say,
        marts=marts,
    )
    render_national_overview(release_dir, paths.warehouse, paths.releases, release_dir / "reports", marts=marts)
    return {"html": summary.html_count, "pdf": summary.pdf_count, "seconds_per_pdf": round(summary.seconds_per_pdf, 4)}


def archive_old_periods(paths: SpiegelPaths, keep: int = PERIODS_KEPT_IN_RELEASES) -> list[Path]:
    """Move whole period folders beyond the ``keep`` most recent to ``archive/``.

    Nothing is deleted and no revision is changed: the folder is renamed as it is.
    """
    if not paths.releases.is_dir():
        return []
    published = sorted(
        (p.name for p in paths.releases.iterdir() if p.is_dir() and revisions(paths, p.name)), key=period_sort_key
    )
    moved = []
    for period in published[:-keep] if len(published) > keep else []:
        target = paths.archive / period
        if target.exists():
            continue
        paths.archive.mkdir(parents=True, exist_ok=True)
        os.rename(paths.releases / period, target)
        moved.append(target)
    return moved
