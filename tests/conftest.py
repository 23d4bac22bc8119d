"""Shared fixtures: one local Spark session per test run, Dask helpers, MLflow oracle import."""

from __future__ import annotations

import os
import sys

import pytest
from hypothesis import settings

# The suite is deterministic: hypothesis draws the same examples every run (CI must not flake).
# Run with HYPOTHESIS_PROFILE=explore to search with fresh random examples.
settings.register_profile("sigbatch", derandomize=True, deadline=None)
settings.register_profile("explore", derandomize=False, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "sigbatch"))

# Spark's Python workers must run this interpreter (the one sigbatch and pyarrow are installed in).
os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
os.environ.setdefault("TZ", "UTC")


@pytest.fixture(scope="session")
def spark():
    """The one local[2] Spark session of the test run (UI off, UTC, few shuffle partitions)."""
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]")
        .appName("sigbatch-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.default.parallelism", "2")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.driver.memory", "2g")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def _score_core(table, model, signature, profile):
    from sigbatch import score_batch

    result = score_batch(table, model, signature, profile=profile)
    return result.scored, result.quarantine


def _score_spark(table, model, signature, profile, spark):
    from sigbatch.spark import score

    scored, quarantine = score(spark.createDataFrame(table), model, signature, profile=profile)
    return scored.toArrow(), quarantine.toArrow()


def _score_dask(table, model, signature, profile):
    import dask.dataframe as dd

    from sigbatch.dask import score

    frame = table.to_pandas(types_mapper=__import__("pandas").ArrowDtype)
    scored, quarantine = score(dd.from_pandas(frame, npartitions=2), model, signature, profile=profile)
    import dask

    s, q = dask.compute(scored, quarantine, scheduler="threads")
    import pyarrow as pa

    return pa.Table.from_pandas(s, preserve_index=False), pa.Table.from_pandas(q, preserve_index=False)


@pytest.fixture(params=["core", "spark", "dask"])
def runner(request):
    """Score an Arrow table on one engine: ``runner(table, model, signature, profile)`` -> (scored, quarantine).

    The same behavioural cases run on all three engines (parity); outputs are pyarrow Tables.
    """
    if request.param == "core":
        return _score_core
    if request.param == "spark":
        session = request.getfixturevalue("spark")
        return lambda table, model, signature, profile: _score_spark(
            table, model, signature, profile, session
        )
    return _score_dask
