"""Hand-made deliveries for tests: small, exact, and easy to break one rule at a time."""
from __future__ import annotations

import gzip
import hashlib
import json
from decimal import Decimal
from pathlib import Path

from orchestration.config import periods
from orchestration.contract import CLAIM_COLUMNS

PATIENT = "a" * 64


def claim_row(i: int, **overrides) -> dict[str, str]:
    row = {
        "claim_id": f"C{i:06d}", "original_claim_id": "", "uzovi": "7095",
        "practice_agb": "04000001", "therapist_agb": "04100001", "patient_id": PATIENT,
        "birth_date": "1980-05-17", "sex": "2", "service_date": "2024-03-04",
        "code_list": "073", "prestatie_code": "1000", "dcsph_code": "7001",
        "indication_code": "009", "coverage": "AV", "claimed_amount": "36.53",
        "paid_amount": "36.53", "processed_date": "2024-03-20",
    }
    row.update(overrides)
    return row


def render_csv(rows: list[dict[str, str]], columns=CLAIM_COLUMNS, newline="\n") -> bytes:
    lines = [",".join(columns)] + [",".join(r.get(c, "") for c in columns) for r in rows]
    return (newline.join(lines) + newline).encode("utf-8")


def write_delivery(landing: Path, period: str, insurer: str, delivery_id: str, rows: list[dict[str, str]] | None = None,
                   data: bytes | None = None, gz: bool = False, manifest_overrides: dict | None = None,
                   file_overrides: dict | None = None, raw_manifest: bytes | None = None) -> Path:
    """Write a delivery folder; the manifest matches the data unless overridden."""
    rows = rows if rows is not None else [claim_row(i) for i in range(3)]
    data = data if data is not None else render_csv(rows)
    folder = landing / period / insurer / delivery_id
    folder.mkdir(parents=True, exist_ok=True)
    name = "claims.csv.gz" if gz else "claims.csv"
    payload = gzip.compress(data, mtime=0) if gz else data
    (folder / name).write_bytes(payload)
    total = sum((Decimal(r["paid_amount"].replace(",", ".")) for r in rows), Decimal("0.00"))
    info = periods()[period]
    entry = {"name": name, "sha256": hashlib.sha256(payload).hexdigest(), "rows": len(rows),
             "paid_amount_total": f"{total:.2f}"}
    entry.update(file_overrides or {})
    manifest = {"contract_version": 1, "insurer": insurer, "period": period, "delivery_id": delivery_id,
                "period_start": info.period_start, "period_end": info.period_end,
                "cutoff_date": info.cutoff_date, "files": [entry]}
    manifest.update(manifest_overrides or {})
    (folder / "manifest.json").write_bytes(raw_manifest if raw_manifest is not None else json.dumps(manifest).encode())
    return folder
