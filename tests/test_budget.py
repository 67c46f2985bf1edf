"""The context sized by the machine: the budget's arithmetic, the choice of sentences it
drives, and where the prompt speed comes from.

Worked example: with a 4 s budget, a model that reads 45 tokens a second keeps the fixed
three sentences (each with the next); one that reads 10,000 (a GPU server) gets the whole
retrieved chunks; ``Answer.timings`` says which budget was used and how much was chosen.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

import rag.generation
from rag.budget import Budget
from rag.context import focus
from rag.errors import SettingsError
from rag.gate import Usage
from rag.generation import Message, timed_prompt_speed
from rag.pipeline import Pipeline
from rag.settings import Settings
from rag.types import Chunk, Passage, Timings
from tests.conftest import FakeEmbedder, FakeGenerator

SENTENCES = [
    f"Phrase {i} sur la société numéro {i}, fondée en {1990 + i} à Lyon par Jean {i}."
    for i in range(12)
]


def passages() -> list[Passage]:
    out = []
    for c in range(3):
        text = " ".join(SENTENCES[4 * c : 4 * c + 4])
        out.append(
            Passage(Chunk(f"d#{c}", "d", "/d", "D", text, 1000 * c, 1000 * c + len(text)), 1.0, c)
        )
    return out


def chosen_chars(kept: list[Passage]) -> int:
    return sum(len(p.chunk.text) for p in kept)


def test_the_budget_in_tokens_and_characters() -> None:
    b = Budget(seconds=2.0, prompt_tps=100.0, chars_per_token=4.0, fixed_chars=400)
    assert b.on
    # 200 tokens in 2 s; the question and instructions (400 characters) take 100 of them.
    assert b.tokens == 100 and b.chars == 400
    assert replace(b, fixed_chars=10_000).tokens == 0  # never negative
    assert not Budget(0.0, 100.0).on and Budget(0.0, 100.0).chars == 0
    assert not Budget(4.0, 0.0).on and "unknown" in Budget(4.0, 0.0).describe()
    assert "100 tokens/s" in b.describe() and "off" in Budget(0.0).describe()


def test_focus_adds_sentences_best_first_within_the_characters_allowed() -> None:
    embedder, question = FakeEmbedder(), "Qui a fondé la société numéro 5 ?"
    fixed = focus(question, passages(), embedder, max_sentences=1)
    assert focus(question, passages(), embedder, max_sentences=1, max_chars=0) == fixed
    small = chosen_chars(fixed)
    wider = focus(question, passages(), embedder, max_sentences=1, max_chars=small + 200)
    assert small < chosen_chars(wider) <= small + 200
    # What the floor chose stays; the budget adds to it.
    widened = " ".join(p.chunk.text for p in wider)
    assert all(p.chunk.text in widened for p in fixed)
    assert "Phrase 5 " in " ".join(p.chunk.text for p in wider)
    # Everything fits: the passages as retrieved, whole.
    assert focus(question, passages(), embedder, max_sentences=1, max_chars=10_000) == passages()
    # A budget smaller than the floor never takes the floor away.
    assert focus(question, passages(), embedder, max_sentences=1, max_chars=10) == fixed


class TimedGenerator(FakeGenerator):
    """A scripted generator that reads prompts at a set speed."""

    def __init__(self, tps: float) -> None:
        super().__init__("Réponse [1].")
        self.tps = tps

    def _prompt_speed(self, after: Sequence[Message]) -> tuple[float, str]:
        self.after = list(after)
        return self.tps, "set by the test"


@pytest.mark.usefixtures("no_real_models")
def test_a_faster_machine_gets_more_context_and_the_timings_say_so(
    settings: Settings, corpus: Path
) -> None:
    question = "Quelle est la capitalisation boursière de SenseTime ?"
    sizes = {}
    for tps in (0.0, 45.0, 150.0, 100_000.0):
        s = settings.replace(corpus=corpus, first_token_budget_s=4.0)
        p = Pipeline(s, embedder=FakeEmbedder(), generator=TimedGenerator(tps))
        a = p.answer(question)
        sizes[tps] = chosen_chars(a.passages)
        assert a.timings.prompt_tps == tps
        if tps:
            # The speed of reading what follows the system prompt and worked examples.
            assert p.generator.after == p.messages(question, [])[:-1]  # type: ignore[attr-defined]
            budget = p.budget(question, "fr", a.passages)
            assert budget.seconds == a.timings.budget_s == 4.0
            assert budget.fixed_chars == len(p._render("", question, "fr"))
            assert a.timings.budget_tokens == budget.tokens > 0
            assert a.timings.context_tokens == round(sizes[tps] / budget.chars_per_token)
        else:  # unknown speed: no budget, the fixed context
            assert a.timings.budget_tokens == a.timings.context_tokens == 0
    fixed = Pipeline(
        settings.replace(corpus=corpus), embedder=FakeEmbedder(), generator=FakeGenerator()
    ).answer(question)
    assert sizes[0.0] == sizes[45.0] == chosen_chars(fixed.passages)
    assert sizes[45.0] < sizes[150.0] < sizes[100_000.0]
    # A GPU server's speed takes the whole retrieved chunks.
    whole = Pipeline(
        settings.replace(corpus=corpus, context_sentences=0),
        embedder=FakeEmbedder(),
        generator=FakeGenerator(),
    ).answer(question)
    assert sizes[100_000.0] == chosen_chars(whole.passages)


def test_a_negative_budget_is_refused() -> None:
    with pytest.raises(SettingsError, match="first_token_budget_s"):
        Settings(first_token_budget_s=-1)


def test_any_generator_is_timed_once_for_one_preamble() -> None:
    reader = FakeGenerator("S")
    preamble = [{"role": "system", "content": "Réponds."}]
    first = reader.prompt_speed(preamble)
    assert first[0] > 0 and len(reader.prompts) == 2  # a short request, then the timed one
    assert reader.prompt_speed(preamble) == first and len(reader.prompts) == 2
    assert all(prompt[0] == preamble[0] for prompt in reader.prompts)


def test_a_servers_speed_is_timed_on_a_prompt() -> None:
    # Reads prompts at 1,000 tokens a second, a token a word (FakeGenerator counts words).
    reader = FakeGenerator(lambda prompt: time.sleep(len(prompt.split()) / 1000) or "S")
    speed, why = timed_prompt_speed(reader)
    assert 500 < speed <= 1000 and "timed" in why


class Clock:
    """A clock that moves only when told."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class CachingReader(FakeGenerator):
    """Reads a prompt a word at a time, slower past the 500th word, except the words it read
    last time up to the first that differs (a prefix cache, as llama.cpp and vLLM keep)."""

    def __init__(self, clock: Clock) -> None:
        super().__init__("S")
        self.clock, self.last = clock, []

    def stream(self, messages: list[Message], **options: object) -> Iterator[str]:
        words = " ".join(m["content"] for m in messages).split()
        pairs = enumerate(zip(words, self.last, strict=False))
        kept = next((i for i, (a, b) in pairs if a != b), min(len(words), len(self.last)))
        self.clock.now += sum(0.001 if i < 500 else 0.002 for i in range(kept, len(words)))
        self.last = words
        self.usage = Usage(prompt_tokens=len(words), completion_tokens=1)
        yield "S"


def test_the_speed_is_timed_where_answers_read_after_the_prompts_fixed_part(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = Clock()
    monkeypatch.setattr(rag.generation, "time", SimpleNamespace(perf_counter=clock))
    preamble = [{"role": "system", "content": "consigne " * 500}]
    speed, why = timed_prompt_speed(CachingReader(clock), preamble)
    # Past the preamble a word takes 2 ms: 500 a second, neither the preamble's 1,000 (read
    # once, then kept) nor a mix of the two.
    assert speed == pytest.approx(500, rel=0.02) and "after the prompt's fixed part" in why
    # From an empty prompt, the same reader reads its first 500 words at 1,000 a second.
    empty, why = timed_prompt_speed(CachingReader(clock))
    assert 500 * 1.2 < empty < 1000 and "fixed part" not in why


class Alone(FakeGenerator):
    """Fails if it reads while its lock is free: the chat's other users' answers hold that
    lock while they stream."""

    def stream(self, messages: list[Message], **options: Any) -> Iterator[str]:
        assert self.lock.locked(), "timed beside another user's answer"
        yield from super().stream(messages, **options)


class Untimed(FakeGenerator):
    def _prompt_speed(self, after: Sequence[Message]) -> tuple[float, str]:
        raise AssertionError("timed with the budget off")


@pytest.mark.usefixtures("no_real_models")
def test_with_the_budget_off_nothing_is_timed(settings: Settings, corpus: Path) -> None:
    assert settings.first_token_budget_s == settings.first_token_budget_s_crosslingual == 0
    p = Pipeline(settings.replace(corpus=corpus), embedder=FakeEmbedder(), generator=Untimed())
    a = p.answer("Quelle est la capitalisation boursière de SenseTime ?")
    assert a.timings.prompt_tps == a.timings.budget_tokens == 0


@pytest.mark.usefixtures("no_real_models")
def test_the_pipeline_times_the_speed_holding_the_models_lock(
    settings: Settings, corpus: Path
) -> None:
    p = Pipeline(settings.replace(corpus=corpus), embedder=FakeEmbedder(), generator=Alone("S"))
    speed, why = p.reading_speed()
    assert speed > 0 and why == "timed reading after the prompt's fixed part"
    assert not p.generator.lock.locked()


@pytest.mark.usefixtures("no_real_models")
def test_a_question_across_languages_gets_the_cross_lingual_budget(
    settings: Settings, corpus: Path
) -> None:
    def ask(question: str, **budgets: float) -> Timings:
        s = settings.replace(corpus=corpus, **budgets)
        p = Pipeline(s, embedder=FakeEmbedder(), generator=TimedGenerator(150.0))
        return p.answer(question).timings

    french = "Quelle est la capitalisation boursière de SenseTime ?"
    english = "What is SenseTime's market capitalisation?"
    across = {"first_token_budget_s_crosslingual": 3.0}
    assert ask(french, **across).budget_s == 0  # French articles: not across languages
    assert ask(english, **across).budget_s == 3.0 and ask(english, **across).budget_tokens > 0
    assert ask(english, first_token_budget_s=2.0).budget_s == 0  # the other knob's question
    assert ask(french, first_token_budget_s=2.0).budget_s == 2.0
    # By default neither has a budget: more text cost answers (docs/evaluation.md).
    assert ask(french).budget_s == ask(english).budget_s == 0


@pytest.mark.usefixtures("no_real_models")
def test_a_question_across_languages_gets_its_own_number_of_sentences(
    settings: Settings, corpus: Path
) -> None:
    def chosen(question: str, **counts: int) -> int:
        s = settings.replace(corpus=corpus, **counts)
        p = Pipeline(s, embedder=FakeEmbedder(), generator=FakeGenerator())
        return chosen_chars(p.answer(question).passages)

    french = "Quelle est la capitalisation boursière de SenseTime ?"
    english = "What is SenseTime's market capitalisation?"
    few, many = {"context_sentences_crosslingual": 1}, {"context_sentences_crosslingual": 4}
    assert chosen(english, **few) < chosen(english, **many)  # French articles: across
    assert chosen(french, **few) == chosen(french, **many)  # not across: context_sentences
    assert chosen(english, context_sentences=1, **many) == chosen(english, **many)
    assert chosen(french, context_sentences=1, **many) < chosen(french, **many)
    assert Settings().context_sentences_crosslingual > Settings().context_sentences
