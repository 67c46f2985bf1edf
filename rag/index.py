"""The FAISS index and its chunk store, persisted on disk with a manifest.

Layout of an index folder::

    CURRENT             name of the live version folder (replaced atomically)
    v-<stamp>/          manifest.json, chunks.jsonl, vectors.faiss, keywords/ (the BM25
                        index, rag.keywords), orders.json (the chunks that give the
                        model orders, rag.screening), and (by default) sentences.npy +
                        sentence_offsets.npy: a vector per sentence unit
    .lock               held while a process writes

Every write builds a complete new version folder, then swaps ``CURRENT``
with ``os.replace``: a crash at any point leaves the old or the new index,
never half of one. The manifest records the embedder, the chunker settings,
each document's content hash, a hash of each file and a checksum of itself,
so a changed corpus is updated incrementally and a damaged index is detected
on load.

The sentence vectors are what :func:`rag.context.focus` scores to choose the
context: embedded here, once, rather than the first time each chunk is
retrieved (about 1 s on two cores, most of the wait for the sources).

>>> import numpy as np
>>> idx = VectorIndex(2); idx.add(np.array([[1, 0], [0, 1]], dtype="float32"))
>>> idx.search(np.array([[0.9, 0.1]], dtype="float32"), 1)[1].tolist()
[[0]]
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import json
import logging
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from .chunking import SENTENCE_RULES, chunk_document, sentence_units
from .embeddings import Embedder
from .errors import IndexStoreError
from .keywords import RULES as KEYWORD_RULES
from .keywords import KeywordIndex
from .screening import RULES as SCREENING_RULES
from .screening import first_order
from .settings import Settings
from .storage import fsync_path, sha256_file
from .types import Chunk, Document, Passage, Skipped

log = logging.getLogger("rag")
# 2: the manifest carries its own checksum. Format 1 left it unchecked, so a flipped byte
# in a document's name or hash loaded as a different index instead of failing.
FORMAT = 2


class _OlderFormat(IndexStoreError):
    """An index written by an older version of rag: rebuilt, but not "damaged"."""


def manifest_digest(manifest: dict[str, Any]) -> str:
    """The sha256 of ``manifest`` without its own checksum, independent of layout."""
    body = {k: v for k, v in manifest.items() if k != "checksum"}
    return hashlib.sha256(
        json.dumps(body, sort_keys=True, ensure_ascii=False).encode("utf-8")
    ).hexdigest()


# Where exact search gives way to an HNSW graph; Settings says why (measured).
APPROXIMATE_ABOVE = Settings.approximate_above
# Texts per call to the embedder while indexing (bench/run.py measures one at a time too).
EMBED_BATCH = 32
HNSW_M = 32  # neighbours per node; 1,808 bytes per chunk at dim 384 against 1,536 for exact
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 256  # recall@10 0.984 at 1M in bench/retrieval.py; 128 gave 0.969


class VectorIndex:
    """Inner-product search over L2-normalised vectors (cosine similarity).

    A thin wrapper so the rest of the code never touches FAISS directly: exact
    (``faiss.IndexFlatIP``) for small collections, an HNSW graph for large ones
    (:meth:`for_size` picks), and any other structure can stand in its place.
    """

    def __init__(self, dim: int, index: Any = None) -> None:
        import faiss

        self.dim = dim
        self._index = index if index is not None else faiss.IndexFlatIP(dim)
        if hasattr(self._index, "hnsw"):
            self._index.hnsw.efSearch = max(self._index.hnsw.efSearch, HNSW_EF_SEARCH)

    @classmethod
    def for_size(
        cls, dim: int, size: int, *, approximate_above: int = APPROXIMATE_ABOVE
    ) -> VectorIndex:
        """An empty index of the structure that suits ``size`` vectors: exact up to
        ``approximate_above``, HNSW above it.

        >>> VectorIndex.for_size(8, 10, approximate_above=5).structure
        'hnsw'
        """
        import faiss

        if size <= approximate_above:
            return cls(dim)
        index = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        index.hnsw.efSearch = HNSW_EF_SEARCH
        return cls(dim, index)

    @property
    def structure(self) -> str:
        return "hnsw" if hasattr(self._index, "hnsw") else "flat"

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def add(self, vectors: np.ndarray) -> None:
        if len(vectors):
            self._index.add(np.ascontiguousarray(vectors, dtype=np.float32))

    def copy(self) -> VectorIndex:
        import faiss

        return VectorIndex(self.dim, faiss.clone_index(self._index))

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        k = min(k, len(self))
        if k == 0:
            empty = np.zeros((len(queries), 0))
            return empty.astype(np.float32), empty.astype(np.int64)
        return self._index.search(np.ascontiguousarray(queries, dtype=np.float32), k)

    def vectors(self) -> np.ndarray:
        return self._index.reconstruct_n(0, len(self))

    def save(self, path: Path) -> None:
        import faiss

        try:
            faiss.write_index(self._index, str(path))
        except RuntimeError as exc:  # how FAISS reports a failed write, a full disk included
            reason = re.search(r"\(([^()]+)\)\s*$", str(exc))
            raise OSError(f"{path.name}: {reason[1] if reason else exc}") from exc

    @classmethod
    def load(cls, path: Path) -> VectorIndex:
        import faiss

        index = faiss.read_index(str(path))
        return cls(index.d, index)


@dataclass(frozen=True)
class UnitVectors:
    """A vector for each sentence unit of each chunk: the units of chunk ``row`` are rows
    ``offsets[row]:offsets[row + 1]`` of ``vectors``, in the order
    :func:`rag.chunking.sentence_units` gives them.

    >>> u = UnitVectors(np.eye(3, dtype="float32"), np.array([0, 2, 3]))
    >>> u.of(1).tolist(), u.keep([1]).offsets.tolist()
    ([[0.0, 0.0, 1.0]], [0, 1])
    """

    vectors: np.ndarray
    offsets: np.ndarray

    def of(self, row: int) -> np.ndarray:
        return self.vectors[self.offsets[row] : self.offsets[row + 1]]

    def keep(self, rows: Sequence[int]) -> UnitVectors:
        """The units of the chunks ``rows`` (in increasing order), as a new table."""
        counts = np.diff(self.offsets)
        mask = np.zeros(len(counts), dtype=bool)
        mask[list(rows)] = True
        return UnitVectors(
            np.asarray(self.vectors[np.repeat(mask, counts)]),
            np.concatenate([[0], np.cumsum(counts[mask])]).astype(np.int64),
        )

    def extend(self, vectors: np.ndarray, counts: Sequence[int]) -> UnitVectors:
        """This table with the units of more chunks after it."""
        tail = self.offsets[-1] + np.cumsum(np.asarray(counts, dtype=np.int64))
        return UnitVectors(
            np.concatenate([np.asarray(self.vectors), vectors]).astype(np.float32),
            np.concatenate([self.offsets, tail]).astype(np.int64),
        )


@dataclass
class IndexStats:
    """What an indexing run did."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    # Unchanged files whose title the reader now finds otherwise: retitled, not re-embedded.
    retitled: list[str] = field(default_factory=list)
    chunks: int = 0
    embedded_chunks: int = 0
    embedded_sentences: int = 0
    seconds: float = 0.0
    rebuilt: str = ""  # why the whole index was rebuilt, if it was
    # The folder's files that were not indexed, with their reasons (set by the Pipeline).
    skipped: list[Skipped] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed or self.retitled or self.rebuilt)

    def sort(self, doc: Document, before: dict[str, Any] | None) -> bool:
        """File ``doc`` as added, updated or unchanged (and retitled) against what the index
        recorded of it, ``before``; True when it must be chunked and embedded. The same bytes
        read by the same reader are unchanged: a new reader re-reads only its files."""
        if before and (before["sha256"], before.get("reader", "")) == (doc.sha256, doc.reader):
            self.unchanged.append(doc.id)
            if before.get("title") != doc.title:
                self.retitled.append(doc.id)
            return False
        (self.updated if before else self.added).append(doc.id)
        return True


class Index(Protocol):
    """What retrieval and the pipeline read of an index, whatever keeps it: :class:`Store`
    (FAISS and BM25 files in a folder, the default) or :class:`rag.postgres.PgStore`."""

    @property
    def manifest(self) -> dict[str, Any]: ...
    @property
    def documents(self) -> dict[str, dict[str, Any]]: ...
    def __len__(self) -> int: ...
    def document_meta(self, doc_id: str) -> dict[str, Any] | None: ...
    def document_chunks(self, doc_id: str) -> list[Chunk]: ...
    def sample(self, n: int) -> list[Chunk]: ...
    def search(self, query_vector: np.ndarray, k: int) -> list[Passage]: ...
    def keyword_search(self, query: str, k: int) -> list[Passage]: ...
    def idf(self, token: str) -> float: ...
    def order_in(self, chunk: Chunk) -> str | None: ...
    def sentence_vectors(self, chunk: Chunk) -> np.ndarray | None: ...


@dataclass
class Store:
    """A loaded index: chunks, their vectors, and the manifest they came with."""

    chunks: list[Chunk]
    vectors: VectorIndex
    manifest: dict[str, Any]
    path: Path
    units: UnitVectors | None = None  # None when indexed with ``sentences=False``
    saved_keywords: KeywordIndex | None = None  # None in an index from before they were saved
    # Row -> the sentence that gives the model orders (rag.screening), for the chunks that
    # have one; None when the index was not screened with today's rules.
    orders: dict[int, str] | None = None

    @functools.cached_property
    def keywords(self) -> KeywordIndex:
        """The BM25 index of the chunks: the saved one, or (an older index) built now."""
        return self.saved_keywords or KeywordIndex(self.chunks)

    def order_in(self, chunk: Chunk) -> str | None:
        """The sentence of ``chunk`` that gives the model orders, as the index screened it
        (:func:`rag.screening.first_order`); screened now if the index did not."""
        row = self._rows.get(chunk.id)
        if self.orders is None or row is None or self.chunks[row] != chunk:
            return first_order(chunk)
        return self.orders.get(row)

    def search(self, query_vector: np.ndarray, k: int) -> list[Passage]:
        """The ``k`` chunks nearest to one query vector, best first."""
        scores, ids = self.vectors.search(query_vector.reshape(1, -1), k)
        return [
            Passage(self.chunks[i], float(s), rank)
            for rank, (s, i) in enumerate(zip(scores[0], ids[0], strict=True))
            if i >= 0
        ]

    def keyword_search(self, query: str, k: int) -> list[Passage]:
        return self.keywords.search(query, k)

    def idf(self, token: str) -> float:
        return self.keywords.idf(token)

    @property
    def documents(self) -> dict[str, dict[str, Any]]:
        return self.manifest["documents"]

    def __len__(self) -> int:
        return len(self.chunks)

    def document_meta(self, doc_id: str) -> dict[str, Any] | None:
        return self.documents.get(doc_id)

    def sample(self, n: int) -> list[Chunk]:
        """The first ``n`` chunks (to measure the documents' characters per token)."""
        return self.chunks[:n]

    @functools.cached_property
    def _rows(self) -> dict[str, int]:
        return {c.id: row for row, c in enumerate(self.chunks)}

    @functools.cached_property
    def _by_document(self) -> dict[str, list[Chunk]]:
        out: dict[str, list[Chunk]] = {}
        for c in self.chunks:
            out.setdefault(c.doc_id, []).append(c)
        return out

    def document_chunks(self, doc_id: str) -> list[Chunk]:
        """The chunks of one document, in order; [] for a document this index lacks."""
        return self._by_document.get(doc_id, [])

    def sentence_vectors(self, chunk: Chunk) -> np.ndarray | None:
        """The vectors of ``chunk``'s sentence units, or None if this index has none for it
        (indexed without them, or not one of its chunks)."""
        row = self._rows.get(chunk.id)
        if self.units is None or row is None or self.chunks[row] != chunk:
            return None
        return self.units.of(row)


def load_index(folder: Path) -> Store | None:
    """The live index in ``folder``, or None if there is none yet.

    Raises IndexStoreError when the files are damaged (a hash, the format or
    the counts do not match); callers rebuild.
    """
    try:
        name = (folder / "CURRENT").read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:  # not text, or not a file
        raise IndexStoreError(f"the index in {folder} is damaged (CURRENT: {exc})") from exc
    if not name.startswith("v-") or "/" in name:
        raise IndexStoreError(f"the index in {folder} is damaged (CURRENT names {name[:40]!r})")
    version = folder / name
    try:
        manifest = json.loads((version / "manifest.json").read_text(encoding="utf-8"))
        if not isinstance(manifest, dict):
            raise IndexStoreError(f"the index in {folder} is damaged (manifest is not a record)")
        if manifest.get("format") != FORMAT:
            older = isinstance(manifest.get("format"), int) and manifest["format"] < FORMAT
            raise (_OlderFormat if older else IndexStoreError)(
                f"index format {manifest.get('format')} is not {FORMAT}"
            )
        if manifest.get("checksum") != manifest_digest(manifest):
            raise IndexStoreError(
                f"the index in {folder} is damaged (manifest.json does not match its checksum)"
            )
        for fname, digest in manifest["files"].items():
            if sha256_file(version / fname) != digest:
                raise IndexStoreError(f"{version / fname} does not match its recorded hash")
        with (version / "chunks.jsonl").open(encoding="utf-8") as f:
            chunks = [Chunk(**json.loads(line)) for line in f]
        vectors = VectorIndex.load(version / "vectors.faiss")
        units = None
        # The files decide, not the manifest's flag: they are the ones hash-checked above.
        kept = {"sentences.npy", "sentence_offsets.npy"} & set(manifest["files"])
        if len(kept) == 1:
            raise IndexStoreError(
                f"the index in {folder} is damaged ({kept.pop()} without its companion)"
            )
        if kept:
            # Mapped, not read: at a million chunks the table is gigabytes, and a question
            # touches the rows of a few chunks.
            units = UnitVectors(
                np.load(version / "sentences.npy", mmap_mode="r"),
                np.load(version / "sentence_offsets.npy"),
            )
        keywords = None
        if manifest.get("keywords") == KEYWORD_RULES:  # another tokenizer's: built anew
            keywords = KeywordIndex.load(version / "keywords", chunks)
        orders = None
        if manifest.get("screening") == SCREENING_RULES:  # older rules: screened anew
            saved = json.loads((version / "orders.json").read_text(encoding="utf-8"))
            orders = {int(row): str(sentence) for row, sentence in saved["rows"].items()}
    except IndexStoreError:
        raise
    except (OSError, ValueError, KeyError, TypeError, AttributeError, RuntimeError) as exc:
        raise IndexStoreError(f"the index in {folder} is damaged ({exc})") from exc
    if len(vectors) != len(chunks):
        raise IndexStoreError(
            f"the index in {folder} has {len(vectors)} vectors for {len(chunks)} chunks"
        )
    if units is not None and (
        len(units.offsets) != len(chunks) + 1
        or units.offsets[0] != 0
        or units.offsets[-1] != len(units.vectors)
        or units.vectors.shape[1:] != (vectors.dim,)
    ):
        raise IndexStoreError(
            f"the index in {folder} has sentence vectors that do not match its chunks"
        )
    return Store(chunks, vectors, manifest, version, units, keywords, orders)


def update_index(
    folder: Path,
    documents: Sequence[Document],
    embedder: Embedder,
    *,
    chunk_size: int,
    chunk_overlap: int,
    on_progress: Callable[[int, int], None] | None = None,
    approximate_above: int = APPROXIMATE_ABOVE,
    sentences: bool = True,
) -> tuple[Store, IndexStats]:
    """Bring the index in ``folder`` in line with ``documents``.

    Only new or changed documents are chunked and embedded; removed ones
    disappear; unchanged ones keep their vectors. A damaged index, or one
    built by another embedder or chunker, is rebuilt whole (``stats.rebuilt``
    says why). With ``sentences``, each chunk's sentence units are embedded too
    (:class:`UnitVectors`), so the context needs no embedding when it is chosen.
    ``on_progress(done, total)`` counts texts embedded, chunks and sentences. Above
    ``approximate_above`` chunks the vectors go into an HNSW graph instead of an exact
    index (see :data:`APPROXIMATE_ABOVE`); when documents are only added, the new
    vectors are added to a copy of the old index rather than rebuilding it.
    """
    started = time.perf_counter()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise IndexStoreError(f"Could not create the index folder {folder} ({exc})") from exc
    config = index_config(embedder, chunk_size, chunk_overlap, sentences)
    stats = IndexStats()
    with _lock(folder):
        try:
            old = load_index(folder)
        except _OlderFormat as exc:
            log.info("Index from an older version of rag, rebuilding it: %s", exc)
            old, stats.rebuilt = None, f"older format: {exc}"
        except IndexStoreError as exc:
            log.warning("Damaged index, rebuilding it: %s", exc)
            old, stats.rebuilt = None, f"damaged: {exc}"
        if old is not None and {k: old.manifest.get(k) for k in config} != config:
            changed = [
                f"{k} (was {old.manifest.get(k) or 'none'})"
                for k in config
                if old.manifest.get(k) != config[k]
            ]
            stats.rebuilt = f"settings changed: {', '.join(changed)}"
            old = None

        old_docs = old.documents if old else {}
        new_ids = {d.id for d in documents}
        stats.removed = sorted(set(old_docs) - new_ids)

        keep_chunks: list[Chunk] = []
        keep_rows: list[int] = []
        fresh: list[Chunk] = []
        titles = {d.id: d.title for d in documents}
        for doc in documents:
            if stats.sort(doc, old_docs.get(doc.id)):
                fresh.extend(chunk_document(doc, size=chunk_size, overlap=chunk_overlap))
        if old is not None:
            unchanged = set(stats.unchanged)
            for row, chunk in enumerate(old.chunks):
                if chunk.doc_id in unchanged:
                    keep_chunks.append(replace(chunk, title=titles[chunk.doc_id]))
                    keep_rows.append(row)
        if old is not None and not (fresh or stats.removed or stats.updated or stats.retitled):
            if old.saved_keywords is None or old.orders is None:  # older rules, or none
                meta = {**config, "structure": old.vectors.structure, "documents": old.documents}
                orders = _screen(old.chunks, old, range(len(old.chunks)))
                old = _write_version(folder, old.chunks, old.vectors, meta, orders, old.units)
            _sweep(folder, keep=old.path.name)  # what a crashed write may have left
            stats.chunks, stats.seconds = len(old.chunks), time.perf_counter() - started
            return old, stats

        fresh_units = [
            [c.text[s:e] for s, e in sentence_units(c)] if sentences else [] for c in fresh
        ]
        unit_texts = [t for texts in fresh_units for t in texts]
        progress = Progress(len(fresh) + len(unit_texts), on_progress)
        fresh_vectors = embed_texts(embedder, [c.text for c in fresh], progress)
        units = None
        if sentences:
            empty = UnitVectors(np.zeros((0, embedder.dim), np.float32), np.zeros(1, np.int64))
            base = old.units if old is not None and old.units is not None else empty
            if old is not None and len(keep_rows) < len(old.chunks):
                base = base.keep(keep_rows)
            units = base.extend(
                embed_texts(embedder, unit_texts, progress), [len(t) for t in fresh_units]
            )
        chunks = keep_chunks + fresh
        index = VectorIndex.for_size(embedder.dim, len(chunks), approximate_above=approximate_above)
        if old is not None:
            if len(keep_rows) == len(old.chunks) and old.vectors.structure == index.structure:
                # Only additions: the old rows keep their places, and an HNSW graph is
                # extended rather than rebuilt (minutes at a million chunks). A copy,
                # because the old store may still be answering questions in this process.
                index = old.vectors.copy()
            elif keep_rows:
                index.add(old.vectors.vectors()[keep_rows])
        index.add(fresh_vectors)
        documents_meta = {d.id: document_meta(d) for d in documents}
        meta = {**config, "structure": index.structure, "documents": documents_meta}
        orders = _screen(chunks, old, keep_rows)
        store = _write_version(folder, chunks, index, meta, orders, units)
        stats.chunks, stats.embedded_chunks = len(chunks), len(fresh)
        stats.embedded_sentences = len(unit_texts)
        stats.seconds = time.perf_counter() - started
        return store, stats


def index_config(
    embedder: Embedder, chunk_size: int, chunk_overlap: int, sentences: bool
) -> dict[str, Any]:
    """What an index records of the settings it was built with: another value of any of
    them means other vectors or other chunks."""
    return {
        "embedder": embedder.name,
        "dim": embedder.dim,
        "chunk_size": chunk_size,
        "chunk_overlap": chunk_overlap,
        "sentences": SENTENCE_RULES if sentences else None,
    }


class Progress:
    """Counts texts embedded across the calls of one update, for ``on_progress``."""

    def __init__(self, total: int, report: Callable[[int, int], None] | None) -> None:
        self.done, self.total, self.report = 0, total, report

    def __call__(self, n: int) -> None:
        self.done += n
        if self.report:
            self.report(self.done, self.total)


def embed_texts(embedder: Embedder, texts: list[str], progress: Progress) -> np.ndarray:
    parts = []
    for i in range(0, len(texts), EMBED_BATCH):
        batch = texts[i : i + EMBED_BATCH]
        parts.append(embedder.embed_passages(batch))
        progress(len(batch))
    if not parts:
        return np.zeros((0, embedder.dim), dtype=np.float32)
    return np.vstack(parts).astype(np.float32)


def _screen(chunks: Sequence[Chunk], old: Store | None, kept: Sequence[int]) -> dict[int, str]:
    """Row -> the sentence that gives the model orders, for the chunks that have one
    (:func:`rag.screening.first_order`, 1-2 ms a chunk). ``chunks`` begin with the rows
    ``kept`` of ``old``, whose verdicts are reused when made with today's rules."""
    carried: dict[int, str | None] = {}
    if old is not None and old.orders is not None:
        carried = {row: old.orders.get(before) for row, before in enumerate(kept)}
    # Uncached: a whole collection would flush first_order's cache of retrieved chunks.
    screened = {
        row: carried[row] if row in carried else first_order.__wrapped__(chunk)
        for row, chunk in enumerate(chunks)
    }
    return {row: sentence for row, sentence in screened.items() if sentence}


def document_meta(doc: Document) -> dict[str, Any]:
    """What the manifest records of a document: enough to list it and to tell if it changed
    (its bytes, or the reader that read it)."""
    meta: dict[str, Any] = {"sha256": doc.sha256, "title": doc.title, "source": doc.source}
    if doc.format != "text":
        meta.update(format=doc.format, reader=doc.reader, pages=doc.pages, notes=list(doc.notes))
        meta.update({k: v for k, v in (("date", doc.date), ("author", doc.author)) if v})
    return meta


def _write_version(
    folder: Path,
    chunks: list[Chunk],
    index: VectorIndex,
    meta: dict[str, Any],
    orders: dict[int, str],
    units: UnitVectors | None = None,
) -> Store:
    name = f"v-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}-{os.urandom(3).hex()}"
    tmp = folder / f".{name}.tmp"
    pointer = folder / f".CURRENT.{os.getpid()}"
    keywords = KeywordIndex(chunks)
    try:
        tmp.mkdir()
        index.save(tmp / "vectors.faiss")
        with (tmp / "chunks.jsonl").open("w", encoding="utf-8") as f:
            for chunk in chunks:
                f.write(json.dumps(asdict(chunk), ensure_ascii=False) + "\n")
        names = ["vectors.faiss", "chunks.jsonl"]
        if units is not None:
            for n, array in (
                ("sentences.npy", units.vectors),
                ("sentence_offsets.npy", units.offsets),
            ):
                with (tmp / n).open("wb") as f:
                    np.save(f, np.ascontiguousarray(array))
                names.append(n)
        names += [f"keywords/{n}" for n in keywords.save(tmp / "keywords")]
        rows = {str(row): sentence for row, sentence in sorted(orders.items())}
        (tmp / "orders.json").write_text(json.dumps({"rows": rows}, ensure_ascii=False), "utf-8")
        names.append("orders.json")
        files = {n: sha256_file(tmp / n) for n in names}
        manifest = {"format": FORMAT, "created": time.time(), **meta, "files": files}
        manifest["keywords"], manifest["screening"] = KEYWORD_RULES, SCREENING_RULES
        manifest["checksum"] = manifest_digest(manifest)
        (tmp / "manifest.json").write_text(
            json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8"
        )
        for n in [*names, "manifest.json", "keywords"]:
            fsync_path(tmp / n)
        os.replace(tmp, folder / name)
        fsync_path(folder)
        pointer.write_text(name)
        fsync_path(pointer)
        os.replace(pointer, folder / "CURRENT")  # the commit point
    except OSError as exc:
        # Nothing of this write stays behind: on a full disk, its leftovers are what the
        # user needs back. CURRENT still names the previous version.
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(folder / name, ignore_errors=True)
        pointer.unlink(missing_ok=True)
        raise IndexStoreError(
            f"Could not write the index in {folder} ({exc}); the previous index is untouched"
        ) from exc
    try:
        fsync_path(folder)
    except OSError as exc:  # committed; the rename may just not survive a power cut yet
        log.warning("Could not flush %s to disk (%s)", folder, exc)
    _sweep(folder, keep=name)
    saved = KeywordIndex.load(folder / name / "keywords", chunks)  # mapped, as load_index does
    return Store(chunks, index, manifest, folder / name, units, saved, orders)


def _sweep(folder: Path, keep: str) -> None:
    """Remove older versions and what crashed writes left (half-written version folders,
    pointer files): the caller holds the lock, so no write is under way."""
    for path in folder.iterdir():
        if path.name == keep:
            continue
        if path.name.startswith(("v-", ".v-")):
            shutil.rmtree(path, ignore_errors=True)
        elif path.name.startswith(".CURRENT."):
            path.unlink(missing_ok=True)


@contextlib.contextmanager
def _lock(folder: Path) -> Iterator[None]:
    """One writer at a time per index folder (other processes wait). The kernel releases
    the lock of a process that dies, even by kill -9."""
    try:
        handle = (folder / ".lock").open("a")
    except OSError as exc:
        raise IndexStoreError(f"Could not open the lock file in {folder} ({exc})") from exc
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
