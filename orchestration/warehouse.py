"""The warehouse: one DuckDB file under the data directory.

DuckDB allows one writing process per database file. Every writer (ingestion, the
gates, dbt, sign-off bookkeeping) therefore takes ``warehouse.lock`` first, so two
runs that write at the same time serialise instead of corrupting anything; a writer
that cannot get the lock in time fails with :class:`WarehouseBusy`, whose message says
it is safe to retry. Readers open the file read-only.

Loading an accepted delivery replaces that (period, insurer)'s rows in one
transaction: a crash leaves either the old rows or the new ones, never a mix.
"""
from __future__ import annotations

import fcntl
import os
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

import duckdb

from orchestration.config import SpiegelPaths, duckdb_memory_limit
from orchestration.contract import CLAIM_COLUMNS, STAGING_TABLE, ContractVerdict

LOCK_TIMEOUT_SECONDS = float(os.environ.get("SPIEGEL_LOCK_TIMEOUT", "900"))


class WarehouseBusy(RuntimeError):
    """Another process holds the warehouse; retrying later is safe."""


RAW_SCHEMA_SQL = """
create schema if not exists raw;
create table if not exists raw.claims (
    period varchar not null,
    insurer varchar not null,
    delivery_id varchar not null,
    source_line bigint not null,
    claim_id varchar not null,
    original_claim_id varchar,
    uzovi varchar,
    practice_agb varchar,
    therapist_agb varchar,
    patient_id varchar not null,
    birth_date date,
    sex varchar,
    service_date date,
    code_list varchar,
    prestatie_code varchar,
    dcsph_code varchar,
    indication_code varchar,
    coverage varchar,
    claimed_amount decimal(18, 2),
    paid_amount decimal(18, 2),
    processed_date date
);
create table if not exists raw.deliveries (
    period varchar not null,
    insurer varchar not null,
    delivery_id varchar not null,
    status varchar not null,
    file_name varchar,
    sha256 varchar,
    row_count bigint,
    paid_amount_total decimal(18, 2),
    period_start date,
    period_end date,
    cutoff_date date,
    rejection_rule varchar,
    rejection_message varchar,
    ingested_at timestamp not null
);
create table if not exists raw.delivery_log (
    period varchar not null,
    insurer varchar not null,
    delivery_id varchar not null,
    status varchar not null,
    sha256 varchar,
    row_count bigint,
    rejection_rule varchar,
    rejection_message varchar,
    ingested_at timestamp not null
);
"""


def _restrict_permissions(path: Path) -> None:
    """The data directory holds pseudonymised health data: owner-only access."""
    try:
        os.chmod(path, 0o700 if path.is_dir() else 0o600)
    except OSError:
        pass


def ensure_data_dir(paths: SpiegelPaths) -> None:
    paths.data_dir.mkdir(parents=True, exist_ok=True)
    _restrict_permissions(paths.data_dir)


@contextmanager
def write_lock(paths: SpiegelPaths, timeout: float = LOCK_TIMEOUT_SECONDS, shared: bool = False) -> Iterator[None]:
    """Hold the cross-process warehouse lock (waits up to ``timeout`` seconds).

    Writers hold it exclusively; readers share it (DuckDB lets several processes read a
    file, but none while one writes).
    """
    ensure_data_dir(paths)
    with open(paths.warehouse_lock, "a+") as handle:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise WarehouseBusy(
                        f"the warehouse {paths.warehouse} is busy: another Spiegel run has been writing for more "
                        f"than {timeout:.0f} s; nothing was changed, retry when it has finished") from None
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _connect(path: Path, read_only: bool) -> duckdb.DuckDBPyConnection:
    try:
        return duckdb.connect(str(path), read_only=read_only, config={"memory_limit": duckdb_memory_limit()})
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise WarehouseBusy(
                f"the warehouse {path} is in use by another process; nothing was changed, retry shortly "
                f"({str(exc).splitlines()[0][:160]})") from exc
        raise


@contextmanager
def connect_write(paths: SpiegelPaths, timeout: float = LOCK_TIMEOUT_SECONDS) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-write connection, holding the warehouse lock for its whole life."""
    with write_lock(paths, timeout):
        con = _connect(paths.warehouse, read_only=False)
        try:
            con.execute(RAW_SCHEMA_SQL)
            yield con
        finally:
            con.close()
            _restrict_permissions(paths.warehouse)


@contextmanager
def connect_read(paths: SpiegelPaths) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection; waits for a writer to finish (DuckDB refuses readers meanwhile)."""
    if not paths.warehouse.exists():
        with connect_write(paths):
            pass
    with write_lock(paths, shared=True):
        con = _connect(paths.warehouse, read_only=True)
        try:
            yield con
        finally:
            con.close()


def record_delivery(con: duckdb.DuckDBPyConnection, verdict: ContractVerdict) -> None:
    """Make ``verdict``'s delivery the one in force for its (period, insurer).

    Accepted: its rows replace the previous ones. Rejected: the previous rows are
    removed too, because the delivery in force is the newest one and it is not usable;
    the release stays blocked until a valid delivery lands.
    """
    ref = verdict.ref
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    manifest = verdict.manifest or {}
    status = "accepted" if verdict.accepted else "rejected"
    rule = None if verdict.accepted else verdict.first_rule
    message = None if verdict.accepted else verdict.error_text()
    con.execute("begin transaction")
    try:
        con.execute("delete from raw.claims where period = ? and insurer = ?", [ref.period, ref.insurer])
        con.execute("delete from raw.deliveries where period = ? and insurer = ?", [ref.period, ref.insurer])
        if verdict.accepted:
            columns = ", ".join(CLAIM_COLUMNS)
            select = ", ".join(
                f"cast({c} as date)" if c in ("birth_date", "service_date", "processed_date")
                else f"cast({c} as decimal(18, 2))" if c in ("claimed_amount", "paid_amount")
                else c
                for c in CLAIM_COLUMNS
            )
            con.execute(
                f"insert into raw.claims (period, insurer, delivery_id, source_line, {columns}) "
                f"select ?, ?, ?, rowid + 2, {select} from {STAGING_TABLE} order by rowid",
                [ref.period, ref.insurer, ref.delivery_id],
            )
        con.execute(
            "insert into raw.deliveries values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [ref.period, ref.insurer, ref.delivery_id, status,
             verdict.data_file.name if verdict.data_file else None, verdict.sha256, verdict.row_count,
             verdict.paid_amount_total,
             manifest.get("period_start") if verdict.accepted else None,
             manifest.get("period_end") if verdict.accepted else None,
             manifest.get("cutoff_date") if verdict.accepted else None,
             rule, message, now],
        )
        con.execute(
            "insert into raw.delivery_log values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [ref.period, ref.insurer, ref.delivery_id, status, verdict.sha256, verdict.row_count, rule, message, now],
        )
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    finally:
        con.execute(f"drop table if exists {STAGING_TABLE}")


def record_missing(con: duckdb.DuckDBPyConnection, period: str, insurer: str) -> None:
    """No complete delivery is in force: remove any stale rows for (period, insurer)."""
    con.execute("begin transaction")
    con.execute("delete from raw.claims where period = ? and insurer = ?", [period, insurer])
    con.execute("delete from raw.deliveries where period = ? and insurer = ?", [period, insurer])
    con.execute("commit")


def deliveries_in_warehouse(con: duckdb.DuckDBPyConnection, period: str) -> list[dict]:
    rows = con.execute(
        "select insurer, delivery_id, status, sha256, row_count, cast(paid_amount_total as varchar), "
        "rejection_rule, rejection_message from raw.deliveries where period = ? order by insurer",
        [period],
    ).fetchall()
    keys = ("insurer", "delivery_id", "status", "sha256", "row_count", "paid_amount_total",
            "rejection_rule", "rejection_message")
    return [dict(zip(keys, r)) for r in rows]
