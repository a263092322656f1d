#!/usr/bin/env bash
# The lint CI runs before the tests: Python style and format (ruff), the SQL of the dbt
# project (sqlfluff, configured in pyproject.toml), and the layers of orchestration/
# (import-linter's contract in pyproject.toml). Run it from anywhere after scripts/setup.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=.venv/bin
echo "lint: ruff check"
"$bin/ruff" check .
echo "lint: ruff format --check"
"$bin/ruff" format --check .
echo "lint: sqlfluff lint dbt_project"
"$bin/sqlfluff" lint dbt_project --processes 2
echo "lint: import-linter (the layers of orchestration/)"
"$bin/lint-imports"
echo "lint: clean"
