"""Which way a figure went: a sentence that says it rose, cited to a passage that says it fell.

The checks find each figure of an answer in a cited passage (:func:`rag.citations.check`), but
a figure found is not a figure agreed with. "SenseTime's shares have risen by 75 % [1]" was
backed by "ses actions ont plongé de plus de 75 %" (issue 27): the number is there, the
direction is the opposite. Here each figure is read with the nearest word of rising or falling
in its clause, in French or English, in the sentence and wherever the cited passages state it.
A figure the sentence says went one way, and every cited mention of which says it went the
other, is reversed. A mention with no such word, or either word, decides nothing: only a clear
contradiction counts.

>>> reversed_figures("SenseTime's shares have risen by 75 % [1].",
...                  ["Ses actions ont plongé de plus de 75 % depuis juin 2022."])
['75%']
>>> reversed_figures("Les actions ont chuté de 75 % [1].",
...                  ["Ses actions ont plongé de plus de 75 % depuis juin 2022."])
[]
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from .text import MARKER, figure_positions, normalize

__all__ = ["direction_at", "reversed_figures"]

# Words of rising and falling, accents folded as normalize() folds them; a trailing "*" takes
# any ending. Verbs, nouns and adjectives of change, French and English; not "gain" or
# "perte" alone, which name amounts as often as changes, nor "croit" alone ("il croit":
# he believes), so "croître" is taken by its other stems.
_UP = (
    "rise", "rises", "rising", "risen", "rose", "increas*", "grew", "grow*", "jump*", "surg*",
    "soar*", "climb*", "rall*", "higher", "boost*", "up",
    "hausse*", "augment*", "progress*", "bondi*", "bond", "grimp*", "monte", "montee*",
    "croiss*", "croitr*", "envol*", "accroi*", "accru*", "rebond*",
)  # fmt: skip
_DOWN = (
    "fall", "falls", "falling", "fell", "fallen", "drop*", "declin*", "decreas*", "lost",
    "lose", "losing", "plung*", "slump*", "down", "lower", "shr*nk*", "sank", "sink*",
    "tumbl*", "slid*", "plummet*",
    "baisse*", "chut*", "plonge*", "recul*", "diminu*", "perdu*", "effondr*", "repli*",
    "degringol*", "decroch*", "abaiss*", "fondu*", "decroiss*", "decroitr*", "decru*",
)  # fmt: skip
_WORD = re.compile(r"[a-z]+")
_CLAUSE = re.compile(r"[,;:.!?()\n]")
# Words looked at on each side of a figure, within its clause: "ont plongé de plus de 75 %"
# puts the verb four words before; "a 12 % rise" one after.
_BEFORE, _AFTER = 6, 3


def _words(forms: tuple[str, ...]) -> re.Pattern[str]:
    parts = (re.escape(f).replace(r"\*", "[a-z]*") for f in forms)
    return re.compile(f"(?:{'|'.join(parts)})")


_UP_WORD, _DOWN_WORD = _words(_UP), _words(_DOWN)


def _direction(word: str) -> str | None:
    if _UP_WORD.fullmatch(word):
        return "up"
    if _DOWN_WORD.fullmatch(word):
        return "down"
    return None


def direction_at(norm: str, start: int, end: int) -> str | None:
    """The direction the nearest word of change in the figure's clause gives the figure at
    ``norm[start:end]`` (normalised text): "up", "down", or None."""
    bounds = [m.start() for m in _CLAUSE.finditer(norm) if not _inside_number(norm, m.start())]
    left = max((b for b in bounds if b < start), default=-1)
    right = min((b for b in bounds if b >= end), default=len(norm))
    before = _WORD.findall(norm[left + 1 : start])[-_BEFORE:]
    after = _WORD.findall(norm[end:right])[:_AFTER]
    for word in [*reversed(before), *after]:
        if found := _direction(word):
            return found
    return None


def _inside_number(norm: str, i: int) -> bool:
    """Whether the punctuation at ``norm[i]`` is a number's ("30,6", "2.4"), not a clause's."""
    return norm[i - 1 : i].isdigit() and norm[i + 1 : i + 2].isdigit()


def reversed_figures(sentence: str, passages: Sequence[str]) -> list[str]:
    """The figures of ``sentence`` that it says went one way while every mention of them in
    ``passages`` (the cited ones' text) says they went the other."""
    said = normalize(MARKER.sub(" ", sentence))
    held = [normalize(p) for p in passages]
    found = []
    for value, start, end in figure_positions(said):
        way = direction_at(said, start, end)
        if way is None:
            continue
        ways = {
            direction_at(h, s, e) for h in held for v, s, e in figure_positions(h) if v == value
        }
        if ways and ways == {"down" if way == "up" else "up"}:
            found.append(value)
    return found
