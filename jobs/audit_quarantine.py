"""Audit a scoring job's quarantine on Spark.

``spark-submit jobs/audit_quarantine.py OUTPUT_DIR [--html report.html] [--json summary.json]``

The same job as ``sigbatch audit --engine spark``: the quarantine is aggregated on the cluster
(only counts, top values and a few example rows reach the driver). Under ``spark-submit`` the
session takes its master and settings from the command line. See :func:`sigbatch.audit.audit`
and docs/audit.md.
"""

from __future__ import annotations

from collections.abc import Sequence

from sigbatch.cli import exit_with, job_main


def main(argv: Sequence[str] | None = None) -> int:
    """Run the Spark audit with the command line's arguments; returns the exit status."""
    return job_main("jobs/audit_quarantine.py", ["audit", "--engine", "spark"], argv)


if __name__ == "__main__":
    exit_with(main())
