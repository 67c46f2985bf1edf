"""Does an answer state the expected facts? Lenient lexical matching for the evaluation set.

A fact is a list of variants (surface forms of the same fact); it is present when any variant
is. Variant and text both go through :func:`rag.text.normalize` (case, accents, typographic
apostrophes, decimal comma, spaces inside numbers), then a variant is one of two kinds:

- numeric: one number with, optionally, a scale word (milliard/billion/bn/Md, million/M,
  thousand/k), a unit (%, percent, pour cent) or a currency (dollars/$/USD, yuans/RMB/CNY,
  euros/€/EUR, dollars de Hong Kong/HK$/HKD), and qualifiers ("près de", "plus de", "about"),
  which are ignored. It matches a quantity of the text with the same value (number × scale;
  a variant with no scale word just needs the same number, at any scale) and, when the variant
  names a unit or currency, the same one written next to the number.
  A number is whole: "30" is not in "300", "30.6", "2030" nor "GLM-30".
- phrase (anything else: names, dates like "juin 2022"): whole words, hyphens read as spaces;
  "Xu Li" is in "Xu Li's", not in "Xu Lin".

Worked example, over "Sa valeur est passée de 16,5 milliards de dollars à 5,9 Md$." :
``"16.5 billion"`` is numeric (16.5e9, any currency): found; ``"16,5 millions"`` (16.5e6): not
found; ``"5,9 milliards d'euros"`` (5.9e9 EUR; the text says 5.9e9 USD): not found;
``"Xu Li"`` is a phrase: not found.

What it leaves out: numbers written as words ("trois" is not "3"; list both as variants), and
meaning: it checks that a figure is stated, not what the answer says it measures.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal
from functools import lru_cache

from rag.text import normalize

__all__ = ["fact_present", "facts_present"]

# Normalised scale word -> power of ten. French "billion" (10^12) is read the English way.
_SCALES = {
    **dict.fromkeys("trillions trillion".split(), 12),
    **dict.fromkeys("milliards milliard mrds mrd mds md billions billion bln bn".split(), 9),
    **dict.fromkeys("millions million mio mln mn m".split(), 6),
    **dict.fromkeys("milliers mille thousand k".split(), 3),
}
# Unit -> its forms written after the number, and (if any) before it ("HK$405", "RMB 2.4bn").
_UNITS: dict[str, tuple[str, str]] = {
    "HKD": (
        r"dollars? (?:de |d')?hong ?kong|dollars? hongkongais|hong ?kong dollars?|hk ?\$|hkd",
        r"hk ?\$|hkd",
    ),
    "USD": (
        r"dollars? (?:americains?|us|des etats-unis)|u\.?s\.? dollars?|dollars?|us ?\$|\$ ?us"
        r"|usd|\$",
        r"us ?\$|usd|\$",
    ),
    "CNY": (r"yuans?(?: renminbi)?|renminbi|rmb|cny|¥", r"rmb|cny|¥"),
    "EUR": (r"euros?|eur|€", r"eur|€"),
    "%": (r"%|pour ?cent|per ?cent|percent", ""),
}
_LETTER = r"[^\W\d_]"
_SCALE = "|".join(sorted(_SCALES, key=len, reverse=True))
_POST = "|".join(post for post, _ in _UNITS.values())
_PRE = "|".join(pre for _, pre in _UNITS.values() if pre)
_QUANTITY = re.compile(
    rf"(?:(?<!{_LETTER})(?P<pre>{_PRE}) ?|(?<![\w.])(?<!{_LETTER}-))"  # "$5" or a bare "5"
    r"(?P<num>\d+(?:\.\d+)?)(?!\.?\d)"
    rf"(?:[ -]?(?P<scale>{_SCALE})(?!{_LETTER}))?"
    rf"(?: ?(?:de |d'|of )?(?P<post>{_POST})(?!{_LETTER}))?"
)
# Words a numeric variant may carry besides its quantity: they qualify it, the answer need not.
_QUALIFIERS = set(
    "de d' du des of a an the pres plus moins environ quelque quelques autour jusqu'a presque "
    "about around nearly almost over more than less under some roughly approximately up to just"
    " ~ + > < ≈ ( ) , : .".split()
)

Quantity = tuple[Decimal, int | None, str | None]  # (number, power of ten, unit): 16.5, 9, "USD"


def _unit(form: str | None) -> str | None:
    if form is None:
        return None
    for unit, (post, pre) in _UNITS.items():
        if re.fullmatch(post, form) or (pre and re.fullmatch(pre, form)):
            return unit
    raise AssertionError(form)  # every form the regex accepts is listed in _UNITS


@lru_cache(maxsize=512)
def _quantities(norm: str) -> tuple[tuple[Quantity, int, int], ...]:
    """Quantities in normalised text, with spans: ``"hk$ 405"`` -> ``(405, None, "HKD")``."""
    out = []
    for m in _QUANTITY.finditer(norm):
        if not (m["scale"] or m["post"]) and re.match(_LETTER, norm[m.end("num") :]):
            continue  # "5g", "2020s": a number glued to a word is not a quantity
        power = _SCALES[m["scale"]] if m["scale"] else None
        unit = _unit(m["pre"]) or _unit(m["post"])
        out.append(((Decimal(m["num"]), power, unit), m.start(), m.end()))
    return tuple(out)


@lru_cache(maxsize=4096)
def _parse(variant: str) -> Quantity | str:
    """A variant as a quantity, or as a folded phrase when it is not one number."""
    norm = normalize(variant)
    found = _quantities(norm)
    if len(found) == 1:
        quantity, start, end = found[0]
        rest = (norm[:start] + " " + norm[end:]).replace("d'", "d' ").split()
        if all(word in _QUALIFIERS for word in rest):
            return quantity
    return _fold(norm)


def _fold(norm: str) -> str:
    return re.sub(r"[\s-]+", " ", norm).strip()


def _present(variant: str, norm: str) -> bool:
    parsed = _parse(variant)
    if isinstance(parsed, str):  # whole words: "glm 5" is not in "glm 50" nor "glm 5.1"
        pattern = rf"(?<!\w){re.escape(parsed)}(?!\w|[.,]\d)"
        return bool(parsed) and re.search(pattern, _fold(norm)) is not None
    number, power, unit = parsed
    for (n, p, u), _, _ in _quantities(norm):
        same = n == number if power is None else n.scaleb(p or 0) == number.scaleb(power)
        if same and unit in (None, u):
            return True
    return False


def fact_present(variants: Sequence[str], text: str) -> bool:
    """Whether text states the fact, i.e. any one of its variants.

    >>> text = "Zhipu a bondi de près de 30 % à 405 dollars de Hong Kong ; Xu Li's firm too."
    >>> fact_present(["30 percent"], text), fact_present(["HK$405"], text)
    (True, True)
    >>> fact_present(["405 dollars"], text), fact_present(["3"], text), fact_present(["Xu"], text)
    (False, False, True)
    """
    norm = normalize(text)
    return any(_present(v, norm) for v in variants)


def facts_present(facts: Sequence[Sequence[str]], text: str) -> list[bool]:
    """For each fact, whether text states it.

    >>> facts_present([["16,5 milliards"], ["5,9 milliards d'euros"], ["Xu Lin"]],
    ...               "SenseTime ($16.5bn at listing, 5.9 billion dollars now), led by Xu Li")
    [True, False, False]
    """
    norm = normalize(text)
    return [any(_present(v, norm) for v in variants) for variants in facts]
