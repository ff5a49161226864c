"""``hf`` runner overhead: SmolLM2-135M-Instruct generating answers for the same prompts,
called directly with transformers vs through glc (runner + content keys + batched commits to
the DuckDB prediction store), in the same process, same batches, greedy decoding.

Prints both throughputs and the ratio. Target: glc's overhead <= 10 %.
Run: python benchmarks/bench_hf_runner.py [--prompts 48] [--new-tokens 16] [--repeats 2]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402
from glc.runners.hf import HFArgs, HFRunner  # noqa: E402

from glc.engine.store import connect, ensure_store  # noqa: E402
from glc.execute.inference import execute, plan_jobs  # noqa: E402
from glc.workspace import Workspace  # noqa: E402


def make_project(dest: Path, prompts: list[str], new_tokens: int) -> Path:
    for name in ("specs", "sql"):
        shutil.copytree(REPO / name, dest / name)
    shutil.copy(REPO / "profiles.yml", dest / "profiles.yml")
    for folder in ("models", "tasks/mini"):  # only the benchmark's own model and task
        shutil.rmtree(dest / "specs" / folder)
        (dest / "specs" / folder).mkdir()
    (dest / "specs" / "models" / "smol.yaml").write_text(json.dumps({
        "name": "smol", "revision": "1", "routes": [{"runner": "hf", "args": {
            "task": "text-generation", "model": "smollm2-135m-instruct", "batch_size": 8}}]}))
    data = dest / "data" / "bench.jsonl"
    data.parent.mkdir(parents=True)
    data.write_text("".join(json.dumps({"id": f"q{i:03d}", "input": {"text": p}, "output": "x"}) + "\n"
                            for i, p in enumerate(prompts)))
    (dest / "specs" / "tasks" / "mini" / "bench.yaml").write_text(json.dumps({
        "id": "mini.nlp.bench", "name": "Bench", "modality": "nlp", "paradigm": "nlp", "metric": "acc",
        "sota": {"value": 50}, "dataset": {"format": "jsonl", "path": "data/bench.jsonl", "reference": "label"},
        "inference": {"type": "qa", "prompt": "{{ input.text }}", "generation": {"max_new_tokens": new_tokens}}}))
    return dest


def direct(runner: HFRunner, prompts: list[str], new_tokens: int) -> list[str]:
    """Plain transformers: chat template, left-padded batches of 8, greedy generate, decode."""
    m = runner.load()
    tok, model = m["tokenizer"], m["model"]
    out = []
    for i in range(0, len(prompts), 8):
        texts = [tok.apply_chat_template([{"role": "user", "content": p}], tokenize=False, add_generation_prompt=True)
                 for p in prompts[i:i + 8]]
        enc = tok(texts, return_tensors="pt", padding=True, add_special_tokens=False)
        with torch.inference_mode():
            ids = model.generate(**enc, max_new_tokens=new_tokens, do_sample=False, temperature=None, top_p=None,
                                 top_k=None, pad_token_id=tok.pad_token_id)
        out += [t.strip() for t in tok.batch_decode(ids[:, enc["input_ids"].shape[1]:], skip_special_tokens=True)]
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--prompts", type=int, default=48)
    ap.add_argument("--new-tokens", type=int, default=16)
    ap.add_argument("--repeats", type=int, default=2)
    a = ap.parse_args()
    topics = json.loads("[" + ",".join((REPO / "data/mini/nlp/topic_classification.jsonl").read_text().split("\n")[:-1])
                        + "]")
    prompts = [f"Summarize in a few words: {r['input']['text']}" for r in topics]
    prompts = (prompts * (a.prompts // len(prompts) + 1))[:a.prompts]
    prompts = [f"{p} (#{i})" for i, p in enumerate(prompts)]  # distinct prompts, distinct keys
    runner = HFRunner(HFArgs(task="text-generation", model="smollm2-135m-instruct", batch_size=8), REPO)
    runner.load()
    direct(runner, prompts[:8], a.new_tokens)  # warm-up
    t_direct, t_glc = [], []
    for _ in range(a.repeats):
        t = time.perf_counter()
        expected = direct(runner, prompts, a.new_tokens)
        t_direct.append(time.perf_counter() - t)
        with tempfile.TemporaryDirectory() as tmp:
            root = make_project(Path(tmp) / "p", prompts, a.new_tokens)
            ws = Workspace(root, benchmark="mini")
            compiled = ws.compile()
            con = connect(ws.target)
            ensure_store(con)
            from glc.execute.datasets import sync_instances

            sync_instances(con, compiled.project)
            t = time.perf_counter()
            plan = plan_jobs(con, compiled.project, ws.target_dir)
            summary = execute(con, compiled.project, plan, ws.target_dir, runner_factory=lambda route: runner)
            t_glc.append(time.perf_counter() - t)
            got = dict(con.execute("SELECT instance_id, output FROM predictions").fetchall())
            con.close()
        assert summary.predicted == len(prompts) and not summary.failed
        same = sum(got[f"q{i:03d}"] == e for i, e in enumerate(expected))
    d, g = min(t_direct), min(t_glc)
    print(f"prompts={len(prompts)} new_tokens={a.new_tokens} batch=8 threads={torch.get_num_threads()}")
    print(f"direct transformers: {d:7.2f} s  {len(prompts) / d:6.2f} prompts/s")
    commits = len(prompts) // 8
    print(f"glc hf runner      : {g:7.2f} s  {len(prompts) / g:6.2f} prompts/s  (plan + run + {commits} commits)")
    print(f"overhead: {100 * (g / d - 1):+.1f} %  (target <= 10 %); identical answers: {same}/{len(prompts)}")


if __name__ == "__main__":
    main()
