"""Spark scoring throughput on ``local[2]``: sigbatch versus a plain ``mapInArrow`` pass versus MLflow (issue 5).

Generates seed-shaped rows (the data of ``benchmarks/enforce.py``: strings, longs, doubles, a
datetime, Array(string), Object with optional properties; 1% bad rows of five kinds), writes them
to Parquet in a temporary directory, and measures in one Spark session (``local[2]``):

1. **plain pass**: read the Parquet, a ``mapInArrow`` that returns each batch unchanged, write
   Parquet. The floor for any Arrow UDF job over this data.
2. **sigbatch job**: :func:`sigbatch.spark.run_scoring` with the identity model
   ``python:sigbatch.examples.models:identity`` (the signature's output is the ``score`` column),
   quarantine on: read, count, preflight, enforce, predict, write ``scored/`` and
   ``quarantine/``, count the written footers, write the manifest.
3. **MLflow ``spark_udf``** on the clean rows only (one bad row aborts MLflow's job): an identity
   pyfunc returning ``score``, saved with the signature and without it, applied as
   ``udf(struct(*cols))`` (``udf(*cols)`` fails on this shape, see NOTES.md) and written to Parquet.
   It is slow, so it runs on ``--mlflow-rows`` clean rows and every figure is given in rows/s.

The plain pass and the sigbatch job alternate, ``--repeat`` times each (after one warm-up run of
each); the median and the best run are reported (on a shared machine the best run is the figure
least disturbed by other jobs), with the median of the pairwise ratios, and the CPU seconds of
the whole process tree (driver, JVM, Python workers, from /proc) of each run, which move much less
than wall time when the machine is shared.
A breakdown (``--no-breakdown`` skips it) also times the sigbatch job with a one-column signature
(the Spark side with almost no per-row Python work), the job through its local-checkpoint path
(``spark.inline_quarantine_mb=0``, what it falls back to for a large quarantine), the design
alternative of writing the combined frame once partitioned by ``_sigbatch_kind``, and the core's
``score_combined`` alone.

    python benchmarks/spark_score.py                       # 1,000,000 rows, 1% bad
    python benchmarks/spark_score.py --markdown --repeat 5
    python benchmarks/spark_score.py --rows 200000 --skip-mlflow
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)

OUTPUTS = '[{"type": "double", "name": "score", "required": true}]'
MODEL = "python:sigbatch.examples.models:identity"
ID_SCHEMA = '[{"type": "long", "name": "id", "required": true}]'

_MLFLOW_CODE = """\
import mlflow
from mlflow.pyfunc import PythonModel


class ScoreIdentity(PythonModel):
    def predict(self, context, model_input, params=None):
        return model_input[["score"]]


mlflow.models.set_model(ScoreIdentity())
"""


def _enforce_bench() -> Any:
    """``benchmarks/enforce.py`` (its data generator and machine report), imported by path."""
    spec = importlib.util.spec_from_file_location("bench_enforce", Path(__file__).with_name("enforce.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _core_seconds(table: pa.Table, signature: Path) -> float:
    """Seconds for the core's ``score_combined`` over the table in batches of the job's default size
    (``spark.batch_size``, 50,000 rows), in this process."""
    from sigbatch.config import SCORE_KEYS
    from sigbatch.models import score_combined
    from sigbatch.wire import load_signature

    sig = load_signature(signature)
    score_combined(table.slice(0, 1000), MODEL, sig)  # load the model
    t0 = time.perf_counter()
    step = SCORE_KEYS["spark.batch_size"].default
    for start in range(0, table.num_rows, step):
        score_combined(table.slice(start, step), MODEL, sig, row_offset=start)
    return time.perf_counter() - t0


def _tree_cpu() -> float:
    """CPU seconds (user + system) used so far by this process and every process below it (the
    JVM, the Python workers), read from /proc; reaped children count through their parent.

    Wall time on a shared VM moves with what the neighbours do; CPU time moves much less, so the
    script reports both."""
    tick = os.sysconf("SC_CLK_TCK")
    children: dict[int, list[int]] = {}
    cpu: dict[int, float] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:  # the process ended meanwhile
            continue
        pid, ppid = int(entry), int(fields[1])
        children.setdefault(ppid, []).append(pid)
        cpu[pid] = sum(int(x) for x in fields[11:15]) / tick  # utime stime cutime cstime
    total, todo = 0.0, [os.getpid()]
    while todo:
        pid = todo.pop()
        total += cpu.get(pid, 0.0)
        todo.extend(children.get(pid, []))
    return total


def _with_cpu(fn: Any, cpu: list[float]) -> Any:
    """``fn`` (returning seconds), also appending the CPU seconds of each call to ``cpu``."""

    def run() -> float:
        before = _tree_cpu()
        seconds = fn()
        cpu.append(_tree_cpu() - before)
        return float(seconds)

    return run


def _identity(batches: Any) -> Any:
    yield from batches


def _session(memory: str) -> Any:
    from pyspark.sql import SparkSession

    spark = (
        SparkSession.builder.master("local[2]")
        .appName("sigbatch-spark-bench")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.driver.memory", memory)
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def _mlflow_udf_seconds(spark: Any, clean_dir: Path, work: Path, with_signature: bool) -> float:
    """Seconds for ``spark_udf`` (identity on ``score``) over the clean rows, written to Parquet."""
    import mlflow.pyfunc
    from mlflow.models import ModelSignature
    from pyspark.sql import functions as F

    bench = _enforce_bench()
    code = work / "mlflow_model.py"
    code.write_text(_MLFLOW_CODE)
    path = work / ("mlflow_with_sig" if with_signature else "mlflow_without_sig")
    signature = (
        ModelSignature.from_dict({"inputs": bench.SIGNATURE_INPUTS, "outputs": OUTPUTS})
        if with_signature
        else None
    )
    if not path.exists():
        mlflow.pyfunc.save_model(str(path), python_model=str(code), signature=signature, pip_requirements=[])
    udf = mlflow.pyfunc.spark_udf(spark, str(path), result_type="double", env_manager="local")
    df = spark.read.parquet(str(clean_dir))
    out = work / "mlflow_out"
    shutil.rmtree(out, ignore_errors=True)
    t0 = time.perf_counter()
    df.withColumn("prediction", udf(F.struct(*[F.col(c) for c in df.columns]))).write.parquet(str(out))
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--rows", type=int, default=1_000_000, help="rows to score (default 1000000)")
    p.add_argument("--bad-fraction", type=float, default=0.01, help="fraction of bad rows (default 0.01)")
    p.add_argument("--files", type=int, default=8, help="Parquet files the rows are written to (default 8)")
    p.add_argument("--repeat", type=int, default=5, help="runs of the plain pass and of sigbatch (default 5)")
    p.add_argument(
        "--mlflow-rows", type=int, default=50_000, help="clean rows for MLflow's spark_udf (default 50000)"
    )
    p.add_argument("--skip-mlflow", action="store_true", help="do not run MLflow's spark_udf")
    p.add_argument(
        "--no-breakdown", dest="breakdown", action="store_false", help="skip the informational breakdown runs"
    )
    p.add_argument("--memory", default="4g", help="spark.driver.memory (default 4g)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--markdown", action="store_true", help="print the results as Markdown tables")
    args = p.parse_args(argv)

    from sigbatch.config import load_score_config
    from sigbatch.spark import run_scoring

    bench = _enforce_bench()
    work = Path(tempfile.mkdtemp(prefix="sigbatch-spark-bench-"))
    try:
        table, bad, _kind = bench.make_table(args.rows, args.bad_fraction, args.seed)
        lake = work / "lake"
        lake.mkdir()
        step = -(-table.num_rows // args.files)
        for i in range(args.files):
            pq.write_table(table.slice(i * step, step), lake / f"part-{i:03d}.parquet")
        clean = table.filter(pa.array(~bad))
        clean_dir = work / "clean"
        clean_dir.mkdir()
        pq.write_table(clean.slice(0, args.mlflow_rows), clean_dir / "part-000.parquet")
        signature = work / "signature.json"
        signature.write_text(json.dumps({"inputs": bench.SIGNATURE_INPUTS, "outputs": OUTPUTS}))
        lake_mb = sum(f.stat().st_size for f in lake.iterdir()) / 1e6

        spark = _session(args.memory)
        df = spark.read.parquet(str(lake))

        def plain() -> float:
            out = work / "plain_out"
            shutil.rmtree(out, ignore_errors=True)
            t0 = time.perf_counter()
            spark.read.parquet(str(lake)).mapInArrow(_identity, df.schema).write.parquet(str(out))
            return time.perf_counter() - t0

        config = load_score_config(
            None,
            [
                f"source.path={lake}",
                "source.format=parquet",
                f"model={MODEL}",
                f"signature={signature}",
                f"output.path={work / 'sigbatch_out'}",
                "output.mode=overwrite",
            ],
        )
        manifests = []

        def sigbatch_job() -> float:
            t0 = time.perf_counter()
            manifests.append(run_scoring(spark, config))
            return time.perf_counter() - t0

        # the breakdown: the Spark side alone (a one-column signature: almost no per-row Python
        # work), the design alternative (one write partitioned by kind), the core alone
        id_signature = work / "id_signature.json"
        id_signature.write_text(json.dumps({"inputs": ID_SCHEMA, "outputs": ID_SCHEMA}))
        id_config = load_score_config(
            None,
            [
                f"source.path={lake}",
                "source.format=parquet",
                f"model={MODEL}",
                f"signature={id_signature}",
                f"output.path={work / 'id_out'}",
                "output.mode=overwrite",
            ],
        )

        def id_job() -> float:
            t0 = time.perf_counter()
            run_scoring(spark, id_config)
            return time.perf_counter() - t0

        checkpoint_config = load_score_config(
            None,
            [
                f"source.path={lake}",
                "source.format=parquet",
                f"model={MODEL}",
                f"signature={signature}",
                f"output.path={work / 'checkpoint_out'}",
                "output.mode=overwrite",
                "spark.inline_quarantine_mb=0",
            ],
        )

        def checkpointed() -> float:
            t0 = time.perf_counter()
            run_scoring(spark, checkpoint_config)
            return time.perf_counter() - t0

        def partitioned() -> float:
            from sigbatch.spark.io import with_source_identity
            from sigbatch.spark.score import combined_frame
            from sigbatch.wire import load_signature

            out = work / "partitioned_out"
            shutil.rmtree(out, ignore_errors=True)
            t0 = time.perf_counter()
            source = with_source_identity(spark.read.parquet(str(lake)), "parquet")
            frame = combined_frame(source, MODEL, load_signature(signature))
            frame.write.partitionBy("_sigbatch_kind").parquet(str(out))
            return time.perf_counter() - t0

        # warm up both paths (JIT, Python workers, model import) on the real data once
        plain()
        sigbatch_job()
        load_before = " / ".join(f"{x:.2f}" for x in os.getloadavg())
        plain_times, sig_times = [], []
        plain_cpu: list[float] = []
        sig_cpu: list[float] = []
        timed_plain, timed_sigbatch = _with_cpu(plain, plain_cpu), _with_cpu(sigbatch_job, sig_cpu)
        extra: dict[str, list[float]] = {"id": [], "checkpoint": [], "partitioned": []}
        for _ in range(args.repeat):
            plain_times.append(timed_plain())
            sig_times.append(timed_sigbatch())
            if args.breakdown:
                extra["id"].append(id_job())
                extra["checkpoint"].append(checkpointed())
                extra["partitioned"].append(partitioned())
        core_seconds = _core_seconds(table, signature) if args.breakdown else None
        counts = manifests[-1].counts
        expected_bad = int(bad.sum())
        assert counts.rows_in == args.rows and counts.rows_quarantined == expected_bad, counts

        mlflow: dict[str, list[float]] = {"without": [], "with": []}
        if not args.skip_mlflow:
            _mlflow_udf_seconds(spark, clean_dir, work, with_signature=False)  # warm up
            for _ in range(2):
                mlflow["without"].append(_mlflow_udf_seconds(spark, clean_dir, work, with_signature=False))
                mlflow["with"].append(_mlflow_udf_seconds(spark, clean_dir, work, with_signature=True))
        spark_version = spark.version
        spark.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)

    measured: list[tuple[str, int, list[float]]] = [
        ("plain mapInArrow identity pass (read, write Parquet)", args.rows, plain_times),
        ("sigbatch job (identity model, quarantine on)", args.rows, sig_times),
    ]
    if args.breakdown:
        assert core_seconds is not None  # measured whenever the breakdown is
        measured += [
            ("(breakdown) sigbatch job, one-column signature (id)", args.rows, extra["id"]),
            (
                "(breakdown) sigbatch job through the local checkpoint (spark.inline_quarantine_mb=0)",
                args.rows,
                extra["checkpoint"],
            ),
            ("(breakdown) combined frame written once, partitioned by kind", args.rows, extra["partitioned"]),
            ("(breakdown) core score_combined alone, one process, no Spark", args.rows, [core_seconds]),
        ]
    if not args.skip_mlflow:
        measured += [
            ("MLflow spark_udf, no signature (clean rows)", args.mlflow_rows, mlflow["without"]),
            ("MLflow spark_udf with signature (clean rows)", args.mlflow_rows, mlflow["with"]),
        ]
    stats = {label: (statistics.median(t), min(t)) for label, _, t in measured}
    rows_of = {label: n for label, n, _ in measured}

    def rate(label: str, which: int) -> float:
        return rows_of[label] / stats[label][which]

    plain_l, sig_l = measured[0][0], measured[1][0]
    pairs = sorted(b / a for a, b in zip(plain_times, sig_times, strict=True))
    ratios = [
        (
            "sigbatch job time / plain pass time",
            [stats[sig_l][i] / stats[plain_l][i] for i in (0, 1)],
            "<= 1.3x",
        ),
        (
            "the same, each sigbatch run / the plain run just before it (median, lowest pair)",
            [statistics.median(pairs), pairs[0]],
            "(information)",
        ),
        (
            "sigbatch CPU seconds / plain pass CPU seconds (driver, JVM, Python workers)",
            [statistics.median(sig_cpu) / statistics.median(plain_cpu), min(sig_cpu) / min(plain_cpu)],
            "(information)",
        ),
    ]
    if not args.skip_mlflow:
        with_l, without_l = measured[-1][0], measured[-2][0]
        ratios += [
            (
                "sigbatch rows/s / MLflow spark_udf with signature rows/s",
                [rate(sig_l, i) / rate(with_l, i) for i in (0, 1)],
                ">= 20x",
            ),
            (
                "MLflow rows/s without signature / with signature",
                [rate(without_l, i) / rate(with_l, i) for i in (0, 1)],
                "(information)",
            ),
        ]
    info = bench.machine()
    info["spark"] = spark_version
    info["load average (1/5/15 min) before the timed runs"] = load_before
    info["data"] = (
        f"{args.rows:,} rows in {args.files} Parquet files ({lake_mb:.1f} MB), {expected_bad:,} bad"
    )
    info["sigbatch counts"] = (
        f"in {counts.rows_in:,}, scored {counts.rows_scored:,}, quarantined {counts.rows_quarantined:,} "
        f"{dict(counts.quarantined_by_code)}"
    )
    info["CPU seconds per run (plain; sigbatch)"] = (
        ", ".join(f"{c:.2f}" for c in plain_cpu) + "; " + ", ".join(f"{c:.2f}" for c in sig_cpu)
    )
    info["sigbatch phases (last run, s)"] = ", ".join(
        f"{k} {v:.2f}" for k, v in manifests[-1].timings.items()
    )

    lines = []
    if args.markdown:
        lines += [
            "| measurement | rows | median s | best s | runs (s) | rows/s (median) | rows/s (best) |",
            "|---|---:|---:|---:|---|---:|---:|",
        ]
        for label, n, times in measured:
            med, best = stats[label]
            runs = ", ".join(f"{t:.2f}" for t in times)
            lines.append(
                f"| {label} | {n:,} | {med:.2f} | {best:.2f} | {runs} | {n / med:,.0f} | {n / best:,.0f} |"
            )
        lines += ["", "| ratio | median | best | target |", "|---|---:|---:|---|"]
        lines += [f"| {label} | {v[0]:.2f}x | {v[1]:.2f}x | {target} |" for label, v, target in ratios]
        lines += [""] + [f"- {k}: {v}" for k, v in info.items()]
    else:
        for label, n, _ in measured:
            med, best = stats[label]
            lines.append(
                f"{label:<62} {n:>9,} rows  median {med:7.2f} s  best {best:7.2f} s  {n / med:>10,.0f} rows/s"
            )
        lines += [
            f"{label}: median {v[0]:.2f}x, best {v[1]:.2f}x (target {target})" for label, v, target in ratios
        ]
        lines += [f"{k}: {v}" for k, v in info.items()]
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
