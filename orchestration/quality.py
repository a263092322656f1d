"""The quality gates: Great Expectations suites over what DuckDB computes.

Three suites, stored as JSON in ``expectations/`` and loaded into ``gx.ExpectationSuite``
objects; every tolerance they use is a ``$PARAMETER`` filled from
``expectations/thresholds.json`` at validation time, so thresholds are configuration.

What is validated where, and why
--------------------------------
A delivery can hold 45 million lines per period, so no claim line ever reaches pandas.
GX's SQL data source does not work on DuckDB here (every metric comes back empty, see
pitfalls.md), so the split is:

- **DuckDB** scans ``raw.claims`` of one (period, insurer) and reduces it to a few
  small frames:

  * ``delivery_contents``: ONE scan, grouped by the label (uzovi) the lines are paid
    under (a delivery has a few), that counts every rule violation (``count_if``) and
    the lines per label; then the first 5 offending rows (``min_by(..., source_line,
    5)``) with ``source_line``, ``claim_id`` and the offending value, only for the rules
    and the unrecognised labels that have any; plus one small anti-join for orphan
    credits (credits against the delivery's own claim_ids). A label is recognised when
    the labels seed (``config.insurer_labels``) gives it to the delivering insurer in
    the period; any line under another concern's label (misrouted: it may be counted
    twice) or under a label no concern has blocks, one reason per label. The frame is
    validated twice: the blocking rules (suite ``delivery_contents``) and the warnings
    (suite ``delivery_contents_warnings``), so that Data Docs show a delivery with only
    warnings as succeeded, its warnings apart.
  * ``delivery_completeness``: ONE scan ``GROUP BY`` month of the service date, the
    monthly profile (claim lines, session lines, credit lines, paid amount), stored in
    ``quality.delivery_month_profiles`` (period, insurer, delivery_id, month;
    re-profiling the same delivery_id replaces its rows), so a later delivery can be
    compared with the previous one of the insurer.
  * ``release_readiness``: ``raw.deliveries``, ``quality.gate_results`` and
    ``marts.fct_insurer_monthly_sessions`` (no claim lines at all).

- **Great Expectations** validates those small pandas frames (one row of violation
  shares; one row per month; one row per required insurer) against the suites,
  writes Data Docs under ``paths.gx_docs`` (one folder per run:
  ``validations/<suite>/<period>__<insurer>__<delivery_id>/<run time>/...html``) and
  decides success per expectation. Expectations with GX severity ``critical`` block
  (our ``error``), ``warning`` only warns (our ``warn``).

- **Python** (this module) turns each GX result into an :class:`Outcome` with a
  message in plain words naming the insurer, the month or the rule, and the sample
  rows. The gate verdicts go to ``quality.gate_results``; the release readiness reads
  them back for the deliveries in force.

A missing or rejected delivery is a failed gate with that reason, never a crash.
One GX context (ephemeral, progress bars off) is built per process and reused.
"""
from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import statistics
import threading
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

from orchestration.config import (
    EXPECTATIONS_DIR,
    SEEDS_DIR,
    SpiegelPaths,
    insurer_labels,
    labels_in_force,
    labels_seed_name,
    period_sort_key,
    periods,
    required_insurers,
)
from orchestration import data_docs
from orchestration.warehouse import transaction

CONTENTS = "delivery_contents"
CONTENTS_WARNINGS = "delivery_contents_warnings"   # the same frame as CONTENTS, its warnings only
COMPLETENESS = "delivery_completeness"
READINESS = "release_readiness"
SUITES = (CONTENTS, CONTENTS_WARNINGS, COMPLETENESS, READINESS)
SAMPLE_ROWS = 5
MARTS_TABLE = ("marts", "fct_insurer_monthly_sessions")

QUALITY_SCHEMA_SQL = """
create schema if not exists quality;
create table if not exists quality.gate_results (
    period varchar not null,
    insurer varchar,
    delivery_id varchar,
    suite varchar not null,
    passed boolean not null,
    evaluated_at timestamp not null,
    outcomes varchar not null,
    data_docs varchar
);
create table if not exists quality.delivery_month_profiles (
    period varchar not null,
    insurer varchar not null,
    delivery_id varchar not null,
    month varchar not null,
    claim_lines bigint not null,
    session_lines bigint not null,
    credit_lines bigint not null,
    paid_amount decimal(18, 2) not null,
    profiled_at timestamp not null
);
"""


# --------------------------------------------------------------------------- results

@dataclass
class Outcome:
    """One expectation's result."""

    expectation: str
    severity: str          # "error" (blocking) or "warn"
    success: bool
    observed: Any
    expected: str
    message: str
    sample_rows: list[dict] = field(default_factory=list)


@dataclass
class GateResult:
    suite: str
    period: str
    insurer: str | None
    delivery_id: str | None
    outcomes: list[Outcome]
    data_docs: Path | None = None
    warnings_docs: Path | None = None       # Data Docs page of the warnings suite, if the gate has one
    label_lines: list[dict] = field(default_factory=list)   # contents gate: lines per label (uzovi)

    @property
    def passed(self) -> bool:
        return not any(o.severity == "error" and not o.success for o in self.outcomes)

    @property
    def blocking_reasons(self) -> list[str]:
        return [o.message for o in self.outcomes if o.severity == "error" and not o.success]

    @property
    def warnings(self) -> list[str]:
        return [o.message for o in self.outcomes if o.severity == "warn" and not o.success]


# --------------------------------------------------------------------------- configuration

def thresholds() -> dict[str, dict[str, Any]]:
    """The tolerances (expectations/thresholds.json), read on every call: it is configuration."""
    return json.loads((EXPECTATIONS_DIR / "thresholds.json").read_text(encoding="utf-8"))


def _prestatie_codes() -> list[tuple[str, str, str]]:
    with open(SEEDS_DIR / "prestatie_codes.csv", newline="", encoding="utf-8") as f:
        return [(r["code_list"], r["prestatie_code"], r["category"]) for r in csv.DictReader(f)]


def _codes_cte() -> str:
    def q(s: str) -> str:
        return "'" + s.replace("'", "''") + "'"
    values = ", ".join(f"({q(a)}, {q(b)}, {q(c)})" for a, b, c in _prestatie_codes())
    return f"codes(code_list, prestatie_code, category) as (values {values})"


def _months(period_start: date, period_end: date) -> list[str]:
    out, y, m = [], period_start.year, period_start.month
    while (y, m) <= (period_end.year, period_end.month):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def previous_period(period: str) -> str | None:
    """The period before ``period`` in the sequence …-v1, -v2, -v3, next year -v1."""
    ordered = sorted(periods(), key=period_sort_key)
    if period in ordered:
        i = ordered.index(period)
        return ordered[i - 1] if i > 0 else None
    year, version = period_sort_key(period)
    return f"{year}-v{version - 1}" if version > 1 else f"{year - 1}-v3"


# --------------------------------------------------------------------------- warehouse helpers

def ensure_quality_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(QUALITY_SCHEMA_SQL)


def _has_table(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return bool(con.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
        [schema, table]).fetchone()[0])


def _delivery(con: duckdb.DuckDBPyConnection, period: str, insurer: str) -> dict[str, Any] | None:
    if not _has_table(con, "raw", "deliveries"):
        return None
    row = con.execute(
        "select delivery_id, status, rejection_rule, rejection_message, period_start, period_end, cutoff_date, "
        "row_count from raw.deliveries where period = ? and insurer = ? order by ingested_at desc limit 1",
        [period, insurer]).fetchone()
    if row is None:
        return None
    keys = ("delivery_id", "status", "rejection_rule", "rejection_message", "period_start", "period_end",
            "cutoff_date", "row_count")
    return dict(zip(keys, row))


def _bounds(period: str, delivery: dict[str, Any]) -> tuple[date, date, date]:
    """Treatment-date bounds from the periods seed; cutoff from the delivery (else the seed)."""
    info = periods().get(period)
    start = date.fromisoformat(info.period_start) if info else delivery["period_start"]
    end = date.fromisoformat(info.period_end) if info else delivery["period_end"]
    cutoff = delivery.get("cutoff_date") or (date.fromisoformat(info.cutoff_date) if info else end)
    return start, end, cutoff


def _unavailable(suite: str, period: str, insurer: str, delivery: dict[str, Any] | None) -> GateResult | None:
    """A failed result when there is no accepted delivery to judge (no crash)."""
    if delivery is None:
        msg = f"{insurer}: no delivery for {period} is in force in the warehouse (nothing to validate)"
        return GateResult(suite, period, insurer, None,
                          [Outcome("delivery_available", "error", False, "missing", "an accepted delivery", msg)])
    if delivery["status"] != "accepted":
        msg = (f"{insurer}: delivery {delivery['delivery_id']} for {period} was rejected by the delivery contract "
               f"(rule {delivery['rejection_rule']}): {_first_line(delivery['rejection_message'])}")
        return GateResult(suite, period, insurer, delivery["delivery_id"],
                          [Outcome("delivery_available", "error", False, "rejected", "an accepted delivery", msg)])
    return None


def _first_line(text: str | None, limit: int = 300) -> str:
    text = (text or "no message").strip().splitlines()[0] if text and text.strip() else "no message"
    return text if len(text) <= limit else text[:limit] + " …"


def _pct(x: float | None) -> str:
    if x is None:
        return "n/a"
    p = 100 * x
    return f"{p:.0f} %" if p >= 10 or p == 0 else f"{p:.2g} %"


def _plain(v: Any) -> Any:
    """JSON-friendly python value (numpy scalars, dates, decimals)."""
    if v is None or isinstance(v, (bool, int, str)):
        return v
    if isinstance(v, float):
        return None if v != v else v
    if isinstance(v, Decimal):
        return float(v)
    if isinstance(v, (date, datetime)):
        return v.isoformat()
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if hasattr(v, "item"):
        return _plain(v.item())
    return str(v)


# --------------------------------------------------------------------------- Great Expectations runtime

class _GxRuntime:
    """One ephemeral GX context per process: data source, suites, checkpoints and Data Docs sites."""

    def __init__(self) -> None:
        os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
        import logging

        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig

        logging.getLogger("great_expectations").setLevel(logging.ERROR)
        self.gx = gx
        self.context = gx.get_context(mode="ephemeral")
        self.context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
        self.datasource = self.context.data_sources.add_pandas("spiegel")
        self._definitions: dict[str, Any] = {}
        self._warnings_only: dict[str, bool] = {}
        self._checkpoints: dict[str, Any] = {}
        self._sites: dict[Path, str] = {}
        self.lock = threading.Lock()

    def _definition(self, suite_name: str):
        if suite_name not in self._definitions:
            gx = self.gx
            spec = json.loads((EXPECTATIONS_DIR / f"{suite_name}.json").read_text(encoding="utf-8"))
            self._warnings_only[suite_name] = all(e.get("severity") == "warning" for e in spec["expectations"])
            suite = self.context.suites.add(gx.ExpectationSuite(**spec))
            asset = self.datasource.add_dataframe_asset(f"{suite_name}_frame")
            batch = asset.add_batch_definition_whole_dataframe("whole_frame")
            self._definitions[suite_name] = self.context.validation_definitions.add(
                gx.ValidationDefinition(name=suite_name, data=batch, suite=suite))
        return self._definitions[suite_name]

    def _checkpoint(self, suite_name: str, index_column: str | None):
        if suite_name not in self._checkpoints:
            result_format: dict[str, Any] = {"result_format": "COMPLETE"}
            if index_column:
                result_format["unexpected_index_column_names"] = [index_column]
            self._checkpoints[suite_name] = self.context.checkpoints.add(self.gx.Checkpoint(
                name=f"{suite_name}_checkpoint", validation_definitions=[self._definition(suite_name)],
                actions=[], result_format=result_format))
        return self._checkpoints[suite_name]

    def _site(self, docs_dir: Path) -> str:
        docs_dir = docs_dir.resolve()
        if docs_dir not in self._sites:
            name = "spiegel_" + hashlib.sha1(str(docs_dir).encode()).hexdigest()[:10]
            self.context.add_data_docs_site(site_name=name, site_config={
                "class_name": "SiteBuilder",
                "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir)},
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            })
            self._sites[docs_dir] = name
        return self._sites[docs_dir]

    def validate(self, suite_name: str, frame, params: dict[str, Any], docs_dir: Path | None, run_name: str,
                 index_column: str | None = None):
        """Validate ``frame``; returns (validation result, Data Docs page or None)."""
        from great_expectations.core.run_identifier import RunIdentifier

        with self.lock:
            checkpoint = self._checkpoint(suite_name, index_column)
            run = checkpoint.run(batch_parameters={"dataframe": frame}, expectation_parameters=params,
                                 run_id=RunIdentifier(run_name=run_name))
            key, result = next(iter(run.run_results.items()))
            page = None
            if docs_dir is not None:
                try:
                    site = self._site(docs_dir)
                    # GX's own index lists validations with JavaScript from CDNs: data_docs writes ours
                    self.context.build_data_docs(site_names=[site], resource_identifiers=[key], build_index=False)
                    urls = self.context.get_docs_sites_urls(resource_identifier=key, site_names=[site])
                    url = urls[0]["site_url"] if urls else None
                    page = Path(url[len("file://"):]) if url and url.startswith("file://") else None
                    if page is not None:
                        data_docs.finish_page(docs_dir, page, suite_name, bool(result.success),
                                              self._warnings_only[suite_name])
                except Exception:  # Data Docs are evidence for people; a failure to render is no verdict
                    page = None
            return result, page


_RUNTIME: _GxRuntime | None = None
_RUNTIME_LOCK = threading.Lock()


def _gx() -> _GxRuntime:
    global _RUNTIME
    with _RUNTIME_LOCK:
        if _RUNTIME is None:
            _RUNTIME = _GxRuntime()
        return _RUNTIME


def _safe_name(*parts: str | None) -> str:
    return "__".join(re.sub(r"[^A-Za-z0-9_.-]", "_", p or "all") for p in parts)


@dataclass
class _Evaluated:
    name: str
    severity: str
    success: bool
    observed: Any
    expected: str
    column: str
    offending: list[Any]   # index values (month / insurer) of failing rows, for map expectations


def _evaluate(suite_name: str, frame, params: dict[str, Any], paths: SpiegelPaths, run_name: str,
              index_column: str | None = None) -> tuple[dict[str, _Evaluated], Path | None]:
    result, page = _gx().validate(suite_name, frame, params, paths.gx_docs, run_name, index_column)
    out: dict[str, _Evaluated] = {}
    for r in result.results:
        cfg = r.expectation_config
        kwargs = cfg.kwargs
        name = (cfg.meta or {}).get("name") or cfg.type
        severity = "error" if str(getattr(cfg.severity, "value", cfg.severity)) == "critical" else "warn"
        res = r.result or {}
        offending = [row.get(index_column) for row in res.get("unexpected_index_list") or []
                     if isinstance(row, dict)] if index_column else []
        observed = res.get("observed_value", res.get("unexpected_count"))
        if r.exception_info and r.exception_info.get("raised_exception"):
            observed = "error: " + str(r.exception_info.get("exception_message"))[:200]
        out[name] = _Evaluated(name, severity, bool(r.success), _plain(observed), _expected_text(kwargs, params),
                               kwargs.get("column", ""), offending)
    return out, page


def _expected_text(kwargs: dict[str, Any], params: dict[str, Any]) -> str:
    def val(v: Any) -> Any:
        return params.get(v["$PARAMETER"]) if isinstance(v, dict) and "$PARAMETER" in v else v
    lo, hi = val(kwargs.get("min_value")), val(kwargs.get("max_value"))
    if lo is not None and hi is not None:
        return f"between {lo} and {hi}"
    if lo is not None:
        return f">= {lo}"
    if hi is not None:
        return f"<= {hi}"
    if "value_set" in kwargs:
        return f"in {kwargs['value_set']}"
    return "not null"


# --------------------------------------------------------------------------- suite 1: contents

def _digits(column: str, n: int) -> str:
    """``column`` is exactly ``n`` ASCII digits: regexp_full_match(column, '[0-9]{n}'),
    three times cheaper (null stays null)."""
    return f"(strlen({column}) = {n} and ltrim({column}, '0123456789') = '')"


# name -> (SQL predicate over one claim line, SQL of the offending value, words for the message)
CONTENT_RULES: dict[str, tuple[str, str, str]] = {
    "unknown_prestatie_codes": ("category is null", "coalesce(code_list, '') || '/' || coalesce(prestatie_code, '')",
                                "a prestatie code that is not in the prestatie code seed for its code list"),
    "invalid_code_list": ("coalesce(code_list not in ('073', '074'), true)", "code_list",
                          "a code_list other than 073 or 074"),
    "malformed_practice_agb": (f"not coalesce({_digits('practice_agb', 8)}, false)", "practice_agb",
                               "a practice_agb that is not 8 digits"),
    "malformed_therapist_agb": (f"not coalesce({_digits('therapist_agb', 8)}, false)",
                                "therapist_agb", "a therapist_agb that is not 8 digits"),
    "malformed_uzovi": (f"not coalesce({_digits('uzovi', 4)}, false)", "uzovi",
                        "a uzovi that is not 4 digits"),
    "malformed_dcsph": (f"dcsph_code is not null and not {_digits('dcsph_code', 4)}", "dcsph_code",
                        "a DCSPH code that is not 4 digits"),
    "invalid_sex": ("coalesce(sex not in ('0', '1', '2', '9'), true)", "sex", "a sex other than 0, 1, 2 or 9"),
    "invalid_indication_code": ("coalesce(indication_code not in ('001', '008', '009'), true)", "indication_code",
                                "an indication_code other than 001, 008 or 009"),
    "invalid_coverage": ("coalesce(coverage not in ('BV', 'AV'), true)", "coverage", "a coverage other than BV or AV"),
    "service_date_outside_period": ("coalesce(service_date not between $period_start and $period_end, true)",
                                    "service_date", "a service_date outside the period"),
    "processed_after_cutoff": ("coalesce(processed_date > $cutoff_date, true)", "processed_date",
                               "a processed_date after the cutoff date"),
    "negative_claimed_amount": ("paid_amount >= 0 and claimed_amount < 0", "claimed_amount",
                                "a negative claimed_amount on a debit line"),
    # warnings
    "rejected_lines": ("paid_amount = 0", "paid_amount", "paid_amount 0 (rejected by the insurer)"),
    "empty_or_malformed_dcsph": (f"not coalesce({_digits('dcsph_code', 4)}, false)", "dcsph_code",
                                 "no usable DCSPH code (body region XX in the case mix)"),
    "processed_before_service": ("processed_date < service_date", "processed_date",
                                 "a processed_date before the service_date"),
}


# the label a line is paid under, for the per-label counts: malformed codes (malformed_uzovi's
# business) fall in one NULL group, so garbage cannot make many groups
LABEL_KEY_SQL = f"case when {_digits('uzovi', 4)} then uzovi end"


def _contents_scan(con, period: str, insurer: str, start: date, end: date, cutoff: date,
                   own_labels: set[str]) -> tuple[int, dict[str, int], dict[str | None, int], dict[str, list[dict]]]:
    """One scan of the delivery counts every rule's offenders per label (a GROUP BY on the
    few labels a delivery has); the first offending rows are fetched afterwards, only for the
    rules and the unrecognised labels that have any (a clean delivery of 13 million lines
    costs one cheap pass, not 17 sample collections).

    Returns (lines, offenders per rule, lines per label (None = malformed), sample rows per
    rule and per ``label:<uzovi>`` of a label not in ``own_labels``)."""
    params = {"period": period, "insurer": insurer, "period_start": start, "period_end": end,
              "cutoff_date": cutoff}
    rules = {name: pred for name, (pred, _, _) in CONTENT_RULES.items()}
    lines_sql = (f"with {_codes_cte()}, lines as (select c.*, k.category from raw.claims c left join codes k "
                 f"on c.code_list = k.code_list and c.prestatie_code = k.prestatie_code "
                 f"where c.period = $period and c.insurer = $insurer)")
    counts_sql = ", ".join(f"count_if({pred}) as {name}" for name, pred in rules.items())
    groups = con.execute(f"{lines_sql} select {LABEL_KEY_SQL} as label, count(*), {counts_sql} from lines "
                         f"group by label", params).fetchall()
    per_label = {g[0]: int(g[1]) for g in groups}
    counts = {name: sum(int(g[2 + i] or 0) for g in groups) for i, name in enumerate(rules)}
    samples: dict[str, list[dict]] = {name: [] for name in rules}
    wanted = {name: (rules[name], CONTENT_RULES[name][1]) for name, n in counts.items() if n}
    for label in sorted(lb for lb in per_label if lb is not None and lb not in own_labels):
        wanted[f"label:{label}"] = (f"uzovi = '{label}'", "uzovi")
    if wanted:
        aliases = {key: f"s{i}" for i, key in enumerate(wanted)}
        sample_sql = ", ".join(
            f"min_by({{'source_line': source_line, 'claim_id': claim_id, "
            f"'value': cast({value} as varchar)}}, source_line, {SAMPLE_ROWS}) "
            f"filter (where {pred}) as {aliases[key]}" for key, (pred, value) in wanted.items())
        sql = f"{lines_sql} select {sample_sql} from lines"
        found = con.execute(sql, {k: v for k, v in params.items() if f"${k}" in sql}).fetchone()
        samples.update({key: [_plain(s) for s in (rows or [])] for key, rows in zip(wanted, found)})
    return sum(per_label.values()), counts, per_label, samples


@dataclass
class _LabelFinding:
    """One label (uzovi) of a delivery that is not the delivering insurer's in the period."""

    uzovi: str
    lines: int
    owner: str | None            # the concern whose label it is in the period, None: no concern's
    owner_name: str | None       # the label's name in the seed
    elsewhere: str               # when the label is a concern's in other periods, which and when


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
        findings.append(_LabelFinding(uzovi, n, label.insurer_id if label else None,
                                      label.label_name if label else None, elsewhere))
    return findings


def _label_message(insurer: str, period: str, delivery_id: str, lines: int, f: _LabelFinding) -> str:
    seed = labels_seed_name()
    share = f"{f.lines} of {lines} lines ({_pct(f.lines / lines if lines else 0)})"
    if f.owner is not None:
        return (f"{insurer}: {share} in delivery {delivery_id} are paid under label {f.uzovi} "
                f"({f.owner_name or 'no name'}), which is {f.owner}'s label in {period}: a misrouted delivery, "
                f"those claims may also be in {f.owner}'s delivery and be counted twice. If label {f.uzovi} moved "
                f"from {f.owner} to {insurer}, end {f.owner}'s row and add a row for {insurer} in {seed}, "
                f"then {_rerun(period)}")
    history = f" (it is {f.elsewhere})" if f.elsewhere else ""
    return (f"{insurer}: {share} in delivery {delivery_id} are paid under label {f.uzovi}, which no concern "
            f"has in {period}{history}. If it is a label of {insurer}, add it to {seed} (uzovi {f.uzovi}, "
            f"insurer_id {insurer}, first_period {period} or earlier), then {_rerun(period)}")


def _rerun(period: str) -> str:
    return (f"run the period again with `spiegel run --period {period}`, which gates every delivery again "
            f"once the configuration has changed (or materialise the insurer's delivery partition in the UI)")


def _orphan_credits(con, period: str, insurer: str) -> tuple[int, int, list[dict]]:
    """Credit lines whose original_claim_id is not a claim_id of the same delivery."""
    credits, orphans, sample = con.execute(f"""
        with credits as (
            select source_line, claim_id, original_claim_id from raw.claims
            where period = $period and insurer = $insurer and paid_amount < 0
        ),
        originals as (
            select distinct claim_id from raw.claims
            where period = $period and insurer = $insurer
              and claim_id in (select original_claim_id from credits where original_claim_id is not null)
        )
        select (select count(*) from credits),
               count(*),
               min_by({{'source_line': source_line, 'claim_id': claim_id, 'value': original_claim_id}},
                      source_line, {SAMPLE_ROWS})
        from credits
        where original_claim_id is null or original_claim_id not in (select claim_id from originals)
    """, {"period": period, "insurer": insurer}).fetchone()
    return int(credits), int(orphans), [_plain(s) for s in (sample or [])]


def check_delivery_contents(con: duckdb.DuckDBPyConnection, period: str, insurer: str,
                            paths: SpiegelPaths) -> GateResult:
    """Suite ``delivery_contents`` on the delivery in force of (period, insurer)."""
    import pandas as pd

    ensure_quality_schema(con)
    delivery = _delivery(con, period, insurer)
    failed = _unavailable(CONTENTS, period, insurer, delivery)
    if failed:
        return failed
    start, end, cutoff = _bounds(period, delivery)
    delivery_id = delivery["delivery_id"]
    own = _own_labels(insurer, period)
    lines, counts, per_label, samples = _contents_scan(con, period, insurer, start, end, cutoff, own)
    findings = _label_findings(period, own, per_label)
    credits, orphans, orphan_sample = _orphan_credits(con, period, insurer)
    counts["orphan_credits"], samples["orphan_credits"] = orphans, orphan_sample

    frame_row: dict[str, Any] = {"lines": lines}
    for name in CONTENT_RULES:
        frame_row[name] = counts[name] / lines if lines else 0.0
    frame_row["orphan_credits"] = orphans
    frame_row["foreign_label_lines"] = sum(f.lines for f in findings if f.owner is not None)
    frame_row["unknown_label_lines"] = sum(f.lines for f in findings if f.owner is None)
    params = thresholds()[CONTENTS]
    frame = pd.DataFrame([frame_row])
    run_name = _safe_name(period, insurer, delivery_id)
    evaluated, page = _evaluate(CONTENTS, frame, params, paths, run_name)
    warned, warnings_page = _evaluate(CONTENTS_WARNINGS, frame, params, paths, run_name)
    evaluated.update(warned)

    outcomes = []
    for name, ev in evaluated.items():
        if name in ("foreign_label_lines", "unknown_label_lines"):
            mine = [f for f in findings if (f.owner is not None) == (name == "foreign_label_lines")]
            if ev.success or not mine:
                what = "labels of another concern" if name == "foreign_label_lines" else "labels no concern has"
                listed = ", ".join(f"{f.uzovi}: {f.lines}" for f in mine)
                if not ev.success:
                    message = (f"{insurer}: {name} failed (observed {ev.observed}, expected {ev.expected}) in "
                               f"delivery {delivery_id}")
                elif mine:          # only when thresholds.json allows some lines
                    limit = ev.expected.replace("<= ", "")
                    limit = f"{float(limit):g}" if _is_number(limit) else limit
                    message = (f"{insurer}: lines under {what} in {period} within the tolerance of "
                               f"{limit} lines ({listed}) in delivery {delivery_id}")
                else:
                    message = (f"{insurer}: no lines under {what} in {period} (own labels: "
                               f"{', '.join(sorted(own)) or 'none'}) in delivery {delivery_id}")
                outcomes.append(Outcome(name, ev.severity, ev.success, ev.observed, ev.expected, message))
                continue
            for f in mine:      # one blocking reason per label, each naming it
                outcomes.append(Outcome(name, ev.severity, False,
                                        {"label": f.uzovi, "lines": f.lines, "insurer": f.owner},
                                        ev.expected, _label_message(insurer, period, delivery_id, lines, f),
                                        samples.get(f"label:{f.uzovi}", [])))
            continue
        n = counts.get(name, 0)
        if name == "orphan_credits":
            words = (f"{n} of {credits} credit lines are orphans (their original_claim_id is not a claim_id of "
                     f"this delivery; they are ignored by the method)")
        else:
            what = CONTENT_RULES[name][2]
            if name == "service_date_outside_period":
                what += f" {start}–{end}"
            elif name == "processed_after_cutoff":
                what += f" {cutoff}"
            words = f"{_pct(frame_row.get(name))} of lines ({n} of {lines}) have {what}"
        limit = ev.expected.replace("<= ", "")
        tolerance = (f"tolerance {float(limit):g} lines" if name == "orphan_credits"
                     else f"tolerance {_pct(float(limit))}" if _is_number(limit) else f"expected {ev.expected}")
        message = f"{insurer}: {words} ({tolerance}) in delivery {delivery_id}"
        outcomes.append(Outcome(name, ev.severity, ev.success, ev.observed, ev.expected, message,
                                samples.get(name, []) if n else []))
    in_force = labels_in_force(period)
    label_lines = []
    for uzovi, n in sorted(per_label.items(), key=lambda kv: (kv[0] is None, kv[0] or "")):
        label = in_force.get(uzovi) if uzovi else None
        status = ("not 4 digits" if uzovi is None else f"{insurer}'s" if uzovi in own
                  else f"{label.insurer_id}'s: misrouted" if label else "no concern's")
        label_lines.append({"uzovi": uzovi or "(malformed)", "label_name": label.label_name if label else "",
                            "lines": n, "share": n / lines if lines else 0.0, "label_of": status})
    return GateResult(CONTENTS, period, insurer, delivery_id, outcomes, page, warnings_page, label_lines)


def _is_number(s: str) -> bool:
    try:
        float(s)
        return True
    except ValueError:
        return False


# --------------------------------------------------------------------------- suite 2: completeness

def profile_delivery(con: duckdb.DuckDBPyConnection, period: str, insurer: str, delivery_id: str,
                     start: date, end: date) -> list[dict[str, Any]]:
    """Monthly profile of a delivery (one scan), stored idempotently in quality.delivery_month_profiles."""
    ensure_quality_schema(con)
    rows = con.execute(f"""
        with {_codes_cte()}
        select strftime(c.service_date, '%Y-%m') as month,
               count(*) as claim_lines,
               count_if(k.category = 'session' and c.paid_amount > 0) as session_lines,
               count_if(c.paid_amount < 0) as credit_lines,
               coalesce(sum(c.paid_amount), 0) as paid_amount
        from raw.claims c
        left join codes k on c.code_list = k.code_list and c.prestatie_code = k.prestatie_code
        where c.period = $period and c.insurer = $insurer and c.service_date between $start and $end
        group by 1
    """, {"period": period, "insurer": insurer, "start": start, "end": end}).fetchall()
    by_month = {r[0]: r for r in rows}
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    profile = []
    for month in _months(start, end):
        r = by_month.get(month)
        profile.append({"month": month, "claim_lines": int(r[1]) if r else 0, "session_lines": int(r[2]) if r else 0,
                        "credit_lines": int(r[3]) if r else 0, "paid_amount": r[4] if r else Decimal("0.00")})
    with transaction(con):
        con.execute("delete from quality.delivery_month_profiles where period = ? and insurer = ? and delivery_id = ?",
                    [period, insurer, delivery_id])
        con.executemany(
            "insert into quality.delivery_month_profiles values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [[period, insurer, delivery_id, p["month"], p["claim_lines"], p["session_lines"], p["credit_lines"],
              p["paid_amount"], now] for p in profile])
    return profile


def previous_delivery(con: duckdb.DuckDBPyConnection, period: str, insurer: str,
                      delivery_id: str) -> tuple[str, str] | None:
    """The newest earlier profiled delivery of the insurer: the same period (an earlier
    delivery_id), else the newest of an earlier version of the same year."""
    year, version = period_sort_key(period)
    rows = con.execute("select distinct period, delivery_id from quality.delivery_month_profiles "
                       "where insurer = ? and period like ?", [insurer, f"{year}-v%"]).fetchall()
    candidates = [(p, d) for p, d in rows
                  if (p == period and d < delivery_id) or (period_sort_key(p)[0] == year
                                                          and period_sort_key(p)[1] < version)]
    if not candidates:
        return None
    return max(candidates, key=lambda pd_: (period_sort_key(pd_[0]), pd_[1]))


def check_delivery_completeness(con: duckdb.DuckDBPyConnection, period: str, insurer: str,
                                paths: SpiegelPaths) -> GateResult:
    """Suite ``delivery_completeness``: no month missing or under-delivered."""
    import pandas as pd

    ensure_quality_schema(con)
    delivery = _delivery(con, period, insurer)
    failed = _unavailable(COMPLETENESS, period, insurer, delivery)
    if failed:
        return failed
    delivery_id = delivery["delivery_id"]
    start, end, _ = _bounds(period, delivery)
    profile = profile_delivery(con, period, insurer, delivery_id, start, end)
    median = statistics.median(p["claim_lines"] for p in profile) if profile else 0
    previous = previous_delivery(con, period, insurer, delivery_id)
    prev_lines: dict[str, int] = {}
    if previous:
        prev_lines = dict(con.execute(
            "select month, claim_lines from quality.delivery_month_profiles where period = ? and insurer = ? "
            "and delivery_id = ?", [previous[0], insurer, previous[1]]).fetchall())
    records = []
    for p in profile:
        n, before = p["claim_lines"], prev_lines.get(p["month"])
        records.append({
            "month": p["month"], "claim_lines": n, "session_lines": p["session_lines"],
            "ratio_to_median": (n / median) if (n > 0 and median > 0) else None,
            "previous_claim_lines": before,
            "ratio_to_previous": (n / before) if (n > 0 and before) else None,
        })
    frame = pd.DataFrame(records).astype({"ratio_to_median": "float64", "ratio_to_previous": "float64",
                                          "previous_claim_lines": "float64"})
    params = thresholds()[COMPLETENESS]
    evaluated, page = _evaluate(COMPLETENESS, frame, params, paths, _safe_name(period, insurer, delivery_id),
                                index_column="month")
    by_month = {r["month"]: r for r in records}
    outcomes = []
    for name, ev in evaluated.items():
        bad = [by_month[m] for m in ev.offending if m in by_month]
        if name == "months_delivered":
            parts = [f"{r['month']} has {r['claim_lines']} claim lines (the insurer's median month has "
                     f"{median:g}): the month is missing" for r in bad]
        elif name == "month_volume_vs_median":
            parts = [f"{r['month']} has {_pct(r['ratio_to_median'])} of the insurer's median monthly claim lines "
                     f"({r['claim_lines']} of {median:g}; minimum {_pct(params['min_ratio_to_median_month'])}): "
                     f"the month is under-delivered" for r in bad]
        else:
            parts = [f"{r['month']} has {_pct(r['ratio_to_previous'])} of the claim lines of the previous delivery "
                     f"{previous[1]} for {previous[0]} ({r['claim_lines']} vs {r['previous_claim_lines']:g}; minimum "
                     f"{_pct(params['min_ratio_to_previous_delivery'])}): a cumulative extract should not shrink"
                     for r in bad] if previous else []
        if parts:
            message = f"{insurer}: " + "; ".join(parts) + f" (delivery {delivery_id})"
        elif name == "month_volume_vs_previous_delivery" and not previous:
            message = f"{insurer}: no previous delivery of {period[:4]} to compare with (first delivery of the year)"
        elif not ev.success:
            message = f"{insurer}: {name} failed (observed {ev.observed}, expected {ev.expected}) in delivery {delivery_id}"
        else:
            message = f"{insurer}: {name} ok for every month of {period} (delivery {delivery_id})"
        observed = ev.offending if ev.offending else ev.observed
        outcomes.append(Outcome(name, ev.severity, ev.success, observed, ev.expected, message,
                                [_plain(r) for r in bad][:SAMPLE_ROWS]))
    return GateResult(COMPLETENESS, period, insurer, delivery_id, outcomes, page)


# --------------------------------------------------------------------------- gate log

def record_gate_result(con: duckdb.DuckDBPyConnection, result: GateResult) -> None:
    """Append ``result`` to quality.gate_results."""
    ensure_quality_schema(con)
    outcomes = json.dumps([_plain(asdict(o)) for o in result.outcomes], ensure_ascii=False)
    con.execute("insert into quality.gate_results values (?, ?, ?, ?, ?, ?, ?, ?)",
                [result.period, result.insurer, result.delivery_id, result.suite, result.passed,
                 datetime.now(timezone.utc).replace(tzinfo=None), outcomes,
                 str(result.data_docs) if result.data_docs else None])


def _result_from_row(row) -> GateResult:
    period, insurer, delivery_id, suite, _passed, _at, outcomes, docs = row
    return GateResult(suite, period, insurer, delivery_id,
                      [Outcome(**o) for o in json.loads(outcomes)], Path(docs) if docs else None)


def latest_gate_results(con: duckdb.DuckDBPyConnection, period: str) -> list[GateResult]:
    """Newest result per (insurer, suite) for the period's deliveries in force (and the
    period's newest readiness result). Works on a read-only connection."""
    if not _has_table(con, "quality", "gate_results"):
        return []
    has_deliveries = _has_table(con, "raw", "deliveries")
    in_force = ("exists (select 1 from raw.deliveries d where d.period = g.period and d.insurer = g.insurer "
                "and d.delivery_id = g.delivery_id)") if has_deliveries else "false"
    rows = con.execute(f"""
        select period, insurer, delivery_id, suite, passed, evaluated_at, outcomes, data_docs
        from quality.gate_results g
        where period = ? and ((insurer is null and suite = '{READINESS}') or {in_force})
        qualify row_number() over (partition by insurer, suite order by evaluated_at desc) = 1
        order by insurer nulls last, suite
    """, [period]).fetchall()
    return [_result_from_row(r) for r in rows]


def _latest_delivery_gates(con, period: str, insurer: str, delivery_id: str) -> dict[str, GateResult]:
    if not _has_table(con, "quality", "gate_results"):
        return {}
    rows = con.execute("""
        select period, insurer, delivery_id, suite, passed, evaluated_at, outcomes, data_docs
        from quality.gate_results where period = ? and insurer = ? and delivery_id = ?
        qualify row_number() over (partition by suite order by evaluated_at desc) = 1
    """, [period, insurer, delivery_id]).fetchall()
    return {r[3]: _result_from_row(r) for r in rows}


# --------------------------------------------------------------------------- suite 3: release readiness

def _national_sessions(con, period: str) -> dict[str, int]:
    rows = con.execute(f"select insurer_id, sum(counted_sessions) from {'.'.join(MARTS_TABLE)} "
                       "where period = ? group by insurer_id", [period]).fetchall()
    return {r[0]: int(r[1] or 0) for r in rows}


def check_release_readiness(con: duckdb.DuckDBPyConnection, period: str, paths: SpiegelPaths) -> GateResult:
    """Suite ``release_readiness`` over all required insurers of ``period``."""
    import pandas as pd

    ensure_quality_schema(con)
    cfg = thresholds()[READINESS]
    max_rel, max_abs = float(cfg["share_shift_max_relative_change"]), float(cfg["share_shift_max_absolute_points"])
    required = required_insurers(period)
    rows: dict[str, dict[str, Any]] = {}
    gate_reasons: dict[tuple[str, str], str] = {}
    gate_warnings: list[tuple[str, str]] = []
    for insurer in required:
        d = _delivery(con, period, insurer)
        row = {"insurer": insurer, "delivery_id": d["delivery_id"] if d else None,
               "status": d["status"] if d else None, "contents_gate": None, "completeness_gate": None,
               "share_previous": None, "share_current": None, "share_shift_implausible": None}
        if d and d["status"] == "accepted":
            gates = _latest_delivery_gates(con, period, insurer, d["delivery_id"])
            for suite, column in ((CONTENTS, "contents_gate"), (COMPLETENESS, "completeness_gate")):
                g = gates.get(suite)
                row[column] = "not run" if g is None else "passed" if g.passed else "failed"
                if g is not None and not g.passed:
                    gate_reasons[(insurer, suite)] = " | ".join(
                        r.removeprefix(f"{insurer}: ") for r in g.blocking_reasons)
                if g is not None:
                    gate_warnings.extend((suite, w) for w in g.warnings)
        rows[insurer] = row

    # market share against the previous period (marts), over insurers comparable in both periods
    share_note = ""
    prev = previous_period(period)
    if not _has_table(con, *MARTS_TABLE):
        share_note = f"skipped: {'.'.join(MARTS_TABLE)} does not exist yet (the method has not run)"
    elif prev is None:
        share_note = f"skipped: {period} has no previous period"
    else:
        current, before = _national_sessions(con, period), _national_sessions(con, prev)
        if not any(before.values()):
            share_note = f"skipped: no counted sessions of the previous period {prev} in {'.'.join(MARTS_TABLE)}"
        else:
            blocked = {i for i, r in rows.items() if r["status"] != "accepted"
                       or r["contents_gate"] != "passed" or r["completeness_gate"] != "passed"}
            comparable = sorted(i for i in required if current.get(i, 0) > 0 and before.get(i, 0) > 0
                                and i not in blocked)
            if len(comparable) < 2:
                share_note = (f"skipped: fewer than two insurers with valid deliveries and counted sessions in "
                              f"both {prev} and {period}")
            else:
                tot_now = sum(current[i] for i in comparable)
                tot_before = sum(before[i] for i in comparable)
                for i in comparable:
                    s_now, s_before = current[i] / tot_now, before[i] / tot_before
                    rel = abs(s_now - s_before) / s_before
                    points = 100 * abs(s_now - s_before)
                    rows[i].update(share_previous=s_before, share_current=s_now,
                                   share_shift_implausible=bool(rel > max_rel and points > max_abs))
                excluded = sorted(set(required) - set(comparable))
                share_note = (f"shares of national counted sessions among {len(comparable)} insurers, {prev} → "
                              f"{period}" + (f" (not compared: {', '.join(excluded)})" if excluded else ""))

    frame = pd.DataFrame(list(rows.values()))
    frame = frame.astype({c: "object" for c in ("delivery_id", "status", "contents_gate", "completeness_gate",
                                                "share_shift_implausible")})
    frame = frame.astype({"share_previous": "float64", "share_current": "float64"})
    evaluated, page = _evaluate(READINESS, frame, {}, paths, _safe_name(period, "all", None),
                                index_column="insurer")
    outcomes = []
    for name, ev in evaluated.items():
        parts: list[str] = []
        samples: list[dict] = []
        for insurer in ev.offending:
            r = rows.get(insurer)
            if r is None:
                continue
            d = _delivery(con, period, insurer) if name == "delivery_accepted" else None
            if name == "delivery_present":
                parts.append(f"{insurer}: no delivery for {period} (the insurer is required for this period)")
            elif name == "delivery_accepted" and d:
                parts.append(f"{insurer}: delivery {d['delivery_id']} for {period} was rejected by the delivery "
                             f"contract (rule {d['rejection_rule']}): {_first_line(d['rejection_message'])}")
            elif name in ("contents_gate_passed", "completeness_gate_passed"):
                suite = CONTENTS if name == "contents_gate_passed" else COMPLETENESS
                column = "contents_gate" if suite == CONTENTS else "completeness_gate"
                if r[column] == "not run":
                    parts.append(f"{insurer}: the {suite} gate has not run on delivery {r['delivery_id']}; run the "
                                 f"period again")
                else:
                    parts.append(f"{insurer}: delivery {r['delivery_id']} failed the {suite} gate: "
                                 f"{gate_reasons.get((insurer, suite), 'see its gate result')}")
            elif name == "market_share_shift":
                s0, s1 = r["share_previous"], r["share_current"]
                parts.append(f"{insurer}: share of national counted sessions moved from {100 * s0:.1f} % in {prev} "
                             f"to {100 * s1:.1f} % in {period} ({100 * (s1 - s0):+.1f} points, "
                             f"{100 * (s1 - s0) / s0:+.0f} %; plausible: within {max_rel:.0%} relative or "
                             f"{max_abs:g} points)")
            samples.append(_plain(r))
        expected = ev.expected
        if name == "market_share_shift":
            expected = f"relative change <= {max_rel:g} or absolute change <= {max_abs:g} points"
        if name == "market_share_shift" and ev.success:
            outcomes.append(Outcome(name, ev.severity, True, ev.observed, expected, f"{period}: {share_note}"))
            continue
        if not parts:
            message = (f"{period}: {name} ok for every required insurer" if ev.success
                       else f"{period}: {name} failed (observed {ev.observed}, expected {expected})")
            outcomes.append(Outcome(name, ev.severity, ev.success, ev.observed, expected, message))
            continue
        # one outcome per offending insurer, so every blocking reason names its insurer first
        for text, sample in zip(parts, samples):
            outcomes.append(Outcome(name, ev.severity, False, sample.get("insurer"), expected, text, [sample]))
    # the delivery gates' warnings travel with the period's verdict (never blocking)
    for suite, text in gate_warnings:
        outcomes.append(Outcome(f"{suite}_warning", "warn", False, None, "no warning", text))
    return GateResult(READINESS, period, None, None, outcomes, page)
