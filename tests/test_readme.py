"""Every question the README shows is answered as it shows, by the real models.

"As shown" means: refused where the README shows a refusal; otherwise answered, with every
figure and every name of the shown answer in the real one, and its first source [1]. The
exact wording may differ by a word from one CPU to another (llama.cpp's kernels sum in another
order: docs/runtime.md), so it is not compared letter for letter.

Worked example: the README shows `rag ask "What did Alibaba launch to rival DeepSeek?"`
answered "Alibaba launched QwQ-32B, a new AI model designed to rival DeepSeek [1]."; the real
answer must hold "Alibaba", "QwQ-32B" and "DeepSeek", and cite [1].
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rag.pipeline import Pipeline
from rag.refusals import REFUSALS
from rag.text import normalize

pytestmark = pytest.mark.models

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
# A shell example: the command, then the answer as its first line of output.
SHELL = re.compile(r'^\$ \.venv/bin/rag ask "([^"]+)"\n(.+)$', re.M)
# A Python example: answer("…") on one line, then `a.text  # "…"` on the next.
PYTHON = re.compile(r'answer\("([^"]+)"\)\n\S+\.text\s+# "([^"]+)"', re.M)
SHOWN = [*SHELL.findall(README), *PYTHON.findall(README)]


def essentials(text: str) -> set[str]:
    """The figures and the names of an answer: what "answered as shown" keeps."""
    words = re.findall(r"[\w][\w,.-]*[\w]|\w", re.sub(r"\[\d+\]", "", text))
    return {normalize(w) for w in words if any(c.isdigit() for c in w) or w[:1].isupper()}


def test_the_readme_shows_questions_with_their_answers() -> None:
    assert len(SHOWN) >= 4, SHOWN
    assert any(answer in REFUSALS.values() for _, answer in SHOWN)  # and a refusal


@pytest.mark.parametrize(("question", "shown"), SHOWN, ids=[q for q, _ in SHOWN])
def test_each_question_of_the_readme_is_answered_as_shown(
    real_pipeline: Pipeline, question: str, shown: str
) -> None:
    answer = real_pipeline.answer(question)
    if shown in REFUSALS.values():
        assert answer.refused and answer.text == shown, answer.text
        return
    assert not answer.refused, answer.text
    missing = essentials(shown) - {normalize(w) for w in essentials(answer.text)}
    assert not missing, (missing, answer.text)
    assert "[1]" in answer.text and answer.citations[0].n == 1


def test_the_readmes_follow_up_is_read_as_it_says(real_pipeline: Pipeline) -> None:
    said = re.search(r'"(Et [^"]+)" after "([^"]+)" is\s+read as "([^"]+)"', README)
    assert said, "the README's follow-up example"
    follow_up, earlier, understood = (" ".join(g.split()) for g in said.groups())
    answer = real_pipeline.answer(follow_up, history=[earlier])
    assert answer.understood_as == understood
    assert not answer.refused and "13,7" in answer.text, answer.text
