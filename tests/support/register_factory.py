"""Hand-made practice register deliveries (docs/register-contract.md) for tests, and a dbt
run of the few models that turn a register into ``marts.dim_practices``."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

REGISTER_HEADER = ("practice_agb", "practice_name", "place")
DBT = Path(sys.executable).parent / "dbt"
DBT_PROJECT = Path(__file__).resolve().parents[2] / "dbt_project"


def render_register(rows: list[tuple[str, str, str]], header=REGISTER_HEADER, newline: str = "\n") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=newline)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def write_register(
    landing: Path,
    delivery_id: str,
    rows: list[tuple[str, str, str]] | None = None,
    *,
    data: bytes | None = None,
    manifest_overrides: dict | None = None,
    file_overrides: dict | None = None,
    extract_date: str = "2024-11-01",
) -> Path:
    """``landing/_register/<delivery_id>/`` with practices.csv and, last, a manifest that
    matches it unless overridden; ``data`` replaces the rendered rows byte for byte."""
    folder = landing / "_register" / delivery_id
    folder.mkdir(parents=True)
    body = data if data is not None else render_register(rows or [])
    (folder / "practices.csv").write_bytes(body)
    entry = {
        "name": "practices.csv",
        "sha256": hashlib.sha256(body).hexdigest(),
        "rows": len(rows) if rows is not None else max(0, body.count(b"\n") - 1),
        **(file_overrides or {}),
    }
    manifest = {
        "contract_version": 1,
        "register": "agb_practices",
        "delivery_id": delivery_id,
        "extract_date": extract_date,
        "files": [entry],
        **(manifest_overrides or {}),
    }
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return folder


def run_dim_practices(workdir: Path, warehouse: Path, period: str) -> None:
    """``dbt build`` of stg_raw__practice_register and dim_practices for ``period`` on
    ``warehouse``, which holds the raw schema and marts.fct_behandelindex, with every data
    test that reads them (the relationship to the index and the singular test included)."""
    env = {**os.environ, "SPIEGEL_WAREHOUSE": str(warehouse), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    args = [
        str(DBT),
        "build",
        "--vars",
        json.dumps({"period": period}),
        "--project-dir",
        str(DBT_PROJECT),
        "--profiles-dir",
        str(DBT_PROJECT),
        "--target-path",
        str(workdir / "target"),
        "--log-path",
        str(workdir / "logs"),
        "--select",
        "stg_raw__practice_register",
        "dim_practices",
    ]
    result = subprocess.run(args, capture_output=True, text=True, env=env, cwd=workdir)
    assert result.returncode == 0, f"dbt build failed:\n{result.stdout[-6000:]}\n{result.stderr[-2000:]}"
