"""Verification: what the checks find in the model's draft, as one record.

The draft's citations are repaired first: a fact stated right but cited wrong is re-cited to
the passage that holds it (:func:`rag.citations.repair`). Then each sentence is checked
against its cited passages (:func:`rag.citations.check`). The draft counts as a refusal when
the model refused (the marker, or a refusal in words), when none of its sentences is backed
by its citations (with a small model, that is how an invented answer to an unanswerable
question looks), or when it gives no figure or date to a question asking for one
(:mod:`rag.kinds`: the model's other way of answering what the passages cannot).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .citations import check, repair
from .kinds import answers_kind
from .refusals import REFUSAL_MARKER, is_refusal
from .types import Citation, Passage, RefusedBy, SentenceCheck

__all__ = ["Verification", "refuses", "verify"]


@dataclass(frozen=True)
class Verification:
    """What :func:`verify` found: the draft's text with its citations repaired and resolved,
    each sentence's check, and why the draft counts as a refusal (None if it answers)."""

    text: str
    citations: list[Citation]
    sentences: list[SentenceCheck]
    refused_by: RefusedBy | None

    @property
    def refused(self) -> bool:
        return self.refused_by is not None


def verify(draft: str, passages: Sequence[Passage], question: str) -> Verification:
    """Check ``draft``, the model's reply to ``question`` over ``passages``.

    >>> from rag.types import Chunk
    >>> t = "Xu Li dirige SenseTime."
    >>> p = Passage(Chunk("c", "d", "d.txt", "T", t, 0, len(t)), 1.0, 0)
    >>> verify("SenseTime est dirigée par Xu Li [3].", [p], "Qui dirige SenseTime ?").text
    'SenseTime est dirigée par Xu Li [1].'
    >>> verify("NONE", [p], "Qui dirige SenseTime ?").refused_by
    'model'
    """
    draft = draft.strip()
    checked = check(repair(draft, passages, question=question), passages, question=question)
    refused_by: RefusedBy | None = None
    if refuses(draft):
        refused_by = "model"
    elif not any(s.supported and s.citations for s in checked.sentences):
        refused_by = "unsupported"
    elif not answers_kind(question, checked.text):
        refused_by = "not an answer"
    return Verification(checked.text, checked.citations, checked.sentences, refused_by)


def refuses(reply: str) -> bool:
    """Whether a reply is a refusal: the marker, or a refusal in words."""
    return reply.strip().startswith(REFUSAL_MARKER) or is_refusal(reply)
