"""What the insurers' pages read of a published revision besides its index rows: the
national overview (``reports/national_overview.html``, beside the shared report assets)
and a per-discipline count of practices by status; and the insurer's name."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from portal.releases import catalog
from reports import labels

NATIONAL_OVERVIEW = "national_overview.html"


def insurer_name(insurer_id: str) -> str:
    """The insurer's name from the required-insurers seed; its id when the seed no longer has it
    (an insurer that left keeps its staff until the operators remove them)."""
    from orchestration.core.seeds import insurers

    return next((i.insurer_name for i in insurers() if i.insurer_id == insurer_id), insurer_id)


def national_overview_path(revision: catalog.Revision) -> Path | None:
    """The revision's national overview, or None; built from the revision folder alone and
    checked to be a regular file inside it (no symlink out of the release)."""
    path = revision.path / "reports" / NATIONAL_OVERVIEW
    try:
        path.resolve(strict=True).relative_to(revision.path.resolve(strict=True))
    except (OSError, ValueError):
        return None
    return path if path.is_file() and not path.is_symlink() else None


@dataclass(frozen=True)
class DisciplineSummary:
    discipline: str
    label: str
    practices: int
    ok: int  # with an index
    insufficient: int  # fewer than 30 patients: no index


def discipline_summary(rows: list[dict[str, str]]) -> list[DisciplineSummary]:
    """Per discipline of the table: its practices and how many have an index (the whole
    published table, not the filtered selection: the national picture)."""
    found = []
    for discipline in catalog.DISCIPLINES:
        own = [row for row in rows if row["discipline"] == discipline]
        if not own:
            continue
        ok = sum(1 for row in own if row["status"] == "ok")
        insufficient = sum(1 for row in own if row["status"] == "insufficient_patients")
        found.append(DisciplineSummary(discipline, labels.DISCIPLINE_LABEL[discipline], len(own), ok, insufficient))
    return found
