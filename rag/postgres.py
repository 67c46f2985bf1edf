"""The index in PostgreSQL: pgvector for dense search, BM25 in SQL for keyword search.

For collections that outgrow one machine, and for several chat servers that share one
collection (``Settings.index_url``, ``RAG_INDEX_URL=postgresql://…``). It keeps what the FAISS
index in :mod:`rag.index` keeps, in tables of one schema (the collection, named by the
URL's fragment, ``#news``; ``rag`` without one):

    meta        the manifest: embedder, dimension, chunker, the keyword and screening rules
    documents   one row per document: what the FAISS manifest records of it
    chunks      the chunk, its vector (pgvector), its sentence vectors, the sentence that
                gives the model orders (rag.screening), its length in keyword tokens
    terms       the keyword postings: term, chunk, count (rag.keywords.tokenize)
    vocabulary  how many chunks hold each term; totals: the chunks and their tokens

Keyword search is BM25 computed in SQL with the same tokenizer and constants as the FAISS
index's bm25s, so both backends rank alike (PostgreSQL's own ``ts_rank`` is not BM25).
Writers take one advisory lock per collection and replace each batch of documents in one
transaction: readers, in any process, see a document whole or not at all, and never wait.
A folder's sync removes only the documents that came from that folder, so servers indexing
different folders into one collection do not remove each other's. docs/design.md says why
PostgreSQL (and not Milvus).
"""

from __future__ import annotations

import json
import logging
import math
import re
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from .chunking import chunk_document, sentence_units
from .embeddings import Embedder
from .errors import IndexStoreError
from .index import IndexStats, Progress, document_meta, embed_texts, index_config
from .keywords import RULES as KEYWORD_RULES
from .keywords import tokenize
from .screening import RULES as SCREENING_RULES
from .screening import first_order
from .types import Chunk, Document, Passage

log = logging.getLogger("rag")

SCHEMES = ("postgresql://", "postgres://")
BM25_K1, BM25_B = 1.5, 0.75  # bm25s's defaults, which rag.keywords uses
# As rag.index.HNSW_EF_SEARCH: the graph's candidates per query, so at most this many
# results (pgvector allows up to 1000).
EF_SEARCH = 256
# A chunk without a word counts one token no query has, as rag.keywords' placeholder does
# (which is a NUL, which PostgreSQL's text cannot hold).
_NOTHING = ""
_BATCH = 32  # documents per transaction while indexing
_CACHE = 4096  # chunks whose sentence vectors and orders stay in memory after a search


def is_database(url: str) -> bool:
    return url.startswith(SCHEMES)


def redact(url: str) -> str:
    """``url`` without its password, for messages and logs.

    >>> redact("postgresql://ann:s3cret@db.example:5432/news#desk")
    'postgresql://ann:***@db.example:5432/news#desk'
    """
    return re.sub(r"(//[^:/@]+):[^@/]*@", r"\1:***@", url)


def collection_of(url: str) -> tuple[str, str]:
    """``(connection URL, schema)``: the fragment names the collection.

    >>> collection_of("postgresql://localhost/news#desk_2")
    ('postgresql://localhost/news', 'desk_2')
    """
    if not is_database(url):
        raise IndexStoreError(
            f"index_url {redact(url)!r} is not a PostgreSQL URL: write it "
            "postgresql://user@host:5432/database#collection, or leave it empty for the "
            "local index"
        )
    base, _, name = url.partition("#")
    name = name or "rag"
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
        raise IndexStoreError(
            f"{name!r} cannot name a collection in {redact(url)}: use lower-case letters, "
            "digits and _ after the #"
        )
    return base, name


class PgStore:
    """A collection in PostgreSQL, read live: what another process adds is found at once."""

    def __init__(self, url: str, dim: int) -> None:
        self.url = url
        self.dim = dim
        self.dsn, self.schema = collection_of(url)
        self._conn: Any = None
        self._lock = threading.Lock()
        self._recent_lock = threading.Lock()
        self._recent: OrderedDict[str, tuple[Chunk, np.ndarray | None, str | None]] = OrderedDict()

    # -- the connection ------------------------------------------------------------------
    @contextmanager
    def cursor(self) -> Iterator[Any]:
        """A cursor on this store's connection (one at a time; opened again after a loss).
        Any database error becomes an IndexStoreError that names the URL."""
        import psycopg

        with self._lock:
            try:
                if self._conn is None or self._conn.closed:
                    self._conn = connect(self.dsn, self.url)
                with self._conn.transaction(), self._conn.cursor() as cur:
                    cur.execute(f"SET LOCAL search_path = {self.schema}, public")
                    yield cur
            except psycopg.Error as exc:
                if self._conn is not None and self._conn.closed:
                    self._conn = None
                raise _unreachable(self.url, exc) from exc

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    # -- what the pipeline reads ---------------------------------------------------------
    @property
    def manifest(self) -> dict[str, Any]:
        with self.cursor() as cur:
            cur.execute("SELECT key, value FROM meta")
            out = dict(cur.fetchall())
            cur.execute("SELECT chunks, tokens FROM totals")
            out["chunks"], out["tokens"] = cur.fetchone()
            cur.execute(
                "SELECT count(*) FROM pg_indexes WHERE schemaname = %s AND indexname = %s",
                (self.schema, "chunks_hnsw"),
            )
            out["structure"] = "hnsw" if cur.fetchone()[0] else "flat"
        return out

    @property
    def documents(self) -> dict[str, dict[str, Any]]:
        with self.cursor() as cur:
            cur.execute("SELECT doc_id, meta FROM documents ORDER BY doc_id")
            return dict(cur.fetchall())

    def document_meta(self, doc_id: str) -> dict[str, Any] | None:
        with self.cursor() as cur:
            cur.execute("SELECT meta FROM documents WHERE doc_id = %s", (doc_id,))
            row = cur.fetchone()
        return row[0] if row else None

    def __len__(self) -> int:
        with self.cursor() as cur:
            cur.execute("SELECT chunks FROM totals")
            return int(cur.fetchone()[0])

    def sample(self, n: int) -> list[Chunk]:
        return self._chunks("TRUE ORDER BY row LIMIT %s", (n,))

    def document_chunks(self, doc_id: str) -> list[Chunk]:
        return self._chunks("doc_id = %s ORDER BY row", (doc_id,))

    def search(self, query_vector: np.ndarray, k: int) -> list[Passage]:
        """The ``k`` chunks nearest to one query vector (inner product), best first."""
        with self.cursor() as cur:
            cur.execute(f"SET LOCAL hnsw.ef_search = {min(1000, max(EF_SEARCH, k))}")
            cur.execute(
                "SELECT chunk, units, order_sentence, (embedding <#> %s::vector) * -1 FROM chunks "
                "ORDER BY embedding <#> %s::vector LIMIT %s",
                (_vector(query_vector), _vector(query_vector), k),
            )
            rows = cur.fetchall()
        return [Passage(self._remember(r), float(r[3]), rank) for rank, r in enumerate(rows)]

    def keyword_search(self, query: str, k: int) -> list[Passage]:
        """BM25 over the chunks, as :meth:`rag.keywords.KeywordIndex.search` ranks them."""
        tokens = tokenize(query)
        if not tokens:
            return []
        with self.cursor() as cur:
            n, total = _totals(cur)
            weights = self._idf(cur, tokens, n)
            if not weights:
                return []
            cur.execute(
                "WITH q(term, idf) AS (SELECT * FROM unnest(%s::text[], %s::float8[])), "
                "best AS (SELECT t.row, sum(q.idf * t.tf / (t.tf + %s * (1 - %s + %s * "
                "t.length / %s))) AS score FROM terms t JOIN q USING (term) GROUP BY t.row "
                "ORDER BY score DESC, t.row LIMIT %s) "
                "SELECT c.chunk, c.units, c.order_sentence, best.score FROM best "
                "JOIN chunks c USING (row) ORDER BY best.score DESC, best.row",
                (
                    [t for t in tokens if t in weights],
                    [weights[t] for t in tokens if t in weights],
                    BM25_K1,
                    BM25_B,
                    BM25_B,
                    total / max(n, 1),
                    k,
                ),
            )
            rows = cur.fetchall()
        return [Passage(self._remember(r), float(r[3]), rank) for rank, r in enumerate(rows)]

    def idf(self, token: str) -> float:
        """How rare ``token`` is among the chunks, BM25's way (rag.keywords.KeywordIndex.idf)."""
        with self.cursor() as cur:
            return self._idf(cur, [token], _totals(cur)[0]).get(token, 0.0)

    def order_in(self, chunk: Chunk) -> str | None:
        """The sentence of ``chunk`` that gives the model orders, as the index screened it
        (screened now for a chunk the collection no longer holds as it is)."""
        seen = self._stored(chunk)
        return seen[2] if seen is not None else first_order(chunk)

    def sentence_vectors(self, chunk: Chunk) -> np.ndarray | None:
        seen = self._stored(chunk)
        return seen[1] if seen is not None else None

    def _stored(self, chunk: Chunk) -> tuple[Chunk, np.ndarray | None, str | None] | None:
        """``chunk``'s row as a search just read it, or as the collection holds it now; None
        when the collection does not hold this chunk (gone, or changed since)."""
        seen = self._recent.get(chunk.id)
        if seen is None or seen[0] != chunk:
            rows = self._rows("chunk_id = %s", (chunk.id,))
            seen = rows[0] if rows and rows[0][0] == chunk else None
        return seen

    # -- helpers -------------------------------------------------------------------------
    def _idf(self, cur: Any, tokens: Sequence[str], n: int) -> dict[str, float]:
        """BM25's idf of each of ``tokens`` that some of the ``n`` chunks hold."""
        cur.execute(
            "SELECT term, df FROM vocabulary WHERE term = ANY(%s) AND df > 0", (list(tokens),)
        )
        df = dict(cur.fetchall())
        return {t: math.log(1 + (n - d + 0.5) / (d + 0.5)) for t, d in df.items()}

    def _chunks(self, where: str, args: tuple[Any, ...]) -> list[Chunk]:
        return [r[0] for r in self._rows(where, args)]

    def _rows(
        self, where: str, args: tuple[Any, ...]
    ) -> list[tuple[Chunk, np.ndarray | None, str | None]]:
        with self.cursor() as cur:
            cur.execute(f"SELECT chunk, units, order_sentence FROM chunks WHERE {where}", args)
            rows = cur.fetchall()
        return [self._unpack(r) for r in rows]

    def _remember(self, row: Sequence[Any]) -> Chunk:
        chunk, units, order = self._unpack(row)
        with self._recent_lock:  # the chat answers several questions at once
            self._recent[chunk.id] = (chunk, units, order)
            self._recent.move_to_end(chunk.id)
            while len(self._recent) > _CACHE:
                self._recent.popitem(last=False)
        return chunk

    def _unpack(self, row: Sequence[Any]) -> tuple[Chunk, np.ndarray | None, str | None]:
        chunk = Chunk(**row[0])
        units = None
        if row[1] is not None:
            units = np.frombuffer(row[1], dtype=np.float32).reshape(-1, self.dim)
        return chunk, units, row[2]


def connect(dsn: str, url: str) -> Any:
    """An autocommit connection to ``dsn`` (IndexStoreError naming ``url`` if none)."""
    import psycopg

    try:
        return psycopg.connect(dsn, autocommit=True, connect_timeout=10)
    except psycopg.Error as exc:
        raise _unreachable(url, exc) from exc


def _unreachable(url: str, exc: Exception) -> IndexStoreError:
    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return IndexStoreError(
        f"The collection at {redact(url)} cannot be used ({reason}). Check that the database "
        "is running and reachable, or unset RAG_INDEX_URL to use the local index; your "
        "documents and local files are untouched."
    )


def _vector(v: np.ndarray) -> str:
    return "[" + ",".join(f"{x:.7g}" for x in np.asarray(v, dtype=np.float32).ravel()) + "]"


def _totals(cur: Any) -> tuple[int, int]:
    cur.execute("SELECT chunks, tokens FROM totals")
    n, total = cur.fetchone()
    return int(n), int(total)


# -- writing ---------------------------------------------------------------------------------
def _schema(cur: Any, schema: str, dim: int) -> None:
    cur.execute("CREATE EXTENSION IF NOT EXISTS vector")
    cur.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    cur.execute(f"SET LOCAL search_path = {schema}, public")
    cur.execute("CREATE TABLE IF NOT EXISTS meta (key text PRIMARY KEY, value jsonb NOT NULL)")
    cur.execute(
        "CREATE TABLE IF NOT EXISTS documents (doc_id text PRIMARY KEY, meta jsonb NOT NULL)"
    )
    cur.execute(
        "CREATE TABLE IF NOT EXISTS chunks (row bigserial PRIMARY KEY, chunk_id text UNIQUE "
        "NOT NULL, doc_id text NOT NULL, chunk jsonb NOT NULL, "
        f"embedding vector({int(dim)}) NOT NULL, units bytea, order_sentence text, "
        "length int NOT NULL)"
    )
    cur.execute("CREATE INDEX IF NOT EXISTS chunks_doc ON chunks (doc_id, row)")
    cur.execute(
        "CREATE TABLE IF NOT EXISTS terms (term text NOT NULL, row bigint NOT NULL, "
        "tf int NOT NULL, length int NOT NULL, PRIMARY KEY (term, row))"
    )
    cur.execute("CREATE INDEX IF NOT EXISTS terms_row ON terms (row)")
    cur.execute("CREATE TABLE IF NOT EXISTS vocabulary (term text PRIMARY KEY, df int NOT NULL)")
    cur.execute(
        "CREATE TABLE IF NOT EXISTS totals (one bool PRIMARY KEY DEFAULT true CHECK (one), "
        "chunks bigint NOT NULL, tokens bigint NOT NULL)"
    )
    cur.execute("INSERT INTO totals VALUES (true, 0, 0) ON CONFLICT DO NOTHING")


def _lock_key(schema: str) -> int:
    """The advisory lock's key for a collection: one writer per collection at a time."""
    return int.from_bytes(schema.encode()[:8].ljust(8, b"\0"), "big", signed=True) ^ 0x5241_4721


def update_collection(
    url: str,
    documents: Sequence[Document],
    embedder: Embedder,
    *,
    folder: Path,
    chunk_size: int,
    chunk_overlap: int,
    on_progress: Callable[[int, int], None] | None = None,
    approximate_above: int = 100_000,
    sentences: bool = True,
) -> tuple[PgStore, IndexStats]:
    """Bring the collection at ``url`` in line with ``documents``, read from ``folder``.

    As :func:`rag.index.update_index`: only new or changed documents are chunked and
    embedded (by content hash and reader), and documents of ``folder`` that are gone are
    removed. Unlike it, documents another folder put there stay, and a collection built with
    another embedder or chunker is never rebuilt from here (it is shared): IndexStoreError
    says which setting differs. Above ``approximate_above`` chunks an HNSW index is built.
    """
    started = time.perf_counter()
    dsn, schema = collection_of(url)
    config = index_config(embedder, chunk_size, chunk_overlap, sentences)
    stats = IndexStats()
    conn = connect(dsn, url)
    import psycopg

    try:
        # Locked first: two writers creating the same tables at once would collide.
        conn.execute("SELECT pg_advisory_lock(%s)", (_lock_key(schema),))
        with conn.transaction(), conn.cursor() as cur:
            _schema(cur, schema, embedder.dim)
        conn.execute(f"SET search_path = {schema}, public")
        meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        if meta:
            changed = [
                f"{k} (the collection's: {meta.get(k)}; yours: {v})"
                for k, v in config.items()
                if meta.get(k) != v
            ]
            if changed:
                raise IndexStoreError(
                    f"The collection at {redact(url)} was built with other settings: "
                    f"{'; '.join(changed)}. Use its settings, or another collection "
                    "(a different #name after the URL)."
                )
        with conn.transaction():
            for k, v in {**config, "keywords": KEYWORD_RULES, "screening": SCREENING_RULES}.items():
                conn.execute(
                    "INSERT INTO meta VALUES (%s, %s) ON CONFLICT (key) DO UPDATE SET "
                    "value = EXCLUDED.value",
                    (k, json.dumps(v)),
                )
        old = dict(conn.execute("SELECT doc_id, meta FROM documents").fetchall())
        root = str(folder.resolve())
        mine = {d for d, m in old.items() if _inside(m.get("source", ""), root)}
        new_ids = {d.id for d in documents}
        stats.removed = sorted(mine - new_ids)
        todo: list[Document] = []
        for doc in documents:
            before = old.get(doc.id)
            if before and not _inside(before.get("source", ""), root):
                log.warning(
                    "%s: the collection holds a document of that name from %s; yours was "
                    "not indexed (rename it)",
                    doc.id,
                    before.get("source"),
                )
                continue
            if stats.sort(doc, before):
                todo.append(doc)
        with conn.transaction():
            _remove(conn, stats.removed)
            for doc_id in stats.retitled:
                doc = next(d for d in documents if d.id == doc_id)
                conn.execute(
                    "UPDATE documents SET meta = %s WHERE doc_id = %s",
                    (json.dumps(document_meta(doc)), doc_id),
                )
                conn.execute(
                    "UPDATE chunks SET chunk = jsonb_set(chunk, '{title}', to_jsonb(%s::text)) "
                    "WHERE doc_id = %s",
                    (doc.title, doc_id),
                )
        chunked = {d.id: chunk_document(d, size=chunk_size, overlap=chunk_overlap) for d in todo}
        total = sum(
            len(cs) + (sum(len(sentence_units(c)) for c in cs) if sentences else 0)
            for cs in chunked.values()
        )
        progress = Progress(total, on_progress)
        for i in range(0, len(todo), _BATCH):
            batch = todo[i : i + _BATCH]
            fresh = [c for d in batch for c in chunked[d.id]]
            vectors = embed_texts(embedder, [c.text for c in fresh], progress)
            units: list[bytes | None] = [None] * len(fresh)
            if sentences:
                texts = [[c.text[s:e] for s, e in sentence_units(c)] for c in fresh]
                flat = embed_texts(embedder, [t for ts in texts for t in ts], progress)
                at = 0
                for j, ts in enumerate(texts):
                    units[j] = np.ascontiguousarray(flat[at : at + len(ts)]).tobytes()
                    at += len(ts)
            with conn.transaction():  # each document replaced whole, or not at all
                _remove(conn, [d.id for d in batch if d.id in old])
                for doc in batch:
                    conn.execute(
                        "INSERT INTO documents VALUES (%s, %s)",
                        (doc.id, json.dumps(document_meta(doc))),
                    )
                # Uncached: a whole collection would flush first_order's cache of retrieved chunks.
                _insert(conn, fresh, vectors, units, [first_order.__wrapped__(c) for c in fresh])
            stats.embedded_chunks += len(fresh)
        stats.chunks = int(conn.execute("SELECT chunks FROM totals").fetchone()[0])
        stats.embedded_sentences = progress.done - stats.embedded_chunks
        if stats.chunks > approximate_above:
            conn.execute(
                "CREATE INDEX IF NOT EXISTS chunks_hnsw ON chunks USING hnsw "
                "(embedding vector_ip_ops) WITH (m = 16, ef_construction = 64)"
            )
    except psycopg.Error as exc:
        raise _unreachable(url, exc) from exc
    finally:
        conn.close()  # and with it the advisory lock
    stats.seconds = time.perf_counter() - started
    return PgStore(url, embedder.dim), stats


def _inside(source: str, root: str) -> bool:
    return source == root or source.startswith(root.rstrip("/") + "/")


def _remove(conn: Any, doc_ids: Sequence[str]) -> None:
    """Delete documents and their chunks, keeping the keyword statistics true."""
    if not doc_ids:
        return
    ids = list(doc_ids)
    conn.execute(
        "UPDATE vocabulary v SET df = v.df - d.n FROM (SELECT t.term, count(*) AS n FROM terms t "
        "JOIN chunks c USING (row) WHERE c.doc_id = ANY(%s) GROUP BY t.term) d "
        "WHERE v.term = d.term",
        (ids,),
    )
    conn.execute(
        "UPDATE totals SET chunks = chunks - d.n, tokens = tokens - d.t FROM (SELECT count(*) "
        "AS n, coalesce(sum(length), 0) AS t FROM chunks WHERE doc_id = ANY(%s)) d",
        (ids,),
    )
    conn.execute(
        "DELETE FROM terms WHERE row IN (SELECT row FROM chunks WHERE doc_id = ANY(%s))", (ids,)
    )
    conn.execute("DELETE FROM chunks WHERE doc_id = ANY(%s)", (ids,))
    conn.execute("DELETE FROM documents WHERE doc_id = ANY(%s)", (ids,))


def _insert(
    conn: Any,
    chunks: Sequence[Chunk],
    vectors: np.ndarray,
    units: Sequence[bytes | None],
    orders: Sequence[str | None],
) -> None:
    """Add chunks with their vectors, keyword postings and screening verdicts (``orders``:
    :func:`rag.screening.first_order` of each). By COPY, with their row numbers drawn first
    so that the postings can name them."""
    if not chunks:
        return
    rows = [
        r[0]
        for r in conn.execute(
            "SELECT nextval(pg_get_serial_sequence('chunks', 'row')) FROM generate_series(1, %s)",
            (len(chunks),),
        ).fetchall()
    ]
    postings = [Counter(tokenize(c.text) or [_NOTHING]) for c in chunks]
    lengths = [sum(counts.values()) for counts in postings]
    with conn.cursor() as cur:
        with cur.copy(
            "COPY chunks (row, chunk_id, doc_id, chunk, embedding, units, order_sentence, "
            "length) FROM STDIN"
        ) as copy:
            for row, chunk, vector, unit, order, length in zip(
                rows, chunks, vectors, units, orders, lengths, strict=True
            ):
                copy.write_row(
                    (
                        row,
                        chunk.id,
                        chunk.doc_id,
                        json.dumps(asdict(chunk), ensure_ascii=False),
                        _vector(vector),
                        unit,
                        order,
                        length,
                    )
                )
        with cur.copy("COPY terms (term, row, tf, length) FROM STDIN") as copy:
            for row, length, counts in zip(rows, lengths, postings, strict=True):
                for term, tf in counts.items():
                    copy.write_row((term, row, tf, length))
        cur.execute(
            "CREATE TEMP TABLE IF NOT EXISTS fresh_df (term text, df int) ON COMMIT DELETE ROWS"
        )
        with cur.copy("COPY fresh_df FROM STDIN") as copy:
            for term, df in Counter(t for counts in postings for t in counts).items():
                copy.write_row((term, df))
        cur.execute(
            "INSERT INTO vocabulary SELECT term, df FROM fresh_df ORDER BY term "
            "ON CONFLICT (term) DO UPDATE SET df = vocabulary.df + EXCLUDED.df"
        )
        cur.execute(
            "UPDATE totals SET chunks = chunks + %s, tokens = tokens + %s",
            (len(rows), sum(lengths)),
        )


def open_collection(url: str) -> PgStore | None:
    """The collection at ``url``, or None if nothing was indexed there yet."""
    import psycopg

    dsn, schema = collection_of(url)
    conn = connect(dsn, url)
    try:
        found = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (f"{schema}.meta",)).fetchone()[
            0
        ]
        dim = None
        if found:
            row = conn.execute(f"SELECT value FROM {schema}.meta WHERE key = 'dim'").fetchone()
            dim = row[0] if row else None
    except psycopg.Error as exc:
        raise _unreachable(url, exc) from exc
    finally:
        conn.close()
    return PgStore(url, int(dim)) if dim else None
