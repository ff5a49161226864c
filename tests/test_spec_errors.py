"""Bad specs and templates: every error names file and line, says what to do, and all are
reported together; nothing is executed from YAML or templates."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from glc.compiler.errors import GlcError, SpecDeprecation, SpecErrors
from glc.compiler.plan import compile_project

TASK = "specs/tasks/nlp/commonsense_reasoning.yaml"


def _errors(project_dir: Path) -> str:
    with pytest.raises(GlcError) as err:
        compile_project(project_dir)
    return err.value.format()


def _edit(project_dir: Path, rel: str, old: str, new: str) -> None:
    path = project_dir / rel
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_malformed_yaml_names_file_and_line(project_dir: Path) -> None:
    _edit(project_dir, TASK, "metric: acc\n", "metric: [acc\n")
    msg = _errors(project_dir)
    assert f"{TASK}:" in msg and "invalid YAML" in msg
    line = int(msg.split(f"{TASK}:")[1].split(":")[0])
    assert line >= 7


def test_unknown_key_with_did_you_mean(project_dir: Path) -> None:
    _edit(project_dir, TASK, "metric: acc", "metrc: acc")
    msg = _errors(project_dir)
    assert f"{TASK}:7: unknown key 'metrc'" in msg
    assert "hint: did you mean 'metric'?" in msg
    assert f"{TASK}:2: missing required key 'metric'" in msg


def test_unknown_metric_with_did_you_mean(project_dir: Path) -> None:
    _edit(project_dir, TASK, "metric: acc", "metric: acc_")
    msg = _errors(project_dir)
    assert f"{TASK}:7: unknown metric 'acc_'" in msg
    assert "did you mean 'acc'?" in msg


def test_missing_sota(project_dir: Path) -> None:
    path = project_dir / TASK
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(line for line in lines if not line.startswith(("sota:", "  value:", "  source:"))))
    assert f"{TASK}:2: missing required key 'sota'" in _errors(project_dir)


def test_duplicate_task_id_names_both_files(project_dir: Path) -> None:
    other = project_dir / "specs/tasks/nlp/copy.yaml"
    other.write_text((project_dir / TASK).read_text().replace("name: Commonsense Reasoning", "name: Other"))
    msg = _errors(project_dir)
    assert "duplicate task id 'nlp.commonsense_reasoning'" in msg
    assert "specs/tasks/nlp/copy.yaml" in msg and TASK in msg


def test_duplicate_yaml_key(project_dir: Path) -> None:
    _edit(project_dir, TASK, "paradigm: nlp\n", "paradigm: nlp\nparadigm: nlp\n")
    assert f"{TASK}:7: duplicate key 'paradigm'" in _errors(project_dir)


def test_unknown_level_in_unit_test(project_dir: Path) -> None:
    _edit(project_dir, "specs/tests/level_rules.yaml", "where: {variant: strict, scope: A}",
          "where: {variant: strictt, scope: A}")
    msg = _errors(project_dir)
    assert "specs/tests/level_rules.yaml:" in msg and "unknown level 'strictt'" in msg
    assert "did you mean 'strict'?" in msg


def test_all_errors_reported_at_once(project_dir: Path) -> None:
    _edit(project_dir, TASK, "metric: acc", "metric: nope")
    _edit(project_dir, "specs/levels/strict.yaml", "win: strictly_better", "win: maybe")
    _edit(project_dir, "specs/metrics/fid.yaml", "threshold: 25", "threshold: -25")
    with pytest.raises(SpecErrors) as err:
        compile_project(project_dir)
    msg = err.value.format()
    assert msg.startswith("3 spec errors:")
    assert "specs/levels/strict.yaml:6: win: Input should be 'at_least' or 'strictly_better'" in msg
    assert "specs/metrics/fid.yaml:9: normalization.threshold: Input should be greater than 0" in msg
    assert f"{TASK}:7: unknown metric 'nope'" in msg


def test_python_tags_are_refused(project_dir: Path) -> None:
    _edit(project_dir, TASK, "metric: acc", "metric: !!python/object/apply:os.system ['touch /tmp/pwned']")
    msg = _errors(project_dir)
    assert "could not determine a constructor" in msg and f"{TASK}:7" in msg


def test_jinja_syntax_error_names_template_line(project_dir: Path) -> None:
    _edit(project_dir, "sql/models/task_scores.sql", "SELECT\n", "SELECT {% if %}\n")
    msg = _errors(project_dir)
    assert "sql/models/task_scores.sql:5: template syntax error" in msg


def test_jinja_undefined_name(project_dir: Path) -> None:
    _edit(project_dir, "sql/models/per_variant/task_wins.sql", "{{ variant.win }}", "{{ variant.wins }}")
    msg = _errors(project_dir)
    assert "sql/models/per_variant/task_wins.sql:3: template error" in msg and "wins" in msg


def test_unknown_materialization_names_template(project_dir: Path) -> None:
    _edit(project_dir, "sql/models/per_variant/task_wins.sql", "materialized='view'", "materialized='ephemeral'")
    msg = _errors(project_dir)
    assert "sql/models/per_variant/task_wins.sql" in msg
    assert "materialized must be 'table', 'view' or 'incremental' with partition_by" in msg


def test_jinja_sandbox_blocks_python_internals(project_dir: Path) -> None:
    _edit(project_dir, "sql/models/task_scores.sql", "SELECT\n",
          "SELECT {{ levels.__class__.__mro__ }}\n")
    assert "template error" in _errors(project_dir)


def test_unknown_column_in_template(project_dir: Path) -> None:
    _edit(project_dir, "sql/models/task_scores.sql", "t.task_name,", "t.task_nam,")
    msg = _errors(project_dir)
    assert "sql/models/task_scores.sql: model 'task_scores'" in msg and "task_nam" in msg


def test_custom_data_test_cannot_read_files(project_dir: Path) -> None:
    path = project_dir / "specs/tests/evil.yaml"
    path.write_text("data_tests:\n  - name: evil\n    type: sql\n    model: tasks\n"
                    "    sql: SELECT * FROM read_csv('/etc/passwd')\n")
    msg = _errors(project_dir)
    assert "specs/tests/evil.yaml:2: data test 'evil'" in msg and "not a project table" in msg


def test_unknown_data_test_column(project_dir: Path) -> None:
    path = project_dir / "specs/tests/more.yaml"
    path.write_text("data_tests:\n  - name: x\n    type: not_null\n    model: tasks\n    columns: [sotaa]\n")
    msg = _errors(project_dir)
    assert "specs/tests/more.yaml:2: data test 'x': unknown column(s) sotaa" in msg and "'sota'" in msg


def test_cli_reports_error_and_exits_nonzero(project_dir: Path) -> None:
    _edit(project_dir, TASK, "metric: acc", "metric: acuracy")
    proc = subprocess.run([sys.executable, "-m", "glc", "--project-dir", str(project_dir), "compile"],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.startswith("Error: 1 spec error:")
    assert f"{TASK}:7: unknown metric 'acuracy'" in proc.stderr
    assert not (project_dir / "target" / "manifest.json").exists()


def test_unknown_metric_macro(project_dir: Path) -> None:
    _edit(project_dir, "specs/metrics/acc.yaml", "macro: accuracy", "macro: acuracy")
    msg = _errors(project_dir)
    assert "specs/metrics/acc.yaml:14: unknown metric macro 'acuracy'" in msg and "did you mean 'accuracy'?" in msg


def test_unknown_udf_in_macro(project_dir: Path) -> None:
    _edit(project_dir, "sql/macros/metrics/rouge.sql", "glc_rouge_l(", "glc_rouge_x(")
    msg = _errors(project_dir)
    assert "model 'instance_scores__rouge_l' calls unknown function(s) ['glc_rouge_x']" in msg
    assert "did you mean 'glc_rouge_l'?" in msg


def test_bad_dataset_section(project_dir: Path) -> None:
    path = project_dir / TASK
    path.write_text(path.read_text() + "dataset:\n  format: hdf5\n  path: x\n  reference: text\n")
    msg = _errors(project_dir)
    assert f"{TASK}:18: dataset.format: Input should be 'general_bench', 'jsonl', 'parquet' or 'csv'" in msg


def test_benchmark_selection_errors(project_dir: Path, monkeypatch) -> None:
    with pytest.raises(SpecErrors) as info:
        compile_project(project_dir, benchmark="mni")
    assert "unknown benchmark 'mni'" in str(info.value) and "did you mean 'mini'" in str(info.value)
    _edit(project_dir, "specs/benchmarks/general-bench.yaml", "tasks: [3d, audio, image, nlp, video]",
          "tasks: [3d, audio, image, nlp, vidoe]")
    assert "specs/benchmarks/general-bench.yaml:11: no task folder specs/tasks/vidoe" in _errors(project_dir)
    _edit(project_dir, "specs/benchmarks/mini.yaml", "default: true", "default: false")
    monkeypatch.delenv("GLC_BENCHMARK")
    with pytest.raises(SpecErrors, match="no benchmark is marked default"):
        compile_project(project_dir)


LEVEL = "specs/levels/per_modality.yaml"


def test_old_level_key_partition_still_works_with_a_deprecation_warning(project_dir: Path) -> None:
    """`partition:` was renamed `group_by:` (docs/glossary.md); for one release the old key
    compiles to the same SQL, with a warning naming the file, line and both keys."""
    want = compile_project(project_dir).node("level_scores__per_modality").sql
    _edit(project_dir, LEVEL, "group_by: modality", "partition: modality")
    with pytest.warns(SpecDeprecation) as caught:
        got = compile_project(project_dir).node("level_scores__per_modality").sql
    assert got == want
    msgs = [str(w.message) for w in caught]
    assert [m for m in msgs if m.startswith(f"{LEVEL}:9: key 'partition' is deprecated")], msgs
    assert "rename it to 'group_by'" in msgs[0]
    for _ in range(2):  # the CLI shows it as one line, and again on the next compile (never read from the cache)
        proc = subprocess.run([sys.executable, "-m", "glc", "--project-dir", str(project_dir), "compile"],
                              capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        assert proc.stderr.startswith(f"Warning: {LEVEL}:9: key 'partition' is deprecated"), proc.stderr


def test_old_and_new_level_key_together_is_an_error(project_dir: Path) -> None:
    _edit(project_dir, LEVEL, "group_by: modality", "group_by: modality\npartition: none")
    msg = _errors(project_dir)
    assert f"{LEVEL}:10: 'partition' is the old name of 'group_by', and both are given" in msg
    assert "hint: remove 'partition' and keep 'group_by'" in msg


def test_old_level_key_with_a_bad_value_points_at_its_line(project_dir: Path) -> None:
    _edit(project_dir, LEVEL, "group_by: modality", "partition: sideways")
    with pytest.warns(SpecDeprecation):
        msg = _errors(project_dir)
    assert f"{LEVEL}:9: group_by: Input should be 'none' or 'modality'" in msg
