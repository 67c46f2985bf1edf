"""Word (.docx) -> text with python-docx: paragraphs and tables in the order they come, each
heading starting a section. A table becomes one line per row, its cells joined by " | "."""

from __future__ import annotations

import functools
import re
from pathlib import Path

from rag.errors import CorpusError

from . import Extracted, Limits, assemble, cut
from .archive import Archive

_HEADING = re.compile(r"(heading|titre|title|überschrift|título|titolo)\s*\d*$", re.I)


class DocxReader:
    format = "docx"

    @property
    def version(self) -> str:
        return _version()

    def read(self, path: Path, limits: Limits) -> Extracted:
        import docx
        from docx.table import Table

        with Archive(path, limits, "Word document") as archive:
            for name in sorted(archive.names):  # unzips every part within the budget
                archive.read(name)
        try:
            document = docx.Document(str(path))
        except Exception as exc:  # python-docx raises KeyError, ValueError, lxml errors...
            raise CorpusError(
                f"is a damaged Word document ({type(exc).__name__}: {exc}): open it in Word "
                "or LibreOffice and save it again"
            ) from exc
        names = {s.style_id: s.name or "" for s in document.styles}
        blocks: list[tuple[str, bool]] = []  # (text, is a heading)
        for item in document.iter_inner_content():
            if isinstance(item, Table):
                for row in item.rows:
                    cells = list(dict.fromkeys(" ".join(c.text.split()) for c in row.cells))
                    if any(cells):
                        blocks.append((" | ".join(cells), False))
                continue
            text = " ".join(item.text.split())
            if text:
                # The style's id, looked up in a table made once: python-docx's own
                # ``paragraph.style`` searches the styles for each paragraph (3/4 of the time).
                style = names.get(item._p.style or "", "")  # none: the default, not a heading
                blocks.append((text, bool(_HEADING.match(style))))
        text, sections = assemble(blocks)
        if not text:
            raise CorpusError("is a Word document with no text in it")
        text, sections, note = cut(text, sections, limits.max_chars)
        props = document.core_properties
        headings = [t for t, is_heading in blocks if is_heading]
        return Extracted(
            text,
            tuple(sections),
            title=(props.title or "").strip() or (headings[0] if headings else ""),
            date=props.created.date().isoformat() if props.created else "",
            author=(props.author or "").strip(),
            notes=(note,) if note else (),
        )


@functools.cache
def _version() -> str:  # asked for every file the folder holds: read the metadata once
    from importlib.metadata import version

    return f"docx-1 python-docx-{version('python-docx')}"
