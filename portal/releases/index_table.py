"""The index table of a published revision (``behandelindex.csv``) as the insurers' pages, the
downloads and the read API serve it: filtered, sorted and written back in the file's own
columns and spelling, so that a download of the whole table is the published file itself.

Which rows a caller may read is decided in ``portal.access.permissions.index_scope``; this
module only reads and shapes what it is given.
"""

from __future__ import annotations

import csv
import functools
import io
from collections.abc import Iterable
from dataclasses import dataclass

from orchestration.core.release_layout import BEHANDELINDEX_COLUMNS
from portal.releases import catalog

COLUMNS = BEHANDELINDEX_COLUMNS
INTEGER_COLUMNS = ("patients", "episodes", "sessions")
DECIMAL_COLUMNS = ("expected_sessions", "behandelindex", "ci_lower", "ci_upper", "corrected_index")
STATUSES = ("ok", "insufficient_patients")
SORT_KEYS = ("practice_agb", "discipline", "status", "patients", "behandelindex", "corrected_index")


@dataclass(frozen=True)
class IndexTable:
    """One published behandelindex.csv, read once: its rows in the file's order, the same rows
    typed (``typed``), and the row numbers per discipline and per practice, so that a request
    for a filtered page touches only the rows it can return. Shared by every request: read
    it, never change it."""

    rows: tuple[dict[str, str], ...]
    typed_rows: tuple[dict[str, object], ...]
    by_discipline: dict[str, tuple[int, ...]]
    by_agb: dict[str, tuple[int, ...]]
    signature: str  # the file's identity (path, mtime, size): part of an answer's ETag

    def select(self, wanted: IndexFilter, practices: frozenset[str] | None) -> list[int]:
        """Row numbers, in the file's order, of the rows ``wanted`` matches among ``practices``
        (None: every practice; the caller's scope, portal.access.permissions.index_scope)."""
        if practices is not None:
            numbers = sorted(i for agb in practices for i in self.by_agb.get(agb, ()))
            if wanted.discipline:
                numbers = [i for i in numbers if self.rows[i]["discipline"] == wanted.discipline]
        elif wanted.discipline:
            numbers = list(self.by_discipline.get(wanted.discipline, ()))
        else:
            numbers = list(range(len(self.rows)))
        rows = self.rows
        if wanted.practice_agb:
            numbers = [i for i in numbers if rows[i]["practice_agb"] == wanted.practice_agb]
        if wanted.status:
            numbers = [i for i in numbers if rows[i]["status"] == wanted.status]
        if wanted.min_corrected is not None or wanted.max_corrected is not None:
            numbers = [i for i in numbers if wanted.matches(rows[i])]
        return numbers


def _groups(rows, column: str) -> dict[str, tuple[int, ...]]:
    groups: dict[str, list[int]] = {}
    for number, row in enumerate(rows):
        groups.setdefault(row[column], []).append(number)
    return {key: tuple(numbers) for key, numbers in groups.items()}


@functools.lru_cache(maxsize=16)
def _table(csv_path: str, mtime_ns: int, size: int) -> IndexTable:
    """A published file never changes; the key carries its mtime and size all the same."""
    with open(csv_path, newline="", encoding="utf-8") as handle:
        rows = tuple(csv.DictReader(handle))
    return IndexTable(
        rows=rows,
        typed_rows=tuple(typed(row) for row in rows),
        by_discipline=_groups(rows, "discipline"),
        by_agb=_groups(rows, "practice_agb"),
        signature=f"{csv_path}:{mtime_ns}:{size}",
    )


def table_of(revision: catalog.Revision) -> IndexTable:
    path = revision.file("behandelindex.csv")
    stat = path.stat()
    with catalog._parse_lock:
        return _table(str(path), stat.st_mtime_ns, stat.st_size)


def rows_of(revision: catalog.Revision) -> tuple[dict[str, str], ...]:
    """Every row of the revision's behandelindex.csv, in the file's order. The rows are the
    cached ones, shared by every request: read them, never change them (``typed`` makes new
    dicts); copying some 10,000 rows per request would cost more than the rest of it."""
    return table_of(revision).rows


@dataclass(frozen=True)
class IndexFilter:
    """The filters of the pages and the API; an empty field filters nothing."""

    discipline: str = ""
    practice_agb: str = ""
    status: str = ""
    min_corrected: float | None = None
    max_corrected: float | None = None

    def matches(self, row: dict[str, str]) -> bool:
        if self.discipline and row["discipline"] != self.discipline:
            return False
        if self.practice_agb and row["practice_agb"] != self.practice_agb:
            return False
        if self.status and row["status"] != self.status:
            return False
        if self.min_corrected is not None or self.max_corrected is not None:
            value = number(row.get("corrected_index", ""))
            if value is None:
                return False
            if self.min_corrected is not None and value < self.min_corrected:
                return False
            if self.max_corrected is not None and value > self.max_corrected:
                return False
        return True

    def apply(self, rows: Iterable[dict[str, str]]) -> list[dict[str, str]]:
        """``matches`` over the rows, one plain comparison per filter in force (a national
        table is some 10,000 rows, filtered at every request)."""
        out = list(rows)
        for column in ("discipline", "practice_agb", "status"):
            wanted = getattr(self, column)
            if wanted:
                out = [row for row in out if row[column] == wanted]
        if self.min_corrected is not None or self.max_corrected is not None:
            out = [row for row in out if self.matches(row)]
        return out


def number(text: str) -> float | None:
    try:
        return float(text) if text not in ("", None) else None
    except ValueError:
        return None


def sort_rows(rows: list[dict[str, str]], key: str = "practice_agb", descending: bool = False) -> list[dict[str, str]]:
    """Sorted by ``key`` (one of SORT_KEYS), then discipline and AGB; rows without a number
    for a numeric key come last either way."""
    if key not in SORT_KEYS:
        key = "practice_agb"
    tie = sorted(rows, key=lambda r: (r["practice_agb"], r["discipline"]))
    if key in ("practice_agb", "discipline", "status"):
        return sorted(tie, key=lambda r: r[key], reverse=descending)
    present = [r for r in tie if number(r.get(key, "")) is not None]
    missing = [r for r in tie if number(r.get(key, "")) is None]
    return sorted(present, key=lambda r: number(r[key]), reverse=descending) + missing


def csv_text(rows: Iterable[dict[str, str]]) -> str:
    """The rows in behandelindex.csv's columns and spelling (LF line ends, as published)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def typed(row: dict[str, str]) -> dict[str, object]:
    """One row with numbers as numbers and empty cells as None (JSON, Parquet, XLSX)."""
    out: dict[str, object] = {}
    for column in COLUMNS:
        text = row.get(column, "")
        if column in INTEGER_COLUMNS:
            value = number(text)
            out[column] = int(value) if value is not None else None
        elif column in DECIMAL_COLUMNS:
            out[column] = number(text)
        else:
            out[column] = text
    return out
