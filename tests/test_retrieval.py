"""Keyword search, fusion and the retriever.

Worked example: ``tokenize("L'action d'Alibaba")`` is ``["action",
"alibaba"]`` (elisions split, accents and stopwords dropped); two rankings
[a, b] and [b, c] fuse to [b, a, c], since b is near the top of both.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.documents import load_documents
from rag.errors import RagError
from rag.index import update_index
from rag.retrieval import KeywordIndex, Retriever, fuse, tokenize
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
