"""Dask scoring on a LocalCluster of 2 worker processes: parity, one model load per process, a killed worker."""

from __future__ import annotations

import itertools
import os
import signal
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sigbatch import ColSpec, ModelSignature, Schema
from tests.cases.score_cases import CASES, assert_case

pytestmark = [pytest.mark.dask, pytest.mark.slow]

LOG_ENV = "SIGBATCH_TEST_MODEL_LOG"
SIG = ModelSignature(
    Schema([ColSpec("long", "id"), ColSpec("double", "x")]), Schema([ColSpec("double", "score")])
)
ROWS, FILES = 4_000, 8

# --- models the workers import as python:tests.test_dask_cluster:<name> -------------------------

_SERIALS = itertools.count()


class _LoggingModel:
    """Score = id; logs ``pid serial ids`` for every call (serial: which load of the model this is)."""

    def __init__(self) -> None:
        self.serial = next(_SERIALS)

    def predict(self, frame: pd.DataFrame) -> pd.Series:
        ids = ",".join(str(int(i)) for i in frame["id"])
        with open(Path(os.environ[LOG_ENV]) / f"calls-{os.getpid()}.log", "a") as f:
            f.write(f"{os.getpid()} {self.serial} {ids}\n")
        return frame["id"].astype("float64").rename("score")


def __getattr__(name: str) -> object:
    # Every load of "fresh_model" builds a new object, so a reload shows up as a new serial.
    if name == "fresh_model":
        return _LoggingModel()
    raise AttributeError(name)


def killer_model(frame: pd.DataFrame) -> pd.Series:
    """Score = id; the first call that sees the middle row kills its own worker process (once)."""
    if (ROWS // 2) in set(frame["id"]):
        try:
            fd = os.open(Path(os.environ[LOG_ENV]) / "killed", os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            pass
        else:
            os.close(fd)
            os.kill(os.getpid(), signal.SIGKILL)
    return frame["id"].astype("float64").rename("score")


# --- fixtures ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """One LocalCluster for the module: 2 worker processes, 1 thread each, the model log dir in env."""
    import distributed  # the dask extra installs it: missing, the test fails rather than skips

    log = tmp_path_factory.mktemp("model-log")
    os.environ[LOG_ENV] = str(log)  # before the workers start, so they inherit it
    try:
        with (
            distributed.LocalCluster(
                n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
            ) as c,
            distributed.Client(c) as client,
        ):
            yield c, client, log
    finally:
        os.environ.pop(LOG_ENV, None)


@pytest.fixture(scope="module")
def lake(tmp_path_factory):
    """ROWS rows in FILES Parquet files; every tenth x is null (quarantined under the strict profile)."""
    root = tmp_path_factory.mktemp("lake")
    per = ROWS // FILES
    for i in range(FILES):
        ids = list(range(i * per, (i + 1) * per))
        x = pa.array([None if v % 10 == 3 else v + 0.5 for v in ids], pa.float64())
        pq.write_table(pa.table({"id": pa.array(ids, pa.int64()), "x": x}), root / f"part-{i:02d}.parquet")
    sig = root.parent / "signature.json"
    sig.write_text(__import__("json").dumps(SIG.to_dict()))
    return root, sig


def _config(lake, out: Path, scheduler: str, model: str):
    from sigbatch.config import load_score_config

    root, sig = lake
    return load_score_config(
        None,
        [
            f"source.path={root}",
            f"model={model}",
            f"signature={sig}",
            f"output.path={out}",
            f"dask.scheduler={scheduler}",
            "profile=strict",
            "progress=false",
        ],
    )


# --- tests ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=lambda c: c["id"])
def test_cases_on_two_worker_processes(case, cluster):
    """The shared scoring cases give the same scored and quarantined rows on worker processes."""
    import dask.dataframe as dd

    from sigbatch.dask import score

    _, client, _ = cluster
    table = case["table"]()
    frame = dd.from_pandas(table.to_pandas(types_mapper=pd.ArrowDtype), npartitions=2)
    pair = score(frame, case["model"], case["signature"], profile=case.get("profile", "mlflow"))
    s, q = client.gather(client.compute(list(pair)))
    scored, quarantine = (
        pa.Table.from_pandas(s, preserve_index=False),
        pa.Table.from_pandas(q, preserve_index=False),
    )
    assert_case(case, scored, quarantine)


def test_model_loaded_once_per_worker_and_each_row_scored_once(cluster, lake, tmp_path):
    """Across 8 partitions on 2 processes: one model load per process, every row seen exactly once."""
    from sigbatch.dask import run_scoring

    c, _, log = cluster
    for old in log.glob("calls-*.log"):
        old.unlink()
    m = run_scoring(
        _config(lake, tmp_path / "out", c.scheduler_address, "python:tests.test_dask_cluster:fresh_model")
    )
    assert (m.counts.rows_in, m.counts.rows_scored, m.counts.rows_quarantined) == (
        ROWS,
        ROWS - ROWS // 10,
        ROWS // 10,
    )
    calls = [line.split() for f in log.glob("calls-*.log") for line in f.read_text().splitlines()]
    serials_per_pid: dict[str, set[str]] = {}
    for pid, serial, _ in calls:
        serials_per_pid.setdefault(pid, set()).add(serial)
    assert len(calls) == FILES and len(serials_per_pid) == 2  # both workers scored
    assert all(len(s) == 1 for s in serials_per_pid.values()), serials_per_pid
    seen = sorted(int(i) for *_, ids in calls for i in ids.split(","))
    assert seen == [i for i in range(ROWS) if i % 10 != 3]


def test_killed_worker_loses_and_duplicates_nothing(cluster, lake, tmp_path):
    """A worker killed mid-run: its tasks are rerun elsewhere and the outputs still account exactly."""
    from sigbatch.dask import run_scoring

    c, client, log = cluster
    (log / "killed").unlink(missing_ok=True)
    pids_before = set(client.run(os.getpid).values())
    out = tmp_path / "out"
    m = run_scoring(_config(lake, out, c.scheduler_address, "python:tests.test_dask_cluster:killer_model"))
    assert (log / "killed").exists()
    client.wait_for_workers(2, timeout=30)
    assert set(client.run(os.getpid).values()) != pids_before  # one worker process was replaced
    assert (m.counts.rows_in, m.counts.rows_scored, m.counts.rows_quarantined) == (
        ROWS,
        ROWS - ROWS // 10,
        ROWS // 10,
    )
    scored = pq.read_table(out / "scored").column("id").to_pylist()
    quarantined = pq.read_table(out / "quarantine").column("id").to_pylist()
    assert len(set(scored)) == len(scored) and len(set(quarantined)) == len(quarantined)
    assert sorted(scored + quarantined) == list(range(ROWS))
    # each quarantined row names its file and its index there: it joins back to the source record
    for row in pq.read_table(out / "quarantine").to_pylist():
        assert pq.read_table(row["_sigbatch_file"]).column("id")[row["_sigbatch_row"]].as_py() == row["id"]
