"""Behavioural cases shared by the core, Spark and Dask tests (plain data)."""
