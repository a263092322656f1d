"""Insurer labels (UZOVI codes) as configuration (delivery-contract.md "Labels").

A concern pays under one or more labels, listed with their periods in
``dbt_project/seeds/insurer_labels.csv``. The contents gate blocks lines under a label of
another concern (misrouted) or of no concern, naming the label, its lines and what to
change; recognised labels never block. Tests that change the configuration edit a copy
of the seed that ``SPIEGEL_INSURER_LABELS`` points at, never the repository's.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from orchestration import gates
from orchestration.commands import synthetic
from orchestration.core.partitions import delivery_key
from orchestration.core.seeds import (
    LABELS_SEED,
    LABELS_SEED_ENV,
    insurer_labels,
    insurer_labels_in,
    labels_in_force,
)
from orchestration.core.settings import SEEDS_DIR, SpiegelPaths
from orchestration.delivery.contract import CLAIM_COLUMNS
from orchestration.delivery.raw_tables import ensure_raw_schema
from orchestration.gates.check_metadata import gate_metadata
from tests.gates.test_quality import claims_frame, load
from tests.support.delivery_factory import clean_period, write_delivery
from tests.support.pipeline import PUBLISHED_TABLES, _restored_environment, evaluate_sensor, published_tables, spiegel

CONTRACT_TABLE = {  # delivery-contract.md, "Labels (UZOVI codes) per insurer"
    "zilveren_kruis": ["3311", "3351"],
    "vgz": ["7095", "7029"],
    "cz": ["9664", "9018"],
    "menzis": ["3332", "3334"],
    "de_friesland": ["3343"],
    "zorg_en_zekerheid": ["3313"],
    "eno": ["3329"],
}


@pytest.fixture
def labels_seed(tmp_path, monkeypatch) -> Path:
    """A copy of the labels seed that the platform reads instead of the repository's."""
    copy = tmp_path / "insurer_labels.csv"
    shutil.copyfile(LABELS_SEED, copy)
    monkeypatch.setenv(LABELS_SEED_ENV, str(copy))
    return copy


def edit_seed(path: Path, change) -> None:
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    rows = change(rows)
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(
            f, fieldnames=["uzovi", "insurer_id", "label_name", "first_period", "last_period"], lineterminator="\n"
        )
        w.writeheader()
        w.writerows(rows)


@pytest.fixture
def wh(tmp_path):
    paths = SpiegelPaths(tmp_path / "data")
    paths.data_dir.mkdir(parents=True)
    con = duckdb.connect(str(paths.warehouse))
    ensure_raw_schema(con)
    yield con, paths
    con.close()


def with_labels(frame: pd.DataFrame, labels: dict[str, int]) -> pd.DataFrame:
    """``frame`` with the first lines (after the first 100) paid under other labels: {label: lines}."""
    frame = frame.copy()
    start = 100
    for label, n in labels.items():
        frame.loc[range(start, start + n), "uzovi"] = label
        start += n
    return frame


def failing(result, name):
    return [o for o in result.outcomes if o.expectation == name and not o.success]


# --------------------------------------------------------------------------- the configuration


def test_the_labels_seed_holds_the_contract_table_and_required_insurers_no_uzovi():
    for insurer, labels in CONTRACT_TABLE.items():
        assert insurer_labels_in(insurer, "2015-v1") == labels
        assert insurer_labels_in(insurer, "2024-v3") == labels
    assert len(labels_in_force("2024-v1")) == 11
    header = (SEEDS_DIR / "required_insurers.csv").read_text().splitlines()[0]
    assert "uzovi" not in header  # one fact in one place


def test_a_broken_labels_seed_is_refused_with_the_line_and_what_is_wrong(labels_seed):
    original = labels_seed.read_text()
    cases = [
        ("9018,vgz,CZ label at VGZ,2024-v1,\n", "lines 7 and 13: label 9018 is in force for cz"),
        ("123,vgz,short,2024-v1,\n", "line 13: uzovi '123' is not 4 digits"),
        ("1234,acme,unknown,2024-v1,\n", "line 13: insurer_id 'acme'"),
        ("1234,vgz,backwards,2024-v3,2024-v1\n", "line 13: last_period 2024-v1 is before first_period 2024-v3"),
        ("1234,vgz,no such period,2024-v9,\n", "line 13: first_period '2024-v9'"),
    ]
    for row, words in cases:
        labels_seed.write_text(original + row)
        with pytest.raises(ValueError, match=words.replace("(", r"\(")):
            insurer_labels()
    # a label that moves: cz's until 2023-v3, vgz's from 2024-v1 on, is fine
    labels_seed.write_text(
        original.replace("9018,cz,CZ second label,2015-v1,", "9018,cz,CZ second label,2015-v1,2023-v3")
        + "9018,vgz,VGZ third label,2024-v1,\n"
    )
    assert labels_in_force("2023-v3")["9018"].insurer_id == "cz"
    assert labels_in_force("2024-v1")["9018"].insurer_id == "vgz"


# --------------------------------------------------------------------------- the gate, per label


def test_recognised_labels_never_block_and_the_metadata_counts_lines_per_label(wh):
    con, paths = wh
    frame = claims_frame("2024-v1", "cz")  # 2,360 lines under 9664
    frame.loc[frame.index % 2 == 0, "uzovi"] = "9018"  # half under CZ's second label
    load(con, "2024-v1", "cz", "d1", frame)
    result = gates.check_delivery_contents(con, "2024-v1", "cz", paths)
    assert result.passed, result.blocking_reasons
    assert not failing(result, "foreign_label_lines") and not failing(result, "unknown_label_lines")
    assert [(r["uzovi"], r["lines"], r["label_of"]) for r in result.label_lines] == [
        ("9018", 1180, "cz's"),
        ("9664", 1180, "cz's"),
    ]
    table = gate_metadata(result)["lines_per_label"]
    assert [(r.data["uzovi"], r.data["lines"], r.data["label_name"]) for r in table.records] == [
        ("9018", 1180, "CZ second label"),
        ("9664", 1180, "CZ"),
    ]


def test_a_label_of_another_concern_or_of_none_blocks_naming_label_lines_and_what_to_change(wh):
    con, paths = wh
    frame = with_labels(claims_frame("2024-v1", "vgz"), {"9018": 25, "4321": 7, "12A4": 2})
    load(con, "2024-v1", "vgz", "d1", frame)
    result = gates.check_delivery_contents(con, "2024-v1", "vgz", paths)
    assert not result.passed
    (foreign,) = failing(result, "foreign_label_lines")
    assert foreign.severity == "error" and foreign.observed == {"label": "9018", "lines": 25, "insurer": "cz"}
    for words in (
        "vgz:",
        "25 of 2360 lines (1.1 %)",
        "label 9018",
        "cz's label in 2024-v1",
        "misrouted",
        "counted twice",
        "dbt_project/seeds/insurer_labels.csv",
        "spiegel run --period 2024-v1`",
    ):
        assert words in foreign.message, (words, foreign.message)
    assert len(foreign.sample_rows) == 5 and {r["value"] for r in foreign.sample_rows} == {"9018"}
    assert foreign.sample_rows[0]["source_line"] == 102
    (unknown,) = failing(result, "unknown_label_lines")
    assert unknown.observed == {"label": "4321", "lines": 7, "insurer": None}
    for words in (
        "vgz:",
        "7 of 2360 lines",
        "label 4321",
        "no concern has in 2024-v1",
        "add it to dbt_project/seeds/insurer_labels.csv",
        "insurer_id vgz",
    ):
        assert words in unknown.message, (words, unknown.message)
    # two lines with a malformed code stay the format rule's business (within its 0.1 % tolerance)
    malformed = next(o for o in result.outcomes if o.expectation == "malformed_uzovi")
    assert malformed.success and malformed.observed == pytest.approx(2 / 2360)
    assert len(result.blocking_reasons) == 2
    assert [(r["uzovi"], r["lines"], r["label_of"]) for r in result.label_lines] == [
        ("4321", 7, "no concern's"),
        ("7095", 2326, "vgz's"),
        ("9018", 25, "cz's: misrouted"),
        ("(malformed)", 2, "not 4 digits"),
    ]

    # the release readiness carries both reasons, each naming vgz and the label
    gates.record_gate_result(con, result)
    gates.record_gate_result(con, gates.check_delivery_completeness(con, "2024-v1", "vgz", paths))
    readiness = gates.check_release_readiness(con, "2024-v1", paths)
    vgz = [r for r in readiness.blocking_reasons if r.startswith("vgz:")]
    assert len(vgz) == 1 and "label 9018" in vgz[0] and "label 4321" in vgz[0] and "25 of 2360" in vgz[0]


def test_a_tolerance_in_thresholds_json_lets_a_few_foreign_lines_pass_and_says_so(wh, monkeypatch):
    con, paths = wh
    tolerant = gates.thresholds()
    tolerant["delivery_contents"]["max_foreign_label_lines"] = 30
    monkeypatch.setattr(gates.delivery_contents, "thresholds", lambda: tolerant)
    load(con, "2024-v1", "vgz", "d1", with_labels(claims_frame("2024-v1", "vgz"), {"9018": 25}))
    result = gates.check_delivery_contents(con, "2024-v1", "vgz", paths)
    assert result.passed
    o = next(o for o in result.outcomes if o.expectation == "foreign_label_lines")
    assert o.success and "within the tolerance of 30 lines (9018: 25)" in o.message


def test_a_label_moved_between_concerns_is_the_new_concerns_from_that_period_only(wh, labels_seed):
    con, paths = wh
    # 3351 leaves zilveren_kruis after 2024-v1 and is menzis's from 2024-v2 on
    edit_seed(
        labels_seed,
        lambda rows: (
            [dict(r, last_period="2024-v1") if r["uzovi"] == "3351" else r for r in rows]
            + [
                {
                    "uzovi": "3351",
                    "insurer_id": "menzis",
                    "label_name": "Menzis (from Zilveren Kruis)",
                    "first_period": "2024-v2",
                    "last_period": "",
                }
            ]
        ),
    )
    verdicts = {}
    for period in ("2024-v1", "2024-v2"):
        for insurer in ("zilveren_kruis", "menzis"):
            load(con, period, insurer, "d1", with_labels(claims_frame(period, insurer), {"3351": 40}))
            result = gates.check_delivery_contents(con, period, insurer, paths)
            verdicts[(period, insurer)] = result
    assert verdicts[("2024-v1", "zilveren_kruis")].passed
    assert verdicts[("2024-v2", "menzis")].passed
    old_owner = failing(verdicts[("2024-v1", "menzis")], "foreign_label_lines")[0]
    assert old_owner.observed == {"label": "3351", "lines": 40, "insurer": "zilveren_kruis"}
    assert "zilveren_kruis's label in 2024-v1" in old_owner.message
    new_owner = failing(verdicts[("2024-v2", "zilveren_kruis")], "foreign_label_lines")[0]
    assert new_owner.observed == {"label": "3351", "lines": 40, "insurer": "menzis"}
    assert "menzis's label in 2024-v2" in new_owner.message

    # a label that is a concern's only in later periods is no concern's now, and the reason says when it is
    edit_seed(
        labels_seed,
        lambda rows: (
            rows
            + [
                {
                    "uzovi": "5555",
                    "insurer_id": "eno",
                    "label_name": "ENO 2025",
                    "first_period": "2025-v1",
                    "last_period": "",
                }
            ]
        ),
    )
    load(con, "2024-v2", "eno", "d1", with_labels(claims_frame("2024-v2", "eno"), {"5555": 3}))
    early = failing(gates.check_delivery_contents(con, "2024-v2", "eno", paths), "unknown_label_lines")[0]
    assert early.observed == {"label": "5555", "lines": 3, "insurer": None}
    assert "no concern has in 2024-v2 (it is eno's from 2025-v1 on)" in early.message


# --------------------------------------------------------------------------- the generator


def read_uzovi(folder: Path) -> dict[str, int]:
    path = next(p for p in folder.iterdir() if p.name.startswith("claims.csv"))
    rows = (
        duckdb.connect()
        .execute(f"select uzovi, count(*) from read_csv('{path}', all_varchar = true) group by 1")
        .fetchall()
    )
    return dict(rows)


def read_lines(folder: Path) -> list[list[str]]:
    path = next(p for p in folder.iterdir() if p.name.startswith("claims.csv"))
    rows = duckdb.connect().execute(f"select * from read_csv('{path}', all_varchar = true)").fetchall()
    return [list(r) for r in rows]


def test_the_generator_pays_half_of_a_concerns_lines_under_its_second_label(tmp_path):
    quiet = lambda _: None  # noqa: E731
    mixed, main = tmp_path / "mixed", tmp_path / "main"
    synthetic.generate(mixed, years=[2024], practices=12, seed=5, periods=["2024-v1"], progress=quiet)
    synthetic.generate(main, years=[2024], practices=12, seed=5, periods=["2024-v1"], progress=quiet, labels="main")
    for insurer, labels in CONTRACT_TABLE.items():
        folder = next((mixed / "landing" / "2024-v1" / insurer).iterdir())
        counts = read_uzovi(folder)
        assert set(counts) == set(labels), (insurer, counts)
        if len(labels) == 2:
            assert 0.4 < counts[labels[1]] / sum(counts.values()) < 0.6, (insurer, counts)
        plain = next((main / "landing" / "2024-v1" / insurer).iterdir())
        assert read_uzovi(plain) == {labels[0]: sum(counts.values())}
        # the same lines, claim_ids included; only the label column differs
        uzovi = CLAIM_COLUMNS.index("uzovi")
        a, b = read_lines(folder), read_lines(plain)
        assert [r[:uzovi] + r[uzovi + 1 :] for r in a] == [r[:uzovi] + r[uzovi + 1 :] for r in b]
    assert json.loads((mixed / "ground_truth" / "generation.json").read_text())["last"]["labels"] == "mixed"


def test_label_faults_write_exactly_their_lines_and_are_checked_against_the_seed(tmp_path):
    quiet = lambda _: None  # noqa: E731
    faults = [
        synthetic.parse_fault("foreign-label:insurer=vgz,label=9018,rows=25"),
        synthetic.parse_fault("unknown-label:insurer=eno"),
    ]
    synthetic.generate(tmp_path, years=[2024], practices=12, seed=5, periods=["2024-v1"], faults=faults, progress=quiet)
    vgz = read_uzovi(next((tmp_path / "landing" / "2024-v1" / "vgz").iterdir()))
    assert vgz["9018"] == 25 and set(vgz) == {"7095", "7029", "9018"}
    eno = read_uzovi(next((tmp_path / "landing" / "2024-v1" / "eno").iterdir()))
    assert eno["9999"] == 25 and set(eno) == {"3329", "9999"}
    for bad, words in [
        ("foreign-label:insurer=vgz,label=7029", "not another concern's label"),
        ("unknown-label:label=9664", "is cz's"),
        ("foreign-label:label=90", "4-digit"),
    ]:
        with pytest.raises(ValueError, match=words):
            synthetic.generate(
                tmp_path / "x",
                years=[2024],
                practices=5,
                periods=["2024-v1"],
                faults=[synthetic.parse_fault(bad)],
                progress=quiet,
            )


# --------------------------------------------------------------------------- end to end, through the CLI


def test_mixed_labels_pass_the_gates_and_publish_the_index_of_main_labels_only(clean_release, tmp_path):
    paths = SpiegelPaths(tmp_path / "data")
    period = "2024-v1"
    deliveries = clean_period(period, labels="mixed")
    for insurer, rows in deliveries.items():
        write_delivery(paths.landing, period, insurer, "20241005T0930", rows=rows)
        labels = CONTRACT_TABLE[insurer]
        if len(labels) == 2:
            share = sum(r["uzovi"] == labels[1] for r in rows) / len(rows)
            assert 0.35 < share < 0.65, (insurer, share)
    assert spiegel(paths.data_dir, "run", "--period", period) == 0
    assert spiegel(paths.data_dir, "signoff", "--period", period, "--by", "anna", "--comment", "labels") == 0
    assert spiegel(paths.data_dir, "publish", "--period", period) == 0
    mixed = published_tables(paths.releases / period / "r1")
    assert mixed == published_tables(clean_release["release"])
    assert set(mixed) == set(PUBLISHED_TABLES) and len(mixed["behandelindex.csv"].splitlines()) > 1


def status(data_dir: Path, period: str, capsys) -> dict:
    capsys.readouterr()
    assert spiegel(data_dir, "status", "--period", period, "--json") == 0
    out = json.loads(capsys.readouterr().out)
    return next(p for p in out["periods"] if p["period"] == period)


def sensor_requests(name: str, paths: SpiegelPaths) -> list[str]:
    """The partitions the named sensor would request now on the data directory's instance."""
    import dagster as dg

    from orchestration.runs import sensors
    from orchestration.runs.instance import use_data_dir

    with _restored_environment():
        use_data_dir(paths)
        with dg.DagsterInstance.get() as instance:
            result = evaluate_sensor(getattr(sensors, name), instance)
            return sorted(_described(r) for r in result.run_requests)


def _described(request) -> str:
    """``period`` for a period run, ``period: insurer,insurer`` for an ingestion run (the
    insurers its config asks to gate)."""
    ops = (request.run_config or {}).get("ops", {})
    insurers = sorted(i for op in ops.values() for i in op.get("config", {}).get("insurers", []))
    return f"{request.partition_key}: {','.join(insurers)}" if insurers else str(request.partition_key)


def check_metadata(paths: SpiegelPaths, period: str, insurer: str) -> dict:
    """Metadata of the newest ``delivery_contents`` check of (period, insurer) in the Dagster instance."""
    import dagster as dg

    partition = str(delivery_key(period, insurer))
    with dg.DagsterInstance.from_config(str(paths.dagster_home)) as instance:
        key = dg.AssetCheckKey(dg.AssetKey("delivery"), "delivery_contents")
        records = instance.event_log_storage.get_asset_check_execution_history(key, limit=200)
        record = next(r for r in records if r.partition == partition and r.event is not None)
        evaluation = record.event.dagster_event.event_specific_data
        return {"passed": evaluation.passed, **evaluation.metadata}


def test_misrouted_and_unknown_labels_block_until_the_configuration_says_otherwise(tmp_path, labels_seed, capsys):
    paths = SpiegelPaths(tmp_path / "data")
    period = "2024-v1"
    deliveries = clean_period(period)
    for k, row in enumerate(deliveries["vgz"][:30]):
        if k >= 5:
            row["uzovi"] = "9018"  # 25 lines of vgz under a CZ label
    for row in deliveries["eno"][:10]:
        row["uzovi"] = "4321"  # 10 lines of eno under a label no concern has
    for insurer, rows in deliveries.items():
        write_delivery(paths.landing, period, insurer, "20241005T0930", rows=rows)
    assert spiegel(paths.data_dir, "run", "--period", period) == 0
    state = status(paths.data_dir, period, capsys)
    assert len(state["blocking_reasons"]) == 2, state["blocking_reasons"]
    (vgz,) = [r for r in state["blocking_reasons"] if r.startswith("vgz:")]
    n_vgz = len(deliveries["vgz"])
    assert f"25 of {n_vgz} lines" in vgz and "label 9018" in vgz and "cz's label" in vgz
    assert "insurer_labels.csv" in vgz
    (eno,) = [r for r in state["blocking_reasons"] if r.startswith("eno:")]
    assert f"10 of {len(deliveries['eno'])} lines" in eno and "label 4321" in eno and "no concern" in eno
    assert spiegel(paths.data_dir, "signoff", "--period", period, "--by", "anna", "--comment", "no") != 0
    # the Dagster check shows the lines per label
    check = check_metadata(paths, period, "vgz")
    assert check["passed"] is False
    assert {(r.data["uzovi"], r.data["lines"], r.data["label_of"]) for r in check["lines_per_label"].records} == {
        ("7095", n_vgz - 25, "vgz's"),
        ("9018", 25, "cz's: misrouted"),
    }
    assert "label 9018" in check["blocking_reasons"].value

    # operations decide both are legitimate: 9018 moved to vgz this period, 4321 is a new eno label
    edit_seed(
        labels_seed,
        lambda rows: (
            [dict(r, last_period="2023-v3") if r["uzovi"] == "9018" else r for r in rows]
            + [
                {
                    "uzovi": "9018",
                    "insurer_id": "vgz",
                    "label_name": "VGZ (from CZ)",
                    "first_period": period,
                    "last_period": "",
                },
                {
                    "uzovi": "4321",
                    "insurer_id": "eno",
                    "label_name": "ENO new label",
                    "first_period": period,
                    "last_period": "",
                },
            ]
        ),
    )
    # the sensors and `spiegel run` ask the same question (runs/done.py) and both gate again:
    # the daemon's landing sensor requests one run gating every delivery of the period, the
    # period sensor waits
    assert sensor_requests("landing_sensor", paths) == [f"{period}: {','.join(sorted(deliveries))}"]
    assert sensor_requests("period_sensor", paths) == []
    # a plain rerun (no --force) gates the deliveries again: the configuration changed after their gating
    assert spiegel(paths.data_dir, "run", "--period", period) == 0
    assert sensor_requests("landing_sensor", paths) == []  # done, whoever did it
    state = status(paths.data_dir, period, capsys)
    assert state["blocking_reasons"] == [], state["blocking_reasons"]
    assert spiegel(paths.data_dir, "signoff", "--period", period, "--by", "anna", "--comment", "labels") == 0
