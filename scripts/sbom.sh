#!/usr/bin/env bash
# The Software Bill of Materials (docs/security.md, ASVS 14.2.5): every distribution installed in
# the project's virtual environment, with its version, package URL, hashes where recorded and
# declared licences, as CycloneDX 1.6 JSON (cyclonedx-bom, a test extra). The project itself
# (pyproject.toml) is the root component. scripts/setup.sh writes one at the end of every set-up.
#
#   bash scripts/sbom.sh [OUTPUT]     default build/sbom/spiegel.cdx.json (build/ is not committed)
#
# SPIEGEL_SBOM_VALIDATE=1 also checks the file against the CycloneDX schema (about 25 s here;
# cyclonedx-python-lib builds it from its own model, so the check is off by default).
# SPIEGEL_VENV: the environment to list (default .venv).
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-build/sbom/spiegel.cdx.json}"
venv="${SPIEGEL_VENV:-.venv}"
validate=--no-validate
[ "${SPIEGEL_SBOM_VALIDATE:-0}" = 1 ] && validate=--validate
mkdir -p "$(dirname "$out")"
# cyclonedx-py says "Validation skipped" on stderr each time: shown only when the command fails
if ! log=$("$venv/bin/cyclonedx-py" environment "$venv/bin/python" --pyproject pyproject.toml \
  --spec-version 1.6 --output-format JSON $validate --output-file "$out" 2>&1); then
  echo "$log" >&2
  echo "sbom: cyclonedx-py failed" >&2
  exit 1
fi
count=$("$venv/bin/python" -c 'import json, sys; print(len(json.load(open(sys.argv[1]))["components"]))' "$out")
echo "sbom: $count components written to $out"
