"""One behavioural table, three engines: core, Spark and Dask score the same cases identically."""

from __future__ import annotations

import pytest

from tests.cases.score_cases import CASES, assert_case


@pytest.mark.parametrize("case", CASES, ids=lambda c: c["id"])
def test_scoring_case(case, runner):
    """The scored ids, predictions, quarantined ids, stages and (path, code) reasons are exactly the case's."""
    scored, quarantine = runner(
        case["table"](), case["model"], case["signature"], case.get("profile", "mlflow")
    )
    assert_case(case, scored, quarantine)
