"""The synthetic deliveries: contract-exact, deterministic, realistic, and faults that do what they claim.

These tests read the files the generator writes (with DuckDB), never its internals, so
they check what an insurer's delivery would look like to the platform.
"""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from orchestration.commands import synthetic
from orchestration.core.seeds import periods
from orchestration.delivery.contract import CLAIM_COLUMNS, validate_delivery
from orchestration.landing.zone import complete_deliveries, find_in_force

INSURERS = ["cz", "vgz", "eno", "menzis", "zilveren_kruis", "de_friesland", "zorg_en_zekerheid"]


def quiet(_: str) -> None:
    pass


def files_digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def data_file(folder: Path) -> Path:
    return next(p for p in folder.iterdir() if p.name.startswith("claims.csv"))


def lines(con: duckdb.DuckDBPyConnection, folder: Path, name: str = "claims") -> int:
    """Load a delivery's claims as text into table ``name``; returns its row count."""
    path = data_file(folder)
    con.execute(
        f"create or replace table {name} as select * from read_csv('{path}', header = true, "
        "all_varchar = true, auto_detect = true)"
    )
    return con.execute(f"select count(*) from {name}").fetchone()[0]


def manifest(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text())


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> Path:
    """One year of clean deliveries for 120 practices."""
    data = tmp_path_factory.mktemp("clean")
    synthetic.generate(data, years=[2024], practices=120, seed=11, progress=quiet)
    return data


@pytest.fixture(scope="module")
def v3(clean) -> duckdb.DuckDBPyConnection:
    """All insurers' 2024-v3 lines in one table, with the insurer."""
    con = duckdb.connect()
    parts = []
    for insurer in INSURERS:
        path = data_file(find_in_force(clean / "landing", "2024-v3", insurer).path)
        parts.append(f"select '{insurer}' as insurer, * from read_csv('{path}', header = true, all_varchar = true)")
    con.execute("create table v3 as " + " union all ".join(parts))
    con.execute("""create table codes as select * from read_csv('dbt_project/seeds/prestatie_codes.csv',
                   header = true, all_varchar = true)""")
    return con


# ------------------------------------------------------------------------- the contract


def test_every_period_and_insurer_is_delivered_and_accepted_by_the_contract(clean):
    found = complete_deliveries(clean / "landing")
    assert {(d.period, d.insurer) for d in found} == {
        (p, i) for p in ("2024-v1", "2024-v2", "2024-v3") for i in INSURERS
    }
    for ref in found:
        verdict = validate_delivery(ref)
        assert verdict.accepted, verdict.error_text()
        m = manifest(ref.path)
        info = periods()[ref.period]
        assert (m["period_start"], m["period_end"], m["cutoff_date"]) == (
            info.period_start,
            info.period_end,
            info.cutoff_date,
        )
        assert m["files"][0]["rows"] == verdict.row_count > 0
    # one insurer delivers gzip, the others plain CSV
    names = {d.insurer: data_file(d.path).name for d in found}
    assert names["de_friesland"] == "claims.csv.gz" and names["vgz"] == "claims.csv"


def test_header_and_value_formats_follow_the_contract(clean, v3):
    folder = find_in_force(clean / "landing", "2024-v3", "vgz").path
    assert data_file(folder).read_text().splitlines()[0] == ",".join(CLAIM_COLUMNS)
    bad = v3.execute(r"""
        select count(*) filter (where not regexp_full_match(practice_agb, '[0-9]{8}')),
               count(*) filter (where not regexp_full_match(therapist_agb, '[0-9]{8}')),
               count(*) filter (where not regexp_full_match(patient_id, '[0-9a-f]{64}')),
               count(*) filter (where not regexp_full_match(uzovi, '[0-9]{4}')),
               count(*) filter (where sex not in ('0', '1', '2', '9')),
               count(*) filter (where code_list not in ('073', '074')),
               count(*) filter (where indication_code not in ('001', '008', '009')),
               count(*) filter (where coverage not in ('BV', 'AV')),
               count(*) filter (where dcsph_code is not null and not regexp_full_match(dcsph_code, '[0-9]{4}')),
               count(*) filter (where not regexp_full_match(paid_amount, '-?[0-9]+\.[0-9]{2}')),
               count(*) filter (where cast(service_date as date) not between date '2024-01-01' and date '2024-12-31'),
               count(*) filter (where cast(processed_date as date) > date '2025-03-31'),
               count(*) filter (where cast(processed_date as date) < cast(service_date as date))
        from v3""").fetchone()
    assert bad == (0,) * len(bad)
    unknown = v3.execute("""select count(*) from v3 left join codes using (code_list, prestatie_code)
                            where codes.category is null""").fetchone()[0]
    assert unknown == 0


# ------------------------------------------------------------------------- determinism


def test_same_seed_writes_byte_identical_files_and_another_seed_does_not(tmp_path):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    for folder, seed in ((a, 5), (b, 5), (c, 6)):
        synthetic.generate(folder, years=[2023], practices=12, seed=seed, progress=quiet)
    digest_a = files_digest(a / "landing")
    assert len(digest_a) == 3 * 7 * 2 + 2  # and the practice register: practices.csv, manifest.json
    assert digest_a == files_digest(b / "landing")
    assert (a / "ground_truth" / "practices.csv").read_bytes() == (b / "ground_truth" / "practices.csv").read_bytes()
    assert set(digest_a.values()).isdisjoint(files_digest(c / "landing").values())


def test_a_second_run_skips_complete_deliveries_and_changes_nothing(tmp_path):
    first = synthetic.generate(tmp_path, years=[2023], practices=8, seed=2, periods=["2023-v1"], progress=quiet)
    before = files_digest(tmp_path / "landing")
    again = synthetic.generate(tmp_path, years=[2023], practices=8, seed=2, periods=["2023-v1"], progress=quiet)
    assert len(first.deliveries) == 7 and again.deliveries == [] and len(again.skipped) == 7
    assert files_digest(tmp_path / "landing") == before


# ------------------------------------------------------------------------- realism


def test_practice_sizes_range_from_a_handful_to_thousands_in_both_disciplines(v3):
    sizes = v3.execute("""select code_list, practice_agb, count(distinct patient_id) as patients
                          from v3 group by all""").fetchall()
    patients = sorted(n for _, _, n in sizes)
    assert patients[0] < 30, patients[:5]  # some practices get no index
    assert patients[-1] > 1000, patients[-5:]
    by_list = {cl: sum(1 for c, _, _ in sizes if c == cl) for cl in ("073", "074")}
    assert by_list["073"] > 4 * by_list["074"] > 0
    both = v3.execute("""select count(*) from (select practice_agb from v3 group by practice_agb
                         having count(distinct code_list) = 2)""").fetchone()[0]
    assert both >= 1


def test_market_shares_are_realistic(v3):
    shares = dict(
        v3.execute("""select insurer, count(distinct patient_id) / sum(count(distinct patient_id)) over ()
                                from v3 group by insurer""").fetchall()
    )
    for insurer, share in synthetic.MARKET_SHARES.items():
        assert abs(shares[insurer] - share) < 0.02, (insurer, shares[insurer], share)


def test_claim_noise_is_present(v3):
    row = v3.execute("""
        select count(*),
               count(*) filter (where cast(paid_amount as decimal(12, 2)) = 0),
               count(*) filter (where cast(paid_amount as decimal(12, 2)) < 0),
               count(*) filter (where cast(paid_amount as decimal(12, 2)) < 0
                                and original_claim_id in (select claim_id from v3)),
               count(*) filter (where category = 'screening_intake'),
               count(*) filter (where category = 'surcharge'),
               count(*) filter (where category in ('other', 'report')),
               count(*) filter (where dcsph_code is null)
        from v3 join codes using (code_list, prestatie_code)""").fetchone()
    total, rejected, credits, matched_credits, screening, surcharge, other, no_dcsph = row
    assert 0.005 < rejected / total < 0.03
    assert 0.003 < credits / total < 0.03
    assert 0 < credits - matched_credits < credits * 0.05  # a few orphan credits, not many
    assert 0.05 < screening / total < 0.15
    assert surcharge > 0 and other > 0 and 0 < no_dcsph / total < 0.01


def test_claim_volume_per_patient_and_chronic_share(v3):
    per_patient, chronic = v3.execute("""
        select count(*) / count(distinct patient_id),
               count(distinct patient_id) filter (where indication_code in ('001', '008'))
                 / count(distinct patient_id)
        from v3""").fetchone()
    assert 8 < per_patient < 15  # national: 45 million lines / 4 million patients
    assert 0.06 < chronic < 0.18


def test_some_patients_are_paid_by_two_insurers_in_one_year(v3):
    two = v3.execute("""select count(*) from (select patient_id from v3 group by patient_id
                        having count(distinct insurer) > 1)""").fetchone()[0]
    patients = v3.execute("select count(distinct patient_id) from v3").fetchone()[0]
    assert 0.002 < two / patients < 0.03


def test_processing_lag_makes_v1_hold_less_of_june_than_v3(clean):
    con = duckdb.connect()
    june = {}
    for period in ("2024-v1", "2024-v3"):
        lines(con, find_in_force(clean / "landing", period, "vgz").path)
        june[period] = con.execute("select count(*) from claims where service_date like '2024-06-%'").fetchone()[0]
        lag = con.execute(
            """select max(cast(processed_date as date) - cast(service_date as date)) from claims"""
        ).fetchone()[0]
        assert lag > 60
    assert 0.85 * june["2024-v3"] < june["2024-v1"] < june["2024-v3"]


def test_versions_are_cumulative_and_a_line_keeps_its_claim_id(clean):
    con = duckdb.connect()
    lines(con, find_in_force(clean / "landing", "2024-v1", "cz").path, "v1")
    lines(con, find_in_force(clean / "landing", "2024-v2", "cz").path, "v2")
    missing = con.execute("select count(*) from v1 anti join v2 using (claim_id)").fetchone()[0]
    changed = con.execute("""select count(*) from v1 join v2 using (claim_id)
        where v1.service_date <> v2.service_date or v1.paid_amount <> v2.paid_amount""").fetchone()[0]
    assert missing == 0 and changed == 0


def test_ground_truth_lists_every_practice_with_its_propensity(clean, v3):
    truth = (
        duckdb.connect()
        .execute(f"""select * from read_csv('{clean / "ground_truth" / "practices.csv"}',
                                         header = true, all_varchar = true)""")
        .df()
    )
    assert len(truth) == 120 and truth["practice_agb"].str.fullmatch(r"[0-9]{8}").all()
    propensity = truth["propensity"].astype(float)
    assert 0.5 <= propensity.min() < 0.85 and 1.2 < propensity.max() <= 2.0
    delivered = {r[0] for r in v3.execute("select distinct practice_agb from v3").fetchall()}
    assert delivered <= set(truth["practice_agb"])


# ------------------------------------------------------------------------- faults


def implausible_birth_lines(data: Path) -> tuple[int, int]:
    """(lines, deliveries) of every delivery under ``data``: lines born after their treatment or before 1900."""
    con = duckdb.connect()
    files = [str(data_file(d.path)) for d in complete_deliveries(data / "landing")]
    bad = con.execute(
        "select count(*) from read_csv($files, header = true, all_varchar = true, union_by_name = true) "
        "where cast(birth_date as date) > cast(service_date as date) or cast(birth_date as date) < date '1900-01-01'",
        {"files": files},
    ).fetchone()[0]
    return bad, len(files)


def test_no_generated_patient_is_treated_before_birth(clean, tmp_path):
    assert implausible_birth_lines(clean) == (0, 21)
    # the patient pool's ages are drawn around mid-2024: the years far before and after it too
    synthetic.generate(tmp_path, years=[2019, 2024, 2027], practices=30, seed=3, progress=quiet)
    assert implausible_birth_lines(tmp_path) == (0, 63)


def test_fault_syntax_and_its_errors():
    fault = synthetic.parse_fault("underdelivered-month:insurer=cz,period=2024-v2,month=2024-03,fraction=0.2")
    assert (fault.kind, fault.insurer, fault.period, fault.month, fault.fraction) == (
        "underdelivered-month",
        "cz",
        "2024-v2",
        "2024-03",
        0.2,
    )
    assert synthetic.parse_fault("missing-insurer").insurer == "vgz"
    for bad, words in [
        ("no-such-fault", "unknown fault kind"),
        ("bad-date:insurer=acme", "unknown insurer"),
        ("bad-date:rows", "key=value"),
        ("bad-date:rows=0", "whole number"),
        ("missing-month:month=2024-13", "YYYY-MM"),
        ("bad-date:period=2024-v9", "unknown period"),
        ("missing-column:column=nope", "contract's columns"),
    ]:
        with pytest.raises(ValueError, match=words):
            synthetic.parse_fault(bad)


def test_a_fault_outside_the_generated_periods_is_refused_before_writing(tmp_path):
    with pytest.raises(ValueError, match="not among the generated periods"):
        synthetic.generate(
            tmp_path,
            years=[2024],
            practices=5,
            faults=[synthetic.parse_fault("bad-date:period=2023-v1")],
            progress=quiet,
        )
    with pytest.raises(ValueError, match="not inside period"):
        synthetic.generate(
            tmp_path,
            years=[2024],
            practices=5,
            faults=[synthetic.parse_fault("missing-month:period=2024-v1,month=2024-08")],
            progress=quiet,
        )
    assert not (tmp_path / "landing").exists()


FAULTS = {  # kind -> insurer (all in 2024-v1)
    "missing-insurer": "eno",
    "missing-month": "vgz",
    "underdelivered-month": "cz",
    "control-total-mismatch": "menzis",
    "checksum-mismatch": "zilveren_kruis",
    "duplicate-claim-id": "de_friesland",
    "missing-column": "zorg_en_zekerheid",
}
MORE_FAULTS = {
    "bad-date": "vgz",
    "bad-amount": "cz",
    "out-of-period": "menzis",
    "truncated-file": "eno",
    "implausible-birth-date": "de_friesland",
}  # 2024-v2


@pytest.fixture(scope="module")
def faulty(tmp_path_factory, clean) -> Path:
    data = tmp_path_factory.mktemp("faulty")
    faults = [synthetic.parse_fault(f"{k}:insurer={i},period=2024-v1") for k, i in FAULTS.items()]
    faults += [synthetic.parse_fault(f"{k}:insurer={i},period=2024-v2") for k, i in MORE_FAULTS.items()]
    synthetic.generate(data, years=[2024], practices=120, seed=11, faults=faults, progress=quiet)
    return data


def delivery(data: Path, period: str, insurer: str) -> Path:
    ref = find_in_force(data / "landing", period, insurer)
    assert ref is not None, (period, insurer)
    return ref.path


def contract_rules(folder: Path, period: str, insurer: str) -> set[str]:
    ref = find_in_force(folder.parents[2], period, insurer)
    return {v.rule for v in validate_delivery(ref).violations}


def test_each_fault_does_what_it_claims_and_nothing_else(faulty, clean):
    con = duckdb.connect()
    v1 = "2024-v1"
    assert find_in_force(faulty / "landing", v1, "eno") is None
    assert find_in_force(faulty / "landing", "2024-v2", "eno") is not None  # only the one delivery

    lines(con, delivery(faulty, v1, "vgz"))
    assert con.execute("select count(*) from claims where service_date like '2024-05-%'").fetchone()[0] == 0
    assert con.execute("select count(*) from claims where service_date like '2024-04-%'").fetchone()[0] > 1000

    lines(con, delivery(clean, v1, "cz"), "clean_cz")
    lines(con, delivery(faulty, v1, "cz"))
    may = [
        con.execute(f"select count(*) from {t} where service_date like '2024-05-%'").fetchone()[0]
        for t in ("clean_cz", "claims")
    ]
    assert 0.2 < may[1] / may[0] < 0.4
    april = [
        con.execute(f"select count(*) from {t} where service_date like '2024-04-%'").fetchone()[0]
        for t in ("clean_cz", "claims")
    ]
    assert april[0] == april[1]

    folder = delivery(faulty, v1, "menzis")
    lines(con, folder)
    total = con.execute("select sum(cast(paid_amount as decimal(18, 2))) from claims").fetchone()[0]
    assert Decimal(manifest(folder)["files"][0]["paid_amount_total"]) - total == Decimal("100.00")
    assert contract_rules(folder, v1, "menzis") == {"claims.control_total"}

    folder = delivery(faulty, v1, "zilveren_kruis")
    assert hashlib.sha256(data_file(folder).read_bytes()).hexdigest() != manifest(folder)["files"][0]["sha256"]
    assert contract_rules(folder, v1, "zilveren_kruis") == {"file.checksum"}

    folder = delivery(faulty, v1, "de_friesland")
    lines(con, folder)
    assert con.execute("select count(*) - count(distinct claim_id) from claims").fetchone()[0] == 3
    assert contract_rules(folder, v1, "de_friesland") == {"claims.claim_id_unique"}

    folder = delivery(faulty, v1, "zorg_en_zekerheid")
    header = data_file(folder).read_text().splitlines()[0].split(",")
    assert header == [c for c in CLAIM_COLUMNS if c != "therapist_agb"]
    assert contract_rules(folder, v1, "zorg_en_zekerheid") == {"file.header"}

    v2 = "2024-v2"
    folder = delivery(faulty, v2, "vgz")
    lines(con, folder)
    assert con.execute("select count(*) from claims where service_date = '2024-02-31'").fetchone()[0] == 1
    assert contract_rules(folder, v2, "vgz") == {"claims.date_format"}

    folder = delivery(faulty, v2, "cz")
    assert contract_rules(folder, v2, "cz") == {"claims.amount_format"}

    folder = delivery(faulty, v2, "menzis")
    n = lines(con, folder)
    before = con.execute("select count(*) from claims where service_date < '2024-01-01'").fetchone()[0]
    assert 0.01 < before / n < 0.03
    assert contract_rules(folder, v2, "menzis") == set()  # well-formed: the gates catch it

    folder = delivery(faulty, v2, "eno")
    size = data_file(folder).stat().st_size
    assert size < data_file(delivery(clean, v2, "eno")).stat().st_size * 0.7
    assert "file.checksum" in contract_rules(folder, v2, "eno")

    folder = delivery(faulty, v2, "de_friesland")
    lines(con, folder)
    lines(con, delivery(clean, v2, "de_friesland"), "clean_df")
    born_later = con.execute("select count(*) from claims where birth_date > service_date").fetchone()[0]
    assert born_later == 5  # the default rows
    changed = con.execute(
        "select count(*) from claims c join clean_df d using (claim_id) where c.birth_date <> d.birth_date"
    ).fetchone()[0]
    assert changed == 5 and contract_rules(folder, v2, "de_friesland") == set()  # the contents gate's finding

    # the insurers without a fault deliver exactly what the clean generation delivers
    assert (
        data_file(delivery(faulty, v2, "zilveren_kruis")).read_bytes()
        == data_file(delivery(clean, v2, "zilveren_kruis")).read_bytes()
    )


def test_a_redelivery_is_later_fault_free_and_equals_the_clean_delivery(faulty, clean):
    before = files_digest(faulty / "landing" / "2024-v1" / "vgz")
    folder = synthetic.redeliver(faulty, "vgz", "2024-v1", progress=quiet)
    ref = find_in_force(faulty / "landing", "2024-v1", "vgz")
    assert ref.path == folder and ref.delivery_id > "20241007T0930"
    assert validate_delivery(ref).accepted
    clean_file = data_file(delivery(clean, "2024-v1", "vgz"))
    assert data_file(folder).read_bytes() == clean_file.read_bytes()
    after = files_digest(faulty / "landing" / "2024-v1" / "vgz")
    assert {k: v for k, v in after.items() if k in before} == before  # the earlier delivery is untouched
    with pytest.raises(ValueError, match="never generated"):
        synthetic.redeliver(faulty, "vgz", "2022-v1", progress=quiet)


def test_scale_sets_the_national_proportions():
    assert synthetic.size_for(None, 1.0) == (9_000, 4_000_000)
    assert synthetic.size_for(None, 0.1) == (900, 400_000)
    assert synthetic.size_for(300, None) == (300, 133_333)
    with pytest.raises(ValueError):
        synthetic.size_for(None, 0)
