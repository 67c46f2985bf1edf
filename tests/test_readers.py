"""The readers: PDF, Word, web pages and e-books read into text with their pages or sections,
chosen by content, and every kind of broken file skipped with its reason while the rest of
the folder is read and nothing is changed (docs/robustness.md, "Files that are not text").

Every file is built by the test (tests/fixture_files.py).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import zipfile
from pathlib import Path

import pytest

import rag.documents
import rag.index
from rag import readers
from rag.documents import load_file, read_folder
from rag.errors import CorpusError
from rag.readers import ocr
from rag.readers.pdf import PdfReader
from tests import fixture_files as ff

ONE = "SenseTime a bondi de plus de 85 % depuis son introduction à la Bourse de Hong Kong."
TWO = "La société dirigée par Xu Li a levé 740 millions de dollars lors de son introduction."
THREE = "Alibaba a lancé Qwen 2.5-Max, un modèle qui rivalise selon elle avec DeepSeek-V3."
FOUR = "Les investisseurs ont massivement investi dans les entreprises chinoises cette année."


def read(path: Path) -> rag.documents.Document:
    return load_file(path, path.parent)


def at(doc: rag.documents.Document, sentence: str) -> str:
    """The label of the section holding ``sentence`` in ``doc``."""
    offset = doc.text.index(sentence)
    return next(s.label for s in doc.sections if s.start <= offset < s.end)


# -- PDF -----------------------------------------------------------------------------------
def test_a_pdf_is_read_page_by_page(tmp_path: Path) -> None:
    path = ff.pdf(tmp_path / "r.pdf", [[ONE, TWO], [THREE], [FOUR]], title="Rapport annuel")
    doc = read(path)
    assert (doc.format, doc.pages, doc.title) == ("pdf", 3, "Rapport annuel")
    assert [at(doc, s) for s in (ONE, TWO, THREE, FOUR)] == ["p. 1", "p. 1", "p. 2", "p. 3"]
    assert doc.text.index(TWO) > doc.text.index(ONE)
    assert doc.reader.startswith("pdf-2 pypdfium2-")


def test_a_short_last_page_keeps_its_paragraphs(tmp_path: Path) -> None:
    # Two one-line paragraphs alone on a page: their spacing and the column's right edge are
    # measured on the whole document, not on the two lines.
    short = ["Le rapport attend une consolidation d'ici deux ans.", "Fin du rapport annuel."]
    path = ff.pdf(tmp_path / "r.pdf", [[f"{ONE} {TWO}", f"{THREE} {FOUR}", THREE], short])
    doc = read(path)
    assert doc.text.endswith("\n\n".join(short)), doc.text


def test_one_line_paragraphs_that_fill_their_line_stay_apart(tmp_path: Path) -> None:
    # As many paragraph spacings as line spacings, and lines with no room left: only the
    # white space between the lines, measured apart from the paragraphs', tells them apart.
    short = [
        "Elle vise d'abord les hôpitaux, avec un assistant médical testé dans plusieurs villes.",
        "Ses concurrents directs proposent des assistants généralistes plutôt que des outils.",
        "Les autorités de régulation examinent les prises de participation des géants du pays.",
    ]
    doc = read(ff.pdf(tmp_path / "r.pdf", [[f"{ONE} {TWO} {THREE}", *short, FOUR]]))
    assert doc.text == "\n\n".join([f"{ONE} {TWO} {THREE}", *short, FOUR])


def test_two_columns_are_read_column_after_column(tmp_path: Path) -> None:
    long = [f"{s} " * 6 for s in (ONE, TWO, THREE, FOUR)]  # each fills part of a column
    doc = read(ff.pdf(tmp_path / "c.pdf", [long], columns=2))
    order = [doc.text.index(p.strip()[:60]) for p in long]
    assert order == sorted(order)  # whole paragraphs, in reading order
    assert all(p.strip() in doc.text for p in long)


def test_running_headers_footers_and_page_numbers_are_left_out(tmp_path: Path) -> None:
    pages = [[ONE], [TWO], [THREE], [FOUR]]
    doc = read(ff.pdf(tmp_path / "h.pdf", pages, header="Le Journal de l'IA — édition 2025"))
    assert "Le Journal de l'IA" not in doc.text and "Page " not in doc.text
    assert all(s in doc.text for s in (ONE, TWO, THREE, FOUR))


def test_lines_become_paragraphs_and_cut_words_are_mended(tmp_path: Path) -> None:
    from reportlab.pdfgen import canvas

    path = tmp_path / "cut.pdf"
    ff.pdf(tmp_path / "unused.pdf", [[ONE]])  # registers the font
    c = canvas.Canvas(str(path))
    c.setFont("Vera", 11)
    lines = [
        "Les investisseurs ont massivement réalisé des inves-",
        "tissements dans l'entreprise dont le porte-parole, un porte-",
        "parole connu, s'exprime sur la \ufb01liale de Sense-",
        "Time. Fin du premier paragraphe.",
        "Le second paragraphe commence ici.",
    ]
    for i, line in enumerate(lines):
        c.drawString(72, 780 - 14 * i, line)
    c.save()
    text = read(path).text
    assert "investissements" in text and "un porte-parole connu" in text  # as written elsewhere
    assert "filiale" in text and "\ufb01" not in text
    assert "Sense-Time" in text or "SenseTime" in text
    assert text.count("\n\n") == 1 and text.endswith("Le second paragraphe commence ici.")


@pytest.mark.skipif(
    not ocr.languages() and not os.environ.get("CI"),
    reason="Tesseract is not installed here (make tesseract); CI installs it",
)
def test_a_scanned_page_is_read_by_ocr(tmp_path: Path) -> None:
    path = ff.scanned_pdf(tmp_path / "scan.pdf", ["Rapport sur SenseTime", "Le chiffre", "85 %"])
    doc = read(path)
    assert "SenseTime" in doc.text and "85" in doc.text
    assert doc.sections[0].label == "p. 1" and "page 1 read by OCR" in doc.notes


def test_a_scan_without_ocr_says_how_to_add_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ocr, "languages", lambda: ())
    path = ff.scanned_pdf(tmp_path / "scan.pdf", ["Rapport"])
    with pytest.raises(CorpusError, match="scanned PDF.*apt install tesseract-ocr"):
        read(path)


def test_a_page_ocr_cannot_read_is_left_out_with_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fails(image: object) -> str:
        raise ocr.OcrError("Error during processing.")

    monkeypatch.setattr(ocr, "languages", lambda: ("fra",))
    monkeypatch.setattr(ocr, "read_image", fails)
    path = ff.scanned_pdf(tmp_path / "scan.pdf", ["Rapport"])
    with pytest.raises(CorpusError, match=r"scanned PDF that OCR could not read \(Error during"):
        read(path)


def test_what_a_reader_extracted_is_kept_and_read_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = ff.pdf(tmp_path / "r.pdf", [[ONE], [TWO]])
    first = load_file(path, tmp_path, cache=tmp_path / "texts")

    def must_not_read(*args: object) -> None:
        raise AssertionError("read again")

    monkeypatch.setattr(PdfReader, "read", must_not_read)
    assert load_file(path, tmp_path, cache=tmp_path / "texts") == first


# -- Word, web pages, e-books --------------------------------------------------------------
def test_a_word_file_keeps_its_headings_and_tables(tmp_path: Path) -> None:
    blocks = [
        ("h1", "Résultats"),
        ("p", ONE),
        ("table", "Année | Chiffre d'affaires; 2023 | 3,4 milliards de yuans"),
        ("h2", "Perspectives"),
        ("p", TWO),
    ]
    doc = read(ff.docx(tmp_path / "n.docx", blocks, title="Note SenseTime"))
    assert (doc.format, doc.title) == ("docx", "Note SenseTime")
    assert "2023 | 3,4 milliards de yuans" in doc.text
    assert [at(doc, ONE), at(doc, "2023 |"), at(doc, TWO)] == [
        "Résultats",
        "Résultats",
        "Perspectives",
    ]


def test_a_web_page_is_read_without_its_menus_ads_and_comments(tmp_path: Path) -> None:
    path = ff.html(
        tmp_path / "p.html",
        "SenseTime en Bourse",
        [("p", ONE), ("h2", "Les raisons"), ("p", TWO), ("p", THREE)],
        author="Jeanne Martin",
        date="2025-03-06T11:41:00",
    )
    doc = read(path)
    assert (doc.format, doc.title, doc.author, doc.date) == (
        "html",
        "SenseTime en Bourse",
        "Jeanne Martin",
        "2025-03-06",
    )
    for junk in ("Accueil", "newsletter", "Publicité", "Super article", "Mentions légales"):
        assert junk not in doc.text
    assert at(doc, TWO) == at(doc, THREE) == "Les raisons"


def test_an_ebook_has_a_section_per_chapter(tmp_path: Path) -> None:
    path = ff.epub(tmp_path / "b.epub", "L'IA en Chine", [("Un", [ONE, TWO]), ("Deux", [THREE])])
    doc = read(path)
    assert (doc.format, doc.title, doc.author) == ("epub", "L'IA en Chine", "Anne Autrice")
    assert [at(doc, ONE), at(doc, TWO), at(doc, THREE)] == ["Un", "Un", "Deux"]


def test_the_content_chooses_the_reader_not_the_name(tmp_path: Path) -> None:
    word = ff.docx(tmp_path / "x.docx", [("p", ONE)])
    named_pdf = tmp_path / "rapport.pdf"
    shutil.copy(word, named_pdf)
    assert read(named_pdf).format == "docx"
    page = tmp_path / "page.txt"
    page.write_text(f"<!DOCTYPE html><html><body><p>{ONE}</p></body></html>", encoding="utf-8")
    assert read(page).format == "html" and read(page).text == ONE


# -- broken files: skipped with a reason, the rest read, nothing changed --------------------
def _bomb(path: Path) -> Path:
    """A Word file whose one part unzips to 50 MB of zeros (from 50 kB)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", b"\0" * 50_000_000)
    return path


BROKEN = {
    "encrypted PDF": (
        lambda p: ff.pdf(p / "secret.pdf", [[ONE]], password="motdepasse"),
        "encrypted PDF",
    ),
    "truncated PDF": (
        lambda p: _cut(ff.pdf(p / "cut.pdf", [[ONE], [TWO]]), 0.4),
        "damaged or truncated PDF|no text",
    ),
    "corrupt PDF": (
        lambda p: _write(p / "junk.pdf", b"%PDF-1.7\n" + os.urandom(5000)),
        "damaged or truncated PDF",
    ),
    "empty PDF": (lambda p: _write(p / "empty.pdf", b""), "is empty"),
    "PNG named .pdf": (
        lambda p: _write(p / "photo.pdf", b"\x89PNG\r\n\x1a\n" + bytes(500)),
        r"named \.pdf but is not a PDF: it holds a PNG image",
    ),
    "text named .docx": (
        lambda p: _write(p / "notes.docx", ONE.encode()),
        r"named \.docx but is not a Word document: it holds text\.",
    ),
    "encrypted Word file": (
        lambda p: _write(p / "locked.docx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600)),
        "Word document with a password, or an older format",
    ),
    "truncated Word file": (
        lambda p: _cut(ff.docx(p / "cut.docx", [("p", ONE)]), 0.5),
        "damaged or truncated Word document: download it again",
    ),
    "decompression bomb": (lambda p: _bomb(p / "bomb.docx"), "decompression bomb"),
    "e-book with DRM": (
        lambda p: ff.epub(p / "drm.epub", "Livre", [("Un", [ONE])], drm=True),
        "protected by DRM",
    ),
    "web page without text": (
        lambda p: _write(p / "vide.html", b"<html><body><nav>Menu</nav></body></html>"),
        "no text in it",
    ),
}


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _cut(path: Path, share: float) -> Path:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * share)])
    return path


@pytest.mark.parametrize(("make", "why"), list(BROKEN.values()), ids=list(BROKEN))
def test_a_broken_file_is_skipped_with_its_reason_and_nothing_is_lost(
    tmp_path: Path, make: object, why: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rag.documents, "LIMITS", readers.Limits(max_unzipped=20_000_000))
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "good.txt").write_text(FOUR, encoding="utf-8")
    ff.pdf(folder / "good.pdf", [[ONE]])
    bad = make(folder)  # type: ignore[operator]
    before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}
    found = read_folder(folder, cache=tmp_path / "texts")
    assert [d.id for d in found.documents] == ["good.pdf", "good.txt"]
    [skipped] = found.skipped
    assert skipped.path == bad.name
    import re

    assert re.search(why, skipped.reason), skipped.reason
    after = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}
    assert after == before  # nothing the user had is changed, nothing added to the folder


def test_a_pdf_over_the_page_limit_is_read_up_to_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rag.documents, "LIMITS", readers.Limits(max_pages=2))
    doc = read(ff.pdf(tmp_path / "long.pdf", [[ONE], [TWO], [THREE]]))
    assert THREE not in doc.text and doc.notes == ("only the first 2 of 3 pages were read",)


def test_a_new_reader_version_reads_again_only_the_files_of_its_format(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rag.index import update_index
    from tests.conftest import FakeEmbedder

    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.txt").write_text(FOUR, encoding="utf-8")
    ff.pdf(folder / "r.pdf", [[ONE], [TWO]])
    ff.docx(folder / "n.docx", [("p", THREE)])

    def update() -> rag.index.IndexStats:
        documents = read_folder(folder, cache=tmp_path / "texts").documents
        return update_index(
            tmp_path / "idx", documents, FakeEmbedder(), chunk_size=600, chunk_overlap=120
        )[1]

    update()
    store = rag.index.load_index(tmp_path / "idx")
    assert store is not None
    meta = store.documents
    assert meta["r.pdf"]["reader"].startswith("pdf-2") and meta["r.pdf"]["pages"] == 2
    assert "reader" not in meta["a.txt"]  # a text file is read by rag.documents itself
    monkeypatch.setattr(PdfReader, "version", "pdf-99 (a better reader)")
    stats = update()
    assert stats.updated == ["r.pdf"] and sorted(stats.unchanged) == ["a.txt", "n.docx"]
    store = rag.index.load_index(tmp_path / "idx")
    assert store is not None and store.documents["r.pdf"]["reader"] == "pdf-99 (a better reader)"
