"""Hand-made deliveries for tests: small, exact, and easy to break one rule at a time."""

from __future__ import annotations

import gzip
import hashlib
import json
import random
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from orchestration.core.seeds import periods
from orchestration.delivery.contract import CLAIM_COLUMNS

PATIENT = "a" * 64


def claim_row(i: int, **overrides) -> dict[str, str]:
    row = {
        "claim_id": f"C{i:06d}",
        "original_claim_id": "",
        "uzovi": "7095",
        "practice_agb": "04000001",
        "therapist_agb": "04100001",
        "patient_id": PATIENT,
        "birth_date": "1980-05-17",
        "sex": "2",
        "service_date": "2024-03-04",
        "code_list": "073",
        "prestatie_code": "1000",
        "dcsph_code": "7001",
        "indication_code": "009",
        "coverage": "AV",
        "claimed_amount": "36.53",
        "paid_amount": "36.53",
        "processed_date": "2024-03-20",
    }
    row.update(overrides)
    return row


def render_csv(rows: list[dict[str, str]], columns=CLAIM_COLUMNS, newline="\n") -> bytes:
    lines = [",".join(columns)] + [",".join(r.get(c, "") for c in columns) for r in rows]
    return (newline.join(lines) + newline).encode("utf-8")


def write_delivery(
    landing: Path,
    period: str,
    insurer: str,
    delivery_id: str,
    rows: list[dict[str, str]] | None = None,
    data: bytes | None = None,
    gz: bool = False,
    manifest_overrides: dict | None = None,
    file_overrides: dict | None = None,
    raw_manifest: bytes | None = None,
) -> Path:
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
    entry = {
        "name": name,
        "sha256": hashlib.sha256(payload).hexdigest(),
        "rows": len(rows),
        "paid_amount_total": f"{total:.2f}",
    }
    entry.update(file_overrides or {})
    manifest = {
        "contract_version": 1,
        "insurer": insurer,
        "period": period,
        "delivery_id": delivery_id,
        "period_start": info.period_start,
        "period_end": info.period_end,
        "cutoff_date": info.cutoff_date,
        "files": [entry],
    }
    manifest.update(manifest_overrides or {})
    (folder / "manifest.json").write_bytes(raw_manifest if raw_manifest is not None else json.dumps(manifest).encode())
    return folder


def pseudonym(name: str) -> str:
    """A valid 64-hex patient pseudonym for a readable test name."""
    return hashlib.sha256(name.encode()).hexdigest()


def clean_period(
    period: str, patients: int = 48, seed: int = 1, labels: str = "main"
) -> dict[str, list[dict[str, str]]]:
    """Claim lines for every required insurer of ``period`` that pass every gate.

    Each patient has one session a month at one practice (plus a few extra ones), so
    every insurer delivers every month in similar volume. Practice ``04000001`` has
    more than 30 patients (it gets an index and a report), the others do not.
    Some patients change insurer halfway (one episode over two insurers); each insurer
    also delivers a fully credited line, a rejected line and a screening line.
    A later version of the same year contains the earlier version's lines unchanged
    (a cumulative extract): every value derives from (seed, patient, month).
    ``labels="mixed"``: an insurer with a second label in the period pays every second
    patient's lines under it (about half of its lines), as concerns do; ``"main"``: every
    line under the insurer's main label.
    """
    from orchestration.core.seeds import insurer_labels_in, required_insurers

    info = periods()[period]
    required = required_insurers(period)
    own_labels = {i: insurer_labels_in(i, period) for i in required}  # the main label first
    start, end = date.fromisoformat(info.period_start), date.fromisoformat(info.period_end)
    rows: dict[str, list[dict[str, str]]] = {i: [] for i in required}
    for p in range(patients):
        practice, code_list, session = (
            ("04000001", "073", "1000")
            if p < 34
            else ("04000002", "073", "1100")
            if p % 2
            else ("04000003", "074", "2000")
        )
        person = random.Random(f"{seed}-{p}")
        birth = date(1940 + person.randint(0, 70), person.randint(1, 9), 10 + person.randint(0, 9))
        base = {
            "patient_id": pseudonym(f"patient-{seed}-{p}"),
            "practice_agb": practice,
            "code_list": code_list,
            "prestatie_code": session,
            "birth_date": str(birth),
            "sex": person.choice("12"),
            "dcsph_code": person.choice(["7001", "3001", "1401", "5203"]),
            "indication_code": person.choice(["009", "009", "001"]),
            "therapist_agb": f"0410000{p % 4}",
        }
        for month in range(start.month, end.month + 1):
            insurer = required[(p + (1 if month > 3 and p % 5 == 0 else 0)) % len(required)]
            rng = random.Random(f"{seed}-{p}-{month}")
            for k in range(1 + (rng.random() < 0.3)):
                service = date(start.year, month, 1 + rng.randint(0, 26))
                rows[insurer].append(
                    claim_row(
                        0,
                        **base,
                        claim_id=f"{insurer}-{p}-{month}-{k}",
                        uzovi=own_labels[insurer][p % 2 if labels == "mixed" and len(own_labels[insurer]) > 1 else 0],
                        service_date=str(service),
                        processed_date=str(service + timedelta(days=10)),
                        coverage=rng.choice(["BV", "BV", "AV"]),
                    )
                )
    for insurer, lines in rows.items():
        first = lines[0]
        lines.append(
            {
                **first,
                "claim_id": f"{insurer}-credit",
                "original_claim_id": first["claim_id"],
                "claimed_amount": "-36.53",
                "paid_amount": "-36.53",
            }
        )
        lines.append({**first, "claim_id": f"{insurer}-rejected", "paid_amount": "0.00"})
        lines.append(
            {
                **first,
                "claim_id": f"{insurer}-screening",
                "prestatie_code": "1864" if first["code_list"] == "073" else "2864",
                "paid_amount": "55.00",
                "claimed_amount": "55.00",
            }
        )
    return rows


def land_clean_period(landing: Path, period: str, delivery_id: str = "20241005T0930", **kwargs) -> None:
    """Write :func:`clean_period` as one delivery per required insurer."""
    for insurer, rows in clean_period(period, **kwargs).items():
        write_delivery(landing, period, insurer, delivery_id, rows=rows)
