"""Audit a scoring job's quarantine on Spark.

``spark-submit jobs/audit_quarantine.py OUTPUT_DIR [--html report.html] [--json summary.json]``

The same job as ``sigbatch audit --engine spark``: the quarantine is aggregated on the cluster
(only counts, top values and a few example rows reach the driver). Under ``spark-submit`` the
session takes its master and settings from the command line. See :func:`sigbatch.audit.audit`
and docs/audit.md.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from sigbatch.cli import exit_with
from sigbatch.cli import main as cli_main


def main(argv: Sequence[str] | None = None) -> int:
    """Run the Spark audit with the command line's arguments; returns the exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    return cli_main(["audit", "--engine", "spark", *args])


if __name__ == "__main__":
    exit_with(main())
