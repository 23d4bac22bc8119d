"""The ``sigbatch`` command line: thin wrappers that parse, call one library function, and report.

Each sub-command is ``_cmd_<name>(args) -> int``; anything worth testing lives in the library.
Caller mistakes (a bad path, a broken signature file, a bad config) print one clear line on stderr
and exit with status 2; no traceback. A scoring job that quarantined more rows than its
``max_quarantine_rate`` exits with status 3, its outputs written.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from sigbatch.errors import ConfigError, InferenceError, QuarantineRateError, SigbatchError

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

    progress = sys.stderr if sys.stderr.isatty() and not args.quiet else None
    summary = run_demo(args.output, rows=args.rows, overwrite=args.overwrite, progress=progress)
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
    lines += [
        f"    {code:<18} {n:>10,}" for code, n in sorted(c.quarantined_by_code.items(), key=lambda kv: -kv[1])
    ]
    lines.append(
        f"  outputs: {manifest.config.get('output.path')}  (scored/, quarantine/, _sigbatch_manifest.json)"
    )
    sys.stdout.write("\n".join(lines) + "\n")


def _cmd_score(args: argparse.Namespace) -> int:
    from sigbatch.config import load_score_config

    overrides = list(args.set or [])
    if args.quiet:
        overrides.append("progress=false")
    config = load_score_config(args.config, overrides)
    try:
        if args.engine == "spark":
            from sigbatch.spark.score import run_scoring_job

            manifest = run_scoring_job(config)
        else:
            from sigbatch.dask.score import run_scoring

            manifest = run_scoring(config)
    except QuarantineRateError as exc:  # the job ran and wrote its outputs: its summary, then exit 3
        if exc.manifest is not None:
            _print_manifest(exc.manifest)
        raise
    _print_manifest(manifest)
    return 0


def _same_file(a: str, b: str) -> bool:
    """Whether two paths name one file (after ``..``, symbolic links, or as hard links)."""
    if os.path.realpath(a) == os.path.realpath(b):
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist yet: different names, different files
        return False


def _cmd_audit(args: argparse.Namespace) -> int:
    from sigbatch.audit import AuditOptions, audit
    from sigbatch.report import check_target, render_html, write_html, write_json

    if args.json == "-" and args.html == "-":
        msg = "--json - and --html - both ask for stdout; write one of them to a file (--json PATH or --html PATH)"
        raise ConfigError(msg)
    json_file = None if args.json == "-" else args.json  # '-': the JSON goes to stdout
    html_file = None if args.html == "-" else args.html  # '-': the HTML goes to stdout
    if json_file and html_file and _same_file(json_file, html_file):
        msg = (
            f"--json {json_file} and --html {html_file} name the same file; the JSON summary would "
            "overwrite the HTML report: give them different paths"
        )
        raise ConfigError(msg)
    reports = [
        (label, target)
        for label, target in (("html report", html_file), ("json summary", json_file))
        if target
    ]
    for label, target in reports:  # a report path that cannot be written fails before the audit's work
        check_target(target, label)
    options = AuditOptions(
        top_paths=args.top_paths,
        top_values=args.top_values,
        examples=args.examples,
        drift=not args.no_drift,
        quarantine="original" if args.original else "current",
    )
    summary = audit(args.output, engine=args.engine, options=options)
    if html_file:
        write_html(summary, html_file)
    if json_file:
        write_json(summary, json_file)
    if args.html == "-":
        sys.stdout.write(render_html(summary))
    else:
        sys.stdout.write(summary.to_json() if args.json == "-" else summary.text())
    for label, target in reports:
        sys.stderr.write(f"{label}: {target}\n")
    for line in summary.mismatches:  # also on stderr: after a long table, or instead of it with --json -
        sys.stderr.write(f"sigbatch audit: accounting mismatch: {line}\n")
    return 0 if summary.accounting_ok else 1


def _cmd_replay(args: argparse.Namespace) -> int:
    from sigbatch.replay import load_replay_signature, replay, terminal_progress

    if args.model is not None and not args.model.strip():
        msg = "--model is empty: give a model URI, or leave --model out to use the one in the manifest"
        raise ConfigError(msg)
    signature = load_replay_signature(args.signature)
    progress = terminal_progress(sys.stderr) if sys.stderr.isatty() and not args.quiet else None
    result = replay(args.output, signature, model=args.model, profile=args.profile, progress=progress)
    sys.stdout.write(result.text())
    return 0


def _add_score_options(parser: argparse.ArgumentParser, engine: str | None = None) -> None:
    """The options of ``sigbatch score``; with ``engine``, of a job script that runs that engine
    (no ``--engine`` option)."""
    if engine is None:
        parser.add_argument(
            "--engine", choices=("dask", "spark"), default="dask", help="dask (default, local) or spark"
        )
        example = "conf/score_dask.yaml, conf/score_spark.yaml"
    else:
        example = f"conf/score_{engine}.yaml"
    parser.add_argument("--config", help=f"a YAML config (see {example})")
    parser.add_argument(
        "--set", action="append", metavar="KEY=VALUE", help="override a config key (repeatable)"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(handler=_cmd_score)


def _add_audit_options(parser: argparse.ArgumentParser, engine: str | None = None) -> None:
    """The options of ``sigbatch audit``; with ``engine``, of a job script that runs that engine
    (no ``--engine`` option)."""
    parser.add_argument("output", metavar="OUTPUT_DIR", help="a scoring job's output directory")
    parser.add_argument(
        "--html", metavar="PATH", help="also write a self-contained HTML report here ('-': stdout, no table)"
    )
    parser.add_argument("--json", metavar="PATH", help="also write the JSON summary ('-': stdout, no table)")
    if engine is None:
        parser.add_argument(
            "--engine", choices=("local", "dask", "spark"), default="local", help="default local"
        )
    parser.add_argument(
        "--top-paths",
        type=int,
        default=10,
        help="paths detailed with values and examples (default %(default)s)",
    )
    parser.add_argument(
        "--top-values",
        type=int,
        default=5,
        help="most frequent offending values per path (default %(default)s)",
    )
    parser.add_argument("--examples", type=int, default=3, help="example rows per path (default %(default)s)")
    parser.add_argument("--no-drift", action="store_true", help="skip inferring the quarantined rows' schema")
    parser.add_argument("--original", action="store_true", help="audit quarantine/ even after a replay")
    parser.set_defaults(handler=_cmd_audit)


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sigbatch",
        description="MLflow-compatible model signatures for batch data: show, infer, score, audit, "
        "replay, demo.",
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
    _add_score_options(score)

    demo = sub.add_parser("demo", help="generate a small lake with bad rows, score it, print a summary")
    demo.add_argument("--rows", type=int, default=20_000, help="rows to generate (default 20,000)")
    demo.add_argument("--output", default="sigbatch-demo", help="output directory (default ./sigbatch-demo)")
    demo.add_argument(
        "--overwrite",
        action="store_true",
        help="replace the outputs of an earlier demo run (a directory of other files is refused)",
    )
    demo.add_argument("--quiet", action="store_true", help="no progress on the terminal")
    demo.set_defaults(handler=_cmd_demo)

    audit = sub.add_parser("audit", help="report a scoring job's quarantine: counts, reasons, values, drift")
    _add_audit_options(audit)

    replay = sub.add_parser("replay", help="re-score quarantined rows against a corrected signature")
    replay.add_argument("output", metavar="OUTPUT_DIR", help="a scoring job's output directory")
    replay.add_argument("--signature", required=True, help="the corrected signature (MLmodel, .json, .yaml)")
    replay.add_argument("--model", help="model URI (default: the one in the manifest)")
    replay.add_argument(
        "--profile", choices=("mlflow", "strict", "lenient"), help="enforcement profile (default: the job's)"
    )
    replay.add_argument("--quiet", action="store_true", help="no progress on the terminal")
    replay.set_defaults(handler=_cmd_replay)

    for register in _EXTRA_COMMANDS:
        register(sub)
    return parser


# Later sub-commands (infer, score, demo, audit) register themselves here.
_EXTRA_COMMANDS: list[Callable[[Any], None]] = []


# --- sigbatch infer (issue 4) ------------------------------------------------------------------


def _cmd_infer(args: argparse.Namespace) -> int:
    from sigbatch.infer.config import load_infer_config, run_infer

    flags = {
        "source.path": args.source,
        "source.format": args.format,
        "engine": args.engine,
        "sample.fraction": args.fraction,
        "sample.max_partitions": args.max_partitions,
        "sample.rows_per_partition": args.rows_per_partition,
        "sample.seed": args.seed,
        "policy": args.policy,
        "output": args.output,
        "set_on": args.set_on,
    }
    # a job script's engine (Spark for jobs/infer_signature.py) where neither the command line nor
    # the config names one
    script = {"engine": args.script_engine} if args.script_engine else None
    config = load_infer_config(
        args.config, args.set, {k: v for k, v in flags.items() if v is not None}, script
    )
    try:
        result = run_infer(config)
    except InferenceError as exc:
        if exc.report is not None:  # conflicting types: what was read, then the error below it
            sys.stderr.write(exc.report.text() + "\n")
        raise
    sys.stdout.write(str(result.signature) + "\n" + result.report.text())
    if config.output:
        sys.stdout.write(f"Signature JSON written to {config.output}\n")
    if config.set_on:
        target = Path(config.set_on)
        sys.stdout.write(f"Signature inputs set in {target / 'MLmodel' if target.is_dir() else target}\n")
    return 0


def _add_infer_command(sub: Any) -> None:
    infer = sub.add_parser(
        "infer", help="infer a signature from a lake (Parquet, JSON lines, CSV), with a report"
    )
    _add_infer_options(infer)


def _add_infer_options(infer: argparse.ArgumentParser, engine: str | None = None) -> None:
    """The options of ``sigbatch infer``; with ``engine``, of the job script whose default it is
    (an ``--engine`` on its command line, or an ``engine`` in its config, still chooses another)."""
    infer.add_argument("source", nargs="?", help="a file or directory (or source.path in --config)")
    infer.add_argument(
        "--format", choices=("parquet", "json", "csv"), help="default: from the file extensions"
    )
    infer.add_argument(
        "--engine",
        choices=("local", "dask", "spark"),
        help=f"where the per-file work runs (default: the config's engine, else {engine or 'local'})",
    )
    infer.set_defaults(script_engine=engine)
    infer.add_argument("--fraction", type=float, help="share of files read, chosen by --seed (default all)")
    infer.add_argument("--max-partitions", type=int, metavar="N", help="read at most N files")
    infer.add_argument(
        "--rows-per-partition", type=int, metavar="N", help="stop reading each file after N rows"
    )
    infer.add_argument("--seed", type=int, help="chooses the files, deterministically (default 0)")
    infer.add_argument("--policy", choices=("strict", "widen", "majority"), help="conflicting types (strict)")
    infer.add_argument("--output", metavar="FILE", help="write MLflow's signature JSON to FILE")
    infer.add_argument("--set-on", metavar="MODEL_DIR", help="write the signature into MODEL_DIR/MLmodel")
    infer.add_argument("--config", help="a YAML config (see conf/infer.yaml); flags override it")
    infer.add_argument(
        "--set", action="append", metavar="KEY=VALUE", help="override a config key (repeatable)"
    )
    infer.set_defaults(handler=_cmd_infer)


_EXTRA_COMMANDS.append(_add_infer_command)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``sigbatch`` command line; returns the exit status."""
    parser = _build_parser()
    args = parser.parse_args(argv)
    return _run(args, f"sigbatch {args.command}")


def _run(args: argparse.Namespace, prog: str) -> int:
    """Call the parsed command's handler; a caller's mistake is one line on stderr, prefixed ``prog``."""
    try:
        return int(args.handler(args))
    except QuarantineRateError as exc:  # the job ran and wrote its outputs: not a caller mistake
        sys.stderr.write(f"{prog}: error: {exc}\n")
        return 3
    except SigbatchError as exc:
        sys.stderr.write(f"{prog}: error: {exc}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return 130
    except BrokenPipeError:
        # the reader of the output went away (`sigbatch infer ... | head`): the rest is not
        # wanted, and the interpreter's flush at exit must not complain about it either
        _discard_stdout()
        return 141  # as a command that SIGPIPE ended


def _discard_stdout() -> None:
    """Point the process's standard output at /dev/null (when it is a file descriptor)."""
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError):  # not a file descriptor (io.UnsupportedOperation is both)
        pass


# The options of the sub-commands a job script runs: without --engine where the script fixes it
# (score, audit); for infer, the script's engine is the default of --engine and of the config's.
_JOB_OPTIONS: dict[str, Callable[..., None]] = {
    "score": _add_score_options,
    "audit": _add_audit_options,
    "infer": _add_infer_options,
}


def job_main(script: str, command: list[str], argv: Sequence[str] | None) -> int:
    """A job script's ``main``: the CLI ``command`` (which names the engine) with the script's
    arguments; an ``--engine`` among them is refused where the script fixes its engine (an option
    of its own, as for infer, is taken).

    The script has its own parser: its help, usage and errors name ``script`` and show the
    command's options without ``--engine``.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    name, engine = command[0], command[command.index("--engine") + 1]
    parser = argparse.ArgumentParser(
        prog=script, description=f"The same job as `sigbatch {name} --engine {engine}`."
    )
    _JOB_OPTIONS[name](parser, engine)
    # said plainly rather than as argparse's "unrecognized arguments", prefixes (--eng spark) too,
    # unless the prefix is one of the script's own options (--e is --examples for the audit)
    known = [option for action in parser._actions for option in action.option_strings]
    for flag in (a.split("=", 1)[0] for a in args):
        if len(flag) >= 3 and "--engine".startswith(flag) and not any(k.startswith(flag) for k in known):
            sys.stderr.write(
                f"{script}: error: this job runs the {engine} engine; --engine is not an option here\n"
            )
            return 2
    if name != "infer":  # infer's --engine, or its config's engine, may choose another
        parser.set_defaults(engine=engine)
    parser.set_defaults(command=name)
    return _run(parser.parse_args(args), script)


def exit_with(code: int) -> NoReturn:
    """End the process with ``code``; after an interrupt (130), at once.

    A Dask job's worker threads may be inside a long model call when Ctrl-C arrives; the job has
    already discarded its staging directory, and waiting for the threads (as the interpreter does
    at exit) would keep the process alive until they finish the partition.
    """
    if code == 130:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(130)
    raise SystemExit(code)


def run() -> NoReturn:
    """The ``sigbatch`` command: :func:`main` with the process's arguments, then :func:`exit_with`."""
    exit_with(main())


if __name__ == "__main__":
    run()
