"""The local web chat: a thin Gradio wrapper over ``rag``'s public API.

    python app.py [--corpus PATH] [--host 127.0.0.1] [--port 7860]      (or: rag chat)

It streams each answer, then replaces the stream with the checked answer, its sources
(each quoted passage in a collapsible block) and its timings. No retrieval or prompt logic
lives here. Everything from documents or the model is escaped before it reaches Markdown,
so a document cannot inject HTML, images or links into the page. The models load on the
first question, not at start-up. Left for later: uploads, follow-up questions.
"""

from __future__ import annotations

import argparse
import string
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING, Any

import gradio as gr

from rag import Answer, RagError, Settings

if TYPE_CHECKING:
    from rag import Pipeline

History = list[dict[str, Any]]
# Gradio 5 defaults to (user, bot) tuples; Gradio 6 knows only messages and has no `type`.
_MESSAGES: dict[str, Any] = {"type": "messages"} if gr.__version__.startswith("5.") else {}

# Every ASCII punctuation character becomes a numeric character reference, so Markdown and
# HTML see only letters, digits and spaces: no tags, no ![image](url), no [link](url), no
# `code`, no emphasis, no autolinked http:// or www. The browser shows the characters as-is.
# This covers html.escape's five characters (& < > " ') and Markdown's.
_ESCAPES = str.maketrans({c: f"&#{ord(c)};" for c in string.punctuation})


def escape(text: str) -> str:
    """``text`` made inert for the chatbot's Markdown and HTML; leading spaces are dropped
    so that no line becomes an indented code block.

    >>> escape("<b>![x](http://e/x.png)</b>")
    '&#60;b&#62;&#33;&#91;x&#93;&#40;http&#58;&#47;&#47;e&#47;x&#46;png&#41;&#60;&#47;b&#62;'
    """
    return "\n".join(line.lstrip().translate(_ESCAPES) for line in text.splitlines())


def format_timings(answer: Answer) -> str:
    """One line of small text: ``retrieval 12 ms · first token 0.8 s · 15.0 tokens/s``."""
    t = answer.timings
    parts = [f"retrieval {t.retrieval_s * 1000:.0f} ms"]
    if t.answer_tokens and t.generation_s > 0:  # nothing was generated when nothing was found
        parts.append(f"first token {t.first_token_s:.1f} s")
        parts.append(f"{t.tokens_per_s:.1f} tokens/s")
    if t.setup_s >= 0.5:
        parts.append(f"models and index loaded in {t.setup_s:.0f} s")
    return f"<small>{' · '.join(parts)}</small>"


def format_answer(answer: Answer) -> str:
    """The chatbot message for a final Answer: text, warnings, sources, timings.

    >>> print(format_answer(Answer(question="q", text="Rien.", refused=True)))
    🚫 <em>Rien&#46;</em>
    <BLANKLINE>
    <small>retrieval 0 ms</small>
    """
    if answer.refused:  # an icon and italics, and no sources: nothing was answered
        return f"🚫 <em>{escape(answer.text)}</em>\n\n{format_timings(answer)}"
    blocks = [escape(answer.text)]
    for s in answer.unsupported:
        missing = f" (not in its sources: {escape(', '.join(s.missing))})" if s.missing else ""
        blocks.append(f"⚠ not supported by its cited passage: <em>{escape(s.text)}</em>{missing}")
    if answer.citations:
        blocks.append("<strong>Sources</strong>")
    for c in answer.citations:
        # One line per block: Markdown leaves a one-line HTML block alone, so the passage
        # stays inside its <details>; the escaped text renders as plain characters.
        passage = "<br>".join(escape(c.text).splitlines())
        blocks.append(
            f"<details><summary>[{c.n}] {escape(c.title)}</summary>"
            f"<small>{escape(c.doc_id)}, characters {c.start}-{c.end}</small>"
            f"<blockquote>{passage}</blockquote></details>"
        )
    blocks.append(format_timings(answer))
    return "\n\n".join(blocks)


def respond(message: str, history: History, pipeline: Pipeline) -> Iterator[History]:
    """Append the question and stream the answer into a copy of ``history``.

    Yields the whole history each time (what a Gradio generator event returns): first a
    placeholder, then the text so far, then the formatted final Answer. A RagError (empty
    question, missing corpus, model problem) ends the turn with its message in the chat;
    any other exception is a bug and propagates.
    """
    turn = [*history, {"role": "user", "content": escape(message)}]

    def with_reply(content: str) -> History:  # a fresh list each time: Gradio diffs them
        return [*turn, {"role": "assistant", "content": content}]

    yield with_reply("<em>Searching the documents…</em>")
    pieces: list[str] = []
    try:
        # closing(): if the user starts a new conversation mid-answer, Gradio closes this
        # generator; closing the stream too releases the model's lock at once.
        with closing(pipeline.answer_stream(message)) as stream:
            for item in stream:
                if isinstance(item, Answer):
                    yield with_reply(format_answer(item))
                else:
                    pieces.append(item)
                    yield with_reply(escape("".join(pieces)) + "▌")  # a cursor: more is coming
    except RagError as exc:
        yield with_reply(f"⚠ {escape(str(exc))}")


def build_app(pipeline_factory: Callable[[], Pipeline], *, corpus: Path | None = None) -> gr.Blocks:
    """The chat as a gr.Blocks, not started. ``pipeline_factory`` is called per question,
    so nothing loads before the first one (``get_pipeline`` keeps one Pipeline per Settings).
    """
    where = f"the documents in <code>{escape(str(corpus))}</code>" if corpus else None

    def answer(question: str, history: History) -> Iterator[History]:
        yield from respond(question, history, pipeline_factory())

    # analytics_enabled=False: this app is offline; Gradio would otherwise phone home.
    with gr.Blocks(title="Ask the documents", analytics_enabled=False) as demo:
        gr.Markdown(
            f"# Ask the documents\nOffline, cited answers over {where or 'the built-in articles'}. "
            "Nothing leaves this computer; the first question loads the models."
        )
        # latex_delimiters=[]: a "$" in a document must stay a dollar sign.
        chatbot = gr.Chatbot(label="Conversation", height=520, latex_delimiters=[], **_MESSAGES)
        question = gr.Textbox(
            show_label=False, placeholder="Ask a question about the documents…", submit_btn=True
        )
        new = gr.Button("New conversation")
        pending = gr.State("")
        # Move the question out of the textbox at once, then answer it.
        asked = question.submit(lambda q: ("", q), question, [question, pending], queue=False).then(
            answer, [pending, chatbot], chatbot
        )
        new.click(lambda: ([], ""), None, [chatbot, question], cancels=[asked])
    # One local model answers one question at a time (the generator also holds a lock);
    # other questions wait in Gradio's queue instead of competing for the CPU.
    return demo.queue(default_concurrency_limit=1)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Start the local chat over your documents.")
    parser.add_argument(
        "--corpus", type=Path, help="folder of .txt/.md files (default: $RAG_CORPUS or built-in)"
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=7860, help="port to listen on")
    args = parser.parse_args(argv)
    corpus = args.corpus.expanduser().resolve() if args.corpus else None
    settings = Settings.from_env(corpus=corpus)

    def pipeline() -> Pipeline:
        from rag import get_pipeline  # on the first question, not at start-up

        return get_pipeline(settings)

    demo = build_app(pipeline, corpus=settings.corpus)
    # share=False always: a public Gradio link would send the documents over the network.
    # quiet: Gradio's own banner suggests share=True; say where the chat runs, once bound.
    _, url, _ = demo.launch(
        server_name=args.host,
        server_port=args.port,
        share=False,
        quiet=True,
        prevent_thread_lock=True,
    )
    print(
        f"Chat running at {url} (the models load on the first question); Ctrl+C stops it",
        flush=True,
    )
    demo.block_thread()


if __name__ == "__main__":
    main()
