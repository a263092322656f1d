"""``spiegel backup`` and ``spiegel restore`` (docs/backup.md).

On a copy of the clean period (``clean_release``: run, signed off, published with a PDF
report), with a portal account granted one practice:

- backup, then restore into a new data directory: ``spiegel status`` (text and JSON) is the
  same, the sign-off log and every release file are byte-identical, the gate log and the
  Dagster runs are there, and the portal served on the restored directory hands the granted
  account the same PDF, byte for byte, as the original's;
- one altered byte in any file of the snapshot (the manifest and the checksum list too): the
  restore is refused naming the file, and nothing is written;
- landing/: listed in landing.json with the right sha256 and not copied; copied with
  --with-landing; restore --landing-from checks a copy taken elsewhere;
- the sign-off lock: a backup waits while another process holds it (and copies the whole
  line afterwards), or gives up after --lock-timeout with a message naming the lock;
- PostgreSQL (a throwaway cluster): pg_dump at backup, pg_restore into an empty target,
  refused into a non-empty one.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.cookiejar
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import duckdb
import pytest

from orchestration import cli
from orchestration.core import backup as snapshots
from orchestration.core.settings import SpiegelPaths
from orchestration.release import backup
from tests.support.served import REPO_ROOT, served_portal, spiegel_portal_batch

PERIOD = "2024-v1"
EMAIL = "praktijkhouder@praktijk.example"
PASSWORD = "Backup-wachtwoord-2024"
# the tests use SQLite for the portal and the Dagster instance whatever CI configured; the
# PostgreSQL path has its own test below
DATABASE_ENV = ("SPIEGEL_PORTAL_DATABASE_URL", "SPIEGEL_DAGSTER_DATABASE_URL", "SPIEGEL_DAGSTER_HOME")


@contextlib.contextmanager
def sqlite_only():
    saved = {key: os.environ.pop(key) for key in DATABASE_ENV if key in os.environ}
    try:
        yield
    finally:
        os.environ.update(saved)


def env() -> dict[str, str]:
    drop = {"SPIEGEL_DATA_DIR", "DAGSTER_HOME", "DJANGO_SETTINGS_MODULE", *DATABASE_ENV}
    return {**{k: v for k, v in os.environ.items() if k not in drop}, "PYTHONPATH": str(REPO_ROOT)}


def spiegel(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """The real CLI in a subprocess (status imports Dagster for its data directory)."""
    return subprocess.run(
        [sys.executable, "-m", "orchestration.cli", *args],
        cwd=REPO_ROOT,
        env=env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def status(data: Path) -> tuple[str, dict]:
    text = spiegel("status", "--data-dir", str(data))
    assert text.returncode == 0, text.stderr
    as_json = spiegel("status", "--json", "--data-dir", str(data))
    assert as_json.returncode == 0, as_json.stderr
    return text.stdout, json.loads(as_json.stdout)


def digests(root: Path) -> dict[str, str]:
    """sha256 of every file under ``root`` but the lock files (made again on first use)."""
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.name.endswith(".lock")
    }


def take_backup(data: Path, dest: Path, *flags: str) -> Path:
    done = spiegel("backup", str(dest), "--data-dir", str(data), *flags)
    assert done.returncode == 0, done.stderr
    snapshot = Path(done.stdout.strip().splitlines()[-1])
    assert snapshot.parent == dest and snapshot.name.startswith("spiegel-backup-"), done.stdout
    assert "backup: snapshot complete" in done.stderr  # progress on stderr, the path alone on stdout
    return snapshot


def restore_in_process(capsys, *args: str) -> tuple[int, str]:
    """``spiegel restore`` through cli.main (it needs neither Dagster nor Django)."""
    capsys.readouterr()
    with sqlite_only():
        code = cli.main(["restore", *args])
    return code, capsys.readouterr().err


# -- a published data directory with a portal account -------------------------------------------


@pytest.fixture(scope="module")
def published(clean_release, tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("backup_source")
    data = root / "data"
    shutil.copytree(clean_release["data"], data, symlinks=True)
    release = data / "releases" / PERIOD / "r1"
    pdfs = sorted((release / "reports" / "fysiotherapie").glob("*.pdf"))
    assert pdfs, "the clean release has a PDF report"
    agb = pdfs[0].stem
    with sqlite_only():
        created, granted = spiegel_portal_batch(
            data,
            [
                (["add-account", "--email", EMAIL, "--name", "Praktijkhouder"], PASSWORD + "\n"),
                (["grant", "--agb", agb, "--email", EMAIL], None),
            ],
        )
    assert created.returncode == 0, created.stderr
    assert granted.returncode == 0, granted.stderr
    assert (data / "portal" / "portal.sqlite3").is_file() and (data / "portal" / "secret_key").is_file()
    return {"data": data, "agb": agb, "pdf": pdfs[0], "root": root}


@pytest.fixture(scope="module")
def snapshot(published, tmp_path_factory) -> Path:
    """A snapshot without the deliveries (the default)."""
    return take_backup(published["data"], tmp_path_factory.mktemp("backups"))


# -- the round trip ------------------------------------------------------------------------------


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def log_in(base: str):
    """An opener logged in with the login form, as a browser does (sessions are per process)."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), _NoRedirect())
    with opener.open(base + "/accounts/login/", timeout=30) as response:
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', response.read().decode())[1]
    form = urllib.parse.urlencode({"login": EMAIL, "password": PASSWORD, "csrfmiddlewaretoken": token}).encode()
    request = urllib.request.Request(
        base + "/accounts/login/", data=form, headers={"Referer": base + "/accounts/login/"}
    )
    with pytest.raises(urllib.error.HTTPError) as redirect:
        opener.open(request, timeout=30)
    assert redirect.value.code == 302, redirect.value.read()[:500]
    return opener


def download(base: str, path: str) -> bytes:
    opener = log_in(base)
    with opener.open(base + path, timeout=60) as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "application/pdf"
        return response.read()


def test_restore_gives_the_same_status_sign_offs_releases_and_report_downloads(published, snapshot, tmp_path):
    data = published["data"]
    manifest = json.loads((snapshot / "MANIFEST.json").read_text())
    assert manifest["source_data_dir"] == str(data) and manifest["with_landing"] is False
    assert manifest["parts"]["releases"]["revisions"] == [f"releases/{PERIOD}/r1"]
    assert manifest["parts"]["signoffs"]["signoffs"] == 1
    assert manifest["parts"]["portal"]["database"] == "sqlite"
    assert manifest["parts"]["dagster"]["sqlite_databases"] >= 3  # runs, schedules, an event log per run
    assert manifest["parts"]["gate_results"]["rows"]["quality.gate_results"] > 0
    assert not list((snapshot / "data").glob("landing"))
    # coreutils verify it too, without Spiegel
    sums = subprocess.run(
        ["sha256sum", "--check", "--quiet", "SHA256SUMS"], cwd=snapshot, capture_output=True, text=True
    )
    assert sums.returncode == 0, sums.stdout + sums.stderr

    new = tmp_path / "restored"
    done = spiegel("restore", str(snapshot), "--data-dir", str(new), "--landing-from", str(data / "landing"))
    assert done.returncode == 0, done.stderr
    assert "checksums match" in done.stderr

    original_text, original_json = status(data)
    restored_text, restored_json = status(new)
    assert restored_text == original_text
    assert restored_json == original_json
    assert original_json["periods"][0]["signoff"]["by"] == "anna"
    assert original_json["periods"][0]["revisions"] == ["r1"] and original_json["periods"][0]["verdict"] == "pass"

    assert (new / "signoffs.jsonl").read_bytes() == (data / "signoffs.jsonl").read_bytes()
    assert digests(new / "releases") == digests(data / "releases")
    assert digests(new / "landing") == digests(data / "landing")
    for name in ("secret_key", "password_pepper", "mfa_key"):  # without these no password or second factor works
        assert (new / "portal" / name).read_bytes() == (data / "portal" / name).read_bytes(), name
        assert (new / "portal" / name).stat().st_mode & 0o777 == 0o600, name
    assert oct(new.stat().st_mode & 0o777) == "0o700"

    def gate_log(path: Path):
        con = duckdb.connect(str(path), read_only=True)
        try:
            return con.execute("select * from quality.gate_results order by evaluated_at, suite, insurer").fetchall()
        finally:
            con.close()

    assert gate_log(new / "warehouse.duckdb") == gate_log(data / "warehouse.duckdb")

    def runs(home: Path):
        con = sqlite3.connect(str(home / "history" / "runs.db"))
        try:
            return con.execute("select run_id, status from runs order by run_id").fetchall()
        finally:
            con.close()

    assert runs(new / "dagster_home") == runs(data / "dagster_home") != []

    url = f"/praktijk/{published['agb']}/{PERIOD}/fysiotherapie.pdf"
    with sqlite_only():
        with served_portal(data, workers=1) as base:
            original_pdf = download(base, url)
        with served_portal(new, workers=1) as base:
            restored_pdf = download(base, url)
    assert restored_pdf == original_pdf == published["pdf"].read_bytes()


def test_the_deliveries_are_listed_with_their_checksums_and_copied_only_with_landing(published, snapshot, tmp_path):
    landing = published["data"] / "landing"
    on_disk = digests(landing)
    assert on_disk
    listing = json.loads((snapshot / "landing.json").read_text())
    assert listing["copied"] is False and listing["deliveries"] == 7 and listing["uploads_in_progress"] == []
    assert {f["path"]: f["sha256"] for f in listing["files"]} == on_disk
    assert all(f["complete"] and f["delivery"].startswith(f"{PERIOD}/") for f in listing["files"])
    assert not (snapshot / "data" / "landing").exists()

    with_landing = take_backup(published["data"], tmp_path / "backups", "--with-landing")
    assert json.loads((with_landing / "MANIFEST.json").read_text())["with_landing"] is True
    assert digests(with_landing / "data" / "landing") == on_disk
    assert {f["path"]: f["sha256"] for f in json.loads((with_landing / "landing.json").read_text())["files"]} == on_disk
    new = tmp_path / "restored"
    done = spiegel("restore", str(tmp_path / "backups"), "--data-dir", str(new))  # the newest snapshot in it
    assert done.returncode == 0, done.stderr
    assert digests(new / "landing") == on_disk

    # without the deliveries and without --landing-from: restored, and told what is missing
    bare = tmp_path / "bare"
    done = spiegel("restore", str(snapshot), "--data-dir", str(bare))
    assert done.returncode == 0, done.stderr
    assert "landing/ is not in the snapshot" in done.stderr and not (bare / "landing").exists()

    # --landing-from with one delivery file altered: refused, naming it, nothing written
    elsewhere = tmp_path / "elsewhere"
    shutil.copytree(landing, elsewhere)
    victim = sorted(p for p in elsewhere.rglob("claims.csv*"))[0]
    victim.write_bytes(victim.read_bytes()[:-1] + b"X")
    done = spiegel("restore", str(snapshot), "--data-dir", str(tmp_path / "never"), "--landing-from", str(elsewhere))
    assert done.returncode == 1
    assert str(victim) in done.stderr and "landing.json" in done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith("spiegel restore: ")
    assert not (tmp_path / "never").exists()


# -- tampering -----------------------------------------------------------------------------------


def _flip(path: Path, offset: int) -> None:
    with open(path, "r+b") as handle:
        handle.seek(offset)
        byte = handle.read(1)
        handle.seek(offset)
        handle.write(bytes([byte[0] ^ 0x01]))


def test_one_altered_byte_in_any_file_of_the_snapshot_is_refused(snapshot, tmp_path, capsys):
    files = sorted(p for p in snapshot.rglob("*") if p.is_file())
    kinds = {
        "MANIFEST.json": "MANIFEST.json",
        "SHA256SUMS": "SHA256SUMS",
        "landing.json": "landing.json",
        "data/signoffs.jsonl": "signoffs.jsonl",
        "data/warehouse.duckdb": "warehouse.duckdb",
        "data/portal/portal.sqlite3": "portal.sqlite3",
        "data/portal/secret_key": "secret_key",
        "data/dagster_home/history/runs.db": "runs.db",
        "gate_results/quality.gate_results.parquet": "quality.gate_results.parquet",
    }
    chosen = [snapshot / rel for rel in kinds]
    chosen += [p for p in files if p.suffix == ".pdf"][:1] + [p for p in files if p.name == "release.json"][:1]
    assert all(p.is_file() for p in chosen), [p for p in chosen if not p.is_file()]
    new = tmp_path / "new"
    new.mkdir()  # an empty folder may be the target: it stays empty on refusal
    for path in chosen:
        size = path.stat().st_size
        for offset in (0, size // 2, size - 1):
            _flip(path, offset)
            try:
                code, err = restore_in_process(capsys, str(snapshot), "--data-dir", str(new))
            finally:
                _flip(path, offset)
            assert code == 1, (path, offset, err)
            line = err.strip().splitlines()[-1]
            assert line.startswith("spiegel restore: ") and path.name in line, (path, offset, err)
            assert list(new.iterdir()) == []
            assert not list(tmp_path.glob(".new.restoring-*"))
    # a file added to the snapshot, or a file gone: refused too
    extra = snapshot / "data" / "releases" / "extra.txt"
    extra.write_text("not backed up")
    try:
        code, err = restore_in_process(capsys, str(snapshot), "--data-dir", str(new))
    finally:
        extra.unlink()
    assert code == 1 and "extra.txt" in err and "not in the snapshot's manifest" in err
    # untouched again, it verifies and restores
    code, err = restore_in_process(capsys, str(snapshot), "--verify-only")
    assert code == 0, err
    code, err = restore_in_process(capsys, str(snapshot), "--data-dir", str(new))
    assert code == 0, err
    assert (new / "signoffs.jsonl").is_file()
    # and a data directory that is not empty is never written into
    code, err = restore_in_process(capsys, str(snapshot), "--data-dir", str(new))
    assert code == 1 and "is not empty" in err


# -- the sign-off lock ---------------------------------------------------------------------------

HOLDER = r"""
import json, sys
from pathlib import Path
from orchestration.core.locks import file_lock
from orchestration.core.settings import SpiegelPaths
from orchestration.release.signoff import signoff_lock_path
paths = SpiegelPaths(Path(sys.argv[1]))
line = json.dumps({"period": "2024-v1", "by": "bram", "comment": "half written, then finished"}) + "\n"
with file_lock(signoff_lock_path(paths), "the sign-off log"):
    with open(paths.signoffs, "a", encoding="utf-8") as f:
        f.write(line[:20]); f.flush()
        print("HOLDING", flush=True)
        sys.stdin.readline()
        f.write(line[20:]); f.flush()
"""


@contextlib.contextmanager
def lock_holder(data: Path):
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(data)],
        cwd=REPO_ROOT,
        env=env(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout.readline().strip() == "HOLDING"
        yield process
    finally:
        if process.poll() is None:
            process.stdin.write("\n")
            process.stdin.flush()
        process.wait(timeout=30)


def small_data_dir(tmp_path: Path) -> SpiegelPaths:
    paths = SpiegelPaths(tmp_path / "data")
    paths.data_dir.mkdir()
    paths.signoffs.write_text(json.dumps({"period": "2023-v3", "by": "anna", "comment": "first"}) + "\n")
    return paths


def test_a_backup_waits_for_the_sign_off_lock_and_copies_whole_lines(tmp_path):
    paths = small_data_dir(tmp_path)
    dest = tmp_path / "backups"
    outcome: dict = {}

    def run_backup():
        try:
            outcome["result"] = backup.backup(
                paths, dest, databases=snapshots.Databases(paths.dagster_home), lock_timeout=60
            )
        except Exception as exc:  # pragma: no cover - reported below
            outcome["error"] = exc

    with lock_holder(paths.data_dir) as holder:
        worker = threading.Thread(target=run_backup)
        worker.start()
        time.sleep(1.5)
        assert worker.is_alive(), outcome  # waiting for the lock, not copying half a line
        assert [p.name for p in dest.iterdir() if not p.name.startswith(".")] == []
        holder.stdin.write("\n")
        holder.stdin.flush()
        holder.wait(timeout=30)
        worker.join(timeout=60)
    assert "error" not in outcome, outcome
    snap = outcome["result"].path
    copied = (snap / "data" / "signoffs.jsonl").read_text()
    assert copied == paths.signoffs.read_text()
    assert [json.loads(line)["by"] for line in copied.splitlines()] == ["anna", "bram"]
    assert snapshots.verify_snapshot(snap)["parts"]["signoffs"]["signoffs"] == 2


def test_a_backup_gives_up_on_a_held_sign_off_lock_with_a_clear_message(tmp_path, capsys):
    paths = small_data_dir(tmp_path)
    dest = tmp_path / "backups"
    with lock_holder(paths.data_dir) as holder:
        capsys.readouterr()
        started = time.monotonic()
        with sqlite_only():
            code = cli.main(["backup", str(dest), "--data-dir", str(paths.data_dir), "--lock-timeout", "1"])
        err = capsys.readouterr().err
        assert time.monotonic() - started < 30
        line = err.strip().splitlines()[-1]
        assert code == 1, err
        assert line.startswith("spiegel backup: the sign-off log") and ".signoff.lock" in line, line
        assert f"pid {holder.pid}" in line and "retrying is safe" in line
    assert list(dest.iterdir()) == []  # neither a snapshot nor its partial folder


def test_a_backup_copies_the_alerts_sent_log_only_under_its_lock(tmp_path, capsys):
    """An alert is sent and recorded under alerts/.sent.lock: a backup that found the log
    between the two would restore a service that sends that alert again."""
    from orchestration.core.alert_files import sent_lock_path, sent_log_path
    from orchestration.core.locks import file_lock

    paths = small_data_dir(tmp_path)
    dest = tmp_path / "backups"
    sent_log_path(paths).parent.mkdir(parents=True)
    sent_log_path(paths).write_text('{"key": "gate_blocked:vgz:2024-v1"}\n', encoding="utf-8")
    argv = ["backup", str(dest), "--data-dir", str(paths.data_dir), "--lock-timeout", "1"]
    with file_lock(sent_lock_path(paths), "an alert being sent"), sqlite_only():
        capsys.readouterr()
        code = cli.main(argv)
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert code == 1 and line.startswith("spiegel backup: the alerts' sent log") and ".sent.lock" in line, line
    assert list(dest.iterdir()) == []
    with sqlite_only():
        assert cli.main(argv) == 0
    (snapshot,) = dest.iterdir()
    assert (snapshot / "data" / "alerts" / "sent.jsonl").read_bytes() == sent_log_path(paths).read_bytes()


# -- PostgreSQL ----------------------------------------------------------------------------------


def test_postgresql_databases_are_dumped_and_restored_only_into_an_empty_target(tmp_path):
    from tests.support.pg_cluster import postgres_bin, throwaway_cluster

    if postgres_bin() is None:
        pytest.fail("PostgreSQL is not installed (scripts/setup.sh installs it)")
    psql = snapshots.postgres_tool("psql")

    def sql(url: str, statement: str) -> str:
        conn, extra = snapshots.libpq_url(url)
        done = subprocess.run(
            [psql, "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", f"--dbname={conn}", "-c", statement],
            env={**os.environ, **extra},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    with throwaway_cluster() as url:
        sql(
            url,
            "create table grants (agb text primary key, email text); insert into grants values ('04000001', 'a@b.nl')",
        )
        sql(url, "create database portal_restored")
        sql(url, "create database dagster_restored")
        socket_dir = urllib.parse.unquote(urllib.parse.urlsplit(url).netloc.split("@", 1)[1])
        # the Dagster instance's URL as runs/instance.py wants it (SQLAlchemy, a Unix socket)
        dagster_url = f"postgresql+psycopg2://postgres@/spiegel_portal?host={socket_dir}"
        paths = small_data_dir(tmp_path)
        result = backup.backup(
            paths,
            tmp_path / "backups",
            databases=snapshots.Databases(paths.dagster_home, dagster_url=dagster_url, portal_url=url),
        )
        manifest = snapshots.verify_snapshot(result.path)
        assert manifest["parts"]["portal"]["database"] == "postgresql"
        assert manifest["parts"]["dagster"]["database"] == "postgresql"
        assert (result.path / "postgres" / "portal.dump").is_file() and (
            result.path / "postgres" / "dagster.dump"
        ).is_file()

        # into the source database itself (not empty): refused before anything is written
        with pytest.raises(snapshots.SnapshotRefused, match="restore needs an empty database"):
            backup.restore(
                result.path,
                SpiegelPaths(tmp_path / "refused"),
                databases=snapshots.Databases(tmp_path / "refused" / "dagster_home", portal_url=url),
            )
        assert not (tmp_path / "refused").exists()

        target_portal = url.rsplit("/", 1)[0] + "/portal_restored"
        target_dagster = dagster_url.replace("/spiegel_portal?", "/dagster_restored?")
        restored = backup.restore(
            result.path,
            SpiegelPaths(tmp_path / "new"),
            databases=snapshots.Databases(
                tmp_path / "new" / "dagster_home", dagster_url=target_dagster, portal_url=target_portal
            ),
        )
        assert sql(target_portal, "select agb || ' ' || email from grants") == "04000001 a@b.nl"
        assert sql(target_dagster, "select count(*) from grants") == "1"
        assert (tmp_path / "new" / "signoffs.jsonl").read_bytes() == paths.signoffs.read_bytes()
        assert restored.notes == []

        # no target URL: the rest is restored, and the note says how to restore the dump
        bare = backup.restore(
            result.path,
            SpiegelPaths(tmp_path / "bare"),
            databases=snapshots.Databases(tmp_path / "bare" / "dagster_home"),
        )
        assert any("pg_restore" in note and "SPIEGEL_PORTAL_DATABASE_URL" in note for note in bare.notes)
        assert any("SPIEGEL_DAGSTER_DATABASE_URL" in note for note in bare.notes)


def test_libpq_url_keeps_the_password_off_the_command_line():
    assert snapshots.libpq_url("postgres://spiegel:geheim%21@db.example:5433/portal?sslmode=require") == (
        "postgresql://spiegel@db.example:5433/portal?sslmode=require",
        {"PGPASSWORD": "geheim!"},
    )
    assert snapshots.libpq_url("postgresql+psycopg2://dagster@/runs?host=/run/postgresql") == (
        "postgresql://dagster@/runs?host=/run/postgresql",
        {},
    )
    with pytest.raises(snapshots.BackupError):
        snapshots.libpq_url("mysql://x@y/z")
