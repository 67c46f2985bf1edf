"""PDF -> text by page, with pypdfium2 (PDFium, the engine of Chrome's PDF viewer).

PDFium gives each page's text line by line, in the order the page draws it, with a box per
line. From the boxes, lines are joined back into paragraphs: a paragraph ends where the gap
to the next line is wider than the document's usual line spacing, or where a line that ends a
sentence stops short of the column's right edge; a line in a bigger font is a heading. A word
cut at a line end ("inves-" / "tissement") is joined, unless the document writes it with its
hyphen elsewhere ("porte-parole"). Ligatures (U+FB00-FB06) become their letters. A line
repeated at the top or bottom of most pages (a running header, "Page 3 / 12") is left out.

A page with no text layer is a scan: it is read by OCR (rag.readers.ocr) when Tesseract is
installed, and otherwise left out with a note that says how to add it. Why pypdfium2 and not
pypdf or pdfplumber: bench/RESULTS.md, "PDF text extraction".
"""

from __future__ import annotations

import itertools
import re
import statistics
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from rag.errors import CorpusError
from rag.types import Section

from . import Extracted, Limits, cut
from . import ocr as ocr_

_LIGATURES = {0xFB00: "ff", 0xFB01: "fi", 0xFB02: "fl", 0xFB03: "ffi", 0xFB04: "ffl", 0xFB05: "st"}
_LIGATURES[0xFB06] = "st"
_SENTENCE_END = re.compile(r"[.!?…:;»\"”)]$")
_PAGE_NUMBER = re.compile(
    r"(page|p\.)?\s*[-–—]?\s*[0-9ivxlc]+\s*((/|sur|of|de)\s*[0-9]+)?\s*[-–—]?", re.I
)
_MIN_TEXT = 10  # characters: a page with fewer is a scan (or blank)


@dataclass
class Line:
    text: str
    x0: float = 0.0
    y0: float = 0.0
    x1: float = 0.0
    y1: float = 0.0

    @property
    def height(self) -> float:
        return self.y1 - self.y0


class PdfReader:
    format = "pdf"

    @property
    def version(self) -> str:
        import pypdfium2

        return f"pdf-2 pypdfium2-{pypdfium2.version.PYPDFIUM_INFO} ocr-{ocr_.version()}"

    def read(self, path: Path, limits: Limits) -> Extracted:
        import pypdfium2 as pdfium
        import pypdfium2.raw as pdfium_c

        try:
            pdf = pdfium.PdfDocument(str(path))
        except pdfium.PdfiumError as exc:
            if "password" in str(exc).lower():
                raise CorpusError(
                    "is an encrypted PDF (it needs a password): save a copy without the "
                    "password and add that"
                ) from exc
            why = str(exc).rstrip(".")
            raise CorpusError(
                f"is a damaged or truncated PDF ({why}): download or export it again"
            ) from exc
        try:
            count = len(pdf)
            if count == 0:
                raise CorpusError("is a PDF with no pages, nothing to index")
            notes, pages, scans = [], [], []
            failed: list[tuple[int, str]] = []
            if count > limits.max_pages:
                notes.append(f"only the first {limits.max_pages:,} of {count:,} pages were read")
            for i in range(min(count, limits.max_pages)):
                page = pdf[i]
                try:
                    lines = _page_lines(page)
                    if sum(len(x.text) for x in lines) < _MIN_TEXT:
                        images = list(page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE]))
                        if images:
                            scans.append(i)
                            lines = []
                            if len(scans) <= limits.max_ocr_pages and ocr_.languages():
                                image = page.render(scale=300 / 72).to_pil()
                                try:
                                    read = ocr_.read_image(image)
                                except ocr_.OcrError as exc:
                                    failed.append((i, str(exc)))
                                    read = ""
                                lines = [Line(t) for t in read.splitlines()]
                finally:
                    page.close()
                pages.append(lines)
            title = _metadata_title(pdf.get_metadata_dict())
            author = pdf.get_metadata_dict().get("Author", "").strip("() ")
        finally:
            pdf.close()
        notes += _scan_notes([i for i in scans if i not in dict(failed)], limits)
        notes += [f"page {i + 1} could not be read by OCR ({why}), left out" for i, why in failed]
        pages = _without_furniture(pages)
        text, sections = _assemble(pages)
        if not text.strip():
            if scans and not ocr_.languages():
                raise CorpusError(
                    f"is a scanned PDF with no text layer, and OCR is not installed: {ocr_.INSTALL}"
                )
            if failed:
                raise CorpusError(f"is a scanned PDF that OCR could not read ({failed[0][1]})")
            raise CorpusError("is a PDF with no text in it")
        text, sections, note = cut(text, sections, limits.max_chars)
        return Extracted(
            text,
            tuple(sections),
            title=title,
            pages=count,
            author=author if author.lower() not in ("anonymous", "unknown") else "",
            notes=tuple(notes + ([note] if note else [])),
        )


def _page_lines(page: object) -> list[Line]:
    """The page's lines, each with its box when PDFium's boxes line up with its lines."""
    textpage = page.get_textpage()  # type: ignore[attr-defined]
    try:
        raw = textpage.get_text_range().replace("\r\n", "\n").replace("\r", "\n")
        # PDFium joins a line that ends with a hyphen to the next, the hyphen as U+FFFE: split
        # it again, so that lines match boxes, and mark the hyphen as the line's (U+0002).
        raw = raw.replace("\ufffe", "\x02\n")
        texts = raw.split("\n")
        rects = [textpage.get_rect(i) for i in range(textpage.count_rects())]
    finally:
        textpage.close()
    # PDFium gives a box per run of text: a line is the boxes that follow each other on it
    # (an apostrophe, a change of font, start one).
    boxes: list[list[float]] = []
    for x0, y0, x1, y1 in rects:
        last = boxes[-1] if boxes else None
        if last and x0 >= last[2] - 1 and y0 < last[3] and y1 > last[1]:
            last[:] = [last[0], min(last[1], y0), x1, max(last[3], y1)]
        else:
            boxes.append([x0, y0, x1, y1])
    if len(boxes) == len(texts):
        return [Line(t, *b) for t, b in zip(texts, boxes, strict=True)]
    return [Line(t) for t in texts]


def _scan_notes(scans: list[int], limits: Limits) -> list[str]:
    if not scans:
        return []
    if not ocr_.languages():
        return [f"{_pages(scans)} scanned with no text layer, left out: {ocr_.INSTALL}"]
    if len(scans) > limits.max_ocr_pages:
        return [f"{_pages(scans[limits.max_ocr_pages :])} scanned, past the OCR limit: left out"]
    return [f"{_pages(scans)} read by OCR"]


def _pages(indexes: list[int]) -> str:
    """``_pages([0, 1, 2, 5])`` -> ``"pages 1-3, 6"``."""
    runs: list[list[int]] = []
    for i in indexes:
        if runs and i == runs[-1][-1] + 1:
            runs[-1].append(i)
        else:
            runs.append([i])
    words = [f"{r[0] + 1}-{r[-1] + 1}" if len(r) > 1 else f"{r[0] + 1}" for r in runs]
    return ("pages " if len(indexes) > 1 else "page ") + ", ".join(words)


def _metadata_title(meta: dict[str, str]) -> str:
    """The document's title from its metadata, unless it is a tool's placeholder."""
    title = " ".join(meta.get("Title", "").split())
    if not title or title.lower() in ("(anonymous)", "untitled", "(untitled)", "titre"):
        return ""
    if re.match(r"(microsoft (word|powerpoint) - |untitled|document\d*$)", title, re.I):
        return ""
    if re.search(r"\.(docx?|pdf|odt|rtf|indd)$", title, re.I):
        return ""
    return title


def _without_furniture(pages: list[list[Line]]) -> list[list[Line]]:
    """``pages`` without their running headers and footers: the first or last lines that
    recur, digits aside, on half the pages or more (three at least), and lone page numbers."""

    def key(line: Line) -> str:
        return re.sub(r"\d+", "#", " ".join(line.text.split()).lower())

    def edges(lines: list[Line]) -> list[Line]:
        kept = [x for x in lines if x.text.strip()]
        return kept[:2] + kept[-2:]

    counts = Counter(k for lines in pages for k in {key(x) for x in edges(lines)})
    recurring = {k for k, n in counts.items() if n >= max(3, len(pages) / 2)}
    out = []
    for lines in pages:
        drop = {id(x) for x in edges(lines) if key(x) in recurring}
        drop |= {id(x) for x in edges(lines) if _PAGE_NUMBER.fullmatch(x.text.strip())}
        out.append([x for x in lines if id(x) not in drop])
    return out


def _assemble(pages: list[list[Line]]) -> tuple[str, list[Section]]:
    """The pages' paragraphs as one text, a blank line between paragraphs, and a section per
    page that has text."""
    pages = [
        [y for x in lines if (y := Line(x.text.translate(_LIGATURES).strip(), *_box(x))).text]
        for lines in pages
    ]
    vocabulary = Counter(
        w.lower() for lines in pages for x in lines for w in re.findall(r"\w+(?:-\w+)*", x.text)
    )
    layout = _Layout.of(pages)
    parts: list[str] = []
    sections: list[Section] = []
    at = 0
    for n, lines in enumerate(pages, start=1):
        paragraphs = [p for p in _paragraphs(lines, layout, vocabulary) if p]
        if not paragraphs:
            continue
        if parts:
            # A sentence that goes on from the last page is one paragraph with it.
            go_on = not _SENTENCE_END.search(parts[-1]) and paragraphs[0][:1].islower()
            parts.append(" " if go_on else "\n\n")
            at += len(parts[-1])
        page = "\n\n".join(paragraphs)
        parts.append(page)
        sections.append(Section(at, at + len(page), f"p. {n}"))
        at += len(page)
    return "".join(parts), sections


def _box(line: Line) -> tuple[float, float, float, float]:
    return line.x0, line.y0, line.x1, line.y1


@dataclass
class _Layout:
    """The document's usual line height, white space between lines and right edges, measured
    on all its pages with boxed lines: a short page (a report's last, two lines) is read like
    the others."""

    space: float | None
    height: float
    lines: list[Line]

    @classmethod
    def of(cls, pages: list[list[Line]]) -> _Layout:
        boxed = [lines for lines in pages if lines and all(x.height > 0 for x in lines)]
        spaces = [a.y0 - b.y1 for lines in boxed for a, b in itertools.pairwise(lines)]
        every = [x for lines in boxed for x in lines]
        height = statistics.median(x.height for x in every) if every else 0.0
        return cls(space=_line_space(spaces, height), height=height, lines=every)

    def right_edge(self, line: Line, page: list[Line]) -> float:
        """Where lines that start where ``line`` does usually end: the column's right edge,
        on this page if it has a few such lines (margins may differ on odd and even pages)."""
        same = [x.x1 for x in page if abs(x.x0 - line.x0) < 30]
        if len(same) < 4:
            same = [x.x1 for x in self.lines if abs(x.x0 - line.x0) < 30] or [line.x1]
        return sorted(same)[int(len(same) * 0.9)]


def _line_space(spaces: list[float], height: float) -> float | None:
    """The white space between two lines of one paragraph, from the white spaces between the
    boxes of successive lines. A descender or an accent moves a box by a point or two; a
    paragraph's spacing adds more than a third of a line. Where paragraphs are short, their
    spacings are as many as the lines', so it is not the median: it is the median of the
    spaces below the first jump of more than 0.3 line between two sorted spaces."""
    ordered = sorted(x for x in spaces if x > 0)
    if not ordered:
        return None
    cut = next(
        (i for i, (a, b) in enumerate(itertools.pairwise(ordered), 1) if b - a > 0.3 * height),
        len(ordered),
    )
    return statistics.median(ordered[:cut])


def _paragraphs(lines: list[Line], layout: _Layout, vocabulary: Counter[str]) -> list[str]:
    """The lines of a page joined into paragraphs (see the module's docstring)."""
    if not lines:
        return []
    boxed = all(x.height > 0 for x in lines) and layout.space is not None
    space, height = layout.space, layout.height
    typical = sorted(len(x.text) for x in lines)[int(len(lines) * 0.8)]

    def breaks(a: Line, b: Line) -> bool:
        if a.text.endswith("\x02"):  # PDFium saw a word go on to the next line
            return False
        heading = boxed and (a.height > 1.25 * height or b.height > 1.25 * height)
        if heading:
            return True
        ends = bool(_SENTENCE_END.search(a.text))
        if boxed and space is not None:
            if b.y1 > a.y0 + height:  # the next line is higher up: a new column
                return ends
            if a.y0 - b.y1 > space + 0.4 * height:  # a paragraph's spacing
                return True
            # A line that had room for the next line's first word ended on purpose (a word
            # is measured at 1.3 times the line's mean character: capitals, accents).
            char = (a.x1 - a.x0) / max(1, len(a.text))
            room = layout.right_edge(a, lines) - a.x1
            return room > 1.3 * (len(b.text.split(" ", 1)[0]) + 1) * char
        return ends and len(a.text) < 0.8 * typical

    paragraphs, current = [], lines[0].text
    for a, b in itertools.pairwise(lines):
        if breaks(a, b):
            paragraphs.append(current)
            current = b.text
        else:
            current = _join(current, b.text, vocabulary)
    paragraphs.append(current)
    return paragraphs


def _join(left: str, right: str, vocabulary: Counter[str]) -> str:
    r"""Two lines of one paragraph as one, mending a word cut at the end of ``left``: with its
    hyphen if the document writes it so elsewhere, else whole if the document has the whole
    word, else whole before a lowercase letter ("inves-" "tissement") and hyphenated before
    a capital ("Jean-" "Pierre").

    >>> _join("un inves-", "tissement", Counter())
    'un investissement'
    >>> _join("Sense\x02", "Time", Counter(["sensetime"]))
    'SenseTime'
    >>> _join("le porte-", "parole", Counter(["porte-parole"]))
    'le porte-parole'
    >>> _join("Jean-", "Pierre", Counter())
    'Jean-Pierre'
    """
    cut = re.search(r"(\w+)[-\u00ad\x02]$", left)
    tail = re.match(r"\w+", right)
    if not cut or not tail:
        return f"{left.rstrip(chr(2))} {right}"
    head = cut.group(1)
    if vocabulary[f"{head}-{tail.group(0)}".lower()]:
        whole = False
    elif vocabulary[f"{head}{tail.group(0)}".lower()]:
        whole = True
    else:
        whole = tail.group(0)[0].islower()
    return left[:-1] + ("" if whole else "-") + right
