"""A figure found in its passage but said to go the other way (rag.direction).

Worked example (issue 27, built-in articles): "How much has SenseTime's share price risen since
its IPO?" was answered "risen by 75 % [1]" over "ont plongé de plus de 75 %"; the check now
finds the sentence unsupported, so the answer is refused or quotes the passage instead.
"""

from __future__ import annotations

import pytest

from rag.citations import check
from rag.direction import direction_at, reversed_figures
from rag.text import figure_positions, normalize
from rag.types import Chunk, Passage

FELL = "Les actions de SenseTime ont plongé de plus de 75 % depuis juin 2022."


def passage(text: str) -> Passage:
    return Passage(Chunk("c", "d", "d.txt", "T", text, 0, len(text)), 1.0, 0)


@pytest.mark.parametrize(
    ("text", "figure", "way"),
    [
        ("ont plongé de plus de 75 % depuis juin", "75%", "down"),
        ("a 12 % rise in revenue", "12%", "up"),
        ("le chiffre d'affaires, en hausse de 30,6 milliards", "30.6e9", "up"),
        ("revenue fell 12 %, after rising 5 % in 2023", "12%", "down"),  # the nearest word
        ("revenue fell 12 %, after rising 5 % in 2023", "5%", "up"),  # in its own clause
        ("a levé 75 % de ses fonds", "75%", None),  # no word of change
        ("ses bonds de 75 %", "75%", None),  # "bonds" is not "bond"
        ("les actions ont bondi en 2021. elles valent 75 % de moins", "75%", None),
        ("revenue of 2.4 billion, down 3 %", "3%", "down"),  # "2.4" ends no clause
        ("le chiffre d'affaires a reculé de 3,5 %", "3.5%", "down"),  # nor "3,5"
        ("le marché devrait croître de 138 % d'ici 2030", "138%", "up"),  # croître, croîtra
        ("les ventes croissent de 12 %", "12%", "up"),
        ("l'emploi a décru de 4 %", "4%", "down"),
        ("la part devrait décroître de 4 %", "4%", "down"),
        ("il croit que 40 % des ventes suffiront", "40%", None),  # croit: believes
    ],
)
def test_the_direction_of_a_figure_is_the_nearest_word_of_change_in_its_clause(
    text: str, figure: str, way: str | None
) -> None:
    norm = normalize(text)
    [(start, end)] = [(s, e) for v, s, e in figure_positions(norm) if v == figure]
    assert direction_at(norm, start, end) == way


def test_a_rise_over_a_fall_is_reversed_and_the_same_way_is_not() -> None:
    assert reversed_figures("SenseTime's shares have risen by 75 % [1].", [FELL]) == ["75%"]
    assert reversed_figures("Les actions ont chuté de 75 % [1].", [FELL]) == []
    # Either way somewhere in the passages, or no way at all: nothing is contradicted.
    both = FELL + " Puis elles ont bondi de 75 % en un mois."
    assert reversed_figures("The shares rose 75 % [1].", [both]) == []
    assert reversed_figures("The shares rose 75 % [1].", ["Il détient 75 % du capital."]) == []
    # A sentence that says no way says nothing to contradict.
    assert reversed_figures("SenseTime: 75 % [1].", [FELL]) == []


def test_the_check_finds_the_reversed_sentence_unsupported() -> None:
    checked = check("SenseTime's share price has risen by 75 % [1].", [passage(FELL)])
    [sentence] = checked.sentences
    assert not sentence.supported
    assert sentence.missing == ("75% (the passage says it went the other way)",)
    agreed = check("SenseTime's share price has fallen by 75 % [1].", [passage(FELL)])
    assert agreed.sentences[0].supported
