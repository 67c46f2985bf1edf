"""The local model on the real packaged file: the configuration rag.runtime chose here answers,
and the state after the prompt's fixed prefix is saved, reused by a new model process, and
rebuilt when a prompt file changes or the saved file is damaged.

Worked example: the first process reads the 572-token preamble and saves its state
("built"); the next one loads it ("disk") and writes the same answer, word for word; with one
word added to prompts/answer_system.txt the preamble's tokens change, and it is read again.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import rag.prompts
from rag.generation import LlamaCppGenerator
from rag.pipeline import Pipeline
from rag.prompts import load_examples, load_prompt

pytestmark = pytest.mark.models

QUESTION = "Quelle perte nette SenseTime a-t-elle déclarée au premier semestre ?"


@pytest.fixture(scope="module")
def chosen(real_pipeline: Pipeline) -> LlamaCppGenerator:
    generator = real_pipeline.generator
    assert isinstance(generator, LlamaCppGenerator)
    return generator


def test_the_configuration_chosen_here_works_and_answers(
    chosen: LlamaCppGenerator, real_pipeline: Pipeline
) -> None:
    verdict = chosen.verdict
    assert verdict is not None, "Settings.repack is 'auto': the runtime chose"
    assert verdict.trials[verdict.config].ok, verdict.reason
    assert chosen.info["repack"] == verdict.repack  # the process runs what was chosen
    answer = real_pipeline.answer(QUESTION)
    assert "2,4" in answer.text and not answer.refused, answer.text


def test_the_prefix_state_is_reused_by_a_new_process_and_rebuilt_when_a_prompt_changes(
    chosen: LlamaCppGenerator,
    real_pipeline: Pipeline,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    repack = "on" if chosen.info["repack"] else "off"

    def fresh_process() -> LlamaCppGenerator:
        return LlamaCppGenerator(chosen.path, home=tmp_path, repack=repack)

    passages = real_pipeline.context(QUESTION)
    messages = real_pipeline.messages(QUESTION, passages)
    states = tmp_path / "prefix"

    first = fresh_process()
    reply = "".join(first.stream(messages))
    assert first.usage.prefix == "built" and len(list(states.glob("*.state"))) == 1
    first.close()

    second = fresh_process()
    assert "".join(second.stream(messages)) == reply  # the restored state is the same state
    assert second.usage.prefix == "disk"
    second.close()

    # One word more in the system prompt's file: its tokens, and so its state, change.
    prompts = tmp_path / "prompts"
    shutil.copytree(Path(rag.prompts.__file__).resolve().parent.parent / "prompts", prompts)
    system = prompts / "answer_system.txt"
    system.write_text(system.read_text(encoding="utf-8").rstrip() + " Merci.\n", "utf-8")
    monkeypatch.setattr(rag.prompts, "prompt_dirs", lambda: [prompts])
    load_prompt.cache_clear()
    load_examples.cache_clear()
    try:
        rewritten = Pipeline(real_pipeline.settings).messages(QUESTION, passages)
        assert rewritten[0] != messages[0] and rewritten[1:] == messages[1:]
        changed = fresh_process()
        assert "".join(changed.stream(rewritten))
        assert changed.usage.prefix == "built"
        assert len(list(states.glob("*.state"))) == 2
        changed.close()
    finally:
        load_prompt.cache_clear()
        load_examples.cache_clear()

    # A damaged state file is detected, and the state read and saved again.
    for saved in states.glob("*.state"):
        saved.write_bytes(saved.read_bytes()[:-1000])
    third = fresh_process()
    assert "".join(third.stream(messages)) == reply
    assert third.usage.prefix == "built"
    third.close()
