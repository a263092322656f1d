"""The manifest and the file set of a delivery folder (delivery-contract.md, "Manifest")."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from orchestration.core.seeds import periods
from orchestration.core.settings import CONTRACT_VERSION
from orchestration.delivery.contract.rules import (
    _DECIMAL_STRING,
    _ISO_DATE,
    _SHA256,
    DATA_FILE_NAMES,
    MAX_MANIFEST_BYTES,
    fail,
    shown,
)
from orchestration.landing.zone import DELIVERY_ID_PATTERN, MANIFEST_NAME, DeliveryRef


def read_manifest_object(folder: Path, manifest_path: Path, delivery_id: str, subject: str) -> dict[str, Any]:
    """The manifest of a delivery folder as a JSON object, before its fields are judged:
    plain files (no symbolic link), a safe folder name, bounded in size, UTF-8 JSON.
    ``subject`` names the folder in the message ("the delivery folder")."""
    if manifest_path.is_symlink() or folder.is_symlink():
        fail(
            "landing.symlink",
            f"{subject} or its manifest is a symbolic link; deliveries must be plain files inside the landing area",
        )
    if not DELIVERY_ID_PATTERN.match(delivery_id):
        fail(
            "landing.delivery_id",
            f"delivery folder name {shown(delivery_id)} has characters outside "
            "[0-9A-Za-z._-] or does not start with a letter or digit",
        )
    if not manifest_path.is_file():  # a folder, or a named pipe that would block the read forever
        fail("manifest.json", f"{MANIFEST_NAME} is not a plain file (a folder, a named pipe or a device)")
    with open(manifest_path, "rb") as f:  # never more than the limit in memory
        raw = f.read(MAX_MANIFEST_BYTES + 1)
    if len(raw) > MAX_MANIFEST_BYTES:
        fail("manifest.json", f"manifest is larger than {MAX_MANIFEST_BYTES} bytes")
    if not raw.strip():
        fail("manifest.json", "manifest is empty")
    try:
        manifest = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        # ValueError: also a number of more digits than Python converts; RecursionError: nesting
        fail("manifest.json", f"manifest is not valid UTF-8 JSON: {str(exc)[:200]}")
    if not isinstance(manifest, dict):
        fail("manifest.json", "manifest must be a JSON object")
    return manifest


def read_manifest(ref: DeliveryRef) -> dict[str, Any]:
    """Parse and check the manifest against the folder it lies in and the periods seed."""
    manifest = read_manifest_object(ref.path, ref.manifest_path, ref.delivery_id, "the delivery folder")
    _check_manifest_fields(manifest)
    if manifest["contract_version"] != CONTRACT_VERSION:
        fail(
            "manifest.contract_version",
            f"contract_version is {shown(manifest['contract_version'])}; "
            f"this platform reads version {CONTRACT_VERSION}",
        )
    for key, folder_value in (("insurer", ref.insurer), ("period", ref.period), ("delivery_id", ref.delivery_id)):
        if manifest[key] != folder_value:
            fail(
                f"manifest.{key}",
                f"manifest says {key} {shown(manifest[key])} but the delivery lies in the folder for {folder_value!r}",
            )
    info = periods()[ref.period]
    for key, expected in (
        ("period_start", info.period_start),
        ("period_end", info.period_end),
        ("cutoff_date", info.cutoff_date),
    ):
        if manifest[key] != expected:
            fail(
                f"manifest.{key}",
                f"{key} is {manifest[key]} but period {ref.period} has {key} {expected} (seeds/periods.csv)",
            )
    return manifest


def _check_manifest_fields(manifest: dict[str, Any]) -> None:
    required = {
        "contract_version": int,
        "insurer": str,
        "period": str,
        "delivery_id": str,
        "period_start": str,
        "period_end": str,
        "cutoff_date": str,
        "files": list,
    }
    missing = [k for k in required if k not in manifest]
    if missing:
        fail("manifest.fields", f"manifest lacks the field(s) {', '.join(missing)}")
    for key, typ in required.items():
        value = manifest[key]
        if not isinstance(value, typ) or isinstance(value, bool):
            fail("manifest.fields", f"manifest field {key} must be a {typ.__name__}, got {shown(value)}")
    for key in ("period_start", "period_end", "cutoff_date"):
        if not _ISO_DATE.match(manifest[key]):
            fail("manifest.fields", f"manifest field {key} must be a date YYYY-MM-DD, got {shown(manifest[key])}")
    files = manifest["files"]
    if len(files) != 1:
        fail("manifest.files", f"manifest must list exactly one file (claims.csv or claims.csv.gz), lists {len(files)}")
    entry = files[0]
    if not isinstance(entry, dict):
        fail("manifest.files", "the file entry must be a JSON object")
    for key in ("name", "sha256", "rows", "paid_amount_total"):
        if key not in entry:
            fail("manifest.files", f"the file entry lacks {key}")
    if entry["name"] not in DATA_FILE_NAMES:
        fail("manifest.files", f"file name must be claims.csv or claims.csv.gz, got {shown(entry['name'])}")
    if not isinstance(entry["sha256"], str) or not _SHA256.match(entry["sha256"]):
        fail("manifest.files", "sha256 must be 64 lowercase hex characters")
    if not isinstance(entry["rows"], int) or isinstance(entry["rows"], bool) or entry["rows"] < 0:
        fail("manifest.files", f"rows must be a non-negative whole number, got {shown(entry['rows'])}")
    total = entry["paid_amount_total"]
    if not isinstance(total, str) or not _DECIMAL_STRING.match(total):
        fail("manifest.files", f'paid_amount_total must be a decimal string such as "45099871.22", got {shown(total)}')


# ------------------------------------------------------------------------------ files


def locate_data_file(ref: DeliveryRef, manifest: dict[str, Any]) -> Path:
    """The data file the manifest names; it must be a plain file, and the only claims file."""
    present = [name for name in DATA_FILE_NAMES if (ref.path / name).exists() or (ref.path / name).is_symlink()]
    if len(present) > 1:
        fail("file.ambiguous", "both claims.csv and claims.csv.gz are present; a delivery has exactly one claims file")
    extra_manifests = sorted(p.name for p in ref.path.glob("*manifest*") if p.name != MANIFEST_NAME)
    if extra_manifests:
        fail("manifest.ambiguous", f"more than one manifest in the delivery folder: {', '.join(extra_manifests)}")
    name = manifest["files"][0]["name"]
    path = ref.path / name
    if path.is_symlink():
        fail("landing.symlink", f"{name} is a symbolic link; deliveries must be plain files inside the landing area")
    if not path.is_file():
        fail("file.present", f"the manifest names {name}, which is not in the delivery folder")
    return path
