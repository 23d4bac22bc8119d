"""``sigbatch demo``: a small seed-shaped lake with bad rows, scored end to end on this machine.

Generates Parquet files shaped like the seed notebook's nested example with a few percent of bad
rows of several kinds, takes the signature from the clean rows, scores every file with the
example model ``python:sigbatch.examples.models:tag_counter`` (which also refuses one value on
purpose), writes ``scored/`` and ``quarantine/`` Parquet plus a manifest, checks that rows in =
scored + quarantined, and prints a summary.
"""

from __future__ import annotations

import json
import random
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from sigbatch.errors import ConfigError
from sigbatch.models import score_batch
from sigbatch.quarantine import ERRORS_COLUMN, STAGE_COLUMN
from sigbatch.types import Array, ColSpec, ModelSignature, Object, Property, Schema

__all__ = ["DEMO_SIGNATURE", "DemoSummary", "make_rows", "run_demo"]

MODEL_URI = "python:sigbatch.examples.models:tag_counter"
DEMO_SIGNATURE = ModelSignature(
    Schema(
        [
            ColSpec(Array("string"), "a"),
            ColSpec("string", "b", required=False),
            ColSpec(Object([Property("d", "string"), Property("e", "string", required=False)]), "c"),
        ]
    ),
    Schema([ColSpec("double", "score")]),
)
_WORDS = ["alpha", "beta", "gamma", "delta", "omega", "sigma"]


def _good_row(rng: random.Random) -> dict[str, Any]:
    row: dict[str, Any] = {"a": rng.sample(_WORDS, rng.randint(1, 3)), "c": {"d": rng.choice(_WORDS)}}
    if rng.random() < 0.7:
        row["b"] = rng.choice(_WORDS)
    if rng.random() < 0.5:
        row["c"]["e"] = rng.choice(_WORDS)
    return row


_FAULTS = (
    ("a", lambda row: row.pop("a")),  # MISSING_REQUIRED
    ("a", lambda row: row.__setitem__("a", "not-a-list")),  # INVALID_ARRAY
    ("c", lambda row: row.__setitem__("c", {"e": "no d"})),  # MISSING_REQUIRED c.d
    ("c", lambda row: row["c"].__setitem__("z", "extra")),  # INVALID_OBJECT c.z
    ("c", lambda row: row["c"].__setitem__("d", "boom")),  # MODEL_ERROR
)


def make_rows(n: int, bad_fraction: float = 0.03, seed: int = 7) -> list[dict[str, Any]]:
    """Seed-shaped records, about ``bad_fraction`` of them broken in one of five ways."""
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        row = _good_row(rng)
        if rng.random() < bad_fraction:
            rng.choice(_FAULTS)[1](row)
        rows.append(row)
    return rows


@dataclass(frozen=True)
class DemoSummary:
    """What the demo did: counts, reasons and where the outputs are."""

    output: Path
    rows_in: int
    rows_scored: int
    rows_quarantined: int
    by_code: dict[str, int]
    by_stage: dict[str, int]
    seconds: float

    def text(self) -> str:
        """A short readable report."""
        lines = [
            f"sigbatch demo: scored a {self.rows_in:,}-row seed-shaped lake in {self.seconds:.1f} s",
            f"  rows in          {self.rows_in:>10,}",
            f"  rows scored      {self.rows_scored:>10,}",
            f"  rows quarantined {self.rows_quarantined:>10,}  ({self.rows_quarantined / max(self.rows_in, 1):.1%})",
        ]
        for code, count in sorted(self.by_code.items(), key=lambda kv: -kv[1]):
            lines.append(f"    {code:<18} {count:>8,}")
        lines += [
            f"  scored rows:      {self.output / 'scored'}",
            f"  quarantined rows: {self.output / 'quarantine'}",
            f"  manifest:         {self.output / '_sigbatch_manifest.json'}",
            "next: look at the refused rows with",
            f"  python -c \"import pyarrow.parquet as pq; print(pq.read_table('{self.output / 'quarantine'}').to_pandas())\"",
        ]
        return "\n".join(lines)


def run_demo(output: str | Path = "sigbatch-demo", rows: int = 20_000, files: int = 4, overwrite: bool = False) -> DemoSummary:
    """Generate the lake under ``output/lake``, score it, write outputs and the manifest."""
    out = Path(output)
    if rows < 1 or files < 1:
        msg = f"--rows and files must be positive (got rows={rows}, files={files})"
        raise ConfigError(msg)
    if out.exists() and any(out.iterdir()) and not overwrite:
        msg = f"{out} exists and is not empty; pass --overwrite or choose another --output"
        raise ConfigError(msg)
    start = time.perf_counter()
    lake, scored_dir, quarantine_dir = out / "lake", out / "scored", out / "quarantine"
    for d in (lake, scored_dir, quarantine_dir):
        d.mkdir(parents=True, exist_ok=True)
        for old in d.glob("*.parquet"):
            old.unlink()
    records = make_rows(rows)
    per_file = -(-rows // files)
    rows_in = scored = quarantined = 0
    by_code: Counter[str] = Counter()
    by_stage: Counter[str] = Counter()
    for part in range(files):
        chunk = records[part * per_file : (part + 1) * per_file]
        if not chunk:
            continue
        (lake / f"part-{part:03d}.jsonl").write_text("\n".join(json.dumps(r) for r in chunk) + "\n")
        result = score_batch(chunk, MODEL_URI, DEMO_SIGNATURE)
        pq.write_table(result.scored, scored_dir / f"part-{part:03d}.parquet")
        pq.write_table(result.quarantine, quarantine_dir / f"part-{part:03d}.parquet")
        rows_in += len(chunk)
        for reasons in result.quarantine.column(ERRORS_COLUMN).to_pylist():
            by_code.update({r["code"] for r in reasons})
        by_stage.update(result.quarantine.column(STAGE_COLUMN).to_pylist())
    # Counts come from what was written (Parquet footers), not from what we meant to write.
    scored = sum(pq.ParquetFile(p).metadata.num_rows for p in scored_dir.glob("*.parquet"))
    quarantined = sum(pq.ParquetFile(p).metadata.num_rows for p in quarantine_dir.glob("*.parquet"))
    if rows_in != scored + quarantined:
        msg = f"accounting failed: {rows_in} rows in, {scored} scored + {quarantined} quarantined"
        raise AssertionError(msg)
    seconds = time.perf_counter() - start
    manifest = {
        "engine": "local",
        "model": MODEL_URI,
        "signature": DEMO_SIGNATURE.to_dict(),
        "counts": {
            "rows_in": rows_in,
            "rows_scored": scored,
            "rows_quarantined": quarantined,
            "quarantined_by_stage": dict(by_stage),
            "quarantined_by_code": dict(by_code),
        },
        "timings": {"total_seconds": round(seconds, 3)},
        "pyarrow": pa.__version__,
    }
    (out / "_sigbatch_manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return DemoSummary(out, rows_in, scored, quarantined, dict(by_code), dict(by_stage), seconds)
