"""The practice register in force (docs/register-contract.md): which delivery under
``landing/_register/`` is in force, and its rows as ``raw.practice_register``.

The newest complete delivery is in force when the contract accepts it. A rejected one is
never used and never blocks anything: the newest *accepted* delivery before it stays in
force, and with none accepted ``raw.practice_register`` is empty (practices are then
addressed by their AGB code). Every delivery judged is recorded in
``raw.register_deliveries`` with its verdict, and the one in force is flagged there.

When: the method's period run (``method/asset.py``) calls :func:`load_register` right
before dbt, so ``spiegel run`` and a run from the Dagster UI or a sensor alike compute
``marts.dim_practices`` with the register in force at that moment. Nothing of the index
reads it. :func:`register_state` gives the same answer without the warehouse (``spiegel
status``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from orchestration.core.warehouse import transaction
from orchestration.delivery.contract.register import RegisterVerdict, validate_register
from orchestration.landing.zone import REGISTER_FOLDER, register_deliveries


@dataclass
class RegisterState:
    """The register in force (an accepted verdict, or None) and every newer delivery, all
    rejected, newest first."""

    in_force: RegisterVerdict | None
    rejected: list[RegisterVerdict] = field(default_factory=list)

    @property
    def newest_id(self) -> str | None:
        """The newest complete delivery considered (the readiness metadata compares it)."""
        if self.rejected:
            return self.rejected[0].ref.delivery_id
        return self.in_force.ref.delivery_id if self.in_force else None

    def summary(self) -> str:
        """In plain words, for ``spiegel status`` and the run's log."""
        if self.in_force is not None:
            text = (
                f"{self.in_force.ref.delivery_id} in force ({self.in_force.row_count:,} practices, "
                f"extract of {self.in_force.extract_date})"
            )
        elif self.rejected:
            text = "none in force: practices are addressed by their AGB code"
        else:
            text = (
                f"none in force (no delivery under landing/{REGISTER_FOLDER}/): practices are addressed "
                "by their AGB code"
            )
        if self.rejected:
            newest = self.rejected[0]
            text += (
                f"; the newest delivery {newest.ref.delivery_id} is REJECTED (rule {newest.first_rule}): "
                + newest.error_text().splitlines()[0]
            )
            if len(self.rejected) > 1:
                text += f" (and {len(self.rejected) - 1} older delivery(ies) after the one in force)"
        return text

    def as_dict(self) -> dict[str, Any]:
        return {
            "in_force": self.in_force.ref.delivery_id if self.in_force else None,
            "practices": self.in_force.row_count if self.in_force else None,
            "extract_date": self.in_force.extract_date if self.in_force else None,
            "rejected": [
                {"delivery_id": v.ref.delivery_id, "rule": v.first_rule, "message": v.error_text()}
                for v in self.rejected
            ],
        }


def register_state(landing: Path, con: duckdb.DuckDBPyConnection | None = None) -> RegisterState:
    """Judge the register deliveries newest first until one is accepted: that one is in force.
    With ``con`` its rows stay in ``con``'s temporary table (``verdict.table``)."""
    rejected: list[RegisterVerdict] = []
    for ref in reversed(register_deliveries(landing)):
        verdict = validate_register(ref, con)
        if verdict.accepted:
            return RegisterState(verdict, rejected)
        rejected.append(verdict)
    return RegisterState(None, rejected)


def load_register(con: duckdb.DuckDBPyConnection, landing: Path) -> RegisterState:
    """Make the register in force ``raw.practice_register`` and record every verdict, in one
    transaction (``con``: a writer of the raw schema, ``raw_tables.connect_raw``)."""
    state = register_state(landing, con)
    now = datetime.now(UTC).replace(tzinfo=None)
    judged = ([state.in_force] if state.in_force else []) + state.rejected
    try:
        with transaction(con):
            con.execute("delete from raw.practice_register")
            if state.in_force is not None:
                con.execute(
                    "insert into raw.practice_register select practice_agb, practice_name, place "
                    f"from {state.in_force.table} order by rowid"
                )
            for verdict in judged:
                con.execute("delete from raw.register_deliveries where delivery_id = ?", [verdict.ref.delivery_id])
                con.execute(
                    "insert into raw.register_deliveries values (?, ?, false, ?, ?, ?, ?, ?, ?)",
                    [
                        verdict.ref.delivery_id,
                        "accepted" if verdict.accepted else "rejected",
                        verdict.sha256,
                        verdict.row_count,
                        verdict.extract_date if verdict.accepted else None,
                        verdict.first_rule,
                        verdict.error_text() or None,
                        now,
                    ],
                )
            con.execute(
                "update raw.register_deliveries set in_force = (delivery_id = ?)",
                [state.in_force.ref.delivery_id if state.in_force else ""],
            )
    finally:
        if state.in_force is not None and state.in_force.table:
            con.execute(f"drop table if exists {state.in_force.table}")
    return state


def register_considered(con: duckdb.DuckDBPyConnection) -> str | None:
    """The newest register delivery the last load judged (None: none landed yet); what a
    period's computation records, so that a newer register makes the period not done."""
    try:
        return con.execute("select max(delivery_id) from raw.register_deliveries").fetchone()[0]
    except duckdb.CatalogException:  # a warehouse of before the register
        return None
