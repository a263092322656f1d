"""Privacy: nothing published identifies a patient; a BSN never enters; the data stay private.

Published files go to practices, insurers and the public; the patient pseudonym and
the birth date are needed to compute the index, never to publish it.
"""

from __future__ import annotations

import csv
import io

import duckdb

from orchestration.core.settings import SpiegelPaths
from orchestration.delivery.loading import load_delivery
from orchestration.delivery.raw_tables import connect_raw, record_delivery
from orchestration.landing.zone import find_in_force
from tests.support.delivery_factory import claim_row, write_delivery
from tests.support.pipeline import published_text

BSN = "123456782"  # passes the BSN eleven-test: what a real citizen service number looks like


def _landed_identifiers(landing) -> tuple[set[str], set[str]]:
    patients, births = set(), set()
    for data in landing.rglob("claims.csv"):
        for row in csv.DictReader(io.StringIO(data.read_text(encoding="utf-8"))):
            patients.add(row["patient_id"])
            births.add(row["birth_date"])
    return patients, births


def test_no_published_file_holds_a_patient_id_or_birth_date(clean_release):
    patients, births = _landed_identifiers(clean_release["data"] / "landing")
    assert len(patients) >= 40 and len(births) >= 20
    day_first = {f"{b[8:10]}-{b[5:7]}-{b[0:4]}" for b in births}  # 1975-03-15 as 15-03-1975
    forbidden = {"patient_id", "birth_date", "birthdate", *patients, *{p[:16] for p in patients}, *births, *day_first}
    files = [p for p in clean_release["release"].rglob("*") if p.is_file()]
    assert {p.suffix for p in files} >= {".csv", ".json", ".html", ".pdf"}
    for path in files:
        text = published_text(path)
        assert text.strip(), path
        found = sorted(value for value in forbidden if value in text)
        assert not found, f"{path.relative_to(clean_release['release'])} contains {found[:5]}"


def test_a_bsn_is_rejected_without_being_repeated_or_stored(tmp_path):
    paths = SpiegelPaths(tmp_path / "data")
    rows = [claim_row(i) for i in range(3)]
    rows[1]["patient_id"] = BSN
    write_delivery(paths.landing, "2024-v1", "vgz", "20241005T0930", rows=rows)
    with connect_raw(paths) as con:
        verdict = load_delivery(con, find_in_force(paths.landing, "2024-v1", "vgz"))
        record_delivery(con, verdict)
    assert verdict.first_rule == "claims.patient_id_pseudonym"
    assert "line 3 (claim_id='C000001')" in verdict.error_text()
    assert BSN not in verdict.error_text()
    con = duckdb.connect(str(paths.warehouse), read_only=True)
    stored = con.execute("select count(*) from raw.claims").fetchone()[0]
    messages = " ".join(r[0] or "" for r in con.execute("select rejection_message from raw.deliveries").fetchall())
    con.close()
    assert stored == 0 and "patient_id" in messages and BSN not in messages


def test_the_data_directory_is_private_after_a_whole_run(clean_release):
    data = clean_release["data"]
    assert data.stat().st_mode & 0o077 == 0  # nobody else can even list it
    for name in ("warehouse.duckdb", "signoffs.jsonl"):
        assert (data / name).stat().st_mode & 0o077 == 0, name
