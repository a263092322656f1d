"""Dagster assets, one module per stage of the data's path (architecture.md)."""
