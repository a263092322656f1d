"""The contract's vocabulary: its columns and limits, a broken rule (:class:`Violation`),
and the verdict on one delivery (:class:`ContractVerdict`)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from orchestration.landing.zone import MANIFEST_NAME, DeliveryRef

CLAIM_COLUMNS: tuple[str, ...] = (
    "claim_id",
    "original_claim_id",
    "uzovi",
    "practice_agb",
    "therapist_agb",
    "patient_id",
    "birth_date",
    "sex",
    "service_date",
    "code_list",
    "prestatie_code",
    "dcsph_code",
    "indication_code",
    "coverage",
    "claimed_amount",
    "paid_amount",
    "processed_date",
)
DATE_COLUMNS = ("birth_date", "service_date", "processed_date")
AMOUNT_COLUMNS = ("claimed_amount", "paid_amount")
# text columns without a full-match format rule here (dates, amounts and patient_id have one)
PADDABLE_COLUMNS = tuple(c for c in CLAIM_COLUMNS if c not in DATE_COLUMNS + AMOUNT_COLUMNS + ("patient_id",))
DATA_FILE_NAMES = ("claims.csv", "claims.csv.gz")
STAGING_TABLE = "delivery_rows"  # the slow path's temporary table of raw text
SAMPLE_ROWS = 5
MAX_MANIFEST_BYTES = 1_000_000
MAX_LINE_BYTES = 1_000_000  # a claim line is ~200 bytes; anything near this is not a claim line
# Blank lines are skipped, and their numbers kept so that messages name the lines of the file;
# a file of millions of them (a 5 MB field of line ends) is not a claims file, and their
# numbers would fill the memory and every query that places a row on its line.
MAX_BLANK_LINES = 10_000

# \Z, not $: "$" also matches before a final line break ("109.59\n" is no decimal string)
_ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
_DECIMAL_STRING = re.compile(r"^-?[0-9]+(\.[0-9]{1,2})?\Z")
_SHA256 = re.compile(r"^[0-9a-f]{64}\Z")
# the last three fields are claimed_amount, paid_amount, processed_date: one of the two
# amounts written as "36,53" makes them four
_DECIMAL_COMMA = re.compile(
    r",-?[0-9]+,[0-9]{2},-?[0-9]+(\.|,)[0-9]{2},[0-9]{4}-[0-9]{2}-[0-9]{2}\s*$|"
    r",-?[0-9]+\.[0-9]{2},-?[0-9]+,[0-9]{2},[0-9]{4}-[0-9]{2}-[0-9]{2}\s*$"
)


@dataclass
class Violation:
    """One broken rule: which, in plain words, and the first offending rows."""

    rule: str
    message: str
    rows: list[dict[str, Any]] = field(default_factory=list)

    def describe(self, file_label: str) -> str:
        text = f"{file_label}: rule {self.rule}: {self.message}"
        if self.rows:
            text += "; first offending rows: " + "; ".join(_describe_row(r) for r in self.rows)
        return text


def _describe_row(row: dict[str, Any]) -> str:
    line = row.get("line")
    rest = ", ".join(f"{k}={v!r}" for k, v in row.items() if k != "line")
    return f"line {line} ({rest})" if line is not None else rest


class ContractViolation(Exception):
    def __init__(self, violation: Violation):
        super().__init__(violation.message)
        self.violation = violation


@dataclass
class ContractVerdict:
    """The outcome of validating one delivery."""

    ref: DeliveryRef
    violations: list[Violation]
    manifest: dict[str, Any] | None = None
    data_file: Path | None = None
    sha256: str | None = None
    row_count: int | None = None
    paid_amount_total: Decimal | None = None
    table: str | None = None  # accepted: the warehouse table holding the typed rows

    @property
    def accepted(self) -> bool:
        return not self.violations

    @property
    def file_label(self) -> str:
        target = self.data_file or self.ref.manifest_path
        return f"landing/{self.ref.period}/{self.ref.insurer}/{self.ref.delivery_id}/{target.name}"

    @property
    def first_rule(self) -> str | None:
        return self.violations[0].rule if self.violations else None

    def error_text(self) -> str:
        """Every violation in plain words, one per line, each naming file, rule and rows."""
        return "\n".join(v.describe(self._label_for(v)) for v in self.violations)

    def _label_for(self, violation: Violation) -> str:
        if violation.rule.startswith("manifest") or self.data_file is None:
            return f"landing/{self.ref.label}/{MANIFEST_NAME}"
        return self.file_label


def shown(value: Any, limit: int = 80) -> str:
    """``value`` as a message quotes it: its repr, cut at ``limit`` characters (a manifest
    field can hold most of a megabyte; a message is read by a person)."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def fail(rule: str, message: str, rows: list[dict[str, Any]] | None = None) -> None:
    """Raise the violation of ``rule``: validation stops at the first broken rule of this kind."""
    raise ContractViolation(Violation(rule, message, rows or []))


class ManyViolations(Exception):
    """Several row rules broken at once (``lines.check_rows`` reports them all)."""

    def __init__(self, violations: list[Violation]):
        super().__init__(violations[0].message)
        self.violations = violations
