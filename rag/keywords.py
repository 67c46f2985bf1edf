"""Keyword search: BM25 over the chunks' words, French-aware, kept with the index.

Dense search blurs rare exact words (names, model numbers like "QwQ-32B"); BM25 finds them.
The words are lowercased and accent-free, elisions are split ("l'action" is "action") and
stopwords of both languages dropped:

>>> tokenize("L'action d'Alibaba a bondi de 7 %")
['action', 'alibaba', 'bondi', '7']

The BM25 index is built when the vector index is (:func:`rag.index.update_index`) and saved
beside it, then memory-mapped when loaded: built at the first question instead, it cost
21-23 s and 0.6 GB at 100,000 chunks, in every process (bench/RESULTS.md).
"""

from __future__ import annotations

import logging
import math
import re
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .types import Chunk, Passage

# Written into the index's manifest: a saved BM25 index is used only by the tokenizer that
# built it. Change it whenever tokenize() or STOPWORDS change.
RULES = "bm25s-lucene/tokens-1"

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
# An empty token list would break the sparse index; a placeholder matches nothing.
_NOTHING = "\x00"


def tokenize(text: str) -> list[str]:
    """Lowercase, accent-free, elision-split word tokens without stopwords."""
    text = _ELISION.sub(" ", text)
    text = unicodedata.normalize("NFKD", text.lower())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return [t for t in _TOKEN.findall(text) if t not in STOPWORDS]


class KeywordIndex:
    """BM25 (bm25s) over chunk texts, in the chunks' order.

    >>> t = "Zhipu a bondi."
    >>> idx = KeywordIndex([Chunk("a#0", "a", "a", "", t, 0, len(t))])
    >>> [p.chunk.id for p in idx.search("Zhipu", 5)], idx.search("Alibaba", 5)
    (['a#0'], [])
    """

    def __init__(self, chunks: Sequence[Chunk], *, bm25: Any = None) -> None:
        import bm25s

        logging.getLogger("bm25s").setLevel(logging.WARNING)  # it narrates every build
        self._chunks = list(chunks)
        self._bm25 = bm25 if bm25 is not None else bm25s.BM25()
        if bm25 is None and self._chunks:
            corpus = [tokenize(c.text) or [_NOTHING] for c in self._chunks]
            self._bm25.index(corpus, show_progress=False)

    def save(self, folder: Path) -> list[str]:
        """Write the index into ``folder`` (created); returns the file names written."""
        folder.mkdir(parents=True, exist_ok=True)
        if self._chunks:
            self._bm25.save(str(folder), show_progress=False)
        return sorted(p.name for p in folder.iterdir())

    @classmethod
    def load(cls, folder: Path, chunks: Sequence[Chunk]) -> KeywordIndex:
        """The index :meth:`save` wrote for ``chunks``, memory-mapped rather than read."""
        import bm25s

        if not chunks:
            return cls(chunks)
        return cls(chunks, bm25=bm25s.BM25.load(str(folder), mmap=True, show_progress=False))

    def _df(self, token: str) -> int:
        """How many chunks hold ``token``: its column's length in BM25's sparse matrix, a
        column per word with a score for each chunk that has it (never 0: an idf is > 0)."""
        column = self._bm25.vocab_dict.get(token) if self._chunks else None
        if column is None:
            return 0
        indptr = self._bm25.scores["indptr"]  # bm25s leaves out its empty token's column
        return int(indptr[column + 1] - indptr[column]) if column + 1 < len(indptr) else 0

    def idf(self, token: str) -> float:
        """How rare ``token`` (from :func:`tokenize`) is among the chunks, BM25's way; 0.0
        for a word no chunk has. ``KeywordIndex(chunks).idf("sensetime")`` is low over the
        built-in articles, ``idf("xuhui")`` high."""
        df = self._df(token)
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
