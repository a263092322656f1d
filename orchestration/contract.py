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
(``quality.py``).

How it stays cheap at national scale (45 million lines a year): a valid delivery is
read once. While one thread computes the sha256 and notes which tell-tale bytes occur
at all (quotes, CR, NUL, spaces, tabs), DuckDB parses the file straight into its typed
table in the warehouse's ``raw`` schema (``incoming_table``), marking every line that
breaks a format rule. Rules that only a tell-tale byte can break (line breaks, NUL
bytes, padding) are checked only when such a byte occurs. When anything is wrong, the
typed table is dropped and the file is diagnosed again the slow, thorough way (every
rule, its count and first lines, from a table of the raw text), so messages are
exactly as detailed as before; only clean deliveries take the fast path. The loader
(``warehouse.record_delivery``) then makes the typed table the delivery in force by
renaming it: the rows are never copied.
"""
from __future__ import annotations

import gzip
import hashlib
import json
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from orchestration.config import CONTRACT_VERSION, periods
from orchestration.landing import DELIVERY_ID_PATTERN, MANIFEST_NAME, DeliveryRef

CLAIM_COLUMNS: tuple[str, ...] = (
    "claim_id", "original_claim_id", "uzovi", "practice_agb", "therapist_agb",
    "patient_id", "birth_date", "sex", "service_date", "code_list", "prestatie_code",
    "dcsph_code", "indication_code", "coverage", "claimed_amount", "paid_amount",
    "processed_date",
)
DATE_COLUMNS = ("birth_date", "service_date", "processed_date")
AMOUNT_COLUMNS = ("claimed_amount", "paid_amount")
# text columns without a full-match format rule here (dates, amounts and patient_id have one)
PADDABLE_COLUMNS = tuple(c for c in CLAIM_COLUMNS if c not in DATE_COLUMNS + AMOUNT_COLUMNS + ("patient_id",))
DATA_FILE_NAMES = ("claims.csv", "claims.csv.gz")
STAGING_TABLE = "delivery_rows"   # the slow path's temporary table of raw text
INCOMING_PREFIX = "incoming__"    # raw.incoming__<period>__<insurer>: typed rows of an accepted delivery
TELLTALE_BYTES = {"quote": b'"', "cr": b"\r", "nul": b"\x00", "space": b" ", "tab": b"\t"}
SAMPLE_ROWS = 5
MAX_MANIFEST_BYTES = 1_000_000
MAX_LINE_BYTES = 1_000_000  # a claim line is ~200 bytes; anything near this is not a claim line
UTF8_BOM = b"\xef\xbb\xbf"

_ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_DECIMAL_STRING = re.compile(r"^-?[0-9]+(\.[0-9]{1,2})?$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
# the last three fields are claimed_amount, paid_amount, processed_date: one of the two
# amounts written as "36,53" makes them four
_DECIMAL_COMMA = re.compile(r",-?[0-9]+,[0-9]{2},-?[0-9]+(\.|,)[0-9]{2},[0-9]{4}-[0-9]{2}-[0-9]{2}\s*$|"
                            r",-?[0-9]+\.[0-9]{2},-?[0-9]+,[0-9]{2},[0-9]{4}-[0-9]{2}-[0-9]{2}\s*$")


@dataclass
class Violation:
    """One broken rule: which, in plain words, and the first offending rows."""

    rule: str
    message: str
    rows: list[dict[str, Any]] = field(default_factory=list)

    def describe(self, file_label: str) -> str:
        text = f"{file_label}: rule {self.rule}: {self.message}"
        if self.rows:
            text += "; first offending rows: " + "; ".join(_describe_row(r) for r in self.rows)
        return text


def _describe_row(row: dict[str, Any]) -> str:
    line = row.get("line")
    rest = ", ".join(f"{k}={v!r}" for k, v in row.items() if k != "line")
    return f"line {line} ({rest})" if line is not None else rest


class ContractViolation(Exception):
    def __init__(self, violation: Violation):
        super().__init__(violation.message)
        self.violation = violation


@dataclass
class ContractVerdict:
    """The outcome of validating one delivery."""

    ref: DeliveryRef
    violations: list[Violation]
    manifest: dict[str, Any] | None = None
    data_file: Path | None = None
    sha256: str | None = None
    row_count: int | None = None
    paid_amount_total: Decimal | None = None
    table: str | None = None   # accepted: the warehouse table holding the typed rows

    @property
    def accepted(self) -> bool:
        return not self.violations

    @property
    def file_label(self) -> str:
        target = self.data_file or self.ref.manifest_path
        return f"landing/{self.ref.period}/{self.ref.insurer}/{self.ref.delivery_id}/{target.name}"

    @property
    def first_rule(self) -> str | None:
        return self.violations[0].rule if self.violations else None

    def error_text(self) -> str:
        """Every violation in plain words, one per line, each naming file, rule and rows."""
        return "\n".join(v.describe(self._label_for(v)) for v in self.violations)

    def _label_for(self, violation: Violation) -> str:
        if violation.rule.startswith("manifest") or self.data_file is None:
            return f"landing/{self.ref.label}/{MANIFEST_NAME}"
        return self.file_label


# --------------------------------------------------------------------------- manifest


def _fail(rule: str, message: str, rows: list[dict[str, Any]] | None = None) -> None:
    raise ContractViolation(Violation(rule, message, rows or []))


def read_manifest(ref: DeliveryRef) -> dict[str, Any]:
    """Parse and check the manifest against the folder it lies in and the periods seed."""
    path = ref.manifest_path
    if path.is_symlink() or ref.path.is_symlink():
        _fail("landing.symlink", "the delivery folder or its manifest is a symbolic link; "
              "deliveries must be plain files inside the landing area")
    if not DELIVERY_ID_PATTERN.match(ref.delivery_id):
        _fail("landing.delivery_id", f"delivery folder name {ref.delivery_id!r} has characters outside "
              "[0-9A-Za-z._-] or does not start with a letter or digit")
    raw = path.read_bytes()[: MAX_MANIFEST_BYTES + 1]
    if len(raw) > MAX_MANIFEST_BYTES:
        _fail("manifest.json", f"manifest is larger than {MAX_MANIFEST_BYTES} bytes")
    if not raw.strip():
        _fail("manifest.json", "manifest is empty")
    try:
        manifest = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        _fail("manifest.json", f"manifest is not valid UTF-8 JSON: {exc}")
    if not isinstance(manifest, dict):
        _fail("manifest.json", "manifest must be a JSON object")

    _check_manifest_fields(manifest)
    if manifest["contract_version"] != CONTRACT_VERSION:
        _fail("manifest.contract_version",
              f"contract_version is {manifest['contract_version']!r}; this platform reads version {CONTRACT_VERSION}")
    for key, folder_value in (("insurer", ref.insurer), ("period", ref.period), ("delivery_id", ref.delivery_id)):
        if manifest[key] != folder_value:
            _fail(f"manifest.{key}", f"manifest says {key} {manifest[key]!r} but the delivery lies in the "
                  f"folder for {folder_value!r}")
    info = periods()[ref.period]
    for key, expected in (("period_start", info.period_start), ("period_end", info.period_end),
                          ("cutoff_date", info.cutoff_date)):
        if manifest[key] != expected:
            _fail(f"manifest.{key}", f"{key} is {manifest[key]} but period {ref.period} has {key} {expected} "
                  "(seeds/periods.csv)")
    return manifest


def _check_manifest_fields(manifest: dict[str, Any]) -> None:
    required = {"contract_version": int, "insurer": str, "period": str, "delivery_id": str,
                "period_start": str, "period_end": str, "cutoff_date": str, "files": list}
    missing = [k for k in required if k not in manifest]
    if missing:
        _fail("manifest.fields", f"manifest lacks the field(s) {', '.join(missing)}")
    for key, typ in required.items():
        value = manifest[key]
        if not isinstance(value, typ) or isinstance(value, bool):
            _fail("manifest.fields", f"manifest field {key} must be a {typ.__name__}, got {value!r}")
    for key in ("period_start", "period_end", "cutoff_date"):
        if not _ISO_DATE.match(manifest[key]):
            _fail("manifest.fields", f"manifest field {key} must be a date YYYY-MM-DD, got {manifest[key]!r}")
    files = manifest["files"]
    if len(files) != 1:
        _fail("manifest.files", f"manifest must list exactly one file (claims.csv or claims.csv.gz), lists {len(files)}")
    entry = files[0]
    if not isinstance(entry, dict):
        _fail("manifest.files", "the file entry must be a JSON object")
    for key in ("name", "sha256", "rows", "paid_amount_total"):
        if key not in entry:
            _fail("manifest.files", f"the file entry lacks {key}")
    if entry["name"] not in DATA_FILE_NAMES:
        _fail("manifest.files", f"file name must be claims.csv or claims.csv.gz, got {entry['name']!r}")
    if not isinstance(entry["sha256"], str) or not _SHA256.match(entry["sha256"]):
        _fail("manifest.files", "sha256 must be 64 lowercase hex characters")
    if not isinstance(entry["rows"], int) or isinstance(entry["rows"], bool) or entry["rows"] < 0:
        _fail("manifest.files", f"rows must be a non-negative whole number, got {entry['rows']!r}")
    total = entry["paid_amount_total"]
    if not isinstance(total, str) or not _DECIMAL_STRING.match(total):
        _fail("manifest.files", f"paid_amount_total must be a decimal string such as \"45099871.22\", got {total!r}")


# ------------------------------------------------------------------------------ files


def locate_data_file(ref: DeliveryRef, manifest: dict[str, Any]) -> Path:
    """The data file the manifest names; it must be a plain file, and the only claims file."""
    present = [name for name in DATA_FILE_NAMES if (ref.path / name).exists() or (ref.path / name).is_symlink()]
    if len(present) > 1:
        _fail("file.ambiguous", "both claims.csv and claims.csv.gz are present; a delivery has exactly one claims file")
    extra_manifests = sorted(p.name for p in ref.path.glob("*manifest*") if p.name != MANIFEST_NAME)
    if extra_manifests:
        _fail("manifest.ambiguous", f"more than one manifest in the delivery folder: {', '.join(extra_manifests)}")
    name = manifest["files"][0]["name"]
    path = ref.path / name
    if path.is_symlink():
        _fail("landing.symlink", f"{name} is a symbolic link; deliveries must be plain files inside the landing area")
    if not path.is_file():
        _fail("file.present", f"the manifest names {name}, which is not in the delivery folder")
    return path


def _chunks(path: Path, opener=open):
    """The file in 16 MB chunks (``opener=gzip.open``: its decompressed text)."""
    with opener(path, "rb") as f:
        while chunk := f.read(16 * 1024 * 1024):
            yield chunk


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    for chunk in _chunks(path):
        digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class FileScan:
    """The file's sha256, which tell-tale bytes (``TELLTALE_BYTES``) occur in it, and how
    many lines its text has (more than header + rows means blank lines: ``find_blank_lines``)."""

    sha256: str
    telltales: frozenset[str]
    text_lines: int = 0


class _BlankLineFinder:
    """Where the empty lines (LF or CRLF) of a text fed in chunks are.

    DuckDB skips blank lines, so the n-th row it reads is not on line n + 1 of the file
    when one precedes it; with their line numbers ``source_line_sql`` says where a row
    really is. A clean file has none, so the pass over the bytes only looks for the two byte
    patterns; lines are counted (``line_numbers``, a second pass) only when one was seen.
    """

    PATTERNS = (b"\n\n", b"\n\r\n")

    def __init__(self) -> None:
        self.offsets: list[int] = []   # offset of each newline that is followed by an empty line
        self._tail = b""
        self._position = 0

    def feed(self, chunk: bytes) -> None:
        if self._tail:   # a pattern that straddles the previous chunk and this one
            edge = self._tail + chunk[:2]
            for pattern in self.PATTERNS:
                at = edge.find(pattern)
                while at != -1:
                    if at < len(self._tail) <= at + len(pattern) - 1:
                        self.offsets.append(self._position - len(self._tail) + at)
                    at = edge.find(pattern, at + 1)
        for pattern in self.PATTERNS:
            at = chunk.find(pattern)
            while at != -1:
                self.offsets.append(self._position + at)
                at = chunk.find(pattern, at + 1)
        self._tail = (self._tail + chunk[-2:])[-2:]
        self._position += len(chunk)

    def line_numbers(self, chunks) -> list[int]:
        """The numbers of the blank lines, counting newlines in ``chunks`` (the same text again)."""
        pending = sorted(set(self.offsets))
        numbers: list[int] = []
        newlines, position, i = 0, 0, 0
        for chunk in chunks:
            end = position + len(chunk)
            while i < len(pending) and pending[i] < end:
                # the newline at the offset ends line newlines_before + 1; the next line is empty
                numbers.append(newlines + chunk.count(b"\n", 0, pending[i] - position) + 2)
                i += 1
            if i == len(pending):
                break
            newlines += chunk.count(b"\n")
            position = end
        return numbers


def _text_chunks(path: Path):
    """The file's text in chunks (decompressed for a gzip file)."""
    return _chunks(path, gzip.open if path.name.endswith(".gz") else open)


def scan_file(path: Path) -> FileScan:
    """One pass over the bytes: the checksum, whether a quote, CR, NUL, space or tab
    occurs anywhere (a clean claims file has none of them), and the number of lines.
    For a gzip file the bytes say nothing about the text, so every tell-tale counts as
    present and the lines are counted in the decompressed text."""
    digest = hashlib.sha256()
    compressed = path.name.endswith(".gz")
    found: set[str] = set(TELLTALE_BYTES) if compressed else set()
    newlines, last = 0, b""
    for chunk in _chunks(path):
        digest.update(chunk)
        if not compressed:
            newlines += chunk.count(b"\n")
            last = chunk[-1:]
        for name, byte in TELLTALE_BYTES.items():
            if name not in found and byte in chunk:
                found.add(name)
    if compressed:
        try:
            for chunk in _text_chunks(path):
                newlines += chunk.count(b"\n")
                last = chunk[-1:] or last
        except (OSError, EOFError):   # a broken gzip file: DuckDB's parse names the problem
            pass
    text_lines = newlines + (1 if last and last != b"\n" else 0)
    return FileScan(digest.hexdigest(), frozenset(found), text_lines)


def find_blank_lines(path: Path, scan: FileScan, rows: int) -> tuple[int, ...]:
    """The line numbers of the file's blank lines; none when its lines are exactly the
    header and ``rows`` (the usual case, decided without reading the file again)."""
    if scan.text_lines <= rows + 1:
        return ()
    finder = _BlankLineFinder()
    try:
        for chunk in _text_chunks(path):
            finder.feed(chunk)
        return tuple(finder.line_numbers(_text_chunks(path))) if finder.offsets else ()
    except (OSError, EOFError):
        return ()


def source_line_sql(blank_lines: tuple[int, ...] = ()) -> str:
    """The line of the file on which the row ``rowid`` of a table holding the file's rows
    in order stands, as SQL: the header is line 1, and every blank line before the row
    pushes it down one.

    Row r is pushed down by every blank line j (0-based, sorted) with r >= line_j - 2 - j;
    the count of such thresholds is a binary search written as nested CASEs, so a row
    costs log2(blank lines) comparisons however many blank lines the file has.
    """
    if not blank_lines:
        return "rowid + 2"
    thresholds = [blank - 2 - j for j, blank in enumerate(sorted(blank_lines))]

    def at_or_below(lo: int, hi: int) -> str:
        # thresholds[:lo] are <= rowid, thresholds[hi:] are > rowid
        if lo == hi:
            return str(lo)
        mid = (lo + hi) // 2
        return (f"case when rowid >= {thresholds[mid]} then {at_or_below(mid + 1, hi)} "
                f"else {at_or_below(lo, mid)} end")

    return f"rowid + 2 + {at_or_below(0, len(thresholds))}"


def check_checksum(path: Path, manifest: dict[str, Any], actual: str | None = None) -> str:
    actual = actual or file_sha256(path)
    promised = manifest["files"][0]["sha256"]
    if actual != promised:
        _fail("file.checksum", f"sha256 of the file is {actual}, the manifest promises {promised} "
              "(the file was changed, truncated or replaced after the manifest was written)")
    return actual


def _open_text_head(path: Path) -> bytes:
    opener = gzip.open if path.name.endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            return f.readline(MAX_LINE_BYTES + 1)
    except (OSError, EOFError) as exc:
        _fail("file.readable", f"the file cannot be read: {exc}")
    return b""  # unreachable


def check_header(path: Path) -> None:
    """The first line must be exactly the contract's columns, comma-separated.

    A UTF-8 byte-order mark and a CRLF line end are accepted (harmless: they change
    neither the columns nor a value); any other difference is a violation.
    """
    head = _open_text_head(path)
    if not head:
        _fail("file.header", "the file is empty: no header row")
    if len(head) > MAX_LINE_BYTES:
        _fail("file.line_size", f"the first line is longer than {MAX_LINE_BYTES} bytes")
    if head.startswith(UTF8_BOM):
        head = head[len(UTF8_BOM):]
    try:
        text = head.decode("utf-8").rstrip("\r\n")
    except UnicodeDecodeError:
        _fail("file.encoding", "the header row is not valid UTF-8", [{"line": 1}])
    if "\r" in text:
        _fail("file.line_ends", "lines end with a bare CR (carriage return without line feed); the contract "
              "requires LF or CRLF line ends", [{"line": 1, "header": text[:80]}])
    columns = text.split(",")
    if tuple(columns) == CLAIM_COLUMNS:
        return
    expected = list(CLAIM_COLUMNS)
    if ";" in text or "\t" in text or "|" in text:
        _fail("file.delimiter", "the header is not comma-separated (found ';', tab or '|'); "
              "the contract requires commas", [{"line": 1, "header": text[:200]}])
    missing = [c for c in expected if c not in columns]
    extra = [c for c in columns if c not in expected]
    if missing or extra:
        parts = []
        if missing:
            parts.append("missing column(s) " + ", ".join(missing))
        if extra:
            parts.append("unexpected column(s) " + ", ".join(repr(c) for c in extra))
        _fail("file.header", "; ".join(parts), [{"line": 1, "header": text[:300]}])
    _fail("file.header", "the columns are not in the contract's order "
          f"(expected {','.join(expected)})", [{"line": 1, "header": text[:300]}])


# ------------------------------------------------------------------------------ rows


def sql_literal(value: str | Path) -> str:
    """``value`` as a SQL string literal."""
    return "'" + str(value).replace("'", "''") + "'"


def _read_csv_sql(path: Path, store_rejects: bool = True) -> str:
    """DuckDB's strict reading of a claims file, every column as text. With
    ``store_rejects`` the lines it cannot read go to ``reject_errors`` (for messages);
    without, the first such line raises an error (the fast path only needs to know)."""
    columns = "{" + ", ".join(f"'{c}': 'VARCHAR'" for c in CLAIM_COLUMNS) + "}"
    compression = "gzip" if path.name.endswith(".gz") else "none"
    return (f"read_csv({sql_literal(path)}, header = true, auto_detect = false, delim = ',', quote = '\"', "
            f"escape = '\"', columns = {columns}, compression = '{compression}', strict_mode = true, "
            f"store_rejects = {str(store_rejects).lower()}, max_line_size = {MAX_LINE_BYTES}, parallel = true)")


def parse_rows(con, path: Path, table: str = STAGING_TABLE) -> None:
    """Parse the claim lines into a temporary text table; structural errors are violations."""
    con.execute(f"drop table if exists {table}")
    try:
        con.execute(f"create temp table {table} as select * from {_read_csv_sql(path)}")
    except Exception as exc:  # duckdb raises a family of errors; all mean 'cannot read'
        _drop_reject_tables(con)
        mixed = _mixed_line_ends(path)
        if mixed:
            _fail("file.line_ends", f"some lines end with {mixed[0]['ends_with']} while the header ends with "
                  f"{'LF' if mixed[0]['ends_with'] == 'CRLF' else 'CRLF'}; one file uses one kind of line end", mixed)
        _fail("file.readable", f"the file cannot be parsed as CSV: {str(exc).splitlines()[0][:300]}")
    _raise_on_rejects(con)


def _drop_reject_tables(con) -> None:
    con.execute("drop table if exists reject_errors")
    con.execute("drop table if exists reject_scans")


def _mixed_line_ends(path: Path) -> list[dict[str, Any]]:
    """The first lines whose end (CRLF or LF) differs from the header's.

    Only called when DuckDB cannot parse the file, to say why in plain words: DuckDB
    fixes the line end from the start of the file and stops at the first other one.
    """
    opener = gzip.open if path.name.endswith(".gz") else open
    rows: list[dict[str, Any]] = []
    header_crlf = None
    try:
        with opener(path, "rb") as f:
            for number, line in enumerate(f, 1):
                if not line.endswith(b"\n"):
                    break
                crlf = line.endswith(b"\r\n")
                if header_crlf is None:
                    header_crlf = crlf
                elif crlf != header_crlf:
                    rows.append({"line": number, "ends_with": "CRLF" if crlf else "LF"})
                    if len(rows) == SAMPLE_ROWS:
                        break
    except (OSError, EOFError):
        return []
    return rows


_REJECT_RULES = {
    "INVALID ENCODING": ("file.encoding", "bytes that are not UTF-8 (e.g. Latin-1)"),
    "INVALID UNICODE": ("file.encoding", "bytes that are not UTF-8 (e.g. Latin-1)"),
    "TOO MANY COLUMNS": ("file.field_count", "more fields than the 17 contract columns"),
    "MISSING COLUMNS": ("file.field_count", "fewer fields than the 17 contract columns"),
    "UNQUOTED VALUE": ("file.quoting", "a quote that is not closed or not escaped"),
    "LINE SIZE OVER MAXIMUM": ("file.line_size", f"a line longer than {MAX_LINE_BYTES} bytes"),
}


def _raise_on_rejects(con) -> None:
    rejects = con.execute(
        "select error_type, line, column_name, csv_line, error_message from reject_errors order by line"
    ).fetchall()
    _drop_reject_tables(con)
    if not rejects:
        return
    first_type = rejects[0][0]
    rule, what = _REJECT_RULES.get(str(first_type), ("file.structure", str(first_type).lower()))
    decimal_comma = [r for r in rejects if r[0] == "TOO MANY COLUMNS" and _DECIMAL_COMMA.search(r[3] or "")]
    if decimal_comma:
        # "36,53" unquoted splits one amount into two fields: report the real cause.
        rows = [{"line": int(r[1]), "content": (r[3] or "")[-60:].rstrip()} for r in decimal_comma[:SAMPLE_ROWS]]
        _fail("claims.amount_format", f"{len(decimal_comma)} line(s) with an amount written with a decimal comma "
              "(e.g. 36,53), which splits it into two fields; amounts need a decimal point", rows)
    same = [r for r in rejects if _REJECT_RULES.get(str(r[0]), ("file.structure",))[0] == rule]
    seen: set[int] = set()
    rows = []
    for _, line, column, csv_line, message in same:
        if line in seen:
            continue
        seen.add(line)
        rows.append({"line": int(line), "column": column, "content": (csv_line or "")[:120], "error": message})
        if len(rows) == SAMPLE_ROWS:
            break
    _fail(rule, f"{len({r[1] for r in same})} line(s) with {what}", rows)


def _row_rule_sql() -> list[tuple[str, str, str, tuple[str, ...]]]:
    """(rule, plain words, SQL condition that marks an offending row, columns to show)."""
    any_newline = " or ".join(f"contains({c}, chr(10)) or contains({c}, chr(13))" for c in CLAIM_COLUMNS)
    any_nul = " or ".join(f"contains({c}, chr(0))" for c in CLAIM_COLUMNS)
    rules: list[tuple[str, str, str, tuple[str, ...]]] = [
        ("file.repeated_header", "the header row appears again among the data rows",
         "claim_id = 'claim_id' and patient_id = 'patient_id'", ("claim_id",)),
        ("file.embedded_newline", "a field contains a line break (quoted newline)", any_newline, ("claim_id",)),
        ("file.nul_byte", "a field contains a NUL byte (binary data, not text)", any_nul, ("claim_id",)),
        ("claims.claim_id_present", "claim_id is empty", "claim_id is null or trim(claim_id) = ''",
         ("claim_id",)),
        ("claims.patient_id_pseudonym",
         "patient_id is not a 64-character lowercase hex pseudonym (a BSN or other direct identifier must never be delivered)",
         "not regexp_full_match(coalesce(patient_id, ''), '[0-9a-f]{64}')", ("claim_id",)),
    ]
    for column in PADDABLE_COLUMNS:
        # " C000001" is another claim_id than "C000001": a padded original_claim_id
        # would silently stop netting, a padded code silently stop counting
        rules.append((
            "claims.whitespace", f"{column} has leading or trailing spaces or tabs",
            # LIKE on a prefix or suffix is three times cheaper than comparing with trim()
            f"({column} like ' %' or {column} like '% ' or {column} like '\t%' or {column} like '%\t')",
            ("claim_id", column)))
    for column in DATE_COLUMNS:
        rules.append((
            "claims.date_format", f"{column} is not a real date written YYYY-MM-DD",
            f"not (regexp_full_match(coalesce({column}, ''), '[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}') "
            f"and try_cast({column} as date) is not null)",
            ("claim_id", column)))
    for column in AMOUNT_COLUMNS:
        rules.append((
            "claims.amount_format", f"{column} is not an amount with a decimal point and two decimals "
            "(at most 16 digits before the point)",
            f"not regexp_full_match(coalesce({column}, ''), '-?[0-9]+\\.[0-9]{{2}}') "
            f"or try_cast({column} as decimal(18, 2)) is null",
            ("claim_id", column)))
    return rules


def check_rows(con, manifest: dict[str, Any], table: str = STAGING_TABLE,
               blank_lines: tuple[int, ...] = ()) -> tuple[int, Decimal]:
    """Row-level contract rules, the row count and the control total.

    One aggregate scan counts every rule's offenders; sample rows are fetched only for
    rules that fail, so a clean delivery costs one pass. ``blank_lines`` (``find_blank_lines``)
    make the line numbers in messages those of the file.
    """
    line = source_line_sql(blank_lines)
    rules = _row_rule_sql()
    counts_sql = ", ".join(f"count(*) filter (where {cond})" for _, _, cond, _ in rules)
    counts = con.execute(f"select count(*), {counts_sql} from {table}").fetchone()
    row_count = int(counts[0])
    violations: list[Violation] = []
    for (rule, words, cond, show), n in zip(rules, counts[1:]):
        if n:
            cols = ", ".join(show)
            sample = con.execute(
                f"select {line} as line, {cols} from {table} where {cond} order by rowid limit {SAMPLE_ROWS}"
            ).fetchall()
            rows = [dict(zip(("line",) + show, r)) for r in sample]
            violations.append(Violation(rule, f"{n} line(s): {words}", rows))
    if row_count == 0:
        violations.append(Violation("claims.not_empty", "the file has a header but no claim lines"))

    duplicates = con.execute(
        f"""select claim_id, count(*) as n, list({line} order by rowid)[1:3] as lines
            from {table} where claim_id is not null group by claim_id having count(*) > 1
            order by min(rowid) limit {SAMPLE_ROWS}"""
    ).fetchall()
    if duplicates:
        n_dup = con.execute(
            f"select count(*) from (select claim_id from {table} where claim_id is not null "
            "group by claim_id having count(*) > 1)").fetchone()[0]
        violations.append(Violation(
            "claims.claim_id_unique", f"{n_dup} claim_id value(s) occur more than once",
            [{"line": lines[0], "claim_id": cid, "occurrences": n, "lines": list(lines)} for cid, n, lines in duplicates]))

    promised_rows = manifest["files"][0]["rows"]
    if row_count != promised_rows:
        violations.append(Violation("file.row_count", f"the file has {row_count} claim lines, the manifest promises {promised_rows}"))

    total = Decimal("0.00")
    if not any(v.rule == "claims.amount_format" and "paid_amount" in v.message for v in violations):
        value = con.execute(f"select coalesce(sum(cast(paid_amount as decimal(38, 2))), 0) from {table}").fetchone()[0]
        total = Decimal(value).quantize(Decimal("0.01"))
        try:
            promised_total = Decimal(manifest["files"][0]["paid_amount_total"])
        except InvalidOperation:  # guarded by the manifest check; kept for safety
            promised_total = None
        if promised_total is None or total != promised_total:
            violations.append(Violation(
                "claims.control_total",
                f"the paid_amount of all lines sums to {total}, the manifest promises "
                f"{manifest['files'][0]['paid_amount_total']}"))
    if violations:
        raise _Many(violations)
    return row_count, total


class _Many(Exception):
    def __init__(self, violations: list[Violation]):
        super().__init__(violations[0].message)
        self.violations = violations


# ------------------------------------------------------------------- the fast path


def raw_table(name: str) -> str:
    """The qualified, quoted name of table ``name`` in the warehouse's raw schema."""
    return 'raw."' + name.replace('"', '""') + '"'


def raw_column_type(column: str) -> str:
    """The type a claim column has in the warehouse (every other column stays text)."""
    return "date" if column in DATE_COLUMNS else "decimal(18, 2)" if column in AMOUNT_COLUMNS else "varchar"


def incoming_table(ref: DeliveryRef) -> str:
    """Where the typed rows of ``ref`` land before they are made the delivery in force."""
    return raw_table(f"{INCOMING_PREFIX}{ref.period}__{ref.insurer}")


def _fast_break_condition(rule: str, condition: str, column: str) -> str:
    """``condition`` (true for a line that breaks ``rule``), cheaper for the clean lines.

    A date or amount whose canonical rendering is its own text is well formed (a date
    renders as YYYY-MM-DD, a decimal(18, 2) as -?digits.dd), so for those lines the
    regular expression is skipped: CASE evaluates the exact rule only on the others.
    The result is the same as ``condition`` for every line, only faster.
    """
    if rule == "claims.date_format":
        canonical = f"strlen({column}) = 10 and cast(try_cast({column} as date) as varchar) = {column}"
    elif rule == "claims.amount_format":
        canonical = f"cast(try_cast({column} as decimal(18, 2)) as varchar) = {column}"
    else:
        return condition
    return f"case when {canonical} then false else ({condition}) end"


def _typed_select() -> str:
    """The claim columns typed as the warehouse holds them, and ``breaks_contract``: true
    for a line that breaks a format rule no tell-tale byte is needed for (claim_id
    present, pseudonym, dates, amounts; a repeated header fails the pseudonym rule).
    Period, insurer and delivery are not columns: they are the same on every line, and
    writing them costs a sixth of the load (``raw.claims`` adds them, ``table_identity``)."""
    fast_rules = {"claims.claim_id_present", "claims.patient_id_pseudonym", "claims.date_format",
                  "claims.amount_format"}
    breaks = " or ".join(f"({_fast_break_condition(rule, cond, show[-1])})"
                         for rule, _, cond, show in _row_rule_sql() if rule in fast_rules)
    typed = [c if raw_column_type(c) == "varchar" else f"try_cast({c} as {raw_column_type(c)}) as {c}"
             for c in CLAIM_COLUMNS]
    return ", ".join([*typed, f"coalesce({breaks}, true) as breaks_contract"])


def table_identity(period: str, insurer: str, delivery_id: str, blank_lines: tuple[int, ...] = ()) -> str:
    """The comment that says whose claim lines a typed table holds (JSON), and the blank
    lines of its file when it had any (``source_line_sql`` needs them)."""
    identity: dict[str, Any] = {"period": period, "insurer": insurer, "delivery_id": delivery_id}
    if blank_lines:
        identity["blank_lines"] = sorted(blank_lines)
    return json.dumps(identity, sort_keys=True)


def label_table(con, table: str, period: str, insurer: str, delivery_id: str,
                blank_lines: tuple[int, ...] = ()) -> None:
    """Write ``table_identity`` on ``table``: ``raw.claims`` reads it from there."""
    identity = table_identity(period, insurer, delivery_id, blank_lines)
    con.execute(f"comment on table {table} is {sql_literal(identity)}")


def _telltale_conditions(telltales: frozenset[str]) -> list[str]:
    """Conditions for the rules only a tell-tale byte can break, on the text columns
    (dates, amounts and the pseudonym have full-match formats that catch them already)."""
    conditions = []
    if telltales & {"quote", "cr"}:   # a line break inside a field needs quoting; a CR is a CR
        conditions += [f"contains({c}, chr(10)) or contains({c}, chr(13))" for c in PADDABLE_COLUMNS]
    if "nul" in telltales:
        conditions += [f"contains({c}, chr(0))" for c in PADDABLE_COLUMNS]
    if telltales & {"space", "tab"}:
        conditions += [f"{c} like ' %' or {c} like '% ' or {c} like '\t%' or {c} like '%\t'"
                       for c in PADDABLE_COLUMNS]
    return conditions


def _load_typed_rows(con, path: Path, table: str,
                     manifest: dict[str, Any]) -> tuple[int, Decimal] | str:
    """Parse the file once into its typed table; (rows, control total) when every rule
    that needs no tell-tale byte holds, else why the slow diagnosis must run."""
    con.execute("create schema if not exists raw")
    con.execute(f"drop table if exists {table}")
    try:
        con.execute(f"create table {table} as select {_typed_select()} "
                    f"from {_read_csv_sql(path, store_rejects=False)}")
    except Exception as exc:  # any reading error: the diagnosis names it
        return str(exc).splitlines()[0][:300]
    rows, breaking, total, claim_ids = con.execute(
        f"select count(*), count_if(breaks_contract), coalesce(sum(paid_amount), 0), count(distinct claim_id) "
        f"from {table}").fetchone()
    file_entry = manifest["files"][0]
    total = Decimal(total).quantize(Decimal("0.01"))
    if breaking or rows == 0 or claim_ids != rows or rows != file_entry["rows"] \
            or total != Decimal(file_entry["paid_amount_total"]):
        return "a line, the row count or the control total breaks the contract"
    return rows, total


def _telltales_clean(con, table: str, telltales: frozenset[str]) -> bool:
    conditions = _telltale_conditions(telltales)
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
    _fail("file.readable", f"the file could not be loaded although every rule holds line by line: {why}")


# ------------------------------------------------------------------------- the whole


def validate_delivery(con, ref: DeliveryRef, table: str | None = None) -> ContractVerdict:
    """Validate one delivery; on acceptance its typed rows are in ``verdict.table`` of ``con``.

    The checksum (one pass over the bytes, in a thread) and DuckDB's parse run at the
    same time; a checksum mismatch is still reported first, as it makes every other
    finding moot.
    """
    verdict = ContractVerdict(ref=ref, violations=[])
    table = table or incoming_table(ref)
    try:
        verdict.manifest = read_manifest(ref)
        verdict.data_file = locate_data_file(ref, verdict.manifest)
        with ThreadPoolExecutor(max_workers=1) as pool:
            scanning = pool.submit(scan_file, verdict.data_file)
            header_problem: ContractViolation | None = None
            loaded: tuple[int, Decimal] | str = "not loaded"
            try:
                check_header(verdict.data_file)
                loaded = _load_typed_rows(con, verdict.data_file, table, verdict.manifest)
            except ContractViolation as exc:
                header_problem = exc
            scan = scanning.result()
        verdict.sha256 = check_checksum(verdict.data_file, verdict.manifest, scan.sha256)
        if header_problem is not None:
            raise header_problem
        if not isinstance(loaded, str) and not _telltales_clean(con, table, scan.telltales):
            loaded = "a field holds a line break, a NUL byte or padding"
        if isinstance(loaded, str):
            con.execute(f"drop table if exists {table}")
            _diagnose(con, verdict.data_file, verdict.manifest, loaded, scan)
        verdict.row_count, verdict.paid_amount_total = loaded
        label_table(con, table, ref.period, ref.insurer, ref.delivery_id,
                    find_blank_lines(verdict.data_file, scan, verdict.row_count))
        verdict.table = table
    except ContractViolation as exc:
        verdict.violations = [exc.violation]
    except _Many as exc:
        verdict.violations = exc.violations
    except OSError as exc:
        verdict.violations = [Violation("file.readable", f"the delivery cannot be read: {exc}")]
    if verdict.violations:
        verdict.table = None
        con.execute(f"drop table if exists {STAGING_TABLE}")
        if con.execute("select count(*) from duckdb_schemas() where schema_name = 'raw'").fetchone()[0]:
            con.execute(f"drop table if exists {table}")
    return verdict
