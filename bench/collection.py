"""The index in PostgreSQL (rag/postgres.py) beside FAISS, on the same synthetic chunks.

Run from the repository root (the test extra installs pgserver, whose PostgreSQL 16 with
pgvector this starts on loopback)::

    .venv/bin/python bench/collection.py                          # 100k and 1M chunks
    .venv/bin/python bench/collection.py --sizes 100000 --out bench/RESULTS.md

For each size it reports, in one Markdown table:
- ingest: chunks per second through ``rag.postgres._insert`` (vectors, sentence vectors,
  keyword postings; in transactions of 1,000 chunks), embedding excluded, and apart from it
  the screening for orders (rag.screening), which either index does for each chunk (timed
  up to 100k chunks only);
- the HNSW graph's build (pgvector m=16, ef_construction=64; FAISS m=32, efC=80 as rag.index);
- one query at a time, k=20: p50 and p95 latency of dense search through ``PgStore.search``
  (the round trip and the chunks' rows included) and of FAISS's search alone, with recall@10
  against exact search; the same for keyword search (``PgStore.keyword_search``, BM25 in SQL,
  against bm25s over the same texts).

Vectors come from bench/retrieval.py's mixture (dim 384, as multilingual-e5-small). Each chunk
has a text of 40 words drawn from a Zipf law over 30,000 words (roughly a news vocabulary),
the 100 most frequent left out as the stopwords are; a keyword query is three words of one
chunk, at random. The seed is fixed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import sys
import tempfile
import time
from pathlib import Path

import faiss
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from retrieval import (  # noqa: E402 - after the path
    DIM,
    HNSW_EF_CONSTRUCTION,
    HNSW_M,
    SEED,
    K,
    make_mixture,
    make_vectors,
    recall_at_10,
)

from rag.index import HNSW_EF_SEARCH  # noqa: E402
from rag.keywords import KeywordIndex  # noqa: E402
from rag.postgres import PgStore, _insert, _schema, connect  # noqa: E402
from rag.screening import first_order  # noqa: E402
from rag.types import Chunk  # noqa: E402
from tests.postgres_server import PostgresServer  # noqa: E402

VOCABULARY = 30_000
HEAD = 100  # the most frequent ranks, taken for stopwords
WORDS = 40
BATCH = 1_000


def texts(n: int, rng: np.random.Generator) -> list[str]:
    """Chunks of WORDS words each, of ranks drawn from a Zipf law; the 100 most frequent
    ranks are left out, as rag.keywords leaves out stopwords."""
    ranks = rng.zipf(1.1, size=(n, WORDS * 3))
    out = []
    for row in ranks:
        kept = row[(row > HEAD) & (row <= VOCABULARY)][:WORDS]
        out.append(" ".join(f"w{r}" for r in kept))
    return out


def percentiles(times: list[float]) -> tuple[float, float]:
    return float(np.percentile(times, 50)), float(np.percentile(times, 95))


def timed(fn, items) -> tuple[float, float, list]:  # type: ignore[no-untyped-def]
    for item in items[:5]:
        fn(item)
    times, out = [], []
    for item in items:
        t0 = time.perf_counter()
        out.append(fn(item))
        times.append((time.perf_counter() - t0) * 1000)
    return (*percentiles(times), out)


def bench(url: str, n: int, n_queries: int) -> list[str]:
    rng = np.random.default_rng(SEED)
    centres, bases = make_mixture(rng)
    queries = make_vectors(n_queries, centres, bases, rng)
    data = make_vectors(n, centres, bases, rng)
    words = texts(n, rng)
    asked = rng.choice(n, n_queries, replace=False)
    keyword_queries = [" ".join(rng.choice(words[i].split(), 3, replace=False)) for i in asked]
    chunks = [Chunk(f"c{i}", f"d{i // 10}", "", "", t, 0, len(t)) for i, t in enumerate(words)]
    rows: list[str] = []

    exact = faiss.IndexFlatIP(DIM)
    exact.add(data)
    truth = exact.search(queries, 10)[1]

    # FAISS HNSW, as rag.index builds it above approximate_above.
    index = faiss.IndexHNSWFlat(DIM, HNSW_M, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
    t0 = time.perf_counter()
    index.add(data)
    faiss_build = time.perf_counter() - t0
    index.hnsw.efSearch = HNSW_EF_SEARCH
    p50, p95, found = timed(lambda q: index.search(q[None, :], K)[1][0], list(queries))
    rows.append(
        f"| {n:,} | FAISS HNSW, dense | – | {faiss_build:.0f} | {p50:.2f} | {p95:.2f} | "
        f"{recall_at_10(np.array(found), truth):.3f} |"
    )

    t0 = time.perf_counter()
    bm25 = KeywordIndex(chunks)
    bm25_build = time.perf_counter() - t0
    p50, p95, found = timed(lambda q: [p.score for p in bm25.search(q, K)], keyword_queries)
    rows.append(f"| {n:,} | bm25s, keyword | – | {bm25_build:.0f} | {p50:.2f} | {p95:.2f} | – |")
    bm25_found = found

    schema = f"bench{n}"
    conn = connect(url, url)
    conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    with conn.transaction(), conn.cursor() as cur:
        _schema(cur, schema, DIM)
        cur.execute("INSERT INTO meta VALUES ('dim', %s)", (json.dumps(DIM),))
    conn.execute(f"SET search_path = {schema}, public")
    unit = np.zeros((3, DIM), np.float32).tobytes()  # three sentences a chunk, as on PIAF
    ingest = screening = 0.0
    for start in range(0, n, BATCH):
        part = chunks[start : start + BATCH]
        t0 = time.perf_counter()
        # The screening costs the same per chunk at any size, and either index does it: timed
        # up to 100k chunks, left out above (it would add a quarter of an hour at 1M).
        screened = n <= 100_000
        orders = [first_order.__wrapped__(c) if screened else None for c in part]
        t1 = time.perf_counter()
        with conn.transaction():
            _insert(conn, part, data[start : start + len(part)], [unit] * len(part), orders)
        screening, ingest = screening + t1 - t0, ingest + time.perf_counter() - t1
    store = PgStore(f"{url}#{schema}", DIM)
    number = {c.id: i for i, c in enumerate(chunks)}

    def dense() -> tuple[float, float, float]:
        p50, p95, found = timed(
            lambda q: [number[p.chunk.id] for p in store.search(q, K)], list(queries)
        )
        return p50, p95, recall_at_10(np.array(found), truth)

    if n <= 100_000:  # exact, as rag.postgres searches up to approximate_above
        p50, p95, recall = dense()
        rows.append(
            f"| {n:,} | PostgreSQL exact, dense | {n / ingest:,.0f} | – | {p50:.2f} | "
            f"{p95:.2f} | {recall:.3f} |"
        )
    conn.execute("SET maintenance_work_mem = '4GB'")
    t0 = time.perf_counter()
    conn.execute(
        "CREATE INDEX chunks_hnsw ON chunks USING hnsw (embedding vector_ip_ops) "
        "WITH (m = 16, ef_construction = 64)"
    )
    pg_build = time.perf_counter() - t0
    p50, p95, recall = dense()
    rows.append(
        f"| {n:,} | PostgreSQL pgvector HNSW, dense | {n / ingest:,.0f} | {pg_build:.0f} | "
        f"{p50:.2f} | {p95:.2f} | {recall:.3f} |"
    )
    p50, p95, found = timed(
        lambda q: [p.score for p in store.keyword_search(q, K)], keyword_queries
    )
    # Scores, not ids: words this frequent tie often, and ties may come in either order.
    same = np.mean(
        [np.allclose(a[:10], b[:10], rtol=1e-4) for a, b in zip(found, bm25_found, strict=True)]
    )
    rows.append(
        f"| {n:,} | PostgreSQL BM25, keyword | (same) | – | {p50:.2f} | {p95:.2f} | "
        f"top-10 scores as bm25s's: {same:.2f} |"
    )
    if n <= 100_000:
        rows.append(f"| {n:,} | (screening, either index) | {n / screening:,.0f} | | | | |")
    size = conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]
    rows.append(f"| {n:,} | (database on disk) | | | | | {size / n:,.0f} bytes/chunk |")
    store.close()
    conn.execute(f"DROP SCHEMA {schema} CASCADE")
    conn.close()
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    lines = [
        "| chunks | index | ingest, chunks/s | build s | p50 ms | p95 ms | recall@10 |",
        "|---|---|---|---|---|---|---|",
    ]
    # The data folder goes with the run: at 1M chunks it holds 7 GB.
    with (
        tempfile.TemporaryDirectory(prefix="rag-bench-pg-") as folder,
        PostgresServer(Path(folder)) as url,
    ):
        for n in (int(s) for s in args.sizes.split(",")):
            for row in bench(url, n, args.queries):
                print(row, flush=True)
                lines.append(row)
    cpu = platform.processor() or platform.machine()
    text = "\n".join(
        [
            f"\n## bench/collection.py, {time.strftime('%Y-%m-%d')}",
            f"`{shlex.join(['python', 'bench/collection.py', *(argv or sys.argv[1:])])}`; "
            f"{os.cpu_count()} cores ({cpu}), {time.perf_counter() - started:.0f} s in all.\n",
            *lines,
            "",
        ]
    )
    print(text)
    if args.out:
        with args.out.open("a", encoding="utf-8") as f:
            f.write(text)


if __name__ == "__main__":
    main()
