"""Loading task data into ``instances``: JSONL line splitting, the fast column-wise path against
the careful per-instance one, and what a second load reads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from glc.compiler.spec_models import DatasetSpec
from helpers.examples import examples
from helpers.metric_project import add_task, new_project, sql_rows
from helpers.project import REPO
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import glc.execute.datasets as datasets
from glc.workspace import Workspace

# characters str.splitlines() treats as line ends; inside a JSON string they are plain characters
LINE_LIKE = "\u2028\u2029\u0085\x1c\x1d\x1e\x0b\x0c\r"


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_jsonl_lines_end_only_at_newline(tmp_path: Path) -> None:
    root = new_project(tmp_path / "p")
    texts = [f"a{ch}b" for ch in LINE_LIKE if ch != "\r"] + ["carriage\rreturn"]
    items = [(f"q{i}", {"question": t}, [t]) for i, t in enumerate(texts)]
    tid = add_task(root, "acc", "text", items)
    # json.dumps escapes \r and the C0 controls; write some of them raw as UTF-8, which JSON allows
    # for U+2028, U+2029 and U+0085 (orjson and json accept the raw form of those only)
    f = root / "data" / f"{tid}.jsonl"
    raw = f.read_text(encoding="utf-8").replace("\\u2028", "\u2028").replace("\\u2029", "\u2029") \
        .replace("\\u0085", "\u0085")
    f.write_text(raw, encoding="utf-8")
    assert "\u2028" in raw and raw.count("\n") == len(items)
    ws = Workspace(root)
    ws.plan()
    assert ws.data_problems == []
    got = dict(sql_rows(ws, "SELECT instance_id, input FROM instances WHERE task_id = ?", tid))
    assert {k: json.loads(v)["question"] for k, v in got.items()} == {i: x["question"] for i, x, _ in items}


# --- the fast column-wise path gives what the per-instance loop gives -----------------------


@pytest.fixture(scope="module")
def loader(tmp_path_factory: pytest.TempPathFactory):
    """(project root, a task to give datasets to, task types) of a compiled small project."""
    root = new_project(tmp_path_factory.mktemp("fast") / "p")
    tid = add_task(root, "acc", "text", [("q1", {"question": "x"}, "a")])
    project = Workspace(root).compile(write=False).project
    task = next(t for t in project.tasks if t.id == tid)
    (root / "data" / "hyp" / "img").mkdir(parents=True)
    for name in ("a.png", "b.png"):
        (root / "data" / "hyp" / "img" / name).write_bytes(name.encode())
    return root, task, project.task_types


def both_ways(root: Path, task, types, ds: DatasetSpec, doc: object, monkeypatch: pytest.MonkeyPatch):
    """(rows, problems) of load_task as it is, and of the per-instance loop alone."""
    text = json.dumps(doc, ensure_ascii=False).encode("utf-8", "surrogatepass")
    return _raw_both_ways(root, task, types, ds, text, monkeypatch)


def _raw_both_ways(root: Path, task, types, ds: DatasetSpec, text: str | bytes, monkeypatch: pytest.MonkeyPatch):
    """``both_ways`` for a file written as ``text`` (JSON that json.dumps would not write)."""
    f = root / ds.path / "annotation.json"
    f.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    t = task.__class__(task.spec.model_copy(update={"dataset": ds}), task.metric, task.path)
    out = []
    for fast in (True, False):
        with monkeypatch.context() as m:
            if not fast:
                m.setattr(datasets, "_fast_columns", lambda *a: None)
            problems: list = []
            got = datasets.load_task(root, t, problems, "fp", types)
            out.append((None if got is None else got.rows, [(p.where, p.message) for p in problems]))
    return out


def dataset(kind: str, **extra: object) -> DatasetSpec:
    return DatasetSpec(format="general_bench", path="data/hyp", reference=kind,
                       reference_fields=["output.answer", "output.label"], optional_media=["input.image",
                                                                                          "input.images"],
                       options_field="input.options" if kind == "choice" else None, **extra)


scalars = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70),
                    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=6),
                    st.sampled_from(["A", "(b)", " C.", "x", "1,2", "3.5", "img/a.png", "img/b.png",
                                     "img/../img/a.png", "nowhere.png", "\ud800"]))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                      st.dictionaries(st.sampled_from(["bbox", "label", "box", "x"]),
                                                                      inner, max_size=3)), max_leaves=8)
boxes = st.lists(st.fixed_dictionaries({"bbox": st.lists(st.integers(0, 50), min_size=4, max_size=4),
                                        "label": st.sampled_from(["cat", "dog"])}), max_size=3)
record = st.fixed_dictionaries(
    {"id": st.one_of(st.integers(0, 5), st.sampled_from(["a", "b", "c", "d"]))},
    optional={"input": st.fixed_dictionaries({}, optional={
        "question": st.text(max_size=5), "options": st.lists(st.one_of(st.text(max_size=3), st.integers()), max_size=4)
        | st.dictionaries(st.sampled_from(["A", "b", "C", "B"]), st.text(max_size=3), max_size=4),
        "image": st.sampled_from(["img/a.png", "img/b.png", "img/nowhere.png", "../../x.png"]),
        "images": st.lists(st.sampled_from(["img/a.png", "img/b.png"]), max_size=2)}),
        "output": st.fixed_dictionaries({}, optional={"answer": st.one_of(values, boxes), "label": values})})


@settings(max_examples=examples(300), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kind=st.sampled_from(["text", "choice", "label", "labels", "number", "boxes", "image"]),
       records=st.lists(record, max_size=6))
@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_fast_path_gives_what_the_careful_path_gives(loader, monkeypatch, kind: str, records: list) -> None:
    root, task, types = loader
    fast, slow = both_ways(root, task, types, dataset(kind), {"task": "t", "data": records}, monkeypatch)
    assert fast == slow


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_fast_path_on_every_catalog_type(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The generated General-Bench tree (every task type, media, Close Set): same rows both ways."""
    from helpers.gb_tree import write_tree

    root = new_project(tmp_path / "p")
    tree = tmp_path / "gb"
    import yaml

    names = [spec["name"] for f in sorted((root / "specs" / "tasks").rglob("*.yaml"))
             if (spec := yaml.safe_load(f.read_text())).get("type")]
    info = write_tree(tree, size="small", per_task=3, tasks=names)
    monkeypatch.setenv("GLC_DATA", str(tree))
    project = Workspace(root, benchmark="general-bench").compile(write=False).project
    seen = set()
    for t in project.tasks:
        if t.spec.dataset is None or t.spec.dataset.format != "general_bench" or t.spec.type in seen:
            continue
        seen.add(t.spec.type)
        rows = []
        for fast in (True, False):
            with monkeypatch.context() as m:
                if not fast:
                    m.setattr(datasets, "_fast_columns", lambda *a: None)
                problems: list = []
                got = datasets.load_task(root, t, problems, "fp", project.task_types)
                assert problems == [] and got is not None
                rows.append(got.rows)
        assert rows[0] == rows[1] and len(rows[0]) == 3
    assert seen == {t.spec.type for t in project.tasks if t.spec.dataset is not None
                    and t.spec.dataset.format == "general_bench"} and len(seen) >= 8
    assert {tt.type for tt in info.tasks} <= seen


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_unchanged_data_files_are_not_read_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = new_project(tmp_path / "p")
    tid = add_task(root, "acc", "text", [("q1", {"question": "2+2?"}, ["4"]), ("q2", {"question": "1+1?"}, ["2"])])
    Workspace(root).plan()
    reads: list[Path] = []
    real_read = datasets.FileVersions.read

    def counted(self, f: Path):
        reads.append(f)
        return real_read(self, f)

    monkeypatch.setattr(datasets.FileVersions, "read", counted)
    monkeypatch.setattr(datasets, "_records", lambda *a, **k: pytest.fail("a data file was parsed again"))
    monkeypatch.setattr(datasets.FileVersions, "RACY_NS", 0)  # the files were written just now
    ws = Workspace(root)
    ws.plan()
    assert reads == [] and ws.data_problems == []
    assert sql_rows(ws, "SELECT count(*) FROM instances WHERE task_id = ?", tid) == [(2,)]
    # a changed file is read (and loaded) again
    monkeypatch.undo()
    f = root / "data" / f"{tid}.jsonl"
    f.write_text(f.read_text() + json.dumps({"id": "q3", "input": {"question": "3+3?"}, "output": ["6"]}) + "\n")
    ws = Workspace(root)
    ws.plan()
    assert sql_rows(ws, "SELECT count(*) FROM instances WHERE task_id = ?", tid) == [(3,)]


def test_a_file_version_entry_is_believed_only_well_after_the_change(tmp_path: Path) -> None:
    f = tmp_path / "a.json"
    f.write_text("{}")
    versions = datasets.FileVersions(tmp_path / "v.json")
    data, digest = versions.read(f)
    assert data == b"{}" and versions.sha256(f) is None  # written within the last two seconds: read again
    entry = versions.cache[str(f)]
    entry[2] += 10 * datasets.FileVersions.RACY_NS  # as if recorded long after the write
    assert versions.sha256(f) == digest
    versions.save()
    assert datasets.FileVersions(tmp_path / "v.json").sha256(f) == digest
    f.write_text("[]")  # same size, new content: another version (times)
    assert versions.sha256(f) is None


def test_a_media_digest_reads_only_a_regular_file_at_that_very_path(tmp_path: Path) -> None:
    """``FileVersions.digest`` (the media hashes of planned instances) hashes a regular file and
    remembers it; a FIFO (no waiting on it), a link at the end, a path through a linked folder, a
    folder and a missing file give None, and nothing is remembered for them."""
    import hashlib
    import os

    real = (tmp_path / "media").resolve()
    real.mkdir()
    (real / "a.png").write_bytes(b"x" * (3 << 20))  # several reads' worth
    os.mkfifo(real / "pipe.png")
    (real / "link.png").symlink_to(real / "a.png")
    (tmp_path / "via").symlink_to(real)
    versions = datasets.FileVersions(tmp_path / "v.json")
    assert versions.digest(real / "a.png") == hashlib.sha256(b"x" * (3 << 20)).hexdigest()
    for odd in (real / "pipe.png", real / "link.png", tmp_path.resolve() / "via" / "a.png", real, real / "no.png"):
        assert versions.digest(odd) is None, odd
    assert list(versions.cache) == [str(real / "a.png")]


def test_media_hashes_of_files_gone_are_forgotten_when_new_ones_are_learned(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """``FileVersions.prune`` (run by ``WeightHashes.save`` after a plan): an entry whose file is gone is
    dropped, the others stay; when nothing new was learned it checks no file at all."""
    import os

    monkeypatch.setattr(datasets.FileVersions, "RACY_NS", 0)  # believe entries of files just written
    media = (tmp_path / "media").resolve()
    media.mkdir()
    for name in ("a.png", "b.png", "c.png"):
        (media / name).write_bytes(name.encode())
    store = tmp_path / "media_files.json"
    versions = datasets.FileVersions(store)
    for name in ("a.png", "b.png", "c.png"):
        assert versions.digest(media / name) is not None
    versions.prune()
    versions.save()
    (media / "b.png").unlink()
    checked: list[str] = []
    real_lstat = os.lstat
    monkeypatch.setattr(os, "lstat", lambda p, *a, **k: checked.append(str(p)) or real_lstat(p, *a, **k))
    again = datasets.FileVersions(store)
    assert again.digest(media / "a.png") is not None  # known: nothing new learned
    again.prune()
    assert [c for c in checked if c.startswith(str(media))] == [] and len(again.cache) == 3
    (media / "d.png").write_bytes(b"d")
    assert again.digest(media / "d.png") is not None  # something new: the entries not asked about are checked
    again.prune()
    again.save()
    assert sorted(c for c in checked if c.startswith(str(media))) == [str(media / "b.png"), str(media / "c.png")]
    assert sorted(json.loads(store.read_text())) == [str(media / n) for n in ("a.png", "c.png", "d.png")]


def test_pruning_many_media_hashes_lists_each_folder_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A narrow plan after a full one: the many entries it did not ask about are checked by listing
    their folder once (not one ``lstat`` each). Files deleted, a folder deleted and a folder replaced
    by a file lose their entries; the files still there keep theirs. ``WeightHashes.save`` prunes."""
    import os

    from glc.execute.inference import WeightHashes

    monkeypatch.setattr(datasets.FileVersions, "RACY_NS", 0)
    target = tmp_path / "target"
    big, gone, swapped = ((tmp_path / n).resolve() for n in ("big", "gone", "swapped"))
    for folder in (big, gone, swapped):
        folder.mkdir()
        for i in range(10):
            (folder / f"{i}.png").write_bytes(b"%s %d" % (folder.name.encode(), i))
    hashes = WeightHashes(target / "weights_sha256.json")
    for folder in (big, gone, swapped):
        for i in range(10):
            assert hashes.media(str(folder / f"{i}.png")) is not None
    hashes.save()
    assert len(json.loads((target / datasets.MEDIA_VERSIONS).read_text())) == 30
    (big / "3.png").unlink()
    (big / "7.png").unlink()
    for i in range(10):
        (gone / f"{i}.png").unlink()
    gone.rmdir()
    for i in range(10):
        (swapped / f"{i}.png").unlink()
    swapped.rmdir()
    swapped.write_bytes(b"now a file")
    (big / "new.png").write_bytes(b"new")
    stats: list[str] = []
    real_lstat = os.lstat
    monkeypatch.setattr(os, "lstat", lambda p, *a, **k: stats.append(str(p)) or real_lstat(p, *a, **k))
    narrow = WeightHashes(target / "weights_sha256.json")
    assert narrow.media(str(big / "new.png")) is not None  # one new hash: the others are checked
    narrow.save()
    kept = sorted(json.loads((target / datasets.MEDIA_VERSIONS).read_text()))
    assert kept == sorted([str(big / f"{i}.png") for i in range(10) if i not in (3, 7)] + [str(big / "new.png")])
    assert [s for s in stats if s.startswith(str(tmp_path))] == []  # folders listed, no file checked one by one


def test_an_escaped_lone_surrogate_is_refused_with_its_instance(loader) -> None:
    root, task, types = loader
    ds = dataset("text")
    (root / ds.path / "annotation.json").write_text(
        '{"data": [{"id": "ok", "input": {"question": "fine"}, "output": {"answer": "a"}},'
        ' {"id": "bad", "input": {"question": "x\\ud800y"}, "output": {"answer": "b"}}]}', encoding="ascii")
    t = task.__class__(task.spec.model_copy(update={"dataset": ds}), task.metric, task.path)
    problems: list = []
    assert datasets.load_task(root, t, problems, "fp", types) is None
    assert len(problems) == 1 and "instance 'bad'" in problems[0].where
    assert "lone surrogate U+D800" in problems[0].message


def _boxes_outcome(value: object, fmt: str) -> tuple[str, object]:
    try:
        return "ok", datasets._boxes(value, fmt)
    except (ValueError, OverflowError) as exc:
        return type(exc).__name__, str(exc)


coordinate = st.one_of(st.integers(-5, 60), st.integers(-2**70, 2**70), st.floats(), st.booleans(), st.none(),
                       st.text(max_size=2))
box_item = st.one_of(
    st.fixed_dictionaries({}, optional={"bbox": st.one_of(st.lists(coordinate, min_size=3, max_size=5),
                                                         st.lists(st.integers(0, 50), min_size=4, max_size=4)),
                                        "box": st.lists(st.integers(0, 50), min_size=4, max_size=4),
                                        "label": st.one_of(st.none(), st.text(max_size=3), st.integers())}),
    st.lists(coordinate, min_size=4, max_size=4), coordinate)


@settings(max_examples=examples(400), deadline=None)
@given(value=st.one_of(st.lists(box_item, max_size=4), box_item), fmt=st.sampled_from(["xyxy", "xywh"]))
def test_dict_boxes_shortcut_gives_what_boxes_gives(value: object, fmt: str) -> None:
    """Boxes as dicts take a shortcut (``_dict_boxes``); the result, or the error and its message,
    is the general code's for every value, good or bad (negative sizes, huge integers, bools)."""
    quick = _boxes_outcome(value, fmt)
    original = datasets._dict_boxes
    datasets._dict_boxes = lambda *a: None  # type: ignore[assignment]
    try:
        general = _boxes_outcome(value, fmt)
    finally:
        datasets._dict_boxes = original
    assert quick == general
    if quick[0] == "ok":  # the same values and the same kinds of numbers
        assert repr(quick[1]) == repr(general[1])


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_a_failed_write_stores_nothing_and_is_raised(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The writer thread's error reaches the caller, the transaction rolls back: the instances
    stored before are all still there, and a later load writes the new ones."""
    from glc.engine.store import connect

    root = new_project(tmp_path / "p")
    tid = add_task(root, "acc", "text", [("q1", {"question": "2+2?"}, ["4"]), ("q2", {"question": "1+1?"}, ["2"])])
    Workspace(root).plan()
    f = root / "data" / f"{tid}.jsonl"
    f.write_text(f.read_text() + json.dumps({"id": "q3", "input": {"question": "3+3?"}, "output": ["6"]}) + "\n")
    ws = Workspace(root)
    project = ws.compile(write=False).project
    con = connect(ws.target)
    try:
        def broken(*a, **k):
            raise OSError("disk full")

        monkeypatch.setattr(datasets, "insert_arrow", broken)
        with pytest.raises(OSError, match="disk full"):
            datasets.sync_instances(con, project, problems=[])
        assert con.execute("SELECT instance_id FROM instances WHERE task_id = ? ORDER BY 1", [tid]).fetchall() \
            == [("q1",), ("q2",)]
        monkeypatch.undo()
        assert datasets.sync_instances(con, project, problems=[]) == [tid]
        assert con.execute("SELECT instance_id FROM instances WHERE task_id = ? ORDER BY 1", [tid]).fetchall() \
            == [("q1",), ("q2",), ("q3",)]
    finally:
        con.close()


def test_media_links_inside_outside_and_dangling(loader, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Media paths that are symbolic links (the fast path's one ``lstat`` per file): a link to a
    file in the project loads with that file's sha256, both ways; a link leading outside the
    project and a dangling one give the careful path's located problem, both ways."""
    root, task, types = loader
    img = root / "data" / "hyp" / "img"
    secret = tmp_path / "secret.png"
    secret.write_bytes(b"outside")
    for name, target in (("in.png", img / "a.png"), ("out.png", secret), ("dangling.png", img / "gone.png")):
        if not (img / name).is_symlink():
            (img / name).symlink_to(target)
    ds = dataset("text")

    def doc(image: str) -> dict:
        return {"task": "t", "data": [{"id": "1", "input": {"question": "q", "image": image},
                                       "output": {"answer": "x"}},
                                      {"id": "2", "input": {"question": "q"}, "output": {"answer": "y"}}]}

    (fast, fast_problems), (slow, slow_problems) = both_ways(root, task, types, ds, doc("img/in.png"), monkeypatch)
    assert fast == slow and fast_problems == slow_problems == []
    assert fast is not None
    media = json.loads(dict((r[1], r[7]) for r in fast)["1"])
    assert media == [{"field": "input.image", "path": "img/in.png"}]  # checked, hashed when planned
    for name, message in (("out.png", "leads outside the project"),
                          ("dangling.png", "is not a regular file (a FIFO, a device, or a link that leads nowhere)")):
        (fast, fast_problems), (slow, slow_problems) = both_ways(root, task, types, ds, doc(f"img/{name}"),
                                                                 monkeypatch)
        assert fast is None and slow is None and fast_problems == slow_problems
        assert len(fast_problems) == 1 and "instance '1'" in fast_problems[0][0] and message in fast_problems[0][1]


def test_fast_path_json_bytes_are_stored_as_the_careful_path_text(loader, monkeypatch: pytest.MonkeyPatch) -> None:
    """The fast path hands orjson's UTF-8 bytes to Arrow as strings without a second UTF-8 pass:
    what the store holds is the careful path's text, non-ASCII included."""
    import duckdb

    from glc.engine.store import ensure_store

    root, task, types = loader
    ds = dataset("labels")
    records = [{"id": "é", "input": {"question": "naïve 🙂 \u2028 ü", "options": ["ß", "日本"]},
                "output": {"answer": ["😀", "ç"]}},
               {"id": "2", "input": {"question": "plain", "image": "img/a.png"}, "output": {"answer": ["a"]}}]
    f = root / ds.path / "annotation.json"
    f.write_text(json.dumps({"task": "t", "data": records}, ensure_ascii=False), encoding="utf-8")
    t = task.__class__(task.spec.model_copy(update={"dataset": ds}), task.metric, task.path)
    fast = datasets.load_task(root, t, [], "fp", types)
    assert fast is not None and type(fast.columns["input"][0]) is bytes  # the fast path took it
    with monkeypatch.context() as m:
        m.setattr(datasets, "_fast_columns", lambda *a: None)
        slow = datasets.load_task(root, t, [], "fp", types)
    assert slow is not None
    con = duckdb.connect()
    ensure_store(con)
    batches = datasets._Batches(con)
    batches.add(fast)
    batches.flush()
    batches.close()
    stored = con.execute(f"SELECT {', '.join(datasets.COLUMNS)} FROM instances ORDER BY rowid").fetchall()
    assert stored == slow.rows
    assert json.loads(stored[0][2])["question"] == "naïve 🙂 \u2028 ü"


@pytest.mark.parametrize("image", ["img/a.png/", "img/a.png/."])
def test_a_media_path_naming_a_file_as_a_folder_is_a_missing_file_both_ways(loader, monkeypatch: pytest.MonkeyPatch,
                                                                         image: str) -> None:
    """``img/a.png/`` normalizes to a file for ``lstat`` but cannot be opened: a located "missing
    media file" problem on both paths, not a traceback from the fast one (a review found it)."""
    root, task, types = loader
    doc = {"task": "t", "data": [{"id": "1", "input": {"question": "q", "image": image}, "output": {"answer": "x"}}]}
    (fast, fast_problems), (slow, slow_problems) = both_ways(root, task, types, dataset("text"), doc, monkeypatch)
    assert fast is None and slow is None and fast_problems == slow_problems
    assert len(fast_problems) == 1 and "missing media file" in fast_problems[0][1]


def test_what_stands_where_a_media_file_should_and_odd_files_are_said_as_they_are(
        loader, monkeypatch: pytest.MonkeyPatch) -> None:
    """A folder where a media file should be, a link loop on a media path, an empty annotation.json and
    a UTF-16 one: each is one located problem that says what it is (not "missing", not "outside", not
    "Expecting value", not a latin-1 hint), both ways."""
    root, task, types = loader
    img = root / "data" / "hyp" / "img"
    (img / "folder.png").mkdir(exist_ok=True)
    if not (img / "loop.png").is_symlink():
        (img / "loop.png").symlink_to(img / "loop.png")
    ds = dataset("text")
    for image, message in (("img/folder.png", "media file 'img/folder.png' is a folder, not a file"),
                           ("img/loop.png", "media field 'input.image': 'img/loop.png' cannot be resolved (a link "
                                            "loop on the way)")):
        doc = {"task": "t", "data": [{"id": "1", "input": {"question": "q", "image": image},
                                      "output": {"answer": "x"}}]}
        (fast, fast_problems), (slow, slow_problems) = both_ways(root, task, types, ds, doc, monkeypatch)
        assert fast is None and slow is None and fast_problems == slow_problems
        assert [m for _, m in fast_problems] == [message]
    text = json.dumps({"task": "t", "data": [{"id": "1", "input": {"question": "é"}, "output": {"answer": "x"}}]})
    for raw, message in ((b"", "the file is empty (or holds only whitespace)"), (b" \n\t", "the file is empty"),
                         (b"\xff\xfe" + text.encode("utf-16-le"), "the file is UTF-16 text"),
                         (b"\xfe\xff" + text.encode("utf-16-be"), "the file is UTF-16 text")):
        (fast, fast_problems), (slow, slow_problems) = _raw_both_ways(root, task, types, ds, raw, monkeypatch)
        assert fast is None and fast_problems == slow_problems and len(fast_problems) == 1
        assert fast_problems[0][1].startswith(message), fast_problems


# --- references of a whole task at once (_bulk_references) against convert_reference one by one

def _one_by_one(values: list, ds: DatasetSpec, folder: Path) -> list | None:
    """convert_reference of each value as (reference JSON, ref_texts, ref_number); None at a refusal."""
    out = []
    for v in values:
        try:
            canon, texts, number = datasets.convert_reference(v, ds, folder)
        except ValueError:
            return None
        out.append((datasets._dumps(canon).encode(), texts, number))
    return out


def _in_bulk(values: list, ds: DatasetSpec) -> list | None:
    try:
        got = datasets._bulk_references(values, ds)
    except TypeError:  # orjson cannot write a value (an integer past 64 bits): _fast_columns takes None
        return None
    return None if got is None else [(bytes(r), t, x) for r, t, x in zip(*got, strict=True)]


text_value = st.one_of(st.text(max_size=4), st.lists(st.text(max_size=3), max_size=3),
                       st.lists(st.one_of(st.text(max_size=2), st.integers(), st.none()), max_size=2),
                       st.integers(), st.none())
good_box = st.fixed_dictionaries({"bbox": st.lists(st.one_of(st.integers(0, 50), st.floats(0, 50)),
                                                   min_size=4, max_size=4)},
                                 optional={"label": st.one_of(st.none(), st.text(max_size=3),
                                                              st.integers(-2**63, 2**64 - 1))})
any_box = st.one_of(good_box, box_item, st.fixed_dictionaries({"bbox": st.lists(coordinate, min_size=4, max_size=4)}),
                    st.fixed_dictionaries({"bbox": st.just([1e308, 0, 1e308, 1]), "label": st.just("huge")}))


label_list = st.lists(st.sampled_from(["a", " a", "b ", "", "  ", "c,d", "\u00e9"]), max_size=4)


@settings(max_examples=examples(400), deadline=None)
@given(kind=st.sampled_from(["text", "labels", "boxes"]), fmt=st.sampled_from(["xyxy", "xywh"]),
       in_order=st.booleans(),
       values=st.one_of(st.lists(text_value, max_size=5), st.lists(st.lists(any_box, max_size=3), max_size=5),
                        st.lists(st.one_of(st.lists(any_box, max_size=2), box_item), max_size=3),
                        st.lists(st.one_of(label_list, label_list, st.text(max_size=3), text_value), max_size=5)))
def test_bulk_references_give_what_convert_reference_gives(kind: str, fmt: str, in_order: bool,
                                                           values: list) -> None:
    """Where the bulk conversion answers, every value converts one by one to the same reference JSON,
    texts and number (same floats: 1 and 1.0 are told apart); where one value is refused, the bulk
    conversion does not answer (the careful path then names the refusal)."""
    ds = DatasetSpec(format="general_bench", path="data/x", reference=kind, box_format=fmt, labels_in_order=in_order)
    bulk = _in_bulk(values, ds)
    single = _one_by_one(values, ds, Path("/nonexistent"))
    if bulk is not None:
        assert bulk == single
    if single is None:
        assert bulk is None


common_text = st.lists(st.one_of(st.text(max_size=4), st.lists(st.text(max_size=3), min_size=1, max_size=3)),
                       max_size=5)


@settings(max_examples=examples(200), deadline=None)
@given(kind=st.sampled_from(["text", "labels", "boxes"]), fmt=st.sampled_from(["xyxy", "xywh"]),
       in_order=st.booleans(), data=st.data())
def test_bulk_references_take_the_common_shapes(kind: str, fmt: str, in_order: bool, data: st.DataObject) -> None:
    """Strings and non-empty lists of strings (text), lists of strings (labels) and lists of
    well-formed boxes (without negative sizes) are converted in bulk, with what convert_reference gives."""
    values = data.draw(common_text if kind == "text" else st.lists(label_list, max_size=5) if kind == "labels"
                       else st.lists(st.lists(good_box, max_size=3), max_size=5))
    if kind == "boxes" and fmt == "xyxy":  # every box's corners in order
        values = [[{**b, "bbox": [min(b["bbox"][0], b["bbox"][2]), min(b["bbox"][1], b["bbox"][3]),
                                  max(b["bbox"][0], b["bbox"][2]), max(b["bbox"][1], b["bbox"][3])]} for b in v]
                  for v in values]
    if kind == "boxes" and fmt == "xywh":  # no negative width or height
        values = [[{**b, "bbox": [*b["bbox"][:2], abs(b["bbox"][2]), abs(b["bbox"][3])]} for b in v] for v in values]
    ds = DatasetSpec(format="general_bench", path="data/x", reference=kind, box_format=fmt, labels_in_order=in_order)
    bulk = _in_bulk(values, ds)
    assert bulk is not None
    assert bulk == _one_by_one(values, ds, Path("/nonexistent"))


def test_media_checks_of_plain_and_odd_paths_agree(tmp_path: Path) -> None:
    """``_Files.under_file`` (the lean way for plain relative paths) answers what ``inside_file``
    answers for every kind of path: files, links inside and outside the project, dangling links,
    folders, a FIFO, hidden names, '.', '..', '//' and a trailing '/'."""
    import os

    from glc.profiles import load_grants

    root = new_project(tmp_path / "p")
    base = root / "data" / "media"
    (base / "img" / "sub").mkdir(parents=True)
    (base / "img" / "a.png").write_bytes(b"a" * 70_000)  # more than one read's worth
    (base / "img" / ".hidden.png").write_bytes(b"h")
    (base / "img" / "sub" / "b.png").write_bytes(b"")
    outside = tmp_path / "secret.png"
    outside.write_bytes(b"secret")
    (base / "img" / "in.png").symlink_to(base / "img" / "a.png")
    (base / "img" / "out.png").symlink_to(outside)
    (base / "img" / "gone.png").symlink_to(base / "img" / "nothing.png")
    (base / "img" / "linked").symlink_to(tmp_path)  # a folder link leading outside
    (tmp_path / "d").mkdir()
    (base / "img" / "osub").symlink_to(tmp_path / "d")  # "osub/.." is tmp_path, not img
    (base / "img" / "secret.png").write_bytes(b"inside")  # where "img/osub/../secret.png" reads as text
    os.mkfifo(base / "img" / "pipe")
    texts = ["img/a.png", "img/a.png", "img/.hidden.png", "img/sub/b.png", "img/in.png", "img/out.png",
             "img/gone.png", "img/linked/secret.png", "img/pipe", "img/sub", "img/missing.png", "img/a.png/",
             "img//a.png", "./img/a.png", "img/./a.png", "img/sub/../a.png", "../media/img/a.png",
             "../../../secret.png", "/etc/hostname", "img", "img/osub/../secret.png", "img/secret.png"]
    grants = load_grants(root)
    lean, careful = datasets._Files(root, grants), datasets._Files(root, grants)
    got = [lean.under_file(str(base), t) for t in texts]
    want = [careful.inside_file(os.path.join(str(base), t)) for t in texts]
    assert got == want
    # what opening each path inside the project finds: a regular file for these, nothing for the rest
    # (outside, dangling, a FIFO, folders, missing, a file named as a folder, absolute or up and out)
    files = {"img/a.png", "img/.hidden.png", "img/sub/b.png", "img/in.png", "img//a.png", "./img/a.png",
             "img/./a.png", "img/sub/../a.png", "../media/img/a.png", "img/secret.png"}
    assert [t for t, ok in zip(texts, got, strict=True) if ok] == [t for t in texts if t in files]


def test_plain_media_references_agree_with_convert_reference(tmp_path: Path) -> None:
    """``_plain_media`` (distinct media references of a task checked in one go) answers only where
    every path is a plain regular file in a readable folder, and then what ``convert_reference``
    and the outside check give; a link, a hidden name, '..', a missing file, a folder, a file in a
    folder linked from outside the project: no answer (the general code names the problem)."""
    from glc.profiles import load_grants

    root = new_project(tmp_path / "p")
    folder = root / "data" / "refs"
    (folder / "img" / "sub").mkdir(parents=True)
    for name in ("a.png", "sub/b.png", ".h.png"):
        (folder / "img" / name).write_bytes(b"x")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "c.png").write_bytes(b"c")
    (folder / "linked").symlink_to(tmp_path / "elsewhere")
    (folder / "img" / "in.png").symlink_to(folder / "img" / "a.png")
    (folder / "inside").symlink_to(folder / "img")  # a folder link within the project: its real path
    ds = DatasetSpec(format="general_bench", path="data/refs", reference="image")
    grants = load_grants(root)
    good = ["img/a.png", "img/sub/b.png", "inside/a.png"]
    got = datasets._plain_media(good, folder, datasets._Files(root, grants))
    assert got is not None
    assert [(v, t, x) for v, t, x in got] == [datasets.convert_reference(v, ds, folder) for v in good]
    assert got[2][1] == [str((folder / "img" / "a.png").resolve())]
    files = datasets._Files(root, grants)
    assert not any(files.outside(t[0]) for _, t, _ in got)
    for bad in ("img/in.png", "img/.h.png", "img/../img/a.png", "img/missing.png", "img/sub", "linked/c.png",
                "img//a.png", "/etc/hostname", ""):
        assert datasets._plain_media([*good, bad], folder, datasets._Files(root, grants)) is None, bad


def test_a_nul_byte_in_a_reference_path_is_a_missing_file_both_ways(loader, monkeypatch: pytest.MonkeyPatch) -> None:
    """``os.lstat`` raises ValueError on a NUL byte: still the "not found under" problem that names
    the path, as ``os.path.isfile`` gave before the one-lstat check (a review found the bare
    "embedded null byte")."""
    root, task, types = loader
    doc = {"data": [{"id": "a", "input": {}, "output": {"answer": "img/a.png"}},
                    {"id": "b", "input": {}, "output": {"answer": "img/a\x00.png"}}]}
    (fast, fast_problems), (slow, slow_problems) = both_ways(root, task, types, dataset("image"), doc, monkeypatch)
    assert fast_problems == slow_problems and len(fast_problems) == 1
    assert "instance 'b'" in fast_problems[0][0] and "not found under" in fast_problems[0][1]


# --- values orjson and Python read differently, and values no instance can hold ------------------------


def _doc(*records: str) -> str:
    return '{"task": "t", "data": [' + ", ".join(records) + "]}"


def test_integers_past_64_bits_stay_exact(loader, monkeypatch: pytest.MonkeyPatch) -> None:
    """orjson reads an integer past 64 bits as a float: the id 12345678901234567890123 became
    '1.2345678901234568e+22' and two ids 2**64 and 2**64 + 1 a false duplicate. Such a file is read by the
    standard library: ids and inputs keep every digit."""
    root, task, types = loader
    text = _doc(f'{{"id": {2**64}, "input": {{"n": {10**30}}}, "output": {{"answer": "x"}}}}',
                f'{{"id": {2**64 + 1}, "input": {{"n": 1}}, "output": {{"answer": "y"}}}}',
                '{"id": 12345678901234567890123, "input": {}, "output": {"answer": "z"}}')
    for rows, problems in _raw_both_ways(root, task, types, dataset("text"), text, monkeypatch):
        assert problems == [] and rows is not None
        assert [r[1] for r in rows] == [str(2**64), str(2**64 + 1), "12345678901234567890123"]
        assert json.loads(rows[0][2]) == {"n": 10**30} and str(10**30) in rows[0][2]


@pytest.mark.parametrize("raw", ["null", "true", '{"k": [1]}', "[1, 2]", '""', "1.5"])
def test_an_id_that_is_no_text_nor_integer_is_refused(loader, monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    """Ids were stored under their Python form ('None', 'True', "{'k': [1]}"), which no prediction file and
    no official scorer matches; they are refused by record and field, as the prediction importer does."""
    root, task, types = loader
    text = _doc('{"id": "a", "input": {}, "output": {"answer": "x"}}',
                f'{{"id": {raw}, "input": {{}}, "output": {{"answer": "y"}}}}')
    (fast, fast_problems), (slow, slow_problems) = _raw_both_ways(root, task, types, dataset("text"), text,
                                                                  monkeypatch)
    assert fast is None and slow is None and fast_problems == slow_problems and len(fast_problems) == 1
    where, message = fast_problems[0]
    assert where.endswith("annotation.json record 2 field 'id'") and "is not text or an integer" in message


def test_nan_and_infinity_are_refused_not_stored_as_null(loader, monkeypatch: pytest.MonkeyPatch) -> None:
    """Python reads NaN and Infinity, which are not JSON; orjson then wrote them as null, so the model was
    prompted with other data than the file holds. Refused, with the line."""
    root, task, types = loader
    text = _doc('{"id": "a", "input": {}, "output": {"answer": "x"}}',
                '{"id": "b",\n "input": {"n": NaN}, "output": {"answer": "y"}}')
    for rows, problems in _raw_both_ways(root, task, types, dataset("text"), text, monkeypatch):
        assert rows is None and len(problems) == 1
        assert problems[0][0].endswith("annotation.json:2") and "NaN is not JSON" in problems[0][1]


@pytest.mark.parametrize(("kind", "answer", "said"), [
    ("number", "1" + "0" * 400, "is not a finite number"),
    ("boxes", '[{"bbox": [0, 0, 1' + "0" * 400 + ', 3], "label": "car"}]', "is not a box of 4 finite numbers"),
])
def test_an_integer_past_the_floats_is_a_reference_problem(loader, monkeypatch: pytest.MonkeyPatch, kind: str,
                                                           answer: str, said: str) -> None:
    """float() of a 400-digit integer raises OverflowError, which was an internal error (exit 70) that
    stopped every task from loading."""
    root, task, types = loader
    text = _doc(f'{{"id": "a", "input": {{}}, "output": {{"answer": {answer}}}}}')
    for rows, problems in _raw_both_ways(root, task, types, dataset(kind), text, monkeypatch):
        assert rows is None and len(problems) == 1 and said in problems[0][1]


def test_a_byte_order_mark_before_the_json_is_skipped(loader, monkeypatch: pytest.MonkeyPatch) -> None:
    """Notepad writes UTF-8 with a byte order mark; orjson and the standard library refuse it, so such an
    annotation.json was a bad-JSON problem although the importers read prediction files like it."""
    root, task, types = loader
    text = _doc('{"id": "a", "input": {}, "output": {"answer": "x"}}')
    plain = _raw_both_ways(root, task, types, dataset("text"), text, monkeypatch)
    marked = _raw_both_ways(root, task, types, dataset("text"), b"\xef\xbb\xbf" + text.encode(), monkeypatch)
    assert marked == plain and plain[0][0] is not None and plain[0][1] == []
    # a problem after it is still placed by line, the bytes counted from the file's start
    bad = b"\xef\xbb\xbf" + _doc('{"id": "a",\n "input": {}, "output": {"answer": "caf\xe9"}}').encode("latin-1")
    at = bad.index(b"\xe9")
    for rows, problems in _raw_both_ways(root, task, types, dataset("text"), bad, monkeypatch):
        assert rows is None and problems[0][0].endswith("annotation.json:2"), problems
        assert f"at byte offset {at}" in problems[0][1], problems
    # JSON Lines alike: the mark before the first line
    lines = root / "data" / "hyp" / "bom.jsonl"
    ds = DatasetSpec(format="jsonl", path="data/hyp/bom.jsonl", reference="text")
    t = task.__class__(task.spec.model_copy(update={"dataset": ds}), task.metric, task.path)
    got = {}
    for mark in (b"", b"\xef\xbb\xbf"):
        lines.write_bytes(mark + b'{"id": "a", "input": "q", "output": "x"}\n'
                                 b'{"id": "b", "input": "r", "output": "y"}\n')
        problems: list = []
        loaded = datasets.load_task(root, t, problems, "fp", types)
        assert problems == [] and loaded is not None
        got[mark] = loaded.rows
    assert got[b""] == got[b"\xef\xbb\xbf"]


@pytest.mark.parametrize(("kind", "record", "said"), [
    ("number", '"output": {"answer": true}', "reference does not fit type 'number': True is not a number"),
    ("labels", '"output": {"answer": ["cat", false]}', "expected a list of labels"),
    ("choice", '"input": {"options": ["x", "y", "z", "w"]}, "output": {"answer": "(e)"}',
     "answer 'E' is past the 4 options in 'input.options'"),
])
def test_a_reference_no_answer_can_match_is_refused_with_its_instance(loader, monkeypatch: pytest.MonkeyPatch,
                                                                      kind: str, record: str, said: str) -> None:
    """true read as the number 1.0 or the label 'False', and a letter naming no option (E of four, which no
    answer can ever match), were stored without a word: references that do not fit their type."""
    root, task, types = loader
    good = '{"id": "a", "input": {"options": ["x", "y"]}, "output": {"answer": ' + \
        {"number": "3", "labels": '["cat"]', "choice": '"B"'}[kind] + "}}"
    text = _doc(good, '{"id": "b", ' + record + "}")
    for rows, problems in _raw_both_ways(root, task, types, dataset(kind), text, monkeypatch):
        assert rows is None and len(problems) == 1, problems
        assert problems[0][0].endswith("annotation.json instance 'b'") and said in problems[0][1], problems


@pytest.mark.parametrize("where", ["input", "reference", "id", "header"])
def test_nesting_past_the_recursion_limit_is_one_problem(loader, monkeypatch: pytest.MonkeyPatch, where: str) -> None:
    """A thousand levels of lists parse (orjson reads 1,024) and then overflow Python's recursion limit in a
    repr or in the JSON text: a RecursionError stopped the whole run. One problem for the file instead."""
    root, task, types = loader
    deep = "[" * 1000 + "]" * 1000
    record = {"input": f'{{"id": "a", "input": {{"x": {deep}}}, "output": {{"answer": "x"}}}}',
              "reference": f'{{"id": "a", "input": {{}}, "output": {{"answer": {deep}}}}}',
              "id": f'{{"id": {deep}, "input": {{}}, "output": {{"answer": "x"}}}}',
              "header": '{"id": "a", "input": {}, "output": {"answer": "x"}}'}[where]
    text = _doc(record) if where != "header" else '{"type": ' + deep + ', "data": [' + record + "]}"
    for rows, problems in _raw_both_ways(root, task, types, dataset("text"), text, monkeypatch):
        if where == "header":  # this task has no declared type: the header is not read, the records load
            assert rows is not None and problems == []
            continue
        assert rows is None and len(problems) == 1, problems
        assert problems[0][0].endswith("annotation.json") or "record 1" in problems[0][0]


def test_a_missing_media_path_is_echoed_escaped(loader, monkeypatch: pytest.MonkeyPatch) -> None:
    root, task, types = loader
    doc = {"data": [{"id": "a", "input": {"image": "img/\x1b]0;pwned\x07.png"}, "output": {"answer": "x"}}]}
    for rows, problems in both_ways(root, task, types, dataset("text"), doc, monkeypatch):
        assert rows is None and len(problems) == 1
        assert "missing media file 'img/\\x1b]0;pwned\\x07.png'" in problems[0][1]
        assert "\x1b" not in problems[0][1]


def test_a_data_file_that_is_no_regular_file_is_never_read(tmp_path: Path) -> None:
    """A FIFO would block every read, a device never end: FileVersions refuses them unopened for data."""
    import os

    fifo = tmp_path / "annotation.json"
    os.mkfifo(fifo)
    with pytest.raises(OSError):
        datasets.FileVersions(tmp_path / "versions.json").read(fifo)


def test_nan_in_a_jsonl_line_is_refused_with_its_line(loader) -> None:
    root, task, types = loader
    f = root / "data" / "hyp" / "lines.jsonl"
    f.write_text('{"id": "a", "input": {}, "output": "x"}\n{"id": "b", "input": {"n": Infinity}, "output": "y"}\n')
    ds = DatasetSpec(format="jsonl", path="data/hyp/lines.jsonl", reference="text")
    t = task.__class__(task.spec.model_copy(update={"dataset": ds}), task.metric, task.path)
    problems: list = []
    assert datasets.load_task(root, t, problems, "fp", types) is None
    assert [(p.where, p.message) for p in problems] == [(f"{f}:2", "bad JSON: Infinity is not JSON (write a number, "
                                                                  "or null for no value)")]


def test_options_given_as_a_dict_are_the_option_texts_the_prompt_letters(loader, monkeypatch: pytest.MonkeyPatch
                                                                         ) -> None:
    """Options as a dict keyed by letter ({"A": "cat", "B": "dog"}) were no options at all: the prompt
    lettered the keys ("A. A", "B. B") and an answer giving an option's text ("dog") matched nothing, nor
    was a letter past them refused. Now both read the values in the keys' order (Jinja's dictsort); a
    text is shown as it is, not one letter per character."""
    from glc.compiler.sandbox import shared_sandbox

    root, task, types = loader
    col = datasets.COLUMNS.index("ref_texts")
    opts = {"B": "dog", "a": "cat", "C": "bird"}
    doc = {"task": "t", "data": [{"id": "a", "input": {"options": opts}, "output": {"answer": "B"}},
                                 {"id": "b", "input": {"options": ["x", "y"]}, "output": {"answer": "A"}}]}
    for rows, problems in both_ways(root, task, types, dataset("choice"), doc, monkeypatch):
        assert problems == [] and [r[col] for r in rows] == [["B", "cat", "dog", "bird"], ["A", "x", "y"]]
    doc["data"][0]["output"]["answer"] = "D"  # past the dict's three options
    for rows, problems in both_ways(root, task, types, dataset("choice"), doc, monkeypatch):
        assert rows is None and "answer 'D' is past the 3 options" in problems[0][1], problems
    prompt = yaml.safe_load((REPO / "specs" / "task_types" / "multiple_choice.yaml").read_text())["prompt"]
    sandbox = shared_sandbox()

    def render(options: object) -> str:
        return sandbox.render(sandbox.from_string(prompt), {"input": {"question": "Q", "options": options}})
    assert render(opts) == render(["cat", "dog", "bird"]) == "Q\nA. cat\nB. dog\nC. bird\n" \
        "Answer with the letter of the correct option."
    assert render("cat, dog") == "Q\ncat, dog\nAnswer with the letter of the correct option."


def test_options_that_carry_their_own_letter_are_their_texts_without_it(loader, monkeypatch: pytest.MonkeyPatch
                                                                        ) -> None:
    """Many data sets write options with their letters (["A. cat", "B. dog"]): the texts the metric compares
    an answer with were "A. cat", "B. dog", so an answer giving an option's text ("dog") matched none ("b dog"
    once normalized) and scored 0. Options that each start with their own letter are read without it; a
    list where one does not (or a letter is not its own) is read as it is."""
    root, task, types = loader
    col = datasets.COLUMNS.index("ref_texts")
    records = [
        (["A. cat", "B. dog", "C. bird"], ["cat", "dog", "bird"]),
        (["(A) cat", "(b) dog"], ["cat", "dog"]),
        (["A) cat", "B: dog", "C、鸟", "（D）狗"], ["cat", "dog", "鸟", "狗"]),
        ({"A": "A. cat", "B": "B. dog"}, ["cat", "dog"]),
        (["A. Lincoln", "George Washington"], ["A. Lincoln", "George Washington"]),  # the second has no letter
        (["B. cat", "A. dog"], ["B. cat", "A. dog"]),  # letters, but not their own
        (["A.", "B."], ["A.", "B."]),  # nothing after the letters: they are the texts
        (["A. cat"], ["A. cat"]),  # one option alone
    ]
    doc = {"task": "t", "data": [{"id": f"r{i}", "input": {"options": opts}, "output": {"answer": "A"}}
                                 for i, (opts, _) in enumerate(records)]}
    for rows, problems in both_ways(root, task, types, dataset("choice"), doc, monkeypatch):
        assert problems == [] and [r[col] for r in rows] == [["A", *texts] for _, texts in records]


def test_choice_tasks_with_options_load_again_under_a_new_reading_of_the_options(tmp_path: Path) -> None:
    """The stored option texts of a choice task come from how its records were read: a change of that
    reading (CHOICE_OPTIONS_READ) must load such tasks again although their data files did not change
    (instances are reloaded by fingerprint); the fingerprints of other tasks stay as they were."""
    choice = dataset("choice")  # options_field: input.options
    text = dataset("text")
    before = {k: datasets._fingerprint(ds, "sha", tmp_path) for k, ds in (("choice", choice), ("text", text))}
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(datasets, "CHOICE_OPTIONS_READ", datasets.CHOICE_OPTIONS_READ + 1)
        after = {k: datasets._fingerprint(ds, "sha", tmp_path) for k, ds in (("choice", choice), ("text", text))}
    assert after["choice"] != before["choice"] and after["text"] == before["text"]


def test_a_question_with_more_options_than_letters_is_refused_with_its_instance(loader, monkeypatch: pytest.MonkeyPatch
                                                                               ) -> None:
    """Options are lettered A to Z: with 27 the prompt failed to render past Z ('str object has no element
    26'), which left the whole (model, task) job out with that message. The record is refused where it is."""
    root, task, types = loader
    doc = {"task": "t", "data": [{"id": "a", "input": {"options": ["x", "y"]}, "output": {"answer": "B"}},
                                 {"id": "b", "input": {"options": [f"o{i}" for i in range(27)]},
                                  "output": {"answer": "C"}}]}
    for rows, problems in both_ways(root, task, types, dataset("choice"), doc, monkeypatch):
        assert rows is None and len(problems) == 1, problems
        assert "instance 'b'" in problems[0][0] and "27 options in 'input.options'" in problems[0][1]
        assert "at most 26" in problems[0][1]
    doc["data"][1]["input"]["options"] = [f"o{i}" for i in range(26)]  # Z is the last letter: fine
    for rows, problems in both_ways(root, task, types, dataset("choice"), doc, monkeypatch):
        assert problems == [] and rows is not None and len(rows) == 2
