"""A short subset of the evaluation set on the real models, with floors.

Worked example: with 15 questions (5 of them unanswerable), an answer accuracy floor of 0.5
fails the build when fewer than 5 of the 10 answerable questions get all their facts right.
The floors sit just under what the default configuration reached when they were set (see
docs/evaluation.md); raise them when the default improves, never lower them to pass.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from rag.evaluation import Result, load_questions, run, score
from rag.pipeline import BUILTIN_CORPUS, Pipeline
from tests import fixture_files

pytestmark = pytest.mark.models

# Both languages; numbers, names, a date, a place, two articles, a conflict, a paraphrase
# (the default gets two wrong today), and five unanswerable questions: q088's forced answer
# ("Jack Ma détient une partie importante…", no percentage) is refused by rag.kinds.
SUBSET = {
    *("q002", "q005", "q006", "q021", "q024", "q035", "q041", "q053", "q056", "q064"),
    *("q075", "q078", "q083", "q086", "q088"),
}
# Measured on 2026-11-23 with the defaults of then (3 sentences, rank prior 0.05, gate at 0.05;
# the full run is in docs/evaluation.md), these 15 questions in the full run: accuracy 0.8 (q041
# and q056 refused), refusal accuracy 1.0, false refusals 0.2, hit@5 1.0, citation validity 1.0.
# Each floor allowed one miss more, since llama.cpp's prompt cache makes answers depend slightly
# on the question order. With the rare-words context and the two-figure example (2026-11-24,
# accuracy 0.60 -> 0.64 on the whole set), these 15 gave accuracy 0.7 (q053 the dollar figure
# where yuans are asked), then 0.8 once the words count only in chunks about the question's
# subject (q041 refused, q056 one figure of two); refusal accuracy 1.0, false refusals 0.1.
# With the passages quoted when the checks refuse a draft (rag.excerpts, 2026-11-24 evening),
# q041 is right: accuracy 0.9 (q053), refusal accuracy 1.0, false refusals 0.0 in the full run.
# The accuracy floor rises to 0.8 and the false-refusal ceiling falls to 0.2.
FLOORS = {
    "retrieval_hit@5": 0.95,
    "answer_accuracy": 0.8,
    "refusal_accuracy": 0.75,
    "citation_validity": 0.95,
    "citation_precision": 0.85,
    "citation_recall": 0.85,
}
CEILINGS = {"false_refusal_rate": 0.2}


@pytest.fixture(scope="module")
def text_results(real_pipeline: Pipeline) -> list[Result]:
    questions = [q for q in load_questions() if q.id in SUBSET]
    assert len(questions) == len(SUBSET)
    return run(real_pipeline, questions, k=5)


def assert_floors(
    results: list[Result],
    floors: dict[str, float] = FLOORS,
    ceilings: dict[str, float] = CEILINGS,
) -> None:
    scores = score(results, k=5)
    misses = [(r.question.id, r.answer.text) for r in results if not r.ok]
    for metric, floor in floors.items():
        assert scores[metric] is not None and scores[metric] >= floor, (metric, scores, misses)
    for metric, ceiling in ceilings.items():
        assert scores[metric] is not None and scores[metric] <= ceiling, (metric, scores, misses)


def test_subset_meets_the_floors(text_results: list[Result]) -> None:
    assert_floors(text_results)


# The built-in articles as PDF, Word files and web pages (2026-12-04, these 15 questions): each
# found every fact in its top five passages, as the text files do, and answered 12 of 15 right
# (accuracy 0.8; the text files 0.9, 13 of 15). The model's answers move with the passages'
# line breaks and page cuts: q056's second figure is missed in all three, q053's yuans found in
# the PDF only, q041's "Hangzhou" not chosen into the PDF's context. Their accuracy floor sits
# one miss under that, as the text files' does.
FORMAT_FLOORS = {**FLOORS, "answer_accuracy": 0.7}


@pytest.mark.parametrize("fmt", ["pdf", "docx", "html"])
def test_the_articles_as_pdf_word_or_web_pages_give_the_same_facts(
    real_pipeline: Pipeline, text_results: list[Result], tmp_path: Path, fmt: str
) -> None:
    """The built-in articles rendered as PDF, Word files or web pages (tests/fixture_files.py)
    and read by their readers: every fact the text files' top passages hold is in theirs, and
    the subset meets the floors."""
    for txt in sorted(BUILTIN_CORPUS.glob("*.txt")):
        fixture_files.render(txt, fmt, tmp_path)
    pipeline = Pipeline(
        real_pipeline.settings.replace(corpus=tmp_path),
        embedder=real_pipeline.embedder,
        generator=real_pipeline.generator,
    )
    questions = [
        dataclasses.replace(
            r.question, articles=tuple(a.replace(".txt", f".{fmt}") for a in r.question.articles)
        )
        for r in text_results
    ]
    results = run(pipeline, questions, k=5)
    lost = [
        t.question.id
        for t, r in zip(text_results, results, strict=True)
        if t.in_top_k and not r.in_top_k
    ]
    assert not lost, lost
    assert_floors(results, FORMAT_FLOORS)


# PIAF (eval/piaf: French Wikipedia, questions by volunteers), 20 questions of the tuning half,
# asked over all 60 articles: the 12 French and 4 English answerable ones and the 2 + 2
# unanswerable ones first in sha256 order of their ids (chosen blind to the answers). Measured
# with the defaults of 2026-12-04 on these 20 alone: 6 of 16 right (4 wrong, 3 refused by the
# model or the checks, 3 without the facts in the context), all 4 unanswerable refused, hit@5
# 0.875, citation precision 0.79 and recall 1.0; docs/evaluation.md. Each floor allows one
# miss more.
PIAF = Path(__file__).resolve().parent.parent / "eval" / "piaf"
PIAF_SUBSET = {
    *("d031", "d035", "d075", "d108", "d151", "d180", "d208", "d262", "d265", "d278"),
    *("d279", "d283", "e007", "e031", "e220", "e295", "u015", "u027", "u046", "u058"),
}
PIAF_FLOORS = {
    "retrieval_hit@5": 0.8,
    "answer_accuracy": 0.31,
    "refusal_accuracy": 0.75,
    "citation_validity": 0.95,
    "citation_precision": 0.7,
    "citation_recall": 0.85,
}
PIAF_CEILINGS = {"false_refusal_rate": 0.375}


def test_piaf_subset_meets_its_floors(real_pipeline: Pipeline) -> None:
    """Documents and questions nobody on the project wrote: a regression guard, not a target
    (issue 27's targets are measured by `rag eval` on the held-out half)."""
    pipeline = Pipeline(
        real_pipeline.settings.replace(corpus=PIAF / "articles"),
        embedder=real_pipeline.embedder,
        generator=real_pipeline.generator,
    )
    questions = [q for q in load_questions(PIAF / "tuning.jsonl") if q.id in PIAF_SUBSET]
    assert len(questions) == len(PIAF_SUBSET)
    assert_floors(run(pipeline, questions, k=5), PIAF_FLOORS, PIAF_CEILINGS)


def test_the_subset_over_a_postgres_collection_finds_the_same_facts(
    real_pipeline: Pipeline, text_results: list[Result], tmp_path: Path
) -> None:
    """The index in PostgreSQL with pgvector (rag/postgres.py), on a server on loopback: every
    fact the FAISS index's top passages hold is in its top passages too, and the subset meets
    the same floors."""
    pytest.importorskip("pgserver", reason="the test extra installs pgserver")
    from tests.postgres_server import PostgresServer

    with PostgresServer(tmp_path / "pg") as url:
        pipeline = Pipeline(
            real_pipeline.settings.replace(index_url=f"{url}#subset"),
            embedder=real_pipeline.embedder,
            generator=real_pipeline.generator,
        )
        results = run(pipeline, [r.question for r in text_results], k=5)
    lost = [
        t.question.id
        for t, r in zip(text_results, results, strict=True)
        if t.in_top_k and not r.in_top_k
    ]
    assert not lost, lost
    assert_floors(results)
