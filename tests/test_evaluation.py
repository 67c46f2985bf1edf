"""The evaluation runner: metrics on worked examples, and `rag eval` end to end on fakes.

Worked example: a question expecting article ``b`` whose top chunks come from ``a, b, b``
scores hit@1 = 0, hit@3 = 1, MRR = 1/2; an answerable question answered with all its facts
counts as correct, a refusal of it counts as a false refusal.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from rag import cli, pipeline
from rag.evaluation import (
    Question,
    Result,
    breakdown,
    load_questions,
    retrieval_scores,
    run,
    score,
    write_report,
)
from rag.facts import fact_present
from rag.index import load_index
from rag.pipeline import Pipeline
from rag.refusals import REFUSALS
from rag.settings import Settings
from rag.types import Answer, Chunk, Citation, Excerpt, Passage, SentenceCheck, Timings
from tests.conftest import FakeEmbedder, FakeGenerator


def test_retrieval_scores_worked_example() -> None:
    assert retrieval_scores(["a", "b", "b"], {"b"}, k=1) == {
        "hit": 0.0,
        "recall": 0.0,
        "mrr": 0.5,
        "ndcg10": pytest.approx(1 / 1.5849625),
    }
    scores = retrieval_scores(["a", "b", "c"], {"b", "c"}, k=3)
    assert scores["hit"] == 1.0 and scores["recall"] == 1.0 and scores["mrr"] == 0.5
    assert retrieval_scores(["a"], {"b"}, k=5) == {
        "hit": 0.0,
        "recall": 0.0,
        "mrr": 0.0,
        "ndcg10": 0.0,
    }


def passage(doc: str) -> Passage:
    return Passage(Chunk(f"{doc}#0", doc, doc, "T", "x", 0, 1), 1.0, 0)


def result(
    answerable: bool,
    refused: bool,
    facts: list[bool],
    raw: str = "",
    sentences: tuple[SentenceCheck, ...] = (),
    docs: tuple[str, ...] = ("a",),
) -> Result:
    q = Question(
        "q",
        "?",
        "fr",
        "number" if answerable else "unanswerable",
        answerable,
        (("1",),) * len(facts),
        ("a",) if answerable else (),
    )
    a = Answer(
        "?",
        "t",
        refused=refused,
        passages=[passage(d) for d in docs],
        sentences=list(sentences),
        citations=[Citation(n, d, d, "T", "x", 0, 1) for n, d in enumerate(docs, start=1)],
    )
    return Result(q, ["a"], a, raw, facts)


def test_answer_and_citation_metrics() -> None:
    good = SentenceCheck("s [1]", (1,), True)
    results = [
        result(True, False, [True], "s [1] [7]", (good,)),  # correct; one invented marker
        result(
            True, False, [False], "t [2]", (SentenceCheck("t [2]", (2,), True),), docs=("a", "b")
        ),  # wrong fact, cites an unexpected article
        result(True, True, [False]),  # false refusal
        result(False, True, []),  # right refusal
        result(False, False, [], "u [1]", (good,)),  # answered the unanswerable
    ]
    s = score(results, k=5)
    assert s["answer_accuracy"] == round(1 / 3, 3)
    assert s["false_refusal_rate"] == round(1 / 3, 3)
    assert s["refusal_accuracy"] == 0.5
    assert s["citation_validity"] == 0.75  # [1], [7], [2], [1]: [7] is not a passage
    assert s["citation_precision"] == 0.5  # [1] from article a; [2] from b, not expected
    assert s["citation_recall"] == 1.0
    groups = breakdown(results, k=5, answers=True)
    assert set(groups) >= {"all", "lang=fr", "kind=number", "kind=unanswerable"}
    assert groups["kind=unanswerable"]["refusal_accuracy"] == 0.5


def test_the_context_budget_is_reported_when_answers_had_one() -> None:
    results = [result(True, False, [True]) for _ in range(3)]
    assert "context_tokens_p50" not in score(results)  # no budget: nothing to report
    for tokens, r in zip((300, 500, 700), results, strict=True):
        r.answer.timings = Timings(total_s=1.0, budget_tokens=600, context_tokens=tokens)
    s = score(results)
    assert s["budget_tokens_p50"] == 600 and s["context_tokens_p50"] == 500


def test_misses_are_counted_by_cause() -> None:
    # Four answerable misses: the fact "30,6" was not in the chunks retrieved; it was, but not
    # in the sentences the model read; it was, and the checks refused the reply; it was, and
    # the reply stated another figure.
    def run_of(
        context: str, refused_by: str | None, answerable: bool = True, retrieved: bool = True
    ) -> Result:
        facts = (("30,6",),) if answerable else ()
        q = Question("q", "?", "fr", "number", answerable, facts, ("a",) if answerable else ())
        chunk = Chunk("a#0", "a", "a", "T", context, 0, len(context))
        a = Answer("?", "t", refused=bool(refused_by), passages=[Passage(chunk, 1.0, 0)])
        a.refused_by = refused_by
        return Result(q, ["a"], a, "", [False] if answerable else [], retrieved, retrieved)

    results = [
        run_of("SenseTime vaut 5,9 milliards.", "model", retrieved=False),
        run_of("SenseTime vaut 5,9 milliards.", "model"),
        run_of("SenseTime vaut 30,6 milliards.", "unsupported"),
        run_of("SenseTime vaut 30,6 milliards.", None),
        run_of("SenseTime vaut 30,6 milliards.", None, answerable=False),
        run_of("SenseTime vaut 30,6 milliards.", "model", answerable=False),
    ]
    assert [r.cause for r in results] == [
        "not_retrieved",
        "not_selected",
        "refused_unsupported",
        "wrong",
        "invented",
        "right",
    ]
    m = score(results)
    assert m["facts_in_context"] == 0.5
    assert (m["miss_not_retrieved"], m["miss_not_selected"], m["miss_refused_unsupported"]) == (
        1,
        1,
        1,
    )
    assert (m["miss_wrong"], m["miss_invented"], m["miss_refused_model"]) == (1, 1, 0)
    assert (m["missed_at_retrieval"], m["missed_at_selection"], m["missed_at_reading"]) == (1, 1, 2)


def test_answers_in_the_other_language_and_redrafts_are_counted() -> None:
    english = result(True, False, [True])
    english.answer.text = "SenseTime's sales fell by 58% in the first half [1]."
    redrafted = result(True, False, [True])
    redrafted.answer.text, redrafted.answer.redrafted = "Les ventes ont chuté de 58 % [1].", True
    name = result(True, False, [True])
    name.answer.text = "Eddie Wu [1]."  # no language: not counted
    refused = result(False, True, [])
    refused.answer.text = "The documents do not say."  # a refusal is not an answer
    # A quote of the passages (rag.excerpts) is in their language by design: counted apart.
    quoting = result(True, False, [True])
    quoting.answer.text = "In the documents' own words: « Les ventes ont chuté de 58 % » [1]."
    quoting.answer.excerpts = [Excerpt(1, "Les ventes ont chuté de 58 %.")]
    quoting.answer.language = "en"
    m = score([english, redrafted, name, refused, quoting])
    assert (m["answers_in_other_language"], m["redrafted"]) == (1, 1)
    assert m["answered_with_excerpts"] == 1


def test_questions_file_loads() -> None:
    questions = load_questions()
    assert len(questions) >= 80 and {q.language for q in questions} == {"fr", "en"}
    assert any(not q.answerable for q in questions)


PIAF = Path(__file__).resolve().parent.parent / "eval" / "piaf"


def test_piaf_halves_are_apart_by_article_and_every_fact_is_in_its_article() -> None:
    tuning, heldout = (load_questions(PIAF / f"{half}.jsonl") for half in ("tuning", "heldout"))
    articles = {p.name: p.read_text(encoding="utf-8") for p in (PIAF / "articles").glob("*.txt")}
    assert len(articles) == 60 and (PIAF / "SOURCE.md").is_file()  # the attribution stays
    named = [{a for q in half for a in q.articles} for half in (tuning, heldout)]
    assert len(named[0]) == len(named[1]) == 30 and not named[0] & named[1]
    for q in tuning + heldout:
        assert q.answerable == bool(q.facts) == bool(q.articles), q.id
        for fact in q.facts:  # each fact, in one of its forms, is in the article it names
            assert any(fact_present([v], articles[q.articles[0]]) for v in fact), (q.id, fact)
    for half in (tuning, heldout):
        assert {q.language for q in half if q.answerable} == {"fr", "en"}
        assert sum(not q.answerable for q in half) == 30


def test_bad_question_file(tmp_path: Path) -> None:
    bad = tmp_path / "q.jsonl"
    bad.write_text('{"id": "x"}\n', encoding="utf-8")
    with pytest.raises(Exception, match="line 1"):
        load_questions(bad)


def test_run_and_report_on_fakes(settings: Settings, corpus: Path, tmp_path: Path) -> None:
    questions = [q for q in load_questions() if q.id in {"q003", "q073"}]

    def reply(prompt: str) -> str:  # cites the passage holding the loss, as a good model would
        blocks = re.split(r"(?m)^\[(\d+)\]", prompt.rsplit("Question:", 1)[0])
        hits = [n for n, b in zip(blocks[1::2], blocks[2::2], strict=True) if "2,4 milliards" in b]
        return f"SenseTime a perdu 2,4 milliards de RMB [{hits[-1]}]." if hits else REFUSALS["en"]

    fake = Pipeline(
        settings.replace(corpus=corpus, top_k=60, context_sentences=0),
        embedder=FakeEmbedder(),
        generator=FakeGenerator(reply),
    )
    results = run(fake, questions, k=5)
    assert [r.question.id for r in results] == ["q003", "q073"]
    assert results[0].raw.startswith("SenseTime a perdu 2,4 milliards de RMB [")
    assert results[0].facts == [True] and results[0].ok and results[0].correct
    md, js = write_report(
        {"hybrid": breakdown(results, k=5, answers=True)}, {"hybrid": results}, tmp_path / "report"
    )
    assert "| answer_accuracy |" in md.read_text() and "## lang=" in md.read_text()
    assert json.loads(js.read_text())["results"]["hybrid"][0]["id"] == "q003"


def fake_pipelines(monkeypatch: pytest.MonkeyPatch, *configurations: Settings) -> None:
    """What `rag eval` gets for each configuration: a pipeline on fakes."""
    for s in configurations:
        fake = Pipeline(s, embedder=FakeEmbedder(), generator=FakeGenerator("Rien [1]."))
        monkeypatch.setitem(pipeline._PIPELINES, s, fake)


@pytest.fixture
def base(settings: Settings, corpus: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The Settings `rag eval --corpus CORPUS` starts from, its cache in tmp_path."""
    monkeypatch.setenv("RAG_HOME", str(settings.home_dir))
    return Settings.from_env(corpus=corpus.resolve())


def test_rag_eval_command(
    base: Settings, corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    fake_pipelines(monkeypatch, base.replace(retrieval="dense"), base.replace(retrieval="keyword"))
    code = cli.main(
        [
            "eval",
            "--corpus",
            str(corpus),
            "--ids",
            "q001,q002",
            "--compare",
            "dense,keyword",
            "--retrieval-only",
            "--out",
            str(tmp_path / "r"),
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "dense: questions=2" in out and "keyword: questions=2" in out
    assert "| retrieval_hit@5 |" in (tmp_path / "r" / "report.md").read_text()


def test_scoring_retrieval_only_counts_the_facts_that_reach_the_model(
    settings: Settings, corpus: Path
) -> None:
    # q003's fact (2,4 milliards) is in one chunk of 52. Retrieving them all, the facts are in
    # the top 60 and in the context (whole chunks); in the top 1, only if that one chunk wins.
    questions = [q for q in load_questions() if q.id in {"q003", "q073"}]

    def no_model(prompt: str) -> str:
        raise AssertionError("scoring retrieval must not run the model")

    fake = Pipeline(
        settings.replace(corpus=corpus, top_k=60, context_sentences=0),
        embedder=FakeEmbedder(),
        generator=FakeGenerator(no_model),
    )
    wide = score(run(fake, questions, k=60, answers=False), k=60, answers=False)
    assert (wide["facts_in_top@60"], wide["facts_in_context"]) == (1.0, 1.0)
    assert "answer_accuracy" not in wide
    narrow = run(fake, questions, k=1, answers=False)
    top = fake.retrieve(questions[0].question, k=1)[0].chunk.text
    assert score(narrow, k=1, answers=False)["facts_in_top@1"] == float("2,4 milliards" in top)


def test_rag_eval_compares_chunk_sizes_without_touching_the_usual_index(
    base: Settings, corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    usual = Pipeline(base, embedder=FakeEmbedder(), generator=FakeGenerator("Rien [1]."))
    usual.index()
    before = load_index(usual.index_dir)
    fake_pipelines(
        monkeypatch, base, base.replace(chunk_size=300, chunk_overlap=0), base.replace(top_k=3)
    )
    configurations = "default,chunk_size=300+chunk_overlap=0,top_k=3"
    args = ["--corpus", str(corpus), "--ids", "q001,q003", "--compare", configurations]
    code = cli.main(["eval", "--retrieval-only", *args, "--out", str(tmp_path / "r")])
    assert code == 0
    out = capsys.readouterr().out
    for label in configurations.split(","):
        assert f"{label}: questions=2" in out
    report = (tmp_path / "r" / "report.md").read_text()
    assert f"| metric | {' | '.join(configurations.split(','))} |" in report
    assert "| facts_in_context |" in report
    after = load_index(usual.index_dir)
    assert after is not None and before is not None
    assert after.path == before.path and after.manifest["chunk_size"] == 600  # not rebuilt
    assert len(list((base.home_dir / "indexes").iterdir())) == 2


@pytest.mark.parametrize(
    ("compare", "message"),
    [
        ("dense+keyword", "'dense\\+keyword' is not a configuration"),
        ("default+top_k=3", "is not a configuration"),
        ("dense,,keyword", "'' is not a configuration"),
        ("top_k=3,top_k=3", "'top_k=3' is given twice"),
        ("chunk_size=abc", "chunk_size='abc': give a whole number"),
        ("chunk_size=100", "chunk_overlap=120: give 0 or more, below chunk_size \\(100\\)"),
    ],
)
def test_rag_eval_says_what_a_configuration_should_look_like(
    compare: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["eval", "--retrieval-only", "--compare", compare]) == cli.EXIT_ERROR
    assert re.search(message, capsys.readouterr().err)


def bench_module(name: str, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """bench/NAME.py loaded as a module (bench/ is scripts, not a package)."""
    import importlib.util
    import sys

    path = Path(__file__).resolve().parent.parent / "bench" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"bench_{name}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, f"bench_{name}", module)  # its dataclasses look it up
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def gate(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """bench/gate.py, the replay of a gate-off run."""
    return bench_module("gate", monkeypatch)


def test_a_gate_off_run_replays_under_any_threshold(tmp_path: Path, gate: ModuleType) -> None:
    """bench/gate.py reads rag eval's own report: a draft is refused where its marker
    probability reaches the threshold for its language pair, answered as in the run below."""
    rows = [  # answerable: right at p 0.01 and 0.3, wrong at 0.02; unanswerable: 0.2 in English
        (result(True, False, [True]), 0.01, "fr"),
        (result(True, False, [True]), 0.3, "fr"),
        (result(True, False, [False]), 0.02, "fr"),
        (result(False, False, []), 0.2, "en"),
        (result(False, False, []), 0.6, "fr"),
    ]
    for r, p, language in rows:
        r.answer.refusal_probability = p
        r.answer.language = language
        r.answer.passages = [
            Passage(Chunk("a#0", "a", "a", "T", "Le texte est écrit en français.", 0, 31), 1.0, 0)
        ]
    results = [r for r, _, _ in rows]
    _, js = write_report(
        {"hybrid": breakdown(results, k=5, answers=True)}, {"hybrid": results}, tmp_path / "report"
    )
    drafts = gate.drafts(json.loads(js.read_text()))
    assert [d.answerable for d in drafts] == [True, True, True, False, False]
    assert [d.across for d in drafts] == [False, False, False, True, False]
    assert gate.replay(drafts, 0.05, 0.05) == gate.Outcome(1, 3, 2, 2, 1)
    assert gate.replay(drafts, 0.5, 0.05) == gate.Outcome(2, 3, 2, 2, 1)
    assert gate.replay(drafts, 0.5, 0.5) == gate.Outcome(2, 3, 1, 2, 2)  # the English one shown
    assert gate.main([str(js), "--at", "0.5,0.05"]) == 0
    with pytest.raises(SystemExit):
        gate.main([str(js), "--at", "0.5"])


def test_the_replay_checks_the_drafts_again_with_todays_checks(
    tmp_path: Path, gate: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    """With the question file, bench/gate.py puts each draft through today's checks and
    final answer again and scores it on the questions' facts: a draft the run refused that
    today's checks accept counts as right, and is listed as changed."""
    text = "Le musée a ouvert ses portes en 1998 à Lyon."
    source = Passage(Chunk("m#0", "m", "m", "Musée", text, 0, len(text)), 1.0, 0)
    rows = [  # id, the run's verdict (refused, facts found), the draft, the fact expected
        ("backed", True, [False], "Le musée a ouvert en 1998 [1].", "1998"),
        ("invented", False, [True], "Le musée a ouvert en 2005 [1].", "2005"),
        ("refused", True, [False], "NONE", "1998"),
    ]
    results, lines = [], []
    for qid, refused, found, raw, fact in rows:
        q = Question(qid, "Quand le musée a-t-il ouvert ?", "fr", "date", True, ((fact,),), ("m",))
        a = Answer(q.question, "t", refused=refused, passages=[source])
        a.refusal_probability = 0.01
        results.append(Result(q, ["m"], a, raw, found))
        lines.append(json.dumps({**q.__dict__, "facts": [[fact]], "articles": ["m"]}))
    _, js = write_report(
        {"hybrid": breakdown(results, k=5, answers=True)}, {"hybrid": results}, tmp_path / "r"
    )
    questions = tmp_path / "questions.jsonl"
    questions.write_text("\n".join(lines), encoding="utf-8")
    report = json.loads(js.read_text())

    facts = {q.id: q.facts for q in load_questions(questions)}
    again = gate.drafts(report, facts=facts)
    # The invented year is refused by today's checks; the run had shown it.
    assert [(d.correct, d.refused) for d in again] == [(True, False), (False, True), (False, True)]
    assert [d.correct for d in gate.drafts(report)] == [False, True, False]  # the run's own
    assert gate.main([str(js), "--at", "0.05,0.1", "--questions", str(questions)]) == 0
    out = capsys.readouterr().out
    assert "today's checks change 2: backed invented" in out
    assert "| 0.05 | 0.1 | 1/3 | 0/0 | 0 |" in out


def test_the_recheck_agrees_with_the_pipelines_own_checks(
    base: Settings, gate: ModuleType, tmp_path: Path
) -> None:
    """bench/gate.py's re-check builds the answer as Pipeline.verify and Pipeline.final do
    (rag.final.checked_answer, final_answer): replayed on a run of the pipeline (on fakes,
    drafts of each kind: backed, invented, refused, citing a passage that does not exist),
    today's checks give every question the run's own outcome."""

    def backed(user: str) -> str:  # the first passage's first sentence, cited
        found = re.search(r"\[1\] (.+?[.!?])(?:\s|$)", user)
        return f"{found[1] if found else 'Rien.'} [1]"

    def padded(user: str) -> str:  # the same with a figure no passage gives: excerpts
        return backed(user).replace(". [1]", ", soit 9 999 milliards de dollars [1].")

    script: list[str | Any] = [backed, "Le chiffre est de 9 999 milliards [1].", "NONE"]
    script += [lambda user: backed(user).replace("[1]", "[1][9]"), padded, "SenseTime [2]."]
    pipeline_ = Pipeline(base, embedder=FakeEmbedder(), generator=FakeGenerator(script * 3))
    questions = load_questions()[:15]
    results = run(pipeline_, questions, k=5)
    _, js = write_report(
        {"hybrid": breakdown(results, k=5, answers=True)}, {"hybrid": results}, tmp_path / "r"
    )
    report = json.loads(js.read_text())
    # Every way out is exercised: answered (some right, one in the passages' own words),
    # refused by the model, by the checks.
    assert {r.answer.refused_by for r in results} == {None, "model", "unsupported", "not an answer"}
    assert any(r.correct for r in results) and any(r.answer.excerpts for r in results)

    facts = {q.id: q.facts for q in questions}
    again = [(d.correct, d.refused) for d in gate.drafts(report, facts=facts)]
    assert again == [(d.correct, d.refused) for d in gate.drafts(report)]


def test_switching_a_check_off_shows_what_it_paid(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """bench/checks.py replays saved drafts with one check off at a time: joining two
    passages for a question asking one thing would show an invented year (PIAF u043), and a
    check that changes nothing says so."""
    checks = bench_module("checks", monkeypatch)
    texts = [
        "Philippe Auguste bat la coalition à Bouvines.",
        "En 1180, Philippe II Auguste devient roi.",
    ]
    passages = [
        Passage(Chunk(f"r#{i}", "r", "r", "Royaume", t, 0, len(t)), 1.0, i)
        for i, t in enumerate(texts)
    ]
    rows = [  # id, the question, answerable, the draft
        ("king", "En quelle année Philippe Auguste devient-il roi ?", True,
         "Philippe Auguste devient roi en 1180 [1]."),
        ("battle", "En quelle année Philippe Auguste a-t-il gagné à Bouvines ?", False,
         "Philippe Auguste a gagné à Bouvines en 1180 [1]."),
    ]  # fmt: skip
    results, lines = [], []
    for qid, question, answerable, draft in rows:
        facts = (("1180",),) if answerable else ()
        q = Question(qid, question, "fr", "date", answerable, facts, ("r",))
        a = Answer(question, draft, refused=False, passages=passages)
        a.refusal_probability = 0.0
        results.append(Result(q, ["r"], a, draft, [True] * len(facts)))
        lines.append(json.dumps({**q.__dict__, "facts": [list(f) for f in facts]}))
    _, js = write_report(
        {"hybrid": breakdown(results, k=5, answers=True)}, {"hybrid": results}, tmp_path / "r"
    )
    questions = tmp_path / "questions.jsonl"
    questions.write_text("\n".join(lines), encoding="utf-8")

    for name in ("joining passages only for a question in parts", "other documents' figures"):
        assert checks.main([f"{js}:{questions}", "--only", name]) == 0
    out = capsys.readouterr().out
    assert "| (none: today's checks) | 1/1/0 | 0:  |" in out  # right, refused, no wrong
    assert re.search(r"\| joining passages only .+ \| 1/0/1 \| 1: \S+:battle \|", out)
    assert "| other documents' figures | 1/1/0 | 0:  |" in out
    with pytest.raises(SystemExit):
        checks.main([str(js)])  # no question file


@pytest.fixture
def audit(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """bench/audit.py, the blind audit of the grader."""
    return bench_module("audit", monkeypatch)


def test_the_audit_shows_judges_what_was_shown_blind_and_scores_them(
    tmp_path: Path, audit: ModuleType
) -> None:
    """bench/audit.py writes the answers a run showed without ids or verdicts, with the
    passages the answer cites numbered as in its text (the final answer renumbers them),
    and sets the judges' verdicts against the grader's."""
    first = "Le musée de Lyon a fermé en 1990."
    second = "Le musée a ouvert ses portes en 1998 à Lyon."
    given = [
        Passage(Chunk("m#0", "m", "m", "Musée", first, 0, len(first)), 1.0, 0),
        Passage(Chunk("m#1", "m", "m", "Musée", second, 40, 40 + len(second)), 0.9, 1),
    ]
    rows = [  # id, answerable, refused, the run's verdict, the refusal probability
        ("right", True, False, [True], 0.01),
        ("doubt", True, False, [True], 0.3),  # a gate-off run's draft the gate would refuse
        ("refused", True, True, [False], 0.01),
        ("invented", False, False, [], 0.02),
    ]
    results, lines = [], []
    for qid, answerable, refused, found, p in rows:
        facts = (("1998",),) if answerable else ()
        q = Question(
            qid, f"Quand le musée a-t-il ouvert ({qid}) ?", "fr", "date", answerable, facts, ("m",)
        )
        a = Answer(q.question, "Le musée a ouvert en 1998 [1].", refused=refused, passages=given)
        a.citations = [Citation(1, "m", "m", "Musée", second, 40, 40 + len(second))]
        a.refusal_probability = p
        results.append(Result(q, ["m"], a, a.text, found))
        lines.append(json.dumps({**q.__dict__, "facts": [list(f) for f in facts]}))
    _, js = write_report(
        {"hybrid": breakdown(results, k=5, answers=True)}, {"hybrid": results}, tmp_path / "r"
    )
    questions = tmp_path / "questions.jsonl"
    questions.write_text("\n".join(lines), encoding="utf-8")
    out = tmp_path / "audit"

    extract = ["extract", f"set={js}:{questions}", "--out", str(out)]
    assert audit.main([*extract, "--at", "0.05,0.1", "--batches", "1"]) == 0
    keys = json.loads((out / "keys.json").read_text())
    assert sorted(m["id"] for m in keys.values()) == ["invented", "right"]
    batch = [json.loads(x) for x in (out / "batch-A1.jsonl").read_text().splitlines()]
    assert sorted(
        json.loads(x)["key"] for x in (out / "batch-B1.jsonl").read_text().splitlines()
    ) == sorted(keys)
    shown = {"key", "question", "accepted_forms", "answer", "cited", "other_passages_given"}
    for it in batch:
        assert set(it) == shown  # no id, no verdict
        assert it["cited"] == [f"[1] {second}"] and it["other_passages_given"] == [first]
    assert (out / "INSTRUCTIONS.md").read_text().startswith("# Judging")

    with pytest.raises(SystemExit, match="judged-A1.jsonl is missing"):
        audit.score(out)
    # Both judges find the grader's right answer wrong; the unanswerable one invented.
    verdict = {"right": "wrong", "invented": "invented"}
    judged = [
        {"key": it["key"], "verdict": verdict[keys[it["key"]]["id"]], "supported": True}
        for it in batch
    ]
    for judge in "AB":
        (out / f"judged-{judge}1.jsonl").write_text("\n".join(map(json.dumps, judged)))
    table = audit.score(out)["set"]
    assert (table["shown"], table["grader: right"], table["judges: right"]) == (2, 1, 0)
    assert table["grader right, judges not"] == 1 and table["invented (unanswerable)"] == 1
    assert table["judges agree"] == 2 and table["unsupported by its citations"] == 0

    (out / "judged-B1.jsonl").write_text("")
    with pytest.raises(SystemExit, match="does not judge each key"):
        audit.score(out)
