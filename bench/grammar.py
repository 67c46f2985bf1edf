"""What a llama.cpp grammar costs: the pipeline's own prompts answered with and without a
grammar that forces the reply's form (issue 27's "constrained output" lever).

The grammar allows the refusal marker alone, the refusal phrase, or one to four sentences that
each end with citations of passages that exist (1 to k). It is applied by llama-cpp-python's
sampler, as ``create_chat_completion(grammar=...)`` does. Greedy decoding, the same model
object, each prompt answered once each way, alternating, so the machine's load weighs on
both alike. Run from the repository root, alone on the machine::

    .venv/bin/python bench/grammar.py --questions 6
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from rag import Settings
from rag.llama import load_llama
from rag.models import model_path
from rag.pipeline import Pipeline
from rag.refusals import REFUSALS


def citing(k: int) -> str:
    """The reply's form as GBNF: a sentence ends at ``.``, ``!`` or ``?`` followed by a space
    or the end (so "22.1" and "J.-C." stay inside one), and only after its citations."""
    refusals = "".join(f" | {json.dumps(r, ensure_ascii=False)}" for r in REFUSALS.values())
    numbers = " | ".join(f'"{n}"' for n in range(1, k + 1))
    return "\n".join(
        [
            f'root ::= "NONE"{refusals} | sentence (" " sentence){{0,3}}',
            'sentence ::= words " "? cite+ [.!?]?',
            r"words ::= ([^\[\]\n.!?] | [.!?] [^ \n\[\]])+",
            'cite ::= "[" n "]" | ", [" n "]" | " [" n "]"',
            f"n ::= {numbers}",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=6)
    parser.add_argument("--set", default="eval/questions.jsonl")
    args = parser.parse_args()
    from llama_cpp import LlamaGrammar

    settings = Settings()
    pipeline = Pipeline(settings)
    llm = load_llama(model_path(settings.model, settings.home_dir / "models"), repack=False)
    rows = [json.loads(line) for line in Path(args.set).read_text().splitlines() if line]
    per_token: dict[str, list[float]] = {"free": [], "grammar": []}
    same = 0
    for row in rows[: args.questions]:
        question = row["question"]
        passages = pipeline.context(question)
        messages = pipeline.messages(question, passages)
        replies = {}
        # The prompt read once first: both timings below are of writing alone.
        llm.create_chat_completion(messages=messages, max_tokens=1, temperature=0.0, top_k=1)
        grammar = LlamaGrammar.from_string(citing(len(passages)), verbose=False)
        for name in per_token:
            started = time.perf_counter()
            out = llm.create_chat_completion(
                messages=messages,
                max_tokens=settings.max_new_tokens,
                temperature=0.0,
                top_k=1,
                grammar=grammar if name == "grammar" else None,
            )
            seconds = time.perf_counter() - started
            tokens = max(1, out["usage"]["completion_tokens"])
            per_token[name].append(seconds / tokens)
            replies[name] = out["choices"][0]["message"]["content"].strip()
            print(f"{name:8s} {seconds:6.1f} s {tokens:3d} tokens  {replies[name][:80]!r}")
        same += replies["free"] == replies["grammar"]
    free, forced = (statistics.median(per_token[n]) for n in ("free", "grammar"))
    print(
        f"\nmedian s/token: free {free:.3f}, grammar {forced:.3f} ({forced / free:.1f}x);"
        f" same reply {same} of {len(per_token['free'])}"
    )


if __name__ == "__main__":
    main()
