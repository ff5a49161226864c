"""Property tests: the SQL level models agree with an independent Python reference.

Random catalogs (every modality has comprehension and generation tasks, plus NLP) with random
SoTAs and scores, including ties, missing scores, zeros on distance metrics and values that
saturate the normalization, and tasks without a SoTA yet, are built in DuckDB and compared with
tests/helpers/reference_levels.py: the levels, the level without ties and the counts they rest on.
"""

from __future__ import annotations

import pytest
from glc.compiler.plan import CompiledProject
from glc.compiler.resolve import Task
from glc.compiler.spec_models import TaskSpec
from helpers.examples import examples
from helpers.reference_levels import MODALITIES, RefTask, levels, reached, tie, wins
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from glc.engine.unit_tests import sandbox

RANGES = {"acc": (0.0, 100.0), "bleu1": (0.0, 100.0), "fid": (0.0, 400.0), "cd": (0.0, 0.01),
          "rmse": (0.0, 20.0), "psnr": (0.0, 60.0), "wer": (0.0, 150.0), "ms_ssim": (-1.0, 1.0),
          "mos": (1.0, 5.0)}
DISTANCES = {"fid", "cd", "rmse"}


@st.composite
def catalogs(draw):
    tasks = []
    for modality in MODALITIES:
        for paradigm in ("comprehension", "generation"):
            for i in range(draw(st.integers(1, 3))):
                tasks.append((f"{modality}.{paradigm[:3]}{i}", modality, paradigm))
    for i in range(draw(st.integers(1, 3))):
        tasks.append((f"nlp.t{i}", "nlp", "nlp"))
    out = []
    for task_id, modality, paradigm in tasks:
        metric = draw(st.sampled_from(sorted(RANGES)))
        lo, hi = RANGES[metric]
        # no subnormal numbers: the reference's 5e-324 / n underflows to 0 where DuckDB's sums keep a
        # residue near 1e-17, so a level the test reads as reached (> 0) is in one and not the other;
        # no metric gives such scores
        sota = draw(st.floats(lo if metric not in DISTANCES else 1e-6, hi, allow_nan=False, allow_subnormal=False))
        # a task past the first of its group may have no SoTA yet (every group keeps one with a SoTA)
        pending = not task_id.endswith(("0",)) and draw(st.sampled_from([False, False, False, True]))
        out.append(RefTask(task_id, modality, paradigm, metric, None if pending else sota))
    return out


@st.composite
def score_tables(draw, tasks):
    models = {}
    for m in range(draw(st.integers(1, 3))):
        scores = {}
        for t in tasks:
            lo, hi = RANGES[t.metric]
            kind = draw(st.sampled_from(["missing", "tie", "random", "random", "edge"]))
            if kind == "tie" and t.sota is not None:
                scores[t.task_id] = t.sota
            elif kind in ("random", "tie"):
                scores[t.task_id] = draw(st.floats(lo, hi, allow_nan=False, allow_subnormal=False))
            elif kind == "edge":  # 0 on a distance, a saturating tiny distance, or a range bound
                if t.metric in DISTANCES:
                    scores[t.task_id] = draw(st.sampled_from([0.0, (t.sota or 1.0) * 1.5, 1e-7]))
                else:
                    scores[t.task_id] = draw(st.sampled_from([lo, hi]))
        models[f"model_{m}"] = scores
    return models


def _run_sql(compiled: CompiledProject, tasks: list[RefTask], models: dict[str, dict[str, float]]):
    metrics = {m.name: m for m in compiled.project.metrics}
    given = [Task(TaskSpec.model_validate({"id": t.task_id, "name": t.task_id, "modality": t.modality,
                                           "paradigm": t.paradigm, "metric": t.metric,
                                           "sota": None if t.sota is None else {"value": t.sota}}),
                  metrics[t.metric], "test")
             for t in tasks]
    scores = [(m, tid, x, None, None, None, None, None, None) for m, s in models.items() for tid, x in s.items()]
    model_rows = [(m, None, None, None, None, None, None) for m in models]
    views = [f"level_scores__{lv.name}" for lv in compiled.project.variants]
    con = sandbox(compiled, given, scores, model_rows, ["level_scores", *views])
    try:
        rel = con.sql("SELECT * FROM level_scores WHERE scope = 'A'")
        got = {(r[0], r[1]): dict(zip(rel.columns, r, strict=True)) for r in rel.fetchall()}
        # level_scores computes every variant in one pass; each level_scores__<variant> view (what
        # `glc show` prints, through group_scores__ and part_scores__) must hold the same rows, every scope
        stored = sorted(con.execute("SELECT * FROM level_scores").fetchall(), key=repr)
        union = " UNION ALL ".join(f"SELECT * FROM {v}" for v in views)  # names of the shipped specs/levels
        by_view = sorted(con.execute(union).fetchall(), key=repr)
        assert len(stored) == len(by_view) > 0
        for a, b in zip(stored, by_view, strict=True):
            assert a[:3] == b[:3] and a[10:] == b[10:], (a, b)
            for x, y in zip(a[3:10], b[3:10], strict=True):  # last bits: the same sums, added in another order
                assert (x is None and y is None) or x == pytest.approx(y, abs=1e-12, rel=1e-12), (a, b)
        return got
    finally:
        con.close()


@settings(max_examples=examples(40), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_sql_levels_equal_reference(compiled: CompiledProject, data) -> None:
    tasks = data.draw(catalogs())
    models = data.draw(score_tables(tasks))
    got = _run_sql(compiled, tasks, models)
    for model, scores in models.items():
        for variant, kwargs in (("pooled", {}), ("strict", {"strict": True}), ("per_modality", {"per_modality": True})):
            want = levels(tasks, scores, **kwargs)
            row = got[(model, variant)]
            for key, value in want.items():
                assert row[key] == pytest.approx(value, abs=1e-9, rel=1e-12), (model, variant, key)
            assert row["level"] == reached(want), (model, variant)
            # the level without ties is the same reading with strictly-better wins
            alone = levels(tasks, scores, strict=True, per_modality=variant == "per_modality")
            assert row["level_without_ties"] == reached(alone), (model, variant)
            counted = [t for t in tasks if t.sota is not None]
            won = [t for t in counted if wins(t, scores.get(t.task_id), variant == "strict")]
            assert (row["n_tasks"], row["n_pending"]) == (len(counted), len(tasks) - len(counted))
            assert row["n_attempted"] == sum(t.task_id in scores for t in counted)
            assert (row["n_wins"], row["n_ties"]) == (len(won), sum(tie(t, scores[t.task_id]) for t in won))


def test_reference_itself_on_a_hand_example() -> None:
    """Guards the reference: one tie, one missing task, one distance win."""
    tasks = [RefTask("c1", m, "comprehension", "acc", 50.0) for m in MODALITIES] + \
            [RefTask("g1", "image", "generation", "fid", 20.0)] + \
            [RefTask(f"g{m}", m, "generation", "acc", 90.0) for m in MODALITIES[1:]] + \
            [RefTask("l1", "nlp", "nlp", "acc", 70.0)]
    tasks = [RefTask(f"{t.task_id}{i}", t.modality, t.paradigm, t.metric, t.sota) for i, t in enumerate(tasks)]
    scores = {tasks[0].task_id: 50.0, tasks[4].task_id: 0.0, tasks[-1].task_id: 70.0}
    got = levels(tasks, scores)
    assert got["s_c"] == pytest.approx(50 / 4)
    assert got["s_g"] == pytest.approx(100 / 4)
    assert got["level_4"] == pytest.approx(2 * 12.5 * 25 / 37.5)
    assert got["level_5"] == pytest.approx(got["level_4"] * 0.7)
    assert levels(tasks, scores, strict=True)["s_c"] == 0.0
