"""Score a lake on Spark: ``spark-submit jobs/score_spark.py --config conf/score_spark.yaml [--set k=v]``.

The same job as ``sigbatch score --engine spark``; under ``spark-submit`` the session takes its
master and settings from the command line. See :func:`sigbatch.spark.run_scoring` and docs/spark.md.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from sigbatch.cli import main as cli_main


def main(argv: Sequence[str] | None = None) -> int:
    """Run the Spark scoring job with the command line's arguments; returns the exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    return cli_main(["score", "--engine", "spark", *args])


if __name__ == "__main__":
    raise SystemExit(main())
