"""The index table as a file: CSV (behandelindex.csv's own bytes and spelling), Parquet and
XLSX (numbers as numbers, empty cells empty), all three in the columns of
``index_table.COLUMNS``, so a spreadsheet, a notebook and a script read the same table.

pyarrow and openpyxl are imported when a file is made, not when the portal starts.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass

from portal.releases import index_table

Rows = list[dict[str, str]]


def csv_bytes(rows: Rows) -> bytes:
    """Exactly ``index_table.csv_text``: the whole table is the published file byte for byte."""
    return index_table.csv_text(rows).encode("utf-8")


def _arrow_schema():
    import pyarrow as pa

    def kind(column: str):
        if column in index_table.INTEGER_COLUMNS:
            return pa.int64()
        if column in index_table.DECIMAL_COLUMNS:
            return pa.float64()
        return pa.string()  # the AGB code stays text: it is a code, not a number

    return pa.schema([(column, kind(column)) for column in index_table.COLUMNS])


def parquet_bytes(rows: Rows) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pylist([index_table.typed(row) for row in rows], schema=_arrow_schema())
    out = pa.BufferOutputStream()
    pq.write_table(table, out)
    return out.getvalue().to_pybytes()


def xlsx_bytes(rows: Rows) -> bytes:
    """A write-only workbook (it streams rows instead of holding a cell object for each)."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("behandelindex")
    sheet.append(index_table.COLUMNS)
    for row in rows:
        values = index_table.typed(row)
        sheet.append([values[column] for column in index_table.COLUMNS])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


@dataclass(frozen=True)
class Format:
    extension: str
    content_type: str
    build: Callable[[Rows], bytes]


FORMATS = {
    "csv": Format("csv", "text/csv; charset=utf-8", csv_bytes),
    "parquet": Format("parquet", "application/vnd.apache.parquet", parquet_bytes),
    "xlsx": Format("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", xlsx_bytes),
}


def filename(period: str, revision: str, extension: str, *, filtered: bool) -> str:
    """e.g. ``behandelindex-2024-v3-r1.csv``; ``-selectie`` when a filter left rows out."""
    return f"behandelindex-{period}-{revision}{'-selectie' if filtered else ''}.{extension}"
