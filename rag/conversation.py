"""Follow-up questions made to stand alone, by rules: no model call, well under a millisecond.

The earlier questions are resolved in turn (oldest first), so a follow-up of a follow-up works;
the *subject* of a question is its first name, and the subject used is the one of the latest
earlier question that has one. A *name* is a capitalised word or an acronym (SenseTime, MiniMax,
QwQ-32B, DeepSeek), several side by side (Hong Kong, Zhipu AI) or joined by "et"/"and"/","
(Zhipu et MiniMax); not the grammatical capital of a sentence's first word (Quel, What, Et),
nor common acronyms and words (IPO, PDG, CEO, IA, GPU, Bourse, English months). A question is:

1. alone when there is no history, or it has a name and no back-reference before it: unchanged.
2. a swap, "Et Alibaba ?", "et pour MiniMax?", "Qu'en est-il d'Alibaba ?", "What about Zhipu?",
   "And Tencent?", "Et Alibaba, alors ?", a bare "Alibaba ?": the previous question (up to 300
   characters; a longer one leaves the swap unchanged) with its subject replaced, elision
   included ("le PDG de SenseTime" -> "le PDG d'Alibaba" -> "le PDG de MiniMax").
3. a back-reference, before any name of its own: the first one is replaced by the subject.
   English: its/their/his/her X -> "SenseTime's X"; it/they/them/he/she -> "SenseTime";
   this/the company (firm, group) -> "SenseTime". French: son/sa/ses/leur(s) X -> "le/la/les X de
   SenseTime" (X: a noun with its adjectives and "de" complements; "de son" -> "du"); il/elle(s)
   -> "SenseTime"; cette entreprise/société, l'entreprise, celle-ci/celui-ci -> "SenseTime";
   inversion: "Pourquoi l'a-t-elle fait ?" -> "Pourquoi SenseTime l'a-t-elle fait ?" (the name
   before the verb and its clitics); "y" -> dropped, and "chez SenseTime" (or the previous
   question's "à Hong Kong", "en Chine") put at the end.
4. elliptical: "Et"/"And"/"What about" and at most five words without a name of their own (or
   only a place: "Et en Chine ?"), or at most four words and a "?" ("Pourquoi ?", "In dollars?"):
   the previous question, then this one: "Quel est le chiffre d'affaires de SenseTime ? Et en
   2023 ?". That keeps what was asked, which the subject alone does not ("Et en 2023 ? (SenseTime)"
   says nothing of revenue). Past 300 characters (pasted text) it is the subject in parentheses.

Limits: a swap or an ellipsis keeps the earlier question's language ("Et Alibaba ?" after an
English question gives an English one). his/her/il/elle mean the company, not its CEO. Only the
first back-reference is replaced. Gender after "leur", and where a French noun phrase ends, are
guessed from word endings. A capitalised first word not in the list of sentence starters counts
as a name ("Vraiment ?" is left alone). Impersonal "il" (il faut, y a-t-il) is left alone, but not
English "it" ("Is it true that..."). The subject is the first name, not always the grammatical
one ("Which Nvidia GPUs did SenseTime buy?" -> Nvidia). Left unchanged: a swap with more words
("Et Alibaba en 2023 ?"), a lead-in after another sentence ("Merci. Et Alibaba ?"), an ellipsis
without "?" ("pourquoi"), a question over 300 characters; questions more than 20 turns back are
not read. The result is at most about 700 characters.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import NamedTuple

__all__ = ["is_follow_up", "standalone"]

_MAX_TURNS = 20  # earlier questions re-resolved for each question; older ones hardly matter
_MAX_CONTEXT = 300  # a longer earlier question (pasted text) is not copied into this one
_MAX_NAME = 80  # longer "names" are runs of capitalised words: titles, lists
_VOWELS = "aeiouyàâäéèêëîïôöùûü"  # no "h": "de Hong Kong", "de Huawei"
_CONTRACTED = {("de", "le"): "du", ("de", "les"): "des", ("à", "le"): "au", ("à", "les"): "aux"}
_ENDERS = frozenset('.?!…:«"“(')
# Words capitalised only because they open a sentence (compared in lower case, before a hyphen).
_STARTERS = frozenset(
    "quel quelle quels quelles qui que qu quoi où comment combien pourquoi quand lequel laquelle"
    " est sont a ont peux pouvez donne donnez cite citez liste listez explique expliquez décris"
    " décrivez résume résumez compare comparez et ou mais donc alors puis aussi ok merci quid"
    " le la les l un une des du de d ce cet cette ces son sa ses leur leurs il elle ils elles y"
    " ne n se s lui c ça cela on je j tu nous vous si oui non bonjour salut"
    " à au aux en dans depuis pour par selon chez avec sans sous sur entre vers après avant lors"
    " what which who whom whose how why when where is are was were do does did has have had can"
    " could will would should may tell give list name describe explain summarize summarise show"
    " and but or so then also now please the a an this that these those its it they their them"
    " his her he she in on at by for from since over under according after before during with"
    " of to about if i we you yes no hi hello".split()
)
# Capitalised or acronyms anywhere, yet never what a question is about.
_NOT_NAMES = frozenset(
    "ai ia ipo ceo pdg cfo cto gpu cpu usd hkd rmb cny eur us usa u.s ue eu uk ca pib gdp r&d llm"
    " api ok i m mr mme dr bourse état etat january february march april may june july august"
    " september october november december monday tuesday wednesday thursday friday saturday"
    " sunday".split()
)
_TOKEN = re.compile(r"[^\W_](?:[\w.&-]*[^\W_])?")
_WORD = re.compile(r"[^\W_]+")
_JOIN = re.compile(r"\s+|\s*,\s*|\s+(?:et|and|&)\s+")
# Openings of a follow-up that continues the previous question.
_LEAD = re.compile(
    r"\s*(?:(?:and\s+)?(?:what|how)\s+about|same\s+(?:question\s+)?for|and|(?:et\s+)?qu['’]en\s+"
    r"est-il|quid|même\s+question|pareil|et)\b",
    re.I,
)
# Between the opening and the new name of a swap, and after it.
_SWAP_GAP = re.compile(
    r"[\s,]*(?:(?:pour|chez|avec|for|with|at|of|de|du|des|d['’]|(?:du\s+)?côté\s+(?:de|du|des|"
    r"d['’]))\s*)?",
    re.I,
)
_END = re.compile(r"(?:['’]s)?(?:,?\s*(?:alors|donc|then))?[\s?.!…]*", re.I)
# "Et en Chine ?" narrows the previous question to a place; it does not change its subject.
_WHERE = re.compile(r"\s*(?:en|in|à|au|aux|dans|at|on|sur)\s+", re.I)
_W = r"[^\W\d_][\w-]*"
_ADJ = (
    r"(?:[^\W\d_]+(?:ières?|iers?|elles?|els?|ales?|al|aux|ives?|ifs?|iques?|euses?|eux|ées?|é|és"
    r"|aires?|aines?|ains?|oises?|ois|iennes?|iens?)|nette|net|brute?)(?![\w-])"
)
_PRE = r"(?:(?:principa|premi|derni|nouve|grand|meilleur|prochain|ancien)\w*\s+)?"
_DE = r"(?:d['’]|de\s+(?:la\s+|l['’])?|du\s+|des\s+)"
# A French noun phrase: a noun (not a verb: "leur a-t-il"), then adjectives or "de" complements.
_NOT_NOUN = r"(?!(?:a|ont|est|sont)\b|\w+-(?:t-)?(?:il|elle)s?\b)"
_NP = rf"{_NOT_NOUN}{_PRE}{_W}(?:\s+(?:{_ADJ}|{_DE}{_W})){{0,3}}"
# Back-references; the exclusions are impersonal "il" (il faut, y a-t-il, s'agit-il, qu'en est-il).
_BACK = re.compile(
    r"(?P<dem>\b(?:(?:this|that|the)\s+(?:company|firm|group)|(?:cette|la)\s+(?:entreprise|"
    r"société)|cet\s+entreprise|l['’]entreprise|ce\s+groupe|celle-ci|celui-ci)\b)"
    r"|(?P<poss_en>\b(?:its|their|his|her)(?=\s+[^\W\d_]))"
    rf"|(?P<poss_fr>\b(?P<det>son|sa|ses|leurs?)\s+(?P<np>{_NP}))"
    r"|(?P<inv>(?<!\by )(?<!\ben )(?<![\w-])(?!faut-|agit-)[^\W\d_]+-(?:t-)?(?:il|elle)s?\b)"
    r"|(?P<y>\by\s+(?!a\b|a-|avai|aur|ait\b|eut\b))"
    r"|(?P<subj>(?<![\w-])(?:il|elle)s?\b(?!\s+(?:y\b|faut\b|s['’]agit|semble\b))"
    r"|\b(?:it|they|them|he|she|him|her)\b)",
    re.I,
)


class _Turn(NamedTuple):
    text: str  # the question made to stand alone
    base: str  # what an elliptical follow-up is appended to: text before earlier ellipses


@lru_cache(maxsize=256)  # each earlier question is looked at once per later one
def _names(text: str) -> tuple[tuple[int, int], ...]:
    """Spans of the names in ``text``, coordinated ones merged ("Zhipu et MiniMax")."""
    spans: list[tuple[int, int]] = []
    end = 0
    for m in _TOKEN.finditer(text):
        tok, last = m.group(), text[end : m.start()].rstrip()[-1:]
        at_start = last in _ENDERS if last else end == 0
        word = tok.casefold()
        # "GPUs" is a plural of a common acronym, not a name
        common = word in _NOT_NAMES or (tok[:-1].isupper() and word[:-1] in _NOT_NAMES)
        starter = re.split(r"[-.]", word)[0] in _STARTERS  # "Est-ce", "Qu'en"
        if spans and tok == "AI" and text[spans[-1][1] : m.start()] == " ":
            spans[-1] = (spans[-1][0], m.end())  # "Zhipu AI" is one name
        elif any(c.isupper() for c in tok) and not common and not (at_start and starter):
            if spans and _JOIN.fullmatch(text[spans[-1][1] : m.start()]):
                spans[-1] = (spans[-1][0], m.end())
            else:
                spans.append((m.start(), m.end()))
        end = m.end()
    return tuple(spans)


def _glue(left: str, name: str, apos: str) -> str:
    """``left`` with its last "de"/"que" elided, or not, to fit before ``name``."""
    vowel = name[:1].lower() in _VOWELS
    if not vowel and re.search(r"\b(?:d|qu)['’]$", left, re.I):
        return left[:-1] + "e "
    if vowel and re.search(r"\b(?:d|qu)e\s+$", left, re.I):
        return left.rstrip()[:-1] + apos
    return left


def _cap(left: str, text: str) -> str:
    """``text`` capitalised when it opens a sentence after ``left``."""
    last = left.rstrip()[-1:]
    return text[:1].upper() + text[1:] if (last in _ENDERS if last else True) else text


def _swap(text: str, new: str) -> str:
    spans = _names(text)
    if not spans:
        return text
    start, end = spans[0]
    apos = "’" if "’" in text else "'"
    return _glue(text[:start], new, apos) + new + text[end:]


def _back(q: str, m: re.Match[str], name: str, where: str, apos: str) -> str:
    """``q`` with the back-reference ``m`` replaced by ``name``."""
    left, right = q[: m.start()], q[m.end() :]
    if m["poss_en"]:
        return left + name + apos + "s" + right
    if m["poss_fr"]:
        det, np = m["det"].lower(), m["np"]
        fem = det == "sa" or (det == "leur" and re.search(r"(?:ion|té|ure|ance|ence)\b", np))
        art = "les" if det in ("ses", "leurs") else "la" if fem else "le"
        if art != "les" and np[:1].lower() in _VOWELS + "h":
            art = "l" + apos
        prep = re.search(r"\b(de|à)\s+$", left, re.I)  # "de le" is "du", "à les" is "aux"
        if prep and (prep[1].lower(), art) in _CONTRACTED:
            art, left = _CONTRACTED[prep[1].lower(), art], left[: prep.start()]
        phrase = art + ("" if art.endswith(apos) else " ") + np + " "
        return left + _cap(left, phrase + _glue("de ", name, apos)) + name + right
    if m["inv"]:  # the name goes before the verb and its clitics: "Où SenseTime l'a-t-elle vu ?"
        clitics = re.search(r"(?:\b(?:ne|se|leur|lui|les?|la)\s+|\b[nsl]['’])*$", left, re.I)
        cut = clitics.start() if clitics else len(left)
        verb, left = left[cut:] + m[0], left[:cut]
        verb = verb if left.strip() else verb[:1].lower() + verb[1:]
        return _glue(left, name, apos) + name + " " + verb + right
    if m["y"]:
        stem = (left + right).rstrip(" ?.!…")
        return f"{stem} {where} {name}{(left + right)[len(stem) :]}"
    return _glue(left, name, apos) + name + right


def _step(q: str, turns: list[_Turn]) -> _Turn:
    """``q`` resolved against the earlier turns."""
    prev = next((t for t in reversed(turns) if _names(t.text)), None)
    # a long question (pasted text) is no follow-up; keeping it as it is also bounds the output
    if prev is None or not _WORD.search(q) or len(q) > _MAX_CONTEXT:
        return _Turn(q, q)
    start, end = _names(prev.text)[0]
    name, names = prev.text[start:end], _names(q)
    if len(name) > _MAX_NAME:
        return _Turn(q, q)
    lead = _LEAD.match(q)
    at = lead.end() if lead else 0
    if names and _SWAP_GAP.fullmatch(q[at : names[0][0]]) and _END.fullmatch(q[names[0][1] :]):
        if len(prev.text) > _MAX_CONTEXT:
            return _Turn(q, q)
        new = q[names[0][0] : names[0][1]]
        return _Turn(_swap(prev.text, new), _swap(prev.base, new))
    # "y" means "there": at the place the earlier question named, else at the company
    where = re.search(r"\b(à|au|aux|en|dans|chez)\s+$", prev.text[max(0, start - 8) : start], re.I)
    m = _BACK.search(q, at, names[0][0] if names else len(q))
    if m:
        text = _back(q, m, name, where[1] if where else "chez", "’" if "’" in q else "'").strip()
        return _Turn(text, text)
    words = len(_WORD.findall(q, at))
    place_only = names and _WHERE.fullmatch(q[at : names[0][0]])
    if (lead and words <= 5 and (not names or place_only)) or (
        not names and words <= 4 and "?" in q
    ):
        base = prev.base.strip()
        if len(base) + len(q) > _MAX_CONTEXT:
            return _Turn(f"{q.strip()} ({name})", prev.base)
        return _Turn(f"{base}{'' if base[-1:] in '?.!…' else ' ?'} {q.strip()}", prev.base)
    return _Turn(q, q)


def standalone(question: str, history: Sequence[str]) -> str:
    """The question made to stand alone, given the user's earlier questions in this
    conversation (oldest first). Unchanged when it already stands alone or there is no history.

    >>> standalone("Et Alibaba ?", ["Qui est le PDG de SenseTime ?"])
    "Qui est le PDG d'Alibaba ?"
    >>> standalone("what about its revenue?", ["What was SenseTime's market value?"])
    "what about SenseTime's revenue?"
    """
    turns: list[_Turn] = []
    for earlier in list(history)[-_MAX_TURNS:]:
        if isinstance(earlier, str):
            turns.append(_step(earlier, turns))
    return _step(question, turns).text


def is_follow_up(question: str, history: Sequence[str]) -> bool:
    """True when :func:`standalone` changes ``question``.

    >>> is_follow_up("Et Alibaba ?", ["Qui dirige SenseTime ?"]), is_follow_up("Et Alibaba ?", [])
    (True, False)
    """
    return standalone(question, history) != question
