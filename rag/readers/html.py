"""Web page (.html) -> the article's text with trafilatura, menus, ads, newsletter boxes and
comments left out; each heading starts a section. The page's title, date and author are kept
where it gives them. A page trafilatura finds no article in (a short page, a bare fragment) is
read whole, its scripts, styles and navigation left out."""

from __future__ import annotations

import functools
import re
from pathlib import Path

from rag.errors import CorpusError

from . import Extracted, Limits, assemble, cut

_SKIP = {"script", "style", "noscript", "nav", "header", "footer", "aside", "form", "template"}
_BLOCKS = {"p", "div", "li", "tr", "td", "th", "br", "section", "article", "blockquote", "pre"}
_HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}


class HtmlReader:
    format = "html"

    @property
    def version(self) -> str:
        return _version()

    def read(self, path: Path, limits: Limits) -> Extracted:
        data = path.read_bytes()
        extracted = read_html(data)
        if not extracted.text:
            raise CorpusError("is a web page with no text in it")
        text, sections, note = cut(extracted.text, list(extracted.sections), limits.max_chars)
        return Extracted(
            text,
            tuple(sections),
            title=extracted.title,
            date=extracted.date,
            author=extracted.author,
            notes=(note,) if note else (),
        )


def read_html(data: bytes | str, *, whole: bool = False) -> Extracted:
    """The text of an HTML page: its article by trafilatura, or with ``whole`` (as for an
    e-book's chapter, which is all content) every block of its body."""
    import lxml.etree
    import lxml.html
    import trafilatura

    title = date = author = ""
    blocks: list[tuple[str, bool]] = []
    if not whole:
        # One pass gives the article and, on its root, the page's title, date and author.
        xml = trafilatura.extract(
            data,
            output_format="xml",
            with_metadata=True,
            include_comments=False,
            include_tables=True,
        )
        if xml:
            doc = lxml.etree.fromstring(xml.encode())
            title, date, author = (doc.get(k) or "" for k in ("title", "date", "author"))
            main = doc.find("main")
            for el in (
                main.iter("head", "p", "row", "item", "quote", "code") if main is not None else []
            ):
                if el.tag == "row":
                    cells = [" ".join("".join(c.itertext()).split()) for c in el.iter("cell")]
                    blocks.append((" | ".join(c for c in cells if c), False))
                elif el.getparent() is not None and el.getparent().tag in ("item", "quote"):
                    continue  # read with its list item or quote
                else:
                    blocks.append((" ".join("".join(el.itertext()).split()), el.tag == "head"))
    if not blocks:
        try:
            root = lxml.html.document_fromstring(_decode(data) if isinstance(data, bytes) else data)
        except (lxml.etree.ParserError, ValueError):
            return Extracted("")
        title = title or " ".join((root.findtext(".//title") or "").split())
        blocks = list(_blocks(root.find("body") if root.find("body") is not None else root))
    text, sections = assemble([(t, h) for t, h in blocks if t])
    return Extracted(text, tuple(sections), title=title, date=date, author=author)


def _decode(data: bytes) -> str:
    """An HTML file's text: in the charset it declares, else UTF-8 (an e-book's XHTML always
    is), else cp1252."""
    declared = re.search(rb"""charset=["']?([\w-]+)|encoding=["']([\w-]+)""", data[:2048])
    for encoding in ([(declared.group(1) or declared.group(2)).decode()] if declared else []) + [
        "utf-8"
    ]:
        try:
            return data.decode(encoding).lstrip("\ufeff")
        except (UnicodeDecodeError, LookupError):
            continue
    return data.decode("cp1252", errors="replace")


def _blocks(element: object) -> list[tuple[str, bool]]:
    """Every block of text under ``element`` (an lxml element), headings marked."""
    out: list[tuple[str, bool]] = []
    current: list[str] = []

    def flush(heading: bool = False) -> None:
        text = " ".join(" ".join(current).split())
        if text:
            out.append((text, heading))
        current.clear()

    def walk(el: object) -> None:
        tag = getattr(el, "tag", None)
        if not isinstance(tag, str):  # comments, processing instructions
            current.append(getattr(el, "tail", None) or "")
            return
        tag = tag.rsplit("}", 1)[-1].lower()
        if tag in _SKIP:
            current.append(el.tail or "")  # type: ignore[attr-defined]
            return
        if tag in _HEADINGS:
            flush()
            current.append("".join(el.itertext()))  # type: ignore[attr-defined]
            flush(heading=True)
        else:
            if tag in _BLOCKS:
                flush()
            current.append(el.text or "")  # type: ignore[attr-defined]
            for child in el:  # type: ignore[attr-defined]
                walk(child)
            if tag in _BLOCKS:
                flush()
        current.append(el.tail or "")  # type: ignore[attr-defined]

    walk(element)
    flush()
    return out


@functools.cache
def _version() -> str:  # asked for every file the folder holds: read the metadata once
    from importlib.metadata import version

    return f"html-2 trafilatura-{version('trafilatura')}"
