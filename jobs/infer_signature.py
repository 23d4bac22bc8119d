"""Lake-scale signature inference as a job: ``spark-submit jobs/infer_signature.py --config conf/infer.yaml``.

The same job as ``sigbatch infer --engine spark`` (it takes the same options: ``--config``,
``--set key=value``, ``--rows-per-partition``, ...): the per-file work runs on the executors of the
session spark-submit starts. Spark is the default here; an ``engine`` in the config, or
``--engine``, chooses another. Prints the signature and the report; exit status 0, or 2 with
the error on stderr for a caller's mistake or (policy strict) conflicting types, after the report of
what was read. spark-submit joins the driver's stderr to its stdout (with pyspark's own warnings):
``--output FILE`` writes the signature JSON apart from everything printed.
"""

from __future__ import annotations

from collections.abc import Sequence

from sigbatch.cli import exit_with, job_main


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``sigbatch infer`` with ``argv`` (default: the process arguments) on Spark, unless an
    ``--engine`` on the command line or an ``engine`` in the config chooses another engine."""
    return job_main("jobs/infer_signature.py", ["infer", "--engine", "spark"], argv)


if __name__ == "__main__":
    exit_with(main())
