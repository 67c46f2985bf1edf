"""The final answer: what is added to a checked answer before it is shown.

- A draft the checks refused because its passages back none of its sentences becomes, when
  the passages hold what it stated, those passages' own sentences, quoted and cited
  (:mod:`rag.excerpts`; ``Settings.excerpts``).
- Another document's figure for what the answer states is quoted after it
  (:mod:`rag.conflicts`): the model reads both and states one (eval/ q056: 5,9 milliards
  against 30,6).

Both come after the language checks, which a quote in the passages' language would set off.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from .citations import check
from .conflicts import notice, other_figures
from .excerpts import excerpts, quoted
from .refusals import REFUSALS
from .types import Answer, Passage
from .verification import Verification

__all__ = ["checked_answer", "final_answer"]


def checked_answer(
    asked: str, language: str, passages: Sequence[Passage], verified: Verification
) -> Answer:
    """The answer as verification leaves it, before :func:`final_answer`: the refusal in
    ``language`` where the checks refused the draft, else its checked text and citations."""
    if verified.refused:
        return Answer(
            asked,
            REFUSALS[language],
            refused=True,
            language=language,
            passages=list(passages),
            refused_by=verified.refused_by,
        )
    return Answer(
        asked,
        verified.text,
        refused=False,
        language=language,
        citations=verified.citations,
        passages=list(passages),
        sentences=verified.sentences,
    )


def final_answer(answer: Answer, draft: str, question: str, *, quote_excerpts: bool) -> Answer:
    """``answer``, checked, with the passages' own sentences in place of a draft they do
    not back (when ``quote_excerpts``) and other documents' figures quoted after it."""
    if answer.refused_by == "unsupported" and quote_excerpts:
        answer = _excerpted(answer, draft, question)
    return _quote_other_figures(answer, question)


def _excerpted(answer: Answer, draft: str, question: str) -> Answer:
    chosen = excerpts(draft, answer.passages, question)
    if not chosen:
        return answer
    checked = check(quoted(chosen, answer.language), answer.passages)
    if not all(s.supported for s in checked.sentences):
        return answer  # a quote is its passage's text: only a splitting slip lands here
    return dataclasses.replace(
        answer,
        text=checked.text,
        refused=False,
        refused_by=None,
        citations=checked.citations,
        sentences=checked.sentences,
        excerpts=chosen,
    )


def _quote_other_figures(answer: Answer, question: str) -> Answer:
    if answer.refused or not (others := other_figures(answer.text, answer.passages)):
        return answer
    checked = check(
        f"{answer.text} {notice(others, answer.language)}", answer.passages, question=question
    )
    return dataclasses.replace(
        answer,
        text=checked.text,
        citations=checked.citations,
        sentences=checked.sentences,
        other_figures=others,
    )
