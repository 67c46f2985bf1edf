"""The evaluation suite: run the question set through a Pipeline and score it.

Each question (``eval/questions.jsonl``) names the facts a right answer states and the
articles that hold them. For every question we record the retrieved chunks and the answer,
then compute, overall and by language and kind:

- retrieval, at article level over the top-k chunks: hit@k, recall@k, MRR, nDCG@10;
- answers: accuracy (all facts stated, not refused), refusal accuracy on unanswerable
  questions, false refusal rate on answerable ones;
- citations: validity (the number exists), precision (the cited passage comes from an expected
  article and backs its sentence), recall (share of answer sentences backed by a citation);
- where the misses come from: the share of answerable questions whose facts were in the
  passages the model read, and the misses counted by cause (:attr:`Result.cause`) and by
  stage: retrieval (the facts are not in the chunks retrieved), selection (they are, but not in
  the sentences handed to the model) and reading (they were in front of the model, and the
  answer was refused or wrong);
- language: answers still in the other language than the question's, and answers the
  pipeline asked for again in the question's language;
- answers quoting another document's figure for what they state (rag.conflicts);
- latency per stage (p50, p95) and tokens.

Worked example: a question whose expected article is ``b`` and whose top chunks come from
``a, b, b`` has hit@3 = 1, MRR = 1/2 and recall@3 = 1.

>>> retrieval_scores(["a", "b", "b"], {"b"}, k=3)["mrr"]
0.5
"""

from __future__ import annotations

import json
import math
import statistics
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .citations import parse_markers
from .errors import RagError
from .facts import facts_present
from .pipeline import Pipeline
from .text import in_other_language
from .types import Answer

KINDS = ("number", "name", "date", "place", "multi", "conflict", "paraphrase", "unanswerable")
CAUSES = (
    "not_retrieved",
    "not_selected",
    "refused_model",
    "refused_unsupported",
    "refused_not_an_answer",
    "wrong",
    "invented",
)

# The stage of the answer path each answerable miss is lost at.
STAGES = {
    "retrieval": ("not_retrieved",),
    "selection": ("not_selected",),
    "reading": ("refused_model", "refused_unsupported", "refused_not_an_answer", "wrong"),
}


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    language: str
    kind: str
    answerable: bool
    facts: tuple[tuple[str, ...], ...]
    articles: tuple[str, ...]


@dataclass
class Result:
    """One question's run: what was retrieved, what was answered, and how it scored."""

    question: Question
    retrieved: list[str]  # doc ids of the top chunks, best first
    answer: Answer
    raw: str  # the model's text before the checks
    facts: list[bool] = field(default_factory=list)
    in_top_k: bool = False  # whether the top-k retrieved chunks state every expected fact
    # whether the chunks the model's sentences were chosen from state every expected fact
    in_candidates: bool = False

    @property
    def correct(self) -> bool:
        """States every expected fact and is not a refusal."""
        return not self.answer.refused and all(self.facts)

    @property
    def in_context(self) -> bool:
        """Whether the passages the model read (or, scoring retrieval only, would have
        read) state every expected fact."""
        text = "\n".join(p.chunk.text for p in self.answer.passages)
        return all(facts_present(self.question.facts, text))

    @property
    def cause(self) -> str:
        """Where an answerable question's run went: ``right``; ``not_retrieved`` (the facts
        are not in the chunks retrieved) or ``not_selected`` (they are, but not in the
        sentences the model read); or, with the facts in front of the model,
        ``refused_model``, ``refused_unsupported``, ``refused_not_an_answer`` (see
        Answer.refused_by) or ``wrong``. An unanswerable question's run is ``right``
        (refused) or ``invented``."""
        if not self.question.answerable:
            return "right" if self.answer.refused else "invented"
        if self.correct:
            return "right"
        if not self.in_context:
            return "not_selected" if self.in_candidates else "not_retrieved"
        if self.answer.refused:
            return "refused_" + (self.answer.refused_by or "model").replace(" ", "_")
        return "wrong"

    @property
    def ok(self) -> bool:
        """Right behaviour: a correct answer, or a refusal of an unanswerable question."""
        return self.correct if self.question.answerable else self.answer.refused


def questions_file() -> Path:
    """``eval/questions.jsonl`` of the checkout (or of the installed package)."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "eval" / "questions.jsonl", here.parent / "eval" / "questions.jsonl"):
        if candidate.is_file():
            return candidate
    raise RagError("No eval/questions.jsonl found: run `rag eval` from a checkout of the project")


def load_questions(path: Path | None = None) -> list[Question]:
    """Read the question set; one JSON object per line."""
    path = path or questions_file()
    questions = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            questions.append(
                Question(
                    item["id"],
                    item["question"],
                    item["language"],
                    item["kind"],
                    bool(item["answerable"]),
                    tuple(tuple(f) for f in item["facts"]),
                    tuple(item["articles"]),
                )
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise RagError(f"{path}, line {number}: not a valid question ({exc})") from exc
    return questions


def retrieval_scores(docs: Sequence[str], relevant: set[str], *, k: int) -> dict[str, float]:
    """Article-level scores of one ranked list of chunk doc ids."""
    top = list(docs[:k])
    first = next((i for i, d in enumerate(docs) if d in relevant), None)
    gains, seen = [], set()
    for d in docs[:10]:  # each relevant article counts once, at its first chunk
        gains.append(1.0 if d in relevant and d not in seen else 0.0)
        seen.add(d)
    dcg = sum(g / math.log2(i + 2) for i, g in enumerate(gains))
    ideal = sum(1 / math.log2(i + 2) for i in range(min(len(relevant), 10)))
    return {
        "hit": float(any(d in relevant for d in top)),
        "recall": len(relevant & set(top)) / len(relevant),
        "mrr": 1.0 / (first + 1) if first is not None else 0.0,
        "ndcg10": dcg / ideal if ideal else 0.0,
    }


def run(
    pipeline: Pipeline,
    questions: Iterable[Question],
    *,
    k: int = 5,
    answers: bool = True,
    on_progress: Callable[[int, int, Result | None], None] | None = None,
) -> list[Result]:
    """Ask every question through ``pipeline``; ``answers=False`` scores retrieval only,
    with the context the model would have been given but no model."""
    questions = list(questions)
    results = []
    for i, q in enumerate(questions, start=1):
        raw, answer = "", Answer(q.question, "", refused=True)
        if answers:
            for item in pipeline.answer_stream(q.question):
                if isinstance(item, Answer):
                    answer = item
                elif isinstance(item, str):
                    raw += item
        else:
            answer.passages = pipeline.context(q.question)
        # Retrieval is scored on the question as the pipeline searched it (translated into
        # the documents' language when asked in another; not without the model).
        searched = answer.searched_as or q.question
        top = pipeline.retrieve(searched, k=max(k, 10))
        in_top_k = all(facts_present(q.facts, "\n".join(p.chunk.text for p in top[:k])))
        pool = "\n".join(p.chunk.text for p in pipeline.candidates(searched))
        in_candidates = all(facts_present(q.facts, pool))
        facts = facts_present(q.facts, answer.text)
        result = Result(
            q, [p.chunk.doc_id for p in top], answer, raw, facts, in_top_k, in_candidates
        )
        results.append(result)
        if on_progress:
            on_progress(i, len(questions), result)
    return results


def _mean(values: Sequence[float]) -> float | None:
    return round(statistics.fmean(values), 3) if values else None


def _percentile(values: Sequence[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3)


def score(results: Sequence[Result], *, k: int = 5, answers: bool = True) -> dict[str, Any]:
    """All metrics of a set of results (see the module docstring)."""
    answerable = [r for r in results if r.question.answerable]
    unanswerable = [r for r in results if not r.question.answerable]
    retrieval = [retrieval_scores(r.retrieved, set(r.question.articles), k=k) for r in answerable]
    out: dict[str, Any] = {"questions": len(results)}
    for name in ("hit", "recall", "mrr", "ndcg10"):
        label = f"{name}@{k}" if name in ("hit", "recall") else name
        out[f"retrieval_{label}"] = _mean([s[name] for s in retrieval])
    # Whether the facts reach the model: in the chunks retrieved, then in the sentences of
    # them it is given. Article-level retrieval is saturated on the built-in set; these move.
    out[f"facts_in_top@{k}"] = _mean([float(r.in_top_k) for r in answerable])
    out["facts_in_context"] = _mean([float(r.in_context) for r in answerable])
    if not answers:
        return out
    out["answer_accuracy"] = _mean([float(r.correct) for r in answerable])
    out["refusal_accuracy"] = _mean([float(r.answer.refused) for r in unanswerable])
    out["false_refusal_rate"] = _mean([float(r.answer.refused) for r in answerable])

    # Where the misses come from: counts, so that retrieval and generation failures add up.
    causes = [r.cause for r in results]
    for cause in CAUSES:
        out[f"miss_{cause}"] = causes.count(cause)
    for stage, its in STAGES.items():
        out[f"missed_at_{stage}"] = sum(causes.count(c) for c in its)

    # The answer comes in the question's language: those still in the other one after the
    # pipeline asked again, and how many were asked again (Answer.redrafted). An answer made
    # of the passages' quoted sentences (rag.excerpts) is in theirs by design, and counted
    # apart.
    given = [r.answer for r in results if not r.answer.refused]
    out["answers_in_other_language"] = sum(
        in_other_language(a.text, a.language) for a in given if not a.excerpts
    )
    out["redrafted"] = sum(a.redrafted for a in given)
    out["answered_with_excerpts"] = sum(bool(a.excerpts) for a in given)
    # Answers that quote another document's figure for what they state (rag.conflicts).
    out["other_figures_quoted"] = sum(bool(a.other_figures) for a in given)

    markers = [(n, len(r.answer.passages)) for r in results for n in parse_markers(r.raw)]
    out["citation_validity"] = _mean([float(1 <= n <= size) for n, size in markers])
    precise, backed = [], []
    for r in answerable:
        if r.answer.refused:
            continue
        cited = {c.n: c.doc_id for c in r.answer.citations}
        for s in r.answer.sentences:
            backed.append(float(s.supported and bool(s.citations)))
            for n in s.citations:
                precise.append(float(s.supported and cited.get(n) in r.question.articles))
    out["citation_precision"] = _mean(precise)
    out["citation_recall"] = _mean(backed)

    timed = [r.answer.timings for r in results if r.answer.timings.total_s > 0]
    for stage in ("retrieval_s", "first_token_s", "total_s"):
        values = [getattr(t, stage) for t in timed]
        out[f"{stage}_p50"], out[f"{stage}_p95"] = (
            _percentile(values, 0.5),
            _percentile(values, 0.95),
        )
    out["prompt_tokens_mean"] = _mean([t.prompt_tokens for t in timed])
    out["answer_tokens_mean"] = _mean([t.answer_tokens for t in timed])
    if any(t.budget_tokens for t in timed):  # rag.budget: the context sized by the machine
        out["budget_tokens_p50"] = _percentile([t.budget_tokens for t in timed], 0.5)
        out["context_tokens_p50"] = _percentile([t.context_tokens for t in timed], 0.5)
    return out


def _stage(cause: str) -> str:
    return next((stage for stage, its in STAGES.items() if cause in its), "refusal")


def breakdown(results: Sequence[Result], *, k: int, answers: bool) -> dict[str, dict[str, Any]]:
    """Scores overall, then by language and by kind."""
    groups: dict[str, list[Result]] = {"all": list(results)}
    for r in results:
        groups.setdefault(f"lang={r.question.language}", []).append(r)
        groups.setdefault(f"kind={r.question.kind}", []).append(r)
    return {name: score(rs, k=k, answers=answers) for name, rs in groups.items()}


def write_report(
    runs: dict[str, dict[str, dict[str, Any]]],
    details: dict[str, list[Result]],
    out_dir: Path,
) -> tuple[Path, Path]:
    """Write ``report.md`` and ``report.json`` comparing configurations side by side."""
    out_dir.mkdir(parents=True, exist_ok=True)
    configs = list(runs)
    lines = [f"# Evaluation report ({time.strftime('%Y-%m-%d %H:%M')})", ""]
    for group in runs[configs[0]]:
        lines += [
            f"## {group}",
            "",
            "| metric | " + " | ".join(configs) + " |",
            "|---|" + "---|" * len(configs),
        ]
        for metric in runs[configs[0]][group]:
            cells = [runs[c].get(group, {}).get(metric) for c in configs]
            lines.append(
                f"| {metric} | " + " | ".join("" if v is None else str(v) for v in cells) + " |"
            )
        lines.append("")
    for config, results in details.items():
        misses = [r for r in results if r.answer.text and not r.ok]
        if misses:
            lines += [f"## Misses: {config}", ""]
            for r in misses:
                lines.append(
                    f"- **{r.question.id}** ({r.question.language}, {r.question.kind}; "
                    f"{_stage(r.cause)}: {r.cause}) "
                    f"{r.question.question} → {r.answer.text!r} facts={r.facts}"
                )
            lines.append("")
    md, js = out_dir / "report.md", out_dir / "report.json"
    md.write_text("\n".join(lines), encoding="utf-8")
    js.write_text(
        json.dumps(
            {
                "metrics": runs,
                "results": {
                    c: [
                        {
                            "id": r.question.id,
                            "retrieved": r.retrieved,
                            "raw": r.raw,
                            "facts": r.facts,
                            "correct": r.correct,
                            "cause": r.cause,
                            "answer": asdict(r.answer),
                        }
                        for r in rs
                    ]
                    for c, rs in details.items()
                },
            },
            ensure_ascii=False,
            indent=1,
        ),
        encoding="utf-8",
    )
    return md, js
