"""Suite ``delivery_contents`` (and its warnings, ``delivery_contents_warnings``): the
codes, dates, amounts and labels of the claim lines of one delivery in force.

ONE scan (``expectations/sql/contents_lines.sql`` plus the rule counts below), grouped by
the label (uzovi) the lines are paid under (a delivery has a few), counts every rule
violation (``count_if``) and the lines per label; then the first 5 offending rows
(``min_by(..., source_line, 5)``) with ``source_line``, ``claim_id`` and the offending
value, only for the rules and the unrecognised labels that have any; plus one small
anti-join for orphan credits (``contents_orphan_credits.sql``). A label is recognised
when the labels seed (``config.insurer_labels``) gives it to the delivering insurer in the
period; any line under another concern's label (misrouted: it may be counted twice) or
under a label no concern has blocks, one reason per label. The frame is validated twice:
the blocking rules (suite ``delivery_contents``) and the warnings (suite
``delivery_contents_warnings``), so that Data Docs show a delivery with only warnings as
succeeded, its warnings apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import duckdb

from orchestration.core.seeds import insurer_labels, labels_in_force, labels_seed_name
from orchestration.core.settings import SpiegelPaths
from orchestration.gates.common import (
    CONTENTS,
    CONTENTS_WARNINGS,
    SAMPLE_ROWS,
    bounds,
    is_number,
    pct,
    plain,
    run_sql,
    safe_name,
    sql_file,
    thresholds,
)
from orchestration.gates.gx_adapter import evaluate
from orchestration.gates.log import GateResult, Outcome, delivery_to_judge


def _digits(column: str, n: int) -> str:
    """``column`` is exactly ``n`` ASCII digits: regexp_full_match(column, '[0-9]{n}'),
    three times cheaper (null stays null)."""
    return f"(strlen({column}) = {n} and ltrim({column}, '0123456789') = '')"


EARLIEST_BIRTH_DATE = "1900-01-01"
# rules whose tolerance is a number of lines, not a share of the delivery's lines
LINE_COUNT_RULES = frozenset({"implausible_birth_lines"})
# rules whose finding also says how many patients the offending lines belong to
PATIENT_COUNT_RULES = frozenset({"implausible_birth_lines"})

# name -> (SQL predicate over one claim line, SQL of the offending value, words for the message)
CONTENT_RULES: dict[str, tuple[str, str, str]] = {
    "unknown_prestatie_codes": (
        "category is null",
        "coalesce(code_list, '') || '/' || coalesce(prestatie_code, '')",
        "a prestatie code that is not in the prestatie code seed for its code list",
    ),
    "invalid_code_list": (
        "coalesce(code_list not in ('073', '074'), true)",
        "code_list",
        "a code_list other than 073 or 074",
    ),
    "malformed_practice_agb": (
        f"not coalesce({_digits('practice_agb', 8)}, false)",
        "practice_agb",
        "a practice_agb that is not 8 digits",
    ),
    "malformed_therapist_agb": (
        f"not coalesce({_digits('therapist_agb', 8)}, false)",
        "therapist_agb",
        "a therapist_agb that is not 8 digits",
    ),
    "malformed_uzovi": (f"not coalesce({_digits('uzovi', 4)}, false)", "uzovi", "a uzovi that is not 4 digits"),
    "malformed_dcsph": (
        f"dcsph_code is not null and not {_digits('dcsph_code', 4)}",
        "dcsph_code",
        "a DCSPH code that is not 4 digits",
    ),
    "invalid_sex": ("coalesce(sex not in ('0', '1', '2', '9'), true)", "sex", "a sex other than 0, 1, 2 or 9"),
    "invalid_indication_code": (
        "coalesce(indication_code not in ('001', '008', '009'), true)",
        "indication_code",
        "an indication_code other than 001, 008 or 009",
    ),
    "invalid_coverage": ("coalesce(coverage not in ('BV', 'AV'), true)", "coverage", "a coverage other than BV or AV"),
    "service_date_outside_period": (
        "coalesce(service_date not between $period_start and $period_end, true)",
        "service_date",
        "a service_date outside the period",
    ),
    "processed_after_cutoff": (
        "coalesce(processed_date > $cutoff_date, true)",
        "processed_date",
        "a processed_date after the cutoff date",
    ),
    "negative_claimed_amount": (
        "paid_amount >= 0 and claimed_amount < 0",
        "claimed_amount",
        "a negative claimed_amount on a debit line",
    ),
    # delivery-contract.md, plausibility of birth dates: the method never guesses an age
    "implausible_birth_lines": (
        f"coalesce(birth_date > service_date or birth_date < date '{EARLIEST_BIRTH_DATE}', false)",
        "'birth_date ' || birth_date || ', service_date ' || service_date",
        f"a birth_date after their service_date or before {EARLIEST_BIRTH_DATE}",
    ),
    # warnings
    "rejected_lines": ("paid_amount = 0", "paid_amount", "paid_amount 0 (rejected by the insurer)"),
    "empty_or_malformed_dcsph": (
        f"not coalesce({_digits('dcsph_code', 4)}, false)",
        "dcsph_code",
        "no usable DCSPH code (body region XX in the case mix)",
    ),
    "processed_before_service": (
        "processed_date < service_date",
        "processed_date",
        "a processed_date before the service_date",
    ),
}


# the label a line is paid under, for the per-label counts: malformed codes (malformed_uzovi's
# business) fall in one NULL group, so garbage cannot make many groups
LABEL_KEY_SQL = f"case when {_digits('uzovi', 4)} then uzovi end"


def _contents_scan(
    con, period: str, insurer: str, start: date, end: date, cutoff: date, own_labels: set[str]
) -> tuple[int, dict[str, int], dict[str | None, int], dict[str, list[dict]], dict[str, int]]:
    """One scan of the delivery counts every rule's offenders per label (a GROUP BY on the
    few labels a delivery has); the first offending rows (and, for the rules that name them,
    the offenders' distinct patients) are fetched afterwards in one more pass, only for the
    rules and the unrecognised labels that have any (a clean delivery of 13 million lines
    costs one cheap pass, not 17 sample collections).

    Returns (lines, offenders per rule, lines per label (None = malformed), sample rows per
    rule and per ``label:<uzovi>`` of a label not in ``own_labels``, patients per rule of
    ``PATIENT_COUNT_RULES`` with offenders)."""
    params = {"period": period, "insurer": insurer, "period_start": start, "period_end": end, "cutoff_date": cutoff}
    rules = {name: pred for name, (pred, _, _) in CONTENT_RULES.items()}
    lines_sql = sql_file("contents_lines")
    counts_sql = ", ".join(f"count_if({pred}) as {name}" for name, pred in rules.items())
    groups = run_sql(
        con, f"{lines_sql} select {LABEL_KEY_SQL} as label, count(*), {counts_sql} from lines group by label", params
    ).fetchall()
    per_label = {g[0]: int(g[1]) for g in groups}
    counts = {name: sum(int(g[2 + i] or 0) for g in groups) for i, name in enumerate(rules)}
    samples: dict[str, list[dict]] = {name: [] for name in rules}
    wanted = {name: (rules[name], CONTENT_RULES[name][1]) for name, n in counts.items() if n}
    for label in sorted(lb for lb in per_label if lb is not None and lb not in own_labels):
        wanted[f"label:{label}"] = (f"uzovi = '{label}'", "uzovi")
    with_patients = [name for name in sorted(PATIENT_COUNT_RULES) if counts.get(name)]
    patients: dict[str, int] = {}
    if wanted:
        aliases = {key: f"s{i}" for i, key in enumerate(wanted)}
        sample_sql = ", ".join(
            [
                f"min_by({{'source_line': source_line, 'claim_id': claim_id, "
                f"'value': cast({value} as varchar)}}, source_line, {SAMPLE_ROWS}) "
                f"filter (where {pred}) as {aliases[key]}"
                for key, (pred, value) in wanted.items()
            ]
            + [f"count(distinct patient_id) filter (where {rules[name]})" for name in with_patients]
        )
        found = run_sql(con, f"{lines_sql} select {sample_sql} from lines", params).fetchone()
        samples.update({key: [plain(s) for s in (rows or [])] for key, rows in zip(wanted, found)})
        patients = {name: int(n or 0) for name, n in zip(with_patients, found[len(wanted) :])}
    return sum(per_label.values()), counts, per_label, samples, patients


@dataclass
class _LabelFinding:
    """One label (uzovi) of a delivery that is not the delivering insurer's in the period."""

    uzovi: str
    lines: int
    owner: str | None  # the concern whose label it is in the period, None: no concern's
    owner_name: str | None  # the label's name in the seed
    elsewhere: str  # when the label is a concern's in other periods, which and when


def _own_labels(insurer: str, period: str) -> set[str]:
    return {u for u, label in labels_in_force(period).items() if label.insurer_id == insurer}


def _label_findings(period: str, own: set[str], per_label: dict[str | None, int]) -> list[_LabelFinding]:
    """A finding per well-formed label of the delivery that is not one of ``own`` in ``period``."""
    in_force = labels_in_force(period)
    findings = []
    for uzovi, n in sorted(per_label.items(), key=lambda kv: (-kv[1], kv[0] or "")):
        if uzovi is None or uzovi in own:
            continue
        label = in_force.get(uzovi)
        other = [lb for lb in insurer_labels() if lb.uzovi == uzovi and not lb.in_force(period)]
        elsewhere = "; ".join(f"{lb.insurer_id}'s {lb.validity()}" for lb in other)
        findings.append(
            _LabelFinding(uzovi, n, label.insurer_id if label else None, label.label_name if label else None, elsewhere)
        )
    return findings


def _label_message(insurer: str, period: str, delivery_id: str, lines: int, f: _LabelFinding) -> str:
    seed = labels_seed_name()
    share = f"{f.lines} of {lines} lines ({pct(f.lines / lines if lines else 0)})"
    if f.owner is not None:
        return (
            f"{insurer}: {share} in delivery {delivery_id} are paid under label {f.uzovi} "
            f"({f.owner_name or 'no name'}), which is {f.owner}'s label in {period}: a misrouted delivery, "
            f"those claims may also be in {f.owner}'s delivery and be counted twice. If label {f.uzovi} moved "
            f"from {f.owner} to {insurer}, end {f.owner}'s row and add a row for {insurer} in {seed}, "
            f"then {_rerun(period)}"
        )
    history = f" (it is {f.elsewhere})" if f.elsewhere else ""
    return (
        f"{insurer}: {share} in delivery {delivery_id} are paid under label {f.uzovi}, which no concern "
        f"has in {period}{history}. If it is a label of {insurer}, add it to {seed} (uzovi {f.uzovi}, "
        f"insurer_id {insurer}, first_period {period} or earlier), then {_rerun(period)}"
    )


def _rerun(period: str) -> str:
    return (
        f"run the period again with `spiegel run --period {period}`, which gates every delivery again "
        f"once the configuration has changed (or materialise the insurer's delivery partition in the UI)"
    )


def _orphan_credits(con, period: str, insurer: str) -> tuple[int, int, list[dict]]:
    """Credit lines whose original_claim_id is not a claim_id of the same delivery."""
    credits, orphans, sample = run_sql(
        con, sql_file("contents_orphan_credits"), {"period": period, "insurer": insurer, "sample_rows": SAMPLE_ROWS}
    ).fetchone()
    return int(credits), int(orphans), [plain(s) for s in (sample or [])]


def check_delivery_contents(
    con: duckdb.DuckDBPyConnection, period: str, insurer: str, paths: SpiegelPaths
) -> GateResult:
    """Suite ``delivery_contents`` on the delivery in force of (period, insurer)."""
    import pandas as pd

    delivery, failed = delivery_to_judge(con, CONTENTS, period, insurer)
    if failed:
        return failed
    start, end, cutoff = bounds(period, delivery)
    delivery_id = delivery["delivery_id"]
    own = _own_labels(insurer, period)
    lines, counts, per_label, samples, patients = _contents_scan(con, period, insurer, start, end, cutoff, own)
    findings = _label_findings(period, own, per_label)
    credits, orphans, orphan_sample = _orphan_credits(con, period, insurer)
    counts["orphan_credits"], samples["orphan_credits"] = orphans, orphan_sample

    frame_row: dict[str, Any] = {"lines": lines}
    for name in CONTENT_RULES:
        frame_row[name] = counts[name] if name in LINE_COUNT_RULES else counts[name] / lines if lines else 0.0
    frame_row["orphan_credits"] = orphans
    frame_row["foreign_label_lines"] = sum(f.lines for f in findings if f.owner is not None)
    frame_row["unknown_label_lines"] = sum(f.lines for f in findings if f.owner is None)
    params = thresholds()[CONTENTS]
    frame = pd.DataFrame([frame_row])
    run_name = safe_name(period, insurer, delivery_id)
    evaluated, page = evaluate(CONTENTS, frame, params, paths, run_name)
    warned, warnings_page = evaluate(CONTENTS_WARNINGS, frame, params, paths, run_name)
    evaluated.update(warned)

    outcomes = []
    for name, ev in evaluated.items():
        if name in ("foreign_label_lines", "unknown_label_lines"):
            mine = [f for f in findings if (f.owner is not None) == (name == "foreign_label_lines")]
            if ev.success or not mine:
                what = "labels of another concern" if name == "foreign_label_lines" else "labels no concern has"
                listed = ", ".join(f"{f.uzovi}: {f.lines}" for f in mine)
                if not ev.success:
                    message = (
                        f"{insurer}: {name} failed (observed {ev.observed}, expected {ev.expected}) in "
                        f"delivery {delivery_id}"
                    )
                elif mine:  # only when thresholds.json allows some lines
                    limit = ev.expected.replace("<= ", "")
                    limit = f"{float(limit):g}" if is_number(limit) else limit
                    message = (
                        f"{insurer}: lines under {what} in {period} within the tolerance of "
                        f"{limit} lines ({listed}) in delivery {delivery_id}"
                    )
                else:
                    message = (
                        f"{insurer}: no lines under {what} in {period} (own labels: "
                        f"{', '.join(sorted(own)) or 'none'}) in delivery {delivery_id}"
                    )
                outcomes.append(Outcome(name, ev.severity, ev.success, ev.observed, ev.expected, message))
                continue
            for f in mine:  # one blocking reason per label, each naming it
                outcomes.append(
                    Outcome(
                        name,
                        ev.severity,
                        False,
                        {"label": f.uzovi, "lines": f.lines, "insurer": f.owner},
                        ev.expected,
                        _label_message(insurer, period, delivery_id, lines, f),
                        samples.get(f"label:{f.uzovi}", []),
                    )
                )
            continue
        n = counts.get(name, 0)
        if name == "orphan_credits":
            words = (
                f"{n} orphan credit lines of {credits} credit lines (their original_claim_id is not a "
                f"claim_id of this delivery; the method ignores them)"
            )
        elif name in LINE_COUNT_RULES:
            of_patients = f" of {patients.get(name, 0)} patients" if name in PATIENT_COUNT_RULES and n else ""
            words = f"{n} of {lines} lines{of_patients} have {CONTENT_RULES[name][2]}"
        else:
            what = CONTENT_RULES[name][2]
            if name == "service_date_outside_period":
                what += f" {start}–{end}"
            elif name == "processed_after_cutoff":
                what += f" {cutoff}"
            words = f"{pct(frame_row.get(name))} of lines ({n} of {lines}) have {what}"
        limit = ev.expected.replace("<= ", "")
        threshold = (
            f"{float(limit):g} lines"
            if name == "orphan_credits" or name in LINE_COUNT_RULES
            else pct(float(limit))
            if is_number(limit)
            else ev.expected
        )
        if ev.severity == "warn" and not ev.success:
            # a finding, not a breached limit: said so, so that it reads right under a PASS verdict
            message = (
                f"{insurer}: {words}: a warning (reported above {threshold}), they do not block; delivery {delivery_id}"
            )
        else:
            message = f"{insurer}: {words} (tolerance {threshold}) in delivery {delivery_id}"
        if name in PATIENT_COUNT_RULES and n:  # the operator's reply to the insurer names the lines
            message += "; first offending rows: " + "; ".join(
                f"line {row.get('source_line')} (claim_id {row.get('claim_id')}, {row.get('value')})"
                for row in samples.get(name, [])
            )
        outcomes.append(
            Outcome(
                name, ev.severity, ev.success, ev.observed, ev.expected, message, samples.get(name, []) if n else []
            )
        )
    in_force = labels_in_force(period)
    label_lines = []
    for uzovi, n in sorted(per_label.items(), key=lambda kv: (kv[0] is None, kv[0] or "")):
        label = in_force.get(uzovi) if uzovi else None
        status = (
            "not 4 digits"
            if uzovi is None
            else f"{insurer}'s"
            if uzovi in own
            else f"{label.insurer_id}'s: misrouted"
            if label
            else "no concern's"
        )
        label_lines.append(
            {
                "uzovi": uzovi or "(malformed)",
                "label_name": label.label_name if label else "",
                "lines": n,
                "share": n / lines if lines else 0.0,
                "label_of": status,
            }
        )
    return GateResult(CONTENTS, period, insurer, delivery_id, outcomes, page, warnings_page, label_lines)
