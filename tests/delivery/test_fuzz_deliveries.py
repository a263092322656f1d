"""Generated bad deliveries (orchestration/delivery/fuzz): every generated delivery is
rejected with its rule, its file and its first offending lines, or accepted with exactly
the typed rows the insurer meant; no exception, no hang, memory bounded. A bounded,
derandomised run here; `spiegel fuzz --examples N` for a long one (docs/operations.md,
"Bad input"). The last test takes a few generated rejections through the real CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from orchestration.core.settings import REPO_ROOT
from orchestration.delivery.fuzz.campaign import sample_cases
from orchestration.delivery.fuzz.model import HARMLESS, REJECT, Case, Draft, Expectation, typed_rows
from orchestration.delivery.fuzz.oracle import Worker, run_case
from orchestration.delivery.fuzz.strategies import cases
from tests.support.delivery_factory import claim_row, clean_period, write_delivery

PERIOD = "2024-v1"
EXAMPLES = 300


@pytest.fixture(scope="module")
def worker():
    with Worker() as w:
        yield w


@pytest.fixture(scope="module")
def cases_root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz-cases")


@settings(
    max_examples=EXAMPLES,
    derandomize=True,  # CI tries the same deliveries every time
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
)
@given(case=cases())
def test_every_generated_delivery_is_rejected_with_its_rule_or_accepted_unchanged(case, worker, cases_root):
    outcome = run_case(case, worker, cases_root)
    assert not outcome.problems, f"{case.describe()}\n" + "\n".join(outcome.problems)


# ---------------------------------------------------------------- what the fuzzer found


def _draft(n: int = 3) -> Draft:
    return Draft(PERIOD, "vgz", "20241005T0930", [claim_row(i) for i in range(n)])


def _set_in_entry(key: str, value):
    return lambda m: m["files"][0].__setitem__(key, value)


def _fifo_manifest(folder: Path, outside: Path) -> None:
    (folder / "manifest.json").unlink()
    os.mkfifo(folder / "manifest.json")


def _folder_manifest(folder: Path, outside: Path) -> None:
    (folder / "manifest.json").unlink()
    (folder / "manifest.json").mkdir()


def _giant_field(d: Draft) -> None:
    d.rows[1]["practice_agb"] = "QzFUZZMARKzQ"
    d.text_edits.append(lambda t: t.replace(b"QzFUZZMARKzQ", b"7" * 5_000_000))


def _deep_nesting(d: Draft) -> None:
    d.manifest_byte_edits.append(lambda b: b"[" * 400_000 + b"]" * 400_000)


def _long_number(d: Draft) -> None:
    d.raw_values["__rows__"] = "9" * 5000
    d.manifest_edits.append(_set_in_entry("rows", "__rows__"))


def _flip(at: int, bits: int):
    def corrupt(d: Draft) -> None:
        d.gz = True
        d.payload_edits.append(lambda p: p[:at] + bytes([p[at] ^ bits]) + p[at + 1 :])

    return corrupt


# name: (what is done to a clean draft, the rules one of which the verdict must name)
FOUND = {
    "a 5 MB field": (_giant_field, {"file.line_size"}),
    "a manifest claiming 2,000,000,000 rows": (
        lambda d: d.manifest_edits.append(_set_in_entry("rows", 2_000_000_000)),
        {"file.row_count"},
    ),
    "5,000,000 blank lines (a 5 MB field of line ends)": (
        lambda d: d.blank_lines_after.__setitem__(2, 5_000_000),
        {"file.blank_lines"},
    ),
    "the manifest is a named pipe": (lambda d: d.folder_edits.append(_fifo_manifest), {"manifest.json"}),
    "the manifest is a folder": (lambda d: d.folder_edits.append(_folder_manifest), {"manifest.json"}),
    "a manifest nested 400,000 deep": (_deep_nesting, {"manifest.json"}),
    "rows as a number of 5,000 digits": (_long_number, {"manifest.json"}),
    "a control total with a line break after it": (
        lambda d: d.manifest_edits.append(_set_in_entry("paid_amount_total", "109.59\n")),
        {"manifest.files"},
    ),
    "a checksum with a line break after it": (
        lambda d: d.manifest_edits.append(
            lambda m: m["files"][0].__setitem__("sha256", m["files"][0]["sha256"] + "\n")
        ),
        {"manifest.files"},
    ),
    "a delivery folder whose name ends with a line break": (
        lambda d: (
            setattr(d, "folder_name", "20241005T0930\n"),
            d.manifest_edits.append(lambda m: m.__setitem__("delivery_id", "20241005T0930\n")),
        ),
        {"landing.delivery_id"},
    ),
    "0.9 MB of insurer name in the manifest": (
        lambda d: d.manifest_edits.append(lambda m: m.__setitem__("insurer", "x" * 900_000)),
        {"manifest.insurer"},
    ),
    "a corrupt gzip body (zlib.error)": (_flip(40, 0xFF), set()),
    # DuckDB reads three rows of changed values from this one without a word; the CRC does not match
    "a corrupt gzip body DuckDB reads": (_flip(54, 32), {"file.readable"}),
}


@pytest.mark.parametrize("name", sorted(FOUND))
def test_what_the_fuzzer_found_is_rejected_clearly(name, worker, cases_root):
    edit, rules = FOUND[name]
    draft = _draft()
    edit(draft)
    case = Case(draft, [name], Expectation(REJECT, frozenset(rules)), family="found")
    outcome = run_case(case, worker, cases_root)
    assert not outcome.problems, f"{name}: {outcome.problems}"
    assert outcome.kind == REJECT and (not rules or outcome.rule in rules), (name, outcome.rules)
    assert outcome.peak_rss_mb < 1024, (name, outcome.peak_rss_mb)


def test_a_clean_delivery_with_every_tolerated_variation_reads_the_same_rows(worker, cases_root):
    draft = _draft(4)
    draft.newline, draft.bom, draft.quote_all, draft.final_newline, draft.gz = "\r\n", True, True, False, True
    draft.blank_lines_after = {0: 2, 2: 1}
    draft.manifest_bom, draft.manifest_format = True, {"indent": 2, "sort_keys": True}
    case = Case(draft, ["every variation"], Expectation(HARMLESS), typed_rows(draft.rows), family="harmless")
    outcome = run_case(case, worker, cases_root)
    assert (outcome.kind, outcome.problems) == (HARMLESS, [])


# ------------------------------------------------------------- through the whole platform

MUTATED_INSURERS = {"cz": "value", "vgz": "bytes", "eno": "manifest", "menzis": "folder"}  # insurer: family


def _is_rejection(case: Case) -> bool:
    return case.expectation.kind == REJECT and bool(case.expectation.rules)


@pytest.mark.slow
def test_generated_rejections_block_the_period_through_the_cli_without_a_traceback(tmp_path):
    """Four generated rejections (one of each family) land beside three clean deliveries;
    ``spiegel run`` in a subprocess exits 0 with the period blocked, each mutated
    insurer's blocking reason naming a rule the case expects, and no traceback."""
    data = tmp_path / "data"
    landing = data / "landing"
    generated: dict[str, Case] = {}
    for n, (insurer, family) in enumerate(MUTATED_INSURERS.items()):
        found = sample_cases(1, seed=n, keep=_is_rejection, period=PERIOD, insurer=insurer, families=(family,))
        assert found, f"no rejected {family} case generated for {insurer}"
        generated[insurer] = found[0]
    from orchestration.delivery.fuzz.model import write_case

    for insurer, rows in clean_period(PERIOD).items():
        if insurer in generated:
            write_case(generated[insurer], landing, tmp_path / "outside")
        else:
            write_delivery(landing, PERIOD, insurer, "20241005T0930", rows=rows)
    env = {k: v for k, v in os.environ.items() if k not in ("SPIEGEL_DATA_DIR", "DAGSTER_HOME", "SPIEGEL_ENGINE")}
    spiegel = [sys.executable, "-m", "orchestration.cli"]
    run = subprocess.run(
        [*spiegel, "run", "--period", PERIOD, "--data-dir", str(data)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert "Traceback" not in run.stderr and "Traceback" not in run.stdout, run.stderr[-3000:]
    status = subprocess.run(
        [*spiegel, "status", "--period", PERIOD, "--json", "--data-dir", str(data)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert status.returncode == 0, status.stderr[-2000:]
    (state,) = json.loads(status.stdout)["periods"]
    assert state["verdict"] == "blocked"
    print("\n".join(f"{i}: {c.describe()[:200]}" for i, c in generated.items()))
    for insurer, case in generated.items():
        reasons = " | ".join(r for r in state["blocking_reasons"] if r.startswith(f"{insurer}:"))
        assert any(rule in reasons for rule in case.expectation.rules), (insurer, case.describe(), reasons)
    clean = [i for i in clean_period(PERIOD) if i not in generated]
    assert not [r for r in state["blocking_reasons"] if r.split(":")[0] in clean], state["blocking_reasons"]
