"""A blind audit of the grader: the answers a run shows, judged by reading them.

``rag eval`` counts an answer right when it holds one accepted wording of each of its
question's facts (rag.facts). That can miss a right answer put in other words, and pass a wrong
one that holds the words ("Georges Winckelmans succède à Ernest Payne" to "who coached the
club after Winckelmans left?"). This writes the answers runs showed, mixed across runs and
shuffled, without question ids or the grader's verdicts, in batches for judges who read them
(people, or helpers that see only their batch and the instructions), then sets their
judgements against the grader's:

    .venv/bin/python bench/audit.py extract --out /tmp/audit --judges 2 --batches 2 \\
        piaf-tuning=/tmp/runs/tuning/report.json:eval/piaf/tuning.jsonl \\
        main=/tmp/runs/main/report.json:eval/questions.jsonl
    # each judge of batch-A1.jsonl writes judged-A1.jsonl beside it (INSTRUCTIONS.md says how)
    .venv/bin/python bench/audit.py score --out /tmp/audit

``--judges 2`` gives every answer to two judges (batches A… and B…, in other orders). With
``--at 0.05,0.1`` the reports are gate-off runs, and the answers shown are those the gate
would have let through at those thresholds (bench/gate.py); without it, the answers the runs
did not refuse. The passages a judge sees are the ones the answer cites, numbered as in its
text (the final answer renumbers them: ``Answer.citations``, not ``Answer.passages``).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import gate  # bench/gate.py, beside this file

from rag.evaluation import load_questions

UNANSWERABLE = "UNANSWERABLE (written to have no answer in the documents)"
VERDICTS = ("right", "wrong", "invented", "answerable")
ROWS = (
    "shown",
    "grader: right",
    "judges: right",
    "grader right, judges not",
    "grader not, judges right",
    "judges split",
    "judges agree",
    "invented (unanswerable)",
    "answerable though written not",
    "unsupported by its citations",
    "right, unsupported",
)

INSTRUCTIONS = """\
# Judging the answers of a question-answering tool (blind audit)

You judge answers that a small local model gave to questions about a folder of documents.
Each line of your batch file is one JSON item:

- `question`: what the user asked;
- `accepted_forms`: a list of facts, each a list of accepted wordings that a grader looks for,
  or the string "UNANSWERABLE…" for a question written to have no answer in the documents;
- `answer`: what the tool showed; `[n]` cites passage n;
- `cited`: the passages the answer cites, each opening with its number `[n]`;
- `other_passages_given`: the rest of the text the model was given, which the answer does not cite.

For each item decide, reading the question, the answer and the passages yourself:

1. `verdict`, one of:
   - `right`: the answer gives what the question asks, and it agrees with the accepted
     forms in meaning (a paraphrase, a translation, another correct form of the same fact is
     right; if the question asks several things, all must be there). Extra true detail is fine.
   - `wrong`: it gives something else, or only part of what is asked, or it contradicts the
     accepted forms, or it names the right words but says something false with them.
   - For UNANSWERABLE items: `invented` if the answer claims an answer the passages do not
     give; `answerable` if the passages really do answer the question and the answer gives it
     correctly (the question was wrongly written as unanswerable); `wrong` otherwise.
   Judge by meaning, not by shared words. Do not give the benefit of the doubt: if a careful
   reader would be misled, it is `wrong`.
2. `supported`: true if everything the answer states is stated by the passages it cites
   (`cited`; each sentence by the passage whose number it carries), false otherwise. A quote
   of the passage's own words ("In the documents' own words: …") is supported when the quote
   is in the cited passage.
3. `note`: a few words on why, for any `wrong`, `invented` or `answerable`, or when the
   accepted forms themselves look mistaken.

Write one JSON line per item, in the same order, to your output file:
{"key": "...", "verdict": "...", "supported": true, "note": "..."}

Write each judgement while the item is in front of you, and check before writing that the
note speaks of that item's own question and answer. Use only your batch file: do not open
other files of its folder or elsewhere, and do not run the tool. Check that your output has
exactly as many lines as your batch, each key once.
"""


def shown(report: dict[str, Any], at: tuple[float, float] | None) -> list[dict[str, Any]]:
    """The results of ``report`` (rag eval's report.json) whose answer was shown: not
    refused, and with ``at`` (a gate-off run), below the gate's threshold for its question,
    as bench/gate.py replays it."""
    results = report["results"]["hybrid"]
    if at is None:
        return [r for r in results if not r["answer"]["refused"]]
    refused = gate.refused_at(*at)
    return [r for r, d in zip(results, gate.drafts(report), strict=True) if not refused(d)]


def item(result: dict[str, Any], facts: Sequence[Sequence[str]]) -> dict[str, Any]:
    """What a judge sees of one shown answer: no id, no verdict."""
    a = result["answer"]
    cited = {c["text"] for c in a["citations"]}
    return {
        "question": a["question"],
        "accepted_forms": [list(f) for f in facts] or UNANSWERABLE,
        "answer": a["text"],
        "cited": [f"[{c['n']}] {c['text']}" for c in a["citations"]],
        "other_passages_given": [
            p["chunk"]["text"] for p in a["passages"] if p["chunk"]["text"] not in cited
        ],
    }


def extract(
    runs: dict[str, tuple[Path, Path]],
    out: Path,
    *,
    at: tuple[float, float] | None = None,
    judges: int = 2,
    batches: int = 2,
    seed: int = 7,
) -> int:
    """Write the batches, ``keys.json`` (each key's run, question id and the grader's
    verdict, for :func:`score`) and INSTRUCTIONS.md into ``out``; return the answers' count."""
    items: list[tuple[dict[str, Any], dict[str, Any]]] = []
    for name, (report_path, questions_path) in runs.items():
        facts = {q.id: q.facts for q in load_questions(questions_path)}
        report = json.loads(report_path.read_text(encoding="utf-8"))
        for r in shown(report, at):
            meta = {
                "run": name,
                "id": r["id"],
                "grader_right": bool(facts[r["id"]] and r["correct"]),
            }
            items.append((item(r, facts[r["id"]]), meta))
    random.Random(seed).shuffle(items)
    out.mkdir(parents=True, exist_ok=True)
    keys = {}
    for n, (it, meta) in enumerate(items, start=1):
        it["key"] = f"k{n:04d}"
        keys[it["key"]] = meta
    (out / "keys.json").write_text(json.dumps(keys, indent=1), encoding="utf-8")
    (out / "INSTRUCTIONS.md").write_text(INSTRUCTIONS, encoding="utf-8")
    for judge in range(judges):
        # Each judge reads the answers in another order, so one answer's neighbours differ.
        turn = judge * len(items) // judges
        order = items[turn:] + items[:turn]
        order = order[::-1] if judge % 2 else order
        for b in range(batches):
            lines = [json.dumps(it, ensure_ascii=False) for it, _ in order[b::batches]]
            path = out / f"batch-{chr(ord('A') + judge)}{b + 1}.jsonl"
            path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(items)


def judgements(out: Path) -> dict[str, list[dict[str, Any]]]:
    """Every judge's judgements, by key. A judgement file that names an unknown key or
    verdict, or misses some of its batch's keys, is an error: the audit would count wrong."""
    found: dict[str, list[dict[str, Any]]] = {}
    for batch in sorted(out.glob("batch-*.jsonl")):
        judged = batch.with_name(batch.name.replace("batch-", "judged-"))
        if not judged.exists():
            raise SystemExit(f"{judged} is missing: judge {batch.name} first")
        asked = [json.loads(line)["key"] for line in batch.read_text("utf-8").splitlines() if line]
        given = [json.loads(line) for line in judged.read_text("utf-8").splitlines() if line]
        if sorted(j["key"] for j in given) != sorted(asked):
            raise SystemExit(f"{judged} does not judge each key of {batch.name} once")
        for j in given:
            if j["verdict"] not in VERDICTS:
                raise SystemExit(f"{judged}: {j['key']} has verdict {j['verdict']!r}")
            found.setdefault(j["key"], []).append(j)
    return found


def score(out: Path) -> dict[str, Counter[str]]:
    """For each run: answers shown, the grader's right answers, and where the judges part
    from it. An answer counts as judged right when every judge says so."""
    keys = json.loads((out / "keys.json").read_text(encoding="utf-8"))
    judged = judgements(out)
    table: dict[str, Counter[str]] = {}
    for key, meta in keys.items():
        js = judged.get(key, [])
        c = table.setdefault(meta["run"], Counter())
        right = [j["verdict"] == "right" for j in js]
        c["shown"] += 1
        c["judges agree"] += len(set(j["verdict"] == "right" for j in js)) == 1
        c["grader: right"] += meta["grader_right"]
        c["judges: right"] += bool(right) and all(right)
        c["grader right, judges not"] += meta["grader_right"] and not any(right)
        c["grader not, judges right"] += not meta["grader_right"] and bool(right) and all(right)
        c["judges split"] += any(right) and not all(right)
        c["invented (unanswerable)"] += any(j["verdict"] == "invented" for j in js)
        c["answerable though written not"] += any(j["verdict"] == "answerable" for j in js)
        c["unsupported by its citations"] += bool(js) and not any(j["supported"] for j in js)
        c["right, unsupported"] += (
            bool(right) and all(right) and not any(j["supported"] for j in js)
        )
    return table


def _run(text: str) -> tuple[str, tuple[Path, Path]]:
    try:
        name, paths = text.split("=", 1)
        report, questions = paths.split(":", 1)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"give NAME=REPORT.json:QUESTIONS.jsonl, not {text!r}"
        ) from None
    return name, (Path(report), Path(questions))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    ex = sub.add_parser("extract", help="write the batches to judge")
    ex.add_argument("runs", nargs="+", type=_run, help="NAME=REPORT.json:QUESTIONS.jsonl")
    ex.add_argument("--out", type=Path, required=True)
    ex.add_argument("--at", help="gate-off runs: the thresholds 'same,across', e.g. 0.05,0.1")
    ex.add_argument("--judges", type=int, default=2)
    ex.add_argument("--batches", type=int, default=2, help="batches per judge")
    sc = sub.add_parser("score", help="set the judgements against the grader")
    sc.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    if args.command == "extract":
        at = gate.pair(args.at) if args.at else None
        n = extract(dict(args.runs), args.out, at=at, judges=args.judges, batches=args.batches)
        print(f"{n} answers in {args.out}: judges read INSTRUCTIONS.md and their batch-*.jsonl")
        return 0
    table = score(args.out)
    print("| | " + " | ".join(table) + " |")
    print("|---|" + "---|" * len(table))
    for row in ROWS:
        print(f"| {row} | " + " | ".join(str(table[run][row]) for run in table) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
