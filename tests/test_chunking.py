"""Chunking keeps offsets and sentences.

Worked example: a document "Un. Deux. Trois." with one content span, cut at
10 characters with no overlap, gives chunks "Un. Deux." (0-9) and
"Trois." (10-16); each is exactly ``text[start:end]``.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from rag.chunking import chunk_document, chunk_documents
from rag.types import Document

CORPUS = Path(__file__).resolve().parent.parent / "rag" / "corpus"


def doc(text: str, spans: tuple[tuple[int, int], ...] = ()) -> Document:
    return Document("d.txt", "/d.txt", "T", text, "h", spans or ((0, len(text)),))


def test_worked_example() -> None:
    chunks = chunk_document(doc("Un. Deux. Trois."), size=10, overlap=0)
    assert [(c.text, c.start, c.end) for c in chunks] == [("Un. Deux.", 0, 9), ("Trois.", 10, 16)]


@pytest.mark.parametrize("path", sorted(CORPUS.glob("*.txt")), ids=lambda p: p.name[:3])
@pytest.mark.parametrize("size,overlap", [(300, 60), (600, 120), (1000, 0)])
def test_offsets_exact_and_sizes_bounded(path: Path, size: int, overlap: int) -> None:
    text = path.read_text(encoding="utf-8")
    chunks = chunk_document(doc(text), size=size, overlap=overlap)
    assert chunks
    for c in chunks:
        assert text[c.start : c.end] == c.text
        assert len(c.text) <= size
        assert c.text == c.text.strip()
    # Nothing of the text is lost: every non-space character is in some chunk.
    covered = set()
    for c in chunks:
        covered.update(range(c.start, c.end))
    assert all(i in covered for i, ch in enumerate(text) if not ch.isspace())


def test_cuts_at_sentence_ends() -> None:
    text = " ".join(f"Phrase numéro {i} avec quelques mots de plus." for i in range(40))
    for c in chunk_document(doc(text), size=200, overlap=40):
        assert c.text.endswith("."), c.text
        assert c.text[0].isupper(), c.text


def test_overlap_repeats_a_sentence() -> None:
    text = " ".join(f"Phrase {i} est ici." for i in range(30))
    chunks = chunk_document(doc(text), size=100, overlap=40)
    assert all(a.end > b.start for a, b in itertools.pairwise(chunks))


def test_only_spans_are_chunked() -> None:
    text = "Vrai texte ici.\n\nNewsletter\n\nAutre vrai texte."
    chunks = chunk_document(doc(text, ((0, 15), (29, len(text)))), size=100, overlap=0)
    assert [c.text for c in chunks] == ["Vrai texte ici.", "Autre vrai texte."]
    assert all("Newsletter" not in c.text for c in chunks)


def test_ids_unique_and_carry_document() -> None:
    docs = [doc("A. " * 200), Document("e.txt", "/e.txt", "E", "B. " * 200, "h", ((0, 600),))]
    chunks = chunk_documents(docs, size=100, overlap=10)
    assert len({c.id for c in chunks}) == len(chunks)
    assert {c.doc_id for c in chunks} == {"d.txt", "e.txt"}
