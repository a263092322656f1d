"""Spiegelinformatie: the practices' reports (HTML + PDF) and the national overview.

render_release_reports(release_dir, warehouse, releases_root, practices=None, pdf=True, workers=2,
                       progress=None) -> ReportSummary
render_national_overview(release_dir, warehouse, releases_root, out_dir) -> Path
"""

from reports.browser import ChromiumMissing
from reports.render import ReportSummary, render_national_overview, render_release_reports

__all__ = ["ChromiumMissing", "ReportSummary", "render_national_overview", "render_release_reports"]
