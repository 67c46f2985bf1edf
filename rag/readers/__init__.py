"""Readers: a PDF, Word file, web page or e-book -> its text, and where each part came from.

One reader per format, behind one small interface (``Reader``): ``read(path, limits)``
returns an ``Extracted`` record, the text with its ``sections`` (the page of a PDF, the
heading of the others). Plain text and Markdown are read by rag.documents itself.

The format is chosen by the file's content as well as its name (``detect``): a Word file
saved as ``report.pdf`` is read as Word; a file named ``.pdf`` that holds no PDF is skipped
with what it holds. Every reader raises CorpusError with a reason that says what to do;
limits on pages, characters and unzipped bytes (``Limits``) keep a hostile file cheap.

Each reader's libraries are imported when it reads, so ``import rag`` stays light.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from rag.errors import CorpusError
from rag.types import Section


@dataclass(frozen=True)
class Limits:
    """What one file may cost. A bigger file is cut (pages, characters, with a note) or
    skipped (bytes on disk, unzipped bytes), never read whole into memory."""

    max_pages: int = 2000  # a PDF's pages read; the rest are left out, with a note
    max_ocr_pages: int = 200  # scanned pages read by OCR per file (seconds each)
    max_chars: int = 10_000_000  # extracted text kept per file (~20,000 chunks)
    max_unzipped: int = 200_000_000  # bytes a Word file or e-book may unzip to
    max_members: int = 10_000  # files inside one Word file or e-book


@dataclass(frozen=True)
class Extracted:
    """What a reader found in one file."""

    text: str
    sections: tuple[Section, ...] = ()
    title: str = ""
    pages: int = 0
    date: str = ""
    author: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)


class Reader(Protocol):
    """A reader of one format. ``version`` changes whenever what it extracts changes, so that
    an index re-reads the files of that format, and only those."""

    @property
    def format(self) -> str: ...
    @property
    def version(self) -> str: ...

    def read(self, path: Path, limits: Limits) -> Extracted: ...


# The formats a folder may hold, by suffix. "text" is read by rag.documents.
SUFFIXES = {
    ".txt": "text",
    ".md": "text",
    ".pdf": "pdf",
    ".docx": "docx",
    ".html": "html",
    ".htm": "html",
    ".xhtml": "html",
    ".epub": "epub",
}
NAMES = {
    "text": "text",
    "pdf": "PDF",
    "docx": "Word document",
    "html": "web page",
    "epub": "e-book (EPUB)",
}
_CONTAINERS = {"pdf", "docx", "epub"}
# Word's container for a file with a password, and for the formats before .docx.
_OLE = "an encrypted Office file or an old .doc, .xls or .ppt"
_DAMAGED_ZIP = "a damaged or truncated ZIP archive"

# What a file that is none of ours holds, by its first bytes: said when a name lies.
_MAGIC = (
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"II*\x00", "a TIFF image"),
    (b"MM\x00*", "a TIFF image"),
    (b"\x1f\x8b", "gzip-compressed data"),
    (b"Rar!", "a RAR archive"),
    (b"7z\xbc\xaf", "a 7-Zip archive"),
    (b"{\\rtf", "an RTF document"),
)


def detect(path: Path) -> str:
    """The format of the file at ``path`` by its content: "pdf", "docx", "epub", "html",
    "text", or a description of what else it is ("a PNG image", "a ZIP archive", ...)."""
    with path.open("rb") as f:
        head = f.read(4096)
    if b"%PDF-" in head[:1024]:
        return "pdf"
    if head.startswith(b"PK\x03\x04"):
        from .archive import zip_kind

        return zip_kind(path)
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return _OLE
    for magic, what in _MAGIC:
        if head.startswith(magic):
            return what
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if start.startswith((b"<!doctype html", b"<html")) or (
        start.startswith((b"<?xml", b"<!doctype", b"<!--")) and b"<html" in head.lower()
    ):
        return "html"
    return "text"


def choose(path: Path) -> str:
    """The format to read ``path`` as: its content's, if that is one we read (a Word file
    named ``.pdf`` is read as Word), else its name's. CorpusError when a name promises a
    format the content is not ("named .pdf but is a PNG image")."""
    by_name = SUFFIXES.get(path.suffix.lower(), "text")
    by_content = detect(path)
    if by_content in _CONTAINERS:
        return by_content
    if by_name in _CONTAINERS:
        if by_content == _DAMAGED_ZIP:
            raise CorpusError(
                f"is a damaged or truncated {NAMES[by_name]}: download it again, or open it "
                "and save it again"
            )
        if by_content == _OLE:
            raise CorpusError(
                f"is a {NAMES[by_name]} with a password, or an older format (.doc, .xls, "
                ".ppt): save it again as .docx, without a password"
            )
        what = {"text": "text", "html": "a web page"}.get(by_content, by_content)
        raise CorpusError(
            f"is named {path.suffix.lower()} but is not a {NAMES[by_name]}: it holds {what}. "
            "Rename it to what it is, or export it again"
        )
    if by_content == "html" and path.suffix.lower() != ".md":
        return "html"
    if by_content not in ("text", "html"):
        raise CorpusError(f"holds {by_content}, not text: nothing to read in it")
    return by_name


def reader(fmt: str) -> Reader:
    """The reader of format ``fmt`` ("pdf", "docx", "html", "epub")."""
    if fmt == "pdf":
        from .pdf import PdfReader

        return PdfReader()
    if fmt == "docx":
        from .docx import DocxReader

        return DocxReader()
    if fmt == "html":
        from .html import HtmlReader

        return HtmlReader()
    if fmt == "epub":
        from .epub import EpubReader

        return EpubReader()
    raise ValueError(f"no reader for {fmt!r}")


def cut(text: str, sections: list[Section], limit: int) -> tuple[str, list[Section], str]:
    """``text`` and its ``sections`` cut at ``limit`` characters, with a note if it was."""
    if len(text) <= limit:
        return text, sections, ""
    kept = [Section(s.start, min(s.end, limit), s.label) for s in sections if s.start < limit]
    return text[:limit], kept, f"only the first {limit:,} characters were read"


def assemble(blocks: list[tuple[str, bool]]) -> tuple[str, list[Section]]:
    """Blocks of text, a blank line between them, and a section from each heading to the
    next: what the Word, web page and e-book readers share.

    >>> text, sections = assemble([("Intro", True), ("Un.", False), ("Suite", True), ("2", False)])
    >>> text, [(s.start, s.end, s.label) for s in sections]
    ('Intro\\n\\nUn.\\n\\nSuite\\n\\n2', [(0, 10, 'Intro'), (12, 20, 'Suite')])
    """
    parts: list[str] = []
    sections: list[Section] = []
    at = 0
    for text, is_heading in blocks:
        if parts:
            parts.append("\n\n")
            at += 2
        if is_heading:
            if sections:
                sections[-1] = Section(sections[-1].start, at - 2, sections[-1].label)
            sections.append(Section(at, at, text[:120]))
        parts.append(text)
        at += len(text)
    if sections:
        sections[-1] = Section(sections[-1].start, at, sections[-1].label)
    return "".join(parts), sections
