"""Dask scoring on the threads scheduler: one graph, exact meta, the job's sources, outputs and manifest."""

from __future__ import annotations

import json
import threading
from collections import Counter
from pathlib import Path

import dask
import dask.dataframe as dd
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest

from sigbatch import Array, ColSpec, ModelSignature, Object, Property, Schema, SchemaMismatchError
from sigbatch.dask import run_scoring, score
from sigbatch.errors import ConfigError
from sigbatch.manifest import AccountingError, read_manifest
from tests.cases.score_cases import CASES, SEED_INPUTS, seed_table
from tests.jobs import job_config

pytestmark = pytest.mark.dask

SEED_SIG = ModelSignature(SEED_INPUTS, Schema([ColSpec("double", "score")]))
TAGS = "python:sigbatch.examples.models:tag_counter"

# A model that counts how often it sees each id (the threads scheduler shares this process).
CALLS: Counter[int] = Counter()
_CALLS_LOCK = threading.Lock()


def counting_model(frame: pd.DataFrame) -> pd.Series:
    """Score = id; remembers every id it was called with."""
    with _CALLS_LOCK:
        CALLS.update(int(i) for i in frame["id"])
    return frame["id"].astype("float64").rename("score")


def _arrow_frame(table: pa.Table, npartitions: int = 2) -> dd.DataFrame:
    return dd.from_pandas(table.to_pandas(types_mapper=pd.ArrowDtype), npartitions=npartitions)


def _clean_table(n: int) -> pa.Table:
    return pa.table({"id": pa.array(range(n), pa.int64()), "x": pa.array([float(i) for i in range(n)])})


ID_SIG = ModelSignature(
    Schema([ColSpec("long", "id"), ColSpec("double", "x")]), Schema([ColSpec("double", "score")])
)


def test_scored_and_quarantine_share_one_scoring_pass():
    """Computing both outputs together runs the model once per row, not once per output."""
    CALLS.clear()
    scored, quarantine = score(_arrow_frame(_clean_table(50), 4), counting_model, ID_SIG)
    s, q = dask.compute(scored, quarantine, scheduler="threads")
    assert len(s) == 50 and len(q) == 0
    assert CALLS == Counter(range(50))


def test_meta_matches_every_partition():
    """The declared meta of both outputs is exactly the dtypes of the computed partitions."""
    for case in CASES:
        scored, quarantine = score(
            _arrow_frame(case["table"]()),
            case["model"],
            case["signature"],
            profile=case.get("profile", "mlflow"),
        )
        s, q = dask.compute(scored, quarantine, scheduler="threads")
        assert s.dtypes.to_dict() == scored._meta.dtypes.to_dict()
        assert q.dtypes.to_dict() == quarantine._meta.dtypes.to_dict()
        if case["id"] == "scalar_faults":  # no output schema: an optional prediction
            assert str(scored._meta.dtypes["prediction"]) == "double[pyarrow]"
        assert quarantine._meta.dtypes["_sigbatch_row"] == pd.ArrowDtype(pa.int64())


def test_required_prediction_gets_the_numpy_dtype_and_sources_keep_theirs():
    """A required double prediction is float64 (as to_meta says); source columns keep their dtypes."""
    scored, quarantine = score(_arrow_frame(seed_table()), TAGS, SEED_SIG)
    assert scored._meta.dtypes["score"] == "float64"
    assert scored._meta.dtypes["c"] == pd.ArrowDtype(seed_table().schema.field("c").type)
    assert list(quarantine.columns) == [
        "id",
        "a",
        "b",
        "c",
        "_sigbatch_errors",
        "_sigbatch_stage",
        "_sigbatch_row",
    ]


def test_numpy_and_object_columns_round_trip():
    """Plain pandas input (numpy and object columns) scores and comes back in the same dtypes."""
    frame = pd.DataFrame({"id": [1, 2, 3, 4], "tags": [["a"], ["b", "c"], None, []]})
    sig = ModelSignature(Schema([ColSpec("long", "id"), ColSpec(Array("string"), "tags")]))
    with dask.config.set({"dataframe.convert-string": False}):  # keep the lists an object column
        ddf = dd.from_pandas(frame, npartitions=2)
    scored, quarantine = score(ddf, lambda df: df["id"] * 2.0, sig)
    s, q = dask.compute(scored, quarantine, scheduler="threads")
    assert (
        s.dtypes.to_dict()
        == scored._meta.dtypes.to_dict()
        == {"id": "int64", "tags": "object", "prediction": "double[pyarrow]"}
    )
    assert sorted(s["id"]) == [1, 2, 4] and q["id"].tolist() == [3]
    assert sorted(map(list, s["tags"])) == [[], ["a"], ["b", "c"]]


def test_rows_without_offsets_are_unique_across_partitions():
    """Without known partition lengths, _sigbatch_row is still unique (partition in the high bits)."""
    table = pa.table(
        {"id": pa.array(range(6), pa.int64()), "x": pa.array([None, 1.0, None, None, 2.0, None])}
    )
    _, quarantine = score(_arrow_frame(table, 3), counting_model, ID_SIG, profile="strict")
    bad = quarantine.compute(scheduler="threads")
    # three partitions of two rows: the partition number above bit 33, the position below
    assert bad["id"].tolist() == [0, 2, 3, 5]
    assert bad["_sigbatch_row"].tolist() == [0, 1 << 33, (1 << 33) + 1, (2 << 33) + 1]


def test_keep_columns_and_preflight():
    """keep_columns narrows the scored rows; a missing required column fails before any work."""
    scored, quarantine = score(_arrow_frame(seed_table()), TAGS, SEED_SIG, keep_columns=["id"])
    assert list(scored.columns) == ["id", "score"]
    assert "a" in quarantine.columns
    with pytest.raises(SchemaMismatchError, match="required column 'a' is absent"):
        score(_arrow_frame(seed_table().drop_columns(["a"])), TAGS, SEED_SIG)
    with pytest.raises(ConfigError) as info:
        score(_arrow_frame(seed_table()), TAGS, SEED_SIG, keep_columns=["nope"])
    assert str(info.value) == "keep_columns: ['nope'] not in the source columns ['id', 'a', 'b', 'c']"
    with pytest.raises(ConfigError) as info:
        score(_arrow_frame(seed_table()), TAGS, SEED_SIG, keep_columns="id")
    assert str(info.value) == "keep_columns must be a list of column names, got str 'id'"


# --- the job -----------------------------------------------------------------------------------


def _write_seed_lake(root: Path, fmt: str) -> Path:
    """The seed case's ten rows three times over, in three files of the given format."""
    lake = root / f"lake-{fmt}"
    lake.mkdir()
    for i in range(3):
        t = seed_table()
        t = t.set_column(0, "id", pa.array([v + 10 * i for v in t.column("id").to_pylist()], pa.int64()))
        if fmt == "parquet":
            pq.write_table(t, lake / f"part-{i}.parquet")
        elif fmt == "json":
            rows = t.to_pylist()
            if i == 1:  # this file never mentions c.z: the files' schemas are unified by name
                for r in rows:
                    if r["c"] is not None:
                        r["c"].pop("z")
                rows = [r for r in rows if r["id"] != 16]
            (lake / f"part-{i}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
        else:
            ids = t.column("id").to_pylist()
            n = pa.array([v if v % 4 else None for v in ids], pa.int64())
            flat = pa.table({"id": t.column("id"), "n": n, "x": pa.array([v + 0.5 for v in ids])})
            pcsv.write_csv(flat, lake / f"part-{i}.csv")
    (lake / "_SUCCESS").write_text("")
    return lake


def _config(
    lake: Path, out: Path, fmt: str, *extra: str, signature: ModelSignature = SEED_SIG, model: str = TAGS
):
    return job_config(
        out.parent, lake, fmt, signature, "progress=false", *extra, model=model, output=out.name
    )


@pytest.mark.parametrize("fmt", ["parquet", "json"])
def test_job_writes_both_outputs_and_an_exact_manifest(tmp_path, fmt):
    """The job's counts come from the written files and add up; rows keep their source positions."""
    lake = _write_seed_lake(tmp_path, fmt)
    out = tmp_path / "out"
    manifest = run_scoring(_config(lake, out, fmt))
    n = 29 if fmt == "json" else 30
    assert manifest.counts.rows_in == n
    assert manifest.counts.rows_scored + manifest.counts.rows_quarantined == n
    assert read_manifest(out).counts == manifest.counts and manifest.engine == "dask"
    scored, quarantine = pq.read_table(out / "scored"), pq.read_table(out / "quarantine")
    assert sorted(scored.column("id").to_pylist()) == sorted(
        i + 10 * k for k in range(3) for i in (0, 1, 2, 9) if i + 10 * k != 16
    )
    assert scored.schema.field("score").type == pa.float64()
    # the quarantine keeps the source's types (c is the unified struct, with z) and the reasons
    assert quarantine.schema.field("c").type.get_field_index("z") >= 0
    invalid_object = 2 if fmt == "json" else 3  # the JSON lake dropped row 16, the third c.z row
    assert manifest.counts.quarantined_by_code == {
        "INVALID_OBJECT": invalid_object,
        "MODEL_ERROR": 3,
        "NULL_REQUIRED": 12,
    }
    # as on Spark: the quarantine names each row's file, split offset and index in the file
    assert quarantine.column_names[-5:] == [
        "_sigbatch_errors",
        "_sigbatch_stage",
        "_sigbatch_row",
        "_sigbatch_file",
        "_sigbatch_file_offset",
    ]
    assert "_sigbatch_file" not in scored.column_names
    for row in quarantine.to_pylist():
        source = (
            pq.read_table(row["_sigbatch_file"])
            if fmt == "parquet"
            else pa.Table.from_pylist(
                [json.loads(line) for line in Path(row["_sigbatch_file"]).read_text().splitlines()]
            )
        )
        assert row["_sigbatch_file_offset"] == 0
        assert source.column("id")[row["_sigbatch_row"]].as_py() == row["id"]
    assert not [p for p in out.iterdir() if p.name.startswith("_sigbatch_tmp")]


def test_processes_scheduler_writes_what_threads_write(tmp_path):
    """The processes scheduler (one task per piece) writes the same rows, reasons and counts as threads."""
    lake = _write_seed_lake(tmp_path, "parquet")
    outputs = {}
    for scheduler in ("threads", "processes"):
        out = tmp_path / scheduler
        manifest = run_scoring(_config(lake, out, "parquet", f"dask.scheduler={scheduler}"))
        tables = {name: pq.read_table(out / name).sort_by("id") for name in ("scored", "quarantine")}
        outputs[scheduler] = (manifest.counts, tables["scored"].to_pylist(), tables["quarantine"].to_pylist())
    assert outputs["processes"] == outputs["threads"]
    assert outputs["threads"][0].rows_quarantined == 18


def test_csv_source_and_blocksize_split_jsonl(tmp_path):
    """CSV files are read as text (as Spark), or typed and unified across files with inferSchema;
    a small blocksize splits JSON lines."""
    lake = _write_seed_lake(tmp_path, "csv")
    sig = ModelSignature(Schema([ColSpec("long", "id"), ColSpec("long", "n"), ColSpec("double", "x")]))
    for name, extra in (("typed", "source.options={inferSchema: true}"), ("text", "profile=lenient")):
        m = run_scoring(
            _config(
                lake,
                tmp_path / f"csv-{name}",
                "csv",
                extra,
                signature=sig,
                model="python:tests.test_dask_score:counting_model",
            )
        )
        assert (m.counts.rows_in, m.counts.rows_quarantined) == (30, 8)
    jl = _write_seed_lake(tmp_path, "json")
    m = run_scoring(_config(jl, tmp_path / "jl-out", "json", "dask.blocksize=300B"))
    assert (m.counts.rows_in, m.counts.rows_scored, m.counts.rows_quarantined) == (29, 12, 17)
    assert m.counts.quarantined_by_stage == {"input": 14, "model": 3}
    assert m.counts.quarantined_by_code == {"INVALID_OBJECT": 2, "MODEL_ERROR": 3, "NULL_REQUIRED": 12}
    assert len(list((tmp_path / "jl-out" / "scored").glob("*.parquet"))) == 6
    # a row of a split is found from its file, the split's byte offset and its index in the split
    quarantine = pq.read_table(tmp_path / "jl-out" / "quarantine").to_pylist()
    split = sorted((r["id"], r["_sigbatch_file_offset"]) for r in quarantine if r["_sigbatch_file_offset"])
    assert split == [(5, 333), (6, 333), (7, 333), (8, 333), (17, 355), (18, 355)] + [
        (i, 338) for i in range(25, 29)
    ]
    for r in quarantine:
        with open(r["_sigbatch_file"], "rb") as f:
            f.seek(r["_sigbatch_file_offset"])
            lines = f.read().splitlines()
        assert json.loads(lines[r["_sigbatch_row"]])["id"] == r["id"]


def test_key_columns_replace_file_identity(tmp_path):
    """With output.key_columns the rows are identified by their keys: no file columns, keys kept first."""
    lake = _write_seed_lake(tmp_path, "parquet")
    m = run_scoring(
        _config(lake, tmp_path / "out", "parquet", "output.key_columns=[id]", "output.keep_columns=[b]")
    )
    assert m.counts.rows_in == 30
    scored, quarantine = (
        pq.read_table(tmp_path / "out" / "scored"),
        pq.read_table(tmp_path / "out" / "quarantine"),
    )
    assert scored.column_names == ["id", "b", "score"]
    assert "_sigbatch_file" not in quarantine.column_names and "id" in quarantine.column_names


def test_null_keys_of_quarantined_rows_are_reported(tmp_path, capsys):
    """Quarantined rows whose key is null cannot be traced by key: the job says how many."""
    lake = _write_seed_lake(tmp_path, "parquet")
    run_scoring(_config(lake, tmp_path / "out", "parquet", "output.key_columns=[id, a]"))
    quarantine = pq.read_table(tmp_path / "out" / "quarantine")
    assert (quarantine.num_rows, quarantine.column("a").null_count) == (18, 6)  # ids 3 and 8 of each file
    assert (
        "sigbatch: warning: 6 quarantined row(s) have a null in output.key_columns ['id', 'a']"
        in capsys.readouterr().err
    )
    run_scoring(_config(lake, tmp_path / "out2", "parquet", "output.key_columns=[id]"))
    assert "output.key_columns" not in capsys.readouterr().err


def test_output_modes_and_fail_fast(tmp_path):
    """mode=error refuses an existing output; overwrite replaces it; preflight fails before writing."""
    lake = _write_seed_lake(tmp_path, "parquet")
    out = tmp_path / "out"
    run_scoring(_config(lake, out, "parquet"))
    with pytest.raises(ConfigError, match="already exists"):
        run_scoring(_config(lake, out, "parquet"))
    assert run_scoring(_config(lake, out, "parquet", "output.mode=overwrite")).counts.rows_in == 30
    bad = ModelSignature(Schema([ColSpec("long", "missing_col")]))
    with pytest.raises(SchemaMismatchError, match="missing_col"):
        run_scoring(_config(lake, tmp_path / "out2", "parquet", signature=bad))
    assert not (tmp_path / "out2" / "scored").exists()
    with pytest.raises(ConfigError, match="delta"):
        run_scoring(_config(lake, tmp_path / "out3", "parquet", "output.format=delta"))
    with pytest.raises(ConfigError, match="use the Spark engine for hdfs://"):
        run_scoring(_config(lake, tmp_path / "out4", "parquet", "output.path=s3a://bucket/out"))
    assert not Path("s3a:").exists()


def test_file_uris_are_local_source_and_output_paths(tmp_path):
    """A file: URI (file:///abs, percent-encoded, or file:/abs) names a local source and output, as
    `sigbatch infer` reads it; the job wrote nothing and called the source "not local"."""
    lake = _write_seed_lake(tmp_path, "parquet")
    run_scoring(_config(lake, tmp_path / "plain", "parquet"))
    expected = {
        name: pq.read_table(tmp_path / "plain" / name).sort_by("id") for name in ("scored", "quarantine")
    }
    for out, source, output in (
        (tmp_path / "out 1", lake.as_uri(), (tmp_path / "out 1").as_uri()),
        (tmp_path / "out2", f"file:{lake}", f"file:{tmp_path / 'out2'}"),
    ):
        manifest = run_scoring(
            _config(lake, out, "parquet", f"source.path={source}", f"output.path={output}")
        )
        assert (manifest.counts.rows_in, manifest.counts.rows_quarantined) == (30, 18)
        assert manifest.config["source.path"] == source and manifest.config["output.path"] == output
        for name, table in expected.items():
            assert pq.read_table(out / name).sort_by("id").equals(table)  # _sigbatch_file: the plain path
    with pytest.raises(ConfigError) as err:
        run_scoring(_config(lake, tmp_path / "out3", "parquet", "output.path=file://nas/out"))
    assert str(err.value) == (
        "output.path 'file://nas/out': the Dask engine writes to a local directory (or a mounted one); "
        "use the Spark engine for hdfs://, s3a:// and other filesystem URIs"
    )
    with pytest.raises(ConfigError) as err:
        run_scoring(_config(lake, tmp_path / "out4", "parquet", "source.path=file://nas/lake"))
    assert str(err.value) == (
        "source.path 'file://nas/lake': the Dask engine reads local paths only; copy the data locally "
        "or use the Spark engine"
    )


def test_failed_overwrite_keeps_the_earlier_outputs(tmp_path, monkeypatch):
    """An overwrite run that fails (here: interrupted while writing) leaves the earlier run's
    outputs and manifest as they were, and no staging directory."""
    import importlib

    dask_score = importlib.import_module("sigbatch.dask.score")
    lake = _write_seed_lake(tmp_path, "parquet")
    out = tmp_path / "out"
    first = run_scoring(_config(lake, out, "parquet"))
    before = sorted(str(p.relative_to(out)) for p in out.rglob("*"))

    def interrupted(source, layout, staging, **kwargs):
        (Path(staging) / "scored").mkdir(parents=True)
        (Path(staging) / "scored" / "part.00000.parquet").write_text("half written")
        raise KeyboardInterrupt

    monkeypatch.setattr(dask_score, "_job_tasks", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_scoring(_config(lake, out, "parquet", "output.mode=overwrite"))
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*")) == before
    assert read_manifest(out).job_id == first.job_id


def test_overwrite_whose_counts_do_not_add_up_keeps_the_earlier_run(tmp_path, monkeypatch):
    """The new outputs are counted in the staging directory before they replace the earlier run's:
    an AccountingError in an overwrite leaves the earlier outputs and manifest as they were."""
    import dataclasses

    import sigbatch.manifest as manifest_module

    lake = _write_seed_lake(tmp_path, "parquet")
    out = tmp_path / "out"
    first = run_scoring(_config(lake, out, "parquet"))
    before = {str(p.relative_to(out)): p.stat().st_size for p in out.rglob("*")}
    real_count = manifest_module.count_outputs
    counted = []

    def one_row_lost(output, rows_in):
        counted.append(Path(output).parent == out and Path(output).name.startswith("_sigbatch_tmp_"))
        counts = real_count(output, rows_in)
        return dataclasses.replace(counts, rows_scored=counts.rows_scored - 1)

    monkeypatch.setattr(manifest_module, "count_outputs", one_row_lost)
    with pytest.raises(AccountingError, match=r"\(\d+ rows? lost\)"):
        run_scoring(_config(lake, out, "parquet", "output.mode=overwrite"))
    assert counted == [True]
    assert {str(p.relative_to(out)): p.stat().st_size for p in out.rglob("*")} == before
    assert read_manifest(out).job_id == first.job_id


def interrupting_model(frame: pd.DataFrame) -> pd.Series:
    """Counts its calls; the first one is a Ctrl-C, the others take a while."""
    import time

    with _CALLS_LOCK:
        CALLS.update(["calls"])
        first = CALLS["calls"] == 1
    if first:
        raise KeyboardInterrupt
    with _CALLS_LOCK:
        CALLS.update(["running"])
    try:
        time.sleep(0.05)
        return frame["id"].astype("float64").rename("score")
    finally:
        with _CALLS_LOCK:
            CALLS.subtract(["running"])


def test_interrupt_stops_the_queued_partitions(tmp_path):
    """Ctrl-C during a threads job: the partitions not started yet are dropped, so the job stops
    within a partition's time (it used to score the whole lake in the background first)."""
    import time

    lake = tmp_path / "lake"
    lake.mkdir()
    for i in range(40):
        pq.write_table(
            pa.table({"id": pa.array([i], pa.int64()), "x": pa.array([1.0])}), lake / f"p{i:02d}.parquet"
        )
    CALLS.clear()
    config = _config(
        lake,
        tmp_path / "out",
        "parquet",
        "dask.workers=2",
        signature=ID_SIG,
        model="python:tests.test_dask_score:interrupting_model",
    )
    with pytest.raises(KeyboardInterrupt):
        run_scoring(config)
    # Wait until no model call runs and none starts for a while: what was still queued would have
    # run by then (40 partitions of 0.05 s on 2 threads), however slow the machine.
    seen, quiet_since = -1, time.monotonic()
    while time.monotonic() - quiet_since < 0.5:
        time.sleep(0.05)
        with _CALLS_LOCK:
            now, running = CALLS["calls"], CALLS["running"]
        if now != seen or running:
            seen, quiet_since = now, time.monotonic()
    assert CALLS["calls"] <= 4
    assert [p.name for p in (tmp_path / "out").iterdir()] == []


def test_job_scores_each_row_once(tmp_path):
    """The job writes both outputs from one compute: the model sees every row exactly once."""
    lake = tmp_path / "lake"
    lake.mkdir()
    for i in range(4):
        pq.write_table(
            pa.table({"id": pa.array(range(i * 25, i * 25 + 25), pa.int64()), "x": pa.array([1.0] * 25)}),
            lake / f"p{i}.parquet",
        )
    CALLS.clear()
    m = run_scoring(
        _config(
            lake,
            tmp_path / "out",
            "parquet",
            signature=ID_SIG,
            model="python:tests.test_dask_score:counting_model",
        )
    )
    assert m.counts.rows_scored == 100 and CALLS == Counter(range(100))


def test_score_keeps_the_source_index_so_results_join_back():
    """Both halves keep each row's source index (and the source's divisions stay true): a lookup by
    index finds the row, and a join on the index puts each prediction on its own record."""
    pdf = pd.DataFrame(
        {"id": pd.array([1, 2, 3, 4, 5, 6], dtype="int64"), "x": [1.0, 2.0, None, 4.0, 5.0, 6.0]},
        index=pd.Index([100, 101, 102, 103, 104, 105], name="cust"),
    )
    scored, quarantine = score(dd.from_pandas(pdf, npartitions=2), counting_model, ID_SIG, profile="strict")
    assert scored.divisions == (100, 103, 105)
    got, bad = dask.compute(scored, quarantine, scheduler="sync")
    assert got.index.tolist() == [100, 101, 103, 104, 105] and got.index.name == "cust"
    assert bad.index.tolist() == [102]
    joined = pdf.join(got[["score"]])
    assert joined["score"].tolist()[:2] == [1.0, 2.0] and joined["score"].isna().tolist()[2]
    assert scored.loc[104].compute(scheduler="sync")["score"].tolist() == [5.0]


def test_object_column_of_mixed_values_is_one_clear_error():
    """An object column whose values have no common Arrow type fails with an error naming it (it
    was pyarrow's own traceback)."""
    sig = ModelSignature(Schema([ColSpec("string", "s")]), Schema([ColSpec("double", "score")]))
    with dask.config.set({"dataframe.convert-string": False}):
        ddf = dd.from_pandas(pd.DataFrame({"s": pd.Series([3, "ok"], dtype=object)}), npartitions=1)
        scored, quarantine = score(ddf, lambda frame: pd.Series([1.0] * len(frame), name="score"), sig)
        with pytest.raises(SchemaMismatchError) as err:
            dask.compute(scored, quarantine, scheduler="sync")
    assert str(err.value) == (
        "column 's': its Python values have no common Arrow type in one partition (Could not convert 'ok' with "
        "type str: tried to convert to int64); the Dask engine scores Arrow columns, so give the column one "
        "type (or a pd.ArrowDtype), or score it with sigbatch.score_batch, which judges such values row by row"
    )


def test_a_partition_where_an_optional_property_is_always_null_is_scored():
    """An optional property that is None in every row of a partition (Arrow types it null) does not
    fail the job: the rows are scored, as score_batch scores them."""
    sig = ModelSignature(
        Schema([ColSpec(Object([Property("d", "string"), Property("e", "long", False)]), "obj")]),
        Schema([ColSpec("double", "score")]),
    )
    rows = [{"obj": {"d": "a", "e": None}}, {"obj": {"d": "b", "e": None}}, {"obj": {"d": "c", "e": 3}}]
    with dask.config.set({"dataframe.convert-string": False}):
        ddf = dd.from_pandas(pd.DataFrame(rows), npartitions=2)
        scored, quarantine = score(ddf, lambda frame: pd.Series([1.0] * len(frame), name="score"), sig)
        got, bad = dask.compute(scored, quarantine, scheduler="sync")
    assert (len(got), len(bad)) == (3, 0)


def test_a_map_column_of_python_dicts_is_scored_as_score_batch_scores_it():
    """Dicts with different keys in an object column under a Map signature: every row is scored as
    score_batch scores it, and the scored rows keep each dict as it was (no keys added)."""
    from sigbatch import Map, score_batch

    sig = ModelSignature(
        Schema([ColSpec(Map("long"), "mp"), ColSpec("long", "n")]), Schema([ColSpec("double", "score")])
    )
    pdf = pd.DataFrame({"mp": [{"k": 1}, {"a": 2}, {}, None], "n": [1, 2, 3, 4]})

    def model(frame):
        return pd.Series([float(len(m)) for m in frame["mp"]], name="score")

    with dask.config.set({"dataframe.convert-string": False}):
        scored, quarantine = score(dd.from_pandas(pdf, npartitions=2), model, sig, profile="strict")
        got, bad = dask.compute(scored, quarantine, scheduler="sync")
    local = score_batch(pdf, model, sig, profile="strict")
    assert got["mp"].tolist() == [{"k": 1}, {"a": 2}, {}]
    assert got["score"].tolist() == [1.0, 1.0, 0.0] == local.scored.column("score").to_pylist()
    assert local.quarantine.column("_sigbatch_row").to_pylist() == [3]
    assert bad["mp"].tolist() == [None] and bad.index.tolist() == [3]


def test_a_job_above_its_max_quarantine_rate_exits_3_with_its_outputs(tmp_path, capsys):
    """max_quarantine_rate: a run that quarantines more rows (a model raising on every row) writes its
    outputs and manifest, then the command exits with status 3 and says why; at or under the rate,
    or without it, the same run exits 0."""
    from sigbatch.cli import main

    lake = tmp_path / "lake"
    lake.mkdir()
    pq.write_table(pa.table({"x": [1.0, 2.0, 3.0, 4.0]}), lake / "part-0.parquet")
    sig = ModelSignature(Schema([ColSpec("double", "x")]), Schema([ColSpec("double", "score")]))
    (tmp_path / "signature.json").write_text(json.dumps(sig.to_dict()))
    args = [
        "score",
        "--engine",
        "dask",
        "--quiet",
        "--set",
        f"source.path={lake}",
        "--set",
        "model=python:sigbatch.examples.models:row_sum",  # needs columns id, n, flag: KeyError
        "--set",
        f"signature={tmp_path / 'signature.json'}",
        "--set",
        "output.mode=overwrite",
    ]
    out = tmp_path / "out"
    assert main([*args, "--set", f"output.path={out}", "--set", "max_quarantine_rate=0.25"]) == 3
    printed = capsys.readouterr()
    assert printed.out.splitlines()[1:5] == [  # the job's summary, as on success, before the error
        "  rows in                     4",
        "  rows scored                 0",
        "  rows quarantined            4  (100.00%)",
        "    MODEL_ERROR                 4",
    ]
    err = printed.err
    assert err.startswith(
        "sigbatch score: error: 100.00% of rows quarantined (4 of 4: MODEL_ERROR 4), above max_quarantine_rate 25.00%;"
    )
    assert read_manifest(out).counts.rows_quarantined == 4
    assert main([*args, "--set", f"output.path={out}", "--set", "max_quarantine_rate=1"]) == 0
    assert main([*args, "--set", f"output.path={out}"]) == 0


def test_score_takes_a_signature_file_as_score_batch_does(tmp_path):
    """signature= may be the path of a signature file, on the Dask API as on score_batch."""
    sig = ModelSignature(Schema([ColSpec("double", "x")]), Schema([ColSpec("double", "x")]))
    path = tmp_path / "signature.json"
    path.write_text(json.dumps(sig.to_dict()))
    ddf = dd.from_pandas(pd.DataFrame({"x": [1.0, 2.0]}), npartitions=1)
    scored, quarantine = dask.compute(*score(ddf, "python:sigbatch.examples.models:identity", str(path)))
    assert (scored["x"].tolist(), len(quarantine)) == ([1.0, 2.0], 0)
