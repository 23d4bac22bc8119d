"""The HTML audit report: self-contained, every untrusted value escaped, rendered by a real browser.

The browser test needs Debian's ``chromium`` package (``apt-get install -y chromium``; ``.ci/run``
installs it). Where it is missing the test fails and says so: it is never skipped silently.
"""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from sigbatch.audit import audit
from sigbatch.cli import main
from sigbatch.report import TITLE, render_html
from sigbatch.types import ColSpec, Map, ModelSignature, Schema
from tests.test_audit import make_output

SCRIPT = "<script>document.title='PWNED'</script>"
IMG = "<img src=x onerror=\"document.title='PWNED2'\">"
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


@pytest.fixture(scope="module")
def hostile_output(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An output whose quarantine holds script and markup in values, map keys (paths) and columns."""
    sig = ModelSignature(Schema([ColSpec("string", "tag"), ColSpec("long", "n"), ColSpec(Map("long"), "m")]))
    rows = [{"tag": f"t{i}", "n": i, "m": {"k": i}} for i in range(40)]
    rows += [{"tag": "x", "n": SCRIPT, "m": {"k": 1}} for _ in range(5)]
    rows += [{"tag": SCRIPT, "n": 1, "m": {IMG: "not a number"}} for _ in range(3)]
    out = tmp_path_factory.mktemp("report") / "out"
    return make_output(out, rows, sig, lambda df: df["n"] * 1.0)


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.fail(
            "this test renders the HTML report in a real headless browser and needs Debian's "
            "`chromium` package at /usr/bin/chromium: install it with `apt-get install -y chromium` "
            "(.ci/run does)"
        )
    return found


def _run(browser: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [browser, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done


def test_every_value_is_escaped(hostile_output):
    """No quarantined value reaches the page as markup: the script and img tags appear only escaped."""
    page = render_html(audit(hostile_output))
    lowered = page.lower()
    assert "<script" not in lowered and "<img" not in lowered and 'onerror="' not in lowered
    assert "&lt;script&gt;document.title=&#x27;PWNED&#x27;&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=&quot;document.title=&#x27;PWNED2&#x27;&quot;&gt;" in page
    # self-contained: nothing is fetched from anywhere
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert "default-src 'none'" in page


def test_report_renders_in_headless_chromium(hostile_output, tmp_path):
    """Chromium renders the charts and figures, shows the hostile values as text, and runs no script."""
    browser = _chromium()
    summary = audit(hostile_output)
    report = tmp_path / "report.html"
    assert main(["audit", str(hostile_output), "--html", str(report)]) == 0
    url = report.resolve().as_uri()

    dom = _run(browser, tmp_path / "profile-dom", "--dump-dom", url).stdout
    title = re.search(r"<title>(.*?)</title>", dom, re.S)
    assert title is not None and title.group(1) == TITLE  # the payloads would have changed it
    assert "PWNED" in dom  # the values are there, as text:
    assert "&lt;script&gt;document.title='PWNED'&lt;/script&gt;" in dom
    assert "<script" not in dom.lower() and "<img" not in dom.lower()
    for heading in ("Quarantined rows by code", "Quarantined rows by path", "Drift"):
        assert heading in dom
    assert dom.count("<svg") == 3 and dom.count("<rect") >= len(summary.by_code) + len(summary.by_path)
    for code, n in summary.by_code:
        assert code in dom and f">{n:,}<" in dom
    assert f"{summary.rows_in:,}" in dom and f"{summary.rows_quarantined:,}" in dom

    shot = tmp_path / "report.png"
    _run(browser, tmp_path / "profile-shot", f"--screenshot={shot}", "--window-size=1200,2000", url)
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", data[16:24]) == (1200, 2000)
    from PIL import Image  # Pillow comes with the dev extras (MLflow's matplotlib)

    with Image.open(shot) as img:
        colors = dict((rgb, n) for n, rgb in img.convert("RGB").getcolors(maxcolors=1 << 22))
    assert colors.get((0xD9, 0x53, 0x4F), 0) > 2_000  # the bars of the by-code chart were painted
    assert colors.get((0x3B, 0x6F, 0xD1), 0) > 2_000  # and of the by-path chart
