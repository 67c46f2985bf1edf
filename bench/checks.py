"""What each check of the answer path pays, replayed on saved gate-off runs.

Each check is switched off in turn and every saved draft goes through verification and the
final answer again (bench/gate.py, ``--questions``), scored against its question's facts at
today's gate thresholds. A check that changes no question's outcome on any run, or changes
outcomes only on the set it was written for, is a candidate for removal (issue 27, "Fewer
rules"); docs/evaluation.md, "Which checks pay", holds the table this printed.

    .venv/bin/python bench/checks.py /tmp/forced/tuning/report.json:eval/piaf/tuning.jsonl \\
        /tmp/forced/heldout/report.json:eval/piaf/heldout.jsonl

Each cell reads right / refused / wrong: answerable questions answered right, unanswerable
ones refused, answers shown that are not right. Make the runs with the gate off
(``RAG_REFUSAL_THRESHOLD=2 RAG_REFUSAL_THRESHOLD_CROSSLINGUAL=2 rag eval …``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import gate  # bench/gate.py, beside this file

from rag import citations, final, kinds, verification
from rag import excerpts as excerpts_module
from rag.evaluation import load_questions
from rag.settings import Settings

_NEVER = re.compile(r"(?!)")
_STATED = citations._stated  # what a passage states, read with its title: called without it

# name: what it switches off, as (object, attribute, replacement) patches. A name is patched
# where it is looked up: the module that imported it, not only the one that defines it.
CHECKS: dict[str, list[tuple[Any, str, Any]]] = {
    "re-citing (repair)": [(verification, "repair", lambda text, passages, question="": text)],
    "joining passages only for a question in parts": [
        (citations, "question_parts", lambda question: 3)  # as before: for every question
    ],
    "numbers": [(citations, "numbers_in", lambda text: set())],
    "names": [(citations, "names_in", lambda text: set())],
    "currencies": [(citations, "currencies_in", lambda text: set())],
    "the document's title read with its passage": [
        (citations, "_stated", lambda title, text: _STATED("", text))
    ],
    "a figure said of what the question names": [(citations, "said_of_others", lambda *args: [])],
    "direction (rose against fell)": [(citations, "reversed_figures", lambda *args: [])],
    "the kind of answer (kinds.answers_kind)": [
        (verification, "answers_kind", lambda question, text: True)
    ],
    "a reply that restates the question": [(kinds, "restates", lambda question, text: False)],
    "a figure or date where one is asked": [
        (kinds, "gives_kind", lambda *args, **kw: True),
        (excerpts_module, "gives_kind", lambda *args, **kw: True),
    ],
    "a percentage is no count or sum": [(kinds, "_COUNT", _NEVER), (kinds, "_SUM", _NEVER)],
    "the passages' own words (excerpts)": [(final, "excerpts", lambda *args: [])],
    "other documents' figures": [(final, "other_figures", lambda *args: [])],
}


@contextlib.contextmanager
def without(name: str) -> Iterator[None]:
    """The answer path with check ``name`` switched off."""
    with contextlib.ExitStack() as stack:
        for target, attribute, replacement in CHECKS[name]:
            stack.enter_context(mock.patch.object(target, attribute, replacement))
        yield


def outcome(
    report: dict[str, Any], facts: dict[str, Any], thresholds: tuple[float, float]
) -> tuple[gate.Outcome, list[gate.Draft]]:
    drafts = gate.drafts(report, facts=facts)
    return gate.replay(drafts, *thresholds), drafts


def table(
    runs: list[tuple[str, dict[str, Any], dict[str, Any]]],
    thresholds: tuple[float, float],
    names: list[str],
) -> None:
    """Print a row for today's checks, then one per check switched off, with the
    questions whose outcome changed."""
    print("| switched off | " + " | ".join(label for label, _, _ in runs) + " | changed |")
    print("|---" * (len(runs) + 2) + "|")
    base = {label: outcome(report, facts, thresholds) for label, report, facts in runs}
    print(row("(none: today's checks)", [o for o, _ in base.values()], []))
    for name in names:
        cells, changed = [], []
        with without(name):
            for label, report, facts in runs:
                o, drafts = outcome(report, facts, thresholds)
                cells.append(o)
                changed += [
                    f"{label}:{q}" for q in gate.outcome_changed(report, drafts, base[label][1])
                ]
        print(row(name, cells, changed))


def row(name: str, cells: list[gate.Outcome], changed: list[str]) -> str:
    shown = " ".join(changed[:12]) + (" …" if len(changed) > 12 else "")
    body = " | ".join(f"{o.right}/{o.refused}/{o.wrong}" for o in cells)
    return f"| {name} | {body} | {len(changed)}: {shown} |"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", help="REPORT.json:QUESTIONS.jsonl of each gate-off run")
    parser.add_argument("--only", action="append", choices=sorted(CHECKS), help="one check")
    args = parser.parse_args(argv)
    runs = []
    for spec in args.runs:
        path, sep, questions = spec.rpartition(":")
        if not sep:
            parser.error(f"give REPORT.json:QUESTIONS.jsonl, not {spec!r}")
        report = json.loads(Path(path).read_text(encoding="utf-8"))
        facts = {q.id: q.facts for q in load_questions(Path(questions))}
        runs.append(("/".join(Path(path).parent.parts[-2:]), report, facts))
    s = Settings.from_env()
    table(runs, (s.refusal_threshold, s.refusal_threshold_crosslingual), args.only or list(CHECKS))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
