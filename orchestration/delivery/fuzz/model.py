"""A generated delivery (:class:`Draft`), what the contract must do with it
(:class:`Expectation`), and the contract's reference: what a value of each column must
look like (``value_rules``) and the typed value the method then reads (``typed_value``).

The reference is written from delivery-contract.md and the validator's documented rules
(docs/operations.md "Bad input"), not from the validator's code: where the two disagree,
the fuzzer says so.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from orchestration.core.seeds import periods
from orchestration.delivery.contract.rules import (
    AMOUNT_COLUMNS,
    CLAIM_COLUMNS,
    DATE_COLUMNS,
    PADDABLE_COLUMNS,
)

REJECT = "reject"  # the contract must reject the delivery
HARMLESS = "harmless"  # accepted, and the typed rows are exactly the clean delivery's
VALUE_CHANGE = "value_change"  # accepted: a value the contract does not judge (the contents gate does)
UNSEEN = "unseen"  # not a delivery: an upload in progress, or a folder the landing zone does not know
KINDS = (REJECT, HARMLESS, VALUE_CHANGE, UNSEEN)

# the rules whose violation is about lines: the verdict must name the first offending ones
LINE_RULES = frozenset(
    {
        "claims.claim_id_present",
        "claims.claim_id_unique",
        "claims.patient_id_pseudonym",
        "claims.whitespace",
        "claims.date_format",
        "claims.amount_format",
        "file.repeated_header",
        "file.embedded_newline",
        "file.nul_byte",
        "file.field_count",
        "file.quoting",
        "file.line_ends",
        "file.encoding",
        "file.delimiter",
    }
)
# the rules check_rows judges line by line: their first offending row is the mutated one
ROW_CHECK_RULES = frozenset(r for r in LINE_RULES if r.startswith("claims.")) | {
    "file.embedded_newline",
    "file.nul_byte",
}
RULE_NAME = re.compile(r"^(file|claims|manifest|landing)\.[a-z_]+$")
MAX_MESSAGE_CHARS = 6000  # a verdict is read by a person: a 5 MB field must not end up in it

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_AMOUNT = re.compile(r"-?([0-9]+)\.[0-9]{2}")
_PSEUDONYM = re.compile(r"[0-9a-f]{64}")
_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


@dataclass(frozen=True)
class Expectation:
    """What the contract must do with a case. ``rules``: for a rejection, the rules one of
    which (``all_rules``: each of which) the verdict must name (empty: any rule);
    ``line``: the line of the file its first offending row must be on."""

    kind: str
    rules: frozenset[str] = frozenset()
    all_rules: bool = False
    line: int | None = None

    def __post_init__(self) -> None:
        assert self.kind in KINDS, self.kind


@dataclass
class Draft:
    """One delivery folder being generated: the insurer's rows, how they are written, and
    the edits of the generated mutations on the way from rows to files."""

    period: str
    insurer: str
    delivery_id: str
    rows: list[dict[str, str]]
    newline: str = "\n"
    bom: bool = False
    quote_all: bool = False
    quoted: set[tuple[int, str]] = field(default_factory=set)
    never_quoted: set[tuple[int, str]] = field(default_factory=set)  # fields a byte mutation writes raw
    final_newline: bool = True
    blank_lines_after: dict[int, int] = field(default_factory=dict)  # data row index -> blank lines after it
    header: list[str] | None = None  # the header row's names, when not the contract's
    line_end_after: dict[int, str] = field(default_factory=dict)  # data row index -> its own line end
    lines_after: dict[int, list[str]] = field(default_factory=dict)  # data row index -> raw lines after it
    row_suffix: dict[int, str] = field(default_factory=dict)  # data row index -> raw text after its last field
    gz: bool = False
    text_edits: list[Callable[[bytes], bytes]] = field(default_factory=list)  # the file's text, before gzip
    payload_edits: list[Callable[[bytes], bytes]] = field(default_factory=list)  # the bytes on disk
    claimed_rows: int | None = None  # None: the rows as the insurer meant them
    claimed_total: str | None = None
    manifest_edits: list[Callable[[dict[str, Any]], None]] = field(default_factory=list)
    manifest_format: dict[str, Any] = field(default_factory=dict)  # json.dumps options
    manifest_bom: bool = False
    manifest_byte_edits: list[Callable[[bytes], bytes]] = field(default_factory=list)
    raw_values: dict[str, str] = field(default_factory=dict)  # placeholder -> JSON text (a 5,000-digit number)
    folder_edits: list[Callable[[Path, Path], None]] = field(default_factory=list)  # (folder, outside)
    folder_name: str | None = None  # the delivery folder's name, when not delivery_id
    insurer_folder: str | None = None  # the insurer folder's name, when not insurer
    period_folder: str | None = None
    folder_is_link: bool = False  # the delivery folder is a symbolic link to a folder outside landing/
    entries: set[str] = field(default_factory=set)  # names of the extra entries already in the folder

    @property
    def data_name(self) -> str:
        return "claims.csv.gz" if self.gz else "claims.csv"

    def row_line(self, index: int) -> int:
        """The line of the file on which data row ``index`` starts."""
        return 2 + index + sum(self.blank_lines_after.get(row, 0) for row in range(index))


@dataclass
class Case:
    """A generated delivery with its mutations and what the contract must do with it."""

    draft: Draft
    mutations: list[str]  # what was done, in words (the first is the one the expectation is about)
    expectation: Expectation
    expected_rows: list[dict[str, Any]] | None = None  # typed rows of an acceptance (typed_rows)
    family: str = "harmless"

    def describe(self) -> str:
        return f"{self.expectation.kind} [{self.family}] " + "; ".join(self.mutations)


# ----------------------------------------------------------------------- the reference


def is_real_date(text: str) -> bool:
    """YYYY-MM-DD of a real day of the proleptic Gregorian calendar (year 0000 is 1 BC)."""
    if not _DATE.fullmatch(text):
        return False
    year, month, day = int(text[:4]), int(text[5:7]), int(text[8:])
    if not 1 <= month <= 12:
        return False
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    return 1 <= day <= _DAYS[month - 1] + (1 if month == 2 and leap else 0)


def is_amount(text: str) -> bool:
    """A decimal point and two decimals, at most 16 digits before the point (decimal(18, 2))."""
    match = _AMOUNT.fullmatch(text)
    return bool(match) and len(match.group(1).lstrip("0")) <= 16


def value_rules(column: str, value: str) -> frozenset[str]:
    """The rules a value of ``column`` breaks, by itself (uniqueness is the caller's)."""
    rules: set[str] = set()
    if "\n" in value or "\r" in value:
        rules.add("file.embedded_newline")
    if "\x00" in value:
        rules.add("file.nul_byte")
    if column == "claim_id" and value.strip(" ") == "":
        rules.add("claims.claim_id_present")
    if column in PADDABLE_COLUMNS and value and (value[0] in " \t" or value[-1] in " \t"):
        rules.add("claims.whitespace")
    if column == "patient_id" and not _PSEUDONYM.fullmatch(value):
        rules.add("claims.patient_id_pseudonym")
    if column in DATE_COLUMNS and not is_real_date(value):
        rules.add("claims.date_format")
    if column in AMOUNT_COLUMNS and not is_amount(value):
        rules.add("claims.amount_format")
    return frozenset(rules)


def typed_value(column: str, value: str) -> Any:
    """The value the method reads for an accepted text ``value``: an empty field is NULL,
    a date its ISO text (DuckDB writes year 0 as 0001 BC), an amount a Decimal."""
    if value == "":
        return None
    if column in DATE_COLUMNS:
        return f"0001{value[4:]} (BC)" if value.startswith("0000") else value
    if column in AMOUNT_COLUMNS:
        return Decimal(value)
    return value


def typed_rows(rows: list[dict[str, str]]) -> list[dict[str, Any]]:
    return [{c: typed_value(c, row[c]) for c in CLAIM_COLUMNS} for row in rows]


def paid_total(rows: list[dict[str, str]]) -> str:
    """The control total of rows whose paid_amount is well formed (the others' is moot)."""
    total = sum((Decimal(r["paid_amount"]) for r in rows if is_amount(r["paid_amount"])), Decimal("0.00"))
    return f"{total:.2f}"


# --------------------------------------------------------------------------- writing


def quote(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


def needs_quotes(value: str) -> bool:
    return any(ch in value for ch in ',"\n\r')


def render_text(draft: Draft) -> bytes:
    """The rows as the insurer's CSV writer writes them (before the mutations' byte edits)."""
    nl = draft.newline
    lines: list[tuple[str, str]] = [(",".join(draft.header or CLAIM_COLUMNS), nl)]  # (text, its line end)
    for i, row in enumerate(draft.rows):
        fields = []
        for c in CLAIM_COLUMNS:
            value = row[c]
            quoted = draft.quote_all or (i, c) in draft.quoted or needs_quotes(value)
            quoted = quoted and (i, c) not in draft.never_quoted
            fields.append(quote(value) if quoted else value)
        lines.append((",".join(fields) + draft.row_suffix.get(i, ""), draft.line_end_after.get(i, nl)))
        lines += [(extra, nl) for extra in draft.lines_after.get(i, [])]
        lines += [("", nl)] * draft.blank_lines_after.get(i, 0)
    if not draft.final_newline:
        lines[-1] = (lines[-1][0], "")
    text = "".join(line + end for line, end in lines)
    return ("\ufeff" if draft.bom else "").encode() + text.encode("utf-8")


def render_final_text(draft: Draft) -> bytes:
    """The file's text after the mutations' edits (decompressed, for a gzip file)."""
    text = render_text(draft)
    for edit in draft.text_edits:
        text = edit(text)
    return text


def render_payload(draft: Draft) -> bytes:
    text = render_final_text(draft)
    payload = gzip.compress(text, mtime=0) if draft.gz else text
    for edit in draft.payload_edits:
        payload = edit(payload)
    return payload


def render_manifest(draft: Draft, payload: bytes) -> bytes:
    info = periods()[draft.period]
    manifest: dict[str, Any] = {
        "contract_version": 1,
        "insurer": draft.insurer,
        "period": draft.period,
        "delivery_id": draft.delivery_id,
        "period_start": info.period_start,
        "period_end": info.period_end,
        "cutoff_date": info.cutoff_date,
        "files": [
            {
                "name": draft.data_name,
                "sha256": hashlib.sha256(payload).hexdigest(),
                "rows": len(draft.rows) if draft.claimed_rows is None else draft.claimed_rows,
                "paid_amount_total": paid_total(draft.rows) if draft.claimed_total is None else draft.claimed_total,
            }
        ],
    }
    for edit in draft.manifest_edits:
        edit(manifest)
    text = json.dumps(manifest, **draft.manifest_format)
    for placeholder, raw in draft.raw_values.items():
        text = text.replace(json.dumps(placeholder), raw)
    data = ("\ufeff" if draft.manifest_bom else "").encode() + text.encode("utf-8", "surrogatepass")
    for edit in draft.manifest_byte_edits:
        data = edit(data)
    return data


def write_case(case: Case, landing: Path, outside: Path) -> Path:
    """Write the case's delivery folder under ``landing`` (files that links point to go to
    ``outside``, which is not under ``landing``); the folder's path."""
    draft = case.draft
    outside.mkdir(parents=True, exist_ok=True)
    period_dir = landing / (draft.period_folder or draft.period)
    insurer_dir = period_dir / (draft.insurer_folder or draft.insurer)
    name = draft.folder_name or draft.delivery_id
    folder = (outside / "linked-delivery" / name) if draft.folder_is_link else insurer_dir / name
    folder.mkdir(parents=True, exist_ok=True)
    payload = render_payload(draft)
    (folder / draft.data_name).write_bytes(payload)
    (folder / "manifest.json").write_bytes(render_manifest(draft, payload))
    for edit in draft.folder_edits:
        edit(folder, outside)
    if draft.folder_is_link:
        insurer_dir.mkdir(parents=True, exist_ok=True)
        os.symlink(folder, insurer_dir / name)
    return insurer_dir / name
