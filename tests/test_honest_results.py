"""Results that say what they rest on: ties shown as ties, tasks not attempted, partial coverage,
tasks without a SoTA, the SoTA workbook refused as a model, and one ranking rule in every format.

Small projects (the cut catalog plus a few test tasks) with imported scores, imported predictions
and a command-runner model; no real networks.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from glc.compiler.errors import GlcError
from helpers.cli import glc_in_process
from helpers.metric_project import add_task, allow_command, new_project, qa_task, sql_rows, write_predictions
from helpers.project import DATA

from glc.analysis.leaderboard import Intervals, render
from glc.workspace import Workspace


def glc(root: Path, *args: str) -> subprocess.CompletedProcess:
    """glc's output and exit status, from main() in this process."""
    return glc_in_process("--project-dir", str(root), *args)


def glc_process(root: Path, *args: str) -> subprocess.CompletedProcess:
    """The same as a real ``python -m glc`` process (the slow tests run several)."""
    return subprocess.run([sys.executable, "-m", "glc", "--project-dir", str(root), *args],
                          capture_output=True, text=True)


def _scores(path: Path, rows: list[tuple[str, str, float]]) -> Path:
    path.write_text("model,task,score\n" + "".join(f"{m},{t},{x!r}\n" for m, t, x in rows))
    return path


# --- ties, ranking and formats (imported scores) -------------------------------------------------

@pytest.fixture(scope="module")
def tied(tmp_path_factory) -> Workspace:
    """Three test tasks (image C, image G, NLP). 'copy-a' and 'copy-b' equal the SoTA on each (what a
    model that reuses the specialists' networks gets); 'own' beats one comprehension task only."""
    tmp = tmp_path_factory.mktemp("tied")
    root = new_project(tmp / "p")
    item = [("q1", {}, ["x"])]
    c = add_task(root, "acc", "text", item, modality="image", paradigm="comprehension", sota=50.0)
    g = add_task(root, "psnr", "text", item, modality="image", paradigm="generation", sota=30.0)
    n = add_task(root, "acc", "text", item, sota=70.0, suffix="_l")
    ws = Workspace(root)
    rows = [(m, c, 50.0) for m in ("copy-a", "copy-b")] + [(m, g, 30.0) for m in ("copy-a", "copy-b")]
    rows += [(m, n, 70.0) for m in ("copy-a", "copy-b")] + [("own", c, 60.0), ("own", g, 29.0)]
    ws.import_scores(_scores(tmp / "s.csv", rows))
    ws.run()
    return ws


def test_a_level_resting_on_ties_says_so(tied: Workspace) -> None:
    board = {r["model"]: r for r in tied.leaderboard("pooled", "A")}
    a = board["copy-a"]
    assert a["level"] == 5 and a["level_without_ties"] == 2  # strict would give it Level-2
    assert (a["n_wins"], a["n_ties"]) == (3, 3)
    assert {r["model"]: r["level"] for r in tied.leaderboard("strict", "A")}["copy-a"] == 2
    own = board["own"]
    assert (own["n_wins"], own["n_ties"], own["level"], own["level_without_ties"]) == (1, 0, 3, 3)
    ties = sql_rows(tied, "SELECT task_id, win, tie FROM task_wins__strict WHERE model = 'copy-a' AND supported")
    assert all(tie and not win for _, win, tie in ties) and len(ties) == 3  # strict: a tie is no win
    out = glc(tied.root, "leaderboard")
    assert out.returncode == 0, out.stderr
    row = next(line for line in out.stdout.splitlines() if line.split()[1:2] == ["copy-a"])
    assert "3 (3 ties)" in row and "3/21" in row  # 3 wins, all ties; 3 of the 21 tasks attempted
    assert "note: copy-a: Level-5 rests on ties alone with the SoTA: 3 wins, 3 of them ties; counting only " \
           "results that beat the SoTA it is Level-2" in out.stdout
    assert not any(line.startswith("note: own: Level") for line in out.stdout.splitlines())  # its own wins
    assert "note: copy-a: 18 of 21 tasks not attempted (no score)" in out.stdout


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_tie_is_equality_within_float_noise(tmp_path: Path) -> None:
    """A score one ulp above the SoTA (another summation order of the same answers) is a tie, not a
    strict win; a difference a metric can report is a win."""
    root = new_project(tmp_path / "p")
    c = add_task(root, "acc", "text", [("q1", {}, ["x"])], modality="image", paradigm="comprehension",
                 sota=55.55555555555556)
    ws = Workspace(root)
    ws.import_scores(_scores(tmp_path / "s.csv", [("ulp", c, 55.55555555555557), ("better", c, 55.5556)]))
    ws.run()
    got = dict(sql_rows(ws, "SELECT model, vs_sota FROM task_results WHERE task_id = ?", c))
    assert got == {"ulp": 0, "better": 1}


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_explain_and_report_show_ties(tied: Workspace, tmp_path: Path) -> None:
    info = tied.explain("copy-a")
    assert info["basis"]["wins"] == "3 (3 ties)" and info["basis"]["level_without_ties"] == 2
    assert any("rests on ties alone" in n for n in info["notes"])
    assert all(t["tie"] for t in info["top_contributors"])
    assert len(info["not_attempted"]) == 18
    out = glc(tied.root, "explain", "copy-a").stdout
    assert "(raw 50 vs SoTA 50, a tie)" in out and "1 won (1 tie)" in out
    assert "warning: Level-5 rests on ties alone" in out and "not attempted (no score, counted 0):" in out
    page = tied.report(tmp_path / "r").read_text()
    basis = page.split('<ul id="basis">')[1].split("</ul>")[0]
    assert "copy-a: Level-5 rests on ties alone" in basis and "copy-b: Level-5 rests on ties alone" in basis
    assert "<td>3 (3 ties)</td>" in page and 'title="tie with SoTA (a win)"' in page
    assert 'data-outcome="not attempted" title="not attempted"' in page
    assert "level_rests_on_ties" in page  # the data-quality warning


@pytest.mark.slow  # several glc processes
def test_one_ranking_rule_in_every_format(tied: Workspace) -> None:
    """copy-a and copy-b are equal: both rank 1, own is 3 (competition ranking), in every format."""
    want = {"copy-a": 1, "copy-b": 1, "own": 3}
    rows = json.loads(glc_process(tied.root, "leaderboard", "--format", "json").stdout)
    assert {r["model"]: r["rank"] for r in rows} == want
    assert list(rows[0])[:2] == ["rank", "model"] and rows[0]["level_5_ci95_lo"] is None  # no bootstrap yet
    parsed = list(csv.DictReader(io.StringIO(glc_process(tied.root, "leaderboard", "--format", "csv").stdout)))
    assert {r["model"]: int(r["rank"]) for r in parsed} == want and "level_2_ci95_hi" in parsed[0]
    table = glc_process(tied.root, "leaderboard").stdout.splitlines()
    assert table[1].split()[0] == "rank"
    assert {line.split()[1]: int(line.split()[0]) for line in table[2:5]} == want
    md = glc_process(tied.root, "leaderboard", "--format", "markdown").stdout.splitlines()
    assert md[0].startswith("| rank | model |")
    assert {line.split("|")[2].strip(): int(line.split("|")[1]) for line in md[2:5]} == want
    json_run = glc_process(tied.root, "leaderboard", "--format", "json")
    assert json.loads(json_run.stdout) and "note: copy-a" in json_run.stderr  # notes stay off the data


def test_a_markdown_board_ends_before_its_notes(tied: Workspace) -> None:
    """In GitHub's markdown a line of text right after a table row is one more row of the table: the notes
    under a markdown board came out as rows in its rank column. A blank line ends the table, and each note
    is a list item (consecutive lines of text would make one paragraph)."""
    md = glc(tied.root, "leaderboard", "--format", "markdown").stdout.splitlines()
    n = sum(1 for line in md if line.startswith("|"))
    assert all(line.startswith("|") for line in md[:n]) and n == 2 + 3  # head, rule, three models
    assert md[n] == ""
    notes = [line for line in md[n:] if line]
    assert notes and all(line.startswith("- note: ") for line in notes)
    assert any(line.startswith("- note: copy-a: Level-5 rests on ties alone with the SoTA") for line in notes)


def test_a_diff_tells_a_level_resting_on_ties(tied: Workspace) -> None:
    """``glc diff`` shows levels too: each side's level without ties comes with it (json), and the text marks a
    level that rests on ties, as the boards do; before, a diff's Level-5 built on ties read as a clean one."""
    rows = {r["model"]: r for r in tied.diff("scope:A", "scope:B-image")}
    a, own = rows["copy-a"], rows["own"]
    assert (a["level_a"], a["level_without_ties_a"], a["level_b"], a["level_without_ties_b"]) == (5, 2, 4, 2)
    assert (own["level_a"], own["level_without_ties_a"], own["level_b"], own["level_without_ties_b"]) == (3, 3, 3, 3)
    board = {r["model"]: r for r in tied.leaderboard("pooled", "B-image")}
    assert a["level_without_ties_b"] == board["copy-a"]["level_without_ties"]
    out = glc(tied.root, "diff", "scope:A", "scope:B-image").stdout
    assert "copy-a: Level-5 (Level-2 without ties) -> Level-4 (Level-2 without ties)" in out
    assert "own: Level-3 -> Level-3  " in out


def test_interval_columns_are_named_for_their_level() -> None:
    rows = [{"rank": 1, "model": "a", "variant": "pooled", "scope": "A", "level": 5, "level_2": 50.0,
             "level_3": 40.0, "level_4": 30.0, "level_5": 20.0, "s_c": 1.0, "s_g": 1.0, "s_l": 1.0,
             "level_without_ties": 5, "n_tasks": 3, "n_attempted": 3, "n_wins": 3, "n_ties": 0, "n_pending": 0,
             "n_complete": 3, "instances_scored": 30, "instances_total": 30, "n_imported": 0},
            {"rank": 2, "model": "b", "variant": "pooled", "scope": "A", "level": 2, "level_2": 45.0,
             "level_3": 0.0, "level_4": 0.0, "level_5": 0.0, "s_c": 0.0, "s_g": 0.0, "s_l": 0.0,
             "level_without_ties": 2, "n_tasks": 3, "n_attempted": 2, "n_wins": 0, "n_ties": 0, "n_pending": 0,
             "n_complete": 1, "instances_scored": 15, "instances_total": 20, "n_imported": 0}]
    iv = Intervals(0.9, {"a": {2: (48.0, 52.0), 3: (38.0, 42.0), 4: (29.0, 31.0), 5: (19.0, 21.0)},
                         "b": {2: (44.0, 46.0), 3: (0.0, 0.0), 4: (0.0, 0.0), 5: (0.0, 0.0)}})
    head, a, b = render(rows, "table", iv).splitlines()
    assert head.split()[-2:] == ["level_5_ci90", "level_2_ci90"]  # each row under the level it reached
    assert a.split()[-3:] == ["[19.0000,", "21.0000]", "-"] and b.split()[-3:] == ["-", "[44.0000,", "46.0000]"]
    assert "75% (1/2 tasks complete)" in b and "2/3" in b
    data = json.loads(render(rows, "json", iv))
    assert data[1]["level_2_ci90_lo"] == 44.0 and data[0]["level_5_ci90_hi"] == 21.0 and data[1]["rank"] == 2


@pytest.mark.slow  # several glc processes
def test_bootstrap_intervals_reach_json_and_csv(tmp_path: Path) -> None:
    root = new_project(tmp_path / "p")
    items = [(f"q{i}", {}, [str(i % 2)]) for i in range(8)]
    c = add_task(root, "acc", "text", items, modality="image", paradigm="comprehension", sota=40.0)
    ws = Workspace(root)
    ws.import_predictions(write_predictions(tmp_path / "p.jsonl", "m", c, [(f"q{i}", str(i % 3)) for i in range(8)]))
    ws.bootstrap(replicates=5, seed=1)
    rows = json.loads(glc_process(root, "leaderboard", "--scope", "C-image-comprehension", "--format", "json").stdout)
    (m,) = rows
    assert m["level_2_ci95_lo"] is not None and m["level_2_ci95_lo"] <= m["level_2"] <= m["level_2_ci95_hi"]
    table = glc_process(root, "leaderboard", "--scope", "C-image-comprehension").stdout
    assert f"level_{m['level']}_ci95" in table.splitlines()[1]


@pytest.mark.slow  # several seconds: a build and five bootstrap replicates
def test_explain_shows_the_boards_bootstrap_intervals(tmp_path: Path) -> None:
    """``glc explain`` prints a model's Level scores; once ``glc bootstrap`` stored intervals for the board,
    they come with them (text and json), as on the board and in the report: before, explain showed the
    point estimates alone."""
    root = new_project(tmp_path / "p")
    items = [(f"q{i}", {}, [str(i % 2)]) for i in range(8)]
    c = add_task(root, "acc", "text", items, modality="image", paradigm="comprehension", sota=40.0)
    ws = Workspace(root)
    ws.import_predictions(write_predictions(tmp_path / "p.jsonl", "m", c, [(f"q{i}", str(i % 3)) for i in range(8)]))
    ws.run()
    assert ws.explain("m", scope="C-image-comprehension")["intervals"] is None  # nothing stored yet
    ws.bootstrap(replicates=5, seed=1)
    [(lo, hi, lo3, hi3)] = sql_rows(ws, "SELECT level_2_lo, level_2_hi, level_3_lo, level_3_hi FROM level_intervals "
                                        "WHERE model = 'm' AND variant = 'pooled' AND scope = 'C-image-comprehension'")
    info = ws.explain("m", "pooled", "C-image-comprehension")
    assert info["intervals"]["confidence"] == 0.95
    assert info["intervals"]["level_2"] == [lo, hi] and info["intervals"]["level_3"] == [lo3, hi3]
    out = glc(root, "explain", "m", "--scope", "C-image-comprehension")
    assert out.returncode == 0, out.stderr
    assert f"  95% bootstrap intervals: level_2=[{lo:.4g}, {hi:.4g}]  level_3=[{lo3:.4g}, {hi3:.4g}]" in out.stdout
    as_json = json.loads(glc(root, "explain", "m", "--scope", "C-image-comprehension", "--format", "json").stdout)
    assert as_json["intervals"]["level_2"] == [lo, hi]


def test_imported_scores_are_told_apart_from_predicted_ones(tmp_path: Path) -> None:
    """A row resting on imported task scores (no instances behind them: outside the coverage, fixed in every
    bootstrap replicate) says how many, in every format: ``n_imported`` in json and csv (and the run's
    levels.parquet), the coverage cell and a note on the table, in explain and in the report. Before, a
    model with one predicted task and one imported showed coverage ``100%`` and nothing else."""
    root = new_project(tmp_path / "p")
    items = [(f"q{i}", {}, [str(i % 2)]) for i in range(4)]
    c = add_task(root, "acc", "text", items, modality="image", paradigm="comprehension", sota=50.0)
    g = add_task(root, "psnr", "text", [("q1", {}, ["x"])], modality="image", paradigm="generation", sota=30.0)
    ws = Workspace(root)
    ws.import_predictions(write_predictions(tmp_path / "p.jsonl", "mixed", c,
                                            [("q0", "0"), ("q1", "1"), ("q2", "0"), ("q3", "0")]))
    ws.import_scores(_scores(tmp_path / "s.csv", [("mixed", g, 31.0), ("imp", c, 60.0), ("imp", g, 31.0)]))
    assert glc(root, "run").returncode == 0
    sources = dict(sql_rows(ws, "SELECT model, count(*) FILTER (WHERE source = 'imported') FROM task_scores "
                                "GROUP BY model"))
    assert sources == {"mixed": 1, "imp": 2}
    board = {r["model"]: r for r in ws.leaderboard("pooled", "B-image")}
    assert {m: (r["n_attempted"], r["n_imported"]) for m, r in board.items()} == {"mixed": (2, 1), "imp": (2, 2)}
    as_json = json.loads(glc(root, "leaderboard", "--scope", "B-image", "--format", "json").stdout)
    rows = {r["model"]: r for r in as_json}
    assert rows["mixed"]["n_imported"] == 1 and rows["imp"]["n_imported"] == 2
    parsed = csv.DictReader(io.StringIO(glc(root, "leaderboard", "--scope", "B-image", "--format", "csv").stdout))
    assert {r["model"]: r["n_imported"] for r in parsed} == {"mixed": "1", "imp": "2"}
    out = glc(root, "leaderboard", "--scope", "B-image").stdout
    assert "100% (1 imported)" in next(line for line in out.splitlines() if " mixed " in line)
    assert "- (2 imported)" in next(line for line in out.splitlines() if " imp " in line)
    assert "note: mixed: 1 of 2 attempted tasks rest on imported task scores" in out
    # a row resting wholly on imported scores is said once for all such rows (a thousand imported models
    # would otherwise carry a thousand copies of one sentence)
    assert "note: 1 model(s) (imp) rest wholly on imported task scores" in out
    assert not any(line.startswith("note: imp:") and "imported" in line for line in out.splitlines())
    only = glc(root, "leaderboard", "--scope", "C-image-generation").stdout  # the psnr task: imported for both
    assert only.count("wholly on imported task scores") == 1 and "note: every model of this board rests" in only
    md = glc(root, "leaderboard", "--scope", "B-image", "--format", "markdown").stdout
    assert "100% (1 imported)" in md and "note: mixed: 1 of 2 attempted tasks" in md
    info = ws.explain("mixed", "pooled", "B-image")
    assert info["basis"]["n_imported"] == 1 and info["basis"]["coverage"] == "100% (1 imported)"
    assert any(n.startswith("1 of 2 attempted tasks rest on imported task scores") for n in info["notes"])
    levels = sql_rows(ws, "SELECT n_imported FROM read_parquet(?) WHERE model = 'mixed' AND scope = 'B-image' "
                          "AND variant = 'pooled'", str(sorted((ws.target_dir / "runs").glob("*/levels.parquet"))[-1]))
    assert levels == [(1,)]
    page = ws.report(tmp_path / "r").read_text()
    basis = page.split('<ul id="basis">')[1].split("</ul>")[0]
    assert "mixed: 1 of 2 attempted tasks rest on imported task scores" in basis
    assert "<td>100% (1 imported)</td>" in page and "not attempted; 1 imported</td>" in page  # coverage, rests on
    assert '<small class="cov">imported</small>' in page  # the task table's cell of an imported score


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_an_imported_score_set_aside_for_predictions_says_so(tmp_path: Path) -> None:
    """A task with both an imported score and the model's predictions is scored from the predictions
    (predictions come first), even from a few of them: the imported score counts nowhere, and the board's
    notes (table, markdown, report) say so. Before, only the partial coverage hinted at it."""
    root = new_project(tmp_path / "p")
    items = [(f"q{i}", {}, [str(i % 2)]) for i in range(4)]
    c = add_task(root, "acc", "text", items, modality="image", paradigm="comprehension", sota=50.0)
    ws = Workspace(root)
    ws.import_scores(_scores(tmp_path / "s.csv", [("both", c, 60.0)]))
    ws.import_predictions(write_predictions(tmp_path / "p.jsonl", "both", c, [("q0", "0")]))
    ws.run()
    # one right answer of four instances (the others missing: empty answers), not the imported 60
    assert sql_rows(ws, "SELECT score, source FROM task_scores WHERE model = 'both'") == [(25.0, "predictions")]
    out = glc(root, "leaderboard", "--scope", "C-image-comprehension").stdout
    assert "note: both: the imported score of 1 task is set aside: the model has predictions for it" in out
    notes = ws.explain("both", "pooled", "C-image-comprehension")["notes"]
    assert any(n.startswith("the imported score of 1 task is set aside") for n in notes)
    page = ws.report(tmp_path / "r").read_text()
    assert "both: the imported score of 1 task is set aside" in page.split('<ul id="basis">')[1].split("</ul>")[0]


# --- the SoTA workbook is not a model --------------------------------------------------------------

@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_the_official_sota_workbook_is_refused_as_a_model(tmp_path: Path) -> None:
    root = new_project(tmp_path / "p")
    c = add_task(root, "acc", "text", [("q1", {}, ["x"])], modality="image", paradigm="comprehension")
    ws = Workspace(root)
    ws.import_scores(_scores(tmp_path / "m.csv", [("SoTA-Beater-70B", c, 60.0)]))  # a model, named so
    sota = DATA / "official" / "sota_result.xlsx"
    with pytest.raises(GlcError) as err:
        ws.import_scores(sota)
    text = err.value.format()
    assert "column 'SoTA Performance' holds the specialist SoTA (Level-1), not a model" in text
    assert f"glc catalog generate --from {sota}" in text and "nothing from this file was stored" in text
    with pytest.raises(GlcError, match="holds the specialist SoTA"):
        ws.import_scores(sota, model="sota performance")
    table = _scores(tmp_path / "s.csv", [("SoTA", c, 80.0), ("other", c, 70.0)])
    with pytest.raises(GlcError, match="column 'SoTA' holds the specialist SoTA") as err:
        ws.import_scores(table)
    assert "--model 'other'" in err.value.format()  # how to import the rest of the file
    assert sql_rows(ws, "SELECT model FROM imported_models") == [("SoTA-Beater-70B",)]


# --- routes, coverage, tasks without a SoTA (a command-runner model) -------------------------------

ECHO = ["{{ python }}", "-c", "import sys; print(sys.argv[1].split(':')[-1].strip())", "{{ prompt }}"]


def _model(root: Path, name: str, match: dict, **extra: object) -> Path:
    path = root / "specs" / "models" / f"{name}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump({"name": name, "revision": "1", **extra,
                                    "routes": [{"match": match, "runner": "command", "args": {"argv": ECHO}}]},
                                   sort_keys=False))
    return path


def _with_inference(root: Path, task_id: str, *, sota: object = "keep") -> None:
    path = root / "specs" / "tasks" / "test" / f"{task_id}.yaml"
    spec = yaml.safe_load(path.read_text())
    spec["inference"] = {"type": "qa", "prompt": "Repeat the number: {{ input.a }}"}
    if sota != "keep":
        spec["sota"] = sota
    path.write_text(yaml.safe_dump(spec))


def _routed_project(root: Path) -> dict[str, str]:
    """nlp.t_acc (6 instances, SoTA 50), nlp.t_acc_new (4 instances, no SoTA yet) and an image task
    (SoTA 50) that the generalist 'echo' has no route for; 'echo-spec' is a specialist for NLP."""
    new_project(root)
    allow_command(root, ECHO)
    nlp = qa_task(root, n=6)
    new = add_task(root, "acc", "text", [(f"n{i}", {"a": str(i)}, [str(i)]) for i in range(4)], suffix="_new")
    _with_inference(root, new, sota=None)
    img = add_task(root, "acc", "text", [("i1", {"a": "1"}, ["1"])], modality="image", paradigm="comprehension")
    _with_inference(root, img)
    _model(root, "echo", {"modality": ["nlp"]})
    _model(root, "echo-spec", {"tasks": [nlp]}, role="specialist")
    return {"nlp": nlp, "new": new, "img": img}


@pytest.fixture
def routed(tmp_path: Path) -> tuple[Workspace, dict[str, str]]:
    """The routed project, new: nothing compiled, run or stored."""
    root = tmp_path / "p"
    t = _routed_project(root)
    return Workspace(root), t


@pytest.fixture(scope="module")
def _routed_saved(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """The routed project made once per module at ``live/p``: saved as ``compiled/`` after a compile and as
    ``ran/`` after a full run (inference and build)."""
    base = tmp_path_factory.mktemp("routed")
    root = base / "live" / "p"
    t = _routed_project(root)
    Workspace(root).compile()
    shutil.copytree(base / "live", base / "compiled", symlinks=True)
    Workspace(root).run()
    shutil.copytree(base / "live", base / "ran", symlinks=True)
    return base, t


def _restored(saved: tuple[Path, dict[str, str]], which: str) -> tuple[Workspace, dict[str, str]]:
    """A saved state of the routed project restored at the path it was made at (the compile cache entry is
    named by the project's path, so a restored copy's compile is read from it). Each test changes its own
    restored copy."""
    base, t = saved
    shutil.rmtree(base / "live")
    shutil.copytree(base / which, base / "live", symlinks=True)
    return Workspace(base / "live" / "p"), t


@pytest.fixture
def routed_compiled(_routed_saved: tuple[Path, dict[str, str]]) -> tuple[Workspace, dict[str, str]]:
    """The routed project, compiled (target/ holds its manifest), nothing run or stored."""
    ws, t = _restored(_routed_saved, "compiled")
    assert not Path(ws.target.path).exists()
    return ws, t


@pytest.fixture
def routed_ran(_routed_saved: tuple[Path, dict[str, str]]) -> tuple[Workspace, dict[str, str]]:
    """The routed project after a full run: every routed instance predicted and the store built. A test's own
    ``ws.run()`` on it finds the inference done."""
    ws, t = _restored(_routed_saved, "ran")
    assert sql_rows(ws, "SELECT count(*) FROM predictions") == [(6 + 4 + 6,)]  # echo: both NLP; echo-spec: nlp
    return ws, t


@pytest.mark.slow  # several glc processes
def test_tasks_without_a_route_are_named_and_marked(routed) -> None:
    ws, t = routed
    out = glc_process(ws.root, "compile").stdout
    assert f"  echo: 1 task(s): image comprehension 1 ({t['img']})" in out
    assert "specialists (Level-1, off the boards): 2 (model, task) pairs outside their speciality" in out
    result = ws.run()
    assert result.unrouted == [("echo", t["img"]), ("echo-spec", t["img"]), ("echo-spec", t["new"])]
    row = {r["model"]: r for r in ws.leaderboard("pooled", "A")}["echo"]
    assert (row["n_attempted"], row["n_tasks"]) == (1, 20)  # the pending task counts in neither
    board = glc_process(ws.root, "leaderboard", "--scope", "C-image-comprehension").stdout
    assert "0/3" in board and "echo: 3 of 3 tasks not attempted (no score)" in board


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_missing_route_error_refuses_before_inference(routed_compiled) -> None:
    ws, t = routed_compiled
    spec = ws.root / "specs" / "models" / "echo.yaml"
    spec.write_text(spec.read_text().replace("revision: '1'", "revision: '1'\nmissing_route: error"))
    fresh = Workspace(ws.root)
    with pytest.raises(GlcError) as err:
        fresh.run()
    text = err.value.format()
    assert text.startswith("specs/models/echo.yaml: no inference ran: echo: 1 task(s) without a route: "
                           f"image comprehension 1 ({t['img']})")
    assert "missing_route: zero" in text
    assert sql_rows(fresh, "SELECT count(*) FROM predictions") == [(0,)]
    out = glc(ws.root, "run")
    assert out.returncode == 2 and "no inference ran" in out.stderr


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_partial_results_are_marked(routed_compiled) -> None:
    ws, t = routed_compiled
    result = ws.run(limit=2)
    warn = next(r for r in result.tests.data if r.test.name == "partial_coverage")
    assert warn.status == "warn" and warn.n_failing == 2  # the two NLP tasks of 'echo' (one counted)
    row = {r["model"]: r for r in ws.leaderboard("pooled", "A")}["echo"]
    assert (row["instances_scored"], row["instances_total"], row["n_complete"]) == (2, 6, 0)
    out = glc(ws.root, "leaderboard").stdout
    assert "33% (0/1 tasks complete)" in out
    assert "note: echo: partial results: 33% of the instances scored, 0 of 1 attempted tasks complete" in out
    info = ws.explain("echo")
    assert [(p["task_id"], p["n_scored"], p["n_instances"]) for p in info["partial"]] == \
        [(t["nlp"], 2, 6), (t["new"], 2, 4)]
    ws.run()
    assert {r["model"]: r for r in ws.leaderboard("pooled", "A")}["echo"]["n_complete"] == 1


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_a_task_without_sota_is_scored_but_counts_nowhere(routed_ran) -> None:
    ws, t = routed_ran
    result = ws.run()
    scored = sql_rows(ws, "SELECT raw_score, has_sota, vs_sota FROM task_results WHERE model = 'echo' "
                          "AND task_id = ?", t["new"])
    assert scored == [(100.0, False, None)]  # run and scored, never compared
    warn = next(r for r in result.tests.data if r.test.name == "sota_present")
    assert warn.status == "warn" and warn.n_failing == 1
    with_pending = {r["model"]: r for r in ws.leaderboard("pooled", "A")}["echo"]
    assert with_pending["n_pending"] == 1 and with_pending["n_wins"] == 1
    # the same project without the task: every level is the same (excluded from the denominators too)
    (ws.root / "specs" / "tasks" / "test" / f"{t['new']}.yaml").rename(ws.root / f"{t['new']}.yaml.off")
    Workspace(ws.root).run()
    without = {r["model"]: r for r in Workspace(ws.root).leaderboard("pooled", "A")}["echo"]
    keys = ["level", "level_2", "level_3", "level_4", "level_5", "s_c", "s_g", "s_l", "n_tasks", "n_wins"]
    assert {k: without[k] for k in keys} == {k: with_pending[k] for k in keys} and without["n_pending"] == 0
    assert with_pending["s_l"] == pytest.approx(100 / 3)  # 100 on 1 of the 3 NLP tasks with a SoTA


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_sota_record_says_why_it_skips_a_task(routed_ran) -> None:
    ws, t = routed_ran
    ws.run()
    rows = ws.record_sota(write=False)
    assert [(r["task_id"], r["model"], r["value"]) for r in rows] == [(t["nlp"], "echo-spec", 100.0)]
    why = {r["task_id"]: r["why"] for r in ws.sota_skipped}
    assert why[t["new"]] == why[t["img"]] == "no specialist model has a route for it"
    imported_only = next(x.id for x in ws.compile(write=False).project.tasks if x.spec.dataset is None)
    assert why[imported_only].startswith("no data to run a specialist on")
    out = glc(ws.root, "sota", "record", "--no-write").stdout
    assert f"still without a SoTA (not counted in any level): 1 task(s): {t['new']}" in out
    assert f"skipped 2 task(s): no specialist model has a route for it: {t['img']}, {t['new']}" in out
    _model(ws.root, "echo-spec", {"tasks": [t["nlp"], t["new"]]}, role="specialist")
    fresh = Workspace(ws.root)
    fresh.run()
    recorded = {r["task_id"]: r for r in fresh.record_sota()}
    assert recorded[t["new"]]["old"] is None and recorded[t["new"]]["value"] == 100.0
    spec = yaml.safe_load((ws.root / "specs" / "tasks" / "test" / f"{t['new']}.yaml").read_text())
    assert spec["sota"]["value"] == 100.0 and spec["sota"]["model"] == "echo-spec"
    Workspace(ws.root).run()
    row = {r["model"]: r for r in Workspace(ws.root).leaderboard("pooled", "A")}["echo"]
    assert row["n_pending"] == 0 and row["n_ties"] == 2  # now counted: echo ties the specialist on both


def test_the_close_set_note_counts_only_unscored_tasks_of_the_board() -> None:
    """A task over data without references counts as 'run, not scored' only where the model has no score for
    it (an imported score makes it attempted) and only among the board's tasks."""
    import duckdb

    from glc.analysis.basis import closed_set_tasks, model_notes

    con = duckdb.connect()
    con.execute("CREATE TABLE instances (task_id VARCHAR, ref_kind VARCHAR)")
    con.execute("CREATE TABLE predictions (model VARCHAR, task_id VARCHAR)")
    con.execute("CREATE TABLE task_scores (model VARCHAR, task_id VARCHAR, score DOUBLE)")
    con.execute("INSERT INTO instances VALUES ('closed1', 'none'), ('closed2', 'none'), ('closed3', 'none'), "
                "('open', 'text'), ('mixed', 'none'), ('mixed', 'text')")
    con.execute("INSERT INTO predictions VALUES ('m', 'closed1'), ('m', 'closed1'), ('m', 'closed2'), "
                "('m', 'closed3'), ('m', 'open'), ('m', 'mixed'), ('other', 'closed1')")
    con.execute("INSERT INTO task_scores VALUES ('m', 'closed2', 61.0), ('m', 'closed1', NULL)")
    board = ["closed1", "closed2", "open", "mixed"]  # closed3 is on another board
    assert closed_set_tasks(con, ["m", "other"], board) == {"m": 1, "other": 1}
    row = {"n_tasks": 4, "n_attempted": 2, "n_complete": 2}
    assert "1 of them holds its predictions, but their data has no references (a Close Set)" in \
        " ".join(model_notes(row, closed=1))
    assert not any("Close Set" in n for n in model_notes(row))
