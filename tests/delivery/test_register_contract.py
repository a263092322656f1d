"""The practice register's contract (docs/register-contract.md): every broken rule rejects
the delivery as a whole with its file, rule and first rows; a good one is accepted; the
newest accepted delivery is in force, a rejected newer one leaves the older in force;
the register's folder is no landing anomaly and never changes."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import duckdb
import pytest

from orchestration.core.settings import SpiegelPaths
from orchestration.delivery.contract.register import validate_register
from orchestration.delivery.raw_tables import connect_raw
from orchestration.delivery.register import load_register, register_considered, register_state
from orchestration.landing.zone import RegisterRef, complete_deliveries, newest_register, scan_landing
from tests.support.delivery_factory import claim_row, write_delivery
from tests.support.register_factory import render_register, write_register

DID, NEWER = "20241101T0800", "20241201T0800"
GOOD = [
    ("04112615", "Fysiotherapie De Linde", "Utrecht"),
    ("05000001", "Oefentherapie Cesar Zuid, Den Haag", ""),  # a comma in a quoted name, no place
    ("04000002", "Praktijk voor Fysiotherapie Jansen", "'s-Hertogenbosch"),
]


def _validate(landing: Path, delivery_id: str = DID):
    return validate_register(RegisterRef(delivery_id, landing / "_register" / delivery_id))


def _digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in root.rglob("*") if p.is_file()
    }


def test_a_good_register_is_accepted(tmp_path):
    write_register(tmp_path, DID, GOOD)
    verdict = _validate(tmp_path)
    assert verdict.accepted, verdict.error_text()
    assert verdict.row_count == 3 and verdict.extract_date == "2024-11-01"


def test_a_utf8_bom_and_crlf_line_ends_are_harmless(tmp_path):
    data = b"\xef\xbb\xbf" + render_register([("04112615", "Fysiotherapie Ærø-Zuid", "Utrecht")], newline="\r\n")
    write_register(tmp_path, DID, data=data, file_overrides={"rows": 1})
    verdict = _validate(tmp_path)
    assert verdict.accepted, verdict.error_text()


LONG = "Fysiotherapie " + "x" * 190  # 204 characters


@pytest.mark.parametrize(
    "rows, rule, shown",
    [
        (
            [("4112615", "Fysiotherapie De Linde", "Utrecht")],
            "register.agb_format",
            {"line": 2, "practice_agb": "4112615"},
        ),
        ([("0411261A", "Fysiotherapie De Linde", "Utrecht")], "register.agb_format", {"line": 2}),
        ([("04112615", "", "Utrecht")], "register.name_present", {"line": 2, "practice_agb": "04112615"}),
        ([("04112615", LONG, "Utrecht")], "register.name_length", {"line": 2, "characters": 204}),
        ([("04112615", "De Linde", "U" * 101)], "register.place_length", {"line": 2, "characters": 101}),
        ([("04112615", " De Linde", "Utrecht")], "register.whitespace", {"line": 2, "practice_name": " De Linde"}),
        ([("04112615", "De\nLinde", "Utrecht")], "file.embedded_newline", {"line": 2}),
    ],
)
def test_each_row_rule_rejects_with_file_rule_and_rows(tmp_path, rows, rule, shown):
    write_register(tmp_path, DID, GOOD[1:] + rows if rule != "file.embedded_newline" else rows)
    verdict = _validate(tmp_path)
    assert not verdict.accepted
    (violation,) = [v for v in verdict.violations if v.rule == rule]
    first = violation.rows[0]
    expected_line = shown["line"] + (2 if rule != "file.embedded_newline" else 0)
    assert first["line"] == expected_line
    assert {k: v for k, v in first.items() if k != "line"}.items() >= {
        k: v for k, v in shown.items() if k != "line"
    }.items()
    text = verdict.error_text()
    assert f"landing/_register/{DID}/practices.csv: rule {rule}:" in text
    assert f"line {expected_line}" in text


def test_a_duplicate_agb_rejects_naming_its_lines(tmp_path):
    write_register(tmp_path, DID, GOOD + [("04112615", "Fysiotherapie De Linde Noord", "Utrecht")])
    verdict = _validate(tmp_path)
    assert verdict.first_rule == "register.agb_unique"
    assert verdict.violations[0].rows == [{"line": 2, "practice_agb": "04112615", "occurrences": 2, "lines": [2, 5]}]


@pytest.mark.parametrize(
    "kwargs, rule, words",
    [
        ({"data": render_register(GOOD, header=("agb", "practice_name", "place"))}, "file.header", "exactly"),
        (
            {"data": render_register(GOOD, header=("practice_agb", "place", "practice_name"))},
            "file.header",
            "in this order",
        ),
        ({"data": render_register(GOOD).replace(b"Utrecht", "Utr\xe9cht".encode("latin-1"))}, "file.encoding", "UTF-8"),
        ({"data": render_register(GOOD) + b"04000003,Fysiotherapie, Smit,Breda\n"}, "file.field_count", "fields"),
        ({"data": render_register([])}, "register.not_empty", "no practices"),
        ({"rows": GOOD, "file_overrides": {"rows": 7}}, "file.row_count", "promises 7"),
        ({"rows": GOOD, "file_overrides": {"sha256": "0" * 64}}, "file.checksum", "sha256"),
        ({"rows": GOOD, "manifest_overrides": {"register": "agb_therapists"}}, "manifest.register", "agb_practices"),
        ({"rows": GOOD, "manifest_overrides": {"delivery_id": "20240101T0000"}}, "manifest.delivery_id", "folder"),
        ({"rows": GOOD, "manifest_overrides": {"contract_version": 2}}, "manifest.contract_version", "version 1"),
        ({"rows": GOOD, "manifest_overrides": {"extract_date": "1-11-2024"}}, "manifest.fields", "YYYY-MM-DD"),
        ({"rows": GOOD, "file_overrides": {"name": "practices.xlsx"}}, "manifest.files", "practices.csv"),
    ],
)
def test_each_file_and_manifest_rule_rejects_the_whole_delivery(tmp_path, kwargs, rule, words):
    if "data" in kwargs and "file_overrides" not in kwargs:
        kwargs["file_overrides"] = {"rows": 3 if rule not in ("register.not_empty", "file.field_count") else 0}
        if rule == "file.field_count":
            kwargs["file_overrides"] = {"rows": 4}
    write_register(tmp_path, DID, **kwargs)
    verdict = _validate(tmp_path)
    assert verdict.first_rule == rule, verdict.error_text()
    assert words in verdict.violations[0].message
    name = "manifest.json" if rule.startswith("manifest") else "practices.csv"
    assert verdict.error_text().startswith(f"landing/_register/{DID}/{name}: rule {rule}:")


def test_a_broken_manifest_and_a_missing_file_are_named(tmp_path):
    folder = write_register(tmp_path, DID, GOOD)
    (folder / "manifest.json").write_text("{not json", encoding="utf-8")
    assert _validate(tmp_path).first_rule == "manifest.json"
    folder = write_register(tmp_path, NEWER, GOOD)
    (folder / "practices.csv").unlink()
    assert _validate(tmp_path, NEWER).first_rule == "file.present"


def test_the_register_folder_is_no_landing_anomaly_and_no_period(tmp_path):
    write_register(tmp_path, DID, GOOD)
    write_delivery(tmp_path, "2024-v1", "vgz", "20241005T0930", rows=[claim_row(1)])
    (tmp_path / "_register" / "20241102T0800").mkdir()  # an upload in progress
    deliveries, anomalies = scan_landing(tmp_path)
    assert anomalies == []
    assert [d.label for d in deliveries] == ["2024-v1/vgz/20241005T0930"]
    assert [d.period for d in complete_deliveries(tmp_path)] == ["2024-v1"]
    assert newest_register(tmp_path).delivery_id == DID
    (tmp_path / "_register" / "notes.txt").write_text("x")
    assert [a.reason for a in scan_landing(tmp_path)[1]] == ["not a folder; ignored"]


def test_newest_accepted_is_in_force_and_a_rejected_newer_one_leaves_it_there(tmp_path):
    paths = SpiegelPaths(tmp_path / "data")
    write_register(paths.landing, DID, GOOD)
    before = _digest(paths.landing)
    with connect_raw(paths) as con:
        state = load_register(con, paths.landing)
    assert state.in_force.ref.delivery_id == DID and not state.rejected
    broken = write_register(paths.landing, NEWER, [("04112615", "", "Utrecht")])
    state = register_state(paths.landing)
    assert state.in_force.ref.delivery_id == DID
    assert [v.ref.delivery_id for v in state.rejected] == [NEWER]
    summary = state.summary()
    assert f"{DID} in force (3 practices" in summary
    assert f"{NEWER} is REJECTED (rule register.name_present)" in summary
    assert f"landing/_register/{NEWER}/practices.csv" in summary and "line 2" in summary
    with connect_raw(paths) as con:
        load_register(con, paths.landing)
        assert sorted(con.execute("select * from raw.practice_register").fetchall()) == sorted(
            (a, n, p or None) for a, n, p in GOOD
        )
        log = con.execute(
            "select delivery_id, status, in_force, rejection_rule from raw.register_deliveries order by delivery_id"
        ).fetchall()
        assert log == [(DID, "accepted", True, None), (NEWER, "rejected", False, "register.name_present")]
        assert register_considered(con) == NEWER
        # no temporary table of the parse is left on the warehouse's connection
        assert not con.execute("select count(*) from duckdb_tables() where temporary").fetchone()[0]
    # nothing under landing/ was changed
    assert {k: v for k, v in _digest(paths.landing).items() if not k.startswith(f"_register/{NEWER}")} == before
    assert json.loads((broken / "manifest.json").read_text())["delivery_id"] == NEWER


def test_a_newer_good_register_replaces_the_rows(tmp_path):
    paths = SpiegelPaths(tmp_path / "data")
    write_register(paths.landing, DID, GOOD)
    write_register(paths.landing, NEWER, [("04112615", "Fysiotherapie De Linde", "Zeist")])
    with connect_raw(paths) as con:
        state = load_register(con, paths.landing)
        assert state.in_force.ref.delivery_id == NEWER
        assert con.execute("select * from raw.practice_register").fetchall() == [
            ("04112615", "Fysiotherapie De Linde", "Zeist")
        ]


def test_without_any_accepted_register_nothing_is_in_force(tmp_path):
    paths = SpiegelPaths(tmp_path / "data")
    assert "none in force (no delivery under landing/_register/)" in register_state(paths.landing).summary()
    write_register(paths.landing, DID, [("bad", "x", "y")])
    with connect_raw(paths) as con:
        state = load_register(con, paths.landing)
        assert state.in_force is None and state.rejected
        assert con.execute("select count(*) from raw.practice_register").fetchone() == (0,)
    assert state.as_dict()["in_force"] is None and state.as_dict()["rejected"][0]["rule"] == "register.agb_format"
    assert "none in force: practices are addressed by their AGB code" in state.summary()


def test_the_validator_keeps_nothing_without_a_connection_and_leaves_an_accepted_table_with_one(tmp_path):
    write_register(tmp_path, DID, GOOD)
    con = duckdb.connect()
    verdict = validate_register(RegisterRef(DID, tmp_path / "_register" / DID), con)
    assert verdict.table and con.execute(f"select count(*) from {verdict.table}").fetchone() == (3,)
    assert _validate(tmp_path).table is None
