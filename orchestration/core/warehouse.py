"""The warehouse: one DuckDB file under the data directory.

DuckDB allows one writing process per database file. Every writer (ingestion, the
gates, dbt, sign-off bookkeeping) therefore takes ``warehouse.lock`` first, so two
runs that write at the same time serialise instead of corrupting anything; a writer
that cannot get the lock in time fails with :class:`WarehouseBusy`, whose message says
it is safe to retry. Readers open the file read-only.

What the tables hold is each stage's business: the raw tables are the delivery
stage's (``delivery/raw_tables.py``), the gate log the gates', the marts dbt's.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from orchestration.core.locks import LockTimeout, file_lock
from orchestration.core.settings import SpiegelPaths, duckdb_memory_limit


class WarehouseBusy(LockTimeout):
    """Another process holds the warehouse; retrying later is safe."""


def _restrict_permissions(path: Path) -> None:
    """The data directory holds pseudonymised health data: owner-only access."""
    try:
        os.chmod(path, 0o700 if path.is_dir() else 0o600)
    except OSError:
        pass


def ensure_data_dir(paths: SpiegelPaths) -> None:
    paths.data_dir.mkdir(parents=True, exist_ok=True)
    _restrict_permissions(paths.data_dir)


def has_table(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    """Whether the warehouse has ``schema.table`` (a table or a view): the one check every
    reader of an optional table (the gate log, the raw deliveries, the marts) uses."""
    return bool(
        con.execute(
            "select count(*) from information_schema.tables where table_schema = ? and table_name = ?", [schema, table]
        ).fetchone()[0]
    )


@contextmanager
def write_lock(paths: SpiegelPaths, timeout: float | None = None, shared: bool = False) -> Iterator[None]:
    """Hold the cross-process warehouse lock (waits up to ``timeout`` seconds, default
    ``SPIEGEL_LOCK_TIMEOUT``, then raises :class:`WarehouseBusy` naming the holder).

    Writers hold it exclusively; readers share it (DuckDB lets several processes read a
    file, but none while one writes).
    """
    ensure_data_dir(paths)
    with file_lock(
        paths.warehouse_lock, f"the warehouse {paths.warehouse}", timeout, shared=shared, busy=WarehouseBusy
    ):
        yield


def _connect(path: Path, read_only: bool) -> duckdb.DuckDBPyConnection:
    """A connection to the warehouse file (no lock taken: the caller holds ``write_lock``)."""
    try:
        return duckdb.connect(str(path), read_only=read_only, config={"memory_limit": duckdb_memory_limit()})
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise WarehouseBusy(
                f"the warehouse {path} is in use by another process; nothing was changed, retry shortly "
                f"({str(exc).splitlines()[0][:160]})"
            ) from exc
        raise


@contextmanager
def connect_write(paths: SpiegelPaths, timeout: float | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-write connection, holding the warehouse lock for its whole life."""
    with write_lock(paths, timeout):
        con = _connect(paths.warehouse, read_only=False)
        try:
            yield con
        finally:
            con.close()
            _restrict_permissions(paths.warehouse)


def connect_locked(paths: SpiegelPaths, read_only: bool = True) -> duckdb.DuckDBPyConnection:
    """A connection for a caller that already holds ``write_lock`` (shared for
    ``read_only``): ``publish`` keeps the lock across its reads and its own file lock, the
    Spark engine across dbt's run and the load back. The caller closes it."""
    return _connect(paths.warehouse, read_only=read_only)


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


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Run the block in one transaction: committed when it ends, rolled back when it raises."""
    con.execute("begin transaction")
    try:
        yield
    except Exception:
        con.execute("rollback")
        raise
    con.execute("commit")
