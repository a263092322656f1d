"""The gates' SQL files are Jinja templates that may call the dbt project's shared macros.

A fact that both a delivery gate and the method need (orphan credits, the month
profile) is defined once, as a macro of ``dbt_project/macros/delivery_facts.sql``. The
gates run before dbt, on one delivery, so they render that file here with plain Jinja:
its macros use no dbt context, and the dialect macros they call (``year_month``, ...)
are bound to their DuckDB spelling, the ``default__`` macros of ``dialect.sql``.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import jinja2

from orchestration.core.settings import DBT_PROJECT_DIR

MACROS_DIR = DBT_PROJECT_DIR / "macros"
SHARED_MACROS = "delivery_facts.sql"
DIALECT_MACROS = "dialect.sql"
DEFAULT_PREFIX = "default__"


def _environment() -> jinja2.Environment:
    # StrictUndefined: a macro that reaches for dbt's context fails loudly here, not as bad SQL
    return jinja2.Environment(undefined=jinja2.StrictUndefined, extensions=["jinja2.ext.do"])


@cache
def duckdb_dialect() -> dict[str, Any]:
    """Each dispatched dialect macro of dialect.sql in DuckDB's spelling, by its plain name."""
    module = _environment().from_string((MACROS_DIR / DIALECT_MACROS).read_text(encoding="utf-8")).module
    return {
        name[len(DEFAULT_PREFIX) :]: getattr(module, name) for name in dir(module) if name.startswith(DEFAULT_PREFIX)
    }


@cache
def render(template: str) -> str:
    """``template`` (SQL with ``{{ macro(...) }}`` calls) rendered with the shared macros."""
    env = _environment()
    env.globals.update(duckdb_dialect())
    shared = env.from_string((MACROS_DIR / SHARED_MACROS).read_text(encoding="utf-8")).module
    env.globals.update({name: getattr(shared, name) for name in dir(shared) if not name.startswith("_")})
    return env.from_string(template).render()
