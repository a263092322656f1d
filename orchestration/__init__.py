"""Spiegel: the Dagster code location and the platform's Python modules.

Each module holds one concern (see ../shared/spec/architecture.md); the method itself
lives only in ``dbt_project/models``.
"""
