"""The refusal: the marker the model writes to decline, the phrase an Answer gives in its
place, and whether a reply declines in its own words ("Les documents ne mentionnent pas…")."""

from __future__ import annotations

import re

from rag.text import MARKER, normalize, split_sentences

__all__ = ["REFUSALS", "REFUSAL_MARKER", "is_refusal", "refuses"]

# The model refuses by writing this marker; the Answer carries the refusal in the question's
# language. One token, which no answer starts with, so its probability at the first step is
# the model's own estimate that it should refuse (see Settings.refusal_threshold).
REFUSAL_MARKER = "NONE"
REFUSALS: dict[str, str] = {
    "fr": "Les documents ne contiennent pas la réponse à cette question.",
    "en": "The documents do not contain the answer to this question.",
}
_APOLOGY = re.compile(
    r"^(?:(?:je suis )?desole|(?:i'?m |i am )?sorry|malheureusement|"
    r"unfortunately)\W*$"
)
# A refusal is either outright, or a negation whose subject is the documents themselves.
_REFUSE = re.compile(
    r"je ne (?:sais|peux) pas|i (?:don't|do not) know|(?:cannot|can't|unable "
    r"to) answer|impossible de repondre|ne permet(?:tent)? pas de repondre|"
    r"pas (?:en mesure|possible) de repondre|(?:aucune|pas d')information|"
    r"no information"
)
# "ne disent pas", "ne le disent pas", "n'en parlent pas", "ne disent rien", "not", "don't".
_NEGATION = re.compile(
    r"\bne (?:(?:le|la|les|l'|en|y|lui|leur|nous|vous|se|s') ?)?\w+ (?:pas|rien|jamais)\b"
    r"|\bn'(?:en |y )?\w+ (?:pas|rien|jamais)\b|\bnot\b|n't\b"
)
_SOURCES = re.compile(
    r"\b(?:documents?|passages?|extraits?|textes?|sources?|contexte|"
    r"context|texts?|excerpts?)\b"
)


def refuses(sentence: str) -> bool:
    text = normalize(MARKER.sub(" ", sentence))
    return bool(_REFUSE.search(text) or (_NEGATION.search(text) and _SOURCES.search(text)))


def is_refusal(text: str) -> bool:
    """Whether the answer as a whole declines to answer.

    True when it starts with a REFUSALS phrase, or when it cites nothing, its first sentence
    (after an apology) refuses, and at most one more sentence follows. A cited answer that
    says a detail is "not mentioned" is an answer, not a refusal.

    >>> is_refusal("Désolé. Les passages ne mentionnent pas le PDG.")
    True
    >>> is_refusal("SenseTime vaut 30,6 milliards [1]. Son PDG n'est pas mentionné.")
    False
    """
    stripped = normalize(MARKER.sub(" ", text))
    if any(stripped.startswith(normalize(r)) for r in REFUSALS.values()):
        return True
    sentences = split_sentences(text)
    while sentences and _APOLOGY.match(normalize(sentences[0])):
        sentences.pop(0)
    return not MARKER.search(text) and 0 < len(sentences) <= 2 and refuses(sentences[0])
