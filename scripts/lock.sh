#!/usr/bin/env bash
# Write requirements.lock: every distribution the set-up installs, pinned to one version with the
# sha256 of the file pip chose (ASVS 14.1.1: two set-ups install the same bytes, and a file that
# changed on the index is refused). pyproject.toml keeps the ranges; this resolves them once.
#
#   bash scripts/lock.sh        # after changing a range in pyproject.toml, then commit the lock
#
# The lock is for the platform the project runs on (CPython 3.11, Linux x86_64); pip resolves it
# with the same indexes and constraints scripts/setup.sh installs from.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || { echo "lock: run scripts/setup.sh first (it makes .venv)" >&2; exit 2; }
report=$(mktemp)
trap 'rm -f "$report"' EXIT
echo "lock: resolving pyproject.toml's ranges (about 20 s)"
# pip and setuptools are locked too: the set-up installs them from the lock like everything else
.venv/bin/python -m pip install -q --dry-run --ignore-installed --report "$report" \
  -e ".[test]" "setuptools>=78.1.1,<81" pip 2>/dev/null
.venv/bin/python - "$report" requirements.lock <<'PY'
import json
import sys

report, target = sys.argv[1], sys.argv[2]
lines = []
for item in json.load(open(report, encoding="utf-8"))["install"]:
    name, version = item["metadata"]["name"], item["metadata"]["version"]
    if name == "spiegel":  # the project itself is installed editable, from this checkout
        continue
    digest = item["download_info"].get("archive_info", {}).get("hashes", {}).get("sha256")
    if not digest:
        sys.exit(f"lock: pip reported no sha256 for {name} {version}; cannot lock it")
    lines.append(f"{name.lower()}=={version} --hash=sha256:{digest}")
header = [
    "# Written by scripts/lock.sh from pyproject.toml's ranges: do not edit by hand.",
    "# scripts/setup.sh installs exactly this (pip --require-hashes --no-deps).",
]
with open(target, "w", encoding="utf-8") as out:
    out.write("\n".join(header + sorted(lines)) + "\n")
print(f"lock: {target}: {len(lines)} distributions, each with its sha256")
PY
