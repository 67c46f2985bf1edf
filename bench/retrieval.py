"""Retrieval latency at scale: exact FAISS search against approximate indexes, on synthetic data.

Run from the repository root::

    .venv/bin/python bench/retrieval.py                      # 10k, 100k and 1M chunks
    .venv/bin/python bench/retrieval.py --quick              # 10k and 100k, 50 queries
    .venv/bin/python bench/retrieval.py --out bench/RESULTS.md

It prints one Markdown table (one row per index structure and search-time knob: build seconds,
p50/p95 latency of ONE query at a time with k=20, recall@10 against exact search, index bytes per
chunk) and a line describing the machine. ``--out FILE`` appends the same Markdown to FILE.

The vectors mimic the project's index (``rag.index.VectorIndex``: ``faiss.IndexFlatIP`` over
L2-normalised float32, dim 384 as multilingual-e5-small gives). They are a two-level Gaussian
mixture, not uniform noise (on which ANN recall is meaninglessly pessimistic): 64 random unit
topics, 64 sub-topic centres around each (4096 centres), and around each centre a noise whose
variance decays as 1/j over the dimensions of a basis random per topic (a low local intrinsic
dimension, as real sentence embeddings have), then normalised. Queries are drawn the same way and
are not in the indexed set. The seed is fixed.
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import sys
import time
from pathlib import Path
from typing import Protocol

import faiss
import numpy as np

DIM = 384
K = 20  # what the tool asks the index for
TOPICS, SUBTOPICS = 64, 64  # 4096 centres
SUBTOPIC_SPREAD = 0.8  # norm of a centre's offset from its topic: cos(centre, topic) ~ 0.78
NOISE = 0.6  # norm of a point's offset from its centre: cos(point, centre) ~ 0.86
SEED = 1234
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80  # 40 left recall@10 stuck near 0.97 at 100k; 1M builds in minutes
EF_SEARCH = (32, 64, 128, 256)
NPROBE = (4, 8, 16, 32, 64)

Row = tuple[int, str, str, float, float, float, float, float]


def unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def make_mixture(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The 4096 centres (sub-topic-major) and one random orthonormal noise basis per topic."""
    topics = unit(rng.standard_normal((TOPICS, DIM), dtype=np.float32))
    offsets = rng.standard_normal((TOPICS, SUBTOPICS, DIM), dtype=np.float32)
    centres = unit(topics[:, None] + offsets * (SUBTOPIC_SPREAD / np.sqrt(DIM)))
    bases = np.linalg.qr(rng.standard_normal((TOPICS, DIM, DIM), dtype=np.float32))[0]
    return centres.reshape(TOPICS * SUBTOPICS, DIM), bases


def make_vectors(
    n: int, centres: np.ndarray, bases: np.ndarray, rng: np.random.Generator, batch: int = 100_000
) -> np.ndarray:
    """n unit vectors from the mixture, generated in batches to bound peak memory."""
    var = 1.0 / np.arange(1, DIM + 1)
    scales = (np.sqrt(var / var.sum()) * NOISE).astype(np.float32)
    out = np.empty((n, DIM), dtype=np.float32)
    for start in range(0, n, batch):
        m = min(batch, n - start)
        label = rng.integers(0, len(centres), m)
        noise = rng.standard_normal((m, DIM), dtype=np.float32) * scales
        x = centres[label]
        for t in np.unique(label // SUBTOPICS):
            rows = label // SUBTOPICS == t
            x[rows] += noise[rows] @ bases[t].T
        out[start : start + m] = unit(x)
    return out


class Searchable(Protocol):
    """A faiss index, or the tool's VectorIndex, which searches the same way."""

    def search(self, x: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]: ...


def time_queries(index: Searchable, queries: np.ndarray) -> tuple[float, float, np.ndarray]:
    """p50 and p95 latency (ms) of one-query-at-a-time searches, and their top-K ids."""
    for q in queries[:5]:  # warm-up
        index.search(q[None, :], K)
    times, ids = [], []
    for q in queries:
        t0 = time.perf_counter()
        _, i = index.search(q[None, :], K)
        times.append((time.perf_counter() - t0) * 1000)
        ids.append(i[0])
    return float(np.percentile(times, 50)), float(np.percentile(times, 95)), np.array(ids)


def recall_at_10(found: np.ndarray, truth: np.ndarray) -> float:
    """Mean share of the exact top 10 that appears in the approximate top 10."""
    hits = [len(set(f[:10]) & set(t[:10])) for f, t in zip(found, truth, strict=True)]
    return float(np.mean(hits)) / 10


def bytes_per_chunk(index: faiss.Index) -> float:
    return len(faiss.serialize_index(index)) / index.ntotal


def build(index: faiss.Index, data: np.ndarray) -> float:
    """Train the index if it needs it, add the data, and return the seconds it took."""
    t0 = time.perf_counter()
    if not index.is_trained:
        sample = data[np.random.default_rng(SEED).choice(len(data), min(len(data), 200_000), False)]
        index.train(sample)
    index.add(data)
    return time.perf_counter() - t0


def bench_size(n: int, n_queries: int, structures: list[str], m: int, efc: int) -> list[Row]:
    rng = np.random.default_rng(SEED)
    centres, bases = make_mixture(rng)
    queries = make_vectors(n_queries, centres, bases, rng)
    data = make_vectors(n, centres, bases, rng)
    rows: list[Row] = []

    flat = faiss.IndexFlatIP(DIM)
    secs = build(flat, data)
    _, truth = flat.search(queries, 10)
    p50, p95, _ = time_queries(flat, queries)
    rows.append((n, "Flat (exact)", "-", secs, p50, p95, 1.0, bytes_per_chunk(flat)))
    log(rows[-1])
    del flat

    if "hnsw" in structures:
        hnsw = faiss.IndexHNSWFlat(DIM, m, faiss.METRIC_INNER_PRODUCT)
        hnsw.hnsw.efConstruction = efc
        secs, size = build(hnsw, data), bytes_per_chunk(hnsw)
        name = f"HNSW M={m} efC={efc}"
        for ef in EF_SEARCH:
            hnsw.hnsw.efSearch = ef
            p50, p95, found = time_queries(hnsw, queries)
            rows.append(
                (n, name, f"efSearch={ef}", secs, p50, p95, recall_at_10(found, truth), size)
            )
            log(rows[-1])
        del hnsw

    if "ivf" in structures:
        nlist = int(4 * np.sqrt(n))
        ivf = faiss.IndexIVFFlat(faiss.IndexFlatIP(DIM), DIM, nlist, faiss.METRIC_INNER_PRODUCT)
        secs, size = build(ivf, data), bytes_per_chunk(ivf)
        for nprobe in NPROBE:
            ivf.nprobe = nprobe
            p50, p95, found = time_queries(ivf, queries)
            recall = recall_at_10(found, truth)
            rows.append(
                (n, f"IVFFlat nlist={nlist}", f"nprobe={nprobe}", secs, p50, p95, recall, size)
            )
            log(rows[-1])
        del ivf
    return rows


def log(row: Row) -> None:
    print("  " + format_row(row), file=sys.stderr, flush=True)


def format_row(row: Row) -> str:
    n, structure, knob, build_s, p50, p95, recall, size = row
    cells = [f"{n:,}", structure, knob, f"{build_s:.1f}", f"{p50:.2f}", f"{p95:.2f}"]
    return "| " + " | ".join([*cells, f"{recall:.3f}", f"{size:,.0f}"]) + " |"


def machine(threads: int) -> str:
    cpuinfo = Path("/proc/cpuinfo").read_text()
    cpu = next(ln.split(":", 1)[1].strip() for ln in cpuinfo.splitlines() if "model name" in ln)
    meminfo = Path("/proc/meminfo").read_text().split()
    ram = int(meminfo[meminfo.index("MemTotal:") + 1]) / 2**20
    return (
        f"CPU {cpu}, {os.cpu_count()} cores, {ram:.1f} GiB RAM; FAISS threads {threads}; "
        f"faiss {faiss.__version__}, numpy {np.__version__}, Python {platform.python_version()}"
    )


def markdown(rows: list[Row], threads: int, n_queries: int, wall: float) -> str:
    head = "| chunks | structure | knob | build s | p50 ms | p95 ms | recall@10 | bytes/chunk |"
    lines = [head, "|" + "---|" * 8, *(format_row(r) for r in rows), ""]
    lines.append(f"Machine: {machine(threads)}.")
    lines.append(f"Command: `{shlex.join(['.venv/bin/python', *sys.argv])}`.")
    lines.append(
        f"{n_queries} queries, each searched alone with k={K}; dim {DIM}, "
        f"{TOPICS}x{SUBTOPICS}-centre mixture, seed {SEED}; total run {wall / 60:.1f} min."
    )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000,1000000", help="comma-separated N")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--structures", default="hnsw,ivf", help="approximate indexes to test")
    parser.add_argument("--hnsw-m", type=int, default=HNSW_M)
    parser.add_argument("--ef-construction", type=int, default=HNSW_EF_CONSTRUCTION)
    parser.add_argument("--quick", action="store_true", help="10k and 100k, 50 queries")
    parser.add_argument("--out", type=Path, help="append the Markdown to this file")
    args = parser.parse_args(argv)
    sizes = [10_000, 100_000] if args.quick else [int(s) for s in args.sizes.split(",")]
    n_queries = 50 if args.quick else args.queries

    threads = len(os.sched_getaffinity(0))
    faiss.omp_set_num_threads(threads)
    t0 = time.perf_counter()
    structures = args.structures.split(",")
    rows: list[Row] = []
    for n in sizes:
        rows += bench_size(n, n_queries, structures, args.hnsw_m, args.ef_construction)
    text = markdown(rows, threads, n_queries, time.perf_counter() - t0)
    print(text)
    if args.out:
        with args.out.open("a") as f:
            f.write(text)


if __name__ == "__main__":
    main()
