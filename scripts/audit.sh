#!/usr/bin/env bash
# The dependency check (docs/security.md, ASVS 14.2.1): pip-audit over every distribution installed
# in .venv, against PyPI's vulnerability data (its JSON API per release: the one vulnerability
# service a machine of this project reaches; OSV's API is not reachable here). scripts/lint.sh runs
# it. Exit 0: no known vulnerability; 1: a known vulnerability not covered by a current entry of
# scripts/audit-ignore.txt (the entry's reason and review-by date beside it); 2: the service could
# not be reached, or did not answer for some distribution: nothing is passed on a report that
# proves nothing. The verdict is scripts/audit_report.py's (tested in tests/test_dependency_audit.py).
#
#   bash scripts/audit.sh
set -uo pipefail
cd "$(dirname "$0")/.."
bin=.venv/bin
echo "audit: pip-audit over .venv (vulnerability service: PyPI)"
# one request first: a service that cannot be reached says so at once, in one line
"$bin/python" scripts/audit_report.py probe || exit 2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
timeout 120 "$bin/pip-audit" --vulnerability-service pypi --format json --output "$work/report.json" \
  --progress-spinner off --timeout 15 2>"$work/stderr"
rc=$?
if [ ! -s "$work/report.json" ]; then
  echo "audit: FAILED: pip-audit wrote no report (exit $rc): $(tail -n 1 "$work/stderr")"
  exit 2
fi
"$bin/python" scripts/audit_report.py verdict "$work/report.json" scripts/audit-ignore.txt --project spiegel
