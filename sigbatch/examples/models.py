"""Small example models: load them as ``python:sigbatch.examples.models:<name>``."""

from __future__ import annotations

import pandas as pd

__all__ = ["identity", "row_sum", "tag_counter"]


def identity(frame: pd.DataFrame) -> pd.DataFrame:
    """Return the input unchanged (the seed notebook's ``MyModel``)."""
    return frame


def tag_counter(frame: pd.DataFrame) -> pd.Series:
    """Score a seed-shaped row: the number of tags plus the length of ``c.d``.

    Raises for a row whose ``c.d`` is the text "boom", to show model-error quarantine.
    """

    def score(tags: list[str], c: dict[str, str]) -> float:
        if c.get("d") == "boom":
            msg = "cannot score 'boom'"
            raise ValueError(msg)
        return float(len(tags) + len(c.get("d") or ""))

    return pd.Series([score(t, c) for t, c in zip(frame["a"], frame["c"], strict=True)], name="score")


def row_sum(frame: pd.DataFrame) -> pd.Series:
    """Sum of the numeric columns ``id``, ``n`` and ``flag`` (a scalar example model)."""
    return (frame["id"] + frame["n"] + frame["flag"]).astype("float64")
