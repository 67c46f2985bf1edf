"""Tests for rag.facts fact matching, and a validation of the question sets in eval/.

Worked example: the fact ``[["16,5 milliards"]]`` is present in the answer
``"SenseTime was worth $16.5bn at listing [2]."`` (same number, "bn" = "milliards", any currency),
absent from ``"16,5 millions"`` (another scale) and from ``"116,5 milliards"`` (another number).
``[["Xu Li"]]`` is in ``"Xu Li's company"`` but not in ``"Xu Lin"``.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from rag.facts import fact_present, facts_present

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "rag" / "corpus"
QUESTIONS = ROOT / "eval" / "questions.jsonl"
# Written later, without seeing the model's answers, to test what was tuned on QUESTIONS.
HELD_OUT = [ROOT / "eval" / "heldout.jsonl", ROOT / "eval" / "heldout2.jsonl"]
KINDS = {"number", "name", "date", "place", "multi", "conflict", "paraphrase", "unanswerable"}

CASES = [
    # accents, case, typographic apostrophes
    ("Etats-Unis", "les États-Unis accusent", True),
    ("ouighours", "des Ouïghours", True),
    ("50 milliards d'euros", "50 milliards d’euros", True),
    # decimal comma vs point; spaces, NBSP and thin spaces inside numbers
    ("30,6", "une valeur de 30.6", True),
    ("30.6", "une valeur de 30,6", True),
    ("2 000", "2000 ingénieurs", True),
    ("2000", "2\u00a0000 ingénieurs", True),
    ("2000", "2\u202f000 ingénieurs", True),
    ("2000", "2\u2009000 ingénieurs", True),
    # whole numbers only
    ("30", "300 clients", False),
    ("30", "d'ici 2030", False),
    ("30", "30,6 milliards", False),
    ("30", "30 millions", True),  # a variant with no scale word accepts any scale
    ("5", "le modèle GLM-5", False),
    ("19", "la pandémie de Covid-19", False),
    ("32", "QwQ-32B", False),
    # scale words
    ("16,5 milliards", "16.5 billion dollars", True),
    ("16,5 milliards", "16,5 milliards de dollars", True),
    ("16,5 milliards", "$16.5bn", True),
    ("16,5 milliards", "16,5 Md$", True),
    ("16,5 milliards", "16 500 millions", True),
    ("16,5 milliards", "16,5 millions", False),
    ("16,5 milliards", "16,5", False),
    ("330 millions", "$330M", True),
    ("330 millions", "330 million", True),
    ("1,4 milliard", "RMB1.4bn", True),
    # percent forms
    ("30 %", "30%", True),
    ("près de 30 %", "nearly 30 percent", True),
    ("30 %", "30 pour cent", True),
    ("30 %", "30 per cent", True),
    ("30 %", "30 millions", False),
    ("2,6 %", "Tencent : -2,6 %", True),
    # currencies: required only when the variant names one
    ("16,5 milliards de dollars", "US$16.5 billion", True),
    ("16,5 milliards de dollars", "16.5 billion US dollars", True),
    ("16,5 milliards de dollars", "16,5 milliards de dollars américains", True),
    ("16,5 milliards de dollars", "16.5 billion yuan", False),
    ("380 milliards de yuans", "RMB 380 billion", True),
    ("380 milliards de yuans", "CNY380bn", True),
    ("380 milliards de yuans", "380 billion renminbi", True),
    ("380 milliards de yuans", "380 milliards de dollars", False),
    ("50 milliards d'euros", "€50 billion", True),
    ("50 milliards d'euros", "EUR 50bn", True),
    ("50 milliards d'euros", "50 milliards de dollars", False),
    ("plus de 50 milliards de dollars", "over $50 billion", True),
    ("405 dollars de Hong Kong", "HK$405", True),
    ("405 dollars de Hong Kong", "405 Hong Kong dollars", True),
    ("405 dollars de Hong Kong", "HKD 405", True),
    ("405 dollars de Hong Kong", "$405", False),
    ("51,8 $", "405 dollars de Hong Kong (51,8 $)", True),
    ("51,8 $", "HK$51.8", False),
    # names and phrases: whole words, hyphens as spaces
    ("Xu Li", "Xu Li's company", True),
    ("Xu Li", "Xu Lin", False),
    ("GLM-5", "GLM-5 est lancé", True),
    ("GLM-5", "GLM-5.1", False),
    ("GLM-5", "GLM-50", False),
    ("Ming-Flash-Omni", "Ming-Flash-Omni 2.0", True),
    ("juin 2022", "depuis juin 2022", True),
    ("juin 2022", "since June 2022", False),
    ("Huawei", "Huaweis", False),
]


@pytest.mark.parametrize(("variant", "text", "expected"), CASES)
def test_fact_present(variant: str, text: str, expected: bool) -> None:
    assert fact_present([variant], text) is expected


def test_any_variant_suffices_and_each_fact_is_checked() -> None:
    text = "Alibaba investira 380 milliards de yuans ; un autre article dit 50 milliards d'euros."
    assert fact_present(["52,5 milliards de dollars", "380 milliards de yuans"], text)
    assert not fact_present([], text)
    assert not fact_present([""], text)
    facts = [["380 milliards"], ["50 milliards de dollars", "50 milliards d'euros"], ["Eddie Wu"]]
    assert facts_present(facts, text) == [True, True, False]


def _questions(path: Path = QUESTIONS) -> list[dict[str, Any]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def _check_shape(q: dict[str, Any]) -> None:
    types = {"id": str, "question": str, "language": str, "kind": str, "answerable": bool}
    assert set(q) >= {*types, "facts", "articles"}, q["id"]
    for key, kind in types.items():
        assert isinstance(q[key], kind), (q["id"], key)
    assert q["question"].strip(), q["id"]
    assert q["language"] in {"fr", "en"}, q["id"]
    assert q["kind"] in KINDS, q["id"]
    assert q["answerable"] == (q["kind"] != "unanswerable"), q["id"]
    assert isinstance(q["facts"], list) and isinstance(q["articles"], list), q["id"]
    for fact in q["facts"]:
        assert isinstance(fact, list) and fact, q["id"]
        assert all(isinstance(v, str) and v.strip() for v in fact), q["id"]
    if q["answerable"]:
        assert q["facts"] and q["articles"], q["id"]
        assert all((CORPUS / a).is_file() for a in q["articles"]), q["id"]
    else:
        assert q["facts"] == [] and q["articles"] == [], q["id"]


def test_questions_file_shape() -> None:
    questions = _questions()
    assert len(questions) >= 84
    for q in questions:
        _check_shape(q)
    languages = Counter(q["language"] for q in questions)
    assert languages["fr"] >= 35 and languages["en"] >= 35, languages
    assert sum(not q["answerable"] for q in questions) >= 14


def test_held_out_files_shape() -> None:
    for path in HELD_OUT:
        for q in _questions(path):
            _check_shape(q)
    # One id names one question across the sets: reports and notes cite them bare.
    ids = [q["id"] for path in (QUESTIONS, *HELD_OUT) for q in _questions(path)]
    assert len(set(ids)) == len(ids)


ALL_ANSWERABLE = [q for path in (QUESTIONS, *HELD_OUT) for q in _questions(path) if q["answerable"]]


@pytest.mark.parametrize("q", ALL_ANSWERABLE, ids=lambda q: q["id"])
def test_facts_are_in_cited_articles(q: dict[str, Any]) -> None:
    text = "\n".join((CORPUS / a).read_text(encoding="utf-8") for a in q["articles"])
    found = facts_present(q["facts"], text)
    missing = [f for f, ok in zip(q["facts"], found, strict=True) if not ok]
    assert not missing, f"{q['id']}: {missing} not in {q['articles']}"
