"""Loading a delivery into the warehouse: the raw tables' names and types, the identity
each table carries, and the validation that parses straight into the warehouse.

The contract (``orchestration.contract``) decides whether a delivery may be used and
creates no warehouse table. To read a valid delivery only once, ``load_delivery`` lets the
validation parse the file into ``raw."incoming__<period>__<insurer>"`` of the warehouse
(:class:`IncomingTable`); when the delivery is accepted the table stays, labelled with
whose lines it holds (``table_identity``), and ``raw_tables.record_delivery`` makes it the
delivery in force by a rename. A rejected delivery leaves no table behind.
"""

from __future__ import annotations

import json
from typing import Any

import duckdb

from orchestration.delivery.contract import (
    ContractVerdict,
    ParsedLines,
    column_type,
    sql_literal,
    validate_delivery,
)
from orchestration.landing.zone import DeliveryRef

INCOMING_PREFIX = "incoming__"  # raw.incoming__<period>__<insurer>: typed rows of an accepted delivery


def raw_table(name: str) -> str:
    """The qualified, quoted name of table ``name`` in the warehouse's raw schema."""
    return 'raw."' + name.replace('"', '""') + '"'


def raw_column_type(column: str) -> str:
    """The type a claim column has in the warehouse: the contract's (``contract.column_type``)."""
    return column_type(column)


def incoming_table(ref: DeliveryRef) -> str:
    """Where the typed rows of ``ref`` land before they are made the delivery in force."""
    return raw_table(f"{INCOMING_PREFIX}{ref.period}__{ref.insurer}")


def table_identity(period: str, insurer: str, delivery_id: str, blank_lines: tuple[int, ...] = ()) -> str:
    """The comment that says whose claim lines a typed table holds (JSON), and the blank
    lines of its file when it had any (``source_line_sql`` needs them)."""
    identity: dict[str, Any] = {"period": period, "insurer": insurer, "delivery_id": delivery_id}
    if blank_lines:
        identity["blank_lines"] = sorted(blank_lines)
    return json.dumps(identity, sort_keys=True)


def label_table(
    con, table: str, period: str, insurer: str, delivery_id: str, blank_lines: tuple[int, ...] = ()
) -> None:
    """Write ``table_identity`` on ``table``: ``raw.claims`` reads it from there."""
    identity = table_identity(period, insurer, delivery_id, blank_lines)
    con.execute(f"comment on table {table} is {sql_literal(identity)}")


class IncomingTable(ParsedLines):
    """The validation's one parse goes into the warehouse's incoming table of the delivery;
    accepted, the table stays (labelled) for ``raw_tables.record_delivery``."""

    def __init__(self, con: duckdb.DuckDBPyConnection, ref: DeliveryRef):
        super().__init__(con, incoming_table(ref))

    def prepare(self) -> None:
        self.con.execute("create schema if not exists raw")
        self.con.execute(f"drop table if exists {self.table}")

    def create(self, select: str) -> None:
        self.con.execute(f"create table {self.table} as {select}")

    def drop(self) -> None:
        if self.con.execute("select count(*) from duckdb_schemas() where schema_name = 'raw'").fetchone()[0]:
            self.con.execute(f"drop table if exists {self.table}")

    def accept(self, ref: DeliveryRef, blank_lines: tuple[int, ...]) -> None:
        label_table(self.con, self.table, ref.period, ref.insurer, ref.delivery_id, blank_lines)


def load_delivery(con: duckdb.DuckDBPyConnection, ref: DeliveryRef) -> ContractVerdict:
    """Validate ``ref``, parsing its lines once into ``incoming_table(ref)`` of ``con``; on
    acceptance they stay there until ``raw_tables.record_delivery`` makes them the delivery
    in force (on rejection no table is left)."""
    return validate_delivery(ref, IncomingTable(con, ref))


__all__ = [
    "INCOMING_PREFIX",
    "IncomingTable",
    "incoming_table",
    "label_table",
    "load_delivery",
    "raw_column_type",
    "raw_table",
    "table_identity",
]
