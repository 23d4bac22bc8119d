"""The quarantine audit on Dask: one task per quarantine file, partial counts summed by Dask.

Each task reads one file's reason columns and reduces them with the core's
:func:`sigbatch.audit.batch_aggregates`; Dask sums the partials (``groupby``), keeps the top values
and the first examples per path, and only that small result comes back. Drift partials are made the
same way, one task per file. The summary is the one :func:`sigbatch.audit.audit` gives locally.

Example:
    from sigbatch.audit import audit
    audit("sigbatch-demo", engine="dask").by_code
"""

from __future__ import annotations

from typing import Any

import dask
import dask.dataframe as dd
import pandas as pd
import pyarrow as pa

from sigbatch.audit import (
    AGG_SCHEMA,
    DRIFT_SCHEMA,
    AuditContext,
    AuditOptions,
    AuditSummary,
    batch_aggregates,
    drift_partials,
    finish_audit,
    read_audit_file,
    read_parquet,
)

__all__ = ["audit_dask"]

_COUNT_KINDS = ("stage", "code", "path", "code_path")


def _meta(schema: pa.Schema) -> pd.DataFrame:
    return schema.empty_table().to_pandas(types_mapper=pd.ArrowDtype)


def _file_aggregates(location: tuple[str, str], options: AuditOptions) -> pd.DataFrame:
    """One quarantine file reduced to partial counts (runs in a Dask task)."""
    path, relative = location
    table = batch_aggregates(read_audit_file(path, relative), options)
    return table.to_pandas(types_mapper=pd.ArrowDtype)


def _file_drift(path: str, signature_json: str | None) -> pd.DataFrame:
    """One quarantine file's drift partials (runs in a Dask task)."""
    return drift_partials(read_parquet(path), signature_json).to_pandas(types_mapper=pd.ArrowDtype)


def _head_per_key(frame: pd.DataFrame, by: list[str], ascending: list[bool], k: int) -> pd.DataFrame:
    """The first ``k`` rows of each ``key`` under the order ``by`` (one partition holds each key)."""
    ordered = frame.sort_values(["key", *by], ascending=[True, *ascending], kind="stable")
    return ordered.groupby("key", dropna=False, sort=False).head(k)


def _to_arrow(frame: pd.DataFrame) -> pa.Table:
    """A reduced frame back to AGG_SCHEMA (missing columns null)."""
    table = pa.Table.from_pandas(frame.reset_index(drop=True), preserve_index=False)
    return pa.Table.from_arrays(
        [
            table.column(f.name).cast(f.type)
            if f.name in table.column_names
            else pa.nulls(table.num_rows, f.type)
            for f in AGG_SCHEMA
        ],
        schema=AGG_SCHEMA,
    )


def audit_dask(ctx: AuditContext, options: AuditOptions, scheduler: Any = None) -> AuditSummary:
    """Audit ``ctx``'s quarantine on Dask (``scheduler``: any Dask scheduler; default: current)."""
    if not ctx.files:
        drift = DRIFT_SCHEMA.empty_table() if options.drift else None
        return finish_audit(ctx, AGG_SCHEMA.empty_table(), "dask", options, drift)
    locations = list(zip(ctx.paths, ctx.files, strict=True))
    parts = dd.from_map(
        _file_aggregates, locations, options=options, meta=_meta(AGG_SCHEMA), enforce_metadata=False
    )
    counts = (
        parts[parts["kind"].isin(list(_COUNT_KINDS))]
        .groupby(["kind", "key", "sub"], dropna=False)["n"]
        .sum()
        .reset_index()
    )
    values = parts[parts["kind"] == "value"].groupby(["key", "sub"], dropna=False)["n"].sum().reset_index()
    # shuffle puts every row of a path in one partition; the head per path is then local
    top_values = values.shuffle("key").map_partitions(
        _head_per_key, ["n", "sub"], [False, True], options.top_values, meta=values._meta
    )
    examples = parts[parts["kind"] == "example"]
    first_examples = examples.shuffle("key").map_partitions(
        _head_per_key, ["file", "index"], [True, True], options.examples, meta=examples._meta
    )
    work: list[Any] = [counts, top_values, first_examples]
    if options.drift:
        sig_json = (
            ctx.signature.inputs.to_json()
            if ctx.signature is not None and ctx.signature.inputs is not None
            else None
        )
        work.append(
            dd.from_map(
                _file_drift,
                ctx.paths,
                signature_json=sig_json,
                meta=_meta(DRIFT_SCHEMA),
                enforce_metadata=False,
            )
        )
    done = dask.compute(*work, scheduler=scheduler)
    top_values_frame = done[1].assign(kind="value")
    reduced = pa.concat_tables([_to_arrow(done[0]), _to_arrow(top_values_frame), _to_arrow(done[2])])
    drift = None
    if options.drift:
        frame = done[3].reset_index(drop=True)
        drift = pa.Table.from_pandas(frame, preserve_index=False).cast(DRIFT_SCHEMA)
    return finish_audit(ctx, reduced, "dask", options, drift)
