"""Score a lake on Dask: ``python jobs/score_dask.py --config conf/score_dask.yaml [--set k=v] [--quiet]``.

The same job as ``sigbatch score --engine dask``; see :func:`sigbatch.dask.run_scoring`.
"""

from __future__ import annotations

from collections.abc import Sequence

from sigbatch.cli import exit_with, job_main


def main(argv: Sequence[str] | None = None) -> int:
    """Run the Dask scoring job with the command line's arguments; returns the exit status."""
    return job_main("jobs/score_dask.py", ["score", "--engine", "dask"], argv)


if __name__ == "__main__":
    exit_with(main())
