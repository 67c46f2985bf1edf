"""The question as the pipeline answers it: cleaned, standing alone, in a known language.

The first stage of an answer (``Pipeline.answer_stream``). A follow-up ("Et Alibaba ?",
"what about its revenue?") is made to stand alone from the conversation's earlier questions
(:func:`rag.conversation.standalone`); its language is told from the question standing alone,
since the follow-up alone may be too short to tell.

>>> q = understand("  Et Alibaba ?", ["Qui dirige SenseTime ?"], max_chars=100)
>>> q.asked, q.language
('Et Alibaba ?', 'fr')
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from .conversation import standalone
from .errors import QuestionError
from .text import detect_language

__all__ = ["Question", "clean_question", "understand"]


@dataclass(frozen=True)
class Question:
    """A question ready to answer."""

    asked: str  # as the user typed it, cleaned
    text: str  # standing alone: what is searched for and answered
    language: str  # "fr" or "en": the answer's language

    @property
    def understood_as(self) -> str | None:
        """The question standing alone, when it differs from the one asked (Answer shows it)."""
        return self.text if self.text != self.asked else None


def understand(question: str, history: Sequence[str] = (), *, max_chars: int) -> Question:
    """``question`` cleaned (:func:`clean_question`), made to stand alone from ``history``,
    the conversation's earlier questions, oldest first, and its language told."""
    asked = clean_question(question, max_chars=max_chars)
    text = standalone(asked, history)
    return Question(asked, text, detect_language(text))


def clean_question(question: str, *, max_chars: int) -> str:
    """The question with control characters removed, or a QuestionError.

    >>> clean_question("  Qui dirige\\x00 SenseTime ?  ", max_chars=100)
    'Qui dirige SenseTime ?'
    """
    if not isinstance(question, str):
        raise QuestionError(f"The question must be text, not {type(question).__name__}")
    text = "".join(
        ch if unicodedata.category(ch)[0] != "C" else (" " if ch in "\n\t\r" else "")
        for ch in question
    )
    text = " ".join(text.split())
    if not text:
        raise QuestionError("The question is empty: type a question about the documents")
    if len(text) > max_chars:
        raise QuestionError(
            f"The question is {len(text):,} characters long; the limit is {max_chars:,}. "
            "Ask something shorter (a question, not a document)"
        )
    return text
