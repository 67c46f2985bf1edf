"""Typed records that flow between the stages.

Document -> Chunk -> Passage -> (generation) -> Answer with Citations.
Every Chunk keeps its document id, source path and character span, so any
citation can be traced back to the exact text it quotes:
``document.text[chunk.start:chunk.end] == chunk.text``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal


@dataclass(frozen=True)
class Section:
    """Where a stretch of a document's text came from: ``text[start:end]`` is page 4 of a PDF
    (``label="p. 4"``) or what follows a heading of a web page, Word file or e-book chapter
    (``label`` is the heading)."""

    start: int
    end: int
    label: str


@dataclass(frozen=True)
class Document:
    """One loaded file.

    ``text`` is the file's decoded text, unchanged (so offsets match the file
    as a reader opens it); ``spans`` are the ``(start, end)`` ranges of it that
    are article content, i.e. everything but web boilerplate (newsletter and
    comment prompts, hashtag lists, photo credits, "read also"). Only spans are
    chunked, so boilerplate never becomes a cited passage.
    ``id`` is stable: the path relative to the corpus folder.
    ``sha256`` hashes the file's bytes, to detect changed files.

    For a PDF, Word file, web page or e-book, ``text`` is what its reader (rag.readers)
    extracted, ``sections`` say which page or heading each part comes from, and ``reader``
    names the reader and its version, so that a new reader re-reads only its own files.
    """

    id: str
    source: str
    title: str
    text: str
    sha256: str
    spans: tuple[tuple[int, int], ...] = ()
    format: str = "text"  # "text", "pdf", "docx", "html" or "epub"
    sections: tuple[Section, ...] = ()
    pages: int = 0  # a PDF's pages; 0 for other formats
    reader: str = ""
    # What the reader could not read and left out ("pages 3-4: scanned, no OCR installed").
    notes: tuple[str, ...] = ()
    date: str = ""
    author: str = ""


@dataclass(frozen=True)
class Chunk:
    """A span of a document: ``text == document.text[start:end]``."""

    id: str
    doc_id: str
    source: str
    title: str
    text: str
    start: int
    end: int


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk with its score (higher is better) and rank (0 = best)."""

    chunk: Chunk
    score: float
    rank: int


@dataclass(frozen=True)
class Citation:
    """A ``[n]`` marker in the answer resolved to the passage it points to; ``location`` says
    where that passage is in its document, in words ("paragraph 4 of 17"; see rag.sources)."""

    n: int
    doc_id: str
    source: str
    title: str
    text: str
    start: int
    end: int
    location: str = ""


@dataclass(frozen=True)
class Excerpt:
    """A sentence of passage ``n``, quoted word for word as the answer in place of a draft
    the checks could not back (see rag.excerpts)."""

    n: int
    sentence: str


@dataclass(frozen=True)
class OtherFigure:
    """Another document's sentence, passage ``n``, giving ``value`` ("30.6e9 dollar",
    "75%") for what the answer states: quoted after the answer (see rag.conflicts)."""

    n: int
    sentence: str
    value: str


@dataclass(frozen=True)
class SentenceCheck:
    """The citation check for one sentence of the answer.

    ``missing`` lists the numbers and names the sentence states that none of
    its cited passages contain, and the figures it says of what the question names that
    only a passage about something else holds ("30.6e9 (of minimax)"); a sentence with no
    citation is unsupported.
    """

    text: str
    citations: tuple[int, ...]
    supported: bool
    missing: tuple[str, ...] = ()


@dataclass
class Timings:
    """Seconds per stage, and token counts of the prompt and the answer.

    ``setup_s`` is the one-off cost of the first question (loading the models, indexing);
    ``first_token_s`` counts from the question, setup excluded.
    """

    setup_s: float = 0.0
    retrieval_s: float = 0.0
    generation_s: float = 0.0
    first_token_s: float = 0.0
    total_s: float = 0.0
    # Translating the question into the documents' language for search (rag.translation),
    # counted in ``retrieval_s`` too; 0 when it was asked in theirs.
    translation_s: float = 0.0
    prompt_tokens: int = 0
    answer_tokens: int = 0
    # The context's budget (rag.budget): its seconds (Settings.first_token_budget_s or its
    # cross-lingual value), the model's measured prompt speed, the tokens of passages and
    # question that reads in that time (0: no budget), and the tokens of the passages chosen
    # (counted as characters over the measured characters per token).
    budget_s: float = 0.0
    prompt_tps: float = 0.0
    budget_tokens: int = 0
    context_tokens: int = 0

    @property
    def tokens_per_s(self) -> float:
        """Writing speed: answer tokens over the time from the first token to the last."""
        writing = self.total_s - self.setup_s - self.first_token_s
        return self.answer_tokens / writing if writing > 0 and self.answer_tokens else 0.0


@dataclass(frozen=True)
class IndexedDocument:
    """A document as the index holds it: what a list of the collection shows."""

    id: str
    title: str
    source: str
    chunks: int
    # The sentence that has the document left out of every answer (it gives the model orders:
    # rag.context.left_out); "" for a document answers may use.
    set_aside: str = ""
    format: str = "text"
    pages: int = 0
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Skipped:
    """A file of the folder that was not indexed, and why, in words that say what to do."""

    path: str
    reason: str


@dataclass(frozen=True)
class Retrieval:
    """What retrieval found for a question: the candidates its context is chosen from, and
    the text searched for them (the question, or the question followed by its translation
    into the documents' language: rag.translation)."""

    question: str
    searched: str
    candidates: list[Passage]

    @property
    def searched_as(self) -> str | None:
        """The text searched, when it is not the question itself (Answer shows it)."""
        return self.searched if self.searched != self.question else None


@dataclass(frozen=True)
class Sources:
    """The passages the model is about to read, numbered from 1 as its ``[n]`` will cite them:
    what ``answer_stream(..., with_sources=True)`` yields as soon as retrieval is done."""

    question: str
    passages: list[Passage]


# Why a refusal is one; see Answer.refused_by.
RefusedBy = Literal["no passages", "model", "unsupported", "not an answer"]
_WHY_REFUSED: dict[str, str] = {
    "no passages": "Nothing in the documents matched the question.",
    "unsupported": "The model's draft was withdrawn: the passages it cited do not contain its "
    "figures or names.",
    "not an answer": "The model's draft was withdrawn: it did not give what was asked (a figure, "
    "a date, or anything the question did not already say).",
}

_WHY_QUOTED = (
    "The model's draft was withdrawn: its passages do not back all it said. These are the "
    "passages' own sentences holding what they do back."
)


@dataclass
class Answer:
    """The result of :func:`rag.answer`.

    >>> a = Answer(question="q", text="The documents do not say.", refused=True)
    >>> a.refused, a.citations
    (True, [])
    """

    question: str
    text: str
    refused: bool = False
    language: str = "fr"
    citations: list[Citation] = field(default_factory=list)
    passages: list[Passage] = field(default_factory=list)
    sentences: list[SentenceCheck] = field(default_factory=list)
    timings: Timings = field(default_factory=Timings)
    # The model's probability, at its first token, of refusing (None when it was not asked):
    # the first draft's, on which the refusal gate decided, when it was asked for again.
    refusal_probability: float | None = None
    # Why a refusal is one: "no passages" (nothing retrieved), "model" (the model refused),
    # "unsupported" (no sentence backed by its citations) or "not an answer" (no figure or
    # date where one was asked, or the question restated: rag.kinds). None when answered.
    refused_by: RefusedBy | None = None
    # A follow-up made to stand alone from the conversation ("Et Alibaba ?" after a question
    # about SenseTime's CEO: "Qui est le PDG d'Alibaba ?"); None when it was asked as it stands.
    understood_as: str | None = None
    # The question as searched when it was asked in another language than the documents':
    # followed by its translation ("Who traced the pomerium? Qui a tracé le pomerium ?");
    # None when searched as asked. Only search and the choice of sentences see it.
    searched_as: str | None = None
    # Other documents' figures for what the answer states, quoted at the end of ``text``.
    other_figures: list[OtherFigure] = field(default_factory=list)
    # The checks could not back the model's draft, so ``text`` quotes these sentences of its
    # passages instead: those holding what the draft stated that a passage backs.
    excerpts: list[Excerpt] = field(default_factory=list)
    # The model's first draft was in the other language (French and English); this is the
    # draft it wrote when asked again in the question's language. The first was streamed.
    redrafted: bool = False

    @property
    def why_refused(self) -> str:
        """A refusal's reason in words, for a reader who saw the model's draft streamed and
        then withdrawn; "" for an answer or a refusal by the model itself.

        >>> Answer("q", "…", refused=True, refused_by="unsupported").why_refused[:31]
        "The model's draft was withdrawn"
        """
        return _WHY_REFUSED.get(self.refused_by or "", "") if self.refused else ""

    @property
    def why_quoted(self) -> str:
        """Why an answer quotes its passages instead of the model's draft (see excerpts), for
        a reader who saw the draft streamed; "" otherwise.

        >>> Answer("q", "…", excerpts=[Excerpt(1, "Le siège est à Hangzhou.")]).why_quoted[:31]
        "The model's draft was withdrawn"
        """
        return _WHY_QUOTED if self.excerpts else ""

    @property
    def unsupported(self) -> list[SentenceCheck]:
        """Sentences whose citations do not back what they state."""
        return [s for s in self.sentences if not s.supported]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view (``rag ask --json``)."""
        data = asdict(self)
        data["unsupported"] = [s.text for s in self.unsupported]
        return data
