"""Writing one delivery folder per delivery-contract.md: claims first, manifest last,
the file-level faults applied by streaming the file once."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from orchestration.commands.synthetic.faults import DEFAULT_LABELS, LABEL_MODES, Fault
from orchestration.commands.synthetic.population import Population
from orchestration.commands.synthetic.shape import GZIP_INSURERS
from orchestration.core.seeds import insurer_labels_in, periods
from orchestration.core.settings import CONTRACT_VERSION
from orchestration.delivery.contract import CLAIM_COLUMNS, file_sha256
from orchestration.landing.zone import MANIFEST_NAME

# --------------------------------------------------------------------------- writing


def _amount_sql(cents: str) -> str:
    return (
        f"(case when {cents} < 0 then '-' else '' end) || cast(abs({cents}) // 100 as varchar) || '.' || "
        f"lpad(cast(abs({cents}) % 100 as varchar), 2, '0')"
    )


def _label_sql(pop: Population, period: str, labels: str) -> tuple[str, str]:
    """SQL of (the insurer's main label, the label a line is paid under) in ``period``.

    The main label prefixes the claim_id (unique per delivery whatever the label). With
    ``labels="mixed"`` a concern with a second label pays the lines of about half of its
    patients under it (a policy is with one label), chosen by a fixed scramble of the patient."""
    if labels not in LABEL_MODES:
        raise ValueError(f"--labels must be one of {', '.join(LABEL_MODES)}, got {labels!r}")
    own = [insurer_labels_in(i, period) or ["0000"] for i in pop.insurer_ids]
    main = "[" + ", ".join(f"'{ls[0]}'" for ls in own) + "]"
    if labels == "main" or all(len(ls) == 1 for ls in own):
        return f"{main}[insurer + 1]", f"{main}[insurer + 1]"
    second = "[" + ", ".join(f"'{ls[1] if len(ls) > 1 else ls[0]}'" for ls in own) + "]"
    return (
        f"{main}[insurer + 1]",
        f"(case when (cast(patient_no as bigint) * 2654435761) % 1000 < 500 then {second}[insurer + 1] "
        f"else {main}[insurer + 1] end)",
    )


def _select_sql(pop: Population, fault: Fault | None, period: str, labels: str = DEFAULT_LABELS) -> str:
    period_start = periods()[period].period_start
    uzovi, paid_under = _label_sql(pop, period, labels)
    service = "service_date"
    if fault and fault.kind == "out-of-period":
        # lines moved into December of the previous year, before the period starts
        service = (
            f"(case when r < {fault.fraction} then date '{period_start}' - cast(1 + floor(r * 1000) % 28 "
            f"as integer) else service_date end)"
        )
    columns = {
        "claim_id": f"{uzovi} || lpad(cast(claim_no as varchar), 13, '0')",
        "original_claim_id": f"case when orig_no >= 0 then {uzovi} || lpad(cast(orig_no as varchar), 13, '0') end",
        "uzovi": paid_under,
        "practice_agb": "lpad(cast(practice_agb as varchar), 8, '0')",
        "therapist_agb": "lpad(cast(therapist_agb as varchar), 8, '0')",
        "patient_id": f"sha256('spiegel-{pop.seed}-' || cast(patient_no as varchar))",
        "birth_date": "strftime(birth_date, '%Y-%m-%d')",
        "sex": "cast(sex as varchar)",
        "service_date": f"strftime({service}, '%Y-%m-%d')",
        "code_list": "'0' || cast(code_list as varchar)",
        "prestatie_code": "cast(prestatie as varchar)",
        "dcsph_code": "case when dcsph >= 0 then lpad(cast(dcsph as varchar), 4, '0') end",
        "indication_code": "lpad(cast(indication as varchar), 3, '0')",
        "coverage": "case when coverage = 0 then 'BV' else 'AV' end",
        "claimed_amount": _amount_sql("claimed"),
        "paid_amount": _amount_sql("paid"),
        "processed_date": "strftime(processed_date, '%Y-%m-%d')",
    }
    return ", ".join(f"{expr} as {name}" for name, expr in columns.items())


def _where_sql(insurer_index: int, period: str, fault: Fault | None) -> str:
    info = periods()[period]
    conditions = [
        f"insurer = {insurer_index}",
        f"service_date <= date '{info.period_end}'",
        f"processed_date <= date '{info.cutoff_date}'",
    ]
    if fault and fault.kind == "missing-month":
        conditions.append(f"strftime(service_date, '%Y-%m') <> '{fault.month}'")
    if fault and fault.kind == "underdelivered-month":
        conditions.append(f"not (strftime(service_date, '%Y-%m') = '{fault.month}' and r >= {fault.fraction})")
    return " and ".join(conditions)


def delivery_id_for(period: str) -> str:
    """A delivery a week after the cutoff date, as insurers do."""
    cutoff = date.fromisoformat(periods()[period].cutoff_date)
    return f"{cutoff + timedelta(days=7):%Y%m%d}T0930"


def _chosen_lines(n_lines: int, rows: int) -> set[int]:
    """Data line numbers (1-based, header excluded) spread evenly over the file, from the second on."""
    if n_lines < 2:
        return set()
    return {max(2, int(n_lines * (i + 1) / (rows + 1))) for i in range(min(rows, n_lines - 1))}


def _rewrite_lines(path: Path, fault: Fault, n_lines: int, year: int) -> None:
    """The faults that live in the text of the file, applied by streaming it once."""
    columns = list(CLAIM_COLUMNS)
    chosen = _chosen_lines(n_lines, fault.rows or 1)
    drop = columns.index(fault.column) if fault.kind == "missing-column" else None
    tmp = path.with_name(path.name + ".part")
    with open(path, encoding="utf-8", newline="") as src, open(tmp, "w", encoding="utf-8", newline="") as dst:
        previous_claim_id = None
        for number, line in enumerate(src):
            fields = line.rstrip("\n").split(",")
            if number in chosen:
                if fault.kind == "duplicate-claim-id":
                    fields[0] = previous_claim_id
                elif fault.kind == "bad-date":
                    fields[columns.index("service_date")] = f"{year}-02-31"
                elif fault.kind == "bad-amount":
                    cents = fields[columns.index("paid_amount")].replace(".", ",")
                    fields[columns.index("paid_amount")] = f'"{cents}"'
                elif fault.kind in ("foreign-label", "unknown-label"):
                    fields[columns.index("uzovi")] = fault.label
                elif fault.kind == "implausible-birth-date":  # born the day after the treatment
                    served = date.fromisoformat(fields[columns.index("service_date")])
                    fields[columns.index("birth_date")] = (served + timedelta(days=1)).isoformat()
            previous_claim_id = fields[0]
            if drop is not None:
                del fields[drop]
            dst.write(",".join(fields) + "\n")
    os.replace(tmp, path)


def _gzip_file(plain: Path, target: Path) -> None:
    with (
        open(plain, "rb") as src,
        open(target, "wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=1, mtime=0) as dst,
    ):
        shutil.copyfileobj(src, dst, 8 * 1024 * 1024)
    plain.unlink()


def _cents_text(cents: int) -> str:
    return f"{Decimal(cents) / 100:.2f}"


def write_delivery(
    con,
    pop: Population,
    data_dir: Path,
    period: str,
    insurer: str,
    delivery_id: str,
    fault: Fault | None = None,
    labels: str = DEFAULT_LABELS,
) -> tuple[Path, int]:
    """Write one delivery folder (claims first, manifest last); returns its folder and line count."""
    info = periods()[period]
    idx = pop.insurer_ids.index(insurer)
    folder = data_dir / "landing" / period / insurer / delivery_id
    folder.mkdir(parents=True, exist_ok=True)
    gz = insurer in GZIP_INSURERS
    name = "claims.csv.gz" if gz else "claims.csv"
    plain = folder / "claims.csv"
    select, where = _select_sql(pop, fault, period, labels), _where_sql(idx, period, fault)
    con.execute(f"copy (select {select} from lines where {where}) to '{plain}' (header, delimiter ',')")
    rows, cents = con.execute(f"select count(*), coalesce(sum(paid), 0) from lines where {where}").fetchone()
    if fault and fault.kind in (
        "duplicate-claim-id",
        "bad-date",
        "bad-amount",
        "missing-column",
        "foreign-label",
        "unknown-label",
        "implausible-birth-date",
    ):
        _rewrite_lines(plain, fault, int(rows), info.year)
    data_file = folder / name
    if gz:
        _gzip_file(plain, data_file)
    sha = file_sha256(data_file)
    total = _cents_text(int(cents))
    if fault and fault.kind == "control-total-mismatch":
        total = _cents_text(int(cents) + 10_000)
    if fault and fault.kind == "checksum-mismatch":
        sha = hashlib.sha256(sha.encode()).hexdigest()
    if fault and fault.kind == "truncated-file":
        size = data_file.stat().st_size
        with open(data_file, "r+b") as f:
            f.truncate(max(1, int(size * 0.6)))
    manifest = {
        "contract_version": CONTRACT_VERSION,
        "insurer": insurer,
        "period": period,
        "delivery_id": delivery_id,
        "period_start": info.period_start,
        "period_end": info.period_end,
        "cutoff_date": info.cutoff_date,
        "files": [{"name": name, "sha256": sha, "rows": int(rows), "paid_amount_total": total}],
    }
    _write_manifest_last(data_dir, folder, manifest)
    return folder, int(rows)


def scratch_dir(data_dir: Path) -> Path:
    """The generator's own work files (never under landing/, which only holds deliveries)."""
    scratch = data_dir / "tmp"
    scratch.mkdir(parents=True, exist_ok=True)
    return scratch


def _write_manifest_last(data_dir: Path, folder: Path, manifest: dict) -> None:
    """The manifest completes a delivery, so it appears at once or not at all."""
    tmp = scratch_dir(data_dir) / f"manifest-{manifest['period']}-{manifest['insurer']}-{manifest['delivery_id']}.json"
    tmp.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, folder / MANIFEST_NAME)
