"""An answer's sources as a reader meets them: numbered from 1 in the order the answer cites
them, each with where it is in its document.

The model cites passages by their numbers in its prompt, so a checked answer may open with
[3] and list only [3] and [1]. ``renumbered`` makes the first source cited [1], the next [2],
and so on, in the text, the citations, the sentence checks and the quotes. ``Answer.passages``
stays what the model was given, in its prompt's order: a citation names its passage by
document and offsets, not by position. ``located`` says where each cited span sits:
"paragraph 4 of 17".

>>> where("Titre\\n\\nPremier.\\nSuite.\\n\\nDernier.", 16)
'paragraph 2 of 3'
"""

from __future__ import annotations

import bisect
import dataclasses
import re
from collections.abc import Callable

from .citations import parse_markers
from .types import Answer, Document, Section

_MARKER = re.compile(r"\[(\d+)\]")  # a checked answer writes each marker as [n]


def paragraphs(text: str) -> list[int]:
    """Where each paragraph of ``text`` starts. Paragraphs are separated by blank lines; a
    text with none (one paragraph a line, as pages saved as text often are) has a paragraph
    per line.

    >>> paragraphs("a\\nb\\n\\nc"), paragraphs("a\\nb\\nc")
    ([0, 5], [0, 2, 4])
    """
    separator = r"\n[ \t]*\n\s*" if re.search(r"\S[ \t]*\n[ \t]*\n\s*\S", text) else r"\n\s*"
    starts = [0] + [m.end() for m in re.finditer(separator, text)]
    return [s for s in starts if s < len(text) and not text[s].isspace()] or [0]


def where(text: str, offset: int) -> str:
    """The paragraph of ``text`` that ``offset`` falls in, in words."""
    starts = paragraphs(text)
    n = max(1, bisect.bisect_right(starts, offset))
    return f"paragraph {n} of {len(starts)}"


def renumbered(answer: Answer) -> Answer:
    """``answer`` with its sources numbered from 1 in the order its text first cites them."""
    cited = list(dict.fromkeys(parse_markers(answer.text)))
    cited += [c.n for c in answer.citations if c.n not in cited]
    if cited == list(range(1, len(cited) + 1)):
        return answer
    new = {old: i for i, old in enumerate(cited, start=1)}

    def text(s: str) -> str:
        return _MARKER.sub(lambda m: f"[{new.get(int(m.group(1)), int(m.group(1)))}]", s)

    return dataclasses.replace(
        answer,
        text=text(answer.text),
        citations=sorted(
            (dataclasses.replace(c, n=new[c.n]) for c in answer.citations), key=lambda c: c.n
        ),
        sentences=[
            dataclasses.replace(
                s, text=text(s.text), citations=tuple(new.get(n, n) for n in s.citations)
            )
            for s in answer.sentences
        ],
        excerpts=[dataclasses.replace(e, n=new.get(e.n, e.n)) for e in answer.excerpts],
        other_figures=[dataclasses.replace(o, n=new.get(o.n, o.n)) for o in answer.other_figures],
    )


def section(document: Document, offset: int) -> Section | None:
    """The section of ``document`` (a page, or what follows a heading) ``offset`` falls in."""
    starts = [s.start for s in document.sections]
    i = bisect.bisect_right(starts, offset) - 1
    return document.sections[i] if i >= 0 and offset < document.sections[i].end else None


def place(
    document: Callable[[str], Document | None], doc_id: str, offset: int, end: int | None = None
) -> str:
    """Where ``offset`` (to ``end``, when given) falls in document ``doc_id``, which
    ``document(doc_id)`` gives (None when it cannot be read: then ""): "p. 4", a heading, or
    "paragraph 4 of 17"; a span over several pages or sections names the first and the last
    ("pp. 3–4", "§ Résultats – § Perspectives")."""
    doc = document(doc_id)
    if doc is None:
        return ""
    found = section(doc, offset)
    if found is None:
        return where(doc.text, offset)
    last = section(doc, end - 1) if end is not None and end > found.end else None
    if doc.format == "pdf":
        if last and last is not found and found.label.startswith("p. "):
            return f"pp. {found.label[3:]}–{last.label.removeprefix('p. ')}"
        return found.label
    return f"§ {found.label}" + (f" – § {last.label}" if last and last is not found else "")


def located(answer: Answer, document: Callable[[str], Document | None]) -> Answer:
    """``answer`` with each citation's ``location`` filled in (see ``place``)."""
    found = [
        dataclasses.replace(c, location=place(document, c.doc_id, c.start, c.end))
        for c in answer.citations
    ]
    return dataclasses.replace(answer, citations=found)
