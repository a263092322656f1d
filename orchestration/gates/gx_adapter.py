"""Great Expectations behind one small interface: ``evaluate(suite, frame, params, ...)``.

One ephemeral GX context per process (progress bars off) holds the suites of
``expectations/*.json``, one pandas data source and a checkpoint per suite, and a Data
Docs site per docs folder. ``evaluate`` validates a small frame and turns GX's result
into plain :class:`Evaluated` values the suites write their messages from.

Data Docs: a validation's page is written by GX's site builder and then made readable
offline (``orchestration.data_docs``). Building costs a fixed amount per build (the site
builder, GX's static files, our index over every page), so inside ``data_docs_once()``
(an ingestion step: both delivery gates, three validations) the pages are built together,
once, when the block ends; outside it each validation builds its own page at once.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from orchestration.core.settings import EXPECTATIONS_DIR, SpiegelPaths
from orchestration.gates import data_docs
from orchestration.gates.common import plain
from orchestration.gates.log import GateResult


def _main_is_not_a_doctest() -> None:
    """pyspark (which GX imports whenever it is installed) takes a process whose ``__main__``
    has neither ``__spec__`` nor ``__file__`` for its own doctest run, and ``import
    pyspark.sql.connect`` then ends it with ``sys.exit(0)``. A run the Dagster UI launches
    is such a process (the code server starts it with multiprocessing's spawn, ``python -c``),
    so every gate of a run started from the UI died with ``SystemExit: 0``. A spec named
    ``__main__`` says "not a doctest" and changes nothing else (a spawned child skips it)."""
    import importlib.machinery
    import sys

    main = sys.modules.get("__main__")
    if main is not None and getattr(main, "__spec__", None) is None and not hasattr(main, "__file__"):
        main.__spec__ = importlib.machinery.ModuleSpec("__main__", None)


class _GxRuntime:
    """One ephemeral GX context per process: data source, suites, checkpoints and Data Docs sites."""

    def __init__(self) -> None:
        os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
        _main_is_not_a_doctest()

        import great_expectations as gx

        # deferred: Great Expectations takes seconds to import; only a validation needs it
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
                gx.ValidationDefinition(name=suite_name, data=batch, suite=suite)
            )
        return self._definitions[suite_name]

    def _checkpoint(self, suite_name: str, index_column: str | None):
        if suite_name not in self._checkpoints:
            result_format: dict[str, Any] = {"result_format": "COMPLETE"}
            if index_column:
                result_format["unexpected_index_column_names"] = [index_column]
            self._checkpoints[suite_name] = self.context.checkpoints.add(
                self.gx.Checkpoint(
                    name=f"{suite_name}_checkpoint",
                    validation_definitions=[self._definition(suite_name)],
                    actions=[],
                    result_format=result_format,
                )
            )
        return self._checkpoints[suite_name]

    def _site(self, docs_dir: Path) -> str:
        docs_dir = docs_dir.resolve()
        if docs_dir not in self._sites:
            name = "spiegel_" + hashlib.sha1(str(docs_dir).encode()).hexdigest()[:10]
            self.context.add_data_docs_site(
                site_name=name,
                site_config={
                    "class_name": "SiteBuilder",
                    "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir)},
                    "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
                },
            )
            self._sites[docs_dir] = name
        return self._sites[docs_dir]

    def validate(
        self,
        suite_name: str,
        frame,
        params: dict[str, Any],
        docs_dir: Path | None,
        run_name: str,
        index_column: str | None = None,
    ):
        """Validate ``frame``; returns (validation result, Data Docs page or None). Inside
        ``data_docs_once`` the page is where it will be once the block has built it."""
        # deferred: Great Expectations takes seconds to import; only a validation needs it
        from great_expectations.core.run_identifier import RunIdentifier

        with self.lock:
            checkpoint = self._checkpoint(suite_name, index_column)
            run = checkpoint.run(
                batch_parameters={"dataframe": frame},
                expectation_parameters=params,
                run_id=RunIdentifier(run_name=run_name),
            )
            key, result = next(iter(run.run_results.items()))
            page = None
            if docs_dir is not None:
                try:
                    site = self._site(docs_dir)
                    pending = _PendingPage(
                        docs_dir, site, key, None, suite_name, bool(result.success), self._warnings_only[suite_name]
                    )
                    batch = getattr(_BATCH, "pages", None)
                    if batch is not None:
                        pending.page = self._page(pending, only_if_exists=False)
                        batch.append(pending)
                        page = pending.page
                    else:
                        page = self._build([pending])[0]
                except Exception:  # Data Docs are evidence for people; a failure to render is no verdict
                    page = None
            return result, page

    def _page(self, pending: _PendingPage, only_if_exists: bool = True) -> Path | None:
        urls = self.context.get_docs_sites_urls(
            resource_identifier=pending.key, site_names=[pending.site], only_if_exists=only_if_exists
        )
        url = urls[0]["site_url"] if urls else None
        return Path(url[len("file://") :]) if url and url.startswith("file://") else None

    def _build(self, pending: list[_PendingPage]) -> list[Path | None]:
        """Build the pages of ``pending`` (one GX build per site), make them self-contained
        and write the index once per docs folder; the pages, None where none was written."""
        pages: list[Path | None] = [None] * len(pending)
        for site in dict.fromkeys(p.site for p in pending):
            mine = [i for i, p in enumerate(pending) if p.site == site]
            try:
                # GX's own index lists validations with JavaScript from CDNs: data_docs writes ours
                self.context.build_data_docs(
                    site_names=[site], resource_identifiers=[pending[i].key for i in mine], build_index=False
                )
                for i in mine:
                    pages[i] = self._page(pending[i])
                written = [(pages[i], pending[i]) for i in mine if pages[i] is not None]
                if written:
                    data_docs.finish_pages(
                        pending[mine[0]].docs_dir, [(page, p.suite, p.success, p.warnings_only) for page, p in written]
                    )
            except Exception:  # Data Docs are evidence for people; a failure to render is no verdict
                for i in mine:
                    pages[i] = None
        return pages


@dataclass
class _PendingPage:
    docs_dir: Path
    site: str
    key: Any
    page: Path | None
    suite: str
    success: bool
    warnings_only: bool


_BATCH = threading.local()
_RUNTIME: _GxRuntime | None = None
_RUNTIME_LOCK = threading.Lock()


def _gx() -> _GxRuntime:
    global _RUNTIME
    with _RUNTIME_LOCK:
        if _RUNTIME is None:
            _RUNTIME = _GxRuntime()
        return _RUNTIME


@dataclass
class DocsBatch:
    """The pages the validations of a ``data_docs_once`` block wrote (known once it ended)."""

    built: set[Path] = field(default_factory=set)

    def settle(self, result: GateResult) -> GateResult:
        """``result`` without the pages that could not be rendered."""
        return replace(
            result,
            data_docs=result.data_docs if result.data_docs in self.built else None,
            warnings_docs=result.warnings_docs if result.warnings_docs in self.built else None,
        )


@contextmanager
def data_docs_once() -> Iterator[DocsBatch]:
    """Validations inside the block build their Data Docs pages together when it ends:
    one GX build and one index per ingestion step instead of one per validation. Pass
    each result through ``DocsBatch.settle`` before it is recorded. A nested block is
    the outer one."""
    outer = getattr(_BATCH, "current", None)
    if outer is not None:
        yield outer
        return
    batch = DocsBatch()
    _BATCH.current, _BATCH.pages = batch, []
    try:
        yield batch
    finally:
        pending, _BATCH.current, _BATCH.pages = _BATCH.pages, None, None
        if pending:
            runtime = _gx()
            with runtime.lock:
                batch.built = {p for p in runtime._build(pending) if p is not None}


@dataclass
class Evaluated:
    name: str
    severity: str
    success: bool
    observed: Any
    expected: str
    column: str
    offending: list[Any]  # index values (month / insurer) of failing rows, for map expectations


def evaluate(
    suite_name: str, frame, params: dict[str, Any], paths: SpiegelPaths, run_name: str, index_column: str | None = None
) -> tuple[dict[str, Evaluated], Path | None]:
    """Validate ``frame`` against suite ``suite_name``: each expectation's verdict by name,
    and the Data Docs page."""
    result, page = _gx().validate(suite_name, frame, params, paths.gx_docs, run_name, index_column)
    out: dict[str, Evaluated] = {}
    for r in result.results:
        cfg = r.expectation_config
        kwargs = cfg.kwargs
        name = (cfg.meta or {}).get("name") or cfg.type
        severity = "error" if str(getattr(cfg.severity, "value", cfg.severity)) == "critical" else "warn"
        res = r.result or {}
        offending = (
            [row.get(index_column) for row in res.get("unexpected_index_list") or [] if isinstance(row, dict)]
            if index_column
            else []
        )
        observed = res.get("observed_value", res.get("unexpected_count"))
        if r.exception_info and r.exception_info.get("raised_exception"):
            observed = "error: " + str(r.exception_info.get("exception_message"))[:200]
        out[name] = Evaluated(
            name,
            severity,
            bool(r.success),
            plain(observed),
            _expected_text(kwargs, params, cfg.type),
            kwargs.get("column", ""),
            offending,
        )
    return out, page


def _expected_text(kwargs: dict[str, Any], params: dict[str, Any], kind: str = "") -> str:
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
        # expect_column_values_to_not_be_in_set: the set is what must not occur
        return f"{'not in' if 'not_be_in_set' in kind else 'in'} {kwargs['value_set']}"
    return "not null"
