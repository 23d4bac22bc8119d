"""Scoring-job configs for tests: the signature written beside the lake, the keys every job needs."""

from __future__ import annotations

import json
from pathlib import Path

from sigbatch import ModelSignature
from sigbatch.config import ScoreConfig, load_score_config

#: The example model that returns its input (the signature's outputs pick the prediction columns).
IDENTITY = "python:sigbatch.examples.models:identity"


def job_config(
    tmp_path: Path,
    lake: Path,
    fmt: str,
    signature: ModelSignature,
    *extra: str,
    model: str = IDENTITY,
    output: str = "out",
) -> ScoreConfig:
    """A config scoring ``lake`` (read as ``fmt``) with ``model``, ``signature`` written to
    ``tmp_path/<output>-signature.json`` (one per output, so several configs can share
    ``tmp_path``), the outputs in ``tmp_path/output``; ``extra`` are more overrides."""
    sig_file = tmp_path / f"{output}-signature.json"
    sig_file.write_text(json.dumps(signature.to_dict()))
    return load_score_config(
        None,
        [
            f"source.path={lake}",
            f"source.format={fmt}",
            f"model={model}",
            f"signature={sig_file}",
            f"output.path={tmp_path / output}",
            *extra,
        ],
    )
