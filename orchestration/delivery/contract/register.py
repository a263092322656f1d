"""The contract of the practice register (docs/register-contract.md): an extract of the AGB
register, ``landing/_register/<delivery_id>/{practices.csv, manifest.json}``.

The register is checked like a claims delivery and in the same words: a broken delivery
is rejected *as a whole* with violations that name the file, the rule and the first
offending rows (:class:`~orchestration.delivery.contract.rules.Violation`). Nothing here
writes to the landing zone. ``validate_register(ref)`` checks in an in-memory DuckDB of
its own and keeps nothing; ``orchestration.delivery.register`` passes the warehouse's
connection instead, so that the accepted rows are parsed once and copied into
``raw.practice_register``.

A register is small (about ten thousand practices nationally), so it is read the
straightforward way: checksum, header, DuckDB's strict parse of every column as text,
then every row rule in one aggregate scan, with sample rows only for a rule that fails.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from orchestration.core.settings import duckdb_memory_limit
from orchestration.delivery.contract.file import (
    UTF8_BOM,
    check_checksum,
    find_blank_lines,
    scan_file,
    source_line_sql,
)
from orchestration.delivery.contract.lines import sql_literal, unique_key_violation
from orchestration.delivery.contract.manifest import read_manifest_object
from orchestration.delivery.contract.rules import (
    _ISO_DATE,
    _SHA256,
    MAX_LINE_BYTES,
    SAMPLE_ROWS,
    ContractViolation,
    ManyViolations,
    Violation,
    fail,
)
from orchestration.landing.zone import MANIFEST_NAME, REGISTER_FOLDER, RegisterRef

REGISTER_CONTRACT_VERSION = 1
REGISTER_KIND = "agb_practices"  # the manifest's "register": which register this is an extract of
REGISTER_FILE = "practices.csv"
REGISTER_COLUMNS: tuple[str, ...] = ("practice_agb", "practice_name", "place")
MAX_NAME_CHARS = 200
MAX_PLACE_CHARS = 100
REGISTER_TABLE = "register_rows"  # the temporary table of the parsed rows


@dataclass
class RegisterVerdict:
    """The outcome of validating one register delivery."""

    ref: RegisterRef
    violations: list[Violation]
    manifest: dict[str, Any] | None = None
    data_file: Path | None = None
    sha256: str | None = None
    row_count: int | None = None
    table: str | None = None  # accepted, on the caller's connection: the temporary table of its rows

    @property
    def accepted(self) -> bool:
        return not self.violations

    @property
    def first_rule(self) -> str | None:
        return self.violations[0].rule if self.violations else None

    @property
    def extract_date(self) -> str | None:
        return (self.manifest or {}).get("extract_date")

    def file_label(self, violation: Violation | None = None) -> str:
        name = MANIFEST_NAME
        if self.data_file is not None and not (violation and violation.rule.startswith(("manifest", "landing"))):
            name = self.data_file.name
        return f"landing/{REGISTER_FOLDER}/{self.ref.delivery_id}/{name}"

    def error_text(self) -> str:
        """Every violation in plain words, one per line, each naming file, rule and rows."""
        return "\n".join(v.describe(self.file_label(v)) for v in self.violations)


# ---------------------------------------------------------------------------- manifest


def read_register_manifest(ref: RegisterRef) -> dict[str, Any]:
    """Parse the manifest and check it against the folder it lies in."""
    manifest = read_manifest_object(ref.path, ref.manifest_path, ref.delivery_id, "the register's delivery folder")
    required = {"contract_version": int, "register": str, "delivery_id": str, "extract_date": str, "files": list}
    missing = [k for k in required if k not in manifest]
    if missing:
        fail("manifest.fields", f"manifest lacks the field(s) {', '.join(missing)}")
    for key, typ in required.items():
        if not isinstance(manifest[key], typ) or isinstance(manifest[key], bool):
            fail("manifest.fields", f"manifest field {key} must be a {typ.__name__}, got {manifest[key]!r}")
    if not _ISO_DATE.match(manifest["extract_date"]):
        fail(
            "manifest.fields",
            f"manifest field extract_date must be a date YYYY-MM-DD, got {manifest['extract_date']!r}",
        )
    if manifest["contract_version"] != REGISTER_CONTRACT_VERSION:
        fail(
            "manifest.contract_version",
            f"contract_version is {manifest['contract_version']!r}; this platform reads register contract "
            f"version {REGISTER_CONTRACT_VERSION}",
        )
    if manifest["register"] != REGISTER_KIND:
        fail("manifest.register", f"register is {manifest['register']!r}; the practice register is {REGISTER_KIND!r}")
    if manifest["delivery_id"] != ref.delivery_id:
        fail(
            "manifest.delivery_id",
            f"manifest says delivery_id {manifest['delivery_id']!r} but the delivery lies in the folder "
            f"for {ref.delivery_id!r}",
        )
    files = manifest["files"]
    if len(files) != 1 or not isinstance(files[0], dict):
        fail("manifest.files", f"manifest must list exactly one file ({REGISTER_FILE}) as a JSON object")
    entry = files[0]
    for key in ("name", "sha256", "rows"):
        if key not in entry:
            fail("manifest.files", f"the file entry lacks {key}")
    if entry["name"] != REGISTER_FILE:
        fail("manifest.files", f"file name must be {REGISTER_FILE}, got {entry['name']!r}")
    if not isinstance(entry["sha256"], str) or not _SHA256.match(entry["sha256"]):
        fail("manifest.files", "sha256 must be 64 lowercase hex characters")
    if not isinstance(entry["rows"], int) or isinstance(entry["rows"], bool) or entry["rows"] < 0:
        fail("manifest.files", f"rows must be a non-negative whole number, got {entry['rows']!r}")
    return manifest


def _locate_file(ref: RegisterRef) -> Path:
    extra = sorted(p.name for p in ref.path.glob("*manifest*") if p.name != MANIFEST_NAME)
    if extra:
        fail("manifest.ambiguous", f"more than one manifest in the delivery folder: {', '.join(extra)}")
    path = ref.path / REGISTER_FILE
    if path.is_symlink():
        fail("landing.symlink", f"{REGISTER_FILE} is a symbolic link; deliveries must be plain files")
    if not path.is_file():
        fail("file.present", f"the manifest names {REGISTER_FILE}, which is not in the delivery folder")
    return path


# ---------------------------------------------------------------------------- the file


def _check_header(path: Path) -> None:
    """The first line must be exactly ``practice_agb,practice_name,place`` (a UTF-8 byte-order
    mark and a CRLF line end are accepted)."""
    with open(path, "rb") as f:
        head = f.readline(MAX_LINE_BYTES + 1)
    if not head:
        fail("file.header", "the file is empty: no header row")
    if head.startswith(UTF8_BOM):
        head = head[len(UTF8_BOM) :]
    try:
        text = head.decode("utf-8").rstrip("\r\n")
    except UnicodeDecodeError:
        fail("file.encoding", "the header row is not valid UTF-8", [{"line": 1}])
    if tuple(text.split(",")) != REGISTER_COLUMNS:
        fail(
            "file.header",
            f"the header must be exactly {','.join(REGISTER_COLUMNS)} (comma-separated, in this order)",
            [{"line": 1, "header": text[:200]}],
        )


_REJECTS = {
    "INVALID ENCODING": ("file.encoding", "bytes that are not UTF-8 (e.g. Latin-1)"),
    "INVALID UNICODE": ("file.encoding", "bytes that are not UTF-8 (e.g. Latin-1)"),
    "TOO MANY COLUMNS": ("file.field_count", "more than the 3 fields of the header (an unquoted comma in a name?)"),
    "MISSING COLUMNS": ("file.field_count", "fewer than the 3 fields of the header"),
    "UNQUOTED VALUE": ("file.quoting", "a quote that is not closed or not escaped"),
    "LINE SIZE OVER MAXIMUM": ("file.line_size", f"a line longer than {MAX_LINE_BYTES} bytes"),
}


def _parse(con, path: Path, table: str) -> None:
    """DuckDB's strict parse of every column as text into the temporary ``table``."""
    columns = "{" + ", ".join(f"'{c}': 'VARCHAR'" for c in REGISTER_COLUMNS) + "}"
    con.execute(f"drop table if exists {table}")
    try:
        con.execute(
            f"create temp table {table} as select * from read_csv({sql_literal(path)}, header = true, "
            f"auto_detect = false, delim = ',', quote = '\"', escape = '\"', columns = {columns}, "
            f"strict_mode = true, store_rejects = true, max_line_size = {MAX_LINE_BYTES}, parallel = false)"
        )
        rejects = con.execute(
            "select error_type, line, csv_line, error_message from reject_errors order by line"
        ).fetchall()
    except Exception as exc:  # duckdb raises a family of errors; all mean 'cannot read'
        fail("file.readable", f"the file cannot be parsed as CSV: {str(exc).splitlines()[0][:300]}")
    finally:
        con.execute("drop table if exists reject_errors")
        con.execute("drop table if exists reject_scans")
    if rejects:
        rule, what = _REJECTS.get(str(rejects[0][0]), ("file.structure", str(rejects[0][0]).lower()))
        same = [r for r in rejects if _REJECTS.get(str(r[0]), ("file.structure",))[0] == rule]
        rows = [
            {"line": int(line), "content": (text or "")[:120], "error": message}
            for _, line, text, message in same[:SAMPLE_ROWS]
        ]
        fail(rule, f"{len({r[1] for r in same})} line(s) with {what}", rows)


def _row_rules() -> list[tuple[str, str, str, dict[str, str]]]:
    """(rule, plain words, SQL condition marking an offending row, what a sample row shows)."""
    text = ("practice_name", "place")
    agb = {"practice_agb": "practice_agb"}
    return [
        (
            "file.embedded_newline",
            "practice_name or place contains a line break (quoted newline)",
            " or ".join(f"contains({c}, chr(10)) or contains({c}, chr(13))" for c in text),
            agb,
        ),
        ("file.nul_byte", "a field contains a NUL byte", " or ".join(f"contains({c}, chr(0))" for c in text), agb),
        (
            "register.agb_format",
            "practice_agb is not an AGB code of 8 digits",
            "not regexp_full_match(coalesce(practice_agb, ''), '[0-9]{8}')",
            agb,
        ),
        (
            "register.name_present",
            "practice_name is empty",
            "practice_name is null or trim(practice_name) = ''",
            agb,
        ),
        (
            "register.name_length",
            f"practice_name is longer than {MAX_NAME_CHARS} characters",
            f"length(practice_name) > {MAX_NAME_CHARS}",
            {**agb, "characters": "length(practice_name)"},
        ),
        (
            "register.place_length",
            f"place is longer than {MAX_PLACE_CHARS} characters",
            f"length(place) > {MAX_PLACE_CHARS}",
            {**agb, "characters": "length(place)"},
        ),
        (
            "register.whitespace",
            "practice_name or place has leading or trailing spaces or tabs",
            " or ".join(f"({c} like ' %' or {c} like '% ' or {c} like '\t%' or {c} like '%\t')" for c in text),
            {**agb, "practice_name": "practice_name", "place": "place"},
        ),
    ]


def _check_rows(con, table: str, manifest: dict[str, Any], blank_lines: tuple[int, ...]) -> int:
    """Every row rule, the AGB's uniqueness and the row count; raises all that are broken."""
    line = source_line_sql(blank_lines)
    rules = _row_rules()
    counts = con.execute(
        f"select count(*), {', '.join(f'count(*) filter (where {cond})' for _, _, cond, _ in rules)} from {table}"
    ).fetchone()
    rows = int(counts[0])
    violations: list[Violation] = []
    for (rule, words, cond, show), n in zip(rules, counts[1:]):
        if n:
            shown = ", ".join(f"{expr} as {name}" for name, expr in show.items())
            sample = con.execute(
                f"select {line} as line, {shown} from {table} where {cond} order by rowid limit {SAMPLE_ROWS}"
            ).fetchall()
            violations.append(Violation(rule, f"{n} line(s): {words}", [dict(zip(("line", *show), r)) for r in sample]))
    duplicate = unique_key_violation(con, table, line, "practice_agb", "register.agb_unique")
    if duplicate is not None:
        violations.append(duplicate)
    if rows == 0:
        violations.append(Violation("register.not_empty", "the file has a header but no practices"))
    promised = manifest["files"][0]["rows"]
    if rows != promised:
        violations.append(
            Violation("file.row_count", f"the file has {rows} practices, the manifest promises {promised}")
        )
    if violations:
        raise ManyViolations(violations)
    return rows


# ---------------------------------------------------------------------------- the whole


def validate_register(ref: RegisterRef, con: duckdb.DuckDBPyConnection | None = None) -> RegisterVerdict:
    """Validate one register delivery. Its rows are parsed into the temporary table
    ``REGISTER_TABLE`` of ``con``; an accepted delivery's table stays there for the caller
    (``verdict.table``), a rejected one leaves none. Without ``con`` an in-memory DuckDB of
    its own is used and nothing is kept."""
    own = con is None
    con = duckdb.connect(config={"memory_limit": duckdb_memory_limit()}) if own else con
    verdict = RegisterVerdict(ref=ref, violations=[])
    try:
        verdict.manifest = read_register_manifest(ref)
        verdict.data_file = _locate_file(ref)
        scan = scan_file(verdict.data_file)
        verdict.sha256 = check_checksum(verdict.data_file, verdict.manifest, scan.sha256)
        _check_header(verdict.data_file)
        _parse(con, verdict.data_file, REGISTER_TABLE)
        parsed = con.execute(f"select count(*) from {REGISTER_TABLE}").fetchone()[0]
        blank_lines = find_blank_lines(verdict.data_file, scan, parsed)
        verdict.row_count = _check_rows(con, REGISTER_TABLE, verdict.manifest, blank_lines)
        verdict.table = None if own else REGISTER_TABLE
    except ContractViolation as exc:
        verdict.violations = [exc.violation]
    except ManyViolations as exc:
        verdict.violations = exc.violations
    except OSError as exc:
        verdict.violations = [Violation("file.readable", f"the register delivery cannot be read: {exc}")]
    finally:
        if own:
            con.close()
        elif verdict.violations:
            con.execute(f"drop table if exists {REGISTER_TABLE}")
    return verdict


__all__ = [
    "MAX_NAME_CHARS",
    "MAX_PLACE_CHARS",
    "REGISTER_COLUMNS",
    "REGISTER_CONTRACT_VERSION",
    "REGISTER_FILE",
    "REGISTER_KIND",
    "RegisterVerdict",
    "read_register_manifest",
    "validate_register",
]
