"""Figures that another source gives for what the answer states: the documents disagree.

Articles differ on a figure, or give it at another date: one says SenseTime is worth
30,6 milliards de dollars, another 5,9 milliards. The small model reads both and states
one. A reader who trusts the answer should hear that another source says otherwise, so
the answer gets a closing sentence quoting it, cited like any other.

A passage sentence gives "another figure for the same thing" when, measured on the
passages (never on the answer, whose wording the model chose):

- it comes from another document ("another source") than those whose cited passages state
  the answer's figure;
- it states an amount or a percentage the answer does not state, of the same kind as a
  figure the answer states (an amount for an amount, a percentage for a percentage), or
  the same amount in another currency (50 milliards d'euros against 50 milliards de
  dollars);
- the words just before the two figures share a measure word ("capitalisation",
  "investir"), generic words about the company left aside;
- both figures are about the same name: the name nearest before each figure in its
  sentence, or the document title's names when the sentence has none (so "Tencent a chuté
  de 2,6 %" and "Alibaba a grimpé de 7 %" are two things, not one).

Worked example:

>>> from rag.types import Chunk, Passage
>>> def p(doc, title, text):
...     return Passage(Chunk(doc, doc, doc, title, text, 0, len(text)), 1.0, 0)
>>> ps = [p("a", "SenseTime", "Sa capitalisation est de 5,9 milliards $."),
...       p("b", "SenseTime", "Sa capitalisation atteint 30,6 milliards $.")]
>>> [(o.n, o.value) for o in other_figures("SenseTime vaut 5,9 milliards $ [1].", ps)]
[(2, '30.6e9 dollar')]
>>> notice(other_figures("It is worth $5.9bn [1].", ps), "en")
'Another source gives another figure: "Sa capitalisation atteint 30,6 milliards $" [2].'
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .citations import parse_markers, statements
from .context import defuse
from .keywords import tokenize
from .text import FUNCTION_WORDS, figures_in, names_in, normalize
from .types import OtherFigure, Passage

# How many words before a figure name what it measures ("a désormais une capitalisation
# boursière de 5,9 milliards": capitalisation, boursière). On eval/ five reaches q056's
# "capitalisation boursière oscille ainsi actuellement autour de 30,6 milliards".
HEAD_WORDS = 5
# At most this many other figures are quoted: one sentence per other document.
MAX_OTHERS = 2

# Words before a figure that say nothing of what it measures: the company itself (the
# Alibaba article says "le groupe" before its investment and its revenue alike), scales,
# currencies and approximations.
_GENERIC = frozenset(
    """societe groupe entreprise firme geant company group firm giant milliards milliard
    millions million billion billions dollars dollar euros euro yuans yuan contre environ
    moins autour pres quelque around about nearly some chinois chinese annonce announced
    selon according""".split()
)
_STEM = 6  # "investir", "investissement" and "invest" share their first six letters

# The quote's own end is dropped: the notice ends like the model's sentences, "[n]."
NOTICES = {
    "fr": "Une autre source donne un autre chiffre : « {quote} » [{n}].",
    "en": 'Another source gives another figure: "{quote}" [{n}].',
}


@dataclass(frozen=True)
class _Measured:
    value: str
    currency: str | None
    head: frozenset[str]  # stems of the words before the figure
    about: frozenset[str]  # the name it is about

    @property
    def kind(self) -> str:
        return "percent" if self.value.endswith("%") else "amount"

    def same_thing(self, other: _Measured) -> bool:
        """Same kind of figure, a measure word in common, about the same name."""
        return bool(self.kind == other.kind and self.head & other.head and self.about & other.about)


def _measured(sentence: str, title: str) -> list[_Measured]:
    text = normalize(sentence)
    names, in_title = names_in(sentence), _title_names(title)
    # A name says who, not what is measured: "Alibaba a reculé de 2,1 %" and "Alibaba a
    # grimpé de 7 % jeudi" share it, and are two days' moves.
    named = set(tokenize(" ".join(names | in_title)))
    out = []
    for figure in figures_in(sentence):
        words = [
            w[:_STEM]
            for w in tokenize(text[: figure.start])
            if len(w) > 2 and w not in _GENERIC | named and not any(c.isdigit() for c in w)
        ]
        nearest = max(names, key=lambda n: text.rfind(n, 0, figure.start), default=None)
        about = {nearest} if nearest and text.rfind(nearest, 0, figure.start) >= 0 else set()
        out.append(
            _Measured(
                figure.value,
                figure.currency,
                frozenset(words[-HEAD_WORDS:]),
                frozenset(about or in_title),
            )
        )
    return out


def _title_names(title: str) -> set[str]:
    """The names in a title, its first word included ("Alibaba va investir dans l'IA")."""
    return names_in(f"— {title}") - FUNCTION_WORDS


def other_figures(answer: str, passages: Sequence[Passage]) -> list[OtherFigure]:
    """The sentences of other documents among ``passages`` giving another figure for one
    the answer (citing them with ``[n]``) states; at most one per document, best-ranked
    passage first. See the module's docstring for the rule. "Other documents" are those
    whose cited passages do not state the answer's figure: a cited passage giving it in
    another currency is quoted too (eval/ q058 cited the euro article for "50 billion dollars").
    """
    stated = {(f.value, f.currency) for f in figures_in(answer)}

    def says(m: _Measured) -> bool:
        named = {c for v, c in stated if v == m.value and c}
        if not any(v == m.value for v, _ in stated):
            return False  # "30,6 milliards" against "5,9 milliards"
        return not (m.currency and named and m.currency not in named)  # euros, not dollars

    cited = [n for n in dict.fromkeys(parse_markers(answer)) if 1 <= n <= len(passages)]
    backing = [
        (passages[n - 1].chunk.doc_id, m)
        for n in cited
        for sentence in statements(passages[n - 1].chunk.text)
        for m in _measured(sentence, passages[n - 1].chunk.title)
        if says(m)
    ]
    anchors = [m for _, m in backing]
    sources = {doc for doc, _ in backing}
    found: dict[str, OtherFigure] = {}
    for n, passage in enumerate(passages, 1):
        doc = passage.chunk.doc_id
        if not anchors or doc in sources or doc in found:
            continue
        for sentence in statements(passage.chunk.text):
            hit = next(
                (
                    m
                    for m in _measured(sentence, passage.chunk.title)
                    if not says(m) and any(a.same_thing(m) for a in anchors)
                ),
                None,
            )
            if hit:
                shown = f"{hit.value} {hit.currency}" if hit.currency else hit.value
                found[doc] = OtherFigure(n, " ".join(sentence.split()), shown)
                break
    return list(found.values())[:MAX_OTHERS]


def notice(others: Sequence[OtherFigure], language: str) -> str:
    """The closing sentences that quote ``others`` in ``language`` ("fr" or "en"), or "".
    Each quote is shown as the model read it (:func:`rag.context.defuse`): a document's own
    "[12]" would otherwise read as a citation of passage 12."""
    template = NOTICES.get(language, NOTICES["en"])
    return " ".join(
        template.format(quote=defuse(o.sentence).rstrip(" .!?…"), n=o.n) for o in others
    )


def without_notice(text: str, others: Sequence[OtherFigure], language: str) -> str:
    """``text`` without the closing notice :func:`notice` gave it: what the model wrote.

    >>> without_notice("X [1]. " + notice([OtherFigure(2, "Y.", "1%")], "en"),
    ...                [OtherFigure(2, "Y.", "1%")], "en")
    'X [1].'
    """
    said = notice(others, language)
    return text.removesuffix(said).rstrip() if said else text
