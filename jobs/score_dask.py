"""Score a lake on Dask: ``python jobs/score_dask.py --config conf/score_dask.yaml [--set k=v] [--quiet]``.

The same job as ``sigbatch score --engine dask``; see :func:`sigbatch.dask.run_scoring`.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from sigbatch.cli import main as cli_main


def main(argv: Sequence[str] | None = None) -> int:
    """Run the Dask scoring job with the command line's arguments; returns the exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    return cli_main(["score", "--engine", "dask", *args])


if __name__ == "__main__":
    raise SystemExit(main())
