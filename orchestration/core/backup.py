"""The snapshot format of ``spiegel backup`` (docs/backup.md): a folder of checksummed files,
and the tools that fill it while others write (SQLite's online backup, ``pg_dump``) and that
check it before a restore. What goes into a snapshot is ``release/backup.py``'s business.

    MANIFEST.json      every file below with size and sha256, what each part is, where it came from
    SHA256SUMS         sha256 of every file including MANIFEST.json (``sha256sum -c SHA256SUMS``)
    landing.json       every file under landing/ with its sha256 (the insurers' evidence)
    data/              the data directory's state, laid out as in the data directory
    gate_results/      the gate log read out of the warehouse as Parquet (readable without it)
    postgres/          pg_dump archives, when the portal or the Dagster instance is in PostgreSQL

A snapshot is refused (:class:`SnapshotRefused`, naming the first bad file) when a file is
missing, added, or differs from its checksum; MANIFEST.json is itself checked against
SHA256SUMS, and SHA256SUMS against the manifest, so one altered byte anywhere is found.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from orchestration.core.settings import SpiegelPaths

FORMAT = "spiegel-backup"
FORMAT_VERSION = 1
SNAPSHOT_PREFIX = "spiegel-backup-"
MANIFEST_FILE = "MANIFEST.json"
SUMS_FILE = "SHA256SUMS"
LANDING_FILE = "landing.json"
DATA = "data"  # the snapshot's copy of the data directory, laid out as there
GATES = "gate_results"
POSTGRES = "postgres"
TOP_LEVEL = {MANIFEST_FILE, SUMS_FILE, LANDING_FILE}
TOP_FOLDERS = {DATA, GATES, POSTGRES}
CHUNK = 1 << 20
SQLITE_MAGIC = b"SQLite format 3\x00"
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")
PORTAL_DATABASE_URL_ENV = "SPIEGEL_PORTAL_DATABASE_URL"
DAGSTER_DATABASE_URL_ENV = "SPIEGEL_DAGSTER_DATABASE_URL"  # runs/instance.py reads it
DAGSTER_HOME_ENV = "SPIEGEL_DAGSTER_HOME"


class BackupError(RuntimeError):
    """A backup or restore that cannot go on; the message is one line and names the file."""


class SnapshotRefused(BackupError):
    """The snapshot (or the target) fails a check; nothing was written."""


@dataclass(frozen=True)
class Databases:
    """Where the databases outside the data directory's files are, as the environment says."""

    dagster_home: Path
    dagster_url: str | None = None
    portal_url: str | None = None

    @classmethod
    def of(cls, paths: SpiegelPaths, environ: dict[str, str] | None = None) -> Databases:
        env = os.environ if environ is None else environ
        return cls(
            Path(env.get(DAGSTER_HOME_ENV) or paths.dagster_home),
            (env.get(DAGSTER_DATABASE_URL_ENV) or "").strip() or None,
            (env.get(PORTAL_DATABASE_URL_ENV) or "").strip() or None,
        )


def utc_now() -> datetime:
    return datetime.now(UTC)


def stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def copy_hashing(src: Path, dst: Path, mode: int = 0o600) -> tuple[int, str]:
    """Copy ``src`` to the new file ``dst`` in one pass, flushed to disk; its size and sha256."""
    digest, size = hashlib.sha256(), 0
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        with open(src, "rb") as fin:
            fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
            with os.fdopen(fd, "wb") as fout:
                while chunk := fin.read(CHUNK):
                    digest.update(chunk)
                    fout.write(chunk)
                    size += len(chunk)
                fout.flush()
                os.fsync(fout.fileno())
    except OSError as exc:
        raise BackupError(f"could not copy {src} to {dst}: {exc.strerror or exc}") from exc
    return size, digest.hexdigest()


def files_under(root: Path, skipped: list[str], skip_dir: Callable[[str], bool] = lambda _name: False):
    """Every regular file under ``root``, sorted, never following a symbolic link (noted in ``skipped``)."""
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        kept = []
        for name in sorted(dirnames):
            if (here / name).is_symlink():
                skipped.append(f"{here / name} (a symbolic link)")
            elif not skip_dir(name):
                kept.append(name)
        dirnames[:] = kept
        for name in sorted(filenames):
            path = here / name
            if path.is_symlink():
                skipped.append(f"{path} (a symbolic link)")
            elif name.endswith(".lock"):
                continue
            elif path.is_file():
                yield path


def is_sqlite(path: Path) -> bool:
    try:
        with open(path, "rb") as handle:
            return handle.read(len(SQLITE_MAGIC)) == SQLITE_MAGIC
    except OSError:
        return False


def sqlite_backup(src: Path, dst: Path, timeout: float) -> None:
    """A consistent copy of the SQLite database ``src`` while others write it (the online
    backup API, in one step: one read transaction sees one state of the database)."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        source = sqlite3.connect(str(src), timeout=timeout)
        try:
            target = sqlite3.connect(str(dst))
            try:
                source.backup(target)
            finally:
                target.close()
        finally:
            source.close()
        os.chmod(dst, 0o600)
    except sqlite3.Error as exc:
        raise BackupError(f"the SQLite online backup of {src} failed: {exc}") from exc


def postgres_tool(name: str) -> str:
    """Debian's newest ``/usr/lib/postgresql/<N>/bin/<name>`` (a pg_dump reads servers up to its
    own version), else ``<name>`` on PATH."""
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(Path(p).parts[4]))
    if found:
        return found[-1]
    on_path = shutil.which(name)
    if on_path:
        return on_path
    raise BackupError(f"{name} is not installed (Debian: apt-get install postgresql-client)")


def libpq_url(url: str) -> tuple[str, dict[str, str]]:
    """``url`` (Django's postgres://, SQLAlchemy's postgresql+psycopg2://) as libpq reads it, and
    the environment that carries its password (PGPASSWORD: never on a command line)."""
    parts = urlsplit(url)
    scheme = parts.scheme.split("+", 1)[0]
    if scheme not in {"postgres", "postgresql", "pgsql", "postgis"}:
        raise BackupError(f"not a PostgreSQL URL: {parts.scheme}://...")
    env: dict[str, str] = {}
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, hostinfo = netloc.rsplit("@", 1)
        if ":" in userinfo:
            user, password = userinfo.split(":", 1)
            env["PGPASSWORD"] = unquote(password)
            userinfo = user
        netloc = f"{userinfo}@{hostinfo}"
    return urlunsplit(("postgresql", netloc, parts.path, parts.query, "")), env


def _run_pg(argv: list[str], env: dict[str, str], what: str, timeout: float | None = None) -> str:
    try:
        done = subprocess.run(
            argv, env={**os.environ, **env}, capture_output=True, text=True, timeout=timeout, check=False
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise BackupError(f"{what}: {exc}") from exc
    if done.returncode != 0:
        first = (done.stderr.strip() or done.stdout.strip() or f"exit code {done.returncode}").splitlines()[0]
        raise BackupError(f"{what} failed: {first}")
    return done.stdout


def pg_dump(url: str, dst: Path) -> str:
    """``pg_dump --format=custom`` of ``url`` into ``dst`` (one transaction: a consistent
    snapshot while the service writes); the pg_dump version."""
    conn, env = libpq_url(url)
    tool = postgres_tool("pg_dump")
    dst.parent.mkdir(parents=True, exist_ok=True)
    _run_pg(
        [tool, "--format=custom", "--no-owner", "--no-privileges", f"--file={dst}", f"--dbname={conn}"],
        env,
        f"pg_dump into {dst}",
    )
    os.chmod(dst, 0o600)
    return _run_pg([tool, "--version"], {}, "pg_dump --version").strip()


USER_TABLES = "select count(*) from pg_catalog.pg_tables where schemaname not in ('pg_catalog', 'information_schema')"


def pg_table_count(url: str) -> int:
    """How many tables the database at ``url`` has (a restore needs an empty one)."""
    conn, env = libpq_url(url)
    argv = [postgres_tool("psql"), "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", f"--dbname={conn}", "-c", USER_TABLES]
    return int(_run_pg(argv, env, "psql (is the target database empty?)", timeout=60).strip() or 0)


def pg_restore(url: str, dump: Path) -> None:
    """``pg_restore`` of ``dump`` into the empty database at ``url``, in one transaction."""
    conn, env = libpq_url(url)
    options = ["--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction"]
    _run_pg([postgres_tool("pg_restore"), *options, f"--dbname={conn}", str(dump)], env, f"pg_restore of {dump}")


def postgres_restores(
    snapshot: Path, manifest: dict[str, Any], databases: Databases
) -> tuple[list[tuple[str, str, Path]], list[str]]:
    """Which PostgreSQL dumps of ``snapshot`` go into which target database (checked empty now,
    before anything is written), and notes on those that cannot (no target URL set)."""
    listed = {e["path"] for e in manifest["files"]}
    plan, notes = [], []
    for part, url, env in (
        ("portal", databases.portal_url, PORTAL_DATABASE_URL_ENV),
        ("dagster", databases.dagster_url, DAGSTER_DATABASE_URL_ENV),
    ):
        dump = snapshot / POSTGRES / f"{part}.dump"
        if f"{POSTGRES}/{part}.dump" not in listed:
            if url and manifest["parts"].get(part, {}).get("database") == "sqlite":
                notes.append(
                    f"the {part} database was SQLite and is restored as a file; ${env} is set, so it would use "
                    f"PostgreSQL instead: unset it to use the restored database"
                )
        elif not url:
            notes.append(
                f"the {part} database is a PostgreSQL dump ({dump}) and ${env} is not set: create an empty "
                f"database, then `pg_restore --no-owner --no-privileges --dbname=URL {dump}` and set ${env} to it"
            )
        elif tables := pg_table_count(url):
            raise SnapshotRefused(
                f"${env} names a database with {tables} tables: restore needs an empty database for {dump}"
            )
        else:
            plan.append((env, url, dump))
    return plan, notes


class SnapshotWriter:
    """The snapshot being written: its files and what each part holds."""

    def __init__(self, root: Path, descriptions: dict[str, str]) -> None:
        self.root = root
        self.descriptions = descriptions
        self.entries: list[dict[str, Any]] = []
        self.parts: dict[str, dict[str, Any]] = {}
        self.skipped: list[str] = []

    def part(self, name: str, **info: Any) -> dict[str, Any]:
        entry = self.parts.setdefault(name, {"what": self.descriptions[name], "files": 0, "bytes": 0})
        entry.update(info)
        return entry

    def _record(self, rel: str, part: str, size: int, sha: str, mode: int, mtime_ns: int | None) -> dict:
        entry = {"path": rel, "size": size, "sha256": sha, "part": part, "mode": f"{mode & 0o777:o}"}
        if mtime_ns is not None:
            entry["mtime_ns"] = mtime_ns
        self.entries.append(entry)
        info = self.part(part)
        info["files"] += 1
        info["bytes"] += size
        return entry

    def copy(self, src: Path, rel: str, part: str) -> dict:
        """Copy ``src`` to ``rel`` in the snapshot, hashing it on the way."""
        try:
            st = src.stat()
        except OSError as exc:
            raise BackupError(f"could not read {src}: {exc.strerror or exc}") from exc
        size, sha = copy_hashing(src, self.root / rel)
        return self._record(rel, part, size, sha, st.st_mode, st.st_mtime_ns)

    def add(self, rel: str, part: str, mode: int = 0o600, mtime_ns: int | None = None) -> dict:
        """Record a file already written into the snapshot (a database backup, an export)."""
        path = self.root / rel
        os.chmod(path, 0o600)
        with open(path, "rb") as handle:
            os.fsync(handle.fileno())
        return self._record(rel, part, path.stat().st_size, sha256_file(path), mode, mtime_ns)

    def copy_tree(self, src: Path, rel: str, part: str, skip_dir: Callable[[str], bool] = lambda _n: False) -> int:
        count = 0
        for path in files_under(src, self.skipped, skip_dir):
            self.copy(path, f"{rel}/{path.relative_to(src).as_posix()}", part)
            count += 1
        return count


def seal(snap: SnapshotWriter, manifest: dict[str, Any]) -> None:
    """MANIFEST.json, then SHA256SUMS (every file, the manifest too): the last two files."""
    manifest["files"] = sorted(snap.entries, key=lambda e: e["path"])
    path = snap.root / MANIFEST_FILE
    path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    sums = [(e["sha256"], e["path"]) for e in manifest["files"]] + [(sha256_file(path), MANIFEST_FILE)]
    (snap.root / SUMS_FILE).write_text("".join(f"{sha}  {rel}\n" for sha, rel in sorted(sums, key=lambda s: s[1])))
    for name in (MANIFEST_FILE, SUMS_FILE):
        os.chmod(snap.root / name, 0o600)
        with open(snap.root / name, "rb") as handle:
            os.fsync(handle.fileno())


def find_snapshot(src: Path, say: Callable[[str], None] = lambda _m: None) -> Path:
    """``src`` itself when it is a snapshot, else the newest complete snapshot inside it."""
    src = Path(src).resolve()
    if (src / MANIFEST_FILE).exists() or src.name.startswith(SNAPSHOT_PREFIX):
        return src
    found = sorted(p for p in src.glob(SNAPSHOT_PREFIX + "*") if p.is_dir() and (p / MANIFEST_FILE).exists())
    if not found:
        raise SnapshotRefused(f"{src} is not a snapshot and holds none ({SNAPSHOT_PREFIX}*/{MANIFEST_FILE})")
    say(f"using the newest snapshot in {src}: {found[-1].name}")
    return found[-1]


def safe_rel(rel: str) -> bool:
    path = PurePosixPath(rel)
    return (
        bool(rel)
        and not path.is_absolute()
        and ".." not in path.parts
        and str(path) == rel
        and (rel in TOP_LEVEL or path.parts[0] in TOP_FOLDERS)
    )


def _read_sums(path: Path) -> dict[str, str]:
    sums: dict[str, str] = {}
    text = path.read_bytes().decode("utf-8", errors="replace")
    if not text.endswith("\n"):
        raise SnapshotRefused(f"{path}: its last line is not finished (the file was altered)")
    # lines end in "\n" alone (str.splitlines would also split at \v, \f, ... and miss a changed byte)
    for number, line in enumerate(text[:-1].split("\n"), 1):
        sha, sep, rel = line.partition("  ")
        if not sep or len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha) or rel in sums:
            raise SnapshotRefused(f"{path}: line {number} is not '<sha256>  <file>' (the file was altered)")
        sums[rel] = sha
    return sums


def verify_snapshot(src: Path, progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Check every file of the snapshot ``src`` against its checksums; the manifest, or
    :class:`SnapshotRefused` naming the first bad file."""
    say = progress or (lambda _msg: None)
    manifest_path, sums_path = src / MANIFEST_FILE, src / SUMS_FILE
    if not manifest_path.is_file():
        raise SnapshotRefused(f"{manifest_path} is missing: {src} is not a complete snapshot")
    if not sums_path.is_file():
        raise SnapshotRefused(f"{sums_path} is missing: {src} is not a complete snapshot")
    sums = _read_sums(sums_path)
    if sums.get(MANIFEST_FILE) != sha256_file(manifest_path):
        raise SnapshotRefused(
            f"{manifest_path} does not match its checksum in {SUMS_FILE}: one of the two was altered or damaged"
        )
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        files = manifest["files"]
        listed = {e["path"]: e for e in files}
    except (ValueError, KeyError, TypeError):
        raise SnapshotRefused(f"{manifest_path} is not a snapshot manifest") from None
    if manifest.get("format") != FORMAT or manifest.get("format_version") != FORMAT_VERSION:
        raise SnapshotRefused(
            f"{manifest_path}: format {manifest.get('format')!r} version {manifest.get('format_version')!r} "
            f"is not {FORMAT} version {FORMAT_VERSION}"
        )
    for rel in sorted(set(listed) | set(sums)):
        if not safe_rel(rel):
            raise SnapshotRefused(f"{manifest_path} names a file outside the snapshot's layout: {rel!r}")
        if rel == MANIFEST_FILE:
            continue
        if rel not in listed:
            raise SnapshotRefused(f"{sums_path} names {rel}, which {MANIFEST_FILE} does not list ({SUMS_FILE} altered)")
        if rel not in sums:
            raise SnapshotRefused(f"{src / rel}: listed in {MANIFEST_FILE} but missing from {SUMS_FILE}")
        if sums[rel] != listed[rel]["sha256"]:
            raise SnapshotRefused(
                f"{sums_path}: the checksum of {rel} differs from {MANIFEST_FILE}'s ({SUMS_FILE} altered)"
            )
    say(f"verifying {len(files)} files of {src.name}")
    for entry in sorted(files, key=lambda e: e["path"]):
        path = src / entry["path"]
        if not path.is_file() or path.is_symlink():
            raise SnapshotRefused(f"{path} is missing from the snapshot")
        size = path.stat().st_size
        if size != entry["size"]:
            raise SnapshotRefused(f"{path}: {size} bytes, the manifest says {entry['size']}: altered or damaged")
        if sha256_file(path) != entry["sha256"]:
            raise SnapshotRefused(f"{path}: its sha256 does not match the manifest: altered or damaged")
    known = set(listed) | {MANIFEST_FILE, SUMS_FILE}
    for path in sorted(p for p in src.rglob("*") if p.is_file() or p.is_symlink()):
        if path.relative_to(src).as_posix() not in known:
            raise SnapshotRefused(f"{path} is not in the snapshot's manifest: added after the backup")
    say(f"all {len(files)} checksums match")
    return manifest


def check_empty_target(target: Path) -> None:
    if target.is_symlink() or (target.exists() and not target.is_dir()):
        raise SnapshotRefused(f"{target} exists and is not a folder; restore needs a new or empty data directory")
    if target.is_dir() and any(target.iterdir()):
        raise SnapshotRefused(
            f"{target} exists and is not empty; restore writes only into a new or empty data directory"
        )


def landing_plan(listing: dict[str, Any], landing_from: Path, say) -> list[tuple[Path, str, dict]]:
    """Every file of a complete delivery in landing.json, found in ``landing_from`` with its
    sha256 (checked now, before anything is written)."""
    plan = []
    wanted = [f for f in listing["files"] if f.get("complete", True)]
    say(f"checking {len(wanted)} landing files in {landing_from} against {LANDING_FILE}")
    for item in wanted:
        rel = item["path"]
        if not safe_rel(f"{DATA}/{rel}"):
            raise SnapshotRefused(f"{LANDING_FILE} names an unsafe path {rel!r}")
        path = landing_from / rel
        if not path.is_file():
            raise SnapshotRefused(f"{path} is missing: {LANDING_FILE} lists it (delivery {item['delivery']})")
        if path.stat().st_size != item["size"] or sha256_file(path) != item["sha256"]:
            raise SnapshotRefused(f"{path}: its sha256 does not match {LANDING_FILE}: not the delivery backed up")
        plan.append((path, f"landing/{rel}", item))
    return plan


def restore_file(src: Path, dst: Path, entry: dict[str, Any]) -> int:
    size, sha = copy_hashing(src, dst, 0o600)
    if sha != entry["sha256"]:
        raise BackupError(f"{src} changed during the restore (its sha256 no longer matches); nothing was restored")
    mode = int(str(entry.get("mode", "600")), 8) & 0o777
    os.chmod(dst, mode | 0o600)
    if "mtime_ns" in entry:
        os.utime(dst, ns=(entry["mtime_ns"], entry["mtime_ns"]))
    return size
