"""Documents -> Chunks, sentence-aware, with overlap, offsets kept.

Only a document's content spans are split (boilerplate never becomes a
chunk), and every chunk records where it sits in the document:

>>> from rag.types import Document
>>> doc = Document("a.txt", "/a.txt", "A", "Un. Deux. Trois.", "h", ((0, 16),))
>>> [(c.text, c.start, c.end) for c in chunk_document(doc, size=10, overlap=0)]
[('Un. Deux.', 0, 9), ('Trois.', 10, 16)]
"""

from __future__ import annotations

from collections.abc import Iterable

from .types import Chunk, Document

# Paragraphs first, then sentence ends (French and English punctuation,
# closing quotes included), then clause breaks, then words. The lookbehinds
# keep the punctuation with the sentence it ends.
SEPARATORS = [
    r"\n\s*\n",
    r"\n",
    r"(?<=[.!?…])\s+",
    r"(?<=[.!?…][»\"”’])\s+",
    r"(?<=[;:])\s+",
    r"(?<=,)\s+",
    r"\s+",
    "",
]


def chunk_document(doc: Document, *, size: int = 600, overlap: int = 120) -> list[Chunk]:
    """Split each content span of ``doc`` into chunks of at most ``size`` characters.

    Consecutive chunks of a span share up to ``overlap`` characters, cut at
    sentence or word boundaries, so a fact on a border is whole in one chunk.
    """
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(
        chunk_size=size,
        chunk_overlap=overlap,
        separators=SEPARATORS,
        is_separator_regex=True,
        keep_separator="end",
        strip_whitespace=True,
    )
    spans = doc.spans or ((0, len(doc.text)),)
    chunks: list[Chunk] = []
    for span_start, span_end in spans:
        span_text = doc.text[span_start:span_end]
        for start, end in _locate(span_text, splitter.split_text(span_text)):
            chunks.append(
                Chunk(
                    id=f"{doc.id}#{len(chunks)}",
                    doc_id=doc.id,
                    source=doc.source,
                    title=doc.title,
                    text=doc.text[span_start + start : span_start + end],
                    start=span_start + start,
                    end=span_start + end,
                )
            )
    return chunks


def chunk_documents(
    docs: Iterable[Document], *, size: int = 600, overlap: int = 120
) -> list[Chunk]:
    """All chunks of all documents, in document order."""
    return [c for d in docs for c in chunk_document(d, size=size, overlap=overlap)]


def _locate(text: str, pieces: list[str]) -> list[tuple[int, int]]:
    """Offsets of each piece in ``text``, searching forward.

    The splitter returns stripped substrings of ``text`` in order; an overlap
    means a piece may start before the previous one ended, so the search
    resumes just after the previous piece's start, not its end.
    """
    spans: list[tuple[int, int]] = []
    cursor = 0
    for piece in pieces:
        at = text.find(piece, cursor)
        if at < 0:  # defensive: the splitter rewrote whitespace; fall back to a fresh search
            at = text.find(piece)
        if at < 0:
            continue
        spans.append((at, at + len(piece)))
        cursor = at + 1
    return spans
