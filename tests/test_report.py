"""The HTML report, loaded in headless Chromium (driven over the DevTools pipe, tests/helpers/chromium.py):
every number shown equals its SQL node's row, the charts are drawn with axes and one bar per
model in rank order, a phone's viewport has no horizontal page scroll, print media works, and the
page reaches nothing on the network. Screenshots (desktop, phone, print) are kept under
target/test-artifacts/report/ and their paths printed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pytest
from helpers.chromium import Browser
from helpers.project import EXAMPLES, REPO, copy_project

from glc.workspace import Workspace

ARTIFACTS = REPO / "target" / "test-artifacts" / "report"
PHONE = (390, 844)


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> tuple[Workspace, Path]:
    ws = Workspace(copy_project(tmp_path_factory.mktemp("report")))
    ws.import_scores(EXAMPLES / "c04_sota_beater.xlsx")
    ws.import_scores(EXAMPLES / "c12_cross_paradigm.xlsx")
    ws.bootstrap(replicates=4, seed=3)  # level_intervals: imported scores do not vary, the plumbing does
    return ws, ws.report()


@pytest.fixture(scope="module")
def browser():
    with Browser() as b:
        yield b


def _sql(ws: Workspace, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
    con = duckdb.connect(ws.target.path, read_only=True)
    try:
        rel = con.execute(sql, params or [])
        cols = [d[0] for d in rel.description]
        return [dict(zip(cols, r, strict=True)) for r in rel.fetchall()]
    finally:
        con.close()


def _page(browser: Browser, index: Path, width: int = 1280, height: int = 900, *, mobile: bool = False,
          media: str = "") -> None:
    browser.media(media)
    browser.viewport(width, height, mobile=mobile)
    browser.open(index.as_uri())
    assert browser.eval("document.body.dataset.rendered") == "yes", "the page's script did not run"


def _shot(browser: Browser, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = browser.screenshot(ARTIFACTS / name)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 20_000
    print(f"\nreport screenshot: {path}")
    return path


# what the page shows, read back from its DOM
DOM = """JSON.stringify({
  charts: Array.from(document.querySelectorAll('#level-chart figure.chart')).map(f => ({
    level: f.dataset.level,
    bars: Array.from(f.querySelectorAll('rect.bar')).map(b => [b.dataset.model, b.dataset.level,
                                                              b.dataset.value, Number(b.dataset.rank)]),
    ticks: Array.from(f.querySelectorAll('text.tick')).map(t => t.textContent),
    title: (f.querySelector('text.axis-title') || {}).textContent,
    values: Array.from(f.querySelectorAll('text.value')).map(t => t.textContent),
    whiskers: f.querySelectorAll('line.whisker').length})),
  board: (() => { const s = document.querySelector('section.board');
    const cols = Array.from(s.querySelectorAll('thead th')).map(t => t.textContent);
    return {scope: s.dataset.scope, cols, rows: Array.from(s.querySelectorAll('tbody tr')).map(tr =>
      Array.from(tr.cells).map(c => c.dataset.v ?? c.textContent))}; })(),
  ladders: Array.from(document.querySelectorAll('article.model')).map(a => ({
    model: a.querySelector('h3 .name').textContent, headline: a.querySelector('.headline').textContent,
    rungs: Array.from(a.querySelectorAll('li.rung')).map(r => [Number(r.dataset.level), r.className,
                                                               r.querySelector('.val').dataset.v]),
    cells: Array.from(a.querySelectorAll('td.cell')).map(c => Object.assign({}, c.dataset)),
    gaps: Array.from(a.querySelectorAll('rect.gap')).map(g => [g.dataset.task, Number(g.dataset.gap)]),
    gapTicks: a.querySelectorAll('.gap-chart text.tick').length})),
  tasks: Array.from(document.querySelectorAll('#tasks td.res')).map(c => [c.closest('tr').dataset.task,
    c.dataset.model, c.dataset.v, c.dataset.sigma, c.dataset.outcome])
})"""


def test_numbers_in_the_page_equal_the_sql_models(report, browser) -> None:
    ws, index = report
    _page(browser, index)
    dom = json.loads(browser.eval(DOM))
    board = _sql(ws, "SELECT * FROM leaderboard WHERE variant = 'pooled' AND scope = 'A' ORDER BY rank, model")
    assert len(board) == 2
    order = [r["model"] for r in board]
    # the board: rank order, every level, the interval of the level reached
    cols, rows = dom["board"]["cols"], dom["board"]["rows"]
    assert dom["board"]["scope"] == "A" and [r[cols.index("model")] for r in rows] == order
    ci = {r["model"]: r for r in _sql(ws, "SELECT * FROM level_intervals WHERE variant = 'pooled' AND scope = 'A'")}
    for r, shown in zip(board, rows, strict=True):
        assert int(shown[cols.index("rank")]) == r["rank"]
        for k in ("level_2", "level_3", "level_4", "level_5", "s_c", "s_g", "s_l"):
            assert float(shown[cols.index(k)]) == pytest.approx(r[k], abs=1e-12)
        lo, hi = ci[r["model"]][f"level_{r['level']}_lo"], ci[r["model"]][f"level_{r['level']}_hi"]
        assert shown[cols.index(f"level_{r['level']}_ci95")].startswith(f"[{lo:.4f}, {hi:.4f}]")
    # charts: one per level, one bar per model in rank order, its value the level's
    assert [c["level"] for c in dom["charts"]] == ["level_2", "level_3", "level_4", "level_5"]
    for chart in dom["charts"]:
        k = chart["level"]
        assert [b[0] for b in chart["bars"]] == order and [b[3] for b in chart["bars"]] == [r["rank"] for r in board]
        assert [float(b[2]) for b in chart["bars"]] == pytest.approx([r[k] for r in board], abs=1e-12)
        assert chart["values"] == [f"{r[k]:.2f}" for r in board]
        assert len(chart["ticks"]) == 6 and chart["ticks"][0] == "0" and "score" in chart["title"]
        assert chart["whiskers"] == 3 * len(board)  # an interval per bar
    # the ladder: one card per model in rank order, each rung the level's value, reached up to the level
    assert [x["model"] for x in dom["ladders"]] == order
    for r, card in zip(board, dom["ladders"], strict=True):
        assert card["headline"].startswith(f"Level-{r['level']} reached")
        assert [rung[0] for rung in card["rungs"]] == [5, 4, 3, 2]
        for k, cls, value in card["rungs"]:
            assert float(value) == pytest.approx(r[f"level_{k}"], abs=1e-12)
            assert ("reached" in cls) == (k <= r["level"])
        assert card["gapTicks"] == 5
    # the modality x paradigm grid equals paradigm_cells
    grid = _sql(ws, "SELECT * FROM paradigm_cells__pooled WHERE scope = 'A'")
    for card in dom["ladders"]:
        want = sorted((g["n_tasks"], g["n_wins"], g["n_ties"], g["n_losses"], g["n_not_attempted"])
                      for g in grid if g["model"] == card["model"])
        got = sorted((int(c["nTasks"]), int(c["nWins"]), int(c["nTies"]), int(c["nLosses"]), int(c["nNotAttempted"]))
                     for c in card["cells"])
        assert got == want and len(got) == 9
    # the gap chart: the widest wins and the closest losses of task_gaps, in its order
    for card in dom["ladders"]:
        gaps = _sql(ws, "SELECT task_id, sigma_gap, win FROM task_gaps__pooled WHERE scope = 'A' AND model = ? "
                        "AND NOT sigma_gap IS NULL ORDER BY sigma_gap DESC, task_id", [card["model"]])
        want = [g for g in gaps if g["win"]][:6] + [g for g in gaps if not g["win"]][:6]
        assert card["gaps"] == [[g["task_id"], pytest.approx(g["sigma_gap"], abs=1e-12)] for g in want]
    # per task: every model's raw score and sigma beside the SoTA, and what the result is
    tasks = _sql(ws, "SELECT model, task_id, raw_score, sigma, supported, has_sota, win, tie FROM task_wins__pooled")
    assert len(dom["tasks"]) == len(tasks) == 2 * 699
    by = {(t["model"], t["task_id"]): t for t in tasks}
    for task_id, model, raw, sigma, outcome in dom["tasks"]:
        t = by[(model, task_id)]
        assert (float(raw) if raw else None) == pytest.approx(t["raw_score"], abs=1e-12)
        assert float(sigma) == pytest.approx(t["sigma"], abs=1e-12)
        assert outcome == ("not attempted" if not t["supported"] else "pending" if not t["has_sota"] else
                           "tie" if t["tie"] else "win" if t["win"] else "loss")
    html = index.read_text(encoding="utf-8")
    assert "sota_only_a_tie_can_win" in html and "sql/level_scores__per_modality.sql" in html
    assert (index.parent / "sql" / "level_ladder__pooled.sql").exists()
    assert "http://" not in html.replace("http://www.w3.org", "") and "https://" not in html  # works offline
    _shot(browser, "desktop.png")


def test_ladder_says_what_would_lift_a_model(report, browser) -> None:
    """c12 wins image comprehension and video generation only: Level-4 under pooled, and per
    modality its wins lie in different modalities; the ladder names what is missing."""
    ws, index = report
    _page(browser, index)
    dom = json.loads(browser.eval(DOM))
    board = {r["model"]: r for r in _sql(ws, "SELECT * FROM leaderboard WHERE variant = 'pooled' AND scope = 'A'")}
    ladder = _sql(ws, "SELECT * FROM level_ladder__pooled WHERE scope = 'A'")
    for card in dom["ladders"]:
        r = board[card["model"]]
        groups = {g["task_group"]: g for g in ladder if g["model"] == card["model"]}
        if r["level"] < 5:
            nxt = r["level"] + 1
            assert f"Level-{nxt} needs" in card["headline"]
            if nxt == 5 and not groups["L"]["n_wins"]:
                assert "NLP: 0 wins" in card["headline"]
        else:
            assert "highest this board measures" in card["headline"]
        assert [c for _, c, _ in card["rungs"] if "next" in c] == (["rung next"] if r["level"] < 5 else [])


def test_phone_viewport_has_no_horizontal_page_scroll(report, browser) -> None:
    _, index = report
    _page(browser, index, *PHONE, mobile=True)
    width = browser.eval("[document.documentElement.scrollWidth, document.body.scrollWidth, window.innerWidth]")
    assert width[0] <= width[2] and width[1] <= width[2], f"the page scrolls sideways on a phone: {width}"
    # wide tables scroll inside their own box instead
    boxes = browser.eval("Array.from(document.querySelectorAll('div.scroll')).map(d => "
                         "[d.scrollWidth > d.clientWidth, getComputedStyle(d).overflowX, d.clientWidth])")
    assert any(wide for wide, _, _ in boxes) and all(ov == "auto" and w <= PHONE[0] for _, ov, w in boxes)
    # the charts fit the screen
    svgs = browser.eval("Array.from(document.querySelectorAll('svg')).map(s => s.getBoundingClientRect().right)")
    assert svgs and max(svgs) <= PHONE[0]
    _shot(browser, "phone.png")


def test_print_media(report, browser, tmp_path) -> None:
    _, index = report
    _page(browser, index, 700, 1000, media="print")  # A4 less the page margins of the print CSS, at 96 dpi
    assert browser.eval("matchMedia('print').matches")
    width = browser.eval("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], f"the printed page is wider than the paper: {width}"
    hidden = browser.eval("['nav', '#task-filter'].map(s => getComputedStyle(document.querySelector(s)).display)")
    assert hidden == ["none", "none"]
    assert browser.eval("getComputedStyle(document.querySelector('div.scroll')).overflowX") == "visible"
    assert browser.eval("document.querySelectorAll('#level-chart rect.bar').length") == 8
    _shot(browser, "print.png")
    pdf = browser.pdf(tmp_path / "report.pdf")
    assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 50_000


def test_report_without_intervals_says_how_to_get_them(tmp_path, browser) -> None:
    ws = Workspace(copy_project(tmp_path / "p", small=True))
    index = ws.report()
    _page(browser, index)
    dom = json.loads(browser.eval(DOM))
    assert dom["board"]["rows"] == [] and all(c["bars"] == [] for c in dom["charts"])
    assert "glc bootstrap" in index.read_text(encoding="utf-8")
