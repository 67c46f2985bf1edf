"""What a question asks for, and whether a reply gives it.

Worked example: "Combien de salariés compte MiniMax ?" asks for a quantity. "MiniMax compte de
nombreux salariés [1]." gives none, so it does not answer (the pipeline refuses instead);
"MiniMax compte 385 salariés [1]." does.
"""

from __future__ import annotations

import pytest

from rag.kinds import answers_kind, asked_kind, gives_kind


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("Combien de salariés compte MiniMax ?", "amount"),
        ("De combien l'indice Hang Seng Tech a-t-il baissé ?", "quantity"),
        ("How much did Alibaba pay to acquire DeepSeek?", "quantity"),
        ("How many parameters does GLM-5 have?", "amount"),
        ("Quel pourcentage du capital d'Alibaba Jack Ma détient-il ?", "quantity"),
        ("À quel cours l'action Tencent a-t-elle clôturé jeudi ?", "quantity"),
        ("À quel prix l'action de Zhipu AI a-t-elle clôturé ?", "quantity"),
        ("Quel est le cours de l'action iFlytek ?", "quantity"),
        ("What was Zhipu's closing price on Thursday?", "quantity"),
        ("By how much had SenseTime's share price risen?", "quantity"),
        ("What was the share price rise of MiniMax?", "quantity"),
        ("De combien l'action a-t-elle grimpé, et à quel cours a-t-elle clôturé ?", "quantity"),
        ("Quel est le chiffre d'affaires annuel de Zhipu AI ?", "amount"),
        ("Quelle était la valeur boursière de SenseTime ?", "amount"),
        ("What is SenseTime's market capitalisation?", "amount"),
        ("What net loss did SenseTime report for the first half?", "amount"),
        # A count or a sum, unless it is a share or a change of one.
        ("What was Tencent's revenue last year?", "amount"),
        ("Quelle part des revenus de SenseTime venait de l'État ?", "quantity"),
        ("De combien le chiffre d'affaires a-t-il augmenté ?", "quantity"),
        ("Combien de temps a duré le siège ?", "quantity"),
        ("How many times did Brodeur win the Cup?", "quantity"),
        ("En quelle année ByteDance a-t-il été fondé ?", "date"),
        ("Quel jour de la semaine Alibaba a-t-il annoncé son plan ?", "date"),
        ("When did Zhipu AI go public?", "date"),
        ("Quand SenseTime est-elle entrée en Bourse ?", "date"),
        ("Which model did Ant Group release, and when was its listing cancelled?", "date"),
        ("Since which month and year have the shares fallen?", "date"),
        # Not a plain request for a number or a date: left alone.
        ("Who heads SenseTime?", None),
        ("Qui a fondé DeepSeek ?", None),
        ("What stake does Huawei hold in SenseTime?", None),
        ("How has SenseTime's share price performed since its IPO?", None),
        ("What gain did UCloud Tech post when it hit its daily limit?", None),
        ("Quelle entreprise fait partie des clients de SenseTime ?", None),
        ("Où est basée SenseTime ?", None),
        # A figure noun that only qualifies another asks for no figure.
        ("What sales strategy did Alibaba adopt?", None),
        ("What price war is Alibaba waging?", None),
        ("Quelle est la part de responsabilité de SenseTime ?", None),
        ("Quelle part de marché détient Alibaba ?", "quantity"),
    ],
)
def test_asked_kind(question: str, kind: str | None) -> None:
    assert asked_kind(question) == kind


@pytest.mark.parametrize(
    ("text", "kind", "gives"),
    [
        ("Le cours a augmenté de plus de 85 % [1].", "quantity", True),
        ("Alibaba investira sur trois ans [2].", "quantity", True),
        ("Its value halved: down by half [1].", "quantity", True),
        ("Alibaba will invest 380 billion yuan [1].", "quantity", True),
        ("Tencent a clôturé ses actions le jeudi [1].", "quantity", False),
        ("Jack Ma détient une partie importante de l'entreprise [1].", "quantity", False),
        ("SenseTime was funded by HNA Group and China Mobile [1].", "quantity", False),
        ("SenseTime est entrée en Bourse en 2021 [1].", "date", True),
        ("ByteDance launched it on Monday [2].", "date", True),
        ("Il y a quelques semaines [1].", "date", True),
        ("ByteDance a lancé un nouvel outil vidéo [1].", "date", False),
        # A count or a sum: a percentage, or the year of a date, does not give one.
        ("MiniMax compte 385 salariés [1].", "amount", True),
        ("SenseTime a perdu 2,4 milliards de yuans [1].", "amount", True),
        ("MiniMax compte 138 % de salariés par an jusqu'en 2030 [1].", "amount", False),
        ("SenseTime reported a net profit of 75% since June 2022 [1].", "amount", False),
        ("La ville compte 1850 habitants [1].", "amount", True),
        # A citation marker is not a number.
        ("MiniMax compte de nombreux salariés [1][2].", "quantity", False),
        # No kind asked: anything goes.
        ("Xu Li [1].", None, True),
    ],
)
def test_gives_kind(text: str, kind: str | None, gives: bool) -> None:
    assert gives_kind(text, kind) is gives  # type: ignore[arg-type]


def test_numbers_the_question_states_do_not_answer_it() -> None:
    question = "How much did Alibaba invest in 2025?"
    assert not answers_kind(question, "Alibaba invested heavily in 2025 [1].")
    assert answers_kind(question, "Alibaba invested 380 billion yuan in 2025 [1].")
    # A question with no kind: every reply passes.
    assert answers_kind("Who heads SenseTime?", "Xu Li heads SenseTime [1].")
    # A version in the question is not a date in the reply.
    assert not answers_kind(
        "When did ByteDance launch Seedance 2.0?", "It launched Seedance 2.0 [1]."
    )


@pytest.mark.parametrize(
    ("question", "reply", "answers"),
    [
        # Restating the question answers nothing (the model's reply to an unanswerable one).
        (
            "Quelle banque a piloté l'introduction en Bourse de SenseTime ?",
            "SenseTime a piloté l'introduction en bourse de SenseTime [1].",
            False,
        ),
        ("Who founded MiniMax?", "MiniMax was founded [1].", False),
        # The verb's "s" or a plural adds nothing (eval/ q085, answered this way).
        (
            "What stake does Huawei hold in SenseTime?",
            "Huawei holds a stake in SenseTime [1].",
            False,
        ),
        ("Which bank led the listing?", "Banks led the listing [1].", False),
        # One new word is enough: the reply adds to the question.
        ("In which part of China is Hangzhou?", "Hangzhou is in eastern China [1].", True),
        ("Qui dirige SenseTime ?", "Xu Li [1].", True),
        # A yes/no question may be answered by restating it.
        ("Is SenseTime based in Hong Kong?", "SenseTime is based in Hong Kong [1].", True),
        ("SenseTime ou Alibaba est-elle basée à Hangzhou ?", "Alibaba [1].", True),
    ],
)
def test_a_reply_must_add_to_the_question(question: str, reply: str, answers: bool) -> None:
    assert answers_kind(question, reply) is answers
