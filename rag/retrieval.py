"""Retrieval: dense search, BM25 keyword search, and their fusion.

Dense search finds paraphrases and English questions over French text;
BM25 finds rare exact words (names, model numbers like "QwQ-32B") that a
small embedding model blurs. Reciprocal rank fusion combines the two
rankings without having to calibrate their scores against each other.

>>> tokenize("L'action d'Alibaba a bondi de 7 %")
['action', 'alibaba', 'bondi', '7']
"""

from __future__ import annotations

import logging
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import replace

import numpy as np

from .embeddings import Embedder
from .errors import RagError
from .index import Store
from .settings import RETRIEVAL_MODES as MODES
from .types import Chunk, Passage

RRF_K = 60  # the constant of Cormack et al. (2009); damps the weight of the very top ranks

# Elided articles and pronouns: "l'action" -> "action", "qu'il" -> "il".
_ELISION = re.compile(r"\b(?:[ldjmnst]|qu|jusqu|lorsqu|puisqu)['’]", re.IGNORECASE)
_TOKEN = re.compile(r"[a-z0-9]+(?:[.,-][a-z0-9]+)*")
STOPWORDS = frozenset(
    """a au aux avec ce ces cet cette dans de des du elle en est et etre il ils la le les leur
    lui mais ne ni nous on ou par pas pour qu que qui sa se ses son sont sur ta te tes ton
    tu un une vos votre vous y a l d s n c j m qu ete fait plus an and are as at be by for
    from has have how in is it its of on or that the their this to was were what when where
    which who why will with did does do about than""".split()
)


def tokenize(text: str) -> list[str]:
    """Lowercase, accent-free, elision-split word tokens without stopwords."""
    text = _ELISION.sub(" ", text)
    text = unicodedata.normalize("NFKD", text.lower())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return [t for t in _TOKEN.findall(text) if t not in STOPWORDS]


class KeywordIndex:
    """BM25 over chunk texts (bm25s), built in memory from a Store's chunks."""

    def __init__(self, chunks: Sequence[Chunk]) -> None:
        import bm25s

        logging.getLogger("bm25s").setLevel(logging.WARNING)  # it narrates every build
        self._chunks = list(chunks)
        self._bm25 = bm25s.BM25()
        # An empty token list would break the sparse index; a placeholder matches nothing.
        corpus = [tokenize(c.text) or ["\x00"] for c in self._chunks]
        if corpus:
            self._bm25.index(corpus, show_progress=False)
        self._df: Counter[str] = Counter(t for tokens in corpus for t in set(tokens))

    def idf(self, token: str) -> float:
        """How rare ``token`` (from :func:`tokenize`) is among the chunks, BM25's way; 0.0
        for a word no chunk has. ``KeywordIndex(chunks).idf("sensetime")`` is low over the
        built-in articles, ``idf("xuhui")`` high."""
        df = self._df.get(token, 0)
        if not df:
            return 0.0
        return math.log(1 + (len(self._chunks) - df + 0.5) / (df + 0.5))

    def search(self, query: str, k: int) -> list[Passage]:
        tokens = tokenize(query)
        if not tokens or not self._chunks:
            return []
        scores = self._bm25.get_scores(tokens)
        order = np.argsort(-scores, kind="stable")[:k]
        return [
            Passage(self._chunks[i], float(scores[i]), rank)
            for rank, i in enumerate(order)
            if scores[i] > 0
        ]


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

    def __init__(self, store: Store, embedder: Embedder) -> None:
        self.store = store
        self.embedder = embedder
        self._keyword: KeywordIndex | None = None

    @property
    def keyword(self) -> KeywordIndex:
        if self._keyword is None:  # built on first keyword search, not at load
            self._keyword = KeywordIndex(self.store.chunks)
        return self._keyword

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
            return _first(lambda n: self.keyword.search(question, n), k, skip)
        n = max(k, candidates)
        vector = self.embedder.embed_queries([question])[0]
        dense = _first(lambda m: self.store.search(vector, m), n, skip)
        if mode == "dense":
            return dense[:k]
        return fuse([dense, _first(lambda m: self.keyword.search(question, m), n, skip)], k)


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
