"""Loading a delivery into the warehouse (orchestration/delivery/loading.py): the validator's one
parse goes into the incoming table, which an accepted delivery keeps (in file order,
labelled with whose lines they are) and a rejected one leaves behind nowhere; a period
with broken deliveries still loads the valid ones."""

from __future__ import annotations

import json

import pytest

from orchestration.core.settings import SpiegelPaths
from orchestration.delivery.loading import INCOMING_PREFIX, incoming_table, load_delivery
from orchestration.delivery.raw_tables import connect_raw
from orchestration.landing.zone import find_in_force
from tests.delivery.test_contract import BAD_DELIVERIES, DID, INSURER, PERIOD, _write
from tests.support.delivery_factory import claim_row, render_csv, write_delivery


def _mixed_line_ends_data(rows: list[dict[str, str]]) -> bytes:
    return render_csv(rows).replace(b"\n", b"\r\n", 3)  # header and two lines CRLF, the rest LF


# insurer -> (what is wrong, writer kwargs from its clean rows, the rule that must block it)
BROKEN_IN_ONE_PERIOD = {
    "cz": (
        "NUL byte",
        lambda rows: dict(
            data=render_csv(rows).replace(rows[0]["claim_id"].encode(), rows[0]["claim_id"].encode() + b"\x00", 1),
            rows=rows,
        ),
        "file.nul_byte",
    ),
    "vgz": (
        "padded original_claim_id",
        lambda rows: dict(
            rows=[
                {**r, "original_claim_id": r["original_claim_id"] + " "} if r["original_claim_id"] else r for r in rows
            ]
        ),
        "claims.whitespace",
    ),
    "eno": (
        "manifest for another period",
        lambda rows: dict(rows=rows, manifest_overrides={"period": "2024-v2"}),
        "manifest.period",
    ),
    "menzis": ("mixed line ends", lambda rows: dict(data=_mixed_line_ends_data(rows), rows=rows), "file.line_ends"),
}


def test_bad_deliveries_block_the_period_while_the_other_insurers_load(tmp_path):
    """Four insurers deliver four kinds of bad input, one a harmless variant with an orphan
    credit, two a clean delivery: exactly the four are blocking reasons, each naming its rule;
    the other three are loaded, gated and pass (the orphan credit is a warning)."""
    from orchestration import gates
    from orchestration.core.settings import SpiegelPaths
    from orchestration.delivery.raw_tables import connect_raw, record_delivery
    from orchestration.release.readiness import period_state, record_readiness
    from tests.support.delivery_factory import clean_period

    paths = SpiegelPaths(tmp_path / "data")
    harmless = "zilveren_kruis"
    for insurer, rows in clean_period(PERIOD).items():
        if insurer in BROKEN_IN_ONE_PERIOD:
            write_delivery(paths.landing, PERIOD, insurer, DID, **BROKEN_IN_ONE_PERIOD[insurer][1](rows))
        elif insurer == harmless:
            rows = rows + [{**rows[0], "claim_id": "orphan", "paid_amount": "-36.53", "claimed_amount": "-36.53"}]
            write_delivery(
                paths.landing, PERIOD, insurer, DID, rows=rows, data=b"\xef\xbb\xbf" + render_csv(rows, newline="\r\n")
            )
        else:
            write_delivery(paths.landing, PERIOD, insurer, DID, rows=rows)
    with connect_raw(paths) as con:
        for insurer in sorted(clean_period(PERIOD)):
            verdict = load_delivery(con, find_in_force(paths.landing, PERIOD, insurer))
            record_delivery(con, verdict)
            if verdict.accepted:
                for check in (gates.check_delivery_contents, gates.check_delivery_completeness):
                    gates.record_gate_result(con, check(con, PERIOD, insurer, paths))
        readiness = gates.check_release_readiness(con, PERIOD, paths)
        gates.record_gate_result(con, readiness)
        record_readiness(con, PERIOD, readiness.passed, readiness.blocking_reasons, readiness.warnings)
        state = period_state(con, paths, PERIOD)
        loaded = dict(
            con.execute("select insurer, count(*) from raw.claims where period = ? group by 1", [PERIOD]).fetchall()
        )
    assert not state.gates_passed
    blocked = {reason.split(":")[0] for reason in state.blocking_reasons}
    assert blocked == set(BROKEN_IN_ONE_PERIOD), state.blocking_reasons
    for insurer, (_, _, rule) in BROKEN_IN_ONE_PERIOD.items():
        reason = next(r for r in state.blocking_reasons if r.startswith(f"{insurer}:"))
        assert f"rule {rule}" in reason and DID in reason, reason
    accepted = {i for i in clean_period(PERIOD) if i not in BROKEN_IN_ONE_PERIOD}
    assert set(loaded) == accepted and all(n > 40 for n in loaded.values())
    assert any(harmless in w and "orphan" in w for w in state.warnings), state.warnings


def test_an_accepted_delivery_stays_in_its_incoming_table_in_file_order_and_labelled(tmp_path):
    paths = SpiegelPaths(tmp_path / "data")
    write_delivery(paths.landing, PERIOD, INSURER, DID, rows=[claim_row(i) for i in range(5)])
    with connect_raw(paths) as con:
        ref = find_in_force(paths.landing, PERIOD, INSURER)
        verdict = load_delivery(con, ref)
        assert verdict.accepted, verdict.error_text()
        table = incoming_table(ref)
        assert table == f'raw."{INCOMING_PREFIX}{PERIOD}__{INSURER}"'
        assert con.execute(f"select count(*), min(rowid) + 2 from {table}").fetchone() == (5, 2)
        assert [r[0] for r in con.execute(f"select claim_id from {table} order by rowid").fetchall()][:2] == [
            "C000000",
            "C000001",
        ]
        comment = con.execute(
            "select comment from duckdb_tables() where schema_name = 'raw' and table_name = ?",
            [f"{INCOMING_PREFIX}{PERIOD}__{INSURER}"],
        ).fetchone()[0]
        assert json.loads(comment) == {"period": PERIOD, "insurer": INSURER, "delivery_id": DID}


@pytest.mark.parametrize(
    "name", ["nul byte", "duplicate claim_id", "control total mismatch", "empty manifest", "space-padded code"]
)
def test_a_rejected_delivery_leaves_no_table(tmp_path, name):
    paths = SpiegelPaths(tmp_path / "data")
    _write(paths.landing, BAD_DELIVERIES[name][0])
    with connect_raw(paths) as con:
        verdict = load_delivery(con, find_in_force(paths.landing, PERIOD, INSURER))
        assert not verdict.accepted
        assert (
            con.execute(
                "select count(*) from duckdb_tables() where table_name = 'delivery_rows' or starts_with(table_name, ?)",
                [INCOMING_PREFIX],
            ).fetchone()[0]
            == 0
        )


def test_a_missing_insurer_is_one_blocking_reason_not_two(tmp_path):
    """The landing zone's check and the readiness gate both see a missing delivery; the
    operator reads it once, in the words that name the folder to look in."""
    from orchestration import gates
    from orchestration.delivery.raw_tables import record_delivery, record_missing
    from orchestration.release.readiness import period_state, record_readiness
    from tests.support.delivery_factory import clean_period

    paths = SpiegelPaths(tmp_path / "data")
    absent = "eno"
    for insurer, rows in clean_period(PERIOD).items():
        if insurer != absent:
            write_delivery(paths.landing, PERIOD, insurer, DID, rows=rows)
    with connect_raw(paths) as con:
        for insurer in sorted(clean_period(PERIOD)):
            ref = find_in_force(paths.landing, PERIOD, insurer)
            if ref is None:
                record_missing(con, PERIOD, insurer)
                continue
            record_delivery(con, load_delivery(con, ref))
            for check in (gates.check_delivery_contents, gates.check_delivery_completeness):
                gates.record_gate_result(con, check(con, PERIOD, insurer, paths))
        readiness = gates.check_release_readiness(con, PERIOD, paths)
        record_readiness(con, PERIOD, readiness.passed, readiness.blocking_reasons, readiness.warnings)
        state = period_state(con, paths, PERIOD)
    assert any(r.startswith(f"{absent}: no delivery for {PERIOD} ") for r in readiness.blocking_reasons)
    assert [r for r in state.blocking_reasons if r.startswith(f"{absent}:")] == [
        f"{absent}: no delivery for {PERIOD} has landed (landing/{PERIOD}/{absent}/ holds no folder with a manifest)"
    ]
    assert not state.gates_passed
