"""The rag command: cited answers from a folder of documents, offline.

    rag index [PATH]          index PATH (default: the built-in articles) and make it the default
    rag ask "question"        the checked answer, then its sources (--json for scripts)
    rag chat                  start the web chat (needs the [app] extra)
    rag eval                  run the evaluation questions and write a report
    rag doctor                what is wrong, when something is: CPU, llama.cpp, model, index

Only this module and the app turn RagErrors into messages for people.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import textwrap
from pathlib import Path

from .errors import RagError
from .settings import RETRIEVAL_MODES as MODES
from .settings import Settings, default_home, parse_changes
from .types import Answer

EXIT_ERROR = 2


def _remembered_corpus_file() -> Path:
    return default_home() / "default_corpus"


def remembered_corpus() -> Path | None:
    """The folder ``rag index PATH`` last indexed, used when --corpus is not given."""
    try:
        text = _remembered_corpus_file().read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return Path(text) if text else None


def _corpus(args: argparse.Namespace) -> Path | None:
    """--corpus, else $RAG_CORPUS, else the folder ``rag index`` last indexed."""
    if getattr(args, "corpus", None):
        return Path(args.corpus).expanduser().resolve()
    if os.environ.get("RAG_CORPUS"):
        return None  # Settings.from_env reads it
    return remembered_corpus()


def _settings(args: argparse.Namespace) -> Settings:
    corpus = _corpus(args)
    overrides = {
        "corpus": corpus,
        "top_k": getattr(args, "k", None),
        "retrieval": getattr(args, "mode", None),
        "generator": getattr(args, "generator", None),
        "model": getattr(args, "model", None),
    }
    return Settings.from_env(**overrides)


def _progress(done: int, total: int) -> None:
    print(
        f"\rEmbedding chunks and their sentences: {done}/{total}",
        end="" if done < total else "\n",
        file=sys.stderr,
    )


def cmd_index(args: argparse.Namespace) -> int:
    from .pipeline import build_index, get_pipeline

    corpus = Path(args.path).expanduser().resolve() if args.path else None
    settings = Settings.from_env(corpus=corpus)
    stats = build_index(settings=settings, on_progress=_progress)
    _remembered_corpus_file().parent.mkdir(parents=True, exist_ok=True)
    _remembered_corpus_file().write_text(str(corpus or ""), encoding="utf-8")
    where = corpus or "the built-in articles"
    documents = len(stats.added) + len(stats.updated) + len(stats.unchanged)
    if settings.index_url:  # a shared collection: its chunks are every folder's
        from .postgres import redact

        print(
            f"Indexed {where} ({documents} documents) into {redact(settings.index_url)}, "
            f"which holds {stats.chunks} chunks, in {stats.seconds:.1f} s"
        )
    else:
        print(
            f"Indexed {where}: {stats.chunks} chunks from {documents} documents "
            f"in {stats.seconds:.1f} s"
        )
    for label, ids in (
        ("added", stats.added),
        ("updated", stats.updated),
        ("removed", stats.removed),
    ):
        if ids:
            print(f"  {label}: {', '.join(ids)}")
    for skipped in stats.skipped:
        print(f"  not indexed: {skipped.path}: {skipped.reason}")
    if stats.rebuilt:
        print(f"  rebuilt from scratch: {stats.rebuilt}")
    if stats.embedded_chunks:
        print(
            f"  embedded: {stats.embedded_chunks} chunks and {stats.embedded_sentences} sentences"
        )
    if not stats.changed:
        print("  nothing changed")
    for doc in get_pipeline(settings).library.documents():
        if doc.set_aside:
            print(
                f"  set aside: {doc.id} is never used in answers, as it gives the AI orders "
                f'("{doc.set_aside[:120]}")'
            )
    return 0


def cmd_ask(args: argparse.Namespace) -> int:
    from .pipeline import get_pipeline

    pipeline = get_pipeline(_settings(args))
    if args.json:
        print(json.dumps(pipeline.answer(args.question).to_dict(), ensure_ascii=False, indent=2))
        return 0
    # stdout gets the checked answer and its sources, nothing else: a script reads them
    # there. The model's draft, as it streams, goes to stderr with -v; otherwise a terminal
    # sees a one-line progress note there, erased before the answer.
    status = Status(enabled=sys.stderr.isatty() and not args.verbose)
    status.say("Searching the documents…")
    final: Answer | None = None
    words = 0
    for item in pipeline.answer_stream(args.question):
        if isinstance(item, Answer):
            final = item
        elif isinstance(item, str):
            words += len(item.split())
            status.say(f"Writing the answer… {words} words")
            if args.verbose:
                print(item, end="", file=sys.stderr, flush=True)
    status.say("")
    assert final is not None
    if args.verbose:
        print("\n", file=sys.stderr)
        if final.redrafted:
            print("(The first draft was in another language; asked again.)", file=sys.stderr)
    print(final.text)
    for note in (final.why_refused, final.why_quoted):
        if note:
            print(note)
    print_sources(final)
    t = final.timings
    if final.searched_as:
        print(f"(Searched as: {final.searched_as})", file=sys.stderr)
    setup = f"loading {t.setup_s:.1f} s, " if t.setup_s >= 0.05 else ""
    print(
        f"\n({t.total_s:.1f} s: {setup}retrieval {t.retrieval_s * 1000:.0f} ms, first token "
        f"{t.first_token_s:.1f} s, {t.tokens_per_s:.1f} tokens/s, "
        f"{t.prompt_tokens} prompt + {t.answer_tokens} answer tokens)",
        file=sys.stderr,
    )
    if t.budget_tokens:
        print(
            f"(Context: {t.context_tokens} tokens of passages; {t.budget_tokens} affordable at "
            f"{t.prompt_tps:.0f} prompt tokens/s)",
            file=sys.stderr,
        )
    return 0


class Status:
    """One line of progress on stderr, rewritten in place; nothing when not ``enabled``."""

    def __init__(self, *, enabled: bool) -> None:
        self.enabled, self._width = enabled, 0

    def say(self, text: str) -> None:
        if self.enabled:
            print("\r" + text.ljust(self._width), end="" if text else "\r", file=sys.stderr)
            sys.stderr.flush()
            self._width = len(text)


def print_sources(answer: Answer) -> None:
    """The unsupported sentences, then each citation with its quoted passage."""
    if answer.refused:
        return
    for s in answer.unsupported:
        missing = f" (not found in its sources: {', '.join(s.missing)})" if s.missing else ""
        print(f"\n! Unsupported: {s.text}{missing}")
    if answer.citations:
        print("\nSources:")
    for c in answer.citations:
        print(f"[{c.n}] {', '.join(filter(None, (c.title, c.location)))}\n    {c.source}")
        print(textwrap.indent(textwrap.fill(f"« {c.text} »", 96), "    "))


def cmd_eval(args: argparse.Namespace) -> int:
    from . import evaluation
    from .pipeline import get_pipeline

    if args.injection:
        return _eval_injection(args)
    questions = evaluation.load_questions(args.questions)
    if args.ids:
        wanted = set(args.ids.split(","))
        questions = [q for q in questions if q.id in wanted]
    questions = [
        q
        for q in questions
        if (not args.language or q.language == args.language)
        and (not args.kind or q.kind == args.kind)
    ]
    if args.subset:
        questions = questions[: args.subset]
    if not questions:
        raise RagError("No question matches those filters")
    # The questions are about the built-in articles: no remembered folder here.
    corpus = Path(args.corpus).expanduser().resolve() if args.corpus else None
    base = Settings.from_env(corpus=corpus, retrieval=args.mode, top_k=args.k)
    runs, details = {}, {}
    for label, settings in configurations(args.compare, base):

        def progress(done: int, total: int, result: object, label: str = label) -> None:
            ok = getattr(result, "ok", None)
            mark = "" if args.retrieval_only else (" ok" if ok else " MISS")
            print(
                f"\r[{label}] {done}/{total}{mark}   ",
                end="" if done < total else "\n",
                file=sys.stderr,
                flush=True,
            )

        results = evaluation.run(
            get_pipeline(settings),
            questions,
            k=args.k or 5,
            answers=not args.retrieval_only,
            on_progress=progress,
        )
        runs[label] = evaluation.breakdown(results, k=args.k or 5, answers=not args.retrieval_only)
        details[label] = results
    md, js = evaluation.write_report(runs, details, args.out)
    for label, groups in runs.items():
        print(
            f"{label}: "
            + ", ".join(
                f"{m}={v}"
                for m, v in groups["all"].items()
                if v is not None and not m.endswith("_p95")
            )
        )
    print(f"Report: {md} and {js}")
    return 0


def configurations(compare: str | None, base: Settings) -> list[tuple[str, Settings]]:
    """The configurations ``rag eval --compare`` runs side by side, each with its label.

    Configurations are separated by commas. Each is ``default``, a retrieval mode, or
    settings written ``name=value`` and joined by ``+`` (a mode may join them too), applied
    over ``base``:

    >>> for label, s in configurations("default, dense, keyword+chunk_size=400", Settings()):
    ...     print(label, s.retrieval, s.chunk_size)
    default hybrid 600
    dense dense 600
    keyword+chunk_size=400 keyword 400
    """
    if not compare:
        return [(base.retrieval, base)]
    chosen: list[tuple[str, Settings]] = []
    for entry in (e.strip() for e in compare.split(",")):
        parts = [p.strip() for p in entry.split("+")]
        modes = [p for p in parts if p in MODES]
        named = "+".join(p for p in parts if p not in MODES and p != "default")
        if not entry or len(modes) > 1 or ("default" in parts and len(parts) > 1):
            raise RagError(
                f"--compare: {entry!r} is not a configuration; write default, a retrieval mode "
                f"({', '.join(MODES)}) or name=value settings joined by +, e.g. "
                "dense,chunk_size=400+chunk_overlap=80"
            )
        changes = {"retrieval": modes[0]} if modes else {}
        settings = base.replace(**changes, **parse_changes(named))
        if entry in (label for label, _ in chosen):
            raise RagError(f"--compare: {entry!r} is given twice")
        chosen.append((entry, settings))
    return chosen


def _eval_injection(args: argparse.Namespace) -> int:
    from . import injection

    ignored = [
        flag
        for flag, value in (
            ("--questions", args.questions),
            ("--language", args.language),
            ("--kind", args.kind),
            ("--subset", args.subset),
            ("--compare", args.compare),
            ("--retrieval-only", args.retrieval_only),
        )
        if value
    ]
    if ignored:
        raise RagError(
            f"{', '.join(ignored)} select from the question set, not the injection set: "
            "with --injection use --ids, --corpus, -k, --mode or --out"
        )
    attacks = injection.load_attacks()
    if args.ids:
        wanted = set(args.ids.split(","))
        attacks = [a for a in attacks if a.id in wanted]
    if not attacks:
        raise RagError("No attack matches those ids")
    corpus = Path(args.corpus).expanduser().resolve() if args.corpus else None
    settings = Settings.from_env(corpus=corpus, retrieval=args.mode, top_k=args.k)

    def progress(done: int, total: int) -> None:
        end = "" if done < total else "\n"
        print(f"\r[injection] {done}/{total}   ", end=end, file=sys.stderr, flush=True)

    outcomes = injection.run(settings, attacks, on_progress=progress)
    md, js = injection.write_report(outcomes, args.out)
    for name, group in injection.groups(outcomes).items():
        if group:
            counts = injection.summary(group)
            print(f"{name}: " + ", ".join(f"{k}={v}" for k, v in counts.items()))
    print(f"Report: {md} and {js}")
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    from .doctor import checks
    from .pipeline import BUILTIN_CORPUS

    settings = _settings(args)
    problems = 0
    for check in checks(settings, Path(settings.corpus or BUILTIN_CORPUS), again=args.again):
        lines = [*check.lines, *(f"! {p}" for p in check.problems)] or ["-"]
        for i, line in enumerate(lines):
            start = f"{check.name:<15}" if i == 0 else " " * 15
            print(textwrap.fill(line, 100, initial_indent=start, subsequent_indent=" " * 17))
        problems += len(check.problems)
    print(f"\n{problems} problem(s) found" if problems else "\nNo problem found")
    return 1 if problems else 0


def cmd_chat(args: argparse.Namespace) -> int:
    app_file = Path(__file__).resolve().parent.parent / "app.py"
    if not app_file.is_file():
        raise RagError(
            "The chat app (app.py) is not part of this installation: run it from a checkout"
        )
    import runpy

    sys.argv = [str(app_file), "--host", args.host, "--port", str(args.port)]
    if args.corpus:
        sys.argv += ["--corpus", str(Path(args.corpus).expanduser().resolve())]
    runpy.run_path(str(app_file), run_name="__main__")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rag", description=__doc__.split("\n")[0])
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="on stderr: the model's draft as it writes it, and progress messages",
    )
    sub = parser.add_subparsers(dest="command", required=True, help="what to do")

    p = sub.add_parser(
        "index", help="index a folder of documents (PDF, Word, web pages, e-books, text)"
    )
    p.add_argument("path", nargs="?", help="folder to index (default: the built-in articles)")
    p.set_defaults(func=cmd_index)

    p = sub.add_parser("ask", help="answer a question with cited sources")
    p.add_argument("question", help='the question, in quotes: "Qui dirige Alibaba ?"')
    p.add_argument("--corpus", type=Path, help="folder of documents (default: last indexed)")
    p.add_argument(
        "-k", type=int, help="passages retrieved, which the model's sentences are chosen from (8)"
    )
    p.add_argument(
        "--mode",
        choices=MODES,
        help="how passages are found: hybrid (meaning and words, the default), dense "
        "(meaning), keyword (words)",
    )
    p.add_argument(
        "--generator",
        help="'llama-cpp', 'llama-cpp:<file.gguf>', 'transformers:<path>', or 'openai:<model>' "
        "for the server at $RAG_GENERATOR_URL",
    )
    p.add_argument("--model", help="packaged model for llama-cpp (qwen2.5-coder-1.5b or -0.5b)")
    p.add_argument("--json", action="store_true", help="print the whole Answer as JSON")
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("eval", help="run the evaluation set and write a report")
    p.add_argument("--questions", type=Path, help="question file (default: eval/questions.jsonl)")
    p.add_argument("--corpus", type=Path, help="folder of documents (default: built-in articles)")
    p.add_argument("--ids", help="comma-separated question ids to run")
    p.add_argument("--language", choices=["fr", "en"], help="only questions in this language")
    p.add_argument("--kind", help="only questions of this kind")
    p.add_argument("--subset", type=int, help="only the first N questions (after filters)")
    p.add_argument("-k", type=int, help="passages retrieved (and the k of hit@k, recall@k)")
    p.add_argument("--mode", choices=MODES, help="retrieval mode")
    p.add_argument(
        "--compare",
        help="configurations to run side by side, separated by commas: default, a retrieval "
        "mode, or settings name=value joined by + (e.g. 'default,dense,chunk_size=400+"
        "chunk_overlap=80,top_k=5')",
    )
    p.add_argument("--retrieval-only", action="store_true", help="score retrieval, no answers")
    p.add_argument(
        "--injection",
        action="store_true",
        help="run the prompt-injection set (eval/injection/) instead: each question over the "
        "articles alone, then with hostile documents added",
    )
    p.add_argument("--out", type=Path, default=Path("eval/report"), help="report folder")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser(
        "doctor",
        help="check the CPU, llama.cpp's build and configuration, the model file and the index, "
        "and measure the model's speed",
    )
    p.add_argument("--corpus", type=Path, help="folder of documents (default: last indexed)")
    p.add_argument(
        "--again",
        action="store_true",
        help="try llama.cpp's configurations again (about 15 s) instead of the saved choice",
    )
    p.set_defaults(func=cmd_doctor)

    p = sub.add_parser("chat", help="start the web chat")
    p.add_argument("--corpus", type=Path, help="folder of documents (default: last indexed)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on")
    p.add_argument("--port", type=int, default=7860, help="port to listen on")
    p.set_defaults(func=cmd_chat)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="rag: %(message)s"
    )
    try:
        return int(args.func(args))
    except RagError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
