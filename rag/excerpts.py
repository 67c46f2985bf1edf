"""The passages' own sentences, quoted in place of a draft the checks cannot back.

The small model often gets the fact right and adds something no passage holds: "Alibaba is
headquartered in Hangzhou, Zhejiang, China [1]" (no passage names Zhejiang, and [1] is not
the one about Hangzhou), or the right revenue with an invented second figure beside it. The
checks (rag.citations) rightly refuse such a sentence, and the reader gets no answer though
a passage holds it. Here the answer becomes that passage's sentence, quoted word for word
and cited, so nothing the reader sees is the model's.

What the draft "got right" is measured on the passages, never taken on trust: the numbers
and names of the draft that some passage states, leaving out those the question itself
states (they say nothing new). The quote is the fewest sentences (at most MAX_EXCERPTS) that
hold all of them, each from a passage that also holds the question's names the draft
repeats. Nothing is quoted when:

- the draft states nothing new that a passage backs (a dodge, or a wholly invented answer:
  "GLM-5 has 17 billion parameters", where 17 billion is in no passage);
- the question asks for a figure or a date (rag.kinds) and none of those is a number:
  "Combien de puces A100 ?" is not answered by the sentence that mentions GPUs;
- no such sentences exist.

Worked example:

>>> from rag.types import Chunk, Passage
>>> def p(text):
...     return Passage(Chunk("c", "d", "d.txt", "Alibaba", text, 0, len(text)), 1.0, 0)
>>> ps = [p("Le groupe, dont le siège est à Hangzhou, est coté. Il investit.")]
>>> chosen = excerpts("Alibaba is based in Hangzhou, Zhejiang [1].", ps, "Where is Alibaba based?")
>>> [e.sentence for e in chosen]
['Le groupe, dont le siège est à Hangzhou, est coté.']
>>> quoted(chosen, "en")
'In the documents\\' own words: "Le groupe, dont le siège est à Hangzhou, est coté" [1].'
>>> excerpts("Alibaba is based in Zhejiang [1].", ps, "Where is Alibaba based?")
[]
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from .citations import passage_text, statements
from .context import defuse
from .kinds import asked_kind, gives_kind
from .text import backed_numbers, name_found, names_in, normalize, numbers_in
from .types import Excerpt, Passage

__all__ = ["MAX_EXCERPTS", "excerpts", "quoted"]

# At most this many sentences are quoted: a two-part question's two facts are often in two
# articles (eval q051: Ant Group's model in one, its cancelled listing in the other).
MAX_EXCERPTS = 2

# One sentence, however many quotes, so the checks read it as one cited statement. Without
# a negation: "not" beside "documents" reads as a refusal (rag.refusals.is_refusal).
LEADS = {
    "fr": "Dans les termes des documents : {quotes}.",
    "en": "In the documents' own words: {quotes}.",
}
_QUOTE = {"fr": "« {s} » [{n}]", "en": '"{s}" [{n}]'}
_BETWEEN = {"fr": " ; ", "en": "; "}


def excerpts(draft: str, passages: Sequence[Passage], question: str) -> list[Excerpt]:
    """The passage sentences that hold what ``draft`` states and its passages back, or []
    (see the module's rules and example). ``passages`` are numbered from 1, as in the
    prompt."""
    texts = [passage_text(p) for p in passages]
    numbers = [backed_numbers(t) for t in texts]
    asked = normalize(question)
    backed_names = {n for n in names_in(draft) if any(name_found(n, t) for t in texts)}
    repeated = {n for n in backed_names if name_found(n, asked)}
    new_numbers = {
        x for x in numbers_in(draft) - numbers_in(question) if any(x in ns for ns in numbers)
    }
    new = new_numbers | (backed_names - repeated)
    kind = asked_kind(question)
    if not new or (kind and not new_numbers):
        return []
    found: list[tuple[Excerpt, frozenset[str]]] = []
    for i, passage in enumerate(passages):
        if not all(name_found(n, texts[i]) for n in repeated):
            continue  # a passage about another company: "Jack Ma détient 20 %" is not UCloud's 20 %
        for sentence in statements(passage.chunk.text):  # never an order to whoever answers
            text = normalize(sentence)
            holds = {x for x in new_numbers if x in backed_numbers(text)}
            holds |= {x for x in new - new_numbers if name_found(x, text)}
            # The best-ranked sentence for each set of items: the search below stays small
            # however long the passages (whole chunks with context_sentences=0).
            if holds and all(holds != other for _, other in found):
                found.append((Excerpt(i + 1, sentence), frozenset(holds)))
    for size in range(1, MAX_EXCERPTS + 1):
        for chosen in itertools.combinations(found, size):
            if frozenset().union(*(holds for _, holds in chosen)) >= new:
                quotes = sorted((e for e, _ in chosen), key=lambda e: e.n)
                said = " ".join(e.sentence for e in quotes)
                # The quotes must give what is asked: no "plongé de 75 % depuis juin 2022"
                # for a net profit (rag.kinds, "amount").
                return quotes if gives_kind(said, kind, question=question) else []
    return []


def quoted(chosen: Sequence[Excerpt], language: str) -> str:
    """The answer that quotes ``chosen`` in ``language`` ("fr" or "en"), each quote cited.
    Quotes are shown as the model read them (rag.context.defuse), so a document's own "[12]"
    does not read as a citation."""
    template = _QUOTE.get(language, _QUOTE["en"])
    quotes = _BETWEEN.get(language, _BETWEEN["en"]).join(
        template.format(s=defuse(" ".join(e.sentence.split())).rstrip(" .!?…"), n=e.n)
        for e in chosen
    )
    return LEADS.get(language, LEADS["en"]).format(quotes=quotes)
