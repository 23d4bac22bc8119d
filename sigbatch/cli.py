"""The ``sigbatch`` command line: thin wrappers that parse, call one library function, and report.

Each sub-command is ``_cmd_<name>(args) -> int``; anything worth testing lives in the library.
Caller mistakes (a bad path, a broken signature file, a bad config) print one clear line on stderr
and exit with status 2; no traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from typing import Any

from sigbatch.errors import SigbatchError

__all__ = ["main"]


def _part_forms(signature: Any, fmt: str) -> dict[str, str | None]:
    """Each part of a signature rendered in ``fmt`` (arrow or spark)."""
    out: dict[str, str | None] = {}
    for part in ("inputs", "outputs"):
        schema = getattr(signature, part)
        if schema is None:
            out[part] = None
        elif fmt == "arrow":
            out[part] = schema.to_arrow().to_string(show_schema_metadata=False)
        else:
            from sigbatch.spark.types import to_struct_type

            out[part] = to_struct_type(schema).treeString().rstrip("\n")
    return out


def _cmd_show(args: argparse.Namespace) -> int:
    from sigbatch.wire import load_signature

    signature = load_signature(args.path)
    if args.format == "mlflow":
        sys.stdout.write(str(signature))
    elif args.format == "json":
        sys.stdout.write(json.dumps(signature.to_dict(), indent=2) + "\n")
    else:
        forms = _part_forms(signature, args.format)
        for part, text in forms.items():
            sys.stdout.write(f"{part}:\n")
            for line in (text or "None").splitlines():
                sys.stdout.write(f"  {line}\n")
        if signature.params is not None:
            sys.stdout.write(f"params:\n  {signature.params!r}\n")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from sigbatch.demo import run_demo

    summary = run_demo(args.output, rows=args.rows, overwrite=args.overwrite)
    sys.stdout.write(summary.text() + "\n")
    return 0


def _print_manifest(manifest: Any) -> None:
    c = manifest.counts
    rate = c.rows_quarantined / c.rows_in if c.rows_in else 0.0
    lines = [
        f"sigbatch score ({manifest.engine} {manifest.engine_version}): job {manifest.job_id}",
        f"  rows in          {c.rows_in:>12,}",
        f"  rows scored      {c.rows_scored:>12,}",
        f"  rows quarantined {c.rows_quarantined:>12,}  ({rate:.2%})",
    ]
    lines += [f"    {code:<18} {n:>10,}" for code, n in sorted(c.quarantined_by_code.items(), key=lambda kv: -kv[1])]
    lines.append(f"  outputs: {manifest.config.get('output.path')}  (scored/, quarantine/, _sigbatch_manifest.json)")
    sys.stdout.write("\n".join(lines) + "\n")


def _cmd_score(args: argparse.Namespace) -> int:
    from sigbatch.config import load_score_config

    overrides = list(args.set or [])
    if args.quiet:
        overrides.append("progress=false")
    config = load_score_config(args.config, overrides)
    if args.engine == "spark":
        from sigbatch.spark.score import run_scoring_job

        manifest = run_scoring_job(config)
    else:
        from sigbatch.dask.score import run_scoring

        manifest = run_scoring(config)
    _print_manifest(manifest)
    return 0


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sigbatch",
        description="MLflow-compatible model signatures for batch data: show, infer, score, audit.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    show = sub.add_parser("show", help="print a model's signature (MLmodel, model dir, .json or .yaml)")
    show.add_argument("path", help="a model directory, an MLmodel file, or a .json/.yaml signature file")
    show.add_argument(
        "--format",
        choices=("mlflow", "json", "arrow", "spark"),
        default="mlflow",
        help="mlflow: MLflow's printed form (default); json: the MLmodel signature mapping; "
        "arrow: the Arrow schema of conforming data; spark: the Spark StructType",
    )
    show.set_defaults(handler=_cmd_show)

    score = sub.add_parser("score", help="score a lake with per-row quarantine (Dask locally, or Spark)")
    score.add_argument("--engine", choices=("dask", "spark"), default="dask", help="dask (default, local) or spark")
    score.add_argument("--config", help="a YAML config (see conf/score_dask.yaml, conf/score_spark.yaml)")
    score.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a config key (repeatable)")
    score.add_argument("--quiet", action="store_true", help="no progress bar")
    score.set_defaults(handler=_cmd_score)

    demo = sub.add_parser("demo", help="generate a small lake with bad rows, score it, print a summary")
    demo.add_argument("--rows", type=int, default=20_000, help="rows to generate (default 20,000)")
    demo.add_argument("--output", default="sigbatch-demo", help="output directory (default ./sigbatch-demo)")
    demo.add_argument("--overwrite", action="store_true", help="replace the outputs of an earlier demo run")
    demo.set_defaults(handler=_cmd_demo)

    for register in _EXTRA_COMMANDS:
        register(sub)
    return parser


# Later sub-commands (infer, score, demo, audit) register themselves here.
_EXTRA_COMMANDS: list[Callable[[Any], None]] = []


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``sigbatch`` command line; returns the exit status."""
    parser = _build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args))
    except SigbatchError as exc:
        sys.stderr.write(f"sigbatch {args.command}: error: {exc}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
