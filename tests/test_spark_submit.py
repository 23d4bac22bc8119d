"""The Spark job under a real ``spark-submit``: separate executor JVMs and Python workers, task retries."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest

pytestmark = [pytest.mark.spark, pytest.mark.slow]

ROOT = Path(__file__).parent.parent
SPARK_SUBMIT = Path(sys.executable).parent / "spark-submit"


def _reasons(table) -> dict[int, tuple[str, list[tuple[str, str]]]]:
    return {
        r["id"]: (r["_sigbatch_stage"], [(e["path"], e["code"]) for e in r["_sigbatch_errors"]])
        for r in table.to_pylist()
    }


def test_job_survives_task_retries_on_a_local_cluster(tmp_path):
    """On local-cluster[2,1,1024], a task that fails midway (raise) and one whose worker dies are retried: counts exact, no row lost or doubled."""
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.fail("spark-submit needs Java 17 or 21 (Debian: apt-get install openjdk-17-jre-headless)")
    assert SPARK_SUBMIT.exists(), f"{SPARK_SUBMIT} is missing: install pyspark in this environment"
    sys.path.insert(0, str(ROOT / "tests"))
    try:
        import spark_models
    finally:
        sys.path.remove(str(ROOT / "tests"))

    table, expected = spark_models.landing_table(400)
    lake = tmp_path / "lake"
    lake.mkdir()
    for i in range(4):  # four files: four tasks, each of several batches
        pq.write_table(table.slice(i * 100, 100), lake / f"part-{i}.parquet")
    signature = tmp_path / "signature.json"
    signature.write_text(json.dumps(spark_models.LANDING_SIGNATURE_DICT))
    markers = tmp_path / "markers"
    markers.mkdir()
    out = tmp_path / "out"
    env = {
        **os.environ,
        "PYSPARK_PYTHON": sys.executable,
        "PYSPARK_DRIVER_PYTHON": sys.executable,
        "TZ": "UTC",
    }
    command = [
        str(SPARK_SUBMIT),
        "--master",
        "local-cluster[2,1,1024]",
        "--conf",
        "spark.ui.enabled=false",
        "--conf",
        "spark.task.maxFailures=4",
        "--conf",
        "spark.sql.session.timeZone=UTC",
        "--conf",
        f"spark.pyspark.python={sys.executable}",
        "--py-files",
        str(ROOT / "tests" / "spark_models.py"),
        str(ROOT / "jobs" / "score_spark.py"),
        "--config",
        str(ROOT / "conf" / "score_spark.yaml"),
        "--set",
        f"source.path={lake}",
        "--set",
        "source.format=parquet",
        "--set",
        "model=python:spark_models:flaky",
        "--set",
        f"signature={signature}",
        "--set",
        f"params={{markers: {json.dumps(str(markers))}}}",
        "--set",
        f"output.path={out}",
        "--set",
        "profile=lenient",
        "--set",
        "spark.batch_size=20",
    ]
    done = subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240, check=False
    )
    assert done.returncode == 0, done.stderr[-4000:]
    assert "rows in" in done.stdout and "(spark " in done.stdout

    # both faults happened on a first attempt, in worker processes other than this one
    raised = list(markers.glob("raised-*-0"))
    crashed = list(markers.glob("crashed-*-1"))
    assert raised and crashed, sorted(p.name for p in markers.iterdir())
    workers = set((markers / "workers").read_text().split())
    assert len(workers) >= 2 and str(os.getpid()) not in workers

    manifest = json.loads((out / "_sigbatch_manifest.json").read_text())
    counts = manifest["counts"]
    assert (counts["rows_in"], counts["rows_scored"], counts["rows_quarantined"]) == (
        400,
        400 - len(expected),
        len(expected),
    )
    scored_ids = pq.read_table(out / "scored").column("id").to_pylist()
    assert len(scored_ids) == len(set(scored_ids))
    assert set(scored_ids) == set(range(400)) - set(expected)
    quarantine = pq.read_table(out / "quarantine")
    assert quarantine.num_rows == len(expected)
    assert _reasons(quarantine) == expected
    assert Counter(r.split("/")[-1] for r in quarantine.column("_sigbatch_file").to_pylist()) == Counter(
        f"part-{i // 100}.parquet" for i in expected
    )
