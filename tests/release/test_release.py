"""Sign-off and publishing on a hand-built warehouse: refusals, voiding, revisions,
immutability, determinism and the release layout of cli.md."""

from __future__ import annotations

import hashlib
import json

import pytest

from orchestration.core.seeds import required_insurers
from orchestration.core.settings import SpiegelPaths
from orchestration.core.warehouse import connect_read
from orchestration.delivery.loading import load_delivery
from orchestration.delivery.raw_tables import connect_raw, record_delivery
from orchestration.landing.zone import find_in_force
from orchestration.release.publish import PublishRefused, archive_old_periods, publish_release, revisions
from orchestration.release.readiness import period_state, record_readiness
from orchestration.release.signoff import SignoffRefused, record_signoff, valid_signoff
from tests.support.delivery_factory import claim_row, write_delivery

PERIOD = "2024-v1"

MARTS_SQL = """
create schema if not exists marts;
create or replace table marts.fct_behandelindex as select * from (values
  ('{p}', 'fysiotherapie', '04000002', 'ok', 40, 50, 400, 380.0, 105.26315789473684, 90.1, 120.4, 90.1),
  ('{p}', 'fysiotherapie', '04000001', 'insufficient_patients', 3, 3, 20, 21.0, null, null, null, null)
) t(period, discipline, practice_agb, status, patients, episodes, sessions, expected_sessions,
    behandelindex, ci_lower, ci_upper, corrected_index);
create or replace table marts.fct_reference_strata as select * from (values
  ('{p}', 'fysiotherapie', 'cell', 'L3|fysiotherapie', 'L3', null, null, null, null, 53, 7.54, 3.1)
) t(period, discipline, row_type, cell_id, level, age_band, sex, body_region, chronic, episodes,
    mean_sessions, variance_sessions);
create or replace table marts.fct_excluded_lines as select * from (values
  ('{p}', 'vgz', 'rejected_paid_zero', 2, 0.00)
) t(period, insurer_id, reason, lines, paid_amount);
create or replace table marts.dim_practices as select * from (values
  ('{p}', '04000001', null, null), ('{p}', '04000002', 'Fysiotherapie De Linde', 'Utrecht')
) t(period, practice_agb, practice_name, place);
"""


@pytest.fixture
def paths(tmp_path):
    return SpiegelPaths(tmp_path / "data")


def _land_and_ingest(paths, period=PERIOD, delivery_id="20241005T0930", insurers=None):
    with connect_raw(paths) as con:
        for insurer in insurers or required_insurers(period):
            write_delivery(
                paths.landing,
                period,
                insurer,
                delivery_id,
                rows=[claim_row(i, service_date="2024-03-04") for i in range(3)],
            )
            verdict = load_delivery(con, find_in_force(paths.landing, period, insurer))
            assert verdict.accepted, verdict.error_text()
            record_delivery(con, verdict)
        con.execute(MARTS_SQL.format(p=period))


def _judge(paths, period=PERIOD, passed=True, reasons=()):
    with connect_raw(paths) as con:
        record_readiness(con, period, passed, list(reasons), [])
        return period_state(con, paths, period)


def test_signoff_refused_while_blocked_and_nothing_published(paths):
    _land_and_ingest(paths, insurers=["cz", "vgz"])  # five insurers missing
    state = _judge(paths, passed=True)
    assert not state.gates_passed
    assert any("eno: no delivery" in r for r in state.blocking_reasons)
    with pytest.raises(SignoffRefused, match="eno: no delivery"):
        record_signoff(paths, state, "anna", "looks fine")
    with pytest.raises(PublishRefused):
        publish_release(paths, PERIOD, reports=False)
    assert not (paths.releases / PERIOD).exists() or revisions(paths, PERIOD) == []


def test_failed_gate_blocks_with_its_reason(paths):
    _land_and_ingest(paths)
    state = _judge(paths, passed=False, reasons=["vgz: 2024-05 has 3 % of the insurer's median monthly sessions"])
    assert state.blocking_reasons == ["vgz: 2024-05 has 3 % of the insurer's median monthly sessions"]
    with pytest.raises(SignoffRefused, match="2024-05"):
        record_signoff(paths, state, "anna", "x")


def test_publish_needs_a_signoff_then_writes_the_release_layout(paths):
    _land_and_ingest(paths)
    state = _judge(paths)
    assert state.gates_passed, state.blocking_reasons
    with pytest.raises(PublishRefused, match="no valid sign-off"):
        publish_release(paths, PERIOD, reports=False)
    record_signoff(paths, state, "anna", "checked the monthly volumes")
    result = publish_release(paths, PERIOD, reports=False)
    assert result.revision == "r1" and result.created
    folder = paths.releases / PERIOD / "r1"
    assert sorted(p.name for p in folder.iterdir()) == [
        "behandelindex.csv",
        "excluded_lines.csv",
        "index_movement.csv",
        "labels.csv",
        "practices.csv",
        "reference_strata.csv",
        "release.json",
    ]
    lines = (folder / "behandelindex.csv").read_text().splitlines()
    assert lines[0] == (
        "period,discipline,practice_agb,status,patients,episodes,sessions,expected_sessions,"
        "behandelindex,ci_lower,ci_upper,corrected_index"
    )
    assert lines[1] == "2024-v1,fysiotherapie,04000001,insufficient_patients,3,3,20,21.0,,,,"
    assert lines[2].startswith("2024-v1,fysiotherapie,04000002,ok,40,50,400,380.0,105.26315789473684,")
    release = json.loads((folder / "release.json").read_text())
    assert release["signoff"]["by"] == "anna" and release["gates"]["verdict"] == "pass"
    assert {i["insurer"] for i in release["insurers"]} == set(required_insurers(PERIOD))
    assert (
        release["files"]["behandelindex.csv"]["sha256"]
        == hashlib.sha256((folder / "behandelindex.csv").read_bytes()).hexdigest()
    )
    # no temporary folder is left behind
    assert [p.name for p in (paths.releases / PERIOD).iterdir()] == ["r1"]


def test_publishing_again_with_the_same_signoff_changes_nothing(paths):
    _land_and_ingest(paths)
    record_signoff(paths, _judge(paths), "anna", "ok")
    first = publish_release(paths, PERIOD, reports=False)
    before = (first.path / "release.json").read_bytes()
    again = publish_release(paths, PERIOD, reports=False)
    assert not again.created and again.revision == "r1"
    assert (first.path / "release.json").read_bytes() == before
    assert revisions(paths, PERIOD) == ["r1"]


def test_redelivery_voids_the_signoff_and_the_next_publish_is_r2(paths):
    _land_and_ingest(paths)
    record_signoff(paths, _judge(paths), "anna", "ok")
    r1 = publish_release(paths, PERIOD, reports=False).path
    r1_digest = {p.name: p.read_bytes() for p in r1.iterdir()}
    # vgz redelivers: the landed delivery is newer than the ingested one
    write_delivery(paths.landing, PERIOD, "vgz", "20241020T0930", rows=[claim_row(i) for i in range(4)])
    with connect_read(paths) as con:
        state = period_state(con, paths, PERIOD)
    assert any("20241020T0930 has landed but is not ingested" in r for r in state.blocking_reasons)
    assert valid_signoff(paths, state) is None
    with pytest.raises(PublishRefused):
        publish_release(paths, PERIOD, reports=False)
    # after ingestion and a fresh verdict the old sign-off is void (other deliveries)
    _land_and_ingest(paths, delivery_id="20241020T0930", insurers=["vgz"])
    state = _judge(paths)
    assert state.gates_passed and valid_signoff(paths, state) is None
    record_signoff(paths, state, "bram", "vgz redelivered")
    r2 = publish_release(paths, PERIOD, reports=False)
    assert r2.revision == "r2"
    assert {p.name: p.read_bytes() for p in r1.iterdir()} == r1_digest  # r1 untouched
    # the same marts give byte-identical tables
    assert (r2.path / "behandelindex.csv").read_bytes() == r1_digest["behandelindex.csv"]


def test_signoff_log_is_append_only(paths):
    _land_and_ingest(paths)
    state = _judge(paths)
    record_signoff(paths, state, "anna", "one")
    first = paths.signoffs.read_text()
    record_signoff(paths, state, "bram", "two")
    text = paths.signoffs.read_text()
    assert text.startswith(first) and len(text.splitlines()) == 2
    assert valid_signoff(paths, state).by == "bram"


def test_old_periods_move_to_the_archive_whole(paths):
    for year in (2022, 2023, 2024):
        for v in (1, 2, 3):
            folder = paths.releases / f"{year}-v{v}" / "r1"
            folder.mkdir(parents=True)
            (folder / "behandelindex.csv").write_text("x\n")
    moved = archive_old_periods(paths)
    assert [m.name for m in moved] == ["2022-v1", "2022-v2", "2022-v3"]
    assert (paths.archive / "2022-v1" / "r1" / "behandelindex.csv").read_text() == "x\n"
    assert sorted(p.name for p in paths.releases.iterdir()) == [
        "2023-v1",
        "2023-v2",
        "2023-v3",
        "2024-v1",
        "2024-v2",
        "2024-v3",
    ]


def test_data_directory_is_not_world_readable(paths):
    _land_and_ingest(paths, insurers=["vgz"])
    assert paths.data_dir.stat().st_mode & 0o077 == 0
    assert paths.warehouse.stat().st_mode & 0o077 == 0


def test_the_reports_are_rendered_after_the_warehouse_is_released(paths, monkeypatch):
    """A publish reads the warehouse at its start; while it renders the reports (minutes at
    national scale) another period's method run can take the warehouse's write lock."""
    from orchestration.core.warehouse import write_lock
    from orchestration.release import publish

    _land_and_ingest(paths)
    record_signoff(paths, _judge(paths), "anna", "checked")
    figures = object()
    seen = {}
    monkeypatch.setattr(publish, "_read_report_marts", lambda p, period, practices: figures)

    def render(release_dir, p, practices, marts, say):
        seen["marts"] = marts
        with write_lock(paths, timeout=1.0):  # exclusive, as a method run takes it
            seen["warehouse_free"] = True
        assert (paths.releases / ".publish.lock").exists()
        return {"html": 0, "pdf": 0, "seconds_per_pdf": 0.0}

    monkeypatch.setattr(publish, "_render_reports", render)
    result = publish_release(paths, PERIOD, reports=True)
    assert result.created and seen == {"marts": figures, "warehouse_free": True}
    assert json.loads((result.path / "release.json").read_text())["reports"]["html"] == 0


def test_a_cancelled_version_is_gated_but_never_signed_off_or_published(paths):
    """method.md §11: the deliveries of a cancelled period are accepted and checked; the
    sign-off and the publish refuse it, naming the reason."""
    (paths.method_config).mkdir(parents=True)
    (paths.method_config / "exclusion_windows.csv").write_text("first_date,last_date,reason\n", encoding="utf-8")
    (paths.method_config / "cancelled_periods.csv").write_text(
        f"period,reason,decided_on\n{PERIOD},de gegevens zijn niet vergelijkbaar,2024-09-01\n", encoding="utf-8"
    )
    _land_and_ingest(paths)
    state = _judge(paths, passed=True)
    assert state.gates_passed and state.cancelled is not None
    with pytest.raises(SignoffRefused, match=f"{PERIOD} is cancelled .*de gegevens zijn niet vergelijkbaar"):
        record_signoff(paths, state, "anna", "looks fine")
    assert valid_signoff(paths, state) is None
    with pytest.raises(PublishRefused, match="cancelled .*de gegevens zijn niet vergelijkbaar"):
        publish_release(paths, PERIOD, reports=False)
    assert revisions(paths, PERIOD) == []
