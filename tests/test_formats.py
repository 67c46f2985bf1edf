"""A question answered from a PDF cites its page, on the real models.

Worked example: the article on SenseTime's losses set as a 5-page PDF; "Quelle perte nette
SenseTime a-t-elle déclarée au premier semestre ?" is answered "… 2,4 milliards de RMB … [1]",
and citation [1] says "p. 4", the page that holds the sentence.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.pipeline import BUILTIN_CORPUS, Pipeline
from tests import fixture_files

pytestmark = pytest.mark.models

QUESTION = "Quelle perte nette SenseTime a-t-elle déclarée au premier semestre ?"
FACT = "perte nette de 2,4 milliards"


def test_an_answer_from_a_pdf_cites_the_page_that_says_it(
    real_pipeline: Pipeline, tmp_path: Path
) -> None:
    [txt] = BUILTIN_CORPUS.glob("001_*.txt")
    paragraphs = fixture_files.paragraphs_of(txt)
    pages = [paragraphs[i : i + 7] for i in range(0, len(paragraphs), 7)]
    [page] = [n for n, group in enumerate(pages, 1) if any(FACT in p for p in group)]
    assert page > 1  # the fact is not on the first page
    fixture_files.pdf(tmp_path / "senstime.pdf", pages, title="SenseTime, le déclin")
    pipeline = Pipeline(
        real_pipeline.settings.replace(corpus=tmp_path),
        embedder=real_pipeline.embedder,
        generator=real_pipeline.generator,
    )
    answer = pipeline.answer(QUESTION)
    assert not answer.refused and "2,4" in answer.text, answer.text
    citing = [c for c in answer.citations if FACT in c.text or "2,4 milliards" in c.text]
    assert citing and {c.location for c in citing} == {f"p. {page}"}, answer.citations
    assert all(c.title == "SenseTime, le déclin" for c in answer.citations)
