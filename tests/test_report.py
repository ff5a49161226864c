"""The HTML report, loaded in headless Chromium: charts drawn, numbers equal level_scores."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import duckdb
import pytest
from conftest import EXAMPLES, REPO, copy_project

from glc.workspace import Workspace

ARTIFACTS = REPO / "target" / "test-artifacts"


def _chromium() -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    assert exe, "headless Chromium is needed: apt-get install chromium (.ci/run installs it)"
    return exe


def _browser(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                           "--no-first-run", "--disable-dev-shm-usage", *args],
                          capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> tuple[Workspace, Path]:
    ws = Workspace(copy_project(tmp_path_factory.mktemp("report")))
    ws.import_scores(EXAMPLES / "c04_sota_beater.xlsx")
    ws.import_scores(EXAMPLES / "c12_cross_paradigm.xlsx")
    return ws, ws.report()


def test_report_renders_in_chromium_with_the_stored_numbers(report) -> None:
    ws, index = report
    dom = _browser("--virtual-time-budget=5000", "--dump-dom", index.as_uri()).stdout
    assert 'data-rendered="yes"' in dom, "the page's script did not run"
    con = duckdb.connect(ws.target.path, read_only=True)
    try:
        levels = con.execute("SELECT model, level_2, level_3, level_4, level_5 FROM level_scores "
                             "WHERE variant = 'pooled' AND scope = 'A'").fetchall()
    finally:
        con.close()
    bars = re.findall(r'<rect [^>]*class="bar"[^>]*>', dom)
    assert len(bars) == 4 * len(levels)
    for model, *values in levels:
        for k, value in zip(("level_2", "level_3", "level_4", "level_5"), values, strict=True):
            bar = next(b for b in bars if f'data-model="{model}"' in b and f'data-level="{k}"' in b)
            assert float(re.search(r'data-value="([^"]+)"', bar).group(1)) == pytest.approx(value, abs=1e-12)
    board = dom.split('data-scope="A"')[1].split("</section>")[0]
    for model, *values in levels:
        row = board.split(f"<td>{model}</td>")[1].split("</tr>")[0]
        shown = [float(x) for x in re.findall(r"<td[^>]*>(-?\d+\.\d{4})</td>", row)[:4]]
        assert shown == pytest.approx(values, abs=5e-5)
    assert len(re.findall(r'class="cell"', dom)) >= 2 * 9  # heatmap cells for both models
    assert "sota_only_a_tie_can_win" in dom and "sql/level_scores__per_modality.sql" in dom
    assert (index.parent / "sql" / "level_scores__per_modality.sql").exists()
    assert "http://" not in dom.replace("http://www.w3.org", "") and "https://" not in dom  # works offline


def test_report_screenshot(report) -> None:
    _, index = report
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "report.png"
    _browser("--window-size=1300,2200", f"--screenshot={shot}", index.as_uri())
    assert shot.exists() and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
