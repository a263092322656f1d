"""The verdict on a pip-audit report (docs/security.md, ASVS 14.2.1), for scripts/audit.sh.

    python scripts/audit_report.py probe                       # can the service be reached?
    python scripts/audit_report.py verdict REPORT.json ALLOWLIST [--project NAME]

``verdict`` reads pip-audit's JSON report (``--format json``) and the allowlist, prints one line
per finding and exits 0 (nothing known), 1 (a known vulnerability that no current allowlist entry
covers) or 2 (a dependency could not be audited: the service did not answer for it, so the
report proves nothing about it). ``probe`` asks PyPI's JSON API for one release as pip-audit does
(``/pypi/NAME/VERSION/json``) and exits 2 with one line when that fails.

The allowlist (scripts/audit-ignore.txt) has one entry a line, ``#`` comments and blank lines
aside::

    VULNERABILITY-ID | reason | REVIEW-BY (YYYY-MM-DD)

An entry covers the vulnerability with that id or alias (PYSEC-, GHSA-, CVE-) up to and including
its review-by date; after that it no longer applies, and the vulnerability fails the audit again
until someone reviews it and sets a new date.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import date
from pathlib import Path

OK, VULNERABLE, NOT_AUDITED = 0, 1, 2
PROBE_URL = "https://pypi.org/pypi/{name}/{version}/json"


@dataclass(frozen=True)
class Entry:
    vuln_id: str
    reason: str
    review_by: date


@dataclass(frozen=True)
class Verdict:
    code: int  # OK, VULNERABLE or NOT_AUDITED
    lines: list[str]


def parse_allowlist(text: str) -> list[Entry]:
    """The entries of an allowlist file; a malformed line is an error, not a silent skip."""
    entries = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = [part.strip() for part in line.split("|")]
        if len(parts) != 3 or not parts[0] or not parts[1]:
            raise ValueError(f"allowlist line {number}: expected 'ID | reason | YYYY-MM-DD', got {raw!r}")
        try:
            review_by = date.fromisoformat(parts[2])
        except ValueError:
            raise ValueError(f"allowlist line {number}: review-by date {parts[2]!r} is not YYYY-MM-DD") from None
        entries.append(Entry(parts[0].upper(), parts[1], review_by))
    return entries


def verdict(report: dict, allowlist: list[Entry], today: date, project: str = "spiegel") -> Verdict:
    """What the report means: every dependency audited (the project itself aside, which is not on
    PyPI), and every vulnerability found covered by an allowlist entry whose date has not passed."""
    by_id = {entry.vuln_id: entry for entry in allowlist}
    lines: list[str] = []
    vulnerable = False
    not_audited = []
    audited = 0
    dependencies = report.get("dependencies", [])
    for dep in dependencies:
        name, version = dep.get("name", "?"), dep.get("version", "?")
        if "skip_reason" in dep:
            if name.lower() != project.lower():
                not_audited.append(f"{name}: {dep['skip_reason']}")
            continue
        audited += 1
        for vuln in dep.get("vulns", []):
            ids = [vuln["id"], *vuln.get("aliases", [])]
            fix = ", ".join(vuln.get("fix_versions", [])) or "no fixed release"
            entry = next((by_id[i.upper()] for i in ids if i.upper() in by_id), None)
            label = f"{name} {version}: {' / '.join(ids)} (fixed in {fix})"
            if entry is None:
                vulnerable = True
                lines.append(f"VULNERABLE {label}")
            elif today > entry.review_by:
                vulnerable = True
                lines.append(f"VULNERABLE {label}: its allowlist entry expired on {entry.review_by.isoformat()}")
            else:
                lines.append(f"allowed {label} until {entry.review_by.isoformat()}: {entry.reason}")
    if not_audited:
        lines.insert(
            0,
            f"NOT AUDITED {len(not_audited)} of {len(dependencies)} distributions "
            f"(the vulnerability service did not answer for them; {audited} audited), "
            f"first: {not_audited[0]}",
        )
    if vulnerable:
        return Verdict(VULNERABLE, lines)
    if not_audited:
        return Verdict(NOT_AUDITED, lines)
    lines.append(f"no known vulnerability in {len(dependencies)} distributions")
    return Verdict(OK, lines)


def probe(name: str = "pip", version: str | None = None, timeout: float = 15) -> str | None:
    """None when PyPI's per-release JSON API answers, else the one-line reason it does not."""
    if version is None:
        from importlib.metadata import version as installed

        version = installed(name)
    url = PROBE_URL.format(name=name, version=version)
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            json.load(response)
        return None
    except urllib.error.HTTPError as exc:
        return f"{url} answered HTTP {exc.code}"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return f"{url} could not be read ({getattr(exc, 'reason', exc)})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("probe")
    check = sub.add_parser("verdict")
    check.add_argument("report", type=Path)
    check.add_argument("allowlist", type=Path)
    check.add_argument("--project", default="spiegel")
    args = parser.parse_args(argv)
    if args.command == "probe":
        reason = probe()
        if reason:
            print(f"audit: FAILED: the vulnerability service (PyPI's JSON API) cannot be reached: {reason}")
            return NOT_AUDITED
        return OK
    allowlist = parse_allowlist(args.allowlist.read_text(encoding="utf-8")) if args.allowlist.exists() else []
    result = verdict(json.loads(args.report.read_text(encoding="utf-8")), allowlist, date.today(), args.project)
    for line in result.lines:
        print(f"audit: {line}")
    return result.code


if __name__ == "__main__":
    sys.exit(main())
