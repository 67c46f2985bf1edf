"""The question searched in the documents' language (rag.translation), on the fakes.

Worked example: over French documents, "When was the wall built?" shares no word with "Le mur
fut construit en 1610"; the model translates it ("Quand le mur fut-il construit ?"), search and
the sentence choice use the question followed by its translation, and the model answers the
English question as asked.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.generation import Generator
from rag.pipeline import Pipeline
from rag.settings import Settings
from rag.translation import across_languages, documents_language, search_text, translate
from tests.conftest import FakeEmbedder, FakeGenerator

QUESTION = "When was the wall built?"
TRANSLATION = "Quand le mur fut-il construit ?"
FILLER = [
    "La ville compte de nombreux marchés le samedi matin.",
    "Les vignes couvrent les collines au sud de la rivière.",
    "Le port accueille des bateaux de pêche depuis longtemps.",
    "Une école de musique ouvre ses portes chaque automne.",
]


@pytest.fixture(autouse=True)
def _fakes_only(no_real_models: None) -> None:
    """Every test here runs on the fakes."""


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """Eight French documents; one says when the wall was built, in its last sentence."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for i in range(8):
        text = " ".join(FILLER[j % 4].replace("La ville", f"La ville {i}") for j in range(i, i + 4))
        if i == 5:
            text += " Le mur fut construit en 1610 par les habitants."
        (corpus / f"doc{i}.txt").write_text(text + "\n", encoding="utf-8")
    return corpus


def make(settings: Settings, folder: Path, **changes: object) -> tuple[Pipeline, FakeGenerator]:
    """A pipeline over ``folder`` that translates questions (off by default) unless told not."""
    generator = FakeGenerator("The wall was built in 1610 [1].")
    generator.translate = lambda question: TRANSLATION
    changes = {"translate_questions": True, **changes}
    pipeline = Pipeline(
        settings.replace(corpus=folder, **changes), embedder=FakeEmbedder(), generator=generator
    )
    return pipeline, generator


def test_an_english_question_is_searched_in_french_and_answered_as_asked(
    settings: Settings, folder: Path
) -> None:
    pipeline, generator = make(settings, folder)
    answer = pipeline.answer(QUESTION)
    assert generator.translations == [QUESTION]
    assert answer.searched_as == f"{QUESTION} {TRANSLATION}" and answer.timings.translation_s > 0
    prompt = generator.prompts[-1][-1]["content"]
    assert "1610" in prompt  # the translation's words found the sentence
    assert QUESTION in prompt and TRANSLATION not in prompt  # the model answers as asked
    assert not answer.refused and answer.language == "en" and "1610" in answer.text


def test_without_translation_the_english_words_miss_the_sentence(
    settings: Settings, folder: Path
) -> None:
    assert not Settings().translate_questions  # the default
    pipeline, generator = make(settings, folder, translate_questions=False)
    answer = pipeline.answer(QUESTION)
    assert generator.translations == [] and answer.searched_as is None
    assert "1610" not in generator.prompts[-1][-1]["content"]


def test_a_question_in_the_documents_language_is_not_translated(
    settings: Settings, folder: Path
) -> None:
    pipeline, generator = make(settings, folder)
    answer = pipeline.answer(TRANSLATION)
    assert generator.translations == [] and answer.searched_as is None
    assert answer.timings.translation_s == 0


class Replying(FakeGenerator):
    """A model whose reply to the translation request is ``reply`` itself."""

    def __init__(self, reply: str) -> None:
        super().__init__()
        self.translate = lambda question: reply


@pytest.mark.parametrize(
    "reply",
    [
        "",  # nothing
        "The wall was built by the inhabitants of the town, who wanted to keep out the "
        "armies that crossed the valley every spring, and it took them forty years.",  # an answer
        "When was the wall built?",  # still English
    ],
)
def test_a_reply_that_is_no_translation_leaves_the_question_as_asked(reply: str) -> None:
    generator: Generator = Replying(reply)
    assert translate(QUESTION, "fr", generator) == QUESTION


def test_the_translation_is_its_first_line_without_quotes() -> None:
    generator = Replying(f"« {TRANSLATION} »\nTranslation note: literal.")
    assert translate(QUESTION, "fr", generator) == TRANSLATION


def test_the_documents_language_is_that_of_the_passages_retrieved(
    settings: Settings, folder: Path
) -> None:
    pipeline, _ = make(settings, folder)
    assert documents_language(pipeline.candidates(QUESTION)) == "fr"
    assert documents_language([]) is None
    found = pipeline.candidates(QUESTION)
    assert across_languages(found, "en") and not across_languages(found, "fr")
    assert not across_languages([], "en")  # nothing retrieved: no other language


def test_the_search_keeps_the_question_beside_a_translation_that_lost_a_name(
    settings: Settings, folder: Path
) -> None:
    """PIAF e298, "Did Baker win in 1859?", was translated "Qu'a-t-il gagné en 1859 ?": the
    name is searched still."""
    pipeline, _ = make(settings, folder)
    found = pipeline.candidates(QUESTION)
    generator = Replying("Qu'a-t-il gagné en 1859 ?")
    searched = search_text("Did Baker win in 1859?", "en", found, generator)
    assert searched == "Did Baker win in 1859? Qu'a-t-il gagné en 1859 ?"
    assert search_text(TRANSLATION, "fr", found, generator) == TRANSLATION  # theirs already
    assert search_text(QUESTION, "en", [], generator) == QUESTION  # nothing found to follow
