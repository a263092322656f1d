"""Great Expectations Data Docs an operator can read on a machine without internet.

GX renders its pages with bootstrap, jQuery, font-awesome, bootstrap-table and vega from
public CDNs, its logo from S3, and an index whose list of validations is filled by
JavaScript. On an operations machine without internet that reads as an empty index and
unstyled pages. So after GX writes a page (``gates.gx_adapter``) this module:

- rewrites the page to be self-contained: every ``<script>`` and every outside stylesheet,
  image and link goes; the page links one small stylesheet of our own
  (``gx_docs/static/spiegel/data_docs.css``, written here) and GX's own logo and favicon,
  which GX copies from its installed package into ``gx_docs/static/images``; the icons
  font-awesome drew are drawn by that stylesheet. The pages work with JavaScript off;
- makes a warning read as a warning: a page of a suite whose expectations are all
  warnings (``delivery_contents_warnings``) says "Passed with warnings" and marks its
  unmet expectations as warnings, never "Failed" (the blocking suite
  ``delivery_contents`` of the same delivery then reads "Succeeded": GX 1.x counts every
  unmet expectation as a failure, whatever its severity, hence the two suites);
- writes a sidecar ``<page>.status.json`` (suite, period, insurer, delivery, run time,
  status) and ``gx_docs/index.html``: every validation as a plain link with its status,
  newest first, no JavaScript.

Nothing here decides a verdict: the gates do (orchestration/gates). Pages GX wrote before this
module existed are rewritten the first time the index is built.
"""

from __future__ import annotations

import html
import json
import os
import re
from datetime import datetime
from pathlib import Path

STATIC_DIR = ("static", "spiegel")
STYLESHEET = "data_docs.css"
SIDECAR_SUFFIX = ".status.json"
STATUS_WORDS = {"succeeded": "Succeeded", "failed": "Failed", "warnings": "Passed with warnings"}

_OUTSIDE = re.compile(r"""https?://[^\s"'<>()]*""")

CSS = """/* Spiegel: the few styles Great Expectations' pages need, without any CDN (gates/data_docs.py) */
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; margin: 0;
       color: #212529; background: #fff; font-size: 15px; line-height: 1.45; }
a { color: #0b5cad; }
h1, h2, h3, h4, h5, h6, .h1, .h2, .h3, .h4, .h5, .h6 { margin: 0.6em 0 0.4em; font-weight: 600; }
.navbar { display: flex; align-items: center; padding: 6px 24px; border-bottom: 1px solid #dee2e6;
          background: #f8f9fa; }
.navbar-brand img { height: 40px !important; }
.breadcrumb { display: flex; list-style: none; margin: 0 0 0 16px; padding: 0; gap: 8px; }
.breadcrumb-item + .breadcrumb-item::before { content: "/"; padding-right: 8px; color: #6c757d; }
.container-fluid { padding: 16px 32px; }
.row { display: flex; flex-wrap: wrap; gap: 24px; }
.row > [class*="col-lg-2"] { flex: 0 0 260px; }
.row > [class*="col-lg-10"], .row > [class*="col-md-10"] { flex: 1 1 600px; min-width: 0; }
.card { border: 1px solid #dee2e6; border-radius: 4px; margin-bottom: 16px; }
.card-header { background: #f1f3f5; padding: 6px 10px; border-bottom: 1px solid #dee2e6; }
.card-body { padding: 10px; }
.card:has(.btn-group-toggle) { display: none; }          /* GX's JavaScript filter buttons */
.ge-walkthrough-modal, .modal, footer, .cta-footer { display: none !important; }
.collapse, .collapse:not(.show) { display: block !important; }
table, .table { border-collapse: collapse; width: 100%; margin: 8px 0 16px; }
th, td { border: 1px solid #dee2e6; padding: 4px 8px; vertical-align: top; text-align: left; }
thead th { background: #f1f3f5; }
.table-responsive { overflow-x: auto; }
.badge, .badge-info, .badge-secondary { display: inline-block; padding: 1px 6px; border-radius: 3px;
         background: #e9ecef; font-size: 90%; }
.text-success { color: #1e7e34; } .text-danger { color: #c82333; } .text-warning { color: #a15c00; }
.alert { padding: 8px 12px; border-radius: 4px; border: 1px solid #dee2e6; }
.alert-warning { background: #fff3cd; border-color: #ffe08a; }
.lead { font-size: 1.05em; color: #495057; }
.d-none { display: none; }
.d-md-block, .d-md-inline-flex, .d-sm-block { display: block; }
ul.nav { list-style: none; padding-left: 0; }
i.fas, i.fa { font-style: normal; }
.fa-check-circle::before, .fa-check::before { content: "\\2714\\FE0E  "; }
.fa-times::before, .fa-times-circle::before { content: "\\2718  "; }
.fa-exclamation-triangle::before { content: "\\26A0\\FE0E  "; }
.spiegel-status-succeeded { color: #1e7e34; font-weight: 600; }
.spiegel-status-failed { color: #c82333; font-weight: 600; }
.spiegel-status-warnings { color: #a15c00; font-weight: 600; }
.spiegel-note { color: #495057; max-width: 60em; }
"""


def _relative_root(docs_dir: Path, page: Path) -> str:
    depth = len(page.resolve().relative_to(docs_dir.resolve()).parts) - 1
    return "../" * depth


def ensure_static(docs_dir: Path) -> Path:
    """Our stylesheet under gx_docs/static/spiegel/ (written when missing or different)."""
    folder = docs_dir.joinpath(*STATIC_DIR)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / STYLESHEET
    if not target.exists() or target.read_text(encoding="utf-8") != CSS:
        _write_atomic(target, CSS)
    # GX copies its stylesheets next to the images on every build; one points at S3
    for sheet in docs_dir.joinpath("static", "styles").glob("*.css"):
        text = sheet.read_text(encoding="utf-8")
        if "://" in text:
            text = re.sub(r"background:\s*url\(['\"]?https?://[^)]*\)[^;]*;", "", text)
            _write_atomic(sheet, _OUTSIDE.sub(lambda m: m.group(0).split("://", 1)[1], text))
    return target


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def self_contained(text: str, root: str, warnings_only: bool = False) -> str:
    """The page ``text`` with no outside address and no script; ``root`` leads from the page to gx_docs/."""
    css = f'<link rel="stylesheet" href="{root}{"/".join(STATIC_DIR)}/{STYLESHEET}">'
    text = re.sub(r"<script\b[^>]*>.*?</script\s*>", "", text, flags=re.S | re.I)
    text = re.sub(r"<link\b[^>]*\bhref=[\"']https?://[^>]*>", "", text, flags=re.I)
    text = re.sub(
        r"<link\b[^>]*\brel=[\"']shortcut icon[\"'][^>]*>",
        f'<link rel="icon" href="{root}static/images/favicon.ico">',
        text,
        flags=re.I,
    )
    text = text.replace("</head>", f"    {css}\n  </head>", 1)
    # GX's logo from S3 -> the copy GX ships in its package (static/images/logo-long.png)
    text = re.sub(
        r"""src=["']https?://[^"']*logo-long\.png[^"']*["']""", f'src="{root}static/images/logo-long.png"', text
    )
    text = re.sub(r"background:\s*url\(['\"]?https?://[^)]*\)[^;]*;", "", text)
    # links out become their text; SVG namespaces are implied in HTML
    text = re.sub(r"""<a\b[^>]*\bhref=["']https?://[^"']*["'][^>]*>(.*?)</a>""", r"\1", text, flags=re.S | re.I)
    text = re.sub(r"""\s+xmlns(:\w+)?=["']http://www\.w3\.org/[^"']*["']""", "", text)
    text = re.sub(r"""\s+(src|href)=["']https?://[^"']*["']""", "", text)
    # GX links the suite's own page, which is never built here (only validations are)
    text = re.sub(r"""<a href="[^"]*expectations/[^"]*\.html"\s*>(.*?)</a>""", r"\1", text, flags=re.S)
    text = _OUTSIDE.sub(lambda m: m.group(0).split("://", 1)[1], text)  # left in plain text: no address
    if warnings_only:
        text = re.sub(
            r"""<i class="fas fa-times text-danger"[^>]*></i>\s*Failed""",
            '<i class="fas fa-exclamation-triangle text-warning" aria-hidden="true"></i> '
            '<span class="spiegel-status-warnings">Passed with warnings</span>',
            text,
        )
        text = text.replace("fas fa-times text-danger", "fas fa-exclamation-triangle text-warning")
        text = text.replace(
            "<h4>Expectation Validation Result</h4>",
            '<h4>Expectation Validation Result</h4>\n      <p class="alert alert-warning">'
            "Every expectation of this suite is a warning: an unmet one is reported, it never "
            "blocks the release.</p>",
            1,
        )
    return text


def page_status(success: bool, warnings_only: bool) -> str:
    return "succeeded" if success else "warnings" if warnings_only else "failed"


def finish_pages(docs_dir: Path, pages: list[tuple[Path, str, bool, bool]]) -> None:
    """Make the pages one GX build has just written, (page, suite, success, warnings only)
    each, self-contained, record their status and rebuild the index (once)."""
    ensure_static(docs_dir)
    for page, suite, success, warnings_only in pages:
        _finish(docs_dir, page, suite, page_status(success, warnings_only), warnings_only)
    write_index(docs_dir)


def _finish(docs_dir: Path, page: Path, suite: str, status: str, warnings_only: bool) -> dict:
    text = page.read_text(encoding="utf-8")
    _write_atomic(page, self_contained(text, _relative_root(docs_dir, page), warnings_only))
    info = _describe(docs_dir, page, suite, status)
    _write_atomic(page.with_name(page.name + SIDECAR_SUFFIX), json.dumps(info, indent=1) + "\n")
    return info


def _describe(docs_dir: Path, page: Path, suite: str, status: str) -> dict:
    """validations/<suite>/<period>__<insurer>__<delivery>/<run time>/<batch>.html -> its fields."""
    parts = page.resolve().relative_to(docs_dir.resolve()).parts
    run_name = parts[2] if len(parts) > 3 else ""
    run_time = parts[3] if len(parts) > 3 else ""
    period, insurer, delivery = (run_name.split("__") + ["", "", ""])[:3]
    return {
        "suite": suite,
        "period": period,
        "insurer": "" if insurer == "all" else insurer,
        "delivery_id": "" if delivery == "all" else delivery,
        "run_time": run_time,
        "status": status,
        "page": "/".join(parts),
    }


def _status_from_page(text: str) -> str:
    m = re.search(r"Status:</span>(.*?)(<br|</)", text, flags=re.S)
    words = m.group(1) if m else ""
    return "succeeded" if "Succeeded" in words else "warnings" if "warnings" in words else "failed"


def _adopt_old_pages(docs_dir: Path) -> None:
    """Pages written before this module (no sidecar): rewrite them once."""
    validations = docs_dir / "validations"
    if not validations.is_dir():
        return
    for page in validations.rglob("*.html"):
        if page.with_name(page.name + SIDECAR_SUFFIX).exists():
            continue
        suite = page.relative_to(validations).parts[0]
        warnings_only = suite.endswith("_warnings")
        text = page.read_text(encoding="utf-8")
        status = _status_from_page(text)
        if warnings_only and status == "failed":
            status = "warnings"
        _finish(docs_dir, page, suite, status, warnings_only)


def write_index(docs_dir: Path) -> Path:
    """gx_docs/index.html: every validation with its status, as plain links (no JavaScript)."""
    ensure_static(docs_dir)
    _adopt_old_pages(docs_dir)
    entries = []
    for sidecar in (
        (docs_dir / "validations").rglob("*" + SIDECAR_SUFFIX) if (docs_dir / "validations").is_dir() else []
    ):
        try:
            entries.append(json.loads(sidecar.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            continue
    entries.sort(key=lambda e: (e["period"], e["run_time"], e["insurer"], e["suite"]), reverse=True)
    rows = []
    for e in entries:
        rows.append(
            "<tr>"
            + "".join(f"<td>{html.escape(str(e[k]))}</td>" for k in ("period", "insurer", "delivery_id"))
            + f'<td><a href="{html.escape(e["page"])}">{html.escape(e["suite"])}</a></td>'
            + f"<td>{html.escape(_when(e['run_time']))}</td>"
            + f'<td class="spiegel-status-{e["status"]}">{STATUS_WORDS.get(e["status"], e["status"])}</td></tr>'
        )
    body = "\n".join(rows) or '<tr><td colspan="6">No validations yet.</td></tr>'
    page = f"""<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="UTF-8">
    <title>Spiegel: Great Expectations Data Docs</title>
    <link rel="stylesheet" href="{"/".join(STATIC_DIR)}/{STYLESHEET}">
    <link rel="icon" href="static/images/favicon.ico">
  </head>
  <body>
    <nav class="navbar"><img src="static/images/logo-long.png" alt="Great Expectations" style="height: 40px"></nav>
    <div class="container-fluid">
      <h2>Validations</h2>
      <p class="spiegel-note">Every gate run of the Spiegel platform on this data directory, newest first.
      <em>Succeeded</em>: every expectation met. <em>Failed</em>: a blocking expectation is not met (the
      period's release is blocked). <em>Passed with warnings</em>: only warnings, which never block
      (suite delivery_contents_warnings). {len(entries)} validation(s).</p>
      <table>
        <thead><tr><th>period</th><th>insurer</th><th>delivery</th><th>suite</th><th>validated (UTC)</th>
        <th>status</th></tr></thead>
        <tbody>
{body}
        </tbody>
      </table>
    </div>
  </body>
</html>
"""
    target = docs_dir / "index.html"
    _write_atomic(target, page)
    return target


def _when(run_time: str) -> str:
    try:
        return datetime.strptime(run_time, "%Y%m%dT%H%M%S.%fZ").strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        return run_time
