"""The procedure: one delivery validated, its lines parsed once (the fast path), the slow
diagnosis only when something is wrong."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

from orchestration.core.settings import duckdb_memory_limit
from orchestration.delivery.contract.file import (
    FileScan,
    check_checksum,
    check_gzip,
    check_header,
    find_blank_lines,
    scan_file,
)
from orchestration.delivery.contract.lines import check_rows, parse_rows, telltale_conditions, typed_select
from orchestration.delivery.contract.manifest import locate_data_file, read_manifest
from orchestration.delivery.contract.rules import (
    STAGING_TABLE,
    ContractVerdict,
    ContractViolation,
    ManyViolations,
    Violation,
    fail,
)
from orchestration.landing.zone import DeliveryRef


class ParsedLines:
    """Where a validation parses the file's lines once (``typed_select``), as table ``table``
    of ``con``. This one is a temporary table of an in-memory DuckDB of its own: the pure
    check, which keeps nothing. ``loading.IncomingTable`` parses into the warehouse instead
    and keeps the table of an accepted delivery."""

    def __init__(self, con=None, table: str = "parsed_lines"):
        if con is None:
            con = duckdb.connect(config={"memory_limit": duckdb_memory_limit()})
        self.con = con
        self.table = table

    def prepare(self) -> None:
        """Before the parse: no table of an earlier attempt."""
        self.con.execute(f"drop table if exists {self.table}")

    def create(self, select: str) -> None:
        self.con.execute(f"create temp table {self.table} as {select}")

    def drop(self) -> None:
        self.con.execute(f"drop table if exists {self.table}")

    def accept(self, ref: DeliveryRef, blank_lines: tuple[int, ...]) -> None:
        """The delivery is accepted: what becomes of its lines (here: nothing is kept)."""
        self.drop()


def _parse_typed_rows(lines: ParsedLines, path: Path, manifest: dict[str, Any]) -> tuple[int, Decimal] | str:
    """Parse the file once into its typed table; (rows, control total) when every rule
    that needs no tell-tale byte holds, else why the slow diagnosis must run."""
    lines.prepare()
    try:
        lines.create(typed_select(path))
    except Exception as exc:  # any reading error: the diagnosis names it
        return str(exc).splitlines()[0][:300]
    # distinct 64-bit hashes prove distinct claim_ids at half the cost of comparing the
    # strings; only when two hashes meet (a duplicate, or a collision) are the ids counted
    rows, breaking, total, claim_ids = lines.con.execute(
        f"select count(*), count_if(breaks_contract), coalesce(sum(paid_amount), 0), "
        f"count(distinct hash(claim_id)) from {lines.table}"
    ).fetchone()
    if claim_ids != rows:
        claim_ids = lines.con.execute(f"select count(distinct claim_id) from {lines.table}").fetchone()[0]
    file_entry = manifest["files"][0]
    total = Decimal(total).quantize(Decimal("0.01"))
    if (
        breaking
        or rows == 0
        or claim_ids != rows
        or rows != file_entry["rows"]
        or total != Decimal(file_entry["paid_amount_total"])
    ):
        return "a line, the row count or the control total breaks the contract"
    return rows, total


def _telltales_clean(con, table: str, telltales: frozenset[str]) -> bool:
    conditions = telltale_conditions(telltales)
    if not conditions:
        return True
    offending = con.execute(f"select count_if({' or '.join(f'({c})' for c in conditions)}) from {table}").fetchone()
    return not offending[0]


def _diagnose(con, path: Path, manifest: dict[str, Any], why: str, scan: FileScan) -> None:
    """The slow, thorough check of every rule (raises the violations it finds)."""
    try:
        parse_rows(con, path, STAGING_TABLE)
        rows = con.execute(f"select count(*) from {STAGING_TABLE}").fetchone()[0]
        check_rows(con, manifest, STAGING_TABLE, find_blank_lines(path, scan, rows))
    finally:
        con.execute(f"drop table if exists {STAGING_TABLE}")
    fail("file.readable", f"the file could not be loaded although every rule holds line by line: {why}")


# ------------------------------------------------------------------------- the whole


def validate_delivery(ref: DeliveryRef, lines: ParsedLines | None = None) -> ContractVerdict:
    """Validate one delivery; its lines are parsed once into ``lines`` (default: an
    in-memory DuckDB of its own, kept nowhere; ``loading.load_delivery`` passes the
    warehouse's incoming table, kept when the delivery is accepted).

    The checksum (one pass over the bytes, in a thread) and DuckDB's parse run at the
    same time; a checksum mismatch is still reported first, as it makes every other
    finding moot.
    """
    verdict = ContractVerdict(ref=ref, violations=[])
    lines = lines if lines is not None else ParsedLines()
    con = lines.con
    try:
        verdict.manifest = read_manifest(ref)
        verdict.data_file = locate_data_file(ref, verdict.manifest)
        with ThreadPoolExecutor(max_workers=1) as pool:
            scanning = pool.submit(scan_file, verdict.data_file)
            header_problem: ContractViolation | None = None
            loaded: tuple[int, Decimal] | str = "not loaded"
            try:
                check_header(verdict.data_file)
                loaded = _parse_typed_rows(lines, verdict.data_file, verdict.manifest)
            except ContractViolation as exc:
                header_problem = exc
            scan = scanning.result()
        verdict.sha256 = check_checksum(verdict.data_file, verdict.manifest, scan.sha256)
        check_gzip(scan)
        if header_problem is not None:
            raise header_problem
        if not isinstance(loaded, str) and not _telltales_clean(con, lines.table, scan.telltales):
            loaded = "a field holds a line break, a NUL byte or padding"
        if isinstance(loaded, str):
            lines.drop()
            _diagnose(con, verdict.data_file, verdict.manifest, loaded, scan)
        verdict.row_count, verdict.paid_amount_total = loaded
        lines.accept(ref, find_blank_lines(verdict.data_file, scan, verdict.row_count))
    except ContractViolation as exc:
        verdict.violations = [exc.violation]
    except ManyViolations as exc:
        verdict.violations = exc.violations
    except OSError as exc:
        verdict.violations = [Violation("file.readable", f"the delivery cannot be read: {exc}")]
    if verdict.violations:
        con.execute(f"drop table if exists {STAGING_TABLE}")
        lines.drop()
    return verdict
