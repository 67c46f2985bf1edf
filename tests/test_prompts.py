"""Prompt files are validated when loaded.

Worked example: a file ``answer_user.txt`` that says "{question} {pasages}"
fails at load with "unknown variables ['pasages'], missing variables
['language', 'passages', 'refusal']"; the shipped files load and render.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.errors import PromptError
from rag.prompts import PROMPT_VARIABLES, Prompt, load_prompt, placeholders


def test_shipped_prompts_load_and_render() -> None:
    user = load_prompt("answer_user")
    text = user.render(passages="[1] x", question="Q ?", language="French", refusal="NONE")
    assert "Q ?" in text and "[1] x" in text and "write NONE" in text
    assert "write only NONE" in load_prompt("answer_system").render(refusal="NONE")
    assert load_prompt("answer_again_fr").render().startswith("Réponds en français")
    assert load_prompt("answer_again_en").render().startswith("Answer in English")


def test_a_variable_in_a_prompt_that_takes_none_fails_at_load(tmp_path: Path) -> None:
    (tmp_path / "answer_again_fr.txt").write_text("Réponds en {language}.")
    with pytest.raises(PromptError, match=r"unknown variables \['language'\]"):
        load_prompt("answer_again_fr", tmp_path)


def test_typo_fails_at_load(tmp_path: Path) -> None:
    (tmp_path / "answer_user.txt").write_text("{question} {pasages}")
    with pytest.raises(PromptError, match=r"unknown variables \['pasages'\]"):
        load_prompt("answer_user", tmp_path)


def test_missing_file_and_unknown_prompt(tmp_path: Path) -> None:
    with pytest.raises(PromptError, match="not found"):
        load_prompt("answer_user", tmp_path)
    with pytest.raises(PromptError, match="Unknown prompt"):
        load_prompt("nope")


def test_render_checks_values() -> None:
    p = Prompt("t", "Hi {who}", frozenset({"who"}))
    with pytest.raises(PromptError):
        p.render()
    with pytest.raises(PromptError):
        p.render(who="a", extra="b")


def test_literal_braces_are_not_variables() -> None:
    assert placeholders("a {x} {{y}}") == {"x"}
    assert set(PROMPT_VARIABLES) == {
        "answer_system",
        "answer_user",
        "answer_again_fr",
        "answer_again_en",
        "translate_fr",
        "translate_en",
    }
