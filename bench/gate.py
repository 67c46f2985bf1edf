"""The refusal gate's thresholds replayed on a run made with the gate off.

The gate (rag/gate.py) refuses when the model gives its refusal marker at least the
threshold's probability at the first token, and bans the marker below it, so a run with the
gate off (both thresholds above 1) writes, for every question, the draft the model writes
under any threshold the question's probability stays below. One such run therefore answers
for every threshold: a question is refused where its probability reaches the threshold, and
answered as in the run elsewhere. This prints, for each pair of thresholds (the question in
the documents' language, and across languages), the answerable questions answered right,
the unanswerable ones refused and the wrong answers shown:

    RAG_REFUSAL_THRESHOLD=2 RAG_REFUSAL_THRESHOLD_CROSSLINGUAL=2 \\
        .venv/bin/rag eval --corpus eval/piaf/articles --questions eval/piaf/tuning.jsonl \\
        --out /tmp/forced
    .venv/bin/python bench/gate.py /tmp/forced/report.json

Choose the thresholds on one set, then replay them on the others with ``--at 0.05,0.1``
(docs/evaluation.md, "The gate calibrated on the tuning half").

With ``--questions`` (the run's question file), each draft also goes through today's checks
and final answer again (rag.verification, rag.final) and is scored against the questions'
facts, so a change to the checks is measured on saved runs in seconds instead of a new run
per set. It lists the questions whose outcome changed from the run's. The draft is the
report's ``raw``, the reply as it was streamed (markers to passages that do not exist already
dropped, a refusal already its sentence). A draft the run asked for again in the question's
language keeps the run's outcome: the second draft is not in the report.

A question whose draft was asked for again is replayed on the first draft's probability,
the one the gate decides on. Reports written before 2026-12-06 hold the second draft's
instead, which is lower: the PIAF held-out half's gate-on run refused three questions
(d212, d233, u055) that the replay of its gate-off run had answered.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rag.evaluation import load_questions
from rag.facts import facts_present
from rag.final import checked_answer, final_answer
from rag.gate import Gate
from rag.question import clean_question
from rag.refusals import REFUSAL_MARKER
from rag.settings import Settings
from rag.translation import across_languages
from rag.types import Chunk, Passage
from rag.verification import verify

THRESHOLDS = (0.01, 0.02, 0.03, 0.05, 0.08, 0.1, 0.15, 0.2, 0.3, 0.5)


@dataclass(frozen=True)
class Outcome:
    right: int  # answerable questions answered right
    answerable: int
    refused: int  # unanswerable questions refused
    unanswerable: int
    wrong: int  # answers shown that are not right (wrong facts, or to an unanswerable question)


@dataclass(frozen=True)
class Draft:
    answerable: bool
    correct: bool  # right for an answerable question: its facts are in the answer
    refused: bool  # refused in the run all the same (the model's own words, or the checks)
    probability: float  # the refusal marker's probability at the first token
    across: bool  # the question is in another language than its passages


def drafts(
    report: dict[str, Any], mode: str = "hybrid", facts: dict[str, Any] | None = None
) -> list[Draft]:
    """A report's answers (``rag eval``'s report.json), as the replay needs them. With
    ``facts`` (each question id's expected facts), checked again: :func:`rechecked`."""
    out = []
    # As rag eval reads them: RAG_EXCERPTS=false holds here too.
    settings = Settings.from_env() if facts is not None else None
    for r in report["results"][mode]:
        a = r["answer"]
        answerable = bool(r["facts"])  # one entry per expected fact; none when unanswerable
        # As Pipeline.gate decides which threshold a question gets.
        passages = [Passage(Chunk(**p["chunk"]), p["score"], p["rank"]) for p in a["passages"]]
        across = across_languages(passages, a["language"])
        correct, refused = answerable and bool(r["correct"]), bool(a["refused"])
        if settings is not None and facts is not None and not a.get("redrafted"):
            refused, found = rechecked(
                r["raw"] or "", passages, a["question"], a["language"], settings
            )
            correct = answerable and not refused and all(facts_present(facts[r["id"]], found))
        p = float(a.get("refusal_probability") or 0.0)
        out.append(Draft(answerable, correct, refused, p, across))
    return out


def rechecked(
    draft: str, passages: list[Passage], asked: str, language: str, s: Settings
) -> tuple[bool, str]:
    """Whether today's checks refuse ``draft``, and the final answer's text, as
    Pipeline.verify and Pipeline.final make them (without the final renumbering and
    locations, which change no fact found)."""
    question = clean_question(asked, max_chars=s.max_question_chars)
    answer = checked_answer(asked, language, passages, verify(draft, passages, question))
    answer = final_answer(answer, draft, question, quote_excerpts=s.excerpts)
    return answer.refused, answer.text


def outcome_changed(
    report: dict[str, Any], drafts: list[Draft], before: list[Draft], mode: str = "hybrid"
) -> list[str]:
    """The ids of the report's questions whose draft is right or refused in ``drafts`` but
    not in ``before`` (or the reverse): both :func:`drafts` of the same report."""
    return [
        r["id"]
        for r, d, was in zip(report["results"][mode], drafts, before, strict=True)
        if (d.correct, d.refused) != (was.correct, was.refused)
    ]


def refused_at(same: float, across: float) -> Callable[[Draft], bool]:
    """Whether a draft is refused with the gate at ``same`` (question and passages in one
    language) and ``across`` (in two): by the run itself (the model's words, the checks) or
    by the gate (rag.gate.Gate, as Pipeline.gate chooses it)."""
    gates = {False: Gate(REFUSAL_MARKER, same), True: Gate(REFUSAL_MARKER, across)}
    return lambda d: d.refused or gates[d.across].admits(d.probability)


def replay(ds: list[Draft], same: float, across: float) -> Outcome:
    """What the run would have given with the gate at ``same`` (question and passages in one
    language) and ``across`` (in two).

    >>> ds = [Draft(True, True, False, 0.01, False), Draft(True, True, False, 0.3, False),
    ...       Draft(False, False, False, 0.2, True), Draft(False, False, True, 0.0, False)]
    >>> replay(ds, 0.05, 0.1)
    Outcome(right=1, answerable=2, refused=2, unanswerable=2, wrong=0)
    >>> replay(ds, 0.5, 0.5)
    Outcome(right=2, answerable=2, refused=1, unanswerable=2, wrong=1)
    """
    shut_at = refused_at(same, across)
    right = refused = wrong = 0
    for d in ds:
        shut = shut_at(d)
        if not d.answerable:
            refused += shut
        elif not shut:
            right += d.correct
        wrong += not shut and not d.correct
    answerable = sum(d.answerable for d in ds)
    return Outcome(right, answerable, refused, len(ds) - answerable, wrong)


def pair(text: str) -> tuple[float, float]:
    """``--at``'s value: two thresholds, "same,across"."""
    try:
        same, across = (float(x) for x in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"give two thresholds, 'same,across': not {text!r}"
        ) from None
    return same, across


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("reports", nargs="+", type=Path, help="report.json of gate-off runs")
    parser.add_argument("--at", type=pair, help="one pair only: 'same,across', e.g. 0.05,0.1")
    parser.add_argument(
        "--questions", type=Path, help="the run's question file: check the drafts again"
    )
    args = parser.parse_args(argv)
    pairs = [args.at] if args.at else [(s, a) for s in THRESHOLDS for a in THRESHOLDS]
    facts = None
    if args.questions:
        facts = {q.id: q.facts for q in load_questions(args.questions)}
    for path in args.reports:
        report = json.loads(path.read_text(encoding="utf-8"))
        ds = drafts(report, facts=facts)
        if facts is not None:
            ran = drafts(report)
            changed = outcome_changed(report, ds, ran)
            print(f"{path}: today's checks change {len(changed)}: {' '.join(changed)}")
        print(f"{path}: {len(ds)} questions\n| same | across | right | refused | wrong shown |")
        print("|---|---|---|---|---|")
        for same, across in pairs:
            o = replay(ds, same, across)
            print(
                f"| {same} | {across} | {o.right}/{o.answerable} | "
                f"{o.refused}/{o.unanswerable} | {o.wrong} |"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
