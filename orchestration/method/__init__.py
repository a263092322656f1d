"""The method (method.md) as a dbt project run by dagster-dbt: the configuration seeds,
the period asset, the translator into Dagster and the Spark engine."""
