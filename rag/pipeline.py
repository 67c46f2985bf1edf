"""The orchestrator: question -> retrieved passages -> generated, checked Answer.

Stages are built lazily and kept for the life of the Pipeline, so the first
question pays for loading the models and later ones do not. Every backend
can be injected (tests pass fakes).

>>> p = Pipeline(Settings(), embedder=fake_embedder, generator=fake)   # doctest: +SKIP
>>> p.answer("Qui dirige SenseTime ?").citations[0].title          # doctest: +SKIP
'Intelligence artificielle : Le succès en Bourse du leader chinois SenseTime ne se dément pas'
"""

from __future__ import annotations

import collections.abc
import functools
import hashlib
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from .budget import DEFAULT_CHARS_PER_TOKEN, Budget
from .collection import add_file, remove_file
from .conflicts import notice
from .context import SentenceVectors, defuse, focus, left_out
from .documents import read_folder
from .draft import Draft, asked_again, kept, streamed, wants_again
from .embeddings import Embedder, embedder_from_spec
from .endpoints import Endpoint
from .errors import CorpusError
from .final import checked_answer, final_answer
from .generation import Gate, Generator, generator_from_spec
from .index import Index, IndexStats, update_index
from .library import Library
from .prompts import load_examples, load_prompt
from .question import Question, clean_question, understand
from .refusals import REFUSAL_MARKER, REFUSALS
from .retrieval import Retriever
from .settings import Settings
from .sources import located, renumbered
from .text import detect_language
from .translation import across_languages, search_text
from .types import (
    Answer,
    Passage,
    RefusedBy,
    Retrieval,
    Skipped,
    Sources,
    Timings,
)
from .verification import Verification, verify

log = logging.getLogger("rag")

# What answer_stream returns: close it if you stop reading early, to free the model.
AnswerStream = collections.abc.Generator[str | Sources | Answer, None, None]

BUILTIN_CORPUS = Path(__file__).resolve().parent / "corpus"
LANGUAGE_NAMES = {"fr": "French", "en": "English"}


def format_passages(passages: list[Passage]) -> str:
    """Number the passages for the prompt: ``[1] text``, blank lines between.

    No titles: the headlines were a fifth of the prompt's new tokens (88 of ~500). Without
    them, on eval/, answer accuracy went 0.51 -> 0.50 and refusal accuracy 0.72 -> 0.83, and the
    first token came 1.7 s sooner (docs/evaluation.md, "Speed levers").
    """
    return "\n\n".join(f"[{i}] {defuse(p.chunk.text)}" for i, p in enumerate(passages, start=1))


class Pipeline:
    """Holds the loaded stages for one Settings; answers questions."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        embedder: Embedder | None = None,
        generator: Generator | None = None,
    ) -> None:
        self.settings = settings or Settings()
        self._embedder = embedder
        self._generator = generator
        self._retriever: Retriever | None = None
        self._sentences: SentenceVectors | None = None
        # The model's prompt speed, the documents' characters per token, and where the speed
        # comes from: measured once, for the context's budget.
        self._reading: tuple[float, float, str] | None = None
        # The indexed documents, for the chat and `rag index` (and set_aside, for answers).
        self.library = Library(lambda: self.retriever.store, self.texts_dir)
        # The files of the folder the last indexing skipped, with their reasons.
        self.skipped: list[Skipped] = []
        self._lock = threading.Lock()
        # Fail on a bad prompt file now, not after the models have loaded.
        self._user = load_prompt("answer_user")
        self._again = {
            lang: load_prompt(f"answer_again_{lang}").render().strip() for lang in REFUSALS
        }
        self._preamble = self._few_shot(load_prompt("answer_system").render(refusal=REFUSAL_MARKER))

    def _few_shot(self, system: str) -> list[dict[str, str]]:
        """System prompt, then worked examples as past turns. The same for every question,
        so llama.cpp keeps this prefix in its cache and reads it once."""
        messages = [{"role": "system", "content": system}]
        for e in load_examples():
            messages.append(
                {"role": "user", "content": self._render(e.passages, e.question, e.language)}
            )
            messages.append({"role": "assistant", "content": e.answer or REFUSAL_MARKER})
        return messages

    def _render(self, passages: str, question: str, language: str) -> str:
        return self._user.render(
            passages=passages,
            question=question,
            language=LANGUAGE_NAMES[language],
            refusal=REFUSAL_MARKER,
        )

    # -- stages, built on first use ------------------------------------------------
    @property
    def corpus(self) -> Path:
        return Path(self.settings.corpus or BUILTIN_CORPUS).expanduser().resolve()

    @property
    def index_dir(self) -> Path:
        """One index folder per corpus folder, embedder and way of cutting the documents
        (chunk size and overlap, sentence vectors), so that trying another chunk size, or
        ``rag eval --compare`` comparing several, does not rebuild the usual index back and
        forth. The default cutting keeps the key indexes have always had."""
        s = self.settings
        key = f"{self.corpus}|{s.embedder}"
        cutting = (s.chunk_size, s.chunk_overlap, s.index_sentences)
        if cutting != _DEFAULT_CUTTING:
            key += "|{}/{}/{}".format(*cutting)
        digest = hashlib.sha256(key.encode()).hexdigest()[:12]
        return s.home_dir / "indexes" / f"{self.corpus.name}-{digest}"

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            s = self.settings
            self._embedder = embedder_from_spec(
                s.embedder,
                threads=s.threads or None,
                endpoint=self._endpoint(s.embedder_url),
                query_prefix=s.query_prefix,
                passage_prefix=s.passage_prefix,
                cache_dir=s.home_dir / "models",
            )
        return self._embedder

    @property
    def generator(self) -> Generator:
        if self._generator is None:
            # Under the index's lock: the first start on a machine times llama.cpp's
            # configurations (rag.runtime), which an indexing beside it would slow unevenly.
            with self._lock:
                if self._generator is None:
                    s = self.settings
                    self._generator = generator_from_spec(
                        s.generator,
                        model=s.model,
                        cache_dir=s.home_dir,
                        context_tokens=s.context_tokens,
                        threads=s.threads,
                        repack=s.repack,
                        endpoint=self._endpoint(s.generator_url),
                    )
        return self._generator

    def _endpoint(self, url: str) -> Endpoint | None:
        s = self.settings
        if not url:
            return None
        return Endpoint(
            url, api_key=s.api_key, timeout=s.request_timeout, retries=s.request_retries
        )

    @property
    def retriever(self) -> Retriever:
        with self._lock:
            if self._retriever is None:
                # Re-scan the folder once per Pipeline: files may have changed since
                # the last run, and only changed ones are embedded again.
                store, _ = self._update()
                self._retriever = Retriever(store, self.embedder)
            return self._retriever

    def reading_speed(self) -> tuple[float, str]:
        """How fast the model reads what follows the prompt's fixed part (system prompt and
        worked examples, kept read between questions): what a question's passages cost.
        Measured once (:meth:`rag.generation.Generator.prompt_speed`), as the model's one
        user at the time, as answers are."""
        generator = self.generator
        with generator.lock:
            return generator.prompt_speed(after=self._preamble)

    def budget(self, question: str, language: str, candidates: Sequence[Passage]) -> Budget:
        """How much text the model reads for ``question``, in ``language``, over
        ``candidates`` on this machine (rag.budget): ``first_token_budget_s``, or its
        cross-lingual value when the passages are in another language, at the model's prompt
        speed and the documents' characters per token, both measured once."""
        s = self.settings
        if s.first_token_budget_s <= 0 and s.first_token_budget_s_crosslingual <= 0:
            return Budget(0.0)  # the default: nothing to work out on each question
        across = across_languages(candidates, language)
        seconds = s.first_token_budget_s_crosslingual if across else s.first_token_budget_s
        if seconds <= 0:
            return Budget(0.0)
        if self._reading is None:
            speed, source = self.reading_speed()
            count = getattr(self.generator, "count_tokens", None)
            sample = " ".join(c.text for c in self.retriever.store.sample(20))
            ratio = len(sample) / max(1, count(sample)) if count and sample else None
            self._reading = speed, ratio or DEFAULT_CHARS_PER_TOKEN, source
            log.info("prompt speed %.0f tokens/s (%s)", speed, source)
        speed, ratio, source = self._reading
        fixed = len(self._render("", question, language))
        return Budget(seconds, speed, ratio, source, fixed)

    def warm(self) -> None:
        """Load the models and the index now rather than on the first question. The local
        model loads in its own process, so it comes first: it loads while the index does."""
        _ = self.generator, self.retriever

    def index(self, on_progress: Callable[[int, int], None] | None = None) -> IndexStats:
        """Bring the index in line with the corpus folder; returns what changed."""
        with self._lock:
            store, stats = self._update(on_progress)
            self._retriever = Retriever(store, self.embedder)
        return stats

    @property
    def texts_dir(self) -> Path:
        """Where the text the PDF, Word, web page and e-book readers extract is kept, by file
        hash and reader version: shared by every index, so a file is read (or OCR'd) once."""
        return self.settings.home_dir / "texts"

    def _update(
        self, on_progress: Callable[[int, int], None] | None = None
    ) -> tuple[Index, IndexStats]:
        found = read_folder(self.corpus, cache=self.texts_dir)
        if not found.documents:
            raise CorpusError(
                f"{self.corpus} holds no readable document (.txt, .md, .pdf, .docx, .html, "
                ".epub)" + "".join(f"\n- {s.path}: {s.reason}" for s in found.skipped[:10])
            )
        s = self.settings
        update: Callable[..., tuple[Index, IndexStats]]
        if s.index_url:
            from .postgres import update_collection  # psycopg only for those who use it

            update = functools.partial(update_collection, s.index_url, folder=self.corpus)
        else:
            update = functools.partial(update_index, self.index_dir)
        store, stats = update(
            found.documents,
            self.embedder,
            chunk_size=s.chunk_size,
            chunk_overlap=s.chunk_overlap,
            on_progress=on_progress,
            approximate_above=s.approximate_above,
            sentences=s.index_sentences,
        )
        if not len(store):
            raise CorpusError(f"No text to index in {self.corpus}: add documents with text")
        stats.skipped = found.skipped
        self.skipped = found.skipped
        return store, stats

    # -- the collection ------------------------------------------------------------------
    def add_document(
        self,
        name: str,
        data: bytes,
        on_progress: Callable[[int, int], None] | None = None,
    ) -> str:
        """Add a file to the corpus folder under a safe new name (see :func:`rag.collection.
        add_file`) and index it; returns its document id. CorpusError, with nothing added,
        for a file of the wrong type, too big, that cannot be read, or that is the same text as
        a document already there."""
        path = add_file(self.corpus, name, data, cache=self.texts_dir)
        doc_id = path.relative_to(self.corpus).as_posix()
        try:
            self.index(on_progress)
        except Exception:
            path.unlink(missing_ok=True)  # a file the index could not take does not stay
            raise
        if reason := next((s.reason for s in self.skipped if s.path == doc_id), ""):
            path.unlink(missing_ok=True)  # e.g. a copy of a document already there
            self.index()
            raise CorpusError(f"{name} {reason}")
        return doc_id

    def remove_document(self, doc_id: str) -> IndexStats:
        """Take a document out of the corpus and the index. The file is moved into the
        folder's hidden ``.removed/``, never deleted (see :func:`rag.collection.remove_file`)."""
        remove_file(self.corpus, doc_id)
        return self.index()

    # -- answering ---------------------------------------------------------------------
    def retrieve(
        self, question: str, *, k: int | None = None, mode: str | None = None
    ) -> list[Passage]:
        """The chunks retrieved for ``question``, best first."""
        s = self.settings
        question = clean_question(question, max_chars=s.max_question_chars)
        return self.retriever.search(
            question, k=k or s.top_k, mode=mode or s.retrieval, candidates=s.candidates
        )

    def candidates(self, question: str) -> list[Passage]:
        """The top_k retrieved passages the context is chosen from, without the chunks that
        give the model orders nor the other chunks of their documents
        (:func:`rag.context.left_out`), which are taken out before the rankings are fused."""
        s, retriever, aside = self.settings, self.retriever, self.library.set_aside
        return retriever.search(
            clean_question(question, max_chars=s.max_question_chars),
            k=s.top_k,
            mode=s.retrieval,
            candidates=s.candidates,
            skip=lambda chunk: left_out(
                chunk, lambda doc: bool(aside(doc)), orders=retriever.store.order_in
            ),
        )

    def search(self, question: str, language: str, timings: Timings | None = None) -> Retrieval:
        """2. The candidates retrieved for ``question``, searched as asked, or followed by its
        translation when the passages first retrieved are in another language
        (:func:`rag.translation.search_text`; ``Settings.translate_questions``). The time
        the model took to translate goes to ``timings.translation_s``."""
        found = self.candidates(question)
        if not self.settings.translate_questions:
            return Retrieval(question, question, found)
        started = time.perf_counter()
        searched = search_text(question, language, found, self.generator)
        if searched == question:
            return Retrieval(question, question, found)
        if timings is not None:
            timings.translation_s = time.perf_counter() - started
        return Retrieval(question, searched, self.candidates(searched))

    def context(self, question: str) -> list[Passage]:
        """The passages the model is given for ``question``: the retrieved chunks'
        sentences closest to it (see :func:`rag.context.focus`), numbered from 1."""
        return self.choose(question, self.candidates(question))

    def choose(
        self,
        question: str,
        candidates: list[Passage],
        *,
        cache: SentenceVectors | None = None,
        stored: bool = True,
        budget: Budget | None = None,
        language: str | None = None,
    ) -> list[Passage]:
        """The sentences of ``candidates`` handed to the model, chosen with the Settings:
        ``context_sentences`` per part of the question (``context_sentences_crosslingual``
        when the candidates are in another language than ``language``, the question's own by
        default), then more while ``budget`` allows (:meth:`budget` by default).
        ``cache`` keeps sentence vectors between questions (the pipeline's own by default);
        ``stored=False`` ignores the vectors the index keeps, as an index built without
        them would (bench/run.py compares the two)."""
        if cache is None:
            if self._sentences is None:
                self._sentences = SentenceVectors(self.embedder)
            cache = self._sentences
        s = self.settings
        language = language or detect_language(question)
        budget = budget or self.budget(question, language, candidates)
        across = across_languages(candidates, language)
        sentences = s.context_sentences_crosslingual if across else s.context_sentences
        return focus(
            question,
            candidates,
            self.embedder,
            max_sentences=sentences,
            max_chars=budget.chars if sentences else 0,
            lexical_weight=s.context_lexical_weight,
            # BM25's index is built on first use: not for nothing in dense mode at weight 0.
            idf=self.retriever.store.idf if s.context_lexical_weight else None,
            cache=cache,
            stored=self.retriever.store.sentence_vectors if stored else None,
        )

    def messages(
        self, question: str, passages: list[Passage], language: str | None = None
    ) -> list[dict[str, str]]:
        """The chat the model is given: the fixed preamble (system prompt and worked
        examples, the same for every question, so its cache is reused), then the numbered
        passages and the question. ``language`` defaults to the question's own.

        Example: ``p.messages(q, p.context(q))[-1]["content"]`` starts with ``[1] ``.
        """
        language = language or detect_language(question)
        user = self._render(format_passages(passages), defuse(question), language)
        return [*self._preamble, {"role": "user", "content": user}]

    def answer(self, question: str, *, history: Sequence[str] = ()) -> Answer:
        """Answer ``question`` from the corpus; see :class:`rag.types.Answer`. ``history``
        holds the conversation's earlier questions, oldest first, for follow-ups."""
        result: Answer | None = None
        for item in self.answer_stream(question, history=history):
            if isinstance(item, Answer):
                result = item
        assert result is not None
        return result

    def answer_stream(
        self, question: str, *, history: Sequence[str] = (), with_sources: bool = False
    ) -> AnswerStream:
        """Yield the answer's text pieces as the model writes them, then the
        final, checked :class:`Answer` as the last item.

        ``history`` holds the conversation's earlier questions, oldest first: a follow-up
        ("Et Alibaba ?", "what about its revenue?") is made to stand alone from them (see
        :mod:`rag.question`) before retrieval. ``with_sources=True`` yields a
        :class:`Sources` first, as soon as retrieval is done.
        """
        q = understand(question, history, max_chars=self.settings.max_question_chars)  # 1.
        setup_started = time.perf_counter()
        self.warm()
        started = time.perf_counter()
        timings = Timings(setup_s=started - setup_started)
        found = self.search(q.text, q.language, timings)  # 2. retrieval
        budget = self.budget(found.searched, q.language, found.candidates)  # 3. context,
        passages = self.choose(  # its budget
            found.searched, found.candidates, budget=budget, language=q.language
        )
        _account(passages, budget, timings)
        timings.retrieval_s = time.perf_counter() - started
        if with_sources:
            yield Sources(q.text, passages)
        if not passages:
            answer = self._refusal(q, timings, "no passages")
            yield answer.text
        else:
            draft = yield from self.draft(q, passages, timings, started)  # 4.
            draft, verified = self.verify(q, passages, draft, timings)  # 5.
            timings.generation_s = time.perf_counter() - started - timings.retrieval_s
            answer = yield from self.final(q, passages, draft, verified, timings)  # 6.
        answer.searched_as = found.searched_as
        timings.total_s = time.perf_counter() - started + timings.setup_s
        yield answer

    def gate(self, language: str, passages: Sequence[Passage]) -> Gate:
        """The refusal gate for a question in ``language`` over ``passages``: the
        cross-lingual threshold when the passages are in another language (see Settings).

        >>> Pipeline().gate("en", []).threshold                # doctest: +SKIP
        0.05
        """
        s = self.settings
        across = across_languages(passages, language)
        return Gate(
            REFUSAL_MARKER, s.refusal_threshold_crosslingual if across else s.refusal_threshold
        )

    def draft(
        self, q: Question, passages: list[Passage], timings: Timings, started: float
    ) -> collections.abc.Generator[str, None, Draft]:
        """4. The model's reply to the passages and the question, streamed as it may be
        shown (:func:`rag.draft.streamed`); returns the whole draft."""
        messages = self.messages(q.text, passages, q.language)
        gate = self.gate(q.language, passages)

        def first_token() -> None:
            if not timings.first_token_s:
                timings.first_token_s = time.perf_counter() - started

        generator = self.generator
        with generator.lock:
            pieces = self._generate(messages, gate)
            text, shown = yield from streamed(pieces, len(passages), first_token)
            usage = generator.usage
        timings.prompt_tokens, timings.answer_tokens = usage.prompt_tokens, usage.completion_tokens
        return Draft(
            text,
            messages,
            gate,
            shown,
            usage.prompt_tokens,
            usage.completion_tokens,
            usage.marker_probability,
        )

    def verify(
        self, q: Question, passages: list[Passage], draft: Draft, timings: Timings
    ) -> tuple[Draft, Verification]:
        """5. What the checks find in the draft (:func:`rag.verification.verify`). A draft in
        the other language is asked for again in the question's (:func:`rag.draft.wants_again`),
        and replaces the first when it answers in it; returns the draft kept and its checks."""
        verified = verify(draft.text, passages, q.text)
        if not wants_again(draft, verified, q.language):
            return draft, verified
        again = asked_again(draft.messages, self._again[q.language])
        generator = self.generator
        with generator.lock:
            text = "".join(self._generate(again, draft.gate))
            usage = generator.usage
        timings.answer_tokens += usage.completion_tokens
        second = Draft(
            text,
            again,
            draft.gate,
            draft.shown,  # the reader saw the first draft stream, not this one
            usage.prompt_tokens,
            usage.completion_tokens,
            # The gate decided on the first draft's: a replay of the gate on a gate-off run
            # (bench/gate.py) needs that one, not the second's (PIAF d233: 0.056 against 0.003).
            draft.refusal_probability,
            redrafted=True,
        )
        checked = verify(text, passages, q.text)
        return (second, checked) if kept(checked, q.language) else (draft, verified)

    def final(
        self,
        q: Question,
        passages: list[Passage],
        draft: Draft,
        verified: Verification,
        timings: Timings,
    ) -> collections.abc.Generator[str, None, Answer]:
        """6. The final answer (:func:`rag.final.final_answer`): the passages' own sentences
        for a draft they do not back, other documents' figures quoted, sources numbered from
        1 as cited and placed in their documents. Streams what the reader has not seen yet."""
        answer = checked_answer(q.asked, q.language, passages, verified)
        answer.timings, answer.understood_as = timings, q.understood_as
        answer.refusal_probability = draft.refusal_probability
        answer.redrafted = draft.redrafted
        answer = final_answer(answer, draft.text, q.text, quote_excerpts=self.settings.excerpts)
        if draft.shown and answer.other_figures:  # the quotes follow what the reader saw
            yield " " + notice(answer.other_figures, q.language)  # streamed, numbered as it was
        # The final answer numbers its sources from 1 as it cites them (rag.sources).
        answer = located(renumbered(answer), self.library.document)
        if not draft.shown:
            yield answer.text
        return answer

    def _refusal(self, q: Question, timings: Timings, why: RefusedBy) -> Answer:
        return Answer(
            q.asked,
            REFUSALS[q.language],
            refused=True,
            language=q.language,
            timings=timings,
            understood_as=q.understood_as,
            refused_by=why,
        )

    def _generate(self, messages: list[dict[str, str]], gate: Gate) -> Iterator[str]:
        """The model's reply to ``messages``, piece by piece, with the Settings' sampling."""
        s = self.settings
        return self.generator.stream(
            messages,
            max_tokens=s.max_new_tokens,
            temperature=s.temperature,
            seed=s.seed,
            gate=gate,
        )


def _account(passages: list[Passage], budget: Budget, timings: Timings) -> None:
    """The context's budget, and what was chosen under it, into ``timings``."""
    if budget.on:
        timings.budget_s, timings.prompt_tps = budget.seconds, budget.prompt_tps
        timings.budget_tokens = budget.tokens
        chars = sum(len(p.chunk.text) for p in passages)
        timings.context_tokens = round(chars / budget.chars_per_token)


_DEFAULT_CUTTING = (Settings.chunk_size, Settings.chunk_overlap, Settings.index_sentences)

_PIPELINES: dict[Settings, Pipeline] = {}
_PIPELINES_LOCK = threading.Lock()


def get_pipeline(settings: Settings | None = None) -> Pipeline:
    """The process-wide Pipeline for ``settings`` (models load once)."""
    settings = settings or Settings()
    with _PIPELINES_LOCK:
        if settings not in _PIPELINES:
            _PIPELINES[settings] = Pipeline(settings)
        return _PIPELINES[settings]


def answer(
    question: str, *, history: Sequence[str] = (), settings: Settings | None = None
) -> Answer:
    """Answer a question from the documents, with checked citations.

    >>> a = answer("Quelle était la capitalisation boursière de SenseTime ?")  # doctest: +SKIP
    >>> a.refused, a.citations[0].title[:25]                                  # doctest: +SKIP
    (False, 'Intelligence artificielle')
    """
    return get_pipeline(settings).answer(question, history=history)


def answer_stream(
    question: str,
    *,
    history: Sequence[str] = (),
    with_sources: bool = False,
    settings: Settings | None = None,
) -> AnswerStream:
    """Yield the answer text as it is generated, then the full :class:`Answer`.

    >>> for item in answer_stream("Who leads SenseTime?"):  # doctest: +SKIP
    ...     print(item if isinstance(item, str) else "", end="")            # doctest: +SKIP
    """
    return get_pipeline(settings).answer_stream(
        question, history=history, with_sources=with_sources
    )


def build_index(
    corpus: str | Path | None = None,
    *,
    settings: Settings | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> IndexStats:
    """Index (or update the index of) a folder of documents.

    >>> build_index("~/articles").added   # doctest: +SKIP
    ['a.txt', 'b.md']
    """
    settings = settings or Settings()
    if corpus is not None:
        settings = settings.replace(corpus=Path(corpus).expanduser())
    return get_pipeline(settings).index(on_progress)
