"""Documents -> Chunks, sentence-aware, with overlap, offsets kept.

Only a document's content spans are split (boilerplate never becomes a
chunk), and every chunk records where it sits in the document:

>>> from rag.types import Document
>>> doc = Document("a.txt", "/a.txt", "A", "Un. Deux. Trois.", "h", ((0, 16),))
>>> [(c.text, c.start, c.end) for c in chunk_document(doc, size=10, overlap=0)]
[('Un. Deux.', 0, 9), ('Trois.', 10, 16)]

A chunk's sentences, the units the context is chosen from, are found here too:

>>> sentence_spans("Un. Deux ? « Trois. » Quatre")
[(0, 3), (4, 10), (11, 21), (22, 28)]
"""

from __future__ import annotations

import hashlib
import re
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

# Whitespace after . ! ? … (and any closing quote), before what starts a sentence; or a line
# break. "M. Xu" and "2,4 milliards" do not match: the next character is checked.
_BOUNDARY = re.compile(
    r"(?<=[.!?…])(?<!\b[A-Z]\.)[ \t]+(?=[A-ZÀ-ÖØ-Þ«\"“0-9])"
    r"|(?<=[.!?…][»\"”’)])[ \t]+"
    r"|(?<=[.!?…][ \u00a0][»”])[ \t]+"
    r"|[ \t]*\n\s*"
)
MIN_SENTENCE = 40  # shorter pieces (headings, "a-t-il déclaré.") are glued to the next one
# Names the rules above: the index keeps a vector per sentence unit and rebuilds them when
# this changes, since a stored vector must belong to the unit the context scores.
SENTENCE_RULES = hashlib.sha256(f"{_BOUNDARY.pattern}|{MIN_SENTENCE}".encode()).hexdigest()[:12]


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


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of each sentence of ``text``, surrounding whitespace excluded."""
    spans, start = [], 0
    for m in _BOUNDARY.finditer(text):
        if m.start() > start:
            spans.append((start, m.start()))
        start = m.end()
    if text[start:].strip():
        spans.append((start, len(text.rstrip())))
    return spans


def sentence_units(chunk: Chunk) -> list[tuple[int, int]]:
    """``(start, end)`` in ``chunk.text`` of its sentences, short ones merged into the next:
    the units :func:`rag.context.focus` chooses from, and the index embeds one by one."""
    units: list[tuple[int, int]] = []
    pending: int | None = None
    for start, end in sentence_spans(chunk.text):
        begin = start if pending is None else pending
        if end - begin < MIN_SENTENCE:
            pending = begin
            continue
        units.append((begin, end))
        pending = None
    if pending is not None:
        if units:
            units[-1] = (units[-1][0], len(chunk.text.rstrip()))
        else:
            units.append((pending, len(chunk.text.rstrip())))
    return units
