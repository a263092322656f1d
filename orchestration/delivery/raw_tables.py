"""The raw tables: what an accepted delivery becomes in the warehouse.

Claim lines live in one table per delivery in force, ``raw."claims__<period>__<insurer>"``,
and ``raw.claims`` is a view over all of them (``source_line`` is the table's row
number plus 2: the rows are stored in file order). Period, insurer and delivery_id are
not stored on every line: each table's comment names them (``loading.table_identity``)
and the view adds them as constants, so a query for one period skips the other
periods' tables without reading them. Why not one big table: a national
year is 45 million lines, and copying them from the validated table into a shared one
(and deleting the previous delivery's rows first) cost more than validating them.
Making a delivery the one in force is a rename inside one transaction (drop the old
table, rename the new one, redefine the view, record the delivery): a crash leaves
either the old rows or the new ones, never a mix.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import duckdb

from orchestration.core.settings import SpiegelPaths
from orchestration.core.warehouse import connect_write, transaction
from orchestration.delivery.contract import CLAIM_COLUMNS, ContractVerdict, source_line_sql, sql_literal
from orchestration.delivery.loading import (
    INCOMING_PREFIX,
    incoming_table,
    label_table,
    raw_column_type,
    raw_table,
)


@contextmanager
def connect_raw(paths: SpiegelPaths, timeout: float | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-write warehouse connection with the raw schema in place and the typed tables
    of a validation killed before it was recorded dropped: what every writer of the raw
    tables (ingestion, repairs, tests) opens."""
    with connect_write(paths, timeout) as con:
        ensure_raw_schema(con)
        drop_incoming_tables(con)
        yield con


CLAIMS_PREFIX = "claims__"


# raw.claims as the view shows it (and the old single table held it)
CLAIMS_VIEW_COLUMNS: tuple[tuple[str, str], ...] = (
    ("period", "varchar"),
    ("insurer", "varchar"),
    ("delivery_id", "varchar"),
    ("source_line", "bigint"),
    *((c, raw_column_type(c)) for c in CLAIM_COLUMNS),
)


RAW_SCHEMA_SQL = """
create schema if not exists raw;
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
-- the practice register in force (docs/register-contract.md; delivery/register.py)
create table if not exists raw.practice_register (
    practice_agb varchar not null,
    practice_name varchar not null,
    place varchar
);
create table if not exists raw.register_deliveries (
    delivery_id varchar not null,
    status varchar not null,
    in_force boolean not null,
    sha256 varchar,
    row_count bigint,
    extract_date date,
    rejection_rule varchar,
    rejection_message varchar,
    judged_at timestamp not null
);
"""


def claims_table(period: str, insurer: str) -> str:
    """The table holding the claim lines of (period, insurer)'s delivery in force."""
    return raw_table(f"{CLAIMS_PREFIX}{period}__{insurer}")


def _claims_tables(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str | None]]:
    """(name, comment) of every per-delivery claims table."""
    return [
        (r[0], r[1])
        for r in con.execute(
            "select table_name, comment from duckdb_tables() where schema_name = 'raw' and starts_with(table_name, ?) "
            "order by table_name",
            [CLAIMS_PREFIX],
        ).fetchall()
    ]


def _claims_branch(name: str, comment: str | None) -> str:
    """One table's lines as raw.claims shows them. A table written before 2026-11-26
    has no identity comment but period, insurer and delivery_id columns."""
    identity = json.loads(comment) if comment else {}
    who = ", ".join(
        f"{sql_literal(identity[k])} as {k}" if identity else k for k in ("period", "insurer", "delivery_id")
    )
    source_line = source_line_sql(tuple(identity.get("blank_lines", ())))
    return f"select {who}, {source_line} as source_line, {', '.join(CLAIM_COLUMNS)} from {raw_table(name)}"


def refresh_claims_view(con: duckdb.DuckDBPyConnection) -> None:
    """(Re)define raw.claims as the union of the per-delivery tables."""
    branches = [_claims_branch(name, comment) for name, comment in _claims_tables(con)]
    if not branches:
        empty = ", ".join(f"cast(null as {t}) as {c}" for c, t in CLAIMS_VIEW_COLUMNS)
        branches = [f"select {empty} where false"]
    con.execute("create or replace view raw.claims as\n" + "\nunion all\n".join(branches))


def _migrate_single_claims_table(con: duckdb.DuckDBPyConnection) -> None:
    """A warehouse of an earlier version kept every line in one table raw.claims: move
    each (period, insurer) into its own table, in source_line order, once."""
    kind = con.execute(
        "select table_type from information_schema.tables where table_schema = 'raw' and table_name = 'claims'"
    ).fetchone()
    if kind is None:
        refresh_claims_view(con)
        return
    if kind[0] != "BASE TABLE":
        return
    with transaction(con):
        for period, insurer, delivery_id in con.execute(
            "select distinct period, insurer, delivery_id from raw.claims"
        ).fetchall():
            con.execute(
                f"create table {claims_table(period, insurer)} as select {', '.join(CLAIM_COLUMNS)} "
                "from raw.claims where period = ? and insurer = ? order by source_line",
                [period, insurer],
            )
            label_table(con, claims_table(period, insurer), period, insurer, delivery_id)
        con.execute("drop table raw.claims")
        refresh_claims_view(con)


def ensure_raw_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(RAW_SCHEMA_SQL)
    _migrate_single_claims_table(con)


def store_claims(con: duckdb.DuckDBPyConnection, period: str, insurer: str, delivery_id: str, relation: str) -> None:
    """Make the rows of ``relation`` (the 17 claim columns, in file order) the claim lines
    of (period, insurer). For tests and repairs; ingestion renames its validated table."""
    select = ", ".join(
        f"cast({c} as {t}) as {c}"
        for c, t in CLAIMS_VIEW_COLUMNS
        if c not in ("period", "insurer", "delivery_id", "source_line")
    )
    con.execute(f"drop table if exists {claims_table(period, insurer)}")
    con.execute(f"create table {claims_table(period, insurer)} as select {select} from {relation}")
    label_table(con, claims_table(period, insurer), period, insurer, delivery_id)
    refresh_claims_view(con)


def _rename_target(table: str) -> str:
    """ALTER TABLE ... RENAME TO takes a bare name."""
    return table.split(".", 1)[1]


def record_delivery(con: duckdb.DuckDBPyConnection, verdict: ContractVerdict) -> None:
    """Make ``verdict``'s delivery (of ``loading.load_delivery`` on ``con``) the one in force
    for its (period, insurer).

    Accepted: its typed table (``loading.incoming_table``) replaces the previous one. Rejected:
    the previous rows are removed too, because the delivery in force is the newest one
    and it is not usable; the release stays blocked until a valid delivery lands.
    """
    ref = verdict.ref
    now = datetime.now(UTC).replace(tzinfo=None)
    manifest = verdict.manifest or {}
    status = "accepted" if verdict.accepted else "rejected"
    rule = None if verdict.accepted else verdict.first_rule
    message = None if verdict.accepted else verdict.error_text()
    target = claims_table(ref.period, ref.insurer)
    incoming = incoming_table(ref)
    try:
        with transaction(con):
            con.execute(f"drop table if exists {target}")
            con.execute("delete from raw.deliveries where period = ? and insurer = ?", [ref.period, ref.insurer])
            if verdict.accepted:
                con.execute(f"alter table {incoming} rename to {_rename_target(target)}")
            refresh_claims_view(con)
            con.execute(
                "insert into raw.deliveries values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    ref.period,
                    ref.insurer,
                    ref.delivery_id,
                    status,
                    verdict.data_file.name if verdict.data_file else None,
                    verdict.sha256,
                    verdict.row_count,
                    verdict.paid_amount_total,
                    manifest.get("period_start") if verdict.accepted else None,
                    manifest.get("period_end") if verdict.accepted else None,
                    manifest.get("cutoff_date") if verdict.accepted else None,
                    rule,
                    message,
                    now,
                ],
            )
            con.execute(
                "insert into raw.delivery_log values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    ref.period,
                    ref.insurer,
                    ref.delivery_id,
                    status,
                    verdict.sha256,
                    verdict.row_count,
                    rule,
                    message,
                    now,
                ],
            )
    finally:
        if verdict.accepted:
            con.execute(f"drop table if exists {incoming}")


def drop_incoming_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Typed tables of a validation that was killed before it was recorded."""
    for (name,) in con.execute(
        "select table_name from duckdb_tables() where schema_name = 'raw' and starts_with(table_name, ?)",
        [INCOMING_PREFIX],
    ).fetchall():
        con.execute(f"drop table if exists {raw_table(name)}")


def record_missing(con: duckdb.DuckDBPyConnection, period: str, insurer: str) -> None:
    """No complete delivery is in force: remove any stale rows for (period, insurer)."""
    with transaction(con):
        con.execute(f"drop table if exists {claims_table(period, insurer)}")
        refresh_claims_view(con)
        con.execute("delete from raw.deliveries where period = ? and insurer = ?", [period, insurer])
