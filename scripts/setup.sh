#!/usr/bin/env bash
# Set up Spiegel on a fresh machine: system packages, a virtual environment, the
# project with its test extras, and the dbt manifest. Safe to run again.
#
#   bash scripts/setup.sh
#
# System packages (Debian): chromium renders the PDF reports (and drives the portal's browser test),
# poppler-utils checks them, gettext compiles the portal's messages, postgresql runs the portal's
# tests once on PostgreSQL, a Java 17+ runtime runs the local Spark of SPIEGEL_ENGINE=spark,
# systemd's analyser scores the units' sandbox.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
command -v pdftoppm >/dev/null 2>&1 || need_apt+=(poppler-utils)
fc-list 2>/dev/null | grep -qi dejavu || need_apt+=(fonts-dejavu-core)
# gettext: msgfmt compiles the portal's Dutch catalogue (portal/locale, below)
command -v msgfmt >/dev/null 2>&1 || need_apt+=(gettext)
# PostgreSQL: the portal's tests start a throwaway cluster of their own (tests/support/pg_cluster.py)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need_apt+=(postgresql)
# Java 17+ for the local Apache Spark of SPIEGEL_ENGINE=spark (pyspark 4 from PyPI)
java_major=$(java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1 || true)
[ "${java_major:-0}" -ge 17 ] 2>/dev/null || need_apt+=(default-jre-headless)
# systemd-analyze scores the sandbox of deploy/'s units offline (tests/test_deploy_sandbox.py)
command -v systemd-analyze >/dev/null 2>&1 || need_apt+=(systemd)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: installing system packages: ${need_apt[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv with $("$PYTHON" --version)"
  "$PYTHON" -m venv .venv
fi
# exactly the versions and files of requirements.lock (scripts/lock.sh writes it from pyproject.toml's
# ranges): pip refuses a file whose sha256 differs and, with --no-deps, anything the lock does not name.
# The lock holds pip itself and a setuptools without the venv seed's vulnerabilities (65.5.0:
# PYSEC-2022-43012, CVE-2024-6345, CVE-2025-47273) that still has pkg_resources (removed in 81).
echo "setup: installing Spiegel's locked dependencies (about a minute on a fresh machine)"
.venv/bin/python -m pip install -q --require-hashes --no-deps -r requirements.lock
.venv/bin/python -m pip install -q --no-deps --no-build-isolation -e .
.venv/bin/python -m pip check >/dev/null || { .venv/bin/python -m pip check; exit 1; }

# the portal's own Dutch for the account pages (portal/locale/nl/LC_MESSAGES/django.po):
# compiled here, not committed; run from portal/ so that only portal/locale is compiled
echo "setup: compiling the portal's messages"
(cd portal && env -u DJANGO_SETTINGS_MODULE ../.venv/bin/django-admin compilemessages --verbosity 0)

if [ -f dbt_project/dbt_project.yml ]; then
  echo "setup: parsing the dbt project"
  .venv/bin/python -c "from orchestration.method.dbt_project import dbt_manifest_path; dbt_manifest_path()"
fi
# the Software Bill of Materials of what was just installed (docs/security.md 14.2.5)
echo "setup: writing the SBOM of .venv"
bash scripts/sbom.sh
echo "setup: done (activate with: source .venv/bin/activate)"
