"""The audit as one self-contained HTML page: inline CSS, inline SVG bar charts, no script, no network.

Quarantined values are untrusted input. Every value that reaches the page (paths, codes, offending
values, example rows, file names, the output path) goes through :func:`html.escape` (quotes
included) after :func:`sigbatch.audit.clip_text` made it printable and short. The page also carries
a Content-Security-Policy that allows no script and no remote resource, as a second fence.

Reports are written atomically (a hidden temporary file in the same directory, renamed into place,
removed if anything fails), and a path that cannot take a report is refused by
:func:`check_target`, which the command line calls before the audit starts.

Example:
    from sigbatch.audit import audit
    from sigbatch.report import write_html
    write_html(audit("sigbatch-demo"), "report.html")
"""

from __future__ import annotations

import html
import os
import uuid
from collections.abc import Sequence
from pathlib import Path

from sigbatch.audit import ROW_PATH_LABEL, AuditSummary, ExampleRow, PathDetail, clip_text
from sigbatch.errors import ConfigError

__all__ = ["TITLE", "check_target", "render_html", "write_html", "write_json"]

TITLE = "sigbatch audit"
_LABEL_CHARS = 40
_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"
_CSS = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 24px; color: #1d2330; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 28px 0 8px; }
h3 { font-size: 15px; margin: 18px 0 6px; font-family: ui-monospace, Menlo, Consolas, monospace; }
.sub { color: #5b6475; margin-bottom: 16px; word-break: break-all; }
table { border-collapse: collapse; margin: 6px 0 12px; }
th, td { border-bottom: 1px solid #e3e6ec; padding: 4px 10px; text-align: left; vertical-align: top; }
th { background: #f4f6f9; font-weight: 600; } td.n { text-align: right; font-variant-numeric: tabular-nums; }
code, .mono { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 13px; white-space: pre-wrap; word-break: break-all; }
.ok { color: #17803d; font-weight: 600; } .bad { color: #b42318; font-weight: 600; }
.charts { display: flex; flex-wrap: wrap; gap: 24px; } .chart { border: 1px solid #e3e6ec; padding: 10px; border-radius: 6px; }
.verdict { display: inline-block; padding: 2px 8px; border-radius: 4px; background: #eef2ff; font-weight: 600; }
"""


def _e(value: object) -> str:
    """Escape any value for HTML text and attribute values."""
    return html.escape(str(value), quote=True)


def _label(path: str) -> str:
    return path if path else ROW_PATH_LABEL


def _bar_chart(title: str, rows: Sequence[tuple[str, int]], color: str) -> str:
    """A horizontal bar chart as inline SVG (labels escaped and cut to fit)."""
    if not rows:
        return f'<div class="chart"><strong>{_e(title)}</strong><p>nothing quarantined</p></div>'
    bar_h, gap, label_w, bar_w, count_w = 22, 6, 260, 360, 80
    height = len(rows) * (bar_h + gap) + 10
    peak = max(n for _, n in rows) or 1
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{label_w + bar_w + count_w}" height="{height}" '
        f'role="img" aria-label="{_e(title)}"><title>{_e(title)}</title>'
    ]
    for i, (key, n) in enumerate(rows):
        y = 5 + i * (bar_h + gap)
        width = max(1, round(bar_w * n / peak))
        label = clip_text(key, _LABEL_CHARS)
        parts.append(
            f'<text x="{label_w - 8}" y="{y + bar_h - 6}" text-anchor="end" font-size="13" '
            f'font-family="ui-monospace, Menlo, monospace">{_e(label)}</text>'
            f'<rect x="{label_w}" y="{y}" width="{width}" height="{bar_h}" fill="{color}" rx="3">'
            f"<title>{_e(key)}: {n:,}</title></rect>"
            f'<text x="{label_w + width + 6}" y="{y + bar_h - 6}" font-size="13">{n:,}</text>'
        )
    parts.append("</svg>")
    return f'<div class="chart"><strong>{_e(title)}</strong><br>{"".join(parts)}</div>'


def _table(headers: Sequence[str], rows: Sequence[Sequence[object]], numeric: Sequence[int] = ()) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = []
    for row in rows:
        cells = []
        for i, cell in enumerate(row):
            text = f"{cell:,}" if isinstance(cell, int) and not isinstance(cell, bool) else str(cell)
            cls = ' class="n"' if i in numeric else ""
            cells.append(f"<td{cls}>{_e(text)}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _share(n: int, total: int) -> str:
    return f"{n / total:.1%}" if total else "-"


def _example(e: ExampleRow) -> str:
    reasons = "; ".join(f"{c} {_label(p)}: {v}" for c, p, v in e.reasons)
    values = ", ".join(f"{k}={v}" for k, v in e.values)
    where = e.where()
    return f'<tr><td class="mono">{_e(where)}</td><td class="mono">{_e(reasons)}</td><td class="mono">{_e(values)}</td></tr>'


def _path_section(d: PathDetail, total: int) -> str:
    codes = ", ".join(f"{c} {n:,}" for c, n in d.codes)
    out = [
        f"<h3>{_e(_label(d.path))}</h3>",
        f"<p>{d.rows:,} rows ({_e(_share(d.rows, total))}): {_e(codes)}</p>",
    ]
    if d.top_values:
        out.append(
            _table(
                ["offending value", "reasons"], [(f"{v.value}", v.count) for v in d.top_values], numeric=(1,)
            )
        )
    if d.examples:
        out.append(
            "<table><thead><tr><th>where (quarantine file #position, source location, stage)</th><th>reasons</th>"
            f"<th>source values</th></tr></thead><tbody>{''.join(_example(e) for e in d.examples)}</tbody></table>"
        )
    return "".join(out)


def render_html(summary: AuditSummary) -> str:
    """The audit as one HTML document (a string); see the module docstring for what is escaped."""
    s = summary
    total = s.rows_quarantined
    accounted = s.rows_scored + s.rows_replayed + s.rows_quarantined
    accounting = (
        f'<span class="ok">ok</span> ({s.rows_in:,} in = {accounted:,} accounted for)'
        if s.accounting_ok
        else f'<span class="bad">mismatch</span> ({s.rows_in:,} in, {accounted:,} accounted for)'
    )
    totals = [
        ("rows in", s.rows_in),
        ("rows scored", s.rows_scored),
        ("rows replayed", s.rows_replayed),
        ("rows quarantined", s.rows_quarantined),
    ]
    body = [
        f"<h1>{_e(TITLE)}</h1>",
        f'<div class="sub">{_e(s.output)} &middot; {_e(s.quarantine)}/ &middot; engine {_e(s.engine)}</div>',
        _table(["", "rows"], totals, numeric=(1,)),
        f"<p>quarantine rate <strong>{s.quarantine_rate:.2%}</strong> &middot; accounting {accounting}</p>",
    ]
    if s.mismatches:
        body.append(f'<ul class="bad">{"".join(f"<li>{_e(m)}</li>" for m in s.mismatches)}</ul>')
    body += [
        "<h2>Reasons</h2>",
        '<div class="charts">',
        _bar_chart("Quarantined rows by code", s.by_code, "#d9534f"),
        _bar_chart("Quarantined rows by path", [(_label(p), n) for p, n in s.by_path], "#3b6fd1"),
        _bar_chart("Quarantined rows by stage", s.by_stage, "#7a5cc2"),
        "</div>",
        "<h2>Counts</h2>",
        _table(["stage", "rows", "share"], [(k, n, _share(n, total)) for k, n in s.by_stage], numeric=(1, 2)),
        _table(["code", "rows", "share"], [(k, n, _share(n, total)) for k, n in s.by_code], numeric=(1, 2)),
        _table(
            ["path", "rows", "share"],
            [(_label(k), n, _share(n, total)) for k, n in s.by_path],
            numeric=(1, 2),
        ),
        _table(["code", "path", "rows"], [(c, _label(p), n) for c, p, n in s.by_code_path], numeric=(2,)),
    ]
    if s.paths:
        body.append("<h2>Top paths: offending values and example rows</h2>")
        body += [_path_section(d, total) for d in s.paths]
    if s.drift is not None:
        d = s.drift
        body += [
            "<h2>Drift</h2>",
            f'<p><span class="verdict">{_e(d.verdict)}</span> {_e(d.explanation)}</p>',
        ]
        if d.inferred:  # nothing is inferred from an empty quarantine
            body.append(f"<p>inferred from the quarantined rows: <code>{_e(d.inferred)}</code></p>")
        if d.changes:
            body.append(
                _table(
                    ["path", "change", "signature", "quarantined rows show", "rows", "verdict"],
                    [
                        (_label(c.path), c.kind.replace("_", " "), c.expected, c.observed, c.rows, c.verdict)
                        for c in d.changes
                    ],
                    numeric=(4,),
                )
            )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(TITLE)}</title><style>{_CSS}</style></head>\n<body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )


def check_target(path: str | Path, what: str) -> Path:
    """``path`` as a place a report can be written, or a :class:`ConfigError` naming it and why.

    ``what`` names the report in the message (``html report``, ``json summary``). The path must
    not be a directory, and its directory must exist and be writable.

    Example:
        >>> check_target("/", "html report")
        Traceback (most recent call last):
        ...
        sigbatch.errors.ConfigError: html report /: is a directory; give the path of a file to write
    """
    target = Path(path)
    parent = target.parent
    if target.is_dir():
        msg = f"{what} {target}: is a directory; give the path of a file to write"
    elif not parent.exists():
        msg = (
            f"{what} {target}: the directory {parent} does not exist; create it first or choose another path"
        )
    elif not parent.is_dir():
        msg = f"{what} {target}: {parent} is not a directory; choose another path"
    elif not os.access(parent, os.W_OK | os.X_OK):
        msg = f"{what} {target}: the directory {parent} is not writable; choose another path"
    else:
        return target
    raise ConfigError(msg)


def _write(path: str | Path, text: str, what: str) -> Path:
    """Write ``text`` through a hidden temporary file next to ``path``; the temporary never outlives a failure."""
    target = check_target(path, what)
    tmp = target.with_name(f".{target.name}.tmp-{uuid.uuid4().hex[:8]}")
    try:
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(target)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            msg = f"{what} {target}: cannot be written ({exc.strerror or exc})"
            raise ConfigError(msg) from None
        raise
    return target


def write_html(summary: AuditSummary, path: str | Path) -> Path:
    """Write :func:`render_html` to ``path`` (UTF-8, atomically) and return the path.

    Raises:
        ConfigError: ``path`` cannot take the report (see :func:`check_target`); nothing is left behind.
    """
    return _write(path, render_html(summary), "html report")


def write_json(summary: AuditSummary, path: str | Path) -> Path:
    """Write the JSON summary (:meth:`AuditSummary.to_json`) to ``path``, as :func:`write_html` does."""
    return _write(path, summary.to_json(), "json summary")
