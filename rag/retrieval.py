"""Retrieval: dense search, BM25 keyword search (:mod:`rag.keywords`), and their fusion.

Dense search finds paraphrases and English questions over French text;
BM25 finds rare exact words (names, model numbers like "QwQ-32B") that a
small embedding model blurs. Reciprocal rank fusion combines the two
rankings without having to calibrate their scores against each other:
a chunk second in both rankings beats one first in only one.

>>> from rag.types import Chunk
>>> def ranked(*ids: str) -> list[Passage]:
...     return [Passage(Chunk(i, i, i, "", i, 0, 1), 1.0, r) for r, i in enumerate(ids)]
>>> [p.chunk.id for p in fuse([ranked("a", "b"), ranked("c", "b")], k=2)]
['b', 'a']
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from .embeddings import Embedder
from .errors import RagError
from .index import Index
from .settings import RETRIEVAL_MODES as MODES
from .types import Chunk, Passage

RRF_K = 60  # the constant of Cormack et al. (2009); damps the weight of the very top ranks


def fuse(rankings: Sequence[Sequence[Passage]], k: int) -> list[Passage]:
    """Reciprocal rank fusion: score = sum of 1 / (RRF_K + rank + 1) over rankings."""
    scores: dict[str, float] = {}
    chunks: dict[str, Chunk] = {}
    for ranking in rankings:
        for p in ranking:
            scores[p.chunk.id] = scores.get(p.chunk.id, 0.0) + 1.0 / (RRF_K + p.rank + 1)
            chunks[p.chunk.id] = p.chunk
    best = sorted(scores, key=lambda cid: -scores[cid])[:k]
    return [Passage(chunks[cid], scores[cid], rank) for rank, cid in enumerate(best)]


class Retriever:
    """Finds the passages for a question in a Store.

    >>> r = Retriever(store, embedder)            # doctest: +SKIP
    >>> [p.chunk.doc_id for p in r.search("Qui dirige SenseTime ?", k=2)]  # doctest: +SKIP
    ['000_77984f51074b5574.txt', '001_91fa1b76b8366164.txt']
    """

    def __init__(self, store: Index, embedder: Embedder) -> None:
        self.store = store
        self.embedder = embedder

    def search(
        self,
        question: str,
        *,
        k: int = 5,
        mode: str = "hybrid",
        candidates: int = 20,
        skip: Callable[[Chunk], bool] | None = None,
    ) -> list[Passage]:
        """The ``k`` best passages, best first, by ``mode`` (see MODES). Chunks ``skip``
        leaves out are taken out of each ranking before the rankings are fused, so they
        neither take places nor move the others (see :func:`rag.context.left_out`)."""
        if mode not in MODES:
            raise RagError(f"Unknown retrieval mode {mode!r}: use one of {', '.join(MODES)}")
        if mode == "keyword":
            return _first(lambda n: self.store.keyword_search(question, n), k, skip)
        n = max(k, candidates)
        vector = self.embedder.embed_queries([question])[0]
        dense = _first(lambda m: self.store.search(vector, m), n, skip)
        if mode == "dense":
            return dense[:k]
        return fuse([dense, _first(lambda m: self.store.keyword_search(question, m), n, skip)], k)


def _first(
    search: Callable[[int], list[Passage]], n: int, skip: Callable[[Chunk], bool] | None
) -> list[Passage]:
    """The first ``n`` passages ``search(m)`` finds that ``skip`` keeps, ranked again from 0;
    ``search`` is asked for more until it has no more to give."""
    if skip is None:
        return search(n)
    fetch = n
    while True:
        found = search(fetch)
        kept = [p for p in found if not skip(p.chunk)]
        if len(kept) >= n or len(found) < fetch:
            return [replace(p, rank=rank) for rank, p in enumerate(kept[:n])]
        fetch *= 4
