"""Compile time of the 699-task catalog and of a synthetic 10x catalog, against the time
plain ``yaml.safe_load`` (and libyaml's CSafeLoader) takes to read the same files.

Targets: compile <= 2 s for 699 tasks and <= 3x the YAML-loading floor.
Run: python benchmarks/bench_compile.py
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import drop_task_list_boards  # noqa: E402

sys.path.insert(0, str(REPO))
os.environ.setdefault("GLC_BENCHMARK", "general-bench")  # the 699-task catalog

from glc.compiler.plan import compile_project, write_artifacts  # noqa: E402


def make_project(dest: Path, copies: int) -> Path:
    shutil.copytree(REPO / "specs", dest / "specs")
    drop_task_list_boards(dest / "specs")  # synthetic task ids are not in the Quick Board's list
    shutil.copytree(REPO / "sql", dest / "sql")
    tasks = sorted((dest / "specs" / "tasks").rglob("*.yaml"))
    for k in range(1, copies):
        for path in tasks:
            text = path.read_text(encoding="utf-8")
            lines = []
            for line in text.splitlines():
                if line.startswith("id: "):
                    line = f"{line}_x{k}"
                elif line.startswith("name: "):
                    line = f"name: 'copy {k} of {line[6:].strip(chr(39))}'"
                lines.append(line)
            (path.parent / f"{path.stem}_x{k}.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return dest


def timed(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def yaml_floor(root: Path, loader) -> float:
    files = sorted((root / "specs").rglob("*.yaml"))

    def load() -> None:
        for f in files:
            yaml.load(f.read_bytes(), Loader=loader)
    return timed(load)


def main() -> None:
    print(f"{'catalog':>10} {'files':>6} {'compile s':>10} {'safe_load s':>12} {'CSafeLoader s':>14} "
          f"{'x safe_load':>12} {'x CSafe':>8}")
    for copies in (1, 10):
        with tempfile.TemporaryDirectory() as tmp:
            root = make_project(Path(tmp), copies)
            n = len(list((root / "specs").rglob("*.yaml")))

            def compile_once(root: Path = root) -> None:
                write_artifacts(compile_project(root), root / "target")
            c = timed(compile_once)
            floor_py = yaml_floor(root, yaml.SafeLoader)
            floor_c = yaml_floor(root, getattr(yaml, "CSafeLoader", yaml.SafeLoader))
            label = f"{699 * copies} tasks"
            print(f"{label:>10} {n:>6} {c:>10.3f} {floor_py:>12.3f} {floor_c:>14.3f} "
                  f"{c / floor_py:>12.2f} {c / floor_c:>8.2f}")
            if copies == 1:
                ok = c <= 2.0 and c <= 3 * floor_py
                print(f"target (699 tasks: <= 2 s and <= 3x yaml.safe_load): {'met' if ok else 'MISSED'}")


if __name__ == "__main__":
    main()
