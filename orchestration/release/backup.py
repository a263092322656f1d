"""Backups of a data directory (docs/backup.md): what goes into a snapshot, read under which
lock, and its restore into a fresh data directory (the format and its checks: core/backup.py).

The parts are read one after the other, each under the lock its writers take, in an order
that keeps them agreeing: the releases (``releases/.publish.lock``; revisions are immutable,
so each whole ``rN`` folder is consistent), the sign-off log (its lock: never half a line;
append-only, so it holds every sign-off a copied release names), the warehouse (a file copy
under its shared lock: writers wait, readers go on), the small state files, the portal's
database and the Dagster instance (SQLite's online backup API, or ``pg_dump``). A snapshot is
written into a hidden partial folder and renamed into its name only when complete.

Restore verifies every checksum before it writes anything, writes into a hidden folder beside
the target and renames it into place: the target is the whole snapshot or untouched.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import sqlite3
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path, PurePosixPath
from typing import Any

import duckdb

from orchestration.core.alert_files import alerts_dir, sent_lock_path, sent_log_path
from orchestration.core.backup import (
    DAGSTER_DATABASE_URL_ENV,
    DAGSTER_HOME_ENV,
    DATA,
    FORMAT,
    FORMAT_VERSION,
    GATES,
    LANDING_FILE,
    PORTAL_DATABASE_URL_ENV,
    POSTGRES,
    SNAPSHOT_PREFIX,
    SQLITE_SIDE_FILES,
    SUMS_FILE,
    BackupError,
    Databases,
    SnapshotRefused,
    SnapshotWriter,
    check_empty_target,
    copy_hashing,
    files_under,
    find_snapshot,
    fsync_dir,
    is_sqlite,
    landing_plan,
    pg_dump,
    pg_restore,
    postgres_restores,
    restore_file,
    seal,
    sha256_file,
    sqlite_backup,
    stamp,
    utc_now,
    verify_snapshot,
)
from orchestration.core.locks import file_lock
from orchestration.core.settings import METHOD_VERSION, SpiegelPaths, duckdb_memory_limit
from orchestration.core.warehouse import has_table, write_lock
from orchestration.landing.zone import MANIFEST_NAME, REGISTER_FOLDER
from orchestration.release.signoff import signoff_lock_path

# the gate log and what it speaks about, read out of the warehouse copy into gate_results/
GATE_TABLES = (("quality", "gate_results"), ("ops", "release_readiness"), ("raw", "deliveries"))
# small state files of their own folder under the data directory, copied as they are
SMALL_STATE = {
    "method_config": "the method's configuration of this data directory (exclusion windows, cancelled versions)",
    "operators": "the operators' ticket key and the tickets used (release/operators.py)",
    "alerts": "the alerts already sent (runs/alerts), copied under alerts/.sent.lock, so a restored service "
    "does not send them again",
}

PARTS = {
    "releases": "releases/ (every published revision, the readiness files releases/_status/) and archive/ "
    "(revisions of periods older than the 6 newest), copied under releases/.publish.lock",
    "signoffs": "signoffs.jsonl, the append-only sign-off log, copied under .signoff.lock",
    "warehouse": "warehouse.duckdb, copied under the warehouse's shared lock and checkpointed in the copy: the "
    "deliveries ingested, the gate log, the readiness verdicts and the marts that spiegel status and a next run read",
    "gate_results": "the gate log (quality.gate_results), the readiness verdicts (ops.release_readiness) and the "
    "deliveries they judged (raw.deliveries), read out of the warehouse copy as Parquet: evidence readable without "
    "the warehouse; restore uses the warehouse itself",
    "small_state": "; ".join(f"{name}/: {what}" for name, what in SMALL_STATE.items()),
    "portal": "the portal's database (SQLite online backup of portal/portal.sqlite3, or pg_dump of "
    f"${PORTAL_DATABASE_URL_ENV}), its secret key, password pepper and MFA key, and its mail folder",
    "dagster": "the Dagster instance (dagster_home: runs, event logs, schedules, each SQLite database by the online "
    f"backup API; or pg_dump of ${DAGSTER_DATABASE_URL_ENV}) and its other files (dagster.yaml, compute logs)",
    "landing": "landing.json lists every file under landing/ with its sha256; the files themselves only with "
    "--with-landing",
}

NOT_INCLUDED = {
    "landing/ (without --with-landing)": "the insurers' deliveries: they are the insurers' evidence and can be large; "
    "landing.json lists each file with its sha256, so restore --landing-from can check copies taken elsewhere",
    "raw/": "the raw Parquet layer: written again from the warehouse's raw tables by the next run",
    "gx_docs/, dbt_target/, logs/, spark/, overview/": "rendered or recomputed by the next run",
    "portal/static/, portal/cache/": "collected again by `spiegel portal serve`; the rate counters are transient",
    "ground_truth/, bench/, tmp/": "the generator's planted truth and the benchmark's own data: never read by the "
    "platform",
    "*.lock": "lock files are made again on first use",
}


@dataclass
class BackupResult:
    path: Path
    files: int
    bytes: int
    landing_files: int
    notes: list[str] = field(default_factory=list)


@dataclass
class RestoreResult:
    snapshot: Path
    data_dir: Path
    files: int
    bytes: int
    notes: list[str] = field(default_factory=list)


def publish_lock_path(paths: SpiegelPaths) -> Path:
    """The lock ``publish_release`` (and its archiving) holds (release/publish.py)."""
    return paths.releases / ".publish.lock"


def _backup_releases(paths: SpiegelPaths, snap: SnapshotWriter, timeout: float | None, say) -> None:
    snap.part("releases")
    if not paths.releases.is_dir() and not paths.archive.is_dir():
        say("releases: none published yet")
        return
    with file_lock(publish_lock_path(paths), f"publishing under {paths.releases}", timeout):
        # the .tmp-rN-<pid> folders of a publisher killed mid-way were never a release
        def abandoned(name: str) -> bool:
            return name.startswith(".tmp-")

        found, revisions = {}, []
        for folder in (paths.releases, paths.archive):
            if folder.is_dir():
                found[folder.name] = snap.copy_tree(folder, f"{DATA}/{folder.name}", "releases", abandoned)
                revisions += [
                    f"{folder.name}/{rev.parent.name}/{rev.name}"
                    for rev in sorted(folder.glob("*/r*"))
                    if rev.is_dir() and rev.name[1:].isdigit()
                ]
    snap.part("releases", revisions=revisions)
    say(f"releases: {found.get('releases', 0)} files under releases/, {found.get('archive', 0)} under archive/")


def _backup_signoffs(paths: SpiegelPaths, snap: SnapshotWriter, timeout: float | None, say) -> None:
    snap.part("signoffs")
    if not paths.signoffs.exists():
        say("sign-off log: none yet")
        return
    with file_lock(signoff_lock_path(paths), f"the sign-off log {paths.signoffs}", timeout):
        entry = snap.copy(paths.signoffs, f"{DATA}/signoffs.jsonl", "signoffs")
    text = (snap.root / entry["path"]).read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if line.strip()]
    for number, line in enumerate(lines, 1):
        try:
            json.loads(line)
        except ValueError:
            raise BackupError(
                f"{paths.signoffs}: line {number} is not a whole JSON record; nothing backed up"
            ) from None
    if text and not text.endswith("\n"):
        raise BackupError(f"{paths.signoffs}: the last line is not finished; nothing backed up")
    snap.part("signoffs", signoffs=len(lines))
    say(f"sign-off log: {len(lines)} sign-off{'' if len(lines) == 1 else 's'}")


def _backup_warehouse(paths: SpiegelPaths, snap: SnapshotWriter, timeout: float | None, say) -> None:
    snap.part("warehouse")
    if not paths.warehouse.exists():
        say("warehouse: none yet")
        return
    rel = f"{DATA}/{paths.warehouse.name}"
    copy = snap.root / rel
    wal = paths.warehouse.with_name(paths.warehouse.name + ".wal")
    with write_lock(paths, timeout, shared=True):
        st = paths.warehouse.stat()
        copy_hashing(paths.warehouse, copy)
        if wal.exists():  # a writer that died before its checkpoint: DuckDB replays it
            copy_hashing(wal, copy.with_name(copy.name + ".wal"))
    # the copy is ours alone: fold a copied WAL into it, and read the gate log out of it
    counts = {}
    try:
        con = duckdb.connect(str(copy), config={"memory_limit": duckdb_memory_limit()})
        try:
            con.execute("checkpoint")
            for schema, table in GATE_TABLES:
                if not has_table(con, schema, table):
                    continue
                out = snap.root / GATES / f"{schema}.{table}.parquet"
                out.parent.mkdir(parents=True, exist_ok=True)
                target = str(out).replace("'", "''")
                con.execute(f"copy (select * from {schema}.{table}) to '{target}' (format parquet)")
                counts[f"{schema}.{table}"] = con.execute(f"select count(*) from {schema}.{table}").fetchone()[0]
        finally:
            con.close()
    except duckdb.Error as exc:
        raise BackupError(f"the copy of {paths.warehouse} cannot be read: {str(exc).splitlines()[0]}") from exc
    copy.with_name(copy.name + ".wal").unlink(missing_ok=True)
    snap.add(rel, "warehouse", st.st_mode, st.st_mtime_ns)
    snap.part("warehouse", duckdb_version=duckdb.__version__)
    snap.part("gate_results", rows=counts)
    for schema, table in GATE_TABLES:
        if f"{schema}.{table}" in counts:
            snap.add(f"{GATES}/{schema}.{table}.parquet", "gate_results")
    say(
        f"warehouse: {st.st_size / 1e6:.1f} MB; gate log: "
        + ", ".join(f"{name} {rows} rows" for name, rows in counts.items())
    )


def _backup_small_state(paths: SpiegelPaths, snap: SnapshotWriter, timeout: float | None, say) -> None:
    snap.part("small_state")
    copied = []
    for name in SMALL_STATE:
        folder = paths.data_dir / name
        if folder.is_dir():  # the alerts under the lock an alert is sent and recorded with
            lock = sent_lock_path(paths) if folder == alerts_dir(paths) else None
            with file_lock(lock, f"the alerts' sent log {sent_log_path(paths)}", timeout) if lock else nullcontext():
                n = snap.copy_tree(folder, f"{DATA}/{name}", "small_state")
            copied.append(f"{name}/ ({n} files)")
    say("state files: " + (", ".join(copied) or "none"))


def _backup_portal(paths: SpiegelPaths, snap: SnapshotWriter, databases: Databases, timeout: float, say) -> None:
    info = snap.part("portal")
    portal = paths.data_dir / "portal"
    database = portal / "portal.sqlite3"
    if databases.portal_url:
        rel = f"{POSTGRES}/portal.dump"
        info.update(database="postgresql", dump=rel, pg_dump=pg_dump(databases.portal_url, snap.root / rel))
        snap.add(rel, "portal")
        say(f"portal: database dumped from PostgreSQL (${PORTAL_DATABASE_URL_ENV}) with pg_dump")
    elif database.exists():
        rel = f"{DATA}/portal/portal.sqlite3"
        sqlite_backup(database, snap.root / rel, timeout)
        snap.add(rel, "portal", database.stat().st_mode)
        info.update(database="sqlite", sqlite_version=sqlite3.sqlite_version)
        say("portal: database copied with SQLite's online backup")
    else:
        info.update(database=None)
        say("portal: no database yet")
    # the generated secrets (portal/settings.py): without the pepper no password verifies, without
    # the MFA key no second factor does; each configured in the environment instead is not a file here
    for name, env in (
        ("secret_key", "SPIEGEL_PORTAL_SECRET_KEY"),
        ("password_pepper", "SPIEGEL_PORTAL_PASSWORD_PEPPER"),
        ("mfa_key", "SPIEGEL_PORTAL_MFA_KEY"),
    ):
        if (portal / name).is_file():
            snap.copy(portal / name, f"{DATA}/portal/{name}", "portal")
        else:
            info[name] = f"not in the data directory ({env}, or none made yet)"
    if (portal / "mail").is_dir():
        snap.copy_tree(portal / "mail", f"{DATA}/portal/mail", "portal")


def _backup_dagster(snap: SnapshotWriter, databases: Databases, timeout: float, say) -> None:
    home = databases.dagster_home
    info = snap.part("dagster", source=str(home))
    sqlite_count = 0
    if home.is_dir():
        for path in files_under(home, snap.skipped):
            rel = f"{DATA}/dagster_home/{path.relative_to(home).as_posix()}"
            if path.name.endswith(SQLITE_SIDE_FILES):
                continue  # the online backup reads through the database's WAL and journal
            if is_sqlite(path):
                st = path.stat()
                sqlite_backup(path, snap.root / rel, timeout)
                snap.add(rel, "dagster", st.st_mode)
                sqlite_count += 1
            else:
                snap.copy(path, rel, "dagster")
    if databases.dagster_url:
        rel = f"{POSTGRES}/dagster.dump"
        info.update(database="postgresql", dump=rel, pg_dump=pg_dump(databases.dagster_url, snap.root / rel))
        snap.add(rel, "dagster")
        say(f"Dagster instance: dumped from PostgreSQL (${DAGSTER_DATABASE_URL_ENV}) with pg_dump")
    else:
        info.update(database="sqlite")
    info["sqlite_databases"] = sqlite_count
    say(f"Dagster instance: {info['files']} files from {home}, {sqlite_count} SQLite databases by online backup")


def _delivery_of(rel: PurePosixPath) -> str | None:
    """The delivery folder a file under landing/ belongs to (``period/insurer/delivery_id`` or
    ``_register/delivery_id``), None for a file outside one."""
    parts = rel.parts
    if parts[0] == REGISTER_FOLDER:
        return "/".join(parts[:2]) if len(parts) >= 3 else None
    return "/".join(parts[:3]) if len(parts) >= 4 else None


def _backup_landing(paths: SpiegelPaths, snap: SnapshotWriter, with_landing: bool, say) -> int:
    """landing.json (always) and the files (with ``with_landing``). Complete deliveries are
    immutable; a folder without its manifest.json is an upload in progress: listed, never copied."""
    snap.part("landing", copied=with_landing)
    files: list[dict[str, Any]] = []
    deliveries: dict[str, bool] = {}
    if paths.landing.is_dir():
        for path in files_under(paths.landing, snap.skipped):
            rel = PurePosixPath(path.relative_to(paths.landing).as_posix())
            delivery = _delivery_of(rel)
            if delivery is not None and delivery not in deliveries:
                deliveries[delivery] = (paths.landing / delivery / MANIFEST_NAME).is_file()
            complete = deliveries.get(delivery, True)
            if with_landing and complete:
                entry = snap.copy(path, f"{DATA}/landing/{rel}", "landing")
                size, sha = entry["size"], entry["sha256"]
            else:
                size, sha = path.stat().st_size, sha256_file(path)
            files.append({"path": str(rel), "size": size, "sha256": sha, "delivery": delivery, "complete": complete})
    listing = {
        "landing_dir": str(paths.landing),
        "listed_at": stamp(utc_now()),
        "copied": with_landing,
        "deliveries": len([d for d, complete in deliveries.items() if complete]),
        "uploads_in_progress": sorted(d for d, complete in deliveries.items() if not complete),
        "files": files,
    }
    (snap.root / LANDING_FILE).write_text(json.dumps(listing, indent=2) + "\n", encoding="utf-8")
    snap.add(LANDING_FILE, "landing")
    say(
        f"landing: {len(files)} files of {listing['deliveries']} deliveries listed"
        + (", copied" if with_landing else " (not copied: --with-landing copies them)")
    )
    return len(files)


def _versions() -> dict[str, str]:
    # deferred: publishing loads pandas
    from orchestration.release.publish import code_version

    try:
        package = metadata.version("spiegel")
    except metadata.PackageNotFoundError:
        package = "unknown"
    return {
        "code_version": code_version(),
        "spiegel_version": package,
        "method_version": METHOD_VERSION,
        "duckdb_version": duckdb.__version__,
        "sqlite_version": sqlite3.sqlite_version,
    }


def backup(
    paths: SpiegelPaths,
    dest: Path,
    *,
    databases: Databases,
    with_landing: bool = False,
    lock_timeout: float | None = None,
    progress: Callable[[str], None] | None = None,
) -> BackupResult:
    """Write a snapshot of ``paths``'s data directory into a new folder under ``dest``."""
    say = progress or (lambda _msg: None)
    if not paths.data_dir.is_dir():
        raise BackupError(f"no data directory at {paths.data_dir}")
    dest = Path(dest).resolve()
    notes = []
    if dest == paths.data_dir or paths.data_dir in dest.parents:
        notes.append(f"{dest} is inside the data directory: a backup on the same disk does not survive that disk")
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BackupError(f"cannot create {dest}: {exc.strerror or exc}") from exc
    started = utc_now()
    name = SNAPSHOT_PREFIX + started.strftime("%Y%m%dT%H%M%SZ")
    final, n = dest / name, 2
    while final.exists():
        final, n = dest / f"{name}-{n}", n + 1
    tmp = dest / f".{final.name}.partial-{os.getpid()}"
    tmp.mkdir(mode=0o700)
    sqlite_timeout = 60.0 if lock_timeout is None else max(lock_timeout, 1.0)
    try:
        snap = SnapshotWriter(tmp, PARTS)
        say(f"backing up {paths.data_dir} into {final}")
        _backup_releases(paths, snap, lock_timeout, say)
        _backup_signoffs(paths, snap, lock_timeout, say)
        _backup_warehouse(paths, snap, lock_timeout, say)
        _backup_small_state(paths, snap, lock_timeout, say)
        _backup_portal(paths, snap, databases, sqlite_timeout, say)
        _backup_dagster(snap, databases, sqlite_timeout, say)
        landing_files = _backup_landing(paths, snap, with_landing, say)
        for skipped in snap.skipped:
            notes.append(f"skipped {skipped}")
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "snapshot": final.name,
            "source_data_dir": str(paths.data_dir),
            "host": socket.gethostname(),
            "started_at": stamp(started),
            "finished_at": stamp(utc_now()),
            "with_landing": with_landing,
            **_versions(),
            "parts": snap.parts,
            "not_included": NOT_INCLUDED,
            "skipped": snap.skipped,
        }
        seal(snap, manifest)
        os.rename(tmp, final)
        fsync_dir(dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    total = sum(e["size"] for e in snap.entries)
    say(f"snapshot complete: {len(snap.entries)} files, {total / 1e6:.1f} MB, checksums in {final / SUMS_FILE}")
    return BackupResult(final, len(snap.entries), total, landing_files, notes)


def restore(
    src: Path,
    target: SpiegelPaths,
    *,
    databases: Databases,
    landing_from: Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> RestoreResult:
    """Bring the snapshot ``src`` back into the new data directory ``target``. ``databases``:
    the target's database URLs (PostgreSQL dumps are restored only into a URL that is set)."""
    say = progress or (lambda _msg: None)
    snapshot = find_snapshot(src, say)
    new = target.data_dir
    if new == snapshot or snapshot in new.parents:
        raise SnapshotRefused(f"{new} is inside the snapshot {snapshot}; restore into a data directory elsewhere")
    check_empty_target(new)
    manifest = verify_snapshot(snapshot, say)
    files = manifest["files"]
    notes: list[str] = []
    listing = json.loads((snapshot / LANDING_FILE).read_text(encoding="utf-8"))
    plan: list[tuple[Path, str, dict]] = []
    if manifest.get("with_landing"):
        if landing_from is not None:
            notes.append(f"--landing-from {landing_from} not used: the snapshot holds the deliveries itself")
    elif landing_from is not None:
        plan = landing_plan(listing, Path(landing_from).resolve(), say)
    elif listing["files"]:
        notes.append(
            f"landing/ is not in the snapshot: put the {listing['deliveries']} deliveries of {LANDING_FILE} back under "
            f"{new / 'landing'} (restore --landing-from DIR checks them): until then spiegel status shows them missing"
        )
    pg_plan, pg_notes = postgres_restores(snapshot, manifest, databases)
    notes += pg_notes
    if os.environ.get(DAGSTER_HOME_ENV):
        notes.append(
            f"${DAGSTER_HOME_ENV} is set: the Dagster instance is restored into {new / 'dagster_home'}; point "
            f"${DAGSTER_HOME_ENV} there (or unset it) to use it"
        )

    new.parent.mkdir(parents=True, exist_ok=True)
    tmp = new.parent / f".{new.name}.restoring-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(mode=0o700)
    restored = total = 0
    try:
        say(f"restoring into {new}")
        for entry in sorted(files, key=lambda e: e["path"]):
            rel = PurePosixPath(entry["path"])
            if rel.parts[0] != DATA:
                continue
            total += restore_file(snapshot / entry["path"], tmp.joinpath(*rel.parts[1:]), entry)
            restored += 1
        for path, rel, item in plan:
            total += restore_file(path, tmp / rel, item)
            restored += 1
        if plan:
            say(f"landing: {len(plan)} files copied from {landing_from}, each checked against {LANDING_FILE}")
        for env, url, dump in pg_plan:
            say(f"{dump.name}: pg_restore into ${env}")
            pg_restore(url, dump)
        for folder in [tmp, *sorted((p for p in tmp.rglob("*") if p.is_dir()), reverse=True)]:
            fsync_dir(folder)
        os.rename(tmp, new)  # one step; an empty folder at ``new`` is replaced
        os.chmod(new, 0o700)
        fsync_dir(new.parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    say(
        f"restored {restored} files ({total / 1e6:.1f} MB) from {snapshot.name}, taken from "
        f"{manifest['source_data_dir']} at {manifest['finished_at']}"
    )
    return RestoreResult(snapshot, new, restored, total, notes)
