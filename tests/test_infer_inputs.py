"""Lake inference on awkward files: every path reads the same data the same way, and fails clearly."""

from __future__ import annotations

import datetime
import decimal

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sigbatch import ConfigError, InferenceError
from sigbatch.infer import infer_files


@pytest.mark.parametrize(
    "name, array, arrow",
    [
        ("dec", pa.array([decimal.Decimal("1.5")]), "decimal128(2, 1)"),
        ("u64", pa.array([1], pa.uint64()), "uint64"),
        ("t", pa.array([datetime.time(1, 2)]), "time64[us]"),
        ("dur", pa.array([datetime.timedelta(1)]), "duration[us]"),
    ],
)
def test_parquet_unsupported_types_name_file_and_column(tmp_path, name, array, arrow):
    """A Parquet type with no signature type: the error names the file, the column and the type."""
    pq.write_table(pa.table({"ok": [1], name: array}), tmp_path / "t.parquet")
    with pytest.raises(InferenceError) as info:
        infer_files(tmp_path)
    assert str(info.value).startswith(f"t.parquet: Field '{name}' has Arrow type {arrow}, which has no")


# --- options ---------------------------------------------------------------------------------------------


@pytest.fixture
def unreadable(tmp_path):
    """A lake whose only file cannot be read: any error but a ConfigError means it was read."""
    (tmp_path / "b.parquet").write_bytes(b"not parquet at all")
    return tmp_path


@pytest.mark.parametrize(
    "options, message",
    [
        ({"policy": "bogus"}, "Unknown policy 'bogus'; expected one of ['strict', 'widen', 'majority']"),
        ({"fraction": "0.5"}, "fraction must be in (0, 1], got str '0.5'"),
        ({"fraction": True}, "fraction must be in (0, 1], got bool True"),
        ({"max_partitions": 0.5}, "max_partitions must be an integer, got float 0.5"),
        ({"rows_per_partition": 1.5}, "rows_per_partition must be an integer, got float 1.5"),
        ({"seed": "1"}, "seed must be an integer, got str '1'"),
        ({"format": "xml"}, "Unknown format 'xml'; expected one of ['parquet', 'json', 'csv']"),
    ],
)
def test_options_are_checked_before_reading(unreadable, options, message):
    """A bad option is a ConfigError naming it, raised before any file is read."""
    with pytest.raises(ConfigError) as info:
        infer_files(unreadable, **options)
    assert str(info.value) == message


@pytest.mark.dask
def test_dask_checks_options_before_reading(unreadable):
    """The Dask engine checks the policy before any task runs."""
    from sigbatch.dask import infer_schema

    with pytest.raises(ConfigError, match=r"^Unknown policy 'bogus'"):
        infer_schema(unreadable, policy="bogus", scheduler="synchronous")
