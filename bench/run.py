"""One benchmark, one table: indexing, retrieval at scale, generation against the raw runtime,
and whole answers on the evaluation questions, all measured in the same run.

Run from the repository root, alone on the machine (llama.cpp takes every core; anything else
running slows it several times)::

    .venv/bin/python bench/run.py --quick      # a few minutes: 100k chunks at most, 4 + 6 questions
    .venv/bin/python bench/run.py              # 1M chunks, 12 + all 90 questions (~20 min)
    .venv/bin/python bench/run.py --out bench/RESULTS.md   # also append the table there

What each row measures, and how:

- **indexing**: a full build of the built-in articles through ``rag.index.update_index``
  (chunks and their sentence units), against the same embedder's ``embed_passages`` on the
  same texts in the same batches (the raw throughput); and the build without sentence
  vectors. Then one new article added to an index of 10,000 chunks: that index
  is built with a stand-in embedder (same name and size, random vectors) so setting it up
  takes seconds, and the addition runs the real embedder on the new article only.
- **retrieval**: synthetic vectors shaped like the index's (see ``bench/retrieval.py``), in the
  project's own ``VectorIndex``: exact, and the HNSW graph the index switches to above
  ``Settings.approximate_above``; one query at a time, k=20; recall@10 against exact.
  The keyword (BM25) half of hybrid retrieval on synthetic chunks cut from the articles:
  built and saved as indexing does, then loaded (memory-mapped) as a new process does.
  "sources" is the time from a question to the passages the page shows (retrieval plus the
  sentence focus), with the sentence vectors embedded on the spot, read from the index
  (``Settings.index_sentences``, the default), and kept in memory (``rag.context.SentenceVectors``).
- **generation**: the pipeline's own prompts for the first questions of the evaluation set,
  through our generator and through ``llama_cpp.Llama.create_chat_completion`` called directly
  on the same model object and messages; before each call the KV cache is cut back to the
  shared preamble, so both start from the state a running chat is in. Also once with the cache
  emptied (what the cached preamble saves).
- **end to end**: a fresh process runs ``rag.answer`` on the evaluation questions: cold start
  (process start to the first answer, with the models assembled and the index built, as on a
  second launch), seconds per answer p50/p95 (the first excluded), and peak memory (RSS).
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import retrieval as synthetic
from table import report

from rag import Settings
from rag.chunking import chunk_document, sentence_units
from rag.context import SentenceVectors
from rag.documents import load_documents
from rag.embeddings import Embedder
from rag.evaluation import load_questions
from rag.generation import Gate, LlamaCppGenerator
from rag.index import EMBED_BATCH, VectorIndex, update_index
from rag.keywords import KeywordIndex
from rag.llama import load_llama
from rag.pipeline import BUILTIN_CORPUS, Pipeline
from rag.text import detect_language
from rag.types import Chunk

Row = tuple[str, str, str, str]  # stage, measure, value, target
ROWS: list[Row] = []


def row(stage: str, measure: str, value: str, target: str = "") -> None:
    ROWS.append((stage, measure, value, target))
    print(f"  {stage:<11} {measure:<62} {value:<30} {target}", file=sys.stderr, flush=True)


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


# -- indexing ------------------------------------------------------------------------------
class StandIn(Embedder):
    """Random unit vectors under the real embedder's name and size: builds a large index in
    seconds, which the real embedder then extends as if it had built it."""

    def __init__(self, real: Embedder) -> None:
        self.name, self.dim = real.name, real.dim
        self._rng = np.random.default_rng(0)

    def embed_passages(self, texts: Any) -> np.ndarray:
        v = self._rng.standard_normal((len(texts), self.dim)).astype(np.float32)
        return v / np.linalg.norm(v, axis=1, keepdims=True)


def bench_indexing(pipeline: Pipeline, work: Path) -> None:
    s, embedder = pipeline.settings, pipeline.embedder
    documents = load_documents(BUILTIN_CORPUS)
    # One-off costs are not throughput: the embedder's first call, and importing the
    # splitter (0.5 s) and bm25s (0.7 s, with scipy), paid by the first build of a process.
    embedder.embed_passages(["échauffement"] * 4)
    chunk_document(documents[0], size=s.chunk_size, overlap=s.chunk_overlap)
    KeywordIndex([])
    t = time.perf_counter()
    store, stats = update_index(
        work / "full", documents, embedder, chunk_size=s.chunk_size, chunk_overlap=s.chunk_overlap
    )
    built = time.perf_counter() - t
    t = time.perf_counter()
    update_index(
        work / "plain",
        documents,
        embedder,
        chunk_size=s.chunk_size,
        chunk_overlap=s.chunk_overlap,
        sentences=False,
    )
    plain = time.perf_counter() - t
    chunks = [c.text for c in store.chunks]
    units = [c.text[a:b] for c in store.chunks for a, b in sentence_units(c)]
    t = time.perf_counter()
    for texts in (chunks, units):  # the batches update_index sends
        for i in range(0, len(texts), EMBED_BATCH):
            embedder.embed_passages(texts[i : i + EMBED_BATCH])
    raw = time.perf_counter() - t
    t = time.perf_counter()
    for text in chunks + units:
        embedder.embed_passages([text])
    one_by_one = time.perf_counter() - t
    n = len(chunks) + len(units)
    row(
        "indexing",
        f"full build, {len(chunks)} chunks + {stats.embedded_sentences} sentence units "
        "of the built-in articles",
        f"{n / built:.2f} texts/s ({built:.1f} s)",
    )
    row("indexing", "embedder alone, same texts and batches", f"{n / raw:.2f} texts/s")
    row("indexing", "build throughput / embedder throughput", f"{raw / built:.0%}", ">= 90 %")
    row(
        "indexing",
        f"embedder alone, one text per call (batches of {EMBED_BATCH} above)",
        f"{n / one_by_one:.2f} texts/s",
    )
    row(
        "indexing",
        "full build without sentence vectors (Settings.index_sentences=False)",
        f"{plain:.1f} s ({len(chunks) / plain:.2f} chunks/s)",
    )

    # 10,000 chunks of article text, shuffled into documents, under a stand-in embedder.
    sentences = [x for d in documents for x in d.text.split(". ") if len(x) > 40]
    rng = np.random.default_rng(1)
    corpus = work / "big"
    corpus.mkdir()

    def write(i: int) -> None:
        text = ". ".join(sentences[j] for j in rng.choice(len(sentences), 60)) + "."
        (corpus / f"doc{i:04d}.txt").write_text(f"Document {i}.\n\n{text}", encoding="utf-8")

    write(0)
    sample = load_documents(corpus)[0]
    per_doc = len(chunk_document(sample, size=s.chunk_size, overlap=s.chunk_overlap))
    for i in range(1, -(-10_000 // per_doc)):
        write(i)
    big, _ = update_index(
        work / "bigidx",
        load_documents(corpus),
        StandIn(embedder),
        chunk_size=s.chunk_size,
        chunk_overlap=s.chunk_overlap,
    )
    (corpus / "new-article.txt").write_text(documents[0].text, encoding="utf-8")
    t = time.perf_counter()
    _, added = update_index(
        work / "bigidx",
        load_documents(corpus),
        embedder,
        chunk_size=s.chunk_size,
        chunk_overlap=s.chunk_overlap,
    )
    secs = time.perf_counter() - t
    row(
        "indexing",
        f"add one article ({added.embedded_chunks} chunks) to an index of {len(big.chunks):,}",
        f"{secs:.2f} s ({added.embedded_chunks} chunks, {added.embedded_sentences} sentences "
        "embedded)",
    )


# -- retrieval -----------------------------------------------------------------------------
def bench_retrieval(sizes: list[int], n_queries: int, approximate_above: int) -> None:

    rng = np.random.default_rng(synthetic.SEED)
    centres, bases = synthetic.make_mixture(rng)
    queries = synthetic.make_vectors(n_queries, centres, bases, rng)
    for n in sizes:
        data = synthetic.make_vectors(n, centres, bases, rng)
        truth = None
        for structure in ("flat", "hnsw"):
            index = VectorIndex.for_size(
                synthetic.DIM, n, approximate_above=0 if structure == "hnsw" else n
            )
            t = time.perf_counter()
            index.add(data)
            build = time.perf_counter() - t
            # VectorIndex.search takes what faiss's does: one timing loop for both scripts.
            p50, p95, found = synthetic.time_queries(index, queries)
            truth = found if truth is None else truth
            recall = synthetic.recall_at_10(found, truth)
            size = synthetic.bytes_per_chunk(index._index)
            auto = (
                " (the tool's choice)" if (n > approximate_above) == (structure == "hnsw") else ""
            )
            target = "p95 <= 50 ms, recall@10 >= 0.95" if n >= 1_000_000 else ""
            row(
                "retrieval",
                f"{n:>9,} chunks, {structure}{auto}: build {build:.1f} s, {size:,.0f} bytes/chunk",
                f"p50 {p50:.2f} ms, p95 {p95:.2f} ms, recall@10 {recall:.3f}",
                target,
            )
            del index
        del data


def synthetic_chunks(n: int, seed: int = 0) -> list[Chunk]:
    """``n`` chunks of 60-110 words cut from the built-in articles, each with one word of its
    own, so BM25's vocabulary grows with the collection as real text's does."""
    rng = random.Random(seed)
    words = [w for d in load_documents(BUILTIN_CORPUS) for w in d.text.split()]
    chunks = []
    for i in range(n):
        k = rng.randint(60, 110)
        start = rng.randrange(len(words) - k)
        picked = words[start : start + k]
        picked[rng.randrange(k)] = f"mot{rng.randrange(n)}"
        text = " ".join(picked)
        chunks.append(Chunk(f"d{i}#0", f"d{i}", f"d{i}", "", text, 0, len(text)))
    return chunks


def bench_keywords(sizes: list[int], questions: list[str], work: Path) -> None:
    # The keyword half of hybrid retrieval (the default): BM25 is built when indexing and
    # saved with the index; a process maps it rather than building it at its first question.
    for n in sizes:
        chunks = synthetic_chunks(n)
        t = time.perf_counter()
        built = KeywordIndex(chunks)
        build = time.perf_counter() - t
        folder = work / f"keywords-{n}"
        built.save(folder)
        del built
        disk = sum(f.stat().st_size for f in folder.iterdir()) / 1e6
        t = time.perf_counter()
        loaded = KeywordIndex.load(folder, chunks)
        load = time.perf_counter() - t
        times = []
        for q in questions:
            t = time.perf_counter()
            loaded.search(q, 20)
            times.append(time.perf_counter() - t)
        row(
            "retrieval",
            f"{n:>9,} chunks, keyword (BM25): built when indexing in {build:.1f} s, "
            f"{disk:.0f} MB on disk",
            f"loaded (mapped) in {load:.2f} s; p50 {1000 * pct(times, 50):.2f} ms, "
            f"p95 {1000 * pct(times, 95):.2f} ms",
        )


def bench_sources(pipeline: Pipeline, questions: list[str]) -> None:
    # Three ways to the sentence vectors: embedded on the spot (the first time a chunk is
    # retrieved, with Settings.index_sentences off), read from the index (the default, first
    # time or not), and kept in memory from an earlier question.
    ways: dict[str, list[float]] = {"embedded": [], "from the index": [], "kept": []}
    for q in questions:
        for way, times in ways.items():
            cache = SentenceVectors(pipeline.embedder)
            if way == "kept":
                pipeline.choose(q, pipeline.candidates(q), cache=cache, stored=False)  # fill it
            t = time.perf_counter()
            pipeline.choose(q, pipeline.candidates(q), cache=cache, stored=way == "from the index")
            times.append(time.perf_counter() - t)
    for way, times in ways.items():
        row(
            "sources",
            f"question to passages, sentence vectors {way} (p50 / p95)",
            f"{pct(times, 50):.3f} / {pct(times, 95):.3f} s",
            "<= 0.3 s",
        )


# -- generation ----------------------------------------------------------------------------
def timed(pieces: Any) -> tuple[float, float, int]:
    """Seconds to the first piece, decode tokens/s after it, and the pieces counted."""
    t0 = time.perf_counter()
    first = last = 0.0
    n = 0
    for _ in pieces:
        last = time.perf_counter() - t0
        first = first or last
        n += 1
    return first, (n - 1) / (last - first) if n > 1 and last > first else float("nan"), n


def bench_generation(pipeline: Pipeline, questions: list[str]) -> None:
    s = pipeline.settings
    generator = pipeline.generator
    if not isinstance(generator, LlamaCppGenerator):
        row("generation", "skipped: the generator is not llama-cpp", "")
        return
    # The raw runtime: llama-cpp-python in this process, on the same file and configuration
    # as our model process (which holds its own copy of the model).
    llm = load_llama(
        generator.path,
        repack=bool(generator.info["repack"]),
        context_tokens=s.context_tokens,
        threads=s.threads,
    )
    contexts = [pipeline.context(q) for q in questions]
    prompts = [pipeline.messages(q, c) for q, c in zip(questions, contexts, strict=True)]
    # The gate the pipeline would use for each question (it depends on the languages).
    gates = [pipeline.gate(detect_language(q), c) for q, c in zip(questions, contexts, strict=True)]

    def ours(messages: list[dict[str, str]], gate: Gate) -> Any:
        return generator.stream(messages, max_tokens=s.max_new_tokens, gate=gate)

    def raw(messages: list[dict[str, str]]) -> Any:
        for chunk in llm.create_chat_completion(
            messages=messages,
            max_tokens=s.max_new_tokens,
            temperature=0.0,
            top_k=1,
            seed=s.seed,
            stream=True,
        ):
            if chunk["choices"][0]["delta"].get("content"):
                yield chunk

    # Two different questions leave the shared preamble as the common prefix of the cache:
    # our model process keeps it between questions by itself, the raw one is cut back to it.
    timed(raw(prompts[0]))
    first_ids = list(llm.input_ids[: llm.n_tokens])
    timed(raw(prompts[1 % len(prompts)]))
    shared = next(
        (
            i
            for i, (a, b) in enumerate(zip(first_ids, llm.input_ids[: llm.n_tokens], strict=False))
            if a != b
        ),
        0,
    )
    timed(ours(prompts[0], gates[0]))
    results: dict[str, list[tuple[float, float, int]]] = {"ours": [], "raw": []}
    new_tokens = []
    for i, (messages, gate) in enumerate(zip(prompts, gates, strict=True)):
        # Alternate which goes first: the machine's speed drifts by 10-20 % over minutes.
        runs: list[tuple[str, Callable[[list[dict[str, str]]], Any]]] = [
            ("raw", raw),
            ("ours", functools.partial(ours, gate=gate)),
        ]
        for name, run in runs[:: 1 if i % 2 else -1]:
            llm.n_tokens = min(llm.n_tokens, shared)  # back to the preamble, as in a chat
            results[name].append(timed(run(messages)))
            if name == "ours":
                new_tokens.append(generator.usage.prompt_tokens - shared)
    llm.reset()  # the whole prompt read again: what the saved preamble saves
    no_cache = timed(raw(prompts[0]))
    total = llm.n_tokens - no_cache[2]

    ttft = {k: statistics.median(r[0] for r in v) for k, v in results.items()}
    speed = {k: statistics.median(r[1] for r in v if r[2] > 1) for k, v in results.items()}
    row(
        "generation",
        f"prompt tokens per answer: {shared} cached preamble + new (mean)",
        f"{statistics.mean(new_tokens):.0f} new, {shared + statistics.mean(new_tokens):.0f} total",
    )
    row(
        "generation",
        f"time to first token, ours / raw llama-cpp-python (p50, {len(prompts)} q.)",
        f"{ttft['ours']:.2f} / {ttft['raw']:.2f} s",
    )
    row(
        "generation",
        "decode speed, ours / raw (p50)",
        f"{speed['ours']:.1f} / {speed['raw']:.1f} tokens/s",
    )
    # Paired per question: the median of the ratios, not the ratio of the medians.
    pairs = list(zip(results["ours"], results["raw"], strict=True))
    ttft_over = statistics.median(o[0] / r[0] for o, r in pairs) - 1
    speed_over = statistics.median(r[1] / o[1] for o, r in pairs if o[2] > 1 and r[2] > 1) - 1
    row(
        "generation",
        "our overhead over the raw runtime, paired per question (first token; decode)",
        f"{ttft_over:+.1%}; {speed_over:+.1%}",
        "<= 10 %",
    )
    row(
        "generation",
        f"time to first token, raw, with the preamble not cached ({total} tokens read)",
        f"{no_cache[0]:.2f} s",
    )


# -- end to end ----------------------------------------------------------------------------
CHILD = """
import json, sys, time
from rag import answer
from rag.evaluation import load_questions
out = []
for q in load_questions()[: int(sys.argv[1])]:
    a = answer(q.question)
    t = a.timings
    out.append({"wall": time.time(), "total": t.total_s - t.setup_s, "first": t.first_token_s,
                "sources": t.retrieval_s, "setup": t.setup_s, "refused": a.refused})
# VmHWM, not ru_maxrss: Linux carries ru_maxrss across fork and exec, so it would report
# this benchmark's own peak (a million vectors) rather than the answering process's.
hwm = next(ln for ln in open("/proc/self/status") if ln.startswith("VmHWM"))
print(json.dumps({"answers": out, "peak_mb": int(hwm.split()[1]) / 1024}))
"""


def bench_end_to_end(n: int) -> None:
    started = time.time()
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(n)], capture_output=True, text=True, check=False
    )
    if proc.returncode:
        raise SystemExit(f"end-to-end child failed:\n{proc.stderr[-3000:]}")
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    answers = report["answers"]
    later = answers[1:] or answers
    totals = [a["total"] for a in later]
    firsts = [a["first"] for a in later if a["first"]]
    row(
        "end to end",
        "cold start: process start to first answer (models, index on disk)",
        f"{answers[0]['wall'] - started:.1f} s (loading {answers[0]['setup']:.1f} s)",
    )
    row(
        "end to end",
        f"seconds per answer, {len(later)} evaluation questions (p50 / p95)",
        f"{pct(totals, 50):.2f} / {pct(totals, 95):.2f} s",
        "median <= 8 s",
    )
    row(
        "end to end",
        "time to first answer token (p50 / p95)",
        f"{pct(firsts, 50):.2f} / {pct(firsts, 95):.2f} s",
        "<= 4 s",
    )
    row(
        "end to end",
        "sources shown after (p50 / p95)",
        f"{pct([a['sources'] for a in later], 50):.2f} / "
        f"{pct([a['sources'] for a in later], 95):.2f} s",
        "<= 0.3 s",
    )
    row("end to end", "peak memory of the answering process (RSS)", f"{report['peak_mb']:.0f} MB")


def machine() -> str:
    import faiss

    cpu = next(
        (
            ln.split(":", 1)[1].strip()
            for ln in Path("/proc/cpuinfo").read_text().splitlines()
            if ln.startswith("model name")
        ),
        platform.processor() or "?",
    )
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"Machine: {cpu}, {os.cpu_count()} cores, {mem:.1f} GiB RAM; Python "
        f"{platform.python_version()}, faiss {faiss.__version__}; {time.strftime('%Y-%m-%d')}."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a few minutes instead of ~20")
    parser.add_argument("--out", type=Path, help="also append the table to this file")
    args = parser.parse_args()
    started = time.perf_counter()
    settings = Settings.from_env()
    questions = [q.question for q in load_questions()]
    pipeline = Pipeline(settings)
    pipeline.warm()
    with tempfile.TemporaryDirectory() as tmp:
        bench_indexing(pipeline, Path(tmp))
    sizes = [10_000, 100_000] if args.quick else [10_000, 100_000, 1_000_000]
    bench_retrieval(sizes, 50 if args.quick else 200, settings.approximate_above)
    with tempfile.TemporaryDirectory() as tmp:
        # Not at a million: building it takes minutes and several GB (as indexing would).
        bench_keywords([10_000, 100_000], questions[: 50 if args.quick else 200], Path(tmp))
    bench_sources(pipeline, questions[: 8 if args.quick else 30])
    bench_generation(pipeline, questions[: 4 if args.quick else 12])
    del pipeline
    bench_end_to_end(6 if args.quick else len(questions))

    report("stage", ROWS, machine(), started, args.out)


if __name__ == "__main__":
    main()
