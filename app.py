"""The local web chat: a thin Gradio wrapper over ``rag``'s public API.

    python app.py [--corpus PATH] [--host 127.0.0.1] [--port 7860]      (or: rag chat)

Each question shows the passages found as soon as retrieval is done, then streams the answer,
then replaces the stream with the checked answer: each ``[n]`` opens its source (title, and
the quoted span highlighted in its passage), unsupported sentences are flagged, a refusal
looks different, and timings sit underneath. Follow-up questions ("Et Alibaba ?") are read
in the conversation's context by the library. A Documents panel adds ``.txt``/``.md`` files
(indexed incrementally, with progress) and removes them; a Settings panel changes the number
of passages, the retrieval mode and the model.

No retrieval or prompt logic lives here. Everything from documents or the model is escaped
before it reaches Markdown, so a document cannot inject HTML, images or links into the page.
The models load on the first question, not at start-up. On the built-in articles the chat
works on its own copy of them (under ``RAG_HOME``), so uploads never touch the package; on
a folder of yours, uploads are added to that folder and removed files are moved to its
hidden ``.removed/`` folder, never deleted.
"""

from __future__ import annotations

import argparse
import re
import string
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING, Any

import gradio as gr

import rag
from rag import (
    Answer,
    Citation,
    IndexedDocument,
    Passage,
    RagError,
    Settings,
    Skipped,
    Sources,
)
from rag.documents import SUFFIXES

if TYPE_CHECKING:
    from rag import Pipeline

History = list[dict[str, Any]]
MAX_UPLOAD = "100mb"  # the loader's own limit per file (rag.documents.MAX_PACKED_BYTES)
BUILTIN = Path(rag.__file__).resolve().parent / "corpus"
# The model choices of the Settings panel: label -> Settings changes.
MODELS = {
    "Qwen2.5-Coder-1.5B (default)": {"generator": "llama-cpp", "model": "qwen2.5-coder-1.5b"},
    "Qwen2.5-Coder-0.5B (faster, weaker)": {
        "generator": "llama-cpp",
        "model": "qwen2.5-coder-0.5b",
    },
}

# Every ASCII punctuation character becomes a numeric character reference, so Markdown and
# HTML see only letters, digits and spaces: no tags, no ![image](url), no [link](url), no
# `code`, no emphasis, no autolinked http:// or www. The browser shows the characters as-is.
# This covers html.escape's five characters (& < > " ') and Markdown's.
_ESCAPES = str.maketrans({c: f"&#{ord(c)};" for c in string.punctuation})
_MARKER = re.compile(r"&#91;(\d+)&#93;")  # an escaped [n]
# The refusal badge, the citation markers and the highlighted span (set at launch).
CSS = """
.refusal { background: #fde68a; color: #78350f; padding: 1px 8px; border-radius: 9px; }
.cite { color: #1d4ed8; cursor: pointer; }
details.source summary { cursor: pointer; }
details.source.shown { outline: 2px solid #facc15; border-radius: 4px; }
mark { background: #fef08a; }
"""
# A click on a [n] of an answer opens that answer's source n, scrolls to it and outlines it.
# One listener on the document: the chat re-renders its messages as they stream. The number
# travels in a class name (cite-2, source-2): the chat's HTML sanitizer removes data- attributes.
JS = r"""
() => {
  document.addEventListener("click", (event) => {
    const cite = event.target.closest(".cite");
    const n = cite && cite.className.match(/\bcite-(\d+)\b/);
    if (!n) return;
    const message = cite.closest('[data-testid="bot"]') || document;
    const source = message.querySelector(`details.source-${n[1]}`);
    if (!source) return;
    event.preventDefault();
    source.open = true;
    source.scrollIntoView({ block: "nearest" });
    source.classList.add("shown");
    setTimeout(() => source.classList.remove("shown"), 2000);
  });
}
"""
# The system's own fonts: the default theme's come from Google's servers, which an offline
# page cannot reach (and should not ask), and their fallback drew a heading's first letter in
# another face.
THEME = gr.themes.Default(
    font=["ui-sans-serif", "system-ui", "sans-serif"],
    font_mono=["ui-monospace", "monospace"],
)
# Questions the built-in articles are answered right (tests/test_chat_e2e.py asks them).
EXAMPLES = (
    "Qui est le PDG d'Alibaba ?",
    "De combien l'action de Zhipu AI a-t-elle bondi ?",
    "When was SenseTime founded?",
)
WAITING = "<em>Waiting for the model…</em>"
# Questions from the page and from the API wait in one queue for the one local model.
MODEL_QUEUE = "model"
PROGRESS = gr.Progress()  # Gradio fills in a per-event tracker for a parameter defaulting to one


def escape(text: str) -> str:
    """``text`` made inert for the chatbot's Markdown and HTML; leading spaces are dropped
    so that no line becomes an indented code block.

    >>> escape("<b>![x](http://e/x.png)</b>")
    '&#60;b&#62;&#33;&#91;x&#93;&#40;http&#58;&#47;&#47;e&#47;x&#46;png&#41;&#60;&#47;b&#62;'
    """
    return "\n".join(line.lstrip().translate(_ESCAPES) for line in text.splitlines())


def message_text(message: dict[str, Any]) -> str:
    """A chat message's text as the page hands it back: a list of parts in Gradio 6 (a string
    as this app gives it, or in Gradio 5).

    >>> message_text({"role": "user", "content": [{"type": "text", "text": "Bonjour"}]})
    'Bonjour'
    >>> message_text({"role": "user", "content": "Bonjour"})
    'Bonjour'
    """
    content = message.get("content")
    if isinstance(content, list):
        return "".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return str(content or "")


def without_placeholder(history: History) -> History:
    """``history`` without its last question and the placeholder shown under it while it
    waited its turn: the answer's stream shows the question again."""
    if len(history) >= 2 and message_text(history[-1]) == WAITING:
        return history[:-2]
    return history


def _cited(text: str, titles: dict[int, str] | None = None) -> str:
    """Escaped answer text whose ``[n]`` markers stand out, to match the numbered sources;
    with ``titles``, each opens its source when clicked and shows its title on hover.

    >>> _cited("Eddie Wu [2].")
    'Eddie Wu <strong class="cite">[2]</strong>&#46;'
    >>> _cited("Eddie Wu [1].", {1: "Alibaba"})
    'Eddie Wu <strong class="cite cite-1" title="Alibaba">[1]</strong>&#46;'
    """

    def marker(m: re.Match[str]) -> str:
        n = int(m.group(1))
        if titles is None or n not in titles:
            return f'<strong class="cite">[{n}]</strong>'
        return f'<strong class="cite cite-{n}" title="{escape(titles[n])}">[{n}]</strong>'

    return _MARKER.sub(marker, escape(text))


def format_timings(answer: Answer) -> str:
    """One line of small text: ``retrieval 12 ms · first token 0.8 s · 15.0 tokens/s``."""
    t = answer.timings
    parts = [f"retrieval {t.retrieval_s * 1000:.0f} ms"]
    if answer.searched_as:  # rag.translation: searched in the documents' language
        parts.append(
            f"searched as “{escape(answer.searched_as)}” (translated in {t.translation_s:.1f} s)"
        )
    if t.budget_tokens:  # rag.budget: the context sized by this machine's prompt speed
        parts.append(f"context {t.context_tokens} tokens of {t.budget_tokens} affordable")
    if t.answer_tokens and t.generation_s > 0:  # nothing was generated when nothing was found
        parts.append(f"first token {t.first_token_s:.1f} s")
        parts.append(f"{t.tokens_per_s:.1f} tokens/s")
    if t.setup_s >= 0.5:
        parts.append(f"models and index loaded in {t.setup_s:.0f} s")
    return f"<small>{' · '.join(parts)}</small>"


def format_sources(sources: Sources, where: Callable[[Passage], str] | None = None) -> str:
    """The passages found, listed while the model writes: numbered as it will cite them,
    each placed in its document by ``where`` ("paragraph 4 of 17") so that two passages of one
    document read apart.

    >>> format_sources(Sources("q", []))
    '<small>No passage found.</small>'
    """
    if not sources.passages:
        return "<small>No passage found.</small>"
    lines = [
        f"[{n}] {escape(p.chunk.title)}, "
        + escape(", ".join(filter(None, (where(p) if where else "", p.chunk.doc_id))))
        for n, p in enumerate(sources.passages, 1)
    ]
    return "<small>Passages found:<br>" + "<br>".join(lines) + "</small>"


def format_answer(
    answer: Answer, quote: Callable[[Citation], tuple[str, str, str]] | None = None
) -> str:
    """The chatbot message for a final Answer: text, warnings, sources, timings.
    ``quote(citation)`` gives the text around a cited span, shown with the span highlighted.

    >>> print(format_answer(Answer(question="q", text="Rien.", refused=True)))
    <strong class="refusal">No answer</strong> <em>Rien&#46;</em>
    <BLANKLINE>
    <small>retrieval 0 ms</small>
    """
    understood = (
        f"<small>Understood as: {escape(answer.understood_as)}</small>\n\n"
        if answer.understood_as
        else ""
    )
    if answer.refused:  # a badge and italics, and no sources: nothing was answered
        why = f"\n\n<small>{escape(answer.why_refused)}</small>" if answer.why_refused else ""
        return (
            f'{understood}<strong class="refusal">No answer</strong> <em>{escape(answer.text)}</em>'
            f"{why}\n\n{format_timings(answer)}"
        )
    blocks = [understood + _cited(answer.text, {c.n: c.title for c in answer.citations})]
    if answer.redrafted:
        blocks.append(
            "<small>The model's first draft was in another language; this is its "
            "answer when asked again in the question's.</small>"
        )
    if answer.excerpts:
        blocks.append(f"<small>{escape(answer.why_quoted)}</small>")
    for s in answer.unsupported:
        missing = f" (not in its sources: {escape(', '.join(s.missing))})" if s.missing else ""
        blocks.append(f"⚠ not supported by its cited passage: <em>{escape(s.text)}</em>{missing}")
    if answer.citations:
        blocks.append("<strong>Sources</strong>")
    for c in answer.citations:
        before, span, after = quote(c) if quote else ("", c.text, "")
        passage = "<br>".join(
            (escape(before) + "<mark>" + escape(span) + "</mark>" + escape(after)).splitlines()
        )
        # One line per block: Markdown leaves a one-line HTML block alone, so the passage
        # stays inside its <details>; the escaped text renders as plain characters.
        where = escape(", ".join(filter(None, (c.location, c.doc_id))))
        blocks.append(
            f'<details class="source source-{c.n}"><summary>[{c.n}] {escape(c.title)}'
            f"</summary><small>{where}</small><blockquote>{passage}</blockquote></details>"
        )
    blocks.append(format_timings(answer))
    return "\n\n".join(blocks)


FORMATS = {"pdf": "PDF", "docx": "Word", "html": "web page", "epub": "e-book"}


def labels(documents: Sequence[IndexedDocument]) -> list[tuple[str, str]]:
    """(label, id) pairs for the list of indexed documents: title, file, format and pages,
    passages, and what was left out of it.

    >>> labels([IndexedDocument("r.pdf", "Rapport", "/c/r.pdf", 12, format="pdf", pages=3)])
    [('Rapport (r.pdf, PDF, 3 pages, 12 passages)', 'r.pdf')]
    """
    out = []
    for d in documents:
        parts = [d.id, FORMATS.get(d.format, "")]
        parts.append(f"{d.pages} page{'s' * (d.pages > 1)}" if d.pages else "")
        parts.append(f"{d.chunks} passage{'s' * (d.chunks > 1)}")
        if d.set_aside:
            parts.append("set aside: it gives the AI orders")
        parts += [f"⚠ {note}" for note in d.notes]
        out.append((f"{d.title} ({', '.join(filter(None, parts))})", d.id))
    return out


def skipped_note(skipped: Sequence[Skipped]) -> str:
    """The folder's files that are not indexed, each with why, for the Documents panel.

    >>> skipped_note([Skipped("scan.pdf", "is a scanned PDF…")])
    '<small>Not indexed&#58;<br>⚠ scan&#46;pdf&#58; is a scanned PDF…</small>'
    """
    if not skipped:
        return ""
    lines = [f"⚠ {escape(s.path)}{escape(':')} {escape(s.reason)}" for s in skipped]
    return f"<small>Not indexed{escape(':')}<br>" + "<br>".join(lines) + "</small>"


def collection(titles: Sequence[str], examples: bool, shown: int = 6) -> str:
    """One line on what the documents are, for the top of the page.

    >>> collection(["SenseTime en Bourse.", "Alibaba"], True)
    '<small>2 documents: SenseTime en Bourse&#59; Alibaba&#46; Try one of these&#58;</small>'
    """
    if not titles:
        return "<small>No document yet: add some in Documents, below.</small>"
    listed = escape("; ".join(t.rstrip(".") for t in titles[:shown]))
    if len(titles) > shown:
        listed += escape(f"; and {len(titles) - shown} more (Documents, below)")
    hint = "Try one of these:" if examples else "Ask about a name, a figure or a date they give."
    return f"<small>{len(titles)} documents: {listed}{escape('.')} {escape(hint)}</small>"


def respond(
    message: str, history: History, asked: Sequence[str], pipeline: Pipeline
) -> Iterator[tuple[History, list[str]]]:
    """Append the question and stream the answer into a copy of ``history``; ``asked`` holds
    the conversation's earlier questions, for follow-ups.

    Yields the whole history each time (what a Gradio generator event returns), with the
    questions asked so far: first a placeholder, then the passages found, then the text so
    far, then the formatted final Answer. A RagError (empty question, missing corpus, model
    or server problem) ends the turn with its message in the chat; any other exception is
    a bug and propagates.
    """
    turn = [*history, {"role": "user", "content": escape(message)}]
    questions = [*asked, message]

    def with_reply(content: str) -> tuple[History, list[str]]:
        return [*turn, {"role": "assistant", "content": content}], questions  # fresh lists

    yield with_reply("<em>Searching the documents…</em>")
    pieces: list[str] = []
    found = ""
    try:
        # closing(): if the user starts a new conversation mid-answer, Gradio closes this
        # generator; closing the stream too releases the model's lock at once.
        stream = pipeline.answer_stream(message, history=list(asked), with_sources=True)
        with closing(stream):
            for item in stream:
                if isinstance(item, Sources):
                    found = format_sources(item, pipeline.library.where)
                    yield with_reply(f"<em>Writing the answer…</em>\n\n{found}")
                elif isinstance(item, Answer):
                    yield with_reply(format_answer(item, pipeline.library.quote))
                else:
                    pieces.append(item)
                    # a cursor: more is coming
                    yield with_reply(f"{_cited(''.join(pieces))}▌\n\n{found}")
    except RagError as exc:
        yield with_reply(f"⚠ {escape(str(exc))}")


class Chat:
    """The pipelines the page uses, one per Settings variant of the panel, built on first
    use; document changes are applied to all of them."""

    def __init__(self, settings: Settings, pipeline_for: Callable[[Settings], Pipeline]) -> None:
        self.settings, self._make = settings, pipeline_for
        self._pipelines: dict[Settings, Pipeline] = {}
        self._lock = threading.Lock()

    def pipeline(
        self, passages: float | None = None, mode: str | None = None, model: str = ""
    ) -> Pipeline:
        changes: dict[str, Any] = dict(MODELS.get(model, {}))
        if passages:
            changes["context_sentences"] = int(passages)
        if mode:
            changes["retrieval"] = mode
        settings = self.settings.replace(**changes)
        with self._lock:
            if settings not in self._pipelines:
                self._pipelines[settings] = self._make(settings)
            return self._pipelines[settings]

    def documents(self) -> list[tuple[str, str]]:
        """(label, id) pairs for the document list."""
        return labels(self.pipeline().library.documents())

    def add(self, paths: Sequence[str], progress: Callable[..., Any]) -> str:
        notes = []
        for path in paths:
            name = Path(path).name

            def report(done: int, total: int, desc: str = f"Indexing {name}") -> None:
                progress(done / total, desc=desc)

            try:
                data = Path(path).read_bytes()
                doc_id = self.pipeline().add_document(name, data, on_progress=report)
                listed = {d.id: d for d in self.pipeline().library.documents()}
                left_out = listed[doc_id].notes if doc_id in listed else ()
                if aside := self.pipeline().library.set_aside(doc_id):
                    notes.append(
                        f"⚠ {escape(name)} added but set aside, never used in answers: it gives "
                        f"the AI orders (“{escape(aside[:120])}”)"
                    )
                elif left_out:
                    notes.append(f"✓ {escape(name)} added, but {escape('; '.join(left_out))}")
                else:
                    notes.append(f"✓ {escape(name)} added")
            except (RagError, OSError) as exc:
                notes.append(f"⚠ {escape(name)} not added: {escape(str(exc))}")
        self._refresh()
        return "<br>".join(notes)

    def remove(self, ids: Sequence[str]) -> str:
        notes = []
        for doc_id in ids:
            try:
                self.pipeline().remove_document(doc_id)
                notes.append(f"✓ {escape(doc_id)} removed (kept in the folder's .removed)")
            except RagError as exc:
                notes.append(f"⚠ {escape(doc_id)}: {escape(str(exc))}")
        self._refresh()
        return "<br>".join(notes)

    def _refresh(self) -> None:
        changed = self.pipeline()  # the one that made the change; the others reload the index
        with self._lock:
            others = [p for p in self._pipelines.values() if p is not changed]
        for p in others:
            p.index()


def build_app(
    settings: Settings | None = None,
    *,
    pipeline_for: Callable[[Settings], Pipeline] | None = None,
    corpus_label: str | None = None,
    examples: Sequence[str] = (),
) -> gr.Blocks:
    """The chat as a gr.Blocks, not started. ``pipeline_for(settings)`` builds a Pipeline;
    nothing is built before the page or a question asks for one. ``examples`` are questions
    offered as buttons when the page opens (the built-in articles' EXAMPLES; none for a folder
    of the user's, whose contents we cannot know to be answerable)."""
    base = settings or Settings()

    def default(s: Settings) -> Pipeline:
        return rag.get_pipeline(s)  # imports the pipeline on first use, not at start-up

    chat = Chat(base, pipeline_for or default)
    where = f"the documents in <code>{escape(corpus_label)}</code>" if corpus_label else None
    models = list(MODELS)
    if base.generator not in {"llama-cpp"}:  # configured elsewhere (a server, a file)
        models.insert(0, f"As configured: {base.generator}")

    def waiting(question: str, history: History) -> tuple[str, str, History]:
        shown = [
            *history,
            {"role": "user", "content": escape(question)},
            {"role": "assistant", "content": WAITING},
        ]
        return "", question, shown

    def answer(
        question: str, history: History, asked: list[str], passages: float, mode: str, model: str
    ) -> Iterator[tuple[History, list[str]]]:
        history = without_placeholder(history)
        yield from respond(question, history, asked, chat.pipeline(passages, mode, model))

    def listing() -> Any:
        try:
            indexed = chat.pipeline().library.documents()
        except RagError as exc:
            return gr.update(choices=[], value=[]), f"⚠ {escape(str(exc))}", ""
        usable = [d.title for d in indexed if not d.set_aside]
        return (
            gr.update(choices=labels(indexed), value=[]),
            skipped_note(chat.pipeline().skipped),
            collection(usable, bool(examples)),
        )

    def upload(files: list[str] | None, progress: gr.Progress = PROGRESS) -> Any:
        note = chat.add(files or [], progress) if files else ""
        choices, error, summary = listing()
        return None, choices, note or error, summary

    def remove(ids: list[str]) -> Any:
        note = chat.remove(ids or [])
        choices, error, summary = listing()
        return choices, note or error, summary

    # analytics_enabled=False: this app is offline; Gradio would otherwise phone home.
    with gr.Blocks(title="Ask the documents", analytics_enabled=False) as demo:
        gr.Markdown(
            f"# Ask the documents\nOffline, cited answers over {where or 'the built-in articles'}. "
            "Each [n] of an answer opens the passage it comes from. Nothing leaves this computer; "
            "the first question loads the models."
        )
        summary = gr.Markdown()
        # latex_delimiters=[]: a "$" in a document must stay a dollar sign.
        chatbot = gr.Chatbot(label="Conversation", height=520, latex_delimiters=[])
        question = gr.Textbox(
            show_label=False, placeholder="Ask a question about the documents…", submit_btn=True
        )
        with gr.Row(visible=bool(examples)):
            tries = [gr.Button(q, size="sm", variant="secondary") for q in examples]
        new = gr.Button("New conversation")
        asked = gr.State([])
        pending = gr.State("")
        with gr.Accordion("Documents", open=False):
            files = gr.File(
                label="Add documents: PDF, Word (.docx), web pages (.html), e-books (.epub) "
                "and text (.txt, .md); 100 MB at most each, 10 MB for text",
                file_count="multiple",
                file_types=list(SUFFIXES),
            )
            documents = gr.CheckboxGroup(label="Indexed documents", choices=[])
            remove_button = gr.Button("Remove the selected documents")
            status = gr.Markdown()
        with gr.Accordion("Settings", open=False):
            passages = gr.Slider(
                2,
                12,
                value=base.context_sentences,
                step=1,
                label="Sentences the model reads",
                info="The sentences of the passages found that best match the question, each "
                "with the one after it. More can find more, and answers more slowly.",
            )
            mode = gr.Radio(
                ["hybrid", "dense", "keyword"],
                value=base.retrieval,
                label="How passages are found",
                info="hybrid: by meaning and by words; dense: by meaning; keyword: by words.",
            )
            model = gr.Dropdown(
                models,
                value=models[0],
                label="Model",
                info="The 0.5B model answers about three times faster, and less well.",
            )
        # Move the question out of the textbox and into the chat at once (it may wait its
        # turn in the queue), then answer it.
        moved = question.submit(
            waiting, [question, chatbot], [question, pending, chatbot], queue=False
        )
        asked_event = moved.then(
            answer,
            [pending, chatbot, asked, passages, mode, model],
            [chatbot, asked],
            concurrency_id=MODEL_QUEUE,
        )
        cancels = [asked_event]
        for button in tries:  # an example asked as if typed
            tried = button.click(
                waiting, [button, chatbot], [question, pending, chatbot], queue=False
            ).then(
                answer,
                [pending, chatbot, asked, passages, mode, model],
                [chatbot, asked],
                concurrency_id=MODEL_QUEUE,
            )
            cancels.append(tried)
        new.click(lambda: ([], "", []), None, [chatbot, question, asked], cancels=cancels)
        files.upload(upload, files, [files, documents, status, summary])
        remove_button.click(remove, documents, [documents, status, summary])
        demo.load(listing, None, [documents, status, summary])

        def ask(question: str, earlier_questions: list[str]) -> dict[str, Any]:
            """The checked answer as JSON (rag.Answer.to_dict) for scripts using the API;
            ``earlier_questions`` are the conversation's, oldest first, for follow-ups."""
            result = chat.pipeline().answer(question, history=earlier_questions or [])
            return result.to_dict()

        gr.api(ask, api_name="ask", concurrency_limit=1, concurrency_id=MODEL_QUEUE)
    # One local model answers one question at a time (the generator also holds a lock);
    # other questions wait in Gradio's queue instead of competing for the CPU.
    return demo.queue(default_concurrency_limit=1)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Start the local chat over your documents.")
    parser.add_argument(
        "--corpus", type=Path, help="folder of documents (default: $RAG_CORPUS or built-in)"
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=7860, help="port to listen on")
    args = parser.parse_args(argv)
    corpus = args.corpus.expanduser().resolve() if args.corpus else None
    try:
        settings = Settings.from_env(corpus=corpus)
    except RagError as exc:  # a RAG_* variable the chat cannot start with
        parser.error(str(exc))
    label = str(settings.corpus) if settings.corpus else None
    if settings.corpus is None:
        from rag.collection import seed

        # Uploads go to a copy of the built-in articles, never into the installed package.
        settings = settings.replace(corpus=seed(settings.home_dir / "chat" / "articles", BUILTIN))

    demo = build_app(settings, corpus_label=label, examples=() if label else EXAMPLES)
    # share=False always: a public Gradio link would send the documents over the network.
    # quiet: Gradio's own banner suggests share=True; say where the chat runs, once bound.
    _, url, _ = demo.launch(
        server_name=args.host,
        server_port=args.port,
        share=False,
        quiet=True,
        prevent_thread_lock=True,
        max_file_size=MAX_UPLOAD,
        css=CSS,
        js=JS,
        theme=THEME,
        # No "Settings" link in the footer: the page's own Settings panel is the one.
        footer_links=["api", "gradio"],
    )
    print(
        f"Chat running at {url} (the models load on the first question); Ctrl+C stops it",
        flush=True,
    )
    demo.block_thread()


if __name__ == "__main__":
    main()
