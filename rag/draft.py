"""The draft: the model's reply to the passages and the question, streamed as it is written.

What the reader sees while the model writes is held back where it could mislead:

- a refusal (the marker, or the first words of a refusal in words) waits until it is final,
  so the reader never sees "NONE" or half a refusal that the checks then overturn;
- a citation marker no passage has is dropped, and an unclosed ``[`` waits for its ``]``.

A draft in the other language than the question's is asked for again (:func:`wants_again`,
:func:`asked_again`): with passages in another language the small model sometimes answers in
theirs (French questions over English pages: eval/injection k06, k08).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass

from .citations import drop_invalid_markers
from .gate import Gate
from .refusals import REFUSAL_MARKER, REFUSALS
from .text import in_other_language
from .verification import Verification

__all__ = ["Draft", "asked_again", "kept", "streamed", "wants_again"]

Message = dict[str, str]

# What a reply may be on its way to while it is held back from the stream.
_HELD = (REFUSAL_MARKER, *REFUSALS.values())


@dataclass(frozen=True)
class Draft:
    """The model's reply to one prompt, and what the model said of it."""

    text: str  # the whole reply, as written
    messages: list[Message]  # the prompt it answers
    gate: Gate  # the refusal gate it was written under
    # Whether the answer's stream showed the reader any text: a draft asked for again is not
    # streamed, and keeps the first draft's (the final Answer replaces what was seen).
    shown: bool = False
    prompt_tokens: int = 0
    answer_tokens: int = 0
    # The model's P(marker) at the first token; a draft asked for again carries the first
    # draft's, on which the refusal gate decided (Pipeline.verify).
    refusal_probability: float | None = None
    redrafted: bool = False  # asked for again, in the question's language (wants_again)


def streamed(
    pieces: Iterable[str], k: int, on_piece: Callable[[], None] = lambda: None
) -> Generator[str, None, tuple[str, bool]]:
    """Stream a reply to a prompt of ``k`` passages, as the reader may see it; returns the
    whole reply and whether any of it was shown. ``on_piece`` is called at each piece the
    model writes (the pipeline times the first).

    >>> g = streamed(["NO", "NE"], 3)
    >>> list(g)
    []
    >>> list(streamed(["Xu Li [1", "] dirige [7] SenseTime."], 3))
    ['Xu Li ', '[1] dirige  SenseTime.']
    """
    pieces_seen: list[str] = []
    holding, shown, pending = True, False, ""
    for piece in pieces:
        on_piece()
        pieces_seen.append(piece)
        if holding:
            text = "".join(pieces_seen).lstrip()
            if text.startswith(REFUSAL_MARKER) or any(r.startswith(text) for r in _HELD):
                continue
            holding, piece = False, text
        pending += piece
        cut = max(pending.rfind("["), pending.rfind("【"))
        if cut >= 0 and not re.search(r"[\]】]", pending[cut:]) and len(pending) - cut < 24:
            ready, pending = pending[:cut], pending[cut:]
        else:
            ready, pending = pending, ""
        if ready := drop_invalid_markers(ready, k):
            shown = True
            yield ready
    if pending := drop_invalid_markers(pending, k):
        shown = True
        yield pending
    raw = "".join(pieces_seen)
    return (raw.strip() if holding else raw), shown


def wants_again(draft: Draft, verified: Verification, language: str) -> bool:
    """Whether ``draft`` is asked for again in ``language``: it is written in the other one.
    Even when the checks refused it: an English draft of a French question often fails them
    only on translated words (eval q044). A refusal by the model itself stands."""
    written = draft.text if verified.refused else verified.text
    return verified.refused_by != "model" and in_other_language(written, language)


def asked_again(messages: list[Message], order: str) -> list[Message]:
    """The draft's prompt with ``order`` (answer in the question's language) added to its
    last turn, so llama.cpp reads only that line again (its cache holds the rest)."""
    again = [*messages[:-1], {**messages[-1]}]
    again[-1]["content"] = f"{again[-1]['content'].rstrip()}\n{order}"
    return again


def kept(verified: Verification, language: str) -> bool:
    """Whether a draft asked for again replaces the first: it answers, in ``language``."""
    return not verified.refused and not in_other_language(verified.text, language)
