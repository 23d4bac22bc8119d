"""Spark scoring on the session's local[2] Spark: exact quarantine, parity with the core, the job."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sigbatch import ColSpec, ModelSignature, Schema, score_batch
from sigbatch.config import load_score_config
from sigbatch.errors import ConfigError, DependencyError, SchemaMismatchError
from sigbatch.manifest import MANIFEST_NAME, AccountingError, read_manifest
from sigbatch.wire import signature_from_dict
from tests.jobs import job_config

pytestmark = pytest.mark.spark

HERE = Path(__file__).parent
CONF = HERE.parent / "conf" / "score_spark.yaml"
LANDING = "python:spark_models:landing"


def _require_java() -> None:
    """Fail (never skip) with a clear message when Spark cannot start for want of Java."""
    import os

    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.fail("the Spark tests need Java 17 or 21 (Debian: apt-get install openjdk-17-jre-headless)")


@pytest.fixture(scope="module")
def models(spark):
    """The test models, shipped to the workers as the module ``spark_models``."""
    _require_java()
    spark.sparkContext.addPyFile(str(HERE / "spark_models.py"))
    import spark_models

    return spark_models


@pytest.fixture(scope="module")
def sig(models):
    """The landing signature (long qty and double price, which the landing zone holds as text)."""
    return signature_from_dict(models.LANDING_SIGNATURE_DICT)


def _reasons(quarantine: pa.Table) -> dict[int, tuple[str, list[tuple[str, str]]]]:
    return {
        r["id"]: (r["_sigbatch_stage"], [(e["path"], e["code"]) for e in r["_sigbatch_errors"]])
        for r in quarantine.to_pylist()
    }


def _by_id(table: pa.Table, drop: tuple[str, ...] = ()) -> list[dict]:
    keep = [c for c in table.column_names if c not in drop]
    return sorted(table.select(keep).to_pylist(), key=lambda r: r["id"])


def _config(tmp_path: Path, source: Path, *extra: str):
    return load_score_config(
        CONF,
        [
            f"source.path={source}",
            "source.format=parquet",
            f"model={LANDING}",
            "signature=null",
            f"output.path={tmp_path / 'out'}",
            "profile=lenient",
            *extra,
        ],
    )


def _write_parquet(table: pa.Table, directory: Path, files: int = 3) -> Path:
    directory.mkdir(parents=True)
    step = -(-table.num_rows // files)
    for i in range(files):
        pq.write_table(table.slice(i * step, step), directory / f"part-{i}.parquet", row_group_size=40)
    return directory


def _signature_file(tmp_path: Path, models) -> Path:
    path = tmp_path / "signature.json"
    path.write_text(json.dumps(models.LANDING_SIGNATURE_DICT))
    return path


# --- score(): the DataFrame API -------------------------------------------------------------


def test_injected_faults_are_exactly_the_quarantine(spark, models, sig):
    """Every injected bad row, and only those, is quarantined with its expected stage, path and code."""
    from sigbatch.spark import score

    table, expected = models.landing_table(300)
    scored, quarantine = score(
        spark.createDataFrame(table).repartition(3), LANDING, sig, profile="lenient", batch_size=16
    )
    q = quarantine.toArrow()
    assert _reasons(q) == expected
    assert {code for _, rs in expected.values() for _, code in rs} == {
        "NULL_REQUIRED",
        "UNSAFE_CAST",
        "TYPE_MISMATCH",
        "INVALID_OBJECT",
        "MODEL_ERROR",
        "OUTPUT_MISMATCH",
    }
    s = scored.toArrow()
    assert sorted(s.column("id").to_pylist()) == sorted(set(range(300)) - set(expected))


def test_scored_and_quarantined_rows_equal_the_core(spark, models, sig):
    """Scored rows and quarantine rows equal score_batch on the same rows, column for column."""
    from sigbatch.spark import score

    table, _ = models.landing_table(200)
    core = score_batch(table, LANDING, sig, profile="lenient")
    scored, quarantine = score(spark.createDataFrame(table), LANDING, sig, profile="lenient", batch_size=25)
    s, q = scored.toArrow(), quarantine.toArrow()
    assert s.column_names == core.scored.column_names
    assert _by_id(s) == _by_id(core.scored)
    assert q.column_names == core.quarantine.column_names
    assert _by_id(q, drop=("_sigbatch_row",)) == _by_id(core.quarantine, drop=("_sigbatch_row",))


def test_keep_columns_and_prediction_replacing_a_source_column(spark, models, sig):
    """keep_columns picks the scored columns; a prediction named like a source column replaces it."""
    from sigbatch.spark import score

    table, _ = models.landing_table(60)
    table = table.append_column("score", pa.array(["old"] * table.num_rows))
    scored, quarantine = score(
        spark.createDataFrame(table), LANDING, sig, profile="lenient", keep_columns=["id", "score"]
    )
    assert scored.columns == ["id", "score"]
    assert dict(scored.dtypes)["score"] == "double"
    assert "score" in quarantine.columns and dict(quarantine.dtypes)["score"] == "string"
    assert scored.count() + quarantine.count() == 60
    # all columns kept: the prediction takes the source column's place, as withColumn does
    from pyspark.sql import functions as F

    first = spark.createDataFrame(table.select(["score", *table.column_names[:-1]]))
    scored, _ = score(first, LANDING, sig, profile="lenient")
    assert (
        scored.columns == first.withColumn("score", F.lit(1.0)).columns == ["score", *table.column_names[:-1]]
    )
    # a column list that is not one, or names an absent column: one ConfigError, as score_batch's
    df = spark.createDataFrame(table)
    with pytest.raises(ConfigError) as info:
        score(df, LANDING, sig, profile="lenient", keep_columns="id")
    assert str(info.value) == "keep_columns must be a list of column names, got str 'id'"
    with pytest.raises(ConfigError) as info:
        score(df, LANDING, sig, profile="lenient", keep_columns=["id", "nope"])
    assert str(info.value).startswith("keep_columns: ['nope'] not in the source columns ['id', ")


def test_model_runs_once_per_row_for_both_outputs(spark, models, sig, tmp_path):
    """Computing the scored and the quarantine frames (twice each) calls the model once per row."""
    from sigbatch.spark import score

    log = tmp_path / "calls.log"
    table, _ = models.landing_table(120, every=10**9)  # clean rows: no bisection re-calls
    scored, quarantine = score(
        spark.createDataFrame(table),
        "python:spark_models:logged",
        sig,
        {"log": str(log)},
        profile="lenient",
        batch_size=10,
    )
    for _ in range(2):
        assert scored.count() == 120 and quarantine.count() == 0
    scored.toArrow()
    ids = Counter(int(i) for line in log.read_text().splitlines() for i in line.split()[1:])
    assert ids == Counter(range(120))


def test_mlflow_model_loads_once_per_worker_and_gives_the_signature(spark, tmp_path):
    """An MLflow model is loaded once per Python worker however many batches it scores; its signature is the default."""
    import mlflow
    from mlflow.models import ModelSignature as MlflowSignature

    from sigbatch.spark import score

    code = tmp_path / "model_code.py"
    code.write_text(
        "import os\n"
        "import mlflow\n"
        "from mlflow.pyfunc import PythonModel\n\n\n"
        "class Doubler(PythonModel):\n"
        "    def load_context(self, context):\n"
        "        with open(context.model_config['load_log'], 'a') as f:\n"
        "            f.write(f'{os.getpid()}\\n')\n\n"
        "    def predict(self, context, model_input, params=None):\n"
        "        return model_input['x'].rename('y') * 2.0\n\n\n"
        "mlflow.models.set_model(Doubler())\n"
    )
    log = tmp_path / "loads.log"
    inputs = '[{"type": "long", "name": "id", "required": true}, {"type": "double", "name": "x", "required": true}]'
    model_dir = tmp_path / "model"
    mlflow.pyfunc.save_model(
        str(model_dir),
        python_model=str(code),
        model_config={"load_log": str(log)},
        signature=MlflowSignature.from_dict(
            {"inputs": inputs, "outputs": '[{"type": "double", "name": "y"}]'}
        ),
        pip_requirements=[],
    )
    table = pa.table(
        {
            "id": pa.array(range(200), pa.int64()),
            "x": pa.array([float(i) if i != 7 else None for i in range(200)]),
        }
    )
    scored, quarantine = score(
        spark.createDataFrame(table).repartition(4), str(model_dir), profile="strict", batch_size=10
    )
    s = scored.toArrow()
    assert dict(zip(s.column("id").to_pylist(), s.column("y").to_pylist(), strict=True)) == {
        i: 2.0 * i for i in range(200) if i != 7
    }
    assert _reasons(quarantine.toArrow()) == {7: ("input", [("x", "NULL_REQUIRED")])}
    loads = Counter(log.read_text().split())
    # 20 batches in 4 tasks: one load on the driver (for the signature) and one per worker process
    assert set(loads.values()) == {1}
    assert 2 <= len(loads) <= 3


def test_missing_column_quarantined_when_asked(spark, models, sig):
    """on_schema_mismatch='quarantine' refuses every row of a source missing a required column (MISSING_REQUIRED)."""
    from sigbatch.spark import score

    table, _ = models.landing_table(20, every=10**9)
    scored, quarantine = score(
        spark.createDataFrame(table.drop_columns(["qty"])),
        LANDING,
        sig,
        profile="lenient",
        on_schema_mismatch="quarantine",
    )
    assert scored.count() == 0
    assert _reasons(quarantine.toArrow()) == {i: ("input", [("qty", "MISSING_REQUIRED")]) for i in range(20)}


def test_preflight_fails_on_the_driver_naming_columns(spark, models, sig):
    """Under 'mlflow', a landing table's text numbers fail before any Spark job, naming each column and suggesting lenient."""
    from sigbatch.spark import score

    table, _ = models.landing_table(20)
    df = spark.createDataFrame(table)
    tracker = spark.sparkContext.statusTracker()
    before = set(tracker.getJobIdsForGroup(None))
    with pytest.raises(SchemaMismatchError) as err:
        score(df, LANDING, sig)
    assert set(tracker.getJobIdsForGroup(None)) == before
    message = str(err.value)
    assert "qty" in message and "price" in message and "lenient" in message


def test_model_uri_must_be_a_string(spark, models, sig):
    """A model object cannot be shipped to the workers: score() asks for a URI."""
    from sigbatch.errors import SignatureError
    from sigbatch.spark import score

    table, _ = models.landing_table(5)
    with pytest.raises(SignatureError, match="model URI"):
        score(spark.createDataFrame(table), models.landing, sig)


# --- run_scoring(): the job -------------------------------------------------------------------


def test_job_counts_identity_and_manifest(spark, models, tmp_path):
    """The job writes both outputs and a manifest whose counts are exact; each quarantined row points at its record."""
    from sigbatch.spark import run_scoring

    table, expected = models.landing_table(400)
    source = _write_parquet(table, tmp_path / "lake")
    config = _config(
        tmp_path, source, f"signature={_signature_file(tmp_path, models)}", "spark.batch_size=50"
    )
    manifest = run_scoring(spark, config)
    c = manifest.counts
    assert (c.rows_in, c.rows_scored, c.rows_quarantined) == (400, 400 - len(expected), len(expected))
    assert c.quarantined_by_stage == dict(Counter(stage for stage, _ in expected.values()))
    assert c.quarantined_by_code == dict(Counter(code for _, rs in expected.values() for _, code in rs))
    assert manifest.engine == "spark" and manifest.engine_version == spark.version
    assert manifest.config["profile"] == "lenient" and set(manifest.timings) == {
        "read_and_preflight",
        "count_source",
        "score_and_write_scored",
        "write_quarantine",
        "count_outputs",
        "total",
    }
    assert read_manifest(config.output).signature_hash == manifest.signature_hash
    out = Path(config.output)
    scored = pq.read_table(out / "scored")
    assert scored.column_names == [*table.column_names, "score"]
    assert sorted(scored.column("id").to_pylist()) == sorted(set(range(400)) - set(expected))
    quarantine = pq.read_table(out / "quarantine")
    assert _reasons(quarantine) == expected
    assert "_sigbatch_kind" not in quarantine.column_names and "_sigbatch_kind" not in scored.column_names
    for row in quarantine.to_pylist():  # an auditor finds the original record from file and row
        path = row["_sigbatch_file"].removeprefix("file:")
        assert row["_sigbatch_file_offset"] == 0
        original = pq.read_table(path).slice(row["_sigbatch_row"], 1).to_pylist()[0]
        assert original == {k: row[k] for k in table.column_names}


def test_job_writes_to_a_filesystem_uri(spark, models, tmp_path):
    """An output given as a URI (hdfs://, s3a://, here file://) is checked, counted and given its
    manifest through Spark's filesystem, with the same counts as a local path."""
    from sigbatch.spark import run_scoring

    table, expected = models.landing_table(120)
    source = _write_parquet(table, tmp_path / "lake")
    target = tmp_path / "remote"
    uri = target.as_uri()
    config = _config(tmp_path, source, f"signature={_signature_file(tmp_path, models)}", f"output.path={uri}")
    manifest = run_scoring(spark, config)
    c = manifest.counts
    assert (c.rows_in, c.rows_scored, c.rows_quarantined) == (120, 120 - len(expected), len(expected))
    assert c.quarantined_by_code == dict(Counter(code for _, rs in expected.values() for _, code in rs))
    assert c.quarantined_by_stage == dict(Counter(stage for stage, _ in expected.values()))
    assert read_manifest(target) == manifest
    assert sorted(p.name for p in target.iterdir() if not p.name.startswith(".")) == [
        "_sigbatch_manifest.json",
        "quarantine",
        "scored",
    ]
    assert _reasons(pq.read_table(target / "quarantine")) == expected
    with pytest.raises(ConfigError, match=r"already exists and output\.mode is 'error'"):
        run_scoring(spark, config)
    again = run_scoring(
        spark,
        _config(
            tmp_path,
            source,
            f"signature={_signature_file(tmp_path, models)}",
            f"output.path={uri}",
            "output.mode=overwrite",
        ),
    )
    assert again.counts == manifest.counts


def test_job_model_runs_once_per_row(spark, models, tmp_path):
    """The job computes the model once per row for both outputs (single pass)."""
    from sigbatch.spark import run_scoring

    table, _ = models.landing_table(150, every=10**9)
    log = tmp_path / "calls.log"
    config = _config(
        tmp_path,
        _write_parquet(table, tmp_path / "lake"),
        "model=python:spark_models:logged",
        f"signature={_signature_file(tmp_path, models)}",
        f"params={{log: {json.dumps(str(log))}}}",
        "spark.batch_size=20",
    )
    assert run_scoring(spark, config).counts.rows_scored == 150
    ids = Counter(int(i) for line in log.read_text().splitlines() for i in line.split()[1:])
    assert ids == Counter(range(150))


def _outputs(out: Path) -> tuple[list[dict], list[dict]]:
    return _by_id(pq.read_table(out / "scored")), _by_id(pq.read_table(out / "quarantine"))


def test_job_scores_again_through_a_checkpoint_when_the_quarantine_is_too_large(
    spark, models, tmp_path, monkeypatch
):
    """Over the driver's budget for quarantined rows, the job drops its first pass and scores
    through a local checkpoint; with a budget of 0 it goes there directly. Same outputs either way."""
    import importlib

    from sigbatch.spark import run_scoring

    spark_score = importlib.import_module("sigbatch.spark.score")
    table, expected = models.landing_table(300)
    source = _write_parquet(table, tmp_path / "lake")
    sig_file = _signature_file(tmp_path, models)
    runs = {}
    for name, extra in [("inline", []), ("checkpoint", ["spark.inline_quarantine_mb=0"]), ("overflow", [])]:
        if name == "overflow":
            monkeypatch.setattr(spark_score, "_budget", lambda _spark, _mb: 200)  # bytes: a few rows
        config = _config(
            tmp_path,
            source,
            f"signature={sig_file}",
            f"output.path={tmp_path / name}",
            "spark.batch_size=40",
            *extra,
        )
        runs[name] = (run_scoring(spark, config), _outputs(tmp_path / name))
    phases = {name: [k for k in manifest.timings if k != "total"] for name, (manifest, _) in runs.items()}
    assert phases == {
        "inline": [
            "read_and_preflight",
            "count_source",
            "score_and_write_scored",
            "write_quarantine",
            "count_outputs",
        ],
        "checkpoint": [
            "read_and_preflight",
            "count_source",
            "score",
            "write_scored",
            "write_quarantine",
            "count_outputs",
        ],
        "overflow": [
            "read_and_preflight",
            "count_source",
            "score_and_write_scored",
            "drop_first_pass",
            "score",
            "write_scored",
            "write_quarantine",
            "count_outputs",
        ],
    }
    manifest, (scored, quarantine) = runs["inline"]
    assert manifest.counts.rows_quarantined == len(expected) > 0
    assert _reasons(pa.Table.from_pylist(quarantine)) == expected
    for name in ("checkpoint", "overflow"):
        assert runs[name][0].counts == manifest.counts
        assert runs[name][1] == (scored, quarantine), name


def test_driver_written_quarantine_keeps_instants_and_spark_types(spark, tmp_path):
    """The quarantine the driver writes holds a time-zone-aware timestamp as a UTC instant
    (whatever the session's zone), and Spark reads it back exactly as the checkpoint path's."""
    import datetime as dt

    from sigbatch.spark import run_scoring

    instant = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.timezone.utc)
    table = pa.table(
        {
            "id": pa.array(range(6), pa.int64()),
            "ts": pa.array([instant] * 6, pa.timestamp("us", tz="UTC")),
            "x": pa.array([1.0, 2.0, None, 4.0, 5.0, None]),
        }
    )
    source = _write_parquet(table, tmp_path / "lake", files=2)
    sig_file = tmp_path / "sig.json"
    inputs = [("long", "id"), ("datetime", "ts"), ("double", "x")]
    sig_file.write_text(
        json.dumps(
            {
                "inputs": json.dumps([{"type": t, "name": n, "required": True} for t, n in inputs]),
                "outputs": json.dumps([{"type": "double", "name": "x", "required": True}]),
            }
        )
    )
    zone = spark.conf.get("spark.sql.session.timeZone")
    spark.conf.set("spark.sql.session.timeZone", "America/New_York")
    try:
        for name, extra in [("inline", []), ("checkpoint", ["spark.inline_quarantine_mb=0"])]:
            config = load_score_config(
                None,
                [
                    f"source.path={source}",
                    "model=python:sigbatch.examples.models:identity",
                    f"signature={sig_file}",
                    f"output.path={tmp_path / name}",
                    "profile=strict",
                    *extra,
                ],
            )
            assert run_scoring(spark, config).counts.rows_quarantined == 2
        frames = {
            name: spark.read.parquet(str(tmp_path / name / "quarantine")) for name in ("inline", "checkpoint")
        }
        assert frames["inline"].schema == frames["checkpoint"].schema
        rows = {name: frame.orderBy("id").collect() for name, frame in frames.items()}
    finally:
        spark.conf.set("spark.sql.session.timeZone", zone)
    assert rows["inline"] == rows["checkpoint"] and [r["id"] for r in rows["inline"]] == [2, 5]
    written = pq.read_table(tmp_path / "inline" / "quarantine")
    assert written.schema.field("ts").type == pa.timestamp("us", tz="UTC")
    assert written.column("ts").to_pylist() == [instant, instant]


def test_quarantine_param_keeps_rows_in_order_within_its_budget():
    """The accumulator of quarantined rows: merged rows come out by partition; a total over the
    budget, a task over its share, or one partition from two attempts refuses them, for good."""
    from sigbatch.spark.score import Collected, QuarantineParam, _Held, _Inline

    schema = pa.schema([("id", pa.int64())])

    def part(partition: int, ids: list[int], attempt: int = 0) -> Collected:
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, schema) as writer:
            writer.write_batch(pa.record_batch([pa.array(ids, pa.int64())], schema=schema))
        data = sink.getvalue().to_pybytes()
        return Collected([((partition, 1, attempt), data)], len(data))

    one = part(0, [0]).nbytes
    param = QuarantineParam(budget=3 * one + 100)
    total = param.zero(Collected([]))
    assert total.table(schema).num_rows == 0 and total.table(schema).schema == schema
    for piece in (part(2, [20, 21]), part(0, [0, 1])):
        total = param.addInPlace(total, piece)
    assert (total.refused, total.nbytes) == (None, part(2, [20, 21]).nbytes + part(0, [0, 1]).nbytes)
    assert total.table(schema).column("id").to_pylist() == [0, 1, 20, 21]
    assert total.partitions == {0, 2}
    again = param.addInPlace(total, part(2, [20, 21], attempt=7))
    assert (again.refused, again.parts) == ("the rows of one partition arrived from two task attempts", [])
    assert param.addInPlace(again, part(5, [5])).parts == []
    big = param.addInPlace(param.zero(Collected([])), part(1, list(range(200))))
    assert (
        big.refused is not None
        and big.refused.startswith("more than the driver's budget")
        and big.parts == []
    )

    class Sink:
        def __init__(self) -> None:
            self.added: list[Collected] = []

        def add(self, value: Collected) -> None:
            self.added.append(value)

    kinds = pa.array(["scored", "quarantined", "scored", "quarantined"])
    combined = pa.record_batch([pa.array([0, 1, 2, 3], pa.int64()), kinds], names=["id", "_sigbatch_kind"])
    sink = Sink()
    inline = _Inline(sink, 10_000, ("id",), schema, ("id",))  # type: ignore[arg-type]
    held = _Held([])
    assert inline.split(combined, held).column(0).to_pylist() == [0, 2]
    inline.send((4, 1, 9), held)
    (sent,) = sink.added
    assert sent.parts[0][0] == (4, 1, 9) and sent.table(schema).column("id").to_pylist() == [1, 3]
    tight = _Inline(Sink(), 8, ("id",), schema, ("id",))  # type: ignore[arg-type]
    held = _Held([])
    tight.split(combined, held)
    tight.send((4, 1, 9), held)
    (refused,) = tight.accumulator.added  # type: ignore[attr-defined]
    assert (refused.parts, refused.refused) == ([], "more than a task's share of 8 bytes")


def test_source_rows_from_parquet_footers_match_spark_count(spark, models, tmp_path):
    """rows_in for a local Parquet source is the sum of the footers of the files Spark lists
    (Spark's own count otherwise): both agree, and a file Spark does not list is not counted."""
    import importlib

    spark_score = importlib.import_module("sigbatch.spark.score")
    table, _ = models.landing_table(70)
    lake = _write_parquet(table, tmp_path / "lake", files=3)
    pq.write_table(table.slice(0, 5), lake / "_ignored.parquet")  # Spark skips files named _*
    scan = spark.read.parquet(str(lake))
    assert spark_score._footer_rows(scan) == scan.count() == 70
    broken = tmp_path / "broken"
    broken.mkdir()
    pq.write_table(table.slice(0, 3), broken / "a.parquet")
    listed = spark.read.parquet(str(broken))
    (broken / "a.parquet").write_bytes(b"not parquet")
    assert spark_score._footer_rows(listed) is None


def test_file_id_is_sparks_xxhash64(spark):
    """The driver's file ids are Spark's xxhash64 of the path text, for every length and for
    non-ASCII text (the one pass turns ids back into paths with them)."""
    from pyspark.sql import functions as F

    from sigbatch.spark.io import file_id

    texts = ["p" * n for n in range(0, 72)] + [
        "file:/tmp/lake dir/part-00000.snappy.parquet",
        "s3a://bucket/year=2026/part-00007-1f2e.c000.snappy.parquet",
        "hdfs://nn:8020/données/路径/файл.parquet",
    ]
    rows = spark.createDataFrame([(t,) for t in texts], "t string").select("t", F.xxhash64("t").alias("h"))
    assert {r["t"]: r["h"] for r in rows.collect()} == {t: file_id(t) for t in texts}


def test_source_column_named_like_the_file_identity_is_refused(spark, models, tmp_path):
    """A source column called _sigbatch_file would be confused with the row identity the job adds
    (and dropped from the scored rows): the job refuses it by name, before any work, as Dask's does."""
    from sigbatch.dask import run_scoring as dask_run_scoring
    from sigbatch.spark import run_scoring

    table, _ = models.landing_table(50)
    table = table.append_column("_sigbatch_file", pa.array(range(1000, 1050), pa.int64()))
    config = _config(
        tmp_path, _write_parquet(table, tmp_path / "lake"), f"signature={_signature_file(tmp_path, models)}"
    )
    message = r"the source has column\(s\) \['_sigbatch_file'\] named as the columns a job adds to identify each row"
    with pytest.raises(ConfigError, match=message):
        run_scoring(spark, config)
    with pytest.raises(ConfigError, match=message):
        dask_run_scoring(config)
    assert not Path(config.output).exists()


def test_file_paths_looks_up_ids_the_listing_does_not_give(spark, models, tmp_path, monkeypatch):
    """An id that no listed path gives is looked up in the scan's own metadata; two listed paths
    with one id are an error (the job then scores through its checkpoint)."""
    import sigbatch.spark.io as spark_io

    table, _ = models.landing_table(20)
    scan = spark.read.parquet(str(_write_parquet(table, tmp_path / "lake", files=2)))
    spelled = sorted(r[0] for r in scan.select("_metadata.file_path").distinct().collect())
    ids = {spark_io.file_id(p): p for p in spelled}

    def no_query(*_args):
        raise AssertionError("resolved by a Spark query, not from the listing")

    with monkeypatch.context() as patched:
        patched.setattr(scan, "select", no_query)  # a local source resolves from Spark's listing alone
        assert spark_io.file_paths(scan, set(ids)) == ids
        assert spark_io.file_paths(scan, set()) == {}
    monkeypatch.setattr(scan, "inputFiles", lambda: [])
    assert spark_io.file_paths(scan, set(ids)) == ids
    monkeypatch.setattr(scan, "inputFiles", lambda: spelled)
    monkeypatch.setattr(spark_io, "file_id", lambda path, seed=42: 7)
    with pytest.raises(ValueError, match="two source files share the id 7"):
        spark_io.file_paths(scan, {8})  # 8 is not found: every listed path is hashed, all to 7


@pytest.mark.parametrize("directory", ["lake with space", "données_路径"])
def test_one_pass_names_files_as_spark_does(spark, models, tmp_path, directory):
    """Quarantined rows name their file as Spark's _metadata.file_path spells it (the checkpoint
    path's text), also under a directory whose name needs escaping or is not ASCII."""
    from sigbatch.spark import run_scoring

    table, expected = models.landing_table(60)
    source = _write_parquet(table, tmp_path / directory, files=2)
    sig_file = _signature_file(tmp_path, models)
    files = {}
    for name, extra in [("inline", []), ("checkpoint", ["spark.inline_quarantine_mb=0"])]:
        config = _config(tmp_path, source, f"signature={sig_file}", f"output.path={tmp_path / name}", *extra)
        assert "drop_first_pass" not in run_scoring(spark, config).timings
        rows = pq.read_table(tmp_path / name / "quarantine").to_pylist()
        files[name] = {r["id"]: r["_sigbatch_file"] for r in rows}
    spelled = {r[0] for r in spark.read.parquet(str(source)).select("_metadata.file_path").collect()}
    assert files["inline"] == files["checkpoint"] and len(files["inline"]) == len(expected)
    assert set(files["inline"].values()) <= spelled and len(set(files["inline"].values())) == 2


def test_job_with_nothing_quarantined_writes_an_empty_quarantine(spark, models, tmp_path):
    """Clean data: the quarantine is an empty Parquet dataset with its columns, local or at a URI."""
    from sigbatch.spark import run_scoring

    table, expected = models.landing_table(60, every=10**9)
    assert expected == {}
    source = _write_parquet(table, tmp_path / "lake")
    sig_file = _signature_file(tmp_path, models)
    for target in (tmp_path / "local", (tmp_path / "remote").as_uri()):
        config = _config(tmp_path, source, f"signature={sig_file}", f"output.path={target}")
        counts = run_scoring(spark, config).counts
        assert (counts.rows_in, counts.rows_scored, counts.rows_quarantined) == (60, 60, 0)
        path = Path(str(target).removeprefix("file://")) / "quarantine"
        empty = pq.read_table(path)
        assert empty.num_rows == 0
        assert empty.column_names[-5:] == [
            "_sigbatch_errors",
            "_sigbatch_stage",
            "_sigbatch_row",
            "_sigbatch_file",
            "_sigbatch_file_offset",
        ]


def test_job_over_a_view_with_a_shuffle_uses_the_checkpoint(spark, models, tmp_path):
    """A source that is more than a scan (here a view that repartitions) has no partition count
    before the job runs: the job scores through its checkpoint, with exact counts."""
    from sigbatch.spark import run_scoring

    table, expected = models.landing_table(90)
    source = _write_parquet(table, tmp_path / "lake")
    spark.read.parquet(str(source)).repartition(4).createOrReplaceTempView("landing_shuffled")
    try:
        config = _config(
            tmp_path,
            source,
            "source.path=null",
            "source.table=landing_shuffled",
            f"signature={_signature_file(tmp_path, models)}",
            "output.key_columns=[id]",
        )
        manifest = run_scoring(spark, config)
    finally:
        spark.catalog.dropTempView("landing_shuffled")
    assert "score" in manifest.timings and "score_and_write_scored" not in manifest.timings
    assert (manifest.counts.rows_in, manifest.counts.rows_quarantined) == (90, len(expected))
    assert _reasons(pq.read_table(Path(config.output) / "quarantine")) == expected


def test_failed_job_leaves_no_outputs(spark, models, tmp_path):
    """A task that fails for good (a BaseException escapes the model) fails the job, and neither
    scored/ nor quarantine/ is left behind (nor a manifest)."""
    from sigbatch.spark import run_scoring

    table, _ = models.landing_table(40)
    config = _config(
        tmp_path,
        _write_parquet(table, tmp_path / "lake"),
        "model=python:spark_models:interrupted",
        f"signature={_signature_file(tmp_path, models)}",
    )
    with pytest.raises(Exception, match="TaskInterrupted"):
        run_scoring(spark, config)
    assert sorted(p.name for p in Path(config.output).iterdir()) == []
    # the command's job: one line with the cause (the Python worker's last line), not Java's trace
    from sigbatch.errors import JobError
    from sigbatch.spark.score import run_scoring_job

    with pytest.raises(JobError) as info:
        run_scoring_job(config, spark)
    assert str(info.value) == (
        "the Spark job failed: PythonException: sigbatch.errors.JobError: the model raised "
        "TaskInterrupted('interrupted on purpose') while predicting, which is not an Exception; a model "
        "returns predictions or raises an Exception (Spark's log above has the details)"
    )


def test_sources_and_outputs_spark_cannot_read_are_one_line(spark, models, tmp_path):
    """A source of another format than source.format, and an output on a filesystem the session has
    no jars for, are one ConfigError naming the key and the cause."""
    from sigbatch.spark import run_scoring

    (tmp_path / "lake").mkdir()
    (tmp_path / "lake" / "a.json").write_text('{"qty": "1"}\n')
    signature = f"signature={_signature_file(tmp_path, models)}"
    config = _config(tmp_path, tmp_path / "lake", "source.format=parquet", signature)
    with pytest.raises(
        ConfigError, match=r"^source.path '.*lake' \(source.format parquet\): .*a.json is not a Parquet file"
    ):
        run_scoring(spark, config)
    config = _config(
        tmp_path,
        tmp_path / "lake",
        "source.format=json",
        "output.path=s3a://bucket/out",
        signature,
        "on_schema_mismatch=quarantine",
    )
    with pytest.raises(
        ConfigError,
        match=r"^output.path 's3a://bucket/out': Spark cannot reach it: ClassNotFoundException: Class org.apache.hadoop.fs.s3a.S3AFileSystem not found$",
    ):
        run_scoring(spark, config)


def test_json_lines_rows_point_at_their_line(spark, models, tmp_path):
    """From a JSON-lines source, a quarantined row's file, split offset and row find its line."""
    from sigbatch.spark import run_scoring

    rows, expected = models.landing_rows(90)
    lake = tmp_path / "lake"
    lake.mkdir()
    for i in range(3):
        (lake / f"part-{i}.jsonl").write_text(
            "".join(json.dumps(r) + "\n" for r in rows[i * 30 : (i + 1) * 30])
        )
    config = _config(tmp_path, lake, "source.format=json", f"signature={_signature_file(tmp_path, models)}")
    counts = run_scoring(spark, config).counts
    assert (counts.rows_in, counts.rows_quarantined) == (90, len(expected))
    quarantine = pq.read_table(Path(config.output) / "quarantine")
    assert _reasons(quarantine) == expected
    for row in quarantine.to_pylist():
        lines = Path(row["_sigbatch_file"].removeprefix("file:")).read_bytes()[row["_sigbatch_file_offset"] :]
        assert json.loads(lines.splitlines()[row["_sigbatch_row"]])["id"] == row["id"]


def test_json_lines_that_do_not_parse_are_parse_errors(spark, tmp_path):
    """A JSON line Spark cannot parse (it keeps the raw text in _corrupt_record) is quarantined with
    PARSE_ERROR and found at its line; the good lines are scored and the accounting holds."""
    from sigbatch.spark import run_scoring

    lake = tmp_path / "lake"
    lake.mkdir()
    (lake / "part-0.jsonl").write_text('{"id": 1, "name": "a"}\n{"id": 2, "name": \n{"id": 3, "name": "c"}\n')
    signature = tmp_path / "ids.json"
    signature.write_text(
        json.dumps(
            {
                "inputs": '[{"type": "long", "name": "id", "required": true}, '
                '{"type": "string", "name": "name", "required": false}]',
                "outputs": '[{"type": "long", "name": "id", "required": true}]',
            }
        )
    )
    config = _config(
        tmp_path,
        lake,
        "source.format=json",
        f"signature={signature}",
        "model=python:sigbatch.examples.models:identity",
        "profile=mlflow",
    )
    counts = run_scoring(spark, config).counts
    assert (counts.rows_in, counts.rows_scored, counts.rows_quarantined) == (3, 2, 1)
    assert counts.quarantined_by_code == {"PARSE_ERROR": 1}
    assert sorted(pq.read_table(Path(config.output) / "scored").column("id").to_pylist()) == [1, 3]
    (bad,) = pq.read_table(Path(config.output) / "quarantine").to_pylist()
    assert bad["_corrupt_record"] == '{"id": 2, "name": '
    assert [e["code"] for e in bad["_sigbatch_errors"]] == ["PARSE_ERROR"]
    assert (bad["_sigbatch_file_offset"], bad["_sigbatch_row"]) == (0, 1)


def test_landing_zone_needs_lenient(spark, models, tmp_path):
    """Under 'mlflow' the job stops before scoring, naming qty and price and suggesting 'lenient'; nothing is written."""
    from sigbatch.spark import run_scoring

    table, _ = models.landing_table(30)
    config = _config(
        tmp_path,
        _write_parquet(table, tmp_path / "lake"),
        "profile=mlflow",
        f"signature={_signature_file(tmp_path, models)}",
    )
    with pytest.raises(SchemaMismatchError) as err:
        run_scoring(spark, config)
    message = str(err.value)
    assert "qty" in message and "price" in message and "profile='lenient'" in message
    assert not (Path(config.output) / "scored").exists()


def test_output_mode_error_refuses_to_overwrite(spark, models, tmp_path):
    """A second run on the same output fails in mode 'error' and replaces the outputs in mode 'overwrite'."""
    from sigbatch.spark import run_scoring

    table, _ = models.landing_table(40)
    source = _write_parquet(table, tmp_path / "lake", files=1)
    sig_file = _signature_file(tmp_path, models)
    first = run_scoring(spark, _config(tmp_path, source, f"signature={sig_file}"))
    with pytest.raises(ConfigError, match=r"output\.mode"):
        run_scoring(spark, _config(tmp_path, source, f"signature={sig_file}"))
    out = Path(_config(tmp_path, source).output)
    before = sorted(str(p.relative_to(out)) for p in out.rglob("*"))
    # an overwrite that fails, in preflight or in a task, leaves the earlier run as it was
    missing = tmp_path / "missing_column.json"
    missing.write_text(json.dumps({"inputs": '[{"type": "long", "name": "nope", "required": true}]'}))
    with pytest.raises(SchemaMismatchError, match="nope"):
        run_scoring(spark, _config(tmp_path, source, f"signature={missing}", "output.mode=overwrite"))
    with pytest.raises(Exception, match="TaskInterrupted"):
        run_scoring(
            spark,
            _config(
                tmp_path,
                source,
                f"signature={sig_file}",
                "output.mode=overwrite",
                "model=python:spark_models:interrupted",
            ),
        )
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*")) == before
    assert read_manifest(out).job_id == first.job_id
    again = run_scoring(spark, _config(tmp_path, source, f"signature={sig_file}", "output.mode=overwrite"))
    assert again.counts == first.counts and again.job_id != first.job_id
    assert sorted(p.name for p in out.iterdir()) == [MANIFEST_NAME, "quarantine", "scored"]


def _lose_a_scored_file(monkeypatch):
    """Make the Spark job's scored output lose one written file; returns the job module."""
    import importlib

    spark_score = importlib.import_module("sigbatch.spark.score")  # the package's `score` is the function
    real_write = spark_score.write_output

    def lossy_write(df, path, fmt):
        real_write(df, path, fmt)
        if path.endswith("scored"):
            next(
                p for p in sorted(Path(path).glob("*.parquet")) if pq.ParquetFile(p).metadata.num_rows
            ).unlink()

    monkeypatch.setattr(spark_score, "write_output", lossy_write)
    return spark_score


def test_lost_rows_fail_the_job_loudly(spark, models, tmp_path, monkeypatch):
    """When a written file goes missing the job raises AccountingError and writes no manifest."""
    table, _ = models.landing_table(100)
    config = _config(
        tmp_path, _write_parquet(table, tmp_path / "lake"), f"signature={_signature_file(tmp_path, models)}"
    )
    spark_score = _lose_a_scored_file(monkeypatch)
    with pytest.raises(AccountingError, match=r"\(\d+ rows? lost\)"):
        spark_score.run_scoring(spark, config)
    assert not (Path(config.output) / MANIFEST_NAME).exists()
    assert list(Path(config.output).iterdir()) == []


def test_overwrite_whose_counts_do_not_add_up_keeps_the_earlier_run(spark, models, tmp_path, monkeypatch):
    """The new outputs are counted before they replace the earlier run's: an AccountingError in an
    overwrite leaves the earlier outputs and manifest as they were, and no staging directory."""
    from sigbatch.spark import run_scoring

    table, _ = models.landing_table(60)
    source = _write_parquet(table, tmp_path / "lake")
    sig_file = _signature_file(tmp_path, models)
    first = run_scoring(spark, _config(tmp_path, source, f"signature={sig_file}"))
    out = Path(_config(tmp_path, source).output)
    before = {str(p.relative_to(out)): p.stat().st_size for p in out.rglob("*")}
    spark_score = _lose_a_scored_file(monkeypatch)
    with pytest.raises(AccountingError, match=r"\(\d+ rows? lost\)"):
        spark_score.run_scoring(
            spark, _config(tmp_path, source, f"signature={sig_file}", "output.mode=overwrite")
        )
    assert {str(p.relative_to(out)): p.stat().st_size for p in out.rglob("*")} == before
    assert read_manifest(out).job_id == first.job_id


def test_key_columns_identify_records(spark, models, tmp_path):
    """With key columns the scored rows keep the keys and the quarantine carries no file identity."""
    from sigbatch.spark import run_scoring

    table, expected = models.landing_table(50)
    config = _config(
        tmp_path,
        _write_parquet(table, tmp_path / "lake"),
        f"signature={_signature_file(tmp_path, models)}",
        "output.key_columns=[id]",
        "output.keep_columns=[price]",
    )
    run_scoring(spark, config)
    scored = pq.read_table(Path(config.output) / "scored")
    assert scored.column_names == ["id", "price", "score"]
    quarantine = pq.read_table(Path(config.output) / "quarantine")
    assert "_sigbatch_file" not in quarantine.column_names
    assert sorted(quarantine.column("id").to_pylist()) == sorted(expected)


def test_unknown_key_column_is_a_config_error(spark, models, tmp_path):
    """A key column the source lacks stops the job with an error naming the key."""
    from sigbatch.spark import run_scoring

    table, _ = models.landing_table(10)
    config = _config(
        tmp_path,
        _write_parquet(table, tmp_path / "lake"),
        f"signature={_signature_file(tmp_path, models)}",
        "output.key_columns=[order_id]",
    )
    with pytest.raises(ConfigError, match=r"output\.key_columns"):
        run_scoring(spark, config)


def test_delta_without_delta_spark_says_what_to_install(spark, models, tmp_path):
    """Asking for Delta output without delta-spark fails with the package to install."""
    import importlib.util

    from sigbatch.spark import run_scoring

    assert importlib.util.find_spec("delta") is None, "this test expects delta-spark to be absent"
    table, _ = models.landing_table(10)
    config = _config(
        tmp_path,
        _write_parquet(table, tmp_path / "lake"),
        f"signature={_signature_file(tmp_path, models)}",
        "output.format=delta",
    )
    with pytest.raises(DependencyError, match="delta-spark"):
        run_scoring(spark, config)


def test_delta_without_its_jars_fails_before_any_work(spark, models, tmp_path, monkeypatch):
    """delta-spark installed but the session started without Delta's jars: one clear error, raised
    before the job reads anything, and no output directory is left behind."""
    from sigbatch.spark import run_scoring

    fake = tmp_path / "site" / "delta"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(fake.parent))
    table, _ = models.landing_table(10)
    config = _config(
        tmp_path,
        _write_parquet(table, tmp_path / "lake"),
        f"signature={_signature_file(tmp_path, models)}",
        "output.format=delta",
    )
    jobs_before = len(spark.sparkContext.statusTracker().getJobIdsForGroup())
    with pytest.raises(DependencyError) as err:
        run_scoring(spark, config)
    assert str(err.value) == (
        "output.format 'delta': delta-spark is installed, but this Spark session has no Delta data source "
        "(its jars are not on the classpath): start Spark with Delta's package and session settings (see "
        "https://docs.delta.io/latest/quick-start.html), or use output.format=parquet"
    )
    assert len(spark.sparkContext.statusTracker().getJobIdsForGroup()) == jobs_before
    assert not (tmp_path / "out").exists()


def test_cli_engine_spark(spark, models, tmp_path, capsys):
    """`sigbatch score --engine spark --config conf/score_spark.yaml` runs the job and prints the counts."""
    from sigbatch.cli import main

    table, expected = models.landing_table(60)
    source = _write_parquet(table, tmp_path / "lake")
    status = main(
        [
            "score",
            "--engine",
            "spark",
            "--config",
            str(CONF),
            "--set",
            f"source.path={source}",
            "--set",
            "source.format=parquet",
            "--set",
            f"model={LANDING}",
            "--set",
            f"signature={_signature_file(tmp_path, models)}",
            "--set",
            f"output.path={tmp_path / 'out'}",
            "--set",
            "profile=lenient",
        ]
    )
    out = capsys.readouterr().out
    assert status == 0
    assert f"rows quarantined {len(expected):>12,}" in out and "(spark " in out


# --- conf/score_spark.yaml --------------------------------------------------------------------


def test_conf_file_loads_with_paths_overridden(tmp_path):
    """The shipped config is valid; only its demo paths need to exist."""
    lake = tmp_path / "lake"
    lake.mkdir()
    (tmp_path / "sig.json").write_text("{}")
    cfg = load_score_config(CONF, [f"source.path={lake}", f"signature={tmp_path / 'sig.json'}"])
    assert (cfg.profile, cfg.on_schema_mismatch, cfg.mode, cfg.output_format) == (
        "mlflow",
        "fail",
        "error",
        "parquet",
    )
    assert cfg.spark_batch_size == 50_000


@pytest.mark.parametrize(
    ("override", "named"),
    [
        ("spark.batchsize=5", "spark.batch_size"),  # unknown key, with the close match
        ("spark.batch_size=many", "spark.batch_size"),  # wrong type
        ("spark.batch_size=0", "spark.batch_size"),  # below its minimum
        ("spark.inline_quarantine_mb=-1", "spark.inline_quarantine_mb"),
        ("profile=loose", "profile"),  # not one of the choices
        ("source.path=/no/such/lake", "source.path"),  # missing path
        ("max_quarantine_rate=1.5", "max_quarantine_rate"),  # not a share
        ("max_quarantine_rate=yes", "max_quarantine_rate"),  # YAML's true: not a number
    ],
)
def test_conf_errors_name_the_key(tmp_path, override, named):
    """An unknown key, a wrong type, a bad choice or a missing path is an error naming the key."""
    (tmp_path / "sig.json").write_text("{}")
    lake = tmp_path / "lake"
    lake.mkdir()
    with pytest.raises(ConfigError, match=named.replace(".", r"\.")):
        load_score_config(CONF, [f"source.path={lake}", f"signature={tmp_path / 'sig.json'}", override])


def test_unnamed_signature_binds_by_position(spark, models):
    """A signature without names scores columns by position, as the core does."""
    from sigbatch.spark import score

    sig = ModelSignature(Schema([ColSpec("long"), ColSpec("double")]))
    table = pa.table({"id": pa.array([1, 2, None], pa.int64()), "x": [0.5, 1.5, 2.5]})
    model = "python:spark_models:second_doubled"
    scored, quarantine = score(spark.createDataFrame(table), model, sig, profile="strict")
    core = score_batch(table, model, sig, profile="strict")
    assert _by_id(scored.toArrow()) == _by_id(core.scored)
    assert quarantine.count() == core.quarantine.num_rows == 1


# a short record, a long one (its quoted field holds the delimiter), good records between them
RAGGED_CSV = 'id,name\n1,a\n2\n3,"c, d",extra\n4,"e, f"\n'


def _ids_config(tmp_path: Path, lake: Path, fmt: str, name: str, *extra: str):
    """The identity model on id (string) and name over ``lake``, the same config for either engine."""
    signature = tmp_path / "ids.json"
    signature.write_text(
        json.dumps(
            {
                "inputs": '[{"type": "string", "name": "id", "required": true}, '
                '{"type": "string", "name": "name", "required": false}]',
                "outputs": '[{"type": "string", "name": "id", "required": true}]',
            }
        )
    )
    return load_score_config(
        None,
        [
            f"source.path={lake}",
            f"source.format={fmt}",
            *(["source.options={header: true}"] if fmt == "csv" else []),  # Spark's default is false
            "model=python:sigbatch.examples.models:identity",
            f"signature={signature}",
            f"output.path={tmp_path / name}",
            "progress=false",
            *extra,
        ],
    )


def test_ragged_csv_records_are_parse_errors_on_both_engines(spark, tmp_path):
    """A CSV record with too few or too many fields is one PARSE_ERROR holding its first fields, its
    text and its position, on Spark and on Dask alike; the rest is scored without _corrupt_record."""
    from sigbatch.dask import run_scoring as run_dask
    from sigbatch.spark import run_scoring as run_spark

    lake = tmp_path / "lake"
    lake.mkdir()
    (lake / "a.csv").write_text(RAGGED_CSV)
    runs = {  # Spark's one pass, Spark through its checkpoint (split_frame), Dask
        "spark": (lambda config: run_spark(spark, config), []),
        "spark-checkpoint": (lambda config: run_spark(spark, config), ["spark.inline_quarantine_mb=0"]),
        "dask": (run_dask, []),
    }
    for engine, (run, extra) in runs.items():
        config = _ids_config(tmp_path, lake, "csv", engine, *extra)
        counts = run(config).counts
        assert (counts.rows_in, counts.rows_scored, counts.rows_quarantined) == (4, 2, 2), engine
        assert counts.quarantined_by_code == {"PARSE_ERROR": 2}, engine
        scored = pq.read_table(Path(config.output) / "scored")
        assert scored.column_names == ["id", "name"], engine  # the prediction "id" takes the source's place
        assert sorted(scored.column("id").to_pylist()) == ["1", "4"], engine
        bad = sorted(
            pq.read_table(Path(config.output) / "quarantine").to_pylist(), key=lambda r: r["_sigbatch_row"]
        )
        assert [
            (
                r["id"],
                r["name"],
                r["_corrupt_record"],
                Path(r["_sigbatch_file"]).name,
                r["_sigbatch_file_offset"],
                r["_sigbatch_row"],
                [e["code"] for e in r["_sigbatch_errors"]],
            )
            for r in bad
        ] == [
            ("2", None, "2", "a.csv", 0, 1, ["PARSE_ERROR"]),
            ("3", "c, d", '3,"c, d",extra', "a.csv", 0, 2, ["PARSE_ERROR"]),
        ], engine


def test_scored_output_has_no_corrupt_record_column(spark, tmp_path):
    """A clean CSV (read with a _corrupt_record column) and a JSON source with a corrupt line score to
    outputs without _corrupt_record; the JSON quarantine keeps it with the line's text."""
    from sigbatch.spark import run_scoring

    (tmp_path / "csv").mkdir()
    (tmp_path / "csv" / "a.csv").write_text("id,name\n1,a\n2,b\n")
    config = _ids_config(tmp_path, tmp_path / "csv", "csv", "out-csv")
    counts = run_scoring(spark, config).counts
    assert (counts.rows_scored, counts.rows_quarantined) == (2, 0)
    assert pq.read_table(Path(config.output) / "scored").column_names == ["id", "name"]
    (tmp_path / "json").mkdir()
    (tmp_path / "json" / "a.jsonl").write_text('{"id": "1", "name": "a"}\n{"id": "2", "name": \n')
    config = _ids_config(tmp_path, tmp_path / "json", "json", "out-json")
    counts = run_scoring(spark, config).counts
    assert (counts.rows_scored, counts.rows_quarantined) == (1, 1)
    assert pq.read_table(Path(config.output) / "scored").column_names == ["id", "name"]
    assert pq.read_table(Path(config.output) / "quarantine").column("_corrupt_record").to_pylist() == [
        '{"id": "2", "name": '
    ]


def test_csv_quoted_line_breaks_are_read_as_on_dask(spark, tmp_path):
    """A quoted CSV field holding a line break is one value on Spark (read with multiLine) as on
    Dask, a ragged record beside it is a corrupt record on both, and both take the first line as
    the header by default."""
    from sigbatch.config import SourceConfig
    from sigbatch.dask.io import read_piece_table
    from sigbatch.dask.io import read_source as dask_source
    from sigbatch.spark.io import read_source

    (tmp_path / "lake").mkdir()
    (tmp_path / "lake" / "a.csv").write_text('id,s\n1,a\n2,"multi\nline"\n3\n4,d\n')
    source = SourceConfig(str(tmp_path / "lake"), None, "csv", {})  # the header is the first line on both
    on_spark = [tuple(r) for r in read_source(spark, source).collect()]
    dask = dask_source(source)
    on_dask = [
        (r["id"], r["s"], r["_corrupt_record"])
        for p in dask.pieces
        for r in read_piece_table(p, dask.schema, dask.options).to_pylist()
    ]
    expected = [("1", "a", None), ("2", "multi\nline", None), ("3", None, "3"), ("4", "d", None)]
    assert on_spark == expected and on_dask == expected


def test_ragged_csv_records_with_inferred_types_are_corrupt_on_both_engines(spark, tmp_path):
    """With inferSchema: true, a record with too few or too many fields is a corrupt record on
    Spark as on Dask (its first fields typed, its text kept), not a padded or cut row."""
    from sigbatch.config import SourceConfig
    from sigbatch.dask.io import read_piece_table
    from sigbatch.dask.io import read_source as dask_source
    from sigbatch.spark.io import read_source

    (tmp_path / "lake").mkdir()
    (tmp_path / "lake" / "a.csv").write_text("id,v,s\n1,0.5,a\n2,1.5\n3,2.5,c,extra\n4,3.5,d\n")
    source = SourceConfig(str(tmp_path / "lake"), None, "csv", {"inferSchema": True})
    on_spark = [tuple(r) for r in read_source(spark, source).collect()]
    dask = dask_source(source)
    on_dask = [
        (r["id"], r["v"], r["s"], r["_corrupt_record"])
        for p in dask.pieces
        for r in read_piece_table(p, dask.schema, dask.options).to_pylist()
    ]
    expected = [
        (1, 0.5, "a", None),
        (2, 1.5, None, "2,1.5"),
        (3, 2.5, "c", "3,2.5,c,extra"),
        (4, 3.5, "d", None),
    ]
    assert on_spark == expected and on_dask == expected


def test_columns_named_with_dots_and_backticks(spark, tmp_path):
    """Columns named ``a.b`` and ``d`e`` (which mapInArrow cannot resolve by name) are scored, quarantined,
    inferred and audited under their own names."""
    from sigbatch.audit import audit
    from sigbatch.spark import infer_schema, run_scoring, score

    lake = tmp_path / "lake"
    lake.mkdir()
    pq.write_table(pa.table({"a.b": [1, None, 3], "d`e": ["x", "y", None]}), lake / "part-0.parquet")
    sig = ModelSignature(
        Schema([ColSpec("long", "a.b"), ColSpec("string", "d`e", required=False)]),
        Schema([ColSpec("long", "a.b")]),
    )
    df = spark.read.parquet(str(lake))
    assert str(infer_schema(df).schema) == "['a.b': long (optional), 'd`e': string (optional)]"
    scored, quarantine = score(df, "python:sigbatch.examples.models:identity", sig)
    assert sorted(((r["d`e"], r["a.b"]) for r in scored.collect()), key=lambda r: r[1]) == [
        ("x", 1),
        (None, 3),
    ]
    ((bad_row,),) = [[(r["d`e"], r["_sigbatch_errors"][0]["path"]) for r in quarantine.collect()]]
    assert bad_row == ("y", '"a.b"')  # the column a.b, quoted in the path
    config = job_config(tmp_path, lake, "parquet", sig)
    counts = run_scoring(spark, config).counts
    assert (counts.rows_in, counts.rows_scored, counts.rows_quarantined) == (3, 2, 1)
    summary = audit(tmp_path / "out", engine="spark", spark=spark).to_dict()
    assert summary["rows_quarantined"] == 1


def test_a_job_above_its_max_quarantine_rate_fails_after_writing(spark, tmp_path):
    """A model that raises on every row quarantines them all; with max_quarantine_rate the job then
    fails (QuarantineRateError) with its outputs and manifest written, on Spark as on Dask."""
    from sigbatch.errors import QuarantineRateError
    from sigbatch.spark import run_scoring

    lake = tmp_path / "lake"
    lake.mkdir()
    pq.write_table(pa.table({"x": [1.0, 2.0, 3.0]}), lake / "part-0.parquet")
    sig = ModelSignature(Schema([ColSpec("double", "x")]), Schema([ColSpec("double", "score")]))
    # row_sum needs the columns id, n and flag: a KeyError on every row
    config = job_config(
        tmp_path,
        lake,
        "parquet",
        sig,
        "max_quarantine_rate=0.5",
        model="python:sigbatch.examples.models:row_sum",
    )
    with pytest.raises(QuarantineRateError, match=r"^100\.00% of rows quarantined \(3 of 3: MODEL_ERROR 3\)"):
        run_scoring(spark, config)
    assert read_manifest(tmp_path / "out").counts.rows_quarantined == 3


def test_file_metadata_is_asked_of_the_plan(spark, tmp_path):
    """A file scan offers _metadata; a view over an expression or a join does not, and the job knows
    it from the plan, without a failing select that Spark would log at ERROR level."""
    from sigbatch.spark.io import _has_file_metadata, with_source_identity

    pq.write_table(pa.table({"x": [1, 2]}), tmp_path / "a.parquet")
    df = spark.read.parquet(str(tmp_path))
    df.createOrReplaceTempView("sigbatch_meta_view")
    view = spark.sql("select x + 1 as x from sigbatch_meta_view")
    assert [_has_file_metadata(d) for d in (df, view, df.join(df, "x"))] == [True, False, False]
    assert with_source_identity(view, "parquet").columns == ["x"]
    assert with_source_identity(df, "parquet").columns == [
        "x",
        "_sigbatch_file",
        "_sigbatch_row",
    ]  # offsets: 0


def test_a_source_column_nested_too_deeply_is_one_error(spark, tmp_path):
    """A JSON field nested 150 levels deep cannot be pickled to the workers: one SchemaMismatchError
    before any work, not the PicklingError from inside Spark's function wrapper."""
    from sigbatch.spark import run_scoring

    lake = tmp_path / "lake"
    lake.mkdir()
    deep = '{"a": ' * 150 + "1" + "}" * 150
    (lake / "a.json").write_text('{"x": 0.5}\n{"x": 1.0, "deep": ' + deep + "}\n")
    sig = ModelSignature(Schema([ColSpec("double", "x")]), Schema([ColSpec("double", "x")]))
    config = job_config(tmp_path, lake, "json", sig)
    with pytest.raises(
        SchemaMismatchError, match=r"^the source's columns cannot be shipped to Spark's Python workers"
    ):
        run_scoring(spark, config)


def test_score_takes_a_signature_file_as_score_batch_does(spark, tmp_path):
    """signature= may be the path of a signature file, on the Spark API as on score_batch."""
    from sigbatch.spark import score

    sig = ModelSignature(Schema([ColSpec("double", "x")]), Schema([ColSpec("double", "x")]))
    path = tmp_path / "signature.json"
    path.write_text(json.dumps(sig.to_dict()))
    scored, _ = score(
        spark.createDataFrame([(1.0,), (2.0,)], "x double"), "python:sigbatch.examples.models:identity", path
    )
    assert sorted(r["x"] for r in scored.collect()) == [1.0, 2.0]
