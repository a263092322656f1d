"""Discovery of deliveries in the landing zone (delivery-contract.md, 'Where a delivery lands').

Pure functions over the file system; nothing here writes. The landing zone belongs to
the insurers: the platform only lists and reads it.

    landing/<period>/<insurer>/<delivery_id>/{claims.csv | claims.csv.gz, manifest.json}

A folder without ``manifest.json`` is an upload in progress and is not touched. The
newest complete delivery (by ``delivery_id``, which sorts in delivery order) of an
insurer for a period is the one in force.

The practice register (docs/register-contract.md) lands beside the periods, in a folder
whose name can never be a period:

    landing/_register/<delivery_id>/{practices.csv, manifest.json}

``scan_landing`` skips it (it is neither a period nor an anomaly); ``register_deliveries``
lists its complete deliveries.

Folder names the platform does not recognise are not silently dropped: they come back
as *anomalies* so that ``spiegel status`` and the sensor can show them. A delivery
folder whose own name is unsafe (odd characters, a symlink) is still returned, so that
the contract rejects it with a reason and its period stays blocked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from orchestration.core.seeds import insurers, period_sort_key, periods

# \Z, not $: "$" also matches before a final line break, and "2025\n" is no safe folder name
PERIOD_PATTERN = re.compile(r"^[0-9]{4}-v[1-3]\Z")
DELIVERY_ID_PATTERN = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._-]{0,63}\Z")
MANIFEST_NAME = "manifest.json"
REGISTER_FOLDER = "_register"  # landing/_register/<delivery_id>/: the practice register


@dataclass(frozen=True)
class DeliveryRef:
    """One complete delivery folder (its manifest exists)."""

    period: str
    insurer: str
    delivery_id: str
    path: Path

    @property
    def manifest_path(self) -> Path:
        return self.path / MANIFEST_NAME

    @property
    def label(self) -> str:
        return f"{self.period}/{self.insurer}/{self.delivery_id}"


@dataclass(frozen=True)
class RegisterRef:
    """One complete delivery of the practice register (its manifest exists)."""

    delivery_id: str
    path: Path

    @property
    def manifest_path(self) -> Path:
        return self.path / MANIFEST_NAME

    @property
    def label(self) -> str:
        return f"{REGISTER_FOLDER}/{self.delivery_id}"


@dataclass(frozen=True)
class LandingAnomaly:
    """Something under landing/ that is not a recognisable delivery."""

    path: Path
    reason: str


def _safe_listdir(folder: Path) -> list[Path]:
    try:
        return sorted(folder.iterdir())
    except (FileNotFoundError, NotADirectoryError, PermissionError):
        return []


def scan_landing(landing: Path) -> tuple[list[DeliveryRef], list[LandingAnomaly]]:
    """Every complete delivery under ``landing`` and every anomaly, in a stable order."""
    known_periods = periods()
    known_insurers = {i.insurer_id for i in insurers()}
    deliveries: list[DeliveryRef] = []
    anomalies: list[LandingAnomaly] = []
    for period_dir in _safe_listdir(landing):
        name = period_dir.name
        if period_dir.is_symlink():
            anomalies.append(LandingAnomaly(period_dir, "period folder is a symbolic link; ignored"))
            continue
        if not period_dir.is_dir():
            anomalies.append(LandingAnomaly(period_dir, "not a folder; ignored"))
            continue
        if name == REGISTER_FOLDER:  # the practice register, not a period: register_deliveries
            anomalies += _register_anomalies(period_dir)
            continue
        if not PERIOD_PATTERN.match(name) or name not in known_periods:
            anomalies.append(
                LandingAnomaly(period_dir, f"'{name}' is not a known period (YYYY-vN, see seeds/periods.csv); ignored")
            )
            continue
        for insurer_dir in _safe_listdir(period_dir):
            if insurer_dir.is_symlink():
                anomalies.append(LandingAnomaly(insurer_dir, "insurer folder is a symbolic link; ignored"))
                continue
            if not insurer_dir.is_dir():
                anomalies.append(LandingAnomaly(insurer_dir, "not a folder; ignored"))
                continue
            if insurer_dir.name not in known_insurers:
                anomalies.append(
                    LandingAnomaly(
                        insurer_dir,
                        f"'{insurer_dir.name}' is not a known insurer (seeds/required_insurers.csv); ignored",
                    )
                )
                continue
            for delivery_dir in _safe_listdir(insurer_dir):
                if not delivery_dir.is_dir() and not delivery_dir.is_symlink():
                    anomalies.append(LandingAnomaly(delivery_dir, "not a folder; ignored"))
                    continue
                # A symlinked delivery folder still counts as a delivery attempt when it
                # has a manifest: the contract rejects it (never followed for reading).
                if not (delivery_dir / MANIFEST_NAME).exists() and not (delivery_dir / MANIFEST_NAME).is_symlink():
                    continue  # upload in progress
                deliveries.append(DeliveryRef(name, insurer_dir.name, delivery_dir.name, delivery_dir))
    return deliveries, anomalies


def _register_anomalies(folder: Path) -> list[LandingAnomaly]:
    return [LandingAnomaly(p, "not a folder; ignored") for p in _safe_listdir(folder) if not p.is_dir()]


def register_deliveries(landing: Path) -> list[RegisterRef]:
    """The complete deliveries of the practice register, oldest first (by ``delivery_id``).
    A symlinked delivery folder with a manifest is returned, so that its contract rejects it."""
    folder = landing / REGISTER_FOLDER
    if folder.is_symlink():
        return []  # an anomaly of scan_landing; never followed
    found = []
    for delivery_dir in _safe_listdir(folder):
        if not delivery_dir.is_dir() and not delivery_dir.is_symlink():
            continue
        manifest = delivery_dir / MANIFEST_NAME
        if manifest.exists() or manifest.is_symlink():
            found.append(RegisterRef(delivery_dir.name, delivery_dir))
    return sorted(found, key=lambda r: r.delivery_id)


def newest_register(landing: Path) -> RegisterRef | None:
    """The newest complete register delivery: the one considered first (in force unless rejected)."""
    found = register_deliveries(landing)
    return found[-1] if found else None


def complete_deliveries(landing: Path) -> list[DeliveryRef]:
    return scan_landing(landing)[0]


def in_force(deliveries: list[DeliveryRef], period: str, insurer: str) -> DeliveryRef | None:
    """The newest complete delivery of ``insurer`` for ``period``, if any."""
    candidates = [d for d in deliveries if d.period == period and d.insurer == insurer]
    return max(candidates, key=lambda d: d.delivery_id) if candidates else None


def find_in_force(landing: Path, period: str, insurer: str) -> DeliveryRef | None:
    return in_force(complete_deliveries(landing), period, insurer)


def landed_periods(landing: Path) -> list[str]:
    """Periods with at least one complete delivery, oldest first."""

    return sorted({d.period for d in complete_deliveries(landing)}, key=period_sort_key)


def missing_delivery_reason(insurer: str, period: str) -> str:
    """How every blocking reason says that a required insurer has nothing in force: the
    landing zone's words, with the folder to look in (the readiness gate and the period's
    state say it alike, so a reader sees it once)."""
    return (
        f"{insurer}: no delivery for {period} has landed (landing/{period}/{insurer}/ holds no folder with a manifest)"
    )
