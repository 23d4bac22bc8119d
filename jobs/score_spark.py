"""Score a lake on Spark: ``spark-submit jobs/score_spark.py --config conf/score_spark.yaml [--set k=v]``.

The same job as ``sigbatch score --engine spark``; under ``spark-submit`` the session takes its
master and settings from the command line. See :func:`sigbatch.spark.run_scoring` and docs/spark.md.
"""

from __future__ import annotations

from collections.abc import Sequence

from sigbatch.cli import exit_with, job_main


def main(argv: Sequence[str] | None = None) -> int:
    """Run the Spark scoring job with the command line's arguments; returns the exit status."""
    return job_main("jobs/score_spark.py", ["score", "--engine", "spark"], argv)


if __name__ == "__main__":
    exit_with(main())
