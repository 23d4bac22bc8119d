"""Inference throughput: sigbatch versus MLflow in memory, and versus Spark's JSON schema inference (issue 4).

Two parts, in this one process:

1. **In memory**: 100,000 seed-shaped nested rows (a long, strings with nulls, a double, a boolean,
   a datetime, Array(string), an Object with an optional property) as a list of dicts. Measured:
   MLflow's ``infer_signature`` on the records and on ``pd.DataFrame(records)``; sigbatch's
   ``infer_signature`` (MLflow-identical, issue 1) on the same; the partial engine on the records
   (``finalize(partial_from_records(rows))``); and on an Arrow table of the rows
   (``finalize(partial_from_table(table))``; ``pa.Table.from_pylist`` is timed separately). The
   schemas are checked equal to MLflow's.
2. **Lake**: 1,000,000 rows as JSON lines in 20 files (the same shape; ``note`` is null in the first
   5 files, ``attrs`` has key ``n`` in even files and ``m`` in odd ones). Spark's own JSON schema
   inference (``spark.read.option("samplingRatio", r).json(path)``, r = 1.0 and 0.1) against
   sigbatch's on the same Spark session (``sigbatch.spark.infer_schema(path)``: full, and every
   file's first 5,000 rows = 10%), and on the local engine. The same lake as Parquet shows what
   footers save. sigbatch's signatures are checked equal across engines and modes.

Every figure is the median of ``--repeat`` runs after one warm-up (MLflow: ``--mlflow-repeat``).
Run from a file (not ``python -c``): importing MLflow imports ``pyspark.sql.connect``.

    python benchmarks/infer.py                     # both parts
    python benchmarks/infer.py --skip-lake         # in memory only
    python benchmarks/infer.py --lake-rows 200000  # a smaller lake
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import logging
import os
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)

import sigbatch
from sigbatch.infer import finalize, infer_files, partial_from_records, partial_from_table

VOCAB = [f"tag{i:03d}" for i in range(200)]


# --- data ------------------------------------------------------------------------------------------


def make_rows(n: int, seed: int, file: int = 0, json_ts: bool = False) -> list[dict[str, Any]]:
    """Seed-shaped nested rows; ``file`` varies the object keys and the null-only column."""
    rng = np.random.default_rng(seed + 7919 * file)
    ids = rng.integers(0, 10**9, n).tolist()
    users = rng.integers(0, 50_000, n).tolist()
    user_null = (rng.random(n) < 0.05).tolist()
    scores = rng.normal(50.0, 15.0, n).tolist()
    flags = (rng.random(n) < 0.5).tolist()
    secs = rng.integers(0, 300 * 86_400, n).tolist()
    lengths = rng.integers(0, 6, n).tolist()
    tag_idx = rng.integers(0, len(VOCAB), int(sum(lengths))).tolist()
    e_present = (rng.random(n) < 0.7).tolist()
    extra = rng.integers(0, 1000, n).tolist()
    start = dt.datetime(2026, 1, 1)
    rows = []
    pos = 0
    for i in range(n):
        ts = start + dt.timedelta(seconds=secs[i])
        attrs: dict[str, Any] = {"d": f"d{extra[i] % 97}"}
        if e_present[i]:
            attrs["e"] = f"e{extra[i] % 13}"
        if file % 2 == 0:
            attrs["n"] = extra[i]
        else:
            attrs["m"] = f"m{extra[i] % 7}"
        rows.append(
            {
                "id": ids[i],
                "name": None if user_null[i] else f"user_{users[i]}",
                "score": scores[i],
                "flag": flags[i],
                "ts": ts.isoformat() if json_ts else ts,
                "tags": [VOCAB[j] for j in tag_idx[pos : pos + lengths[i]]],
                "attrs": attrs,
                "note": None if file < 5 else f"note {extra[i] % 11}",
            }
        )
        pos += lengths[i]
    return rows


def write_lake(root: Path, rows: int, files: int, seed: int) -> tuple[Path, Path]:
    """The lake as JSON lines and as Parquet (same rows)."""
    js, pqt = root / "json", root / "parquet"
    js.mkdir(parents=True)
    pqt.mkdir(parents=True)
    per = rows // files
    for f in range(files):
        part = make_rows(per, seed, file=f, json_ts=True)
        with open(js / f"part-{f:05d}.json", "w", encoding="utf-8") as fh:
            fh.writelines(json.dumps(r) + "\n" for r in part)
        pq.write_table(pa.Table.from_pylist(part), pqt / f"part-{f:05d}.parquet")
    return js, pqt


# --- timing ----------------------------------------------------------------------------------------


def timed(fn: Any, repeat: int, warmup: int = 1) -> tuple[float, Any]:
    """Median wall time of ``repeat`` calls after ``warmup`` calls (GC collected before each)."""
    out = None
    for _ in range(warmup):
        out = fn()
    times = []
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def row(label: str, seconds: float, rows: int, base: float | None = None) -> str:
    """A markdown table row: time, rows/s and the ratio to ``base`` seconds."""
    ratio = f"{base / seconds:,.1f}x" if base else ""
    return f"| {label} | {seconds:.3f} | {rows / seconds:,.0f} | {ratio} |"


# --- part 1 ----------------------------------------------------------------------------------------


def in_memory(n: int, seed: int, repeat: int, mlflow_repeat: int) -> list[str]:
    """sigbatch versus MLflow on the same records."""
    import mlflow.models
    import pandas as pd

    logging.getLogger("mlflow").setLevel(logging.ERROR)
    rows = make_rows(n, seed)
    frame = pd.DataFrame(rows)
    out = [f"In memory, {n:,} rows (seconds, median; ratio = MLflow on records / this)", ""]
    out += ["| what | s | rows/s | vs MLflow (records) |", "|---|---|---|---|"]
    # sigbatch first: measured right after MLflow's runs (which leave a large heap behind), the
    # same call took 0.237 s against 0.176 s in a fresh process (2026-11-27, 22:25 UTC)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t_sb, sb_sig = timed(lambda: sigbatch.infer_signature(rows), repeat)
        t_sb_df, _ = timed(lambda: sigbatch.infer_signature(frame), repeat)
    t_rec, (rec_schema, _) = timed(lambda: finalize(partial_from_records(rows)), repeat)
    t_conv, table = timed(lambda: pa.Table.from_pylist(rows), repeat)
    t_tab, (tab_schema, _) = timed(lambda: finalize(partial_from_table(table)), repeat)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t_ml, ml_sig = timed(lambda: mlflow.models.infer_signature(rows), mlflow_repeat, warmup=0)
        t_ml_df, ml_sig_df = timed(lambda: mlflow.models.infer_signature(frame), mlflow_repeat, warmup=0)
    expected = ml_sig.inputs.to_json()
    checks = {
        "sigbatch.infer_signature": sb_sig.inputs.to_json() == expected,
        "partial (records)": rec_schema.to_json() == expected,
        "partial (Arrow)": tab_schema.to_json() == expected,
        "MLflow on the DataFrame": ml_sig_df.inputs.to_json() == expected,
    }
    out += [
        row("MLflow `infer_signature(records)`", t_ml, n, t_ml),
        row("MLflow `infer_signature(DataFrame)`", t_ml_df, n, t_ml),
        row("sigbatch `infer_signature(records)` (issue 1)", t_sb, n, t_ml),
        row("sigbatch `infer_signature(DataFrame)` (issue 1)", t_sb_df, n, t_ml),
        row("sigbatch partial engine, records", t_rec, n, t_ml),
        row("sigbatch partial engine, Arrow table", t_tab, n, t_ml),
        row("`pa.Table.from_pylist(records)` (conversion only)", t_conv, n, None),
        row("sigbatch partial engine, records -> Arrow -> partial", t_conv + t_tab, n, t_ml),
    ]
    out += ["", f"MLflow's schema: `{ml_sig.inputs!r}`", f"Same schema: {checks}"]
    return out


# --- part 2 ----------------------------------------------------------------------------------------


def lake(rows: int, files: int, seed: int, repeat: int, sample_rows: int) -> list[str]:
    """sigbatch (Spark engine, local engine) versus Spark's JSON schema inference on one lake."""
    from pyspark.sql import SparkSession

    from sigbatch.dask import infer_schema as dask_infer
    from sigbatch.spark import infer_schema as spark_infer

    tmp = Path(tempfile.mkdtemp(prefix="sigbatch-bench-infer-"))
    t0 = time.perf_counter()
    js, pqt = write_lake(tmp, rows, files, seed)
    written = time.perf_counter() - t0
    size = sum(f.stat().st_size for f in js.iterdir())
    spark = (
        SparkSession.builder.master("local[2]")
        .appName("sigbatch-bench-infer")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.default.parallelism", "2")
        .config("spark.driver.memory", "2g")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    per = rows // files

    def spark_json(ratio: float) -> Any:
        return spark.read.option("samplingRatio", ratio).json(str(js)).schema

    pct = f"{sample_rows / per:.0%}"
    # (label, how) per run; every sigbatch run's signature is compared at the end.
    json_runs: list[tuple[str, Any]] = [
        ("Spark `read.json` schema inference, samplingRatio 1.0", lambda: spark_json(1.0)),
        ("Spark `read.json` schema inference, samplingRatio 0.1", lambda: spark_json(0.1)),
        ("sigbatch on Spark, full read", lambda: spark_infer(str(js), spark=spark)),
        (
            f"sigbatch on Spark, all files, first {sample_rows:,} rows each ({pct})",
            lambda: spark_infer(str(js), spark=spark, rows_per_partition=sample_rows),
        ),
        (
            "sigbatch on Spark, 25% of files, first 1,000 rows each",
            lambda: spark_infer(str(js), spark=spark, fraction=0.25, rows_per_partition=1000),
        ),
        ("sigbatch on Dask (2 processes), full read", lambda: dask_infer(str(js), scheduler="processes")),
        (
            f"sigbatch on Dask (2 processes), first {sample_rows:,} rows each ({pct})",
            lambda: dask_infer(str(js), rows_per_partition=sample_rows, scheduler="processes"),
        ),
        ("sigbatch local engine (1 process), full read", lambda: infer_files(js)),
        (
            f"sigbatch local engine, first {sample_rows:,} rows each ({pct})",
            lambda: infer_files(js, rows_per_partition=sample_rows),
        ),
    ]
    parquet_runs: list[tuple[str, Any]] = [
        ("Spark `read.parquet`, mergeSchema", lambda: spark_parquet(spark, pqt)),
        ("Spark `read.parquet` (schema of one footer)", lambda: spark.read.parquet(str(pqt)).schema),
        ("sigbatch local engine, full (footers + nested columns read)", lambda: infer_files(pqt)),
        ("sigbatch on Spark, full", lambda: spark_infer(str(pqt), spark=spark)),
        ("sigbatch on Dask (2 processes), full", lambda: dask_infer(str(pqt), scheduler="processes")),
    ]
    json_results = [(label, *timed(fn, repeat)) for label, fn in json_runs]
    parquet_results = [(label, *timed(fn, repeat)) for label, fn in parquet_runs]
    base = json_results[0][1]
    # Every sigbatch run reads all files except "25% of files": its signature is shown apart.
    covering = [
        r for label, _, r in json_results + parquet_results if hasattr(r, "schema") and "25%" not in label
    ]
    signatures = {r.schema.to_json() for r in covering}
    example = json_results[2][2].schema
    partial_run = next(r for label, _, r in json_results if "25%" in label)
    out = [
        f"Lake: {rows:,} rows in {files} JSON lines files ({size / 1e6:,.0f} MB; written in {written:.0f} s), "
        "Spark local[2] (seconds, median; ratio = Spark samplingRatio 1.0 / this)",
        "",
        "| what | s | rows/s (of the lake) | vs Spark inference (1.0) |",
        "|---|---|---|---|",
        *(row(label, t, rows, base) for label, t, _ in json_results),
        "",
        f"Same lake as Parquet ({files} files):",
        "",
        "| what | s | rows/s (of the lake) | vs Spark JSON inference (1.0) |",
        "|---|---|---|---|",
        *(row(label, t, rows, base) for label, t, _ in parquet_results),
        "",
        f"Spark with mergeSchema on the Parquet lake: {parquet_results[0][2]}",
        f"Spark's schema from one Parquet footer: `{parquet_results[1][2].simpleString()}`",
        f"Spark's JSON schema (samplingRatio 1.0): `{json_results[0][2].simpleString()}`",
        f"sigbatch: {len(signatures)} distinct signature(s) over its {len(covering)} runs that read every file "
        f"(JSON and Parquet; local, Dask, Spark; full and first rows): `{example!r}`",
        f"sigbatch on 25% of the files ({', '.join(partial_run.report.selection.chosen)}): "
        f"`{partial_run.schema!r}`",
    ]
    shutil.rmtree(tmp, ignore_errors=True)
    spark.stop()
    return out


def spark_parquet(spark: Any, path: Path) -> str:
    """Spark's merged Parquet schema, or the error class when Spark cannot merge the footers."""
    try:
        return spark.read.option("mergeSchema", "true").parquet(str(path)).schema.simpleString()
    except Exception as exc:  # Py4JJavaError / AnalysisException
        text = str(exc)
        return "fails: " + (
            text[text.index("[") : text.index("]") + 1] if "[" in text else type(exc).__name__
        )


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print markdown tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="in-memory rows (default 100,000)")
    parser.add_argument("--lake-rows", type=int, default=1_000_000, help="lake rows (default 1,000,000)")
    parser.add_argument("--files", type=int, default=20, help="lake files (default 20)")
    parser.add_argument(
        "--sample-rows", type=int, default=5_000, help="rows_per_partition of the sampled runs"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--mlflow-repeat", type=int, default=1)
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--skip-lake", action="store_true")
    args = parser.parse_args(argv)
    lines: list[str] = []
    if not args.skip_memory:
        lines += [*in_memory(args.rows, args.seed, args.repeat, args.mlflow_repeat), ""]
        print("\n".join(lines), flush=True)
    if not args.skip_lake:
        part = lake(args.lake_rows, args.files, args.seed, args.repeat, args.sample_rows)
        print("\n".join(part), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
