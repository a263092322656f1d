"""A delivery from landed folder to raw tables: the contract, the typed load, the raw
tables in the warehouse and their Parquet copy (the raw layer)."""
