"""`spiegel generate` writes a practice register delivery (docs/register-contract.md) for
the practices it generates: contract-exact, deterministic by seed, with plausible Dutch
names in real Dutch places, and a few practices left out so the fallback is exercised."""

from __future__ import annotations

import csv
import hashlib

import pytest

from orchestration.commands import synthetic
from orchestration.commands.synthetic.register import FEATURES, PLACES, register_delivery_id
from orchestration.delivery.register import register_state
from orchestration.landing.zone import register_deliveries, scan_landing


def _quiet(_: str) -> None:
    pass


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    data = tmp_path_factory.mktemp("register")
    summary = synthetic.generate(data, years=[2024], practices=120, seed=5, periods=["2024-v1"], progress=_quiet)
    return data, summary


def _rows(folder) -> list[dict[str, str]]:
    with open(folder / "practices.csv", newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_the_register_delivery_is_accepted_and_in_force(generated):
    data, summary = generated
    (ref,) = register_deliveries(data / "landing")
    assert ref.delivery_id == register_delivery_id(2024) and summary.register == ref.path
    state = register_state(data / "landing")
    assert state.in_force is not None and not state.rejected, state.summary()
    assert scan_landing(data / "landing")[1] == []


def test_names_and_places_are_plausible_and_a_few_practices_are_left_out(generated):
    data, summary = generated
    rows = _rows(summary.register)
    claims = data / "landing" / "2024-v1" / "vgz"
    agbs_in_claims = set()
    for delivery in claims.iterdir():
        with open(delivery / "claims.csv", newline="", encoding="utf-8") as f:
            agbs_in_claims |= {r["practice_agb"] for r in csv.DictReader(f)}
    named = {r["practice_agb"] for r in rows}
    assert 1 <= 120 - len(rows) <= 6  # about 3 % left out
    assert agbs_in_claims - named, "some practice of the claims is missing from the register"
    assert all(r["place"] in PLACES for r in rows)
    assert all(
        r["practice_name"].startswith(
            ("Fysiotherapie", "Praktijk voor", "Oefentherapie", "Mensendieck", "Fysio-", "Paramedisch", "Gezondheids")
        )
        for r in rows
    )
    assert any(feature in r["practice_name"] for r in rows for feature in FEATURES)
    assert len({r["practice_name"] for r in rows}) > len(rows) / 2  # varied


def test_the_register_is_deterministic_by_seed_and_never_rewritten(generated, tmp_path):
    data, summary = generated
    digest = hashlib.sha256((summary.register / "practices.csv").read_bytes()).hexdigest()
    again = synthetic.generate(
        tmp_path / "a", years=[2024], practices=120, seed=5, periods=["2024-v1"], progress=_quiet
    )
    assert hashlib.sha256((again.register / "practices.csv").read_bytes()).hexdigest() == digest
    other = synthetic.generate(
        tmp_path / "b", years=[2024], practices=120, seed=6, periods=["2024-v1"], progress=_quiet
    )
    assert hashlib.sha256((other.register / "practices.csv").read_bytes()).hexdigest() != digest
    before = (summary.register / "manifest.json").stat().st_mtime_ns
    repeat = synthetic.generate(data, years=[2024], practices=120, seed=5, periods=["2024-v1"], progress=_quiet)
    assert repeat.register is None and (summary.register / "manifest.json").stat().st_mtime_ns == before
