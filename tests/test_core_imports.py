"""The core knows no engine: importing sigbatch outside spark/ and dask/ loads neither pyspark nor dask."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys

import sigbatch

BACKENDS = ("sigbatch.spark", "sigbatch.dask")

# Run from a file, not `python -c`: pyspark treats a `-c` main module specially (see NOTES.md).
PROBE = """
import importlib, json, sys
for name in {modules!r}:
    importlib.import_module(name)
loaded = sorted({{m.split(".")[0] for m in sys.modules}} & {{"pyspark", "dask", "distributed"}})
print(json.dumps({{"imported": {modules!r}, "engines": loaded}}))
"""


def core_modules() -> list[str]:
    """Every sigbatch module outside the backends that exists now, so future modules are covered."""
    found = [
        info.name
        for info in pkgutil.walk_packages(sigbatch.__path__, prefix="sigbatch.")
        if not info.name.startswith(BACKENDS)
    ]
    return sorted({"sigbatch", "sigbatch.types", "sigbatch.wire", "sigbatch.arrow", *found})


def test_core_modules_are_found():
    """The module list covers at least the core modules that exist from the start."""
    modules = core_modules()
    assert {"sigbatch", "sigbatch.types", "sigbatch.wire", "sigbatch.arrow", "sigbatch.errors"} <= set(
        modules
    )
    assert not any(m.startswith(BACKENDS) for m in modules)


def test_core_imports_no_engine(tmp_path):
    """Importing every core module in a fresh interpreter leaves pyspark and dask out of sys.modules."""
    modules = core_modules()
    probe = tmp_path / "probe.py"
    probe.write_text(PROBE.format(modules=modules))
    done = subprocess.run(
        [sys.executable, str(probe)], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report == {"imported": modules, "engines": []}
