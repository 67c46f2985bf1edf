"""Reading speed per format: how fast ``rag.documents.load_file`` reads plain text, PDF, Word,
web pages and e-books, what OCR costs per scanned page, and what the reader cache saves.

Run from the repository root, alone on the machine (about 2 minutes; OCR needs Tesseract)::

    .venv/bin/python bench/readers.py                  # 5 scanned pages
    .venv/bin/python bench/readers.py --ocr-pages 2    # quicker

It builds in a temporary folder, from the 5 built-in articles (rag/corpus: 131 paragraphs,
~25,000 characters) with the tests' builders (tests/fixture_files.py): txt, the articles 4 times
(20 files); html and docx, each article rendered by ``ff.render``, 4 times (20 files each); pdf,
3 one-column PDFs (one with a running header and "Page n" footer) and a two-column one, each the
articles twice over, a heading and a page break before each (~20 pages); epub, 2 books whose 10
chapters are the articles twice; a scanned PDF of N page pictures (A4, 300 dpi) of their lines.

Each set is read with ``load_file(path, root, cache=None)``, so every file is really read: best
of 3 (``--rounds``; the first round pays the imports), the scan once. Building is not timed.
Pages: a PDF's real pages, else 3,000 characters of extracted text. Last, ``read_folder`` runs
twice on a mixed folder (each article once, as txt, html or docx: it skips a second copy; the
PDFs; the books) with one cache: the first run reads all and fills the cache, the second reads
from it (plain text is not cached). Then the same with the scan added. The OCR reader runs
Tesseract with ``OMP_THREAD_LIMIT=1`` (bench/RESULTS.md, "Reading speed per format").
"""

from __future__ import annotations

import argparse
import functools
import logging
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from collections import Counter
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from typing import TypeVar

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag.documents import load_file, read_folder  # noqa: E402
from rag.readers import ocr  # noqa: E402
from rag.types import Document  # noqa: E402
from tests import fixture_files as ff  # noqa: E402

ARTICLES = sorted((ROOT / "rag" / "corpus").glob("*.txt"))
PAGE_CHARS = 3000  # a "page" of a format that has none
COPIES = 4
T = TypeVar("T")


def article(txt: Path) -> tuple[str, list[str]]:
    """An article's title and other paragraphs, split as ``ff.render`` splits them."""
    ps = ff.paragraphs_of(txt)
    lead = 1 if len(ps[0].split()) == 1 and ps[0].islower() else 0
    return ps[lead], ps[lead + 1 :]


def rotated(n: int) -> list[Path]:
    """The articles twice over, article ``n`` first."""
    return (ARTICLES[n:] + ARTICLES[:n]) * 2


def build(tmp: Path, ocr_pages: int) -> dict[str, list[Path]]:
    """The files of each set, by the set's name (see the module's docstring)."""
    sets: dict[str, list[Path]] = {}
    for fmt in ("txt", "html", "docx"):
        for copy in range(COPIES):
            (folder := tmp / fmt / str(copy)).mkdir(parents=True)
            for txt in ARTICLES:
                made = shutil.copy(txt, folder) if fmt == "txt" else ff.render(txt, fmt, folder)
                sets.setdefault(fmt, []).append(Path(made))
    (tmp / "pdf").mkdir()
    (tmp / "epub").mkdir()
    for n, (columns, header) in enumerate([(1, ""), (1, ""), (1, "Revue de presse IA"), (2, "")]):
        pages = [[title, *body] for title, body in map(article, rotated(n))]
        path, titles = tmp / "pdf" / f"report{n}.pdf", [p[0] for p in pages]
        pdf = ff.pdf(path, pages, columns=columns, header=header, headings=titles)
        sets.setdefault(f"pdf, {columns} column{'s' * (columns > 1)}", []).append(pdf)
    sets["epub"] = [
        ff.epub(tmp / "epub" / f"book{n}.epub", "L'IA", list(map(article, rotated(n))))
        for n in range(2)
    ]
    lines = [line for t in ARTICLES for p in article(t)[1] for line in textwrap.wrap(p, 75)]
    sets["pdf, scanned (OCR)"] = [scanned(tmp / "scan" / "scan.pdf", lines, ocr_pages)]
    return sets


def scanned(path: Path, lines: list[str], pages: int, per_page: int = 38) -> Path:
    """A PDF of ``pages`` page pictures of ``lines``, each drawn as ``ff.scanned_pdf`` draws
    its one page; the lines drawn are kept next to it, in a ``.expected`` file."""
    from PIL import Image, ImageDraw, ImageFont
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    path.parent.mkdir()
    c, font = canvas.Canvas(str(path), pagesize=A4), ImageFont.truetype(ff.FONT, 44)
    for p in range(pages):
        image = Image.new("L", (2480, 3508), 255)  # A4 at 300 dpi
        draw = ImageDraw.Draw(image)
        for i, line in enumerate(lines[p * per_page : (p + 1) * per_page]):
            draw.text((200, 250 + i * 80), line, font=font, fill=0)
        c.drawImage(ImageReader(image), 0, 0, *A4)
        c.showPage()
    c.save()
    path.with_suffix(".expected").write_text("\n".join(lines[: pages * per_page]), "utf-8")
    return path


def mixed(tmp: Path, sets: dict[str, list[Path]], folder: Path, scan: bool) -> int:
    """Copy into ``folder`` each article once (txt 1 and 4, html 2 and 5, docx 3: read_folder
    skips a second copy of an article), the PDFs and books, and the scan if ``scan``."""
    picked = [sets[f][i] for n, f in enumerate(("txt", "html", "docx")) for i in range(n, 5, 3)]
    picked += sets["pdf, 1 column"] + sets["pdf, 2 columns"] + sets["epub"]
    for p in picked + (sets["pdf, scanned (OCR)"] if scan else []):
        (folder / p.relative_to(tmp)).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(p, folder / p.relative_to(tmp))
    return sum(1 for p in folder.rglob("*") if p.is_file())


def best(run: Callable[[], T], rounds: int) -> tuple[float, T]:
    """The fastest of ``rounds`` runs' seconds, and what the last run returned."""
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        got = run()
        times.append(time.perf_counter() - started)
    return min(times), got


def read_all(paths: list[Path]) -> list[Document]:
    return [load_file(p, p.parent) for p in paths]


def row(name: str, files: int, seconds: float, docs: list[Document], note: str = "") -> str:
    pages = sum(d.pages if d.format == "pdf" else len(d.text) / PAGE_CHARS for d in docs)
    chars = sum(len(d.text) for d in docs)
    rates = [files / seconds, pages / seconds, chars / seconds]
    cells = [name, str(files), f"{pages:,.0f}", f"{chars:,}", *map(num, [seconds, *rates]), note]
    return f"| {' | '.join(cells)} |"


def num(x: float) -> str:
    return f"{x:,.0f}" if x >= 100 else f"{x:.3g}"


def word_recall(expected: str, got: str) -> float:
    """The share of the words drawn that OCR read back (a ' for a ’ is no error)."""
    want, have = (Counter(t.lower().replace("’", "'").split()) for t in (expected, got))
    return sum((want & have).values()) / max(1, sum(want.values()))


def machine() -> str:
    out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines()
    cpu = next((x.split(":", 1)[1].strip() for x in out if x.startswith("Model name")), "?")
    libs = ", ".join(f"{p} {version(p)}" for p in ("pypdfium2", "python-docx", "trafilatura"))
    omp = os.environ.get("OMP_THREAD_LIMIT")
    return (
        f"Machine: {cpu}, {len(os.sched_getaffinity(0))} cores. Python "
        f"{platform.python_version()}, {libs}, Tesseract {ocr.version()}"
        + (f"; OMP_THREAD_LIMIT={omp}." if omp else ".")
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ocr-pages", type=int, default=5, help="pages of the scanned PDF")
    parser.add_argument("--rounds", type=int, default=3, help="best of this many (not OCR)")
    args = parser.parse_args()
    logging.getLogger("rag").setLevel(logging.ERROR)  # a file's notes go to the table
    started = time.perf_counter()
    rows: list[str] = []
    per_page: dict[str, float] = {}
    cache: list[float] = []
    with tempfile.TemporaryDirectory() as name:
        sets = build(tmp := Path(name), args.ocr_pages)
        print(f"{sum(map(len, sets.values()))} files built", file=sys.stderr)
        for label, paths in sets.items():
            rounds = 1 if "OCR" in label else args.rounds  # seconds a page: once is enough
            seconds, docs = best(functools.partial(read_all, paths), rounds)
            notes = sorted({n for d in docs for n in d.notes})
            if label.startswith("pdf"):
                per_page[label] = seconds / sum(d.pages for d in docs)
            if "OCR" in label:
                expected = paths[0].with_suffix(".expected").read_text("utf-8")
                got = word_recall(expected, "\n".join(d.text for d in docs))
                notes += [f"word recall {got:.3f}", "1 round"]
            rows.append(row(label, len(paths), seconds, docs, "; ".join(notes)))
            print(f"  {label}: {seconds:.3f} s", file=sys.stderr)
        for label, scan in (("mixed", False), ("mixed + scan", True)):
            files = mixed(tmp, sets, folder := tmp / label, scan)
            for run in ("1st run, fills the cache", "2nd run, from the cache"):
                seconds, found = best(
                    functools.partial(read_folder, folder, cache=folder / ".cache"), 1
                )
                note = f"{len(found.documents)} documents, {len(found.skipped)} skipped"
                rows.append(
                    row(f"read_folder, {label}: {run}", files, seconds, found.documents, note)
                )
                cache.append(seconds)
    header = "set files pages characters seconds files/s pages/s chars/s notes".split()
    print(f"| {' | '.join(header)} |\n|{'---|' * len(header)}\n" + "\n".join(rows) + "\n")
    scan_s, text_s = per_page["pdf, scanned (OCR)"], per_page["pdf, 1 column"]
    print(f"OCR: {scan_s:.2f} s per scanned page, {text_s * 1000:.1f} ms per text page (1 column).")
    for label, (a, b) in zip(("mixed", "mixed + scan"), (cache[:2], cache[2:]), strict=True):
        print(f"Cache, read_folder {label}: {a:.3f} s, then {b:.3f} s ({a / b:,.0f} times faster).")
    command = " ".join([".venv/bin/python", "bench/readers.py", *sys.argv[1:]])
    print(f"\n{machine()}\nCommand: `{command}`; {time.perf_counter() - started:.0f} s in all.")


if __name__ == "__main__":
    main()
