"""Progress on a terminal: one line, redrawn in place, for work counted in files and rows.

The commands draw it on stderr when stderr is a terminal (``sigbatch infer``, ``replay``, ``demo``);
the library functions take the callable it returns (``progress=``) and stay quiet without one.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import IO

__all__ = ["progress_line"]


def progress_line(out: IO[str], label: str, unit: str, every: float = 0.0) -> Callable[[int, int, int], None]:
    """A ``show(done, total, rows)`` that redraws ``label: done/total unit, rows rows`` on ``out``,
    at most every ``every`` seconds, and once more, ended with a line break, when ``done == total``.

    Example:
        >>> import io
        >>> out = io.StringIO()
        >>> show = progress_line(out, "sigbatch infer", "files")
        >>> show(1, 2, 500); show(2, 2, 1200)
        >>> out.getvalue()
        '\\rsigbatch infer: 1/2 files, 500 rows\\rsigbatch infer: 2/2 files, 1,200 rows\\n'
    """
    shown = [float("-inf")]

    def show(done: int, total: int, rows: int) -> None:
        now = time.monotonic()
        if done < total and now - shown[0] < every:
            return
        shown[0] = now
        end = "\n" if done == total else ""
        out.write(f"\r{label}: {done:,}/{total:,} {unit}, {rows:,} rows{end}")
        out.flush()

    return show
