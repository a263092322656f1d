"""The rules for the claim lines: DuckDB's strict parse of the file (structure), every
line rule as SQL with its count and first offending lines (the slow, thorough path), and
their cheap form for the fast path (``typed_select``, ``telltale_conditions``)."""

from __future__ import annotations

import gzip
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from orchestration.delivery.contract.file import GZIP_READ_ERRORS, source_line_sql
from orchestration.delivery.contract.rules import (
    _DECIMAL_COMMA,
    AMOUNT_COLUMNS,
    CLAIM_COLUMNS,
    DATE_COLUMNS,
    MAX_LINE_BYTES,
    PADDABLE_COLUMNS,
    SAMPLE_ROWS,
    STAGING_TABLE,
    ManyViolations,
    Violation,
    fail,
)


def sql_literal(value: str | Path) -> str:
    """``value`` as a SQL string literal."""
    return "'" + str(value).replace("'", "''") + "'"


def _read_csv_sql(path: Path, store_rejects: bool = True) -> str:
    """DuckDB's strict reading of a claims file, every column as text. With
    ``store_rejects`` the lines it cannot read go to ``reject_errors`` (for messages);
    without, the first such line raises an error (the fast path only needs to know)."""
    columns = "{" + ", ".join(f"'{c}': 'VARCHAR'" for c in CLAIM_COLUMNS) + "}"
    compression = "gzip" if path.name.endswith(".gz") else "none"
    return (
        f"read_csv({sql_literal(path)}, header = true, auto_detect = false, delim = ',', quote = '\"', "
        f"escape = '\"', columns = {columns}, compression = '{compression}', strict_mode = true, "
        f"store_rejects = {str(store_rejects).lower()}, max_line_size = {MAX_LINE_BYTES}, parallel = true)"
    )


def parse_rows(con, path: Path, table: str = STAGING_TABLE) -> None:
    """Parse the claim lines into a temporary text table; structural errors are violations."""
    con.execute(f"drop table if exists {table}")
    try:
        con.execute(f"create temp table {table} as select * from {_read_csv_sql(path)}")
    except Exception as exc:  # duckdb raises a family of errors; all mean 'cannot read'
        _drop_reject_tables(con)
        mixed = _mixed_line_ends(path)
        if mixed:
            fail(
                "file.line_ends",
                f"some lines end with {mixed[0]['ends_with']} while the header ends with "
                f"{'LF' if mixed[0]['ends_with'] == 'CRLF' else 'CRLF'}; one file uses one kind of line end",
                mixed,
            )
        fail("file.readable", f"the file cannot be parsed as CSV: {str(exc).splitlines()[0][:300]}")
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
    except GZIP_READ_ERRORS:
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
        fail(
            "claims.amount_format",
            f"{len(decimal_comma)} line(s) with an amount written with a decimal comma "
            "(e.g. 36,53), which splits it into two fields; amounts need a decimal point",
            rows,
        )
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
    fail(rule, f"{len({r[1] for r in same})} line(s) with {what}", rows)


def _row_rule_sql() -> list[tuple[str, str, str, tuple[str, ...]]]:
    """(rule, plain words, SQL condition that marks an offending row, columns to show)."""
    any_newline = " or ".join(f"contains({c}, chr(10)) or contains({c}, chr(13))" for c in CLAIM_COLUMNS)
    any_nul = " or ".join(f"contains({c}, chr(0))" for c in CLAIM_COLUMNS)
    rules: list[tuple[str, str, str, tuple[str, ...]]] = [
        (
            "file.repeated_header",
            "the header row appears again among the data rows",
            "claim_id = 'claim_id' and patient_id = 'patient_id'",
            ("claim_id",),
        ),
        ("file.embedded_newline", "a field contains a line break (quoted newline)", any_newline, ("claim_id",)),
        ("file.nul_byte", "a field contains a NUL byte (binary data, not text)", any_nul, ("claim_id",)),
        ("claims.claim_id_present", "claim_id is empty", "claim_id is null or trim(claim_id) = ''", ("claim_id",)),
        (
            "claims.patient_id_pseudonym",
            "patient_id is not a 64-character lowercase hex pseudonym "
            "(a BSN or other direct identifier must never be delivered)",
            # the same test as regexp_full_match(patient_id, '[0-9a-f]{64}'), a third cheaper:
            # 64 bytes that are all lowercase hex digits (strlen counts bytes, not characters)
            "not coalesce(strlen(patient_id) = 64 and regexp_full_match(patient_id, '[0-9a-f]+'), false)",
            ("claim_id",),
        ),
    ]
    for column in PADDABLE_COLUMNS:
        # " C000001" is another claim_id than "C000001": a padded original_claim_id
        # would silently stop netting, a padded code silently stop counting
        rules.append(
            (
                "claims.whitespace",
                f"{column} has leading or trailing spaces or tabs",
                # LIKE on a prefix or suffix is three times cheaper than comparing with trim()
                f"({column} like ' %' or {column} like '% ' or {column} like '\t%' or {column} like '%\t')",
                ("claim_id", column),
            )
        )
    for column in DATE_COLUMNS:
        rules.append(
            (
                "claims.date_format",
                f"{column} is not a real date written YYYY-MM-DD",
                f"not (regexp_full_match(coalesce({column}, ''), '[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}') "
                f"and try_cast({column} as date) is not null)",
                ("claim_id", column),
            )
        )
    for column in AMOUNT_COLUMNS:
        rules.append(
            (
                "claims.amount_format",
                f"{column} is not an amount with a decimal point and two decimals (at most 16 digits before the point)",
                f"not regexp_full_match(coalesce({column}, ''), '-?[0-9]+\\.[0-9]{{2}}') "
                f"or try_cast({column} as decimal(18, 2)) is null",
                ("claim_id", column),
            )
        )
    return rules


def check_rows(
    con, manifest: dict[str, Any], table: str = STAGING_TABLE, blank_lines: tuple[int, ...] = ()
) -> tuple[int, Decimal]:
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

    duplicate = unique_key_violation(con, table, line, "claim_id", "claims.claim_id_unique")
    if duplicate is not None:
        violations.append(duplicate)

    promised_rows = manifest["files"][0]["rows"]
    if row_count != promised_rows:
        violations.append(
            Violation("file.row_count", f"the file has {row_count} claim lines, the manifest promises {promised_rows}")
        )

    total = Decimal("0.00")
    if not any(v.rule == "claims.amount_format" and "paid_amount" in v.message for v in violations):
        value = con.execute(f"select coalesce(sum(cast(paid_amount as decimal(38, 2))), 0) from {table}").fetchone()[0]
        total = Decimal(value).quantize(Decimal("0.01"))
        try:
            promised_total = Decimal(manifest["files"][0]["paid_amount_total"])
        except InvalidOperation:  # guarded by the manifest check; kept for safety
            promised_total = None
        if promised_total is None or total != promised_total:
            violations.append(
                Violation(
                    "claims.control_total",
                    f"the paid_amount of all lines sums to {total}, the manifest promises "
                    f"{manifest['files'][0]['paid_amount_total']}",
                )
            )
    if violations:
        raise ManyViolations(violations)
    return row_count, total


def column_type(column: str) -> str:
    """The type a claim column's values have under the contract: dates are dates, amounts
    decimal(18, 2) (at most 16 digits before the point); every other column stays text."""
    return "date" if column in DATE_COLUMNS else "decimal(18, 2)" if column in AMOUNT_COLUMNS else "varchar"


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


def typed_select(path: Path) -> str:
    """The fast path's one parse of the file: the claim columns typed (``column_type``) and
    ``breaks_contract``, true for a line that breaks a format rule no tell-tale byte is
    needed for (claim_id present, pseudonym, dates, amounts; a repeated header fails the
    pseudonym rule). Period, insurer and delivery are not columns: they are the same on
    every line, and writing them costs a sixth of the load (``loading.table_identity``)."""
    fast_rules = {
        "claims.claim_id_present",
        "claims.patient_id_pseudonym",
        "claims.date_format",
        "claims.amount_format",
    }
    breaks = " or ".join(
        f"({_fast_break_condition(rule, cond, show[-1])})"
        for rule, _, cond, show in _row_rule_sql()
        if rule in fast_rules
    )
    typed = [c if column_type(c) == "varchar" else f"try_cast({c} as {column_type(c)}) as {c}" for c in CLAIM_COLUMNS]
    return (
        f"select {', '.join([*typed, f'coalesce({breaks}, true) as breaks_contract'])} "
        f"from {_read_csv_sql(path, store_rejects=False)}"
    )


def telltale_conditions(telltales: frozenset[str]) -> list[str]:
    """Conditions for the rules only a tell-tale byte can break, on the text columns
    (dates, amounts and the pseudonym have full-match formats that catch them already)."""
    conditions = []
    if telltales & {"quote", "cr"}:  # a line break inside a field needs quoting; a CR is a CR
        conditions += [f"contains({c}, chr(10)) or contains({c}, chr(13))" for c in PADDABLE_COLUMNS]
    if "nul" in telltales:
        conditions += [f"contains({c}, chr(0))" for c in PADDABLE_COLUMNS]
    if telltales & {"space", "tab"}:
        conditions += [f"{c} like ' %' or {c} like '% ' or {c} like '\t%' or {c} like '%\t'" for c in PADDABLE_COLUMNS]
    return conditions


def unique_key_violation(con, table: str, line: str, column: str, rule: str) -> Violation | None:
    """``rule`` broken when a non-empty ``column`` value occurs on more than one line: how many
    values, and the first ones with their count and up to three of their lines (``line``
    is the expression of a row's line number in the file)."""
    duplicates = con.execute(
        f"""select {column}, count(*) as n, list({line} order by rowid)[1:3] as lines
            from {table} where {column} is not null group by {column} having count(*) > 1
            order by min(rowid) limit {SAMPLE_ROWS}"""
    ).fetchall()
    if not duplicates:
        return None
    n_dup = con.execute(
        f"select count(*) from (select {column} from {table} where {column} is not null "
        f"group by {column} having count(*) > 1)"
    ).fetchone()[0]
    return Violation(
        rule,
        f"{n_dup} {column} value(s) occur more than once",
        [{"line": lines[0], column: key, "occurrences": n, "lines": list(lines)} for key, n, lines in duplicates],
    )
