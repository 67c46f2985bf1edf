"""The indexed documents as a reader meets them: listed, read back, placed and quoted, and
those set aside for giving the model orders.

The answer path needs one thing from here, whether a document is set aside
(:meth:`Library.set_aside`); the chat and ``rag index`` need the rest. A Library reads the
index it is given on each call, so it stays right when the index is rebuilt.

>>> library = Library(lambda: store, texts=Path("~/.cache/rag/texts"))  # doctest: +SKIP
>>> library.quote(answer.citations[0])                                # doctest: +SKIP
('… SenseTime, ', 'fondée en 2014', ', compte désormais …')
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path

from .documents import load_file
from .errors import CorpusError
from .index import Index
from .sources import place, section
from .types import Citation, Document, IndexedDocument, Passage

__all__ = ["Library"]

# The longest document left out whole when one of its chunks gives the model orders: every
# hostile page of eval/injection/ is one or two chunks, the longest built-in article 17.
_WHOLE_DOCUMENT_CHUNKS = 50
# Characters of a cited span's page or section shown each side of it (Library.quote).
_AROUND = 600


class Library:
    """The documents of the index ``store()`` returns; ``texts`` is where the readers keep
    the text they extract (see ``Pipeline.texts_dir``)."""

    def __init__(self, store: Callable[[], Index], texts: Path) -> None:
        self._store = store
        self.texts = texts
        # Whether a document gives the model orders, by id and content hash (see set_aside).
        self._set_aside: dict[str, str] = {}

    def documents(self) -> list[IndexedDocument]:
        """The documents in the index, in the order of their ids."""
        store = self._store()
        return [
            IndexedDocument(
                doc_id,
                m.get("title", doc_id),
                m.get("source", ""),
                len(store.document_chunks(doc_id)),
                self.set_aside(doc_id),
                format=m.get("format", "text"),
                pages=m.get("pages", 0),
                notes=tuple(m.get("notes", ())),
            )
            for doc_id, m in sorted(store.documents.items())
        ]

    def set_aside(self, doc_id: str) -> str:
        """The sentence that has document ``doc_id`` left out of every answer because it
        gives the model orders (:func:`rag.context.left_out`), or "" if answers may use it.
        The index screened every chunk when it embedded it (``Store.order_in``). Only
        documents of at most ``_WHOLE_DOCUMENT_CHUNKS`` chunks are set aside whole: hostile
        pages are short, while a long report that quotes one order is news about it, and
        only the chunks that give orders are left out of it."""
        store = self._store()
        key = f"{doc_id}\0{(store.document_meta(doc_id) or {}).get('sha256', '')}"
        if key not in self._set_aside:
            chunks = store.document_chunks(doc_id)
            whole = len(chunks) <= _WHOLE_DOCUMENT_CHUNKS
            found = next(filter(None, map(store.order_in, chunks)), None) if whole else None
            self._set_aside[key] = found or ""
        return self._set_aside[key]

    def document(self, doc_id: str) -> Document | None:
        """An indexed document as its chunks' offsets count, with its pages or sections; None
        when its file is gone or no longer the one indexed."""
        meta = self._store().document_meta(doc_id)
        if not meta:
            return None
        return _read_document(meta["source"], meta.get("sha256", ""), self.texts)

    def document_text(self, doc_id: str) -> str | None:
        """The text of an indexed document (see ``document``)."""
        doc = self.document(doc_id)
        return doc.text if doc else None

    def where(self, passage: Passage) -> str:
        """Where ``passage`` is in its document, in words ("p. 4", a heading, "paragraph 4 of
        17"; "" if the document cannot be read)."""
        return place(self.document, passage.chunk.doc_id, passage.chunk.start, passage.chunk.end)

    def quote(self, citation: Citation) -> tuple[str, str, str]:
        """The cited span with the text around it: ``(before, cited, after)``, what a reader
        needs to see the quote in context. The text around is the span's page or section, up
        to ``_AROUND`` characters each side, where the document has them; else its chunk."""
        doc = self.document(citation.doc_id)
        part = section(doc, citation.start) if doc else None
        if doc and part and doc.text[citation.start : citation.end] == citation.text:
            a = max(part.start, citation.start - _AROUND)
            b = min(part.end, citation.end + _AROUND)
            before, after = doc.text[a : citation.start], doc.text[citation.end : b]
            return (
                ("…" if a > part.start else "") + before,
                citation.text,
                after + ("…" if b < part.end else ""),
            )
        for chunk in self._store().document_chunks(citation.doc_id):
            if chunk.start <= citation.start < chunk.end:
                a = citation.start - chunk.start
                b = min(citation.end, chunk.end) - chunk.start
                return chunk.text[:a], chunk.text[a:b], chunk.text[b:]
        return "", citation.text, ""


@functools.lru_cache(maxsize=64)
def _read_document(source: str, sha256: str, texts: Path) -> Document | None:
    path = Path(source)
    try:
        doc = load_file(path, path.parent, cache=texts)
    except CorpusError:
        return None
    if sha256 and doc.sha256 != sha256:
        return None  # changed since it was indexed: its offsets no longer hold
    return doc
