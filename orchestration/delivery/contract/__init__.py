"""Contract validation of one insurer delivery (delivery-contract.md, version 1).

A delivery that breaks the contract is rejected *as a whole*, with violations that
name the file, the rule and the first offending rows. Nothing here writes to the
landing zone; the file is only read.

What is checked here, and why here: the *form* of a delivery, everything without
which its rows cannot be trusted to mean what the contract says: the manifest, the
file set, the checksum, encoding and CSV structure (line ends, NUL bytes), the header,
the row count, the control total, parseable dates and amounts, values without padding
spaces, present and unique ``claim_id`` and a pseudonymised ``patient_id`` (a BSN-like
value must never enter the warehouse, nor a message). The
*contents* (code formats and domains, dates inside the period, completeness per
month) are judged afterwards by the Great Expectations gates with tolerances
(``orchestration/gates``).

How it stays cheap at national scale (45 million lines a year): a valid delivery is
read once. While one thread computes the sha256 and notes which tell-tale bytes occur
at all (quotes, CR, NUL, spaces, tabs), DuckDB parses the file into one typed table
(``typed_select``; where that table lives is the caller's: :class:`ParsedLines`), marking
every line that breaks a format rule. Rules that only a tell-tale byte can break (line breaks, NUL
bytes, padding) are checked only when such a byte occurs. When anything is wrong, the
typed table is dropped and the file is diagnosed again the slow, thorough way (every
rule, its count and first lines, from a table of the raw text), so messages are
exactly as detailed as before; only clean deliveries take the fast path.

This package is the validator only: it reads the files, checks them in DuckDB and
creates no warehouse table. ``validate_delivery(ref)`` checks in an in-memory DuckDB of
its own and keeps nothing; ``orchestration.delivery.loading.load_delivery`` passes the warehouse's
incoming table instead, so that an accepted delivery is parsed once and then made the
delivery in force by a rename (``raw_tables.record_delivery``): the rows are never copied.

- ``rules``: the columns and limits, :class:`Violation`, :class:`ContractVerdict`;
- ``manifest``: the manifest and the file set of the folder;
- ``file``: the bytes (checksum, tell-tale bytes, blank lines, header);
- ``lines``: the parse and every line rule, slow and fast;
- ``validate``: the procedure.
"""

from orchestration.delivery.contract.file import (
    FileScan,
    check_checksum,
    check_header,
    file_sha256,
    find_blank_lines,
    scan_file,
    source_line_sql,
)
from orchestration.delivery.contract.lines import check_rows, column_type, parse_rows, sql_literal, typed_select
from orchestration.delivery.contract.manifest import locate_data_file, read_manifest
from orchestration.delivery.contract.rules import (
    AMOUNT_COLUMNS,
    CLAIM_COLUMNS,
    DATE_COLUMNS,
    STAGING_TABLE,
    ContractVerdict,
    ContractViolation,
    Violation,
)
from orchestration.delivery.contract.validate import ParsedLines, validate_delivery

__all__ = [
    "AMOUNT_COLUMNS",
    "CLAIM_COLUMNS",
    "DATE_COLUMNS",
    "STAGING_TABLE",
    "ContractVerdict",
    "ContractViolation",
    "FileScan",
    "ParsedLines",
    "Violation",
    "check_checksum",
    "check_header",
    "check_rows",
    "column_type",
    "file_sha256",
    "find_blank_lines",
    "locate_data_file",
    "parse_rows",
    "read_manifest",
    "scan_file",
    "source_line_sql",
    "sql_literal",
    "typed_select",
    "validate_delivery",
]
