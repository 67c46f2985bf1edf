"""The chat app on fake models, as its own process: ``python -m tests.fake_chat_server
CORPUS HOME PORT``. The load test measures this process's memory, apart from its clients'.

The generator quotes a statement of the first passage it is given, cited ``[1]``, so every
answer is backed by its citation; it keeps only the last prompt, as a log of them all would
itself grow with every question.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

from rag import Settings
from rag.pipeline import Pipeline
from tests.conftest import FakeEmbedder, FakeGenerator

ROOT = Path(__file__).resolve().parent.parent


def quote_first_passage(prompt: str) -> str:
    """A statement of the prompt's first passage (its text follows "[1] "), cited: always
    backed by it."""
    block = re.search(r"(?ms)^\[1\] (.+?)(?:\n\n|\Z)", prompt)
    text = block[1] if block else "Rien."
    statements = [s for s in re.split(r"(?<=[.!?])\s+", text) if s.endswith(".")]
    return f"{(statements or [text])[0].rstrip('.')} [1]."


def main() -> None:
    corpus, home, port = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
    spec = importlib.util.spec_from_file_location("app", ROOT / "app.py")
    assert spec and spec.loader
    app = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(app)
    generator = FakeGenerator(quote_first_passage, remember=False)
    embedder = FakeEmbedder()
    demo = app.build_app(
        Settings(home=home, corpus=corpus),
        pipeline_for=lambda s: Pipeline(s, embedder=embedder, generator=generator),
    )
    demo.launch(server_port=port, prevent_thread_lock=True, quiet=True)
    print(f"ready on {port}", flush=True)
    demo.block_thread()


if __name__ == "__main__":
    main()
