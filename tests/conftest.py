"""Shared fakes: a deterministic embedder and a generator with scripted replies.

>>> FakeEmbedder().embed_queries(["SenseTime"]).shape
(1, 256)
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest

import rag.pipeline
from rag.embeddings import Embedder
from rag.generation import Gate, Generator, Message, Usage
from rag.keywords import tokenize
from rag.pipeline import Pipeline
from rag.settings import Settings
from tests.postgres_server import free_port  # noqa: F401 - tests import it from here

CORPUS = Path(__file__).resolve().parent.parent / "rag" / "corpus"


class FakeEmbedder(Embedder):
    """Hashed bag of words: texts sharing words get close vectors. Counts calls.

    256 buckets: with 64, word collisions let unrelated sentences outscore the one a
    question is about once the context keeps only three."""

    name = "fake:bag-of-words"

    def __init__(self, dim: int = 256) -> None:
        self.dim = dim
        self.calls: list[int] = []

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        self.calls.append(len(texts))
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for token in tokenize(text) or ["empty"]:
                out[row, int(hashlib.md5(token.encode()).hexdigest(), 16) % self.dim] += 1.0
        return out / np.linalg.norm(out, axis=1, keepdims=True)


class FakeGenerator(Generator):
    """Replies from a script: a fixed string, a function of the last user message, or a list
    of those, used in turn (the last one repeats). It reads ``marker_probability`` as the
    model's probability of the gated marker, and keeps the gates it was given."""

    name = "fake:scripted"

    def __init__(
        self,
        reply: str | Callable[[str], str] | list[str | Callable[[str], str]] = "Réponse [1].",
        *,
        remember: bool = True,
    ) -> None:
        super().__init__()
        self.reply, self.remember = reply, remember
        self.prompts: list[list[Message]] = []
        self.gates: list[Gate | None] = []
        self.marker_probability = 0.0
        self.translations: list[str] = []
        self.translate: Callable[[str], str] = lambda question: question

    def stream(
        self,
        messages: list[Message],
        *,
        max_tokens: int = 320,
        temperature: float = 0.0,
        seed: int = 0,
        gate: Gate | None = None,
    ) -> Iterator[str]:
        if messages[0]["content"].startswith("Translate the user's question"):
            # rag.translation asking for the question in the documents' language: the script
            # is for answers, so the question comes back as asked unless a test says otherwise.
            self.translations.append(messages[-1]["content"])
            yield self.translate(messages[-1]["content"])
            return
        if not self.remember:  # a long-running server keeps only the last, not a growing log
            self.prompts.clear()
            self.gates.clear()
        self.prompts.append(messages)
        self.gates.append(gate)
        script = self.reply if isinstance(self.reply, list) else [self.reply]
        reply = script[min(len(self.prompts) - 1, len(script) - 1)]
        text = reply(messages[-1]["content"]) if callable(reply) else reply
        pieces = re.findall(r"\S+\s*", text)
        self.usage = Usage(
            prompt_tokens=len(messages[-1]["content"].split()),
            completion_tokens=len(pieces),
            marker_probability=self.marker_probability if gate else None,
        )
        yield from pieces


@pytest.fixture
def no_real_models(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to build a real backend fails the test instead of loading a model."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a real model was requested; inject the fakes")

    monkeypatch.setattr(rag.pipeline, "embedder_from_spec", refuse)
    monkeypatch.setattr(rag.pipeline, "generator_from_spec", refuse)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings whose cache (indexes, models) lives in tmp_path."""
    return Settings(home=tmp_path / "home")


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """A writable copy of the built-in corpus."""
    folder = tmp_path / "corpus"
    folder.mkdir()
    for f in CORPUS.glob("*.txt"):
        (folder / f.name).write_bytes(f.read_bytes())
    return folder


@pytest.fixture(scope="session")
def real_pipeline(tmp_path_factory: pytest.TempPathFactory) -> Pipeline:
    """The default pipeline on the real packaged models, shared by the ``models`` tests so
    the model file is assembled and the articles indexed once per test run."""
    return Pipeline(Settings(home=tmp_path_factory.mktemp("home")))
