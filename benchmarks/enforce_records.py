"""Enforcement on Python records: sigbatch versus MLflow's own enforcement on the same list of dicts.

``benchmarks/enforce.py`` measures Arrow tables (what the jobs hand the core); this measures the
other input users pass in memory, a list of dicts, which sigbatch judges with MLflow's rules for
Python values. The records are the inference benchmark's seed-shaped rows (``benchmarks/infer.py``,
``make_rows``) without ``note`` (always None) and ``attrs.n``, with the schema inferred from them:
``id`` long, ``name`` string (optional), ``score`` double, ``flag`` boolean, ``ts`` datetime,
``tags`` Array(string), ``attrs`` Object(d, e optional).

MLflow's ``_enforce_schema`` gets a deep copy of the records each run (it changes them in place);
the copy is not timed. Each figure is the median of ``--repeat`` runs after one warm-up run.
Run from a file (importing MLflow imports ``pyspark.sql.connect``):

    python benchmarks/enforce_records.py                 # 20,000 records
    python benchmarks/enforce_records.py --rows 50000
"""

from __future__ import annotations

import argparse
import copy
import gc
import logging
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from infer import make_rows  # the inference benchmark's seed-shaped rows

import sigbatch


def records(n: int, seed: int) -> list[dict[str, Any]]:
    """Seed-shaped records without the always-null column and the key only even files have."""
    rows = make_rows(n, seed)
    for row in rows:
        row.pop("note")
        row["attrs"].pop("n", None)
    return rows


def timed(fn: Any, make_input: Any, repeat: int) -> float:
    """Median wall time of ``fn(make_input())`` over ``repeat`` runs after one warm-up (input made untimed)."""
    fn(make_input())
    times = []
    for _ in range(repeat):
        data = make_input()
        gc.collect()
        start = time.perf_counter()
        fn(data)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=20_000, help="records (default 20,000)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    logging.getLogger("mlflow").setLevel(logging.ERROR)
    from mlflow.models.utils import _enforce_schema
    from mlflow.types.schema import Schema as MlflowSchema

    rows = records(args.rows, args.seed)
    schema = sigbatch.infer_schema(rows)
    oracle = MlflowSchema.from_json(schema.to_json())
    ours = timed(lambda data: sigbatch.enforce(data, schema), lambda: rows, args.repeat)
    theirs = timed(lambda data: _enforce_schema(data, oracle), lambda: copy.deepcopy(rows), args.repeat)
    valid = int(sigbatch.enforce(rows, schema).valid_mask.sum())
    print(f"schema: {schema}")
    print(f"{args.rows:,} records, {valid:,} valid for sigbatch (MLflow accepts the batch)")
    print("| what | s (median) | rows/s |")
    print("|---|---:|---:|")
    print(f"| sigbatch `enforce(records, schema)` | {ours:.3f} | {args.rows / ours:,.0f} |")
    print(f"| MLflow `_enforce_schema(records, schema)` | {theirs:.3f} | {args.rows / theirs:,.0f} |")
    print(f"ratio MLflow / sigbatch: {theirs / ours:.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
