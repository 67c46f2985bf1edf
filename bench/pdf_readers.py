"""Which PDF text extractor for the PDF reader? pypdf vs pdfplumber vs pypdfium2, measured.

Generates French PDFs (reportlab) from the built-in articles in rag/corpus in five layouts
(a one column, b two columns, c running header + "Page n / N" footer, d justified with line-end
hyphenation and U+FB01/U+FB02 ligatures, e two columns whose content stream draws the right
column before the left one), extracts the text page by page with each library, and scores it
against the paragraphs placed in the PDF, after NFKC and a `-\n` + lowercase rejoin:
word recall (multiset), in-order share (words in SequenceMatcher's matching blocks / expected
words, so extra header words do not count against it), accented words kept, header/footer
found per page, pages/s (best of 3). PDFs go to a temporary folder; nothing is written to the
project. Run from the repo root:

    python3 -m venv /tmp/pdfbench-venv && /tmp/pdfbench-venv/bin/pip install \
        pypdf==7.1.1 pdfplumber==0.11.10 pypdfium2==5.15.2 reportlab==5.1.0
    /tmp/pdfbench-venv/bin/python bench/pdf_readers.py
"""

import collections
import difflib
import re
import tempfile
import time
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import pdfplumber
import pypdf
import pypdfium2 as pdfium
import reportlab
from reportlab.lib.enums import TA_JUSTIFY
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import cm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import BaseDocTemplate, Frame, PageTemplate, Paragraph

CORPUS = Path(__file__).resolve().parent.parent / "rag" / "corpus"
HEADER = "Revue de presse IA — édition française"
ACCENTS = set("éèàçô")
LOWER = "a-zàâäçéèêëîïôöùûüÿœæ"
VOWELS = set("aeiouyàâéèêëîïôöùûü")


# ---------------------------------------------------------------- PDF generation
def register_font() -> str:
    """A TTF with accents and fi/fl ligature glyphs: DejaVu Serif, else reportlab's Vera."""
    for path in (
        "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf",
        Path(reportlab.__file__).parent / "fonts" / "Vera.ttf",
    ):
        if Path(path).exists():
            pdfmetrics.registerFont(TTFont("BenchFont", str(path)))
            return Path(path).name
    raise SystemExit("no TTF font found")


def french_hyphenator(word: str) -> list[tuple[str, str]]:
    """Crude French hyphenation for reportlab (no pyphen): split before a consonant that sits
    between two vowels (V-CV), keeping >= 3 letters on each side; longest head first."""
    w = word.lower()
    cuts = [
        i
        for i in range(3, len(w) - 2)
        if w[i - 1] in VOWELS and w[i] not in VOWELS and w[i + 1] in VOWELS
    ]
    return [(word[:i], word[i:]) for i in reversed(cuts)]


def ligaturise(text: str) -> str:
    return text.replace("fi", "\ufb01").replace("fl", "\ufb02")


def build(path: Path, layout: str, paras: list[str]) -> int:
    """Write one PDF in the given layout; returns its page count."""
    style = ParagraphStyle("body", fontName="BenchFont", fontSize=10.5, leading=14, spaceAfter=6)
    if layout == "d justified+hyph+lig":
        style = ParagraphStyle(
            "just",
            parent=style,
            alignment=TA_JUSTIFY,
            hyphenationLang=french_hyphenator,
            hyphenationMinWordLength=6,
        )
        paras = [ligaturise(p) for p in paras]
    margin, gap = 2 * cm, 0.8 * cm
    w, h = A4[0] - 2 * margin, A4[1] - 2 * margin
    if layout.startswith(("b", "e")):
        col = (w - gap) / 2
        frames = [
            Frame(margin, margin, col, h, id="left"),
            Frame(margin + col + gap, margin, col, h, id="right"),
        ]
        if layout.startswith("e"):
            return build_right_first(path, frames, [Paragraph(escape(p), style) for p in paras])
    else:
        frames = [Frame(margin, margin, w, h, id="body")]

    total = [0]  # page count, learnt by a first build (for "Page n / N")

    def header_footer(canvas: Any, doc: Any) -> None:
        if layout != "c header+footer":
            return
        canvas.saveState()
        canvas.setFont("BenchFont", 9)
        canvas.drawString(margin, A4[1] - 1.2 * cm, HEADER)
        canvas.drawCentredString(A4[0] / 2, 1.0 * cm, f"Page {doc.page} / {total[0]}")
        canvas.restoreState()

    for _ in range(2 if layout == "c header+footer" else 1):
        doc = BaseDocTemplate(str(path), pagesize=A4, title="bench", author="bench")
        doc.addPageTemplates([PageTemplate(id="p", frames=frames, onPage=header_footer)])
        doc.build([Paragraph(escape(p), style) for p in paras])
        total[0] = doc.page
    return total[0]


def build_right_first(path: Path, frames: list[Any], story: list[Any]) -> int:
    """Two columns as in (b), but each page's content stream draws the right column first and
    the left one afterwards (as a form XObject): stream order != reading order."""
    canvas, n = Canvas(str(path), pagesize=A4), 0
    while story:
        n += 1
        canvas.beginForm(f"left{n}")
        frames[0]._reset()
        frames[0].addFromList(story, canvas)
        canvas.endForm()
        frames[1]._reset()
        frames[1].addFromList(story, canvas)
        canvas.doForm(f"left{n}")
        canvas.showPage()
    canvas.save()
    return n


# ---------------------------------------------------------------- extraction
def ex_pypdf(path: Path, mode: str = "plain") -> list[str]:
    return [p.extract_text(extraction_mode=mode) for p in pypdf.PdfReader(path).pages]


def ex_plumber(path: Path, **kw: Any) -> list[str]:
    with pdfplumber.open(path) as pdf:
        return [p.extract_text(**kw) for p in pdf.pages]


def ex_pdfium(path: Path) -> list[str]:
    pdf = pdfium.PdfDocument(path)
    try:
        out = []
        for page in pdf:
            tp = page.get_textpage()
            out.append(tp.get_text_range())
            tp.close()
            page.close()
        return out
    finally:
        pdf.close()


EXTRACTORS: dict[str, Callable[[Path], list[str]]] = {
    "pypdf": ex_pypdf,
    "pypdf (layout mode)": lambda p: ex_pypdf(p, "layout"),
    "pdfplumber": ex_plumber,
    "pdfplumber (use_text_flow)": lambda p: ex_plumber(p, use_text_flow=True),
    "pypdfium2": ex_pdfium,
    # pdfium turns a line-end hyphen into U+FFFE and joins the lines: drop it, as a reader would
    "pypdfium2 (U+FFFE dropped)": lambda p: [t.replace("\ufffe", "") for t in ex_pdfium(p)],
}


# ---------------------------------------------------------------- scoring
def normalise(text: str) -> tuple[str, int]:
    """NFKC, unify newlines, rejoin `-\\n` + lowercase letter. Returns (text, rejoins)."""
    text = unicodedata.normalize("NFKC", text).replace("\r\n", "\n").replace("\r", "\n")
    return re.subn(rf"-[ \t]*\n(?=[{LOWER}])", "", text)


def words(text: str) -> list[str]:
    return re.findall(r"\w+", normalise(text)[0].lower())


def score(
    pages: list[str], truth_words: list[str], layout: str
) -> tuple[float, float, float, str, dict[str, int]]:
    raw = "\n".join(pages)
    got = words(raw)
    exp_c, got_c = collections.Counter(truth_words), collections.Counter(got)
    recall = sum((exp_c & got_c).values()) / len(truth_words)
    sm = difflib.SequenceMatcher(None, truth_words, got, autojunk=False)
    in_order = sum(b.size for b in sm.get_matching_blocks()) / len(truth_words)
    acc_c = collections.Counter({w: n for w, n in exp_c.items() if ACCENTS & set(w)})
    accents = sum((acc_c & got_c).values()) / sum(acc_c.values())
    hf = "–"
    if layout == "c header+footer":
        flat = [" ".join(normalise(p)[0].split()) for p in pages]
        n = len(pages)
        hf = (
            f"{sum(HEADER in t for t in flat)}/{n} + "
            f"{sum(f'Page {i} / {n}' in t for i, t in enumerate(flat, 1))}/{n}"
        )
    diag = {
        "U+FB01/02": sum(raw.count(c) for c in "\ufb01\ufb02"),
        "U+00AD": raw.count("\xad"),
        "U+0002": raw.count("\x02"),
        "U+FFFE": raw.count("\ufffe"),
        "combining": sum(unicodedata.combining(c) > 0 for c in raw),
        "rejoins": normalise(raw)[1],
    }
    return recall, in_order, accents, hf, diag


def best_time(fn: Callable[[Path], object], path: Path, runs: int = 3) -> float:
    best = float("inf")
    for _ in range(runs):
        t0 = time.perf_counter()
        fn(path)
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    font = register_font()
    paras = [
        line.strip()
        for f in sorted(CORPUS.glob("*.txt"))
        for line in f.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    truth_words = words("\n".join(paras))
    layouts = [
        "a one column",
        "b two columns",
        "c header+footer",
        "d justified+hyph+lig",
        "e two columns, stream right-first",
    ]
    rows, diags = [], []
    with tempfile.TemporaryDirectory(prefix="pdfbench-") as tmp:
        files = {}
        for lay in layouts:
            path = Path(tmp) / f"{lay.split()[0]}.pdf"
            files[lay] = (path, build(path, lay, paras))
        print(
            f"font {font}; {len(paras)} paragraphs from {CORPUS}, {len(truth_words)} words; pages: "
            + ", ".join(f"{lay} {n}" for lay, (_, n) in files.items())
            + "\n"
        )
        for name, fn in EXTRACTORS.items():
            for lay in layouts:
                path, n = files[lay]
                pages = fn(path)
                assert len(pages) == n, (name, lay, len(pages), n)
                recall, order, accents, hf, diag = score(pages, truth_words, lay)
                pps = n / best_time(fn, path)
                rows.append((name, lay, recall, order, accents, hf, pps))
                diags.append((name, lay, diag))

    print(
        "| library | layout | word recall | in-order share | accented words "
        "| header + footer pages | pages/s |"
    )
    print("|---|---|---|---|---|---|---|")
    for name, lay, recall, order, accents, hf, pps in rows:
        print(f"| {name} | {lay} | {recall:.3f} | {order:.3f} | {accents:.3f} | {hf} | {pps:.0f} |")
    print(
        "\nRaw-text oddities (counts in the whole extracted text before normalisation; "
        "rows of zeros left out):\n"
    )
    keys = list(diags[0][2])
    print("| library | layout | " + " | ".join(keys) + " |")
    print("|---|---|" + "---|" * len(keys))
    for name, lay, d in diags:
        if any(d.values()):
            print(f"| {name} | {lay} | " + " | ".join(str(d[k]) for k in keys) + " |")


if __name__ == "__main__":
    main()
