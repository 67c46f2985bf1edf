"""The local model's runtime in one run: llama.cpp's two configurations, prompt lookup, and a
cold ``rag ask`` against a warm answer, each with the CPU it was measured on.

Run from the repository root, alone on the machine (llama.cpp takes every core)::

    .venv/bin/python bench/runtime.py --quick     # 4 questions, about 10 minutes
    .venv/bin/python bench/runtime.py             # 10 questions
    .venv/bin/python bench/runtime.py --out bench/RESULTS.md   # also append the table there

What each row measures:

- **configurations**: the pipeline's prompts for the first evaluation questions, answered
  greedily with llama.cpp's weight repacking off (plain) and on (repacked), through our model
  process (``LlamaCppGenerator``) and through raw llama-cpp-python in this process
  (``create_chat_completion``) on the same file and prompts. Both start each question with the
  shared preamble in their cache, as in a chat: prompt speed is the new prompt tokens over the
  time to the first token, writing speed the answer tokens after the first over the time
  after it. Also the load time, and the choice rag.runtime makes from its own probe.
- **prompt lookup**: raw llama-cpp-python with ``LlamaPromptLookupDecoding`` (n-gram drafts
  from the prompt, checked by the model in one batch) against plain decoding, same prompts:
  how many answers are identical, and the speeds. Adopted only if every answer is identical
  and it writes faster (it is not: docs/runtime.md).
- **rag ask**: cold, a new ``rag ask`` process with the models, the index, the runtime choice
  and the saved preamble state on disk, from its start to its exit; cold without the saved
  preamble state (as before it existed); warm, the same question answered by a process that
  has answered another one first. The target: cold within 1.5 times warm.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from table import report

from rag import Settings
from rag.evaluation import load_questions
from rag.generation import Gate, LlamaCppGenerator
from rag.llama import load_llama
from rag.pipeline import Pipeline
from rag.runtime import machine
from rag.text import detect_language

Row = tuple[str, str, str, str]
ROWS: list[Row] = []
Messages = list[dict[str, str]]


def row(what: str, measure: str, value: str, target: str = "") -> None:
    ROWS.append((what, measure, value, target))
    print(f"  {what:<16} {measure:<58} {value:<34} {target}", file=sys.stderr, flush=True)


def timed(pieces: Iterator[Any]) -> tuple[float, float, int, str]:
    """Seconds to the first piece, seconds after it, pieces, and the text."""
    started = time.perf_counter()
    first = last = 0.0
    text: list[str] = []
    for piece in pieces:
        last = time.perf_counter() - started
        first = first or last
        text.append(piece if isinstance(piece, str) else "")
    return first, last - first, len(text), "".join(text)


def chat_pieces(llm: Any, messages: Messages, max_tokens: int) -> Iterator[str]:
    for chunk in llm.create_chat_completion(
        messages=messages, max_tokens=max_tokens, temperature=0.0, top_k=1, seed=0, stream=True
    ):
        if piece := chunk["choices"][0]["delta"].get("content"):
            yield piece


def shared_prefix(llm: Any, prompts: list[Messages], max_tokens: int) -> int:
    """The tokens two different prompts share in the cache: the preamble."""
    timed(chat_pieces(llm, prompts[0], max_tokens))
    first = llm.input_ids[: llm.n_tokens].tolist()
    timed(chat_pieces(llm, prompts[1], max_tokens))
    second = llm.input_ids[: llm.n_tokens].tolist()
    return next((i for i, (a, b) in enumerate(zip(first, second, strict=False)) if a != b), 0)


class Speeds:
    """Prompt and writing speeds over several answers (medians), and the answers' texts."""

    def __init__(self) -> None:
        self.prompt: list[float] = []
        self.writing: list[float] = []
        self.texts: list[str] = []

    def add(self, new_tokens: int, run: tuple[float, float, int, str]) -> None:
        first, after, pieces, text = run
        self.prompt.append(new_tokens / first)
        if pieces > 1 and after > 0:
            self.writing.append((pieces - 1) / after)
        self.texts.append(text)

    def __str__(self) -> str:
        return (
            f"prompt {statistics.median(self.prompt):.0f}, "
            f"writing {statistics.median(self.writing):.1f} tokens/s"
        )


def bench_configuration(
    path: Path,
    repack: bool,
    prompts: list[Messages],
    gates: list[Gate],
    home: Path,
    max_tokens: int,
) -> Speeds:
    """Ours and raw on the same prompts, alternating which goes first; returns raw's."""
    name = "repacked" if repack else "plain"
    started = time.perf_counter()
    llm = load_llama(path, repack=repack)
    raw_load = time.perf_counter() - started
    shared = shared_prefix(llm, prompts, max_tokens)
    ours = LlamaCppGenerator(path, home=home, repack="on" if repack else "off")
    ours_load = float(ours.info["load_s"])
    timed(ours.stream(prompts[0], max_tokens=max_tokens))  # its preamble, in its cache
    results = {"ours": Speeds(), "raw": Speeds()}
    for i, (messages, gate) in enumerate(zip(prompts, gates, strict=True)):
        order = ["raw", "ours"] if i % 2 else ["ours", "raw"]
        for who in order:
            if who == "raw":
                llm.n_tokens = min(llm.n_tokens, shared)  # back to the preamble, as in a chat
                run = timed(chat_pieces(llm, messages, max_tokens))
                results["raw"].add(llm.n_tokens - run[2] - shared, run)
            else:
                run = timed(ours.stream(messages, max_tokens=max_tokens, gate=gate))
                results["ours"].add(ours.usage.prompt_tokens - shared, run)
    ours.close()
    del llm
    row(name, "model load, ours (its own process) / raw", f"{ours_load:.1f} / {raw_load:.1f} s")
    row(name, f"ours, {len(prompts)} answers (medians)", str(results["ours"]))
    row(name, "raw llama-cpp-python, same prompts", str(results["raw"]))
    return results["raw"]


def bench_lookup(path: Path, repack: bool, prompts: list[Messages], plain: Speeds) -> None:
    from llama_cpp.llama_speculative import LlamaPromptLookupDecoding

    for drafted in (10, 3):
        # logits_all: the draft is checked against every position's logits (llama-cpp-python
        # 0.3.36 sizes its score table wrongly without it).
        llm = load_llama(
            path,
            repack=repack,
            draft_model=LlamaPromptLookupDecoding(num_pred_tokens=drafted),
            logits_all=True,
        )
        shared = shared_prefix(llm, prompts, 320)
        speeds = Speeds()
        for messages in prompts:
            llm.n_tokens = min(llm.n_tokens, shared)
            run = timed(chat_pieces(llm, messages, 320))
            speeds.add(llm.n_tokens - run[2] - shared, run)
        same = sum(a == b for a, b in zip(speeds.texts, plain.texts, strict=True))
        row(
            "prompt lookup",
            f"raw, {drafted} tokens drafted: answers identical to plain decoding",
            f"{same} of {len(prompts)}",
            "all",
        )
        row("prompt lookup", f"raw, {drafted} tokens drafted (against {plain})", str(speeds))
        del llm


def rag_ask(question: str, env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "rag.cli", "ask", question],
        env=env,
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - started


WARM = """
import sys, time
from rag import answer
answer(sys.argv[2])
started = time.perf_counter()
answer(sys.argv[1])
print(time.perf_counter() - started)
"""


def bench_rag_ask(question: str, other: str, home: Path, runs: int) -> None:
    env = {**os.environ, "RAG_HOME": str(home)}
    rag_ask(question, env)  # the index, the runtime choice and the preamble's state, once
    cold = [rag_ask(question, env) for _ in range(runs)]
    shutil.rmtree(home / "prefix", ignore_errors=True)
    unsaved = rag_ask(question, env)
    warm = []
    for _ in range(runs):
        done = subprocess.run(
            [sys.executable, "-c", WARM, question, other],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        warm.append(float(done.stdout.strip().splitlines()[-1]))
    median = {"cold": statistics.median(cold), "warm": statistics.median(warm)}
    row(
        "rag ask", f"cold: a new process, all on disk (median of {runs})", f"{median['cold']:.1f} s"
    )
    row("rag ask", "cold, without the saved preamble state (as before)", f"{unsaved:.1f} s")
    row("rag ask", f"warm: the same question, after another ({runs})", f"{median['warm']:.1f} s")
    row("rag ask", "cold / warm", f"{median['cold'] / median['warm']:.2f}", "<= 1.5")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="4 questions instead of 10")
    parser.add_argument("--out", type=Path, help="also append the table there")
    args = parser.parse_args()
    started = time.perf_counter()
    settings = Settings.from_env()
    questions = [q.question for q in load_questions()][: 4 if args.quick else 10]
    here = machine()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        # The models and the index, copied, so the cold runs find them on disk; the runtime
        # choice and the preamble's states start empty.
        shutil.copytree(settings.home_dir / "models", home / "models")
        pipeline = Pipeline(settings.replace(home=home))
        path = home / "models" / f"{settings.model}.gguf"
        contexts = [pipeline.context(q) for q in questions]
        prompts = [pipeline.messages(q, c) for q, c in zip(questions, contexts, strict=True)]
        gates = [
            pipeline.gate(detect_language(q), c) for q, c in zip(questions, contexts, strict=True)
        ]
        chooser = LlamaCppGenerator(path, home=home)  # rag.runtime's probe, as a first start
        system_info = str(chooser.info.get("system_info", ""))
        verdict = chooser.verdict
        chooser.close()
        if verdict is not None:
            for trial in verdict.trials.values():
                row("runtime choice", "probe: " + trial.config, trial.summary().split(": ", 1)[1])
            row("runtime choice", "chosen", f"{verdict.config}: {verdict.reason}")
        max_tokens = settings.max_new_tokens
        raw = {
            r: bench_configuration(path, r, prompts, gates, home, max_tokens) for r in (False, True)
        }
        chosen = verdict.repack if verdict else False
        bench_lookup(path, chosen, prompts, raw[chosen])
        bench_rag_ask(questions[0], questions[1], home, 2 if args.quick else 3)
    described = (
        f"Machine: {here.cpu} ({here.arch}), {here.cores} cores; CPU flags: "
        f"{' '.join(here.notable)}; llama.cpp build: {system_info}; {time.strftime('%Y-%m-%d')}."
    )
    report("what", ROWS, described, started, args.out)


if __name__ == "__main__":
    main()
