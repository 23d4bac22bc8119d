"""One behavioural table, three engines: core, Spark and Dask score the same cases identically."""

from __future__ import annotations

import pytest

from tests.cases.score_cases import CASES


@pytest.mark.parametrize("case", CASES, ids=lambda c: c["id"])
def test_scoring_case(case, runner):
    """The scored ids, predictions, quarantined ids, stages and (path, code) reasons are exactly the case's."""
    scored, quarantine = runner(
        case["table"](), case["model"], case["signature"], case.get("profile", "mlflow")
    )
    scored_rows = {row["id"]: row for row in scored.to_pylist()}
    assert sorted(scored_rows) == case["scored"]
    pred = "score" if "score" in scored.column_names else "prediction"
    assert {i: scored_rows[i][pred] for i in scored_rows} == case["predictions"]
    got = {
        row["id"]: (row["_sigbatch_stage"], [(e["path"], e["code"]) for e in row["_sigbatch_errors"]])
        for row in quarantine.to_pylist()
    }
    assert got == case["quarantined"]
    assert scored.num_rows + quarantine.num_rows == case["table"]().num_rows
