"""E-book (.epub) -> text, a section per chapter. An EPUB is a ZIP of XHTML files: its package
file lists them in reading order (the spine), and its table of contents names the chapters.
Read with the standard library and lxml (ebooklib is AGPL). A book with DRM is skipped."""

from __future__ import annotations

import posixpath
from pathlib import Path
from typing import Any

from rag.errors import CorpusError
from rag.types import Section

from . import Extracted, Limits, cut
from .archive import Archive
from .html import read_html

_NS = {
    "c": "urn:oasis:names:tc:opendocument:xmlns:container",
    "opf": "http://www.idpf.org/2007/opf",
    "dc": "http://purl.org/dc/elements/1.1/",
    "ncx": "http://www.daisy.org/z3986/2005/ncx/",
    "x": "http://www.w3.org/1999/xhtml",
    "epub": "http://www.idpf.org/2007/ops",
}


class EpubReader:
    format = "epub"

    @property
    def version(self) -> str:
        return "epub-1"

    def read(self, path: Path, limits: Limits) -> Extracted:
        with Archive(path, limits, "e-book") as book:
            if "META-INF/encryption.xml" in book.names and _drm(
                book.read("META-INF/encryption.xml")
            ):
                raise CorpusError("is an e-book protected by DRM: only a DRM-free copy can be read")
            opf_path = _rootfile(book)
            opf = _xml(book.read(opf_path), "its package file")
            base = posixpath.dirname(opf_path)
            items = {
                i.get("id"): (posixpath.normpath(posixpath.join(base, i.get("href", ""))), i)
                for i in opf.iterfind("opf:manifest/opf:item", _NS)
            }
            names = _toc(book, opf, items)
            parts: list[str] = []
            sections: list[Section] = []
            at = 0
            for ref in opf.iterfind("opf:spine/opf:itemref", _NS):
                href, _ = items.get(ref.get("idref"), ("", None))
                if not href or href not in book.names:
                    continue
                chapter = read_html(book.read(href), whole=True)
                if not chapter.text:
                    continue
                if parts:
                    parts.append("\n\n")
                    at += 2
                label = names.get(href) or _first_heading(chapter) or chapter.title
                parts.append(chapter.text)
                sections.append(Section(at, at + len(chapter.text), label[:120] or href))
                at += len(chapter.text)
                if at > limits.max_chars:
                    break
        text = "".join(parts)
        if not text.strip():
            raise CorpusError("is an e-book with no text in it")
        text, sections, note = cut(text, sections, limits.max_chars)
        return Extracted(
            text,
            tuple(sections),
            title=" ".join((opf.findtext("opf:metadata/dc:title", "", _NS)).split()),
            date=(opf.findtext("opf:metadata/dc:date", "", _NS) or "")[:10],
            author=" ".join((opf.findtext("opf:metadata/dc:creator", "", _NS)).split()),
            notes=(note,) if note else (),
        )


def _xml(data: bytes, what: str) -> Any:
    import lxml.etree

    try:
        # No entities, no network: an e-book is someone else's file.
        parser = lxml.etree.XMLParser(resolve_entities=False, no_network=True, recover=True)
        root = lxml.etree.fromstring(data, parser)
    except lxml.etree.XMLSyntaxError as exc:
        raise CorpusError(f"is a damaged e-book: {what} does not read ({exc})") from exc
    if root is None:
        raise CorpusError(f"is a damaged e-book: {what} is empty")
    return root


def _rootfile(book: Archive) -> str:
    container = _xml(book.read("META-INF/container.xml"), "META-INF/container.xml")
    rootfile = container.find("c:rootfiles/c:rootfile", _NS)
    if rootfile is None or not rootfile.get("full-path"):
        raise CorpusError("is a damaged e-book: its container names no package file")
    return str(rootfile.get("full-path"))


def _drm(encryption: bytes) -> bool:
    """Whether the book's encryption.xml encrypts more than fonts (font obfuscation is not DRM)."""
    root = _xml(encryption, "META-INF/encryption.xml")
    methods = [m.get("Algorithm", "") for m in root.iter("{*}EncryptionMethod")]
    return any("font" not in m.lower() and "obfuscation" not in m.lower() for m in methods)


def _toc(book: Archive, opf: Any, items: dict[str, Any]) -> dict[str, str]:
    """Chapter file -> its name in the table of contents (EPUB 3 nav, else EPUB 2 NCX)."""
    names: dict[str, str] = {}
    for href, item in items.values():
        props = item.get("properties", "") or ""
        is_nav = "nav" in props.split()
        is_ncx = item.get("media-type") == "application/x-dtbncx+xml"
        if not (is_nav or is_ncx) or href not in book.names:
            continue
        root = _xml(book.read(href), "its table of contents")
        base = posixpath.dirname(href)
        if is_nav:
            links = [
                (a.get("href", ""), " ".join("".join(a.itertext()).split()))
                for a in root.iter("{*}a")
            ]
        else:
            links = [
                (
                    p.find("ncx:content", _NS).get("src", ""),
                    " ".join(p.findtext("ncx:navLabel/ncx:text", "", _NS).split()),
                )
                for p in root.iter(f"{{{_NS['ncx']}}}navPoint")
                if p.find("ncx:content", _NS) is not None
            ]
        for link, name in links:
            target = posixpath.normpath(posixpath.join(base, link.split("#")[0]))
            if name and target not in names:
                names[target] = name
    return names


def _first_heading(chapter: Extracted) -> str:
    return chapter.sections[0].label if chapter.sections and chapter.sections[0].start == 0 else ""
