"""The question as searched: followed by its translation into the documents' language when
it is asked in another.

Keyword search and the choice of sentences compare the question's words with the documents'.
An English question over French articles shares few of them ("Who traced the pomerium of
Rome?" against "Romulus traça le pomerium"), and the embedding alone carries it. The model
translates the question in a few tokens; search and sentence choice see the question and its
translation together (the small model's translation drops a name now and then), and the
model still answers the question as asked, in its language. Measured on PIAF and the
built-in articles: docs/evaluation.md.
"""

from __future__ import annotations

from collections.abc import Sequence

from .generation import Generator
from .prompts import load_prompt
from .text import detect_language
from .types import Passage

__all__ = ["across_languages", "documents_language", "search_text", "translate"]

# A translation longer than this many times the question is no translation (a model that
# started answering instead); the question is searched as asked.
_MAX_GROWTH = 3
_MAX_TOKENS = 80


def documents_language(passages: Sequence[Passage]) -> str | None:
    """The language of the passages retrieved for a question, or None when there are none."""
    text = "\n".join(p.chunk.text for p in passages)
    return detect_language(text) if text.strip() else None


def across_languages(passages: Sequence[Passage], language: str) -> bool:
    """Whether a question in ``language`` is asked over ``passages`` in another language (an
    English question over French documents): such a question gets its own refusal threshold,
    number of sentences and budget (see Settings)."""
    return documents_language(passages) not in (None, language)


def translate(question: str, language: str, generator: Generator) -> str:
    """``question`` in ``language`` ("fr" or "en"), by ``generator``; the question itself when
    the reply is empty, far longer than it, or not in ``language``."""
    system = load_prompt(f"translate_{language}").render().strip()
    messages = [{"role": "system", "content": system}, {"role": "user", "content": question}]
    with generator.lock:
        reply = "".join(generator.stream(messages, max_tokens=_MAX_TOKENS, temperature=0.0))
    lines = [line.strip() for line in reply.strip().splitlines() if line.strip()]
    translated = lines[0].strip("\"'«» ") if lines else ""
    if (
        not translated
        or len(translated) > _MAX_GROWTH * len(question) + 20
        or detect_language(translated) != language
    ):
        return question
    return translated


def search_text(
    question: str, language: str, passages: Sequence[Passage], generator: Generator
) -> str:
    """What to search for ``question``, asked in ``language``, given the ``passages`` first
    retrieved for it: the question followed by its translation into their language when it
    is another, else the question. Both, since the small model's translation drops a name or
    mistranslates a word now and then, and the question as asked still holds them."""
    target = documents_language(passages)
    if target in (None, language):
        return question
    translated = translate(question, target, generator)
    return question if translated == question else f"{question} {translated}"
