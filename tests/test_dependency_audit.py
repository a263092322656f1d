"""The dependency check's verdict (docs/security.md, ASVS 14.2.1): scripts/audit.sh runs pip-audit
over .venv and hands its JSON report to scripts/audit_report.py, whose verdict is tested here on
fixture reports, without the network: an allowlisted vulnerability passes until its review-by
date, an expired entry or an unknown vulnerability fails, and a report in which the service did
not answer for a dependency is no pass either."""

from __future__ import annotations

import importlib.util
import sys
from datetime import date
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("audit_report", REPO / "scripts" / "audit_report.py")
audit_report = importlib.util.module_from_spec(_spec)
sys.modules["audit_report"] = audit_report  # dataclasses look their module up
_spec.loader.exec_module(audit_report)

TODAY = date(2026, 12, 3)
ALLOWLIST = """
# reviewed entries
GHSA-aaaa-bbbb-cccc | only the admin's export uses it, and that is off | 2027-01-31
PYSEC-2026-7 | fixed release not yet on the index | 2026-11-30
"""


def report(*deps: dict) -> dict:
    return {"dependencies": [{"name": "spiegel", "skip_reason": "Dependency not found on PyPI: spiegel"}, *deps]}


def vuln(vuln_id: str, *aliases: str, fix: str = "9.9") -> dict:
    return {"id": vuln_id, "aliases": list(aliases), "fix_versions": [fix], "description": "..."}


CLEAN = {"name": "django", "version": "5.2.19", "vulns": []}


def test_a_clean_report_passes():
    result = audit_report.verdict(report(CLEAN), audit_report.parse_allowlist(ALLOWLIST), TODAY)
    assert result.code == audit_report.OK
    assert result.lines == ["no known vulnerability in 2 distributions"]


def test_an_allowlisted_vulnerability_passes_by_its_id_or_an_alias_until_its_date():
    allow = audit_report.parse_allowlist(ALLOWLIST)
    found = {"name": "openpyxl", "version": "3.1.5", "vulns": [vuln("PYSEC-2026-1", "GHSA-aaaa-bbbb-cccc")]}
    result = audit_report.verdict(report(CLEAN, found), allow, TODAY)
    assert result.code == audit_report.OK
    assert result.lines[0].startswith("allowed openpyxl 3.1.5: PYSEC-2026-1 / GHSA-aaaa-bbbb-cccc (fixed in 9.9)")
    # the review-by date itself still counts; the day after, the entry no longer applies
    assert audit_report.verdict(report(found), allow, date(2027, 1, 31)).code == audit_report.OK
    assert audit_report.verdict(report(found), allow, date(2027, 2, 1)).code == audit_report.VULNERABLE


def test_an_expired_allowlist_entry_fails():
    found = {"name": "duckdb", "version": "2.0.1", "vulns": [vuln("PYSEC-2026-7", fix="2.0.2")]}
    result = audit_report.verdict(report(CLEAN, found), audit_report.parse_allowlist(ALLOWLIST), TODAY)
    assert result.code == audit_report.VULNERABLE
    assert result.lines == [
        "VULNERABLE duckdb 2.0.1: PYSEC-2026-7 (fixed in 2.0.2): its allowlist entry expired on 2026-11-30"
    ]


def test_an_unknown_vulnerability_fails():
    found = {
        "name": "setuptools",
        "version": "65.5.0",
        "vulns": [vuln("PYSEC-2022-43012", "CVE-2022-40897", fix="65.5.1")],
    }
    result = audit_report.verdict(report(CLEAN, found), audit_report.parse_allowlist(ALLOWLIST), TODAY)
    assert result.code == audit_report.VULNERABLE
    assert result.lines == ["VULNERABLE setuptools 65.5.0: PYSEC-2022-43012 / CVE-2022-40897 (fixed in 65.5.1)"]


def test_a_dependency_the_service_did_not_answer_for_is_not_a_pass():
    # what pip-audit reports when PyPI's per-release JSON API cannot be read: every dependency
    # skipped, "No known vulnerabilities found", exit 0; the project itself is skipped anyway
    skipped = {
        "name": "django",
        "skip_reason": "Dependency not found on PyPI and could not be audited: django (5.2.19)",
    }
    result = audit_report.verdict(report(skipped), [], TODAY)
    assert result.code == audit_report.NOT_AUDITED
    assert result.lines[0].startswith("NOT AUDITED 1 of 2 distributions")
    assert audit_report.verdict(report(), [], TODAY).code == audit_report.OK  # the project alone


def test_a_malformed_allowlist_line_is_an_error_not_a_silent_skip():
    with pytest.raises(ValueError, match="line 1: expected"):
        audit_report.parse_allowlist("GHSA-aaaa-bbbb-cccc 2027-01-31 no separators")
    with pytest.raises(ValueError, match="not YYYY-MM-DD"):
        audit_report.parse_allowlist("GHSA-aaaa-bbbb-cccc | a reason | next year")


def test_the_committed_allowlist_parses():
    audit_report.parse_allowlist((REPO / "scripts" / "audit-ignore.txt").read_text(encoding="utf-8"))
