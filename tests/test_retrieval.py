"""Keyword search, fusion and the retriever.

Worked example: ``tokenize("L'action d'Alibaba")`` is ``["action",
"alibaba"]`` (elisions split, accents and stopwords dropped); two rankings
[a, b] and [b, c] fuse to [b, a, c], since b is near the top of both.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from rag.documents import load_documents
from rag.errors import RagError
from rag.index import update_index
from rag.keywords import KeywordIndex, tokenize
from rag.retrieval import Retriever, fuse
from rag.types import Chunk, Passage
from tests.conftest import FakeEmbedder


def chunk(cid: str, text: str = "x") -> Chunk:
    return Chunk(cid, "d", "/d", "T", text, 0, len(text))


def test_tokenize_french() -> None:
    assert tokenize("L'action d'Alibaba") == ["action", "alibaba"]
    assert tokenize("Qu’il a dépensé 52,5 milliards") == ["depense", "52,5", "milliards"]
    assert tokenize("QwQ-32B et GLM-5") == ["qwq-32b", "glm-5"]


def test_fuse_worked_example() -> None:
    a, b, c = chunk("a"), chunk("b"), chunk("c")
    fused = fuse([[Passage(a, 1, 0), Passage(b, 1, 1)], [Passage(b, 1, 0), Passage(c, 1, 1)]], 3)
    assert [p.chunk.id for p in fused] == ["b", "a", "c"]
    assert [p.rank for p in fused] == [0, 1, 2]


def test_keyword_index_finds_rare_word() -> None:
    chunks = [
        chunk("1", "Alibaba lance QwQ-32B."),
        chunk("2", "SenseTime perd de l'argent."),
        chunk("3", ""),
    ]
    idx = KeywordIndex(chunks)
    assert [p.chunk.id for p in idx.search("Qu'est-ce que QwQ-32B ?", 3)] == ["1"]
    assert idx.search("le la les", 3) == []


@pytest.mark.parametrize("saved", [False, True])
def test_idf_counts_the_chunks_holding_a_word(tmp_path: Path, saved: bool) -> None:
    # BM25's idf, log(1 + (N - df + 0.5) / (df + 0.5)): "alibaba" is in 2 of 3 chunks, once
    # twice; "xuhui" in 1. The counts come from BM25's own matrix, saved or not.
    chunks = [
        chunk("1", "Alibaba lance QwQ-32B. Alibaba bondit."),
        chunk("2", "Alibaba et SenseTime."),
        chunk("3", "Xuhui, à Shanghai."),
    ]
    idx = KeywordIndex(chunks)
    if saved:
        idx.save(tmp_path / "kw")
        idx = KeywordIndex.load(tmp_path / "kw", chunks)
    assert idx.idf("alibaba") == pytest.approx(math.log(1 + 1.5 / 2.5))
    assert idx.idf("xuhui") == pytest.approx(math.log(1 + 2.5 / 1.5))
    assert idx.idf("tencent") == 0.0 and idx.idf("") == 0.0


@pytest.fixture
def retriever(tmp_path: Path, corpus: Path) -> Retriever:
    embedder = FakeEmbedder()
    store, _ = update_index(
        tmp_path / "idx", load_documents(corpus), embedder, chunk_size=600, chunk_overlap=120
    )
    return Retriever(store, embedder)


@pytest.mark.parametrize("mode", ["hybrid", "dense", "keyword"])
def test_modes_find_the_right_article(retriever: Retriever, mode: str) -> None:
    passages = retriever.search("QwQ-32B Alibaba DeepSeek modèle", k=3, mode=mode)
    assert passages[0].chunk.doc_id == "004_8fc970d9fd5bad57.txt"
    assert len(passages) <= 3 and [p.rank for p in passages] == list(range(len(passages)))


def test_unknown_mode(retriever: Retriever) -> None:
    with pytest.raises(RagError, match="hybrid"):
        retriever.search("x", mode="magic")


@pytest.mark.parametrize("mode", ["hybrid", "dense", "keyword"])
def test_chunks_left_out_take_no_place(retriever: Retriever, mode: str) -> None:
    question = "QwQ-32B Alibaba DeepSeek modèle"
    everything = retriever.search(question, k=40, mode=mode, candidates=40)
    gone = everything[0].chunk.doc_id
    kept = retriever.search(question, k=3, mode=mode, skip=lambda c: c.doc_id == gone)
    assert len(kept) == 3 and [p.rank for p in kept] == [0, 1, 2]
    assert gone not in {p.chunk.doc_id for p in kept}
    if mode != "hybrid":  # one ranking: the others keep their order
        rest = [p.chunk.id for p in everything if p.chunk.doc_id != gone]
        assert [p.chunk.id for p in kept] == rest[:3]


class Ranking:
    """A store or keyword index that finds the same chunks in the same order for any query."""

    def __init__(self, chunks: list[Chunk]) -> None:
        self.chunks = chunks

    def search(self, _query: object, k: int) -> list[Passage]:
        return [Passage(c, 1.0, rank) for rank, c in enumerate(self.chunks[:k])]


def test_chunks_left_out_move_no_other_in_the_fusion() -> None:
    """A set-aside document must rank the others as if it were not there: it is taken out of
    each ranking before they are fused. Taken out after, the 30 hostile chunks between A and
    B in the dense ranking would still push B below A (eval/injection k05 lost its "58 %"
    that way)."""
    a, b, y = chunk("a"), chunk("b"), chunk("y")
    hostile = [Chunk(f"h#{i}", "h", "/h", "H", "x", 0, 1) for i in range(30)]
    store = Ranking([a, *hostile, b, y])
    store.keyword_search = Ranking([b, y, a]).search  # type: ignore[attr-defined]
    retriever = Retriever(store, FakeEmbedder())  # type: ignore[arg-type]
    kept = retriever.search("q", k=3, candidates=40, skip=lambda c: c.doc_id == "h")
    assert [p.chunk.id for p in kept] == ["b", "a", "y"]
    assert [p.chunk.id for p in retriever.search("q", k=3, candidates=40)] == ["a", "b", "y"]
