"""Scope specs beyond one modality x paradigm: Scope-D skill boards (split_by), combined-modality
Scope-B boards, and the Quick Board (a task list), from spec to built tables and commands."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import yaml
from glc.compiler.errors import GlcError, SpecErrors
from glc.compiler.plan import CompiledProject
from glc.compiler.resolve import Project, Task, board_slug, load_project
from glc.compiler.seeds import build_seeds
from helpers.cli import glc_in_process
from helpers.gb_tree import write_tree
from helpers.metric_project import new_project
from helpers.project import REPO

from glc.engine.store import connect
from glc.workspace import Workspace

GROUPS = [(m, p) for m in ("image", "video", "audio", "3d") for p in ("comprehension", "generation")]


def add_spec(root: Path, tid: str, modality: str, paradigm: str, skill: str | None = None,
             metric: str = "acc", sota: float = 50.0) -> Path:
    """A task spec without data under specs/tasks/test/ (a small project's benchmark reads that folder)."""
    spec = {"id": tid, "name": f"Test {tid}", "modality": modality, "paradigm": paradigm, "metric": metric,
            "sota": {"value": sota, "source": "test"}, **({"skill": skill} if skill is not None else {})}
    path = root / "specs" / "tasks" / "test" / f"{tid}.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return path


def d_boards(p: Project) -> dict[str, tuple[str, ...]]:
    return {s.name: s.task_ids for s in p.scopes if s.family == "D"}


def spec_errors(root: Path) -> list[str]:
    with pytest.raises(SpecErrors) as err:
        load_project(root)
    return [e.format() for e in err.value.errors]


# --- Scope-D -------------------------------------------------------------------------------------


def test_d_boards_split_each_c_group_by_skill(tmp_path: Path) -> None:
    root = new_project(tmp_path / "p")
    add_spec(root, "image.t_qa", "image", "comprehension", "question answering")
    add_spec(root, "image.t_vg", "image", "comprehension", "Visual Grounding!")
    add_spec(root, "image.t_none", "image", "comprehension")  # no skill: cluster 'other'
    add_spec(root, "nlp.t_qa", "nlp", "nlp", "question answering")  # NLP has no Scope-C group
    p = load_project(root)
    d = d_boards(p)
    assert d["D-image-comprehension-question-answering"] == ("image.abduction_based_vqa", "image.t_qa")
    assert d["D-image-comprehension-visual-grounding"] == ("image.t_vg",)
    assert d["D-image-comprehension-other"] == ("image.t_none",)
    assert d["D-video-comprehension-question-answering"] == ("video.agriculture_video_question_answering",)
    assert d["D-video-generation-generation"] == ("video.action_specific_text_to_video_generation",
                                                  "video.architecture_image_to_video_generation")
    scopes = {s.name: s for s in p.scopes}
    vg = scopes["D-image-comprehension-visual-grounding"]
    assert vg.entry.title == "Scope-D (image, comprehension, Visual Grounding!)"
    assert (vg.entry.modalities, vg.entry.paradigms, vg.entry.max_level) == (["image"], ["comprehension"], 3)
    assert vg.split == (("modality", "image"), ("paradigm", "comprehension"), ("skill", "Visual Grounding!"))
    assert not any(t.startswith("nlp.") for ids in d.values() for t in ids)
    # the D boards of a group partition its Scope-C board: every task in exactly one skill board
    for m, par in GROUPS:
        inside = [ids for name, ids in d.items() if name.startswith(f"D-{m}-{par}-")]
        flat = sorted(t for ids in inside for t in ids)
        assert flat == sorted(scopes[f"C-{m}-{par}"].task_ids) and len(flat) == len(set(flat))
    expected = {f"D-{t.spec.modality}-{t.spec.paradigm}-{board_slug(t.skill or 'other')}"
                for t in p.tasks if t.spec.modality != "nlp"}
    assert set(d) == expected
    # order: the template's modality and paradigm lists, then board names
    names = list(d)
    assert names.index("D-image-comprehension-other") < names.index("D-image-comprehension-visual-grounding") \
        < names.index("D-image-generation-editing") < names.index("D-video-comprehension-question-answering") \
        < names.index("D-3d-generation-generation")


def test_a_skill_change_moves_the_task_between_boards(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = new_project(tmp_path / "p")
    spec = add_spec(root, "image.t_x", "image", "comprehension", "counting")
    d = d_boards(load_project(root))
    assert d["D-image-comprehension-counting"] == ("image.t_x",)  # a one-task cluster is still a board
    assert "image.t_x" not in d["D-image-comprehension-question-answering"]
    spec.write_text(spec.read_text().replace("skill: counting", "skill: question answering"))
    d = d_boards(load_project(root))
    assert "D-image-comprehension-counting" not in d
    assert d["D-image-comprehension-question-answering"] == ("image.abduction_based_vqa", "image.t_x")
    # boards read the skill through Task.skill only (the hook that bound data will fill)
    monkeypatch.setattr(Task, "skill", property(lambda self: "bound skill"))
    assert set(d_boards(load_project(root))) == {f"D-{m}-{par}-bound-skill" for m, par in GROUPS}


def test_skills_read_from_the_data_never_stop_the_compile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """annotation.json's skill wins over the catalog's. A data skill spelled like another board's but for
    case ("Question Answering") stopped the whole compile ("split_by gives two boards the name ...; spell
    them the same in the task specs", at d.yaml), and so did one in another script ("问答": "gives no board
    name", at the spec line of the catalog's skill): nothing the user can fix without editing a download."""
    root = new_project(tmp_path / "p")
    tree = tmp_path / "General-Bench"
    names = {"image.abduction_based_vqa": "Abduction-based VQA",  # catalog: question answering
             "image.abnormal_heartbeat_recognition": "Abnormal Heartbeat Recognition",  # catalog: recognition
             "video.agriculture_video_question_answering": "Agriculture Video Question Answering"}
    info = write_tree(tree, size="small", per_task=2, tasks=list(names.values()))
    folders = {t.name: t.folder for t in info.tasks}

    def data_skill(task_id: str, skill: str) -> None:
        f = tree / folders[names[task_id]] / "annotation.json"
        doc = json.loads(f.read_text(encoding="utf-8"))
        f.write_text(json.dumps({**doc, "skill": skill}, ensure_ascii=False), encoding="utf-8")

    data_skill("image.abnormal_heartbeat_recognition", "Question Answering")
    data_skill("video.agriculture_video_question_answering", "   ")  # blank: the catalog's skill stands
    monkeypatch.setenv("GLC_DATA", str(tree))
    p = load_project(root)
    d = d_boards(p)
    # the data's spelling joins the board the catalog's spelling names; the tasks keep the data's skill
    assert d["D-image-comprehension-question-answering"] == ("image.abduction_based_vqa",
                                                            "image.abnormal_heartbeat_recognition")
    assert "D-image-comprehension-recognition" not in d
    assert {t.id: t.skill for t in p.tasks}["image.abnormal_heartbeat_recognition"] == "Question Answering"
    assert d["D-video-comprehension-question-answering"] == ("video.agriculture_video_question_answering",)
    # given tasks of that spelling (unit tests' seeds) land on the same board
    given = [t for t in p.tasks if t.id == "image.abnormal_heartbeat_recognition"]
    assert ("D-image-comprehension-question-answering", given[0].id) in set(build_seeds(p, given)["scope_tasks"].rows)
    data_skill("image.abnormal_heartbeat_recognition", "问答")
    scopes = {s.name: s for s in load_project(root).scopes if s.family == "D"}
    [board] = [s for s in scopes.values() if "image.abnormal_heartbeat_recognition" in s.task_ids]
    assert board.name.startswith("D-image-comprehension-x-") and board.entry.title.endswith("问答)")
    assert board.task_ids == ("image.abnormal_heartbeat_recognition",)


def test_seeds_for_given_tasks_follow_the_same_rules(tmp_path: Path) -> None:
    """Unit tests give their own tasks: a given task lands in the D board of its skill, and in a
    listed board only when listed."""
    root = new_project(tmp_path / "p")
    p = load_project(root)
    given = [Task(t.spec.model_copy(update={"id": f"image.given_{i}"}), t.metric, "unit test")
             for i, t in enumerate(x for x in p.tasks if x.id == "image.abnormal_heartbeat_recognition")]
    members = set(build_seeds(p, given)["scope_tasks"].rows)
    assert ("D-image-comprehension-recognition", "image.given_0") in members
    assert ("D-image-comprehension-question-answering", "image.given_0") not in members
    assert ("A", "image.given_0") in members and ("A-quick", "image.given_0") not in members


# --- Scope-B combined and the Quick Board --------------------------------------------------------


def test_combined_b_boards_select_their_modalities_both_paradigms(tmp_path: Path) -> None:
    p = load_project(new_project(tmp_path / "p"))
    scopes = {s.name: s for s in p.scopes}
    for name, modalities in [("B-image-video", {"image", "video"}), ("B-video-audio", {"video", "audio"}),
                             ("B-image-video-audio-3d", {"image", "video", "audio", "3d"})]:
        s = scopes[name]
        want = tuple(t.id for t in p.tasks if t.spec.modality in modalities)
        assert s.task_ids == want and s.family == "B" and s.entry.max_level == 4
        assert {t.group for t in p.tasks if t.id in s.task_ids} == {"C", "G"}


def test_a_task_list_board_holds_exactly_the_listed_tasks(tmp_path: Path) -> None:
    root = new_project(tmp_path / "p")
    (root / "data").mkdir(exist_ok=True)
    (root / "data" / "q.txt").write_text("# a quick set\n\nvideo.agriculture_video_question_answering\n"
                                         "image.abduction_based_vqa   # trailing comment\n"
                                         "nlp.abstractive_summarization\n")
    (root / "specs" / "scopes" / "q.yaml").write_text(
        "family: Q\ndescription: test\nscopes:\n  - name: Q\n    title: Q\n"
        "    modalities: [image, video, audio, 3d, nlp]\n    paradigms: [comprehension, generation, nlp]\n"
        "    task_list: data/q.txt\n    benchmarks: [general-bench]\n    max_level: 5\n")
    p = load_project(root)
    q = p.scope("Q")
    assert q.task_ids == ("image.abduction_based_vqa", "nlp.abstractive_summarization",
                          "video.agriculture_video_question_answering")
    assert "data/q.txt" in p.file_hashes  # the list is part of the spec fingerprint
    # a list names one benchmark's tasks: under another benchmark the board does not exist
    assert "A-quick" in [s.name for s in p.scopes]
    assert not {"A-quick", "Q"} & {s.name for s in load_project(root, benchmark="mini").scopes}


# --- located errors ------------------------------------------------------------------------------


def test_bad_scope_specs_give_located_errors_all_at_once(tmp_path: Path) -> None:
    root = new_project(tmp_path / "p")
    outside = tmp_path / "outside.txt"
    outside.write_text("image.abduction_based_vqa\n")
    (root / "data").mkdir(exist_ok=True)
    (root / "data" / "link.txt").symlink_to(outside)
    (root / "data" / "bad.txt").write_text("image.abduction_based_vq\nnlp.abstractive_summarization\n"
                                           "image.abnormal_heartbeat_recognition\n"
                                           "image.abnormal_heartbeat_recognition\n")
    (root / "specs" / "scopes" / "x.yaml").write_text("""family: X
description: broken boards
scopes:
  - name: X-list
    title: unknown, misplaced and repeated ids
    modalities: [image]
    paradigms: [comprehension]
    task_list: data/bad.txt
    max_level: 3
  - name: X-up
    title: a list above the project
    modalities: [image]
    paradigms: [comprehension]
    task_list: ../outside.txt
    max_level: 3
  - name: X-abs
    title: an absolute list
    modalities: [image]
    paradigms: [comprehension]
    task_list: /etc/hostname
    max_level: 3
  - name: X-link
    title: a link out of the project
    modalities: [image]
    paradigms: [comprehension]
    task_list: data/link.txt
    max_level: 3
  - name: X-bench
    title: an unknown benchmark
    modalities: [image]
    paradigms: [comprehension]
    benchmarks: [general-bench-x]
    max_level: 3
  - name: C
    title: expands onto the Scope-C names
    modalities: [image]
    paradigms: [comprehension]
    split_by: [modality, paradigm]
    max_level: 3
  - name: X-missing
    title: a list that is not there
    modalities: [image]
    paradigms: [comprehension]
    task_list: data/missing.txt
    max_level: 3
  - name: X-binary
    title: a list that is not text
    modalities: [image]
    paradigms: [comprehension]
    task_list: data/binary.txt
    max_level: 3
""")
    (root / "data" / "binary.txt").write_bytes(b"image.abduction_based_vqa\n\xff\xfe\n")
    (root / "specs" / "scopes" / "y.yaml").write_text(
        "family: Y\ndescription: t\nscopes:\n  - name: Y\n    title: Y\n    modalities: [image]\n"
        "    paradigms: [comprehension]\n    split_by: [modality, skil]\n    max_level: 3\n")
    add_spec(root, "image.t_qa1", "image", "comprehension", "Q&A")
    add_spec(root, "image.t_qa2", "image", "comprehension", "q a")
    errors = spec_errors(root)
    text = "\n".join(errors)
    expected = [
        "data/bad.txt:1: unknown task id 'image.abduction_based_vq' in the task list of scope 'X-list'\n"
        "  hint: did you mean 'image.abduction_based_vqa'?",
        "data/bad.txt:2: task 'nlp.abstractive_summarization' (nlp nlp) is listed, but scope 'X-list' takes only",
        "data/bad.txt:4: task 'image.abnormal_heartbeat_recognition' is listed twice\n  hint: first at line 3",
        "specs/scopes/x.yaml:14: task_list '../outside.txt' is not a path inside the project",
        "specs/scopes/x.yaml:20: task_list '/etc/hostname' is not a path inside the project",
        "specs/scopes/x.yaml:26: task_list 'data/link.txt' leads outside the project",
        "specs/scopes/x.yaml:32: unknown benchmark 'general-bench-x'\n  hint: did you mean 'general-bench'?",
        "specs/scopes/x.yaml:34: duplicate scope 'C-image-comprehension'",
        "specs/scopes/x.yaml:44: task list 'data/missing.txt' not found",
        "specs/scopes/x.yaml:50: cannot read task list 'data/binary.txt': 'utf-8' codec can't decode byte 0xff",
        "specs/scopes/y.yaml:8: scopes.0.split_by.1: Input should be 'modality', 'paradigm', 'skill' or 'type'",
        "specs/scopes/d.yaml:9: split_by gives two boards the name 'D-image-comprehension-q-a': "
        "image / comprehension / Q&A and image / comprehension / q a",
    ]
    for want in expected:
        assert any(e.startswith(want) for e in errors), f"missing: {want}\n---\n{text}"
    assert len(errors) == len(expected), text


def test_a_default_board_is_never_split_or_benchmark_bound(tmp_path: Path) -> None:
    root = new_project(tmp_path / "p")
    a = root / "specs" / "scopes" / "a.yaml"
    a.write_text(a.read_text().replace("    default: true\n", "    default: true\n    split_by: [skill]\n", 1))
    errors = spec_errors(root)
    assert len(errors) == 1 and errors[0].startswith("specs/scopes/a.yaml:4: scopes.0: Value error, the default "
                                                     "scope is one board"), errors


# --- built tables and commands -------------------------------------------------------------------


def glc(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "glc", "--project-dir", str(root), *args],
                          capture_output=True, text=True)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """A small project with a comprehension-only Level-4 board, and one model's imported scores:
    wins on image QA (C), image generation (G) and NLP (L), a loss on video QA."""
    root = new_project(tmp_path_factory.mktemp("scopes") / "p")
    (root / "specs" / "scopes" / "x.yaml").write_text(
        "family: X\ndescription: comprehension only, up to Level-4\nscopes:\n  - name: X-comprehension\n"
        "    title: X\n    modalities: [image, video]\n    paradigms: [comprehension]\n    max_level: 4\n")
    csv = root / "scores.csv"
    csv.write_text("model,task,score\nm,image.abduction_based_vqa,100\nm,image.deep_fake_generation,50\n"
                   "m,nlp.abstractive_summarization,90\nm,video.agriculture_video_question_answering,10\n")
    ws = Workspace(root)
    ws.import_scores(csv)
    ws.run()
    return ws


def _levels(ws: Workspace) -> dict[tuple[str, str], dict]:
    con = connect(ws.target, read_only=True)
    try:
        rel = con.sql("SELECT * FROM level_scores WHERE model = 'm'")
        return {(r[1], r[2]): dict(zip(rel.columns, r, strict=True)) for r in rel.fetchall()}
    finally:
        con.close()


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_every_board_has_level_rows_with_its_cap(built: Workspace) -> None:
    p = built.compile(write=False).project
    rows = _levels(built)
    assert set(rows) == {(v.name, s.name) for v in p.variants for s in p.scopes}
    qa = rows[("pooled", "D-image-comprehension-question-answering")]
    assert (qa["level"], qa["level_2"], qa["level_3"], qa["level_4"], qa["level_5"]) == (3, 100.0, 100.0, None, None)
    assert rows[("pooled", "D-image-comprehension-recognition")]["level"] == 1  # no score there
    assert rows[("pooled", "D-video-comprehension-question-answering")]["level"] == 2  # scored, lost
    both = rows[("pooled", "B-image-video")]
    assert both["level"] == 4 and both["level_4"] > 0 and both["level_5"] is None
    assert rows[("pooled", "X-comprehension")]["level"] == 3
    quick, full = rows[("pooled", "A-quick")], rows[("pooled", "A")]
    assert quick["level_5"] is not None and quick["level"] >= 2 and full["level"] == 5
    board = built.leaderboard("strict", "D-image-comprehension-question-answering")
    assert [(r["model"], r["variant"], r["level"]) for r in board] == [("m", "strict", 3)]
    assert built.leaderboard(None, "A-quick")[0]["level_5"] == quick["level_5"]


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_explain_names_only_the_groups_a_board_holds(built: Workspace) -> None:
    gen = built.explain("m", scope="D-video-generation-generation")
    assert gen["level"] == 1 and gen["next_level"] == "Score a generation task: Level-2 averages those."
    comp = built.explain("m", scope="D-video-comprehension-question-answering")
    assert comp["next_level"].startswith("Beat or tie the SoTA on one comprehension task (closest: 'Agriculture")
    assert "generation" not in comp["next_level"]
    top = built.explain("m", scope="D-image-comprehension-question-answering")
    assert top["next_level"] == "Level-3 is the highest this scope measures."
    capped = built.explain("m", scope="X-comprehension")
    assert capped["next_level"].startswith("Level-3 is the highest this scope can reach: it holds no generation task")
    assert built.explain("m", scope="A-quick")["scope"] == "A-quick"


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_diff_and_report_take_the_new_boards(built: Workspace, tmp_path: Path) -> None:
    [row] = built.diff("scope:B-image-video", "scope:D-image-comprehension-question-answering")
    assert (row["level_a"], row["level_b"]) == (4, 3)
    only_a = {t["task_id"] for t in row["tasks"] if t["in_a"] and not t["in_b"]}
    assert only_a == {"image.deep_fake_generation", "video.agriculture_video_question_answering"}
    assert built.diff("scope:A", "scope:A-quick")[0]["b"] == "pooled/A-quick"
    page = built.report(tmp_path / "report").read_text(encoding="utf-8")
    for name in ("A-quick", "B-video-audio", "D-image-comprehension-question-answering"):
        assert f'data-scope="{name}"' in page


@pytest.mark.slow  # several glc processes
def test_cli_lists_and_prints_the_new_boards(built: Workspace) -> None:
    out = glc(built.root, "leaderboard", "--scope", "D-image-comprehension-question-answering", "--format", "csv")
    assert out.returncode == 0, out.stderr
    # rank first; level_without_ties, 1 task with a SoTA, attempted, won (no tie), complete; no instances (1 task
    # score imported), no intervals
    assert out.stdout.splitlines()[1] == \
        "1,m,pooled,D-image-comprehension-question-answering,100.0,100.0,,,100.0,,,3,3,1,1,1,0,0,1,,,1" + "," * 8
    listed = glc(built.root, "ls", "scopes").stdout.splitlines()
    assert listed[1].split() == ["A", "A", "5", "18", "True"] and listed[2].split()[:3] == ["A-quick", "A", "5"]
    assert ["D-image-comprehension-question-answering", "D", "3", "1", "False"] in [x.split() for x in listed]
    bad = glc(built.root, "leaderboard", "--scope", "D-image-comprehension-question-answerin")
    assert bad.returncode == 2 and "did you mean 'D-image-comprehension-question-answering'?" in bad.stderr


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_a_board_whose_tasks_all_lack_a_sota_says_so(tmp_path: Path) -> None:
    """Such a board has no level row (its tasks enter no sum): `glc leaderboard` printed an empty board
    with no word why, and `glc explain` said "no model 'm' in level_scores; did you mean 'm'?"."""
    root = new_project(tmp_path / "p")
    for tid, skill in (("image.t_new", "brand new"), ("image.t_tie", "counting"), ("image.t_tbd", "counting")):
        spec = add_spec(root, tid, "image", "comprehension", skill)
        if tid != "image.t_tie":
            spec.write_text(spec.read_text().replace("sota:\n  value: 50.0\n  source: test\n", "sota: null\n"))
    csv = root / "scores.csv"
    csv.write_text("model,task,score\nm,image.t_new,90\nm,image.t_tie,50\nm,image.t_tbd,70\n")
    ws = Workspace(root)
    ws.import_scores(csv)
    ws.run()
    assert ws.leaderboard(None, "D-image-comprehension-brand-new") == []
    out = glc_in_process("--project-dir", str(root), "leaderboard", "--scope", "D-image-comprehension-brand-new")
    assert out.returncode == 0, out.stderr
    assert "note: the only task of this board has no SoTA yet: run and scored (task_results), but no level is " \
           "computed on the board until one is recorded" in out.stdout
    with pytest.raises(GlcError) as info:
        ws.explain("m", scope="D-image-comprehension-brand-new")
    assert info.value.message == "model 'm' has no level on scope 'D-image-comprehension-brand-new' (variant pooled)"
    assert (info.value.hint or "").startswith("the only task of this board has no SoTA yet")
    # beside a task with a SoTA (a tie) the other is counted as pending, as on every board
    [row] = ws.leaderboard(None, "D-image-comprehension-counting")
    assert (row["level"], row["n_tasks"], row["n_pending"], row["n_wins"], row["n_ties"]) == (3, 1, 1, 1, 1)
    assert any("1 task(s) of this board have no SoTA yet" in n for n in ws.board_notes([row]))
    with pytest.raises(GlcError, match="no model 'mm' in level_scores"):
        ws.explain("mm", scope="D-image-comprehension-brand-new")
    page = ws.report(tmp_path / "report").read_text(encoding="utf-8")
    board = page.split('data-scope="D-image-comprehension-brand-new"', 1)[1].split("</section>", 1)[0]
    assert "the only task of this board has no SoTA yet" in board


# --- the general-bench catalog (slow: compiles all 699 tasks) ------------------------------------


def test_general_bench_boards(compiled: CompiledProject) -> None:
    script = importlib.util.spec_from_file_location("derive_quick", REPO / "data" / "general-bench" / "derive_quick.py")
    assert script is not None and script.loader is not None
    derive = importlib.util.module_from_spec(script)
    script.loader.exec_module(derive)

    p = compiled.project
    by_family = Counter(s.family for s in p.scopes)
    assert by_family == {"A": 2, "B": 7, "C": 8, "D": 63}
    scopes = {s.name: s for s in p.scopes}
    assert [len(scopes[n].task_ids) for n in ("B-image-video", "B-video-audio", "B-image-video-audio-3d")] \
        == [488, 216, 584]
    tasks = {t.id: t for t in p.tasks}
    for s in p.scopes:
        if s.family == "D":
            m, par, skill = (v for _, v in s.split)
            group = scopes[f"C-{m}-{par}"].task_ids
            assert s.task_ids == tuple(t for t in group if (tasks[t].skill or "other") == skill)
    listed = [x for x in (REPO / "data" / "general-bench" / "quick_tasks.txt").read_text().splitlines()
              if x and not x.startswith("#")]
    assert list(scopes["A-quick"].task_ids) == listed == derive.quick_ids()  # the committed list is the rule's output
    assert len(listed) == 624  # 75 of 699 left out, 10.7 %
    per_sheet = Counter(tasks[t].spec.official.sheet for t in tasks)
    kept = Counter(tasks[t].spec.official.sheet for t in listed)
    assert all(per_sheet[s] - kept[s] == per_sheet[s] // 9 for s in per_sheet)
