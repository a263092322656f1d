"""Contract validation: every kind of broken delivery is rejected with its rule, its
file and its rows; harmless variations are accepted; the landing zone is never changed."""
from __future__ import annotations

import gzip
import hashlib
import json
import os
from pathlib import Path

import duckdb
import pytest

from delivery_factory import PATIENT, claim_row, render_csv, write_delivery
from orchestration.contract import CLAIM_COLUMNS, STAGING_TABLE, validate_delivery
from orchestration.landing import DeliveryRef, scan_landing

PERIOD, INSURER, DID = "2024-v1", "vgz", "20241005T0930"


def _validate(landing: Path, insurer: str = INSURER, delivery_id: str = DID):
    con = duckdb.connect()
    ref = DeliveryRef(PERIOD, insurer, delivery_id, landing / PERIOD / insurer / delivery_id)
    return con, validate_delivery(con, ref)


def _rows(n: int = 4, **overrides_by_index) -> list[dict[str, str]]:
    return [claim_row(i, **overrides_by_index.get(f"r{i}", {})) for i in range(n)]


def _tree_digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and not p.is_symlink()}


def test_clean_delivery_is_accepted_and_rows_are_staged(tmp_path):
    write_delivery(tmp_path, PERIOD, INSURER, DID, rows=_rows(5))
    con, verdict = _validate(tmp_path)
    assert verdict.accepted, verdict.error_text()
    assert verdict.row_count == 5
    assert str(verdict.paid_amount_total) == "182.65"
    assert con.execute(f"select count(*), min(rowid) + 2 from {STAGING_TABLE}").fetchone() == (5, 2)


def test_gzip_delivery_is_accepted(tmp_path):
    write_delivery(tmp_path, PERIOD, INSURER, DID, rows=_rows(3), gz=True)
    _, verdict = _validate(tmp_path)
    assert verdict.accepted, verdict.error_text()
    assert verdict.data_file.name == "claims.csv.gz"


@pytest.mark.parametrize("variant", ["bom", "crlf"])
def test_harmless_variants_are_accepted(tmp_path, variant):
    """A UTF-8 byte-order mark and CRLF line ends change no value: accepted (documented in the README)."""
    rows = _rows(3)
    data = render_csv(rows, newline="\r\n" if variant == "crlf" else "\n")
    if variant == "bom":
        data = b"\xef\xbb\xbf" + data
    write_delivery(tmp_path, PERIOD, INSURER, DID, rows=rows, data=data)
    _, verdict = _validate(tmp_path)
    assert verdict.accepted, verdict.error_text()
    assert verdict.row_count == 3


BAD_DELIVERIES = {
    # name: (writer kwargs builder, expected rule, expected line or None)
    "empty file": (lambda: dict(data=b"", rows=[]), "file.header", None),
    "header only": (lambda: dict(data=render_csv([]), rows=[]), "claims.not_empty", None),
    "semicolon delimiter": (lambda: dict(data=render_csv(_rows(2)).replace(b",", b";"), rows=_rows(2)),
                            "file.delimiter", 1),
    "tab delimiter": (lambda: dict(data=render_csv(_rows(2)).replace(b",", b"\t"), rows=_rows(2)),
                      "file.delimiter", 1),
    "missing column": (lambda: dict(data=render_csv(_rows(2), columns=CLAIM_COLUMNS[:-1]), rows=_rows(2)),
                       "file.header", 1),
    "extra column": (lambda: dict(data=render_csv(_rows(2), columns=CLAIM_COLUMNS + ("note",)), rows=_rows(2)),
                     "file.header", 1),
    "reordered columns": (lambda: dict(data=render_csv(_rows(2), columns=(CLAIM_COLUMNS[1], CLAIM_COLUMNS[0])
                                                       + CLAIM_COLUMNS[2:]), rows=_rows(2)), "file.header", 1),
    "renamed column": (lambda: dict(data=render_csv(_rows(2)).replace(b"paid_amount", b"paid", 1), rows=_rows(2)),
                       "file.header", 1),
    "latin-1 bytes": (lambda: dict(data=render_csv(_rows(3)).replace(b"C000001,", b"C000001\xe9,"), rows=_rows(3)),
                      "file.encoding", 3),
    "too many fields": (lambda: dict(data=render_csv(_rows(3)).replace(b"2024-03-20\nC000002",
                                                                          b"2024-03-20,x\nC000002"), rows=_rows(3)),
                        "file.field_count", 3),
    "too few fields": (lambda: dict(data=render_csv(_rows(3)).replace(b",AV,36.53,36.53,2024-03-20\nC000002",
                                                                         b",AV,36.53,36.53\nC000002"), rows=_rows(3)),
                       "file.field_count", 3),
    "unterminated quote": (lambda: dict(data=render_csv(_rows(3)).replace(b"C000001,", b'"C000001,'), rows=_rows(3)),
                           "file.quoting", 3),
    "quoted newline": (lambda: dict(data=render_csv(_rows(3)).replace(b",7001,", b',"70\n01",', 1), rows=_rows(3)),
                       "file.embedded_newline", None),
    "repeated header": (lambda: dict(data=render_csv(_rows(2)) + (",".join(CLAIM_COLUMNS) + "\n").encode(),
                                     rows=_rows(3)), "file.repeated_header", 4),
    "impossible date": (lambda: dict(rows=_rows(3, r1={"service_date": "2024-02-31"})), "claims.date_format", 3),
    "day-first date": (lambda: dict(rows=_rows(3, r2={"birth_date": "17-05-1980"})), "claims.date_format", 4),
    "empty processed date": (lambda: dict(rows=_rows(3, r0={"processed_date": ""})), "claims.date_format", 2),
    "decimal comma": (lambda: dict(rows=_rows(3, r1={"paid_amount": "36,53"})), "claims.amount_format", 3),
    "quoted decimal comma": (lambda: dict(rows=_rows(3, r1={"claimed_amount": '"36,53"'})), "claims.amount_format", 3),
    "amount without cents": (lambda: dict(rows=_rows(3, r1={"paid_amount": "36"})), "claims.amount_format", 3),
    "amount with currency": (lambda: dict(rows=_rows(3, r1={"claimed_amount": "EUR 36.53"})),
                             "claims.amount_format", 3),
    "empty claim_id": (lambda: dict(rows=_rows(3, r2={"claim_id": ""})), "claims.claim_id_present", 4),
    "duplicate claim_id": (lambda: dict(rows=_rows(3, r2={"claim_id": "C000000"})), "claims.claim_id_unique", 2),
    "bsn instead of pseudonym": (lambda: dict(rows=_rows(3, r1={"patient_id": "123456782"})),
                                 "claims.patient_id_pseudonym", 3),
    "uppercase pseudonym": (lambda: dict(rows=_rows(3, r1={"patient_id": "A" * 64})),
                            "claims.patient_id_pseudonym", 3),
    "huge line": (lambda: dict(data=render_csv(_rows(2)).replace(b"C000001,", b"C000001" + b"x" * 1_200_000 + b",", 1),
                               rows=_rows(2)), "file.line_size", None),
    "row count mismatch": (lambda: dict(rows=_rows(3), file_overrides={"rows": 4}), "file.row_count", None),
    "control total mismatch": (lambda: dict(rows=_rows(3), file_overrides={"paid_amount_total": "1.00"}),
                               "claims.control_total", None),
    "checksum mismatch": (lambda: dict(rows=_rows(3), file_overrides={"sha256": "0" * 64}), "file.checksum", None),
    "manifest not json": (lambda: dict(raw_manifest=b"{not json"), "manifest.json", None),
    "empty manifest": (lambda: dict(raw_manifest=b""), "manifest.json", None),
    "manifest is a list": (lambda: dict(raw_manifest=b"[]"), "manifest.json", None),
    "manifest for another insurer": (lambda: dict(manifest_overrides={"insurer": "cz"}), "manifest.insurer", None),
    "manifest for another period": (lambda: dict(manifest_overrides={"period": "2024-v2"}), "manifest.period", None),
    "manifest for another delivery": (lambda: dict(manifest_overrides={"delivery_id": "x"}), "manifest.delivery_id", None),
    "wrong cutoff": (lambda: dict(manifest_overrides={"cutoff_date": "2024-12-31"}), "manifest.cutoff_date", None),
    "wrong period end": (lambda: dict(manifest_overrides={"period_end": "2024-09-30"}), "manifest.period_end", None),
    "contract version 2": (lambda: dict(manifest_overrides={"contract_version": 2}), "manifest.contract_version", None),
    "manifest lacks files": (lambda: dict(manifest_overrides={"files": []}), "manifest.files", None),
    "manifest total as float": (lambda: dict(file_overrides={"paid_amount_total": 109.59}), "manifest.files", None),
    "manifest names another file": (lambda: dict(file_overrides={"name": "claims.csv.gz"}), "file.present", None),
}


@pytest.mark.parametrize("name", sorted(BAD_DELIVERIES))
def test_bad_delivery_is_rejected_with_rule_file_and_rows(tmp_path, name):
    build, rule, line = BAD_DELIVERIES[name]
    write_delivery(tmp_path, PERIOD, INSURER, DID, **build())
    before = _tree_digest(tmp_path)
    con, verdict = _validate(tmp_path)
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
    assert con.execute(f"select count(*) from duckdb_tables() where table_name = '{STAGING_TABLE}'").fetchone()[0] == 0
    assert _tree_digest(tmp_path) == before


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
    con = duckdb.connect()
    verdict = validate_delivery(con, deliveries[0])
    assert verdict.first_rule == "landing.symlink"


@pytest.mark.parametrize("folder_name", ["2024 10 05", "2024;rm -rf", "..hidden", "ünïcode"])
def test_delivery_folder_with_odd_characters_is_rejected(tmp_path, folder_name):
    write_delivery(tmp_path, PERIOD, INSURER, folder_name, rows=_rows(2))
    deliveries, _ = scan_landing(tmp_path)
    assert len(deliveries) == 1
    verdict = validate_delivery(duckdb.connect(), deliveries[0])
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
    from orchestration.landing import find_in_force

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
