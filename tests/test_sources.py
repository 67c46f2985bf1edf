"""Sources as a reader meets them: numbered from 1 as the answer cites them, and placed in
their document by paragraph.

Worked example: "Xu Li dirige SenseTime [3]. Fondée en 2014 [1][3]." becomes "… [1]. … [2][1].",
its citations [1] (was 3) and [2] (was 1), and the passages stay as the model read them.
"""

from __future__ import annotations

from rag.sources import located, paragraphs, place, renumbered, section, where
from rag.types import (
    Answer,
    Chunk,
    Citation,
    Document,
    Excerpt,
    OtherFigure,
    Passage,
    Section,
    SentenceCheck,
)

TEXT = "Titre\n\nXu Li dirige SenseTime.\nSuite du même paragraphe.\n\nFondée en 2014."


def passage(n: int) -> Passage:
    chunk = Chunk(f"d{n}#0", f"d{n}.txt", f"/c/d{n}.txt", f"T{n}", f"texte {n}", 7, 30)
    return Passage(chunk, 1.0, n - 1)


def citation(n: int, doc: int) -> Citation:
    return Citation(n, f"d{doc}.txt", f"/c/d{doc}.txt", f"T{doc}", f"texte {doc}", 7, 30)


def test_sources_are_numbered_from_1_in_the_order_they_are_cited() -> None:
    answer = Answer(
        "q",
        "Xu Li dirige SenseTime [3]. Fondée en 2014 [1][3]. Une autre source : « … » [2].",
        citations=[citation(1, 1), citation(2, 2), citation(3, 3)],
        passages=[passage(1), passage(2), passage(3)],
        sentences=[
            SentenceCheck("Xu Li dirige SenseTime [3].", (3,), True),
            SentenceCheck("Fondée en 2014 [1][3].", (1, 3), True),
        ],
        excerpts=[Excerpt(3, "Xu Li dirige SenseTime.")],
        other_figures=[OtherFigure(2, "…", "5.9e9 dollar")],
    )
    again = renumbered(answer)
    assert (
        again.text
        == "Xu Li dirige SenseTime [1]. Fondée en 2014 [2][1]. Une autre source : « … » [3]."
    )
    assert [(c.n, c.doc_id) for c in again.citations] == [
        (1, "d3.txt"),
        (2, "d1.txt"),
        (3, "d2.txt"),
    ]
    assert [s.citations for s in again.sentences] == [(1,), (2, 1)]
    assert again.sentences[1].text == "Fondée en 2014 [2][1]."
    assert again.excerpts[0].n == 1 and again.other_figures[0].n == 3
    assert again.passages == answer.passages  # what the model read, in its prompt's order


def test_an_answer_already_in_order_or_refused_is_left_as_it_is() -> None:
    ordered = Answer("q", "A [1]. B [2].", citations=[citation(1, 1), citation(2, 2)])
    assert renumbered(ordered) is ordered
    refused = Answer("q", "Les documents ne contiennent pas la réponse.", refused=True)
    assert renumbered(refused) is refused


def test_paragraphs_are_blank_line_blocks_or_else_lines() -> None:
    assert paragraphs(TEXT) == [0, TEXT.index("Xu"), TEXT.index("Fondée")]
    assert paragraphs("un\ndeux\n\n\n") == [0, 3]  # no blank line between two texts: lines
    assert where(TEXT, TEXT.index("Suite")) == "paragraph 2 of 3"
    assert where(TEXT, 0) == "paragraph 1 of 3" and where("", 0) == "paragraph 1 of 1"


def test_citations_are_located_in_their_documents_text() -> None:
    answer = Answer("q", "X [1]. Y [2].", citations=[citation(1, 1), citation(2, 2)])
    texts = {"d1.txt": Document("d1.txt", "d1.txt", "Titre", TEXT, "h")}
    found = located(answer, texts.get)
    assert [c.location for c in found.citations] == ["paragraph 2 of 3", ""]  # d2 unreadable


def test_citations_in_a_pdf_or_a_page_with_headings_say_the_page_or_the_heading() -> None:
    text = "Un.\n\nDeux.\n\nTrois."
    pdf = Document(
        "r.pdf",
        "r.pdf",
        "R",
        text,
        "h",
        format="pdf",
        pages=3,
        sections=(Section(0, 3, "p. 1"), Section(5, 10, "p. 2"), Section(12, 18, "p. 4")),
    )
    web = Document(
        "w.html", "w.html", "W", text, "h", format="html", sections=(Section(5, 18, "Les raisons"),)
    )
    docs = {"r.pdf": pdf, "w.html": web}
    assert [place(docs.get, "r.pdf", at) for at in (0, 7, 12, 17)] == [
        "p. 1",
        "p. 2",
        "p. 4",
        "p. 4",
    ]
    assert [place(docs.get, "w.html", at) for at in (0, 5, 17)] == [
        "paragraph 1 of 3",
        "§ Les raisons",
        "§ Les raisons",
    ]
    assert section(pdf, 4) is None  # between two pages: none
    # a span over several pages or sections names the first and the last
    assert place(docs.get, "r.pdf", 0, 18) == "pp. 1–4"
    assert place(docs.get, "r.pdf", 5, 10) == "p. 2"
    chapters = Document(
        "c.docx",
        "c.docx",
        "C",
        text,
        "h",
        format="docx",
        sections=(Section(0, 10, "Bilan"), Section(12, 18, "Perspectives")),
    )
    assert place({"c.docx": chapters}.get, "c.docx", 0, 18) == "§ Bilan – § Perspectives"
    assert place({"c.docx": chapters}.get, "c.docx", 0, 9) == "§ Bilan"
