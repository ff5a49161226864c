"""Replay a corpus of hostile inputs against glc, as a user would meet them, through the command line.

Each probe copies a small project whose store already holds imported scores and predictions,
plants one hostile input (a spec, a prompt, a dataset, a workbook, a CSV table, a prediction
file, a damaged database, a hostile OpenAI-compatible server on loopback, a flood of clients
against `glc serve`), runs the `glc` command a user would run, and checks:

* handled: the expected exit status, no Python traceback, the output names where the problem is;
* store unchanged: every table that the failed step must not touch holds the same rows as before
  (a content hash per table), and nothing outside the project was written;
* the probe's own check (e.g. a program the spec tried to start did not run).

Prints one line per probe, then: probes tried, handled with a located error, store unchanged,
defects. Target: every probe handled, nothing lost, no traceback.
Run: python benchmarks/bench_hostile.py [--only SUBSTRING]
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from http.client import HTTPConnection
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))
os.environ["GLC_BENCHMARK"] = "general-bench"

import duckdb  # noqa: E402
import yaml  # noqa: E402
from helpers import hostile_server  # noqa: E402
from helpers.metric_project import allow_command, model_spec, new_project, qa_task  # noqa: E402

C04 = REPO / "data" / "general-bench" / "examples" / "c04_sota_beater.xlsx"
TASK = "nlp.t_acc"
TASK_SPEC = Path("specs/tasks/test/nlp.t_acc.yaml")
ECHO = "import sys; print(sys.argv[1].split(':')[-1].strip())"
ECHO_ARGV = ["{{ python }}", "-c", ECHO, "{{ prompt }}"]
DB = Path("target/general-bench.duckdb")
RUN_TABLES = ("imported_scores", "imported_models", "instances")  # a run with failures may add predictions


@dataclass
class Probe:
    name: str
    group: str
    plant: Callable[[Path, Path], list[str]]  # (project, scratch) -> glc arguments to run
    exit: int
    where: list[str]  # the output must name these (file, line, row, instance, field ...)
    keep: tuple[str, ...] = ("*",)  # tables that must not change ("*": all)
    check: Callable[[Path, Path, str], str | None] | None = None  # -> a defect, or None
    server: str | None = None  # hostile server behaviour the probe's model talks to
    timeout_s: float = 120.0


@dataclass
class Outcome:
    probe: Probe
    code: int | None
    seconds: float
    traceback: bool
    located: bool
    store_unchanged: bool
    defects: list[str] = field(default_factory=list)


# --- the base project ------------------------------------------------------------------------


def glc(root: Path, args: list[str], timeout: float = 120.0) -> tuple[int | None, str, float]:
    t0 = time.perf_counter()
    try:
        done = subprocess.run([sys.executable, "-m", "glc", *args], cwd=root, capture_output=True, text=True,
                              timeout=timeout, env={**os.environ, "GLC_BENCHMARK": "general-bench"})
        return done.returncode, done.stdout + done.stderr, time.perf_counter() - t0
    except subprocess.TimeoutExpired as exc:
        out = (exc.stdout or b"").decode(errors="replace") + (exc.stderr or b"").decode(errors="replace")
        return None, out, time.perf_counter() - t0


def base_project(where: Path) -> Path:
    """A project with a 4-instance QA task, an echo model, the c04 workbook imported and one run done."""
    root = new_project(where, small=False)  # the example workbook names every catalog task
    qa_task(root, n=4)
    allow_command(root, ECHO_ARGV)
    model_spec(root, "echo", [{"runner": "command", "args": {"argv": ECHO_ARGV}}])
    for args in (["import", "scores", str(C04)], ["run"]):
        code, out, _ = glc(root, args)
        if code != 0:
            raise SystemExit(f"base project: glc {' '.join(args)} failed ({code}):\n{out[-2000:]}")
    return root


def digest(root: Path) -> dict[str, str]:
    """Table -> content hash of the store (or the whole file's hash when it does not open)."""
    path = root / DB
    if not path.exists():
        return {}
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error:
        return {"<file>": hashlib.sha256(path.read_bytes()).hexdigest()}
    try:
        tables = [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main'")
                  .fetchall()]
        return {t: str(con.execute(f'SELECT count(*), bit_xor(hash(x)) FROM "{t}" AS x').fetchone())  # noqa: S608
                for t in tables}
    except duckdb.Error:  # a damaged file that opens but cannot be read through
        return {"<file>": hashlib.sha256(path.read_bytes()).hexdigest()}
    finally:
        con.close()


# --- planting helpers ------------------------------------------------------------------------


def edit_task(root: Path, **changes: Any) -> None:
    spec = yaml.safe_load((root / TASK_SPEC).read_text())
    for key, value in changes.items():
        if key == "prompt":
            spec["inference"]["prompt"] = value
        else:
            spec["dataset"][key] = value
    (root / TASK_SPEC).write_text(yaml.safe_dump(spec, allow_unicode=True))


def write_spec(rel: str, text: str | bytes) -> Callable[[Path, Path], list[str]]:
    def plant(root: Path, scratch: Path) -> list[str]:
        path = root / "specs" / "tasks" / "test" / rel
        path.write_bytes(text if isinstance(text, bytes) else text.encode())
        return ["compile"]
    return plant


def bomb() -> str:
    lines = ["id: nlp.bomb", 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def sql_model(text: str) -> Callable[[Path, Path], list[str]]:
    def plant(root: Path, scratch: Path) -> list[str]:
        (root / "sql" / "models" / "leak.sql").write_text(text + "\n")
        return ["run"]
    return plant


def prompt(text: str) -> Callable[[Path, Path], list[str]]:
    def plant(root: Path, scratch: Path) -> list[str]:
        edit_task(root, prompt=text)
        return ["run"]
    return plant


def route(name: str, runner: str, args: dict[str, Any], allow: list[str] | None = None,
          before: Callable[[Path, Path], None] | None = None) -> Callable[[Path, Path], list[str]]:
    def plant(root: Path, scratch: Path) -> list[str]:
        if before is not None:
            before(root, scratch)
        if allow is not None:
            allow_command(root, allow)
        rendered = json.loads(json.dumps(args).replace("SCRATCH", str(scratch)))
        model_spec(root, name, [{"runner": runner, "args": rendered}])
        return ["run"]
    return plant


def evil_bin(root: Path, scratch: Path) -> None:
    (scratch / "evil").mkdir()
    (scratch / "evil" / "sitecustomize.py").write_text(f"open({str(scratch / 'pwned')!r}, 'w')\n")
    tool = scratch / "evil" / "mytool"
    tool.write_text(f"#!/bin/sh\ntouch {scratch / 'pwned'}\necho 1\n")
    tool.chmod(0o755)


def nothing_at(name: str) -> Callable[[Path, Path, str], str | None]:
    def check(root: Path, scratch: Path, out: str) -> str | None:
        return f"{name} was written" if (scratch / name).exists() else None
    return check


def dataset_file(rel: str, data: bytes, **changes: Any) -> Callable[[Path, Path], list[str]]:
    def plant(root: Path, scratch: Path) -> list[str]:
        (root / "data" / rel).write_bytes(data)
        edit_task(root, path=f"data/{rel}", **changes)
        return ["run"]
    return plant


def outside_dataset(root: Path, scratch: Path) -> list[str]:
    (scratch / "private.jsonl").write_text(json.dumps({"id": "x", "input": {"a": "1"}, "output": ["1"]}) + "\n")
    edit_task(root, path=str(scratch / "private.jsonl"))
    return ["run"]


def media(item: str, symlink: bool = False) -> Callable[[Path, Path], list[str]]:
    def plant(root: Path, scratch: Path) -> list[str]:
        (scratch / "secret.txt").write_text("secret")
        if symlink:
            (root / "data" / "link.txt").symlink_to(scratch / "secret.txt")
        value = item.replace("SCRATCH", str(scratch))
        rows = [{"id": f"q{i}", "input": {"a": str(i)}, "output": [str(i)], "file": value} for i in range(2)]
        (root / "data" / "media.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
        edit_task(root, path="data/media.jsonl", media=["file"])
        return ["run"]
    return plant


def workbook(change: Callable[[Path], None]) -> Callable[[Path, Path], list[str]]:
    def plant(root: Path, scratch: Path) -> list[str]:
        path = scratch / "scores.xlsx"
        shutil.copy(C04, path)
        change(path)
        return ["import", "scores", str(path)]
    return plant


def set_cell(value: Any) -> Callable[[Path], None]:
    def change(path: Path) -> None:
        import openpyxl

        wb = openpyxl.load_workbook(path)
        wb["NLP"]["E2"] = value
        wb.save(path)
    return change


def stale_dimension(path: Path) -> None:
    tmp = path.with_suffix(".tmp")
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename.startswith("xl/worksheets/sheet"):
                text = data.decode()
                start = text.find("<dimension ref=")
                end = text.find("/>", start)
                data = (text[:start] + '<dimension ref="A1:E3"' + text[end:]).encode()
            dst.writestr(item, data)
    tmp.replace(path)


def sheet_xml(edit: Callable[[bytes], bytes], pad_mb: int = 0) -> Callable[[Path], None]:
    """A change of the NLP sheet's XML (sheet1); ``pad_mb``: that many MB of white space after <sheetData>,
    a sheet that unpacks far past its compressed size (a zip bomb)."""
    def change(path: Path) -> None:
        tmp = path.with_suffix(".tmp")
        with zipfile.ZipFile(path) as src, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as dst:
            for item in src.infolist():
                data = src.read(item)
                if item.filename == "xl/worksheets/sheet1.xml":
                    data = edit(data)
                    if pad_mb:
                        with dst.open(item.filename, "w", force_zip64=True) as out:
                            head, _, tail = data.partition(b"<sheetData>")
                            out.write(head + b"<sheetData>")
                            for _ in range(pad_mb):
                                out.write(b" " * (1 << 20))
                            out.write(tail)
                        continue
                dst.writestr(item, data)
        tmp.replace(path)
    return change


def far_cell(cell: bytes) -> Callable[[bytes], bytes]:
    return lambda data: data.replace(b"</sheetData>", cell + b"</sheetData>", 1)


def parquet_rows(n: int) -> Callable[[Path, Path], list[str]]:
    """A Parquet score table of ``n`` repeated rows: a few hundred kilobytes for millions of rows."""
    def plant(root: Path, scratch: Path) -> list[str]:
        import pyarrow as pa
        import pyarrow.parquet as pq

        path = scratch / "rows.parquet"
        table = pa.table({"model": pa.array(["m"] * 1_000_000), "task": pa.array([TASK] * 1_000_000),
                          "score": pa.array([50.0] * 1_000_000)})
        with pq.ParquetWriter(path, table.schema, compression="zstd") as w:
            for _ in range(n // 1_000_000):
                w.write_table(table)
        return ["import", "scores", str(path)]
    return plant


def csv_scores(text: str | bytes, name: str = "scores.csv") -> Callable[[Path, Path], list[str]]:
    def plant(root: Path, scratch: Path) -> list[str]:
        (scratch / name).write_bytes(text if isinstance(text, bytes) else text.encode())
        return ["import", "scores", str(scratch / name)]
    return plant


def predictions(data: bytes) -> Callable[[Path, Path], list[str]]:
    def plant(root: Path, scratch: Path) -> list[str]:
        (scratch / "preds.jsonl").write_bytes(data)
        return ["import", "predictions", str(scratch / "preds.jsonl"), "--model", "imported"]
    return plant


def pred_line(iid: str, pred: str) -> str:
    return json.dumps({"model": "imported", "task": TASK, "id": iid, "prediction": pred})


def damage_db(kind: str) -> Callable[[Path, Path], list[str]]:
    def plant(root: Path, scratch: Path) -> list[str]:
        path = root / DB
        if kind == "empty":
            path.write_bytes(b"")
        elif kind == "garbage":
            path.write_bytes(b"not a database" * 500)
        else:
            with path.open("r+b") as fh:
                fh.truncate(path.stat().st_size // 2)
        return ["run"]
    return plant


def csv_model_stripped(root: Path, scratch: Path, out: str) -> str | None:
    con = duckdb.connect(str(root / DB), read_only=True)
    models = {r[0] for r in con.execute("SELECT model FROM imported_models").fetchall()}
    con.close()
    return None if models == {"SoTA-Beater-70B"} else f"models after import: {sorted(models)}"


def all_550_scores(root: Path, scratch: Path, out: str) -> str | None:
    return None if "550 scores" in out else "not every score of the workbook was imported"


def short_output(root: Path, scratch: Path, out: str) -> str | None:
    return None if len(out) < 20_000 else f"the error echoed {len(out):,} characters"


def report_escaped(root: Path, scratch: Path, out: str) -> str | None:
    page = (root / "target" / "general-bench" / "report" / "index.html").read_text(encoding="utf-8")
    payload = page.split('id="glc-data">', 1)[1].split("</script>", 1)[0]
    return None if "<" not in payload else "raw '<' inside the report's embedded data"


def hostile_names_report(root: Path, scratch: Path) -> list[str]:
    names = ["<!--<script>", "</script><script>document.title='pwned'</script>"]
    rows = ["model,task,score"] + [f'"{n.replace(chr(34), chr(34) * 2)}",nlp.t_acc,50' for n in names]
    (scratch / "names.csv").write_text("\n".join(rows) + "\n")
    code, out, _ = glc(root, ["import", "scores", str(scratch / "names.csv")])
    if code != 0:
        raise RuntimeError(out)
    glc(root, ["run"])
    return ["report"]


def server_route(**args: Any) -> Callable[[Path, Path], list[str]]:
    def plant(root: Path, scratch: Path) -> list[str]:
        base_url = (scratch / "base_url").read_text()
        model_spec(root, "remote", [{"runner": "openai", "args": {"base_url": base_url, "model": "m",
                                                                    "max_retries": 0, "timeout_s": 3, **args}}])
        return ["run"]
    return plant


def second_run_works(root: Path, scratch: Path, out: str) -> str | None:
    code, again, _ = glc(root, ["run"])
    return None if code == 0 and "Traceback" not in again else f"the next `glc run` exited {code}"


def unsent(root: Path, scratch: Path, out: str) -> str | None:
    calls = int((scratch / "calls").read_text()) if (scratch / "calls").exists() else 0
    return None if calls == 0 else f"{calls} request(s) reached the server"


# --- the corpus ------------------------------------------------------------------------------


def corpus() -> list[Probe]:
    run_keep = RUN_TABLES
    probes = [
        # specs and templates
        Probe("yaml alias bomb", "spec", write_spec("bomb.yaml", bomb()), 2, ["bomb.yaml:7", "alias"]),
        Probe("yaml recursive alias", "spec", write_spec("rec.yaml", "a: &a\n  b: *a\n"), 2, ["rec.yaml:1"]),
        Probe("yaml NUL bytes", "spec", write_spec("nul.yaml", b"id: x\x00\n"), 2, ["nul.yaml", "NUL"]),
        Probe("yaml not UTF-8", "spec", write_spec("latin.yaml", "name: caf\xe9\n".encode("latin-1")), 2,
              ["latin.yaml"]),
        Probe("prompt 7 ** 300000000", "spec", prompt("{{ 7 ** 300000000 }}"), 2, [str(TASK_SPEC), "'q0'"]),
        Probe("prompt x * 3000000", "spec", prompt("{{ input.a * 3000000 }}"), 2, [str(TASK_SPEC), "'q0'"]),
        Probe("prompt center(10**10)", "spec", prompt("{{ input.a | center(10**10) }}"), 2, [str(TASK_SPEC)]),
        Probe("prompt nested loops", "spec",
              prompt("{% for i in range(99999) %}{% for j in range(99999) %}{% endfor %}{% endfor %}"), 2,
              [str(TASK_SPEC), "longer than"]),
        Probe("prompt huge output", "spec", prompt("{% for i in range(99999) %}{{ 'x' * 999 }}{% endfor %}"), 2,
              [str(TASK_SPEC), "output passed"]),
        Probe("prompt syntax error", "spec", prompt("{% for x in %}"), 2, [str(TASK_SPEC), "syntax"]),
        Probe("prompt unknown filter", "spec", prompt("{{ input.a | shell }}"), 2, [str(TASK_SPEC), "'shell'"]),
        Probe("prompt reaches internals", "spec", prompt("{{ input.__class__.__mro__ }}"), 2, [str(TASK_SPEC)]),
        Probe("sql model reads a file", "spec", sql_model("SELECT content AS x FROM read_text('/etc/hostname')"), 2,
              ["file system operations are disabled"]),
        # programs
        Probe("env PYTHONPATH", "command", route("evil", "command", {"argv": ECHO_ARGV, "env": {
            "PYTHONPATH": "SCRATCH/evil"}}, before=evil_bin), 3, ["evil", "PYTHONPATH"], run_keep,
            nothing_at("pwned")),
        Probe("env PATH", "command", route("evil", "command", {"argv": ["mytool", "{{ prompt }}"], "env": {
            "PATH": "SCRATCH/evil"}}, allow=["mytool", "{{ prompt }}"], before=evil_bin), 3, ["evil", "PATH"],
            run_keep, nothing_at("pwned")),
        Probe("env LD_PRELOAD", "command", route("evil", "command", {"argv": ECHO_ARGV, "env": {
            "LD_PRELOAD": "SCRATCH/evil.so"}}), 3, ["evil", "LD_PRELOAD"], run_keep),
        Probe("program not allowed", "command", route("evil", "command", {"argv": ["touch", "SCRATCH/pwned"]}), 3,
              ["evil", "program not allowed"], run_keep, nothing_at("pwned")),
        Probe("allowed program, other output", "command", route("evil", "command", {
            "argv": ["flite", "-voice", "slt", "-t", "{{ prompt }}", "-o", "SCRATCH/pwned"]}), 3,
            ["evil", "program not allowed"], run_keep, nothing_at("pwned")),
        Probe("free argument is a path", "command", route("evil", "command", {
            "argv": ["flite", "-voice", "SCRATCH/pwned", "-t", "{{ prompt }}", "-o", "{{ output }}"]}), 3,
            ["evil", "may not name a path"], run_keep, nothing_at("pwned")),
        # paths and task data: the task sits out (exit 3: some task data did not load), the others run
        Probe("dataset path outside", "path", outside_dataset, 3, [TASK, "leads outside the project"], run_keep),
        Probe("media ../", "path", media("../../secret.txt"), 3, ["'q0'", "media field 'file'"], run_keep),
        Probe("media absolute", "path", media("SCRATCH/secret.txt"), 3, ["'q0'", "media field 'file'"], run_keep),
        Probe("media symlink out", "path", media("link.txt", symlink=True), 3, ["'q0'", "media field 'file'"],
              run_keep),
        Probe("dataset ragged CSV", "path", dataset_file("ragged.csv", b"id,input,output\na,x,y\nb,x,y,z\n",
                                                         format="csv"), 3, ["ragged.csv"], run_keep),
        Probe("dataset Latin-1 JSONL", "path", dataset_file("latin.jsonl", b'{"id": "a", "input": "caf\xe9", '
                                                            b'"output": ["x"]}\n'), 3, ["latin.jsonl:1", "UTF-8"],
              run_keep),
        Probe("dataset lone surrogate", "path", dataset_file("sur.jsonl", b'{"id": "a", "input": "\\ud800", '
                                                             b'"output": ["x"]}\n'), 3, ["sur.jsonl", "'a'",
                                                                                         "surrogate"], run_keep),
        Probe("dataset nested 1000 deep", "path", dataset_file("deep.jsonl", b'{"id": "a", "input": ' + b"[" * 1000
                                                               + b"]" * 1000 + b', "output": ["x"]}\n'), 3,
              ["deep.jsonl", "nested too deeply"], run_keep),
        Probe("dataset NaN", "path", dataset_file("nan.jsonl", b'{"id": "a", "input": {"n": NaN}, "output": ["x"]}\n'),
              3, ["nan.jsonl:1", "NaN is not JSON"], run_keep),
        # endpoints and secrets
        Probe("endpoint not allowed", "endpoint", route("far", "openai", {
            "base_url": "https://collector.invalid/v1", "model": "m"}), 3, ["far", "not allowed"], run_keep),
        Probe("api key not granted", "endpoint", server_route(api_key_env="HOME"), 3, ["remote", "$HOME"],
              run_keep, unsent, server="ok"),
    ]
    for behaviour, words in [("trickle_body:60", ["timed out"]), ("trickle_headers:60", ["timed out"]),
                             ("stall:60", ["timed out"]), ("retry_after:3600", ["429"]),
                             ("retry_after:nan", ["429"]), ("retry_after:-5", ["429"]),
                             ("deep_json", ["nested"]), ("redirect", ["redirect"]), ("huge:64", ["8 MiB"]),
                             ("huge_undeclared:64", ["8 MiB"]), ("gzip_bomb:64", ["8 MiB"]),
                             ("surrogate", ["surrogate"])]:
        probes.append(Probe(f"server {behaviour}", "server", server_route(max_backoff_s=0.5, max_retries=1), 3,
                            ["remote", TASK, "q0", *words], run_keep, second_run_works, server=behaviour,
                            timeout_s=90))
    probes += [
        # workbooks and tables
        Probe("workbook stale <dimension>", "workbook", workbook(stale_dimension), 0, ["550 scores"], (),
              all_550_scores),
        Probe("workbook uncached formula", "workbook", workbook(set_cell("=1+1")), 2, ["'NLP'", "row 2", "E"]),
        Probe("workbook 1e400", "workbook", workbook(set_cell("1e400")), 2, ["'NLP'", "row 2", "infinity"]),
        Probe("workbook 10 MB cell", "workbook", workbook(set_cell("9" * 10_000_000)), 2, ["'NLP'", "row 2"],
              check=short_output),
        Probe("workbook not a zip", "workbook", csv_scores("PK not really", "scores.xlsx"), 2, ["scores.xlsx"]),
        Probe("workbook zip bomb (300 MB sheet)", "workbook", workbook(sheet_xml(lambda d: d, pad_mb=300)), 2,
              ["'NLP'", "unpacks to"]),
        Probe("workbook row past Excel's last", "workbook", workbook(sheet_xml(far_cell(
            b'<row r="2000000000"><c r="A2000000000"><v>1</v></c></row>'))), 2, ["'NLP'", "past Excel's last row"]),
        Probe("workbook one far cell (XFD1048576)", "workbook", workbook(sheet_xml(far_cell(
            b'<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t></t></is></c></row>'))), 0, ["550 scores"],
              (), all_550_scores),
        Probe("workbook untyped inline string", "workbook", workbook(sheet_xml(
            lambda d: d.replace(b'<c r="E2" t="n"><v>67.89</v></c>', b'<c r="E2"><is><t>67.89</t></is></c>'))), 2,
              ["'NLP'", "E2", "inlineStr"]),
        Probe("parquet 6 M repeated rows", "table", parquet_rows(6_000_000), 2, ["rows.parquet", "rows"]),
        Probe("csv column twice", "table", csv_scores("model,task,score,score\nm,nlp.t_acc,5,6\n"), 2,
              ["scores.csv:1", "'score'"]),
        Probe("csv model name with ESC", "table", csv_scores("model,task,score\nE\x1b]0;pwned\x07,nlp.t_acc,5\n"), 2,
              ["scores.csv", "row 2", "control character"]),
        Probe("csv model name padded", "table", csv_scores("model,task,score\n SoTA-Beater-70B ,nlp.t_acc,50\n"),
              0, ["imported"], (), csv_model_stripped),
        Probe("csv 1e400", "table", csv_scores("model,task,score\nm,nlp.t_acc,1e400\n"), 2, ["scores.csv", "row"]),
        Probe("csv ragged", "table", csv_scores("model,task,score\nm,nlp.t_acc,5,6\n"), 2, ["scores.csv"]),
        Probe("csv not UTF-8", "table", csv_scores("model,task,score\ncaf\xe9,nlp.t_acc,5\n".encode("latin-1")),
              2, ["scores.csv"]),
        # prediction files
        Probe("predictions Latin-1", "predictions", predictions(pred_line("q0", "x").encode()[:-2] + b'\xe9"}\n'),
              2, ["preds.jsonl:1", "UTF-8"]),
        Probe("predictions lone surrogate", "predictions", predictions((pred_line("q0", "\ud800") + "\n").encode(
            "utf-8", "surrogatepass").replace(b"\xed\xa0\x80", b"\\ud800")), 2, ["preds.jsonl", "surrogate"]),
        Probe("predictions truncated line", "predictions", predictions((pred_line("q0", "1") + "\n"
                                                                        + pred_line("q1", "1")[:20]).encode()), 2,
              ["preds.jsonl:2"]),
        Probe("predictions not JSON", "predictions", predictions(b"\x89PNG\r\n\x1a\n" + b"\x00" * 100), 2,
              ["preds.jsonl"]),
        # the database
        Probe("database empty", "database", damage_db("empty"), 2, [str(DB), "damaged"]),
        Probe("database truncated", "database", damage_db("truncated"), 2, [str(DB), "damaged"]),
        Probe("database garbage", "database", damage_db("garbage"), 2, [str(DB), "damaged"]),
        # the report
        Probe("report hostile names", "report", hostile_names_report, 0, ["report"], (), report_escaped),
    ]
    return probes


# --- glc serve under a flood -------------------------------------------------------------------


def serve_probes() -> list[tuple[str, bool, str]]:
    """(probe, handled, detail): 40 concurrent clients and an over-long prompt against `glc serve --echo`."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "glc", "serve", "--echo", "--latency-ms", "50", "--port",
                             str(port), "--max-queue", "8"], cwd=REPO, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.2)
        statuses: list[int | str] = []
        lock = threading.Lock()

        def client(text: str) -> None:
            try:
                conn = HTTPConnection("127.0.0.1", port, timeout=30)
                body = json.dumps({"model": "echo", "messages": [{"role": "user", "content": text}]})
                conn.request("POST", "/v1/chat/completions", body, {"Content-Type": "application/json"})
                status: int | str = conn.getresponse().status
                conn.close()
            except OSError as exc:
                status = type(exc).__name__
            with lock:
                statuses.append(status)

        threads = [threading.Thread(target=client, args=(f"hello {i}",)) for i in range(40)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        flood = collections.Counter(statuses)
        flood_ok = sum(flood.values()) == 40 and set(flood) <= {200, 429}
        statuses.clear()
        client("word " * 20_000)
        long_ok = statuses == [413]
        return [("serve: 40 concurrent clients", flood_ok, "answers " + ", ".join(f"{n} x {s}" for s, n in
                                                                            sorted(flood.items(), key=str))),
                ("serve: 20k-word prompt", long_ok, f"status {statuses}")]
    finally:
        proc.terminate()
        proc.wait(10)


# --- running ---------------------------------------------------------------------------------


def run_probe(probe: Probe, base: Path, work: Path) -> Outcome:
    root, scratch = work / "project", work / "scratch"
    shutil.copytree(base, root, symlinks=True)
    scratch.mkdir()
    server = None
    if probe.server is not None:
        server = hostile_server.start(probe.server)
        (scratch / "base_url").write_text(server.base_url)
    try:
        args = probe.plant(root, scratch)
        before = digest(root)
        code, out, seconds = glc(root, args, probe.timeout_s)
        if server is not None:
            (scratch / "calls").write_text(str(sum(server.calls.values())))
    finally:
        if server is not None:
            server.stop()
    after = digest(root)
    keep = list(before) if probe.keep == ("*",) else [t for t in probe.keep if t in before]
    unchanged = all(after.get(t) == before.get(t) for t in keep)
    outcome = Outcome(probe, code, seconds, "Traceback" in out, all(w in out for w in probe.where), unchanged)
    if code is None:
        outcome.defects.append(f"no answer within {probe.timeout_s:g} s")
    elif code != probe.exit:
        outcome.defects.append(f"exit status {code}, expected {probe.exit}")
    if outcome.traceback:
        outcome.defects.append("printed a traceback")
    if not outcome.located:
        missing = [w for w in probe.where if w not in out]
        outcome.defects.append(f"output does not name {missing}: {out.strip()[-300:]!r}")
    if not unchanged:
        outcome.defects.append("the store changed: " + ", ".join(t for t in keep if after.get(t) != before.get(t)))
    if probe.check is not None and code is not None:
        problem = probe.check(root, scratch, out)
        if problem:
            outcome.defects.append(problem)
    return outcome


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", default="", help="run only probes whose name contains this")
    opts = ap.parse_args()
    probes = [p for p in corpus() if opts.only in p.name]
    with tempfile.TemporaryDirectory(prefix="glc-hostile-") as tmp:
        t0 = time.perf_counter()
        base = base_project(Path(tmp) / "base")
        print(f"base project ready in {time.perf_counter() - t0:.1f} s; {len(probes)} probes + 2 serve probes")
        outcomes = []
        for i, probe in enumerate(probes):
            work = Path(tmp) / f"probe{i:03d}"
            work.mkdir()
            try:
                o = run_probe(probe, base, work)
            except Exception as exc:  # noqa: BLE001 - a probe that cannot even be planted is a defect too
                o = Outcome(probe, None, 0.0, False, False, False, [f"probe crashed: {type(exc).__name__}: {exc}"])
            outcomes.append(o)
            mark = "ok " if not o.defects else "DEFECT"
            print(f"{mark:6} {probe.group:11} {probe.name:34} exit {o.code!s:>4} {o.seconds:6.1f} s"
                  + ("" if not o.defects else "  " + " | ".join(o.defects))[:400], flush=True)
            shutil.rmtree(work, ignore_errors=True)
        serve = serve_probes() if not opts.only or "serve" in opts.only else []
        for name, ok, detail in serve:
            print(f"{'ok ' if ok else 'DEFECT':6} {'serve':11} {name:34} {detail}")
    tried = len(outcomes) + len(serve)
    located = sum(1 for o in outcomes if o.located and not o.traceback and o.code == o.probe.exit)
    located += sum(1 for _, ok, _ in serve if ok)
    unchanged = sum(1 for o in outcomes if o.store_unchanged)
    defects = sum(1 for o in outcomes if o.defects) + sum(1 for _, ok, _ in serve if not ok)
    print(f"\nprobes tried: {tried}; handled with a located error (or the right result): {located}; "
          f"store unchanged: {unchanged} of {len(outcomes)}; defects: {defects}; "
          f"tracebacks: {sum(o.traceback for o in outcomes)}")
    print(f"target: every probe handled, nothing lost, no traceback: {'met' if defects == 0 else 'MISSED'}")


if __name__ == "__main__":
    main()
