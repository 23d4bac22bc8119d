"""Dask scoring throughput: the sigbatch job versus a plain ``map_partitions`` identity pass (issue 6).

Writes a seed-shaped Parquet lake (``id``, ``n``, ``flag`` longs, ``a`` list of strings, ``b``
optional string, ``c`` struct with a required ``d`` and an optional ``e``; ``--bad-fraction`` of the
rows broken in one of five ways Arrow can hold) to a temporary directory, then times, on the same
scheduler and from the same files:

1. baseline: ``dd.read_parquet(lake).map_partitions(identity).to_parquet(out)``: read, one
   pass over every partition, write; no checks, no model;
2. sigbatch: :func:`sigbatch.dask.run_scoring` with the vectorised example model
   ``python:sigbatch.examples.models:row_sum``: plan from the footers, per-row enforcement, the
   model on the MLflow-shaped frame, both outputs written in one compute, counts read back from
   the written files, accounting check, manifest.

Each timed run starts from a fresh output directory, after one untimed warm-up run of each on a
small lake (imports, model load, thread pools); with ``--repeat N`` the runs take turns, N times.
The ratio is sigbatch / baseline, of the medians.

    python benchmarks/dask_score.py                          # 1,000,000 rows, threads
    python benchmarks/dask_score.py --scheduler local-cluster --markdown
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

MODEL = "python:sigbatch.examples.models:row_sum"
BAD_KINDS = ("a_null", "c_null", "c_d_null", "n_null", "flag_not_01")
WORDS = np.array([f"w{i:03d}" for i in range(200)], dtype=object)


def signature() -> Any:
    from sigbatch import Array, ColSpec, ModelSignature, Object, Property, Schema

    inputs = Schema(
        [
            ColSpec("long", "id"),
            ColSpec("long", "n"),
            ColSpec("double", "flag"),
            ColSpec(Array("string"), "a"),
            ColSpec("string", "b", required=False),
            ColSpec(Object([Property("d", "string"), Property("e", "string", required=False)]), "c"),
        ]
    )
    return ModelSignature(inputs, Schema([ColSpec("double", "score")]))


def make_table(rows: int, bad_fraction: float, seed: int, first_id: int = 0) -> tuple[pa.Table, int]:
    """A seed-shaped table and the number of injected bad rows (each kind in equal shares)."""
    rng = np.random.default_rng(seed)
    n_bad = round(rows * bad_fraction)
    bad = np.sort(rng.choice(rows, size=n_bad, replace=False))
    kind = np.full(rows, -1)
    kind[bad] = np.arange(n_bad) % len(BAD_KINDS)

    def of(name: str) -> np.ndarray:
        return kind == BAD_KINDS.index(name)

    flag = rng.integers(0, 2, rows)
    flag[of("flag_not_01")] = 7
    lengths = rng.integers(0, 4, rows)
    lengths[of("a_null")] = 0
    offsets = np.zeros(rows + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    a = pa.ListArray.from_arrays(
        pa.array(offsets),
        pa.array(WORDS[rng.integers(0, len(WORDS), int(offsets[-1]))], pa.string()),
        mask=pa.array(of("a_null")),
    )
    d = pa.array(WORDS[rng.integers(0, len(WORDS), rows)], pa.string(), mask=of("c_d_null"))
    e = pa.array(WORDS[rng.integers(0, len(WORDS), rows)], pa.string(), mask=rng.random(rows) < 0.5)
    c = pa.StructArray.from_arrays([d, e], names=["d", "e"], mask=pa.array(of("c_null")))
    table = pa.table(
        {
            "id": pa.array(np.arange(first_id, first_id + rows), pa.int64()),
            "n": pa.array(rng.integers(0, 1000, rows), pa.int64(), mask=of("n_null")),
            "flag": pa.array(flag, pa.int64()),
            "a": a,
            "b": pa.array(WORDS[rng.integers(0, len(WORDS), rows)], pa.string(), mask=rng.random(rows) < 0.3),
            "c": c,
        }
    )
    return table, n_bad


def write_lake(path: Path, rows: int, files: int, bad_fraction: float, seed: int) -> int:
    """``files`` Parquet files holding ``rows`` rows; returns the number of bad rows."""
    path.mkdir(parents=True)
    per = -(-rows // files)
    n_bad = 0
    for i in range(files):
        n = min(per, rows - i * per)
        if n <= 0:
            break
        table, bad = make_table(n, bad_fraction, seed + i, first_id=i * per)
        pq.write_table(table, path / f"part-{i:03d}.parquet")
        n_bad += bad
    return n_bad


def run_baseline(lake: Path, out: Path, scheduler: Any, arrow: bool) -> None:
    """Read, identity ``map_partitions``, write: the floor any Dask job over this lake pays.

    ``arrow``: read with ``dtype_backend="pyarrow"`` (Arrow-backed columns, as sigbatch reads);
    otherwise Dask's defaults (nested columns become Python objects). The Parquet schema is the
    lake's, so the writer need not guess the types of object columns.
    """
    import dask
    import dask.dataframe as dd

    schema = pq.read_schema(next(iter(sorted(lake.glob("*.parquet"))))).remove_metadata()
    ddf = dd.read_parquet(str(lake), dtype_backend="pyarrow") if arrow else dd.read_parquet(str(lake))
    same = ddf.map_partitions(lambda df: df, meta=ddf._meta)
    dask.compute(
        same.to_parquet(str(out), compute=False, write_index=False, schema=schema), scheduler=scheduler
    )


def run_sigbatch(lake: Path, out: Path, scheduler: str, sig_path: Path) -> Any:
    from sigbatch.config import load_score_config
    from sigbatch.dask import run_scoring

    config = load_score_config(
        None,
        [
            f"source.path={lake}",
            f"model={MODEL}",
            f"signature={sig_path}",
            f"output.path={out}",
            f"dask.scheduler={scheduler}",
            "progress=false",
        ],
    )
    return run_scoring(config)


def interleaved(
    runs: dict[str, Callable[[], Any]], repeat: int, cleanup: Callable[[], None]
) -> tuple[dict[str, list[float]], dict[str, Any]]:
    """Wall times of each run, taken in turn ``repeat`` times (a shared machine drifts less between them)."""
    times: dict[str, list[float]] = {name: [] for name in runs}
    results: dict[str, Any] = {}
    for _ in range(repeat):
        for name, fn in runs.items():
            cleanup()
            gc.collect()
            t0 = time.perf_counter()
            results[name] = fn()
            times[name].append(time.perf_counter() - t0)
    return times, results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--files", type=int, default=8)
    parser.add_argument("--bad-fraction", type=float, default=0.01)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=1, help="timed runs of each (the median is reported)")
    parser.add_argument(
        "--scheduler",
        choices=("threads", "processes", "local-cluster"),
        default="threads",
        help="local-cluster: a dask.distributed LocalCluster of 2 worker processes, 1 thread each",
    )
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = parser.parse_args(argv)

    import json

    import dask
    import pandas as pd

    import sigbatch

    load_start = os.getloadavg()[0]
    tmp = Path(tempfile.mkdtemp(prefix="sigbatch-bench-"))
    cluster = client = None
    try:
        sig_path = tmp / "signature.json"
        sig_path.write_text(json.dumps(signature().to_dict()))
        lake, warm = tmp / "lake", tmp / "warm"
        t0 = time.perf_counter()
        n_bad = write_lake(lake, args.rows, args.files, args.bad_fraction, args.seed)
        write_lake(warm, 20_000, 2, args.bad_fraction, args.seed)
        gen = time.perf_counter() - t0
        size = sum(p.stat().st_size for p in lake.glob("*.parquet"))

        if args.scheduler == "local-cluster":
            from distributed import Client, LocalCluster

            cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
            client = Client(cluster)
            sched: Any = client
            sched_name = cluster.scheduler_address
        else:
            sched = sched_name = args.scheduler

        out_base, out_sig = tmp / "out-baseline", tmp / "out-sigbatch"

        def clean() -> None:
            shutil.rmtree(out_base, ignore_errors=True)
            shutil.rmtree(out_sig, ignore_errors=True)

        clean()
        run_baseline(warm, out_base, sched, arrow=False)
        clean()
        run_baseline(warm, out_base, sched, arrow=True)
        run_sigbatch(warm, out_sig, sched_name, sig_path)
        times, results = interleaved(
            {
                "base": lambda: run_baseline(lake, out_base, sched, arrow=False),
                "arrow": lambda: run_baseline(lake, out_base, sched, arrow=True),
                "sigbatch": lambda: run_sigbatch(lake, out_sig, sched_name, sig_path),
            },
            args.repeat,
            clean,
        )
        base_times, arrow_times, sig_times = times["base"], times["arrow"], times["sigbatch"]
        manifest = results["sigbatch"]
        c = manifest.counts
        assert c.rows_in == args.rows == c.rows_scored + c.rows_quarantined, c
        assert c.rows_quarantined == n_bad, (c.rows_quarantined, n_bad)
        base, arrow, sig = (statistics.median(t) for t in (base_times, arrow_times, sig_times))
        rows = [
            ("baseline: read_parquet + identity map_partitions + to_parquet", base, base_times),
            ("baseline, dtype_backend=pyarrow", arrow, arrow_times),
            ("sigbatch: run_scoring (enforce + row_sum model + 2 outputs + manifest)", sig, sig_times),
        ]
        info = (
            f"{args.rows:,} rows in {args.files} Parquet files ({size / 2**20:.1f} MiB, generated in {gen:.1f} s), "
            f"{n_bad:,} bad rows; scheduler {args.scheduler}; {os.cpu_count()} CPUs; Python "
            f"{platform.python_version()}, sigbatch {sigbatch.__version__}, dask {dask.__version__}, "
            f"pandas {pd.__version__}, pyarrow {pa.__version__}; 1-minute load average {load_start:.1f} at the start, {os.getloadavg()[0]:.1f} at the end"
        )
        print(info)
        if args.markdown:
            print("\n| run | seconds (median) | all runs | rows/s (median) |\n|---|---:|---|---:|")
            for name, med, run_times in rows:
                print(
                    f"| {name} | {med:.2f} | {', '.join(f'{t:.2f}' for t in run_times)} | {args.rows / med:,.0f} |"
                )
            print(
                f"\nratio sigbatch / baseline: **{sig / base:.2f}x** (default dtypes), "
                f"**{sig / arrow:.2f}x** (dtype_backend=pyarrow)"
            )
        else:
            for name, med, run_times in rows:
                print(f"  {name:<75} {med:6.2f} s  ({args.rows / med:,.0f} rows/s)  runs: {run_times}")
            print(
                f"  ratio sigbatch / baseline: {sig / base:.2f}x (default dtypes), {sig / arrow:.2f}x (pyarrow dtypes)"
            )
        print(f"sigbatch timings from the manifest: {manifest.timings}")
        print(f"quarantined by code: {c.quarantined_by_code}")
    finally:
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
