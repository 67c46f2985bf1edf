"""Robustness: bad questions, bad documents, crashes, two writers and full disks.

Each test guards a line of docs/robustness.md. Worked example: with the five articles indexed,
adding an empty ``zz.txt`` and indexing again logs "skipping zz.txt: is empty, nothing to
index", adds nothing and leaves the five articles found by their own first chunk. A model that
replies "SenseTime vaut 30,6 milliards de dollars [7][99]." over five passages loses both
markers: asked "Quelle est la capitalisation boursière de SenseTime ?", the sentence is re-cited
``[n]`` to the passage that states 30,6 milliards; asked "🤖📈💰❓", whose passages do not state
it, the answer is the plain refusal (``REFUSALS["en"]``) with no citation."""

from __future__ import annotations

import codecs
import contextlib
import hashlib
import logging
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import types
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import IO, Any, cast

import hypothesis
import numpy as np
import pytest
from hypothesis import strategies as st

import rag.documents
import rag.pipeline
from rag import models
from rag.citations import parse_markers
from rag.documents import load_documents
from rag.errors import IndexStoreError, QuestionError
from rag.index import IndexStats, Store, load_index, update_index
from rag.models import PackagedModel, model_path
from rag.pipeline import Pipeline
from rag.refusals import REFUSALS
from rag.settings import Settings
from rag.text import detect_language
from rag.types import Answer
from tests.conftest import CORPUS, FakeEmbedder, FakeGenerator
from tests.index_worker import disk_full_at, patch_writes, update

ROOT = Path(__file__).resolve().parent.parent
QUESTION = "Quelle est la capitalisation boursière de SenseTime ?"
FILE_000 = "000_77984f51074b5574.txt"


@pytest.fixture(autouse=True)
def _fakes_only(no_real_models: None) -> None:
    """Every test here runs on the fakes."""


def make(settings: Settings, corpus: Path, reply: str = REFUSALS["fr"]) -> Pipeline:
    return Pipeline(
        settings.replace(corpus=corpus), embedder=FakeEmbedder(), generator=FakeGenerator(reply)
    )


def fake(pipeline: Pipeline) -> FakeGenerator:
    return cast(FakeGenerator, pipeline.generator)


# --- bad questions --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Pipeline:
    """One indexed pipeline on fakes for the question tests; each sets the reply it needs."""
    root = tmp_path_factory.mktemp("questions")
    shutil.copytree(CORPUS, root / "corpus")
    return make(Settings(home=root / "home"), root / "corpus")


def ask(pipeline: Pipeline, question: str, reply: str) -> Answer:
    fake(pipeline).reply, fake(pipeline).prompts = reply, []
    return pipeline.answer(question)


def assert_clear(answer: Answer) -> None:
    """A plain refusal, or an answer with words whose every marker and citation is a passage
    the model was shown, quoted exactly."""
    k = len(answer.passages)
    assert answer.language in REFUSALS
    if answer.refused:
        assert answer.text == REFUSALS[answer.language] and answer.citations == []
        return
    assert re.search(r"[^\W_]", re.sub(r"[\[【][^\]】]*[\]】]", "", answer.text))
    assert parse_markers(answer.text) and all(1 <= n <= k for n in parse_markers(answer.text))
    assert [c.n for c in answer.citations] == sorted(set(parse_markers(answer.text)))
    shown = {(p.chunk.doc_id, p.chunk.start, p.chunk.text) for p in answer.passages}
    for c in answer.citations:
        assert (c.doc_id, c.start, c.text) in shown


ODD_QUESTIONS = {
    "emoji only": "🤖📈💰❓",
    "punctuation only": "?!… ¿¡",
    "Chinese": "商汤科技上市时的市值是多少？",
    "German": "Wie hoch war der Börsenwert von SenseTime beim Börsengang?",
    "Arabic": "ما هي القيمة السوقية لشركة سينس تايم؟",
    "invisible characters": (
        "Quelle est la capitalisation\u200b boursière\u202e de Sense\u200bTime ?"
    ),
}
ODD_REPLIES = {
    "refusal": REFUSALS["fr"],
    "invented markers": "SenseTime vaut 30,6 milliards de dollars [7][99].",
    "mixed markers": "SenseTime est cotée à Hong Kong [1][7]. 【42】 Fin [99].",
    "empty": "",
    "garbage": "\x00\x1b[31m ??? [",
}


@pytest.mark.parametrize("reply", list(ODD_REPLIES.values()), ids=list(ODD_REPLIES))
@pytest.mark.parametrize("question", list(ODD_QUESTIONS.values()), ids=list(ODD_QUESTIONS))
def test_odd_question_gets_a_clear_answer(shared: Pipeline, question: str, reply: str) -> None:
    answer = ask(shared, question, reply)
    assert_clear(answer)
    for invented in ("[7]", "[99]", "42"):
        assert invented not in answer.text
    assert answer.language == detect_language(answer.question)


def test_invisible_characters_in_a_question_are_removed(shared: Pipeline) -> None:
    answer = ask(shared, ODD_QUESTIONS["invisible characters"] + "\ufeff\ud800", REFUSALS["fr"])
    assert answer.question == QUESTION and answer.refused and answer.language == "fr"


def test_question_of_100000_characters_is_refused_before_any_work(
    settings: Settings, tmp_path: Path
) -> None:
    shutil.copytree(CORPUS, tmp_path / "corpus")
    pipeline = make(settings, tmp_path / "corpus")
    with pytest.raises(QuestionError, match=r"100,000 characters long; the limit is 2,000"):
        pipeline.answer(("Qui dirige SenseTime ? " * 5_000)[:99_999] + "?")
    assert fake(pipeline).prompts == [] and not settings.home_dir.exists()  # no index, no model


def test_the_length_limit_counts_what_is_left_after_cleaning(shared: Pipeline) -> None:
    answer = ask(shared, QUESTION + "\x00" * 99_000 + " " * 1_000, REFUSALS["fr"])
    assert answer.question == QUESTION and answer.refused


@pytest.mark.parametrize("question", [None, b"Qui dirige SenseTime ?", 42])
def test_a_question_that_is_not_text(shared: Pipeline, question: Any) -> None:
    with pytest.raises(QuestionError, match="must be text"):
        shared.answer(question)


def test_a_reply_of_markers_alone_is_no_answer(shared: Pipeline) -> None:
    answer = ask(shared, QUESTION, "[1][2][7][99]")
    assert answer.refused and answer.citations == []


def test_invented_markers_never_reach_the_stream(shared: Pipeline) -> None:
    fake(shared).reply = ODD_REPLIES["invented markers"]
    pieces = [p for p in shared.answer_stream(QUESTION) if isinstance(p, str)]
    assert "[99]" not in "".join(pieces) and "[7]" not in "".join(pieces)


# --- bad documents --------------------------------------------------------------------------


@pytest.fixture
def indexed(settings: Settings, corpus: Path) -> Pipeline:
    """A pipeline over a writable copy of the five articles, indexed."""
    pipeline = make(settings, corpus)
    assert len(pipeline.index().added) == 5
    return pipeline


def first_chunks(pipeline: Pipeline) -> dict[str, str]:
    """Each indexed document's first chunk text: a query that must find that document."""
    out: dict[str, str] = {}
    for chunk in pipeline.retriever.store.chunks:
        out.setdefault(chunk.doc_id, chunk.text)
    return out


def reindex(pipeline: Pipeline, caplog: pytest.LogCaptureFixture) -> tuple[IndexStats, list[str]]:
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="rag"):
        stats = pipeline.index()
    return stats, [r.getMessage() for r in caplog.records if r.name == "rag"]


def assert_intact(pipeline: Pipeline, before: dict[str, str]) -> None:
    """Every document indexed before is still there, unchanged, and found by its text."""
    for doc_id, text in before.items():
        found = pipeline.retrieve(text, k=3)
        assert any(p.chunk.doc_id == doc_id and p.chunk.text == text for p in found), doc_id
    fake(pipeline).reply = REFUSALS["fr"]
    assert_clear(pipeline.answer(QUESTION))


SKIPPED = {
    "empty": (b"", "is empty"),
    "only invisible characters": ("\u200b\u200d\ufeff\n \n".encode(), "is empty"),
    "binary": (b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR" + bytes(range(256)) * 16, "PNG image"),
    "control characters": (bytes(range(1, 32)) * 40, "binary data"),
    "truncated UTF-16": (codecs.BOM_UTF16_LE + "Texte".encode("utf-16-le")[:-1], "not valid"),
}


@pytest.mark.parametrize(("data", "why"), list(SKIPPED.values()), ids=list(SKIPPED))
def test_unusable_file_is_skipped_and_the_rest_kept(
    indexed: Pipeline, caplog: pytest.LogCaptureFixture, data: bytes, why: str
) -> None:
    before = first_chunks(indexed)
    (indexed.corpus / "zz.txt").write_bytes(data)
    stats, warnings = reindex(indexed, caplog)
    assert not stats.changed and sorted(stats.unchanged) == sorted(before)
    assert any(m.startswith("skipping zz.txt: ") and why in m for m in warnings), warnings
    assert_intact(indexed, before)


READABLE = {
    "Latin-1": (
        "Élève à Zürich : Hikvision a levé 12 milliards de yuans.\n".encode("latin-1"),
        "Zürich",
    ),
    "UTF-16 with BOM": (
        codecs.BOM_UTF16_LE
        + "Moonshot lève 1 milliard de dollars pour Kimi.\n".encode("utf-16-le"),
        "Moonshot",
    ),
    "zero-width characters": (
        "Mini\u200bMax lance le modèle Abab\u200d7, dit Zhi\u00adpu.\n".encode(),
        "MiniMax",
    ),
}


@pytest.mark.parametrize(("data", "word"), list(READABLE.values()), ids=list(READABLE))
def test_odd_encoding_is_indexed_and_searchable(
    indexed: Pipeline, caplog: pytest.LogCaptureFixture, data: bytes, word: str
) -> None:
    before = first_chunks(indexed)
    (indexed.corpus / "zz.txt").write_bytes(data)
    stats, warnings = reindex(indexed, caplog)
    assert stats.added == ["zz.txt"] and warnings == []
    [hit, *_] = indexed.retrieve(word, k=3, mode="keyword")
    assert hit.chunk.doc_id == "zz.txt" and word in hit.chunk.text
    assert not re.search("[\u200b\u200c\u200d\u00ad]", hit.chunk.text)
    assert_intact(indexed, before)


def test_same_article_twice_is_indexed_once(
    indexed: Pipeline, caplog: pytest.LogCaptureFixture
) -> None:
    before = first_chunks(indexed)
    original = indexed.corpus / FILE_000
    (indexed.corpus / "zz_copy.txt").write_bytes(original.read_bytes())
    reencoded = original.read_text(encoding="utf-8").replace("\n", "\r\n") + "\r\nNewsletter\r\n"
    (indexed.corpus / "zz_utf16.txt").write_bytes(
        codecs.BOM_UTF16_LE + reencoded.encode("utf-16-le")
    )
    stats, warnings = reindex(indexed, caplog)
    assert not stats.changed
    for name in ("zz_copy.txt", "zz_utf16.txt"):
        assert f"skipping {name}: same article as {FILE_000}, indexed once" in warnings
    found = indexed.retrieve(before[FILE_000], k=8)
    assert len({p.chunk.text for p in found}) == len(found)  # no passage twice
    assert_intact(indexed, before)


def test_file_of_100_mb_is_skipped_unread(
    indexed: Pipeline, caplog: pytest.LogCaptureFixture
) -> None:
    before = first_chunks(indexed)
    with (indexed.corpus / "zz_huge.txt").open("wb") as f:
        f.truncate(100_000_000)  # sparse: no disk used; NUL bytes, were it read ("binary")
    stats, warnings = reindex(indexed, caplog)
    assert not stats.changed
    assert any(
        m.startswith("skipping zz_huge.txt: is 100.0 MB, over the 10.0 MB limit per file: split")
        for m in warnings
    ), warnings
    assert_intact(indexed, before)


def test_size_limit_can_be_raised(
    indexed: Pipeline, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = first_chunks(indexed)
    big = "\n\n".join(f"Partie {i}. " + before[FILE_000] for i in range(60))
    (indexed.corpus / "zz_big.txt").write_text(big, encoding="utf-8")
    monkeypatch.setattr(rag.documents, "MAX_FILE_BYTES", 20_000)
    stats, warnings = reindex(indexed, caplog)
    assert not stats.changed and any("over the 20 kB limit" in m for m in warnings)
    monkeypatch.setattr(rag.documents, "MAX_FILE_BYTES", 100_000)
    stats, warnings = reindex(indexed, caplog)
    assert stats.added == ["zz_big.txt"] and warnings == []
    assert_intact(indexed, before)


def test_indexed_file_turned_binary_leaves_the_index(
    indexed: Pipeline, caplog: pytest.LogCaptureFixture
) -> None:
    """The index mirrors the folder: a file that no longer holds text goes, with a warning."""
    before = first_chunks(indexed)
    (indexed.corpus / FILE_000).write_bytes(bytes(range(256)) * 8)
    stats, warnings = reindex(indexed, caplog)
    assert stats.removed == [FILE_000] and any(FILE_000 in m for m in warnings)
    assert_intact(indexed, {k: v for k, v in before.items() if k != FILE_000})


# --- faults: kill -9, two writers, full disk, damaged files ---------------------------------


def two_corpora(root: Path) -> tuple[Path, Path]:
    """A: the five articles. B: one removed, one changed, one added."""
    a, b = root / "a", root / "b"
    for folder in (a, b):
        shutil.copytree(CORPUS, folder)
    (b / "003_fa2c6a669076a93a.txt").unlink()
    changed = b / "004_8fc970d9fd5bad57.txt"
    changed.write_text(changed.read_text("utf-8") + "\n\nTencent a réagi.\n", encoding="utf-8")
    (b / "new.md").write_text("# Nouveau\n\nMiniMax lance un modèle.\n", encoding="utf-8")
    return a, b


Snapshot = tuple[Any, dict[str, Any]]


def snapshot(store: Store) -> Snapshot:
    """What an index holds: its documents' hashes, and each chunk with its vector and its
    sentences' vectors. Not the absolute paths: A and B are two folders, and a chunk kept
    from B keeps B's path."""
    vectors = store.vectors.vectors()
    chunks = {
        c.id: (
            replace(c, source=""),
            np.round(vectors[i], 5).tolist(),
            np.round(np.asarray(store.sentence_vectors(c)), 5).tolist(),
        )
        for i, c in enumerate(store.chunks)
    }
    return {k: d["sha256"] for k, d in store.documents.items()}, chunks


def references(root: Path, a: Path, b: Path) -> dict[str, Snapshot]:
    """The snapshots of A and B, each indexed from scratch."""
    out = {}
    for name, corpus in (("A", a), ("B", b)):
        update(root / f"ref-{name}", load_documents(corpus))
        store = load_index(root / f"ref-{name}")
        assert store is not None
        out[name] = snapshot(store)
    return out


def state_of(folder: Path, refs: dict[str, Snapshot]) -> str:
    """Which of "A" and "B" the index in folder holds; it must load and be exactly one."""
    store = load_index(folder)
    assert store is not None
    matches = [name for name, ref in refs.items() if snapshot(store) == ref]
    assert matches, "the index holds neither the old nor the new state"
    return matches[0]


def assert_clean(folder: Path) -> None:
    """Nothing but the live version, its pointer and the lock file."""
    current = (folder / "CURRENT").read_text()
    assert sorted(p.name for p in folder.iterdir()) == sorted([".lock", "CURRENT", current])


class Worker:
    """tests/index_worker.py in a subprocess, driven line by line."""

    def __init__(self, log: Path, folder: Path, a: Path, b: Path) -> None:
        self.log = log
        env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONDONTWRITEBYTECODE": "1"}
        env.update(OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
        with log.open("w") as stderr:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "tests.index_worker", str(folder), str(a), str(b)],
                cwd=ROOT,
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
            )
        self.live: set[int] = set()  # forked children not waited for yet
        self.watchdog = threading.Timer(300, self.proc.kill)  # a hang fails, not blocks
        self.watchdog.daemon = True
        self.watchdog.start()

    def send(self, command: str) -> None:
        cast(IO[str], self.proc.stdin).write(command + "\n")
        cast(IO[str], self.proc.stdin).flush()

    def read(self) -> str:
        line = cast(IO[str], self.proc.stdout).readline()
        assert line, f"the worker died:\n{self.log.read_text()}"
        return line.strip()

    def fork(self, command: str) -> int:
        self.send(command)
        pid = int(self.read())
        self.live.add(pid)
        return pid

    def wait(self, pid: int) -> str:
        self.send("wait")
        self.live.discard(pid)
        return self.read()

    def close(self) -> None:
        self.watchdog.cancel()
        for pid in self.live:  # unreaped children of the worker: their pids are still theirs
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        cast(IO[str], self.proc.stdin).close()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        cast(IO[str], self.proc.stdout).close()


@contextlib.contextmanager
def worker(tmp_path: Path, folder: Path, a: Path, b: Path) -> Iterator[Worker]:
    w = Worker(tmp_path / f"worker-{uuid.uuid4().hex[:6]}.log", folder, a, b)
    try:
        assert w.read() == "ready"
        yield w
    finally:
        w.close()


@pytest.fixture
def corpora(tmp_path: Path) -> tuple[Path, Path, dict[str, Snapshot]]:
    a, b = two_corpora(tmp_path)
    return a, b, references(tmp_path, a, b)


def test_kill_9_before_each_write_leaves_the_old_or_the_new_index(
    tmp_path: Path, corpora: tuple[Path, Path, dict[str, Snapshot]]
) -> None:
    a, b, refs = corpora
    folder, docs_b = tmp_path / "idx", load_documents(b)
    update(folder, docs_b)
    states = []
    with worker(tmp_path, folder, a, b) as w:
        for step in range(1, 100):
            status = w.wait(w.fork(f"step {step}"))  # B -> A, killed before write number step
            states.append(state_of(folder, refs))
            if status == "exit 0":
                break
            assert status == "signal 9"
            update(folder, docs_b)  # a further update completes: the lock died with the process
            assert state_of(folder, refs) == "B"
            assert_clean(folder)  # and it swept what the killed write left
    commit = states.index("A")
    assert states == ["B"] * commit + ["A"] * (len(states) - commit), states
    assert commit >= 10 and len(states) - commit >= 2, states  # writes before and after


def test_kill_9_at_random_moments(
    tmp_path: Path, corpora: tuple[Path, Path, dict[str, Snapshot]]
) -> None:
    a, b, refs = corpora
    folder, docs_b = tmp_path / "idx", load_documents(b)
    update(folder, docs_b)
    rng = random.Random(9)
    seen = []
    with worker(tmp_path, folder, a, b) as w:
        started = time.perf_counter()
        assert w.wait(w.fork("step 1000000")) == "exit 0"  # one whole update, B -> A
        one_update = time.perf_counter() - started
        update(folder, docs_b)
        for _ in range(20):
            pid = w.fork("loop")  # A, B, A, B, ... until killed
            time.sleep(rng.uniform(0, 4 * one_update))
            os.kill(pid, signal.SIGKILL)
            assert w.wait(pid) == "signal 9"
            seen.append(state_of(folder, refs))
            update(folder, docs_b)
            assert_clean(folder)
    assert set(seen) == {"A", "B"}, seen  # kills landed on both sides of a commit


def test_two_indexing_processes_at_once(
    tmp_path: Path, corpora: tuple[Path, Path, dict[str, Snapshot]]
) -> None:
    a, b, refs = corpora
    folder = tmp_path / "idx"
    with worker(tmp_path, folder, a, b) as one, worker(tmp_path, folder, b, a) as two:
        one.send("run 12")  # A, B, A, ...
        two.send("run 12")  # B, A, B, ... into the same folder, at the same time
        assert [one.read(), two.read()] == ["done 0", "done 0"]  # no run found it damaged
    assert state_of(folder, refs) in {"A", "B"}
    assert_clean(folder)


@pytest.mark.parametrize(
    ("limit", "error"),
    [(4_000, "(vectors.faiss: File too large)"), (20_000, "([Errno 27] File too large)")],
    ids=["FAISS file", "chunk file"],
)
def test_write_failing_mid_file_keeps_the_old_index(
    tmp_path: Path, corpora: tuple[Path, Path, dict[str, Snapshot]], limit: int, error: str
) -> None:
    """The kernel refuses to grow a file past ``limit`` bytes (RLIMIT_FSIZE), as a full disk
    would: FAISS's or Python's write fails half-way."""
    a, b, refs = corpora
    folder = tmp_path / "idx"
    update(folder, load_documents(b))
    with worker(tmp_path, folder, a, b) as w:
        assert w.wait(w.fork(f"fsize {limit}")) == "exit 3"
        log = w.log.read_text()
    assert f"IndexStoreError: Could not write the index in {folder} {error}; the previous" in log
    assert state_of(folder, refs) == "B"
    assert_clean(folder)


def test_disk_full_at_each_write_gives_an_error_and_keeps_the_old_index(
    tmp_path: Path,
    corpora: tuple[Path, Path, dict[str, Snapshot]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    a, b, refs = corpora
    folder, docs_a, docs_b = tmp_path / "idx", load_documents(a), load_documents(b)
    update(folder, docs_b)
    failures = 0
    for step in range(1, 100):
        fired: list[str] = []
        full = disk_full_at(step)

        def hook(what: str, full: Callable[[str], None] = full, fired: list[str] = fired) -> None:
            try:
                full(what)
            except OSError:
                fired.append(what)
                raise

        error = None
        with pytest.MonkeyPatch.context() as mp, caplog.at_level(logging.WARNING, logger="rag"):
            patch_writes(hook, mp.setattr, deletes=False)  # removing files needs no space
            try:
                update(folder, docs_a)
            except IndexStoreError as exc:
                error = exc
        if not fired:  # past the last write: a plain success
            assert error is None and state_of(folder, refs) == "A"
            break
        if error is not None:
            assert "No space left on device" in str(error), error
            assert state_of(folder, refs) == "B"
            failures += 1
        else:  # the flush after the commit point failed: committed, and said so
            assert fired[0].startswith("fsync_path") and state_of(folder, refs) == "A"
            assert "Could not flush" in caplog.text
            update(folder, docs_b)
        assert_clean(folder)
    assert failures >= 10


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Snapshot]:
    """An index of the five articles, and its snapshot; tests damage copies of it."""
    folder = tmp_path_factory.mktemp("pristine") / "idx"
    update(folder, load_documents(CORPUS))
    store = load_index(folder)
    assert store is not None
    return folder, snapshot(store)


def rebuild(folder: Path) -> tuple[Store, IndexStats]:
    """Index the five articles into folder, as the pipeline would after a damaged load."""
    embedder = FakeEmbedder(dim=64)  # as tests.index_worker.update builds the pristine index
    return update_index(folder, load_documents(CORPUS), embedder, chunk_size=600, chunk_overlap=120)


DAMAGE = st.one_of(
    st.tuples(st.just("truncate"), st.integers(min_value=0)),
    st.tuples(st.just("flip"), st.integers(min_value=0), st.integers(1, 255)),
    st.tuples(st.just("replace"), st.binary(max_size=64)),
)


def damage(data: bytes, how: tuple[Any, ...]) -> bytes:
    if how[0] == "truncate":
        return data[: how[1] % max(len(data), 1)]
    if how[0] == "flip":
        pos = how[1] % max(len(data), 1)
        return data[:pos] + bytes([data[pos] ^ how[2]]) + data[pos + 1 :] if data else data
    return cast(bytes, how[1])


@hypothesis.settings(
    max_examples=80,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[hypothesis.HealthCheck.function_scoped_fixture],
)
@hypothesis.given(
    victim=st.sampled_from(
        [
            "CURRENT",
            "manifest.json",
            "chunks.jsonl",
            "vectors.faiss",
            "sentences.npy",
            "sentence_offsets.npy",
            "keywords/vocab.index.json",
            "keywords/data.csc.index.npy",
            "keywords/indptr.csc.index.npy",
        ]
    ),
    how=DAMAGE,
)
def test_damaged_index_file_is_detected_then_rebuilt(
    tmp_path: Path, pristine: tuple[Path, Snapshot], victim: str, how: tuple[Any, ...]
) -> None:
    folder = tmp_path / uuid.uuid4().hex
    shutil.copytree(pristine[0], folder)
    current = (folder / "CURRENT").read_text()
    path = folder / victim if victim == "CURRENT" else folder / current / victim
    path.write_bytes(damage(path.read_bytes(), how))
    try:
        store = load_index(folder)
    except IndexStoreError:
        pass  # detected
    else:  # or harmless (a byte of the manifest's timestamp): the same chunks and vectors
        assert store is not None and snapshot(store)[1] == pristine[1][1]
    store = rebuild(folder)[0]
    assert snapshot(store) == pristine[1]
    assert load_index(folder) is not None


@pytest.mark.parametrize("current", [b"\xff\xfe\x00garbage", b"", b"../../etc", None])
def test_damaged_current_pointer_is_rebuilt_not_a_crash(
    tmp_path: Path, pristine: tuple[Path, Snapshot], current: bytes | None
) -> None:
    folder = tmp_path / "idx"
    shutil.copytree(pristine[0], folder)
    (folder / "CURRENT").unlink()
    if current is None:
        (folder / "CURRENT").mkdir()  # not even a file
    else:
        (folder / "CURRENT").write_bytes(current)
    with pytest.raises(IndexStoreError, match="damaged"):
        load_index(folder)
    if current is None:
        (folder / "CURRENT").rmdir()  # os.replace cannot put a file over a folder
    store, stats = rebuild(folder)
    assert stats.rebuilt.startswith("damaged") or current is None
    assert snapshot(store) == pristine[1]


def test_model_assembly_killed_half_way_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    part = tmp_path / "part1.bin"
    part.write_bytes(b"ab" * 1000)
    module = types.ModuleType("fake_model_part1")
    module.get_part_path = lambda: str(part)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "fake_model_part1", module)
    sha = hashlib.sha256(b"ab" * 1000).hexdigest()
    monkeypatch.setitem(
        models.MODELS, "fake", PackagedModel("fake", "fake-model-part", "1", 1, sha)
    )
    cache = tmp_path / "cache"
    cache.mkdir()
    stale = cache / "fake.tmp4194304"  # what kill -9 during assembly leaves (pid long gone)
    stale.write_bytes(b"ab" * 500)
    assert model_path("fake", cache).read_bytes() == b"ab" * 1000
    assert not stale.exists()
