"""Spiegel: the Dagster code location and the platform's Python modules, one package per
stage of the data's path (docs/design.md): core, landing, delivery, gates, method,
release, runs, and the commands on top. The method itself lives only in
``dbt_project/models``.

Importing the package imports nothing heavy: ``spiegel --help`` and the light commands
start without loading Dagster, dbt or Great Expectations.
"""
