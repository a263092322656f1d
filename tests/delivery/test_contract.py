"""Contract validation: every kind of broken delivery is rejected with its rule, its
file and its rows; harmless variations are accepted; the landing zone is never changed.
The validator runs in an in-memory DuckDB of its own: no warehouse here (loading a
delivery into the warehouse: test_loading.py)."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
from pathlib import Path

import duckdb
import pytest

from orchestration.delivery.contract import CLAIM_COLUMNS, STAGING_TABLE, ParsedLines, validate_delivery
from orchestration.landing.zone import DeliveryRef, scan_landing
from tests.support.delivery_factory import PATIENT, claim_row, render_csv, write_delivery

PERIOD, INSURER, DID = "2024-v1", "vgz", "20241005T0930"


class _KeptLines(ParsedLines):
    """The validator's parse, kept after acceptance so that a test can look at the lines."""

    def accept(self, ref, blank_lines) -> None:
        pass


def _validate(landing: Path, insurer: str = INSURER, delivery_id: str = DID):
    lines = _KeptLines()
    ref = DeliveryRef(PERIOD, insurer, delivery_id, landing / PERIOD / insurer / delivery_id)
    return lines, validate_delivery(ref, lines)


def _rows(n: int = 4, **overrides_by_index) -> list[dict[str, str]]:
    return [claim_row(i, **overrides_by_index.get(f"r{i}", {})) for i in range(n)]


def _tree_digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


def test_clean_delivery_is_accepted_and_rows_are_staged(tmp_path):
    write_delivery(tmp_path, PERIOD, INSURER, DID, rows=_rows(5))
    lines, verdict = _validate(tmp_path)
    assert verdict.accepted, verdict.error_text()
    assert verdict.row_count == 5
    assert str(verdict.paid_amount_total) == "182.65"
    assert lines.con.execute(f"select count(*), min(rowid) + 2 from {lines.table}").fetchone() == (5, 2)


def test_gzip_delivery_is_accepted(tmp_path):
    write_delivery(tmp_path, PERIOD, INSURER, DID, rows=_rows(3), gz=True)
    _, verdict = _validate(tmp_path)
    assert verdict.accepted, verdict.error_text()
    assert verdict.data_file.name == "claims.csv.gz"


def _manifest_with_bom(folder: Path) -> None:
    (folder / "manifest.json").write_bytes(b"\xef\xbb\xbf" + (folder / "manifest.json").read_bytes())


# Variations that change no value: accepted, and listed in the README ("Reliability").
# name: (writer kwargs builder, why it is harmless)
HARMLESS = {
    "utf-8 byte-order mark": (
        lambda: dict(data=b"\xef\xbb\xbf" + render_csv(_rows(3)), rows=_rows(3)),
        "the BOM is not part of any value",
    ),
    "crlf line ends": (
        lambda: dict(data=render_csv(_rows(3), newline="\r\n"), rows=_rows(3)),
        "CRLF is a line end, not part of the last value",
    ),
    "quoted fields": (
        lambda: dict(data=render_csv(_rows(3)).replace(b"C000001,", b'"C000001",'), rows=_rows(3)),
        "standard CSV quoting: the value is C000001",
    ),
    "comma inside a quoted field": (
        lambda: dict(data=render_csv(_rows(3)).replace(b"C000001,", b'"C000,001",'), rows=_rows(3)),
        "standard CSV quoting: one field, value C000,001",
    ),
    "no line end after the last line": (
        lambda: dict(data=render_csv(_rows(3))[:-1], rows=_rows(3)),
        "the last value is complete",
    ),
    "blank lines at the end": (
        lambda: dict(data=render_csv(_rows(3)) + b"\n\n", rows=_rows(3)),
        "a blank line is not a claim line",
    ),
    "blank line between claim lines": (
        lambda: dict(data=render_csv(_rows(3)).replace(b"\nC000002", b"\n\nC000002"), rows=_rows(3)),
        "a blank line is not a claim line (line numbers stay those of the file)",
    ),
    "manifest with a byte-order mark": (
        lambda: dict(rows=_rows(3), after=_manifest_with_bom),
        "the BOM is not part of the JSON",
    ),
    "credit without original": (
        lambda: dict(rows=_rows(4, r3={"paid_amount": "-36.53", "claimed_amount": "-36.53"})),
        "an orphan credit: method.md §2.5 ignores it, the contents gate warns",
    ),
    "negative zero amount": (
        lambda: dict(rows=_rows(3, r1={"paid_amount": "-0.00"})),
        "-0.00 is the amount 0.00: a rejected line",
    ),
}


def _write(tmp_path: Path, build) -> Path:
    kwargs = build()
    after = kwargs.pop("after", None)
    folder = write_delivery(tmp_path, PERIOD, INSURER, DID, **kwargs)
    if after is not None:
        after(folder)
    return folder


@pytest.mark.parametrize("name", sorted(HARMLESS))
def test_harmless_variants_are_accepted(tmp_path, name):
    build, _why = HARMLESS[name]
    _write(tmp_path, build)
    lines, verdict = _validate(tmp_path)
    assert verdict.accepted, verdict.error_text()
    assert verdict.row_count == len(build()["rows"])
    claim_ids = [r[0] for r in lines.con.execute(f"select claim_id from {lines.table} order by rowid").fetchall()]
    assert claim_ids[:2] == ["C000000", "C000,001" if name == "comma inside a quoted field" else "C000001"]


BAD_DELIVERIES = {
    # name: (writer kwargs builder, expected rule, expected line or None)
    "empty file": (lambda: dict(data=b"", rows=[]), "file.header", None),
    "header only": (lambda: dict(data=render_csv([]), rows=[]), "claims.not_empty", None),
    "semicolon delimiter": (
        lambda: dict(data=render_csv(_rows(2)).replace(b",", b";"), rows=_rows(2)),
        "file.delimiter",
        1,
    ),
    "tab delimiter": (lambda: dict(data=render_csv(_rows(2)).replace(b",", b"\t"), rows=_rows(2)), "file.delimiter", 1),
    "missing column": (
        lambda: dict(data=render_csv(_rows(2), columns=CLAIM_COLUMNS[:-1]), rows=_rows(2)),
        "file.header",
        1,
    ),
    "extra column": (
        lambda: dict(data=render_csv(_rows(2), columns=CLAIM_COLUMNS + ("note",)), rows=_rows(2)),
        "file.header",
        1,
    ),
    "reordered columns": (
        lambda: dict(
            data=render_csv(_rows(2), columns=(CLAIM_COLUMNS[1], CLAIM_COLUMNS[0]) + CLAIM_COLUMNS[2:]), rows=_rows(2)
        ),
        "file.header",
        1,
    ),
    "renamed column": (
        lambda: dict(data=render_csv(_rows(2)).replace(b"paid_amount", b"paid", 1), rows=_rows(2)),
        "file.header",
        1,
    ),
    "latin-1 bytes": (
        lambda: dict(data=render_csv(_rows(3)).replace(b"C000001,", b"C000001\xe9,"), rows=_rows(3)),
        "file.encoding",
        3,
    ),
    "too many fields": (
        lambda: dict(
            data=render_csv(_rows(3)).replace(b"2024-03-20\nC000002", b"2024-03-20,x\nC000002"), rows=_rows(3)
        ),
        "file.field_count",
        3,
    ),
    "too few fields": (
        lambda: dict(
            data=render_csv(_rows(3)).replace(b",AV,36.53,36.53,2024-03-20\nC000002", b",AV,36.53,36.53\nC000002"),
            rows=_rows(3),
        ),
        "file.field_count",
        3,
    ),
    "unterminated quote": (
        lambda: dict(data=render_csv(_rows(3)).replace(b"C000001,", b'"C000001,'), rows=_rows(3)),
        "file.quoting",
        3,
    ),
    "quoted newline": (
        lambda: dict(data=render_csv(_rows(3)).replace(b",7001,", b',"70\n01",', 1), rows=_rows(3)),
        "file.embedded_newline",
        None,
    ),
    "repeated header": (
        lambda: dict(data=render_csv(_rows(2)) + (",".join(CLAIM_COLUMNS) + "\n").encode(), rows=_rows(3)),
        "file.repeated_header",
        4,
    ),
    "impossible date": (lambda: dict(rows=_rows(3, r1={"service_date": "2024-02-31"})), "claims.date_format", 3),
    "day-first date": (lambda: dict(rows=_rows(3, r2={"birth_date": "17-05-1980"})), "claims.date_format", 4),
    "empty processed date": (lambda: dict(rows=_rows(3, r0={"processed_date": ""})), "claims.date_format", 2),
    "decimal comma": (lambda: dict(rows=_rows(3, r1={"paid_amount": "36,53"})), "claims.amount_format", 3),
    "quoted decimal comma": (lambda: dict(rows=_rows(3, r1={"claimed_amount": '"36,53"'})), "claims.amount_format", 3),
    "amount without cents": (lambda: dict(rows=_rows(3, r1={"paid_amount": "36"})), "claims.amount_format", 3),
    "amount with currency": (
        lambda: dict(rows=_rows(3, r1={"claimed_amount": "EUR 36.53"})),
        "claims.amount_format",
        3,
    ),
    "empty claim_id": (lambda: dict(rows=_rows(3, r2={"claim_id": ""})), "claims.claim_id_present", 4),
    "duplicate claim_id": (lambda: dict(rows=_rows(3, r2={"claim_id": "C000000"})), "claims.claim_id_unique", 2),
    "bsn instead of pseudonym": (
        lambda: dict(rows=_rows(3, r1={"patient_id": "123456782"})),
        "claims.patient_id_pseudonym",
        3,
    ),
    "uppercase pseudonym": (lambda: dict(rows=_rows(3, r1={"patient_id": "A" * 64})), "claims.patient_id_pseudonym", 3),
    "huge line": (
        lambda: dict(
            data=render_csv(_rows(2)).replace(b"C000001,", b"C000001" + b"x" * 1_200_000 + b",", 1), rows=_rows(2)
        ),
        "file.line_size",
        None,
    ),
    "row count mismatch": (lambda: dict(rows=_rows(3), file_overrides={"rows": 4}), "file.row_count", None),
    "control total mismatch": (
        lambda: dict(rows=_rows(3), file_overrides={"paid_amount_total": "1.00"}),
        "claims.control_total",
        None,
    ),
    "checksum mismatch": (lambda: dict(rows=_rows(3), file_overrides={"sha256": "0" * 64}), "file.checksum", None),
    "manifest not json": (lambda: dict(raw_manifest=b"{not json"), "manifest.json", None),
    "empty manifest": (lambda: dict(raw_manifest=b""), "manifest.json", None),
    "manifest is a list": (lambda: dict(raw_manifest=b"[]"), "manifest.json", None),
    "manifest for another insurer": (lambda: dict(manifest_overrides={"insurer": "cz"}), "manifest.insurer", None),
    "manifest for another period": (lambda: dict(manifest_overrides={"period": "2024-v2"}), "manifest.period", None),
    "manifest for another delivery": (
        lambda: dict(manifest_overrides={"delivery_id": "x"}),
        "manifest.delivery_id",
        None,
    ),
    "wrong cutoff": (lambda: dict(manifest_overrides={"cutoff_date": "2024-12-31"}), "manifest.cutoff_date", None),
    "wrong period end": (lambda: dict(manifest_overrides={"period_end": "2024-09-30"}), "manifest.period_end", None),
    "contract version 2": (lambda: dict(manifest_overrides={"contract_version": 2}), "manifest.contract_version", None),
    "manifest lacks files": (lambda: dict(manifest_overrides={"files": []}), "manifest.files", None),
    "manifest total as float": (lambda: dict(file_overrides={"paid_amount_total": 109.59}), "manifest.files", None),
    "manifest names another file": (lambda: dict(file_overrides={"name": "claims.csv.gz"}), "file.present", None),
    # reliability and bad input
    "nul byte": (
        lambda: dict(data=render_csv(_rows(3)).replace(b"C000001,", b"C000\x00001,"), rows=_rows(3)),
        "file.nul_byte",
        3,
    ),
    "utf-16": (lambda: dict(data=render_csv(_rows(2)).decode().encode("utf-16"), rows=_rows(2)), "file.encoding", 1),
    "cr-only line ends": (lambda: dict(data=render_csv(_rows(2), newline="\r"), rows=_rows(2)), "file.line_ends", 1),
    "mixed line ends": (
        lambda: dict(data=render_csv(_rows(3)).replace(b"\nC000001", b"\r\nC000001"), rows=_rows(3)),
        "file.line_ends",
        2,
    ),
    "uppercase column name": (
        lambda: dict(data=render_csv(_rows(2)).replace(b"claim_id,", b"CLAIM_ID,", 1), rows=_rows(2)),
        "file.header",
        1,
    ),
    "trailing comma in header": (
        lambda: dict(data=render_csv(_rows(2)).replace(b"processed_date\n", b"processed_date,\n", 1), rows=_rows(2)),
        "file.header",
        1,
    ),
    "space-padded claim_id": (lambda: dict(rows=_rows(3, r1={"claim_id": " C000001"})), "claims.whitespace", 3),
    "space-padded code": (lambda: dict(rows=_rows(3, r1={"code_list": "073 "})), "claims.whitespace", 3),
    "tab-padded practice": (lambda: dict(rows=_rows(3, r2={"practice_agb": "04000001\t"})), "claims.whitespace", 4),
    "space-padded original_claim_id": (
        lambda: dict(rows=_rows(4, r3={"original_claim_id": "C000001 ", "paid_amount": "-36.53"})),
        "claims.whitespace",
        5,
    ),
    "space-padded amount": (lambda: dict(rows=_rows(3, r1={"paid_amount": " 36.53"})), "claims.amount_format", 3),
    "amount with three decimals": (
        lambda: dict(rows=_rows(3, r1={"paid_amount": "36.530"})),
        "claims.amount_format",
        3,
    ),
    "amount in scientific notation": (
        lambda: dict(rows=_rows(3, r1={"claimed_amount": "3.653e1"})),
        "claims.amount_format",
        3,
    ),
    "date with a time": (
        lambda: dict(rows=_rows(3, r1={"service_date": "2024-03-04T10:00:00"})),
        "claims.date_format",
        3,
    ),
    "manifest rows as string": (lambda: dict(rows=_rows(3), file_overrides={"rows": "3"}), "manifest.files", None),
    "manifest negative rows": (lambda: dict(rows=_rows(3), file_overrides={"rows": -3}), "manifest.files", None),
    "manifest version as string": (lambda: dict(manifest_overrides={"contract_version": "1"}), "manifest.fields", None),
    "manifest uppercase checksum": (
        lambda: dict(rows=_rows(3), file_overrides={"sha256": "A" * 64}),
        "manifest.files",
        None,
    ),
    "manifest total with three decimals": (
        lambda: dict(rows=_rows(3), file_overrides={"paid_amount_total": "109.590"}),
        "manifest.files",
        None,
    ),
    "manifest file path traversal": (
        lambda: dict(rows=_rows(3), file_overrides={"name": "../claims.csv"}),
        "manifest.files",
        None,
    ),
    "manifest delivery_id path traversal": (
        lambda: dict(manifest_overrides={"delivery_id": f"../../{DID}"}),
        "manifest.delivery_id",
        None,
    ),
    "manifest lacks a field": (lambda: dict(manifest_overrides={"cutoff_date": None}), "manifest.fields", None),
    "only a manifest, no claims file": (
        lambda: dict(rows=_rows(2), after=lambda f: (f / "claims.csv").unlink()),
        "file.present",
        None,
    ),
    "claims.csv is a folder": (
        lambda: dict(rows=_rows(2), after=lambda f: ((f / "claims.csv").unlink(), (f / "claims.csv").mkdir())),
        "file.present",
        None,
    ),
    "gzip name, plain content": (lambda: dict(rows=_rows(2), after=_plain_file_named_gz), "file.readable", None),
    "symlinked manifest": (lambda: dict(rows=_rows(2), after=_symlink_manifest), "landing.symlink", None),
}

# The kinds above that are also faults of the generator (spiegel generate --fault ...).
GENERATOR_FAULT_KINDS = {
    "checksum mismatch",
    "control total mismatch",
    "duplicate claim_id",
    "missing column",
    "impossible date",
    "decimal comma",
}


def _plain_file_named_gz(folder: Path) -> None:
    """claims.csv renamed to claims.csv.gz (not compressed), with a manifest that matches it."""
    (folder / "claims.csv").rename(folder / "claims.csv.gz")
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["files"][0]["name"] = "claims.csv.gz"
    (folder / "manifest.json").write_text(json.dumps(manifest))


def _symlink_manifest(folder: Path) -> None:
    outside = folder.parent.parent.parent.parent / "manifest-elsewhere.json"
    (folder / "manifest.json").rename(outside)
    os.symlink(outside, folder / "manifest.json")


@pytest.mark.parametrize("name", sorted(BAD_DELIVERIES))
def test_bad_delivery_is_rejected_with_rule_file_and_rows(tmp_path, name):
    build, rule, line = BAD_DELIVERIES[name]
    landing = tmp_path / "landing"  # tmp_path itself is "outside the landing area"
    _write(landing, build)
    before = _tree_digest(landing)
    lines, verdict = _validate(landing)
    assert not verdict.accepted, f"{name} was accepted"
    rules = [v.rule for v in verdict.violations]
    assert rule in rules, f"{name}: expected rule {rule}, got {rules}: {verdict.error_text()}"
    text = verdict.error_text()
    assert f"landing/{PERIOD}/{INSURER}/{DID}/" in text and f"rule {rule}" in text
    if line is not None:
        violation = next(v for v in verdict.violations if v.rule == rule)
        assert violation.rows and violation.rows[0]["line"] == line, (name, violation.rows)
        assert f"line {line}" in text
    # nothing staged, nothing under landing/ changed
    assert (
        lines.con.execute(
            f"select count(*) from duckdb_tables() where table_name in ('{STAGING_TABLE}', '{lines.table}')"
        ).fetchone()[0]
        == 0
    )
    assert _tree_digest(landing) == before


def test_two_claims_files_are_ambiguous(tmp_path):
    folder = write_delivery(tmp_path, PERIOD, INSURER, DID, rows=_rows(2))
    (folder / "claims.csv.gz").write_bytes(gzip.compress((folder / "claims.csv").read_bytes()))
    _, verdict = _validate(tmp_path)
    assert verdict.first_rule == "file.ambiguous"


def test_two_manifests_are_ambiguous(tmp_path):
    folder = write_delivery(tmp_path, PERIOD, INSURER, DID, rows=_rows(2))
    (folder / "manifest (1).json").write_bytes((folder / "manifest.json").read_bytes())
    _, verdict = _validate(tmp_path)
    assert verdict.first_rule == "manifest.ambiguous"
    assert "manifest (1).json" in verdict.error_text()


def test_truncated_gzip_is_rejected(tmp_path):
    rows = _rows(50)
    folder = write_delivery(tmp_path, PERIOD, INSURER, DID, rows=rows, gz=True)
    payload = (folder / "claims.csv.gz").read_bytes()[:-40]
    (folder / "claims.csv.gz").write_bytes(payload)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["files"][0]["sha256"] = hashlib.sha256(payload).hexdigest()  # the insurer hashed the broken file
    (folder / "manifest.json").write_text(json.dumps(manifest))
    _, verdict = _validate(tmp_path)
    assert not verdict.accepted
    assert verdict.first_rule in {"file.readable", "file.row_count"}, verdict.error_text()


def test_symlinked_data_file_pointing_outside_landing_is_rejected(tmp_path):
    outside = tmp_path / "elsewhere.csv"
    outside.write_bytes(render_csv(_rows(2)))
    landing = tmp_path / "landing"
    folder = write_delivery(landing, PERIOD, INSURER, DID, rows=_rows(2))
    (folder / "claims.csv").unlink()
    os.symlink(outside, folder / "claims.csv")
    _, verdict = _validate(landing)
    assert verdict.first_rule == "landing.symlink"


def test_symlinked_delivery_folder_is_rejected(tmp_path):
    real = write_delivery(tmp_path / "outside", PERIOD, INSURER, DID, rows=_rows(2))
    target = tmp_path / "landing" / PERIOD / INSURER
    target.mkdir(parents=True)
    os.symlink(real, target / "20241006T0000")
    deliveries, _ = scan_landing(tmp_path / "landing")
    assert [d.delivery_id for d in deliveries] == ["20241006T0000"]
    verdict = validate_delivery(deliveries[0])
    assert verdict.first_rule == "landing.symlink"


@pytest.mark.parametrize("folder_name", ["2024 10 05", "2024;rm -rf", "..hidden", "ünïcode"])
def test_delivery_folder_with_odd_characters_is_rejected(tmp_path, folder_name):
    write_delivery(tmp_path, PERIOD, INSURER, folder_name, rows=_rows(2))
    deliveries, _ = scan_landing(tmp_path)
    assert len(deliveries) == 1
    verdict = validate_delivery(deliveries[0])
    assert verdict.first_rule == "landing.delivery_id"


def test_unknown_insurer_and_period_folders_are_anomalies_not_deliveries(tmp_path):
    write_delivery(tmp_path, PERIOD, INSURER, DID, rows=_rows(2))
    (tmp_path / PERIOD / "acme_insurance" / DID).mkdir(parents=True)
    (tmp_path / PERIOD / "acme_insurance" / DID / "manifest.json").write_text("{}")
    (tmp_path / "2024-v9" / INSURER).mkdir(parents=True)
    (tmp_path / "not a period").mkdir()
    deliveries, anomalies = scan_landing(tmp_path)
    assert [(d.insurer, d.delivery_id) for d in deliveries] == [(INSURER, DID)]
    reasons = " ".join(a.reason for a in anomalies)
    assert "acme_insurance" in reasons and "2024-v9" in reasons and "not a period" in reasons


def test_upload_in_progress_is_not_touched(tmp_path):
    folder = write_delivery(tmp_path, PERIOD, INSURER, DID, rows=_rows(2))
    (folder / "manifest.json").unlink()
    assert scan_landing(tmp_path)[0] == []


def test_newest_complete_delivery_is_in_force(tmp_path):
    from orchestration.landing.zone import find_in_force

    write_delivery(tmp_path, PERIOD, INSURER, "20241005T0930", rows=_rows(2))
    write_delivery(tmp_path, PERIOD, INSURER, "20241012T0800", rows=_rows(3))
    newest_incomplete = tmp_path / PERIOD / INSURER / "20241020T0800"
    newest_incomplete.mkdir()
    (newest_incomplete / "claims.csv").write_bytes(b"partial")
    assert find_in_force(tmp_path, PERIOD, INSURER).delivery_id == "20241012T0800"


def test_all_violations_are_reported_not_only_the_first(tmp_path):
    rows = _rows(4, r1={"service_date": "2024-13-01"}, r2={"patient_id": "123"}, r3={"claim_id": "C000000"})
    write_delivery(tmp_path, PERIOD, INSURER, DID, rows=rows)
    _, verdict = _validate(tmp_path)
    rules = {v.rule for v in verdict.violations}
    assert {"claims.date_format", "claims.patient_id_pseudonym", "claims.claim_id_unique"} <= rules


def test_pseudonym_fixture_is_valid():
    assert len(PATIENT) == 64


@pytest.mark.parametrize("folder_name", ["VGZ", "vgz ", "vgz;rm -rf ~", "..vgz", "vgz%2F..%2F..", "ünïcode"])
def test_insurer_folder_with_odd_characters_is_an_anomaly_and_the_insurer_stays_missing(tmp_path, folder_name):
    write_delivery(tmp_path, PERIOD, folder_name, DID, rows=_rows(2))
    deliveries, anomalies = scan_landing(tmp_path)
    assert deliveries == []
    assert [a.path.name for a in anomalies] == [folder_name]
    assert "not a known insurer" in anomalies[0].reason and repr(folder_name)[1:-1] in anomalies[0].reason


def test_more_than_25_kinds_of_bad_input_beyond_the_generator_faults():
    assert GENERATOR_FAULT_KINDS <= set(BAD_DELIVERIES)
    assert len(set(BAD_DELIVERIES) - GENERATOR_FAULT_KINDS) >= 25
    assert not set(BAD_DELIVERIES) & set(HARMLESS)


@pytest.mark.parametrize(
    "rule, column, values",
    [
        (
            "claims.date_format",
            "service_date",
            [
                "2024-01-05",
                "2024-02-29",
                "2023-02-29",
                "2024-1-5",
                " 2024-01-05",
                "2024/01/05",
                "20240105",
                "0999-01-05",
                "0000-01-01",
                "10000-01-01",
                "-024-01-05",
                "2024-01-05 ",
                "2024-13-01",
                "",
                None,
                "2024-01-05T00:00",
            ],
        ),
        (
            "claims.amount_format",
            "paid_amount",
            [
                "58.77",
                "-1.50",
                "0.00",
                "-0.00",
                "007.50",
                "0.5",
                ".50",
                "1e3",
                "1,50",
                "12345678901234567.00",
                "1234567890123456.00",
                "-1234567890123456.99",
                "+1.00",
                " 1.00",
                "",
                None,
                "1.005",
            ],
        ),
    ],
)
def test_fast_break_condition_agrees_with_the_exact_rule(rule, column, values):
    """The fast path skips the regular expression for canonically written values; on
    every value, well formed or not, it must decide as the exact rule does."""
    from orchestration.delivery.contract.lines import _fast_break_condition, _row_rule_sql

    exact = next(cond for r, _, cond, show in _row_rule_sql() if r == rule and show[-1] == column)
    fast = _fast_break_condition(rule, exact, column)
    assert fast != exact
    con = duckdb.connect()
    con.execute(f"create table t (i integer, {column} varchar)")
    con.executemany("insert into t values (?, ?)", list(enumerate(values)))
    decided = con.execute(f"select i, coalesce({exact}, true), coalesce({fast}, true) from t order by i").fetchall()
    assert [(i, a) for i, a, _ in decided] == [(i, b) for i, _, b in decided]
    assert decided[0][1] is False and any(a for _, a, _ in decided)  # both kinds are among the values


def test_line_numbers_in_messages_are_those_of_the_file_when_blank_lines_precede(tmp_path):
    rows = _rows(6, r4={"service_date": "2024-13-01"}, r5={"claim_id": "C000001"})
    data = render_csv(rows).replace(b"\nC000002", b"\n\n\nC000002")
    data = data.replace(b"\nC000003", b"\n\nC000003")
    lines = data.split(b"\n")
    write_delivery(tmp_path, PERIOD, INSURER, DID, data=data, rows=rows)
    _, verdict = _validate(tmp_path)
    by_rule = {v.rule: v for v in verdict.violations}
    bad_date_line = next(n for n, text in enumerate(lines, 1) if b"2024-13-01" in text)
    assert bad_date_line == 9  # header, C0, C1, blank, blank, C2, blank, C3, C4
    assert by_rule["claims.date_format"].rows[0]["line"] == bad_date_line
    duplicate_lines = [n for n, text in enumerate(lines, 1) if text.startswith(b"C000001,")]
    assert by_rule["claims.claim_id_unique"].rows[0]["lines"] == duplicate_lines == [3, 10]


def test_blank_lines_are_found_whatever_the_chunk_boundaries():
    """scan_file reads 16 MB chunks: a blank line may straddle two of them."""
    import random

    from orchestration.delivery.contract.file import _BlankLineFinder

    rng = random.Random(7)
    for _ in range(2000):
        lines = [rng.choice([b"", b"\r", b"abc", b"x,y\r", b"12345"]) for _ in range(rng.randint(2, 30))]
        text = b"\n".join(lines) + b"\n"
        expected = [n for n, line in enumerate(lines, 1) if n > 1 and line in (b"", b"\r")]
        finder, at, chunks = _BlankLineFinder(), 0, []
        while at < len(text):
            step = rng.randint(1, 7)
            chunks.append(text[at : at + step])
            finder.feed(chunks[-1])
            at += step
        assert finder.line_numbers(chunks) == expected, text
        assert finder.line_numbers([text]) == expected, text


def test_blank_lines_of_a_gzip_delivery_are_found_in_its_text(tmp_path):
    from orchestration.delivery.contract import find_blank_lines, scan_file

    data = render_csv(_rows(3)).replace(b"\nC000001", b"\n\nC000001")
    path = tmp_path / "claims.csv.gz"
    path.write_bytes(gzip.compress(data))
    assert scan_file(path).text_lines == 5
    assert find_blank_lines(path, scan_file(path), rows=3) == (3,)
    plain = tmp_path / "claims.csv"
    plain.write_bytes(data.replace(b"\n", b"\r\n")[:-2])  # CRLF, no line end after the last line
    assert scan_file(plain).text_lines == 5
    assert find_blank_lines(plain, scan_file(plain), rows=3) == (3,)
    plain.write_bytes(render_csv(_rows(3)))
    assert find_blank_lines(plain, scan_file(plain), rows=3) == ()


def _file_line(row_index: int, blank_lines: tuple[int, ...]) -> int:
    """Reference: walk down from row_index + 2, one line further per blank line passed."""
    line = row_index + 2
    for blank in sorted(blank_lines):
        if blank <= line:
            line += 1
    return line


def test_source_line_sql_gives_the_line_of_the_file_for_any_blank_lines():
    """The SQL form (a binary search in nested CASEs) and a plain walk agree with where
    the rows really are, for runs of blank lines anywhere."""
    import random

    from orchestration.delivery.contract import source_line_sql

    con = duckdb.connect()
    rng = random.Random(3)
    for _ in range(200):
        n = rng.randint(1, 60)
        con.execute(f"create or replace table t as select range as x from range({n})")
        content = ["header"] + [f"row{i}" for i in range(n)]
        for _ in range(rng.randint(0, 40)):
            content.insert(rng.randint(1, len(content)), "")
        blanks = tuple(number for number, text in enumerate(content, 1) if text == "")
        rows = [number for number, text in enumerate(content, 1) if text.startswith("row")]
        in_sql = [r[0] for r in con.execute(f"select {source_line_sql(blanks)} from t order by rowid").fetchall()]
        assert in_sql == rows == [_file_line(r, blanks) for r in range(n)], content
