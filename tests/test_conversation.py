"""Tests for rag.conversation: follow-up questions made to stand alone, by rules.

Worked example, a conversation of three questions::

    "Qui dirige SenseTime ?"              stands alone: unchanged
    "Et Alibaba ?"                        -> "Qui dirige Alibaba ?"  (a swap of the subject)
    "Quel est son chiffre d'affaires ?"   -> "Quel est le chiffre d'affaires d'Alibaba ?"
                                             ("son" is the latest subject, Alibaba, elided)

and "Quelle est la capitalisation de MiniMax ?" after any of them is left as it is: it names its
own subject.
"""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rag.conversation import is_follow_up, standalone

SENSETIME_FR = "Qui est le PDG de SenseTime ?"
REVENUE_FR = "Quel est le chiffre d'affaires de SenseTime ?"
VALUE_EN = "What was SenseTime's market value at its listing?"
HEADS_EN = "Who heads SenseTime?"

# (earlier questions, oldest first; the follow-up; what it becomes)
CASES = [
    # the two examples of the brief
    ([SENSETIME_FR], "Et Alibaba ?", "Qui est le PDG d'Alibaba ?"),
    ([VALUE_EN], "what about its revenue?", "what about SenseTime's revenue?"),
    # French swaps, with elision both ways and typographic apostrophes
    ([SENSETIME_FR], "et pour MiniMax?", "Qui est le PDG de MiniMax ?"),
    (["Qui est le PDG d'Alibaba ?"], "Et MiniMax ?", "Qui est le PDG de MiniMax ?"),
    ([SENSETIME_FR], "Qu'en est-il d'Alibaba ?", "Qui est le PDG d'Alibaba ?"),
    (["Qui est le PDG d’Alibaba ?"], "Qu’en est-il de MiniMax ?", "Qui est le PDG de MiniMax ?"),
    ([REVENUE_FR], "Et du côté de Tencent ?", "Quel est le chiffre d'affaires de Tencent ?"),
    ([REVENUE_FR], "Et chez Zhipu AI ?", "Quel est le chiffre d'affaires de Zhipu AI ?"),
    (["SenseTime est-elle rentable ?"], "Alibaba ?", "Alibaba est-elle rentable ?"),
    (["Qui dirige SenseTime ?"], "Et Alibaba, alors ?", "Qui dirige Alibaba ?"),
    (["Qui dirige SenseTime ?"], "ET TENCENT ?", "Qui dirige TENCENT ?"),
    # English swaps; the possessive "'s" stays with the new name
    ([HEADS_EN], "What about Zhipu?", "Who heads Zhipu?"),
    ([VALUE_EN], "And Tencent?", "What was Tencent's market value at its listing?"),
    ([HEADS_EN], "How about Hong Kong Exchanges?", "Who heads Hong Kong Exchanges?"),
    (["What was SenseTime's revenue?"], "And Tencent's?", "What was Tencent's revenue?"),
    # French back-references: possessives (article, elision, "de le" -> "du"), subjects, inversion
    (
        ["Qui dirige SenseTime ?"],
        "Quelle est sa capitalisation boursière ?",
        "Quelle est la capitalisation boursière de SenseTime ?",
    ),
    (
        ["Qui dirige Alibaba ?"],
        "Quel est son chiffre d’affaires ?",
        "Quel est le chiffre d’affaires d’Alibaba ?",
    ),
    (
        ["Qui dirige SenseTime ?"],
        "Quelle part de ses revenus provient de l'État ?",
        "Quelle part des revenus de SenseTime provient de l'État ?",
    ),
    (
        ["Qui dirige Alibaba ?"],
        "Quel est le rôle de son fondateur ?",
        "Quel est le rôle du fondateur d'Alibaba ?",
    ),
    (["Qui dirige SenseTime ?"], "Sa capitalisation ?", "La capitalisation de SenseTime ?"),
    (
        ["Qui dirige SenseTime ?"],
        "Quand a-t-elle été fondée ?",
        "Quand SenseTime a-t-elle été fondée ?",
    ),
    (["Qui dirige SenseTime ?"], "Est-elle rentable ?", "SenseTime est-elle rentable ?"),
    (["Qui dirige Alibaba ?"], "Est-ce qu'elle est rentable ?", "Est-ce qu'Alibaba est rentable ?"),
    (["Qui dirige Alibaba ?"], "Qui a fondé cette société ?", "Qui a fondé Alibaba ?"),
    (
        ["Qui dirige Alibaba ?"],
        "Combien de personnes y travaillent ?",
        "Combien de personnes travaillent chez Alibaba ?",
    ),
    (
        ["Quelles entreprises d'IA sont cotées à Hong Kong ?"],
        "Combien y sont cotées ?",
        "Combien sont cotées à Hong Kong ?",
    ),
    (
        ["En quelle année Zhipu et MiniMax seront-elles rentables ?"],
        "Sont-elles cotées ?",
        "Zhipu et MiniMax sont-elles cotées ?",
    ),
    (
        ["Qui dirige Alibaba ?"],
        "Pourquoi ne l’a-t-elle pas fait ?",
        "Pourquoi Alibaba ne l’a-t-elle pas fait ?",
    ),
    (
        ["Qui dirige Alibaba ?"],
        "Qui sont ses principaux clients ?",
        "Qui sont les principaux clients d'Alibaba ?",
    ),
    # English back-references
    ([HEADS_EN], "When was it founded?", "When was SenseTime founded?"),
    ([HEADS_EN], "What was its IPO price?", "What was SenseTime's IPO price?"),
    ([HEADS_EN], "Who founded the company?", "Who founded SenseTime?"),
    ([HEADS_EN], "Does it compete with Alibaba?", "Does SenseTime compete with Alibaba?"),
    (
        ["How much did Tencent and Alibaba shares fall?"],
        "What are their plans?",
        "What are Tencent and Alibaba's plans?",
    ),
    # elliptical follow-ups: the earlier question, then this one
    ([REVENUE_FR], "Et en 2023 ?", REVENUE_FR + " Et en 2023 ?"),
    ([REVENUE_FR], "Et en Chine ?", REVENUE_FR + " Et en Chine ?"),
    ([VALUE_EN], "And in dollars?", VALUE_EN + " And in dollars?"),
    (
        ["De combien l'action SenseTime a-t-elle chuté ?"],
        "Pourquoi ?",
        "De combien l'action SenseTime a-t-elle chuté ? Pourquoi ?",
    ),
    (["Qui dirige SenseTime"], "Pourquoi ?", "Qui dirige SenseTime ? Pourquoi ?"),
    # ... built on the question before the ellipses, not on a growing chain of them
    ([REVENUE_FR, "Et en 2023 ?"], "Et en 2022 ?", REVENUE_FR + " Et en 2022 ?"),
    (
        [REVENUE_FR, "Et en 2023 ?"],
        "Et Alibaba ?",
        "Quel est le chiffre d'affaires d'Alibaba ? Et en 2023 ?",
    ),
    # walking back past a follow-up, and past questions without a subject
    (
        ["Qui dirige SenseTime ?", "Et Alibaba ?"],
        "Quel est son chiffre d'affaires ?",
        "Quel est le chiffre d'affaires d'Alibaba ?",
    ),
    (
        ["Qui dirige SenseTime ?", "", "😀", "Quels sont les principaux clients ?"],
        "Pourquoi ?",
        "Qui dirige SenseTime ? Pourquoi ?",
    ),
    # the latest subject wins over older ones
    (
        ["Qui dirige SenseTime ?", "Qui dirige MiniMax ?"],
        "Quel est son siège ?",
        "Quel est le siège de MiniMax ?",
    ),
    # a pasted text as an earlier question: scanned for its subject, not copied in
    (["voici un article " * 40 + "sur SenseTime."], "Pourquoi ?", "Pourquoi ? (SenseTime)"),
]

# Questions that stand alone after SenseTime questions: they name their own subject (any
# pronoun in them comes after it), or are too long to be an ellipsis, or are no question.
ALONE = [
    "Quelle est la capitalisation de MiniMax ?",
    "Qui est le PDG d’Alibaba ?",
    "What is the name of the AI model Alibaba launched to rival DeepSeek?",
    "By how much had SenseTime's share price risen since its Hong Kong IPO?",
    "Combien de yuans Alibaba va-t-il investir selon son communiqué ?",
    "Quels GPU Nvidia ne pourra-t-il plus vendre à la Chine ?",
    "De combien l'action Alibaba a-t-elle grimpé après l'annonce de QwQ-32B ?",
    "Et le PDG de DeepSeek ?",
    "Combien d'employés y a-t-il dans les entreprises chinoises d'IA ?",
    "Quelles entreprises chinoises d'IA sont cotées en bourse ?",
    "Merci beaucoup",
    "",
    "   ",
    "👍",
    "🤔 ?",
]


@pytest.mark.parametrize(("history", "question", "expected"), CASES)
def test_standalone(history: list[str], question: str, expected: str) -> None:
    assert standalone(question, history) == expected
    assert is_follow_up(question, history)


@pytest.mark.parametrize("question", ALONE)
@pytest.mark.parametrize("history", [[SENSETIME_FR], [HEADS_EN, "Et Alibaba ?"]])
def test_standalone_question_is_unchanged(question: str, history: list[str]) -> None:
    assert standalone(question, history) == question
    assert not is_follow_up(question, history)


@pytest.mark.parametrize("question", [q for _, q, _ in CASES])
@pytest.mark.parametrize("history", [[], [""], ["😀", "  "], ["Quels sont les clients ?"]])
def test_no_subject_in_history_leaves_the_question(question: str, history: list[str]) -> None:
    assert standalone(question, history) == question


@pytest.mark.parametrize(
    "question",
    ["Quel est son PDG ?", "What is its revenue?", "Who founded it?", "Et son PDG ?"],
)
def test_capitalised_first_word_is_no_subject(question: str) -> None:
    # were "Quel", "What", "Who" or "Et" a name, the question would count as standing alone
    assert "SenseTime" in standalone(question, [HEADS_EN])


def test_follow_up_of_a_follow_up_is_resolved_in_turn() -> None:
    history = ["Qui dirige SenseTime ?", "Et Alibaba ?", "Et chez MiniMax ?"]
    assert standalone("Quand a-t-elle été fondée ?", history) == (
        "Quand MiniMax a-t-elle été fondée ?"
    )


def test_odd_history_entries_are_skipped() -> None:
    history: list[str] = ["", "\x00", "🤖🤖", None, 42, SENSETIME_FR]  # type: ignore[list-item]
    assert standalone("Et Alibaba ?", history) == "Qui est le PDG d'Alibaba ?"


def test_long_question_is_no_follow_up() -> None:
    question = "Et son chiffre d'affaires ? " + "x " * 200
    assert standalone(question, [SENSETIME_FR]) == question
    assert standalone(question[:40], [SENSETIME_FR]) != question[:40]


def test_a_run_of_capitalised_words_is_no_subject() -> None:
    title = " ".join(["Intelligence Artificielle Chinoise"] * 10) + " ?"
    assert standalone("Et son chiffre d'affaires ?", [title]) == "Et son chiffre d'affaires ?"


def test_long_text_is_fast() -> None:
    text = "SenseTime a publié ses résultats, et son action a-t-elle chuté ? " * 3000
    started = time.perf_counter()
    assert standalone(text, [text, text]) == text
    assert standalone("Pourquoi ?", [text]) == "Pourquoi ? (SenseTime)"
    assert time.perf_counter() - started < 2


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(
    st.lists(st.sampled_from([*"aéI S?'’-dle,.", "Et ", "son ", "y ", "il ", "Alibaba"])).map(
        "".join
    ),
    st.lists(st.text() | st.sampled_from([SENSETIME_FR, VALUE_EN, "Et Alibaba ?"]), max_size=4),
)
def test_never_raises(question: str, history: list[str]) -> None:
    result = standalone(question, history)
    assert isinstance(result, str)
    assert is_follow_up(question, history) == (result != question)
    assert standalone(question, []) == question
