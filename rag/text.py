"""Text helpers the answer's stages share: folding text for comparison, the numbers, figures,
currencies and proper names a text states, its language (French or English), and an answer's
sentences. Lexical only: what these find is what the checks (:mod:`rag.citations`,
:mod:`rag.kinds`), the context choice and the quotes compare, not what a text means.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from decimal import Decimal
from typing import NamedTuple

__all__ = [
    "FUNCTION_WORDS",
    "MARKER",
    "Figure",
    "backed_numbers",
    "counts_in",
    "currencies_in",
    "detect_language",
    "figures_in",
    "in_other_language",
    "name_found",
    "names_in",
    "normalize",
    "numbers_in",
    "question_parts",
    "split_sentences",
    "stems",
]

# One citation marker: [1], [1, 2], [1-3], 【1】. Digits only, so "[software as a service]" is
# no marker. A marker's number is no number the text states.
MARKER = re.compile(r"[\[【]\s*(\d{1,9}(?:\s*[-–—,;]\s*\d{1,9})*)\s*[\]】]")
_PUNCT = str.maketrans("’‘ʼ`´«»“”„‐‑‒–—―−", "'''''\"\"\"\"\"-------")
# Sentence end: . ! ? … plus closing quotes, then the markers that follow it ("dollars. [1]").
_END = re.compile(r"[.!?…]+[\"'»”’)]*(?:\s*" + MARKER.pattern + r")*(?=\s|$)")
_BULLET = re.compile(r"^\s*(?:[-*•+]|\d{1,2}[.)])\s+")
# Words a period follows without ending the sentence: "M. Xu", "U.S. officials", "Inc.".
_ABBREV = re.compile(r"[^\W\d_]|(?:\w\.)+\w|mr|mrs|ms|dr|st|jr|sr|vs|inc|ltd|co|corp|mme|cf|no")
_WORD = re.compile(r"[^\W_]+(?:[-.][^\W_]+)*")
_NUMBER = re.compile(r"(?<![^\W\d_])(?<![^\W\d_]-)(?<![\d.])\d+(?:\.\d+)?(?!\d)")
# After a number: a percent sign or word, also across a range ("de 85 a 90 %" is two).
_PERCENT = re.compile(
    r"(?:\s?(?:a|et|ou|-|to|and|or)\s?\d+(?:\.\d+)?)?\s?(?:%|pour ?cent|per ?cent|percent)"
)
# After a number: its scale ("30,6 milliards", "$52.5bn"), also across a range ("10 à 12
# milliards"). On the held-out set the model turned a share price of "405 HK$" into "405 million
# Hong Kong dollars raised": the bare 405 backed it. "mille" is left out: "deux mille" is a count.
_SCALE_WORD = r"\s?(thousands?|millions?|mln|milliards?|mds?|billions?|bn|trillions?|tn)\b"
_SCALE = re.compile(r"(?:\s?(?:a|et|ou|-|to|and|or)\s?\d+(?:\.\d+)?)?" + _SCALE_WORD)
_UNSCALED = re.compile(r"(?<=\d)" + _SCALE_WORD)
_SCALES = {"thousand": 3, "million": 6, "mln": 6, "milliard": 9, "md": 9, "billion": 9, "bn": 9}
_SCALES |= {"trillion": 12, "tn": 12}
# Small numbers are often spelled out ("three years" over "trois ans"); not "un"/"one"
# (articles) nor "neuf" (also "new").
_NUMBER_WORDS = {
    w: str(n)
    for n, ws in enumerate(
        [
            "",
            "",
            "deux two",
            "trois three",
            "quatre four",
            "cinq five",
            "six",
            "sept seven",
            "huit eight",
            "nine",
            "dix ten",
        ]
    )
    for w in ws.split()
}


def _words(text: str) -> set[str]:
    return set(text.split())


_NUMBER_WORD = re.compile(r"\b(?:" + "|".join(_NUMBER_WORDS) + r")\b")
# Capitalised words that are not names, or that an English answer need not find verbatim.
_NOT_NAMES = _words("""i the however ai ia ceo pdg mr mrs ms dr mme inc ltd co corp llc sa
january february march april may june july august september october november december
janvier fevrier mars avril mai juin juillet aout septembre octobre novembre decembre
monday tuesday wednesday thursday friday saturday sunday
lundi mardi mercredi jeudi vendredi samedi dimanche""")
# Each string: names that stand for one another (English answers over French passages).
_EQUIVALENTS = (
    "us u.s usa united states america american etats-unis etats unis americain washington",
    "uk britain british kingdom royaume-uni royaume britannique london londres",
    "china chinese chine chinois",
    "beijing pekin",
    "uyghur uighur ouighour ouigour",
    "hong kong hk hongkong",
    "europe european eu ue europeen",
    "japan japanese japon japonais",
    "korea korean coree coreen",
    "germany german allemagne allemand",
    "france french francais",
    "dollar usd",
    "yuan rmb renminbi cny",
    "euro eur",
    "exchange stock ipo bourse introduction cotation",
    "president chairman presidente",
)
_EQUIV: dict[str, set[str]] = {}
for _line in _EQUIVALENTS:
    for _form in _line.split():
        for _suffix in ("", "s", "e", "es") if len(_form) > 3 else ("",):  # plurals, feminines
            _EQUIV.setdefault(_form + _suffix, set()).update(_line.split())

# Currencies, each group one currency in its forms: an answer's currency must be in its cited
# passage, in any form. One article gives Alibaba's plan in euros, another in dollars; the
# model cited the euro passage for "50 billion dollars" (eval q058), and a lower-case
# "dollars" is no name for the name check to find. Not "livre" (also "delivers").
_CURRENCIES = (
    "dollar dollars usd $ us$ hk$",
    "euro euros eur €",
    "yuan yuans rmb renminbi cny ¥",
    "yen jpy",
    "pound pounds sterling gbp £",
)
_CURRENCY = {form: line.split()[0] for line in _CURRENCIES for form in line.split()}
_CURRENCY_WORD = re.compile(
    r"(?:us|hk)?\$|[€¥£]|\b(?:" + "|".join(f for f in _CURRENCY if f.isalpha()) + r")\b"
)
# "30,6 milliards de dollars", "405 HK$", "5 billion of euros"; "$30.6bn", "US$ 51.8".
_CURRENCY_AFTER = re.compile(r"\s?(?:(?:de|d'|of)\s?)?(" + _CURRENCY_WORD.pattern + ")")
_CURRENCY_BEFORE = re.compile("(" + _CURRENCY_WORD.pattern + r")\s?$")
_FR_WORDS = _words("""le la les des du de un une et est sont ete etait quel quelle quels quelles
qui que quoi comment pourquoi combien ou dans pour sur avec par pas ne au aux ce cette ces ses
sa leur leurs il elle ils elles nous vous je selon entre avait ont mais donc depuis chez l d qu
n c j y en""")
_EN_WORDS = _words("""the of and to in is are was were what who whom which how why when where did
does do has have had for with by from that this these those its their it be been will would can
could about into than there at""")
# French and English function words: what a text says besides its content.
FUNCTION_WORDS = frozenset(_FR_WORDS | _EN_WORDS)
_PLAIN_WORD = re.compile(r"[^\W_]+")


def stems(text: str, ignore: frozenset[str] = FUNCTION_WORDS) -> set[str]:
    """The content words of ``text`` and its numbers, each without a plural or third-person
    "s" and cut to five letters: a crude stem ("fondé", "fondées"; "hold", "holds"). Words in
    ``ignore`` are dropped before the cut, so "entreprises" keeps its stem "entre" although the
    word "entre" is a function word.

    >>> sorted(stems("Les entreprises fondées en 2014"))
    ['2014', 'entre', 'fonde']
    """
    return {
        (w[:-1] if len(w) > 3 and w.endswith("s") else w)[:5]
        for w in _PLAIN_WORD.findall(normalize(text))
        if w not in ignore and (len(w) > 1 or w.isdigit())
    }


# More signs of an answer's language, kept out of FUNCTION_WORDS, which the context choice
# and the checks also use. Words both languages write ("a", "on", "an", "son", "but", "or")
# are in neither.
_FR_MORE = _words("aussi apres avant pendant lors sous puis tres lui fut furent etaient avaient")
_EN_MORE = _words("""he she his her him they them during after before while also only not as
became because since under over then""")
_EN_ENDING = re.compile(r"[a-z]{3,}(?:ed|ing|ly)")  # "played", "building", "originally"
_QUOTE = re.compile(r'«[^»]*»|“[^”]*”|"[^"]*"')


def normalize(text: str) -> str:
    """Fold text for comparison: case, accents, quotes, dashes, spaces and number formats.

    >>> normalize("Les  États-Unis : 30,6 milliards, 2 000 ou 1,000,000 d’euros")
    "les etats-unis : 30.6 milliards, 2000 ou 1000000 d'euros"
    """
    text = unicodedata.normalize("NFKD", text.replace("œ", "oe").replace("Œ", "Oe"))
    text = "".join(c for c in text if not unicodedata.combining(c)).lower().translate(_PUNCT)
    text = re.sub(r"\s+", " ", text).strip()  # \s covers NBSP and thin spaces
    text = re.sub(r"(?<![\d.,])\d{1,3}(?: \d{3})+(?!\d)", lambda m: m[0].replace(" ", ""), text)
    # "1,000,000": a comma before exactly three digits is an English thousands separator.
    text = re.sub(r"(?<![\d.,])\d{1,3}(?:,\d{3})+(?![\d,])", lambda m: m[0].replace(",", ""), text)
    return re.sub(r"(?<=\d),(?=\d)", ".", text)


def _canonical(number: str) -> str:
    whole, dot, frac = number.partition(".")
    frac = frac.rstrip("0")
    return (whole.lstrip("0") or "0") + ("." + frac if dot and frac else "")


def _scaled(number: str, exponent: int = 0) -> str:
    """A number times 10**exponent, written with the largest scale under it: "30.6"
    milliards and "30600" millions are both "30.6e9"; under a million, written out."""
    value = Decimal(number).scaleb(exponent)
    shown = next((e for e in (12, 9, 6) if value >= 10**e), 0)
    return _canonical(format(value.scaleb(-shown), "f")) + (f"e{shown}" if shown else "")


class _Number(NamedTuple):
    value: str  # "30.6e9", "85%", "2021"
    start: int
    end: int  # after its scale word, where a currency may follow
    bare: bool  # neither a percentage nor scaled


def _read(norm: str) -> Iterator[_Number]:
    """Each number of normalised text with its value, as :func:`numbers_in` and
    :func:`figures_in` read it."""
    for m in _NUMBER.finditer(norm):
        number = _canonical(m[0])
        if _PERCENT.match(norm, m.end()):
            yield _Number(number + "%", m.start(), m.end(), False)
        elif scale := _SCALE.match(norm, m.end()):
            value = _scaled(number, _SCALES[scale[1].rstrip("s")])
            yield _Number(value, m.start(), scale.end(), False)
        else:
            yield _Number(_scaled(number), m.start(), m.end(), True)


def numbers_in(text: str) -> set[str]:
    """Numbers stated in text, normalised; citation markers and model names are not numbers.
    A percentage keeps its sign ("85%"), so it backs only a percentage: on eval/ the model
    turned "138 %" (a growth rate) into "138 salariés" to answer a head count it did not have.
    A number with its scale is one value ("30.6e9"), so "405 millions" needs a scale where it
    is backed; a bare number is backed by the same number with a scale (see ``check``).

    >>> sorted(numbers_in("30,6 milliards de dollars, 85 % en 2021, trois ans, GLM-5 [3]"))
    ['2021', '3', '30.6e9', '85%']
    """
    text = normalize(MARKER.sub(" ", text))
    found = {n.value for n in _read(text)}
    return found | counts_in(text)


def figure_positions(norm: str) -> list[tuple[str, int, int]]:
    """The percentages and scaled amounts of normalised text, as :func:`numbers_in` writes
    them, with where each starts and ends.

    >>> figure_positions(normalize("plongé de 75 %, 30,6 milliards, en 2021"))
    [('75%', 10, 12), ('30.6e9', 16, 30)]
    """
    return [(n.value, n.start, n.end) for n in _read(norm) if not n.bare]


def counts_in(text: str) -> set[str]:
    """The small counts ``text`` spells out in words, as :func:`numbers_in` writes them.

    >>> sorted(counts_in("Quels deux maux freinent la consommation, en 2024 ?"))
    ['2']
    """
    return {_NUMBER_WORDS[m[0]] for m in _NUMBER_WORD.finditer(normalize(text))}


class Figure(NamedTuple):
    """An amount or a percentage in ``normalize(text)``, at ``start``."""

    value: str  # as numbers_in writes it: "30.6e9", "85%"
    currency: str | None  # as currencies_in names it: "dollar"
    start: int


def figures_in(text: str) -> list[Figure]:
    """The amounts (a number with a scale or a currency) and percentages text states, in
    order; bare numbers, years, counts and citation markers are not figures. Offsets are in
    ``normalize(text)`` (a marker's number is left in place: no unit follows it).

    >>> [f[:2] for f in figures_in("30,6 milliards de dollars (+85 %), 2021, 405 HK$ [3].")]
    [('30.6e9', 'dollar'), ('85%', None), ('405', 'dollar')]
    """
    norm = normalize(text)
    found = []
    for n in _read(norm):
        after = _CURRENCY_AFTER.match(norm, n.end)
        before = _CURRENCY_BEFORE.search(norm[max(0, n.start - 5) : n.start])
        currency = next((_CURRENCY[c[1]] for c in (before, after) if c), None)
        if n.value.endswith("%"):
            found.append(Figure(n.value, None, n.start))
        elif not n.bare or currency:
            found.append(Figure(n.value, currency, n.start))
    return found


def currencies_in(text: str) -> set[str]:
    """The currencies text names, one word for each whatever its form.

    >>> sorted(currencies_in("380 milliards de yuans (52,5 milliards $), 405 HK$ ou 2 RMB"))
    ['dollar', 'yuan']
    """
    return {_CURRENCY[m[0]] for m in _CURRENCY_WORD.finditer(normalize(text))}


def backed_numbers(passage: str) -> set[str]:
    """The numbers a passage backs: those it states, and each without its scale, so that an
    answer may leave a scale out ("380 milliards" backs "380") but never add one."""
    return numbers_in(passage) | numbers_in(_UNSCALED.sub(" ", normalize(passage)))


def _sentence_initial(text: str, i: int) -> bool:
    """Whether the word at text[i] opens a sentence, a line or a list item."""
    if i >= 2 and text[i - 1] in "'’" and text[i - 2].isalpha():
        return False  # French elision: d'Alibaba
    while i > 0 and text[i - 1] in " \t\"'«»“”‘’([{*_#>•-":
        i -= 1
    return i == 0 or text[i - 1] in ".!?…:\n\r"


def names_in(text: str) -> set[str]:
    """Proper names stated in text, normalised: capitalised words not opening a sentence,
    CamelCase words (SenseTime, iFlytek), acronyms and alphanumerics (A100, QwQ-32B, M2.5).

    >>> sorted(names_in("Selon Zhipu, GLM-5 bat la puce A100 de Nvidia aux États-Unis."))
    ['a100', 'etats', 'glm-5', 'nvidia', 'unis', 'zhipu']
    >>> sorted(names_in("iFlytek reported $184 million, like eBay and l'IA d'Alibaba."))
    ['alibaba', 'ebay', 'iflytek']
    """
    # Currencies are not names: "US$51.8", "HK$405", "US dollars".
    text = re.sub(r"\b(?:US|U\.S\.?|HK)\s?(?=\$|dollars?\b)", "", MARKER.sub(" ", text))
    names: set[str] = set()
    for m in _WORD.finditer(text):
        word = m[0]
        if any(c.isdigit() for c in word):
            if any(c.isalpha() for c in word):
                names.add(normalize(word))
            continue
        initial = _sentence_initial(text, m.start())
        for k, part in enumerate(word.split("-")):  # "Zhipu-backed", "Etats-Unis"
            inner = any(c.isupper() for c in part[1:])  # SenseTime, HNA; iFlytek, eBay
            if len(part.replace(".", "")) < 2 or not (part[0].isupper() or inner):
                continue
            if inner or not (initial and k == 0):
                names.add(normalize(part))  # SenseTime, HNA, U.S anywhere; others mid-sentence
    return names - _NOT_NAMES


def name_found(name: str, haystack: str) -> bool:
    """Whether the normalised haystack holds name (or an equivalent) as a word or word start."""
    for form in _EQUIV.get(name, {name}):
        if any(c.isdigit() for c in form) or len(form) <= 3:  # A100 is not A1000; Ma not marche
            pattern = r"(?<!\w)" + re.escape(form) + r"(?!\w)"
        else:  # "SenseTimes", "chinoise": plurals and inflections of the name
            pattern = r"(?<!\w)" + re.escape(form[:-1] if form.endswith("s") else form)
        if re.search(pattern, haystack):
            return True
    return False


# ", and which …" / ", et en quelle année …": a second question asked in the same sentence.
_SECOND_PART = re.compile(r",\s*(?:and|et)\b", re.IGNORECASE)


def question_parts(question: str) -> int:
    """How many questions ``question`` asks at once, 1 to 3: each needs its own sentences in
    the context, and an answer to several may join facts of several passages in one sentence.

    >>> question_parts("Who leads Alibaba, and which model did it launch?")
    2
    >>> question_parts("How much did Tencent and Alibaba shares fall?")
    1
    """
    return min(1 + len(_SECOND_PART.findall(question)), 3)


def split_sentences(text: str) -> list[str]:
    """Split on sentence ends and newlines, keeping a trailing marker with its sentence.

    >>> split_sentences("M. Xu dirige SenseTime. Valeur : 30.6 milliards. [1]\\n- Alibaba [2]")
    ['M. Xu dirige SenseTime.', 'Valeur : 30.6 milliards. [1]', 'Alibaba [2]']
    """
    out: list[str] = []
    for line in text.splitlines():
        line, start = _BULLET.sub("", line), 0
        for m in _END.finditer(line):
            before = line[max(start, m.start() - 12) : m.start()].split()  # the word before
            word = before[-1].lstrip("([\"'«“").lower() if before else ""
            if m[0][0] == "." and _ABBREV.fullmatch(word):
                continue
            if line[m.end() :].lstrip()[:1].islower():
                continue  # "e.g. the", "etc. et" : no new sentence starts here
            out.append(line[start : m.end()].strip())
            start = m.end()
        out.append(line[start:].strip())
    return [s for s in out if s]


def detect_language(text: str) -> str:
    """ "fr" or "en", by counting French and English function words, English endings,
    French diacritics and French spacing before "?" (:func:`_language_signals`). Ties go to
    "fr" (the corpus is French) unless there is no French signal at all, then "en".

    >>> detect_language("Et Alibaba ?"), detect_language("Who leads SenseTime?")
    ('fr', 'en')
    """
    fr, en = _language_signals(text)
    return "fr" if fr and fr >= en else "en"


def in_other_language(text: str, language: str) -> bool:
    """Whether ``text`` is plainly not in ``language`` ("fr" or "en"): no sign of it and at
    least two of the other, or at least three of the other and twice as many as of it (the
    model's English with French words: "SenseTime est actuellement worth 30,6 billion
    dollars, with a capitalization boursière oscillating around…", eval q061). A name alone
    ("Eddie Wu [1].") has no language.

    >>> in_other_language("SenseTime's sales fell by 58% in the first half [1].", "fr")
    True
    >>> in_other_language("Eddie Wu [1].", "fr"), in_other_language("Les ventes [1].", "fr")
    (False, False)
    >>> in_other_language("Le PDG est Eddie Wu, selon The Wall Street Journal [1].", "fr")
    False
    """
    fr, en = _language_signals(MARKER.sub(" ", text), answer=True)
    own, other = (fr, en) if language == "fr" else (en, fr)
    return other >= 2 and (own == 0 or (other >= 3 and other >= 2 * own))


def _language_signals(text: str, *, answer: bool = False) -> tuple[int, int]:
    """French and English signals in ``text``: function words and a few more, English endings
    and "'s", French diacritics and spacing. An ``answer``'s names and quotes are copied from
    the passages, so they are no sign of its language: a quote goes ("Another source gives
    another figure: « … »"), and a capital word is skipped unless it opens a sentence and
    the next word is not a capital one too ("Le Vizzavona", "Hôpital Necker"). A question
    keeps them: "Et MiniMax?" has no other French word."""
    if answer:
        text = _QUOTE.sub(" ", text)
    fr = len(re.findall(r"\s[?!:;]", text))
    en = len(re.findall(r"[^\W\d_]['’]s\b", text))  # "Bhutto's husband"
    for sentence in split_sentences(text):
        words = re.findall(r"[^\W\d_]+", sentence)
        for i, word in enumerate(words):
            after = words[i + 1] if i + 1 < len(words) else ""
            if answer and word[0].isupper() and (i > 0 or after[:1].isupper()):
                continue
            word = word.lower()
            folded = normalize(word)
            if folded in _FR_WORDS or folded in _FR_MORE or word != folded:
                fr += 1
            elif word in _EN_WORDS or word in _EN_MORE or _EN_ENDING.fullmatch(word):
                en += 1
    return fr, en
