"""A release's labels.csv: the labels (UZOVI codes) in force for the period of the insurers
that delivered to it, as the labels seed says at publish time, listed in release.json, and
the same bytes on every run (the portal's public /labels/ page reads it)."""

from __future__ import annotations

import csv
import hashlib
import json

import pytest

from orchestration.core.seeds import LABELS_SEED, LABELS_SEED_ENV, required_insurers
from orchestration.core.settings import SpiegelPaths
from orchestration.release.publish import LABEL_COLUMNS, labels_table, publish_release
from orchestration.release.signoff import record_signoff
from tests.release.test_release import PERIOD, _judge, _land_and_ingest

# 2024-v1 is the period published: one label ended before it, one starts after it
ENDED = "3399,vgz,VGZ Oud,2015-v1,2023-v3"
LATER = "3398,cz,CZ Nieuw,2024-v2,"
BOUNDED = "3397,eno,ENO tijdelijk,2023-v3,2024-v1"


@pytest.fixture
def labels_seed(tmp_path, monkeypatch):
    """The repository's labels seed plus three labels with bounds around 2024-v1."""
    seed = tmp_path / "insurer_labels.csv"
    seed.write_text(LABELS_SEED.read_text(encoding="utf-8").rstrip("\n") + f"\n{ENDED}\n{LATER}\n{BOUNDED}\n")
    monkeypatch.setenv(LABELS_SEED_ENV, str(seed))
    return seed


def _publish(data_dir) -> SpiegelPaths:
    paths = SpiegelPaths(data_dir)
    _land_and_ingest(paths)
    record_signoff(paths, _judge(paths), "anna", "checked")
    publish_release(paths, PERIOD, reports=False)
    return paths


def _seed_rows(seed) -> list[dict[str, str]]:
    with open(seed, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_labels_csv_holds_the_labels_in_force_of_the_delivering_insurers(tmp_path, labels_seed):
    release = _publish(tmp_path / "data").releases / PERIOD / "r1"
    with open(release / "labels.csv", newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        rows = list(reader)
    assert reader.fieldnames == LABEL_COLUMNS == ["insurer_id", "insurer_name", "uzovi", "label_name"]
    uzovi = {row["uzovi"] for row in rows}
    assert "3399" not in uzovi  # ended with 2023-v3
    assert "3398" not in uzovi  # starts with 2024-v2
    assert "3397" in uzovi  # its last period is this one
    expected = sorted(
        (r["insurer_id"], r["uzovi"])
        for r in _seed_rows(labels_seed)
        if r["uzovi"] not in {"3399", "3398"} and r["insurer_id"] in required_insurers(PERIOD)
    )
    assert [(row["insurer_id"], row["uzovi"]) for row in rows] == expected  # sorted by insurer, then label
    vgz = next(row for row in rows if row["uzovi"] == "7095")
    assert vgz == {"insurer_id": "vgz", "insurer_name": "VGZ", "uzovi": "7095", "label_name": "VGZ"}
    files = json.loads((release / "release.json").read_text())["files"]
    assert files["labels.csv"] == {
        "sha256": hashlib.sha256((release / "labels.csv").read_bytes()).hexdigest(),
        "rows": len(rows),
    }


def test_labels_csv_is_the_same_bytes_on_a_rerun(tmp_path, labels_seed):
    first = _publish(tmp_path / "a").releases / PERIOD / "r1" / "labels.csv"
    second = _publish(tmp_path / "b").releases / PERIOD / "r1" / "labels.csv"
    assert first.read_bytes() == second.read_bytes()
    assert first.read_bytes().endswith(b"\n") and b"\r" not in first.read_bytes()


def test_labels_table_names_only_the_insurers_that_delivered(labels_seed):
    two = labels_table(PERIOD, ["vgz", "cz"])
    assert set(two["insurer_id"]) == {"cz", "vgz"}
    assert list(two["uzovi"]) == ["9018", "9664", "7029", "7095"]  # cz before vgz, each by code
    # nothing delivered (a release is never published so, but the table still has an answer)
    everyone = labels_table(PERIOD, [])
    assert set(everyone["insurer_id"]) == set(required_insurers(PERIOD))
