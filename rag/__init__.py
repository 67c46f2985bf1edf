"""Local, offline question answering over your documents, with cited answers.

>>> from rag import answer                                   # doctest: +SKIP
>>> a = answer("Quelle était la capitalisation boursière de SenseTime ?")  # doctest: +SKIP
>>> print(a.text)                                            # doctest: +SKIP
La capitalisation boursière de SenseTime était de 16,5 milliards de dollars lors de sa cotation [1].

``import rag`` is light: the models, FAISS and numpy load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import (
    CorpusError,
    IndexStoreError,
    ModelError,
    PromptError,
    QuestionError,
    RagError,
    ServerError,
    SettingsError,
)
from .settings import Settings
from .types import (
    Answer,
    Chunk,
    Citation,
    Document,
    Excerpt,
    IndexedDocument,
    OtherFigure,
    Passage,
    Section,
    SentenceCheck,
    Skipped,
    Sources,
    Timings,
)

if TYPE_CHECKING:
    from .pipeline import Pipeline, answer, answer_stream, build_index, get_pipeline

__all__ = [
    "Answer",
    "Chunk",
    "Citation",
    "CorpusError",
    "Document",
    "Excerpt",
    "IndexStoreError",
    "IndexedDocument",
    "ModelError",
    "OtherFigure",
    "Passage",
    "Pipeline",
    "PromptError",
    "QuestionError",
    "RagError",
    "Section",
    "SentenceCheck",
    "ServerError",
    "Settings",
    "SettingsError",
    "Skipped",
    "Sources",
    "Timings",
    "answer",
    "answer_stream",
    "build_index",
    "get_pipeline",
]

_LAZY = {"Pipeline", "answer", "answer_stream", "build_index", "get_pipeline"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from . import pipeline

        return getattr(pipeline, name)
    raise AttributeError(f"module 'rag' has no attribute {name!r}")
