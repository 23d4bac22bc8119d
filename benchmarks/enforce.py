"""Enforcement throughput: sigbatch versus MLflow versus a bare pyarrow anchor (issue 3).

Generates a batch shaped like the seed's nested example (strings, longs, doubles, a datetime,
Array(string), Object with a required and two optional properties), injects a fraction of bad rows
that survive Arrow typing, writes it to Parquet in a temporary directory, then measures in this
one process:

1. sigbatch: ``sigbatch.enforce(table, schema)`` on the table in memory, and Parquet read + enforce;
2. the pyarrow anchor: Parquet read + a validity check of the same columns with
   ``pyarrow.compute`` + split into good/bad rows with ``Table.filter`` (no reasons, no casts);
3. MLflow: a pyfunc ``PythonModel`` that returns its input, saved with and without the signature;
   ``predict`` on the clean rows as the pandas frame MLflow users hand it (``to_pandas()``, nested
   columns as Python lists/dicts). Enforcement time = with-signature time - without-signature time.
   MLflow runs on the clean rows only: one bad row makes it refuse the whole batch.

Every figure is reported as rows/s, so ``--mlflow-rows`` (an MLflow subsample) stays comparable.

Run from a file (not ``python -c``): importing MLflow imports ``pyspark.sql.connect``.

    python benchmarks/enforce.py                      # 100,000 rows, 1% bad
    python benchmarks/enforce.py --mlflow-rows 20000 --markdown
    python benchmarks/enforce.py --profile 15 --skip-mlflow
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import os
import pstats
import statistics
import sys
import tempfile
import time
import warnings
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

import sigbatch

# The signature, as MLflow writes it: both sigbatch and MLflow read this same text.
SIGNATURE_INPUTS = (
    '[{"type": "long", "name": "id", "required": true}, '
    '{"type": "string", "name": "name", "required": false}, '
    '{"type": "double", "name": "score", "required": true}, '
    '{"type": "double", "name": "flag", "required": true}, '
    '{"type": "datetime", "name": "ts", "required": true}, '
    '{"type": "array", "items": {"type": "string"}, "name": "tags", "required": true}, '
    '{"type": "object", "properties": {'
    '"d": {"type": "string", "required": true}, '
    '"e": {"type": "string", "required": false}, '
    '"n": {"type": "long", "required": false}}, "name": "attrs", "required": true}]'
)

# Bad-row kinds. Each survives Arrow typing (the column types stay what the signature expects) and
# each makes MLflow refuse a batch containing that row.
BAD_KINDS = {
    "attrs_d_null": "null in the required nested property attrs.d",
    "tags_null": "null tag list (required Array(string))",
    "attrs_null": "null required object attrs",
    "id_null": "null in the required long column id (pandas makes it float64)",
    "flag_not_01": "long value other than 0/1 where the signature says double (MLflow converts only 0/1)",
}

VOCAB = np.array([f"tag{i:03d}" for i in range(200)], dtype=object)


# ---------------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------------


def make_table(rows: int, bad_fraction: float, seed: int) -> tuple[pa.Table, np.ndarray, np.ndarray]:
    """A seed-shaped table, the mask of injected bad rows and each row's kind (-1 for clean)."""
    rng = np.random.default_rng(seed)
    n_bad = round(rows * bad_fraction)
    bad_rows = np.sort(rng.choice(rows, size=n_bad, replace=False)) if n_bad else np.array([], np.int64)
    kind = np.full(rows, -1, dtype=np.int64)
    kind[bad_rows] = np.arange(n_bad) % len(BAD_KINDS)  # the kinds in equal shares
    kinds = list(BAD_KINDS)

    def is_kind(name: str) -> np.ndarray:
        return kind == kinds.index(name)

    ids = np.arange(rows, dtype=np.int64) + 1_000_000
    id_arr = pa.array(ids, pa.int64(), mask=is_kind("id_null"))

    names = np.array([f"user_{i}" for i in rng.integers(0, 50_000, rows)], dtype=object)
    name_arr = pa.array(names, pa.string(), mask=rng.random(rows) < 0.05)  # optional: 5% nulls

    score = pa.array(rng.normal(50.0, 15.0, rows), pa.float64())

    flag = rng.integers(0, 2, rows).astype(np.int64)
    flag[is_kind("flag_not_01")] = rng.integers(2, 1000, int(is_kind("flag_not_01").sum()))
    flag_arr = pa.array(flag, pa.int64())

    start = np.datetime64("2026-01-01T00:00:00", "us")
    ts = start + rng.integers(0, 300 * 86_400 * 1_000_000, rows).astype("timedelta64[us]")
    ts_arr = pa.array(ts, pa.timestamp("us"))

    lengths = rng.integers(0, 6, rows)
    # a null list has no elements behind it, as a Parquet read gives it (sigbatch 0.1.0 crashes on
    # null list slots backed by elements: flatten() and list_parent_indices() disagree)
    lengths[is_kind("tags_null")] = 0
    offsets = np.zeros(rows + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    values = pa.array(VOCAB[rng.integers(0, len(VOCAB), int(offsets[-1]))], pa.string())
    tags_arr = pa.ListArray.from_arrays(
        pa.array(offsets, pa.int32()), values, mask=pa.array(is_kind("tags_null"))
    )

    d = np.array([f"d{i}" for i in rng.integers(0, 1000, rows)], dtype=object)
    d_arr = pa.array(d, pa.string(), mask=is_kind("attrs_d_null"))
    e = np.array([f"e{i}" for i in rng.integers(0, 100, rows)], dtype=object)
    e_arr = pa.array(e, pa.string(), mask=rng.random(rows) < 0.3)  # optional: 30% nulls
    n_arr = pa.array(rng.integers(-(10**6), 10**6, rows), pa.int64(), mask=rng.random(rows) < 0.3)
    attrs_arr = pa.StructArray.from_arrays(
        [d_arr, e_arr, n_arr], names=["d", "e", "n"], mask=pa.array(is_kind("attrs_null"))
    )

    table = pa.table(
        {
            "id": id_arr,
            "name": name_arr,
            "score": score,
            "flag": flag_arr,
            "ts": ts_arr,
            "tags": tags_arr,
            "attrs": attrs_arr,
        }
    )
    return table, kind >= 0, kind


# ---------------------------------------------------------------------------------------------
# The bare pyarrow anchor
# ---------------------------------------------------------------------------------------------


def anchor_check(table: pa.Table) -> tuple[pa.Table, pa.Table, np.ndarray]:
    """Validity check of the same columns with pyarrow.compute, then the split with Table.filter.

    Checks what a hand-written job would check for this signature: required columns and the
    required nested field are not null, the long column that the signature calls double holds 0/1.
    No reasons, no casts, no per-value MLflow rules.
    """
    attrs = table.column("attrs")
    ok = pc.and_(table.column("id").is_valid(), table.column("score").is_valid())
    ok = pc.and_(ok, table.column("ts").is_valid())
    ok = pc.and_(ok, table.column("tags").is_valid())
    ok = pc.and_(ok, attrs.is_valid())
    ok = pc.and_(ok, pc.fill_null(pc.struct_field(attrs, "d").is_valid(), False))
    ok = pc.and_(ok, pc.fill_null(pc.is_in(table.column("flag"), pa.array([0, 1], pa.int64())), False))
    good = table.filter(ok)
    bad = table.filter(pc.invert(ok))
    return good, bad, np.asarray(ok)


# ---------------------------------------------------------------------------------------------
# Timing helpers
# ---------------------------------------------------------------------------------------------


def timed(fn: Any, repeat: int) -> tuple[list[float], Any]:
    """Wall times of ``repeat`` calls of ``fn`` (GC collected before, disabled during each)."""
    times = []
    out = None
    for _ in range(repeat):
        gc.collect()
        gc.disable()
        try:
            t0 = time.perf_counter()
            out = fn()
            times.append(time.perf_counter() - t0)
        finally:
            gc.enable()
    return times, out


# ---------------------------------------------------------------------------------------------
# MLflow
# ---------------------------------------------------------------------------------------------


def mlflow_frame(clean: pa.Table) -> Any:
    """The frame MLflow users hand it: ``to_pandas()``, nested columns as Python lists and dicts."""
    import pandas as pd

    df = clean.to_pandas()
    for name in ("tags", "attrs"):
        df[name] = pd.Series(clean.column(name).to_pylist(), dtype=object, index=df.index)
    return df


def mlflow_models(workdir: Path) -> tuple[Any, Any]:
    """Identity pyfunc models saved with and without the signature, loaded back."""
    import mlflow.pyfunc
    from mlflow.models import ModelSignature
    from mlflow.types import Schema as MlflowSchema

    class Identity(mlflow.pyfunc.PythonModel):  # type: ignore[name-defined]
        def predict(self, context, model_input, params=None):  # type: ignore[no-untyped-def]
            return model_input

    signature = ModelSignature(inputs=MlflowSchema.from_json(SIGNATURE_INPUTS))
    with_sig = workdir / "with_signature"
    without_sig = workdir / "without_signature"
    # pip_requirements=[]: skip MLflow's requirement inference (a subprocess), irrelevant here
    mlflow.pyfunc.save_model(str(with_sig), python_model=Identity(), signature=signature, pip_requirements=[])
    mlflow.pyfunc.save_model(str(without_sig), python_model=Identity(), pip_requirements=[])
    m_with = mlflow.pyfunc.load_model(str(with_sig))
    m_without = mlflow.pyfunc.load_model(str(without_sig))
    assert m_with.metadata.signature is not None and m_without.metadata.signature is None
    return m_with, m_without


def mlflow_refuses(model: Any, table: pa.Table, kind: np.ndarray) -> dict[str, bool]:
    """For one row of each bad kind: does MLflow refuse a batch of that row plus two clean rows?"""
    out = {}
    clean_rows = np.flatnonzero(kind < 0)[:2]
    for k, name in enumerate(BAD_KINDS):
        rows = np.flatnonzero(kind == k)
        if not len(rows):
            continue
        sample = table.take(pa.array(np.concatenate([clean_rows, rows[:1]])))
        try:
            model.predict(mlflow_frame(sample))
            out[name] = False
        except Exception:  # MLflow raises MlflowException
            out[name] = True
    return out


# ---------------------------------------------------------------------------------------------
# Profile
# ---------------------------------------------------------------------------------------------


def _short(file: str) -> str:
    for marker in ("site-packages/", "/sigbatch/"):
        if marker in file:
            rest = file.split(marker, 1)[1]
            return ("sigbatch/" + rest) if marker == "/sigbatch/" else rest
    return os.path.basename(file)


def _label(key: tuple[str, int, str]) -> str:
    file, line, func = key
    return f"{_short(file)}:{line}({func})" if line else func


def print_profile(table: pa.Table, schema: Any, top: int, runs: int = 3) -> None:
    """cProfile ``runs`` in-memory enforce() calls (summed): top functions by own time (with their
    main caller) and sigbatch's functions by cumulative time. Times are per call (sum / runs).
    Profiling inflates Python-heavy code relative to time spent inside Arrow/numpy C calls."""
    prof = cProfile.Profile()
    for _ in range(runs):
        prof.enable()
        sigbatch.enforce(table, schema)
        prof.disable()
    raw = pstats.Stats(prof).stats  # type: ignore[attr-defined]
    stats = {
        k: (
            cc,
            nc // runs,
            tt / runs,
            ct / runs,
            {c: (v[0], v[1], v[2] / runs, v[3] / runs) for c, v in callers.items()},
        )
        for k, (cc, nc, tt, ct, callers) in raw.items()
    }
    total = max(ct for (_, _, _, ct, _) in stats.values())
    print()
    print(
        f"cProfile of sigbatch.enforce (in memory), mean of {runs} calls: {total:.3f} s per call under the profiler"
    )
    print(f"top {top} by own time:")
    print(f"  {'own s':>7s} {'cum s':>7s} {'calls':>7s}  function  <- main caller")
    rows = sorted(stats.items(), key=lambda kv: kv[1][2], reverse=True)[:top]
    for key, (_cc, nc, tt, ct, callers) in rows:
        caller = max(callers.items(), key=lambda kv: kv[1][3])[0] if callers else None
        via = f"  <- {_label(caller)}" if caller else ""
        print(f"  {tt:7.3f} {ct:7.3f} {nc:7d}  {_label(key)}{via}")
    print(f"top {top} sigbatch functions by cumulative time:")
    print(f"  {'cum s':>7s} {'share':>6s} {'calls':>7s}  function")
    own = [(k, v) for k, v in stats.items() if "/sigbatch/" in k[0]]
    for key, (_cc, nc, _tt, ct, _callers) in sorted(own, key=lambda kv: kv[1][3], reverse=True)[:top]:
        print(f"  {ct:7.3f} {ct / total:6.1%} {nc:7d}  {_label(key)}")


# ---------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------


def machine() -> dict[str, str]:
    import pandas as pd

    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = "?"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                ram = f"{int(line.split()[1]) / 1024**2:.1f} GiB"
    except OSError:
        pass
    info = {
        "cpus (os.cpu_count)": str(os.cpu_count()),
        "cpu": cpu,
        "ram": ram,
        "python": sys.version.split()[0],
        "sigbatch": sigbatch.__version__,
        "pyarrow": pa.__version__,
        "pandas": pd.__version__,
        "numpy": np.__version__,
        "pyarrow cpu_count": str(pa.cpu_count()),
        "load average (1/5/15 min) at report": " / ".join(f"{x:.2f}" for x in os.getloadavg()),
    }
    try:  # read-only git queries: which sigbatch code was measured
        import subprocess

        repo = Path(sigbatch.__file__).resolve().parent.parent
        head = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no", "--", "sigbatch"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        info["sigbatch commit"] = head + (" + uncommitted changes under sigbatch/" if dirty else "")
    except Exception:
        info["sigbatch commit"] = "?"
    try:
        from importlib.metadata import version

        info["mlflow"] = version("mlflow")
    except Exception:
        info["mlflow"] = "not installed"
    return info


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--rows", type=int, default=100_000, help="rows in the batch (default 100000)")
    p.add_argument("--bad-fraction", type=float, default=0.01, help="fraction of bad rows (default 0.01)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument(
        "--mlflow-rows",
        type=int,
        default=None,
        help="run MLflow on the first N clean rows only (default: all clean rows)",
    )
    p.add_argument(
        "--repeat", type=int, default=9, help="repetitions of the sigbatch/pyarrow timings (median)"
    )
    p.add_argument("--mlflow-repeat", type=int, default=1, help="repetitions of the MLflow timings (median)")
    p.add_argument(
        "--threads",
        type=int,
        default=None,
        help="pyarrow CPU and I/O thread count (default: pyarrow's own, = number of cores)",
    )
    p.add_argument("--skip-mlflow", action="store_true", help="do not measure MLflow")
    p.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="N",
        help="also cProfile sigbatch enforce() (see --profile-runs) and print the top N functions",
    )
    p.add_argument("--profile-runs", type=int, default=3, help="enforce() calls to profile (default 3)")
    p.add_argument("--markdown", action="store_true", help="also print the results as a Markdown table")
    args = p.parse_args(argv)

    warnings.filterwarnings("ignore")
    if args.threads:
        pa.set_cpu_count(args.threads)
        pa.set_io_thread_count(args.threads)

    # -- data --------------------------------------------------------------------------------
    t0 = time.perf_counter()
    table, bad_mask, kind = make_table(args.rows, args.bad_fraction, args.seed)
    schema = sigbatch.Schema.from_json(SIGNATURE_INPUTS)
    tmp = tempfile.TemporaryDirectory(prefix="sigbatch-bench-")
    workdir = Path(tmp.name)
    parquet_path = workdir / "batch.parquet"
    pq.write_table(table, parquet_path)
    n = table.num_rows
    n_bad = int(bad_mask.sum())
    print(
        f"data: {n:,} rows, {n_bad:,} bad ({n_bad / n:.2%}), {parquet_path.stat().st_size / 1e6:.1f} MB Parquet, "
        f"generated in {time.perf_counter() - t0:.1f} s"
    )
    print("bad kinds: " + ", ".join(f"{k}={int((kind == i).sum())}" for i, k in enumerate(BAD_KINDS)))

    def read() -> pa.Table:
        return pq.read_table(parquet_path)

    # warm the page cache and the code paths once, untimed
    warm = read().slice(0, 1000)
    sigbatch.enforce(warm, schema)
    anchor_check(warm)

    # -- correctness: sigbatch and the anchor quarantine exactly the injected rows -------------
    mem_table = read()
    result = sigbatch.enforce(mem_table, schema)
    _, _, anchor_ok = anchor_check(mem_table)
    sb_bad = ~result.valid_mask
    if not np.array_equal(sb_bad, bad_mask):
        print(
            f"WARNING: sigbatch quarantined {int(sb_bad.sum())} rows, injected {n_bad}; "
            f"{int((sb_bad & ~bad_mask).sum())} unexpected, {int((bad_mask & ~sb_bad).sum())} missed"
        )
    if not np.array_equal(~anchor_ok, bad_mask):
        print("WARNING: the pyarrow anchor's bad rows differ from the injected ones")
    codes = Counter(r.code.value for rs in result.reasons.values() for r in rs)
    print(
        f"sigbatch: {result.n_valid:,} valid, {result.n_quarantined:,} quarantined; reason codes {dict(codes)}"
    )

    # -- timings ---------------------------------------------------------------------------------
    results: dict[str, dict[str, float]] = {}

    def record(label: str, times: list[float], rows: int) -> None:
        med = statistics.median(times)
        results[label] = {"seconds": med, "best": min(times), "rows": rows}

    times, _ = timed(lambda: sigbatch.enforce(mem_table, schema), args.repeat)
    record("sigbatch enforce (in memory)", times, n)
    clean_table = mem_table.filter(pa.array(~bad_mask))
    times, _ = timed(lambda: sigbatch.enforce(clean_table, schema), args.repeat)
    record("sigbatch enforce, clean rows only (in memory)", times, clean_table.num_rows)
    times, _ = timed(lambda: sigbatch.enforce(read(), schema), args.repeat)
    record("sigbatch read + enforce", times, n)
    times, _ = timed(lambda: anchor_check(mem_table), args.repeat)
    record("pyarrow check + split (in memory)", times, n)
    times, _ = timed(lambda: anchor_check(read()), args.repeat)
    record("pyarrow read + check + split", times, n)
    times, _ = timed(read, args.repeat)
    record("pyarrow read only", times, n)

    mlflow_note = ""
    refusals: dict[str, bool] = {}
    if not args.skip_mlflow:
        m_with, m_without = mlflow_models(workdir)
        clean = mem_table.filter(pa.array(~bad_mask))
        if args.mlflow_rows is not None and args.mlflow_rows < clean.num_rows:
            clean = clean.slice(0, args.mlflow_rows)
            mlflow_note = f" (subsample of {clean.num_rows:,} clean rows)"
        m_n = clean.num_rows
        # warm up both models on a small frame (first-call imports and caches)
        m_with.predict(mlflow_frame(clean.slice(0, 100)))
        m_without.predict(mlflow_frame(clean.slice(0, 100)))
        refusals = mlflow_refuses(m_with, mem_table, kind)
        with_times: list[float] = []
        without_times: list[float] = []
        for _ in range(args.mlflow_repeat):
            # a fresh frame per call: MLflow's object enforcement rewrites the dicts in place
            frame = mlflow_frame(clean)
            t, _ = timed(lambda: m_without.predict(frame), 1)  # noqa: B023
            without_times += t
            frame = mlflow_frame(clean)
            t, out = timed(lambda: m_with.predict(frame), 1)  # noqa: B023
            with_times += t
            assert len(out) == m_n
            del frame, out
        record("mlflow predict without signature", without_times, m_n)
        record("mlflow predict with signature", with_times, m_n)
        enf = statistics.median(with_times) - statistics.median(without_times)
        results["mlflow enforcement (with - without)"] = {
            "seconds": enf,
            "best": min(with_times) - min(without_times),
            "rows": m_n,
        }

    # -- report ------------------------------------------------------------------------------
    def rate(label: str, stat: str) -> float:
        r = results[label]
        return r["rows"] / r[stat]

    # (label, numerator, denominator, target): throughput ratios, from the medians and the bests
    ratio_defs = [
        (
            "sigbatch enforce (in memory) / MLflow enforcement",
            "sigbatch enforce (in memory)",
            "mlflow enforcement (with - without)",
            ">= 100x",
        ),
        (
            "sigbatch read+enforce / MLflow enforcement",
            "sigbatch read + enforce",
            "mlflow enforcement (with - without)",
            ">= 100x",
        ),
        (
            "sigbatch read+enforce / pyarrow read+check+split",
            "sigbatch read + enforce",
            "pyarrow read + check + split",
            ">= 0.20x (within 5x)",
        ),
        (
            "sigbatch enforce / pyarrow check+split (both in memory)",
            "sigbatch enforce (in memory)",
            "pyarrow check + split (in memory)",
            "(information)",
        ),
    ]
    ratios = [
        (label, rate(a, "seconds") / rate(b, "seconds"), rate(a, "best") / rate(b, "best"), target)
        for label, a, b, target in ratio_defs
        if a in results and b in results
    ]

    def note(label: str) -> str:
        return mlflow_note if label.startswith("mlflow") else ""

    print()
    print(
        f"{'measurement':48s} {'rows':>9s} {'median s':>9s} {'best s':>9s} {'rows/s (median)':>16s} {'rows/s (best)':>14s}"
    )
    for label, r in results.items():
        print(
            f"{label:48s} {int(r['rows']):9,d} {r['seconds']:9.4f} {r['best']:9.4f} "
            f"{rate(label, 'seconds'):16,.0f} {rate(label, 'best'):14,.0f}{note(label)}"
        )
    print()
    print(f"{'throughput ratio':58s} {'median':>9s} {'best':>9s}  target")
    for label, med, best, target in ratios:
        print(f"{label:58s} {med:8.2f}x {best:8.2f}x  {target}")
    if refusals:
        print()
        print(
            "MLflow refuses a batch holding one row of each bad kind: "
            + ", ".join(f"{k}={'yes' if v else 'NO'}" for k, v in refusals.items())
        )

    if args.markdown:
        print()
        print("| measurement | rows | median s | best s | rows/s (median) | rows/s (best) |")
        print("|---|---:|---:|---:|---:|---:|")
        for label, r in results.items():
            print(
                f"| {label}{note(label)} | {int(r['rows']):,} | {r['seconds']:.4f} | {r['best']:.4f} | "
                f"{rate(label, 'seconds'):,.0f} | {rate(label, 'best'):,.0f} |"
            )
        print()
        print("| throughput ratio | median | best | target |")
        print("|---|---:|---:|---|")
        for label, med, best, target in ratios:
            print(f"| {label} | {med:.2f}x | {best:.2f}x | {target} |")
        print()
        print("| machine | |")
        print("|---|---|")
        for k, v in machine().items():
            print(f"| {k} | {v} |")
    else:
        print()
        print("machine: " + "; ".join(f"{k} {v}" for k, v in machine().items()))

    if args.profile:
        print_profile(mem_table, schema, args.profile, args.profile_runs)

    tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
