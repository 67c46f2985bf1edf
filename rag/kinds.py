"""What kind of answer a question asks for, and whether a reply gives it.

"Combien de salariés compte MiniMax ?" asks for an amount; "En quelle année … ?" for a date. A
reply that states none ("MiniMax compte de nombreux salariés [1].") does not answer, however well
cited. On the evaluation set, this is how the small model answers a question the documents cannot:
it forces a cited sentence that dodges what was asked (forced answers to unanswerable questions,
docs/evaluation.md). The pipeline treats such a reply as a refusal.

Only questions that plainly ask for a number or a date get a kind; every other question (who,
which, how, why) is left alone, so the check can only turn a dodge into a refusal, never reject
a reply to a question it does not understand. One more dodge is caught for every question
that asks who, what, where…: a reply that only restates the question ("Quelle banque a piloté
l'IPO de SenseTime ?" "SenseTime a piloté l'IPO de SenseTime [1].").

>>> asked_kind("De combien l'action a-t-elle bondi ?"), asked_kind("Who heads SenseTime?")
('quantity', None)
>>> answers_kind("How many staff does MiniMax have?", "MiniMax has many employees [1].")
False
>>> answers_kind("How many staff does MiniMax have?", "MiniMax has 385 employees [1].")
True
"""

from __future__ import annotations

import re
from typing import Literal

from rag.citations import drop_invalid_markers
from rag.text import FUNCTION_WORDS, normalize, numbers_in, stems

__all__ = ["Kind", "answers_kind", "asked_kind", "gives_kind", "restates"]

Kind = Literal["quantity", "amount", "date"]

# Nouns that, after "quel/quelle…" or "what…", ask for a figure.
_FIGURES = (
    r"montant|pourcentage|part|somme|cours|prix|nombre|taux|chiffre|valeur|capitalisation|"
    r"valorisation|croissance|hausse|baisse|perte|benefice|salaire|effectif|"
    r"percentage|share|amount|sum|price|figure|proportion|number|rate|value|valuation|"
    r"capitali[sz]ation|revenue|revenues|sales|growth|loss|profit|salary|headcount"
)
# Not when the noun only qualifies another: "what sales strategy", "quelle part de marché" is
# a figure but "what price war" is not.
_NOT_A_FIGURE = (
    r"(?!\s+(?:strateg\w*|plans?|wars?|guerres?|teams?|equipes?|model\w*|polic\w*|politiques?"
    r"|forces?|channels?|canal|canaux|targets?|objectifs?|drivers?|moteurs?|de responsabilite))"
)
# Questions are normalised first (no accents, lower case): "à quel prix" is "a quel prix".
_QUANTITY = re.compile(
    r"\bcombien\b|\bhow (?:much|many)\b"
    r"|\bquel(?:le)?s? (?:est |etait |sera |a ete |fut )?(?:le |la |les |l')?(?:\w+ )?"
    rf"(?:{_FIGURES})\b{_NOT_A_FIGURE}"
    r"|\ba quel (?:cours|prix|montant|niveau)\b"
    r"|\bwhat (?:is |was |were |are |will be )?(?:the |its |their |[\w-]+'s )?(?:\w+ )?"
    rf"(?:{_FIGURES})\b{_NOT_A_FIGURE}"
)
# A count of things or a sum ("combien de salariés", "what net profit"), not a share or a
# change: a percentage does not answer it. "MiniMax compte 138 % de salariés par an" and
# "a net profit of 75% since June 2022" were the small model's answers to questions the
# documents cannot answer (eval q074, q077), each cited to a passage holding the percentage.
_COUNT = re.compile(
    r"\bcombien d(?:e |es |u |')(?!(?:temps|fois|ans|annees|mois|jours|heures|siecles)\b)"
    r"|\bhow many\b(?! (?:times|years|months|days|hours|centuries)\b)"
)
_SUM = re.compile(
    r"\b(?:montant|somme|chiffre d'affaires|valeur|valorisation|capitalisation|benefices?|"
    r"pertes?|revenus?|ventes|salaires?|effectifs?|amount|sum|value|valuation|"
    r"capitali[sz]ation|revenues?|sales|earnings|profits?|loss(?:es)?|salar(?:y|ies)|"
    r"headcount)\b"
)
_CHANGE = re.compile(
    r"\b(?:pourcentage|pour cent|part|taux|proportion|croissance|hausse|baisse|percentage|"
    r"percent|share|rate|growth|rise|risen|fall|fallen|fell|gain|change|evolution)\b"
    r"|\b(?:augment|chut|bondi|grimp|recul|progress|plong|baiss|multipli|evolu|increas|"
    r"decreas|drop|jump|soar|climb|slump|plung)\w*"
)
# A year in a date ("depuis juin 2022", "in 2030"): when, not how many.
_YEAR = re.compile(
    r"\b(?:en|in|depuis|since|jusqu'en|until|by|d'ici|from|of|janvier|fevrier|mars|avril|"
    r"mai|juin|juillet|aout|septembre|octobre|novembre|decembre|january|february|march|"
    r"april|may|june|july|august|september|october|november|december)"
    r"\s+(?:\d{1,2}(?:er)?\s+\w+\s+)?((?:1[5-9]|20)\d\d)\b"
)
_DATE = re.compile(
    r"(?:^|[,;] |\bet |\band )(?:quand|when)\b|\bdepuis quand\b|\bsince when\b"
    r"|\b(?:en |a |de )?(?:quel(?:le)?) (?:annee|jour|date|mois)\b"
    r"|\b(?:in |on |of )?(?:what|which) (?:year|day|date|month)\b"
)
# Words that give a figure without digits.
_QUANTITY_WORDS = re.compile(
    r"\b(?:moitie|half|tiers|third|quart|quarter|douzaine|dozen|dizaines?|dozens|vingt|"
    r"twenty|cent|hundred|mille|thousand|millions?|milliards?|billions?)\b"
)
# Words that place an answer in time without a date ("il y a quelques semaines", "that day").
_TIME_WORDS = re.compile(
    r"\b(?:lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche|monday|tuesday|wednesday|"
    r"thursday|friday|saturday|sunday|janvier|fevrier|mars|avril|mai|juin|juillet|aout|"
    r"septembre|octobre|novembre|decembre|january|february|march|april|may|june|july|august|"
    r"september|october|november|december|hier|aujourd'hui|demain|yesterday|today|tomorrow|"
    r"semaines?|weeks?|mois|months?|ans|annees?|years?|jours?|days?|trimestres?|quarters?|"
    r"semestres?|decennies?|decades?|siecles?|century|centuries|matin|soir|morning|evening)\b"
)
# Questions that ask for something (not yes/no): a reply must add to them. Read before
# normalising, which would make "où" (where) "ou" (or).
_WH = re.compile(
    r"\b(?:who|whom|whose|what|which|where|when|how|why|qui|quel|quelle|quels|quelles|quoi|"
    r"où|quand|comment|combien|pourquoi|lequel|laquelle)\b"
)
# Words a reply may add without saying anything new.
_FUNCTION_WORDS = FUNCTION_WORDS | set("an as her his more not on or plus se son".split())


def asked_kind(question: str) -> Kind | None:
    """``"quantity"``, ``"amount"`` (a count or a sum, not a share or a change) or
    ``"date"`` when the question plainly asks for one, else None.

    >>> asked_kind("Quel pourcentage du capital d'Alibaba Jack Ma détient-il ?")
    'quantity'
    >>> asked_kind("On what day did ByteDance launch Seedance 2.0?")
    'date'
    >>> asked_kind("What gain did UCloud post when it hit its limit?")  # "when" mid-sentence
    """
    text = normalize(question)
    if _QUANTITY.search(text):
        if (_COUNT.search(text) or _SUM.search(text)) and not _CHANGE.search(text):
            return "amount"
        return "quantity"
    if _DATE.search(text):
        return "date"
    return None


def gives_kind(text: str, kind: Kind | None, *, question: str = "") -> bool:
    """Whether ``text`` states something of ``kind``: a number (in digits or words) for a
    quantity, a number that is neither a percentage nor a date's year, or a word of
    quantity, for an amount, a number or a word of time for a date. Numbers the question
    itself states do not count ("How much did it invest in 2025?" is not answered by "in
    2025").

    >>> gives_kind("Alibaba investira sur trois ans [2].", "quantity")
    True
    >>> gives_kind("Tencent a clôturé jeudi [1].", "quantity")
    False
    >>> gives_kind("MiniMax compte 138 % de salariés par an jusqu'en 2030 [1].", "amount")
    False
    """
    if kind is None:
        return True
    new = numbers_in(text) - numbers_in(question)  # numbers_in leaves citation markers out
    if kind == "amount":
        new -= set(_YEAR.findall(normalize(text)))
        new = {n for n in new if not n.endswith("%")}
    if new:
        return True
    words = _TIME_WORDS if kind == "date" else _QUANTITY_WORDS
    return bool(words.search(normalize(text)))


def answers_kind(question: str, text: str) -> bool:
    """Whether a reply gives the kind of answer the question asks for (True when it asks for
    no particular kind), and, to a question asking who, what, where… , says something the
    question did not. See the module's examples.

    >>> answers_kind("Quelle banque a piloté l'IPO de SenseTime ?",
    ...              "SenseTime a piloté l'IPO de SenseTime [1].")
    False
    """
    if restates(question, text):
        return False
    return gives_kind(text, asked_kind(question), question=question)


def restates(question: str, text: str) -> bool:
    """Whether ``text`` only restates a question asking who, what, where…: "Which bank led
    X's IPO?" "X led its IPO [1]." says nothing the question did not."""
    return bool(_WH.search(question.lower())) and not _content(text) - _content(question)


def _content(text: str) -> set[str]:
    """The text's content words and numbers, crudely stemmed (:func:`rag.text.stems`)."""
    return stems(drop_invalid_markers(text, 0), _FUNCTION_WORDS)  # k=0: no marker stays
