"""The faults ``--fault KIND[:key=value,...]`` plants, one per delivery, and how the
labels a concern pays under are spread (``--labels``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime

from orchestration.core.seeds import insurer_labels_in, insurers, labels_in_force, periods
from orchestration.delivery.contract import CLAIM_COLUMNS

# --------------------------------------------------------------------------- faults

FAULT_KINDS: dict[str, str] = {
    "missing-insurer": "the insurer delivers nothing for the period",
    "missing-month": "every line of one month (key month, default May) is left out",
    "underdelivered-month": "only a fraction (key fraction, default 0.3) of one month's lines is delivered",
    "control-total-mismatch": "the manifest's paid_amount_total differs from the file (by 100.00)",
    "checksum-mismatch": "the manifest's sha256 does not match the file",
    "duplicate-claim-id": "some lines (key rows, default 3) repeat the claim_id of the line before",
    "missing-column": "one column (key column, default therapist_agb) is left out of the file",
    "bad-date": "some lines (key rows, default 1) have an impossible service_date (YYYY-02-31)",
    "bad-amount": "some lines (key rows, default 1) have a paid_amount with a decimal comma",
    "out-of-period": "a fraction (key fraction, default 0.02) of lines have a service date before the period",
    "truncated-file": "the file is cut off in the middle of a line after the manifest was written",
    "foreign-label": "some lines (key rows, default 25) are paid under a label of another concern (key label, "
    "default that concern's main label: a misrouted delivery)",
    "unknown-label": "some lines (key rows, default 25) are paid under a label no concern has (key label, "
    "default 9999)",
    "implausible-birth-date": "some lines (key rows, default 5) have a birth_date after their service_date",
}
FAULT_KEYS = {"insurer", "period", "month", "fraction", "rows", "column", "label"}

# --labels: how a concern with several labels (insurer_labels seed) spreads its lines over them
LABEL_MODES = {
    "mixed": "a concern with a second label in force pays about half of its patients' lines under it",
    "main": "every line is paid under the concern's main label (the first in the seed)",
}
DEFAULT_LABELS = "mixed"


@dataclass(frozen=True)
class Fault:
    """One planted failure: ``kind`` in ``insurer``'s delivery for ``period``."""

    kind: str
    insurer: str = "vgz"
    period: str | None = None  # None: the first generated period
    month: str | None = None  # YYYY-MM; None: May of the period's year
    fraction: float | None = None
    rows: int | None = None
    column: str | None = None
    label: str | None = None

    def describe(self) -> str:
        extra = ", ".join(f"{k}={v}" for k, v in asdict(self).items() if v is not None and k != "kind")
        return f"{self.kind}({extra})"


def parse_fault(text: str) -> Fault:
    """``KIND`` or ``KIND:key=value,...`` (keys: insurer, period, month, fraction, rows, column, label)."""
    kind, _, arg_text = text.strip().partition(":")
    if kind not in FAULT_KINDS:
        raise ValueError(f"unknown fault kind {kind!r}; known kinds: {', '.join(FAULT_KINDS)}")
    values: dict[str, object] = {}
    for part in filter(None, (p.strip() for p in arg_text.split(","))):
        key, sep, value = part.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or key not in FAULT_KEYS or not value:
            raise ValueError(
                f"fault {text!r}: {part!r} is not key=value with a key among {', '.join(sorted(FAULT_KEYS))}"
            )
        values[key] = value
    known_insurers = [i.insurer_id for i in insurers()]
    if "insurer" in values and values["insurer"] not in known_insurers:
        raise ValueError(f"fault {text!r}: unknown insurer {values['insurer']!r} (known: {', '.join(known_insurers)})")
    if "period" in values and values["period"] not in periods():
        raise ValueError(f"fault {text!r}: unknown period {values['period']!r} (expected YYYY-vN)")
    if "month" in values:
        try:
            datetime.strptime(str(values["month"]), "%Y-%m")
        except ValueError:
            raise ValueError(f"fault {text!r}: month must be YYYY-MM, got {values['month']!r}") from None
    try:
        if "fraction" in values:
            values["fraction"] = float(values["fraction"])  # type: ignore[arg-type]
            if not 0 <= values["fraction"] <= 1:  # type: ignore[operator]
                raise ValueError
        if "rows" in values:
            values["rows"] = int(values["rows"])  # type: ignore[arg-type]
            if values["rows"] < 1:  # type: ignore[operator]
                raise ValueError
    except ValueError:
        raise ValueError(
            f"fault {text!r}: fraction must be a number from 0 to 1 and rows a whole number >= 1"
        ) from None
    if "column" in values and values["column"] not in CLAIM_COLUMNS:
        raise ValueError(f"fault {text!r}: column must be one of the contract's columns, got {values['column']!r}")
    if "label" in values and not (len(str(values["label"])) == 4 and str(values["label"]).isdigit()):
        raise ValueError(f"fault {text!r}: label must be a 4-digit UZOVI code, got {values['label']!r}")
    return Fault(kind=kind, **values)  # type: ignore[arg-type]


def resolve_fault(fault: Fault, generated: list[str]) -> Fault:
    """Fill the defaults that depend on what is generated, and check the fault fits it."""
    period = fault.period or generated[0]
    if period not in generated:
        raise ValueError(
            f"fault {fault.kind}: period {period} is not among the generated periods ({', '.join(generated)})"
        )
    info = periods()[period]
    month = fault.month or f"{info.year}-05"
    if fault.kind in ("missing-month", "underdelivered-month") and not (
        info.period_start[:7] <= month <= info.period_end[:7]
    ):
        raise ValueError(
            f"fault {fault.kind}: month {month} is not inside period {period} "
            f"({info.period_start} to {info.period_end})"
        )
    defaults = {
        "underdelivered-month": {"fraction": 0.3},
        "out-of-period": {"fraction": 0.02},
        "duplicate-claim-id": {"rows": 3},
        "bad-date": {"rows": 1},
        "bad-amount": {"rows": 1},
        "missing-column": {"column": "therapist_agb"},
        "foreign-label": {"rows": 25},
        "unknown-label": {"rows": 25},
        "implausible-birth-date": {"rows": 5},
    }.get(fault.kind, {})
    label = _fault_label(fault, period) if fault.kind in ("foreign-label", "unknown-label") else None
    return Fault(
        kind=fault.kind,
        insurer=fault.insurer,
        period=period,
        month=month,
        fraction=fault.fraction if fault.fraction is not None else defaults.get("fraction"),
        rows=fault.rows if fault.rows is not None else defaults.get("rows"),
        column=fault.column or defaults.get("column"),
        label=label,
    )


def _fault_label(fault: Fault, period: str) -> str:
    """The label a label fault writes: checked against the labels seed of ``period``."""
    in_force = labels_in_force(period)
    owner = in_force[fault.label].insurer_id if fault.label in in_force else None
    if fault.kind == "foreign-label":
        if fault.label is None:
            other = next(
                i.insurer_id
                for i in insurers()
                if i.insurer_id != fault.insurer and insurer_labels_in(i.insurer_id, period)
            )
            return insurer_labels_in(other, period)[0]
        if owner is None or owner == fault.insurer:
            whose = f"{owner}'s" if owner else "no concern's"
            raise ValueError(
                f"fault foreign-label: label {fault.label} is not another concern's label in {period} (it is {whose})"
            )
        return fault.label
    label = fault.label or "9999"
    if owner is not None:
        raise ValueError(f"fault unknown-label: label {label} is {owner}'s in {period}; choose one no concern has")
    return label
